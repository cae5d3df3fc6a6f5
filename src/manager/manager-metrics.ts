/**
 * The manager's own metrics (one prom-client registry for the process): process and Node runtime metrics,
 * pipelines by status, HTTP requests by route template, method and status (recorded by the HTTP kit's
 * `onResponse` hook point in api.ts), and automatic restarts of pipeline processes.
 */
import {
  Counter,
  Gauge,
  type Histogram,
  PIPELINE_LABEL,
  processRegistry,
  type Registry,
  secondsHistogram,
} from '../metrics/registry.ts';
import type { PipelineRecord } from './store.ts';

export interface ManagerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly duration: Histogram<'route' | 'method'>;
  readonly restarts: Counter<typeof PIPELINE_LABEL>;
}

/** The manager's registry: process/runtime metrics, pipelines by status, HTTP requests, restarts. */
export function managerMetrics(pipelines: () => readonly PipelineRecord[]): ManagerMetrics {
  const registry = processRegistry();
  new Gauge({
    name: 'holdfast_manager_pipelines',
    help: 'Pipelines by status: the runtime status while deployed, else the resources status (Stopped, Provisioning, ...).',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      this.reset();
      const by = new Map<string, number>();
      for (const r of pipelines()) {
        const s = r.deployment_runtime_status ?? r.deployment_resources_status;
        by.set(s, (by.get(s) ?? 0) + 1);
      }
      for (const [status, n] of by) this.set({ status }, n);
    },
  });
  return {
    registry,
    requests: new Counter({
      name: 'holdfast_manager_http_requests_total',
      help: 'HTTP requests answered by the manager, by route (a template), method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    duration: secondsHistogram(
      registry,
      'holdfast_manager_http_request_duration_seconds',
      'Time to answer each HTTP request (to the end of the response: streams last as long as they stay open).',
      ['route', 'method'],
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300],
    ),
    restarts: new Counter({
      name: 'holdfast_manager_pipeline_restarts_total',
      help: 'Automatic restarts of a pipeline process after it exited unexpectedly (crash, kill -9).',
      labelNames: [PIPELINE_LABEL],
      registers: [registry],
    }),
  };
}
