/**
 * map: `(row, w)` becomes `(f(row), w)` — SQL projection and computed columns. Linear and stateless. Rows that
 * become equal are not merged here; consumers that need a consolidated Z-set consolidate. An `injective` map
 * (distinct rows stay distinct, e.g. a projection that keeps every input column) keeps its input's
 * `consolidated` mark. A `consolidating` map merges the rows that become equal (weights summed, zeros dropped): for a
 * tiny relation whose changes often cancel once mapped (a clock's row mapped to its window, `sql/clock-lift.ts`).
 */
import type { Operator } from '../circuit/operator.ts';
import { type Batch, consolidate } from '../zset/batch.ts';
import type { Row } from '../zset/value.ts';

export class MapOperator implements Operator {
  readonly kind = 'map';
  readonly arity = 1;
  readonly #f: (row: Row) => Row;
  readonly #injective: boolean;
  readonly #consolidating: boolean;

  constructor(f: (row: Row) => Row, injective = false, consolidating = false) {
    this.#f = f;
    this.#injective = injective;
    this.#consolidating = consolidating;
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const n = b.rows.length;
    const rows: Row[] = new Array(n);
    for (let i = 0; i < n; i++) rows[i] = this.#f(b.rows[i] as Row);
    const out = {
      rows,
      weights: b.weights.slice(),
      consolidated: this.#injective && b.consolidated === true,
    };
    return this.#consolidating ? consolidate(out) : out;
  }
}

export const map = (f: (row: Row) => Row, injective = false): MapOperator => new MapOperator(f, injective);
