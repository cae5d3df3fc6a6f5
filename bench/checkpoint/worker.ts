/**
 * One checkpoint measurement in a fresh process (run by `suite.ts`; prints one `CHECKPOINT_RESULT {json}` line).
 *
 *   worker.ts sizes   <orders> <dir>   build the state, one full checkpoint, then three incremental ones (1% each)
 *   worker.ts changes <orders> <dir>   build the state, one full checkpoint, then incremental ones after 1%, 10%
 *                                      and 100% of the orders were updated
 *   worker.ts restore <orders> <dir>   open the store, read the newest checkpoint (hashes verified), restore it
 *                                      into a fresh circuit, and check the result
 *
 * Checkpoints go through the real {@link Checkpointer} and {@link StoreCheckpointWriter} (on-disk
 * {@link CheckpointStore} in `dir`), exactly as the pipeline process drives them: change tracking is on from the
 * start, `capture()` runs between steps, the write runs in the background and is awaited with `flush()`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CircuitSnapshot } from '../../src/circuit/circuit.ts';
import {
  type CheckpointEntry,
  Checkpointer,
  type CheckpointMeta,
  type CheckpointWriter,
} from '../../src/controller/checkpointer.ts';
import { StoreCheckpointWriter } from '../../src/controller/store-writer.ts';
import { compileProgram, type SqlCircuit } from '../../src/sql/program.ts';
import { DECIMAL_CODEC } from '../../src/sql/values/decimal-codec.ts';
import { entryCountOf } from '../../src/zset/trace.ts';
import {
  actualView,
  expectedView,
  loadCustomers,
  PROGRAM,
  RESULT_PREFIX,
  range,
  spread,
  upsertOrders,
  upsertOrdersYielding,
} from './workload.ts';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** One checkpoint, as measured. */
export interface CheckpointSample {
  label: string;
  kind: 'full' | 'incremental';
  /** Orders updated since the previous checkpoint (the state size for a full one). */
  changedOrders: number;
  /** Rows in the captured snapshot or delta, summed over every operator state. */
  capturedRows: number;
  /** Checkpointer.capture(): takeDelta()/snapshot() + meta (the checkpointer's own lastBlockingSeconds). */
  pauseMs: number;
  /** The synchronous part of the write: segment encoding (zstd + SHA-256), still on the event loop. */
  encodeMs: number;
  /** Longest event-loop stall while the checkpoint ran (monitorEventLoopDelay, 1 ms resolution). */
  maxStallMs: number;
  /** capture() until the write, GC and catalog update finished (the checkpointer's lastDurationSeconds). */
  totalMs: number;
  /** New segment files plus the manifest. */
  bytes: number;
}

export interface RestoreSample {
  orders: number;
  /** Rows decoded from every segment of the checkpoint (base + deltas). */
  stateRows: number;
  segments: number;
  /** StoreCheckpointWriter.open: catalog, newest manifest, every segment read, hash-checked and decoded. */
  readMs: number;
  /** circuit.restore(base, deltas). */
  restoreMs: number;
  totalMs: number;
  correct: boolean;
}

export interface WorkerOutput {
  mode: 'sizes' | 'changes' | 'restore';
  orders: number;
  buildSeconds?: number;
  checkpoints?: CheckpointSample[];
  restore?: RestoreSample;
  view?: string;
  correct: boolean;
  heapMiB: number;
}

/** Entries captured: a trace-backed state's sealed batches are counted without decoding them into rows. */
function rowsOf(s: CircuitSnapshot): number {
  let n = 0;
  for (const states of Object.values(s.operators))
    for (const b of Object.values(states)) n += entryCountOf(b);
  return n;
}

/** Times the synchronous part of `write` (encoding happens before the promise is returned). */
class TimedWriter implements CheckpointWriter {
  readonly inner: StoreCheckpointWriter;
  encodeMs = 0;
  constructor(inner: StoreCheckpointWriter) {
    this.inner = inner;
  }
  write(snapshot: CircuitSnapshot, meta: CheckpointMeta, delta: boolean) {
    const t = performance.now();
    const p = this.inner.write(snapshot, meta, delta);
    this.encodeMs = performance.now() - t;
    return p;
  }
  needsFull(): boolean {
    return this.inner.needsFull();
  }
  list(): CheckpointEntry[] {
    return this.inner.list();
  }
}

