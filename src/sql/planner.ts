/**
 * Query planning: a bound SELECT becomes operators in a {@link Circuit}.
 *
 * # Design
 * FROM is first built as a tree of relations and joins; it is turned into operators only when we know which
 * predicates and which projection sit on top of it (`materialize`). That lets the planner
 * - push single-side predicates below joins (WHERE into inner joins, ON into the non-preserved side),
 * - turn `l = r` conjuncts into equi-join keys and keep the rest as the join's residual predicate,
 * - fuse the projection that follows a join (the select list, or the GROUP BY key/argument projection) into the
 *   join's output function, so no intermediate concatenated row is built.
 * Everything after FROM/WHERE is a straight pipeline: aggregate → HAVING → select list → DISTINCT; set operations
 * combine two planned queries. `WITH` plans each common table expression once and lets every reference in its
 * scope read the same operators (state: the stack of WITH scopes while a query is being planned). Subqueries in
 * WHERE, the select list and HAVING (as subqueries.ts allows) are first rewritten into LEFT JOINs with derived
 * tables (subqueries.ts); `JOIN ... USING` / `NATURAL JOIN` become qualified equalities (using-join.ts); a
 * `LEFT ASOF JOIN` is planned by asof-plan.ts (its inputs are materialized first, it is a relation above). WHERE
 * predicates on the preserved side of an outer join are pushed below it.
 */
import type { Circuit, NodeId } from '../circuit/circuit.ts';
import { ServiceError } from '../errors/service-error.ts';
import { type AggregateFunction, AggregateOperator } from '../operators/aggregate.ts';
import { ConstantOperator } from '../operators/constant.ts';
import { DistinctOperator } from '../operators/distinct.ts';
import { FilterOperator } from '../operators/filter.ts';
import { FlatMapOperator } from '../operators/flat-map.ts';
import { type JoinKind, JoinOperator, NULL_KEY } from '../operators/join.ts';
import { MapOperator } from '../operators/map.ts';
import { SetOpOperator } from '../operators/set-op.ts';
import { UnionAllOperator } from '../operators/union-all.ts';
import { encodeRow, encodeValue, type Row, type Value } from '../zset/value.ts';
import {
  AGGREGATE_ALIASES,
  type AggregateName,
  makeAggregate,
  TWO_ARGUMENT_AGGREGATES,
} from './aggregates.ts';
import { isAsofCondition, planAsofJoin } from './asof-plan.ts';
import { liftAggregate, planLiftedAggregate } from './clock-lift.ts';
import {
  AGGREGATE_NAMES,
  type Ast,
  astKey,
  type BindContext,
  type Bound,
  bindExpr,
  castBound,
  type Ev,
  type EvalCtx,
  joinCtx,
  ROW_CTX,
  type ScopeColumn,
  shiftCtx,
  sqlError,
  unify,
} from './expr.ts';
import {
  collectGroupingCalls,
  expandGroupingSets,
  groupingArgs,
  hasGroupingSets,
  isGroupIdCall,
  planGroupingSets,
} from './grouping-sets.ts';
import { latenessPurge } from './lateness.ts';
import { widenToText } from './nested-expr.ts';
import { IGNORE_NULLS_ARRAY_AGG } from './null-treatment-syntax.ts';
import { planViewOrderLimit } from './order-limit.ts';
import type { SourceMap } from './parse.ts';
import { isPivotItem, mergePivotItems, pivotLocation, pivotSubquery } from './pivot.ts';
import type { Rel } from './rel.ts';
import { normalizeSelectForms, uniqueColumnNames } from './select-forms.ts';
import { type SqlType, sqlType, withNullable } from './sql-type.ts';
import { decorrelate, hasSubquery } from './subqueries.ts';
import { aggregateType } from './types-rules.ts';
import { isUnnestCall, planUnnest } from './unnest.ts';
import { usingJoin } from './using-join.ts';
import {
  joinGcRules,
  joinWaterlines,
  planDistinct,
  projectWaterlines,
  withGc,
  withWaterlines,
} from './waterline-plan.ts';
import { isWindowAggCall, planWindowAggs } from './window-agg-plan.ts';
import { overCalls, planRanked, rankBound } from './window-rank.ts';
import { planWindowTable } from './windows.ts';

export type { Ast } from './parse.ts';

export type { Rel } from './rel.ts';

type FromTree =
  | { readonly k: 'rel'; readonly rel: Rel; readonly cols: readonly ScopeColumn[] }
  | {
      readonly k: 'join';
      readonly kind: JoinKind;
      readonly left: FromTree;
      readonly right: FromTree;
      readonly on: Ast | null;
      readonly cols: readonly ScopeColumn[];
      readonly location: number | undefined;
    };

/** A predicate over a FromTree, with the index of the tree's first column in the predicate's column space. */
interface Pred {
  readonly b: Bound;
  readonly offset: number;
}

export interface PlannerOptions {
  /** Resolves a table or view name to its relation (null = unknown). */
  readonly resolve: (name: string) => Rel | null;
  readonly source: SourceMap;
  /**
   * Ad-hoc queries apply their top-level ORDER BY/LIMIT themselves (and pass the statement without them);
   * anywhere else ORDER BY ... LIMIT plans a top-k (`order-limit.ts`). Kept for callers; no longer read.
   */
  readonly allowOrderBy?: boolean;
  /** The program's user-defined functions. */
  readonly functions?: BindContext['functions'];
}

const JOIN_KINDS: Record<string, JoinKind> = {
  JOIN_INNER: 'inner',
  JOIN_LEFT: 'left',
  JOIN_RIGHT: 'right',
  JOIN_FULL: 'full',
};

export class Planner {
  readonly #c: Circuit;
  readonly #o: PlannerOptions;
  /** Common table expressions in scope (one map per enclosing WITH, innermost last). */
  readonly #ctes: Array<Map<string, Rel>> = [];
  /** Derived tables made from subqueries so far (for fresh aliases). */
  #subqueries = 0;

  /** Nodes a plan built and then stopped reading (clock-lift.ts), for {@link Planner.retireBypassed}. */
  readonly #bypassed: NodeId[] = [];
  /**
   * Subplans planned once per statement and read wherever the statement repeats them (common subexpressions):
   * window table functions by their call (alias aside), aggregates by input node, columns and functions.
   */
  readonly #shared = new Map<string, NodeId>();
  readonly #sharedRels = new Map<string, Rel>();

