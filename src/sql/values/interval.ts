/**
 * INTERVAL values as Feldera (Calcite) writes and reads them, and TIMESTAMP WITH TIME ZONE input.
 *
 * Representation (see `zset/value.ts`): a year-month interval (`INTERVAL_YM`) is a number of months, a day-time
 * interval (`INTERVAL_DT`) a number of microseconds, both integral JS numbers (exact below 2^53 µs, about 285
 * years). The type's qualifier (`DAY TO SECOND`, `MONTH`, ...) never changes the value, only how it is shown
 * and how it converts to a number: `(d1 - d2) YEAR` keeps every month of the difference and shows whole years.
 *
 * Text form (CAST to VARCHAR), Calcite's: a sign (`+` or `-`, `+` for zero), the leading field unpadded, the
 * other fields two digits, `Y-MM`, `D HH`, `D HH:MM`, `D HH:MM:SS`, `H:MM`, `H:MM:SS.ffffff`, `M:SS.ffffff`,
 * `S.ffffff`; fields below the trailing one are truncated toward zero (a MINUTE interval of 90 s shows `+1`).
 * DAY TO SECOND shows no fraction when it is zero (as Feldera prints it), the other SECOND forms always six
 * digits. Text input (literals and CAST from VARCHAR) takes the same fields, an optional sign, surrounding
 * blanks, and a fraction on seconds; only the leading field may exceed its usual range.
 *
 * State: none. Invariant: parse(format(v)) = v for values whose fields below the trailing one are zero.
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { ErrorCode } from '../../types/error-codes.ts';
import type { IntervalQualifier, IntervalUnit, SqlType } from '../sql-type.ts';
import {
  parseTimestamp,
  USECS_PER_DAY,
  USECS_PER_HOUR,
  USECS_PER_MINUTE,
  USECS_PER_SEC,
} from './temporal.ts';

/** µs per unit of a day-time field. */
export const UNIT_USECS: Readonly<Record<'DAY' | 'HOUR' | 'MINUTE' | 'SECOND', number>> = {
  DAY: USECS_PER_DAY,
  HOUR: USECS_PER_HOUR,
  MINUTE: USECS_PER_MINUTE,
  SECOND: USECS_PER_SEC,
};

const ORDER: readonly IntervalUnit[] = ['YEAR', 'MONTH', 'DAY', 'HOUR', 'MINUTE', 'SECOND'];

export function isYearMonth(unit: IntervalUnit): boolean {
  return unit === 'YEAR' || unit === 'MONTH';
}

/** A qualifier from its fields (start before end in YEAR ... SECOND order), or null when they do not combine. */
export function makeQualifier(start: IntervalUnit, end: IntervalUnit = start): IntervalQualifier | null {
  const a = ORDER.indexOf(start);
  const b = ORDER.indexOf(end);
  if (a > b || isYearMonth(start) !== isYearMonth(end)) return null;
  return { start, end };
}

/** The smallest qualifier covering both (interval + interval keeps every field of either). */
export function unionQualifier(a: IntervalQualifier, b: IntervalQualifier): IntervalQualifier {
  const s = Math.min(ORDER.indexOf(a.start), ORDER.indexOf(b.start));
  const e = Math.max(ORDER.indexOf(a.end), ORDER.indexOf(b.end));
  return { start: ORDER[s] as IntervalUnit, end: ORDER[e] as IntervalUnit };
}

/** Postgres's interval typmod field bits (the grammar's encoding of `DAY TO SECOND` etc.). */
const TYPMOD_BITS: ReadonlyArray<[number, IntervalUnit]> = [
  [1 << 2, 'YEAR'],
  [1 << 1, 'MONTH'],
  [1 << 3, 'DAY'],
  [1 << 10, 'HOUR'],
  [1 << 11, 'MINUTE'],
  [1 << 12, 'SECOND'],
];

/** The qualifier of a Postgres interval typmod (null for none or a combination Feldera does not have). */
export function qualifierFromTypmod(mask: number): IntervalQualifier | null {
  const units = TYPMOD_BITS.filter(([bit]) => (mask & bit) !== 0).map(([, u]) => u);
  if (units.length === 0 || mask === 0x7fff) return null;
  return makeQualifier(units[0] as IntervalUnit, units[units.length - 1] as IntervalUnit);
}

export function qualifierText(q: IntervalQualifier): string {
  return q.start === q.end ? q.start : `${q.start} TO ${q.end}`;
}

function bad(text: string, q: IntervalQualifier, code: ErrorCode): ServiceError {
  return new ServiceError(
    code,
    `invalid INTERVAL ${qualifierText(q)} value "${text}": write it as ${example(q)}`,
    { value: text },
  );
}

function example(q: IntervalQualifier): string {
  const fields: Record<IntervalUnit, string> = {
    YEAR: 'Y',
    MONTH: 'M',
    DAY: 'D',
    HOUR: 'H',
    MINUTE: 'M',
    SECOND: 'S[.ffffff]',
  };
  const units = ORDER.slice(ORDER.indexOf(q.start), ORDER.indexOf(q.end) + 1);
  let out = '';
  units.forEach((u, i) => {
    if (i > 0) out += u === 'MONTH' ? '-' : u === 'HOUR' ? ' ' : ':';
    out += fields[u];
  });
  return `'[+|-]${out}'`;
}

