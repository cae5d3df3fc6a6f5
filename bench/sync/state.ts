/**
 * The checkpoint the sync suite moves: a local {@link CheckpointStore} holding one full checkpoint of a synthetic
 * circuit state, and (on demand) a second, incremental checkpoint after 1% of the rows of every state changed.
 *
 * Shape: a mix of segment sizes, as a pipeline with a few large join indexes and many small aggregates has —
 * a few large segments, a few dozen medium ones, many small ones and a tail of tiny ones (see {@link SHAPES}).
 * Rows are `[id, customer, region, 12 × DOUBLE]`; the doubles are pseudo-random, so zstd cannot shrink the
 * segments much and the bytes on the wire are about the state's size. Every row is a pure function of
 * (state, row index, version), so the 1% change is generated without keeping the state: the delta holds, per
 * changed row, the retraction of the old row and the insertion of the new one (one DOUBLE changed), as an
 * upsert produces it.
 *
 * Batches are generated when the store asks for them (one operator at a time), so the heap never holds the
 * whole state.
 */
import type { CircuitSnapshot } from '../../src/circuit/circuit.ts';
import type { StateBatches } from '../../src/circuit/operator.ts';
import { CheckpointStore, manifestFiles, type SegmentRef } from '../../src/storage/checkpoint-store.ts';
import { encodeSegment } from '../../src/storage/segment.ts';
import type { Batch } from '../../src/zset/batch.ts';
import type { Row, Value } from '../../src/zset/value.ts';

const MiB = 1024 * 1024;
const KiB = 1024;
const DOUBLES = 12;
const REGIONS = Array.from({ length: 50 }, (_, i) => `region-${String(i).padStart(2, '0')}`);
/** Share of each state's rows updated between the full and the incremental checkpoint. */
export const CHANGE_SHARE = 0.01;

/** How many segments of which size (approximate: sizes come from a row-size estimate). */
export interface SegmentShape {
  readonly label: string;
  readonly count: number;
  readonly bytes: number;
}

export const SHAPES: Readonly<Record<'full' | 'quick', readonly SegmentShape[]>> = {
  /** ≈ 254 MiB in 250 files. */
  full: [
    { label: 'large', count: 6, bytes: 24 * MiB },
    { label: 'medium', count: 24, bytes: 3 * MiB },
    { label: 'small', count: 150, bytes: 256 * KiB },
    { label: 'tiny', count: 70, bytes: 4 * KiB },
  ],
  /** ≈ 4 MiB in 32 files. */
  quick: [
    { label: 'large', count: 2, bytes: 1 * MiB },
    { label: 'medium', count: 4, bytes: 256 * KiB },
    { label: 'small', count: 16, bytes: 64 * KiB },
    { label: 'tiny', count: 10, bytes: 4 * KiB },
  ],
};

/** 32-bit integer hash (a murmur3-style finalizer). */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A double in [0, 1000) with 52 pseudo-random bits, from (state, row, column, version). */
function randomDouble(state: number, row: number, col: number, version: number): number {
  const a = mix(state * 0x9e3779b1 + row * 0x85ebca77 + col * 0x27d4eb2f + version * 0x165667b1 + 1);
  const b = mix(a ^ 0x5bd1e995);
  return ((a * 2 ** 20 + (b >>> 12)) / 2 ** 52) * 1000;
}

function rowAt(state: number, i: number, version: number): Row {
  const row: Value[] = [i, mix(state * 131 + i) % 10_000, REGIONS[i % REGIONS.length] as string];
  // only the first DOUBLE ("amount") changes between versions
  row.push(randomDouble(state, i, 0, version));
  for (let c = 1; c < DOUBLES; c++) row.push(randomDouble(state, i, c, 0));
  return row;
}

interface StatePlan {
  readonly op: string;
  readonly name: string;
  readonly index: number;
  readonly rows: number;
  readonly shape: string;
}

function fullBatch(p: StatePlan): Batch {
  const rows: Row[] = new Array(p.rows);
  for (let i = 0; i < p.rows; i++) rows[i] = rowAt(p.index, i, 0);
  return { rows, weights: new Array<number>(p.rows).fill(1), consolidated: true };
}

