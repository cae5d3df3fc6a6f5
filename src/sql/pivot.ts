/**
 * Feldera's PIVOT (reference page aggregates): `FROM t PIVOT (agg [AS a], ... FOR col IN (v1 [AS n1], ...))`
 * turns the rows of each group into columns. It is planned as the grouped query it stands for:
 *
 *   SELECT k1, k2, ..., agg FILTER (WHERE col = v1) AS n1, ... FROM t GROUP BY k1, k2, ...
 *
 * where the keys are t's columns that neither an aggregate nor `col` reads (in t's order), followed by one
 * column per value (per value and aggregate: `n1_a`, when there are several aggregates). A value without an
 * alias is named by its literal. Rows whose `col` is none of the values count in no column; a key group whose
 * rows match no value still has its row (of NULLs / zero counts), as in Calcite. The aggregates keep their
 * own FILTER (ANDed with the value's). It is as incremental as any GROUP BY.
 *
 * `pivot-syntax.ts` writes the clause as a call of `p$vt` after the pivoted item; {@link mergePivotItems}
 * pairs the two and {@link pivotSubquery} builds the subquery's AST. The pivoted item must be a table, view or
 * WITH query in a FROM list (a subquery: name it with WITH; inside a JOIN: `SqlUnsupported`).
 *
 * State: none.
 */
import { walkAst } from './ast-walk.ts';
import type { Ast } from './parse.ts';
import { PIVOT_CALL } from './pivot-syntax.ts';

type Fail = (
  code: 'SqlUnsupported' | 'SqlTypeError' | 'SqlNameError',
  message: string,
  location: unknown,
) => Error;

function pivotCall(item: Ast): Ast | undefined {
  const fc = item?.RangeFunction?.functions?.[0]?.List?.items?.[0]?.FuncCall;
  return fc?.funcname?.length === 1 && fc.funcname[0]?.String?.sval === PIVOT_CALL ? fc : undefined;
}

export function isPivotItem(item: Ast): boolean {
  return pivotCall(item) !== undefined;
}

/** The source position of a PIVOT clause (its `p$vt` call). */
export function pivotLocation(item: Ast): unknown {
  return pivotCall(item)?.location;
}

/** FROM items with each `p$vt(...)` call merged into the item before it: `{ h$pivot: { input, item } }`. */
export function mergePivotItems(items: readonly Ast[], fail: Fail): Ast[] {
  const out: Ast[] = [];
  for (const it of items) {
    if (!isPivotItem(it)) {
      out.push(it);
      continue;
    }
    const input = out.pop();
    if (input === undefined || input.h$pivot)
      throw fail('SqlUnsupported', 'PIVOT must follow a table, view or WITH query', pivotCall(it)?.location);
    out.push({ h$pivot: { input, item: it } });
  }
  return out;
}

const aliasOf = (a: Ast): string | null => {
  const names = a?.TypeCast?.typeName?.names as Ast[] | undefined;
  return names ? (names[names.length - 1]?.String?.sval as string) : null;
};
const exprOf = (a: Ast): Ast => (a?.TypeCast && aliasOf(a) !== null ? a.TypeCast.arg : a);

function valueName(v: Ast, fail: Fail, location: unknown): string {
  const c = v?.A_Const;
  if (c?.sval) return c.sval.sval as string;
  if (c?.ival) return String(c.ival.ival ?? 0);
  if (c?.boolval) return String(c.boolval.boolval ?? false).toUpperCase();
  throw fail(
    'SqlTypeError',
    'PIVOT: give each IN value that is not a literal a name (value AS name)',
    location,
  );
}

/** The grouped subquery (a RangeSubselect with the clause's alias) that `input PIVOT (...)` stands for. */
export function pivotSubquery(input: Ast, item: Ast, inputColumns: readonly string[], fail: Fail): Ast {
  const fc = pivotCall(item) as Ast;
  const loc = fc.location;
  const args = (fc.args ?? []) as Ast[];
  const last = args[args.length - 1];
  if (args.length < 2 || last?.A_Expr?.kind !== 'AEXPR_IN')
    throw fail(
      'SqlTypeError',
      'PIVOT takes aggregates and FOR column IN (values): PIVOT (SUM(x) FOR c IN (1, 2))',
      loc,
    );
  const forCol = last.A_Expr.lexpr as Ast;
  const forFields = forCol?.ColumnRef?.fields as Ast[] | undefined;
  if (!forFields?.[forFields.length - 1]?.String)
    throw fail('SqlUnsupported', 'PIVOT FOR takes one column (not a list or an expression)', loc);
  const aggs = args.slice(0, -1).map((a) => ({ expr: exprOf(a), alias: aliasOf(a) }));
  for (const a of aggs)
    if (!a.expr?.FuncCall) throw fail('SqlTypeError', 'PIVOT takes aggregate calls before FOR', loc);
  if (aggs.length > 1 && aggs.some((a) => a.alias === null))
    throw fail('SqlTypeError', 'PIVOT with several aggregates: name each one (SUM(x) AS s)', loc);
  const values = ((last.A_Expr.rexpr?.List?.items ?? []) as Ast[]).map((v) => {
    const expr = exprOf(v);
    return { expr, name: aliasOf(v) ?? valueName(expr, fail, loc) };
  });
  // the columns the aggregates and FOR read are not keys
  const used = new Set<string>([forFields[forFields.length - 1].String.sval as string]);
  for (const a of aggs)
    walkAst(a.expr, (n: Ast) => {
      const f = n?.ColumnRef?.fields as Ast[] | undefined;
      const s = f?.[f.length - 1]?.String?.sval;
      if (typeof s === 'string') used.add(s);
      return undefined;
    });
  const keys = inputColumns.filter((c) => !used.has(c));
  const col = (name: string): Ast => ({ ColumnRef: { fields: [{ String: { sval: name } }] } });
  const targets: Ast[] = keys.map((k) => ({ ResTarget: { name: k, val: col(k) } }));
  for (const v of values)
    for (const a of aggs) {
      const match: Ast = {
        A_Expr: {
          kind: 'AEXPR_OP',
          name: [{ String: { sval: '=' } }],
          lexpr: forCol,
          rexpr: v.expr,
          location: loc,
        },
      };
      const own = a.expr.FuncCall.agg_filter as Ast | undefined;
      const aggFilter = own ? { BoolExpr: { boolop: 'AND_EXPR', args: [own, match] } } : match;
      targets.push({
        ResTarget: {
          name: aggs.length === 1 ? v.name : `${v.name}_${a.alias}`,
          val: { FuncCall: { ...a.expr.FuncCall, agg_filter: aggFilter } },
        },
      });
    }
  const select: Ast = {
    targetList: targets,
    fromClause: [input],
    limitOption: 'LIMIT_OPTION_DEFAULT',
    op: 'SETOP_NONE',
  };
  if (keys.length > 0) select.groupClause = keys.map(col);
  const alias = item.RangeFunction.alias;
  return { RangeSubselect: { subquery: { SelectStmt: select }, ...(alias ? { alias } : {}) } };
}
