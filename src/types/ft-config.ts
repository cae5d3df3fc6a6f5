/**
 * Fault-tolerance and storage settings from a runtime config (Feldera's rules), shared by the manager (which
 * checks them at start) and the pipeline process (which runs them).
 *
 * - `fault_tolerance`: absent/null/"none"/{model:"none"} ⇒ off; {} or an object without `model` ⇒ exactly_once;
 *   legacy "initial_state"/"latest_checkpoint" ⇒ exactly_once; `checkpoint_interval_secs` defaults to 60, is
 *   clamped to 1..3600, and `null` turns periodic checkpoints off.
 * - `storage`: {} / true ⇒ on with defaults; null/false ⇒ off; `backend.name` is `default` or `file`.
 * - Fault tolerance without storage is `ConfigError.FtRequiresStorage`.
 */

import { FtConfigError } from './config-error.ts';
import type { FaultToleranceModel } from './pipeline-api.ts';
import { parseSyncConfig, type SyncSettings } from './sync-config.ts';

export { FtConfigError };

/** The fault-tolerance model (the wire type's name inside Holdfast). */
export type FtModel = FaultToleranceModel;

export interface FtSettings {
  readonly model: FtModel;
  /** Seconds between periodic checkpoints, or null for none. */
  readonly checkpointIntervalSecs: number | null;
  readonly storage: StorageSettings | null;
}

export interface StorageSettings {
  readonly backend: 'default' | 'file';
  readonly compression: 'default' | 'none' | 'snappy';
  readonly cacheMib: number | null;
  /**
   * A trace batch (operator state) of at least this many bytes lives in a file in the storage directory
   * (`min_storage_bytes`; default {@link DEFAULT_MIN_STORAGE_BYTES}, as Feldera).
   */
  readonly minStorageBytes: number;
  /** `min_step_storage_bytes` (null: never): accepted; a step's batches stay in memory (see README). */
  readonly minStepStorageBytes: number | null;
  /** The backend's own config (e.g. `sync` for the file backend). */
  readonly backendConfig: Readonly<Record<string, unknown>>;
  /** Checkpoint sync to object storage (`backend.config.sync`; file backend only). */
  readonly sync: SyncSettings | null;
}

function storageSettings(raw: unknown, baseDir: string | undefined): StorageSettings | null {
  if (raw === undefined) raw = {};
  if (raw === null || raw === false) return null;
  if (raw === true) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new FtConfigError('InvalidRuntimeConfig', 'storage must be true, false, null or an object');
  const o = raw as Record<string, unknown>;
  const backend = (o.backend ?? { name: 'default' }) as Record<string, unknown>;
  const name = backend.name ?? 'default';
  if (name !== 'default' && name !== 'file') {
    throw new FtConfigError(
      'InvalidRuntimeConfig',
      `storage.backend.name must be "default" or "file", got ${JSON.stringify(name)}`,
    );
  }
  const compression = o.compression ?? 'default';
  if (compression !== 'default' && compression !== 'none' && compression !== 'snappy') {
    throw new FtConfigError(
      'InvalidRuntimeConfig',
      `storage.compression must be "default", "none" or "snappy", got ${JSON.stringify(compression)}`,
    );
  }
  const cache = o.cache_mib ?? null;
  if (cache !== null && (typeof cache !== 'number' || cache < 0))
    throw new FtConfigError(
      'InvalidRuntimeConfig',
      'storage.cache_mib must be a non-negative number or null',
    );
  const byteField = (f: 'min_storage_bytes' | 'min_step_storage_bytes'): number | null => {
    const v = o[f] ?? null;
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0))
      throw new FtConfigError('InvalidRuntimeConfig', `storage.${f} must be a non-negative number or null`);
    return v as number | null;
  };
  const minStorage = byteField('min_storage_bytes');
  const minStepStorage = byteField('min_step_storage_bytes');
  const config = backend.config ?? {};
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new FtConfigError('InvalidRuntimeConfig', 'storage.backend.config must be an object');
  const syncRaw = (config as Record<string, unknown>).sync;
  if (syncRaw !== undefined && syncRaw !== null && name !== 'file')
    throw new FtConfigError(
      'InvalidSyncConfig',
      'invalid sync config: checkpoint sync needs the file backend: set storage.backend to {"name": "file", "config": {"sync": {...}}}',
      { field: 'backend.name' },
    );
  return {
    backend: name,
    compression,
    cacheMib: cache as number | null,
    minStorageBytes: minStorage ?? DEFAULT_MIN_STORAGE_BYTES,
    minStepStorageBytes: minStepStorage,
    backendConfig: config as Record<string, unknown>,
    sync: syncRaw === undefined || syncRaw === null ? null : parseSyncConfig(syncRaw, baseDir),
  };
}

