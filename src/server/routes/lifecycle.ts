/**
 * Pipeline routes around the lifecycle: `GET /status` and `GET /healthz` (Feldera's `ExtendedRuntimeStatus`,
 * see lifecycle.ts), `POST /approve` (bootstrap approval), `POST /activate?initial=running|paused` (a standby),
 * `POST /pause`, `POST /start` and `POST /resume`. These answer from the start of initialization: before the
 * controller exists pause/start set the state it will start in; in standby they are 400 `InvalidTransition`
 * (activate first).
 */
import { boolParam } from '../../errors/http-reply.ts';
import { ServiceError } from '../../errors/service-error.ts';
import { queryParams, type Route, sendJson } from '../../http/routes.ts';
import {
  ActivateQuerySchema,
  ApproveQuerySchema,
  ERROR_RESPONSES,
  MessageSchema,
} from '../../types/api-schemas.ts';
import type { ServerContext } from '../server-context.ts';

export function lifecycleRoutes(ctx: ServerContext): Route[] {
  const { life } = ctx;
  const status: Route['handler'] = (_req, reply) => {
    const s = life.status();
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
        if (boolParam(p, 'silent_bootstrap') || boolParam(p, 'concurrent_bootstrap'))
          throw new ServiceError(
            'InvalidBootstrapConfig',
            'Invalid bootstrap configuration: silent_bootstrap and concurrent_bootstrap are not supported by Holdfast; approve without them',
            {},
          );
        await life.approve();
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
