/**
 * Nexmark: each of Feldera's Nexmark queries that Holdfast compiles, run over the standard generated stream in
 * one fresh process per query (`worker.ts`): events/s of the engine alone and end to end (with generation),
 * peak resident memory, and for every query the rows held in operator state along the stream (whether the
 * windowed queries' state stays flat under LATENESS is read off it). Flags: `--events N` (default 500k; quick
 * 50k), `--queries q5,q7` (a subset), `--merge` (the results replace those queries' results in the official
 * report, the others are kept with their own size and date, and the BENCHMARKS.md section is rewritten from it,
 * after every query, so a run stopped midway keeps what finished: large runs are done a subset at a time). No
 * peer runs here; the closing note compares with published Flink figures per core.
 * `nexmarkMarkdown` renders the BENCHMARKS.md section from the JSON report.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { runWorker } from '../lib/child.ts';
import { int, machineInfo, writeSuiteResults } from '../lib/report.ts';
import type { Suite, SuiteOptions } from '../suite.ts';
import { NEXMARK_QUERIES, type NexmarkQuery } from './queries.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const WORKER = join(ROOT, 'bench/nexmark/worker.ts');
/** Events per second of event time: 500k events span 50 s, so 10 s windows open and close five times. */
const RATE = 10_000;
const WINDOWED = new Set(['q5', 'q7', 'q8']);

interface Result {
  query: string;
  events: number;
  generate_seconds: number;
  engine_seconds: number;
  /** CPU seconds (user + system, every thread of the process) spent in the engine; absent in older reports. */
  engine_cpu_seconds?: number;
  output_rows: number;
  peak_rss_mib: number;
  late_records: number;
  state: Array<{ events: number; rows: number }>;
  /** Set when the worker ran with storage (`HOLDFAST_NEXMARK_STORAGE_MIB`): sealed batches in batch files. */
  storage?: { min_storage_mib: number; cache_mib: number };
  /** When the query finished, and the 1-minute load average then (older reports: the report's). */
  date?: string;
  load?: number;
}

const rate = (events: number, seconds: number) => (seconds > 0 ? events / seconds : Number.NaN);

export interface NexmarkReport {
  machine: ReturnType<typeof machineInfo>;
  /** 1, 5 and 15 minute load averages when the run ended (the VM is shared). */
  load_average: number[];
  /** Events per query of the last run (each result states its own: a merged report mixes sizes). */
  events: number;
  rate: number;
  step: number;
  results: Result[];
}

/** Published Flink figures (8 cores) the closing note compares with, per query group: [low, high] events/s. */
const FLINK_8_CORES: ReadonlyArray<[string, readonly string[], number, number]> = [
  ['simple (q0–q2)', ['q0', 'q1', 'q2'], 4_000_000, 6_500_000],
  ['window/aggregate (q4, q5, q16)', ['q4', 'q5', 'q16'], 150_000, 630_000],
];

/** Engine events per CPU second (what one core does), or NaN for a result without CPU time. */
const perCpu = (x: Result) =>
  x.engine_cpu_seconds !== undefined ? rate(x.events, x.engine_cpu_seconds) : Number.NaN;
const num = (n: number) => (Number.isNaN(n) ? '–' : int(n));

