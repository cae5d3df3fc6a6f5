/**
 * The standby suite's fake primary: builds a pipeline's state in this process (the compiled program's circuit,
 * stepped in batches), writes it as checkpoints a real pipeline process resumes from, and pushes them to the
 * bucket with the {@link Synchronizer}, as a primary pipeline would.
 *
 * Program: `t` (BIGINT primary key) with N rows and a materialized `COUNT(*)`, `SUM(v)` per `k` (1,000 groups),
 * so the state is about N table rows plus the aggregate. Checkpoint 0 is a full checkpoint of the N rows; each
 * checkpoint i ≥ 1 is a delta on checkpoint i − 1 after 0.1% of the rows got a new `v` (a different set of rows
 * each time: no row is updated twice). Everything is a pure function of the row id and the checkpoint number,
 * so the expected count and aggregates of every checkpoint are computed here without the engine.
 *
 * Manifests carry what the pipeline writes (controller/checkpointer.ts, store-writer.ts): the pipeline's
 * fingerprint (sha256 of program_code, 16 hex chars, as pipeline-main.ts), `extra` = the program description
 * (controller/bootstrap.ts), processed records, transaction id, no input or output positions.
 */
import { createHash } from 'node:crypto';
import { checkpointExtra } from '../../src/controller/bootstrap.ts';
import { compileProgram } from '../../src/sql/program.ts';
import { describeProgram } from '../../src/sql/program-diff.ts';
import { DECIMAL_CODEC } from '../../src/sql/values/decimal-codec.ts';
import { CheckpointStore, manifestFiles } from '../../src/storage/checkpoint-store.ts';
import { type PushResult, Synchronizer } from '../../src/sync/synchronizer.ts';
import { parseSyncConfig } from '../../src/types/sync-config.ts';
import type { Row } from '../../src/zset/value.ts';

export const PROGRAM = `CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, v BIGINT NOT NULL);
CREATE MATERIALIZED VIEW agg AS SELECT k, COUNT(*) AS c, SUM(v) AS s FROM t GROUP BY k;`;
/** The pipeline's fingerprint of {@link PROGRAM} (pipeline-main.ts). */
export const FINGERPRINT = createHash('sha256').update(PROGRAM).digest('hex').slice(0, 16);
export const GROUPS = 1000;
/** Rows per circuit step while seeding. */
export const BATCH = 10_000;
/** Share of the rows each delta checkpoint updates. */
export const CHANGE_SHARE = 0.001;
/** The seed worker's result line (seed-worker.ts). */
export const SEED_PREFIX = 'STANDBY_SEED ';
export const PRIMARY = { id: 'pipeline-bench-standby-primary', name: 'bench-standby-primary' };

