/**
 * Subqueries in expressions, decorrelated into joins before planning, so they stay incremental: the planner
 * calls {@link decorrelate} on a SELECT whose WHERE, select list or HAVING holds a subquery (see
 * {@link SelectListMode} for grouped queries); each
 * subquery becomes a derived table LEFT JOINed to the FROM clause and the subquery expression becomes an
 * expression over that table's columns. A correlated subquery may correlate only through equalities
 * `inner = outer` that are conjuncts of its WHERE (the inner sides become the derived table's keys, grouped by);
 * anything else that reads the outer query is `SqlUnsupported`.
 *
 * - `EXISTS (q)`: correlated → `SELECT DISTINCT keys, TRUE AS $m FROM ... WHERE rest`, joined on the keys,
 *   true when a row matched; uncorrelated → `SELECT COUNT(*) AS $n FROM (q)` (one row), `$n > 0`.
 * - `x IN (q)` (and `= ANY`), with SQL's three-valued answer: `A` = the distinct (keys, value) pairs, joined on
 *   the keys and `x = value`; `B` = per key (one global row when uncorrelated) the row count and the count of
 *   NULL values; the answer is TRUE if A matched, FALSE if B counts no rows, NULL if x is NULL or B counts a NULL
 *   value, else FALSE. `NOT IN` is NOT of that.
 * - scalar `(q)`: uncorrelated → q itself as a derived table when it is a non-grouped aggregate or a FROM-less
 *   SELECT (at most one row); any other plain SELECT → `SELECT h$one_row(COUNT(*), MIN(expr)) ...` (NULL for no
 *   rows, the value for one, a run-time error for more: functions/scalar-subquery.ts); correlated → `SELECT keys, expr AS $v ... GROUP BY keys` where expr is an
 *   aggregate (a bare COUNT is COALESCEd to 0 for keys without rows).
 * - `ARRAY(q)` / `MAP(q)` (Feldera's collection aggregates over a query): the scalar subquery of the aggregate
 *   over q (`collection-subqueries.ts`), rewritten as above and COALESCEd with the empty collection.
 * Derived tables get the aliases `$sqN`, their columns `$k0`, `$m`, `$n`, `$nulls`, `$v` (names no user column
 * can collide with unquoted); `SELECT *` skips them (planner.ts).
 *
 * State: none (an AST rewrite). Invariant: the rewritten query has the original's rows and multiplicities.
 */
import type { ServiceError } from '../errors/service-error.ts';
import { walkAst } from './ast-walk.ts';
import { collectionSubquery, mapSubquery } from './collection-subqueries.ts';
import type { Ast } from './parse.ts';

/** The columns a FROM item makes visible, for classifying column references as inner or outer. */
export interface InnerScope {
  readonly qualifiers: ReadonlySet<string>;
  readonly names: ReadonlySet<string>;
  /** Some FROM item's column names are unknown here (a derived table without a column list). */
  readonly opaque: boolean;
}

export interface DecorrelateOptions {
  /** Column names of a table, view or WITH query (null when unknown). */
  readonly columnsOf: (relation: string) => readonly string[] | null;
  /** A fresh alias for a derived table. */
  readonly fresh: () => string;
  /** Builds a positioned error. */
  readonly error: (
    code: 'SqlUnsupported' | 'SqlTypeError',
    message: string,
    location: unknown,
  ) => ServiceError;
}

// ---------------------------------------------------------------------------------------------------------
// AST builders

const str = (s: string) => ({ String: { sval: s } });
const col = (q: string, name: string): Ast => ({ ColumnRef: { fields: [str(q), str(name)] } });
const bool = (b: boolean): Ast => ({ A_Const: { boolval: { boolval: b } } });
const int = (n: number): Ast => ({ A_Const: { ival: { ival: n } } });
const nul = (): Ast => ({ A_Const: { isnull: true } });
const op = (o: string, l: Ast, r: Ast): Ast => ({
  A_Expr: { kind: 'AEXPR_OP', name: [str(o)], lexpr: l, rexpr: r },
});
const and = (xs: Ast[]): Ast | null =>
  xs.length === 0 ? null : xs.length === 1 ? xs[0] : { BoolExpr: { boolop: 'AND_EXPR', args: xs } };
