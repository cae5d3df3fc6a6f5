/**
 * Ranking window functions: `ROW_NUMBER()`, `RANK()`, `DENSE_RANK()` `OVER (PARTITION BY ... ORDER BY ...)` in a
 * SELECT list, planned onto the top-k operator (`operators/top-k.ts`) with the rank appended. Feldera's use is
 * top-k per group, `SELECT * FROM (SELECT ..., ROW_NUMBER() OVER (...) AS rn FROM t) WHERE rn <= k`: the
 * planner passes such a bound down (`rankLimit`) so the operator emits only ranks ≤ k and a change costs the
 * k rows of its partition, not the whole partition; without a bound every rank is kept (correct, but a change
 * can move every later row's rank).
 *
 * ORDER BY keys follow Feldera's NULL order (NULL smallest; see `order-limit.ts`); ties among equal keys get
 * row numbers in the order of the whole row, so results do not depend on arrival order. One ranking function per
 * SELECT (aggregates OVER and LAG/LEAD: window-agg-plan.ts). LATENESS: a partition key with a waterline
 * discards the partitions below it, and the output keeps the partition keys' waterlines (only they: a row
 * pushed out of the top-k is an old row of the same partition), so operators downstream can discard too.
 * With a rank bound and a waterline on the first ORDER BY key, rows that can never reach rank k again leave each
 * partition (`orderPurge`, top-k.ts).
 *
 * State: none here.
 */
import type { Circuit, NodeId } from '../circuit/circuit.ts';
import { MapOperator } from '../operators/map.ts';
import { TopKOperator } from '../operators/top-k.ts';
import type { Row, Value } from '../zset/value.ts';
import {
  type Ast,
  astKey,
  type BindContext,
  type Bound,
  bindExpr,
  columnRef,
  type ScopeColumn,
  sqlError,
} from './expr.ts';
import type { SourceMap } from './parse.ts';
import { compareByKeys, type SortKey, sortKey } from './sort-keys.ts';
import { sqlType } from './sql-type.ts';
import {
  partitionPurge,
  partitionWaterlines,
  projectWaterlines,
  type Waterlines,
  waterlineOf,
  withWaterlines,
} from './waterline-plan.ts';

/** The waterlines of the FROM columns, from those of the operator input `[k1..kp, FROM columns...]`. */
function fromWaterlines(input: Waterlines | undefined, p: number): Waterlines | undefined {
  if (input === undefined) return undefined;
  const out = new Map<number, () => Value>();
  for (const [i, w] of input) if (i >= p) out.set(i - p, w);
  return out;
}

/** A planned relation (the shape of planner.ts's `Rel`, declared here so the import graph stays acyclic). */
interface Rel {
  readonly node: NodeId;
  readonly cols: readonly ScopeColumn[];
  /** LATENESS waterlines by column (see planner.ts's `Rel`). */
  readonly waterlines?: ReadonlyMap<number, () => Value>;
}

const RANKS: Readonly<Record<string, 'row_number' | 'rank' | 'dense_rank'>> = {
  row_number: 'row_number',
  rank: 'rank',
  dense_rank: 'dense_rank',
};

/** The FuncCall nodes with OVER in a tree (iterative). */
export function overCalls(root: Ast): Ast[] {
  const out: Ast[] = [];
  const stack: Ast[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (v.FuncCall?.over) {
      out.push(v);
      continue;
    }
    for (const x of Object.values(v)) if (x !== null && typeof x === 'object') stack.push(x);
  }
  return out;
}

/** The rank bound a WHERE clause puts on output column `name` (`name <= k`, `name < k`, `name = 1`), if any. */
export function rankBound(where: Ast | undefined, name: string): number | undefined {
  if (!where) return undefined;
  const conj: Ast[] = where.BoolExpr?.boolop === 'AND_EXPR' ? where.BoolExpr.args : [where];
  let best: number | undefined;
  for (const c of conj) {
    const e = c.A_Expr;
    if (e?.kind !== 'AEXPR_OP') continue;
    const op = e.name?.[0]?.String?.sval as string;
    const f = e.lexpr?.ColumnRef?.fields as Ast[] | undefined;
    const col = f?.[f.length - 1]?.String?.sval;
    const k = e.rexpr?.A_Const?.ival;
    if (col !== name || k === undefined) continue;
    const v = (k.ival ?? 0) as number;
    const lim = op === '<=' ? v : op === '<' ? v - 1 : op === '=' ? v : undefined;
    if (lim !== undefined) best = best === undefined ? lim : Math.min(best, lim);
  }
  return best === undefined ? undefined : Math.max(0, best);
}

export interface RankContext {
  readonly circuit: Circuit;
  readonly source: SourceMap;
  /** Materializes FROM/WHERE with these output expressions (over the FROM columns). */
  readonly materialize: (exprs: Bound[]) => Rel;
  /** A bound on the rank from an enclosing `WHERE rn <= k`, when the planner found one. */
  readonly rankLimit?: number;
}