function mix(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

const groupOf = (id: number): number => mix(id) % GROUPS;
/** `v` of row `id` at version `version` (0 = as seeded, i = as updated by delta checkpoint i). */
const vOf = (id: number, version: number): number => mix(id * 31 + version * 7919) % 1_000_000;
const rowOf = (id: number, version: number): Row => [BigInt(id), groupOf(id), BigInt(vOf(id, version))];

/** Rows delta checkpoint `d` (≥ 1) updates: every (1 / CHANGE_SHARE)-th id, shifted by d (disjoint per d). */
function* changedIds(n: number, d: number): Generator<number> {
  const stride = Math.round(1 / CHANGE_SHARE);
  for (let id = d - 1; id < n; id += stride) yield id;
}

/**
 * Expected contents of checkpoint i: COUNT(*) of t, one group's row of agg (the group of the first row delta i
 * updated, so that it changed), and the sum of `s` over agg.
 */
export interface Expected {
  readonly rows: number;
  readonly sample: { readonly k: number; readonly c: number; readonly s: number };
  readonly totalS: number;
}

/** Computes {@link Expected} from the generator alone (not from the engine). */
function expected(n: number, checkpoint: number): Expected {
  const stride = Math.round(1 / CHANGE_SHARE);
  const sample = groupOf(Math.max(0, checkpoint - 1));
  let c = 0;
  let s = 0;
  let total = 0;
  for (let id = 0; id < n; id++) {
    const r = id % stride;
    // delta d updates ids ≡ d − 1 (mod stride), for d ≤ checkpoint
    const version = r < checkpoint ? r + 1 : 0;
    const v = vOf(id, version);
    total += v;
    if (groupOf(id) === sample) {
      c++;
      s += v;
    }
  }
  return { rows: n, sample: { k: sample, c, s }, totalS: total };
}

export interface SeededCheckpoint {
  readonly uuid: string;
  /** 0: full; i ≥ 1: delta on checkpoint i − 1. */
  readonly index: number;
  /** Segment files of the whole checkpoint / new in this one, and their bytes. */
  readonly files: number;
  readonly bytes: number;
  readonly newFiles: number;
  readonly newBytes: number;
  readonly changedRows: number;
  readonly writeSeconds: number;
  readonly expected: Expected;
}

export interface Seed {
  readonly rows: number;
  readonly store: CheckpointStore;
  readonly checkpoints: readonly SeededCheckpoint[];
  /** Stepping the N rows through the circuit. */
  readonly buildSeconds: number;
  readonly peakHeapMiB: number;
}

/**
 * Builds the state of `n` rows and writes checkpoint 0 (full) and `deltas` delta checkpoints into a new store
 * at `dir`. The circuit is dropped before returning: only the files remain.
 */
export async function seed(dir: string, n: number, deltas: number): Promise<Seed> {
  const program = await compileProgram(PROGRAM);
  const circuit = program.instantiate();
  const extra = checkpointExtra(describeProgram(circuit));
  const store = new CheckpointStore(dir, { codecs: [DECIMAL_CODEC] });
  let peakHeap = 0;
  const heap = () => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  let processed = 0;
  let txn = 0;
  const feed = (ids: Iterable<number>, version: (id: number) => number): number => {
    let rows: Row[] = [];
    let count = 0;
    const flush = () => {
      circuit.step({ t: { rows, weights: new Array<number>(rows.length).fill(1) } });
      processed += rows.length;
      txn++;
      rows = [];
      heap();
    };
    for (const id of ids) {
      rows.push(rowOf(id, version(id)));
      count++;
      if (rows.length === BATCH) flush();
    }
    if (rows.length > 0) flush();
    return count;
  };
  const t0 = performance.now();
  feed(
    (function* () {
      for (let id = 0; id < n; id++) yield id;
    })(),
    () => 0,
  );
  const buildSeconds = (performance.now() - t0) / 1000;
  // change tracking from here on (it only records changes after it is turned on; the full checkpoint below is
  // the baseline of the first delta): the seeding itself need not keep a change log of N rows
  circuit.trackChanges(true);
  const out: SeededCheckpoint[] = [];
  let prevFiles = new Set<string>();
  for (let i = 0; i <= deltas; i++) {
    const changedRows = i === 0 ? n : feed(changedIds(n, i), () => i);
    const w0 = performance.now();
    const snapshot = i === 0 ? circuit.snapshot() : circuit.takeDelta();
    const r = await store.write(
      snapshot,
      {
        fingerprint: FINGERPRINT,
        processed_records: processed,
        transaction_id: txn,
        inputs: {},
        outputs: {},
        extra,
      },
      { delta: i > 0 },
    );
    const writeSeconds = (performance.now() - w0) / 1000;
    heap();
    const files = manifestFiles(r.manifest);
    const fresh = files.filter((f) => !prevFiles.has(f.hash));
    prevFiles = new Set(files.map((f) => f.hash));
    out.push({
      uuid: r.manifest.uuid,
      index: i,
      files: files.length,
      bytes: files.reduce((a, f) => a + f.size, 0),
      newFiles: fresh.length,
      newBytes: fresh.reduce((a, f) => a + f.size, 0),
      changedRows,
      writeSeconds,
      expected: expected(n, i),
    });
  }
  return { rows: n, store, checkpoints: out, buildSeconds, peakHeapMiB: peakHeap / 2 ** 20 };
}

/** The primary's view of bucket `bucket` under the local-directory object store at `root`. */
export function primarySync(store: CheckpointStore, root: string, bucket: string): Synchronizer {
  return new Synchronizer({
    settings: parseSyncConfig({ endpoint: `file://${root}`, bucket }),
    local: store,
    identity: PRIMARY,
  });
}

/** Pushes checkpoint `uuid` (the files the bucket lacks, then the manifest; no retention). */
export async function push(sync: Synchronizer, uuid: string): Promise<PushResult> {
  return sync.push(uuid, { retention: false });
}
