/**
 * SQL scalar functions: date, time, timestamp and interval functions of Feldera's reference (part 2).
 * Registered by name in `index.ts`; each entry binds its arguments' types and returns a bound expression.
 * Functions whose arguments include a bare time unit (`DATE_PART(YEAR, d)`, `TIMESTAMPADD(DAY, 1, ts)`,
 * `DATE_TRUNC(ts, MONTH)`, `FLOOR(ts TO DAY)`) are bound by {@link bindDatetimeSpecial}, which the binder calls
 * before it binds the arguments (a unit is a keyword, not a column).
 *
 * Feldera's rules (Calcite's), where they differ from Postgres:
 * - `DATE_PART(unit, x)`, `EXTRACT(unit FROM x)` (bound by {@link bindExtract}, also for `DATE_PART('unit', x)`)
 *   and `YEAR(x)`, `MONTH(x)`, ... return BIGINT; `SECOND` is the whole seconds, `MILLISECOND`/`MICROSECOND`
 *   include the seconds (`44.123654` s → 44123 / 44123654), `DOW`/`DAYOFWEEK` count Sunday = 1 ... Saturday = 7,
 *   a DATE has time fields 0, `EPOCH` is whole seconds toward zero, `DECADE`/`CENTURY`/`MILLENNIUM` divide
 *   toward zero (y / 10, (y + 99) / 100, (y + 999) / 1000), and a TIME has only HOUR ... MICROSECOND;
 * - `DATE_TRUNC(x, unit)` / `TIMESTAMP_TRUNC(x, unit)` / `TIME_TRUNC(x, unit)` keep the argument's type (the
 *   Postgres order `DATE_TRUNC('unit', x)` is accepted too), except `TIMESTAMP_TRUNC` of a DATE: a TIMESTAMP;
 *   weeks start on Sunday (`FLOOR(x TO unit)` / `CEIL(x TO unit)`, in `ceil-floor-to.ts`, keep the type too, with
 *   millennia/centuries from years 2000/2100; DATE_TRUNC's: 2001/2101);
 * - `TIMESTAMPADD(unit, n, x)` keeps the argument's type (a DATE plus days stays a DATE); months clamp to the
 *   month's end; `TIMESTAMPDIFF(unit, a, b)` counts whole units from a to b (toward zero), months as `(b - a)
 *   MONTH` does (`DATEDIFF` is the same function);
 * - `FORMAT_DATE(fmt, x)` / `PARSE_DATE(fmt, s)` / `PARSE_TIMESTAMP` / `PARSE_TIME` / `FORMAT_TIMESTAMP` /
 *   `FORMAT_TIME` use strftime-style formats (`%Y %m %d %H %M %S %y %b %B %a %A %j %e %f %%`); a string that
 *   does not match gives NULL.
 * - `MAKE_DATE` / `MAKE_TIME` / `MAKE_TIMESTAMP` take integer fields (seconds: any number) and return NULL, not an
 *   error, for a field out of range; `CONVERT_TIMEZONE(from, to, ts)` moves a wall-clock TIMESTAMP between IANA
 *   zones (`values/time-zones.ts`).
 * - `i$year__` ... `i$second` (one per unit), `i$week__`, `i$quartr`: Feldera's `INTERVAL <expr> <unit>` form, which the parser's
 *   pre-pass (`interval-syntax.ts`) writes as these calls; not meant to be called by name.
 * `NOW()` is not a function here: it reads the pipeline's clock input (`now-clock.ts`).
 */

import { ServiceError } from '../../errors/service-error.ts';
import type { Value } from '../../zset/value.ts';
import { type BindContext, type Bound, castBound, coerce, literal, sqlError, strict } from '../bound.ts';
import { INTERVAL_CALLS, SCALED_INTERVAL_CALLS } from '../interval-syntax.ts';
import { addMonthsToDate, addMonthsToTimestamp, bindIntervalOfUnit, monthsBetween } from '../intervals.ts';
import type { Ast } from '../parse.ts';
import { type SqlType, sqlType, typeToSql } from '../sql-type.ts';
import { isInteger, isString } from '../types-rules.ts';
import { Decimal } from '../values/decimal.ts';
import { roundHalfEven } from '../values/integers.ts';
import {
  civilFromDays,
  DATE_END,
  DATE_MIN,
  daysFromCivil,
  TIMESTAMP_DATE_END,
  USECS_PER_DAY,
  USECS_PER_HOUR,
  USECS_PER_MINUTE,
  USECS_PER_SEC,
} from '../values/temporal.ts';
import { convertTimeZone, isKnownTimeZone } from '../values/time-zones.ts';
import type { FunctionImpl } from './types.ts';

type Kind = 'DATE' | 'TIME' | 'TIMESTAMP';

const UNIT_NAMES: Readonly<Record<string, string>> = {
  YEAR: 'YEAR',
  YEARS: 'YEAR',
  QUARTER: 'QUARTER',
  MONTH: 'MONTH',
  MONTHS: 'MONTH',
  WEEK: 'WEEK',
  DAY: 'DAY',
  DAYS: 'DAY',
  DOW: 'DOW',
  DAYOFWEEK: 'DOW',
  ISODOW: 'ISODOW',
  DOY: 'DOY',
  DAYOFYEAR: 'DOY',
  DAYOFMONTH: 'DAY',
  HOUR: 'HOUR',
  HOURS: 'HOUR',
  MINUTE: 'MINUTE',
  MINUTES: 'MINUTE',
  SECOND: 'SECOND',
  SECONDS: 'SECOND',
  MILLISECOND: 'MILLISECOND',
  MILLISECONDS: 'MILLISECOND',
  MICROSECOND: 'MICROSECOND',
  MICROSECONDS: 'MICROSECOND',
  EPOCH: 'EPOCH',
  DECADE: 'DECADE',
  CENTURY: 'CENTURY',
  MILLENNIUM: 'MILLENNIUM',
  ISOYEAR: 'ISOYEAR',
};