/** The suite's BENCHMARKS.md section, from its JSON report. */
export function nexmarkMarkdown(r: NexmarkReport): string {
  const { step, results } = r;
  const skipped = NEXMARK_QUERIES.filter((q) => q.unsupported !== undefined);
  const series = results.filter((x) => WINDOWED.has(x.query));
  const engine = (x: Result) => rate(x.events, x.engine_seconds);
  const sizes = [...new Set(results.map((x) => x.events))].sort((a, b) => b - a);
  const loads = results.map((x) => x.load).filter((l): l is number => l !== undefined);
  const dates = [...new Set(results.map((x) => (x.date ?? r.machine.date).slice(0, 10)))].sort();
  const note = FLINK_8_CORES.map(([label, names, lo, hi]) => {
    const rows = results.filter((x) => names.includes(x.query));
    if (rows.length === 0) return `- ${label}: not run.`;
    const ours = rows.map(perCpu).filter((v) => !Number.isNaN(v));
    const range = ours.length > 0 ? `${int(Math.min(...ours))}–${int(Math.max(...ours))}` : 'n/a';
    const max = ours.length > 0 ? Math.max(...ours) : 0;
    const verdict =
      max < lo / 8
        ? 'all below Flink per core'
        : max < hi / 8
          ? 'overlapping the low end of Flink per core'
          : 'reaching Flink per core';
    const at = rows.map((x) => `${x.query} at ${int(x.events)}`).join(', ');
    return `- ${label}: Holdfast ${range} events per CPU second (engine only; ${at} events); Flink ${int(lo / 8)}–${int(hi / 8)} per core (${int(lo)}–${int(hi)} on 8 cores): ${verdict}.`;
  });
  return [
    `${sizes.map(int).join(' or ')} events per query (the \`events\` column), one fresh process per query, the`,
    "tables declared as in Feldera's benchmark (`TIMESTAMP(3) NOT NULL LATENESS INTERVAL 4 SECONDS`). Each step",
    `holds the rows of ${int(step)} consecutive events of all three tables (as Feldera's connector steps). The`,
    `event rate is ${int(r.rate)} events per second of event time, so 1,000,000 events span ${int(1_000_000 / r.rate)} s and the 10 s`,
    'windows of q5, q7 and q8 open and close along it. "engine" times only `circuit.step` (the views\' output',
    'changes are read); "end to end" adds generating the rows. "per CPU s" divides the events by the CPU time',
    "(user + system, all the process's threads, GC included) the engine used: on a shared machine it is what one",
    'core does, where the events/s columns also count the time other jobs held the CPU. Peak RSS is the',
    "process's `VmHWM`. State is the number of rows held by all stateful operators (sampled ten times, untimed).",
    '',
    `Run on ${r.machine.cpus} shared vCPUs (${r.machine.cpuModel}) on ${dates.join(', ')}, the queries one after`,
    `another, with a 1-minute load average of ${loads.length > 0 ? `${Math.min(...loads)}–${Math.max(...loads)} as each query ended (the \`load\` column)` : r.load_average.join(' / ')}`,
    '(other jobs ran on the VM): the events/s columns are low and noisy; the CPU-second column is steadier.',
    '',
    '| query | events | events/s engine | events per CPU s | events/s end to end | peak RSS | state rows at the end | output changes | load |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (x) =>
        `| ${x.query}${x.storage === undefined ? '' : ` (storage: batches ≥ ${x.storage.min_storage_mib} MiB in files)`} | ${int(x.events)} | ${int(engine(x))} | ${num(perCpu(x))} | ${int(rate(x.events, x.engine_seconds + x.generate_seconds))} | ${x.peak_rss_mib} MiB | ${int(x.state.at(-1)?.rows ?? 0)} | ${int(x.output_rows)} | ${x.load ?? r.load_average[0]} |`,
    ),
    '',
    ...(skipped.length > 0
      ? [`Not run: ${skipped.map((q) => `${q.name} (${q.unsupported})`).join('; ')}.`, '']
      : []),
    'State over the stream for the windowed queries (rows held, at each tenth of the events):',
    '',
    '| query | events | state rows along the stream |',
    '|---|---:|---|',
    ...series.map(
      (x) => `| ${x.query} | ${int(x.events)} | ${x.state.map((s) => int(s.rows)).join(' → ')} |`,
    ),
    '',
    "Peak RSS includes what every process holds before the first event (the SQL compiler, the generator's",
    'string pool) and garbage V8 has not collected yet: compare it between queries of this run only.',
    '',
    "Against published figures, per core: Holdfast runs a query on one JavaScript thread; Flink's figures are",
    'for 8 cores, divided by 8 here, which assumes Flink scales linearly and so favours Holdfast:',
    '',
    ...note,
    '',
    "These set Holdfast's engine alone against Flink's whole job: Flink's figures include its Nexmark source",
    'generating the events and the transfers between its tasks, while the CPU seconds here exclude generation',
    '(the end-to-end column includes it, in wall time). Feldera claims up to 6.2× Flink on the same hardware (not',
    'measured here).',
    '',
    ...series.map((x) => {
      const half = x.state[Math.floor(x.state.length / 2) - 1]?.rows ?? 0;
      const last = x.state.at(-1)?.rows ?? 0;
      return last > half * 1.25
        ? `- ${x.query}: state grows with the stream (${int(half)} rows at half, ${int(last)} at the end): an operator behind it keeps rows below the waterline.`
        : `- ${x.query}: state stays bounded (${int(half)} rows at half, ${int(last)} at the end).`;
    }),
  ].join('\n');
}

/** The official report's results, each carrying its own date and load (filled from the report when absent). */
function officialResults(): Result[] {
  const file = join(ROOT, 'bench/results/nexmark.json');
  if (!existsSync(file)) return [];
  const old = JSON.parse(readFileSync(file, 'utf8')) as NexmarkReport;
  return old.results.map((x) => ({
    ...x,
    date: x.date ?? old.machine.date,
    load: x.load ?? old.load_average[0],
  }));
}

export const nexmarkSuite: Suite = {
  name: 'nexmark',
  description:
    "Feldera's Nexmark queries over the standard generated stream: events/s, peak RSS, state over time",
  async run(options: SuiteOptions): Promise<void> {
    const events =
      options.flags.events !== undefined ? Number(options.flags.events) : options.quick ? 50_000 : 500_000;
    const step = options.quick ? 5_000 : 10_000;
    const wanted = options.flags.queries?.split(',').map((q) => q.trim());
    for (const q of wanted ?? [])
      if (!NEXMARK_QUERIES.some((x) => x.name === q))
        throw new Error(`unknown nexmark query '${q}' (${NEXMARK_QUERIES.map((x) => x.name).join(', ')})`);
    const merge = options.flags.merge === true && !options.quick;
    const official = merge || (!options.quick && options.flags.events === undefined && wanted === undefined);
    const results: Result[] = merge ? officialResults() : [];
    const order = NEXMARK_QUERIES.map((q) => q.name);
    const write = () => {
      results.sort((a, b) => order.indexOf(a.query) - order.indexOf(b.query));
      const report: NexmarkReport = {
        machine: machineInfo(),
        load_average: os.loadavg().map((x) => Number(x.toFixed(1))),
        events,
        rate: RATE,
        step,
        results,
      };
      writeSuiteResults(ROOT, 'nexmark', official, report, nexmarkMarkdown(report));
    };
    // in the order given (the queries that matter most first, when a large run may be stopped)
    const queries =
      wanted === undefined
        ? NEXMARK_QUERIES
        : wanted.map((name) => NEXMARK_QUERIES.find((x) => x.name === name) as NexmarkQuery);
    for (const q of queries) {
      if (q.unsupported !== undefined) {
        console.log(`  ${q.name}: skipped (${q.unsupported})`);
        continue;
      }
      const r = await runWorker<Result>(
        WORKER,
        [q.name, String(events), String(RATE), String(step), '10'],
        'NEXMARK ',
      );
      r.date = new Date().toISOString();
      r.load = Number(os.loadavg()[0]?.toFixed(1));
      const at = results.findIndex((x) => x.query === q.name);
      if (at >= 0) results.splice(at, 1);
      results.push(r);
      const last = r.state.at(-1)?.rows ?? 0;
      console.log(
        `  ${q.name}: ${int(rate(events, r.engine_seconds))} events/s engine (${num(perCpu(r))} per CPU s), ${int(rate(events, r.engine_seconds + r.generate_seconds))} with generation; peak RSS ${r.peak_rss_mib} MiB; state ${int(last)} rows; ${int(r.output_rows)} output changes; load ${r.load}`,
      );
      if (merge) write();
    }
    if (!merge) write();
  },
};