  /**
   * Ends a statement: retires (`Circuit.retire`) the nodes planning has bypassed since the last call that nothing
   * reads and that are not `keep` (the statement's result), and forgets the statement's shared subplans. Call
   * after planning a statement, before its state keys are read.
   */
  retireBypassed(keep: NodeId): void {
    for (const id of this.#bypassed.splice(0)) if (id !== keep) this.#c.retire(id);
    this.#shared.clear();
    this.#sharedRels.clear();
  }

  constructor(circuit: Circuit, options: PlannerOptions) {
    this.#c = circuit;
    this.#o = options;
  }

  #ctx(columns: readonly ScopeColumn[], extra: Partial<BindContext> = {}): BindContext {
    return { columns, source: this.#o.source, functions: this.#o.functions, ...extra };
  }

  #err(code: Parameters<typeof sqlError>[0], message: string, location: unknown, extra = {}): ServiceError {
    return sqlError(code, message, this.#ctx([]), location, extra);
  }

  // ------------------------------------------------------------------------------------------------------
  // SELECT

  planSelect(stmt: Ast): Rel {
    if (stmt.withClause) return this.#planWith(stmt);
    // in views, and in subqueries of ad-hoc queries (which apply only their own top-level ORDER BY/LIMIT)
    if (stmt.sortClause || stmt.limitCount || stmt.limitOffset)
      return planViewOrderLimit(stmt, {
        circuit: this.#c,
        source: this.#o.source,
        plan: (s) => this.planSelect(s),
      });
    if (stmt.op && stmt.op !== 'SETOP_NONE') return this.#planSetOp(stmt);
    if (stmt.valuesLists) return this.#planValues(stmt.valuesLists);
    if (
      hasSubquery(stmt.whereClause ?? null) ||
      hasSubquery(stmt.targetList ?? []) ||
      hasSubquery(stmt.havingClause ?? null)
    )
      stmt = this.#decorrelate(stmt);
    // the WINDOW clause and GROUP BY (a, b) (select-forms.ts)
    stmt = normalizeSelectForms(stmt, (message, at) => this.#err('SqlNameError', message, at));
    if (stmt.intoClause) throw this.#err('SqlUnsupported', 'SELECT INTO is not supported', undefined);

    this.#hintRankLimit(stmt);
    const from = this.#planFrom(stmt.fromClause ?? []);
    const scope = this.#ctx(from.cols);
    const where = stmt.whereClause ? bindPredicate(stmt.whereClause, { ...scope, clause: 'WHERE' }) : null;
    const filters: Pred[] = where ? (where.conj ?? [where]).map((b) => ({ b, offset: 0 })) : [];

    const targets = this.#expandTargets(stmt.targetList ?? [], from.cols);
    const aggCalls = new Map<string, Ast>();
    for (const t of targets) if (t.ast) collectAggregates(t.ast, aggCalls);
    if (stmt.havingClause) collectAggregates(stmt.havingClause, aggCalls);
    const grouped = (stmt.groupClause ?? []).length > 0 || aggCalls.size > 0;
    const distinct = Array.isArray(stmt.distinctClause) && stmt.distinctClause.length > 0;
    if (distinct && Object.keys(stmt.distinctClause[0] ?? {}).length > 0) {
      throw this.#err('SqlUnsupported', 'DISTINCT ON is not supported', undefined, {
        construct: 'DISTINCT ON',
      });
    }

    let rel: Rel;
    let outCols: ScopeColumn[];
    if (!grouped) {
      if (stmt.havingClause)
        throw this.#err(
          'SqlUnsupported',
          'HAVING without GROUP BY or aggregates is not supported',
          undefined,
        );
      if (targets.some((t) => t.ast && overCalls(t.ast).length > 0)) {
        // ROW_NUMBER()/RANK()/DENSE_RANK() OVER (...), see window-rank.ts
        const hint = this.#rankHints.get(stmt);
        const wc = {
          circuit: this.#c,
          source: this.#o.source,
          materialize: (exprs: Bound[]) => this.#materialize(from, filters, exprs, true),
        };
        ({ rel, cols: outCols } = targets.every((t) => !t.ast || overCalls(t.ast).every(isWindowAggCall))
          ? planWindowAggs(targets, from.cols, wc) // aggregates OVER, LAG/LEAD: window-agg-plan.ts
          : planRanked(targets, from.cols, { ...wc, ...(hint === undefined ? {} : { rankLimit: hint }) }));
      } else {
        const exprs = targets.map((t) => t.bound ?? bindExpr(t.ast, { ...scope, clause: 'the select list' }));
        outCols = targets.map((t, i) => ({ qualifier: null, name: t.name, type: (exprs[i] as Bound).type }));
        rel = this.#materialize(from, filters, exprs);
      }
    } else {
      ({ rel, outCols } = this.#planAggregate(stmt, from, filters, targets, aggCalls));
    }
    // a global aggregate (no GROUP BY, no HAVING) holds exactly one row; a one-row cross join is kept track of
    // for the aggregates over it (clock-lift.ts)
    const oneRow = grouped && (stmt.groupClause ?? []).length === 0 && !stmt.havingClause;
    const lifted = !grouped && !distinct ? rel.lifted : undefined;
    rel = {
      node: rel.node,
      cols: outCols,
      ...withWaterlines(rel.waterlines),
      ...(oneRow ? { oneRow } : {}),
      ...(lifted === undefined ? {} : { lifted }),
    };
    if (distinct) rel = planDistinct(this.#c, rel);
    return rel;
  }

  /**
   * `WITH a [(cols)] AS (query), b AS (...) SELECT ...`: each common table expression is planned once, in order
   * (a later one and the main query may read the earlier ones, an inner WITH may shadow an outer name), and
   * every reference reads the same operators' output.
   */
  #planWith(stmt: Ast): Rel {
    const w = stmt.withClause;
    if (w.recursive)
      throw this.#err('SqlUnsupported', 'WITH RECURSIVE is not supported', w.location, {
        construct: 'WITH RECURSIVE',
      });
    const scope = new Map<string, Rel>();
    this.#ctes.push(scope);
    try {
      for (const item of w.ctes as Ast[]) {
        const cte = item.CommonTableExpr;
        const name = cte.ctename as string;
        if (scope.has(name))
          throw this.#err(
            'SqlNameError',
            `WITH query name "${name}" specified more than once`,
            cte.location,
            {
              name,
            },
          );
        if (!cte.ctequery?.SelectStmt)
          throw this.#err('SqlUnsupported', 'a WITH query must be a SELECT', cte.location, {
            construct: 'WITH',
          });
        const rel = this.planSelect(cte.ctequery.SelectStmt);
        scope.set(name, {
          node: rel.node,
          cols: renameCols(rel.cols, null, cte.aliascolnames, cte.location),
        });
      }
      return this.planSelect({ ...stmt, withClause: undefined });
    } finally {
      this.#ctes.pop();
    }
  }

  /** Subqueries in WHERE, the select list and HAVING → LEFT JOINs with derived tables (subqueries.ts). */
  #decorrelate(stmt: Ast): Ast {
    const found = new Map<string, Ast>();
    collectAggregates(stmt.targetList ?? [], found);
    if (stmt.havingClause) collectAggregates(stmt.havingClause, found);
    const mode =
      (stmt.groupClause ?? []).length > 0
        ? 'grouped'
        : found.size > 0 || stmt.havingClause
          ? 'aggregate'
          : 'plain';
    return decorrelate(
      stmt,
      {
        columnsOf: (name) => (this.#cte(name) ?? this.#o.resolve(name))?.cols.map((c) => c.name) ?? null,
        fresh: () => `$sq${++this.#subqueries}`,
        error: (code, message, location) => this.#err(code, message, location, { construct: 'subquery' }),
      },
      AGGREGATE_NAMES,
      mode,
    );
  }

  /** A common table expression in scope under this name (innermost first), or null. */
  #cte(name: string): Rel | null {
    for (let i = this.#ctes.length - 1; i >= 0; i--) {
      const r = (this.#ctes[i] as Map<string, Rel>).get(name);
      if (r) return r;
    }
    return null;
  }

  /** Rank bounds found in an enclosing WHERE (`rn <= k`), by the subquery's SELECT node (window-rank.ts). */
  readonly #rankHints = new WeakMap<Ast, number>();

  /** `SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (...) AS rn ...) WHERE rn <= k`: remember k for the subquery. */
  #hintRankLimit(stmt: Ast): void {
    const from = stmt.fromClause as Ast[] | undefined;
    const sub = from?.length === 1 ? from[0]?.RangeSubselect?.subquery?.SelectStmt : undefined;
    if (!sub || !stmt.whereClause || (sub.op && sub.op !== 'SETOP_NONE')) return;
    for (const t of (sub.targetList ?? []) as Ast[]) {
      const rt = t.ResTarget;
      if (!rt?.name || !rt.val?.FuncCall?.over) continue;
      const k = rankBound(stmt.whereClause, rt.name as string);
      if (k !== undefined) this.#rankHints.set(sub, k);
    }
  }

  #planValues(lists: Ast[]): Rel {
    const rows: Bound[][] = lists.map((l) => (l.List.items as Ast[]).map((a) => bindExpr(a, this.#ctx([]))));
    const width = (rows[0] as Bound[]).length;
    if (rows.some((r) => r.length !== width))
      throw this.#err('SqlTypeError', 'VALUES lists must all be the same length', undefined);
    const cols: ScopeColumn[] = [];
    const unified: Bound[][] = rows.map(() => []);
    for (let j = 0; j < width; j++) {
      const col = unify(
        rows.map((r) => r[j] as Bound),
        this.#ctx([]),
        undefined,
        'VALUES',
      );
      col.forEach((b, i) => {
        (unified[i] as Bound[]).push(b);
      });
      cols.push({
        qualifier: null,
        name: `column${j + 1}`,
        type: { ...(col[0] as Bound).type, nullable: col.some((b) => b.type.nullable) },
      });
    }
    const values: Row[] = unified.map((r) => r.map((b) => b.gen(ROW_CTX)([], [])));
    return { node: this.#c.add(new ConstantOperator(values), []), cols };
  }

  #expandTargets(
    list: Ast[],
    cols: readonly ScopeColumn[],
  ): Array<{ name: string; ast: Ast | null; bound?: Bound; location?: number }> {
    const out: Array<{ name: string; ast: Ast | null; bound?: Bound; location?: number }> = [];
    for (const item of list) {
      const t = item.ResTarget;
      const val = t.val;
      const fields = val?.ColumnRef?.fields as Ast[] | undefined;
      if (fields?.some((f) => f.A_Star)) {
        const q = fields.length === 2 ? (fields[0].String.sval as string) : null;
        let any = false;
        for (const c of cols) {
          if (c.qualifier?.startsWith('$sq')) continue; // a decorrelated subquery's columns (subqueries.ts)
          if (c.qualifier === '$wsel' && c.name.startsWith('$w')) continue; // split windows (select-forms.ts)
          if (q === null && c.hidden) continue; // the second copy of a USING / NATURAL join column
          if (q === null || c.qualifier === q) {
            any = true;
            out.push({
              name: c.name,
              ast: {
                ColumnRef: {
                  fields: c.qualifier
                    ? [{ String: { sval: c.qualifier } }, { String: { sval: c.name } }]
                    : [{ String: { sval: c.name } }],
                },
              },
              bound: undefined,
              location: t.location,
            });
          }
        }
        if (!any)
          throw this.#err(
            'SqlNameError',
            q ? `missing FROM-clause entry for table "${q}"` : 'SELECT * with no tables',
            t.location,
            { name: q },
          );
        continue;
      }
      out.push({ name: t.name ?? deriveName(val), ast: val, location: t.location });
    }
    if (out.length === 0) throw this.#err('SqlUnsupported', 'a SELECT needs at least one column', undefined);
    return out;
  }

  // ------------------------------------------------------------------------------------------------------
  // aggregation

  #planAggregate(
    stmt: Ast,
    from: FromTree,
    filters: Pred[],
    targets: Array<{ name: string; ast: Ast | null; location?: number }>,
    aggCalls: Map<string, Ast>,
  ): { rel: Rel; outCols: ScopeColumn[] } {
    const scope = this.#ctx(from.cols);
    // GROUP BY items: expressions, output ordinals, or output aliases (GROUPING SETS: grouping-sets.ts).
    const resolveItem = (g: Ast): Ast => {
      if (g.A_Const && g.A_Const.ival === undefined) {
        throw this.#err('SqlTypeError', 'non-integer constant in GROUP BY', g.A_Const.location);
      }
      if (g.A_Const?.ival !== undefined) {
        const i = (g.A_Const.ival.ival ?? 0) as number;
        const t = targets[i - 1];
        if (!t?.ast)
          throw this.#err('SqlNameError', `GROUP BY position ${i} is not in select list`, g.A_Const.location);
        return t.ast;
      }
      const f = g.ColumnRef?.fields as Ast[] | undefined;
      if (f && f.length === 1 && f[0].String) {
        const name = f[0].String.sval as string;
        if (!from.cols.some((c) => c.name === name)) {
          const t = targets.find((x) => x.name === name && x.ast);
          if (t) return t.ast;
        }
      }
      return g;
    };
    const items = (stmt.groupClause ?? []) as Ast[];
    let sets: number[][] | null = null;
    let groupAsts: Ast[];
    if (hasGroupingSets(items)) {
      const gs = expandGroupingSets(items, resolveItem, astKey, (code, message, at) =>
        this.#err(code, message, at, { construct: 'GROUPING SETS' }),
      );
      groupAsts = gs.exprs;
      sets = gs.sets;
    } else groupAsts = items.map(resolveItem);
    const groupBound = groupAsts.map((g) => bindExpr(g, { ...scope, clause: 'GROUP BY' }));
    const aggList = [...aggCalls.entries()];
    const argBound: Bound[] = [];
    const functions: AggregateFunction[] = [];
    const aggTypes: SqlType[] = [];
    /** Per function, what identifies it for sharing (`#shared`), or null (not shared). */
    const sigs: Array<string | null> = [];
    for (const [, call] of aggList) {
      const fc = call.FuncCall;
      const raw = (fc.funcname[fc.funcname.length - 1].String.sval as string).toLowerCase();
      const name = (AGGREGATE_ALIASES[raw] ?? raw) as AggregateName;
      const shown = (
        raw === 's0me' ? 'some' : raw === IGNORE_NULLS_ARRAY_AGG ? 'array_agg' : raw
      ).toUpperCase();
      // COUNTIF(DISTINCT b) counts every TRUE row, as Feldera does (DISTINCT of a boolean is not applied)
      const distinct = fc.agg_distinct === true && name !== 'countif';
      if (fc.agg_order && name !== 'array_agg')
        throw this.#err('SqlUnsupported', `ORDER BY inside ${shown} is not supported`, fc.location);
      let filter: number | undefined;
      // ARRAY_AGG(x IGNORE NULLS): the call's FILTER gains `x IS NOT NULL`
      const aggFilter = raw === IGNORE_NULLS_ARRAY_AGG ? ignoreNullsFilter(fc) : fc.agg_filter;
      if (aggFilter) {
        const f = bindPredicate(aggFilter, { ...scope, clause: `FILTER of ${shown}` });
        filter = groupBound.length + argBound.length;
        argBound.push(f);
      }
      const opts = filter === undefined ? {} : { filter };
      if (fc.agg_star) {
        if (name !== 'count') throw this.#err('SqlTypeError', `${shown}(*) is not allowed`, fc.location);
        functions.push(makeAggregate('count', -1, null, false, opts));
        aggTypes.push(sqlType('BIGINT', false));
        sigs.push(filter === undefined ? 'count(*)' : null);
        continue;
      }
      const args = (fc.args ?? []) as Ast[];
      const arity =
        name === 'arg_min' || name === 'arg_max' || name === '$map' || TWO_ARGUMENT_AGGREGATES.has(name)
          ? 2
          : 1;
      if (args.length !== arity)
        throw this.#err(
          'SqlTypeError',
          `${shown} takes exactly ${arity === 1 ? 'one argument' : 'two arguments'}`,
          fc.location,
        );
      const bound = args.map((a) => {
        let b = bindExpr(a, { ...scope, clause: `an argument of ${shown}` });
        if (b.unknownLiteral)
          b = castBound({ ...b, unknownLiteral: false }, sqlType('VARCHAR', false, { length: null }));
        return b;
      });
      const t = (bound[0] as Bound).type;
      let result: SqlType;
      try {
        result = aggregateType(
          name,
          shown,
          bound.map((b) => b.type),
        );
      } catch (e) {
        throw this.#err('SqlTypeError', (e as Error).message, fc.location);
      }
      const index = groupBound.length + argBound.length;
      argBound.push(...bound);
      const second = arity === 2 ? { column: index + 1, type: (bound[1] as Bound).type } : undefined;
      if (name === 'array_agg') {
        // ARRAY_AGG(x ORDER BY ...): the sort keys are further argument columns (sql/aggregates.ts)
        const order = ((fc.agg_order ?? []) as Ast[]).map((sb) => {
          const column = groupBound.length + argBound.length;
          argBound.push(bindExpr(sb.SortBy.node, { ...scope, clause: `ORDER BY of ${shown}` }));
          const desc = sb.SortBy.sortby_dir === 'SORTBY_DESC';
          const nulls = sb.SortBy.sortby_nulls;
          return {
            column,
            desc,
            nullsFirst: nulls === 'SORTBY_NULLS_DEFAULT' ? desc : nulls === 'SORTBY_NULLS_FIRST',
          };
        });
        functions.push(
          makeAggregate(name, index, t, distinct, { ...opts, order, rowStart: groupBound.length }),
        );
        aggTypes.push(result);
        sigs.push(null);
        continue;
      }
      functions.push(makeAggregate(name, index, t, distinct, second ? { ...opts, second } : opts));
      aggTypes.push(result);
      sigs.push(
        filter === undefined && second === undefined
          ? `${name}(${distinct ? 'distinct ' : ''}${index}:${JSON.stringify(t)})`
          : null,
      );
    }
    const pre = [...groupBound, ...argBound];
    // GROUPING(...) calls: one constant column per call and grouping set (grouping-sets.ts)
    const groupingCalls = new Map<string, Ast>();
    for (const t of targets) if (t.ast) collectGroupingCalls(t.ast, astKey, groupingCalls);
    if (stmt.havingClause) collectGroupingCalls(stmt.havingClause, astKey, groupingCalls);
    if (groupingCalls.size > 0) sets ??= [groupBound.map((_, i) => i)];
    // over a one-row cross join (NOW() in the select list of a derived table): below the join (clock-lift.ts)
    const lift =
      sets === null && filters.length === 0 && from.k === 'rel'
        ? liftAggregate(from.rel, pre, groupBound.length)
        : null;
    // the same aggregate of the same relation's columns in this statement (q5's two subqueries over one HOP):
    // planned once, read by both
    const shareKey =
      lift === null &&
      sets === null &&
      from.k === 'rel' &&
      filters.length === 0 &&
      pre.every((b) => b.colRef !== undefined) &&
      sigs.every((x) => x !== null)
        ? `agg:${from.rel.node}:${groupBound.length}:${pre.map((b) => b.colRef).join(',')}:${sigs.join(',')}`
        : null;
    const shared = shareKey === null ? undefined : this.#shared.get(shareKey);
    const input =
      lift === null && shared === undefined
        ? this.#materialize(from, filters, pre.length > 0 ? pre : [], true)
        : null;
    const callArgs = [...groupingCalls.values()].map((call) =>
      isGroupIdCall(call)
        ? null
        : groupingArgs(call).map((a) => this.#groupingArg(a, groupAsts, groupBound, scope)),
    );
    let aggNode: NodeId;
    if (shared !== undefined) aggNode = shared;
    else if (lift !== null) {
      const purge = latenessPurge(lift.waterlines, groupBound);
      aggNode = planLiftedAggregate(this.#c, lift, { keyCount: groupBound.length, functions, ...purge });
      this.#bypassed.push(lift.bypassed);
    } else if (sets) {
      // LATENESS: each grouping set discards its groups below a waterline of its own keys
      const w = from.k === 'rel' ? from.rel.waterlines : undefined;
      aggNode = planGroupingSets(
        this.#c,
        (input as Rel).node,
        groupBound.length,
        sets,
        functions,
        callArgs,
        (set) =>
          latenessPurge(
            w,
            set.map((k) => groupBound[k] as Bound),
          ),
      );
    } else {
      const purge = latenessPurge(from.k === 'rel' ? from.rel.waterlines : undefined, groupBound);
      aggNode = this.#c.add(new AggregateOperator({ keyCount: groupBound.length, functions, ...purge }), [
        (input as Rel).node,
      ]);
      if (shareKey !== null) this.#shared.set(shareKey, aggNode);
    }

    // Scope after aggregation: group keys, aggregate results, then GROUPING values.
    const aggCols: ScopeColumn[] = [
      ...groupBound.map((b, i) => ({
        qualifier: null,
        name: `group${i}`,
        type: sets && !sets.every((s) => s.includes(i)) ? withNullable(b.type, true) : b.type,
      })),
      ...aggTypes.map((t, i) => ({ qualifier: null, name: `agg${i}`, type: t })),
      ...callArgs.map((_, i) => ({ qualifier: null, name: `grouping${i}`, type: sqlType('BIGINT', false) })),
    ];
    const groupedMap = new Map<string, number>();
    groupAsts.forEach((g, i) => {
      groupedMap.set(astKey(g), i);
    });
    aggList.forEach(([k], i) => {
      groupedMap.set(k, groupBound.length + i);
    });
    [...groupingCalls.keys()].forEach((k, i) => {
      groupedMap.set(k, groupBound.length + aggList.length + i);
    });
    const colMap = new Map<number, number>();
    groupBound.forEach((b, i) => {
      if (b.cols.length === 1 && b.literal === undefined && isPlainColumn(groupAsts[i]))
        colMap.set(b.cols[0] as number, i);
    });
    const post: BindContext = this.#ctx(aggCols, {
      grouped: groupedMap,
      aggregateScope: true,
      groupedColumns: { columns: from.cols, map: colMap },
    });
    let node = aggNode;
    if (stmt.havingClause) {
      const h = bindPredicate(stmt.havingClause, { ...post, clause: 'HAVING' });
      const ev = h.gen(ROW_CTX);
      node = this.#c.add(new FilterOperator((r) => ev(r, r) === true), [node]);
    }
    const exprs = targets.map((t) => bindExpr(t.ast, { ...post, clause: 'the select list' }));
    const evs = exprs.map((e) => e.gen(ROW_CTX));
    const keepsAll = aggCols.every((_, i) => exprs.some((e) => e.colRef === i));
    node = this.#c.add(new MapOperator(projector(evs), keepsAll), [node]);
    const outCols = targets.map((t, i) => ({
      qualifier: null,
      name: t.name,
      type: (exprs[i] as Bound).type,
    }));
    // LATENESS: a group key column keeps its key expression's waterline (over grouping sets only one that every
    // set groups by: a NULL-ed column carries none)
    const allW = projectWaterlines(groupBound, from.k === 'rel' ? from.rel.waterlines : undefined);
    const keyW =
      sets && allW !== undefined
        ? new Map([...allW].filter(([i]) => (sets as number[][]).every((s) => s.includes(i))))
        : allW;
    const outW = projectWaterlines(exprs, keyW);
    return { rel: { node, cols: outCols, ...withWaterlines(outW) }, outCols };
  }

  /** The grouping expression an argument of GROUPING(...) names (the same expression, or the same column). */
  #groupingArg(
    arg: Ast,
    groupAsts: readonly Ast[],
    groupBound: readonly Bound[],
    scope: BindContext,
  ): number {
    const key = astKey(arg);
    const same = groupAsts.findIndex((g) => astKey(g) === key);
    if (same >= 0) return same;
    if (isPlainColumn(arg)) {
      const b = bindExpr(arg, { ...scope, clause: 'GROUPING' });
      const i = groupBound.findIndex(
        (g, j) => isPlainColumn(groupAsts[j]) && g.cols.length === 1 && g.cols[0] === b.cols[0],
      );
      if (i >= 0) return i;
    }
    throw this.#err(
      'SqlTypeError',
      'an argument of GROUPING must be one of the GROUP BY expressions',
      (arg as Ast)[Object.keys(arg)[0] as string]?.location,
    );
  }

  // ------------------------------------------------------------------------------------------------------
  // set operations

  #planSetOp(stmt: Ast): Rel {
    const l = this.planSelect(stmt.larg);
    const r = this.planSelect(stmt.rarg);
    const opName = (stmt.op as string).replace('SETOP_', '');
    if (l.cols.length !== r.cols.length) {
      throw this.#err(
        'SqlTypeError',
        `each ${opName} query must have the same number of columns`,
        undefined,
        {
          left: l.cols.length,
          right: r.cols.length,
        },
      );
    }
    const lb: Bound[] = [];
    const rb: Bound[] = [];
    const cols: ScopeColumn[] = [];
    l.cols.forEach((lc, i) => {
      const rc = r.cols[i] as ScopeColumn;
      const pair = [colBound(i, lc.type), colBound(i, rc.type)];
      // strings with numbers or booleans: VARCHAR, as Feldera types them (nested-expr.ts)
      const [a, b] = (widenToText(pair, true) ??
        unify(pair, this.#ctx([]), undefined, `${opName} column ${i + 1}`)) as [Bound, Bound];
      lb.push(a);
      rb.push(b);
      cols.push({
        qualifier: null,
        name: lc.name,
        type: { ...a.type, nullable: a.type.nullable || b.type.nullable },
      });
    });
    const conv = (rel: Rel, bs: Bound[]): NodeId =>
      bs.every((b, i) => b.colRef === i)
        ? rel.node
        : this.#c.add(new MapOperator(projector(bs.map((b) => b.gen(ROW_CTX)))), [rel.node]);
    const ln = conv(l, lb);
    const rn = conv(r, rb);
    const all = stmt.all === true;
    let node: NodeId;
    switch (stmt.op) {
      case 'SETOP_UNION':
        node = this.#c.add(new UnionAllOperator([1, 1]), [ln, rn]);
        if (!all) node = this.#c.add(new DistinctOperator(), [node]);
        break;
      case 'SETOP_INTERSECT':
        node = this.#c.add(new SetOpOperator(all ? 'intersect_all' : 'intersect'), [ln, rn]);
        break;
      case 'SETOP_EXCEPT':
        node = this.#c.add(new SetOpOperator(all ? 'except_all' : 'except'), [ln, rn]);
        break;
      default:
        throw this.#err('SqlUnsupported', `set operation ${opName} is not supported`, undefined);
    }
    return { node, cols };
  }

  // ------------------------------------------------------------------------------------------------------
  // FROM

  #planFrom(items0: Ast[]): FromTree {
    const items = mergePivotItems(items0, (code, message, at) => this.#err(code, message, at)); // pivot.ts
    if (items.length === 0) {
      return { k: 'rel', rel: { node: this.#c.add(new ConstantOperator([[]]), []), cols: [] }, cols: [] };
    }
    let tree = this.#fromItem(items[0]);
    for (const it of items.slice(1)) {
      if (it.RangeFunction && isUnnestCall(it.RangeFunction)) {
        tree = this.#unnest(tree, it.RangeFunction); // reads the items to its left (implicitly LATERAL)
        continue;
      }
      if (it.RangeSubselect?.lateral) {
        tree = this.#lateral(tree, it.RangeSubselect);
        continue;
      }
      const right = this.#fromItem(it);
      tree = {
        k: 'join',
        kind: 'inner',
        left: tree,
        right,
        on: null,
        cols: [...tree.cols, ...right.cols],
        location: undefined,
      };
    }
    checkDuplicateQualifiers(tree);
    return tree;
  }

  #fromItem(ast: Ast): FromTree {
    if (ast.h$pivot) return this.#fromItem(this.#pivot(ast.h$pivot.input, ast.h$pivot.item)); // PIVOT (pivot.ts)
    if (isPivotItem(ast))
      throw this.#err(
        'SqlUnsupported',
        'PIVOT is supported after a table, view or WITH query in a FROM list, not in a JOIN',
        pivotLocation(ast),
        { construct: 'PIVOT' },
      );
    if (ast.RangeVar) {
      const rv = ast.RangeVar;
      if (rv.schemaname)
        throw this.#err('SqlUnsupported', 'schema-qualified names are not supported', rv.location);
      const rel = this.#cte(rv.relname) ?? this.#o.resolve(rv.relname);
      if (!rel)
        throw this.#err('SqlNameError', `relation "${rv.relname}" does not exist`, rv.location, {
          name: rv.relname,
        });
      const q = (rv.alias?.aliasname as string | undefined) ?? rv.relname;
      const cols = renameCols(rel.cols, q, rv.alias?.colnames, rv.location);
      return { k: 'rel', rel: { ...rel, cols }, cols };
    }
    if (ast.RangeSubselect) {
      const rs = ast.RangeSubselect;
      if (rs.lateral)
        throw this.#err('SqlUnsupported', 'LATERAL is not supported', undefined, { construct: 'LATERAL' });
      const sub = this.planSelect(rs.subquery.SelectStmt);
      const q = (rs.alias?.aliasname as string | undefined) ?? null;
      // duplicate names renamed as Calcite does (select-forms.ts)
      const cols = renameCols(uniqueColumnNames(sub.cols), q, rs.alias?.colnames, undefined);
      const rel: Rel = {
        node: sub.node,
        cols,
        ...withWaterlines(sub.waterlines),
        ...(sub.oneRow === true ? { oneRow: true } : {}),
        ...(sub.lifted === undefined ? {} : { lifted: sub.lifted }),
      };
      return { k: 'rel', rel, cols };
    }
    if (ast.JoinExpr) {
      const j = ast.JoinExpr;
      const kind = JOIN_KINDS[j.jointype as string];
      if (!kind) throw this.#err('SqlUnsupported', `join type ${j.jointype} is not supported`, undefined);
      const left = this.#fromItem(j.larg);
      if (isAsofCondition(j.quals)) {
        const ctx = {
          circuit: this.#c,
          ctx: (cols: readonly ScopeColumn[], clause: string) => this.#ctx(cols, { clause }),
        };
        const right = this.#materialize(this.#fromItem(j.rarg), [], null);
        const rel = planAsofJoin(j.quals, kind, this.#materialize(left, [], null), right, ctx);
        return { k: 'rel', rel, cols: rel.cols };
      }
      if (j.rarg.RangeFunction && isUnnestCall(j.rarg.RangeFunction) && kind === 'inner' && !j.quals)
        return this.#unnest(left, j.rarg.RangeFunction);
      const right = this.#fromItem(j.rarg);
      let lcols = kind === 'right' || kind === 'full' ? left.cols.map(nullableCol) : left.cols;
      let rcols = kind === 'left' || kind === 'full' ? right.cols.map(nullableCol) : right.cols;
      if (j.alias) throw this.#err('SqlUnsupported', 'aliases on joins are not supported', undefined);
      let on: Ast | null = j.quals ?? null;
      if (j.usingClause || j.isNatural) {
        const u = usingJoin(j, kind, lcols, rcols, (code, message, extra) =>
          this.#err(code, message, firstLocation([j.rarg]), extra),
        );
        ({ lcols, rcols, on } = u);
      }
      return {
        k: 'join',
        kind,
        left,
        right,
        on,
        cols: [...lcols, ...rcols],
        location: undefined,
      };
    }
    if (ast.RangeFunction && isUnnestCall(ast.RangeFunction)) return this.#unnest(null, ast.RangeFunction);
    if (ast.RangeFunction) {
      // TABLE(TUMBLE(...)) / TABLE(HOP(...)), see windows.ts; the same call twice in a statement is planned once
      const rf = ast.RangeFunction;
      const key = `window:${astKey({ ...rf, alias: undefined })}`;
      let wrel = this.#sharedRels.get(key);
      if (wrel === undefined) {
        wrel = planWindowTable(rf, {
          circuit: this.#c,
          source: this.#o.source,
          resolve: this.#o.resolve,
        }).rel;
        this.#sharedRels.set(key, wrel);
      }
      const w = { rel: wrel, qualifier: (rf.alias?.aliasname as string | undefined) ?? null };
      const cols = renameCols(w.rel.cols, w.qualifier, ast.RangeFunction.alias?.colnames, undefined);
      return { k: 'rel', rel: { ...w.rel, cols }, cols };
    }
    throw this.#err('SqlUnsupported', `unsupported FROM item ${Object.keys(ast)[0]}`, undefined);
  }

  /** `input PIVOT (...)` as its grouped subquery (pivot.ts); the input is a table, view or WITH query. */
  #pivot(input: Ast, item: Ast): Ast {
    const fail = (code: Parameters<typeof sqlError>[0], message: string, at: unknown) =>
      this.#err(code, message, at, { construct: 'PIVOT' });
    const rv = input.RangeVar;
    const rel = rv && !rv.schemaname ? (this.#cte(rv.relname) ?? this.#o.resolve(rv.relname)) : null;
    if (!rel) {
      if (rv) return input; // planned next: the unknown name's own error
      throw fail(
        'SqlUnsupported',
        'PIVOT of a subquery is not supported: name the subquery in a WITH clause',
        pivotLocation(item),
      );
    }
    const renamed = (rv.alias?.colnames as Ast[] | undefined)?.map((c) => c.String?.sval as string);
    const names = renamed ?? rel.cols.filter((c) => !c.hidden).map((c) => c.name);
    return pivotSubquery(input, item, names, fail);
  }

  /**
   * `FROM a, LATERAL (SELECT e1 AS c1, ...) AS x`: a SELECT without FROM over the columns to its left adds
   * computed columns (a projection of the left rows, so it stays a stateless map); other LATERAL subqueries
   * are `SqlUnsupported`.
   */
  #lateral(left: FromTree, rs: Ast): FromTree {
    const sub = rs.subquery?.SelectStmt;
    const found = new Map<string, Ast>();
    if (sub?.targetList) collectAggregates(sub.targetList, found);
    const simple =
      sub &&
      !sub.fromClause &&
      !sub.whereClause &&
      !sub.groupClause &&
      !sub.havingClause &&
      !sub.distinctClause &&
      !sub.sortClause &&
      !sub.limitCount &&
      !sub.withClause &&
      !sub.valuesLists &&
      (!sub.op || sub.op === 'SETOP_NONE') &&
      found.size === 0 &&
      !hasSubquery(sub.targetList ?? []);
    if (!simple)
      throw this.#err(
        'SqlUnsupported',
        'LATERAL is supported for a SELECT without FROM (computed columns); join a subquery instead',
        undefined,
        { construct: 'LATERAL' },
      );
    const scope = this.#ctx(left.cols, { clause: 'LATERAL' });
    const targets = this.#expandTargets(sub.targetList ?? [], []);
    const exprs = targets.map((t) => bindExpr(t.ast, scope));
    const q = (rs.alias?.aliasname as string | undefined) ?? null;
    const added = renameCols(
      targets.map((t, i) => ({ qualifier: null, name: t.name, type: (exprs[i] as Bound).type })),
      q,
      rs.alias?.colnames,
      undefined,
    );
    const cols = [...left.cols, ...added];
    const rel = this.#materialize(
      left,
      [],
      [...left.cols.map((c, i) => colBound(i, c.type)), ...exprs],
      true,
    );
    return { k: 'rel', rel: { node: rel.node, cols }, cols };
  }

  /**
   * Turns a FROM tree into operators, with `filters` applied and `project` (if any) as the output columns.
   * `project` and `filters` are bound over the tree's columns (predicates carry the tree's column offset).
   */
  /** `left` (or one empty row) flat-mapped by UNNEST (`unnest.ts`): its columns, then UNNEST's. */
  #unnest(left: FromTree | null, rf: Ast): FromTree {
    const rel: Rel =
      left === null
        ? { node: this.#c.add(new ConstantOperator([[]]), []), cols: [] }
        : this.#materialize(left, [], null);
    const plan = planUnnest(rf, this.#ctx(rel.cols, { clause: 'UNNEST' }));
    const node = this.#c.add(new FlatMapOperator(plan.expand), [rel.node]);
    const cols = [...rel.cols, ...plan.cols];
    return { k: 'rel', rel: { node, cols }, cols };
  }

  #materialize(tree: FromTree, filters: Pred[], project: Bound[] | null, forceProject = false): Rel {
    if (tree.k === 'rel') {
      let node = tree.rel.node;
      if (filters.length > 0) {
        const evs = filters.map((f) => f.b.gen(shiftCtx(f.offset)));
        const pred =
          evs.length === 1
            ? (
                (e: Ev) => (r: Row) =>
                  e(r, r) === true
              )(evs[0] as Ev)
            : (r: Row) => {
                for (const e of evs) if (e(r, r) !== true) return false;
                return true;
              };
        node = this.#c.add(new FilterOperator(pred), [node]);
      }
      if (project !== null && (forceProject || !isIdentity(project, tree.cols.length))) {
        node = this.#c.add(new MapOperator(projector(project.map((b) => b.gen(ROW_CTX)))), [node]);
        return {
          node,
          cols: project.map((b, i) => ({ qualifier: null, name: `c${i}`, type: b.type })),
          ...withWaterlines(projectWaterlines(project, tree.rel.waterlines)),
        };
      }
      return {
        node,
        cols: tree.cols,
        unique: filters.length >= 0 ? tree.rel.unique : undefined,
        ...withWaterlines(tree.rel.waterlines),
      };
    }

    const lw = tree.left.cols.length;
    const kind = tree.kind;
    const offsetOf = (p: Pred) => p.offset;
    const local = (p: Pred) => p.b.cols.map((c) => c - offsetOf(p));
    const onCtx = this.#ctx(tree.cols, { clause: 'ON' });
    const onParts: Pred[] = [];
    if (tree.on !== null) {
      const on = bindPredicate(tree.on, onCtx);
      for (const b of on.conj ?? [on]) onParts.push({ b, offset: 0 });
    }
    // Predicates from ON are bound over this tree's columns (offset 0 in local space); convert the incoming
    // filters to the same local space by remembering their own offset.
    const leftF: Pred[] = [];
    const rightF: Pred[] = [];
    const residual: Pred[] = [];
    const keysL: Pred[] = [];
    const keysR: Pred[] = [];
    const post: Pred[] = [];
    const consider = (p: Pred, fromOn: boolean) => {
      const cols = local(p);
      const leftOnly = cols.length > 0 && cols.every((c) => c < lw);
      const rightOnly = cols.length > 0 && cols.every((c) => c >= lw);
      if (p.b.literal && p.b.literal.value === true) return;
      // WHERE predicates on the preserved side of an outer join filter that side first (same result)
      if (!fromOn && kind === 'left' && leftOnly) {
        leftF.push(p);
        return;
      }
      if (!fromOn && kind === 'right' && rightOnly) {
        rightF.push({ b: p.b, offset: p.offset + lw });
        return;
      }
      if (!fromOn && kind !== 'inner') {
        post.push(p);
        return;
      }
      const pushLeft = kind === 'inner' || kind === 'right';
      const pushRight = kind === 'inner' || kind === 'left';
      if (leftOnly && pushLeft) leftF.push(p);
      else if (rightOnly && pushRight) rightF.push({ b: p.b, offset: p.offset + lw });
      else if (p.b.eq) {
        const [a, b] = p.b.eq;
        const ac = a.cols.map((c) => c - p.offset);
        const bc = b.cols.map((c) => c - p.offset);
        const aLeft = ac.length > 0 && ac.every((c) => c < lw);
        const aRight = ac.length > 0 && ac.every((c) => c >= lw);
        const bLeft = bc.length > 0 && bc.every((c) => c < lw);
        const bRight = bc.length > 0 && bc.every((c) => c >= lw);
        if (aLeft && bRight) {
          keysL.push({ b: a, offset: p.offset });
          keysR.push({ b, offset: p.offset + lw });
        } else if (aRight && bLeft) {
          keysL.push({ b, offset: p.offset });
          keysR.push({ b: a, offset: p.offset + lw });
        } else residual.push(p);
      } else residual.push(p);
    };
    for (const p of onParts) consider(p, true);
    for (const p of filters) consider(p, false);

    const left = this.#materialize(tree.left, leftF, null);
    const right = this.#materialize(tree.right, rightF, null);
    const rw = right.cols.length;
    const keyFn = (ks: Pred[]) => {
      const evs = ks.map((k) => k.b.gen(shiftCtx(k.offset)));
      if (evs.length === 0) return () => 0;
      const only = ks[0] as Pred;
      if (ks.length === 1 && only.b.colRef !== undefined) {
        const i = only.b.colRef - only.offset;
        return (r: Row): unknown => {
          const v = r[i] as Value;
          return v === null ? NULL_KEY : typeof v === 'object' ? encodeValue(v) : v;
        };
      }
      if (evs.length === 1) {
        const e = evs[0] as Ev;
        return (r: Row): unknown => {
          const v = e(r, r);
          return v === null ? NULL_KEY : typeof v === 'object' ? encodeValue(v) : v;
        };
      }
      return (r: Row): unknown => {
        let s = '';
        for (const e of evs) {
          const v = e(r, r);
          if (v === null) return NULL_KEY;
          s += encodeValue(v);
        }
        return s;
      };
    };
    const idFn = (rel: Rel) => {
      const u = rel.unique;
      if (u && u.length === 1) {
        const i = u[0] as number;
        return (r: Row): unknown => {
          const v = r[i] as Value;
          return typeof v === 'object' && v !== null ? encodeValue(v) : v;
        };
      }
      return (r: Row): unknown => encodeRow(r);
    };
    // The residual is bound over this tree's columns (+ the predicate's offset): evaluate on (l, r) directly.
    const resEvs = residual.map((p) => p.b.gen(joinCtx(lw, p.offset)));
    const residualFn =
      resEvs.length === 0
        ? null
        : (l: Row, r: Row) => {
            for (const e of resEvs) if (e(l, r) !== true) return false;
            return true;
          };
    const fuse = project !== null && post.length === 0;
    let combine: (l: Row, r: Row) => Row;
    if (fuse && (project as Bound[]).every((b) => b.colRef !== undefined)) {
      combine = columnCombiner(
        (project as Bound[]).map((b) => b.colRef as number),
        lw,
      );
    } else if (fuse) {
      const evs = (project as Bound[]).map((b) => b.gen(joinCtx(lw)));
      combine = combiner(evs);
    } else {
      combine = (l, r) => {
        const out = new Array(lw + rw);
        for (let i = 0; i < lw; i++) out[i] = l[i];
        for (let i = 0; i < rw; i++) out[lw + i] = r[i];
        return out;
      };
    }
    let node = this.#c.add(
      new JoinOperator({
        kind,
        leftKey: keyFn(keysL),
        rightKey: keyFn(keysR),
        leftId: idFn(left),
        rightId: idFn(right),
        leftUnique: left.unique?.length === 1,
        rightUnique: right.unique?.length === 1,
        residual: residualFn,
        combine,
        leftWidth: lw,
        rightWidth: rw,
        ...withGc(joinGcRules(kind, keysL, keysR, residual, lw, left.waterlines, right.waterlines)),
      }),
      [left.node, right.node],
    );
    const joinedW = joinWaterlines(keysL, keysR, left.waterlines, right.waterlines, lw);
    // every row of the left side with the right side's one row (a decorrelated NOW(), clock-lift.ts)
    const lifted =
      fuse &&
      (kind === 'inner' || kind === 'left') &&
      tree.right.k === 'rel' &&
      tree.right.rel.oneRow === true &&
      keysL.length === 0 &&
      residual.length === 0 &&
      leftF.length === 0 &&
      rightF.length === 0
        ? { base: left, one: right, exprs: project as Bound[] }
        : undefined;
    if (fuse)
      return {
        node,
        cols: (project as Bound[]).map((b, i) => ({ qualifier: null, name: `c${i}`, type: b.type })),
        ...withWaterlines(projectWaterlines(project as Bound[], joinedW)),
        ...(lifted === undefined ? {} : { lifted }),
      };
    if (post.length > 0) {
      const evs = post.map((p) => p.b.gen(shiftCtx(p.offset)));
      node = this.#c.add(
        new FilterOperator((r) => {
          for (const e of evs) if (e(r, r) !== true) return false;
          return true;
        }),
        [node],
      );
    }
    if (project !== null) {
      node = this.#c.add(new MapOperator(projector(project.map((b) => b.gen(ROW_CTX)))), [node]);
      return {
        node,
        cols: project.map((b, i) => ({ qualifier: null, name: `c${i}`, type: b.type })),
        ...withWaterlines(projectWaterlines(project, joinedW)),
      };
    }
    return { node, cols: tree.cols, ...withWaterlines(joinedW) };
  }
}

