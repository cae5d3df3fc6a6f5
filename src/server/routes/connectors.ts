/**
 * Pipeline routes for one connector (Feldera's; the manager proxies `/v0/pipelines/{name}/…` to them):
 *
 *   GET  /tables/{table}/connectors/{connector}/stats             → the input endpoint's status (as in /stats)
 *   POST /tables/{table}/connectors/{connector}/{start|pause}      → 200, empty body
 *   GET  /tables/{table}/connectors/{connector}/completion_token   → {"token"} (for GET /completion_status)
 *   GET  /views/{view}/connectors/{connector}/stats               → the output endpoint's status
 *
 * The endpoint is `<relation>.<connector>`: connectors declared in SQL (`unnamed-N` when unnamed), HTTP ingress
 * endpoints (`<table>.api-ingress-<hex>`, once data was pushed) and egress streams (`<view>.api-<uuid>`). Table and
 * view names are SQL identifiers (unquoted: case-insensitive; in double quotes: exact). Unknown endpoint: 404
 * `UnknownInputEndpoint` / `UnknownOutputEndpoint`; another action: 400 `InvalidConnectorAction`.
 *
 * The stats of one connector always list its recent errors (`parse_errors`/`transport_errors`, outputs
 * `encode_errors`/`transport_errors`), as Feldera's per-endpoint status does; `/stats` only with
 * `include_connector_errors=true`.
 *
 * A paused input connector stops reading (its pushes wait) and goes on from where it was once started again; it
 * ingests only while both it and the pipeline run (Controller.setInputPaused). A connector declared
 * `"paused": true` starts paused. The paused state is part of every checkpoint: a restart from a checkpoint keeps
 * each connector paused or started as it was (over its declaration), except a connector that restarts from
 * scratch after a program change (its table or its own configuration changed), which takes its declaration.
 */
import type { FastifyRequest } from 'fastify';
import { checkConnectorAction } from '../../errors/http-reply.ts';
import { ServiceError } from '../../errors/service-error.ts';
import { type Route, sendJson } from '../../http/routes.ts';
import {
  ERROR_RESPONSES,
  IngressResponseSchema,
  InputEndpointStatusSchema,
  OutputEndpointStatusSchema,
  ProcessConnectorActionParamsSchema,
  ProcessTableConnectorParamsSchema,
  ProcessViewConnectorParamsSchema,
} from '../../types/api-schemas.ts';
import { controllerOf, type ServerContext } from '../server-context.ts';
import { inputStatus, outputStatuses } from './stats.ts';

interface ConnectorParams {
  table_name?: string;
  view_name?: string;
  connector_name: string;
  action?: string;
}

const params = (req: FastifyRequest) => req.params as ConnectorParams;

export function connectorRoutes(ctx: ServerContext): Route[] {
  const input = (req: FastifyRequest) => {
    const p = params(req);
    return controllerOf(ctx).inputEndpointOf(p.table_name as string, p.connector_name);
  };
  return [
    {
      method: 'GET',
      url: '/tables/:table_name/connectors/:connector_name/stats',
      schema: {
        params: ProcessTableConnectorParamsSchema,
        response: { 200: InputEndpointStatusSchema, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => sendJson(reply, 200, inputStatus(input(req), true)),
    },
    {
      method: 'GET',
      url: '/tables/:table_name/connectors/:connector_name/completion_token',
      schema: {
        params: ProcessTableConnectorParamsSchema,
        response: { 200: IngressResponseSchema, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => sendJson(reply, 200, { token: controllerOf(ctx).completionToken(input(req)) }),
    },
    {
      method: 'POST',
      url: '/tables/:table_name/connectors/:connector_name/:action',
      schema: {
        params: ProcessConnectorActionParamsSchema,
        response: { 200: { description: 'Empty body' }, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => {
        const action = checkConnectorAction(params(req).action as string);
        controllerOf(ctx).setInputPaused(input(req), action === 'pause');
        reply.code(200).send();
      },
    },
    {
      method: 'GET',
      url: '/views/:view_name/connectors/:connector_name/stats',
      schema: {
        params: ProcessViewConnectorParamsSchema,
        response: { 200: OutputEndpointStatusSchema, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => {
        const controller = controllerOf(ctx);
        const p = params(req);
        const view = p.view_name as string;
        const quoted = view.length >= 2 && view.startsWith('"') && view.endsWith('"');
        const v = quoted
          ? controller.program.outputs.find((o) => o.name === view.slice(1, -1))
          : (controller.program.outputs.find((o) => o.name === view) ??
            controller.program.outputs.find((o) => !o.caseSensitive && o.name === view.toLowerCase()));
        const name = `${v?.name ?? view}.${p.connector_name}`;
        const outputs = outputStatuses(ctx, controller, true);
        const found = v ? outputs.find((o) => o.endpoint_name === name) : undefined;
        if (!found)
          throw new ServiceError(
            'UnknownOutputEndpoint',
            `output connector '${name}' does not exist; output endpoints: ${outputs.map((o) => o.endpoint_name).join(', ') || '(none)'}`,
            { endpoint_name: name },
          );
        sendJson(reply, 200, found);
      },
    },
  ];
}
