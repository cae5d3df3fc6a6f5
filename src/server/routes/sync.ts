/**
 * Pipeline routes: checkpoints and their sync — `POST /checkpoint`, `GET /checkpoint_status`, `GET
 * /checkpoints`, `POST /checkpoint/sync` (202), `GET /checkpoint/sync_status` (Feldera's `{success, failure,
 * periodic}` plus Holdfast's `checkpoint_sync`: push in progress, last push and pull, counters, activation),
 * `GET /checkpoints/remote` (also
 * in standby: it lists the bucket). A status asked for another incarnation is 400 `IncarnationUuidMismatch`.
 */
import type { Controller } from '../../controller/controller.ts';
import { ServiceError } from '../../errors/service-error.ts';
import { queryParams, type Route, sendJson } from '../../http/routes.ts';
import {
  CheckpointMetadataSchema,
  CheckpointResponseSchema,
  CheckpointStatusSchema,
  CheckpointSyncResponseSchema,
  CheckpointSyncStatusSchema,
  ERROR_RESPONSES,
  IncarnationQuerySchema,
  RemoteCheckpointSchema,
} from '../../types/api-schemas.ts';
import type { CheckpointSyncStatus } from '../../types/pipeline-api.ts';
import { controllerOf, type ServerContext, syncOrThrow } from '../server-context.ts';
import { checkpointMetadata } from './lifecycle.ts';

export function syncRoutes(ctx: ServerContext): Route[] {
  const { options, life } = ctx;
  return [
    {
      method: 'POST',
      url: '/checkpoint',
      schema: { response: { 200: CheckpointResponseSchema, ...ERROR_RESPONSES } },
      handler: (_req, reply) => {
        const controller = controllerOf(ctx);
        sendJson(reply, 200, {
          checkpoint_sequence_number: controller.checkpoint(),
          incarnation_uuid: controller.incarnationUuid,
        });
      },
    },
    {
      method: 'GET',
      url: '/checkpoint_status',
      schema: {
        querystring: IncarnationQuerySchema,
        response: { 200: CheckpointStatusSchema, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => {
        const controller = controllerOf(ctx);
        checkIncarnation(controller, queryParams(req).get('incarnation_uuid'));
        sendJson(reply, 200, controller.checkpointer?.status ?? { success: null, failure: null });
      },
    },
    {
      method: 'POST',
      url: '/checkpoint/sync',
      schema: { response: { 202: CheckpointSyncResponseSchema, ...ERROR_RESPONSES } },
      handler: (_req, reply) => {
        const controller = controllerOf(ctx);
        const service = syncOrThrow(options.sync, 'checkpoint sync').service;
        if (service === null)
          throw new ServiceError('Initializing', 'checkpoint sync is starting; retry', {});
        const { uuid } = service.request();
        sendJson(reply, 202, { checkpoint_uuid: uuid, incarnation_uuid: controller.incarnationUuid });
      },
    },
    {
      method: 'GET',
      url: '/checkpoint/sync_status',
      schema: {
        querystring: IncarnationQuerySchema,
        response: { 200: CheckpointSyncStatusSchema, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => {
        const controller = controllerOf(ctx);
        checkIncarnation(controller, queryParams(req).get('incarnation_uuid'));
        const sync = syncOrThrow(options.sync, 'checkpoint sync');
        const service = sync.service;
        const status: CheckpointSyncStatus = {
          ...(service?.status ?? { success: null, failure: null, periodic: null }),
          // Holdfast's extension (no Feldera home): progress, history and counters of the sync
          ...(service
            ? { checkpoint_sync: { ...service.stats(), activation: sync.activation ?? null } }
            : {}),
        };
        sendJson(reply, 200, status);
      },
    },
    {
      method: 'GET',
      url: '/checkpoints',
      schema: { response: { 200: { type: 'array', items: CheckpointMetadataSchema }, ...ERROR_RESPONSES } },
      handler: (_req, reply) =>
        sendJson(reply, 200, (controllerOf(ctx).checkpointer?.list() ?? []).map(checkpointMetadata)),
    },
    {
      method: 'GET',
      url: '/checkpoints/remote',
      schema: { response: { 200: { type: 'array', items: RemoteCheckpointSchema }, ...ERROR_RESPONSES } },
      handler: async (_req, reply) => {
        const synchronizer = syncOrThrow(options.sync, 'listing remote checkpoints').synchronizer;
        if (synchronizer === null) throw life.notReady();
        sendJson(reply, 200, await synchronizer.listRemote());
      },
    },
  ];
}

function checkIncarnation(controller: Controller, requested: string | null): void {
  if (requested !== null && requested !== controller.incarnationUuid)
    throw new ServiceError(
      'IncarnationUuidMismatch',
      `Incarnation UUID mismatch (${requested} in request, expected ${controller.incarnationUuid})`,
      { requested, expected: controller.incarnationUuid },
    );
}
