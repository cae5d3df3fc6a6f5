/**
 * The manager's `/v0` API (Feldera-compatible): the pipeline registry (CRUD), the lifecycle (start, stop,
 * pause, resume, activate, clear, dismiss_error), logs, and a proxy for every pipeline-scoped data route
 * (ingress, egress, query, stats, metrics, completion_status) to the pipeline's own process.
 *
 * Standby: `start?initial=standby` (only with the file backend, `sync` and `start_from_checkpoint`) starts the
 * process in standby, where it keeps pulling the newest checkpoint; `activate[?initial=running|paused]` is
 * forwarded to the process, and from then on its restarts start in the activated state, not in standby.
 *
 * Security: with an API key every `/v0` request needs `Authorization: Bearer <key>`. Each pipeline process
 * has its own random key from the supervisor (never stored or shown); the manager adds it to every request it
 * makes to the process (proxy, status polling, pause/resume, activate, suspend, metrics) in place of the
 * client's. JSON bodies are read whole, at most `maxBodyBytes` (413 `PayloadTooLarge` above, default 16 MiB);
 * proxied bodies (ingress) are streamed through unread. A malformed percent-encoding is 400 `InvalidParam`.
 *
 * Metrics (`GET /v0/metrics[?format=json]`): the manager's own registry (process and Node runtime metrics,
 * pipelines by status, HTTP requests by route and status, automatic restarts) merged with the metrics of every
 * deployed pipeline, fetched as JSON from each process in parallel and relabelled with its `pipeline_name`, into
 * one exposition (each family once; see metrics/registry.ts). A pipeline that does not answer is left out.
 *
 * Compilation is synchronous: POST/PUT/PATCH run `holdfast program compile` in a child process (the manager
 * never links the engine) and store `program_status`, `program_error` and `program_info`.
 *
 * Logs (util/log.ts format): one line per request (`logRequest`, on the response's finish), the lifecycle of
 * every pipeline (lifecycle-log.ts, from the registry's changes), and each pipeline's own log, kept in files
 * and served by `GET .../logs` (pipeline-logs.ts).
 */
import { spawn } from 'node:child_process';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  DEFAULT_MAX_BODY_BYTES,
  KEEP_ALIVE_TIMEOUT_MS,
  pathSegments,
  readBody,
  requestUrl,
  sendError,
  sendJson,
} from '../errors/http-reply.ts';
import { ServiceError, toServiceError } from '../errors/service-error.ts';
import {
  Counter,
  familiesOf,
  Gauge,
  type Histogram,
  type MetricFamily,
  mergeFamilies,
  PIPELINE_LABEL,
  PROMETHEUS_CONTENT_TYPE,
  processRegistry,
  type Registry,
  sanitizeFamilies,
  secondsHistogram,
} from '../metrics/registry.ts';
import { FtConfigError, type FtSettings, ftSettings, standbyProblem } from '../types/ft-config.ts';
import {
  closestName,
  PIPELINE_BODY_FIELDS,
  runtimeConfigWarnings,
  unknownBodyFields,
} from '../types/runtime-fields.ts';
import { createLogger, type LineSink, type Logger, type LogLevel, logRequest } from '../util/log.ts';
import { LifecycleLog } from './lifecycle-log.ts';
import { PipelineLogs } from './pipeline-logs.ts';
import {
  type BootstrapPolicy,
  type PipelineRecord,
  type RuntimeDesiredStatus,
  type RuntimeStatus,
  Store,
} from './store.ts';
import { Supervisor, type SupervisorEvents } from './supervisor.ts';
import {
  normalizeRuntimeConfig,
  redact,
  unredact,
  validateDescription,
  validateName,
  validateTags,
} from './validate.ts';

export const VERSION = '0.1.0';

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
}

const PROXIED = new Set([
  'ingress',
  'egress',
  'query',
  'stats',
  'metrics',
  'completion_status',
  'time_series',
  'checkpoint',
  'checkpoint_status',
  'checkpoints',
  'approve',
]);
const now = () => new Date().toISOString();
/** Runtime statuses a pipeline's `/status` may report that the manager shows as they are. */
const RUNTIME_FROM_PIPELINE = [
  'Standby',
  'Initializing',
  'AwaitingApproval',
  'Bootstrapping',
  'Replaying',
  'Running',
  'Paused',
  'Suspended',
] as const satisfies readonly RuntimeStatus[];
const BOOTSTRAP_POLICIES: readonly BootstrapPolicy[] = ['allow', 'reject', 'await_approval'];
/** A change of `deployment_runtime_status_details` alone (e.g. a standby's pull counters) is persisted at most this often. */
const DETAILS_SAVE_MS = 10_000;

export class Manager {
  readonly store: Store;
  readonly supervisor: Supervisor;
  readonly #opts: ManagerOptions;
  readonly server: Server;
  /** When each pipeline's record was last persisted for a details-only change. */
  readonly #detailsSavedAt = new Map<string, number>();
  /** The manager's own metrics (one registry for the process). */
  readonly #metrics: ManagerMetrics;
  readonly #log: Logger;

