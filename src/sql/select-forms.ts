/**
 * Two SELECT forms of Feldera's (Calcite's) dialect, rewritten into forms the planner already plans:
 *
 * - the WINDOW clause: `f(x) OVER w ... WINDOW w AS (PARTITION BY ... ORDER BY ... frame)`. Each reference is
 *   replaced by the named window's definition: `OVER w` takes it whole; `OVER (w [ORDER BY ...] [frame])` takes
 *   its PARTITION BY, its ORDER BY unless the reference gives one, and its frame unless the reference gives one.
 *   A window in the clause may itself refer to an earlier one (`w2 AS (w1 ORDER BY ts)`). An unknown name is an
 *   SqlNameError.
 * - a parenthesized list in GROUP BY: `GROUP BY (a, b)` groups by a and b (the list is a grouping set of both,
 *   as in Calcite and Postgres), not by one ROW value; an explicit `ROW(a, b)` stays a ROW.
 * - window aggregates (and LAG/LEAD) of one SELECT with different PARTITION BY / ORDER BY: the calls of every
 *   window but the first are computed in an inner SELECT (`SELECT *, call AS "$wN" ... FROM <from> WHERE
 *   <where>`, split again there if needed) and read back by name, since one window operator serves one
 *   window. Done only where the rewrite keeps names: no qualified column reference in the select list, no
 *   GROUP BY, HAVING or plain aggregate, and no ranking function among the calls.
 * - duplicate column names of a subquery in FROM (`SELECT t1.*, t2.*`): later ones renamed as Calcite does
 *   (`uniqueColumnNames`), so the outer query can name them.
 *
 * State: none. The rewrite replaces `over` nodes in place (idempotent: an inlined window has no name left) and
 * returns the statement with `windowClause` removed and `groupClause` flattened. Window references are resolved
 * in the SELECT's own target list and ORDER BY only: a subquery has its own WINDOW clause.
 */
import { walkAst } from './ast-walk.ts';
import { AGGREGATE_NAMES, astKey } from './expr.ts';
import type { Ast } from './parse.ts';

/** Postgres's frame option bit: the window gives a frame of its own (FRAMEOPTION_NONDEFAULT). */
const FRAME_NONDEFAULT = 1;

type Fail = (message: string, location: unknown) => Error;

/** The statement with its WINDOW clause inlined and parenthesized GROUP BY lists flattened. */
export function normalizeSelectForms(stmt: Ast, fail: Fail): Ast {
  let out = stmt;
  if (Array.isArray(stmt.groupClause) && stmt.groupClause.some(isImplicitRow)) {
    const flat = (stmt.groupClause as Ast[]).flatMap((g) =>
      isImplicitRow(g) ? (g.RowExpr.args as Ast[]) : [g],
    );
    out = { ...out, groupClause: flat };
  }
  if (Array.isArray(stmt.windowClause)) {
    const named = new Map<string, Ast>();
    for (const w of stmt.windowClause as Ast[]) {
      const def = w.WindowDef as Ast;
      named.set(def.name as string, resolve({ ...def, name: undefined }, named, fail));
    }
    for (const over of overNodes([stmt.targetList, stmt.sortClause])) {
      const r = resolve(over, named, fail);
      for (const k of Object.keys(over)) delete over[k];
      Object.assign(over, r);
    }
    const { windowClause: _dropped, ...rest } = out;
    out = rest;
  } else {
    // a reference to a window that no WINDOW clause defines
    for (const over of overNodes([stmt.targetList, stmt.sortClause])) resolve(over, new Map(), fail);
  }
  return splitWindows(out);
}

/** The select list's window calls (`{FuncCall}` nodes with OVER), not inside subqueries. */
function windowCalls(targets: unknown): Ast[] {
  const found: Ast[] = [];
  walkAst(targets, (n) => {
    if (n.SelectStmt !== undefined || n.SubLink !== undefined) return 'skip';
    if (n.FuncCall?.over === undefined) return undefined;
    found.push(n);
    return 'skip';
  });
  return found;
}

const RANKING = new Set(['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile']);
const callName = (call: Ast): string =>
  String(call.FuncCall.funcname[call.FuncCall.funcname.length - 1].String.sval).toLowerCase();

/** Whether `ast` (outside subqueries) has a qualified column reference, a plain aggregate call or `t.*`. */
function blocksSplit(ast: unknown): boolean {
  return walkAst(ast, (n) => {
    if (n.SelectStmt !== undefined || n.SubLink !== undefined) return 'skip';
    if (n.ColumnRef !== undefined && (n.ColumnRef.fields as Ast[]).length > 1) return 'stop';
    if (n.FuncCall !== undefined && n.FuncCall.over === undefined && AGGREGATE_NAMES.has(callName(n)))
      return 'stop';
    return undefined;
  });
}

/** Copies `ast`, replacing the nodes in `by` (by identity). */
function replaceNodes(ast: unknown, by: ReadonlyMap<Ast, Ast>): unknown {
  if (ast === null || typeof ast !== 'object') return ast;
  const r = by.get(ast as Ast);
  if (r !== undefined) return r;
  if (Array.isArray(ast)) return ast.map((x) => replaceNodes(x, by));
  return Object.fromEntries(Object.entries(ast).map(([k, x]) => [k, replaceNodes(x, by)]));
}