// ---------------------------------------------------------------------------------------------------------
// helpers

function bindPredicate(ast: Ast, ctx: BindContext): Bound {
  const b = bindExpr(ast, ctx);
  if (b.type.kind === 'BOOLEAN') return b;
  if (b.type.kind === 'NULL') return { ...b, type: sqlType('BOOLEAN', true) };
  throw sqlError(
    'SqlTypeError',
    `argument of ${ctx.clause ?? 'a condition'} must be BOOLEAN, not ${b.type.kind}`,
    ctx,
    firstLocation([ast]),
  );
}

function firstLocation(list: Ast[] | undefined): number | undefined {
  const a = list?.[0];
  if (!a) return undefined;
  const inner = a[Object.keys(a)[0] as string];
  if (typeof inner?.location === 'number' && inner.location >= 0) return inner.location;
  if (inner?.node) return firstLocation([inner.node]);
  return undefined;
}

/**
 * Collects the aggregate calls of an expression tree in depth-first pre-order (keyed by {@link astKey}),
 * iteratively so that long expressions do not exhaust the stack. Aggregates nested in an aggregate's arguments
 * are an error; windowed aggregates are unsupported; subqueries are not entered.
 */
function collectAggregates(root: Ast, out: Map<string, Ast>): void {
  // [node, inside an aggregate's arguments]; children pushed in reverse keep the pre-order of a recursive walk
  const stack: Array<[Ast, boolean]> = [[root, false]];
  while (stack.length > 0) {
    const [ast, inside] = stack.pop() as [Ast, boolean];
    if (ast === null || typeof ast !== 'object') continue;
    if (Array.isArray(ast)) {
      for (let i = ast.length - 1; i >= 0; i--) stack.push([ast[i], inside]);
      continue;
    }
    if (ast.FuncCall) {
      const fc = ast.FuncCall;
      const parts = (fc.funcname as Ast[]).map((n) => n.String?.sval as string);
      const name = (parts[parts.length - 1] ?? '').toLowerCase();
      if (AGGREGATE_NAMES.has(name) && parts.length === 1) {
        if (fc.over) continue; // a window aggregate (window-agg-plan.ts), not a GROUP BY one
        if (inside) throw new ServiceError('SqlTypeError', 'aggregate function calls cannot be nested');
        out.set(astKey(ast), ast);
        stack.push([fc.args ?? [], true]);
        continue;
      }
    }
    if (ast.SelectStmt || ast.SubLink) continue;
    const values = Object.values(ast);
    for (let i = values.length - 1; i >= 0; i--) stack.push([values[i], inside]);
  }
}

