/**
 * Window aggregates and LAG/LEAD in a select list — `SUM(x) OVER (PARTITION BY ... ORDER BY ... [frame])`,
 * COUNT/MIN/MAX/AVG/... likewise, `LAG(x [, k [, default]]) OVER (...)`, `LEAD(...)`, `FIRST_VALUE(x)`,
 * `LAST_VALUE(x)` (x at the partition's first / last row in that order; only the frames where that is the
 * frame's first / last row, see `checkEndFrame`) — planned onto the
 * window-agg operator (`operators/window-agg.ts`). All calls of one SELECT must share PARTITION BY and ORDER BY
 * (frames may differ).
 *
 * Frames follow SQL: without ORDER BY the whole partition; with ORDER BY and no frame `RANGE BETWEEN UNBOUNDED
 * PRECEDING AND CURRENT ROW` (peers included); `ROWS BETWEEN n PRECEDING AND m FOLLOWING`, `UNBOUNDED`,
 * `CURRENT ROW`; `RANGE BETWEEN <offset> PRECEDING AND ...` on one numeric, DATE or TIMESTAMP key (an interval
 * offset for the temporal ones). Aggregates compute exactly as in GROUP BY (`aggregates.ts`). ORDER BY uses
 * Feldera's NULL order (NULL smallest); rows with equal keys are ordered by their whole value, so ROWS frames
 * and LAG/LEAD never depend on arrival order (nor FIRST_VALUE/LAST_VALUE: the first of tied rows is the one whose
 * whole row sorts first); without ORDER BY, LAG/LEAD order the partition by the calls' first arguments
 * (ascending, NULL first, as Feldera does), then by the whole row, and FIRST_VALUE(x) / LAST_VALUE(x) are x's
 * smallest (NULL first) / largest value.
 *
 * LATENESS (Feldera's rolling-aggregate rules): a partition key with a waterline discards the partitions below it
 * and keeps its waterline in the output (a change stays in its partition). With a waterline W on the first ORDER
 * BY key — a plain, NOT NULL, ascending column of a numeric, DATE or TIMESTAMP type — each call bounds which rows a
 * change at t ≥ W can move (`lag`: rows at or after t − lag; ROWS/RANGE frames ending at CURRENT ROW or PRECEDING,
 * LAG: 0; RANGE ... n FOLLOWING: n; LEAD and UNBOUNDED FOLLOWING: no bound) and how far back a row's value reads
 * (`reach`: RANGE frames starting n PRECEDING: n, at CURRENT ROW: 0). When every call has a `lag`, the order column
 * keeps the waterline W − max lag in the output; when every call also has a `reach`, rows below
 * W − max lag − max reach can no longer be in a frame whose value changes, and the operator discards them.
 *
 * State: none here.
 */
import type { Circuit, NodeId } from '../circuit/circuit.ts';
import { MapOperator } from '../operators/map.ts';
import { WindowAggOperator } from '../operators/window-agg.ts';
import type { Row, Value } from '../zset/value.ts';
import {
  AGGREGATE_ALIASES,
  type AggregateName,
  makeAggregate,
  TWO_ARGUMENT_AGGREGATES,
} from './aggregates.ts';
import {
  AGGREGATE_NAMES,
  type Ast,
  astKey,
  type BindContext,
  type Bound,
  bindExpr,
  coerce,
  columnRef,
  comparator,
  type ScopeColumn,
  sqlError,
} from './expr.ts';
import type { SourceMap } from './parse.ts';
import { compareByKeys, sortKey } from './sort-keys.ts';
import { type SqlType, withNullable } from './sql-type.ts';
import { aggregateType } from './types-rules.ts';
import { USECS_PER_DAY } from './values/temporal.ts';
import {
  partitionPurge,
  partitionWaterlines,
  projectWaterlines,
  type Waterlines,
  withWaterlines,
} from './waterline-plan.ts';
import { overCalls } from './window-rank.ts';

/** A planned relation (the shape of planner.ts's `Rel`, declared here so the import graph stays acyclic). */
interface Rel {
  readonly node: NodeId;
  readonly cols: readonly ScopeColumn[];
  /** LATENESS waterlines by column (see planner.ts's `Rel`). */
  readonly waterlines?: ReadonlyMap<number, () => Value>;
}

