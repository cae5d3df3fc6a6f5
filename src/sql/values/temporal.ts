/**
 * DATE, TIME and TIMESTAMP values: parsing, PostgreSQL text output, Postgres's EXTRACT and date arithmetic.
 *
 * Representation (fixed by `zset/value.ts`): DATE = integral days since 1970-01-01; TIME = integral µs since
 * midnight (0..86_400_000_000, 24:00:00 allowed as Postgres does); TIMESTAMP = integral µs since
 * 1970-01-01 00:00:00, no time zone. Calendar: proleptic Gregorian with astronomical years (year 0 = 1 BC, shown
 * as `0001 BC` like Postgres). Note that a TIMESTAMP number is exact only while |µs| < 2^53, i.e. roughly years
 * 1685..2255 for sub-second values (whole seconds stay exact for ±285 000 years).
 *
 * Input is ISO only (`YYYY-MM-DD`, `HH:MM[:SS[.ffffff]]`, date + ' ' or 'T' + time); Postgres's other input
 * styles (`Jan 1 2020`, `epoch`, `today`, `infinity`, ...) are refused. A time zone suffix on a timestamp is
 * accepted and ignored, as Postgres does for `timestamp without time zone`.
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { ErrorCode } from '../../types/error-codes.ts';
import { Decimal } from './decimal.ts';
import { roundHalfEven } from './integers.ts';

export const USECS_PER_SEC = 1_000_000;
export const USECS_PER_MINUTE = 60_000_000;
export const USECS_PER_HOUR = 3_600_000_000;
export const USECS_PER_DAY = 86_400_000_000;

/** Postgres date range in days since 1970-01-01: [4714-11-24 BC, 5874898-01-01). */
export const DATE_MIN = -2440588;
export const DATE_END = 2145042906;
/** First date (days) that no longer fits a timestamp (294277-01-01). */
export const TIMESTAMP_DATE_END = 106762940;
const UNIX_EPOCH_JDATE = 2440588;

/** Days since 1970-01-01 of a proleptic Gregorian date (astronomical year). */
export function daysFromCivil(y: number, m: number, d: number): number {
  if (m <= 2) y -= 1;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Year (astronomical), month 1..12 and day 1..31 of a day number. Writes into `out` to avoid allocation. */
export function civilFromDays(days: number, out: number[] = [0, 0, 0]): number[] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  out[0] = yoe + era * 400 + (m <= 2 ? 1 : 0);
  out[1] = m;
  out[2] = d;
  return out;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : (MONTH_DAYS[m - 1] as number);
}

function syntax(type: string, text: string, code: ErrorCode): ServiceError {
  return new ServiceError(code, `invalid input syntax for type ${type}: "${text}"`, { value: text });
}

function fieldRange(text: string, code: ErrorCode): ServiceError {
  return new ServiceError(code, `date/time field value out of range: "${text}"`, { value: text });
}

/** µs of a fraction string (digits after the point), like Postgres: rint(strtod(".ddd") * 1e6). */
function fractionMicros(f: string): number {
  if (f.length === 0) return 0;
  if (f.length <= 6) return Number(f.padEnd(6, '0'));
  return roundHalfEven(Number(`0.${f}`) * 1e6);
}

const SP = '[ \\t\\n\\v\\f\\r]*';
const DATE_RE = new RegExp(`^${SP}(\\d{4,7})-(\\d{1,2})-(\\d{1,2})(?:${SP}(BC|AD))?${SP}$`, 'i');
const TIME_RE = new RegExp(`^${SP}(\\d{1,2}):(\\d{1,2})(?::(\\d{1,2})(?:\\.(\\d*))?)?${SP}$`);
const TIMESTAMP_RE = new RegExp(
  `^${SP}(\\d{4,7})-(\\d{1,2})-(\\d{1,2})(?:(?:T|[ \\t]+)(\\d{1,2}):(\\d{1,2})(?::(\\d{1,2})(?:\\.(\\d*))?)?)?` +
    `${SP}(?:Z|[+-]\\d{1,2}(?::?\\d{2}(?::?\\d{2})?)?)?(?:${SP}(BC|AD))?${SP}$`,
  'i',
);