const ymd: number[] = [0, 0, 0];

function dayOfWeek0(days: number): number {
  const r = (days + 4) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
  return r < 0 ? r + 7 : r;
}

/** Feldera's DATE_PART for a kind: µs-based value → number. */
function partOf(unit: string, kind: Kind): ((v: number) => number) | null {
  const split = (v: number): [number, number] => {
    if (kind === 'DATE') return [v, 0];
    if (kind === 'TIME') return [0, v];
    const d = Math.floor(v / USECS_PER_DAY);
    return [d, v - d * USECS_PER_DAY];
  };
  const dateOnly = (f: (days: number) => number) => (kind === 'TIME' ? null : (v: number) => f(split(v)[0]));
  const timeOnly = (f: (tod: number) => number) => (v: number) => f(split(v)[1]);
  switch (unit) {
    case 'YEAR':
      return dateOnly((d) => civilFromDays(d, ymd)[0] as number);
    case 'QUARTER':
      return dateOnly((d) => Math.floor(((civilFromDays(d, ymd)[1] as number) - 1) / 3) + 1);
    case 'MONTH':
      return dateOnly((d) => civilFromDays(d, ymd)[1] as number);
    case 'DAY':
      return dateOnly((d) => civilFromDays(d, ymd)[2] as number);
    case 'DOW':
      return dateOnly((d) => dayOfWeek0(d) + 1);
    case 'ISODOW':
      return dateOnly((d) => dayOfWeek0(d) || 7);
    case 'DOY':
      return dateOnly((d) => d - daysFromCivil(civilFromDays(d, ymd)[0] as number, 1, 1) + 1);
    case 'WEEK':
    case 'ISOYEAR':
      return dateOnly((d) => {
        const dow = dayOfWeek0(d) || 7;
        const thursday = d - dow + 4;
        const y = civilFromDays(thursday, ymd)[0] as number;
        return unit === 'ISOYEAR' ? y : Math.floor((thursday - daysFromCivil(y, 1, 1)) / 7) + 1;
      });
    // Feldera divides toward zero (year 0 is 1 BC): DECADE of -15 is -1, CENTURY of -150 is -0 = 0
    case 'DECADE':
      return dateOnly((d) => Math.trunc((civilFromDays(d, ymd)[0] as number) / 10) || 0);
    case 'CENTURY':
      return dateOnly((d) => Math.trunc(((civilFromDays(d, ymd)[0] as number) + 99) / 100) || 0);
    case 'MILLENNIUM':
      return dateOnly((d) => Math.trunc(((civilFromDays(d, ymd)[0] as number) + 999) / 1000) || 0);
    case 'HOUR':
      return timeOnly((t) => Math.floor(t / USECS_PER_HOUR));
    case 'MINUTE':
      return timeOnly((t) => Math.floor((t % USECS_PER_HOUR) / USECS_PER_MINUTE));
    case 'SECOND':
      return timeOnly((t) => Math.floor((t % USECS_PER_MINUTE) / USECS_PER_SEC));
    case 'MILLISECOND':
      return timeOnly((t) => Math.floor((t % USECS_PER_MINUTE) / 1000));
    case 'MICROSECOND':
      return timeOnly((t) => t % USECS_PER_MINUTE);
    case 'EPOCH': // whole seconds toward zero; not defined for a TIME
      if (kind === 'TIME') return null;
      return kind === 'DATE' ? (v) => v * 86400 : (v) => Math.trunc(v / USECS_PER_SEC) || 0;
    default:
      return null;
  }
}

function temporalKind(b: Bound): Kind | null {
  const k = b.type.kind;
  return k === 'DATE' || k === 'TIME' || k === 'TIMESTAMP' ? k : null;
}

/** A unit argument: a bare word (`YEAR`) or a string literal (`'year'`). */
function unitArg(a: Ast, what: string, ctx: BindContext, loc: unknown): string {
  const f = a?.ColumnRef?.fields as Ast[] | undefined;
  const word =
    f?.length === 1 && f[0].String
      ? (f[0].String.sval as string)
      : (a?.A_Const?.sval?.sval as string | undefined);
  const unit = word === undefined ? undefined : UNIT_NAMES[word.toUpperCase()];
  if (unit === undefined)
    throw sqlError(
      'SqlTypeError',
      `${what} needs a time unit such as YEAR, MONTH, DAY or HOUR`,
      ctx,
      a?.location ?? loc,
    );
  return unit;
}

function temporal(b: Bound, what: string, ctx: BindContext, loc: unknown, allowed: readonly Kind[]): Bound {
  let x = b;
  if (x.unknownLiteral) x = coerce(x, sqlType('TIMESTAMP', false), ctx, loc, what);
  const k = temporalKind(x);
  if (k === null || !allowed.includes(k))
    throw sqlError(
      'SqlTypeError',
      `Cannot apply '${what}' to arguments of type ${typeToSql(x.type)}: it needs ${allowed.join(', ')}`,
      ctx,
      loc,
    );
  return x;
}