/** Plans a non-aggregating SELECT list that holds a ranking window function. */
export function planRanked(
  targets: ReadonlyArray<{ name: string; ast: Ast | null }>,
  fromCols: readonly ScopeColumn[],
  c: RankContext,
): { rel: Rel; cols: ScopeColumn[] } {
  const scope: BindContext = { columns: fromCols, source: c.source, clause: 'OVER' };
  const calls = targets.flatMap((t) => (t.ast ? overCalls(t.ast) : []));
  const first = calls[0] as Ast;
  const fc = first.FuncCall;
  const fname = String(fc.funcname[fc.funcname.length - 1].String.sval).toLowerCase();
  const kind = RANKS[fname];
  if (kind === undefined)
    throw sqlError(
      'SqlUnsupported',
      `${fname.toUpperCase()} ... OVER is not supported yet: only ROW_NUMBER(), RANK() and DENSE_RANK() OVER (PARTITION BY ... ORDER BY ...)`,
      scope,
      fc.location,
      { construct: 'OVER' },
    );
  if (calls.some((x) => astKey(x) !== astKey(first)))
    throw sqlError(
      'SqlUnsupported',
      'only one ranking window function per SELECT is supported',
      scope,
      fc.location,
      {
        construct: 'OVER',
      },
    );
  if ((fc.args ?? []).length > 0)
    throw sqlError('SqlTypeError', `${fname.toUpperCase()}() takes no arguments`, scope, fc.location);
  const w = fc.over;
  if (w.refname || w.name)
    throw sqlError(
      'SqlUnsupported',
      'named windows (WINDOW w AS ...) are not supported',
      scope,
      fc.location,
      {
        construct: 'WINDOW',
      },
    );
  const parts = ((w.partitionClause ?? []) as Ast[]).map((a) => bindExpr(a, scope));
  const orders = (w.orderClause ?? []) as Ast[];
  if (orders.length === 0)
    throw sqlError('SqlTypeError', `${fname.toUpperCase()}() OVER needs an ORDER BY`, scope, fc.location);
  const p = parts.length;
  const pre: Bound[] = [...parts, ...fromCols.map((col, i) => columnRef(i, col.type))];
  const input = c.materialize(pre);
  const shifted = { col: (i: number) => (a: Row) => a[i + p] as Value };
  let firstKeyWaterline: (() => Value) | undefined;
  const keys = orders.map((s, k) => {
    const sb = s.SortBy;
    const bound = bindExpr(sb.node, scope);
    if (k === 0) firstKeyWaterline = waterlineOf(bound, fromWaterlines(input.waterlines, p));
    return sortKey(sb, bound, shifted);
  });
  const compare = compareByKeys(keys);
  // LATENESS on the first ORDER BY key: rows that can never reach rank `limit` again leave the state (top-k.ts)
  const firstKey = keys[0] as SortKey;
  const orderPurge =
    firstKeyWaterline === undefined || c.rankLimit === undefined
      ? {}
      : {
          orderPurge: {
            key: (r: Row) => firstKey.ev(r, r),
            desc: firstKey.desc,
            nullsFirst: firstKey.nullsFirst,
            below: firstKeyWaterline,
            compare: firstKey.cmp,
          },
        };
  const ranked = c.circuit.add(
    new TopKOperator({
      keyCount: p,
      compare,
      limit: c.rankLimit ?? Number.POSITIVE_INFINITY,
      rank: kind,
      ...partitionPurge(input.waterlines, parts),
      ...orderPurge,
    }),
    [input.node],
  );
  // the select list over [partition keys, FROM columns, rank], the call replaced by the rank column
  const rankName = '__rank';
  const cols: ScopeColumn[] = [
    ...parts.map((b, i) => ({ qualifier: null, name: `__part${i}`, type: b.type })),
    ...fromCols,
    { qualifier: null, name: rankName, type: sqlType('BIGINT', false) },
  ];
  const replaced = targets.map((t) => (t.ast ? replaceOver(t.ast, rankName) : t.ast));
  const exprs = replaced.map((a) =>
    bindExpr(a, { columns: cols, source: c.source, clause: 'the select list' }),
  );
  const evs = exprs.map((e) =>
    e.gen({ col: (i) => (a: Row) => (i === cols.length - 1 ? BigInt(a[i] as number) : a[i]) as Value }),
  );
  const node = c.circuit.add(new MapOperator((r) => evs.map((e) => e(r, r))), [ranked]);
  // LATENESS: the partition keys' waterlines pass through (a change of a partition's ranks stays in it)
  const outW = projectWaterlines(exprs, partitionWaterlines(input.waterlines, parts));
  return {
    rel: { node, cols: [], ...withWaterlines(outW) },
    cols: targets.map((t, i) => ({ qualifier: null, name: t.name, type: (exprs[i] as Bound).type })),
  };
}

/** A copy of `ast` with every FuncCall-with-OVER replaced by a reference to column `name`. */
function replaceOver(ast: Ast, name: string): Ast {
  if (ast === null || typeof ast !== 'object') return ast;
  if (ast.FuncCall?.over)
    return { ColumnRef: { fields: [{ String: { sval: name } }], location: ast.FuncCall.location } };
  if (Array.isArray(ast)) return ast.map((x) => replaceOver(x, name));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ast)) out[k] = replaceOver(v, name);
  return out;
}
