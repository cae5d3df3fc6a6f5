/**
 * Z-set batches: a bag of `(row, weight)` pairs held as two parallel arrays (compact, no per-entry objects).
 * A weight is a non-zero integer: positive = that many copies inserted, negative = deleted. A batch need not be
 * consolidated (the same row may appear several times); {@link consolidate} merges equal rows and drops zeros.
 */
import { encodeRow, type Row } from './value.ts';

export interface Batch {
  readonly rows: Row[];
  readonly weights: number[];
  /** Set by producers that guarantee distinct rows and no zero weights (lets {@link consolidate} skip work). */
  readonly consolidated?: boolean;
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
 * Merges equal rows and drops zero weights. Output order: first appearance of each row (deterministic).
 */
export function consolidate(b: Batch): Batch {
  if (b.consolidated === true) return b;
  const n = b.rows.length;
  if (n <= 1) return n === 1 && b.weights[0] === 0 ? emptyBatch() : b;
  const index = new Map<string, number>();
  const rows: Row[] = [];
  const weights: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = b.rows[i] as Row;
    const k = encodeRow(row);
    const at = index.get(k);
    if (at === undefined) {
      index.set(k, rows.length);
      rows.push(row);
      weights.push(b.weights[i] as number);
    } else {
      weights[at] = (weights[at] as number) + (b.weights[i] as number);
    }
  }
  const out: Batch = { rows: [], weights: [], consolidated: true };
  for (let i = 0; i < rows.length; i++) if (weights[i] !== 0) push(out, rows[i] as Row, weights[i] as number);
  return out;
}

/** Total weight (the multiset's cardinality for a positive Z-set). */
export function totalWeight(b: Batch): number {
  let s = 0;
  for (const w of b.weights) s += w;
  return s;
}
