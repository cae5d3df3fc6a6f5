/**
 * The pipelines page: every pipeline with its status, desired status, program status, throughput (processed
 * records per second, from two consecutive `/stats` of a deployed pipeline) and errors, polled every second,
 * with the lifecycle buttons on each row and a link to create one.
 *
 * State: the previous `/stats` sample of each pipeline (for the rate), in a ref.
 */
import { useRef } from 'preact/hooks';
import type { PipelineStatusWithConnectorsDescr } from '../client/index.ts';
import { Actions } from './actions.tsx';
import { Badge, errorText, fmtNumber, pipelineHref, usePoll, useSession } from './util.tsx';

interface Row {
  readonly p: PipelineStatusWithConnectorsDescr;
  readonly rate: number | null;
}

const DEPLOYED = new Set([
  'Running',
  'Paused',
  'Standby',
  'AwaitingApproval',
  'Bootstrapping',
  'Replaying',
  'ConcurrentBootstrapping',
  'Synchronizing',
]);

export function PipelineList() {
  const { client } = useSession();
  const samples = useRef(new Map<string, { t: number; processed: number }>());
  const poll = usePoll(
    async (signal): Promise<Row[]> => {
      const list = await client.listPipelines('status_with_connectors', { signal });
      return Promise.all(
        list.map(async (p): Promise<Row> => {
          if (!DEPLOYED.has(p.deployment_status) || p.deployment_status === 'Standby')
            return { p, rate: null };
          const stats = await client.stats(p.name, { signal }).catch(() => null);
          const processed = stats?.global_metrics?.total_processed_records;
          if (typeof processed !== 'number') return { p, rate: null };
          const t = performance.now();
          const prev = samples.current.get(p.name);
          samples.current.set(p.name, { t, processed });
          const rate = prev && t > prev.t ? ((processed - prev.processed) * 1000) / (t - prev.t) : null;
          return { p, rate };
        }),
      );
    },
    1000,
    [],
  );
  const rows = poll.data;
  return (
    <section aria-labelledby="pipelines-h">
      <div class="page-head">
        <h1 id="pipelines-h">Pipelines</h1>
        <a class="button primary" href="#/new">
          New pipeline
        </a>
      </div>
      {poll.error ? (
        <p class="error" role="alert">
          Cannot list the pipelines: {errorText(poll.error)}
        </p>
      ) : null}
      {rows === undefined ? (
        <p>Loading…</p>
      ) : rows.length === 0 ? (
        <p>
          No pipelines yet. <a href="#/new">Create one</a>.
        </p>
      ) : (
        <div class="table-wrap">
          <table class="pipelines">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Desired</th>
                <th scope="col">Program</th>
                <th scope="col" class="num">
                  Records/s
                </th>
                <th scope="col">Errors</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ p, rate }) => (
                <tr key={p.name} data-pipeline={p.name}>
                  <td data-label="Name">
                    <a href={pipelineHref(p.name)}>{p.name}</a>
                  </td>
                  <td data-label="Status">
                    <Badge status={p.deployment_status} />
                  </td>
                  <td data-label="Desired">{p.deployment_desired_status}</td>
                  <td data-label="Program">
                    <Badge status={p.program_status} />
                  </td>
                  <td class="num" data-label="Records/s">
                    {rate === null ? '—' : fmtNumber(Math.max(0, rate), 1)}
                  </td>
                  <td data-label="Errors">
                    {p.deployment_error ? (
                      <span class="error">{p.deployment_error.error_code}</span>
                    ) : p.connectors && p.connectors.num_errors > 0 ? (
                      <span class="error">{p.connectors.num_errors} connector errors</span>
                    ) : (
                      <span class="muted">none</span>
                    )}
                  </td>
                  <td data-label="Actions">
                    <Actions p={p} onDone={poll.refresh} compact />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
