/**
 * Pipeline routes: `GET /stats[?include_connector_errors=true]` (Feldera's `PipelineStats`; with the selector every
 * endpoint also lists its recent errors: inputs `parse_errors`/`transport_errors`, outputs
 * `encode_errors`/`transport_errors`, each `{timestamp, index, tag, message}` (connector-errors.ts); without it
 * the lists are absent, as in Feldera, so pollers stay light), with exactly Feldera's top-level keys: checkpoint sync
 * progress is in `GET /checkpoint/sync_status` `checkpoint_sync`, a failure in `/status` and `deployment_error`,
 * a standby's progress in `/status` `runtime_status_details.standby`) and `GET /metrics?format=prometheus|json`
 * (the process's registry, pipeline-metrics.ts).
 */
import type { Controller, InputEndpoint } from '../../controller/controller.ts';
import { boolParam } from '../../errors/http-reply.ts';
import { ServiceError } from '../../errors/service-error.ts';
import { queryParams, type Route, sendJson, sendText } from '../../http/routes.ts';
import {
  FAMILIES_FORMAT,
  felderaJson,
  JSON_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from '../../metrics/registry.ts';
import {
  ERROR_RESPONSES,
  MetricsQuerySchema,
  PipelineStatsSchema,
  StatsQuerySchema,
} from '../../types/api-schemas.ts';
import type { InputEndpointStatus, OutputEndpointStatus, PipelineStats } from '../../types/pipeline-api.ts';
import { controllerOf, type ServerContext } from '../server-context.ts';

export function statsRoutes(ctx: ServerContext): Route[] {
  const { life, options, metrics } = ctx;
  return [
    {
      method: 'GET',
      url: '/stats',
      schema: {
        querystring: StatsQuerySchema,
        response: { 200: PipelineStatsSchema, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => {
        const withErrors = boolParam(queryParams(req), 'include_connector_errors');
        const standby = options.sync?.standby;
        if (life.phase.kind === 'Standby' && standby) return sendJson(reply, 200, standbyStats());
        sendJson(reply, 200, stats(ctx, controllerOf(ctx), withErrors));
      },
    },
    {
      method: 'GET',
      url: '/metrics',
      schema: {
        querystring: MetricsQuerySchema,
        response: {
          200: { description: 'Prometheus text exposition, or prom-client JSON' },
          ...ERROR_RESPONSES,
        },
      },
      handler: async (req, reply) => {
        if (!(life.phase.kind === 'Standby' && options.sync?.standby)) controllerOf(ctx);
        const format = queryParams(req).get('format') ?? 'prometheus';
        if (format === 'json')
          sendText(reply, 200, JSON.stringify(felderaJson(await metrics.json())), JSON_CONTENT_TYPE);
        // the manager's /v0/metrics merges every pipeline's families in prom-client's shape (internal)
        else if (format === FAMILIES_FORMAT)
          sendText(reply, 200, JSON.stringify(await metrics.json()), JSON_CONTENT_TYPE);
        else if (format === 'prometheus') sendText(reply, 200, await metrics.text(), PROMETHEUS_CONTENT_TYPE);
        else
          throw new ServiceError(
            'InvalidParam',
            `unknown metrics format '${format}': use prometheus or json`,
            {
              param: 'format',
              value: format,
            },
          );
      },
    },
  ];
}

/**
 * `/stats` while in standby: no controller yet, so the global metrics say Standby (the standby's progress is in
 * `/status` `runtime_status_details.standby`).
 */
function standbyStats(): Record<string, unknown> {
  return {
    global_metrics: {
      state: 'Standby',
      rss_bytes: process.memoryUsage.rss(),
      cpu_msecs: Math.round(process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000),
      uptime_msecs: Math.round(process.uptime() * 1000),
      total_input_records: 0,
      total_processed_records: 0,
    },
    suspend_error: null,
    checkpoint_activity: null,
    permanent_checkpoint_errors: null,
    inputs: [],
    outputs: [],
  };
}

function stats(ctx: ServerContext, controller: Controller, withErrors: boolean): PipelineStats {
  const t = controller.totals;
  const state =
    controller.state === 'Paused' ? 'Paused' : controller.state === 'Running' ? 'Running' : 'Terminated';
  return {
    global_metrics: {
      state,
      bootstrap_in_progress: false,
      transaction_status: 'NoTransaction',
      transaction_id: 0,
      transaction_msecs: null,
      transaction_records: null,
      commit_progress: null,
      transaction_initiators: { transaction_id: null, initiated_by_api: null, initiated_by_connectors: {} },
      concurrent_bootstrap_phase: controller.concurrentBootstrapPhase,
      concurrent_bootstrap_progress: controller.concurrentBootstrapProgress,
      rss_bytes: process.memoryUsage.rss(),
      ...ctx.meters.memoryPressure(),
      cpu_msecs: Math.round(process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000),
      uptime_msecs: Math.round(process.uptime() * 1000),
      start_time: controller.startTime,
      initial_start_time: controller.startTime,
      incarnation_uuid: controller.incarnationUuid,
      ...ctx.meters.storage(),
      runtime_elapsed_msecs: Math.round(process.uptime() * 1000),
      buffered_input_records: controller.bufferedRecords,
      buffered_input_bytes: controller.bufferedBytes,
      total_input_records: t.input_records,
      total_input_bytes: t.input_bytes,
      total_processed_records: t.processed_records,
      total_processed_bytes: t.processed_bytes,
      total_completed_records: t.completed_records,
      output_stall_msecs: 0,
      total_initiated_steps: t.initiated_steps,
      total_completed_steps: t.completed_steps,
      pipeline_complete: controller.complete,
    },
    suspend_error: null,
    checkpoint_activity: controller.checkpointActivity,
    permanent_checkpoint_errors: null,
    inputs: controller.inputs.map((e) => inputStatus(e, withErrors)),
    outputs: outputStatuses(ctx, controller, withErrors),
  };
}

/**
 * One input endpoint as `/stats` `inputs[]` and the connector stats route show it (Feldera's InputEndpointStatus);
 * `withErrors`: with its recent `parse_errors` and `transport_errors`.
 */
export function inputStatus(e: InputEndpoint, withErrors = false): InputEndpointStatus {
  const errors = withErrors
    ? { parse_errors: e.errors.parse.list(), transport_errors: e.errors.transport.list() }
    : {};
  return {
    endpoint_name: e.name,
    config: { stream: e.table },
    metrics: { ...e.metrics },
    fatal_error: e.fatalError,
    paused: e.paused,
    barrier: false,
    health: { status: e.fatalError ? 'Unhealthy' : 'Healthy', description: e.fatalError },
    completed_frontier: null,
    ...errors,
  };
}

/**
 * The output endpoints (Feldera's OutputEndpointStatus): the view connectors declared in SQL (file outputs write
 * synchronously within the step, so nothing is ever queued in them) and the open HTTP egress streams (queued:
 * chunks written to the socket and not yet flushed to the client; `memory`: their bytes). Holdfast has no
 * output buffer (`enable_output_buffer`), so `buffered_*` are 0 by construction. `withErrors`: with
 * `encode_errors` (none: encoding a view's rows cannot fail) and `transport_errors` (the write that failed the
 * connector).
 */
export function outputStatuses(
  ctx: ServerContext,
  controller: Controller,
  withErrors = false,
): OutputEndpointStatus[] {
  const t = controller.totals;
  const common = {
    buffered_records: 0,
    buffered_batches: 0,
    total_processed_input_records: t.processed_records,
    total_processed_steps: t.completed_steps,
  };
  const declared = (ctx.options.connectors?.() ?? [])
    .filter((c) => c.direction === 'output')
    .map(
      (c): OutputEndpointStatus => ({
        endpoint_name: c.endpoint,
        config: { stream: c.relation },
        metrics: {
          transmitted_records: c.records,
          transmitted_bytes: c.bytes,
          queued_records: 0,
          queued_batches: 0,
          num_encode_errors: 0,
          num_transport_errors: c.state === 'failed' ? 1 : 0,
          memory: 0,
          ...common,
        },
        fatal_error: c.state === 'failed' ? c.error : null,
        ...(withErrors
          ? {
              encode_errors: [],
              transport_errors:
                c.state === 'failed'
                  ? [
                      {
                        timestamp: c.failedAt ?? new Date().toISOString(),
                        index: 0,
                        tag: null,
                        message: c.error ?? 'the connector failed',
                      },
                    ]
                  : [],
            }
          : {}),
        health: {
          status: c.state === 'failed' ? 'Unhealthy' : 'Healthy',
          description: c.state === 'failed' ? c.error : null,
        },
      }),
    );
  const streams = [...ctx.egress].map(
    (c): OutputEndpointStatus => ({
      endpoint_name: c.name,
      config: { stream: c.view },
      metrics: {
        transmitted_records: c.transmitted_records,
        transmitted_bytes: c.transmitted_bytes,
        queued_records: c.queued_records,
        queued_batches: c.queued_batches,
        num_encode_errors: 0,
        num_transport_errors: 0,
        memory: c.queuedBytes(),
        ...common,
      },
      fatal_error: null,
      ...(withErrors ? { encode_errors: [], transport_errors: [] } : {}),
      health: { status: 'Healthy', description: null },
    }),
  );
  return [...declared, ...streams];
}
