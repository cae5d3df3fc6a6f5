/**
 * The pipeline registry: every pipeline's definition and state, kept in `<data-dir>/registry.json` so it
 * survives a manager restart.
 *
 * # State
 * The records in memory (the live objects handlers read and change), plus the JSON of each record as last
 * persisted (to roll a failed change back) and a "dirty" flag for background changes not yet on disk.
 *
 * # Invariants
 * - Every write is durable and atomic (util/durable-file.ts: temp → write all bytes → fsync → rename → fsync
 *   the directory), so a crash or a full disk leaves the old registry or the new one, never a torn one.
 * - A change made for a request ({@link put}, {@link update}, {@link delete}) is persisted before it counts:
 *   when the write fails (`StorageFull`, `StorageWriteFailed`) the records it touched are restored in memory to
 *   their last persisted state and the error is thrown, so the registry never holds a pipeline that was never
 *   persisted. A change that reports something that already happened (a process exited, a status was polled)
 *   goes through {@link note}: it stays in memory, and saving is retried until it succeeds.
 * - `registry.json` holds secrets (sync keys in runtime_config): it is written with mode 0600, the data directory
 *   is 0700, and wider modes found at start are narrowed (and logged).
 * - A registry that cannot be parsed stops the manager (`RegistryCorrupt`); it is never replaced by an empty one.
 * - Every change that counts (persisted, or noted in memory) is reported to the optional `observe` callback with
 *   the whole registry (the lifecycle log, lifecycle-log.ts); a change rolled back is not.
 */
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError } from '../errors/service-error.ts';
import type { ErrorResponse } from '../types/error-codes.ts';
import type {
  BootstrapPolicy,
  ProgramConfig,
  ProgramError,
  ProgramInfo,
  ProgramStatus,
  ResourcesDesiredStatus,
  ResourcesStatus,
  RuntimeConfig,
  RuntimeDesiredStatus,
  RuntimeStatus,
  StorageStatus,
  StorageStatusDetails,
} from '../types/pipeline-api.ts';
import {
  ensurePrivateDirSync,
  isTempName,
  narrowModeSync,
  SECRET_FILE_MODE,
  storageWriteError,
  writeFileDurableSync,
} from '../util/durable-file.ts';
import { parseJson } from '../util/json-u64.ts';

// the status unions and the error body are the wire contract's (types/pipeline-api.ts); re-exported for the
// manager's HTTP layer, which imports them from here
export type { BootstrapPolicy, RuntimeDesiredStatus, RuntimeStatus };

export interface PipelineRecord {
  id: string;
  name: string;
  description: string;
  tags: string[];
  created_at: string;
  version: number;
  refresh_version: number;
  platform_version: string;
  program_code: string;
  udf_rust: string;
  udf_toml: string;
  /** TypeScript UDFs (absent in records written before the field existed: ''). */
  udf_ts?: string;
  program_config: ProgramConfig;
  runtime_config: RuntimeConfig;
  program_version: number;
  program_status: ProgramStatus;
  program_status_since: string;
  program_error: ProgramError;
  program_info: ProgramInfo | null;
  deployment_id: string | null;
  deployment_initial: RuntimeDesiredStatus | null;
  deployment_error: ErrorResponse | null;
  deployment_resources_status: ResourcesStatus;
  deployment_resources_status_since: string;
  deployment_resources_desired_status: ResourcesDesiredStatus;
  deployment_resources_desired_status_since: string;
  deployment_runtime_status: RuntimeStatus | null;
  deployment_runtime_status_since: string | null;
  /** As polled from the pipeline's `/status` (e.g. `{"approval_diff": …}`); absent in older registries. */
  deployment_runtime_status_details?: Record<string, unknown> | null;
  /** Set by `start?silent_bootstrap=true`, cleared when the pipeline stops; absent in older registries. */
  silent_bootstrap?: boolean;
  /** Set by `start?concurrent_bootstrap=true`, cleared when the pipeline stops; absent in older registries. */
  concurrent_bootstrap?: boolean;
  /** The local checkpoints, as the pipeline's `/status` last listed them while storage is in use. */
  storage_status_details?: StorageStatusDetails | null;
  /** Set by `start` (default `await_approval`), cleared when the pipeline stops; absent in older registries. */
  bootstrap_policy?: BootstrapPolicy | null;
  deployment_runtime_desired_status: RuntimeDesiredStatus | null;
  deployment_runtime_desired_status_since: string | null;
  storage_status: StorageStatus;
  /** Process of the running deployment (for restart after a manager crash). */
  pid: number | null;
  port: number | null;
}

