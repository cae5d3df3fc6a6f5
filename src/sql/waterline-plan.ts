/**
 * Waterlines through a plan, and the state they let operators discard (Feldera's rules, docs "Time Series
 * Analysis": a waterline of a relation's column is a lower bound on that column in every later change).
 *
 * - Propagation ({@link projectWaterlines}): an output column that is an input column keeps its waterline; one
 *   that is a non-decreasing function of such a column (`Bound.monotoneOf`: `TUMBLE_START`, `TIMESTAMP_TRUNC`,
 *   `ts - INTERVAL ...`) gets the function of it. Filters and DISTINCT keep their input's; an aggregate's group
 *   key columns get their key expression's; a join's output has them only on equi-join key columns with
 *   waterlines on both sides (the smaller one: {@link joinWaterlines}), since its other columns come from
 *   stored rows of any age.
 * - Joins ({@link joinGcRules}): a pair of equi-join key columns with waterlines on both sides discards both
 *   sides' rows below the smaller of the two waterlines (Feldera's join rule, any join kind). An inner join
 *   also uses its residual's order facts (`Bound.order`): from `s.x >= f(o.y)` (or `>`; `<=`/`<` mirrored),
 *   where `s.x` is a column of one side and `f` is non-decreasing in a column `o.y` of the other side that has
 *   a waterline W, every later row of the other side has `f(o.y) >= f(W)`, so a stored row with `s.x < f(W)`
 *   can never match again (Nexmark q7's `B.date_time BETWEEN B1.date_time - INTERVAL '10' SECOND AND
 *   B1.date_time`).
 * - Partitioned operators ({@link partitionWaterlines}: top-k, OVER): the output keeps the partition keys'
 *   waterlines (window-agg-plan.ts adds the ORDER BY column's under bounded frames); SESSION keeps the key's and
 *   gives `window_end` the time column's (windows.ts); grouping sets keep those of expressions every set groups by.
 * - ASOF JOIN ({@link asofLateness}): left rows below the right operand's waterline, right rows shadowed below
 *   both operands' waterlines are discarded; the left operand's column keeps the smaller waterline.
 *
 * The getters are read at the end of an operator's step, after the LATENESS filters of the same step (sources
 * step first), so they bound the changes of later steps only, which is what discarding needs.
 *
 * State: none.
 */
import type { Circuit } from '../circuit/circuit.ts';
import { DistinctOperator, type DistinctPurge } from '../operators/distinct.ts';
import type { JoinGcRule, JoinKind } from '../operators/join.ts';
import type { Value } from '../zset/value.ts';
import type { Bound, OrderFact } from './bound.ts';
import { comparator } from './expr.ts';
import type { Rel } from './rel.ts';

export type Waterlines = ReadonlyMap<number, () => Value>;

/** The waterline getter of a bound expression over columns with `input` waterlines, if it has one. */
export function waterlineOf(b: Bound, input: Waterlines | undefined): (() => Value) | undefined {
  if (input === undefined) return undefined;
  if (b.colRef !== undefined) return input.get(b.colRef);
  const m = b.monotoneOf;
  const of = m === undefined ? undefined : input.get(m.col);
  if (m === undefined || of === undefined) return undefined;
  return () => {
    const w = of();
    return w === null ? null : m.map(w);
  };
}

/** The waterlines of a projection's output columns (undefined when none has one). */
export function projectWaterlines(
  exprs: readonly Bound[],
  input: Waterlines | undefined,
): Waterlines | undefined {
  if (input === undefined || input.size === 0) return undefined;
  const out = new Map<number, () => Value>();
  exprs.forEach((e, i) => {
    const w = waterlineOf(e, input);
    if (w !== undefined) out.set(i, w);
  });
  return out.size > 0 ? out : undefined;
}

/**
 * A join's output waterlines. A change of the join's output pairs a new (or deleted) row of one side with stored
 * rows of the other, whose columns can be arbitrarily old: only an equi-join key column pair with waterlines on
 * both sides is bounded (the two values are equal, and the changing side's is at least its waterline), by the
 * smaller of the two waterlines, in both output columns.
 */
