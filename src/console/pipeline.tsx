/**
 * A pipeline's page: its status and lifecycle buttons (with bootstrap approval and its program diff), and tabs:
 * Overview (live charts of input rate, processed rate, steps per second and memory from `/stats` counters, and
 * mean step latency from the `holdfast_step_latency_seconds` histogram of `/metrics`, both polled every second
 * over the last 5 minutes; connector table; tables and views with their schemas), Query (ad-hoc SQL, INSERT
 * included, with a result table), Durability (durability.tsx), Logs (live tail with a level filter) and
 * Program (the editor).
 *
 * State: the `/stats` history of the page and the last histogram sum and count (reset when the pipeline's
 * incarnation changes), in a ref.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type {
  Field,
  JsonRow,
  PipelineDescr,
  PipelineDiff,
  PipelineStats,
  Relation,
} from '../client/index.ts';
import { Pipeline } from '../client/index.ts';
import { Actions } from './actions.tsx';
import { Chart } from './chart.tsx';
import { Durability } from './durability.tsx';
import { ProgramForm } from './editor.tsx';
import {
  attempt,
  Badge,
  errorText,
  fmtBytes,
  fmtNumber,
  pipelineHref,
  usePoll,
  useSession,
} from './util.tsx';

const TABS: ReadonlyArray<[string, string]> = [
  ['', 'Overview'],
  ['query', 'Query'],
  ['durability', 'Durability'],
  ['logs', 'Logs'],
  ['program', 'Program'],
];

/** Seconds of history the charts show. */
const WINDOW_S = 300;

export interface Sample {
  readonly t: number;
  readonly inputRate: number | null;
  readonly processedRate: number | null;
  readonly stepRate: number | null;
  /** Mean step latency over the interval, from the histogram `holdfast_step_latency_seconds` of `/metrics`. */
  readonly stepMs: number | null;
  readonly rssMb: number;
}

/** The sum of a metric's samples (all label sets) in Prometheus text, or null when absent. */
export function metricValue(text: string, name: string): number | null {
  let total: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const next = line[name.length];
    if (next !== ' ' && next !== '{') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) total = (total ?? 0) + v;
  }
  return total;
}

function useStatsHistory(name: string, deployed: boolean) {
  const { client } = useSession();
  const history = useRef<{
    incarnation: string;
    samples: Sample[];
    last: PipelineStats | null;
    lastT: number;
    latency: { sum: number; count: number } | null;
  }>({
    incarnation: '',
    samples: [],
    last: null,
    lastT: 0,
    latency: null,
  });
  const poll = usePoll(
    async (signal) => {
      if (!deployed) return null;
      const [s, metrics] = await Promise.all([
        client.stats(name, { signal, includeConnectorErrors: true }),
        client.metrics(name, 'prometheus', { signal }).catch(() => null),
      ]);
      const h = history.current;
      const g = s.global_metrics;
      const t = Date.now() / 1000;
      if (g.incarnation_uuid !== h.incarnation) {
        h.incarnation = g.incarnation_uuid;
        h.samples = [];
        h.last = null;
        h.latency = null;
      }
      const sum = metrics === null ? null : metricValue(metrics, 'holdfast_step_latency_seconds_sum');
      const count = metrics === null ? null : metricValue(metrics, 'holdfast_step_latency_seconds_count');
      const latency = sum !== null && count !== null ? { sum, count } : null;
      const stepMs =
        latency && h.latency && latency.count > h.latency.count
          ? ((latency.sum - h.latency.sum) / (latency.count - h.latency.count)) * 1000
          : null;
      h.latency = latency;
      const prev = h.last?.global_metrics;
      const dt = t - h.lastT;
      const rate = (a: number, b: number | undefined) =>
        prev && dt > 0 && b !== undefined ? Math.max(0, (a - b) / dt) : null;
      h.samples = [
        ...h.samples.filter((x) => x.t > t - WINDOW_S),
        {
          t,
          inputRate: rate(g.total_input_records, prev?.total_input_records),
          processedRate: rate(g.total_processed_records, prev?.total_processed_records),
          stepRate: rate(g.total_completed_steps, prev?.total_completed_steps),
          stepMs,
          rssMb: g.rss_bytes / 1048576,
        },
      ];
      h.last = s;
      h.lastT = t;
      return s;
    },
    1000,
    [name, deployed],
  );
  return { stats: poll.data ?? null, error: poll.error, samples: history.current.samples };
}