const bigint = (nullable: boolean): SqlType => sqlType('BIGINT', nullable);

function datePart(unit: string, x: Bound, what: string, ctx: BindContext, loc: unknown): Bound {
  const src = temporal(x, what, ctx, loc, ['DATE', 'TIME', 'TIMESTAMP']);
  const f = partOf(unit, temporalKind(src) as Kind);
  if (f === null)
    throw sqlError(
      'SqlTypeError',
      `${what}: unit ${unit} is not defined for ${typeToSql(src.type)}`,
      ctx,
      loc,
    );
  return strict(bigint(src.type.nullable), [src], (v) => BigInt(f(v as number)));
}

/** Postgres's spellings of EXTRACT fields that Feldera's unit names do not cover. */
const PG_FIELDS: Readonly<Record<string, string>> = {
  MILLENNIA: 'MILLENNIUM',
  MILLENNIUMS: 'MILLENNIUM',
  CENTURIES: 'CENTURY',
  DECADES: 'DECADE',
  QUARTERS: 'QUARTER',
  WEEKS: 'WEEK',
};

/**
 * `EXTRACT(field FROM x)` and `DATE_PART('field', x)` (the field a string, as the parser hands it): Feldera's
 * DATE_PART, a BIGINT (see the module header), for a DATE, TIME or TIMESTAMP, or an INTERVAL (see
 * `intervalPartOf`). A field not defined for the type (`EXTRACT(YEAR FROM time)`, `EXTRACT(EPOCH FROM time)`,
 * `EXTRACT(YEAR FROM INTERVAL '1' DAY)`) or unknown is a compile-time SqlTypeError.
 */
export function bindExtract(
  field: string,
  x: Bound,
  ctx: BindContext,
  loc: unknown,
  what = 'EXTRACT',
): Bound {
  const f = field.toUpperCase();
  const unit = UNIT_NAMES[f] ?? PG_FIELDS[f];
  if (unit === undefined)
    throw sqlError(
      'SqlTypeError',
      `${what}: unknown field ${f}; use one of YEAR, QUARTER, MONTH, WEEK, DAY, DOW, ISODOW, DOY, HOUR, MINUTE, SECOND, MILLISECOND, MICROSECOND, EPOCH, DECADE, CENTURY, MILLENNIUM, ISOYEAR`,
      ctx,
      loc,
    );
  if (x.type.kind === 'INTERVAL_YM' || x.type.kind === 'INTERVAL_DT') {
    const f = intervalPartOf(unit, x.type.kind);
    if (f === null)
      throw sqlError(
        'SqlTypeError',
        `${what}: unit ${unit} is not defined for ${typeToSql(x.type)}`,
        ctx,
        loc,
      );
    return strict(bigint(x.type.nullable), [x], (v) => BigInt(f(v as number)));
  }
  return datePart(unit, x, what, ctx, loc);
}

/** Division toward zero, as Feldera's i64 arithmetic (and no -0). */
const quot = (a: number, b: number): number => Math.trunc(a / b) || 0;
const rem = (a: number, b: number): number => a % b || 0;

/**
 * Feldera's EXTRACT from an interval (divisions and remainders toward zero, so a negative interval gives
 * negative fields): a year-month interval (months) has YEAR, MONTH, QUARTER (of 1970-01-01 plus it), DECADE,
 * CENTURY, MILLENNIUM (of its years), EPOCH (seconds from 1970-01-01 to that plus it) and time fields 0; a
 * day-time one (µs) has DAY (all its days), HOUR, MINUTE, SECOND, MILLISECOND/MICROSECOND (with the seconds)
 * and EPOCH (all its seconds).
 */
