/**
 * A grouped MIN/MAX aggregate (a non-linear aggregate: its input integral is a trace) checkpointed and restored,
 * one measurement per process (prints one `AGG_RESULT {json}` line). Not part of `npm run bench`'s default suites:
 * run by hand, the build before and after a change alternately (see BENCHMARKS.md, "aggregate state on the trace").
 *
 *   agg-worker.ts checkpoint <rows> <dir>   build `rows` input rows (rows / 10 groups), one full checkpoint
 *   agg-worker.ts restore    <rows> <dir>   read the newest checkpoint, restore it, then a step touching 1% of
 *                                           the groups; checks the view against the expected MIN/MAX
 *
 * `AGG_PROFILE=<file>`: also writes a CPU profile of the checkpoint (capture to durable) to `<file>`.
 * CPU figures are `process.threadCpuUsage()` (the event loop's thread), so the machine's load does not count;
 * *longest CPU stall* = the most main-thread CPU spent between two turns of a 1 ms timer during the checkpoint.
 */
import type { CircuitSnapshot } from '../../src/circuit/circuit.ts';
import { Checkpointer } from '../../src/controller/checkpointer.ts';
import { StoreCheckpointWriter } from '../../src/controller/store-writer.ts';
import { compileProgram } from '../../src/sql/program.ts';
import { DECIMAL_CODEC } from '../../src/sql/values/decimal-codec.ts';
import type { Row } from '../../src/zset/value.ts';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const PROGRAM = `
CREATE TABLE t (g INT, x INT);
CREATE MATERIALIZED VIEW m AS SELECT g, MIN(x) AS lo, MAX(x) AS hi FROM t GROUP BY g;`;
const BATCH = 10_000;

function mix(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
const groupOf = (i: number, groups: number): number => mix(i) % groups;
const xOf = (i: number): number => mix(i * 31 + 7) % 1_000_000;

const cpuMs = (): number => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};

