/** A planned relation: its node in the circuit and its columns (shared by the planner and its helpers). */
import type { NodeId } from '../circuit/circuit.ts';
import type { ScopeColumn } from './bound.ts';

/** A planned relation: a circuit node and its columns. */
export interface Rel {
  readonly node: NodeId;
  readonly cols: readonly ScopeColumn[];
  /** Columns that identify a row uniquely (a table's primary key), if known. */
  readonly unique?: readonly number[];
}
