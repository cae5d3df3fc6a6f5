/**
 * The manager: the pipeline registry, the supervisor of pipeline processes and the `/v0` API
 * (Feldera-compatible) on fastify, through the HTTP kit (src/http/). Its routes are tables, one group per file:
 *
 *   routes/pipelines.ts   GET/POST /v0/pipelines, GET/PUT/PATCH/DELETE /v0/pipelines/{name}, POST …/diff
 *   routes/lifecycle.ts   POST /v0/pipelines/{name}/{start,stop,pause,resume,activate,clear,dismiss_error}
 *   routes/data-proxy.ts  ingress, egress, query, completion_status, stats, metrics, approve, checkpoint(s),
 *                         one connector's stats/start/pause/completion_token:
 *                         proxied to the pipeline's own process
 *   routes/logs.ts        GET /v0/pipelines/{name}/logs
 *   routes/metrics.ts     GET /v0/metrics
 *   routes/config.ts      GET /v0/config, GET /v0/api-docs/openapi.json, GET /healthz, GET /config/authentication
 *   routes/console.ts     GET / and /assets/{file}: the web console's static files (no key needed)
 *
 * Every route's path parameters, query string and body have a JSON schema (types/api-schemas.ts); the OpenAPI
 * document is made of them. A known path with another method is 405 `MethodNotAllowed`.
 *
 * Security: with an API key every `/v0` request (but the OpenAPI document) needs `Authorization: Bearer <key>`.
 * Each pipeline process has its own random key from the supervisor (never stored or shown); the manager adds it
 * to every request it makes to the process (proxy, status polling, pause/resume, activate, suspend, metrics) in
 * place of the client's. JSON bodies are read whole, at most `maxBodyBytes` (413 `PayloadTooLarge` above,
 * default 16 MiB); proxied bodies (ingress) are streamed through unread. A malformed percent-encoding is 400
 * `InvalidParam`.
 *
 * Metrics and logs: HTTP requests by route template and status are recorded in the kit's `onResponse` hook
 * point (below), which also writes one log line per request (`logRequest`, util/log.ts format); the lifecycle of
 * every pipeline is logged from the registry's changes (lifecycle-log.ts), and each pipeline's own log is kept
 * in files and served by `GET .../logs` (pipeline-logs.ts).
 *
 * Compilation is synchronous: POST/PUT/PATCH run `holdfast program compile` in a child process (the manager
 * never links the engine) and store `program_status`, `program_error` and `program_info`.
 */
import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { DEFAULT_MAX_BODY_BYTES } from '../errors/http-reply.ts';
import { ServiceError, toServiceError } from '../errors/service-error.ts';
import { HttpApp } from '../http/app.ts';
import { PIPELINE_LABEL } from '../metrics/registry.ts';
import { SHARED_SCHEMAS } from '../types/api-schemas.ts';
import { ERROR_CATALOG, type ErrorCode, type ErrorResponse } from '../types/error-codes.ts';
import type { PipelineDiff, ProgramError, ProgramInfo, ProgramStatus } from '../types/pipeline-api.ts';
import { createLogger, type Logger, logRequest } from '../util/log.ts';
import type { ManagerContext, ManagerOptions } from './context.ts';
import { LifecycleLog } from './lifecycle-log.ts';
import { type ManagerMetrics, managerMetrics } from './manager-metrics.ts';
import { PipelineLogs } from './pipeline-logs.ts';
import { now, processInitial, setResources, setRuntime } from './records.ts';
import { configRoutes, PUBLIC_PATHS } from './routes/config.ts';
import { consoleRoutes } from './routes/console.ts';
import { dataProxyRoutes } from './routes/data-proxy.ts';
import { lifecycleRoutes } from './routes/lifecycle.ts';
import { logsRoutes } from './routes/logs.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { pipelineRoutes, VERSION } from './routes/pipelines.ts';
import { type PipelineRecord, type RuntimeStatus, Store } from './store.ts';
import { Supervisor } from './supervisor.ts';

export type { ManagerOptions } from './context.ts';
export { VERSION } from './routes/pipelines.ts';

/** Runtime statuses a pipeline's `/status` may report that the manager shows as they are. */
const RUNTIME_FROM_PIPELINE = [
  'Standby',
  'Initializing',
  'AwaitingApproval',
  'Bootstrapping',
  'Replaying',
  'ConcurrentBootstrapping',
  'Synchronizing',
  'Running',
  'Paused',
  'Suspended',
] as const satisfies readonly RuntimeStatus[];
/** A change of `deployment_runtime_status_details` alone (e.g. a standby's pull counters) is persisted at most this often. */
const DETAILS_SAVE_MS = 10_000;

