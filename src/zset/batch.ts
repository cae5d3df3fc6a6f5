/**
 * Z-set batches: a bag of `(row, weight)` pairs held as two parallel arrays (compact, no per-entry objects).
 * A weight is a non-zero integer: positive = that many copies inserted, negative = deleted. A batch need not be
 * consolidated (the same row may appear several times); {@link consolidate} merges equal rows and drops zeros.
 */
import { KeyIndex } from './key-index.ts';
import { hashRow, type Row, sameRow } from './value.ts';

export interface Batch {
  readonly rows: Row[];
  readonly weights: number[];
  /** Set by producers that guarantee distinct rows and no zero weights (lets {@link consolidate} skip work). */
  readonly consolidated?: boolean;
}

/**
 * A batch whose contents are still being computed, in slices off the step path (a checkpoint's frozen head, an
 * incremental checkpoint's change log): reading `rows` finishes the work at once; `settle()` runs it in slices.
 */
export interface SettlingBatch extends Batch {
  settle(): Promise<unknown>;
}

export function isSettling(b: Batch): b is SettlingBatch {
  return typeof (b as Partial<SettlingBatch>).settle === 'function';
}

export function emptyBatch(): Batch {
  return { rows: [], weights: [] };
}

export function batchOf(entries: ReadonlyArray<readonly [Row, number]>): Batch {
  const b = emptyBatch();
  for (const [r, w] of entries) push(b, r, w);
  return b;
}

export function push(b: Batch, row: Row, weight: number): void {
  b.rows.push(row);
  b.weights.push(weight);
}

export function size(b: Batch): number {
  return b.rows.length;
}

/** Appends `src` (times `sign`) to `dst`. */
export function append(dst: Batch, src: Batch, sign = 1): void {
  const n = src.rows.length;
  for (let i = 0; i < n; i++) {
    dst.rows.push(src.rows[i] as Row);
    dst.weights.push((src.weights[i] as number) * sign);
  }
}

export function negate(b: Batch): Batch {
  return { rows: b.rows.slice(), weights: b.weights.map((w) => -w) };
}

/**
 * Merges equal rows (equal as {@link sameRow} says, as their `encodeRow` strings are) and drops zero weights. Output
 * order: first appearance of each row (deterministic). Rows are found by a 32-bit hash of their values
 * ({@link hashRow}) in a {@link KeyIndex}, rows of equal hash chained and compared whole: no string is built per
 * row (the string-keyed `Map` this replaces cost ~0.8 µs per row, a checkpoint's capture consolidating its change
 * logs on the event loop).
 */
export function consolidate(b: Batch): Batch {
  return consolidateBy(b, hashRow);
}

/** Batches up to this many rows are consolidated without a hash index (a scan of their distinct rows' hashes). */
const SMALL_BATCH = 16;

/** {@link consolidate} with another row hash (tests: a hash that collides, to exercise the chains). */
export function consolidateBy(b: Batch, hash: (row: Row) => number): Batch {
  if (b.consolidated === true) return b;
  const n = b.rows.length;
  if (n <= 1) return n === 1 && b.weights[0] === 0 ? emptyBatch() : b;
  const c = new Consolidation(b, hash);
  c.run(n);
  return c.result();
}

/** Rows {@link consolidateSteps} consolidates between two pauses (about a millisecond). */
const CONSOLIDATE_SLICE = 4096;

/**
 * {@link consolidate} as work that can pause (`zset/sliced.ts`): the same result, computed in runs of
 * {@link CONSOLIDATE_SLICE} rows (an incremental checkpoint's change logs, consolidated off the step path).
 */
export function* consolidateSteps(b: Batch): Generator<void, Batch, void> {
  if (b.consolidated === true || b.rows.length <= 1) return consolidate(b);
  const c = new Consolidation(b, hashRow);
  while (!c.run(CONSOLIDATE_SLICE)) yield;
  return c.result();
}

/**
 * One consolidation, run in pieces: the rows are taken in order, each added to the first earlier row equal to it
 * (found by hash), so the result — distinct rows in order of first appearance, zero weights dropped — does not
 * depend on where the pieces end.
 */
class Consolidation {
  readonly #b: Batch;
  readonly #hash: (row: Row) => number;
  /** Rows consumed so far. */
  #next = 0;
  // hash → the newest distinct row with it; `chain[j]`: the distinct row before j with j's hash, or -1. A small
  // batch (the common step) scans its few distinct rows' hashes instead of allocating an index.
  readonly #index: KeyIndex<number> | null;
  readonly #hashes: number[] = [];
  readonly #chain: number[] = [];
  readonly #rows: Row[] = [];
  readonly #weights: number[] = [];

  constructor(b: Batch, hash: (row: Row) => number) {
    this.#b = b;
    this.#hash = hash;
    this.#index = b.rows.length > SMALL_BATCH ? new KeyIndex<number>() : null;
  }

  /** Consumes up to `limit` more rows; whether every row is consumed. */
  run(limit: number): boolean {
    const { rows: inRows, weights: inWeights } = this.#b;
    const end = Math.min(inRows.length, this.#next + limit);
    const index = this.#index;
    const hashes = this.#hashes;
    const chain = this.#chain;
    const rows = this.#rows;
    const weights = this.#weights;
    for (let i = this.#next; i < end; i++) {
      const row = inRows[i] as Row;
      const h = this.#hash(row);
      let at: number | undefined;
      if (index !== null) at = index.get(h);
      else for (let d = hashes.length - 1; d >= 0 && at === undefined; d--) if (hashes[d] === h) at = d;
      let j = at === undefined ? -1 : at;
      while (j >= 0 && !sameRow(rows[j] as Row, row)) j = chain[j] as number;
      if (j >= 0) {
        weights[j] = (weights[j] as number) + (inWeights[i] as number);
        continue;
      }
      chain.push(at === undefined ? -1 : at);
      if (index !== null) index.set(h, rows.length);
      hashes.push(h);
      rows.push(row);
      weights.push(inWeights[i] as number);
    }
    this.#next = end;
    return end === inRows.length;
  }

  /** The consolidated batch (every row consumed). */
  result(): Batch {
    const out: Batch = { rows: [], weights: [], consolidated: true };
    const rows = this.#rows;
    const weights = this.#weights;
    for (let i = 0; i < rows.length; i++)
      if (weights[i] !== 0) push(out, rows[i] as Row, weights[i] as number);
    return out;
  }
}

/** Total weight (the multiset's cardinality for a positive Z-set). */
export function totalWeight(b: Batch): number {
  let s = 0;
  for (const w of b.weights) s += w;
  return s;
}
