/**
 * Nexmark: each of Feldera's Nexmark queries that Holdfast compiles, run over the standard generated stream in
 * one fresh process per query (`worker.ts`): events/s of the engine alone and end to end (with generation),
 * peak resident memory, and for every query the rows held in operator state along the stream (whether the
 * windowed queries' state stays flat under LATENESS is read off it). Flags: `--events N` (default 500k; quick
 * 50k). No peer runs here; the closing note compares with published Flink figures per core.
 * `nexmarkMarkdown` renders the BENCHMARKS.md section from the JSON report.
 */
import os from 'node:os';
import { join, resolve } from 'node:path';
import { runWorker } from '../lib/child.ts';
import { int, machineInfo, writeSuiteResults } from '../lib/report.ts';
import type { Suite, SuiteOptions } from '../suite.ts';
import { NEXMARK_QUERIES } from './queries.ts';

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
  output_rows: number;
  peak_rss_mib: number;
  late_records: number;
  state: Array<{ events: number; rows: number }>;
}

const rate = (events: number, seconds: number) => (seconds > 0 ? events / seconds : Number.NaN);

export interface NexmarkReport {
  machine: ReturnType<typeof machineInfo>;
  /** 1, 5 and 15 minute load averages when the run ended (the VM is shared). */
  load_average: number[];
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

/** The suite's BENCHMARKS.md section, from its JSON report. */
export function nexmarkMarkdown(r: NexmarkReport): string {
  const { events, step, results } = r;
  const skipped = NEXMARK_QUERIES.filter((q) => q.unsupported !== undefined);
  const series = results.filter((x) => WINDOWED.has(x.query));
  const engine = (x: Result) => rate(x.events, x.engine_seconds);
  const note = FLINK_8_CORES.map(([label, names, lo, hi]) => {
    const ours = results.filter((x) => names.includes(x.query)).map(engine);
    const range = ours.length > 0 ? `${int(Math.min(...ours))}–${int(Math.max(...ours))}` : 'n/a';
    const max = ours.length > 0 ? Math.max(...ours) : 0;
    const verdict =
      max < lo / 8
        ? 'all below Flink per core'
        : max < hi / 8
          ? 'overlapping the low end of Flink per core'
          : 'reaching Flink per core';
    return `- ${label}: Holdfast ${range} events/s on one core (engine only); Flink ${int(lo / 8)}–${int(hi / 8)} per core (${int(lo)}–${int(hi)} on 8 cores): ${verdict}.`;
  });
  return [
    `${int(events)} events per query, one fresh process per query, the tables declared as in Feldera's`,
    'benchmark (`TIMESTAMP(3) NOT NULL LATENESS INTERVAL 4 SECONDS`). Each step holds the rows of',
    `${int(step)} consecutive events of all three tables (as Feldera's connector steps). The event rate is`,
    `${int(r.rate)} events per second of event time, so the stream spans ${int(events / r.rate)} s and the 10 s windows`,
    'of q5, q7 and q8 open and close along it. "engine" times only `circuit.step` (the views\' output changes',
    'are read); "end to end" adds generating the rows. Peak RSS is the process\'s `VmHWM`. State is the number of',
    'rows held by all stateful operators (sampled ten times, untimed).',
    '',
    `Run on ${r.machine.cpus} shared vCPUs (${r.machine.cpuModel}) with a load average of ${r.load_average.join(' / ')}`,
    '(other jobs ran on the VM): absolute figures are low and noisy; compare queries within the run.',
    '',
    '| query | events/s engine | events/s end to end | peak RSS | state rows at the end | output changes |',
    '|---|---:|---:|---:|---:|---:|',
    ...results.map(
      (x) =>
        `| ${x.query} | ${int(engine(x))} | ${int(rate(x.events, x.engine_seconds + x.generate_seconds))} | ${x.peak_rss_mib} MiB | ${int(x.state.at(-1)?.rows ?? 0)} | ${int(x.output_rows)} |`,
    ),
    '',
    ...(skipped.length > 0
      ? [`Not run: ${skipped.map((q) => `${q.name} (${q.unsupported})`).join('; ')}.`, '']
      : []),
    'State over the stream for the windowed queries (rows held, at each tenth of the events):',
    '',
    '| query | state rows along the stream |',
    '|---|---|',
    ...series.map((x) => `| ${x.query} | ${x.state.map((s) => int(s.rows)).join(' → ')} |`),
    '',
    "Peak RSS includes what every process holds before the first event (the SQL compiler, the generator's",
    'string pool) and garbage V8 has not collected yet: compare it between queries of this run only.',
    '',
    "Against published figures, per core: Holdfast runs a query on one JavaScript thread; Flink's figures are",
    'for 8 cores, divided by 8 here, which assumes Flink scales linearly and so favours Holdfast:',
    '',
    ...note,
    '',
    'Feldera claims up to 6.2× Flink on the same hardware, so Holdfast is further still from Feldera. The load',
    "noted above makes Holdfast's figures pessimistic.",
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

export const nexmarkSuite: Suite = {
  name: 'nexmark',
  description:
    "Feldera's Nexmark queries over the standard generated stream: events/s, peak RSS, state over time",
  async run(options: SuiteOptions): Promise<void> {
    const events =
      options.flags.events !== undefined ? Number(options.flags.events) : options.quick ? 50_000 : 500_000;
    const step = options.quick ? 5_000 : 10_000;
    const results: Result[] = [];
    for (const q of NEXMARK_QUERIES) {
      if (q.unsupported !== undefined) {
        console.log(`  ${q.name}: skipped (${q.unsupported})`);
        continue;
      }
      const r = await runWorker<Result>(
        WORKER,
        [q.name, String(events), String(RATE), String(step), '10'],
        'NEXMARK ',
      );
      results.push(r);
      const last = r.state.at(-1)?.rows ?? 0;
      console.log(
        `  ${q.name}: ${int(rate(events, r.engine_seconds))} events/s engine, ${int(rate(events, r.engine_seconds + r.generate_seconds))} with generation; peak RSS ${r.peak_rss_mib} MiB; state ${int(last)} rows; ${int(r.output_rows)} output changes`,
      );
    }
    const report: NexmarkReport = {
      machine: machineInfo(),
      load_average: os.loadavg().map((x) => Number(x.toFixed(1))),
      events,
      rate: RATE,
      step,
      results,
    };
    writeSuiteResults(
      ROOT,
      'nexmark',
      !options.quick && options.flags.events === undefined,
      report,
      nexmarkMarkdown(report),
    );
  },
};
