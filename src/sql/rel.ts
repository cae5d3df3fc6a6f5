/** A planned relation: its node in the circuit and its columns (shared by the planner and its helpers). */
import type { NodeId } from '../circuit/circuit.ts';
import type { Value } from '../zset/value.ts';
import type { Bound, ScopeColumn } from './bound.ts';

/** A planned relation: a circuit node and its columns. */
export interface Rel {
  readonly node: NodeId;
  readonly cols: readonly ScopeColumn[];
  /** Columns that identify a row uniquely (a table's primary key), if known. */
  readonly unique?: readonly number[];
  /**
   * LATENESS: column index → the column's current waterline, a lower bound on its value in every row of later
   * steps (null while there is none). Set for a table's or view's LATENESS columns, carried by the window
   * table functions and propagated through the plan (`waterline-plan.ts`); aggregates, joins, DISTINCT, ranking,
   * OVER and SESSION use it to discard state that can no longer change, `emit_final` to find final rows.
   */
  readonly waterlines?: ReadonlyMap<number, () => Value>;
  /** Set when the relation is known to hold exactly one row at every step (a global aggregate without HAVING). */
  readonly oneRow?: boolean;
  /**
   * Set when this relation is `SELECT exprs FROM base CROSS JOIN one` with `one` a {@link oneRow} relation (the
   * shape `NOW()` takes once decorrelated: every row of `base` joined with the clock's row): `exprs` are bound
   * over `base`'s columns followed by `one`'s. An aggregate over it whose arguments read only `base` is planned
   * below the cross join (`clock-lift.ts`), so a change of `one` (a clock tick) costs one change per group
   * instead of re-emitting every row of `base`.
   */
  readonly lifted?: { readonly base: Rel; readonly one: Rel; readonly exprs: readonly Bound[] };
}