function intervalPartOf(unit: string, kind: 'INTERVAL_YM' | 'INTERVAL_DT'): ((v: number) => number) | null {
  if (kind === 'INTERVAL_YM') {
    switch (unit) {
      case 'YEAR':
        return (m) => quot(m, 12);
      case 'MONTH':
        return (m) => rem(m, 12);
      case 'QUARTER':
        return (m) => Math.floor((((m % 12) + 12) % 12) / 3) + 1;
      case 'DECADE':
        return (m) => quot(quot(m, 12), 10);
      case 'CENTURY':
        return (m) => quot(quot(m, 12), 100);
      case 'MILLENNIUM':
        return (m) => quot(quot(m, 12), 1000);
      case 'EPOCH':
        return (m) => addMonthsToDate(0, m) * 86400;
      case 'DAY':
      case 'HOUR':
      case 'MINUTE':
      case 'SECOND':
      case 'MILLISECOND':
      case 'MICROSECOND':
        return () => 0;
      default:
        return null;
    }
  }
  switch (unit) {
    case 'DAY':
      return (u) => quot(u, USECS_PER_DAY);
    case 'HOUR':
      return (u) => rem(quot(u, USECS_PER_HOUR), 24);
    case 'MINUTE':
      return (u) => rem(quot(u, USECS_PER_MINUTE), 60);
    case 'SECOND':
      return (u) => rem(quot(u, USECS_PER_SEC), 60);
    case 'MILLISECOND':
      return (u) => quot(rem(u, USECS_PER_MINUTE), 1000);
    case 'MICROSECOND':
      return (u) => rem(u, USECS_PER_MINUTE);
    case 'EPOCH':
      return (u) => quot(u, USECS_PER_SEC);
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------------
// truncation

/**
 * Day d rounded down to the unit. DATE_TRUNC's millennia and centuries start in years 2001, 2101, ... (FLOOR's,
 * in ceil-floor-to.ts, in years 2000, 2100, ...).
 */
function truncDays(unit: string, d: number): number | null {
  civilFromDays(d, ymd);
  const y = ymd[0] as number;
  const m = ymd[1] as number;
  const shift = 1;
  switch (unit) {
    case 'MILLENNIUM':
      return daysFromCivil(Math.floor((y - shift) / 1000) * 1000 + shift, 1, 1);
    case 'CENTURY':
      return daysFromCivil(Math.floor((y - shift) / 100) * 100 + shift, 1, 1);
    case 'DECADE':
      return daysFromCivil(Math.floor(y / 10) * 10, 1, 1);
    case 'YEAR':
      return daysFromCivil(y, 1, 1);
    case 'QUARTER':
      return daysFromCivil(y, Math.floor((m - 1) / 3) * 3 + 1, 1);
    case 'MONTH':
      return daysFromCivil(y, m, 1);
    case 'WEEK':
      return d - dayOfWeek0(d); // Feldera's weeks start on Sunday
    case 'DAY':
      return d;
    default:
      return null;
  }
}

const TIME_UNITS: Readonly<Record<string, number>> = {
  HOUR: USECS_PER_HOUR,
  MINUTE: USECS_PER_MINUTE,
  SECOND: USECS_PER_SEC,
  MILLISECOND: 1000,
  MICROSECOND: 1,
};

function truncate(
  unit: string,
  x: Bound,
  what: string,
  ctx: BindContext,
  loc: unknown,
  allowed: Kind[],
): Bound {
  const src = temporal(x, what, ctx, loc, allowed);
  const k = temporalKind(src) as Kind;
  const step = TIME_UNITS[unit];
  const fail = (): never => {
    throw sqlError(
      'SqlTypeError',
      `${what}: unit ${unit} is not defined for ${typeToSql(src.type)}`,
      ctx,
      loc,
    );
  };
  if (k === 'DATE') {
    if (step !== undefined) return src;
    if (truncDays(unit, 0) === null) fail();
    return strict(src.type, [src], (d) => truncDays(unit, d as number) as number);
  }
  if (k === 'TIME') {
    if (step === undefined) fail();
    return strict(src.type, [src], (t) => Math.floor((t as number) / (step as number)) * (step as number));
  }
  if (step !== undefined) return strict(src.type, [src], (t) => Math.floor((t as number) / step) * step);
  if (truncDays(unit, 0) === null) fail();
  return strict(src.type, [src], (t) => {
    const d = Math.floor((t as number) / USECS_PER_DAY);
    return (truncDays(unit, d) as number) * USECS_PER_DAY;
  });
}

// ---------------------------------------------------------------------------------------------------------
// TIMESTAMPADD / TIMESTAMPDIFF

const MONTHS_OF: Readonly<Record<string, number>> = { YEAR: 12, QUARTER: 3, MONTH: 1 };
const USECS_OF: Readonly<Record<string, number>> = {
  WEEK: 7 * USECS_PER_DAY,
  DAY: USECS_PER_DAY,
  ...TIME_UNITS,
};

function timestampAdd(unit: string, n0: Bound, x: Bound, ctx: BindContext, loc: unknown): Bound {
  const src = temporal(x, 'TIMESTAMPADD', ctx, loc, ['DATE', 'TIME', 'TIMESTAMP']);
  const n = coerce(n0, sqlType('BIGINT', n0.type.nullable), ctx, loc, 'TIMESTAMPADD');
  const k = temporalKind(src) as Kind;
  const type = { ...src.type, nullable: src.type.nullable || n.type.nullable };
  const months = MONTHS_OF[unit];
  const us = USECS_OF[unit];
  if (months === undefined && us === undefined)
    throw sqlError('SqlTypeError', `TIMESTAMPADD: unit ${unit} is not supported`, ctx, loc);
  const num = (v: unknown) => Number(v as bigint);
  if (k === 'DATE') {
    if (months !== undefined)
      return strict(type, [src, n], (d, c) => addMonthsToDate(d as number, num(c) * months));
    if (us !== undefined && us % USECS_PER_DAY === 0)
      return strict(type, [src, n], (d, c) => {
        const r = (d as number) + (num(c) * us) / USECS_PER_DAY;
        if (r < DATE_MIN || r >= DATE_END) throw new ServiceError('SqlRuntimeError', 'date out of range');
        return r;
      });
    // a DATE plus hours or smaller becomes a TIMESTAMP
    return strict(
      sqlType('TIMESTAMP', type.nullable),
      [src, n],
      (d, c) => (d as number) * USECS_PER_DAY + num(c) * (us as number),
    );
  }
  if (k === 'TIME') {
    if (us === undefined || us >= USECS_PER_DAY)
      throw sqlError('SqlTypeError', `TIMESTAMPADD: unit ${unit} is not defined for TIME`, ctx, loc);
    return strict(type, [src, n], (t, c) => {
      const r = ((t as number) + num(c) * us) % USECS_PER_DAY;
      return r < 0 ? r + USECS_PER_DAY : r;
    });
  }
  if (months !== undefined)
    return strict(type, [src, n], (t, c) => addMonthsToTimestamp(t as number, num(c) * months));
  return strict(type, [src, n], (t, c) => (t as number) + num(c) * (us as number));
}

function timestampDiff(unit: string, a0: Bound, b0: Bound, ctx: BindContext, loc: unknown): Bound {
  let a = a0;
  let b = b0;
  if (a.unknownLiteral && !b.unknownLiteral)
    a = coerce(a, { ...b.type, nullable: false }, ctx, loc, 'TIMESTAMPDIFF');
  if (b.unknownLiteral && !a.unknownLiteral)
    b = coerce(b, { ...a.type, nullable: false }, ctx, loc, 'TIMESTAMPDIFF');
  a = temporal(a, 'TIMESTAMPDIFF', ctx, loc, ['DATE', 'TIME', 'TIMESTAMP']);
  b = temporal(b, 'TIMESTAMPDIFF', ctx, loc, ['DATE', 'TIME', 'TIMESTAMP']);
  const ka = temporalKind(a) as Kind;
  const kb = temporalKind(b) as Kind;
  if ((ka === 'TIME') !== (kb === 'TIME'))
    throw sqlError(
      'SqlTypeError',
      `Cannot apply 'TIMESTAMPDIFF' to ${typeToSql(a.type)} and ${typeToSql(b.type)}`,
      ctx,
      loc,
    );
  const us = (k: Kind) =>
    k === 'DATE' ? (v: unknown) => (v as number) * USECS_PER_DAY : (v: unknown) => v as number;
  const ua = us(ka);
  const ub = us(kb);
  const type = sqlType('INTEGER', a.type.nullable || b.type.nullable);
  const months = MONTHS_OF[unit];
  if (months !== undefined) {
    if (ka === 'TIME')
      throw sqlError('SqlTypeError', `TIMESTAMPDIFF: unit ${unit} is not defined for TIME`, ctx, loc);
    return strict(type, [a, b], (x, y) => Math.trunc(monthsBetween(ub(y), ua(x)) / months) || 0);
  }
  const step = USECS_OF[unit];
  if (step === undefined)
    throw sqlError('SqlTypeError', `TIMESTAMPDIFF: unit ${unit} is not supported`, ctx, loc);
  return strict(type, [a, b], (x, y) => Math.trunc((ub(y) - ua(x)) / step) || 0);
}

// ---------------------------------------------------------------------------------------------------------
// strftime-style formats

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** Formats a value given as (days, µs of day). */
function strftime(fmt: string, days: number, tod: number): string {
  civilFromDays(days, ymd);
  const [y, m, d] = ymd as [number, number, number];
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i] as string;
    if (c !== '%' || i + 1 >= fmt.length) {
      out += c;
      continue;
    }
    const s = fmt[++i] as string;
    switch (s) {
      case 'Y':
        out += String(y).padStart(4, '0');
        break;
      case 'y':
        out += p2(((y % 100) + 100) % 100);
        break;
      case 'm':
        out += p2(m);
        break;
      case 'd':
        out += p2(d);
        break;
      case 'e':
        out += String(d).padStart(2, ' ');
        break;
      case 'b':
      case 'h':
        out += (MONTHS[m - 1] as string).slice(0, 3);
        break;
      case 'B':
        out += MONTHS[m - 1];
        break;
      case 'a':
        out += (DAYS[dayOfWeek0(days)] as string).slice(0, 3);
        break;
      case 'A':
        out += DAYS[dayOfWeek0(days)];
        break;
      case 'j':
        out += String(days - daysFromCivil(y, 1, 1) + 1).padStart(3, '0');
        break;
      case 'H':
        out += p2(Math.floor(tod / USECS_PER_HOUR));
        break;
      case 'M':
        out += p2(Math.floor((tod % USECS_PER_HOUR) / USECS_PER_MINUTE));
        break;
      case 'S':
        out += p2(Math.floor((tod % USECS_PER_MINUTE) / USECS_PER_SEC));
        break;
      case 'f':
        out += String(tod % USECS_PER_SEC).padStart(6, '0');
        break;
      case '%':
        out += '%';
        break;
      default:
        throw new ServiceError('SqlRuntimeError', `unsupported format specifier %${s}`);
    }
  }
  return out;
}