const or = (xs: Ast[]): Ast => ({ BoolExpr: { boolop: 'OR_EXPR', args: xs } });
const isNull = (x: Ast, not = false): Ast => ({
  NullTest: { arg: x, nulltesttype: not ? 'IS_NOT_NULL' : 'IS_NULL' },
});
const count = (arg: Ast | null): Ast =>
  arg === null
    ? { FuncCall: { funcname: [str('count')], agg_star: true } }
    : { FuncCall: { funcname: [str('count')], args: [arg] } };
const coalesce = (xs: Ast[]): Ast => ({ CoalesceExpr: { args: xs } });
const caseWhen = (whens: Array<[Ast, Ast]>, otherwise: Ast): Ast => ({
  CaseExpr: { args: whens.map(([c, r]) => ({ CaseWhen: { expr: c, result: r } })), defresult: otherwise },
});
const target = (name: string, val: Ast): Ast => ({ ResTarget: { name, val } });
const select = (fields: {
  targets: Ast[];
  from: Ast[];
  where?: Ast | null;
  distinct?: boolean;
  groupBy?: Ast[];
}): Ast => ({
  SelectStmt: {
    targetList: fields.targets,
    fromClause: fields.from,
    ...(fields.where ? { whereClause: fields.where } : {}),
    ...(fields.distinct ? { distinctClause: [{}] } : {}),
    ...(fields.groupBy && fields.groupBy.length > 0 ? { groupClause: fields.groupBy } : {}),
    op: 'SETOP_NONE',
  },
});
const derived = (query: Ast, alias: string, colnames?: string[]): Ast => ({
  RangeSubselect: {
    subquery: query,
    alias: { aliasname: alias, ...(colnames ? { colnames: colnames.map(str) } : {}) },
  },
});

/** A single SELECT without grouping, DISTINCT, ordering, limits or set operations. */
function plainSelect(sub: Ast): boolean {
  return (
    (!sub.op || sub.op === 'SETOP_NONE') &&
    !sub.groupClause &&
    !sub.havingClause &&
    !sub.distinctClause &&
    !sub.sortClause &&
    !sub.limitCount &&
    !sub.limitOffset &&
    !sub.windowClause &&
    !sub.valuesLists
  );
}

function names(list: Ast[] | undefined): string[] {
  return (list ?? []).map((x) => (x.String?.sval as string | undefined) ?? '*');
}

function nodeKind(ast: Ast): string {
  return ast !== null && typeof ast === 'object' ? (Object.keys(ast)[0] as string) : '';
}

/** True when the tree holds a SubLink outside nested SELECTs. */
export function hasSubquery(ast: Ast): boolean {
  return walkAst(ast, (r) => ('SubLink' in r ? 'stop' : 'SelectStmt' in r ? 'skip' : undefined));
}

// ---------------------------------------------------------------------------------------------------------
// scopes

function scopeOf(from: Ast[] | undefined, o: DecorrelateOptions): InnerScope {
  const qualifiers = new Set<string>();
  const cols = new Set<string>();
  let opaque = false;
  const walk = (item: Ast): void => {
    if (item.RangeVar) {
      const rv = item.RangeVar;
      qualifiers.add((rv.alias?.aliasname as string | undefined) ?? (rv.relname as string));
      const known = o.columnsOf(rv.relname as string);
      const aliased = names(rv.alias?.colnames);
      if (known === null) opaque = true;
      else
        known.forEach((c, i) => {
          cols.add(aliased[i] ?? c);
        });
    } else if (item.RangeSubselect) {
      const alias = item.RangeSubselect.alias;
      if (alias?.aliasname) qualifiers.add(alias.aliasname as string);
      const given = names(alias?.colnames);
      if (given.length > 0) for (const c of given) cols.add(c);
      else opaque = true;
    } else if (item.JoinExpr) {
      walk(item.JoinExpr.larg);
      walk(item.JoinExpr.rarg);
    } else opaque = true;
  };
  for (const item of from ?? []) walk(item);
  return { qualifiers, names: cols, opaque };
}

