/**
 * Binding Feldera's INTERVAL types: literals and casts (`INTERVAL '1:30' HOUR TO MINUTE`, `CAST(s AS INTERVAL
 * DAY)`), the short form `INTERVAL 7 DAYS` (the `i$<unit>` calls written by `interval-syntax.ts`), the qualifier
 * on a difference (`(a - b) SECOND`, `(d1 - d2) YEAR TO MONTH`), and arithmetic: DATE/TIME/TIMESTAMP ± interval,
 * interval ± interval, -interval, interval × number, interval ÷ number. Values: see `values/interval.ts`.
 *
 * Feldera's rules, as its compiler applies them (Postgres has one untyped `interval` and differs throughout):
 * - a difference keeps its exact value under any qualifier: `(d1 - d2) YEAR` of 121 months is 121 months,
 *   shown as `+10`; a year-month difference counts whole months, one fewer when the later value's day-of-month
 *   and time fall before the earlier one's;
 * - DATE + day-time interval adds whole days (the interval's days, truncated toward zero) and stays a DATE;
 *   DATE/TIMESTAMP + months keeps the day of month, clamped to the month's last day; TIME ± day-time interval
 *   wraps around midnight;
 * - interval + interval has the fields of both (`YEAR` + `MONTH` is `YEAR TO MONTH`); × and ÷ by a number
 *   truncate toward zero (µs or months) and keep the qualifier;
 * - CAST of a single-field interval to a number gives the count of that field, truncated toward zero (a
 *   multi-field one must first be cast to a single field).
 *
 * Also here, as the binder's other special cast: text → TIMESTAMP WITH TIME ZONE applies the offset.
 *
 * State: none.
 */
import { ServiceError } from '../errors/service-error.ts';
import type { Value } from '../zset/value.ts';
import { type BindContext, type Bound, coerce, literal, sqlError, strict } from './bound.ts';
import type { Ast } from './parse.ts';
import {
  INTEGER_KINDS,
  type IntervalQualifier,
  type IntervalUnit,
  type SqlType,
  sqlType,
  typeToSql,
} from './sql-type.ts';
import { isNumeric, isString } from './types-rules.ts';
import { Decimal } from './values/decimal.ts';
import {
  formatIntervalValue,
  intervalOfUnits,
  intervalToUnits,
  isYearMonth,
  makeQualifier,
  parseInterval,
  parseTimestampTz,
  qualifierFromTypmod,
  qualifierText,
  unionQualifier,
} from './values/interval.ts';
import { civilFromDays, DATE_END, DATE_MIN, daysFromCivil, USECS_PER_DAY } from './values/temporal.ts';

export const isInterval = (t: SqlType): boolean => t.kind === 'INTERVAL_YM' || t.kind === 'INTERVAL_DT';

export function intervalType(q: IntervalQualifier, nullable: boolean): SqlType {
  return sqlType(isYearMonth(q.start) ? 'INTERVAL_YM' : 'INTERVAL_DT', nullable, { qualifier: q });
}

/** The type of `INTERVAL <qualifier>` from a type name's modifiers (Postgres's typmod bits). */
export function resolveIntervalType(
  mods: readonly number[],
  nullable: boolean,
  ctx: BindContext,
  loc: unknown,
): SqlType {
  const q = mods.length > 0 ? qualifierFromTypmod(mods[0] as number) : null;
  if (q === null)
    throw sqlError(
      'SqlTypeError',
      "an INTERVAL needs a qualifier, e.g. INTERVAL '1' DAY, INTERVAL '1:30' HOUR TO MINUTE or INTERVAL '1-6' YEAR TO MONTH",
      ctx,
      loc,
    );
  return intervalType(q, nullable);
}

const runtime = (message: string): ServiceError => new ServiceError('SqlRuntimeError', message);

function toNumber(v: Value): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Decimal) return v.toNumber();
  return Number(v);
}

function checked(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw runtime(`${what}: interval out of range`);
  return v || 0;
}

// ---------------------------------------------------------------------------------------------------------
// calendar helpers

function daysInMonth(y: number, m: number): number {
  return m === 2
    ? y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(m)
      ? 30
      : 31;
}

const ymd: number[] = [0, 0, 0];

/** A day number plus n months, the day of month clamped to the target month's length. */
export function addMonthsToDate(days: number, n: number): number {
  civilFromDays(days, ymd);
  const total = (ymd[0] as number) * 12 + ((ymd[1] as number) - 1) + n;
  const y = Math.floor(total / 12);
  const m = total - y * 12 + 1;
  const d = Math.min(ymd[2] as number, daysInMonth(y, m));
  const r = daysFromCivil(y, m, d);
  if (r < DATE_MIN || r >= DATE_END) throw runtime('date out of range');
  return r;
}

