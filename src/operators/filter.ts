/**
 * filter: keeps `(row, w)` when `predicate(row)` is true (SQL WHERE/HAVING: NULL counts as false).
 * Linear and stateless, so it applies to changes directly: filter(Δ) = Δ(filter).
 */
import type { Operator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import type { Row } from '../zset/value.ts';

export class FilterOperator implements Operator {
  readonly kind = 'filter';
  readonly arity = 1;
  readonly #pred: (row: Row) => boolean;

  constructor(predicate: (row: Row) => boolean) {
    this.#pred = predicate;
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const rows: Row[] = [];
    const weights: number[] = [];
    const n = b.rows.length;
    for (let i = 0; i < n; i++) {
      const r = b.rows[i] as Row;
      if (this.#pred(r)) {
        rows.push(r);
        weights.push(b.weights[i] as number);
      }
    }
    return { rows, weights };
  }
}

export const filter = (predicate: (row: Row) => boolean): FilterOperator => new FilterOperator(predicate);