const F = {
  RANGE: 0x2,
  ROWS: 0x4,
  GROUPS: 0x8,
  START_UNBOUNDED_PRECEDING: 0x20,
  END_UNBOUNDED_FOLLOWING: 0x100,
  START_CURRENT_ROW: 0x200,
  END_CURRENT_ROW: 0x400,
  START_OFFSET_PRECEDING: 0x800,
  END_OFFSET_PRECEDING: 0x1000,
  START_OFFSET_FOLLOWING: 0x2000,
  END_OFFSET_FOLLOWING: 0x4000,
  EXCLUDE: 0x8000 | 0x10000 | 0x20000,
};

export interface WindowAggContext {
  readonly circuit: Circuit;
  readonly source: SourceMap;
  readonly materialize: (exprs: Bound[]) => Rel;
}

/** Window functions planned here besides the aggregates. */
const VALUE_FUNCTIONS: ReadonlySet<string> = new Set(['lag', 'lead', 'first_value', 'last_value']);

/** True when the calls are window functions this module plans (aggregates, LAG, LEAD, FIRST_VALUE, LAST_VALUE). */
export function isWindowAggCall(call: Ast): boolean {
  const fc = call.FuncCall;
  const name = String(fc.funcname[fc.funcname.length - 1].String.sval).toLowerCase();
  return AGGREGATE_NAMES.has(name) || VALUE_FUNCTIONS.has(name);
}

type Fn = (rows: readonly Row[], i: number, lo: number, hi: number) => Value;