export function addMonthsToTimestamp(ts: number, n: number): number {
  const days = Math.floor(ts / USECS_PER_DAY);
  return addMonthsToDate(days, n) * USECS_PER_DAY + (ts - days * USECS_PER_DAY);
}

/** Whole months from `b` to `a` (timestamps in µs), as Feldera counts them (see the header). */
export function monthsBetween(a: number, b: number): number {
  const da = Math.floor(a / USECS_PER_DAY);
  const db = Math.floor(b / USECS_PER_DAY);
  civilFromDays(da, ymd);
  const ma = (ymd[0] as number) * 12 + (ymd[1] as number);
  const ra = ((ymd[2] as number) - 1) * USECS_PER_DAY + (a - da * USECS_PER_DAY);
  civilFromDays(db, ymd);
  const mb = (ymd[0] as number) * 12 + (ymd[1] as number);
  const rb = ((ymd[2] as number) - 1) * USECS_PER_DAY + (b - db * USECS_PER_DAY);
  let n = ma - mb;
  if (n > 0 && ra < rb) n--;
  else if (n < 0 && ra > rb) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------------------
// casts

/**
 * CAST involving an interval (either side), or null when neither side is one. Strings parse per the target's
 * qualifier; numbers count the target's (single) unit; intervals change qualifier within their family.
 */
export function castInterval(arg: Bound, t: SqlType, ctx: BindContext, loc: unknown): Bound | null {
  const from = arg.type;
  if (t.kind === 'TIMESTAMP' && t.withTimeZone && (isString(from) || arg.unknownLiteral)) {
    // TIMESTAMP WITH TIME ZONE from text: the offset is applied (UTC instant)
    const out = { ...t, nullable: arg.unknownLiteral ? false : from.nullable };
    if (arg.unknownLiteral && arg.literal) {
      try {
        return literal(parseTimestampTz(String(arg.literal.value), 'SqlTypeError'), out);
      } catch (e) {
        throw sqlError('SqlTypeError', (e as Error).message, ctx, loc);
      }
    }
    return strict(out, [arg], (v) => parseTimestampTz(v as string, 'SqlRuntimeError'));
  }
  if (!isInterval(t) && !isInterval(from)) return null;
  const nullable = from.nullable;
  const out = { ...t, nullable: from.kind === 'NULL' ? true : nullable };
  if (from.kind === 'NULL') return literal(null, { ...t, nullable: true });
  const fail = (): never => {
    throw sqlError('SqlTypeError', `cannot cast ${typeToSql(from)} to ${typeToSql(t)}`, ctx, loc);
  };
  if (isInterval(t)) {
    const q = t.qualifier as IntervalQualifier;
    if (isString(from) || arg.unknownLiteral) {
      if (arg.unknownLiteral && arg.literal) {
        try {
          return literal(parseInterval(String(arg.literal.value), q, 'SqlTypeError'), {
            ...out,
            nullable: false,
          });
        } catch (e) {
          throw sqlError('SqlTypeError', (e as Error).message, ctx, loc);
        }
      }
      return strict(out, [arg], (v) => parseInterval(v as string, q));
    }
    if (isInterval(from)) {
      if (from.kind !== t.kind) fail();
      return strict(out, [arg], (v) => v);
    }
    if (isNumeric(from)) {
      if (q.start !== q.end) fail();
      return strict(out, [arg], (v) => checked(intervalOfUnits(toNumber(v), q.start), 'CAST'));
    }
    return fail();
  }
  const q = from.qualifier as IntervalQualifier;
  if (isString(t)) return strict(out, [arg], (v) => formatIntervalValue(v as number, q));
  if (q.start !== q.end && isNumeric(t))
    throw sqlError(
      'SqlTypeError',
      `cannot cast ${typeToSql(from)} to ${typeToSql(t)}: only a single-field interval (such as INTERVAL HOUR) converts to a number; cast to one first, e.g. CAST(CAST(x AS INTERVAL HOUR) AS BIGINT)`,
      ctx,
      loc,
    );
  if (INTEGER_KINDS.has(t.kind)) {
    if (t.kind === 'BIGINT') return strict(out, [arg], (v) => BigInt(intervalToUnits(v as number, q)));
    if (t.kind === 'INTEGER' || t.kind === 'SMALLINT' || t.kind === 'TINYINT') {
      const bound = t.kind === 'INTEGER' ? 2 ** 31 : t.kind === 'SMALLINT' ? 2 ** 15 : 2 ** 7;
      return strict(out, [arg], (v) => {
        const n = intervalToUnits(v as number, q);
        if (n < -bound || n >= bound) throw runtime(`${t.kind.toLowerCase()} out of range`);
        return n;
      });
    }
  }
  if (t.kind === 'DECIMAL')
    return strict(out, [arg], (v) => Decimal.parse(String(intervalToUnits(v as number, q))));
  if (t.kind === 'DOUBLE' || t.kind === 'REAL')
    return strict(out, [arg], (v) => intervalToUnits(v as number, q));
  return fail();
}

// ---------------------------------------------------------------------------------------------------------
// INTERVAL <expr> <unit> and (a - b) <qualifier>

/**
 * `i$<unit>(x)` (see `interval-syntax.ts`): x a number (count of the unit) or a string in the unit's format;
 * `factor` units per x (7 for WEEK as DAY, 3 for QUARTER as MONTH).
 */
export function bindIntervalOfUnit(
  unit: IntervalUnit,
  arg: Bound,
  ctx: BindContext,
  loc: unknown,
  factor = 1,
): Bound {
  const q = makeQualifier(unit) as IntervalQualifier;
  const t = intervalType(q, arg.type.nullable);
  if (arg.type.kind === 'NULL') return literal(null, { ...t, nullable: true });
  if (arg.unknownLiteral || isString(arg.type)) {
    const parse = (v: Value) => {
      const x = parseInterval(String(v).trim(), q);
      return factor === 1 ? x : checked(x * factor, 'INTERVAL');
    };
    return strict(t, [{ ...arg, unknownLiteral: false }], parse);
  }
  if (!isNumeric(arg.type))
    throw sqlError(
      'SqlTypeError',
      `INTERVAL ... ${unit} needs a number or a string, got ${typeToSql(arg.type)}`,
      ctx,
      loc,
    );
  return strict(t, [arg], (v) => checked(intervalOfUnits(toNumber(v) * factor, unit), 'INTERVAL'));
}

/** `(a - b) <qualifier>`: the difference of two DATE, TIME or TIMESTAMP values as an interval. */
export function bindIntervalQualified(
  n: Ast,
  ctx: BindContext,
  bind: (a: Ast, c: BindContext) => Bound,
): Bound {
  const q = n.qualifier as IntervalQualifier;
  const e = n.arg?.A_Expr;
  const op = e?.name?.[0]?.String?.sval;
  if (e === undefined || e.kind !== 'AEXPR_OP' || op !== '-' || !e.lexpr) {
    throw sqlError(
      'SqlUnsupported',
      `an interval qualifier (${qualifierText(q)}) after parentheses must follow a difference such as (a - b)`,
      ctx,
      n.location,
      { construct: 'interval qualifier' },
    );
  }
  let l = bind(e.lexpr, ctx);
  let r = bind(e.rexpr, ctx);
  const kinds = new Set([l.type.kind, r.type.kind]);
  const temporal = (k: string) => k === 'DATE' || k === 'TIME' || k === 'TIMESTAMP';
  if (l.unknownLiteral) l = coerce(l, { ...r.type, nullable: false }, ctx, n.location, 'interval difference');
  if (r.unknownLiteral) r = coerce(r, { ...l.type, nullable: false }, ctx, n.location, 'interval difference');
  if (![...kinds].every((k) => temporal(k) || k === 'NULL') || (kinds.has('TIME') && kinds.size > 1)) {
    throw sqlError(
      'SqlTypeError',
      `(a - b) ${qualifierText(q)} needs two DATE, TIME or TIMESTAMP values, got ${typeToSql(l.type)} and ${typeToSql(r.type)}`,
      ctx,
      n.location,
    );
  }
  const t = intervalType(q, l.type.nullable || r.type.nullable);
  const us = (b: Bound) =>
    b.type.kind === 'DATE' ? (v: Value) => (v as number) * USECS_PER_DAY : (v: Value) => v as number;
  const ul = us(l);
  const ur = us(r);
  if (isYearMonth(q.start)) {
    if (kinds.has('TIME'))
      throw sqlError(
        'SqlTypeError',
        `a difference of TIME values has no ${qualifierText(q)}`,
        ctx,
        n.location,
      );
    return strict(t, [l, r], (a, b) => monthsBetween(ul(a), ur(b)));
  }
  return strict(t, [l, r], (a, b) => ul(a) - ur(b));
}

// ---------------------------------------------------------------------------------------------------------
// arithmetic

/** -interval. */
export function negateInterval(b: Bound): Bound {
  return strict(b.type, [b], (v) => -(v as number) || 0);
}

/** `l op r` when an operand is an interval; null when neither is. */
export function intervalArithmetic(
  op: string,
  l: Bound,
  r: Bound,
  ctx: BindContext,
  loc: unknown,
): Bound | null {
  const li = isInterval(l.type);
  const ri = isInterval(r.type);
  if (!li && !ri) return null;
  const nullable = l.type.nullable || r.type.nullable;
  const bad = (): never => {
    throw sqlError(
      'SqlTypeError',
      `operator does not exist: ${typeToSql(l.type)} ${op} ${typeToSql(r.type)}`,
      ctx,
      loc,
      { operator: op },
    );
  };
  if (li && ri) {
    if (op !== '+' && op !== '-') return bad();
    if (l.type.kind !== r.type.kind) return bad();
    const q = unionQualifier(l.type.qualifier as IntervalQualifier, r.type.qualifier as IntervalQualifier);
    const sign = op === '+' ? 1 : -1;
    return strict(intervalType(q, nullable), [l, r], (a, b) =>
      checked((a as number) + sign * (b as number), `interval ${op} interval`),
    );
  }
  const [iv, other] = li ? [l, r] : [r, l];
  const ym = iv.type.kind === 'INTERVAL_YM';
  const k = other.unknownLiteral ? 'UNKNOWN' : other.type.kind;
  // temporal ± interval
  if (k === 'DATE' || k === 'TIMESTAMP' || k === 'TIME') {
    if (li && op === '-') return bad(); // interval - date is not defined
    if (op !== '+' && op !== '-') return bad();
    const sign = op === '+' ? 1 : -1;
    const type = sqlType(k, nullable, other.type.withTimeZone ? { withTimeZone: true } : {});
    if (k === 'DATE') {
      const f = ym
        ? (d: number, n: number) => addMonthsToDate(d, sign * n)
        : (d: number, n: number) => dayShift(d, sign * Math.trunc(n / USECS_PER_DAY));
      return strict(type, [other, iv], (d, n) => f(d as number, n as number));
    }
    if (k === 'TIMESTAMP') {
      if (ym)
        return strict(type, [other, iv], (ts, n) => addMonthsToTimestamp(ts as number, sign * (n as number)));
      return strict(type, [other, iv], (ts, n) =>
        checked((ts as number) + sign * (n as number), 'timestamp'),
      );
    }
    if (ym) return bad();
    return strict(type, [other, iv], (tm, n) => {
      const x = ((tm as number) + sign * (n as number)) % USECS_PER_DAY;
      return x < 0 ? x + USECS_PER_DAY : x;
    });
  }
  // interval × number, number × interval, interval ÷ number
  const numeric = other.unknownLiteral
    ? coerce(other, sqlType('DECIMAL', false, { precision: null, scale: null }), ctx, loc, `interval ${op}`)
    : other;
  if (!isNumeric(numeric.type) && numeric.type.kind !== 'NULL') return bad();
  if (
    op === '/' &&
    li &&
    iv.type.kind === 'INTERVAL_DT' &&
    iv.literal &&
    numeric.literal?.value instanceof Decimal
  ) {
    // a constant day-time interval ÷ a DECIMAL constant: Feldera folds it exactly and rounds the µs down
    // (INTERVAL '-980 04' DAY TO HOUR / 2.583 ends in .717771; the same division of a column cuts: .717770)
    const v = iv.literal.value;
    const d = numeric.literal.value;
    if (v === null) return literal(null, { ...iv.type, nullable: true });
    if (d.isZero()) throw sqlError('SqlRuntimeError', 'division by zero', ctx, loc);
    const num = BigInt(v as number) * 10n ** BigInt(d.scale);
    let q = num / d.unscaled;
    if (q * d.unscaled !== num && num < 0n !== d.unscaled < 0n) q -= 1n;
    return literal(checked(Number(q), 'interval /'), { ...iv.type, nullable: false });
  }
  if (op === '*' || (op === '/' && li)) {
    const div = op === '/';
    return strict({ ...iv.type, nullable }, [iv, numeric], (v, x) => {
      const n = toNumber(x);
      if (div && n === 0) throw runtime('division by zero');
      return checked(Math.trunc(div ? (v as number) / n : (v as number) * n), `interval ${op}`);
    });
  }
  return bad();
}

function dayShift(d: number, n: number): number {
  const r = d + n;
  if (r < DATE_MIN || r >= DATE_END) throw runtime('date out of range');
  return r;
}
