/**
 * Manager routes proxied to the pipeline's own process (ingress, egress, query, stats, metrics, completion
 * status and tokens, one connector's stats and start/pause, checkpoints, bootstrap approval): the request — method, path below the pipeline name, query string,
 * headers and body — is forwarded as is, the body streamed unread (ingress is never buffered by the manager),
 * and the process's answer streamed back unchanged. The client's `Authorization` is the manager's key; the
 * manager replaces it with the process's own key.
 *
 * The query strings are checked here against the same schemas the process checks (same codes and messages);
 * a pipeline that is not deployed is 503 `PipelineInteractionNotDeployed`, one that does not answer 502
 * `PipelineInteractionUnreachable`.
 */
import { request } from 'node:http';
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { checkConnectorAction, pathSegments, requestUrl, sendError } from '../../errors/http-reply.ts';
import { ServiceError } from '../../errors/service-error.ts';
import type { InvalidMapper } from '../../http/errors.ts';
import { egressInvalid, metricsInvalid, queryInvalid } from '../../http/invalid.ts';
import type { Route, RouteMethod } from '../../http/routes.ts';
import {
  ApproveQuerySchema,
  CheckpointMetadataSchema,
  CheckpointResponseSchema,
  CheckpointStatusSchema,
  CheckpointSyncResponseSchema,
  CheckpointSyncStatusSchema,
  CompletionStatusQuerySchema,
  CompletionStatusResponseSchema,
  ConnectorActionParamsSchema,
  EgressQuerySchema,
  ERROR_RESPONSES,
  IncarnationQuerySchema,
  IngressQuerySchema,
  IngressResponseSchema,
  InputEndpointStatusSchema,
  MessageSchema,
  MetricsQuerySchema,
  OutputEndpointStatusSchema,
  PipelineParamsSchema,
  PipelineStatsSchema,
  QuerySqlQuerySchema,
  RemoteCheckpointSchema,
  StatsQuerySchema,
  TableConnectorParamsSchema,
  TableParamsSchema,
  ViewConnectorParamsSchema,
  ViewParamsSchema,
} from '../../types/api-schemas.ts';
import type { ManagerContext } from '../context.ts';

const DATA = ['Pipeline data'];
const CHECKPOINTS = ['Checkpoints'];

interface Proxied {
  readonly method: RouteMethod;
  /** Below `/v0/pipelines/:pipeline_name/`. */
  readonly path: string;
  readonly summary: string;
  readonly tags: readonly string[];
  readonly params?: object;
  readonly querystring?: object;
  readonly response?: FastifySchema['response'];
  readonly invalid?: InvalidMapper;
  /** Checks the manager makes before proxying (it refuses what Feldera's manager refuses itself). */
  readonly check?: (req: FastifyRequest) => void;
}

const STREAM = { description: 'A stream (see the README)' };

