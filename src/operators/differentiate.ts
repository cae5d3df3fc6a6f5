/**
 * differentiate (DBSP's D): outputs `x_t − x_{t−1}` — turns a stream of whole relations back into a stream of
 * changes; the inverse of integrate (D(I(Δ)) = Δ). State "previous": the last input.
 *
 * `apply` (warm standby) appends the parts to a pending batch that the next step subtracts along with the last
 * input, so it costs O(parts), amortized: the pending batch is folded into the last input once it outgrows it
 * (and on `snapshot()`), which keeps memory bounded when many parts arrive without a step.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { append, consolidate, emptyBatch } from '../zset/batch.ts';
import { StatefulBase } from './stateful-base.ts';

export class DifferentiateOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'differentiate';
  readonly arity = 1;
  /** The last input (may be the caller's batch: never mutated). */
  #previous: Batch = emptyBatch();
  /** Parts added by `apply` since, not yet folded into `#previous` (owned; the state is their sum). */
  #added: Batch | null = null;

  constructor() {
    super(['previous']);
  }

  step([input]: readonly Batch[]): Batch {
    const x = input as Batch;
    const diff = emptyBatch();
    append(diff, x, 1);
    append(diff, this.#previous, -1);
    if (this.#added !== null) append(diff, this.#added, -1);
    const log = this.logs.previous!;
    for (let i = 0; i < diff.rows.length; i++) log.record(diff.rows[i]!, diff.weights[i]!);
    this.#previous = x;
    this.#added = null;
    return consolidate(diff);
  }

  #fold(): void {
    if (this.#added === null) return;
    const all = emptyBatch();
    append(all, this.#previous);
    append(all, this.#added);
    this.#previous = consolidate(all);
    this.#added = null;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    this.#fold();
    return { previous: consolidate(this.#previous) };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#previous = emptyBatch();
    this.#added = null;
    this.apply(parts);
  }

  apply(parts: Record<string, readonly Batch[]>): void {
    for (const b of StatefulBase.partsOf(parts, 'previous')) {
      if (b.rows.length === 0) continue;
      append((this.#added ??= emptyBatch()), b);
    }
    if (this.#added !== null && this.#added.rows.length > 2 * this.#previous.rows.length + 1024) this.#fold();
  }
}

export const differentiate = (): DifferentiateOperator => new DifferentiateOperator();