/** Parses `text` with a strftime-style format: [days, µs of day], or null when it does not match. */
function strptime(fmt: string, text: string): [number, number] | null {
  let y = 1970;
  let m = 1;
  let d = 1;
  let h = 0;
  let mi = 0;
  let s = 0;
  let f = 0;
  let pos = 0;
  const num = (max: number): number | null => {
    const r = new RegExp(`^[+-]?\\d{1,${max}}`).exec(text.slice(pos));
    if (r === null) return null;
    pos += r[0].length;
    return Number(r[0]);
  };
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i] as string;
    if (c !== '%') {
      if (/\s/.test(c)) {
        while (pos < text.length && /\s/.test(text[pos] as string)) pos++;
        continue;
      }
      if (text[pos] !== c) return null;
      pos++;
      continue;
    }
    const spec = fmt[++i];
    let v: number | null;
    switch (spec) {
      case 'Y':
        v = num(6);
        if (v === null) return null;
        y = v;
        break;
      case 'y':
        v = num(2);
        if (v === null) return null;
        y = v < 69 ? 2000 + v : 1900 + v;
        break;
      case 'm':
        v = num(2);
        if (v === null) return null;
        m = v;
        break;
      case 'd':
      case 'e':
        while (text[pos] === ' ') pos++;
        v = num(2);
        if (v === null) return null;
        d = v;
        break;
      case 'H':
        v = num(2);
        if (v === null) return null;
        h = v;
        break;
      case 'M':
        v = num(2);
        if (v === null) return null;
        mi = v;
        break;
      case 'S':
        v = num(2);
        if (v === null) return null;
        s = v;
        break;
      case 'f': {
        const r = /^\d{1,9}/.exec(text.slice(pos));
        if (r === null) return null;
        pos += r[0].length;
        f = Math.round(Number(`0.${r[0]}`) * 1e6);
        break;
      }
      case 'b':
      case 'h':
      case 'B': {
        const rest = text.slice(pos).toLowerCase();
        const k = MONTHS.findIndex((n) =>
          rest.startsWith(spec === 'B' ? n.toLowerCase() : n.slice(0, 3).toLowerCase()),
        );
        if (k < 0) return null;
        m = k + 1;
        pos += spec === 'B' ? (MONTHS[k] as string).length : 3;
        break;
      }
      case '%':
        if (text[pos] !== '%') return null;
        pos++;
        break;
      default:
        throw new ServiceError('SqlRuntimeError', `unsupported format specifier %${spec}`);
    }
  }
  if (pos !== text.length) return null;
  if (m < 1 || m > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  const days = daysFromCivil(y, m, d);
  civilFromDays(days, ymd);
  if (ymd[1] !== m) return null; // e.g. February 30
  return [days, h * USECS_PER_HOUR + mi * USECS_PER_MINUTE + s * USECS_PER_SEC + f];
}