function isPlainColumn(ast: Ast): boolean {
  return ast?.ColumnRef !== undefined;
}

function deriveName(val: Ast): string {
  if (val?.ColumnRef) {
    const f = val.ColumnRef.fields as Ast[];
    return (f[f.length - 1].String?.sval as string) ?? '?column?';
  }
  if (val?.FuncCall) {
    const f = val.FuncCall.funcname as Ast[];
    const n = f[f.length - 1].String.sval as string;
    const special: Record<string, string> = { btrim: 'btrim', ltrim: 'ltrim', rtrim: 'rtrim' };
    return special[n] ?? n;
  }
  if (val?.TypeCast) {
    const inner = deriveName(val.TypeCast.arg);
    if (inner !== '?column?') return inner;
    const names = val.TypeCast.typeName.names as Ast[];
    return names[names.length - 1].String.sval as string;
  }
  if (val?.CaseExpr) return 'case';
  if (val?.CoalesceExpr) return 'coalesce';
  if (val?.A_Expr?.kind === 'AEXPR_NULLIF') return 'nullif';
  return '?column?';
}

function nullableCol(c: ScopeColumn): ScopeColumn {
  return { ...c, type: withNullable(c.type, true) };
}

function colBound(i: number, type: SqlType): Bound {
  return { type, cols: [i], gen: (ctx: EvalCtx) => ctx.col(i), colRef: i };
}