/** The proxied routes: one entry each. */
const PROXIED: readonly Proxied[] = [
  {
    method: 'POST',
    path: 'ingress/:table_name',
    summary: 'Push rows into a table (JSON lines or CSV body)',
    tags: DATA,
    params: TableParamsSchema,
    querystring: IngressQuerySchema,
    response: { 200: IngressResponseSchema },
  },
  {
    method: 'POST',
    path: 'egress/:view_name',
    summary: 'Stream the changes of a view (chunks separated by CRLF)',
    tags: DATA,
    params: ViewParamsSchema,
    querystring: EgressQuerySchema,
    response: { 200: STREAM },
    invalid: egressInvalid,
  },
  {
    method: 'GET',
    path: 'query',
    summary: 'Run an ad-hoc SQL query (text table or JSON lines)',
    tags: DATA,
    querystring: QuerySqlQuerySchema,
    response: { 200: STREAM },
    invalid: queryInvalid,
  },
  {
    method: 'GET',
    path: 'completion_status',
    summary: 'Whether the input of an ingress token is processed',
    tags: DATA,
    querystring: CompletionStatusQuerySchema,
    response: { 200: CompletionStatusResponseSchema },
  },
  {
    method: 'GET',
    path: 'tables/:table_name/connectors/:connector_name/stats',
    summary: 'The status of one input connector',
    tags: DATA,
    params: TableConnectorParamsSchema,
    response: { 200: InputEndpointStatusSchema },
  },
  {
    method: 'GET',
    path: 'tables/:table_name/connectors/:connector_name/completion_token',
    summary: "A completion token for an input connector's input so far",
    tags: DATA,
    params: TableConnectorParamsSchema,
    response: { 200: IngressResponseSchema },
  },
  {
    method: 'POST',
    path: 'tables/:table_name/connectors/:connector_name/:action',
    summary: 'Start or pause one input connector',
    tags: DATA,
    params: ConnectorActionParamsSchema,
    response: { 200: { description: 'Empty body' } },
    check: (req) => checkConnectorAction((req.params as { action: string }).action),
  },
  {
    method: 'GET',
    path: 'views/:view_name/connectors/:connector_name/stats',
    summary: 'The status of one output connector',
    tags: DATA,
    params: ViewConnectorParamsSchema,
    response: { 200: OutputEndpointStatusSchema },
  },
  {
    method: 'GET',
    path: 'stats',
    summary: "Pipeline statistics (`include_connector_errors=true`: with each endpoint's recent errors)",
    tags: DATA,
    querystring: StatsQuerySchema,
    response: { 200: PipelineStatsSchema },
  },
  {
    method: 'GET',
    path: 'metrics',
    summary: "The pipeline's metrics (Prometheus text or JSON)",
    tags: DATA,
    querystring: MetricsQuerySchema,
    response: { 200: { description: 'Prometheus text exposition, or prom-client JSON' } },
    invalid: metricsInvalid,
  },
  {
    method: 'POST',
    path: 'approve',
    summary: 'Approve a bootstrap awaiting approval',
    tags: ['Pipeline lifecycle'],
    querystring: ApproveQuerySchema,
    response: { 200: MessageSchema },
  },
  {
    method: 'POST',
    path: 'checkpoint',
    summary: 'Take a checkpoint',
    tags: CHECKPOINTS,
    response: { 200: CheckpointResponseSchema },
  },
  {
    method: 'GET',
    path: 'checkpoint_status',
    summary: 'The last checkpoint that succeeded or failed',
    tags: CHECKPOINTS,
    querystring: IncarnationQuerySchema,
    response: { 200: CheckpointStatusSchema },
  },
  {
    method: 'POST',
    path: 'checkpoint/sync',
    summary: 'Push the newest checkpoint to the bucket',
    tags: CHECKPOINTS,
    response: { 202: CheckpointSyncResponseSchema },
  },
  {
    method: 'GET',
    path: 'checkpoint/sync_status',
    summary: 'The last push that succeeded or failed',
    tags: CHECKPOINTS,
    querystring: IncarnationQuerySchema,
    response: { 200: CheckpointSyncStatusSchema },
  },
  {
    method: 'GET',
    path: 'checkpoints',
    summary: 'Local checkpoints',
    tags: CHECKPOINTS,
    response: { 200: { type: 'array', items: CheckpointMetadataSchema } },
  },
  {
    method: 'GET',
    path: 'checkpoints/remote',
    summary: 'Checkpoints in the bucket',
    tags: CHECKPOINTS,
    response: { 200: { type: 'array', items: RemoteCheckpointSchema } },
  },
];

export function dataProxyRoutes(m: ManagerContext): Route[] {
  return PROXIED.map(
    (p): Route => ({
      method: p.method,
      url: `/v0/pipelines/:pipeline_name/${p.path}`,
      schema: {
        summary: p.summary,
        tags: p.tags,
        params: p.params ?? PipelineParamsSchema,
        ...(p.querystring ? { querystring: p.querystring } : {}),
        response: { ...(p.response as object), ...ERROR_RESPONSES },
      },
      body: 'raw',
      ...(p.invalid ? { invalid: p.invalid } : {}),
      handler: (req, reply) => {
        p.check?.(req);
        proxy(m, req, reply);
      },
    }),
  );
}

function proxy(m: ManagerContext, req: FastifyRequest, reply: FastifyReply): void {
  const name = (req.params as { pipeline_name: string }).pipeline_name;
  const port = m.deployedPort(m.get(name));
  const url = requestUrl(req.raw, 'http://manager');
  const path = pathSegments(url).slice(3).map(encodeURIComponent).join('/') + url.search;
  const headers = { ...req.headers };
  delete headers.host;
  delete headers.authorization; // the client's key is the manager's, not the pipeline's
  Object.assign(headers, m.supervisor.authHeaders(name));
  reply.hijack();
  const res = reply.raw;
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
  req.raw.pipe(up);
}