interface RegistryFile {
  format_version: 1;
  pipelines: PipelineRecord[];
}

export const REGISTRY_FILE = 'registry.json';
/** How often a background change that could not be saved is tried again. */
const RETRY_SAVE_MS = 2000;

export class Store {
  readonly #path: string;
  readonly #dir: string;
  readonly #log: (message: string, level?: 'info' | 'warn' | 'error') => void;
  readonly #observe: (records: PipelineRecord[]) => void;
  readonly #pipelines = new Map<string, PipelineRecord>();
  /** Each record's JSON as last persisted, by name. */
  #persisted = new Map<string, string>();
  /** A background change is in memory only (its save failed); retried by a timer. */
  #dirty = false;
  #retryTimer: NodeJS.Timeout | null = null;

  /** @throws ServiceError RegistryCorrupt (the file is not a registry) | StorageWriteFailed | StorageFull */
  constructor(
    dataDir: string,
    log: (message: string, level?: 'info' | 'warn' | 'error') => void = () => {},
    observe: (records: PipelineRecord[]) => void = () => {},
  ) {
    this.#dir = dataDir;
    this.#log = log;
    this.#observe = observe;
    this.#path = join(dataDir, REGISTRY_FILE);
    if (ensurePrivateDirSync(dataDir))
      log(`narrowed the permissions of data directory ${dataDir} to 0700 (it holds secrets)`, 'warn');
    let text: string | null = null;
    try {
      text = readFileSync(this.#path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw storageWriteError(e, this.#path, 'read');
    }
    if (text !== null) {
      for (const p of parseRegistry(text, this.#path)) this.#pipelines.set(p.name, p);
      try {
        if (narrowModeSync(this.#path, SECRET_FILE_MODE))
          log(`narrowed the permissions of ${this.#path} to 0600 (it holds secrets)`, 'warn');
      } catch (e) {
        throw storageWriteError(e, this.#path, 'change the mode of');
      }
    }
    this.#snapshot();
    // temporary files of writes a crash interrupted
    for (const name of readdirSync(dataDir))
      if (name.startsWith(`${REGISTRY_FILE}.tmp`) && (isTempName(name) || name === `${REGISTRY_FILE}.tmp`))
        try {
          unlinkSync(join(dataDir, name));
        } catch {}
  }

  get dataDir(): string {
    return this.#dir;
  }

  list(): PipelineRecord[] {
    return [...this.#pipelines.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(name: string): PipelineRecord | undefined {
    return this.#pipelines.get(name);
  }

  /**
   * Inserts or replaces a record (under `oldName` when renaming) and persists the registry; on failure nothing
   * changed. @throws ServiceError StorageFull | StorageWriteFailed
   */
  put(rec: PipelineRecord, oldName?: string): void {
    const names = oldName !== undefined && oldName !== rec.name ? [oldName, rec.name] : [rec.name];
    this.#transact(names, () => {
      if (oldName !== undefined && oldName !== rec.name) this.#pipelines.delete(oldName);
      this.#pipelines.set(rec.name, rec);
    });
  }

  /**
   * Changes record `name` with `f` (which may also do other work that can fail) and persists it; when `f` or
   * the write fails, the record is restored and the error thrown. Returns the record (undefined if unknown).
   */
  update(name: string, f: (r: PipelineRecord) => void): PipelineRecord | undefined {
    const r = this.#pipelines.get(name);
    if (r === undefined) return undefined;
    this.#transact([name], () => f(r));
    return r;
  }

  /** Removes a record and persists the registry; on failure it is still there. */
  delete(name: string): void {
    this.#transact([name], () => this.#pipelines.delete(name));
  }

  /**
   * Records a change that already happened (a process exited, a status was polled): it stays in memory even
   * when it cannot be saved (the error is logged and returned; saving is retried until it succeeds).
   */
  note(rec: PipelineRecord): ServiceError | null {
    this.#pipelines.set(rec.name, rec);
    try {
      this.#save();
      return null;
    } catch (e) {
      const err = storageWriteError(e, this.#path);
      if (!this.#dirty) this.#log(`error: ${err.errorCode}: ${err.message} (retrying)`, 'error');
      this.#dirty = true;
      this.#retryLater();
      this.#notify();
      return err;
    }
  }

  /** Stops retrying a failed background save (the manager is closing). */
  close(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #transact(names: readonly string[], apply: () => void): void {
    const before = names.map((n) => [n, this.#pipelines.get(n)] as const);
    try {
      apply();
      this.#save();
    } catch (e) {
      for (const [n, obj] of before) {
        if (obj === undefined) {
          this.#pipelines.delete(n);
          continue;
        }
        this.#pipelines.set(n, obj);
        const snap = this.#persisted.get(n);
        if (snap !== undefined) restoreInPlace(obj, parseJson(snap, 'raw') as PipelineRecord);
      }
      // a record added under a name that had none (a rename's new name) is gone with the loop above; the
      // error is the save's coded one (StorageFull, StorageWriteFailed) or whatever `apply` threw
      throw e;
    }
  }

  #save(): void {
    const body: RegistryFile = { format_version: 1, pipelines: this.list() };
    writeFileDurableSync(this.#path, JSON.stringify(body, null, 1), { mode: SECRET_FILE_MODE });
    this.#snapshot();
    if (this.#dirty) this.#log('the registry is saved again', 'info');
    this.#dirty = false;
    this.#notify();
  }

  /** Reports the registry to the observer; its failure (it only logs) never undoes a change. */
  #notify(): void {
    try {
      this.#observe(this.list());
    } catch {
      // logging failed: the change stands
    }
  }

  #snapshot(): void {
    this.#persisted = new Map([...this.#pipelines].map(([n, r]) => [n, JSON.stringify(r)]));
  }

  #retryLater(): void {
    if (this.#retryTimer !== null) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (!this.#dirty) return;
      try {
        this.#save();
      } catch {
        this.#retryLater();
      }
    }, RETRY_SAVE_MS);
    this.#retryTimer.unref();
  }
}

function restoreInPlace(obj: PipelineRecord, snap: PipelineRecord): void {
  const o = obj as unknown as Record<string, unknown>;
  for (const k of Object.keys(o)) delete o[k];
  Object.assign(o, snap);
}

/** Parses registry.json. @throws ServiceError RegistryCorrupt */
function parseRegistry(text: string, path: string): PipelineRecord[] {
  const corrupt = (why: string) =>
    new ServiceError(
      'RegistryCorrupt',
      `the pipeline registry ${path} is ${why}; the manager does not start with it (it would lose every pipeline). Restore the file from a backup or fix it; to start with no pipelines instead, move it away`,
      { path },
    );
  let file: unknown;
  try {
    file = parseJson(text, 'raw'); // a u64 (a checkpoint's fingerprint) keeps every digit
  } catch {
    throw corrupt(text.trim() === '' ? 'empty' : 'not valid JSON (truncated?)');
  }
  const f = file as Partial<RegistryFile> | null;
  if (f === null || typeof f !== 'object' || Array.isArray(f) || !Array.isArray(f.pipelines))
    throw corrupt('not a registry (no "pipelines" list)');
  if (f.format_version !== 1)
    throw corrupt(`of an unknown format_version ${JSON.stringify(f.format_version)}`);
  for (const p of f.pipelines)
    if (p === null || typeof p !== 'object' || typeof p.name !== 'string' || typeof p.id !== 'string')
      throw corrupt('not a registry (a pipeline has no name or id)');
  return f.pipelines;
}