/** Feldera's `min_storage_bytes` when null: 10 MiB. */
export const DEFAULT_MIN_STORAGE_BYTES = 10 * 1024 * 1024;
/** Feldera's `cache_mib` when null: 256 MiB per worker thread (Holdfast runs one). */
export const DEFAULT_CACHE_MIB = 256;

/** `baseDir` resolves a relative `file:` sync endpoint (default: the working directory). */
/** `checkpoint_interval_secs` when not given (Feldera's default). */
export const DEFAULT_CHECKPOINT_INTERVAL_SECS = 60;
/** The model of a `fault_tolerance` object without `model`, and of the legacy names. */
export const DEFAULT_FT_MODEL = 'exactly_once' satisfies FtModel;
/** Legacy `fault_tolerance` strings, meaning {@link DEFAULT_FT_MODEL}. */
export const LEGACY_FT_NAMES: readonly string[] = ['initial_state', 'latest_checkpoint'];

export function ftSettings(runtimeConfig: Readonly<Record<string, unknown>>, baseDir?: string): FtSettings {
  const storage = storageSettings(runtimeConfig.storage, baseDir);
  const ft = runtimeConfig.fault_tolerance;
  let model: FtModel = 'none';
  let interval: number | null = DEFAULT_CHECKPOINT_INTERVAL_SECS;
  if (ft === undefined || ft === null) model = 'none';
  else if (typeof ft === 'string') {
    if (ft.toLowerCase() === 'none') model = 'none';
    else if (LEGACY_FT_NAMES.includes(ft)) model = DEFAULT_FT_MODEL;
    else
      throw new FtConfigError(
        'InvalidRuntimeConfig',
        `fault_tolerance ${JSON.stringify(ft)} is not valid; use null, "none" or {"model": "at_least_once"|"exactly_once"}`,
      );
  } else if (typeof ft === 'object' && !Array.isArray(ft)) {
    const o = ft as Record<string, unknown>;
    const m = o.model === undefined ? DEFAULT_FT_MODEL : String(o.model);
    if (m.toLowerCase() === 'none') model = 'none';
    else if (m === 'at_least_once' || m === 'exactly_once') model = m;
    else
      throw new FtConfigError(
        'InvalidRuntimeConfig',
        `fault_tolerance.model must be "none", "at_least_once" or "exactly_once", got ${JSON.stringify(o.model)}`,
      );
    if ('checkpoint_interval_secs' in o) {
      const v = o.checkpoint_interval_secs;
      if (v === null) interval = null;
      else if (typeof v === 'number' && Number.isFinite(v) && v >= 0)
        interval = Math.min(3600, Math.max(1, Math.floor(v)));
      else
        throw new FtConfigError(
          'InvalidRuntimeConfig',
          'fault_tolerance.checkpoint_interval_secs must be a non-negative number or null',
        );
    }
  } else
    throw new FtConfigError('InvalidRuntimeConfig', 'fault_tolerance must be null, a string or an object');
  if (model !== 'none' && storage === null) {
    throw new FtConfigError(
      'ConfigError.FtRequiresStorage',
      'Fault tolerance is configured, which requires storage, but storage is not enabled',
    );
  }
  return { model, checkpointIntervalSecs: model === 'none' ? null : interval, storage };
}

/**
 * Why a pipeline with these settings cannot run in standby, or null when it can. Feldera's rules (the file
 * backend with `sync` configured) plus `start_from_checkpoint`, which says what the standby follows (`"latest"`
 * or one checkpoint UUID). The manager refuses `start?initial=standby` with it (`InitialStandbyNotAllowed`,
 * before anything starts); a pipeline process asked to enter standby anyway fails with `InvalidStandby`.
 */
export function standbyProblem(s: FtSettings): string | null {
  const how = 'set `runtime_config.storage` to {"backend": {"name": "file", "config": {"sync": {...}}}}';
  if (s.storage === null) return `storage is disabled; ${how}`;
  if (s.storage.backend !== 'file') return `\`runtime_config.storage.backend.name\` is not \`file\`; ${how}`;
  if (s.storage.sync === null)
    return `\`runtime_config.storage.backend.config.sync\` is not configured; ${how}`;
  if (s.storage.sync.startFromCheckpoint === null)
    return '`start_from_checkpoint` is not set in the sync config; set it to "latest" (follow the newest checkpoint in the bucket) or to a checkpoint UUID';
  return null;
}