async function harness(dir: string, circuit: SqlCircuit) {
  const errors: string[] = [];
  const { writer: inner, latest } = await StoreCheckpointWriter.open(dir, [DECIMAL_CODEC], (level, msg) => {
    if (level === 'error') errors.push(msg);
  });
  if (latest !== null) throw new Error(`${dir} already holds a checkpoint`);
  const writer = new TimedWriter(inner);
  // as in a pipeline: large sealed batches get their segment files written in the background (writes ahead)
  circuit.circuit.sealedSink = (b) => inner.prewrite(b);
  let last: CircuitSnapshot | null = null;
  let processed = 0;
  const cp = new Checkpointer(
    writer,
    {
      trackChanges: (on) => circuit.trackChanges(on),
      // rows counted once the checkpoint is written: a large delta is consolidated by the write, in slices, and
      // counting its rows in the capture would consolidate it there
      snapshot: () => {
        last = circuit.snapshot();
        return last;
      },
      takeDelta: () => {
        last = circuit.takeDelta();
        return last;
      },
      changesOverflowed: () => circuit.circuit.changesOverflowed(),
      meta: () => ({
        steps: circuit.circuit.steps,
        processed_records: processed,
        transaction_id: 0,
        inputs: {},
        fingerprint: 'bench-checkpoint',
      }),
    },
    (level, msg) => {
      if (level === 'error') errors.push(msg);
    },
  );
  return {
    countRecords(n: number) {
      processed += n;
    },
    async checkpoint(label: string, changedOrders: number): Promise<CheckpointSample> {
      gc();
      const bytesBefore = cp.metrics.writtenBytesTotal;
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      await new Promise((r) => setTimeout(r, 5)); // let the monitor's timer start
      const full = writer.needsFull() || circuit.circuit.changesOverflowed();
      cp.request();
      cp.capture();
      await cp.flush();
      const captured = last === null ? 0 : rowsOf(last);
      await new Promise((r) => setTimeout(r, 5)); // the stall is recorded when the timer fires late
      h.disable();
      if (errors.length > 0) throw new Error(`checkpoint ${label} failed: ${errors.join('; ')}`);
      return {
        label,
        kind: full ? 'full' : 'incremental',
        changedOrders,
        capturedRows: captured,
        pauseMs: cp.metrics.lastBlockingSeconds * 1000,
        encodeMs: writer.encodeMs,
        maxStallMs: h.max / 1e6,
        totalMs: cp.metrics.lastDurationSeconds * 1000,
        bytes: cp.metrics.writtenBytesTotal - bytesBefore,
      };
    },
  };
}

async function build(n: number, dir: string) {
  const program = await compileProgram(PROGRAM);
  const circuit = program.instantiate();
  const h = await harness(dir, circuit); // turns change tracking on before the first step, like a pipeline
  const t0 = performance.now();
  loadCustomers(circuit);
  h.countRecords(await upsertOrdersYielding(circuit, range(n), () => 0));
  const buildSeconds = (performance.now() - t0) / 1000;
  return { circuit, h, buildSeconds };
}

async function sizes(n: number, dir: string): Promise<WorkerOutput> {
  const { circuit, h, buildSeconds } = await build(n, dir);
  const checkpoints = [await h.checkpoint('full', n)];
  const rounds = 3;
  const count = Math.round(n / 100);
  for (let r = 0; r < rounds; r++) {
    // round r updates the orders with id % 100 === r (disjoint rounds: each such order is at version 1)
    h.countRecords(upsertOrders(circuit, spread(n, count, r), () => 1));
    checkpoints.push(await h.checkpoint(`1% #${r + 1}`, count));
  }
  const view = actualView(circuit);
  const correct = view === expectedView(n, (id) => (id % 100 < rounds ? 1 : 0));
  return output('sizes', n, { buildSeconds, checkpoints, view, correct });
}

async function changes(n: number, dir: string): Promise<WorkerOutput> {
  const { circuit, h, buildSeconds } = await build(n, dir);
  const checkpoints = [await h.checkpoint('full', n)];
  // 1%: id % 100 === 0 (to version 1); 10%: id % 10 === 1 (version 2); 100%: every order (version 3).
  const steps: Array<[label: string, count: number, offset: number]> = [
    ['1%', Math.round(n / 100), 0],
    ['10%', Math.round(n / 10), 1],
    ['100%', n, 0],
  ];
  for (const [i, [label, count, offset]] of steps.entries()) {
    h.countRecords(upsertOrders(circuit, spread(n, count, offset), () => i + 1));
    checkpoints.push(await h.checkpoint(label, count));
  }
  const view = actualView(circuit);
  const correct = view === expectedView(n, () => 3);
  return output('changes', n, { buildSeconds, checkpoints, view, correct });
}

async function restore(n: number, dir: string): Promise<WorkerOutput> {
  const program = await compileProgram(PROGRAM);
  const circuit = program.instantiate();
  gc();
  const t0 = performance.now();
  const { latest } = await StoreCheckpointWriter.open(dir, [DECIMAL_CODEC], () => {});
  const t1 = performance.now();
  if (latest === null) throw new Error(`no checkpoint in ${dir}`);
  circuit.restore(latest.snapshot, latest.deltas);
  const t2 = performance.now();
  let stateRows = 0;
  let segments = 0;
  for (const states of Object.values(latest.manifest.operators))
    for (const list of Object.values(states))
      for (const ref of list) {
        stateRows += ref.rows;
        segments++;
      }
  const view = actualView(circuit);
  const orders = circuit.contents('orders').rows.length;
  return output('restore', n, {
    view,
    correct: orders === n,
    restore: {
      orders,
      stateRows,
      segments,
      readMs: t1 - t0,
      restoreMs: t2 - t1,
      totalMs: t2 - t0,
      correct: orders === n,
    },
  });
}

function output(mode: WorkerOutput['mode'], orders: number, rest: Partial<WorkerOutput>): WorkerOutput {
  return {
    mode,
    orders,
    correct: false,
    ...rest,
    heapMiB: process.memoryUsage().heapUsed / 2 ** 20,
  };
}

const [mode, nArg, dir] = process.argv.slice(2);
const n = Number(nArg);
if (dir === undefined || !Number.isInteger(n) || n <= 0 || n % 100 !== 0)
  throw new Error('usage: worker.ts <sizes|changes|restore> <orders, a multiple of 100> <dir>');
const run = mode === 'sizes' ? sizes : mode === 'changes' ? changes : mode === 'restore' ? restore : null;
if (run === null) throw new Error(`unknown mode ${mode}`);
const out = await run(n, dir);
console.log(`${RESULT_PREFIX}${JSON.stringify(out)}`);
