/**
 * constant: a relation with fixed contents (SQL `SELECT` without FROM, `VALUES`). Emits `(row, w)` for each of
 * its rows at the first step and nothing afterwards. State "meta": whether the first step has happened.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import type { Row } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

export class ConstantOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'constant';
  readonly arity = 0;
  readonly #rows: readonly Row[];
  #emitted = false;

  constructor(rows: readonly Row[]) {
    super(['meta']);
    this.#rows = rows;
  }

  step(): Batch {
    if (this.#emitted) return emptyBatch();
    this.#emitted = true;
    this.logs.meta!.record([true], 1);
    const b = emptyBatch();
    for (const r of this.#rows) push(b, r, 1);
    return b;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    const meta = emptyBatch();
    if (this.#emitted) push(meta, [true], 1);
    return { meta };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#emitted = false;
    this.apply(parts);
  }

  /** A non-empty "meta" part means the rows were emitted (meta is never retracted). */
  apply(parts: Record<string, readonly Batch[]>): void {
    if (StatefulBase.partsOf(parts, 'meta').some((b) => b.rows.length > 0)) this.#emitted = true;
  }
}

export const constant = (rows: readonly Row[]): ConstantOperator => new ConstantOperator(rows);