function text(b: Bound, what: string, ctx: BindContext, loc: unknown): Bound {
  if (b.type.kind === 'NULL') return literal(null, sqlType('VARCHAR', true, { length: null }));
  if (b.unknownLiteral) return { ...b, unknownLiteral: false };
  if (!isString(b.type))
    throw sqlError(
      'SqlTypeError',
      `Cannot apply '${what}' to arguments of type ${typeToSql(b.type)}`,
      ctx,
      loc,
    );
  return b;
}

function formatFn(what: string, kinds: Kind[]): FunctionImpl {
  return (call) => {
    call.argc(2);
    const fmt = text(call.args[0] as Bound, what, call.ctx, call.loc);
    let x = call.args[1] as Bound;
    // a string argument is read as the first accepted type (Feldera casts it implicitly)
    if (x.unknownLiteral) x = coerce(x, sqlType(kinds[0] as Kind, false), call.ctx, call.loc, what);
    else if (isString(x.type)) x = castBound(x, sqlType(kinds[0] as Kind, x.type.nullable));
    x = temporal(x, what, call.ctx, call.loc, kinds);
    const k = temporalKind(x) as Kind;
    const split = (v: number): [number, number] => {
      if (k === 'DATE') return [v, 0];
      if (k === 'TIME') return [0, v];
      const dd = Math.floor(v / USECS_PER_DAY);
      return [dd, v - dd * USECS_PER_DAY];
    };
    return strict(
      sqlType('VARCHAR', fmt.type.nullable || x.type.nullable, { length: null }),
      [fmt, x],
      (f, v) => {
        const [dd, t] = split(v as number);
        return strftime(f as string, dd, t);
      },
    );
  };
}

function parseFn(what: string, kind: Kind): FunctionImpl {
  return (call) => {
    call.argc(2);
    const fmt = text(call.args[0] as Bound, what, call.ctx, call.loc);
    const arg = call.args[1] as Bound;
    const s =
      isString(arg.type) || arg.unknownLiteral || arg.type.kind === 'NULL'
        ? text(arg, what, call.ctx, call.loc)
        : null;
    if (s === null) {
      if (arg.type.kind === 'BOOLEAN' || isInteger(arg.type)) return literal(null, sqlType(kind, true));
      throw sqlError(
        'SqlTypeError',
        `Cannot apply '${what}' to arguments of type ${typeToSql(arg.type)}`,
        call.ctx,
        call.loc,
      );
    }
    return strict(sqlType(kind, true), [fmt, s], (f, v) => {
      const r = strptime(f as string, v as string);
      if (r === null) return null;
      return kind === 'DATE' ? r[0] : kind === 'TIME' ? r[1] : r[0] * USECS_PER_DAY + r[1];
    });
  };
}

// ---------------------------------------------------------------------------------------------------------
// registry

const partFn =
  (unit: string, what: string): FunctionImpl =>
  (call) => {
    call.argc(1);
    return datePart(unit, call.args[0] as Bound, what, call.ctx, call.loc);
  };

const intervalCalls: Record<string, FunctionImpl> = Object.fromEntries(
  Object.entries(INTERVAL_CALLS).map(([name, unit]) => [
    name,
    (call: Parameters<FunctionImpl>[0]) => {
      call.argc(1);
      return bindIntervalOfUnit(unit, call.args[0] as Bound, call.ctx, call.loc);
    },
  ]),
);
const scaledIntervalCalls: Record<string, FunctionImpl> = Object.fromEntries(
  Object.entries(SCALED_INTERVAL_CALLS).map(([name, { unit, factor }]) => [
    name,
    (call: Parameters<FunctionImpl>[0]) => {
      call.argc(1);
      return bindIntervalOfUnit(unit, call.args[0] as Bound, call.ctx, call.loc, factor);
    },
  ]),
);

/**
 * An integer argument of MAKE_DATE / MAKE_TIME / MAKE_TIMESTAMP: Feldera (Calcite's INTEGER operand check) accepts
 * an integer type, NULL or an untyped literal, and refuses a DECIMAL, a floating-point or a string column.
 */
