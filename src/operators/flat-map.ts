/**
 * flat-map: `(row, w)` becomes `(r, w)` for every row `r` of `f(row)` (none when `f` returns an empty list) —
 * SQL's UNNEST of a row's array or map. Linear and stateless, so it is incremental as it stands: a deleted
 * input row deletes exactly the rows it produced (`f` must be deterministic). Output is not consolidated.
 */
import type { Operator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import type { Row } from '../zset/value.ts';

export class FlatMapOperator implements Operator {
  readonly kind = 'flat-map';
  readonly arity = 1;
  readonly #f: (row: Row) => readonly Row[];

  constructor(f: (row: Row) => readonly Row[]) {
    this.#f = f;
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const rows: Row[] = [];
    const weights: number[] = [];
    for (let i = 0; i < b.rows.length; i++) {
      const w = b.weights[i] as number;
      for (const r of this.#f(b.rows[i] as Row)) {
        rows.push(r);
        weights.push(w);
      }
    }
    return { rows, weights, consolidated: false };
  }
}

export const flatMap = (f: (row: Row) => readonly Row[]): FlatMapOperator => new FlatMapOperator(f);
