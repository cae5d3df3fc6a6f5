/**
 * In-process stall measurement of one full and one incremental checkpoint (issue 16), for before/after
 * comparisons at any load: CPU figures come from `process.threadCpuUsage()` (the event loop's thread) and
 * `process.cpuUsage()` (the process), so other processes on the machine do not inflate them.
 *
 *   npx node --expose-gc bench/checkpoint/stall.ts <orders> [root]
 *
 * Environment: HOLDFAST_NO_PREWRITE=1 builds without writes ahead (large sealed batches' files written in the
 * background, as a pipeline does); HOLDFAST_AHEAD_SETTLE=1 takes the full checkpoint once they are done.
 *
 * `root`: the checkout whose sources are measured (default: this one), e.g. an older commit exported with
 * `git archive <commit> | tar -x -C /tmp/old` (link its node_modules), so old and new run the same script.
 * Prints one JSON line per checkpoint: `captureCpuMs` (the capture), `mainCpuMs` / `procCpuMs` (capture until
 * durable), `maxCpuStallMs` (the most main-thread CPU between two turns of a 1 ms timer: the longest stall the
 * load does not inflate), `maxWallStallMs`, `maxGcMs` (longest GC entry, wall time), `bigGc` (GC entries over 50
 * ms as kind/flags:ms).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';

const [nArg, rootArg] = process.argv.slice(2);
const n = Number(nArg);
if (!Number.isInteger(n) || n <= 0 || n % 100 !== 0)
  throw new Error('usage: stall.ts <orders, a multiple of 100> [root]');
const root = resolve(rootArg ?? join(import.meta.dirname, '../..'));
const W = await import(join(root, 'bench/checkpoint/workload.ts'));
const { compileProgram } = await import(join(root, 'src/sql/program.ts'));
const { Checkpointer } = await import(join(root, 'src/controller/checkpointer.ts'));
const { StoreCheckpointWriter } = await import(join(root, 'src/controller/store-writer.ts'));
const { DECIMAL_CODEC } = await import(join(root, 'src/sql/values/decimal-codec.ts'));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const dir = mkdtempSync(join(tmpdir(), 'holdfast-stall-'));
const circuit = (await compileProgram(W.PROGRAM)).instantiate();
const { writer } = await StoreCheckpointWriter.open(dir, [DECIMAL_CODEC], () => {});
const errors: string[] = [];
const cp = new Checkpointer(
  writer,
  {
    trackChanges: (on: boolean) => circuit.trackChanges(on),
    snapshot: () => circuit.snapshot(),
    takeDelta: () => circuit.takeDelta(),
    changesOverflowed: () => circuit.circuit.changesOverflowed(),
    meta: () => ({
      steps: circuit.circuit.steps,
      processed_records: 0,
      transaction_id: 0,
      inputs: {},
      fingerprint: 'stall',
    }),
  },
  (level: string, msg: string) => {
    if (level === 'error') errors.push(msg);
  },
);
// as in a pipeline: large sealed batches get their segment files written in the background (writes ahead), and
// the event loop turns between steps (where those writes make progress). HOLDFAST_NO_PREWRITE=1 turns them off.
const ahead = process.env.HOLDFAST_NO_PREWRITE !== '1' && 'sealedSink' in circuit.circuit;
if (ahead) circuit.circuit.sealedSink = (b: unknown) => writer.prewrite(b);
const c0 = process.cpuUsage();
const w0 = performance.now();
W.loadCustomers(circuit);
// (an older checkout measured through `root` may lack the yielding build: it steps without turns then)
if (typeof W.upsertOrdersYielding === 'function') await W.upsertOrdersYielding(circuit, W.range(n), () => 0);
else W.upsertOrders(circuit, W.range(n), () => 0);
const built = process.cpuUsage(c0);
const buildWallMs = Math.round(performance.now() - w0);
// HOLDFAST_AHEAD_SETTLE=1: the checkpoint comes once the writes ahead are done (a checkpoint requested a moment
// after the last large merge), instead of right after the last step (the merge of most of the state ~1.7 s
// earlier may still be written ahead then, and the checkpoint waits for it)
const w1 = performance.now();
if (ahead && process.env.HOLDFAST_AHEAD_SETTLE === '1') await writer.store.aheadSettled();
const settleWaitMs = Math.round(performance.now() - w1);
gc();
const mem = process.memoryUsage();
const ms = (u: { user: number; system: number }) => Math.round((u.user + u.system) / 1000);
console.log(
  JSON.stringify({
    orders: n,
    buildCpuMs: ms(built),
    buildWallMs,
    settleWaitMs,
    writesAhead: ahead ? { ...writer.store.aheadStats } : null,
    heapMiB: Math.round(mem.heapUsed / 2 ** 20),
    arrayBuffersMiB: Math.round(mem.arrayBuffers / 2 ** 20),
    load: loadavg()[0],
  }),
);

async function checkpoint(label: string): Promise<void> {
  gc();
  let maxGc = 0;
  const big: string[] = [];
  const obs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      maxGc = Math.max(maxGc, e.duration);
      const d = (e as { detail?: { kind?: number; flags?: number } }).detail;
      if (e.duration > 50) big.push(`${d?.kind}/${d?.flags}:${Math.round(e.duration)}`);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  let last = process.threadCpuUsage();
  let lastWall = performance.now();
  let maxCpu = 0;
  let maxWall = 0;
  let running = true;
  const tick = () => {
    const now = process.threadCpuUsage();
    const w = performance.now();
    maxCpu = Math.max(maxCpu, (now.user + now.system - last.user - last.system) / 1000);
    maxWall = Math.max(maxWall, w - lastWall);
    last = now;
    lastWall = w;
    if (running) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  await new Promise((r) => setTimeout(r, 20));
  const t0 = process.threadCpuUsage();
  const p0 = process.cpuUsage();
  const w0 = performance.now();
  cp.request();
  cp.capture();
  const capture = process.threadCpuUsage(t0);
  await cp.flush();
  const main = process.threadCpuUsage(t0);
  const proc = process.cpuUsage(p0);
  const wall = performance.now() - w0;
  await new Promise((r) => setTimeout(r, 20));
  running = false;
  obs.disconnect();
  if (errors.length > 0) throw new Error(errors.join('; '));
  console.log(
    JSON.stringify({
      label,
      captureCpuMs: ms(capture),
      mainCpuMs: ms(main),
      procCpuMs: ms(proc),
      wallMs: Math.round(wall),
      maxCpuStallMs: Math.round(maxCpu),
      maxWallStallMs: Math.round(maxWall),
      maxGcMs: Math.round(maxGc),
      bigGc: big.join(' '),
      bytesTotal: cp.metrics.writtenBytesTotal,
    }),
  );
}

await checkpoint('full');
W.upsertOrders(circuit, W.spread(n, n / 100, 0), () => 1);
await checkpoint('incremental 1%');
rmSync(dir, { recursive: true, force: true });
