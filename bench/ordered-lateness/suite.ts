/**
 * Ordered-lateness suite: a global `ORDER BY ts DESC LIMIT 10` and `ORDER BY ts LIMIT 10` over a stream of
 * events, with `LATENESS INTERVAL 5 SECONDS` on `ts` beside the same program without it. With LATENESS the top-k
 * discards the rows that can never reach the window again (operators/top-k.ts, `orderPurge`); without it, it
 * keeps every row. Each run is a fresh process (`worker.ts`), the two programs alternate (so both see the same
 * machine load), and the outputs are checked equal. Reported: CPU seconds (user + sys) of the steps, state rows
 * at the end, heap after the run; medians over the runs, and the ratios. Sizes: 300 steps × 1,000 events (5%
 * retracted in the next step); `--quick`: 60 steps, one run, printed only. Results:
 * `bench/results/ordered-lateness.json` and the `ordered-lateness` section of BENCHMARKS.md (full runs only).
 */
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { runWorker } from '../lib/child.ts';
import { int, machineInfo, median, writeSuiteResults } from '../lib/report.ts';
import type { Suite, SuiteOptions } from '../suite.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const WORKER = join(import.meta.dirname, 'worker.ts');

interface RunResult {
  cpuS: number;
  stateRows: number;
  heapMiB: number;
  digest: string;
}

export const orderedLatenessSuite: Suite = {
  name: 'ordered-lateness',
  description: 'global ORDER BY ts LIMIT under LATENESS vs without: CPU and state rows',
  async run(o: SuiteOptions): Promise<void> {
    const steps = o.quick ? 60 : 300;
    const rows = 1000;
    const runs = o.quick ? 1 : Number(o.flags.runs ?? 3);
    const late: RunResult[] = [];
    const plain: RunResult[] = [];
    const loads: number[] = [];
    for (let r = 0; r < runs; r++) {
      loads.push(loadavg()[0] as number);
      late.push(await runWorker<RunResult>(WORKER, ['late', String(steps), String(rows)], 'RESULT '));
      plain.push(await runWorker<RunResult>(WORKER, ['plain', String(steps), String(rows)], 'RESULT '));
      loads.push(loadavg()[0] as number);
      if ((late[r] as RunResult).digest !== (plain[r] as RunResult).digest)
        throw new Error('ordered-lateness: the output with LATENESS differs from the output without');
    }
    const m = (xs: RunResult[], f: (x: RunResult) => number) => median(xs.map(f));
    const result = {
      steps,
      eventsPerStep: rows,
      runs,
      loadAverage: { min: Math.min(...loads), max: Math.max(...loads) },
      late: {
        cpuS: m(late, (x) => x.cpuS),
        stateRows: m(late, (x) => x.stateRows),
        heapMiB: m(late, (x) => x.heapMiB),
      },
      plain: {
        cpuS: m(plain, (x) => x.cpuS),
        stateRows: m(plain, (x) => x.stateRows),
        heapMiB: m(plain, (x) => x.heapMiB),
      },
    };
    const cpuRatio = result.plain.cpuS / result.late.cpuS;
    const stateRatio = result.plain.stateRows / result.late.stateRows;
    const md = `## Global ORDER BY ... LIMIT under LATENESS (\`npm run bench -- --only ordered-lateness\`)

${int(steps)} steps of ${int(rows)} events (5% of each step's retracted in the next) into \`ORDER BY ts DESC LIMIT 10\`
and \`ORDER BY ts LIMIT 10\` views; \`ts\` with \`LATENESS INTERVAL 5 SECONDS\` beside the same program without it
(same output, checked). Medians of ${runs} runs, each a fresh process, alternating; load average
${result.loadAverage.min.toFixed(1)}–${result.loadAverage.max.toFixed(1)} (${machineInfo().cpus} CPUs, shared).

| | with LATENESS | without | ratio |
| --- | --- | --- | --- |
| CPU (user + sys) of the steps | ${result.late.cpuS.toFixed(2)} s | ${result.plain.cpuS.toFixed(2)} s | ${cpuRatio.toFixed(1)}× less |
| state rows at the end | ${int(result.late.stateRows)} | ${int(result.plain.stateRows)} | ${stateRatio.toFixed(0)}× fewer |
| heap after the run | ${result.late.heapMiB} MiB | ${result.plain.heapMiB} MiB | |
`;
    writeSuiteResults(
      ROOT,
      'ordered-lateness',
      !o.quick && o.flags.runs === undefined,
      { machine: machineInfo(), ...result },
      md,
    );
  },
};
