/**
 * A mutable, consolidated Z-set keyed by row identity: the integral of a stream of batches. Used by operators
 * that must remember a relation (distinct, set operations, table contents).
 *
 * Invariant: no entry has weight 0 (entries reaching 0 are removed), so `size` counts distinct rows present.
 */
import { type Batch, emptyBatch, push } from './batch.ts';
import { encodeRow, type Row } from './value.ts';

export interface ZEntry {
  row: Row;
  weight: number;
}

export class ZSetMap {
  readonly #entries = new Map<string, ZEntry>();

  get size(): number {
    return this.#entries.size;
  }

  /** Adds `weight` copies of `row`; returns the row's weight before and after. */
  add(row: Row, weight: number, key: string = encodeRow(row)): [before: number, after: number] {
    const e = this.#entries.get(key);
    if (e === undefined) {
      if (weight !== 0) this.#entries.set(key, { row, weight });
      return [0, weight];
    }
    const before = e.weight;
    e.weight += weight;
    if (e.weight === 0) this.#entries.delete(key);
    return [before, e.weight];
  }

  weightOf(row: Row, key: string = encodeRow(row)): number {
    return this.#entries.get(key)?.weight ?? 0;
  }

  get(key: string): ZEntry | undefined {
    return this.#entries.get(key);
  }

  entries(): IterableIterator<ZEntry> {
    return this.#entries.values();
  }

  toBatch(): Batch {
    const b = emptyBatch();
    for (const e of this.#entries.values()) push(b, e.row, e.weight);
    return b;
  }

  clear(): void {
    this.#entries.clear();
  }
}
