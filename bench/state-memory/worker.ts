/**
 * One measurement of the state-memory suite, in a fresh process started with the pipeline processes' Node flags:
 * `node worker.ts <root> ingest <rows> <dir>` or `node worker.ts <root> restore <rows> <dir>`. It compiles the
 * standby/checkpoint benchmark's program (a `BIGINT` primary-key table and `COUNT(*)`, `SUM(v)` per group) from
 * the checkout at `root` and measures the process (after two full GCs) with the program compiled and no rows
 * (`baseline`), then:
 * - `ingest`: after `rows` rows ingested in steps of 10,000 (`ingested`), and after two checkpoints' captures,
 *   each built as a checkpoint builds it (`checkpointed`: a pipeline with fault tolerance); the second is
 *   written to a checkpoint store in `dir`;
 * - `restore`: after that checkpoint is read from `dir` (every segment hash-checked and decoded) and restored into
 *   the circuit (`restored`: a cold start from a checkpoint, in a process that never held the state otherwise).
 * Prints `MEMORY {...}` with each point's `heapUsed`, `arrayBuffers` and `rss` in bytes, and the seconds taken.
 *
 * `root` may be another checkout (an older commit, for "before" figures): a point its code cannot reach (no
 * capture, no trace-shaped snapshot) is left out (null).
 */
import { join, resolve } from 'node:path';

const [rootArg, mode, rowsArg, dir] = process.argv.slice(2);
const root = resolve(rootArg ?? '.');
const rows = Number(rowsArg);
if ((mode !== 'ingest' && mode !== 'restore') || !Number.isInteger(rows) || rows <= 0 || dir === undefined)
  throw new Error('usage: worker.ts <root> <ingest|restore> <rows> <dir>');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

/** The standby suite's program (bench/standby/primary.ts), repeated here so an older checkout can run it. */
const PROGRAM = `CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, v BIGINT NOT NULL);
CREATE MATERIALIZED VIEW agg AS SELECT k, COUNT(*) AS c, SUM(v) AS s FROM t GROUP BY k;`;
const GROUPS = 1000;
const STEP = 10_000;

function mix(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

interface Point {
  heapUsed: number;
  arrayBuffers: number;
  rss: number;
}

function measure(): Point {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, rss: m.rss };
}

interface Snapshot {
  operators: Record<string, Record<string, unknown>>;
}
interface Circuit {
  step(inputs: Record<string, { rows: unknown[][]; weights: number[] }>): unknown;
  snapshot(): Snapshot;
  restore?(s: Snapshot): void;
  circuit?: { restore?(s: Snapshot): void };
}

const { compileProgram } = await import(join(root, 'src/sql/program.ts'));
const program = await compileProgram(PROGRAM);
const c = program.instantiate() as Circuit;
const baseline = measure();

const { CheckpointStore } = await import(join(root, 'src/storage/checkpoint-store.ts'));
const { DECIMAL_CODEC } = await import(join(root, 'src/sql/values/decimal-codec.ts'));

/** A capture, with every frozen head built as a checkpoint builds it (in slices); null if the code has none. */
async function capture(circuit: Circuit): Promise<Snapshot | null> {
  const snap = circuit.snapshot();
  let traced = false;
  for (const states of Object.values(snap.operators))
    for (const b of Object.values(states)) {
      const settle = (b as { settle?: () => Promise<void> }).settle;
      if (typeof settle === 'function') {
        traced = true;
        await settle.call(b);
      }
    }
  return traced ? snap : null;
}

if (mode === 'restore') {
  const r0 = performance.now();
  const read = await new CheckpointStore(dir, { codecs: [DECIMAL_CODEC] }).readLatest();
  if (read === null) throw new Error(`no checkpoint in ${dir}`);
  (c.circuit ?? c).restore?.(read.snapshot);
  const restoreSeconds = (performance.now() - r0) / 1000;
  const restored = measure();
  // the restored circuit answers: one more step reads its state
  c.step({ t: { rows: [[0n, 0, 0n]], weights: [1] } });
  console.log(`MEMORY ${JSON.stringify({ rows, restoreSeconds, baseline, restored })}`);
} else {
  const t0 = performance.now();
  for (let from = 0; from < rows; from += STEP) {
    const batch: unknown[][] = [];
    for (let id = from; id < Math.min(rows, from + STEP); id++)
      batch.push([BigInt(id), mix(id) % GROUPS, BigInt(mix(id * 31) % 1_000_000)]);
    c.step({ t: { rows: batch, weights: new Array<number>(batch.length).fill(1) } });
  }
  const ingestSeconds = (performance.now() - t0) / 1000;
  const ingested = measure();
  let checkpointed: Point | null = null;
  if ((await capture(c)) !== null) {
    const snap = (await capture(c)) as Snapshot;
    checkpointed = measure();
    await new CheckpointStore(dir, { codecs: [DECIMAL_CODEC] }).write(snap, { fingerprint: 'state-memory' });
  } else
    await new CheckpointStore(dir, { codecs: [DECIMAL_CODEC] }).write(c.snapshot(), {
      fingerprint: 'state-memory',
    });
  console.log(`MEMORY ${JSON.stringify({ rows, ingestSeconds, baseline, ingested, checkpointed })}`);
}