function intField(call: Parameters<FunctionImpl>[0], i: number, what: string): Bound {
  const a = call.args[i] as Bound;
  if (!isInteger(a.type) && a.type.kind !== 'NULL' && !(a.unknownLiteral && isString(a.type)))
    throw sqlError(
      'SqlTypeError',
      `${what}: argument ${i + 1} must be an integer, not ${typeToSql(a.type)}`,
      call.ctx,
      call.loc,
    );
  return call.int(i);
}

/** The seconds argument of MAKE_TIME / MAKE_TIMESTAMP: any number (integer, DECIMAL, REAL, DOUBLE). */
function secondsField(call: Parameters<FunctionImpl>[0], i: number, what: string): Bound {
  const a = call.args[i] as Bound;
  if (isString(a.type) && !a.unknownLiteral)
    throw sqlError(
      'SqlTypeError',
      `${what}: argument ${i + 1} must be a number, not ${typeToSql(a.type)}`,
      call.ctx,
      call.loc,
    );
  return call.num(i);
}

/**
 * µs of a seconds value in [0, 60), rounded to the µs (half to even), or null when out of that range or not
 * finite; a value just under 60 that would round to 60 keeps 59.999999 (the field stays in its minute).
 */
function secondsMicros(v: Value): number | null {
  let us: number;
  if (v instanceof Decimal) {
    if (v.sign() < 0 || v.cmp(SIXTY) >= 0) return null;
    const r = v.round(6);
    us = Number(r.unscaled * 10n ** BigInt(6 - r.scale));
  } else if (typeof v === 'bigint') {
    if (v < 0n || v >= 60n) return null;
    us = Number(v) * USECS_PER_SEC;
  } else {
    const n = v as number;
    if (!Number.isFinite(n) || n < 0 || n >= 60) return null;
    us = roundHalfEven(n * USECS_PER_SEC);
  }
  return Math.min(us, 60 * USECS_PER_SEC - 1);
}
const SIXTY = Decimal.fromInt(60);

/** Days of a valid calendar date, or null (Feldera: an invalid date is NULL, not an error). */
function validDays(y: number, m: number, d: number, end: number): number | null {
  if (m < 1 || m > 12 || d < 1 || d > 31) return null;
  const days = daysFromCivil(y, m, d);
  civilFromDays(days, ymd);
  if (ymd[0] !== y || ymd[1] !== m || ymd[2] !== d) return null;
  return days >= DATE_MIN && days < end ? days : null;
}

/** µs since midnight of hour, minute and seconds, or null when a field is out of range. */
function timeOfDay(h: number, m: number, s: Value): number | null {
  if (h < 0 || h > 23 || m < 0 || m > 59) return null;
  const us = secondsMicros(s);
  return us === null ? null : h * USECS_PER_HOUR + m * USECS_PER_MINUTE + us;
}

/** MAKE_DATE(y, m, d): a DATE; NULL when an argument is NULL or the date does not exist (Feldera). */
function makeDate(): FunctionImpl {
  return (call) => {
    call.argc(3);
    const w = 'MAKE_DATE';
    const args = [intField(call, 0, w), intField(call, 1, w), intField(call, 2, w)];
    return strict(sqlType('DATE', true), args, (y, m, d) =>
      validDays(y as number, m as number, d as number, DATE_END),
    );
  };
}

/** MAKE_TIME(h, m, s): a TIME; s may have a fraction (rounded to µs); NULL when a field is out of range. */
function makeTime(): FunctionImpl {
  return (call) => {
    call.argc(3);
    const w = 'MAKE_TIME';
    const args = [intField(call, 0, w), intField(call, 1, w), secondsField(call, 2, w)];
    return strict(sqlType('TIME', true), args, (h, m, s) => timeOfDay(h as number, m as number, s));
  };
}

/** MAKE_TIMESTAMP(y, mo, d, h, mi, s): a TIMESTAMP; NULL when a field is out of range or the date does not exist. */
function makeTimestamp(): FunctionImpl {
  return (call) => {
    call.argc(6);
    const w = 'MAKE_TIMESTAMP';
    const args = [0, 1, 2, 3, 4].map((i) => intField(call, i, w));
    args.push(secondsField(call, 5, w));
    return strict(sqlType('TIMESTAMP', true), args, (y, mo, d, h, mi, s) => {
      const days = validDays(y as number, mo as number, d as number, TIMESTAMP_DATE_END);
      if (days === null) return null;
      const tod = timeOfDay(h as number, mi as number, s);
      return tod === null ? null : days * USECS_PER_DAY + tod;
    });
  };
}

/**
 * CONVERT_TIMEZONE(source_tz, target_tz, ts): the wall-clock time in target_tz of the instant whose wall-clock
 * time in source_tz is ts (see `values/time-zones.ts` for zone names and daylight-saving gaps/overlaps). A
 * constant zone name ICU does not know is a SqlTypeError when the program compiles; one read from a row, a
 * SqlRuntimeError for that row.
 */