export function joinWaterlines(
  keysL: readonly OffsetBound[],
  keysR: readonly OffsetBound[],
  leftW: Waterlines | undefined,
  rightW: Waterlines | undefined,
  lw: number,
): Waterlines | undefined {
  const out = new Map<number, () => Value>();
  keysL.forEach((kl, i) => {
    const kr = keysR[i] as OffsetBound;
    if (kl.b.colRef === undefined || kr.b.colRef === undefined) return;
    const lc = kl.b.colRef - kl.offset;
    const rc = kr.b.colRef - kr.offset;
    const wl = leftW?.get(lc);
    const wr = rightW?.get(rc);
    if (wl === undefined || wr === undefined) return;
    const below = minOf(wl, wr, comparator(kl.b.type.kind));
    out.set(lc, below);
    out.set(lw + rc, below);
  });
  return out.size > 0 ? out : undefined;
}

/** The smaller of two waterlines (null while either has none). */
function minOf(a: () => Value, b: () => Value, compare: (x: Value, y: Value) => number): () => Value {
  return () => {
    const x = a();
    const y = b();
    if (x === null || y === null) return null;
    return compare(x, y) <= 0 ? x : y;
  };
}

/** `{ waterlines }` when there are some (for spreading into a `Rel`). */
export function withWaterlines(w: Waterlines | undefined): { waterlines?: Waterlines } {
  return w === undefined || w.size === 0 ? {} : { waterlines: w };
}

/** A predicate bound over a join's columns, shifted by `offset` (the planner's `Pred`). */
export interface OffsetBound {
  readonly b: Bound;
  readonly offset: number;
}

/**
 * The join's GC rules (see the module header), or undefined. `keysL`/`keysR` are the equi-join key pairs
 * (`keysR` offsets include the left width, as the planner keeps them), `residual` the other ON/WHERE
 * conjuncts, `lw` the left width.
 */
export function joinGcRules(
  kind: JoinKind,
  keysL: readonly OffsetBound[],
  keysR: readonly OffsetBound[],
  residual: readonly OffsetBound[],
  lw: number,
  leftW: Waterlines | undefined,
  rightW: Waterlines | undefined,
): { left: JoinGcRule[]; right: JoinGcRule[] } | undefined {
  if (leftW === undefined && rightW === undefined) return undefined;
  const left: JoinGcRule[] = [];
  const right: JoinGcRule[] = [];
  keysL.forEach((kl, i) => {
    const kr = keysR[i] as OffsetBound;
    if (kl.b.colRef === undefined || kr.b.colRef === undefined) return;
    const lc = kl.b.colRef - kl.offset;
    const rc = kr.b.colRef - kr.offset;
    const wl = leftW?.get(lc);
    const wr = rightW?.get(rc);
    if (wl === undefined || wr === undefined) return;
    const compare = comparator(kl.b.type.kind);
    const below = minOf(wl, wr, compare);
    left.push({ col: lc, below, compare });
    right.push({ col: rc, below, compare });
  });
  if (kind === 'inner') {
    for (const p of residual)
      for (const f of p.b.order ?? []) {
        const rule = orderRule(f, p.offset, lw, leftW, rightW);
        if (rule !== null) (rule.left ? left : right).push(rule.rule);
      }
  }
  return left.length + right.length > 0 ? { left, right } : undefined;
}

/** The rule an order fact gives, if any: which side it discards from, and how. */
function orderRule(
  f: OrderFact,
  offset: number,
  lw: number,
  leftW: Waterlines | undefined,
  rightW: Waterlines | undefined,
): { left: boolean; rule: JoinGcRule } | null {
  // normalise to big >= small
  const [big, small] = f.op === '>' || f.op === '>=' ? [f.l, f.r] : [f.r, f.l];
  if (big.colRef === undefined || small.cols.length !== 1) return null;
  const bc = big.colRef - offset;
  const sc = (small.cols[0] as number) - offset;
  const bigLeft = bc < lw;
  if (bigLeft === sc < lw) return null; // both on one side: a filter, not a join condition
  // the small side's waterline, mapped through the small expression (over that side's local columns)
  const sideW = bigLeft ? rightW : leftW;
  const local = bigLeft ? sc - lw : sc;
  const src = sideW?.get(local);
  if (src === undefined) return null;
  let map: ((v: Value) => Value) | null = null;
  if (small.colRef !== undefined) map = (v) => v;
  else if (small.monotoneOf !== undefined && small.monotoneOf.col - offset === sc) map = small.monotoneOf.map;
  if (map === null) return null;
  const m = map;
  const compare = comparator(big.type.kind);
  const below = (): Value => {
    const w = src();
    return w === null ? null : m(w);
  };
  return { left: bigLeft, rule: { col: bigLeft ? bc : bc - lw, below, compare } };
}

