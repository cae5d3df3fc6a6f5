/**
 * `NOW()` as Feldera has it: a clock input, not a function of the wall clock at evaluation time. A program whose
 * statements call `NOW()` gets a hidden one-row input table {@link NOW_TABLE} (`now TIMESTAMP NOT NULL`) and
 * every `NOW()` call is rewritten (on the parsed AST, before planning) into the scalar subquery
 * `(SELECT MAX(now) FROM now)` (in a COALESCE, so it is NOT NULL as in Feldera), which subqueries.ts decorrelates into a join with that one-row relation. The
 * controller (src/controller/controller.ts) changes the table's row (old −1, new +1) at a step when the clock has
 * advanced, so every view that uses `NOW()` is maintained by the ordinary incremental operators: a filter
 * `ts >= NOW() - INTERVAL '1' HOUR` retracts rows as they age out. Temporal filters (a top-level WHERE comparison
 * or BETWEEN calling NOW(), {@link rewriteTemporalFilters}, run first) read the clock from a one-row relation joined
 * into FROM instead, so the join discards the rows that aged out (the clock table's value is its waterline,
 * program.ts): the state stays bounded as in Feldera.
 *
 * The clock is the step's wall-clock time in µs rounded down to `clock_resolution_usecs` (runtime_config,
 * default 1 s as Feldera's); the value each step used is journaled under exactly_once, so replay reproduces it.
 *
 * State: none (AST rewrites). Invariant: a rewritten program reads NOW() only through the table.
 */
import type { Ast } from './parse.ts';

/** The hidden clock table's name and its one column's name. */
export const NOW_TABLE = 'now';
export const NOW_COLUMN = 'now';
/** Feldera's default clock resolution: one second. */
export const DEFAULT_CLOCK_RESOLUTION_USECS = 1_000_000;

/** The DDL of the clock table (compiled like a user table). */
export const NOW_TABLE_DDL = `CREATE TABLE ${NOW_TABLE} (${NOW_COLUMN} TIMESTAMP NOT NULL) WITH ('materialized' = 'true')`;

function isNowCall(n: Ast): boolean {
  const f = n.FuncCall;
  if (f === undefined || f === null) return false;
  const names = f.funcname as Ast[] | undefined;
  const last = names?.[names.length - 1]?.String?.sval;
  return (
    typeof last === 'string' &&
    last.toLowerCase() === 'now' &&
    names?.length === 1 &&
    (f.args === undefined || f.args.length === 0) &&
    f.agg_star !== true &&
    f.over === undefined
  );
}

/**
 * `COALESCE((SELECT MAX(now) FROM now), TIMESTAMP '1970-01-01 00:00:00')`: NOT NULL as Feldera types NOW() (the
 * clock table holds its row from the first step on, so the fallback is never the answer in a pipeline).
 */
function clockSubquery(location: number): Ast {
  return {
    CoalesceExpr: {
      args: [
        clockSublink(location),
        {
          TypeCast: {
            arg: { A_Const: { sval: { sval: '1970-01-01 00:00:00' }, location } },
            typeName: {
              names: [{ String: { sval: 'pg_catalog' } }, { String: { sval: 'timestamp' } }],
              typemod: -1,
              location,
            },
            location: -1,
          },
        },
      ],
      location,
    },
  };
}

function clockSublink(location: number): Ast {
  return {
    SubLink: {
      subLinkType: 'EXPR_SUBLINK',
      subselect: {
        SelectStmt: {
          targetList: [
            {
              ResTarget: {
                val: {
                  FuncCall: {
                    funcname: [{ String: { sval: 'max' } }],
                    args: [{ ColumnRef: { fields: [{ String: { sval: NOW_COLUMN } }], location } }],
                    funcformat: 'COERCE_EXPLICIT_CALL',
                    location,
                  },
                },
                location,
              },
            },
          ],
          fromClause: [{ RangeVar: { relname: NOW_TABLE, inh: true, relpersistence: 'p', location } }],
          limitOption: 'LIMIT_OPTION_DEFAULT',
          op: 'SETOP_NONE',
        },
      },
      location,
    },
  };
}

/**
 * Rewrites every `NOW()` call in the statement's AST (in place) into the clock subquery; returns how many it
 * rewrote.
 */
export function rewriteNow(ast: Ast): number {
  return replaceNow(ast, clockSubquery, true);
}

/** The alias of the clock relation a temporal filter joins, and its one column (see {@link rewriteTemporalFilters}). */
export const CLOCK_ALIAS = '$sqnow';
export const CLOCK_COLUMN = '$now';

const ORDER_OPS: ReadonlySet<string> = new Set(['<', '<=', '>', '>=']);

