/**
 * flat-map: `(row, w)` becomes `(r, w)` for every row r of `f(row)` (zero or more) — e.g. HOP windows, where
 * one input row belongs to several windows. Linear and stateless; the output is not consolidated.
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
    return { rows, weights };
  }
}

export const flatMap = (f: (row: Row) => readonly Row[]): FlatMapOperator => new FlatMapOperator(f);
