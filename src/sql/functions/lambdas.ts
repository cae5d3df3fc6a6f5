/**
 * Feldera's higher-order array functions, whose second argument is a lambda `x -> expression` (libpg-query reads
 * it as the operator `->` applied to a column name and the body):
 * - `TRANSFORM(array, x -> e)`: the array of e evaluated for each element (NULL array → NULL);
 * - `ARRAY_EXISTS(array, x -> p)`: TRUE when p is TRUE for some element, else NULL when p is NULL for some,
 *   else FALSE (an empty array is FALSE; a NULL array is NULL).
 * The body may read the element (the parameter shadows a column of the same name) and the row's other columns;
 * in a GROUP BY query's select list only the parameter (bind the lambda in a subquery to read group keys).
 * {@link lambdaOf} also reads the two-parameter form `(k, x) -> expression` (a ROW of names on the left of `->`),
 * which `variant-lambdas.ts` binds; these two functions take one parameter only.
 *
 * State: none. Invariant: the body is evaluated once per element, in order, with no state kept between rows.
 */
import type { Row, Value } from '../../zset/value.ts';
import { type BindContext, type Bound, type EvalCtx, fold, type ScopeColumn, sqlError } from '../bound.ts';
import type { Ast } from '../parse.ts';
import { type SqlType, sqlType, typeToSql } from '../sql-type.ts';
import { SqlArray } from '../values/collections.ts';

type Bind = (a: Ast, c: BindContext) => Bound;

/** A lambda: its parameter names (one for `x -> e`, several for `(k, v) -> e`), body and position. */
export interface Lambda {
  readonly params: readonly string[];
  readonly body: Ast;
  readonly location: unknown;
}

function paramName(a: Ast): string | null {
  const fields = a?.ColumnRef?.fields as Ast[] | undefined;
  return fields?.length === 1 && fields[0].String ? (fields[0].String.sval as string) : null;
}

function arrowOf(ast: Ast): Lambda | null {
  const e = ast?.A_Expr;
  if (e?.kind !== 'AEXPR_OP' || e.name?.[0]?.String?.sval !== '->') return null;
  // `(k, v) -> e` arrives as a ROW of column names on the left
  const items = e.lexpr?.RowExpr ? ((e.lexpr.RowExpr.args ?? []) as Ast[]) : [e.lexpr];
  const params = items.map(paramName);
  if (params.length === 0 || params.some((x) => x === null)) return null;
  return { params: params as string[], body: e.rexpr, location: e.location };
}

/**
 * The lambda's parameter name and body, or null when `ast` is not `name -> body`. `->` binds tighter than
 * comparisons and AND/OR, so `x -> x > 1` arrives as `(x -> x) > 1`: the arrow is found on the left spine and
 * replaced by its right operand.
 */
export function lambdaOf(ast: Ast): Lambda | null {
  const direct = arrowOf(ast);
  if (direct) return direct;
  const left = (n: Ast): [string, string | number] | null => {
    if (n?.A_Expr?.lexpr) return ['A_Expr', 'lexpr'];
    if (n?.BoolExpr?.args?.length) return ['BoolExpr', 0];
    if (n?.NullTest?.arg) return ['NullTest', 'arg'];
    if (n?.BooleanTest?.arg) return ['BooleanTest', 'arg'];
    return null;
  };
  const rebuild = (n: Ast): Lambda | null => {
    const step = left(n);
    if (step === null) return null;
    const [kind, key] = step;
    const inner = n[kind];
    const child = kind === 'BoolExpr' ? inner.args[0] : inner[key];
    const arrow = arrowOf(child);
    const found = arrow ?? rebuild(child);
    if (!found) return null;
    const replaced = arrow ? arrow.body : found.body;
    const copy =
      kind === 'BoolExpr'
        ? { ...inner, args: [replaced, ...inner.args.slice(1)] }
        : { ...inner, [key]: replaced };
    return { ...found, body: { [kind]: copy } };
  };
  return rebuild(ast);
}

/** Binds `TRANSFORM(...)` / `ARRAY_EXISTS(...)`; undefined for any other function name. */
export function bindLambdaCall(name: string, n: Ast, ctx: BindContext, bind: Bind): Bound | undefined {
  if (name !== 'transform' && name !== 'array_exists') return undefined;
  const shown = name.toUpperCase();
  const args = (n.args ?? []) as Ast[];
  const lambda = args.length === 2 ? lambdaOf(args[1]) : null;
  if (lambda === null || lambda.params.length !== 1)
    throw sqlError(
      'SqlTypeError',
      `${shown} takes an array and a lambda: ${shown}(array, x -> expression)`,
      ctx,
      n.location,
    );
  const arr = bind(args[0] as Ast, ctx);
  if (arr.type.kind !== 'ARRAY' && arr.type.kind !== 'NULL')
    throw sqlError(
      'SqlTypeError',
      `${shown} needs an array as its first argument, got ${typeToSql(arr.type)}`,
      ctx,
      n.location,
    );
  const element: SqlType = arr.type.element ?? sqlType('NULL', true);
  const param = lambda.params[0] as string;
  // the body's scope: the row's columns (those named like the parameter only qualified) and the parameter last
  const k = ctx.columns.length;
  const columns: ScopeColumn[] = [
    ...ctx.columns.map((c) => (c.name === param ? { ...c, hidden: true } : c)),
    { qualifier: null, name: param, type: { ...element, nullable: true } },
  ];
  const body = bind(lambda.body, {
    ...ctx,
    columns,
    grouped: undefined,
    aggregateScope: undefined,
    groupedColumns: undefined,
    clause: `the lambda of ${shown}`,
  });
  if (name === 'array_exists' && body.type.kind !== 'BOOLEAN' && body.type.kind !== 'NULL')
    throw sqlError(
      'SqlTypeError',
      `the lambda of ARRAY_EXISTS must be a condition (BOOLEAN), got ${typeToSql(body.type)}`,
      ctx,
      lambda.location,
    );
  const cols = [...new Set([...arr.cols, ...body.cols.filter((c) => c !== k)])].sort((a, b) => a - b);
  const type =
    name === 'transform'
      ? sqlType('ARRAY', arr.type.nullable, {
          element: body.type.kind === 'NULL' ? sqlType('NULL', true) : body.type,
        })
      : sqlType('BOOLEAN', true);
  const exists = name === 'array_exists';
  return fold({
    type,
    cols,
    gen: (c: EvalCtx) => {
      const arrEv = arr.gen(c);
      let current: Value = null;
      const bodyEv = body.gen({ col: (i) => (i === k ? () => current : c.col(i)) });
      return (a: Row, b: Row) => {
        const v = arrEv(a, b);
        if (v === null) return null;
        const items = (v as SqlArray).items;
        if (!exists)
          return new SqlArray(
            items.map((x) => {
              current = x;
              return bodyEv(a, b);
            }),
          );
        let unknown = false;
        for (const x of items) {
          current = x;
          const r = bodyEv(a, b);
          if (r === true) return true;
          if (r === null) unknown = true;
        }
        return unknown ? null : false;
      };
    },
  });
}
