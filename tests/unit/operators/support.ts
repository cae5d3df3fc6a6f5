/**
 * Shared helpers for the operator, circuit and Z-set unit tests: build batches, normalise them (consolidated,
 * each value rendered with its JS type, sorted) so tests can assert exact Z-sets with readable failures.
 */
import assert from 'node:assert/strict';
import type { Operator } from '../../../src/circuit/operator.ts';
import { type Batch, batchOf, emptyBatch } from '../../../src/zset/batch.ts';
import { encodeRow, type ObjectValue, type Row, type Value } from '../../../src/zset/value.ts';

export type Entry = readonly [Row, number];

/** A batch from `[row, weight]` pairs. */
export function z(...entries: Entry[]): Batch {
  return batchOf(entries);
}

/** A batch of rows, each with weight 1. */
export function ins(...rows: Row[]): Batch {
  return batchOf(rows.map((r) => [r, 1] as const));
}

/** A batch of rows, each with weight -1. */
export function del(...rows: Row[]): Batch {
  return batchOf(rows.map((r) => [r, -1] as const));
}

/** Renders a value with its JS type, so 1, 1n, '1' and a Decimal 1.50 all differ (and -0 shows as -0). */
export function show(v: Value): string {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return String(v);
    case 'object':
      return v === null ? 'null' : `${(v as ObjectValue).constructor.name}(${String(v)})`;
    default:
      return `?${typeof v}`;
  }
}

export function showRow(r: Row): string {
  return `[${r.map(show).join(', ')}]`;
}

/**
 * Merges equal rows (by value identity) and drops zero weights. Independent of the engine's `consolidate`, which
 * trusts a batch's `consolidated` mark: tests must see the true Z-set.
 */
export function trueConsolidate(b: Batch): Batch {
  const index = new Map<string, number>();
  const out = emptyBatch();
  for (let i = 0; i < b.rows.length; i++) {
    const row = b.rows[i] as Row;
    const k = encodeRow(row);
    const at = index.get(k);
    if (at === undefined) {
      index.set(k, out.rows.length);
      out.rows.push(row);
      out.weights.push(b.weights[i] as number);
    } else out.weights[at] = (out.weights[at] as number) + (b.weights[i] as number);
  }
  const res = emptyBatch();
  for (let i = 0; i < out.rows.length; i++)
    if (out.weights[i] !== 0) {
      res.rows.push(out.rows[i] as Row);
      res.weights.push(out.weights[i] as number);
    }
  return res;
}

/** True when the batch really is consolidated: distinct rows, no zero weights. */
export function isTrulyConsolidated(b: Batch): boolean {
  const seen = new Set<string>();
  for (let i = 0; i < b.rows.length; i++) {
    if (b.weights[i] === 0) return false;
    const k = encodeRow(b.rows[i] as Row);
    if (seen.has(k)) return false;
    seen.add(k);
  }
  return true;
}

/** Asserts that a batch marked `consolidated` really is. */
export function assertHonestMark(b: Batch, message?: string): void {
  if (b.consolidated === true)
    assert.ok(
      isTrulyConsolidated(b),
      message ?? `batch marked consolidated is not: ${JSON.stringify(norm(b))}`,
    );
}

/** Consolidated, sorted, rendered `[row, weight]` pairs: a canonical form of a Z-set. */
export function norm(b: Batch): Array<[string, number]> {
  const c = trueConsolidate(b);
  const out: Array<[string, number]> = c.rows.map((r, i) => [showRow(r), c.weights[i] as number]);
  out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]));
  return out;
}

/** Asserts that `actual` equals the Z-set `expected` (after consolidating both). */
export function assertZ(actual: Batch, expected: readonly Entry[], message?: string): void {
  assert.deepEqual(norm(actual), norm(batchOf(expected)), message);
}

/** Runs one step of a unary operator. */
export function step1(op: Operator, input: Batch = emptyBatch()): Batch {
  return op.step([input]);
}

/** Runs one step of a binary operator. */
export function step2(op: Operator, left: Batch = emptyBatch(), right: Batch = emptyBatch()): Batch {
  return op.step([left, right]);
}

/** Tiny seeded PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(rnd: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

export function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)] as T;
}
