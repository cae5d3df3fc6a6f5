/**
 * Feldera's window table functions in FROM (the syntax arrives rewritten by `window-syntax.ts`):
 * - `TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset])`: every row of t plus `window_start`, `window_end`, the
 *   bounds of the one window of width `size` (aligned to `offset`, default 0) holding `ts`:
 *   start = floor((ts - offset) / size) · size + offset, end = start + size;
 * - `HOP(TABLE t, DESCRIPTOR(ts), slide, size [, offset])`: the row once for every window of width `size`
 *   starting every `slide` (aligned to `offset`) that holds `ts` (start ≤ ts < end).
 * - `SESSION(TABLE t, DESCRIPTOR(ts) [, DESCRIPTOR(k)], size)`: every row of t plus the bounds of its session:
 *   per key k (all rows one timeline without it; NULL is a key like any other), rows ordered by ts whose times
 *   are less than `size` apart are one session; `window_start` is the time of its first row, `window_end` that
 *   of its last row plus `size`. Incremental but stateful (`operators/session-window.ts`): a row that bridges
 *   two sessions changes both sessions' rows. With a waterline on the time column, closed sessions leave its
 *   state and `window_end` gets that waterline (every changed row's session ends above it); the key column keeps
 *   its own; `window_start` and the time column get none (a session can grow back in time through its rows).
 * Arguments may be named (`DATA =>`, `TIMECOL =>`, `KEY =>`, `SIZE =>`, `SLIDE =>`, `OFFSET =>`). The time column is a
 * TIMESTAMP (or DATE, counted as its midnight) and the widths are positive day-time interval constants. A row
 * whose time is NULL belongs to no window and is dropped, as in Feldera. TUMBLE and HOP are stateless
 * (flat-maps), so fully incremental. With a LATENESS waterline on the time column, `window_start` and `window_end` get waterlines too
 * (the least bounds of the windows of later rows), so an aggregate grouped by them discards closed windows.
 */
import type { Circuit, NodeId } from '../circuit/circuit.ts';
import { FlatMapOperator } from '../operators/flat-map.ts';
import { SessionWindowOperator } from '../operators/session-window.ts';
import type { Row, Value } from '../zset/value.ts';
import { type Ast, type BindContext, bindExpr, type ScopeColumn, sqlError } from './expr.ts';
import type { SourceMap } from './parse.ts';
import { sqlType } from './sql-type.ts';
import { USECS_PER_DAY } from './values/temporal.ts';

/** A planned relation (the shape of planner.ts's `Rel`, declared here so the import graph stays acyclic). */
interface Rel {
  readonly node: NodeId;
  readonly cols: readonly ScopeColumn[];
  readonly waterlines?: ReadonlyMap<number, () => Value>;
}

export interface WindowTableContext {
  readonly circuit: Circuit;
  readonly source: SourceMap;
  readonly resolve: (name: string) => Rel | null;
}

const PARAMS: Readonly<Record<string, readonly string[]>> = {
  tumble: ['data', 'timecol', 'size', 'offset'],
  hop: ['data', 'timecol', 'slide', 'size', 'offset'],
  session: ['data', 'timecol', 'key', 'size'],
};