export function planWindowAggs(
  targets: ReadonlyArray<{ name: string; ast: Ast | null }>,
  fromCols: readonly ScopeColumn[],
  c: WindowAggContext,
): { rel: Rel; cols: ScopeColumn[] } {
  const scope: BindContext = { columns: fromCols, source: c.source, clause: 'OVER' };
  const unique = new Map<string, Ast>();
  for (const t of targets) for (const x of t.ast ? overCalls(t.ast) : []) unique.set(astKey(x), x);
  const calls = [...unique.values()];
  const first = (calls[0] as Ast).FuncCall;
  const spec = (x: Ast) => astKey([x.FuncCall.over.partitionClause ?? [], x.FuncCall.over.orderClause ?? []]);
  for (const x of calls) {
    if (x.FuncCall.over.refname || x.FuncCall.over.name)
      throw sqlError(
        'SqlUnsupported',
        'named windows (WINDOW w AS ...) are not supported',
        scope,
        x.FuncCall.location,
        {
          construct: 'WINDOW',
        },
      );
    if (spec(x) !== spec(calls[0] as Ast))
      throw sqlError(
        'SqlUnsupported',
        'window functions of one SELECT must share PARTITION BY and ORDER BY; compute the others in another view',
        scope,
        x.FuncCall.location,
        { construct: 'OVER' },
      );
  }
  const w = first.over;
  const parts = ((w.partitionClause ?? []) as Ast[]).map((a) => bindExpr(a, scope));
  const p = parts.length;
  const input = c.materialize([...parts, ...fromCols.map((col, i) => columnRef(i, col.type))]);
  const shifted = { col: (i: number) => (a: Row) => a[i + p] as Value };
  const orders = ((w.orderClause ?? []) as Ast[]).map((s) => {
    const sb = s.SortBy;
    const b = bindExpr(sb.node, scope);
    return { b, ...sortKey(sb, b, shifted) };
  });
  // Without ORDER BY the frame is the whole partition; LAG/LEAD (and ROWS frames) still need an order: the calls'
  // first arguments ascending, NULL first (what Feldera gives), then the whole row
  const implicit = calls.flatMap((x) => {
    const a = ((x.FuncCall.args ?? []) as Ast[])[0];
    if (a === undefined || orders.length > 0) return [];
    const b = bindExpr(a, scope);
    return [
      { b, ...sortKey({ sortby_dir: 'SORTBY_DEFAULT', sortby_nulls: 'SORTBY_NULLS_DEFAULT' }, b, shifted) },
    ];
  });
  const compare = compareByKeys(orders.length > 0 ? orders : implicit);

  const fns: Fn[] = [];
  const frames: Array<(rows: readonly Row[], i: number) => [number, number]> = [];
  const types: SqlType[] = [];
  const extents: Extent[] = [];
  for (const call of calls) {
    const fc = call.FuncCall;
    const raw = String(fc.funcname[fc.funcname.length - 1].String.sval).toLowerCase();
    const shown = raw.toUpperCase();
    const args = ((fc.args ?? []) as Ast[]).map((a) => bindExpr(a, scope));
    if (fc.agg_distinct || fc.agg_filter || fc.agg_order)
      throw sqlError(
        'SqlUnsupported',
        `${shown}(DISTINCT/FILTER/ORDER BY ...) OVER is not supported`,
        scope,
        fc.location,
        {
          construct: 'OVER',
        },
      );
    if (raw === 'lag' || raw === 'lead') {
      if (args.length < 1 || args.length > 3)
        throw sqlError('SqlTypeError', `${shown} takes 1 to 3 arguments`, scope, fc.location);
      const x = args[0] as Bound;
      const kArg = args[1];
      const k = kArg === undefined ? 1 : kArg.literal?.value;
      if (typeof k !== 'number' || !Number.isInteger(k) || k < 0)
        throw sqlError(
          'SqlTypeError',
          `${shown}'s offset must be a non-negative integer constant`,
          scope,
          fc.location,
        );
      const t = withNullable(x.type, true);
      const dflt = args[2] === undefined ? null : coerce(args[2], t, scope, fc.location, shown);
      const ex = x.gen(shifted);
      const ed = dflt === null ? null : dflt.gen(shifted);
      const sign = raw === 'lag' ? -1 : 1;
      fns.push((rows, i) => {
        const j = i + sign * k;
        const r = rows[i] as Row;
        if (j < 0 || j >= rows.length) return ed === null ? null : ed(r, r);
        const o = rows[j] as Row;
        return ex(o, o);
      });
      frames.push((_rows, i) => [i, i]);
      // a new row changes LAG of the rows after it only; LEAD of rows before it, arbitrarily old
      extents.push({ reach: undefined, lag: raw === 'lag' ? 0 : undefined });
      types.push(t);
      continue;
    }
    if (raw === 'first_value' || raw === 'last_value') {
      if (args.length !== 1)
        throw sqlError('SqlTypeError', `${shown} takes exactly one argument`, scope, fc.location);
      const last = raw === 'last_value';
      // frameOf first: it refuses GROUPS and EXCLUDE and gives the extent (for LATENESS)
      const f = frameOf(fc, orders, scope);
      checkEndFrame(fc, last, orders.length > 0, scope);
      const x = args[0] as Bound;
      const ex = x.gen(shifted);
      // the frame's first (last) row is the partition's: no frame to evaluate
      if (orders.length > 0)
        fns.push((rows) => {
          const r = rows[last ? rows.length - 1 : 0] as Row;
          return ex(r, r);
        });
      else {
        // without ORDER BY: x's own smallest (largest) value, NULL first — whatever the other calls' arguments
        // (the partition's implicit order starts with the first call's); scanned once per partition
        const byX = compareByKeys([
          sortKey({ sortby_dir: 'SORTBY_DEFAULT', sortby_nulls: 'SORTBY_NULLS_DEFAULT' }, x, shifted),
        ]);
        let seen: readonly Row[] | undefined;
        let value: Value = null;
        fns.push((rows) => {
          if (rows !== seen) {
            let best = rows[0] as Row;
            for (const r of rows) if ((last ? byX(r, best) : byX(best, r)) > 0) best = r;
            seen = rows;
            value = ex(best, best);
          }
          return value;
        });
      }
      frames.push((rows) => [0, rows.length - 1]);
      extents.push(f.extent);
      types.push(withNullable((args[0] as Bound).type, true));
      continue;
    }
    const name = (AGGREGATE_ALIASES[raw] ?? raw) as AggregateName;
    const arity = name === 'arg_min' || name === 'arg_max' || TWO_ARGUMENT_AGGREGATES.has(name) ? 2 : 1;
    if (!fc.agg_star && args.length !== arity)
      throw sqlError(
        'SqlTypeError',
        `${shown} takes exactly ${arity === 1 ? 'one argument' : 'two arguments'}`,
        scope,
        fc.location,
      );
    if (!fc.agg_star && args.some((a) => a.type.kind === 'NULL'))
      throw sqlError(
        'SqlTypeError',
        `an argument of ${shown} has the NULL type; cast it to a type`,
        scope,
        fc.location,
      );
    let result: SqlType;
    try {
      result = aggregateType(name, shown, fc.agg_star ? [] : args.map((a) => a.type));
    } catch (e) {
      throw sqlError('SqlTypeError', (e as Error).message, scope, fc.location);
    }
    const evs = args.map((a) => a.gen(shifted));
    const second = args.length === 2 ? { column: 1, type: (args[1] as Bound).type } : undefined;
    const agg = makeAggregate(
      name,
      fc.agg_star ? -1 : 0,
      fc.agg_star ? null : (args[0] as Bound).type,
      false,
      second ? { second } : {},
    );
    fns.push((rows, _i, lo, hi) => {
      const acc = agg.create();
      for (let j = lo; j <= hi; j++) {
        const r = rows[j] as Row;
        const vals = evs.map((e) => e(r, r));
        const v = agg.extra ? agg.extra.combine(vals) : fc.agg_star ? null : (vals[0] as Value);
        acc.add(v, 1);
      }
      return acc.result();
    });
    const f = frameOf(fc, orders, scope);
    frames.push(f.frame);
    extents.push(f.extent);
    types.push(withNullable(result, name !== 'count'));
  }

  const late = orderLateness(input.waterlines, parts, orders, extents);
  const node = c.circuit.add(
    new WindowAggOperator({
      keyCount: p,
      compare,
      ...partitionPurge(input.waterlines, parts),
      ...(late.framePurge === undefined ? {} : { framePurge: late.framePurge }),
      compute: (rows) =>
        rows.map((_r, i) =>
          fns.map((f, k) => {
            const [lo, hi] = (frames[k] as (rows: readonly Row[], i: number) => [number, number])(rows, i);
            return f(rows, i, Math.max(lo, 0), Math.min(hi, rows.length - 1));
          }),
        ),
    }),
    [input.node],
  );
  // the select list over [partition keys, FROM columns, window values]
  const keys = calls.map((x) => astKey(x));
  const cols: ScopeColumn[] = [
    ...parts.map((b, i) => ({ qualifier: null, name: `__part${i}`, type: b.type })),
    ...fromCols,
    ...types.map((t, i) => ({ qualifier: null, name: `__win${i}`, type: t })),
  ];
  const replaced = targets.map((t) => (t.ast ? replaceCalls(t.ast, keys) : t.ast));
  const exprs = replaced.map((a) =>
    bindExpr(a, { columns: cols, source: c.source, clause: 'the select list' }),
  );
  const evs = exprs.map((e) => e.gen({ col: (i) => (a: Row) => a[i] as Value }));
  const out = c.circuit.add(new MapOperator((r) => evs.map((e) => e(r, r))), [node]);
  return {
    rel: { node: out, cols: [], ...withWaterlines(projectWaterlines(exprs, late.waterlines)) },
    cols: targets.map((t, i) => ({ qualifier: null, name: t.name, type: (exprs[i] as Bound).type })),
  };
}