function renameCols(
  cols: readonly ScopeColumn[],
  qualifier: string | null,
  colnames: Ast[] | undefined,
  location: unknown,
): ScopeColumn[] {
  const names = (colnames ?? []).map((n) => n.String.sval as string);
  if (names.length > cols.length) {
    throw new ServiceError(
      'SqlNameError',
      `alias has ${names.length} columns but the relation has ${cols.length}`,
      { location },
    );
  }
  return cols.map((c, i) => ({ qualifier, name: names[i] ?? c.name, type: c.type }));
}

function checkDuplicateQualifiers(tree: FromTree): void {
  const quals: string[] = [];
  const walk = (t: FromTree) => {
    if (t.k === 'rel') {
      const q = t.cols[0]?.qualifier;
      if (q) quals.push(q);
    } else {
      walk(t.left);
      walk(t.right);
    }
  };
  walk(tree);
  const seen = new Set<string>();
  for (const q of quals) {
    if (seen.has(q))
      throw new ServiceError('SqlNameError', `table name "${q}" specified more than once`, { name: q });
    seen.add(q);
  }
}

function isIdentity(project: Bound[], width: number): boolean {
  if (project.length !== width) return false;
  return project.every((b, i) => b.colRef === i);
}

function projector(evs: Ev[]): (r: Row) => Row {
  const n = evs.length;
  if (n === 1) {
    const e0 = evs[0] as Ev;
    return (r) => [e0(r, r)];
  }
  if (n === 2) {
    const e0 = evs[0] as Ev;
    const e1 = evs[1] as Ev;
    return (r) => [e0(r, r), e1(r, r)];
  }
  return (r) => {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = (evs[i] as Ev)(r, r);
    return out;
  };
}