  constructor(opts: ManagerOptions) {
    this.#opts = opts;
    this.#metrics = managerMetrics(() => this.store.list());
    const level = opts.logLevel ?? 'info';
    const sink = opts.logSink ?? { write: () => {} };
    this.#log = createLogger({ level, sink, bindings: { component: 'manager' } });
    const logs = new PipelineLogs(opts.dataDir, { managerLog: this.#log, managerSink: sink, level });
    const lifecycle = new LifecycleLog(
      (id, name) => logs.logger(id, name),
      this.#log,
      (id) => logs.remove(id),
    );
    this.store = new Store(
      opts.dataDir,
      (line, lvl = 'info') => this.#log[lvl](line),
      (records) => lifecycle.observe(records),
    );
    lifecycle.seed(this.store.list());
    const events: SupervisorEvents = {
      onReady: (name, port, pid) =>
        this.#note(name, (r) => {
          r.port = port;
          r.pid = pid;
          setResources(r, 'Provisioned');
          setRuntime(r, 'Initializing');
          r.storage_status = 'InUse';
        }),
      onRuntime: (name, state, error, details = null) => {
        const r = this.store.get(name);
        if (r?.deployment_resources_status !== 'Provisioned') return;
        if (state === 'Failed') {
          this.#note(name, (x) => {
            x.deployment_error = error ?? {
              message: 'the pipeline failed',
              error_code: 'PipelineFailed',
              details: {},
            };
          });
          void this.#stopDeployment(name);
          return;
        }
        const rt = (RUNTIME_FROM_PIPELINE as readonly string[]).includes(state)
          ? (state as RuntimeStatus)
          : 'Unavailable';
        const same = JSON.stringify(r.deployment_runtime_status_details ?? null) === JSON.stringify(details);
        // a pipeline started as a standby that was activated before skips standby on its own (activated.json):
        // its desired status is then what it runs as, not Standby
        const skippedStandby =
          r.deployment_runtime_desired_status === 'Standby' && (rt === 'Running' || rt === 'Paused');
        if (r.deployment_runtime_status !== rt)
          this.#note(name, (x) => {
            setRuntime(x, rt);
            x.deployment_runtime_status_details = details;
            if (skippedStandby) {
              x.deployment_runtime_desired_status = rt;
              x.deployment_runtime_desired_status_since = now();
            }
          });
        else if (!same) {
          // details alone (a standby's pull counters tick every poll): in memory now, on disk now and then
          r.deployment_runtime_status_details = details;
          const t = Date.now();
          if (t - (this.#detailsSavedAt.get(name) ?? 0) >= DETAILS_SAVE_MS) {
            this.#detailsSavedAt.set(name, t);
            this.store.note(r);
          }
        }
      },
      onExit: (name, expected, gaveUp, detail) => {
        if (!expected && !gaveUp) this.#metrics.restarts.inc({ [PIPELINE_LABEL]: name });
        this.#note(name, (r) => {
          r.port = null;
          r.pid = null;
          setRuntime(r, null);
          r.deployment_runtime_status_details = null;
          if (expected || gaveUp) {
            r.bootstrap_policy = null;
            setResources(r, 'Stopped');
            r.deployment_resources_desired_status = 'Stopped';
            r.deployment_runtime_desired_status = null;
            r.deployment_initial = null;
            if (gaveUp) {
              r.deployment_error = new ServiceError(
                'PipelineCrashed',
                `the pipeline process kept exiting (${detail}); it was stopped after repeated restarts — see GET /v0/pipelines/${name}/logs`,
                { last_exit: detail },
              ).toResponse();
            }
          } else {
            setResources(r, 'Provisioning');
          }
        });
      },
    };
    this.supervisor = new Supervisor(opts.mainScript, opts.dataDir, events, { logs, logLevel: level });
    this.server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
      const t0 = performance.now();
      res.once('finish', () => {
        const labels = { route: routeOf(req), method: req.method ?? 'GET', status: String(res.statusCode) };
        this.#metrics.requests.inc(labels);
        this.#metrics.duration.observe(
          { route: labels.route, method: labels.method },
          (performance.now() - t0) / 1000,
        );
        logRequest(this.#log, {
          ...labels,
          url: req.url ?? '/',
          status: res.statusCode,
          ms: performance.now() - t0,
        });
      });
      this.#handle(req, res).catch((e: unknown) => {
        const err = sendError(res, e);
        if (err.httpStatus >= 500)
          this.#log.error({ error_code: err.errorCode }, `error: ${err.errorCode}: ${err.message}`);
      });
    });
  }

  /** Re-starts pipelines that should be running (after a manager restart), killing stale processes first. */
  resume(): void {
    for (const r of this.store.list()) {
      if (r.pid !== null)
        Supervisor.killStale(r.pid, join(this.store.dataDir, 'pipelines', r.id, 'config.json'));
      r.pid = null;
      r.port = null;
      if (r.deployment_resources_desired_status === 'Provisioned') {
        setResources(r, 'Provisioning');
        setRuntime(r, null);
        this.store.note(r);
        try {
          this.supervisor.start(r.name, r.id, this.#processConfig(r));
        } catch (e) {
          // e.g. StorageFull writing its config: reported on the pipeline; a start (or restart) tries again
          const err = toServiceError(e);
          this.#log.error({ pipeline: r.name }, `pipeline not restarted: ${err.errorCode}: ${err.message}`);
          setResources(r, 'Stopped');
          r.deployment_error = err.toResponse();
          this.store.note(r);
        }
      } else if (r.deployment_resources_status !== 'Stopped') {
        setResources(r, 'Stopped');
        setRuntime(r, null);
        this.store.note(r);
      }
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
    await this.supervisor.stopAll();
    this.store.close();
    this.supervisor.logs.close();
  }

  /**
   * A change a request makes: persisted before the request succeeds; when the write fails (e.g. StorageFull)
   * the record is restored and the error thrown (and answered).
   */
  #update(name: string, f: (r: PipelineRecord) => void): void {
    this.store.update(name, f);
  }

  /**
   * A change that reports what already happened (process exited, status polled, action carried out by the
   * pipeline): kept in memory even when it cannot be saved; the store logs the error and retries.
   */
  #note(name: string, f: (r: PipelineRecord) => void): void {
    const r = this.store.get(name);
    if (!r) return;
    f(r);
    this.store.note(r);
  }

  #auth(req: IncomingMessage, res: ServerResponse): boolean {
    const key = this.#opts.apiKey;
    if (!key) return true;
    const h = req.headers.authorization ?? '';
    const want = Buffer.from(`Bearer ${key}`);
    const got = Buffer.from(h);
    if (got.length === want.length && timingSafeEqual(got, want)) return true;
    if (!h) res.setHeader('www-authenticate', 'Bearer');
    sendError(
      res,
      new ServiceError(
        'AuthenticationFailed',
        h
          ? 'the API key is not valid'
          : 'this server requires an API key: send "Authorization: Bearer <key>"',
      ),
    );
    return false;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req, 'http://manager');
    const seg = pathSegments(url);
    const method = req.method ?? 'GET';
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'healthy' });
    if (url.pathname === '/config/authentication') return sendJson(res, 200, {});
    if (seg[0] !== 'v0') throw new ServiceError('NotFound', `no endpoint ${method} ${url.pathname}`, {});
    if (!this.#auth(req, res)) return;
    if (seg[1] === 'config' && seg.length === 2 && method === 'GET') return sendJson(res, 200, configBody());
    if (seg[1] === 'metrics' && seg.length === 2 && method === 'GET') return this.#allMetrics(url, res);
    if (seg[1] !== 'pipelines')
      throw new ServiceError('NotFound', `no endpoint ${method} ${url.pathname}`, {});
    if (seg.length === 2) {
      if (method === 'GET')
        return sendJson(
          res,
          200,
          this.store.list().map((r) => view(r, url.searchParams.get('selector'))),
        );
      if (method === 'POST') return this.#create(req, res);
    }
    const name = seg[2] as string;
    if (seg.length === 3) {
      if (method === 'GET')
        return sendJson(res, 200, view(this.#get(name), url.searchParams.get('selector')));
      if (method === 'PUT') return this.#put(name, req, res);
      if (method === 'PATCH') return this.#patch(name, req, res);
      if (method === 'DELETE') return this.#delete(name, res);
    }
    const action = seg[3] as string;
    if (seg.length === 4 && method === 'POST') {
      switch (action) {
        case 'start':
          return this.#start(name, url.searchParams, res);
        case 'stop':
          return this.#stop(name, url.searchParams, res);
        case 'pause':
        case 'resume':
          return this.#pauseResume(name, action, res);
        case 'clear':
          return this.#clear(name, res);
        case 'dismiss_error':
          return this.#dismiss(name, res);
        case 'activate':
          return this.#activate(name, url, res);
      }
    }
    if (seg.length === 4 && method === 'GET' && action === 'logs') return this.#logs(name, req, res);
    if (PROXIED.has(action))
      return this.#proxy(name, seg.slice(3).map(encodeURIComponent).join('/') + url.search, req, res);
    throw new ServiceError('NotFound', `no endpoint ${method} ${url.pathname}`, {});
  }

  #get(name: string): PipelineRecord {
    const r = this.store.get(name);
    if (!r)
      throw new ServiceError('UnknownPipelineName', `unknown pipeline name '${name}'`, {
        pipeline_name: name,
      });
    return r;
  }

  async #body(req: IncomingMessage): Promise<Record<string, unknown>> {
    const limit = this.#opts.maxBodyBytes === undefined ? DEFAULT_MAX_BODY_BYTES : this.#opts.maxBodyBytes;
    const { text } = await readBody(
      req,
      limit,
      'API request bodies (--max-body-bytes, HOLDFAST_MAX_BODY_BYTES)',
    );
    let b: unknown;
    try {
      b = JSON.parse(text);
    } catch (e) {
      throw new ServiceError(
        'InvalidRequestBody',
        `the request body is not valid JSON: ${(e as Error).message}`,
        {},
      );
    }
    if (b === null || typeof b !== 'object' || Array.isArray(b))
      throw new ServiceError('InvalidRequestBody', 'the request body must be a JSON object', {});
    return b as Record<string, unknown>;
  }

  async #compile(r: PipelineRecord): Promise<void> {
    const report = await compile(this.#opts.mainScript, r.program_code);
    r.program_status = report.program_status;
    r.program_status_since = now();
    r.program_error = report.program_error;
    r.program_info = report.program_info;
  }

  async #create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = checkBodyFields(await this.#body(req));
    const name = validateName(b.name);
    if (this.store.get(name))
      throw new ServiceError('DuplicateName', `a pipeline named '${name}' already exists`, {});
    const r = newRecord(name, b);
    await this.#compile(r);
    this.store.put(r);
    sendJson(res, 201, view(r, 'all', true));
  }

  async #put(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = checkBodyFields(await this.#body(req));
    const newName = validateName(b.name);
    const old = this.store.get(name);
    if (!old) {
      if (newName !== name)
        throw new ServiceError(
          'CannotRenameNonExistingPipeline',
          `pipeline '${name}' does not exist, so it cannot be renamed to '${newName}'`,
          {},
        );
      const r = newRecord(name, b);
      await this.#compile(r);
      this.store.put(r);
      return sendJson(res, 201, view(r, 'all', true));
    }
    if (typeof b.program_code !== 'string')
      throw new ServiceError('InvalidRequestBody', '"program_code" (string) is required', {
        field: 'program_code',
      });
    await this.#edit(old, { ...b, name: newName }, res);
  }

  async #patch(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = checkBodyFields(await this.#body(req));
    const old = this.#get(name);
    const merged: Record<string, unknown> = {};
    for (const k of [
      'name',
      'description',
      'tags',
      'program_code',
      'runtime_config',
      'program_config',
      'udf_rust',
      'udf_toml',
    ]) {
      const v = b[k];
      merged[k] = v === undefined || v === null ? (old as unknown as Record<string, unknown>)[k] : v;
    }
    merged.name = validateName(merged.name);
    await this.#edit(old, merged, res);
  }

  async #edit(old: PipelineRecord, b: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const name = b.name as string;
    const rc = normalizeRuntimeConfig(unredact(b.runtime_config ?? {}, old.runtime_config));
    const pc = b.program_config ?? {};
    if (typeof pc !== 'object' || pc === null || Array.isArray(pc))
      throw new ServiceError('InvalidProgramConfig', 'program_config must be a JSON object', { value: pc });
    const core = {
      name,
      program_code: b.program_code as string,
      runtime_config: rc,
      program_config: pc as Record<string, unknown>,
      udf_rust: typeof b.udf_rust === 'string' ? b.udf_rust : '',
      udf_toml: typeof b.udf_toml === 'string' ? b.udf_toml : '',
    };
    const changed = (Object.keys(core) as Array<keyof typeof core>).some(
      (k) => JSON.stringify(core[k]) !== JSON.stringify(old[k]),
    );
    if (
      changed &&
      !(
        old.deployment_resources_status === 'Stopped' && old.deployment_resources_desired_status === 'Stopped'
      )
    ) {
      throw new ServiceError(
        'UpdateRestrictedToStopped',
        `pipeline '${old.name}' must be stopped before its program, name or runtime config change; POST /v0/pipelines/${old.name}/stop?force=true first`,
        {},
      );
    }
    if (name !== old.name && this.store.get(name))
      throw new ServiceError('DuplicateName', `a pipeline named '${name}' already exists`, {});
    if (old.storage_status !== 'Cleared') {
      const notAllowed = storageBoundEdits(old, name, rc);
      if (notAllowed.length > 0) {
        throw new ServiceError(
          'EditRestrictedToClearedStorage',
          `The following pipeline edits are not allowed while storage is not cleared: ${notAllowed.join(', ')}; POST /v0/pipelines/${old.name}/clear first`,
          { not_allowed: notAllowed },
        );
      }
    }
    const r: PipelineRecord = {
      ...old,
      description: validateDescription(b.description),
      tags: validateTags(b.tags),
    };
    if (changed) {
      const programChanged =
        core.program_code !== old.program_code ||
        JSON.stringify(core.program_config) !== JSON.stringify(old.program_config) ||
        core.udf_rust !== old.udf_rust ||
        core.udf_toml !== old.udf_toml;
      Object.assign(r, core);
      r.version++;
      r.refresh_version++;
      if (programChanged) {
        r.program_version++;
        await this.#compile(r);
      }
    }
    this.store.put(r, old.name);
    sendJson(res, 200, view(r, 'all', true));
  }

  #delete(name: string, res: ServerResponse): void {
    const r = this.#get(name);
    if (r.deployment_resources_status !== 'Stopped' || r.deployment_resources_desired_status !== 'Stopped') {
      throw new ServiceError(
        'DeleteRestrictedToFullyStopped',
        `pipeline '${name}' must be stopped before it is deleted`,
        {},
      );
    }
    if (r.storage_status !== 'Cleared') {
      throw new ServiceError(
        'DeleteRestrictedToClearedStorage',
        `pipeline '${name}' still has storage; POST /v0/pipelines/${name}/clear first`,
        {},
      );
    }
    this.supervisor.forget(name);
    this.store.delete(name);
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  }

  #processConfig(r: PipelineRecord): Record<string, unknown> {
    return {
      ...r.runtime_config,
      name: `pipeline-${r.id}`,
      given_name: r.name,
      program_code: r.program_code,
      storage_config:
        r.runtime_config.storage === null
          ? null
          : { path: join(this.store.dataDir, 'pipelines', r.id, 'storage') },
      http: { bind: '127.0.0.1', port: 0 },
      initial: processInitial(r).toLowerCase(),
      bootstrap_policy: r.bootstrap_policy ?? 'await_approval',
    };
  }

  #start(name: string, p: URLSearchParams, res: ServerResponse): void {
    const r = this.#get(name);
    const initial = p.get('initial') ?? 'running';
    if (initial !== 'running' && initial !== 'paused' && initial !== 'standby') {
      throw new ServiceError(
        'UnsupportedPipelineAction',
        `Unsupported pipeline action '/start?initial=${initial}': unknown initial runtime desired status: ${initial}`,
        { initial },
      );
    }
    const want: RuntimeDesiredStatus =
      initial === 'paused' ? 'Paused' : initial === 'standby' ? 'Standby' : 'Running';
    const policy = p.get('bootstrap_policy') ?? 'await_approval';
    if (!(BOOTSTRAP_POLICIES as readonly string[]).includes(policy))
      throw new ServiceError(
        'InvalidBootstrapConfig',
        `Invalid bootstrap configuration: bootstrap_policy must be allow, reject or await_approval, got '${policy}'`,
        { bootstrap_policy: policy },
      );
    const silent = p.get('silent_bootstrap') === 'true';
    const concurrent = p.get('concurrent_bootstrap') === 'true';
    if (silent || concurrent)
      throw new ServiceError(
        'InvalidBootstrapConfig',
        silent && concurrent
          ? 'Invalid bootstrap configuration: `silent_bootstrap` and `concurrent_bootstrap` are mutually exclusive; set at most one'
          : 'Invalid bootstrap configuration: silent_bootstrap and concurrent_bootstrap are not supported by Holdfast; leave them unset',
        {},
      );
    let ft: FtSettings;
    try {
      ft = ftSettings(r.runtime_config);
    } catch (e) {
      if (e instanceof FtConfigError) throw new ServiceError(e.code, e.message, e.details);
      throw e;
    }
    if (want === 'Standby') {
      const problem = standbyProblem(ft);
      if (problem !== null)
        throw new ServiceError(
          'InitialStandbyNotAllowed',
          `Initial desired runtime status can only be set to Standby if: (1) \`runtime_config.storage.backend.name\` is set to \`file\`, (2) \`runtime_config.storage.backend.config.sync\` is configured, and (3) the sync config sets \`start_from_checkpoint\`. Pipeline '${name}': ${problem}.`,
          { pipeline_name: name },
        );
    }
    if (r.program_status !== 'Success')
      throw new ServiceError(
        'CannotStartWithCompilationError',
        `pipeline '${name}' cannot start: its program does not compile (see program_error)`,
        {},
      );
    if (r.deployment_resources_status === 'Stopping')
      throw new ServiceError(
        'IllegalPipelineAction',
        'Cannot restart the pipeline while it is stopping. Wait for it to stop before starting it again.',
        {},
      );
    if (r.storage_status === 'Clearing')
      throw new ServiceError(
        'CannotStartWhileClearingStorage',
        'storage is being cleared; start again when storage_status is Cleared',
        {},
      );
    const dismiss = p.get('dismiss_error') !== 'false';
    if (r.deployment_error && dismiss && r.deployment_resources_status === 'Stopped')
      r.deployment_error = null;
    if (r.deployment_resources_desired_status === 'Provisioned') {
      if (r.deployment_initial !== want)
        throw new ServiceError(
          'InitialImmutableUnlessStopped',
          `pipeline '${name}' is already started with initial=${(r.deployment_initial ?? '').toLowerCase()}; ${r.deployment_initial === 'Standby' ? `activate it (POST /v0/pipelines/${name}/activate)` : 'use pause/resume'} or stop it first`,
          {},
        );
      if ((r.bootstrap_policy ?? 'await_approval') !== policy)
        throw new ServiceError(
          'BootstrapPolicyImmutableUnlessStopped',
          `pipeline '${name}' is already started with bootstrap_policy=${r.bootstrap_policy ?? 'await_approval'}; stop it first to change the policy`,
          {},
        );
      sendJson(res, 202, 'Pipeline is starting');
      return;
    }
    // the config file and the registry are written first: when either write fails (e.g. StorageFull) the
    // request fails, nothing is started and the record is as it was
    this.#update(name, (x) => {
      x.deployment_id = randomUUID();
      x.deployment_initial = want;
      x.bootstrap_policy = policy as BootstrapPolicy;
      x.deployment_resources_desired_status = 'Provisioned';
      x.deployment_resources_desired_status_since = now();
      x.deployment_runtime_desired_status = want;
      x.deployment_runtime_desired_status_since = now();
      setResources(x, 'Provisioning');
      this.supervisor.writeConfig(x.id, this.#processConfig(x));
    });
    this.supervisor.start(name, r.id);
    sendJson(res, 202, 'Pipeline is starting');
  }

  async #stopDeployment(name: string): Promise<void> {
    this.#note(name, (r) => {
      r.deployment_resources_desired_status = 'Stopped';
      r.deployment_resources_desired_status_since = now();
      if (r.deployment_resources_status !== 'Stopped') setResources(r, 'Stopping');
    });
    await this.supervisor.stop(name);
  }

  #stop(name: string, p: URLSearchParams, res: ServerResponse): void {
    const r = this.#get(name);
    const force = p.get('force') === 'true';
    // still initializing (e.g. awaiting approval) or in standby: the state is the checkpoint it started from
    // (or pulled), so there is nothing to save and no controller to checkpoint
    const initializing =
      r.deployment_runtime_status === 'Standby' ||
      r.deployment_runtime_status === 'Initializing' ||
      r.deployment_runtime_status === 'AwaitingApproval' ||
      r.deployment_runtime_status === 'Bootstrapping';
    if (
      force ||
      initializing ||
      r.deployment_resources_status === 'Stopped' ||
      r.deployment_resources_status === 'Provisioning'
    ) {
      void this.#stopDeployment(name);
      sendJson(res, 202, 'Pipeline is forcefully stopping');
      return;
    }
    if (r.runtime_config.storage === null) {
      throw new ServiceError(
        'CheckpointStorageRequired',
        `stop?force=false checkpoints the pipeline first, which needs storage; enable runtime_config.storage, or use stop?force=true (state in memory is lost)`,
        {},
      );
    }
    const port = this.#deployedPort(r);
    this.#update(name, (x) => {
      x.deployment_runtime_desired_status = null;
      x.deployment_resources_desired_status = 'Stopped';
      x.deployment_resources_desired_status_since = now();
    });
    void this.#suspend(name, port);
    sendJson(res, 202, 'Pipeline is suspending');
  }

  /** Graceful stop: checkpoint, wait until it is durable, then stop the process. On failure: forced stop + error. */
  async #suspend(name: string, port: number): Promise<void> {
    const base = `http://127.0.0.1:${port}`;
    const headers = this.supervisor.authHeaders(name);
    try {
      // no step runs after the checkpoint's cut: input waits (unacknowledged) instead of being processed and
      // then lost with the process
      await fetch(`${base}/pause`, { method: 'POST', headers, signal: AbortSignal.timeout(10_000) });
      const r = await fetch(`${base}/checkpoint`, {
        method: 'POST',
        headers,
        signal: AbortSignal.timeout(120_000),
      });
      const body = (await r.json()) as {
        checkpoint_sequence_number?: number;
        incarnation_uuid?: string;
        message?: string;
      };
      if (!r.ok || body.checkpoint_sequence_number === undefined)
        throw new Error(body.message ?? `checkpoint answered ${r.status}`);
      const deadline = Date.now() + 120_000;
      for (;;) {
        const st = (await (
          await fetch(`${base}/checkpoint_status?incarnation_uuid=${body.incarnation_uuid}`, { headers })
        ).json()) as {
          success: number | null;
          failure: { sequence_number: number; error: string } | null;
        };
        if (st.success !== null && st.success >= body.checkpoint_sequence_number) break;
        if (st.failure && st.failure.sequence_number >= body.checkpoint_sequence_number)
          throw new Error(st.failure.error);
        if (Date.now() > deadline) throw new Error('the checkpoint did not complete within 120 s');
        await new Promise((res) => setTimeout(res, 50));
      }
      this.supervisor.log(name, 'pipeline suspended (checkpoint written); stopping');
      this.#note(name, (x) => setRuntime(x, 'Suspended'));
    } catch (e) {
      this.#note(name, (x) => {
        x.deployment_error = new ServiceError(
          'SuspendFailed',
          `stopping gracefully failed: ${(e as Error).message}; the pipeline was stopped without a final checkpoint`,
          {},
        ).toResponse();
      });
    }
    await this.#stopDeployment(name);
  }

  async #pauseResume(name: string, action: 'pause' | 'resume', res: ServerResponse): Promise<void> {
    const r = this.#get(name);
    const port = this.#deployedPort(r);
    const resp = await fetch(`http://127.0.0.1:${port}/${action === 'pause' ? 'pause' : 'start'}`, {
      method: 'POST',
      headers: this.supervisor.authHeaders(name),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => {
      throw new ServiceError('PipelineInteractionUnreachable', `pipeline '${name}' did not answer`, {
        pipeline_name: name,
      });
    });
    if (!resp.ok) {
      // the pipeline's own refusal (e.g. 400 InvalidTransition in standby) is passed through, as Feldera does
      const text = await resp.text().catch(() => '');
      if (isErrorBody(text)) return passThrough(res, resp.status, text);
      throw new ServiceError('PipelineInteractionUnreachable', `pipeline '${name}' answered ${resp.status}`, {
        pipeline_name: name,
      });
    }
    this.#note(name, (x) => {
      x.deployment_runtime_desired_status = action === 'pause' ? 'Paused' : 'Running';
      x.deployment_runtime_desired_status_since = now();
      setRuntime(x, action === 'pause' ? 'Paused' : 'Running');
    });
    sendJson(res, 202, action === 'pause' ? 'Pipeline is pausing' : 'Pipeline is resuming');
  }

  /**
   * `POST .../activate[?initial=running|paused]`: forwarded to the pipeline's `POST /activate` with the query
   * string verbatim; its answer (202 `"Pipeline transitioning from Standby to Running"`, or its error) is passed
   * through. Once accepted, the record's runtime desired status is the activated one and the process config
   * says so too, so that a restart (crash, manager restart) starts in that state instead of standby again.
   */
  async #activate(name: string, url: URL, res: ServerResponse): Promise<void> {
    const r = this.#get(name);
    const port = this.#deployedPort(r);
    const initial = url.searchParams.get('initial') ?? 'running';
    if (initial !== 'running' && initial !== 'paused')
      throw new ServiceError(
        'InvalidActivateStatus',
        `Invalid activation status ${JSON.stringify(initial)} (only running and paused are valid): omit initial to activate into Running, or send initial=paused`,
        { initial },
      );
    const unreachable = () =>
      new ServiceError('PipelineInteractionUnreachable', `pipeline '${name}' did not answer`, {
        pipeline_name: name,
      });
    let status: number;
    let text: string;
    let type: string | null;
    try {
      const resp = await fetch(`http://127.0.0.1:${port}/activate${url.search}`, {
        method: 'POST',
        headers: this.supervisor.authHeaders(name),
        signal: AbortSignal.timeout(10_000),
      });
      status = resp.status;
      type = resp.headers.get('content-type');
      text = await resp.text();
    } catch {
      throw unreachable();
    }
    if (status >= 200 && status < 300) {
      // the pipeline has activated: recorded even if the disk is full (then logged, retried)
      this.#note(name, (x) => {
        if (x.deployment_resources_desired_status !== 'Provisioned') return; // stopped meanwhile
        x.deployment_runtime_desired_status = initial === 'paused' ? 'Paused' : 'Running';
        x.deployment_runtime_desired_status_since = now();
        try {
          this.supervisor.writeConfig(x.id, this.#processConfig(x));
        } catch (e) {
          const err = toServiceError(e);
          this.supervisor.log(
            name,
            `the process config was not updated: ${err.errorCode}: ${err.message}`,
            'error',
          );
        }
      });
      this.supervisor.log(name, `activation requested (initial=${initial})`);
    }
    passThrough(res, status, text, type);
  }

  #clear(name: string, res: ServerResponse): void {
    const r = this.#get(name);
    if (r.deployment_resources_status !== 'Stopped')
      throw new ServiceError(
        'IllegalPipelineAction',
        `storage can be cleared only while pipeline '${name}' is stopped`,
        {},
      );
    rmSync(join(this.store.dataDir, 'pipelines', r.id, 'storage'), { recursive: true, force: true });
    r.storage_status = 'Cleared';
    this.store.put(r);
    sendJson(res, 202, 'Pipeline storage is being cleared');
  }

  #dismiss(name: string, res: ServerResponse): void {
    const r = this.#get(name);
    if (
      r.deployment_error &&
      !(r.deployment_resources_status === 'Stopped' && r.deployment_resources_desired_status === 'Stopped')
    ) {
      throw new ServiceError(
        'DismissErrorRestrictedToFullyStopped',
        `pipeline '${name}' must be stopped before its error is dismissed`,
        {},
      );
    }
    r.deployment_error = null;
    this.store.put(r);
    sendJson(res, 200, 'Deployment error dismissed');
  }

  #deployedPort(r: PipelineRecord): number {
    const port = this.supervisor.port(r.name);
    if (r.deployment_resources_status !== 'Provisioned' || port === null) {
      throw new ServiceError(
        'PipelineInteractionNotDeployed',
        `pipeline '${r.name}' is not deployed (status ${r.deployment_resources_status}); start it and wait for Running`,
        {
          pipeline_name: r.name,
          status: r.deployment_resources_status,
          desired_status: r.deployment_resources_desired_status,
        },
      );
    }
    return port;
  }

  #proxy(name: string, path: string, req: IncomingMessage, res: ServerResponse): void {
    const port = this.#deployedPort(this.#get(name));
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.authorization; // the client's key is the manager's, not the pipeline's
    Object.assign(headers, this.supervisor.authHeaders(name));
    const up = request({ host: '127.0.0.1', port, method: req.method, path: `/${path}`, headers }, (pr) => {
      res.writeHead(pr.statusCode ?? 502, { ...pr.headers, 'content-encoding': 'identity' });
      res.flushHeaders();
      pr.pipe(res);
    });
    up.on('error', () => {
      sendError(
        res,
        new ServiceError('PipelineInteractionUnreachable', `pipeline '${name}' did not answer`, {
          pipeline_name: name,
        }),
      );
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  }

  #logs(name: string, req: IncomingMessage, res: ServerResponse): void {
    const { id } = this.#get(name);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.flushHeaders();
    const stop = this.supervisor.logs.follow(id, (line) => res.write(`${line}\n`));
    req.on('close', stop);
    res.on('close', stop);
  }

  async #allMetrics(url: URL, res: ServerResponse): Promise<void> {
    const format = url.searchParams.get('format') ?? 'prometheus';
    if (format !== 'prometheus' && format !== 'json')
      throw new ServiceError('InvalidParam', `unknown metrics format '${format}': use prometheus or json`, {
        param: 'format',
        value: format,
      });
    const deployed = this.store
      .list()
      .filter(
        (r) => r.deployment_resources_status === 'Provisioned' && this.supervisor.port(r.name) !== null,
      );
    const pipelines = await Promise.all(
      deployed.map(async (r): Promise<MetricFamily[]> => {
        try {
          const answer = await fetch(`http://127.0.0.1:${this.supervisor.port(r.name)}/metrics?format=json`, {
            headers: this.supervisor.authHeaders(r.name),
            signal: AbortSignal.timeout(5000),
          });
          if (!answer.ok) return [];
          return sanitizeFamilies(await answer.json(), { [PIPELINE_LABEL]: r.name });
        } catch {
          return []; // an unreachable pipeline is left out
        }
      }),
    );
    const merged = mergeFamilies([await familiesOf(this.#metrics.registry), ...pipelines]);
    if (format === 'json') return sendJson(res, 200, await merged.getMetricsAsJSON());
    const text = await merged.metrics();
    res.writeHead(200, {
      'content-type': PROMETHEUS_CONTENT_TYPE,
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }
}

interface ManagerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly duration: Histogram<'route' | 'method'>;
  readonly restarts: Counter<typeof PIPELINE_LABEL>;
}

/** The manager's registry: process/runtime metrics, pipelines by status, HTTP requests, restarts. */
function managerMetrics(pipelines: () => readonly PipelineRecord[]): ManagerMetrics {
  const registry = processRegistry();
  new Gauge({
    name: 'holdfast_manager_pipelines',
    help: 'Pipelines by status: the runtime status while deployed, else the resources status (Stopped, Provisioning, ...).',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      this.reset();
      const by = new Map<string, number>();
      for (const r of pipelines()) {
        const s = r.deployment_runtime_status ?? r.deployment_resources_status;
        by.set(s, (by.get(s) ?? 0) + 1);
      }
      for (const [status, n] of by) this.set({ status }, n);
    },
  });
  return {
    registry,
    requests: new Counter({
      name: 'holdfast_manager_http_requests_total',
      help: 'HTTP requests answered by the manager, by route (a template), method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    duration: secondsHistogram(
      registry,
      'holdfast_manager_http_request_duration_seconds',
      'Time to answer each HTTP request (to the end of the response: streams last as long as they stay open).',
      ['route', 'method'],
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300],
    ),
    restarts: new Counter({
      name: 'holdfast_manager_pipeline_restarts_total',
      help: 'Automatic restarts of a pipeline process after it exited unexpectedly (crash, kill -9).',
      labelNames: [PIPELINE_LABEL],
      registers: [registry],
    }),
  };
}

/** Routes whose segment after the pipeline name is kept in the `route` label (anything else is `{other}`). */
const ROUTE_ACTIONS = new Set([
  ...PROXIED,
  'start',
  'stop',
  'pause',
  'resume',
  'clear',
  'dismiss_error',
  'activate',
  'logs',
]);

/** The request's route as a template (`/v0/pipelines/{pipeline_name}/stats`): bounded label values. */
function routeOf(req: IncomingMessage): string {
  let seg: string[];
  try {
    seg = pathSegments(requestUrl(req, 'http://manager'));
  } catch {
    return '{invalid}';
  }
  const path = `/${seg.join('/')}`;
  if (path === '/healthz' || path === '/config/authentication') return path;
  if (seg[0] !== 'v0') return '{unknown}';
  if (seg[1] === 'config' || seg[1] === 'metrics') return seg.length === 2 ? path : '{unknown}';
  if (seg[1] !== 'pipelines') return '{unknown}';
  if (seg.length === 2) return '/v0/pipelines';
  if (seg.length === 3) return '/v0/pipelines/{pipeline_name}';
  const action = seg[3] as string;
  if (!ROUTE_ACTIONS.has(action)) return '/v0/pipelines/{pipeline_name}/{unknown}';
  const base = `/v0/pipelines/{pipeline_name}/${action}`;
  if (seg.length === 4) return base;
  if (action === 'ingress') return `${base}/{table_name}`;
  if (action === 'egress') return `${base}/{view_name}`;
  if (action === 'checkpoint' && seg.length === 5 && (seg[4] === 'sync' || seg[4] === 'sync_status'))
    return `${base}/${seg[4]}`;
  return `${base}/{rest}`;
}

/**
 * The state a (re)started process starts in: `deployment_initial`, except that a standby that was activated
 * starts in the state it was activated to (and paused/resumed to since): it owns the bucket now.
 */
function processInitial(r: PipelineRecord): RuntimeDesiredStatus {
  const desired = r.deployment_runtime_desired_status;
  if (r.deployment_initial === 'Standby' && desired !== null && desired !== 'Standby') return desired;
  return r.deployment_initial ?? 'Running';
}

/** Whether a pipeline's answer is an error body (`{"message", "error_code", ...}`). */
function isErrorBody(text: string): boolean {
  try {
    const b = JSON.parse(text) as unknown;
    return (
      typeof b === 'object' && b !== null && typeof (b as { error_code?: unknown }).error_code === 'string'
    );
  } catch {
    return false;
  }
}

/** Sends the pipeline's answer on unchanged (status and body). */
function passThrough(res: ServerResponse, status: number, text: string, type: string | null = null): void {
  res.writeHead(status, {
    'content-type': type ?? 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Edits that change what stored state means (Feldera's list): refused until storage is cleared. */
function storageBoundEdits(old: PipelineRecord, name: string, rc: Record<string, unknown>): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  if (name !== old.name) out.push('name');
  for (const k of ['workers', 'hosts', 'fault_tolerance', 'clock_timezone_offset']) {
    if (!same(rc[k], old.runtime_config[k])) out.push(k);
  }
  const res = (rc.resources ?? {}) as Record<string, unknown>;
  const oldRes = (old.runtime_config.resources ?? {}) as Record<string, unknown>;
  for (const k of ['storage_mb_max', 'storage_class', 'namespace']) {
    if (!same(res[k], oldRes[k])) out.push(`resources.${k}`);
  }
  return out;
}

function setResources(r: PipelineRecord, s: PipelineRecord['deployment_resources_status']): void {
  if (r.deployment_resources_status !== s) {
    r.deployment_resources_status = s;
    r.deployment_resources_status_since = now();
  }
}

function setRuntime(r: PipelineRecord, s: PipelineRecord['deployment_runtime_status']): void {
  if (r.deployment_runtime_status !== s) {
    r.deployment_runtime_status = s;
    r.deployment_runtime_status_since = s === null ? null : now();
  }
}

/**
 * Refuses a pipeline body with a top-level field Holdfast does not know (most often a misspelling such as
 * `runtime_confg`, which Feldera would silently ignore, dropping the configuration it carried).
 */
function checkBodyFields(b: Record<string, unknown>): Record<string, unknown> {
  const unknown = unknownBodyFields(b);
  if (unknown.length === 0) return b;
  const hints = unknown.map((k) => {
    const near = closestName(k, PIPELINE_BODY_FIELDS);
    return near ? `'${k}' (did you mean '${near}'?)` : `'${k}'`;
  });
  throw new ServiceError(
    'InvalidRequestBody',
    `unknown top-level field${unknown.length > 1 ? 's' : ''} ${hints.join(', ')} in the pipeline body; the fields are ${PIPELINE_BODY_FIELDS.join(', ')}`,
    { unknown_fields: unknown, valid_fields: [...PIPELINE_BODY_FIELDS] },
  );
}

function newRecord(name: string, b: Record<string, unknown>): PipelineRecord {
  if (typeof b.program_code !== 'string')
    throw new ServiceError('InvalidRequestBody', '"program_code" (string) is required', {
      field: 'program_code',
    });
  const pc = b.program_config ?? {};
  if (typeof pc !== 'object' || pc === null || Array.isArray(pc))
    throw new ServiceError('InvalidProgramConfig', 'program_config must be a JSON object', { value: pc });
  const t = now();
  return {
    id: uuidv7(),
    name,
    description: validateDescription(b.description),
    tags: validateTags(b.tags),
    created_at: t,
    version: 1,
    refresh_version: 1,
    platform_version: VERSION,
    program_code: b.program_code,
    udf_rust: typeof b.udf_rust === 'string' ? b.udf_rust : '',
    udf_toml: typeof b.udf_toml === 'string' ? b.udf_toml : '',
    program_config: { profile: 'optimized', cache: true, ...(pc as Record<string, unknown>) },
    runtime_config: normalizeRuntimeConfig(b.runtime_config),
    program_version: 1,
    program_status: 'Pending',
    program_status_since: t,
    program_error: { sql_compilation: null, rust_compilation: null, system_error: null },
    program_info: null,
    deployment_id: null,
    deployment_initial: null,
    deployment_error: null,
    deployment_resources_status: 'Stopped',
    deployment_resources_status_since: t,
    deployment_resources_desired_status: 'Stopped',
    deployment_resources_desired_status_since: t,
    deployment_runtime_status: null,
    deployment_runtime_status_since: null,
    deployment_runtime_desired_status: null,
    deployment_runtime_desired_status_since: null,
    storage_status: 'Cleared',
    pid: null,
    port: null,
  };
}

/** The pipeline object as the API returns it for a selector (`all`, `status`, `status_with_connectors`). */
function view(r: PipelineRecord, selector: string | null, info = false): Record<string, unknown> {
  const sel = selector ?? 'all';
  if (sel !== 'all' && sel !== 'status' && sel !== 'status_with_connectors') {
    throw new ServiceError(
      'InvalidParam',
      `selector must be all, status or status_with_connectors, got '${sel}'`,
      { param: 'selector' },
    );
  }
  const combined =
    r.deployment_resources_status === 'Provisioned'
      ? (r.deployment_runtime_status ?? 'Unavailable')
      : r.deployment_resources_status;
  const desired =
    r.deployment_resources_desired_status === 'Stopped'
      ? 'Stopped'
      : (r.deployment_runtime_desired_status ?? r.deployment_initial ?? 'Unavailable');
  const out: Record<string, unknown> = {
    id: r.id,
    name: r.name,
    description: r.description,
    tags: r.tags,
    created_at: r.created_at,
    version: r.version,
    platform_version: r.platform_version,
    program_config: r.program_config,
    program_version: r.program_version,
    program_status: r.program_status,
    program_status_since: r.program_status_since,
    deployment_error: r.deployment_error,
    refresh_version: r.refresh_version,
    storage_status: r.storage_status,
    storage_status_details: null,
    deployment_id: r.deployment_id,
    deployment_initial: r.deployment_initial,
    deployment_status: combined,
    deployment_status_since: r.deployment_runtime_status_since ?? r.deployment_resources_status_since,
    deployment_desired_status: desired,
    deployment_desired_status_since:
      r.deployment_runtime_desired_status_since ?? r.deployment_resources_desired_status_since,
    deployment_resources_status: r.deployment_resources_status,
    deployment_resources_status_since: r.deployment_resources_status_since,
    deployment_resources_desired_status: r.deployment_resources_desired_status,
    deployment_resources_desired_status_since: r.deployment_resources_desired_status_since,
    deployment_runtime_status: r.deployment_runtime_status,
    deployment_runtime_status_details: r.deployment_runtime_status_details ?? null,
    deployment_runtime_status_since: r.deployment_runtime_status_since,
    deployment_runtime_desired_status: r.deployment_runtime_desired_status,
    deployment_runtime_desired_status_since: r.deployment_runtime_desired_status_since,
    warnings: runtimeConfigWarnings(r.runtime_config),
  };
  if (!info) {
    out.bootstrap_policy = r.bootstrap_policy ?? null;
    out.silent_bootstrap = false;
    out.concurrent_bootstrap = false;
  }
  if (sel === 'all') {
    out.runtime_config = redact(r.runtime_config);
    out.program_code = r.program_code;
    out.udf_rust = r.udf_rust;
    out.udf_toml = r.udf_toml;
    out.program_error = r.program_error;
    out.program_info = r.program_info;
    out.deployment_resources_status_details = null;
  }
  if (sel === 'status_with_connectors')
    out.connectors = r.deployment_resources_status === 'Provisioned' ? { num_errors: 0 } : null;
  return out;
}

function configBody(): Record<string, unknown> {
  return {
    edition: 'Enterprise',
    version: VERSION,
    revision: `holdfast-${VERSION}`,
    runtime_revision: `holdfast-${VERSION}`,
    changelog_url: '',
    unstable_features: null,
    license_validity: null,
    update_info: null,
    build_info: {
      build_timestamp: '',
      build_cpu: process.arch,
      build_os: process.platform,
      cargo_dependencies: '',
      cargo_features: '',
      cargo_debug: 'false',
      cargo_opt_level: '',
      cargo_target_triple: '',
      rustc_version: '',
    },
    build_source: 'source',
    posthog: '',
    conceptualhq: '',
    product_fruits: '',
  };
}

/** Runs the SQL compiler in a child process (`holdfast program compile`). */
function compile(
  mainScript: string,
  sql: string,
): Promise<{
  program_status: string;
  program_error: Record<string, unknown>;
  program_info: Record<string, unknown> | null;
}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mainScript, 'program', 'compile'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        resolve({
          program_status: 'SystemError',
          program_error: {
            sql_compilation: null,
            rust_compilation: null,
            system_error: `the compiler failed: ${err.trim().split('\n').pop() ?? 'no output'}`,
          },
          program_info: null,
        });
      }
    });
    child.stdin.end(sql);
  });
}

/** UUID v7 (time-ordered), so listing by id lists pipelines in creation order. */
export function uuidv7(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  let ms = BigInt(Date.now());
  for (let i = 5; i >= 0; i--) {
    b[i] = Number(ms & 0xffn);
    ms >>= 8n;
  }
  b[6] = ((b[6] as number) & 0x0f) | 0x70;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
