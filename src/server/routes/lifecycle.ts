/**
 * Pipeline routes around the lifecycle: `GET /status` and `GET /healthz` (Feldera's `ExtendedRuntimeStatus`,
 * see lifecycle.ts; while running its details carry `connector_stats.num_errors`, and with storage
 * `storage_status_details` lists the local checkpoints), `POST /approve[?silent_bootstrap=true|concurrent_bootstrap=true]`
 * (bootstrap approval; the two are mutually exclusive), `POST /activate?initial=running|paused` (a standby), `POST /pause`,
 * `POST /start` and `POST /resume`. These answer from the start of initialization: before the
 * controller exists pause/start set the state it will start in; in standby they are 400 `InvalidTransition`
 * (activate first).
 */
import { createHash } from 'node:crypto';
import type { CheckpointEntry } from '../../controller/checkpointer.ts';
import { boolParam } from '../../errors/http-reply.ts';
import { ServiceError } from '../../errors/service-error.ts';
import { queryParams, type Route, sendJson } from '../../http/routes.ts';
import {
  ActivateQuerySchema,
  ApproveQuerySchema,
  ERROR_RESPONSES,
  MessageSchema,
} from '../../types/api-schemas.ts';
import type { CheckpointMetadata } from '../../types/pipeline-api.ts';
import type { ServerContext } from '../server-context.ts';
import { outputStatuses } from './stats.ts';

export function lifecycleRoutes(ctx: ServerContext): Route[] {
  const { life } = ctx;
  const status: Route['handler'] = (_req, reply) => {
    const s = life.status();
    const controller = life.controller;
    if (controller !== null && 'runtime_status' in s.body) {
      const body = s.body;
      // while it runs, the errors its connectors counted (Feldera's `connector_stats`) and, with storage, its
      // checkpoints (`storage_status_details`)
      if (body.runtime_status === 'Running' || body.runtime_status === 'Paused')
        body.runtime_status_details = {
          ...(body.runtime_status_details ?? {}),
          connector_stats: { num_errors: connectorErrors(ctx) },
        };
      if (controller.checkpointer)
        body.storage_status_details = { checkpoints: controller.checkpointer.list().map(checkpointMetadata) };
    }
    sendJson(reply, s.httpStatus, s.body);
  };
  /** `POST /pause`, `/start`, `/resume`. */
  const pauseOrStart = (path: '/pause' | '/start' | '/resume'): Route => ({
    method: 'POST',
    url: path,
    schema: { response: { 200: { type: 'object' }, ...ERROR_RESPONSES } },
    handler: (_req, reply) => {
      const action = path === '/pause' ? 'pause' : 'start';
      if (life.phase.kind === 'Standby')
        throw new ServiceError(
          'InvalidTransition',
          `Cannot execute ${action} transition starting from Standby; activate the standby first (POST /activate)`,
          { from: 'Standby', action },
        );
      const controller = life.controller;
      if (controller === null) life.desired = action === 'pause' ? 'Paused' : 'Running';
      else if (action === 'pause') controller.pause();
      else controller.resume();
      sendJson(reply, 200, {});
    },
  });
  return [
    { method: 'GET', url: '/status', schema: { response: { 200: { type: 'object' } } }, handler: status },
    { method: 'GET', url: '/healthz', schema: { response: { 200: { type: 'object' } } }, handler: status },
    {
      method: 'POST',
      url: '/approve',
      schema: { querystring: ApproveQuerySchema, response: { 200: MessageSchema, ...ERROR_RESPONSES } },
      handler: async (req, reply) => {
        const p = queryParams(req);
        const silent = boolParam(p, 'silent_bootstrap');
        const concurrent = boolParam(p, 'concurrent_bootstrap');
        if (silent && concurrent)
          throw new ServiceError(
            'InvalidBootstrapConfig',
            'Invalid bootstrap configuration: `silent_bootstrap` and `concurrent_bootstrap` are mutually exclusive; set at most one',
            {},
          );
        await life.approve(silent, concurrent);
        sendJson(reply, 200, 'Bootstrap approved');
      },
    },
    {
      method: 'POST',
      url: '/activate',
      schema: { querystring: ActivateQuerySchema, response: { 202: MessageSchema, ...ERROR_RESPONSES } },
      handler: (req, reply) => {
        const initial = queryParams(req).get('initial') ?? 'running';
        if (initial !== 'running' && initial !== 'paused') throw invalidActivateStatus(initial);
        sendJson(reply, 202, life.activate(initial === 'paused' ? 'Paused' : 'Running'));
      },
    },
    pauseOrStart('/pause'),
    pauseOrStart('/start'),
    pauseOrStart('/resume'),
  ];
}

function invalidActivateStatus(initial: string): ServiceError {
  return new ServiceError(
    'InvalidActivateStatus',
    `Invalid activation status ${JSON.stringify(initial)} (only running and paused are valid)`,
    { initial },
  );
}

/**
 * A catalog entry as Feldera's `CheckpointMetadata`. Its `fingerprint` is a u64 over the full 64-bit range,
 * written as an exact JSON integer (a bigint: a double would round most values): Holdfast's fingerprint is 16 hex
 * digits of the program's SHA-256, read as that u64; any other stored text (older test fixtures) is hashed to one.
 */
export function checkpointMetadata(e: CheckpointEntry): CheckpointMetadata {
  const hex = /^[0-9a-f]{16}$/i.test(e.fingerprint)
    ? e.fingerprint
    : createHash('sha256').update(e.fingerprint).digest('hex').slice(0, 16);
  return { ...e, fingerprint: BigInt(`0x${hex}`) };
}

/** Errors the connectors counted: parse and transport errors of inputs, encode and transport errors of outputs. */
function connectorErrors(ctx: ServerContext): number {
  const c = ctx.life.controller;
  if (c === null) return 0;
  let n = 0;
  for (const e of c.inputs) n += e.metrics.num_parse_errors + e.metrics.num_transport_errors;
  for (const o of outputStatuses(ctx, c)) n += o.metrics.num_encode_errors + o.metrics.num_transport_errors;
  return n;
}
