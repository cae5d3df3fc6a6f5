/**
 * Aggregates over a one-row cross join, planned below the join: `GROUP BY` over `SELECT exprs FROM base CROSS
 * JOIN one`, where `one` always holds exactly one row (a global aggregate — the shape `NOW()` takes once
 * decorrelated, `now-clock.ts`: every row of `base` joined with the clock's row; see {@link Rel.lifted}).
 *
 * Planned as written, a change of `one` (each clock tick) retracts and re-inserts every row of `base` through the
 * join, and the aggregate regroups them all: a step costs O(|base|) whenever the clock moves, so a run slows
 * down as the table grows (Nexmark q12 groups every bid by bidder and by a window of `NOW()`). When every
 * aggregate argument reads only `base`'s columns and every group key reads either only `base`'s or only `one`'s,
 * the same relation is `Agg(base) × one`: the aggregate groups `base`'s rows by the keys that read `base` (the
 * keys that read `one` are NULL in its input), and a cross join with `one`'s row mapped to those keys' values
 * (consolidated) fills them in. A clock tick then costs one change per group, and nothing when the keys' values
 * stay as they were (a tick within the same window). Equal results: `one` holds exactly one row at every step, so
 * grouping `base × one` by (x-keys, c-keys) puts in each group exactly the rows of `base` of one x-key, with
 * the c-keys' single value; the aggregate's key columns (and so its state's layout and the functions' argument
 * positions) are unchanged.
 *
 * State: none here (the plan's aggregate and join own theirs). Invariant: used only when the input relation is
 * `lifted` and the analysis above holds; otherwise the planner plans the aggregate over the join as before.
 */
import type { Circuit, NodeId } from '../circuit/circuit.ts';
import { AggregateOperator, type AggregateSpec } from '../operators/aggregate.ts';
import { JoinOperator } from '../operators/join.ts';
import { MapOperator } from '../operators/map.ts';
import { encodeRow, type Row, type Value } from '../zset/value.ts';
import { type Bound, type Ev, type EvalCtx, joinCtx } from './bound.ts';
import type { Rel } from './rel.ts';

const NO_ROW: Row = [];

/** What {@link liftAggregate} found: how to compute the aggregate's input from `base` and its c-keys from `one`. */
export interface AggregateLift {
  readonly base: Rel;
  readonly one: Rel;
  /** Per aggregate input column (keys, then arguments): its value from a row of `base`, or null for a c-key. */
  readonly fromBase: ReadonlyArray<Ev | null>;
  /** Per group key: its value from `one`'s row (a c-key), or null (an x-key). */
  readonly fromOne: ReadonlyArray<Ev | null>;
  /** The lifted relation's waterlines on the columns that read only `base` (for the aggregate's purge). */
  readonly waterlines: ReadonlyMap<number, () => Value> | undefined;
  /** The cross join's node, which the aggregate no longer reads (retired once nothing else does). */
  readonly bypassed: NodeId;
}

/**
 * Whether the aggregate with input columns `pre` (its `keyCount` group keys, then its arguments; bound over
 * `rel`'s columns) can be planned below `rel`'s one-row cross join, and how; null when it cannot.
 */
export function liftAggregate(rel: Rel, pre: readonly Bound[], keyCount: number): AggregateLift | null {
  const lifted = rel.lifted;
  if (lifted === undefined) return null;
  const bw = lifted.base.cols.length;
  const side = lifted.exprs.map((e) =>
    e.cols.every((c) => c < bw) ? 'base' : e.cols.every((c) => c >= bw) ? 'one' : 'both',
  );
  const evs = lifted.exprs.map((e) => e.gen(joinCtx(bw)));
  const ctx = (from: 'base' | 'one'): EvalCtx => ({
    col: (i) => {
      const ev = evs[i] as Ev;
      return from === 'base' ? (a) => ev(a, NO_ROW) : (a) => ev(NO_ROW, a);
    },
  });
  const baseCtx = ctx('base');
  const oneCtx = ctx('one');
  const fromBase: Array<Ev | null> = [];
  const fromOne: Array<Ev | null> = [];
  for (let i = 0; i < pre.length; i++) {
    const p = pre[i] as Bound;
    if (p.cols.every((c) => side[c] === 'base')) {
      fromBase.push(p.gen(baseCtx));
      if (i < keyCount) fromOne.push(null);
    } else if (i < keyCount && p.cols.every((c) => side[c] === 'one')) {
      fromBase.push(null);
      fromOne.push(p.gen(oneCtx));
    } else return null;
  }
  const w = rel.waterlines;
  const waterlines = w === undefined ? undefined : new Map([...w].filter(([i]) => side[i] === 'base'));
  return { base: lifted.base, one: lifted.one, fromBase, fromOne, waterlines, bypassed: rel.node };
}

/**
 * The aggregate over `lift.base` (input columns computed from its rows, c-keys NULL), then, when there are
 * c-keys, the cross join with `lift.one` that fills them in; returns the node whose rows are the aggregate's
 * output over the lifted relation.
 */
export function planLiftedAggregate(circuit: Circuit, lift: AggregateLift, options: AggregateSpec): NodeId {
  const fromBase = lift.fromBase;
  const input = circuit.add(
    new MapOperator((r: Row) => {
      const out = new Array<Value>(fromBase.length);
      for (let i = 0; i < fromBase.length; i++) {
        const ev = fromBase[i];
        out[i] = ev === null || ev === undefined ? null : ev(r, r);
      }
      return out;
    }),
    [lift.base.node],
  );
  const agg = circuit.add(new AggregateOperator(options), [input]);
  const fill = lift.fromOne.flatMap((ev, k) => (ev === null ? [] : [[k, ev] as const]));
  if (fill.length === 0) return agg;
  const width = options.keyCount + options.functions.length;
  // `one`'s row mapped to the c-keys' values, consolidated: a clock tick that leaves them as they were (a new
  // second in the same 10 s window) cancels here and costs the join nothing
  const keys = circuit.add(new MapOperator((r: Row) => fill.map(([, ev]) => ev(r, r)), false, true), [
    lift.one.node,
  ]);
  return circuit.add(
    new JoinOperator({
      kind: 'inner',
      leftKey: () => 0,
      rightKey: () => 0,
      leftId: (r) => encodeRow(r),
      rightId: (r) => encodeRow(r),
      residual: null,
      combine: (l, r) => {
        const out = l.slice();
        for (let j = 0; j < fill.length; j++) out[(fill[j] as readonly [number, Ev])[0]] = r[j] as Value;
        return out;
      },
      leftWidth: width,
      rightWidth: fill.length,
    }),
    [agg, keys],
  );
}
