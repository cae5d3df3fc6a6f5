/**
 * Nexmark: each of Feldera's Nexmark queries that Holdfast compiles, run over the standard generated stream in
 * one fresh process per query (`worker.ts`): events/s of the engine alone and end to end (with generation),
 * peak resident memory, and for every query the rows held in operator state along the stream (flat for the
 * windowed queries with LATENESS: state below the waterline is discarded). Flags: `--events N` (default 500k;
 * quick 50k). No peer runs here; the closing note compares with published Flink figures per core.
 */
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
    const skipped = NEXMARK_QUERIES.filter((q) => q.unsupported !== undefined);
    const series = results.filter((r) => WINDOWED.has(r.query));
    const markdown = [
      `${int(events)} events per query, one fresh process per query, the tables declared as in Feldera's`,
      'benchmark (`TIMESTAMP(3) NOT NULL LATENESS INTERVAL 4 SECONDS`). Each step holds the rows of',
      `${int(step)} consecutive events of all three tables (as Feldera's connector steps); the event rate is ${int(RATE)} events per second of event time, so the stream spans`,
      `${int(events / RATE)} s and the 10 s windows of q5, q7 and q8 open and close along it. "engine" times`,
      'only `circuit.step` (the views\' output changes are read); "end to end" adds generating the rows. Peak RSS is',
      "the process's `VmHWM`. State is the number of rows held by all stateful operators (sampled ten times).",
      '',
      '| query | events/s engine | events/s end to end | peak RSS | state rows at the end | output changes |',
      '|---|---:|---:|---:|---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.query} | ${int(rate(r.events, r.engine_seconds))} | ${int(rate(r.events, r.engine_seconds + r.generate_seconds))} | ${r.peak_rss_mib} MiB | ${int(r.state.at(-1)?.rows ?? 0)} | ${int(r.output_rows)} |`,
      ),
      '',
      `Not run: ${skipped.map((q) => `${q.name} (${q.unsupported})`).join('; ')}.`,
      '',
      'State over the stream for the windowed queries (rows held, at each tenth of the events):',
      '',
      '| query | state rows along the stream |',
      '|---|---|',
      ...series.map((r) => `| ${r.query} | ${r.state.map((s) => int(s.rows)).join(' → ')} |`),
    ].join('\n');
    writeSuiteResults(
      ROOT,
      'nexmark',
      !options.quick && options.flags.events === undefined,
      { machine: machineInfo(), events, rate: RATE, step, results },
      markdown,
    );
  },
};