/** True when a column reference cannot be resolved inside the subquery (so it reads the outer query). */
function isOuterRef(ref: Ast, scope: InnerScope): boolean {
  const parts = names(ref.fields);
  if (parts.includes('*')) return parts.length >= 2 && !scope.qualifiers.has(parts[0] as string);
  if (parts.length >= 2) return !scope.qualifiers.has(parts[0] as string);
  return !scope.opaque && !scope.names.has(parts[0] as string);
}

/** Whether an expression (not descending into nested SELECTs) reads the outer query. */
function readsOuter(ast: Ast, scope: InnerScope): boolean {
  return walkAst(ast, (r) =>
    r.ColumnRef && isOuterRef(r.ColumnRef, scope) ? 'stop' : r.SelectStmt ? 'skip' : undefined,
  );
}

function conjuncts(where: Ast | null | undefined): Ast[] {
  if (!where) return [];
  if (where.BoolExpr?.boolop === 'AND_EXPR')
    return (where.BoolExpr.args as Ast[]).flatMap((a) => conjuncts(a));
  return [where];
}

function containsAggregate(ast: Ast, aggregates: ReadonlySet<string>, onlyCount = false): boolean {
  return walkAst(ast, (r) => {
    if (r.FuncCall) {
      const n = names(r.FuncCall.funcname);
      const name = (n[n.length - 1] as string).toLowerCase();
      if (onlyCount ? name === 'count' : aggregates.has(name)) return 'stop';
    }
    return r.SelectStmt ? 'skip' : undefined;
  });
}

// ---------------------------------------------------------------------------------------------------------
// the rewrite

interface Correlation {
  /** The subquery's FROM/WHERE without the correlating equalities. */
  readonly from: Ast[];
  readonly where: Ast | null;
  /** Pairs (inner expression, outer expression). */
  readonly keys: Array<[Ast, Ast]>;
}

/**
 * Splits a subquery's WHERE into correlating equalities and the rest; null when the subquery reads nothing of
 * the outer query (uncorrelated). @throws SqlUnsupported for any other use of outer columns.
 */
function correlation(sub: Ast, o: DecorrelateOptions, location: unknown): Correlation | null {
  const scope = scopeOf(sub.fromClause, o);
  const outerAnywhere =
    readsOuter(sub.whereClause ?? null, scope) ||
    readsOuter(sub.targetList ?? [], scope) ||
    readsOuter(sub.havingClause ?? null, scope) ||
    readsOuter(sub.groupClause ?? [], scope) ||
    readsOuter(sub.fromClause ?? [], scope);
  if (!outerAnywhere) return null;
  const unsupported = (why: string) => o.error('SqlUnsupported', `correlated subquery: ${why}`, location);
  if (sub.op && sub.op !== 'SETOP_NONE') throw unsupported('a set operation cannot read the outer query');
  if (sub.groupClause || sub.havingClause || sub.distinctClause || sub.sortClause || sub.limitCount)
    throw unsupported(
      'GROUP BY, HAVING, DISTINCT, ORDER BY or LIMIT in a subquery that reads the outer query',
    );
  if (readsOuter(sub.targetList ?? [], scope) || readsOuter(sub.fromClause ?? [], scope))
    throw unsupported('only its WHERE clause may read the outer query');
  const keys: Array<[Ast, Ast]> = [];
  const rest: Ast[] = [];
  for (const c of conjuncts(sub.whereClause)) {
    if (!readsOuter(c, scope)) {
      rest.push(c);
      continue;
    }
    const e = c.A_Expr;
    if (e?.kind === 'AEXPR_OP' && names(e.name)[0] === '=') {
      const lOut = readsOuter(e.lexpr, scope);
      const rOut = readsOuter(e.rexpr, scope);
      const lIn = !lOut && hasInnerRef(e.lexpr, scope);
      const rIn = !rOut && hasInnerRef(e.rexpr, scope);
      if (lIn && rOut && !hasInnerRef(e.rexpr, scope)) {
        keys.push([e.lexpr, e.rexpr]);
        continue;
      }
      if (rIn && lOut && !hasInnerRef(e.lexpr, scope)) {
        keys.push([e.rexpr, e.lexpr]);
        continue;
      }
    }
    throw unsupported(
      'it may read the outer query only in equalities inner_expression = outer_expression joined by AND in its WHERE',
    );
  }
  return { from: sub.fromClause ?? [], where: and(rest), keys };
}