function convertTimezone(): FunctionImpl {
  return (call) => {
    call.argc(3);
    const w = 'CONVERT_TIMEZONE';
    const zones = [0, 1].map((i) => {
      const z = text(call.args[i] as Bound, w, call.ctx, call.loc);
      const v = z.literal?.value;
      if (typeof v === 'string' && !isKnownTimeZone(v))
        throw sqlError('SqlTypeError', `${w}: time zone '${v}' not recognized`, call.ctx, call.loc);
      return z;
    });
    let ts = call.args[2] as Bound;
    if (ts.unknownLiteral || ts.type.kind === 'NULL')
      ts = coerce(ts, sqlType('TIMESTAMP', false), call.ctx, call.loc, w);
    else if (ts.type.kind === 'DATE') ts = castBound(ts, sqlType('TIMESTAMP', ts.type.nullable));
    if (ts.type.kind !== 'TIMESTAMP')
      throw sqlError(
        'SqlTypeError',
        `Cannot apply '${w}' to arguments of type ${typeToSql(ts.type)}`,
        call.ctx,
        call.loc,
      );
    const nullable = zones.some((z) => z.type.nullable) || ts.type.nullable;
    return strict(sqlType('TIMESTAMP', nullable), [...zones, ts], (a, b, t) =>
      convertTimeZone(a as string, b as string, t as number),
    );
  };
}

export const DATETIME_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {
  ...intervalCalls,
  ...scaledIntervalCalls,
  year: partFn('YEAR', 'YEAR'),
  quarter: partFn('QUARTER', 'QUARTER'),
  month: partFn('MONTH', 'MONTH'),
  week: partFn('WEEK', 'WEEK'),
  dayofmonth: partFn('DAY', 'DAYOFMONTH'),
  dayofweek: partFn('DOW', 'DAYOFWEEK'),
  dow: partFn('DOW', 'DOW'),
  doy: partFn('DOY', 'DOY'),
  dayofyear: partFn('DOY', 'DAYOFYEAR'),
  hour: partFn('HOUR', 'HOUR'),
  minute: partFn('MINUTE', 'MINUTE'),
  second: partFn('SECOND', 'SECOND'),
  format_date: formatFn('FORMAT_DATE', ['DATE', 'TIMESTAMP']),
  format_timestamp: formatFn('FORMAT_TIMESTAMP', ['TIMESTAMP', 'DATE']),
  format_time: formatFn('FORMAT_TIME', ['TIME', 'TIMESTAMP']),
  parse_date: parseFn('PARSE_DATE', 'DATE'),
  parse_timestamp: parseFn('PARSE_TIMESTAMP', 'TIMESTAMP'),
  parse_time: parseFn('PARSE_TIME', 'TIME'),
  make_date: makeDate(),
  make_time: makeTime(),
  make_timestamp: makeTimestamp(),
  convert_timezone: convertTimezone(),
};

/**
 * The functions with a unit argument, bound from their AST (before the binder binds arguments): DATE_PART,
 * DATE_TRUNC, TIMESTAMP_TRUNC, TIME_TRUNC, TIMESTAMPADD, TIMESTAMPDIFF (and its synonym DATEDIFF). Returns
 * undefined for other names.
 */
export function bindDatetimeSpecial(
  name: string,
  n: Ast,
  ctx: BindContext,
  bind: (a: Ast, c: BindContext) => Bound,
): Bound | undefined {
  const args = (n.args ?? []) as Ast[];
  const loc = n.location;
  const what = name.toUpperCase();
  const argc = (k: number) => {
    if (args.length !== k) throw sqlError('SqlTypeError', `function ${what} takes ${k} arguments`, ctx, loc);
  };
  const isUnitWord = (a: Ast) => {
    const f = a?.ColumnRef?.fields as Ast[] | undefined;
    return (
      f?.length === 1 && f[0].String && UNIT_NAMES[(f[0].String.sval as string).toUpperCase()] !== undefined
    );
  };
  switch (name) {
    case 'date_part': {
      argc(2);
      // DATE_PART('unit', x) (Postgres) stays with the binder's EXTRACT; DATE_PART(UNIT, x) is Feldera's
      if (!isUnitWord(args[0])) return undefined;
      return bindExtract(unitArg(args[0], what, ctx, loc), bind(args[1], ctx), ctx, loc, what);
    }
    case 'date_trunc':
    case 'timestamp_trunc':
    case 'time_trunc': {
      argc(2);
      const pgOrder = args[0]?.A_Const?.sval !== undefined;
      const unit = unitArg(pgOrder ? args[0] : args[1], what, ctx, loc);
      let x = bind(pgOrder ? args[1] : args[0], ctx);
      // Feldera: TIMESTAMP_TRUNC of a DATE truncates the date's midnight (a TIMESTAMP)
      if (name === 'timestamp_trunc' && x.type.kind === 'DATE')
        x = castBound(x, sqlType('TIMESTAMP', x.type.nullable));
      const kinds: Kind[] =
        name === 'time_trunc' ? ['TIME'] : name === 'timestamp_trunc' ? ['TIMESTAMP'] : ['DATE', 'TIMESTAMP'];
      return truncate(unit, x, what, ctx, loc, kinds);
    }
    case 'timestampadd': {
      argc(3);
      const unit = unitArg(args[0], what, ctx, loc);
      return timestampAdd(unit, bind(args[1], ctx), bind(args[2], ctx), ctx, loc);
    }
    case 'timestampdiff':
    case 'datediff': {
      // Feldera: DATEDIFF is a synonym of TIMESTAMPDIFF
      argc(3);
      const unit = unitArg(args[0], what, ctx, loc);
      return timestampDiff(unit, bind(args[1], ctx), bind(args[2], ctx), ctx, loc);
    }
    default:
      return undefined;
  }
}
