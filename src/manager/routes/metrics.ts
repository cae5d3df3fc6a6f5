/**
 * Manager route: `GET /v0/metrics[?format=prometheus|json]` — the manager's own registry (manager-metrics.ts)
 * merged with the metrics of every deployed pipeline, fetched as JSON from each process in parallel and
 * relabelled with its `pipeline_name`, into one exposition (each family once; see metrics/registry.ts). A
 * pipeline that does not answer is left out.
 */
import type { FastifyRequest } from 'fastify';
import { metricsInvalid } from '../../http/invalid.ts';
import { type Route, sendJson, sendText } from '../../http/routes.ts';
import {
  FAMILIES_FORMAT,
  familiesOf,
  felderaJson,
  type MetricFamily,
  mergeFamilies,
  PIPELINE_LABEL,
  PROMETHEUS_CONTENT_TYPE,
  sanitizeFamilies,
} from '../../metrics/registry.ts';
import { ERROR_RESPONSES, MetricsQuerySchema } from '../../types/api-schemas.ts';
import type { MetricsFormat } from '../../types/pipeline-api.ts';
import type { ManagerContext } from '../context.ts';

export function metricsRoutes(m: ManagerContext): Route[] {
  return [
    {
      method: 'GET',
      url: '/v0/metrics',
      schema: {
        summary: "The manager's and every deployed pipeline's metrics",
        tags: ['Metrics'],
        querystring: MetricsQuerySchema,
        response: {
          200: { description: "Prometheus text exposition, or Feldera's JSON metrics (format=json)" },
          ...ERROR_RESPONSES,
        },
      },
      invalid: metricsInvalid,
      handler: async (req, reply) => {
        const format = formatOf(req);
        const deployed = m.store
          .list()
          .filter(
            (r) => r.deployment_resources_status === 'Provisioned' && m.supervisor.port(r.name) !== null,
          );
        const pipelines = await Promise.all(
          deployed.map(async (r): Promise<MetricFamily[]> => {
            try {
              const answer = await fetch(
                `http://127.0.0.1:${m.supervisor.port(r.name)}/metrics?format=${FAMILIES_FORMAT}`,
                { headers: m.supervisor.authHeaders(r.name), signal: AbortSignal.timeout(5000) },
              );
              if (!answer.ok) return [];
              return sanitizeFamilies(await answer.json(), { [PIPELINE_LABEL]: r.name });
            } catch {
              return []; // an unreachable pipeline is left out
            }
          }),
        );
        const merged = mergeFamilies([await familiesOf(m.metrics.registry), ...pipelines]);
        if (format === 'json') return sendJson(reply, 200, felderaJson(await familiesOf(merged)));
        sendText(reply, 200, await merged.metrics(), PROMETHEUS_CONTENT_TYPE);
      },
    },
  ];
}

const formatOf = (req: FastifyRequest): MetricsFormat =>
  (req.query as { format?: MetricsFormat }).format ?? 'prometheus';