/** Plans a RangeFunction node; returns the relation and the qualifier of its columns. */
export function planWindowTable(rf: Ast, c: WindowTableContext): { rel: Rel; qualifier: string | null } {
  const ctx: BindContext = { columns: [], source: c.source };
  const items = rf.functions?.[0]?.List?.items as Ast[] | undefined;
  const fc = items?.[0]?.FuncCall;
  const name = String(fc?.funcname?.[fc.funcname.length - 1]?.String?.sval ?? '').toLowerCase();
  const params = PARAMS[name];
  if (
    fc === undefined ||
    params === undefined ||
    (rf.functions?.length ?? 0) > 1 ||
    rf.lateral ||
    rf.ordinality
  )
    throw sqlError(
      'SqlUnsupported',
      'table functions other than TABLE(TUMBLE(...)), TABLE(HOP(...)) and TABLE(SESSION(...)) are not supported',
      ctx,
      fc?.location,
      { construct: 'table function' },
    );
  const shown = name.toUpperCase();
  const args = new Map<string, Ast>();
  const given = (fc.args ?? []) as Ast[];
  // SESSION's key is optional in the middle: three positional arguments are data, timecol, size
  const positional =
    name === 'session' && given.filter((a) => !a.NamedArgExpr).length === 3
      ? ['data', 'timecol', 'size']
      : params;
  given.forEach((a, i) => {
    const named = a.NamedArgExpr;
    const raw = named ? String(named.name).toLowerCase() : positional[i];
    const key = raw === 'offse$' ? 'offset' : raw; // see window-syntax.ts
    if (key === undefined || !params.includes(key) || args.has(key))
      throw sqlError('SqlTypeError', `${shown} takes arguments ${params.join(', ')}`, ctx, fc.location);
    args.set(key, named ? named.arg : a);
  });
  const need = (k: string): Ast => {
    const a = args.get(k);
    if (a === undefined)
      throw sqlError('SqlTypeError', `${shown} needs its ${k.toUpperCase()} argument`, ctx, fc.location);
    return a;
  };
  const data = need('data');
  const relName =
    data?.ColumnRef?.fields?.length === 1 ? (data.ColumnRef.fields[0].String?.sval as string) : undefined;
  if (relName === undefined)
    throw sqlError(
      'SqlUnsupported',
      `${shown}'s data must be TABLE name`,
      ctx,
      data?.location ?? fc.location,
    );
  const rel = c.resolve(relName);
  if (!rel)
    throw sqlError('SqlNameError', `relation "${relName}" does not exist`, ctx, data.ColumnRef.location, {
      name: relName,
    });
  /** The column a `DESCRIPTOR(column)` argument names. */
  const described = (desc: Ast, what: string): number => {
    const dcol = desc?.FuncCall?.args?.[0]?.ColumnRef?.fields;
    const colName =
      desc?.FuncCall &&
      String(desc.FuncCall.funcname.at(-1).String.sval).toLowerCase() === 'descriptor' &&
      dcol?.length === 1
        ? (dcol[0].String?.sval as string)
        : undefined;
    if (colName === undefined)
      throw sqlError(
        'SqlTypeError',
        `${shown}'s ${what} must be DESCRIPTOR(column)`,
        ctx,
        desc?.location ?? fc.location,
      );
    const i = rel.cols.findIndex((col) => col.name === colName);
    if (i < 0)
      throw sqlError('SqlNameError', `column "${colName}" does not exist`, ctx, desc.FuncCall.location, {
        name: colName,
      });
    return i;
  };
  const desc = need('timecol');
  const ti = described(desc, 'time column');
  const tcol = rel.cols[ti] as ScopeColumn;
  if (tcol.type.kind !== 'TIMESTAMP' && tcol.type.kind !== 'DATE')
    throw sqlError(
      'SqlTypeError',
      `Cannot apply '${shown}' to a time column of type ${tcol.type.kind}: it needs a TIMESTAMP or DATE`,
      ctx,
      desc.FuncCall.location,
    );
  const width = (k: string, optional: boolean): number => {
    const a = args.get(k);
    if (a === undefined) {
      if (optional) return 0;
      return need(k) as never;
    }
    const b = bindExpr(a, ctx);
    const v = b.literal?.value;
    if (b.type.kind !== 'INTERVAL_DT' || typeof v !== 'number')
      throw sqlError(
        'SqlTypeError',
        `${shown}'s ${k.toUpperCase()} must be a constant day-time interval such as INTERVAL '1' MINUTE`,
        ctx,
        fc.location,
      );
    if (!optional && v <= 0)
      throw sqlError('SqlTypeError', `${shown}'s ${k.toUpperCase()} must be positive`, ctx, fc.location);
    return v;
  };
  const size = width('size', false);
  if (name === 'session') {
    const keyArg = args.get('key');
    const ki = keyArg === undefined ? -1 : described(keyArg, 'key');
    const isDate = tcol.type.kind === 'DATE';
    const boundType = sqlType('TIMESTAMP', false);
    const twl = rel.waterlines?.get(ti); // LATENESS: closed sessions are discarded
    const off = ki < 0 ? 0 : 1;
    const timeAt = ti + off;
    // NULL times belong to no session; the key (when given) goes first for the operator's grouping
    const keyed = c.circuit.add(
      new FlatMapOperator((r) => (r[ti] === null ? [] : [ki < 0 ? r : [r[ki] as Value, ...r]])),
      [rel.node],
    );
    const node = c.circuit.add(
      new SessionWindowOperator({
        keyCount: ki < 0 ? 0 : 1,
        timeCol: timeAt,
        time: (r) => (isDate ? (r[timeAt] as number) * USECS_PER_DAY : (r[timeAt] as number)),
        gap: size,
        ...(twl === undefined
          ? {}
          : {
              waterline: () => {
                const w = twl();
                return w === null ? null : isDate ? (w as number) * USECS_PER_DAY : (w as number);
              },
            }),
      }),
      [keyed],
    );
    // LATENESS out: a change at time t ≥ W (the time column's waterline) touches only sessions whose last row is
    // within the gap of t, and sessions ending after t: every changed row's window_end is above W. A key's
    // changes stay in that key, so the key column keeps its waterline; window_start and the time column none
    // (a merged session's rows and start can be old).
    const sessionW = new Map<number, () => Value>();
    const kwl = ki < 0 ? undefined : rel.waterlines?.get(ki);
    if (kwl !== undefined) sessionW.set(ki, kwl);
    if (twl !== undefined)
      sessionW.set(rel.cols.length + 1, () => {
        const w = twl();
        return w === null ? null : isDate ? (w as number) * USECS_PER_DAY : (w as number);
      });
    return {
      rel: {
        node,
        cols: [
          ...rel.cols,
          { qualifier: null, name: 'window_start', type: boundType },
          { qualifier: null, name: 'window_end', type: boundType },
        ],
        ...(sessionW.size > 0 ? { waterlines: sessionW } : {}),
      },
      qualifier: (rf.alias?.aliasname as string | undefined) ?? null,
    };
  }
  const slide = name === 'hop' ? width('slide', false) : size;
  const offset = width('offset', true);
  const isDate = tcol.type.kind === 'DATE';
  const boundType = sqlType('TIMESTAMP', false);
  const cols: ScopeColumn[] = [
    ...rel.cols,
    { qualifier: null, name: 'window_start', type: boundType },
    { qualifier: null, name: 'window_end', type: boundType },
  ];
  const time = (r: Row): number | null => {
    const v = r[ti] as Value;
    return v === null ? null : isDate ? (v as number) * USECS_PER_DAY : (v as number);
  };
  const first = (ts: number) => Math.floor((ts - offset) / slide) * slide + offset;
  let node: number;
  if (name === 'tumble') {
    node = c.circuit.add(
      new FlatMapOperator((r) => {
        const ts = time(r);
        if (ts === null) return [];
        const s = first(ts);
        return [[...r, s, s + size]];
      }),
      [rel.node],
    );
  } else {
    node = c.circuit.add(
      new FlatMapOperator((r) => {
        const ts = time(r);
        if (ts === null) return [];
        const out: Row[] = [];
        for (let s = first(ts); s + size > ts; s -= slide) out.push([...r, s, s + size]);
        return out.reverse();
      }),
      [rel.node],
    );
  }
  // LATENESS: t's waterlines carry over, and one on the time column bounds the windows of later rows
  const waterlines = new Map(rel.waterlines ?? []);
  const twl = rel.waterlines?.get(ti);
  if (twl !== undefined) {
    const ws = (): number | null => {
      const w = twl();
      if (w === null) return null;
      const t = isDate ? (w as number) * USECS_PER_DAY : (w as number);
      // the least window start of a row at or after t: its own window (TUMBLE), the first one still open (HOP)
      return name === 'tumble' ? first(t) : first(t - size) + slide;
    };
    waterlines.set(rel.cols.length, ws);
    waterlines.set(rel.cols.length + 1, () => {
      const w = ws();
      return w === null ? null : w + size;
    });
  }
  return {
    rel: { node, cols, ...(waterlines.size > 0 ? { waterlines } : {}) },
    qualifier: (rf.alias?.aliasname as string | undefined) ?? null,
  };
}
