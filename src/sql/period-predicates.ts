/**
 * Feldera's (Calcite's, SQL:2011's) period predicates: `p1 OVERLAPS p2`, `p1 CONTAINS p2`, `p1 CONTAINS x`,
 * `p1 EQUALS p2`, `p1 PRECEDES p2`, `p1 IMMEDIATELY PRECEDES p2`, `p1 SUCCEEDS p2`, `p1 IMMEDIATELY SUCCEEDS p2`,
 * where a period is `(start, end)` or `(start, interval)` (end = start + interval) of one DATE, TIME or
 * TIMESTAMP type, and a single value x is the period (x, x).
 *
 * - Syntax: the dialect pre-pass (`rewritePeriodPredicates` in `period-predicates-syntax.ts`, called by `dialect.ts`) turns the operator
 *   word(s) after a parenthesized pair into a Postgres operator symbol of the same length or shorter (padded):
 *   `@@#&` OVERLAPS, `@@#@` CONTAINS, `@@#=` EQUALS, `@@#<` PRECEDES, `@@#<<` IMMEDIATELY PRECEDES, `@@#>`
 *   SUCCEEDS, `@@#>>` IMMEDIATELY SUCCEEDS; Postgres parses `(a, b) @@#& (c, d)` as an operator on two rows.
 *   The binder hands operators starting `@@#` to {@link bindPeriodPredicate}.
 * - Semantics (Calcite's): each period is first ordered (s = the smaller end, e = the larger), then
 *   OVERLAPS: e1 >= s2 AND e2 >= s1 (closed periods: sharing an end point overlaps, unlike Postgres's
 *   OVERLAPS); CONTAINS: s1 <= s2 AND e1 >= e2; EQUALS: s1 = s2 AND e1 = e2; PRECEDES: e1 <= s2; IMMEDIATELY
 *   PRECEDES: e1 = s2; SUCCEEDS: s1 >= e2; IMMEDIATELY SUCCEEDS: s1 = e2. The ordering is `CASE WHEN a <= b THEN
 *   a ELSE b END` (and the converse), so with one NULL end the start is NULL and the end the other value; the
 *   comparisons then follow SQL's three-valued logic. Operands of other types, or of two different types, are `SqlTypeError` "Cannot apply 'OP' ...".
 *
 * State: none.
 */
import type { BindContext, Bound } from './bound.ts';
import { sqlError } from './bound.ts';
import type { Ast } from './parse.ts';
import { PERIOD_OPS as OPS } from './period-predicates-syntax.ts';
import { typeToSql } from './sql-type.ts';

const a = (op: string, lexpr: Ast, rexpr: Ast, location: unknown): Ast => ({
  A_Expr: { kind: 'AEXPR_OP', name: [{ String: { sval: op } }], lexpr, rexpr, location },
});
const and = (x: Ast, y: Ast, location: unknown): Ast => ({
  BoolExpr: { boolop: 'AND_EXPR', args: [x, y], location },
});
const pick = (cond: Ast, then: Ast, otherwise: Ast, location: unknown): Ast => ({
  CaseExpr: { args: [{ CaseWhen: { expr: cond, result: then, location } }], defresult: otherwise, location },
});

const TEMPORAL = new Set(['DATE', 'TIME', 'TIMESTAMP']);

/**
 * Binds a period predicate (an operator `@@#...` from the pre-pass): checks the operands' types, then binds the
 * equivalent comparisons. Undefined when `op` is not one of them.
 */
export function bindPeriodPredicate(
  op: string,
  n: Ast,
  ctx: BindContext,
  bind: (x: Ast, c: BindContext) => Bound,
): Bound | undefined {
  const name = OPS[op];
  if (name === undefined) return undefined;
  const loc = n.location;
  const pair = (x: Ast): Ast[] | null => {
    const args = x?.RowExpr?.args as Ast[] | undefined;
    return args?.length === 2 ? args : null;
  };
  const left = pair(n.lexpr);
  const right = pair(n.rexpr) ?? (name === 'CONTAINS' ? [n.rexpr, n.rexpr] : null);
  const fail = (types: string): never => {
    throw sqlError(
      'SqlTypeError',
      `Cannot apply '${name}' to arguments of type ${types}: it needs two periods (start, end) or (start, interval) of one DATE, TIME or TIMESTAMP type${name === 'CONTAINS' ? ', or a period and a value' : ''}`,
      ctx,
      loc,
    );
  };
  if (left === null || right === null) return fail('other than periods');
  const bounds = [...left, ...right].map((x) => bind(x, ctx));
  const period = (bs: Bound[]) => `(${bs.map((b) => typeToSql(b.type)).join(', ')})`;
  const single = n.rexpr?.RowExpr === undefined;
  const shown = `${period(bounds.slice(0, 2))} and ${single ? typeToSql((bounds[2] as Bound).type) : period(bounds.slice(2))}`;
  const [s1, e1, s2, e2] = bounds as [Bound, Bound, Bound, Bound];
  const key = (b: Bound) => `${b.type.kind}${b.type.withTimeZone ? ' TZ' : ''}`;
  const kind = key(s1);
  const isInterval = (b: Bound) => b.type.kind === 'INTERVAL_YM' || b.type.kind === 'INTERVAL_DT';
  const fits = (start: Bound, end: Bound) =>
    TEMPORAL.has(start.type.kind) && key(start) === kind && (key(end) === kind || isInterval(end));
  if (!fits(s1, e1) || !fits(s2, e2) || (single && isInterval(e2))) fail(shown);
  // each period as (start, end), the end of (start, interval) being start + interval; then ordered
  const ends = (x: Ast[], end: Bound): [Ast, Ast] => {
    const [s, e] = x as [Ast, Ast];
    const last = isInterval(end) ? a('+', s, e, loc) : e;
    return [pick(a('<=', s, last, loc), s, last, loc), pick(a('<=', s, last, loc), last, s, loc)];
  };
  const [p1s, p1e] = ends(left, e1);
  const [p2s, p2e] = ends(right, e2);
  const ast: Ast = {
    OVERLAPS: and(a('>=', p1e, p2s, loc), a('>=', p2e, p1s, loc), loc),
    CONTAINS: and(a('<=', p1s, p2s, loc), a('>=', p1e, p2e, loc), loc),
    EQUALS: and(a('=', p1s, p2s, loc), a('=', p1e, p2e, loc), loc),
    PRECEDES: a('<=', p1e, p2s, loc),
    'IMMEDIATELY PRECEDES': a('=', p1e, p2s, loc),
    SUCCEEDS: a('>=', p1s, p2e, loc),
    'IMMEDIATELY SUCCEEDS': a('=', p1s, p2e, loc),
  }[name];
  return bind(ast, ctx);
}