function dateFields(
  text: string,
  ys: string,
  ms: string,
  ds: string,
  era: string | undefined,
  code: ErrorCode,
): number {
  let y = Number(ys);
  const m = Number(ms);
  const d = Number(ds);
  if (
    y === 0 ||
    m < 1 ||
    m > 12 ||
    d < 1 ||
    d > daysInMonth(era !== undefined && /bc/i.test(era) ? 1 - y : y, m)
  ) {
    throw fieldRange(text, code);
  }
  if (era !== undefined && /bc/i.test(era)) y = 1 - y;
  const days = daysFromCivil(y, m, d);
  if (days < DATE_MIN || days >= DATE_END) {
    throw new ServiceError(code, `date out of range: "${text}"`, { value: text });
  }
  return days;
}

/** µs since midnight from parsed fields; 24:00:00 and a leap second 60 are allowed as in Postgres. */
function timeFields(
  text: string,
  hs: string,
  mins: string,
  ss: string | undefined,
  fs: string | undefined,
  code: ErrorCode,
) {
  const h = Number(hs);
  const m = Number(mins);
  const s = ss === undefined ? 0 : Number(ss);
  const f = fs === undefined ? 0 : fractionMicros(fs);
  if (h > 24 || m > 59 || s > 60 || f > USECS_PER_SEC || (h === 24 && (m > 0 || s > 0 || f > 0))) {
    throw fieldRange(text, code);
  }
  return h * USECS_PER_HOUR + m * USECS_PER_MINUTE + s * USECS_PER_SEC + f;
}