/** `{ gc }` for a join spec when there are rules. */
export function withGc(gc: ReturnType<typeof joinGcRules>): {
  gc?: NonNullable<ReturnType<typeof joinGcRules>>;
} {
  return gc === undefined ? {} : { gc };
}

/**
 * SELECT DISTINCT over `rel`: a distinct whose rows are discarded below the waterline of any column that has
 * one (a row below it can never change again); the output keeps the input's waterlines.
 */
export function planDistinct(circuit: Circuit, rel: Rel): Rel {
  const purge: DistinctPurge[] = [];
  for (const [col, below] of rel.waterlines ?? []) {
    const t = rel.cols[col]?.type;
    if (t !== undefined) purge.push({ col, below, compare: comparator(t.kind) });
  }
  const node = circuit.add(new DistinctOperator(purge), [rel.node]);
  return { node, cols: rel.cols, ...withWaterlines(rel.waterlines) };
}

/**
 * `{ purge }` for a top-k or window operator partitioned by `parts` (its leading columns) when a partition key
 * has a waterline in `input` (the operator's input columns: the keys first): the first such key.
 */
export function partitionPurge(
  input: Waterlines | undefined,
  parts: readonly Bound[],
): { purge?: { key: number; below: () => Value; compare: (a: Value, b: Value) => number } } {
  for (let i = 0; i < parts.length; i++) {
    const below = input?.get(i);
    if (below !== undefined)
      return { purge: { key: i, below, compare: comparator((parts[i] as Bound).type.kind) } };
  }
  return {};
}

/**
 * The waterlines of a partitioned operator's input columns that its output keeps (top-k, OVER): the input is
 * `[k1..kp, FROM columns...]` and every change of the output lies in the partition of an input change (a row
 * pushed out of a top-k, a row whose window value moves), so only the partition keys are bounded: key i keeps
 * its waterline, and so does a FROM column that is itself a partition key (`p + column`). Other columns of a
 * re-emitted row can be arbitrarily old.
 */
export function partitionWaterlines(
  input: Waterlines | undefined,
  parts: readonly Bound[],
): Map<number, () => Value> {
  const out = new Map<number, () => Value>();
  parts.forEach((b, i) => {
    const w = input?.get(i);
    if (w === undefined) return;
    out.set(i, w);
    if (b.colRef !== undefined) {
      const same = input?.get(parts.length + b.colRef);
      if (same !== undefined) out.set(parts.length + b.colRef, same);
    }
  });
  return out;
}

/**
 * LATENESS for `l LEFT ASOF JOIN r MATCH_CONDITION (a >= b)` (`operators/asof-join.ts`): `a` over the left
 * columns, `b` over the joined columns (the right ones from `lw`), both of the comparison's type (no implicit
 * cast). The operator's `gc` — left rows below b's waterline WR, and with a's waterline WL right rows shadowed
 * below min(WL, WR) — and the output's waterline: a change of the output is a left change (a's column at least
 * WL) or a re-match of stored left rows at or above a right change (at least WR), so a's column, when it is one,
 * keeps min(WL, WR).
 */
export function asofLateness(
  a: Bound,
  b: Bound,
  lw: number,
  leftW: Waterlines | undefined,
  rightW: Waterlines | undefined,
): { gc?: { left?: () => Value; right?: () => Value }; waterlines?: Waterlines } {
  const shiftedRight =
    rightW === undefined ? undefined : new Map([...rightW].map(([i, w]) => [i + lw, w] as const));
  const wr = waterlineOf(b, shiftedRight);
  if (wr === undefined) return {};
  const wl = waterlineOf(a, leftW);
  if (wl === undefined) return { gc: { left: wr } };
  const both = minOf(wl, wr, comparator(a.type.kind));
  return {
    gc: { left: wr, right: both },
    ...(a.colRef === undefined ? {} : { waterlines: new Map([[a.colRef, both]]) }),
  };
}