/** Output row made of plain columns of the (left ++ right) layout: copies without per-column closures. */
function columnCombiner(cols: number[], lw: number): (l: Row, r: Row) => Row {
  if (cols.length === 1) {
    const c = cols[0] as number;
    return c < lw ? (l) => [l[c] as Value] : (_l, r) => [r[c - lw] as Value];
  }
  const fromLeft = cols.map((c) => c < lw);
  const idx = cols.map((c) => (c < lw ? c : c - lw));
  const n = cols.length;
  return (l, r) => {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = fromLeft[i] ? l[idx[i] as number] : r[idx[i] as number];
    return out;
  };
}

function combiner(evs: Ev[]): (l: Row, r: Row) => Row {
  const n = evs.length;
  if (n === 0) return () => [];
  if (n === 1) {
    const e0 = evs[0] as Ev;
    return (l, r) => [e0(l, r)];
  }
  if (n === 2) {
    const e0 = evs[0] as Ev;
    const e1 = evs[1] as Ev;
    return (l, r) => [e0(l, r), e1(l, r)];
  }
  return (l, r) => {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = (evs[i] as Ev)(l, r);
    return out;
  };
}

/** The FILTER of an `ARRAY_AGG(x IGNORE NULLS)` call: its own (if any) AND `x IS NOT NULL`. */
function ignoreNullsFilter(fc: Ast): Ast {
  const arg = ((fc.args ?? []) as Ast[])[0];
  if (arg === undefined) return fc.agg_filter;
  const notNull = { NullTest: { arg, nulltesttype: 'IS_NOT_NULL', location: fc.location } };
  return fc.agg_filter ? { BoolExpr: { boolop: 'AND_EXPR', args: [fc.agg_filter, notNull] } } : notNull;
}
