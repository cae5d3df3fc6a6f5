/**
 * What the pipeline process's route handlers (routes/*.ts) share: the lifecycle (and through it the
 * controller, once it exists), the server options, the open egress connections and the metric registry.
 * pipeline-server.ts builds it; the route files depend on it only.
 */

import type { ConnectorStatus } from '../connectors/transports/types.ts';
import type { Controller } from '../controller/controller.ts';
import { ServiceError } from '../errors/service-error.ts';
import type { Standby } from '../sync/standby.ts';
import type { SyncService } from '../sync/sync-service.ts';
import type { Synchronizer } from '../sync/synchronizer.ts';
import type { SyncActivation } from '../types/pipeline-api.ts';
import type { PipelineLifecycle } from './lifecycle.ts';
import type { PipelineMetrics } from './pipeline-metrics.ts';
import type { ResourceMeters } from './resource-meters.ts';

/** The pipeline's checkpoint sync, filled in during initialization. */
export interface SyncHandle {
  /** Whether `storage.backend.config.sync` is set. */
  readonly configured: boolean;
  synchronizer: Synchronizer | null;
  service: SyncService | null;
  /** While (and after) the pipeline was a standby. */
  standby?: Standby | null;
  /** The activation this process went through (null: it did not start as a standby). */
  activation?: ActivationSummary | null;
}

/** `sync_status` `checkpoint_sync.activation` and `holdfast_standby_activation_seconds`. */
export type ActivationSummary = SyncActivation;

export interface PipelineServerOptions {
  /** Heartbeat interval for idle egress streams (default 3000 ms). */
  readonly heartbeatMs?: number;
  /** Records per egress chunk at most (default 10,000). */
  readonly chunkRecords?: number;
  readonly name?: string;
  readonly sync?: SyncHandle;
  /** When set, every request must carry `Authorization: Bearer <key>`. */
  readonly key?: string | null;
  /** Ingress bodies larger than this are refused with 413 (default: no limit). */
  readonly maxIngressBytes?: number | null;
  /** Where ingress bodies over 8 MiB are spooled while they arrive (default: a directory in the OS temp dir). */
  readonly spoolDir?: string;
  /** The pipeline's storage directory (with storage): `/stats` `storage_bytes` is its measured size. */
  readonly storageDir?: string;
  /** The process's metric registry (default: a new one); `/metrics` serves it. */
  readonly metrics?: PipelineMetrics;
  /** The connectors declared in SQL, once started (their status: `/stats` outputs, connector stats). */
  readonly connectors?: () => readonly ConnectorStatus[];
}

export interface EgressConnection {
  readonly name: string;
  readonly view: string;
  transmitted_records: number;
  transmitted_bytes: number;
  chunks: number;
  /** Records (and chunks) written to the socket that it has not yet flushed to the client. */
  queued_records: number;
  queued_batches: number;
  /** Bytes the socket holds for the client (its write buffer). */
  queuedBytes(): number;
}

export interface ServerContext {
  readonly life: PipelineLifecycle;
  readonly options: PipelineServerOptions;
  readonly egress: Set<EgressConnection>;
  readonly metrics: PipelineMetrics;
  /** Measured memory pressure and storage size for `/stats`. */
  readonly meters: ResourceMeters;
}

/** The controller. @throws Initializing (503) or the initialization error while there is none. */
export function controllerOf(ctx: ServerContext): Controller {
  const c = ctx.life.controller;
  if (c === null) throw ctx.life.notReady();
  return c;
}

export function syncOrThrow(sync: SyncHandle | undefined, what: string): SyncHandle {
  if (!sync?.configured)
    throw new ServiceError(
      'SyncNotConfigured',
      `${what} requires sync to be configured: set runtime_config.storage.backend to {"name": "file", "config": {"sync": {"bucket": ...}}}`,
      {},
    );
  return sync;
}
