/**
 * What the manager's route handlers (routes/*.ts) use of the manager: its registry, supervisor, options and
 * the record helpers. `Manager` (api.ts) implements it; the route files depend on this interface only, so the
 * route tables and the manager do not import each other.
 */
import type { PipelineDiff } from '../types/pipeline-api.ts';
import type { LineSink, Logger, LogLevel } from '../util/log.ts';
import type { ManagerMetrics } from './manager-metrics.ts';
import type { PipelineRecord, Store } from './store.ts';
import type { Supervisor } from './supervisor.ts';

export interface ManagerOptions {
  readonly dataDir: string;
  readonly apiKey?: string | null;
  /** The `holdfast` entry script used to run compiler and pipeline processes. */
  readonly mainScript: string;
  /** Where the manager's own log lines go (default: nowhere); each pipeline's log is kept in its directory. */
  readonly logSink?: LineSink;
  /** The manager's level, also passed to the pipeline processes (default info). */
  readonly logLevel?: LogLevel;
  /** Largest JSON request body read whole (create, update, …); default 16 MiB; null: no limit. */
  readonly maxBodyBytes?: number | null;
  /** The wait before restarting a crashed pipeline process, doubled per crash in a row (default 250 ms). */
  readonly restartBackoffMs?: number;
}

export interface ManagerContext {
  readonly store: Store;
  readonly supervisor: Supervisor;
  readonly options: ManagerOptions;
  readonly metrics: ManagerMetrics;
  /** The manager's own log (util/log.ts). */
  readonly log: Logger;
  /** The pipeline's record. @throws UnknownPipelineName (404) */
  get(name: string): PipelineRecord;
  /** A change a request makes: persisted before the request succeeds (restored and thrown when it cannot be). */
  update(name: string, f: (r: PipelineRecord) => void): void;
  /** A change that reports what already happened: kept in memory even when it cannot be saved. */
  note(name: string, f: (r: PipelineRecord) => void): void;
  /** Compiles the record's program (child process) and stores the outcome on the record. */
  compile(r: PipelineRecord): Promise<void>;
  /**
   * The diff between two programs (child process, as a start would show it for approval).
   * @throws the proposed program's compile error (e.g. SqlSyntaxError, 400)
   */
  diff(before: { sql: string; udfTs: string }, after: { sql: string; udfTs: string }): Promise<PipelineDiff>;
  /** The config file a pipeline process is started with. */
  processConfig(r: PipelineRecord): Record<string, unknown>;
  /** Stops the deployment (desired Stopped, process stopped). */
  stopDeployment(name: string): Promise<void>;
  /** The port of a deployed pipeline's process. @throws PipelineInteractionNotDeployed (503) */
  deployedPort(r: PipelineRecord): number;
  /** The manager's OpenAPI document. */
  openapi(): unknown;
}
