/**
 * map: `(row, w)` becomes `(f(row), w)` — SQL projection and computed columns. Linear and stateless. Rows that
 * become equal are not merged here; consumers that need a consolidated Z-set consolidate. An `injective` map
 * (distinct rows stay distinct, e.g. a projection that keeps every input column) keeps its input's
 * `consolidated` mark.
 */
import type { Operator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import type { Row } from '../zset/value.ts';

export class MapOperator implements Operator {
  readonly kind = 'map';
  readonly arity = 1;
  readonly #f: (row: Row) => Row;
  readonly #injective: boolean;

  constructor(f: (row: Row) => Row, injective = false) {
    this.#f = f;
    this.#injective = injective;
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const n = b.rows.length;
    const rows: Row[] = new Array(n);
    for (let i = 0; i < n; i++) rows[i] = this.#f(b.rows[i] as Row);
    return { rows, weights: b.weights.slice(), consolidated: this.#injective && b.consolidated === true };
  }
}

export const map = (f: (row: Row) => Row, injective = false): MapOperator => new MapOperator(f, injective);
