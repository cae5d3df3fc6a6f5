/**
 * table-input: turns the raw changes pushed into a table into the table's change stream.
 *
 * - With a primary key (upsert semantics): `(r, +w)` inserts r, replacing the row with the same key if any
 *   (emits `(old, -1)`, `(r, +1)`); `(r, -w)` deletes the row with r's key (only key columns are read; emits
 *   `(old, -1)`), and is ignored when no such row exists. Changes apply in order within a step.
 * - Without a key, materialized: a multiset; deleting a row that is not present is ignored (never negative).
 * - Without a key, not materialized: changes pass through unchanged and nothing is stored.
 *
 * State "contents" (when stored): the table itself.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { consolidate, emptyBatch, push } from '../zset/batch.ts';
import { encodeColumns, encodeRow, encodeValue, type Row, sameRow, type Value } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

export interface TableInputSpec {
  /** Column indexes of the primary key, or null for a keyless table. */
  readonly primaryKey: readonly number[] | null;
  readonly materialized: boolean;
}

export class TableInputOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'table';
  readonly arity = 1;
  readonly #pk: readonly number[] | null;
  readonly #store: boolean;
  /** With a primary key: key → row. */
  readonly #byKey = new Map<unknown, Row>();
  /** Without a key: row identity → [row, multiplicity]. */
  readonly #rows = new Map<unknown, [Row, number]>();

  constructor(spec: TableInputSpec) {
    super(['contents']);
    this.#pk = spec.primaryKey;
    this.#store = spec.primaryKey !== null || spec.materialized;
  }

  #key(row: Row): unknown {
    const pk = this.#pk;
    if (pk === null) return encodeRow(row);
    if (pk.length === 1) {
      const v = row[pk[0] as number] as Value;
      return typeof v === 'object' && v !== null ? encodeValue(v) : v;
    }
    return encodeColumns(row, pk);
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    if (!this.#store) return b;
    const out = emptyBatch();
    const log = this.logs.contents!;
    const n = b.rows.length;
    for (let i = 0; i < n; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      const k = this.#key(row);
      if (this.#pk !== null) {
        const old = this.#byKey.get(k);
        if (w > 0) {
          if (old !== undefined) {
            if (sameRow(old, row)) continue;
            push(out, old, -1);
            log.record(old, -1);
          }
          this.#byKey.set(k, row);
          push(out, row, 1);
          log.record(row, 1);
        } else if (w < 0 && old !== undefined) {
          this.#byKey.delete(k);
          push(out, old, -1);
          log.record(old, -1);
        }
        continue;
      }
      const cur = this.#rows.get(k);
      if (w > 0) {
        if (cur === undefined) this.#rows.set(k, [row, w]);
        else cur[1] += w;
        push(out, row, w);
        log.record(row, w);
      } else if (w < 0 && cur !== undefined) {
        const d = Math.min(-w, cur[1]);
        cur[1] -= d;
        if (cur[1] === 0) this.#rows.delete(k);
        push(out, cur[0], -d);
        log.record(cur[0], -d);
      }
    }
    return out;
  }

  /** Current contents (empty when the table is not stored). */
  contents(): Batch {
    const b = emptyBatch();
    for (const row of this.#byKey.values()) push(b, row, 1);
    for (const [row, w] of this.#rows.values()) push(b, row, w);
    return b;
  }

  get stored(): boolean {
    return this.#store;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return { contents: this.contents() };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#rows.clear();
    this.#byKey.clear();
    this.apply(parts);
  }

  /**
   * Adds the "contents" parts one at a time, each consolidated first (so a row's copies within a part net out):
   * O(parts). Rows whose weight drops to 0 or below are removed. With a key, a part's retractions go before its
   * insertions, so a key's `(old, -1)`/`(new, +1)` pair works in either order; a retraction removes the key's
   * row only when it is that row.
   */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const part of StatefulBase.partsOf(parts, 'contents')) {
      const b = consolidate(part);
      const n = b.rows.length;
      if (this.#pk !== null) {
        for (let i = 0; i < n; i++) {
          if ((b.weights[i] as number) >= 0) continue;
          const row = b.rows[i] as Row;
          const k = this.#key(row);
          const cur = this.#byKey.get(k);
          if (cur !== undefined && sameRow(cur, row)) this.#byKey.delete(k);
        }
        for (let i = 0; i < n; i++) {
          if ((b.weights[i] as number) <= 0) continue;
          const row = b.rows[i] as Row;
          this.#byKey.set(this.#key(row), row);
        }
        continue;
      }
      for (let i = 0; i < n; i++) {
        const row = b.rows[i] as Row;
        const k = this.#key(row);
        const cur = this.#rows.get(k);
        const w = (cur === undefined ? 0 : cur[1]) + (b.weights[i] as number);
        if (w <= 0) {
          if (cur !== undefined) this.#rows.delete(k);
        } else if (cur === undefined) this.#rows.set(k, [row, w]);
        else cur[1] = w;
      }
    }
  }
}

export const tableInput = (spec: TableInputSpec): TableInputOperator => new TableInputOperator(spec);
