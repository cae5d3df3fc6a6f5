/**
 * Feldera's collection constructors over a query, which its aggregates page lists as aggregates:
 * - `ARRAY(SELECT x FROM ...)`: the array of the query's values (one column), or of its rows as ROW values (more
 *   columns), in ARRAY_AGG's deterministic order (Feldera leaves the order unspecified);
 * - `MAP(SELECT k, v FROM ...)`: the map of the query's (key, value) pairs; among the rows of one key the largest
 *   value wins (Feldera's rule; NULL is the smallest value).
 * An empty query gives an empty array or map.
 *
 * `subqueries.ts` calls {@link collectionSubquery} for such a subquery (a SubLink `ARRAY_SUBLINK`, or a call
 * `map` whose one argument is a scalar subquery, see `subscript-syntax.ts`); it returns a scalar subquery that
 * computes the aggregate (`ARRAY_AGG`, or the internal two-argument aggregate `$map` of `aggregates.ts`) over
 * the query's rows, which `subqueries.ts` then decorrelates like any scalar subquery: uncorrelated, a one-row
 * derived table; correlated through `inner = outer` equalities, grouped by the keys and LEFT JOINed — the
 * result is COALESCEd with the empty collection for outer rows no inner row matches. A query that groups,
 * is DISTINCT, has a LIMIT/ORDER BY or is a set operation is first wrapped as a derived table (uncorrelated
 * only). Incremental and inside the aggregate operator's contract: its state is the aggregate's input.
 *
 * State: none (an AST rewrite).
 */
import type { Ast } from './parse.ts';

const str = (s: string) => ({ String: { sval: s } });

/** The internal name of the MAP aggregate (not callable unquoted: `$` cannot start an identifier). */
export const MAP_AGGREGATE = '$map';

/** The query of `MAP((SELECT ...))` when `ast` is such a call, else undefined. */
export function mapSubquery(ast: Ast): Ast | undefined {
  const fc = ast?.FuncCall;
  if (fc === undefined) return undefined;
  const name = fc.funcname as Ast[] | undefined;
  if (name?.length !== 1 || String(name[0]?.String?.sval).toLowerCase() !== 'map') return undefined;
  const args = fc.args as Ast[] | undefined;
  if (args?.length !== 1 || fc.over || fc.agg_star) return undefined;
  const link = args[0]?.SubLink;
  return link?.subLinkType === 'EXPR_SUBLINK' ? link : undefined;
}

/**
 * The scalar subquery computing `kind`'s aggregate over the SubLink `link`'s query, and the empty collection to
 * COALESCE its result with. `error` makes a positioned SqlTypeError.
 */
export function collectionSubquery(
  kind: 'array' | 'map',
  link: Ast,
  fresh: () => string,
  error: (message: string) => Error,
): { subLink: Ast; empty: Ast } {
  const sub = link.subselect?.SelectStmt;
  if (!sub) throw error('unsupported subquery');
  let first = sub;
  while (first.larg) first = first.larg.SelectStmt ?? first.larg;
  const items = (first.targetList ?? []) as Ast[];
  const star = items.some((t) =>
    ((t.ResTarget?.val?.ColumnRef?.fields ?? []) as Ast[]).some((f) => f.A_Star !== undefined),
  );
  const shown = kind === 'map' ? 'MAP' : 'ARRAY';
  if (star) throw error(`${shown}(subquery) needs the query's columns written out, not *`);
  if (kind === 'map' && items.length !== 2)
    throw error(`MAP(subquery) needs a query of two columns (key, value); this one has ${items.length}`);
  const simple =
    (sub.op === undefined || sub.op === 'SETOP_NONE') &&
    !sub.groupClause &&
    !sub.distinctClause &&
    !sub.havingClause &&
    !sub.limitCount &&
    !sub.limitOffset &&
    !sub.sortClause &&
    !sub.withClause &&
    !sub.valuesLists;
  let values: Ast[];
  let query: Ast;
  if (simple) {
    values = items.map((t) => t.ResTarget.val);
    query = sub;
  } else {
    const alias = fresh();
    const cols = items.map((_t, i) => `$c${i}`);
    values = cols.map((c) => ({ ColumnRef: { fields: [str(alias), str(c)] } }));
    query = {
      targetList: [],
      fromClause: [
        {
          RangeSubselect: {
            subquery: { SelectStmt: sub },
            alias: { aliasname: alias, colnames: cols.map(str) },
          },
        },
      ],
      op: 'SETOP_NONE',
    };
  }
  // rows of a many-column ARRAY query: fields named after its columns (alias, column name, or EXPR$i)
  const fieldNames = items.map(
    (t, i) =>
      (t.ResTarget?.name as string | undefined) ??
      (((t.ResTarget?.val?.ColumnRef?.fields ?? []) as Ast[]).at(-1)?.String?.sval as string | undefined) ??
      `EXPR$${i}`,
  );
  const arg =
    kind === 'map' || values.length === 1
      ? values
      : [{ RowExpr: { args: values, colnames: fieldNames.map(str), row_format: 'COERCE_EXPLICIT_CALL' } }];
  const call = {
    FuncCall: {
      funcname: [str(kind === 'map' ? MAP_AGGREGATE : 'array_agg')],
      args: arg,
      location: link.location,
    },
  };
  const aggregate: Ast = {
    ...(simple ? sub : query),
    targetList: [{ ResTarget: { val: call, location: link.location } }],
  };
  return {
    subLink: { SubLink: { ...link, subLinkType: 'EXPR_SUBLINK', subselect: { SelectStmt: aggregate } } },
    empty:
      kind === 'map'
        ? { FuncCall: { funcname: [str('map')], args: [], location: link.location } }
        : { A_ArrayExpr: { elements: [], location: link.location } },
  };
}
