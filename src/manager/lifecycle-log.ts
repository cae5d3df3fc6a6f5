/**
 * The manager's lifecycle log: watches the registry (the store calls {@link LifecycleLog.observe} after every
 * change it records) and logs each change of a pipeline's lifecycle, whatever request or event caused it —
 * created, renamed, updated, compiled, deleted; start, stop, pause, resume and activation requested (the
 * desired statuses); the deployment's actual statuses; a deployment error; the storage status. Lines go to the
 * manager's log and to the pipeline's own log (pipeline-logs.ts), with `pipeline` and `component: "manager"`.
 *
 * State: the last seen lifecycle fields of each pipeline, by id. Logging only: it never changes a record.
 */
import type { Logger } from '../util/log.ts';
import type { PipelineRecord } from './store.ts';

interface Seen {
  readonly name: string;
  readonly version: number;
  readonly program_version: number;
  readonly program_status: string;
  readonly resources: string;
  readonly resources_desired: string;
  readonly runtime: string | null;
  readonly runtime_desired: string | null;
  readonly storage: string;
  readonly error: string | null;
}

function seen(r: PipelineRecord): Seen {
  return {
    name: r.name,
    version: r.version,
    program_version: r.program_version,
    program_status: r.program_status,
    resources: r.deployment_resources_status,
    resources_desired: r.deployment_resources_desired_status,
    runtime: r.deployment_runtime_status,
    runtime_desired: r.deployment_runtime_desired_status,
    storage: r.storage_status,
    error: r.deployment_error ? `${r.deployment_error.error_code}: ${r.deployment_error.message}` : null,
  };
}

export class LifecycleLog {
  readonly #seen = new Map<string, Seen>();
  readonly #loggerFor: (id: string, name: string) => Logger;
  readonly #managerLog: Logger;
  readonly #onDeleted: (id: string) => void;

  /**
   * `loggerFor` gives the logger of a pipeline's lines; `onDeleted` is called once a pipeline has left the
   * registry (its log files are removed).
   */
  constructor(
    loggerFor: (id: string, name: string) => Logger,
    managerLog: Logger,
    onDeleted: (id: string) => void,
  ) {
    this.#loggerFor = loggerFor;
    this.#managerLog = managerLog;
    this.#onDeleted = onDeleted;
  }

  /** The registry as loaded at start: remembered, not logged. */
  seed(records: readonly PipelineRecord[]): void {
    for (const r of records) this.#seen.set(r.id, seen(r));
    this.#managerLog.info({ pipelines: records.length }, `registry loaded: ${records.length} pipeline(s)`);
  }

  /** The registry after a change: logs what changed since the last call. */
  observe(records: readonly PipelineRecord[]): void {
    const ids = new Set<string>();
    for (const r of records) {
      ids.add(r.id);
      const now = seen(r);
      const before = this.#seen.get(r.id);
      this.#seen.set(r.id, now);
      if (before === undefined) {
        const log = this.#loggerFor(r.id, r.name);
        log.info({ pipeline_id: r.id, version: r.version }, 'pipeline created');
        this.#compiled(log, r);
        continue;
      }
      if (JSON.stringify(before) !== JSON.stringify(now)) this.#changed(r, before, now);
    }
    for (const [id, s] of this.#seen) {
      if (ids.has(id)) continue;
      this.#seen.delete(id);
      this.#managerLog.info({ pipeline: s.name, pipeline_id: id }, 'pipeline deleted (its logs too)');
      this.#onDeleted(id);
    }
  }

  #changed(r: PipelineRecord, b: Seen, n: Seen): void {
    const log = this.#loggerFor(r.id, r.name);
    if (b.name !== n.name) log.info({ old_name: b.name }, `pipeline renamed from '${b.name}' to '${n.name}'`);
    if (b.version !== n.version) log.info({ version: n.version }, `pipeline updated (version ${n.version})`);
    if (b.program_version !== n.program_version) this.#compiled(log, r);
    if (b.resources_desired !== n.resources_desired) {
      if (n.resources_desired === 'Provisioned')
        log.info(
          { initial: r.deployment_initial, bootstrap_policy: r.bootstrap_policy ?? null },
          `start requested (initial ${r.deployment_initial ?? 'Running'})`,
        );
      else log.info({}, 'stop requested');
    } else if (b.runtime_desired !== n.runtime_desired && n.runtime_desired !== null) {
      const what =
        b.runtime_desired === 'Standby'
          ? `activation accepted (now ${n.runtime_desired})`
          : n.runtime_desired === 'Paused'
            ? 'pause requested'
            : n.runtime_desired === 'Running'
              ? 'resume requested'
              : `desired runtime status ${n.runtime_desired}`;
      log.info({ from: b.runtime_desired, to: n.runtime_desired }, what);
    }
    if (b.resources !== n.resources)
      log.info(
        { from: b.resources, to: n.resources },
        `deployment resources status ${b.resources} → ${n.resources}`,
      );
    if (b.runtime !== n.runtime && n.runtime !== null)
      log.info({ from: b.runtime, to: n.runtime }, `runtime status ${b.runtime ?? 'none'} → ${n.runtime}`);
    if (b.error !== n.error) {
      if (n.error !== null)
        log.error({ error_code: r.deployment_error?.error_code }, `deployment error: ${n.error}`);
      else log.info({}, 'deployment error dismissed');
    }
    if (b.storage !== n.storage)
      log.info({ from: b.storage, to: n.storage }, `storage status ${b.storage} → ${n.storage}`);
  }

  #compiled(log: Logger, r: PipelineRecord): void {
    const fields = { program_version: r.program_version, program_status: r.program_status };
    if (r.program_status === 'Success') log.info(fields, 'program compiled');
    else log.warn(fields, `program does not compile (${r.program_status}); see program_error`);
  }
}
