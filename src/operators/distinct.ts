/**
 * distinct: outputs each row with weight 1 while its integrated input weight is positive, and nothing
 * otherwise (SQL DISTINCT / UNION). Incrementally, a row is emitted `(r, +1)` when its weight crosses from
 * ≤ 0 to > 0 and `(r, -1)` on the way back; other changes emit nothing. State "input": the integral.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { push } from '../zset/batch.ts';
import { encodeRow, type Row } from '../zset/value.ts';
import { ZSetMap } from '../zset/zset-map.ts';
import { StatefulBase } from './stateful-base.ts';

export class DistinctOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'distinct';
  readonly arity = 1;
  readonly #integral = new ZSetMap();

  constructor() {
    super(['input']);
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const log = this.logs.input!;
    // Remember each touched row's weight before the step; emit only the net change of its presence, so a row
    // that appears and disappears within one step emits nothing and the output is consolidated.
    const before = new Map<string, [Row, number]>();
    for (let i = 0; i < b.rows.length; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      log.record(row, w);
      const k = encodeRow(row);
      const [was] = this.#integral.add(row, w, k);
      if (!before.has(k)) before.set(k, [row, was]);
    }
    const out: Batch = { rows: [], weights: [], consolidated: true };
    for (const [k, [row, was]] of before) {
      const now = this.#integral.weightOf(row, k);
      if (was <= 0 && now > 0) push(out, row, 1);
      else if (was > 0 && now <= 0) push(out, row, -1);
    }
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return { input: this.#integral.toBatch() };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#integral.clear();
    this.apply(parts);
  }

  /** Adds the parts to the integral: O(parts). */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const b of StatefulBase.partsOf(parts, 'input'))
      for (let i = 0; i < b.rows.length; i++) this.#integral.add(b.rows[i] as Row, b.weights[i] as number);
  }
}

export const distinct = (): DistinctOperator => new DistinctOperator();
