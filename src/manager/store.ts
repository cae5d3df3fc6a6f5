/**
 * The pipeline registry: every pipeline's definition and state, kept in `<data-dir>/registry.json` so it
 * survives a manager restart. Writes are atomic (temp file → fsync → rename → fsync the directory), so a crash
 * leaves either the old or the new registry, never a torn one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type ResourcesStatus = 'Stopped' | 'Provisioning' | 'Provisioned' | 'Stopping';
export type ResourcesDesiredStatus = 'Stopped' | 'Provisioned';
export type RuntimeStatus =
  | 'Standby'
  | 'Initializing'
  | 'AwaitingApproval'
  | 'Bootstrapping'
  | 'Replaying'
  | 'Running'
  | 'Paused'
  | 'Suspended'
  | 'Unavailable';
export type BootstrapPolicy = 'allow' | 'reject' | 'await_approval';
export type RuntimeDesiredStatus = 'Running' | 'Paused' | 'Standby';
export type StorageStatus = 'Cleared' | 'InUse' | 'Clearing';

export interface ErrorBody {
  message: string;
  error_code: string;
  details: Record<string, unknown>;
}

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
  program_config: Record<string, unknown>;
  runtime_config: Record<string, unknown>;
  program_version: number;
  program_status: string;
  program_status_since: string;
  program_error: Record<string, unknown>;
  program_info: Record<string, unknown> | null;
  deployment_id: string | null;
  deployment_initial: RuntimeDesiredStatus | null;
  deployment_error: ErrorBody | null;
  deployment_resources_status: ResourcesStatus;
  deployment_resources_status_since: string;
  deployment_resources_desired_status: ResourcesDesiredStatus;
  deployment_resources_desired_status_since: string;
  deployment_runtime_status: RuntimeStatus | null;
  deployment_runtime_status_since: string | null;
  /** As polled from the pipeline's `/status` (e.g. `{"approval_diff": …}`); absent in older registries. */
  deployment_runtime_status_details?: Record<string, unknown> | null;
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

export class Store {
  readonly #path: string;
  readonly #dir: string;
  readonly #pipelines = new Map<string, PipelineRecord>();

  constructor(dataDir: string) {
    this.#dir = dataDir;
    mkdirSync(dataDir, { recursive: true });
    this.#path = join(dataDir, 'registry.json');
    let text: string | null = null;
    try {
      text = readFileSync(this.#path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== null) {
      const file = JSON.parse(text) as RegistryFile;
      for (const p of file.pipelines) this.#pipelines.set(p.name, p);
    }
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

  /** Inserts or replaces a record (under `oldName` when renaming) and persists the registry. */
  put(rec: PipelineRecord, oldName?: string): void {
    if (oldName !== undefined && oldName !== rec.name) this.#pipelines.delete(oldName);
    this.#pipelines.set(rec.name, rec);
    this.save();
  }

  delete(name: string): void {
    this.#pipelines.delete(name);
    this.save();
  }

  save(): void {
    const body: RegistryFile = { format_version: 1, pipelines: this.list() };
    const tmp = `${this.#path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(body, null, 1));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#path);
    const dfd = openSync(this.#dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}
