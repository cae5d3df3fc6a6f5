/**
 * UNNEST in FROM (`FROM t, UNNEST(t.a) [WITH ORDINALITY] AS u(v [, i])`, `CROSS JOIN UNNEST(...)`): the
 * columns it adds and the function that expands one input row, for the planner's flat-map operator
 * (`operators/flat-map.ts`). The arguments may read the columns of the FROM items to their left.
 *
 * Rules (Feldera's): an array gives one row per element (an array of ROWs gives one column per field, a NULL
 * element NULL fields); a map one row per entry with key and value columns; several arguments are zipped,
 * shorter ones padded with NULL; a NULL array or map gives no rows; WITH ORDINALITY adds a 1-based INTEGER
 * position. Column names: the alias's column list, else the field names, else `EXPR$n` (Calcite's names).
 */
import type { Row, Value } from '../zset/value.ts';
import {
  type Ast,
  type BindContext,
  type Bound,
  bindExpr,
  compile,
  type ScopeColumn,
  sqlError,
} from './expr.ts';
import { type SqlType, sqlType, typeToSql } from './sql-type.ts';
import type { SqlArray, SqlMap, SqlRow } from './values/collections.ts';

export interface UnnestPlan {
  readonly cols: readonly ScopeColumn[];
  readonly expand: (row: Row) => readonly Row[];
}

/** Whether a RangeFunction node calls UNNEST (other table functions are the window tables of `windows.ts`). */
export function isUnnestCall(rf: Ast): boolean {
  const call = rf.functions?.[0]?.List?.items?.[0]?.FuncCall;
  return (call?.funcname?.at(-1)?.String?.sval as string | undefined)?.toLowerCase() === 'unnest';
}

/** Plans `rf` (a RangeFunction node) over input columns `ctx.columns`. */
export function planUnnest(rf: Ast, ctx: BindContext): UnnestPlan {
  const fns = (rf.functions ?? []) as Ast[];
  const call = fns[0]?.List?.items?.[0]?.FuncCall;
  const name = (call?.funcname?.at(-1)?.String?.sval as string | undefined)?.toLowerCase();
  if (fns.length !== 1 || call === undefined || name !== 'unnest')
    throw sqlError(
      'SqlUnsupported',
      'table functions other than UNNEST are not supported',
      ctx,
      call?.location,
      {
        construct: 'table function',
      },
    );
  const args = ((call.args ?? []) as Ast[]).map((a) => bindExpr(a, ctx)) as Bound[];
  if (args.length === 0)
    throw sqlError('SqlTypeError', 'UNNEST needs an array or map argument', ctx, call.location);
  const types: Array<{ name: string; type: SqlType }> = [];
  const parts: Array<{ ev: (r: Row) => Value; kind: 'array' | 'rows' | 'map'; width: number }> = [];
  for (const b of args) {
    const ev = compile(b);
    const t = b.type;
    if (t.kind === 'ARRAY') {
      const et = t.element as SqlType;
      if (et.kind === 'ROW') {
        for (const f of et.fields ?? []) types.push({ name: f.name, type: { ...f.type, nullable: true } });
        parts.push({ ev: (r) => ev(r, r), kind: 'rows', width: (et.fields ?? []).length });
      } else {
        types.push({ name: `EXPR$${types.length}`, type: { ...et, nullable: true } });
        parts.push({ ev: (r) => ev(r, r), kind: 'array', width: 1 });
      }
    } else if (t.kind === 'MAP') {
      types.push(
        { name: 'KEY', type: t.key as SqlType },
        { name: 'VALUE', type: { ...(t.value as SqlType), nullable: true } },
      );
      parts.push({ ev: (r) => ev(r, r), kind: 'map', width: 2 });
    } else {
      throw sqlError('SqlTypeError', `UNNEST needs an ARRAY or MAP, got ${typeToSql(t)}`, ctx, call.location);
    }
  }
  const ordinality = rf.ordinality === true;
  if (ordinality) types.push({ name: 'ORDINALITY', type: sqlType('INTEGER', false) });
  const alias = rf.alias as Ast | undefined;
  const names = ((alias?.colnames ?? []) as Ast[]).map((n) => n.String.sval as string);
  if (names.length > types.length)
    throw sqlError(
      'SqlNameError',
      `UNNEST produces ${types.length} columns, but ${names.length} names are given`,
      ctx,
      call.location,
    );
  const qualifier = (alias?.aliasname as string | undefined) ?? null;
  const cols: ScopeColumn[] = types.map((c, i) => ({
    qualifier,
    name: names[i] ?? c.name.toLowerCase(),
    type: c.type,
  }));
  const expand = (row: Row): readonly Row[] => {
    const lists: Value[][][] = parts.map((p) => {
      const v = p.ev(row);
      if (v === null) return [];
      if (p.kind === 'array') return (v as SqlArray).items.map((e) => [e]);
      if (p.kind === 'rows')
        return (v as SqlArray).items.map((e) =>
          e === null ? new Array<Value>(p.width).fill(null) : [...(e as SqlRow).fields],
        );
      const m = v as SqlMap;
      return m.keys.map((k, i) => [k, m.values[i] as Value]);
    });
    const n = Math.max(0, ...lists.map((l) => l.length));
    const out: Row[] = [];
    for (let i = 0; i < n; i++) {
      const r: Value[] = [...row];
      lists.forEach((l, j) => {
        r.push(...(l[i] ?? new Array<Value>((parts[j] as { width: number }).width).fill(null)));
      });
      if (ordinality) r.push(i + 1);
      out.push(r);
    }
    return out;
  };
  return { cols, expand };
}
