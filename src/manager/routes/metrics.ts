/**
 * Manager route: `GET /v0/metrics[?format=prometheus|json]` — the manager's own registry (manager-metrics.ts)
 * merged with the metrics of every deployed pipeline, fetched from each process in parallel (its families in
 * prom-client's shape, `format=holdfast_families`) and
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
              const answer = await m.supervisor
                .client(r.name, m.supervisor.port(r.name) as number)
                .send('GET', `/metrics?format=${FAMILIES_FORMAT}`, 5000);
              if (answer.status !== 200) return [];
              // the process's own families, checked one by one before they are merged (sanitizeFamilies)
              return sanitizeFamilies(JSON.parse(answer.text), { [PIPELINE_LABEL]: r.name });
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