const LIMITS: Readonly<Record<IntervalUnit, number>> = {
  YEAR: Number.POSITIVE_INFINITY,
  MONTH: 12,
  DAY: Number.POSITIVE_INFINITY,
  HOUR: 24,
  MINUTE: 60,
  SECOND: 60,
};

/** Parses interval text for the qualifier: months (year-month) or µs (day-time). */
export function parseInterval(
  text: string,
  q: IntervalQualifier,
  code: ErrorCode = 'SqlRuntimeError',
): number {
  const units = ORDER.slice(ORDER.indexOf(q.start), ORDER.indexOf(q.end) + 1);
  let pattern = '^\\s*([+-])?\\s*';
  units.forEach((u, i) => {
    if (i > 0) pattern += u === 'MONTH' ? '-' : u === 'HOUR' ? '\\s+' : ':';
    pattern += u === 'SECOND' ? '(\\d+)(?:\\.(\\d*))?' : '(\\d+)';
  });
  const m = new RegExp(`${pattern}\\s*$`).exec(text);
  if (m === null) throw bad(text, q, code);
  const sign = m[1] === '-' ? -1 : 1;
  let total = 0;
  units.forEach((u, i) => {
    const n = Number(m[i + 2]);
    if (i > 0 && n >= LIMITS[u]) throw bad(text, q, code);
    total += u === 'YEAR' ? n * 12 : u === 'MONTH' ? n : n * UNIT_USECS[u];
  });
  if (q.end === 'SECOND') {
    const f = m[units.length + 2];
    if (f !== undefined && f.length > 0) total += Math.round(Number(`0.${f}`) * 1e6);
  }
  if (!Number.isSafeInteger(total)) throw bad(text, q, code);
  return sign * total || 0;
}

/** The value of a whole-number interval of one unit (`INTERVAL 7 DAYS`, `INTERVAL '+121' MONTH`). */
export function intervalOfUnits(n: number, unit: IntervalUnit): number {
  const v = unit === 'YEAR' ? n * 12 : unit === 'MONTH' ? n : n * UNIT_USECS[unit];
  return Math.trunc(v) || 0;
}

/** The interval as a count of its trailing field, truncated toward zero (CAST to an integer type). */
export function intervalToUnits(v: number, q: IntervalQualifier): number {
  const u = q.end;
  const n = u === 'YEAR' ? v / 12 : u === 'MONTH' ? v : v / UNIT_USECS[u];
  return Math.trunc(n) || 0;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Calcite's text form of an interval value (see the header). */
export function formatIntervalValue(v: number, q: IntervalQualifier): string {
  const a = Math.abs(v);
  let out = '';
  if (isYearMonth(q.start)) {
    if (q.end === 'YEAR') out = String(Math.floor(a / 12));
    else if (q.start === 'MONTH') out = String(a);
    else out = `${Math.floor(a / 12)}-${pad2(a % 12)}`;
  } else {
    const units = ORDER.slice(ORDER.indexOf(q.start), ORDER.indexOf(q.end) + 1) as Array<
      keyof typeof UNIT_USECS
    >;
    let rest = a;
    units.forEach((u, i) => {
      const size = UNIT_USECS[u];
      const n = Math.floor(rest / size);
      rest -= n * size;
      if (i === 0) out += String(n);
      else out += (u === 'HOUR' ? ' ' : ':') + pad2(n);
    });
    if (q.end === 'SECOND' && !(q.start === 'DAY' && rest === 0)) out += `.${String(rest).padStart(6, '0')}`;
  }
  // a value that shows as zero has a '+' sign
  return `${v < 0 && /[1-9]/.test(out) ? '-' : '+'}${out}`;
}

/** `formatIntervalValue` for a typed value (an interval without qualifier shows its raw number). */
export function formatInterval(v: number, t: SqlType): string {
  return t.qualifier === undefined ? String(v) : formatIntervalValue(v, t.qualifier);
}

export function parseIntervalText(text: string, t: SqlType, code: ErrorCode): number {
  if (t.qualifier === undefined) throw new ServiceError(code, 'an INTERVAL needs a qualifier such as DAY');
  return parseInterval(text, t.qualifier, code);
}

const OFFSET_RE = /(Z|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?)\s*$/i;

/**
 * TIMESTAMP WITH TIME ZONE input: an ISO timestamp with an optional offset (`Z`, `+05:00`, `-0800`, `UTC`);
 * the value is the UTC instant (no offset = UTC).
 */
export function parseTimestampTz(text0: string, code: ErrorCode = 'InvalidRecord'): number {
  // a trailing zone name UTC/GMT is the zero offset
  const text = text0.replace(/\s*(?:UTC|GMT)\s*$/i, '');
  const local = parseTimestamp(text, code);
  // only an offset after the time of day counts (a date's '-' is not one)
  const m = /[T ]\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d*)?)?/.exec(text);
  if (m === null) return local;
  const tail = text.slice(m.index + m[0].length);
  const o = OFFSET_RE.exec(tail);
  if (o === null || /^z$/i.test(o[1] as string)) return local;
  const digits = (o[1] as string).slice(1).replace(/:/g, '');
  const hh = Number(digits.slice(0, Math.min(digits.length, 2)));
  const mm = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  const ss = digits.length > 4 ? Number(digits.slice(4, 6)) : 0;
  const off = (hh * 3600 + mm * 60 + ss) * USECS_PER_SEC;
  return (o[1] as string)[0] === '-' ? local + off : local - off;
}