/**
 * How far a call's values reach along the first ORDER BY key, in its unit (for LATENESS): `reach` — a row's
 * value depends only on rows whose key is at least its own minus `reach` (RANGE frames with a bounded start);
 * `lag` — a change at key t changes only the values of rows whose key is at least `t − lag`. Undefined: no bound.
 */
interface Extent {
  readonly reach: number | undefined;
  readonly lag: number | undefined;
}

/** The frame of a call as [lo, hi] row indices (possibly out of range; the caller clamps), and its extent. */
function frameOf(
  fc: Ast,
  orders: ReadonlyArray<{ b: Bound; ev: (a: Row, b: Row) => Value; desc: boolean }>,
  scope: BindContext,
): { frame: (rows: readonly Row[], i: number) => [number, number]; extent: Extent } {
  const w = fc.over;
  let o = (w.frameOptions ?? 0) as number;
  if (orders.length === 0)
    return { frame: (rows) => [0, rows.length - 1], extent: { reach: undefined, lag: undefined } };
  if ((o & 1) === 0) o = F.RANGE | F.START_UNBOUNDED_PRECEDING | F.END_CURRENT_ROW;
  if (o & (F.GROUPS | F.EXCLUDE))
    throw sqlError('SqlUnsupported', 'GROUPS frames and EXCLUDE are not supported', scope, fc.location, {
      construct: 'frame',
    });
  const rowsMode = (o & F.ROWS) !== 0;
  const offset = (a: Ast | undefined): number => {
    if (a === undefined) return 0;
    const b = bindExpr(a, scope);
    const v = b.literal?.value;
    const n = typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number.NaN;
    if (!Number.isFinite(n) || n < 0)
      throw sqlError('SqlTypeError', 'a frame offset must be a non-negative constant', scope, fc.location);
    if (rowsMode && !Number.isInteger(n))
      throw sqlError('SqlTypeError', 'a ROWS frame offset must be an integer', scope, fc.location);
    if (!rowsMode) {
      const key = orders[0]?.b.type.kind;
      if (b.type.kind === 'INTERVAL_DT') return key === 'DATE' ? n / USECS_PER_DAY : n;
      if (b.type.kind === 'INTERVAL_YM')
        throw sqlError('SqlUnsupported', 'a RANGE offset in months is not supported', scope, fc.location);
    }
    return n;
  };
  const so = offset(w.startOffset);
  const eo = offset(w.endOffset);
  if (
    !rowsMode &&
    o &
      (F.START_OFFSET_PRECEDING | F.START_OFFSET_FOLLOWING | F.END_OFFSET_PRECEDING | F.END_OFFSET_FOLLOWING)
  ) {
    const k = orders[0]?.b.type.kind;
    if (
      orders.length !== 1 ||
      !['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'REAL', 'DOUBLE', 'DATE', 'TIMESTAMP', 'TIME'].includes(
        k ?? '',
      )
    )
      throw sqlError(
        'SqlUnsupported',
        'RANGE with an offset needs exactly one ORDER BY key of a numeric, DATE, TIME or TIMESTAMP type',
        scope,
        fc.location,
        { construct: 'frame' },
      );
  }
  const key0 = orders[0] as { ev: (a: Row, b: Row) => Value; desc: boolean };
  const keyOf = (r: Row): number | null => {
    const v = key0.ev(r, r);
    if (v === null) return null;
    const n = typeof v === 'bigint' ? Number(v) : (v as number);
    return key0.desc ? -n : n;
  };
  const peers = (rows: readonly Row[], i: number): [number, number] => {
    const r = rows[i] as Row;
    const same = (j: number) =>
      orders.every((k) => {
        const a = k.ev(r, r);
        const b = k.ev(rows[j] as Row, rows[j] as Row);
        return (
          a === b ||
          (a !== null && b !== null && k.b.type.kind !== 'NULL' && comparator(k.b.type.kind)(a, b) === 0)
        );
      });
    let lo = i;
    while (lo > 0 && same(lo - 1)) lo--;
    let hi = i;
    while (hi < rows.length - 1 && same(hi + 1)) hi++;
    return [lo, hi];
  };
  /** First index whose key ≥ v (or > v when strict), scanning the sorted rows (NULL keys first). */
  const bound = (rows: readonly Row[], v: number, upper: boolean): number => {
    let j = 0;
    while (j < rows.length) {
      const k = keyOf(rows[j] as Row);
      if (k !== null && (upper ? k > v : k >= v)) break;
      j++;
    }
    return j;
  };
  const extent: Extent = {
    reach:
      rowsMode || o & F.START_UNBOUNDED_PRECEDING
        ? undefined
        : o & F.START_CURRENT_ROW
          ? 0
          : o & F.START_OFFSET_PRECEDING
            ? so
            : -so,
    lag:
      o & F.END_UNBOUNDED_FOLLOWING
        ? undefined
        : o & F.END_CURRENT_ROW
          ? 0
          : o & F.END_OFFSET_FOLLOWING
            ? rowsMode
              ? undefined
              : eo
            : rowsMode
              ? 0
              : -eo,
  };
  const frame = (rows: readonly Row[], i: number): [number, number] => {
    let lo: number;
    let hi: number;
    const kv = rowsMode ? 0 : keyOf(rows[i] as Row);
    if (o & F.START_UNBOUNDED_PRECEDING) lo = 0;
    else if (o & F.START_CURRENT_ROW) lo = rowsMode ? i : peers(rows, i)[0];
    else if (rowsMode) lo = o & F.START_OFFSET_PRECEDING ? i - so : i + so;
    else if (kv === null) lo = peers(rows, i)[0];
    else lo = bound(rows, o & F.START_OFFSET_PRECEDING ? kv - so : kv + so, false);
    if (o & F.END_UNBOUNDED_FOLLOWING) hi = rows.length - 1;
    else if (o & F.END_CURRENT_ROW) hi = rowsMode ? i : peers(rows, i)[1];
    else if (rowsMode) hi = o & F.END_OFFSET_PRECEDING ? i - eo : i + eo;
    else if (kv === null) hi = peers(rows, i)[1];
    else hi = bound(rows, o & F.END_OFFSET_PRECEDING ? kv - eo : kv + eo, true) - 1;
    return [lo, hi];
  };
  return { frame, extent };
}

