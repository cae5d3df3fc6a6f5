/**
 * The pipeline process's HTTP API on fastify, through the HTTP kit (src/http/) — the manager proxies
 * `/v0/pipelines/{name}/…` to these routes; the same routes also serve a pipeline run alone. Routes as tables,
 * one group per file:
 *
 *   routes/ingress.ts    POST /ingress/{table}?format=json|csv&update_format=&array=&force=   → {"token"}
 *                        GET  /completion_status?token=                                       → {"status", "step"}
 *   routes/egress.ts     POST /egress/{view}?format=json|csv&send_snapshot=&backpressure=     → stream of chunks
 *   routes/query.ts      GET  /query?sql=&format=text|json                                    → table or JSON lines
 *   routes/stats.ts      GET  /stats, GET /metrics?format=prometheus|json (pipeline-metrics.ts)
 *   routes/connectors.ts GET  /tables/{t}/connectors/{c}/stats|completion_token, POST …/{start|pause},
 *                        GET  /views/{v}/connectors/{c}/stats                                 → see connectors.ts
 *   routes/lifecycle.ts  GET  /status (ExtendedRuntimeStatus), GET /healthz, POST /approve, POST /activate,
 *                        POST /pause, POST /start (= /resume)                                 → see lifecycle.ts
 *   routes/sync.ts       POST /checkpoint, GET /checkpoint_status, GET /checkpoints, POST /checkpoint/sync (202),
 *                        GET /checkpoint/sync_status, GET /checkpoints/remote                 → see sync/
 *
 * Given a {@link PipelineLifecycle} the server answers from the start of initialization: `/status`,
 * `/healthz`, `/approve`, `/activate`, `/start` and `/pause` always; every other route once the controller
 * exists (503 `Initializing` before, or the initialization error).
 *
 * With a `key` (the manager's per-spawn secret, or `HOLDFAST_PIPELINE_KEY` for a pipeline run alone) every
 * route, `/status` and `/healthz` included, requires `Authorization: Bearer <key>` (401
 * `AuthenticationFailed`). A malformed percent-encoding in the path or query is 400 `InvalidParam`; a known path
 * with another method 405 `MethodNotAllowed`. The route schemas describe the routes but are not compiled here
 * (fast restarts): each handler checks its own parameters, with the codes the manager's schemas map to.
 */
import type { Server } from 'node:http';
import type { Controller } from '../controller/controller.ts';
import { HttpApp } from '../http/app.ts';
import { SHARED_SCHEMAS } from '../types/api-schemas.ts';
import { PipelineLifecycle } from './lifecycle.ts';
import { PipelineMetrics } from './pipeline-metrics.ts';
import { ResourceMeters } from './resource-meters.ts';
import { connectorRoutes } from './routes/connectors.ts';
import { egressRoutes } from './routes/egress.ts';
import { ingressRoutes } from './routes/ingress.ts';
import { lifecycleRoutes } from './routes/lifecycle.ts';
import { queryRoutes } from './routes/query.ts';
import { statsRoutes } from './routes/stats.ts';
import { syncRoutes } from './routes/sync.ts';
import type { EgressConnection, PipelineServerOptions, ServerContext } from './server-context.ts';

export type { ActivationSummary, PipelineServerOptions, SyncHandle } from './server-context.ts';

/** The pipeline's HTTP server (the node server: callers `listen` it). */
export function createPipelineServer(
  source: Controller | PipelineLifecycle,
  options: PipelineServerOptions = {},
): Server {
  const life = source instanceof PipelineLifecycle ? source : new PipelineLifecycle({ controller: source });
  const egress = new Set<EgressConnection>();
  const metrics = options.metrics ?? new PipelineMetrics(options.name ?? 'pipeline');
  metrics.attach({
    controller: () => life.controller,
    standby: () => (life.phase.kind === 'Standby' ? (options.sync?.standby ?? null) : null),
    syncService: () => (life.controller === null ? null : (options.sync?.service ?? null)),
    activationSeconds: () => (life.controller === null ? null : (options.sync?.activation?.seconds ?? null)),
    outputs: () => egress,
  });
  const meters = new ResourceMeters(options.storageDir ?? null);
  const ctx: ServerContext = { life, options, egress, metrics, meters };
  const key = options.key;
  const http = new HttpApp({
    auth: key
      ? {
          key,
          guarded: () => true,
          message: (sent) =>
            sent
              ? 'the pipeline key is not valid'
              : 'this pipeline process requires its key: send "Authorization: Bearer <key>" (reach a pipeline started by the manager through the manager\'s API)',
        }
      : null,
    sharedSchemas: SHARED_SCHEMAS,
    // the handlers check their parameters (same codes as the manager's schemas, which validate before proxying);
    // compiling the schemas (Ajv) would add seconds to every (re)start of a pipeline process on a loaded machine,
    // and a restart after a crash is recovery time
    validate: false,
    // ingress bodies are streamed by their route (routes/ingress.ts), bounded by maxIngressBytes there
    jsonBodyLimit: null,
    jsonBodyWhat: 'request bodies',
    notFoundDetails: true,
  });
  http
    .routes(lifecycleRoutes(ctx))
    .routes(ingressRoutes(ctx))
    .routes(egressRoutes(ctx))
    .routes(queryRoutes(ctx))
    .routes(statsRoutes(ctx))
    .routes(connectorRoutes(ctx))
    .routes(syncRoutes(ctx));
  void http.ready();
  return http.server;
}
