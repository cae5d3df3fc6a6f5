/**
 * `JOIN ... USING (c, ...)` and `NATURAL JOIN` (the common column names): the join condition becomes
 * `l.c = r.c AND ...` on the qualified columns, and the second copy of each named column is hidden — reachable
 * only qualified (`r.c`) and left out of `SELECT *` — so an unqualified `c` is the preserved side's copy (the
 * left one, the right one for a RIGHT JOIN). `FULL JOIN ... USING`, whose merged column would be
 * `COALESCE(l.c, r.c)`, is refused with `SqlUnsupported` (write `FULL JOIN ... ON`). `SELECT *` keeps the
 * columns in FROM order (Postgres lists the USING columns first).
 *
 * State: none.
 */
import type { ServiceError } from '../errors/service-error.ts';
import type { ScopeColumn } from './bound.ts';
import type { Ast } from './parse.ts';

type Fail = (
  code: 'SqlNameError' | 'SqlUnsupported',
  message: string,
  extra?: Record<string, unknown>,
) => ServiceError;

const ref = (c: ScopeColumn): Ast => ({
  ColumnRef: { fields: [{ String: { sval: c.qualifier } }, { String: { sval: c.name } }] },
});

/** The join's condition and its two sides' columns with the duplicates hidden. */
export function usingJoin(
  j: Ast,
  kind: 'inner' | 'left' | 'right' | 'full',
  lcols: readonly ScopeColumn[],
  rcols: readonly ScopeColumn[],
  fail: Fail,
): { lcols: ScopeColumn[]; rcols: ScopeColumn[]; on: Ast | null } {
  const what = j.isNatural ? 'NATURAL JOIN' : 'JOIN ... USING';
  if (kind === 'full')
    throw fail('SqlUnsupported', `FULL ${what} is not supported; write FULL JOIN ... ON`, {
      construct: what,
    });
  const visible = (cols: readonly ScopeColumn[], name: string) =>
    cols.flatMap((c, i) => (c.name === name && !c.hidden ? [i] : []));
  let names: string[];
  if (j.isNatural) {
    names = [];
    for (const c of lcols)
      if (!c.hidden && !names.includes(c.name) && visible(rcols, c.name).length > 0) names.push(c.name);
  } else {
    names = ((j.usingClause ?? []) as Ast[]).map((n) => n.String.sval as string);
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n))
        throw fail('SqlNameError', `column "${n}" appears more than once in USING clause`, { name: n });
      seen.add(n);
    }
  }
  const l = lcols.slice();
  const r = rcols.slice();
  const conds: Ast[] = [];
  for (const n of names) {
    const li = visible(lcols, n);
    const ri = visible(rcols, n);
    for (const [side, idx] of [
      ['left', li],
      ['right', ri],
    ] as const) {
      if (idx.length === 0)
        throw fail(
          'SqlNameError',
          `column "${n}" specified in USING clause does not exist in ${side} table`,
          {
            name: n,
          },
        );
      if (idx.length > 1)
        throw fail('SqlNameError', `common column name "${n}" appears more than once in ${side} table`, {
          name: n,
        });
    }
    const lc = lcols[li[0] as number] as ScopeColumn;
    const rc = rcols[ri[0] as number] as ScopeColumn;
    if (lc.qualifier === null || rc.qualifier === null)
      throw fail('SqlUnsupported', `${what} needs named inputs: give the subquery in FROM an alias`, {
        construct: what,
      });
    conds.push({
      A_Expr: { kind: 'AEXPR_OP', name: [{ String: { sval: '=' } }], lexpr: ref(lc), rexpr: ref(rc) },
    });
    if (kind === 'right') l[li[0] as number] = { ...lc, hidden: true };
    else r[ri[0] as number] = { ...rc, hidden: true };
  }
  const on =
    conds.length === 0
      ? null
      : conds.length === 1
        ? conds[0]
        : { BoolExpr: { boolop: 'AND_EXPR', args: conds } };
  return { lcols: l, rcols: r, on };
}