/**
 * FIRST_VALUE / LAST_VALUE take only the frames Feldera supports, whose first (last) row is the partition's:
 * FIRST_VALUE from UNBOUNDED PRECEDING to CURRENT ROW or UNBOUNDED FOLLOWING, LAST_VALUE from UNBOUNDED
 * PRECEDING or CURRENT ROW to UNBOUNDED FOLLOWING (RANGE or ROWS). Without a frame: with ORDER BY the SQL
 * default (RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW: FIRST_VALUE only), without ORDER BY the partition.
 */
function checkEndFrame(fc: Ast, last: boolean, ordered: boolean, scope: BindContext): void {
  let o = (fc.over.frameOptions ?? 0) as number;
  if ((o & 1) === 0) {
    if (!ordered) return;
    o = F.RANGE | F.START_UNBOUNDED_PRECEDING | F.END_CURRENT_ROW;
  }
  const ok = last
    ? (o & F.END_UNBOUNDED_FOLLOWING) !== 0 && (o & (F.START_UNBOUNDED_PRECEDING | F.START_CURRENT_ROW)) !== 0
    : (o & F.START_UNBOUNDED_PRECEDING) !== 0 && (o & (F.END_CURRENT_ROW | F.END_UNBOUNDED_FOLLOWING)) !== 0;
  if (ok) return;
  const supported = last
    ? 'LAST_VALUE supports only frames (RANGE or ROWS) BETWEEN UNBOUNDED PRECEDING or CURRENT ROW AND UNBOUNDED FOLLOWING (with ORDER BY, the default frame ends at CURRENT ROW: write the frame)'
    : 'FIRST_VALUE supports only frames (RANGE or ROWS) BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW or UNBOUNDED FOLLOWING (the default frame is one)';
  throw sqlError('SqlUnsupported', supported, scope, fc.location, { construct: 'frame' });
}