/** Longest main-thread CPU between two turns of a 1 ms timer, while `run` runs. */
async function withStallMeter<T>(run: () => Promise<T>): Promise<{ result: T; longestMs: number }> {
  let last = cpuMs();
  let longest = 0;
  const t = setInterval(() => {
    const now = cpuMs();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    const result = await run();
    const now = cpuMs();
    longest = Math.max(longest, now - last);
    return { result, longestMs: longest };
  } finally {
    clearInterval(t);
  }
}

async function checkpoint(n: number, dir: string) {
  const groups = n / 10;
  const circuit = (await compileProgram(PROGRAM)).instantiate();
  const { writer, latest } = await StoreCheckpointWriter.open(dir, [DECIMAL_CODEC], () => {});
  if (latest !== null) throw new Error(`${dir} already holds a checkpoint`);
  const errors: string[] = [];
  let captureMs = 0;
  const cp = new Checkpointer(
    writer,
    {
      trackChanges: (on) => circuit.trackChanges(on),
      snapshot: (): CircuitSnapshot => {
        const c0 = cpuMs();
        const s = circuit.snapshot();
        captureMs = cpuMs() - c0;
        return s;
      },
      takeDelta: () => circuit.takeDelta(),
      changesOverflowed: () => circuit.circuit.changesOverflowed(),
      meta: () => ({
        steps: circuit.circuit.steps,
        processed_records: n,
        transaction_id: 0,
        inputs: {},
        fingerprint: 'bench-agg',
      }),
    },
    (level, msg) => {
      if (level === 'error') errors.push(msg);
    },
  );
  const b0 = cpuMs();
  for (let s = 0; s < n; s += BATCH) {
    const rows: Row[] = [];
    const weights: number[] = [];
    for (let i = s; i < Math.min(n, s + BATCH); i++) {
      rows.push([groupOf(i, groups), xOf(i)]);
      weights.push(1);
    }
    circuit.step({ t: { rows, weights } });
  }
  const buildCpuMs = cpuMs() - b0;
  gc();
  const prof = process.env.AGG_PROFILE;
  let session: import('node:inspector').Session | null = null;
  if (prof !== undefined) {
    const { Session } = await import('node:inspector');
    session = new Session();
    session.connect();
    await new Promise((r) => session?.post('Profiler.enable', () => session?.post('Profiler.start', r)));
  }
  const c0 = cpuMs();
  const { longestMs } = await withStallMeter(async () => {
    cp.request();
    cp.capture();
    await cp.flush();
  });
  if (session !== null && prof !== undefined) {
    const s = session;
    const { writeFileSync } = await import('node:fs');
    await new Promise<void>((r) =>
      s.post('Profiler.stop', (_e, res) => {
        writeFileSync(prof, JSON.stringify(res.profile));
        r();
      }),
    );
  }
  const checkpointCpuMs = cpuMs() - c0;
  if (errors.length > 0) throw new Error(errors.join('; '));
  // the next step after the checkpoint (pushes the frozen head's batch, already built by the write)
  const s0 = cpuMs();
  circuit.step({ t: { rows: [[groupOf(n, groups), xOf(n)]], weights: [1] } });
  const nextStepCpuMs = cpuMs() - s0;
  return {
    buildCpuMs,
    captureCpuMs: captureMs,
    checkpointCpuMs,
    longestStallCpuMs: longestMs,
    nextStepCpuMs,
  };
}

async function restore(n: number, dir: string) {
  const groups = n / 10;
  const circuit = (await compileProgram(PROGRAM)).instantiate();
  gc();
  const r0 = cpuMs();
  const { latest } = await StoreCheckpointWriter.open(dir, [DECIMAL_CODEC], () => {});
  const readCpuMs = cpuMs() - r0;
  if (latest === null) throw new Error(`no checkpoint in ${dir}`);
  const c0 = cpuMs();
  circuit.restore(latest.snapshot, latest.deltas);
  const restoreCpuMs = cpuMs() - c0;
  // a step touching 1% of the groups (first touch after the restore)
  const rows: Row[] = [];
  const weights: number[] = [];
  for (let g = 0; g < groups; g += 100) {
    rows.push([g, -1 - g]);
    weights.push(1);
  }
  const s0 = cpuMs();
  const out = circuit.step({ t: { rows, weights } });
  const stepCpuMs = cpuMs() - s0;
  // check: the view, against MIN/MAX recomputed from the generator
  const lo = new Float64Array(groups).fill(Number.POSITIVE_INFINITY);
  const hi = new Float64Array(groups).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    const g = groupOf(i, groups);
    const v = xOf(i);
    if (v < (lo[g] as number)) lo[g] = v;
    if (v > (hi[g] as number)) hi[g] = v;
  }
  for (let g = 0; g < groups; g += 100) {
    lo[g] = -1 - g;
    if ((hi[g] as number) < -1 - g) hi[g] = -1 - g;
  }
  const view = circuit.contents('m');
  let present = 0;
  for (let g = 0; g < groups; g++) if ((lo[g] as number) !== Number.POSITIVE_INFINITY) present++;
  let correct = view.rows.length === present;
  if (!correct) console.error(`view rows ${view.rows.length}, groups ${present}`);
  for (let i = 0; i < view.rows.length && correct; i++) {
    const [g, l, h] = view.rows[i] as [number, number, number];
    if (lo[g] !== l || hi[g] !== h || view.weights[i] !== 1) {
      correct = false;
      console.error(
        `mismatch: ${JSON.stringify(view.rows[i])} w ${view.weights[i]}, expected ${lo[g]} ${hi[g]}`,
      );
    }
  }
  void out;
  return { readCpuMs, restoreCpuMs, firstStepCpuMs: stepCpuMs, changedGroups: rows.length, correct };
}

const [mode, nArg, dir] = process.argv.slice(2);
const n = Number(nArg);
if (dir === undefined || !Number.isInteger(n) || n % 10 !== 0)
  throw new Error('usage: agg-worker.ts <mode> <rows> <dir>');
const res = mode === 'checkpoint' ? await checkpoint(n, dir) : await restore(n, dir);
console.log(
  `AGG_RESULT ${JSON.stringify({ mode, rows: n, ...res, load: (await import('node:os')).loadavg()[0], rssMiB: process.memoryUsage().rss / 2 ** 20 })}`,
);