/** See the module header: window calls of further windows computed in an inner SELECT. */
function splitWindows(stmt: Ast): Ast {
  const calls = windowCalls(stmt.targetList);
  if (calls.length < 2) return stmt;
  const spec = (c: Ast) => astKey([c.FuncCall.over.partitionClause ?? [], c.FuncCall.over.orderClause ?? []]);
  const first = spec(calls[0] as Ast);
  const rest = calls.filter((c) => spec(c) !== first);
  if (rest.length === 0) return stmt;
  if (
    calls.some((c) => RANKING.has(callName(c))) ||
    stmt.groupClause ||
    stmt.havingClause ||
    !stmt.fromClause ||
    blocksSplit(stmt.targetList) ||
    (stmt.op && stmt.op !== 'SETOP_NONE')
  )
    return stmt;
  const by = new Map<Ast, Ast>();
  const innerTargets: Ast[] = [{ ResTarget: { val: { ColumnRef: { fields: [{ A_Star: {} }] } } } }];
  rest.forEach((c, i) => {
    const name = `$w${i}`;
    innerTargets.push({ ResTarget: { name, val: c } });
    by.set(c, { ColumnRef: { fields: [{ String: { sval: name } }] } });
  });
  const inner: Ast = {
    SelectStmt: {
      targetList: innerTargets,
      fromClause: stmt.fromClause,
      ...(stmt.whereClause ? { whereClause: stmt.whereClause } : {}),
      limitOption: 'LIMIT_OPTION_DEFAULT',
      op: 'SETOP_NONE',
    },
  };
  const { whereClause: _w, ...outer } = stmt;
  return {
    ...outer,
    targetList: replaceNodes(stmt.targetList, by),
    fromClause: [{ RangeSubselect: { subquery: inner, alias: { aliasname: '$wsel' } } }],
  };
}

function isImplicitRow(g: Ast): boolean {
  return g?.RowExpr !== undefined && g.RowExpr.row_format === 'COERCE_IMPLICIT_CAST';
}

/** A window definition with its reference to a named window replaced by that window's parts. */
function resolve(def: Ast, named: ReadonlyMap<string, Ast>, fail: Fail): Ast {
  if (def.refname === undefined) {
    if (def.name === undefined || !isBareName(def)) return stripName(def);
    // `OVER w`: the whole named window
    const base = named.get(def.name as string);
    if (base === undefined) throw fail(`window "${def.name}" is not defined`, def.location);
    return { ...base, location: def.location };
  }
  // `OVER (w ...)`: w's partitioning, its ordering and frame unless given here
  const base = named.get(def.refname as string);
  if (base === undefined) throw fail(`window "${def.refname}" is not defined`, def.location);
  const out: Ast = { ...base, location: def.location };
  if (def.orderClause !== undefined) out.orderClause = def.orderClause;
  if (((def.frameOptions ?? 0) & FRAME_NONDEFAULT) !== 0) {
    out.frameOptions = def.frameOptions;
    if (def.startOffset === undefined) delete out.startOffset;
    else out.startOffset = def.startOffset;
    if (def.endOffset === undefined) delete out.endOffset;
    else out.endOffset = def.endOffset;
  }
  return out;
}

/** `OVER w` parses as a window with a name and nothing else. */
function isBareName(def: Ast): boolean {
  return (
    def.partitionClause === undefined &&
    def.orderClause === undefined &&
    ((def.frameOptions ?? 0) & FRAME_NONDEFAULT) === 0
  );
}

function stripName(def: Ast): Ast {
  const { name: _n, refname: _r, ...rest } = def;
  return rest;
}

/** The `over` window nodes of function calls under `roots`, not descending into subqueries. */
function overNodes(roots: unknown[]): Ast[] {
  const found: Ast[] = [];
  walkAst(roots, (n) => {
    if (n.SelectStmt !== undefined || n.SubLink !== undefined) return 'skip';
    if (n.FuncCall?.over !== undefined) found.push(n.FuncCall.over as Ast);
    return undefined;
  });
  return found;
}

/**
 * The columns of a subquery in FROM with unique names, as Calcite names them: a name already taken by an
 * earlier column gets the first free numeric suffix from 0 (`id`, `id0`, `id1`). So `SELECT t1.*, t2.*` with a
 * column `id` on both sides is readable outside: `id` is t1's, `id0` t2's.
 */
export function uniqueColumnNames<C extends { readonly name: string }>(cols: readonly C[]): C[] {
  const used = new Set(cols.map((c) => c.name));
  const seen = new Set<string>();
  return cols.map((c) => {
    if (!seen.has(c.name)) {
      seen.add(c.name);
      return c;
    }
    let n = 0;
    while (used.has(`${c.name}${n}`)) n++;
    const name = `${c.name}${n}`;
    used.add(name);
    seen.add(name);
    return { ...c, name };
  });
}
