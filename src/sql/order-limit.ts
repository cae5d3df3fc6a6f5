/**
 * `ORDER BY ... LIMIT n [OFFSET m]` in a view, as Feldera treats it: a view is a multiset, so ORDER BY alone
 * does not change its contents and is ignored; with LIMIT (or OFFSET) it selects the first rows in that order
 * (top-k, see `operators/top-k.ts`), and the view holds those rows, unordered.
 *
 * Sort keys may be output columns (by name or position) or, for a plain SELECT (no DISTINCT, no set operation),
 * any expression over the FROM columns: those are planned as hidden trailing columns of the SELECT, used by the
 * top-k, then projected away.
 *
 * NULL ordering is Feldera's, not Postgres's: NULL is the smallest value, so NULLs come first in ascending order
 * and last in descending order unless NULLS FIRST/LAST says otherwise (Postgres does the opposite by default).
 * Ties between rows with equal keys are cut deterministically (by the whole row), where Feldera leaves the
 * choice unspecified.
 *
 * LATENESS: when the first sort key is a column with a waterline (or a non-decreasing function of one), the top-k
 * discards the rows that can never reach the window again (`operators/top-k.ts`, `orderPurge`), so a global
 * `ORDER BY ts DESC LIMIT n` keeps the rows at or above the waterline plus n more, not every row ever seen.
 *
 * State: none here (the top-k operator holds it). Invariant: the planned relation has the SELECT's columns.
 */
import type { Circuit } from '../circuit/circuit.ts';
import { MapOperator } from '../operators/map.ts';
import { TopKOperator } from '../operators/top-k.ts';
import type { Row, Value } from '../zset/value.ts';
import { type Ast, type Bound, bindExpr, type ScopeColumn, sqlError } from './expr.ts';
import type { SourceMap } from './parse.ts';
import type { Rel } from './rel.ts';
import { compareByKeys, sortKey } from './sort-keys.ts';
import { waterlineOf } from './waterline-plan.ts';

export interface OrderLimitContext {
  readonly circuit: Circuit;
  readonly source: SourceMap;
  /** Plans a SELECT without ORDER BY/LIMIT/OFFSET. */
  readonly plan: (stmt: Ast) => Rel;
}

/** Plans a view's SELECT that has ORDER BY, LIMIT or OFFSET. */
export function planViewOrderLimit(stmt: Ast, c: OrderLimitContext): Rel {
  const bare = { ...stmt, sortClause: undefined, limitCount: undefined, limitOffset: undefined };
  const ctx = { columns: [] as ScopeColumn[], source: c.source };
  const limit = countOf(stmt.limitCount, 'LIMIT', ctx);
  const offset = countOf(stmt.limitOffset, 'OFFSET', ctx) ?? 0;
  if (limit === null && offset === 0) return c.plan(bare);

  let rel = c.plan(bare);
  const width = rel.cols.length;
  const sortClause = (stmt.sortClause ?? []) as Ast[];
  const simple =
    (!stmt.op || stmt.op === 'SETOP_NONE') &&
    !(Array.isArray(stmt.distinctClause) && stmt.distinctClause.length > 0);
  const hidden = new Map<number, number>();
  const extra: Ast[] = [];
  const outScope = { columns: rel.cols.map((col) => ({ ...col, qualifier: null })), source: c.source };
  sortClause.forEach((sb, k) => {
    const node = sb.SortBy.node;
    if (node.A_Const?.ival !== undefined || bindsTo(node, outScope)) return;
    if (!simple)
      throw sqlError(
        'SqlUnsupported',
        'ORDER BY with LIMIT in a view after DISTINCT or a set operation must name output columns',
        ctx,
        node.location ?? sb.SortBy.location,
        { construct: 'ORDER BY' },
      );
    hidden.set(k, width + extra.length);
    extra.push({ ResTarget: { name: `__sort${extra.length}`, val: node } });
  });
  if (extra.length > 0) rel = c.plan({ ...bare, targetList: [...(stmt.targetList as Ast[]), ...extra] });

  const allCols = { columns: rel.cols.map((col) => ({ ...col, qualifier: null })), source: c.source };
  let firstKeyWaterline: (() => Value) | undefined;
  const keys = sortClause.map((s, k) => {
    const sb = s.SortBy;
    const node = sb.node;
    let bound: Bound;
    const h = hidden.get(k);
    if (h !== undefined) {
      bound = columnBound(h, rel.cols);
    } else if (node.A_Const?.ival !== undefined) {
      const i = (node.A_Const.ival.ival ?? 0) as number;
      if (i < 1 || i > width)
        throw sqlError(
          'SqlNameError',
          `ORDER BY position ${i} is not in select list`,
          ctx,
          node.A_Const.location,
        );
      bound = columnBound(i - 1, rel.cols);
    } else {
      bound = bindExpr(node, { ...allCols, clause: 'ORDER BY' });
    }
    if (sb.useOp)
      throw sqlError('SqlUnsupported', 'ORDER BY ... USING is not supported', ctx, sb.location, {
        construct: 'USING',
      });
    if (k === 0) firstKeyWaterline = waterlineOf(bound, rel.waterlines);
    return sortKey(sb, bound, { col: (i) => (a) => a[i] as Value });
  });
  const compare = compareByKeys(keys);
  // LATENESS on the first sort key: rows that can never reach the window again leave the state (top-k.ts)
  const first = keys[0];
  const orderPurge =
    first === undefined || firstKeyWaterline === undefined
      ? undefined
      : {
          key: (r: Row) => first.ev(r, r),
          desc: first.desc,
          nullsFirst: first.nullsFirst,
          below: firstKeyWaterline,
          compare: first.cmp,
        };
  let node = c.circuit.add(
    new TopKOperator({
      keyCount: 0,
      compare,
      limit: limit ?? Number.POSITIVE_INFINITY,
      offset,
      ...(orderPurge === undefined ? {} : { orderPurge }),
    }),
    [rel.node],
  );
  if (extra.length > 0) node = c.circuit.add(new MapOperator((r) => r.slice(0, width)), [node]);
  return { node, cols: rel.cols.slice(0, width) };
}

function columnBound(i: number, cols: readonly ScopeColumn[]): Bound {
  const col = cols[i] as ScopeColumn;
  return { type: col.type, cols: [i], gen: (x) => x.col(i), colRef: i };
}

function bindsTo(node: Ast, scope: { columns: ScopeColumn[]; source: SourceMap }): boolean {
  try {
    bindExpr(node, scope);
    return true;
  } catch {
    return false;
  }
}

/** A LIMIT or OFFSET count: a non-negative integer constant (null when absent, or `LIMIT ALL`). */
function countOf(
  a: Ast | undefined,
  what: string,
  ctx: { columns: ScopeColumn[]; source: SourceMap },
): number | null {
  if (!a) return null;
  if (a.A_Const?.isnull) return null;
  const v = a.A_Const?.ival !== undefined ? ((a.A_Const.ival.ival ?? 0) as number) : undefined;
  if (typeof v !== 'number' || v < 0)
    throw sqlError(
      'SqlUnsupported',
      `${what} in a view must be a non-negative integer constant`,
      ctx,
      (Object.values(a)[0] as { location?: number } | undefined)?.location,
      {
        construct: what,
      },
    );
  return v;
}