/** Indices of the rows the 1% change updates (spread over the state). */
function changed(p: StatePlan): number[] {
  const n = Math.max(1, Math.round(p.rows * CHANGE_SHARE));
  return Array.from({ length: n }, (_, k) => Math.floor(((k + 0.5) * p.rows) / n));
}

function deltaBatch(p: StatePlan): Batch {
  const rows: Row[] = [];
  const weights: number[] = [];
  for (const i of changed(p)) {
    rows.push(rowAt(p.index, i, 0), rowAt(p.index, i, 1));
    weights.push(-1, 1);
  }
  return { rows, weights, consolidated: true };
}

/** A snapshot whose batches are generated when read, one operator (two states) at a time. */
function lazySnapshot(
  plans: readonly StatePlan[],
  steps: number,
  make: (p: StatePlan) => Batch,
): CircuitSnapshot {
  const operators: Record<string, StateBatches> = {};
  for (const p of plans) {
    const states = (operators[p.op] ??= {});
    Object.defineProperty(states, p.name, { enumerable: true, get: () => make(p) });
  }
  return { steps, operators };
}

export interface BuiltCheckpoint {
  readonly uuid: string;
  readonly files: readonly SegmentRef[];
  /** Sum of the segment files' sizes. */
  readonly bytes: number;
  readonly rows: number;
  readonly seconds: number;
}

export interface SyncState {
  readonly store: CheckpointStore;
  readonly dir: string;
  readonly plans: readonly StatePlan[];
  readonly full: BuiltCheckpoint;
  /** Files by shape label: count and bytes. */
  readonly shapes: Array<{ label: string; files: number; bytes: number }>;
}

function built(
  uuid: string,
  files: readonly SegmentRef[],
  t0: number,
): { uuid: string; files: readonly SegmentRef[]; bytes: number; rows: number; seconds: number } {
  return {
    uuid,
    files,
    bytes: files.reduce((a, f) => a + f.size, 0),
    rows: files.reduce((a, f) => a + f.rows, 0),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Writes the full checkpoint of the state `shapes` describes into a new store at `dir`. */
export async function buildFull(dir: string, shapes: readonly SegmentShape[]): Promise<SyncState> {
  const t0 = performance.now();
  // encoded bytes per row, from a sample
  const sampleRows = 4000;
  const sample = encodeSegment(
    fullBatch({ op: 's', name: 's', index: 1_000_000, rows: sampleRows, shape: '' }),
  );
  const perRow = sample.size / sampleRows;
  const plans: StatePlan[] = [];
  let index = 0;
  for (const s of shapes)
    for (let k = 0; k < s.count; k++, index++)
      plans.push({
        op: `op${String(index >> 1).padStart(3, '0')}`,
        name: index % 2 === 0 ? 'left' : 'right',
        index,
        rows: Math.max(1, Math.round(s.bytes / perRow)),
        shape: s.label,
      });
  const store = new CheckpointStore(dir);
  const { manifest } = await store.write(lazySnapshot(plans, 1, fullBatch), { fingerprint: 'bench-sync' });
  const files = manifestFiles(manifest);
  const byHash = new Map(files.map((f) => [f.hash, f]));
  const shapeStats = shapes.map((s) => ({ label: s.label, files: 0, bytes: 0 }));
  for (const p of plans) {
    const ref = manifest.operators[p.op]?.[p.name]?.[0];
    const st = shapeStats.find((x) => x.label === p.shape);
    if (ref === undefined || st === undefined || !byHash.has(ref.hash)) continue;
    byHash.delete(ref.hash);
    st.files++;
    st.bytes += ref.size;
  }
  return { store, dir, plans, full: built(manifest.uuid, files, t0), shapes: shapeStats };
}

/** Writes the incremental checkpoint after 1% of every state's rows changed; `files` are the new ones only. */
export async function buildDelta(state: SyncState): Promise<BuiltCheckpoint & { changedRows: number }> {
  const t0 = performance.now();
  const { manifest } = await state.store.write(
    lazySnapshot(state.plans, 2, deltaBatch),
    { fingerprint: 'bench-sync' },
    { delta: true, parent: state.full.uuid },
  );
  const base = new Set(state.full.files.map((f) => f.hash));
  const fresh = manifestFiles(manifest).filter((f) => !base.has(f.hash));
  const changedRows = state.plans.reduce((a, p) => a + changed(p).length, 0);
  return { ...built(manifest.uuid, fresh, t0), changedRows };
}