/** Order key types whose values and frame offsets are plain numbers (or BIGINT) in one unit. */
const LINEAR_KINDS: ReadonlySet<string> = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'REAL',
  'DOUBLE',
  'DATE',
  'TIMESTAMP',
]);

/** `w() − d` (a lower bound: BIGINT rounds `d` up), null while there is no waterline. */
function shifted(w: () => Value, d: number): () => Value {
  return () => {
    const v = w();
    if (typeof v === 'number') return v - d;
    if (typeof v === 'bigint') return v - BigInt(Math.ceil(d));
    return null;
  };
}

/**
 * LATENESS for a window-agg (see the module header): the output's waterlines (the partition keys', and the
 * ascending, NOT NULL first ORDER BY column's lowered by the largest `lag` when every call has one), and the
 * frame purge (rows below the waterline minus the largest `lag` plus `reach` can never be in a frame whose value
 * changes again: discarded) when every call also has a `reach`. Waterlines are over the operator's input
 * columns `[partition keys, FROM columns]`, as are the output's first columns.
 */
function orderLateness(
  input: Waterlines | undefined,
  parts: readonly Bound[],
  orders: ReadonlyArray<{ b: Bound; desc: boolean }>,
  extents: readonly Extent[],
): {
  waterlines: Map<number, () => Value>;
  framePurge?: { column: number; below: () => Value; compare: (a: Value, b: Value) => number };
} {
  const waterlines = partitionWaterlines(input, parts);
  const key = orders[0];
  const col = key?.b.colRef;
  if (key === undefined || col === undefined || key.desc || key.b.type.nullable) return { waterlines };
  if (!LINEAR_KINDS.has(key.b.type.kind)) return { waterlines };
  const column = parts.length + col;
  const tw = input?.get(column);
  if (tw === undefined || extents.some((e) => e.lag === undefined)) return { waterlines };
  const lag = Math.max(0, ...extents.map((e) => e.lag as number));
  waterlines.set(column, shifted(tw, lag));
  if (extents.some((e) => e.reach === undefined)) return { waterlines };
  const reach = Math.max(0, ...extents.map((e) => e.reach as number));
  return {
    waterlines,
    framePurge: { column, below: shifted(tw, lag + reach), compare: comparator(key.b.type.kind) },
  };
}

function replaceCalls(ast: Ast, keys: readonly string[]): Ast {
  if (ast === null || typeof ast !== 'object') return ast;
  if (ast.FuncCall?.over) {
    const i = keys.indexOf(astKey(ast));
    return { ColumnRef: { fields: [{ String: { sval: `__win${i}` } }], location: ast.FuncCall.location } };
  }
  if (Array.isArray(ast)) return ast.map((x) => replaceCalls(x, keys));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ast)) out[k] = replaceCalls(v, keys);
  return out;
}
