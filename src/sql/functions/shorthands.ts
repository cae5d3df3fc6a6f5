/**
 * Feldera functions that are another spelling of an operation Holdfast already has:
 * - `DATE_ADD(date, interval)` / `DATE_SUB(date, interval)`: `date + interval` / `date - interval` (reference
 *   page datetime: a DATE; a day-time interval counts whole days, rounded down, a year-month one months, ending
 *   on the month's last day when the day does not exist);
 * - `MAP_CONCAT(m1, m2)`: a map with the entries of both, m2's value winning on a key both have (page map); the
 *   key and value types must agree.
 * (`IFNULL(a, b)`, COALESCE(a, b), and `DIV_NULL(a, b)`, a / b but NULL for a zero divisor, are bound by
 * `expr.ts`, which types them as COALESCE and `/`; `DATEDIFF`, TIMESTAMPDIFF, by `datetime.ts`.) An SQL NULL
 * argument gives NULL.
 *
 * State: none.
 */
import type { Value } from '../../zset/value.ts';
import { type Bound, coerce, sqlError, strict } from '../bound.ts';
import { intervalArithmetic } from '../intervals.ts';
import { type SqlType, sqlType, typeToSql } from '../sql-type.ts';
import { SqlMap } from '../values/collections.ts';
import type { FunctionCall, FunctionImpl } from './types.ts';

function typeError(call: FunctionCall, what: string): never {
  throw sqlError(
    'SqlTypeError',
    `cannot apply ${call.name.toUpperCase()} to arguments of type ${call.args.map((a) => typeToSql(a.type)).join(', ')}: ${what}`,
    call.ctx,
    call.loc,
  );
}

function dateShift(op: '+' | '-'): FunctionImpl {
  return (call) => {
    call.argc(2);
    let d = call.args[0] as Bound;
    const iv = call.args[1] as Bound;
    if (d.unknownLiteral) d = coerce(d, sqlType('DATE', d.type.nullable), call.ctx, call.loc, call.name);
    const isInterval = iv.type.kind === 'INTERVAL_DT' || iv.type.kind === 'INTERVAL_YM';
    if ((d.type.kind !== 'DATE' && d.type.kind !== 'NULL') || !isInterval)
      typeError(call, `${call.name.toUpperCase()}(date, interval) takes a DATE and an INTERVAL`);
    if (d.type.kind === 'NULL') d = coerce(d, sqlType('DATE', true), call.ctx, call.loc, call.name);
    return intervalArithmetic(op, d, iv, call.ctx, call.loc) as Bound;
  };
}

function mapConcat(call: FunctionCall): Bound {
  call.argc(2);
  const [a, b] = call.args as [Bound, Bound];
  const isMap = (x: Bound) => x.type.kind === 'MAP' || x.type.kind === 'NULL';
  if (!isMap(a) || !isMap(b)) typeError(call, 'both arguments must be MAPs');
  const ta = a.type.kind === 'MAP' ? a.type : null;
  const tb = b.type.kind === 'MAP' ? b.type : null;
  const key = (ta?.key ?? tb?.key) as SqlType | undefined;
  const value = (ta?.value ?? tb?.value) as SqlType | undefined;
  if (ta && tb) {
    const same = (x: SqlType, y: SqlType) =>
      typeToSql({ ...x, nullable: false }) === typeToSql({ ...y, nullable: false });
    if (!same(ta.key as SqlType, tb.key as SqlType) || !same(ta.value as SqlType, tb.value as SqlType))
      typeError(call, 'the maps must have the same key and value types');
  }
  const type = sqlType('MAP', a.type.nullable || b.type.nullable, {
    key: key ?? sqlType('NULL', true),
    value: {
      ...(value ?? sqlType('NULL', true)),
      nullable: Boolean(ta?.value?.nullable) || Boolean(tb?.value?.nullable),
    },
  });
  return strict(type, [a, b], (x, y) => {
    const m = x as SqlMap;
    const n = y as SqlMap;
    const entries: [Value, Value][] = [];
    for (let i = 0; i < m.size; i++) entries.push([m.keys[i] as Value, m.values[i] as Value]);
    for (let i = 0; i < n.size; i++) entries.push([n.keys[i] as Value, n.values[i] as Value]); // later wins
    return SqlMap.of(entries);
  });
}

export const SHORTHAND_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {
  date_add: dateShift('+'),
  date_sub: dateShift('-'),
  map_concat: mapConcat,
};
