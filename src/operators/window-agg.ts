/**
 * window-agg: SQL window functions that are not ranks — aggregates `OVER (PARTITION BY ... ORDER BY ... frame)`,
 * LAG/LEAD and FIRST_VALUE/LAST_VALUE. A row of the input is `[k1..kp, rest...]` (the partition key first); every input row comes out
 * once per copy with the values of the window functions appended: `[k1..kp, rest..., f1, ..., fm]`.
 *
 * The partition's rows are kept sorted by the caller's order, ties cut by the row's encoding (so the order is
 * total: results never depend on arrival order), and `compute` maps the sorted rows (each copy separately) to
 * the appended values. Incrementally: a step updates the sorted integral of each touched partition, recomputes
 * that partition's output and emits the difference from what it emitted before. Cost per touched partition:
 * O(n · frame) for n rows (frames are evaluated directly), independent of the other partitions.
 *
 * State "input": the integral of the input (distinct rows with weights), a scan-only trace keyed by the partition
 * columns (`sorted-multiset.ts`): checkpoints write its sealed batches (and its head, frozen by the capture in
 * O(1)); the per-partition sorted arrays are a
 * cache rebuilt from it on restore. The emitted outputs are not saved: they
 * are a function of the integral (deterministic order, deterministic `compute`), so restore and apply recompute
 * them for the partitions they touch. Rows whose integral weight is ≤ 0 take no part. With `purge` (LATENESS),
 * a partition whose key is below its waterline is discarded (its emitted rows stand), see `sorted-multiset.ts`.
 * With `framePurge` (LATENESS on the ORDER BY column of RANGE frames, planned by `sql/window-agg-plan.ts`):
 * rows whose order column is below its `below()` are no longer in any frame whose value can change, so they
 * leave each partition (a closed prefix, `sorted-multiset.ts`); what was emitted for them stands.
 *
 * Invariant: a partition's `emitted` map is exactly the net output this operator has produced for it, except,
 * after a frame purge, for rows whose values can never change again (their frames lost rows below the line):
 * `emitted` holds their values recomputed over the rows kept, which every later step computes alike, so they
 * are never emitted again; restore and warm apply recompute the same from the same rows.
 */
import type { Operator, StatefulOperator } from '../circuit/operator.ts';
import { encodeRow, type Row, type Value } from '../zset/value.ts';
import {
  type GroupOutput,
  type GroupPurge,
  type PrefixPurge,
  type SortedEntry,
  SortedGroupsOperator,
} from './sorted-multiset.ts';

export interface WindowAggSpec {
  readonly keyCount: number;
  /** Orders two rows of a partition (negative, zero, positive); ties are broken by the row encoding. */
  readonly compare: (a: Row, b: Row) => number;
  /** The appended values for each row of a sorted partition (one entry per row, same order). */
  readonly compute: (rows: readonly Row[]) => Value[][];
  /** LATENESS: discard partitions whose key is below its waterline (`sorted-multiset.ts`). */
  readonly purge?: GroupPurge;
  /** LATENESS: discard each partition's leading rows whose `column` is below `below()` (see the header). */
  readonly framePurge?: PrefixPurge & { readonly column: number };
}

export class WindowAggOperator extends SortedGroupsOperator implements StatefulOperator, Operator {
  readonly kind = 'window-agg';
  readonly #spec: WindowAggSpec;

  constructor(spec: WindowAggSpec) {
    super(spec.keyCount, spec.compare, spec.purge, spec.framePurge);
    this.#spec = spec;
  }

  /** The leading rows whose order column is below `wl` (a NULL one stops the count: it is never late). */
  protected override closedPrefix(sorted: readonly SortedEntry[], wl: Value): number {
    const p = this.#spec.framePurge;
    if (p === undefined) return 0;
    let n = 0;
    for (const e of sorted) {
      const v = e.row[p.column] as Value;
      if (v === null || p.compare(v, wl) >= 0) break;
      n++;
    }
    return n;
  }

  /** Every row of the partition, once per copy, with the window functions' values appended. */
  protected output(sorted: readonly SortedEntry[]): GroupOutput {
    const rows: Row[] = [];
    for (const e of sorted) for (let k = 0; k < e.weight; k++) rows.push(e.row);
    const values = this.#spec.compute(rows);
    const out: GroupOutput = new Map();
    rows.forEach((r, i) => {
      const x = [...r, ...(values[i] as Value[])];
      const enc = encodeRow(x);
      const prev = out.get(enc);
      if (prev) prev[1]++;
      else out.set(enc, [x, 1]);
    });
    return out;
  }
}

export const windowAgg = (spec: WindowAggSpec): WindowAggOperator => new WindowAggOperator(spec);
