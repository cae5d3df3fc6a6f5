/**
 * Calcite's group-window form of tumbling windows, as Feldera accepts it:
 *
 *   SELECT TUMBLE_START(ts, INTERVAL '1' DAY) AS w, TUMBLE_END(ts, INTERVAL '1' DAY), SUM(v)
 *   FROM t GROUP BY TUMBLE(ts, INTERVAL '1' DAY [, offset])
 *
 * {@link rewriteGroupWindows} rewrites a query tree (every nested SELECT) before planning: a `TUMBLE(...)` group
 * key becomes the scalar `TUMBLE_START(...)` with the same arguments, so the select list's `TUMBLE_START(...)`
 * is that group key, and `TUMBLE_END(args)` becomes `TUMBLE_START(args) + size`. {@link tumbleStart} is the
 * scalar: the start of the window of width `size` (a positive constant day-time interval), aligned to `offset`
 * (default 0), that holds `ts` — floor((ts − offset) / size) · size + offset, the same bounds as the
 * `TABLE(TUMBLE(...))` table function (`windows.ts`); a DATE counts as its midnight, the result is a TIMESTAMP,
 * NULL for a NULL time. (`HOP(...)` as a group key is not supported: a row belongs to several windows.)
 * It is non-decreasing in `ts` (`Bound.monotoneOf`), so grouping by it over a LATENESS column bounds the state.
 *
 * State: none.
 */
import type { Value } from '../zset/value.ts';
import { type Bound, sqlError } from './bound.ts';
import type { FunctionCall } from './functions/types.ts';
import type { Ast } from './parse.ts';
import { sqlType } from './sql-type.ts';
import { USECS_PER_DAY } from './values/temporal.ts';

const fname = (fc: Ast): string =>
  String(((fc?.funcname ?? []) as Ast[]).at(-1)?.String?.sval ?? '').toLowerCase();

const named = (fc: Ast, name: string): Ast => ({
  FuncCall: { ...fc, funcname: [{ String: { sval: name } }] },
});

/** Rewrites the group-window forms in a query tree (in place where it can; returns the root). */
export function rewriteGroupWindows(root: Ast): Ast {
  const stack: Array<[Ast, string | number, Ast]> = [];
  const visit = (parent: Ast, key: string | number) => {
    const v = parent[key];
    if (v !== null && typeof v === 'object') stack.push([parent, key, v]);
  };
  const holder = { root };
  visit(holder, 'root');
  while (stack.length > 0) {
    const [parent, key, v] = stack.pop() as [Ast, string | number, Ast];
    if (Array.isArray(v)) {
      v.forEach((_x, i) => {
        visit(v, i);
      });
      continue;
    }
    if (Array.isArray(v.groupClause)) {
      const g = v.groupClause as Ast[];
      g.forEach((item, i) => {
        if (item?.FuncCall && fname(item.FuncCall) === 'tumble') g[i] = named(item.FuncCall, 'tumble_start');
      });
    }
    if (v.FuncCall && fname(v.FuncCall) === 'tumble_end' && (v.FuncCall.args ?? []).length >= 2) {
      parent[key] = {
        A_Expr: {
          kind: 'AEXPR_OP',
          name: [{ String: { sval: '+' } }],
          lexpr: named(v.FuncCall, 'tumble_start'),
          rexpr: v.FuncCall.args[1],
          location: v.FuncCall.location,
        },
      };
      visit(parent[key].A_Expr.lexpr.FuncCall, 'args');
      continue;
    }
    for (const k of Object.keys(v)) visit(v, k);
  }
  return holder.root;
}

/** `TUMBLE_START(ts, size [, offset])`: see the module header. */
export function tumbleStart(call: FunctionCall): Bound {
  call.argc(2, 3);
  const { args } = call;
  const ts = args[0] as Bound;
  if (ts.type.kind !== 'TIMESTAMP' && ts.type.kind !== 'DATE' && ts.type.kind !== 'NULL')
    throw sqlErr(call, `TUMBLE needs a TIMESTAMP or DATE time column, got ${ts.type.kind}`);
  const width = (i: number, what: string): number => {
    const b = args[i] as Bound;
    const v = b.literal?.value;
    if (b.type.kind !== 'INTERVAL_DT' || typeof v !== 'number')
      throw sqlErr(call, `TUMBLE's ${what} must be a constant day-time interval such as INTERVAL '1' HOUR`);
    return v;
  };
  const size = width(1, 'size');
  if (size <= 0) throw sqlErr(call, "TUMBLE's size must be positive");
  const offset = args.length > 2 ? width(2, 'offset') : 0;
  const isDate = ts.type.kind === 'DATE';
  const start = (v: Value): Value => {
    if (v === null) return null;
    const t = isDate ? (v as number) * USECS_PER_DAY : (v as number);
    return Math.floor((t - offset) / size) * size + offset;
  };
  return {
    type: sqlType('TIMESTAMP', ts.type.nullable),
    cols: ts.cols,
    gen: (e) => {
      const f = ts.gen(e);
      return (a, b) => start(f(a, b) as Value);
    },
    // non-decreasing in ts: a GROUP BY TUMBLE(ts, ...) over a LATENESS column discards closed windows
    ...(ts.colRef === undefined ? {} : { monotoneOf: { col: ts.colRef, map: start } }),
  };
}

function sqlErr(call: FunctionCall, message: string): Error {
  return sqlError('SqlTypeError', message, call.ctx, call.loc);
}

/** The registry table (`functions/index.ts`). */
export const GROUP_WINDOW_FUNCTIONS = { tumble_start: tumbleStart } as const;