export function PipelinePage({ name, tab }: { name: string; tab: string }) {
  const { client } = useSession();
  const poll = usePoll((signal) => client.getPipeline(name, 'all', { signal }), 1000, [name]);
  const p = poll.data;
  const deployed = p !== undefined && p.deployment_resources_status === 'Provisioned';
  const { stats, error: statsError, samples } = useStatsHistory(name, deployed);
  if (p === undefined) {
    return (
      <section>
        <h1>{name}</h1>
        {poll.error ? (
          <p class="error" role="alert">
            {errorText(poll.error)} <a href="#/">Back to the pipelines</a>
          </p>
        ) : (
          <p>Loading…</p>
        )}
      </section>
    );
  }
  return (
    <section aria-labelledby="pipeline-h">
      <div class="page-head">
        <h1 id="pipeline-h">
          <a href="#/" class="crumb">
            Pipelines
          </a>{' '}
          / {p.name}
        </h1>
        <div class="status-line">
          <Badge status={p.deployment_status} />{' '}
          <span class="muted">desired {p.deployment_desired_status}</span>
        </div>
      </div>
      <Actions p={p} onDone={poll.refresh} />
      {p.deployment_error && (
        <p class="error" role="alert">
          {p.deployment_error.error_code}: {p.deployment_error.message}
        </p>
      )}
      {p.deployment_status === 'AwaitingApproval' && <Approval p={p} onDone={poll.refresh} />}
      <nav class="tabs" aria-label="Pipeline sections">
        {TABS.map(([id, label]) => (
          <a key={id} href={pipelineHref(name, id)} aria-current={tab === id ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <div class="tab-body">
        {tab === '' && (
          <Overview p={p} stats={stats} statsError={deployed ? statsError : null} samples={samples} />
        )}
        {tab === 'query' && <QueryBox p={p} />}
        {tab === 'durability' && <Durability p={p} onChange={poll.refresh} />}
        {tab === 'logs' && <Logs name={name} />}
        {tab === 'program' && (
          <ProgramForm
            key={p.name}
            existing={p}
            programError={p.program_error}
            programStatus={p.program_status}
            onSaved={poll.refresh}
          />
        )}
      </div>
    </section>
  );
}

function Approval({ p, onDone }: { p: PipelineDescr; onDone: () => void }) {
  const { client } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const diff = p.deployment_runtime_status_details?.approval_diff as PipelineDiff | undefined;
  const d = diff?.program_diff;
  const rows: Array<[string, string[] | undefined]> = [
    ['Added tables', d?.added_tables],
    ['Removed tables', d?.removed_tables],
    ['Modified tables', d?.modified_tables],
    ['Added views', d?.added_views],
    ['Removed views', d?.removed_views],
    ['Modified views', d?.modified_views],
    ['Added input connectors', diff?.added_input_connectors],
    ['Removed input connectors', diff?.removed_input_connectors],
    ['Added output connectors', diff?.added_output_connectors],
    ['Removed output connectors', diff?.removed_output_connectors],
  ];
  return (
    <section class="panel attention" aria-labelledby="approval-h">
      <h2 id="approval-h">Bootstrap awaiting approval</h2>
      <p>
        The program changed since the checkpoint this pipeline starts from. Approving computes the added and
        modified views from the stored tables (bootstrapping) and drops the removed ones; unchanged tables and
        views keep their state. Stopping instead keeps the checkpoint untouched.
      </p>
      {diff?.program_diff_error && <p class="error">{diff.program_diff_error}</p>}
      <dl class="kv" data-testid="approval-diff">
        {rows
          .filter(([, v]) => v && v.length > 0)
          .map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{(v ?? []).join(', ')}</dd>
            </>
          ))}
      </dl>
      <button
        type="button"
        class="primary"
        disabled={sending}
        onClick={() => {
          setSending(true);
          void attempt(setError, () => client.approvePipeline(p.name)).then(() => {
            setSending(false);
            onDone();
          });
        }}
      >
        {sending ? 'Approving…' : 'Approve bootstrap'}
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function Overview({
  p,
  stats,
  statsError,
  samples,
}: {
  p: PipelineDescr;
  stats: PipelineStats | null;
  statsError: unknown;
  samples: readonly Sample[];
}) {
  const times = samples.map((s) => s.t);
  const last = samples.at(-1);
  const g = stats?.global_metrics;
  return (
    <>
      {statsError ? (
        <p class="muted" role="status">
          Statistics unavailable: {errorText(statsError)}
        </p>
      ) : null}
      {g && (
        <dl class="kv stats-summary">
          <dt>Input records</dt>
          <dd data-testid="total-input">{fmtNumber(g.total_input_records)}</dd>
          <dt>Processed records</dt>
          <dd>{fmtNumber(g.total_processed_records)}</dd>
          <dt>Buffered</dt>
          <dd>{fmtNumber(g.buffered_input_records)}</dd>
          <dt>Memory</dt>
          <dd>
            {fmtBytes(g.rss_bytes)} ({g.memory_pressure})
          </dd>
          <dt>Uptime</dt>
          <dd>{fmtNumber(g.uptime_msecs / 1000)} s</dd>
        </dl>
      )}
      <div class="charts">
        <Chart
          label="Records per second"
          times={times}
          series={[
            { label: 'input', values: samples.map((s) => s.inputRate), color: '#1f5fa8' },
            { label: 'processed', values: samples.map((s) => s.processedRate), color: '#b8540b' },
          ]}
          summary={`input ${fmtNumber(last?.inputRate ?? null, 1)}/s, processed ${fmtNumber(last?.processedRate ?? null, 1)}/s`}
        />
        <Chart
          label="Steps per second"
          times={times}
          series={[{ label: 'steps/s', values: samples.map((s) => s.stepRate), color: '#00695c' }]}
          summary={`${fmtNumber(last?.stepRate ?? null, 1)} steps/s now, peak ${fmtNumber(peak(samples.map((s) => s.stepRate)), 1)}`}
        />
        <Chart
          label="Step latency (ms)"
          times={times}
          series={[{ label: 'mean ms', values: samples.map((s) => s.stepMs), color: '#2e7d32' }]}
          summary={`${fmtNumber(last?.stepMs ?? null, 2)} ms per step, peak ${fmtNumber(peak(samples.map((s) => s.stepMs)), 2)}`}
        />
        <Chart
          label="Memory (RSS, MiB)"
          times={times}
          series={[{ label: 'RSS MiB', values: samples.map((s) => s.rssMb), color: '#6a1b9a' }]}
          summary={`${fmtNumber(last?.rssMb ?? null, 1)} MiB`}
        />
      </div>
      <Connectors stats={stats} />
      <Schema p={p} />
    </>
  );
}

/** The largest value of a series over the chart's window (null when it has none). */
function peak(values: readonly (number | null)[]): number | null {
  let best: number | null = null;
  for (const v of values) if (v !== null && (best === null || v > best)) best = v;
  return best;
}

function Connectors({ stats }: { stats: PipelineStats | null }) {
  if (stats === null) return null;
  const rows = [
    ...stats.inputs.map((i) => ({
      name: i.endpoint_name,
      dir: 'input',
      stream: i.config.stream,
      records: i.metrics.total_records,
      bytes: i.metrics.total_bytes,
      errors: i.metrics.num_parse_errors + i.metrics.num_transport_errors,
      health:
        i.fatal_error ??
        i.health?.description ??
        (i.metrics.end_of_input ? 'end of input' : i.paused ? 'paused' : 'ok'),
      last: [...(i.parse_errors ?? []), ...(i.transport_errors ?? [])].at(-1)?.message,
    })),
    ...stats.outputs.map((o) => ({
      name: o.endpoint_name,
      dir: 'output',
      stream: o.config.stream,
      records: o.metrics.transmitted_records,
      bytes: o.metrics.transmitted_bytes,
      errors: o.metrics.num_encode_errors + o.metrics.num_transport_errors,
      health: o.fatal_error ?? o.health?.description ?? 'ok',
      last: [...(o.encode_errors ?? []), ...(o.transport_errors ?? [])].at(-1)?.message,
    })),
  ];
  return (
    <section aria-labelledby="conn-h">
      <h2 id="conn-h">Connectors</h2>
      {rows.length === 0 ? (
        <p class="muted">
          No connectors: data arrives over the API (ingress) and leaves by queries and egress.
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Connector</th>
                <th scope="col">Direction</th>
                <th scope="col">Table / view</th>
                <th scope="col" class="num">
                  Records
                </th>
                <th scope="col" class="num">
                  Bytes
                </th>
                <th scope="col" class="num">
                  Errors
                </th>
                <th scope="col">Health / last error</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.dir}:${r.name}`}>
                  <td>{r.name}</td>
                  <td>{r.dir}</td>
                  <td>{r.stream}</td>
                  <td class="num">{fmtNumber(r.records)}</td>
                  <td class="num">{fmtBytes(r.bytes)}</td>
                  <td class="num">{r.errors > 0 ? <span class="error">{r.errors}</span> : 0}</td>
                  <td>{r.last ?? r.health}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function typeText(f: Field): string {
  const c = f.columntype;
  const base = c.type ?? 'STRUCT';
  const args =
    c.precision !== undefined && c.precision >= 0
      ? `(${c.precision}${c.scale !== undefined && c.scale > 0 ? `, ${c.scale}` : ''})`
      : '';
  return `${base}${args}${c.nullable ? '' : ' NOT NULL'}`;
}

function Schema({ p }: { p: PipelineDescr }) {
  const schema = p.program_info?.schema;
  if (!schema) return <p class="muted">The schema appears once the program compiles.</p>;
  const rel = (r: Relation, kind: string) => (
    <details key={`${kind}:${r.name}`} class="relation" open>
      <summary>
        <strong>{r.name}</strong> <span class="muted">{kind}</span>
        {r.materialized && kind === 'view' ? <span class="muted"> (materialized)</span> : null}
      </summary>
      <table class="schema">
        <thead>
          <tr>
            <th scope="col">Column</th>
            <th scope="col">Type</th>
          </tr>
        </thead>
        <tbody>
          {r.fields.map((f) => (
            <tr key={f.name}>
              <td>
                {f.name}
                {r.primary_key?.includes(f.name) ? <span class="muted"> (key)</span> : null}
              </td>
              <td class="mono">{typeText(f)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
  return (
    <section aria-labelledby="schema-h">
      <h2 id="schema-h">Tables and views</h2>
      <div class="relations">
        {schema.inputs.map((r) => rel(r, 'table'))}
        {schema.outputs.map((r) => rel(r, 'view'))}
      </div>
    </section>
  );
}

function QueryBox({ p }: { p: PipelineDescr }) {
  const { client } = useSession();
  const firstView = p.program_info?.schema.outputs.find((r) => r.materialized)?.name;
  const [sql, setSql] = useState(firstView ? `SELECT * FROM ${firstView}` : '');
  const [rows, setRows] = useState<JsonRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [ms, setMs] = useState<number | null>(null);
  const run = async () => {
    if (running || sql.trim() === '') return;
    setRunning(true);
    const t0 = performance.now();
    const out: JsonRow[] = [];
    const ok = await attempt(setError, async () => {
      for await (const row of new Pipeline(client, p.name).query(sql)) {
        out.push(row);
        if (out.length >= 1000) break;
      }
    });
    setRows(ok ? out : null);
    setMs(performance.now() - t0);
    setRunning(false);
  };
  const columns = rows ? [...new Set(rows.flatMap((r) => Object.keys(r)))] : [];
  return (
    <section aria-labelledby="query-h">
      <h2 id="query-h">Ad-hoc query</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label class="block">
          SQL (SELECT over materialized tables and views, or INSERT INTO a table; Ctrl+Enter runs it)
          <textarea
            class="mono"
            rows={4}
            name="sql"
            value={sql}
            spellcheck={false}
            onInput={(e) => setSql(e.currentTarget.value)}
            onKeyDown={(e) => {
              if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
                e.preventDefault();
                void run();
              }
            }}
          />
        </label>
        <button type="submit" class="primary" disabled={running}>
          {running ? 'Running…' : 'Run query'}
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {rows && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        <section class="table-wrap" aria-label="Query result" tabIndex={0}>
          <p class="muted" role="status">
            {rows.length} row{rows.length === 1 ? '' : 's'}
            {rows.length >= 1000 ? ' (first 1000 shown)' : ''} in {fmtNumber(ms, 0)} ms
          </p>
          <table class="result">
            <thead>
              <tr>
                {columns.map((c) => (
                  <th key={c} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={i}>
                  {columns.map((c) => (
                    <td key={c}>{cell(r[c])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </section>
  );
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

interface LogLine {
  readonly level: string;
  readonly time: string;
  readonly msg: string;
  readonly raw: string;
}

function parseLine(raw: string): LogLine {
  try {
    const o = JSON.parse(raw) as Record<string, unknown>;
    return {
      level: typeof o.level === 'string' ? o.level : 'info',
      time: typeof o.time === 'string' ? o.time : '',
      msg: typeof o.msg === 'string' ? o.msg : raw,
      raw,
    };
  } catch {
    return { level: 'info', time: '', msg: raw, raw };
  }
}

/** The log's last lines kept in the page. */
const LOG_KEEP = 1000;

function Logs({ name }: { name: string }) {
  const { client } = useSession();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [min, setMin] = useState<string>('info');
  const [state, setState] = useState<string>('connecting');
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const ac = new AbortController();
    let buf: LogLine[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const add = buf;
      buf = [];
      setLines((old) => [...old, ...add].slice(-LOG_KEEP));
    };
    (async () => {
      for (let attemptNo = 0; !ac.signal.aborted; attemptNo++) {
        try {
          setState('following');
          for await (const raw of client.logs(name, { signal: ac.signal })) {
            buf.push(parseLine(raw));
            timer ??= setTimeout(flush, 200);
          }
          setState('ended; reconnecting');
        } catch (e) {
          if (ac.signal.aborted) return;
          setState(`unavailable (${errorText(e)}); retrying`);
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 1000 * (attemptNo + 1))));
        setLines([]);
      }
    })();
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, [name, client]);
  const shown = lines.filter(
    (l) =>
      LEVELS.indexOf(l.level as (typeof LEVELS)[number]) >= LEVELS.indexOf(min as (typeof LEVELS)[number]),
  );
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  });
  return (
    <section aria-labelledby="logs-h">
      <h2 id="logs-h">Log</h2>
      <div class="field-row">
        <label>
          Least severe level
          <select value={min} onChange={(e) => setMin(e.currentTarget.value)}>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label class="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} />{' '}
          Follow
        </label>
        <span class="muted" role="status">
          {shown.length} of {lines.length} lines; {state}
        </span>
      </div>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable log must be reachable by keyboard */}
      <div class="log" ref={box} role="log" aria-label="Pipeline log" tabIndex={0}>
        {shown.map((l, i) => (
          <div key={i} class={`log-line level-${l.level}`} title={l.raw}>
            <span class="log-time">{l.time.slice(11, 23)}</span> <span class="log-level">{l.level}</span>{' '}
            {l.msg}
          </div>
        ))}
      </div>
    </section>
  );
}
