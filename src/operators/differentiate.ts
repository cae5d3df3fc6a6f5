/**
 * differentiate (DBSP's D): outputs `x_t − x_{t−1}` — turns a stream of whole relations back into a stream of
 * changes; the inverse of integrate (D(I(Δ)) = Δ). State "previous": the last input.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { append, consolidate, emptyBatch } from '../zset/batch.ts';
import { StatefulBase } from './stateful-base.ts';

export class DifferentiateOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'differentiate';
  readonly arity = 1;
  #previous: Batch = emptyBatch();

  constructor() {
    super(['previous']);
  }

  step([input]: readonly Batch[]): Batch {
    const x = input as Batch;
    const diff = emptyBatch();
    append(diff, x, 1);
    append(diff, this.#previous, -1);
    const log = this.logs.previous!;
    for (let i = 0; i < diff.rows.length; i++) log.record(diff.rows[i]!, diff.weights[i]!);
    this.#previous = x;
    return consolidate(diff);
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return { previous: consolidate(this.#previous) };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    const all = emptyBatch();
    for (const b of StatefulBase.partsOf(parts, 'previous')) append(all, b);
    this.#previous = consolidate(all);
  }
}

export const differentiate = (): DifferentiateOperator => new DifferentiateOperator();
