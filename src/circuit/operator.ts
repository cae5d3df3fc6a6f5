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
 * - `apply(parts)` adds such lists to the current state (a warm standby applying each new checkpoint's deltas).
 *   For any lists P and Q, `restore(P ++ Q)` and `restore(P); apply(Q)` leave the operator in the same state
 *   (same `snapshot()` up to consolidation and order, same outputs on later steps). Every operator implements
 *   `restore` as "clear, then `apply`", and `apply` as a fold over each state's parts in order (each part as a
 *   unit: rows within a part may come in any order), so both run the same updates on each state; updates of
 *   different states commute. Hence the parts of different states need not come from the same checkpoint, but
 *   each state's parts must come in order, each a change of the sum of the ones before (as a checkpoint's
 *   segment lists are), for the state to be their sum.
 *   Cost: proportional to the parts applied (and the keys they touch), not to the state, except where an
 *   operator documents otherwise. Neither `restore` nor `apply` records into the change logs: what they add
 *   is already in a checkpoint.
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
  /** Adds `parts` (lists of batches per state name) to the current state; see the header. */
  apply(parts: Record<string, readonly Batch[]>): void;
  /**
   * Optional: builds ahead what the next `apply` or step would build lazily on its first lookups (lookup
   * structures of restored batches) and runs its lookup path once, so that a warm standby's activation does not
   * wait for it. Never changes the state, the outputs or the change logs.
   */
  prepare?(): void;
  trackChanges(on: boolean): void;
  takeDelta(): StateBatches;
  /**
   * Optional: whether the changes tracked since the last `snapshot()`/`takeDelta()` outgrew what a delta should
   * hold (`circuit/change-log.ts`, `OVERFLOW_AT`); `takeDelta()` then throws, and the caller takes a snapshot.
   */
  changesOverflowed?(): boolean;
}

export function isStateful(op: Operator): op is StatefulOperator {
  return (op as Partial<StatefulOperator>).stateful === true;
}
