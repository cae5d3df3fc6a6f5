/**
 * The operator contract. An operator turns one step's input changes (one batch per input stream) into its output
 * change. Linear operators (filter, map, union) keep no state; stateful ones (join, aggregate, distinct, ...)
 * keep integrals of their inputs.
 *
 * Persistence contract for stateful operators (what checkpoints build on):
 * - state is a set of named Z-sets ("state batches"); `snapshot()` returns all of them;
 * - with change tracking on, `takeDelta()` returns what was added to each since the last `snapshot()` or
 *   `takeDelta()` (so a checkpoint writes only the change);
 * - `restore(parts)` rebuilds the operator from any list of batches per name whose sum is the state (a full
 *   snapshot, or a base plus deltas). Restore → continue gives the same outputs as never stopping.
 */
import type { Batch } from '../zset/batch.ts';

export type StateBatches = Record<string, Batch>;

export interface Operator {
  /** Short kind name (`join`, `filter`, ...) for plans, profiles and state manifests. */
  readonly kind: string;
  readonly arity: number;
  step(inputs: readonly Batch[]): Batch;
}

export interface StatefulOperator extends Operator {
  readonly stateful: true;
  snapshot(): StateBatches;
  restore(parts: Record<string, readonly Batch[]>): void;
  trackChanges(on: boolean): void;
  takeDelta(): StateBatches;
}

export function isStateful(op: Operator): op is StatefulOperator {
  return (op as Partial<StatefulOperator>).stateful === true;
}