function hasInnerRef(ast: Ast, scope: InnerScope): boolean {
  return walkAst(ast, (r) => (r.ColumnRef && !isOuterRef(r.ColumnRef, scope) ? 'stop' : undefined));
}

interface Join {
  readonly table: Ast;
  readonly on: Ast | null;
  readonly alias: string;
  /** The derived table's columns the rewritten expression reads (grouped by in a GROUP BY query). */
  readonly cols: readonly string[];
}

/**
 * Where the select list and HAVING may hold subqueries: `plain` (no grouping: the select list), `grouped`
 * (GROUP BY: the select list and HAVING, uncorrelated subqueries only, their one-row tables' columns added to
 * the GROUP BY, which does not change the groups), `aggregate` (aggregates without GROUP BY: neither, since a
 * GROUP BY would lose the row such a query returns on empty input).
 */
export type SelectListMode = 'plain' | 'grouped' | 'aggregate';

/**
 * Rewrites the subqueries of a SELECT's WHERE (and, per `mode`, its select list and HAVING) into LEFT JOINs with
 * derived tables. Returns the statement unchanged when it has none.
 */
export function decorrelate(
  stmt: Ast,
  o: DecorrelateOptions,
  aggregates: ReadonlySet<string>,
  mode: SelectListMode,
): Ast {
  const joins: Join[] = [];
  let uncorrelatedOnly = false;

  // ARRAY(SELECT ...) / MAP(SELECT ...): an aggregate over the query, then a scalar subquery (collection-subqueries.ts)
  const collection = (kind: 'array' | 'map', link: Ast): Ast => {
    const c = collectionSubquery(kind, link, o.fresh, (m) => o.error('SqlTypeError', m, link.location));
    return coalesce([rewriteSubLink(c.subLink.SubLink), c.empty]);
  };

  const rewriteSubLink = (s: Ast): Ast => {
    if (s.subLinkType === 'ARRAY_SUBLINK') return collection('array', s);
    const sub = s.subselect?.SelectStmt;
    const loc = s.location;
    if (!sub) throw o.error('SqlUnsupported', 'unsupported subquery', loc);
    const corr = correlation(sub, o, loc);
    if (corr !== null && uncorrelatedOnly)
      throw o.error(
        'SqlUnsupported',
        'a correlated subquery is not supported in the select list or HAVING of a query with GROUP BY; compute it in a subquery in FROM',
        loc,
      );
    const keyNames = (corr?.keys ?? []).map((_k, i) => `$k${i}`);
    const keyTargets = (corr?.keys ?? []).map(([inner], i) => target(`$k${i}`, inner));
    const joinOn = (alias: string, extra: Ast[] = []): Ast | null =>
      and([
        ...(corr?.keys ?? []).map(([, outer], i) => op('=', outer, col(alias, keyNames[i] as string))),
        ...extra,
      ]);
    const single = () => {
      let first = sub;
      while (first.larg?.SelectStmt || first.larg) first = first.larg.SelectStmt ?? first.larg;
      const items = (first.targetList ?? []) as Ast[];
      if (items.length !== 1 || names(items[0]?.ResTarget?.val?.ColumnRef?.fields).includes('*'))
        throw o.error('SqlTypeError', 'subquery must return only one column', loc);
      return items[0].ResTarget.val as Ast;
    };
    // the subquery as a derived table with one column `$c` (uncorrelated forms)
    const wrapped = (alias: string, colName: string): Ast => derived({ SelectStmt: sub }, alias, [colName]);

    switch (s.subLinkType) {
      case 'EXISTS_SUBLINK': {
        const alias = o.fresh();
        if (corr === null) {
          const inner = o.fresh();
          const q = select({
            targets: [target('$n', count(null))],
            from: [derived({ SelectStmt: sub }, inner)],
          });
          joins.push({ table: derived(q, alias), on: null, alias, cols: ['$n'] });
          return op('>', col(alias, '$n'), int(0));
        }
        const q = select({
          targets: [...keyTargets, target('$m', bool(true))],
          from: corr.from,
          where: corr.where,
          distinct: true,
        });
        joins.push({ table: derived(q, alias), on: joinOn(alias), alias, cols: ['$m'] });
        return isNull(col(alias, '$m'), true);
      }
      case 'ANY_SUBLINK': {
        const opName = names(s.operName);
        if (opName.length > 0 && opName[0] !== '=')
          throw o.error(
            'SqlUnsupported',
            `${opName[0]} ANY (subquery) is not supported; use IN or EXISTS`,
            loc,
          );
        const x = s.testexpr;
        if (x?.RowExpr) throw o.error('SqlUnsupported', 'a row IN (subquery) is not supported', loc);
        const a = o.fresh();
        const b = o.fresh();
        let aQuery: Ast;
        let bQuery: Ast;
        if (corr === null) {
          single();
          const s1 = o.fresh();
          const s2 = o.fresh();
          aQuery = select({
            targets: [target('$v', col(s1, '$c')), target('$m', bool(true))],
            from: [wrapped(s1, '$c')],
            distinct: true,
          });
          bQuery = select({
            targets: [
              target('$n', count(null)),
              target('$nulls', op('-', count(null), count(col(s2, '$c')))),
            ],
            from: [wrapped(s2, '$c')],
          });
        } else {
          const v = single();
          aQuery = select({
            targets: [...keyTargets, target('$v', v), target('$m', bool(true))],
            from: corr.from,
            where: corr.where,
            distinct: true,
          });
          bQuery = select({
            targets: [
              ...keyTargets,
              target('$n', count(null)),
              target('$nulls', op('-', count(null), count(v))),
            ],
            from: corr.from,
            where: corr.where,
            groupBy: corr.keys.map(([inner]) => inner),
          });
        }
        joins.push({
          table: derived(aQuery, a),
          on: joinOn(a, [op('=', x, col(a, '$v'))]),
          alias: a,
          cols: ['$m'],
        });
        joins.push({ table: derived(bQuery, b), on: joinOn(b), alias: b, cols: ['$n', '$nulls'] });
        return caseWhen(
          [
            [isNull(col(a, '$m'), true), bool(true)],
            [op('=', coalesce([col(b, '$n'), int(0)]), int(0)), bool(false)],
            [or([isNull(x), op('>', col(b, '$nulls'), int(0))]), nul()],
          ],
          bool(false),
        );
      }
      case 'EXPR_SUBLINK': {
        const v = single();
        const alias = o.fresh();
        if (corr === null) {
          const aggregate = containsAggregate(v, aggregates) && !sub.groupClause;
          const fromless = !sub.fromClause && (!sub.op || sub.op === 'SETOP_NONE');
          if (!aggregate && !fromless) {
            if (!plainSelect(sub))
              throw o.error(
                'SqlUnsupported',
                'a scalar subquery with GROUP BY, DISTINCT, ORDER BY, LIMIT or a set operation must be an aggregate without GROUP BY (so it has at most one row)',
                loc,
              );
            // any other scalar subquery: NULL for no rows, its value for one, a run-time error for more
            // (functions/scalar-subquery.ts), computed as one aggregate row
            const oneRow = {
              ...sub,
              targetList: [
                target('$v', {
                  FuncCall: {
                    funcname: [str('h$one_row')],
                    args: [count(null), { FuncCall: { funcname: [str('min')], args: [v] } }],
                  },
                }),
              ],
            };
            joins.push({
              table: derived({ SelectStmt: oneRow }, alias, ['$v']),
              on: null,
              alias,
              cols: ['$v'],
            });
            return col(alias, '$v');
          }
          joins.push({ table: wrapped(alias, '$v'), on: null, alias, cols: ['$v'] });
          return col(alias, '$v');
        }
        if (!containsAggregate(v, aggregates))
          throw o.error(
            'SqlUnsupported',
            'a correlated scalar subquery must compute an aggregate (so it has at most one row per outer row)',
            loc,
          );
        const bareCount =
          v.FuncCall &&
          (names(v.FuncCall.funcname).at(-1) as string).toLowerCase() === 'count' &&
          !v.FuncCall.over;
        if (!bareCount && containsAggregate(v, aggregates, true))
          throw o.error(
            'SqlUnsupported',
            'a correlated scalar subquery may use COUNT only as its whole result',
            loc,
          );
        const q = select({
          targets: [...keyTargets, target('$v', v)],
          from: corr.from,
          where: corr.where,
          groupBy: corr.keys.map(([inner]) => inner),
        });
        joins.push({ table: derived(q, alias), on: joinOn(alias), alias, cols: ['$v'] });
        return bareCount ? coalesce([col(alias, '$v'), int(0)]) : col(alias, '$v');
      }
      default:
        throw o.error(
          'SqlUnsupported',
          `${String(s.subLinkType).replace('_SUBLINK', '')} subqueries are not supported`,
          loc,
        );
    }
  };

  /** Copies `ast`, replacing SubLinks (not inside nested SELECTs). Recursive: expressions are shallow here. */
  const rewrite = (ast: Ast): Ast => {
    if (ast === null || typeof ast !== 'object') return ast;
    if (Array.isArray(ast)) return ast.map(rewrite);
    if (nodeKind(ast) === 'SubLink') return rewriteSubLink(ast.SubLink);
    if (nodeKind(ast) === 'SelectStmt') return ast;
    const mapQuery = mapSubquery(ast);
    if (mapQuery !== undefined) return collection('map', mapQuery);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(ast)) out[k] = rewrite(v);
    return out;
  };

  const where =
    stmt.whereClause && hasSubquery(stmt.whereClause) ? rewrite(stmt.whereClause) : stmt.whereClause;
  const whereJoins = joins.length;
  uncorrelatedOnly = mode === 'grouped';
  const targets =
    mode !== 'aggregate' && hasSubquery(stmt.targetList ?? []) ? rewrite(stmt.targetList) : stmt.targetList;
  const having =
    mode === 'grouped' && stmt.havingClause && hasSubquery(stmt.havingClause)
      ? rewrite(stmt.havingClause)
      : stmt.havingClause;
  if (joins.length === 0) return stmt;
  const groupBy =
    mode === 'grouped'
      ? [
          ...(stmt.groupClause as Ast[]),
          ...joins.slice(whereJoins).flatMap((j) => j.cols.map((c) => col(j.alias, c))),
        ]
      : stmt.groupClause;
  const items = (stmt.fromClause ?? []) as Ast[];
  let from: Ast =
    items.length === 0
      ? derived(select({ targets: [target('$one', int(1))], from: [] }), o.fresh())
      : (items[0] as Ast);
  for (const it of items.slice(1))
    from = { JoinExpr: { jointype: 'JOIN_INNER', larg: from, rarg: it, quals: null } };
  for (const j of joins)
    from = { JoinExpr: { jointype: 'JOIN_LEFT', larg: from, rarg: j.table, quals: j.on } };
  return {
    ...stmt,
    whereClause: where,
    targetList: targets,
    havingClause: having,
    ...(groupBy ? { groupClause: groupBy } : {}),
    fromClause: [from],
  };
}