/** The digit at `t[i]`, or -1. */
function digitAt(t: string, i: number): number {
  const c = t.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Two digits at `t[i]`, or -1. */
function twoDigits(t: string, i: number): number {
  const a = digitAt(t, i);
  const b = digitAt(t, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * Days since 1970-01-01 of a canonical 'YYYY-MM-DD' at the start of `t` (year 0001–9999, a valid day), or NaN
 * (then the caller reads `t` with the full grammar and reports its errors): most input is canonical, and reading
 * it by character codes is several times faster than the regular expression.
 */
function canonicalDate(t: string): number {
  if (t.length < 10 || t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45) return Number.NaN;
  const y1 = twoDigits(t, 0);
  const y2 = twoDigits(t, 2);
  const m = twoDigits(t, 5);
  const d = twoDigits(t, 8);
  if (y1 < 0 || y2 < 0 || m < 1 || m > 12 || d < 1) return Number.NaN;
  const y = y1 * 100 + y2;
  if (y === 0 || d > daysInMonth(y, m)) return Number.NaN;
  return daysFromCivil(y, m, d);
}

/**
 * µs since the epoch of a canonical timestamp 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM', 'YYYY-MM-DD HH:MM:SS' or with
 * a fraction '.f…' (a space or 'T' between date and time; hours 00–23, seconds 00–59), or NaN for any other
 * text, which the caller reads with the full grammar (and its errors).
 */
function canonicalTimestamp(t: string): number {
  const n = t.length;
  const days = canonicalDate(t);
  if (Number.isNaN(days) || days >= TIMESTAMP_DATE_END) return Number.NaN;
  if (n === 10) return days * USECS_PER_DAY;
  const sep = t.charCodeAt(10);
  if (n < 16 || (sep !== 32 && sep !== 84) || t.charCodeAt(13) !== 58) return Number.NaN;
  const h = twoDigits(t, 11);
  const mi = twoDigits(t, 14);
  if (h < 0 || h > 23 || mi < 0 || mi > 59) return Number.NaN;
  let sec = 0;
  let frac = 0;
  if (n > 16) {
    if (n < 19 || t.charCodeAt(16) !== 58) return Number.NaN;
    sec = twoDigits(t, 17);
    if (sec < 0 || sec > 59) return Number.NaN;
    if (n > 19) {
      if (t.charCodeAt(19) !== 46) return Number.NaN;
      for (let i = 20; i < n; i++) if (digitAt(t, i) < 0) return Number.NaN;
      frac = fractionMicros(t.slice(20));
      if (frac >= USECS_PER_SEC) return Number.NaN;
    }
  }
  // the same sum, in the same order, as the full grammar's (beyond 2^53 µs the rounding must agree)
  return days * USECS_PER_DAY + (h * USECS_PER_HOUR + mi * USECS_PER_MINUTE + sec * USECS_PER_SEC + frac);
}

/** 'YYYY-MM-DD' (also 'YYYY-M-D', optional ' BC', or a whole timestamp) → days since 1970-01-01. */
export function parseDate(text: string, code: ErrorCode = 'InvalidRecord'): number {
  if (text.length === 10) {
    const days = canonicalDate(text);
    if (!Number.isNaN(days)) return days;
  }
  const m = DATE_RE.exec(text);
  if (m !== null) return dateFields(text, m[1] as string, m[2] as string, m[3] as string, m[4], code);
  // like Postgres, a full timestamp is accepted and its time of day ignored
  const t = TIMESTAMP_RE.exec(text);
  if (t === null) throw syntax('date', text, code);
  if (t[4] !== undefined) timeFields(text, t[4], t[5] as string, t[6], t[7], code);
  return dateFields(text, t[1] as string, t[2] as string, t[3] as string, t[8], code);
}

/** 'HH:MM', 'HH:MM:SS' or 'HH:MM:SS.ffffff' (or a whole timestamp) → µs since midnight. */
export function parseTime(text: string, code: ErrorCode = 'InvalidRecord'): number {
  let m = TIME_RE.exec(text);
  if (m === null) {
    // like Postgres, a full timestamp is accepted and its date ignored
    const ts = TIMESTAMP_RE.exec(text);
    if (ts === null || ts[4] === undefined) throw syntax('time', text, code);
    dateFields(text, ts[1] as string, ts[2] as string, ts[3] as string, ts[8], code);
    m = [ts[0], ts[4], ts[5], ts[6], ts[7]] as unknown as RegExpExecArray;
  }
  const t = timeFields(text, m[1] as string, m[2] as string, m[3], m[4], code);
  if (t > USECS_PER_DAY) throw fieldRange(text, code);
  return t;
}

/** Date, optionally followed by ' ' or 'T' and a time (a time zone suffix is ignored) → µs since the epoch. */
export function parseTimestamp(text: string, code: ErrorCode = 'InvalidRecord'): number {
  const fast = canonicalTimestamp(text);
  if (!Number.isNaN(fast)) return fast;
  const m = TIMESTAMP_RE.exec(text);
  if (m === null) throw syntax('timestamp', text, code);
  const days = dateFields(text, m[1] as string, m[2] as string, m[3] as string, m[8], code);
  const tod = m[4] === undefined ? 0 : timeFields(text, m[4], m[5] as string, m[6], m[7], code);
  if (days >= TIMESTAMP_DATE_END)
    throw new ServiceError(code, `timestamp out of range: "${text}"`, { value: text });
  return days * USECS_PER_DAY + tod;
}

const scratch: number[] = [0, 0, 0];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function datePart(days: number): string {
  civilFromDays(days, scratch);
  const y = scratch[0] as number;
  const yy = y > 0 ? y : 1 - y;
  const ys = yy >= 1000 ? String(yy) : String(yy).padStart(4, '0');
  return `${ys}-${pad2(scratch[1] as number)}-${pad2(scratch[2] as number)}`;
}

/** 'YYYY-MM-DD' ('YYYY-MM-DD BC' before year 1). */
export function formatDate(days: number): string {
  return days < -719162 ? `${datePart(days)} BC` : datePart(days);
}

/** 'HH:MM:SS' plus '.f…' (trailing zeros dropped) when there is a fraction. */
export function formatTime(us: number): string {
  const h = Math.floor(us / USECS_PER_HOUR);
  let rest = us - h * USECS_PER_HOUR;
  const m = Math.floor(rest / USECS_PER_MINUTE);
  rest -= m * USECS_PER_MINUTE;
  const s = Math.floor(rest / USECS_PER_SEC);
  const f = rest - s * USECS_PER_SEC;
  const base = `${pad2(h)}:${pad2(m)}:${pad2(s)}`;
  if (f === 0) return base;
  let fs = String(f).padStart(6, '0');
  let end = 6;
  while (fs.charCodeAt(end - 1) === 48) end--;
  fs = fs.slice(0, end);
  return `${base}.${fs}`;
}

/** 'YYYY-MM-DD HH:MM:SS[.f…]' (' BC' appended before year 1). */
export function formatTimestamp(us: number): string {
  const days = Math.floor(us / USECS_PER_DAY);
  const s = `${datePart(days)} ${formatTime(us - days * USECS_PER_DAY)}`;
  return days < -719162 ? `${s} BC` : s;
}

function runtime(message: string): ServiceError {
  return new ServiceError('SqlRuntimeError', message);
}

/** Postgres date + integer (and date - integer with a negated n). */
export function dateAddDays(date: number, n: number): number {
  const r = date + n;
  if (r < DATE_MIN || r >= DATE_END) throw runtime('date out of range');
  return r;
}

/** Postgres date - date: whole days. */
export function dateDiff(a: number, b: number): number {
  return a - b;
}

export function dateToTimestamp(date: number): number {
  if (date >= TIMESTAMP_DATE_END) throw runtime('date out of range for timestamp');
  return date * USECS_PER_DAY;
}

export function timestampToDate(ts: number): number {
  return Math.floor(ts / USECS_PER_DAY);
}

export function timestampToTime(ts: number): number {
  const days = Math.floor(ts / USECS_PER_DAY);
  return ts - days * USECS_PER_DAY;
}

// ---------------------------------------------------------------- EXTRACT

export type ExtractField =
  | 'YEAR'
  | 'QUARTER'
  | 'MONTH'
  | 'WEEK'
  | 'DAY'
  | 'DOW'
  | 'ISODOW'
  | 'DOY'
  | 'HOUR'
  | 'MINUTE'
  | 'SECOND'
  | 'MILLISECOND'
  | 'MICROSECOND'
  | 'EPOCH'
  | 'DECADE'
  | 'CENTURY'
  | 'MILLENNIUM'
  | 'ISOYEAR'
  | 'JULIAN';

export type TemporalKind = 'DATE' | 'TIME' | 'TIMESTAMP';

/** Postgres unit spellings (looked up on the first 10 lowercase characters, as Postgres does). */
const UNIT_ALIASES: ReadonlyMap<string, ExtractField | 'TIMEZONE'> = new Map<
  string,
  ExtractField | 'TIMEZONE'
>([
  ...(['y', 'year', 'years', 'yr', 'yrs'].map((a) => [a, 'YEAR']) as [string, ExtractField][]),
  ...(['qtr', 'quarter'].map((a) => [a, 'QUARTER']) as [string, ExtractField][]),
  ...(['mon', 'mons', 'month', 'months'].map((a) => [a, 'MONTH']) as [string, ExtractField][]),
  ...(['w', 'week', 'weeks'].map((a) => [a, 'WEEK']) as [string, ExtractField][]),
  ...(['d', 'day', 'days'].map((a) => [a, 'DAY']) as [string, ExtractField][]),
  ...(['h', 'hour', 'hours', 'hr', 'hrs'].map((a) => [a, 'HOUR']) as [string, ExtractField][]),
  ...(['m', 'min', 'mins', 'minute', 'minutes'].map((a) => [a, 'MINUTE']) as [string, ExtractField][]),
  ...(['s', 'sec', 'second', 'seconds', 'secs'].map((a) => [a, 'SECOND']) as [string, ExtractField][]),
  ...(['ms', 'msec', 'msecond', 'mseconds', 'msecs', 'millisecon'].map((a) => [a, 'MILLISECOND']) as [
    string,
    ExtractField,
  ][]),
  ...(['us', 'usec', 'usecond', 'useconds', 'usecs', 'microsecon'].map((a) => [a, 'MICROSECOND']) as [
    string,
    ExtractField,
  ][]),
  ...(['dec', 'decade', 'decades', 'decs'].map((a) => [a, 'DECADE']) as [string, ExtractField][]),
  ...(['c', 'cent', 'century', 'centuries'].map((a) => [a, 'CENTURY']) as [string, ExtractField][]),
  ...(['mil', 'millennia', 'millennium', 'mils'].map((a) => [a, 'MILLENNIUM']) as [string, ExtractField][]),
  ['epoch', 'EPOCH'],
  ['dow', 'DOW'],
  ['isodow', 'ISODOW'],
  ['doy', 'DOY'],
  ['isoyear', 'ISOYEAR'],
  ['julian', 'JULIAN'],
  ['j', 'JULIAN'],
  ['timezone', 'TIMEZONE'],
  ['timezone_h', 'TIMEZONE'],
  ['timezone_m', 'TIMEZONE'],
]);

const TYPE_NAMES: Readonly<Record<TemporalKind, string>> = {
  DATE: 'date',
  TIME: 'time without time zone',
  TIMESTAMP: 'timestamp without time zone',
};

const DATE_FIELDS: ReadonlySet<string> = new Set([
  'YEAR',
  'QUARTER',
  'MONTH',
  'WEEK',
  'DAY',
  'DOW',
  'ISODOW',
  'DOY',
  'EPOCH',
  'DECADE',
  'CENTURY',
  'MILLENNIUM',
  'ISOYEAR',
  'JULIAN',
]);
const TIME_FIELDS: ReadonlySet<string> = new Set([
  'HOUR',
  'MINUTE',
  'SECOND',
  'MILLISECOND',
  'MICROSECOND',
  'EPOCH',
]);

function dec(n: number): Decimal {
  return new Decimal(BigInt(n), 0);
}

function dayOfWeek(days: number): number {
  const r = (days + 4) % 7;
  return r < 0 ? r + 7 : r;
}

/** ISO week-numbering year (astronomical) and week of a day number. */
function isoYearWeek(days: number, out: number[]): void {
  const dow = dayOfWeek(days);
  const thursday = days - (dow === 0 ? 7 : dow) + 4;
  civilFromDays(thursday, out);
  const y = out[0] as number;
  out[1] = Math.floor((thursday - daysFromCivil(y, 1, 1)) / 7) + 1;
}

/** Value of a date field for a day number (all integral). */
function datePartOf(field: ExtractField, days: number): number {
  const t = scratch;
  switch (field) {
    case 'DOW':
      return dayOfWeek(days);
    case 'ISODOW': {
      const d = dayOfWeek(days);
      return d === 0 ? 7 : d;
    }
    case 'WEEK':
      isoYearWeek(days, t);
      return t[1] as number;
    case 'ISOYEAR': {
      isoYearWeek(days, t);
      const y = t[0] as number;
      return y <= 0 ? y - 1 : y;
    }
    case 'JULIAN':
      return days + UNIX_EPOCH_JDATE;
    default:
      break;
  }
  civilFromDays(days, t);
  const y = t[0] as number;
  const m = t[1] as number;
  switch (field) {
    case 'YEAR':
      return y > 0 ? y : y - 1;
    case 'QUARTER':
      return Math.floor((m - 1) / 3) + 1;
    case 'MONTH':
      return m;
    case 'DAY':
      return t[2] as number;
    case 'DOY':
      return days - daysFromCivil(y, 1, 1) + 1;
    case 'DECADE':
      return y >= 0 ? Math.floor(y / 10) : -Math.trunc((8 - (y - 1)) / 10);
    case 'CENTURY':
      return y > 0 ? Math.trunc((y + 99) / 100) : -Math.trunc((99 - (y - 1)) / 100);
    case 'MILLENNIUM':
      return y > 0 ? Math.trunc((y + 999) / 1000) : -Math.trunc((999 - (y - 1)) / 1000);
    default:
      throw new Error(`unreachable date field ${field}`);
  }
}

/** Value of a time-of-day field as Postgres's numeric (SECOND scale 6, MILLISECOND scale 3). */
function timePartOf(field: ExtractField, tod: number): Decimal {
  switch (field) {
    case 'HOUR':
      return dec(Math.floor(tod / USECS_PER_HOUR));
    case 'MINUTE':
      return dec(Math.floor((tod % USECS_PER_HOUR) / USECS_PER_MINUTE));
    case 'SECOND':
      return new Decimal(BigInt(tod % USECS_PER_MINUTE), 6);
    case 'MILLISECOND':
      return new Decimal(BigInt(tod % USECS_PER_MINUTE), 3);
    case 'MICROSECOND':
      return dec(tod % USECS_PER_MINUTE);
    default:
      throw new Error(`unreachable time field ${field}`);
  }
}

const USECS_PER_DAY_DEC = new Decimal(BigInt(USECS_PER_DAY), 0);

/** Resolves a unit name (any case, Postgres spellings) for a kind; throws Postgres's error when refused. */
export function resolveExtractField(unit: string, kind: TemporalKind): ExtractField {
  const low = unit.toLowerCase();
  const f = UNIT_ALIASES.get(low.slice(0, 10));
  if (f === undefined) throw runtime(`unit "${low}" not recognized for type ${TYPE_NAMES[kind]}`);
  const ok =
    f !== 'TIMEZONE' && (kind === 'TIMESTAMP' || (kind === 'DATE' ? DATE_FIELDS.has(f) : TIME_FIELDS.has(f)));
  if (!ok) throw runtime(`unit "${low}" not supported for type ${TYPE_NAMES[kind]}`);
  return f as ExtractField;
}

/**
 * EXTRACT(unit FROM value) as Postgres 14+ computes it (a numeric). The unit is checked once, here: a unit
 * Postgres refuses for the kind throws its message ('unit "hour" not supported for type date'). SQL's EXTRACT
 * is Feldera's (a BIGINT, `functions/datetime.ts`); this Postgres form is not bound to SQL.
 */
export function compileExtract(unit: string, kind: TemporalKind): (v: number) => Decimal {
  const f = resolveExtractField(unit, kind);
  if (kind === 'DATE') {
    if (f === 'EPOCH') return (d) => dec(d * 86400);
    return (d) => dec(datePartOf(f, d));
  }
  if (kind === 'TIME') {
    if (f === 'EPOCH') return (t) => new Decimal(BigInt(t), 6);
    return (t) => timePartOf(f, t);
  }
  if (f === 'EPOCH') return (ts) => new Decimal(BigInt(ts), 6);
  if (TIME_FIELDS.has(f)) return (ts) => timePartOf(f, timestampToTime(ts));
  if (f === 'JULIAN') {
    return (ts) => {
      const days = timestampToDate(ts);
      return dec(days + UNIX_EPOCH_JDATE).add(dec(ts - days * USECS_PER_DAY).div(USECS_PER_DAY_DEC));
    };
  }
  return (ts) => dec(datePartOf(f, timestampToDate(ts)));
}