export class Manager implements ManagerContext {
  readonly store: Store;
  readonly supervisor: Supervisor;
  readonly options: ManagerOptions;
  /** The HTTP app (fastify) serving the API. */
  readonly http: HttpApp;
  /** When each pipeline's record was last persisted for a details-only change. */
  readonly #detailsSavedAt = new Map<string, number>();
  /** The manager's own metrics (one registry for the process). */
  readonly metrics: ManagerMetrics;
  /** The manager's own log (util/log.ts format; `logSink`, default nowhere). */
  readonly log: Logger;

  constructor(opts: ManagerOptions) {
    this.options = opts;
    this.metrics = managerMetrics(() => this.store.list());
    const level = opts.logLevel ?? 'info';
    const sink = opts.logSink ?? { write: () => {} };
    this.log = createLogger({ level, sink, bindings: { component: 'manager' } });
    const logs = new PipelineLogs(opts.dataDir, { managerLog: this.log, managerSink: sink, level });
    // the lifecycle of every pipeline is logged from the registry's changes (lifecycle-log.ts), not per route
    const lifecycle = new LifecycleLog(
      (id, name) => logs.logger(id, name),
      this.log,
      (id) => logs.remove(id),
    );
    this.store = new Store(
      opts.dataDir,
      (line, lvl = 'info') => this.log[lvl](line),
      (records) => lifecycle.observe(records),
    );
    lifecycle.seed(this.store.list());
    this.supervisor = new Supervisor(
      opts.mainScript,
      opts.dataDir,
      {
        onReady: (name, port, pid) =>
          this.note(name, (r) => {
            r.port = port;
            r.pid = pid;
            setResources(r, 'Provisioned');
            setRuntime(r, 'Initializing');
            r.storage_status = 'InUse';
          }),
        onRuntime: (name, state, error, details = null, storage = null) => {
          const r = this.store.get(name);
          if (r?.deployment_resources_status !== 'Provisioned') return;
          // the checkpoints the pipeline lists (kept after it stops: storage stays in use until cleared)
          if (
            storage !== null &&
            JSON.stringify(r.storage_status_details ?? null) !== JSON.stringify(storage)
          )
            this.note(name, (x) => {
              x.storage_status_details = storage;
            });
          if (state === 'Failed') {
            this.note(name, (x) => {
              x.deployment_error = error ?? {
                message: 'the pipeline failed',
                error_code: 'PipelineFailed',
                details: {},
              };
            });
            void this.stopDeployment(name);
            return;
          }
          const rt = (RUNTIME_FROM_PIPELINE as readonly string[]).includes(state)
            ? (state as RuntimeStatus)
            : 'Unavailable';
          const same =
            JSON.stringify(r.deployment_runtime_status_details ?? null) === JSON.stringify(details);
          // a pipeline started as a standby that was activated before skips standby on its own (activated.json):
          // its desired status is then what it runs as, not Standby
          const skippedStandby =
            r.deployment_runtime_desired_status === 'Standby' && (rt === 'Running' || rt === 'Paused');
          if (r.deployment_runtime_status !== rt)
            this.note(name, (x) => {
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
          if (!expected && !gaveUp) this.metrics.restarts.inc({ [PIPELINE_LABEL]: name });
          this.note(name, (r) => {
            r.port = null;
            r.pid = null;
            setRuntime(r, null);
            r.deployment_runtime_status_details = null;
            if (expected || gaveUp) {
              r.bootstrap_policy = null;
              r.silent_bootstrap = false;
              r.concurrent_bootstrap = false;
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
      },
      {
        logs,
        logLevel: level,
        ...(opts.restartBackoffMs !== undefined ? { restartBackoffMs: opts.restartBackoffMs } : {}),
      },
    );
    this.http = new HttpApp({
      auth: opts.apiKey
        ? {
            key: opts.apiKey,
            guarded: (path) => path.startsWith('/v0') && !PUBLIC_PATHS.includes(path.replace(/\/+$/, '')),
            message: (sent) =>
              sent
                ? 'the API key is not valid'
                : 'this server requires an API key: send "Authorization: Bearer <key>"',
          }
        : null,
      sharedSchemas: SHARED_SCHEMAS,
      jsonBodyLimit: opts.maxBodyBytes === undefined ? DEFAULT_MAX_BODY_BYTES : opts.maxBodyBytes,
      jsonBodyWhat: 'API request bodies (--max-body-bytes, HOLDFAST_MAX_BODY_BYTES)',
      openapi: {
        title: 'Holdfast',
        version: VERSION,
        description:
          "Holdfast's manager API: Feldera's /v0 REST API for incremental SQL pipelines (see the README's API reference).",
      },
      // the one hook point after each response: HTTP metrics and the request's log line
      onResponse: (request, reply, route, seconds) => {
        const labels = { route, method: request.method, status: String(reply.statusCode) };
        this.metrics.requests.inc(labels);
        this.metrics.duration.observe({ route, method: request.method }, seconds);
        logRequest(this.log, { ...labels, url: request.url, status: reply.statusCode, ms: seconds * 1000 });
      },
      onError: (err) => {
        if (err.httpStatus >= 500)
          this.log.error({ error_code: err.errorCode }, `error: ${err.errorCode}: ${err.message}`);
      },
    });
    this.http
      .routes(pipelineRoutes(this))
      .routes(lifecycleRoutes(this))
      .routes(dataProxyRoutes(this))
      .routes(logsRoutes(this))
      .routes(metricsRoutes(this))
      .routes(configRoutes(this))
      .routes(consoleRoutes());
    void this.http.ready();
  }

  /** The node server (callers `listen` it). */
  get server(): Server {
    return this.http.server;
  }

  /** The OpenAPI document of the API (once the app is ready). */
  openapi(): unknown {
    return this.http.app.swagger();
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
          this.supervisor.start(r.name, r.id, this.processConfig(r));
        } catch (e) {
          // e.g. StorageFull writing its config: reported on the pipeline; a start (or restart) tries again
          const err = toServiceError(e);
          this.log.error({ pipeline: r.name }, `pipeline not restarted: ${err.errorCode}: ${err.message}`);
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

  update(name: string, f: (r: PipelineRecord) => void): void {
    this.store.update(name, f);
  }

  note(name: string, f: (r: PipelineRecord) => void): void {
    const r = this.store.get(name);
    if (!r) return;
    f(r);
    this.store.note(r);
  }

  get(name: string): PipelineRecord {
    const r = this.store.get(name);
    if (!r)
      throw new ServiceError('UnknownPipelineName', `unknown pipeline name '${name}'`, {
        pipeline_name: name,
      });
    return r;
  }

  async compile(r: PipelineRecord): Promise<void> {
    const report = await compile(this.options.mainScript, r.program_code, r.udf_ts ?? '');
    r.program_status = report.program_status;
    r.program_status_since = now();
    // Feldera bumps refresh_version on the program status moves that change what a client shows: SqlCompiled
    // and Success (or the failure state it stops in); compiling at once, Holdfast goes through them together
    r.refresh_version += report.program_status === 'Success' ? 2 : 1;
    r.program_error = report.program_error;
    r.program_info = report.program_info;
  }

  async diff(
    before: { sql: string; udfTs: string },
    after: { sql: string; udfTs: string },
  ): Promise<PipelineDiff> {
    const out = await runProgramCommand(
      this.options.mainScript,
      'diff',
      JSON.stringify({ old: before.sql, new: after.sql, old_udf_ts: before.udfTs, new_udf_ts: after.udfTs }),
    );
    const report = (out ?? {}) as { diff?: PipelineDiff; error?: ErrorResponse };
    if (report.diff) return report.diff;
    const e = report.error;
    if (e && Object.hasOwn(ERROR_CATALOG, e.error_code))
      throw new ServiceError(
        e.error_code as ErrorCode,
        e.message,
        (e.details ?? {}) as Record<string, unknown>,
      );
    throw new ServiceError('UnknownError', 'the program diff failed: the compiler gave no answer', {});
  }

  processConfig(r: PipelineRecord): Record<string, unknown> {
    return {
      ...r.runtime_config,
      name: `pipeline-${r.id}`,
      given_name: r.name,
      program_code: r.program_code,
      udf_ts: r.udf_ts ?? '',
      storage_config:
        r.runtime_config.storage === null
          ? null
          : { path: join(this.store.dataDir, 'pipelines', r.id, 'storage') },
      http: { bind: '127.0.0.1', port: 0 },
      initial: processInitial(r).toLowerCase(),
      bootstrap_policy: r.bootstrap_policy ?? 'await_approval',
      silent_bootstrap: r.silent_bootstrap === true,
      concurrent_bootstrap: r.concurrent_bootstrap === true,
    };
  }

  async stopDeployment(name: string): Promise<void> {
    this.note(name, (r) => {
      r.deployment_resources_desired_status = 'Stopped';
      r.deployment_resources_desired_status_since = now();
      if (r.deployment_resources_status !== 'Stopped') setResources(r, 'Stopping');
    });
    await this.supervisor.stop(name);
  }

  deployedPort(r: PipelineRecord): number {
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
}

/** Runs `holdfast program <command>` with `input` on stdin; its stdout as JSON (null when it is not JSON). */
function runProgramCommand(mainScript: string, command: string, input: string): Promise<unknown> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mainScript, 'program', command], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        resolve(null);
      }
    });
    child.stdin.end(input);
  });
}

/** Runs the SQL compiler in a child process (`holdfast program compile --json`: the SQL and its udf_ts). */
function compile(
  mainScript: string,
  sql: string,
  udfTs: string,
): Promise<{
  program_status: ProgramStatus;
  program_error: ProgramError;
  program_info: ProgramInfo | null;
}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mainScript, 'program', 'compile', '--json'], {
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
    child.stdin.end(JSON.stringify({ program_code: sql, udf_ts: udfTs }));
  });
}