/** Whether a node holds a NOW() call outside subqueries (iterative). */
function holdsNow(root: Ast): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (!Array.isArray(v) && (isNowCall(v as Ast) || (v as Ast).SubLink !== undefined)) {
      if (isNowCall(v as Ast)) return true;
      continue;
    }
    for (const x of Object.values(v as Record<string, unknown>))
      if (x !== null && typeof x === 'object') stack.push(x);
  }
  return false;
}

/**
 * Replaces the NOW() calls under `root` by `make(location)` (inside subqueries too when `intoSubqueries`);
 * returns how many. Iterative (an explicit stack of containers): a 5,000-term expression nests the AST 5,000
 * levels deep.
 */
function replaceNow(root: Ast, make: (location: number) => Ast, intoSubqueries: boolean): number {
  let n = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    const o = node as Record<string | number, unknown>;
    const keys: Array<string | number> = Array.isArray(node) ? node.map((_x, i) => i) : Object.keys(o);
    for (const k of keys) {
      const x = o[k];
      if (x === null || typeof x !== 'object') continue;
      if (Array.isArray(x)) stack.push(x);
      else if (isNowCall(x as Ast)) {
        o[k] = make(((x as Ast).FuncCall.location as number) ?? -1);
        n++;
      } else if (intoSubqueries || (x as Ast).SubLink === undefined) stack.push(x);
    }
  }
  return n;
}

/**
 * Temporal filters (Feldera's bounded-state rule for `NOW()`): in a SELECT with a FROM clause, a top-level WHERE
 * conjunct that is an ordering comparison or a BETWEEN and calls `NOW()` reads the clock from a one-row relation
 * joined into the FROM clause (`(SELECT now AS "$now" FROM now) AS "$sqnow"`, skipped by `SELECT *`) instead of
 * the clock subquery: an inner join whose condition is the comparison, so the planner's join rules see
 * `ts >= $now - INTERVAL ...` with the clock column's waterline (the clock only moves forward, program.ts) and
 * discard the rows that have aged out from the join's state (`waterline-plan.ts`): they can never pass again.
 * The clock table has its row from the first step on, so the join always has its one row in a pipeline.
 * Subqueries are left to {@link rewriteNow}. Rewrites in place; returns how many NOW() calls it replaced.
 */
export function rewriteTemporalFilters(ast: Ast): number {
  let n = 0;
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    const node = v as Ast;
    if (node.SubLink !== undefined) continue;
    const sel = node.SelectStmt;
    if (sel?.whereClause && (sel.fromClause ?? []).length > 0) {
      const w = sel.whereClause as Ast;
      const conj: Ast[] = w.BoolExpr?.boolop === 'AND_EXPR' ? (w.BoolExpr.args as Ast[]) : [w];
      let m = 0;
      for (const c of conj) {
        const e = c?.A_Expr;
        const op = e?.name?.[0]?.String?.sval as string | undefined;
        const temporal =
          (e?.kind === 'AEXPR_OP' && op !== undefined && ORDER_OPS.has(op)) || e?.kind === 'AEXPR_BETWEEN';
        if (!temporal || !holdsNow(c)) continue;
        m += replaceNow(
          c,
          (location) => ({
            ColumnRef: {
              fields: [{ String: { sval: CLOCK_ALIAS } }, { String: { sval: CLOCK_COLUMN } }],
              location,
            },
          }),
          false,
        );
      }
      if (m > 0) {
        (sel.fromClause as Ast[]).push(clockRelation());
        n += m;
      }
    }
    for (const x of Object.values(node)) if (x !== null && typeof x === 'object') stack.push(x);
  }
  return n;
}

/** `(SELECT now AS "$now" FROM now) AS "$sqnow"`. */
function clockRelation(): Ast {
  return {
    RangeSubselect: {
      subquery: {
        SelectStmt: {
          targetList: [
            {
              ResTarget: {
                name: CLOCK_COLUMN,
                val: { ColumnRef: { fields: [{ String: { sval: NOW_COLUMN } }], location: -1 } },
                location: -1,
              },
            },
          ],
          fromClause: [{ RangeVar: { relname: NOW_TABLE, inh: true, relpersistence: 'p', location: -1 } }],
          limitOption: 'LIMIT_OPTION_DEFAULT',
          op: 'SETOP_NONE',
        },
      },
      alias: { aliasname: CLOCK_ALIAS },
    },
  };
}

/** The clock value of a wall-clock time (ms since the epoch): µs, rounded down to the resolution. */
export function clockValue(wallMs: number, resolutionUsecs: number): number {
  const us = Math.floor(wallMs * 1000);
  const r = Math.max(1, Math.floor(resolutionUsecs));
  return us - (((us % r) + r) % r);
}
