/**
 * Casts Feldera allows and Postgres refuses (cast.ts consults these before its own table), as Feldera's
 * reference cases show them:
 * - DECIMAL, REAL, DOUBLE → TINYINT ... BIGINT: toward zero (`CAST(-1111.52 AS INT)` is -1111; Postgres rounds);
 * - TIME → TIMESTAMP: that time on 1970-01-01;
 * - a character string → TIME: a date part is refused (`'2020-10-01 00:00:00'`; Postgres takes its time);
 * - any number → BOOLEAN: FALSE for zero, TRUE otherwise (`CAST(-1111.52 AS BOOLEAN)` is TRUE);
 * - a number → TIMESTAMP: the number is milliseconds since 1970-01-01, cut toward zero to whole seconds
 *   (`CAST(-1111.52 AS TIMESTAMP)` is `1969-12-31 23:59:59`);
 * - TIMESTAMP → a number: milliseconds since 1970-01-01, toward zero (`2020-06-21 14:23:44.123654` is
 *   1592749424123), then range-checked for the target as any integer would be;
 * - a signed integer → BINARY/VARBINARY: its two's-complement bytes, least significant first (INTEGER -12 is
 *   `f4ffffff`; the target length then cuts it: `CAST(-12 AS BINARY)` is `f4`);
 * - BINARY/VARBINARY → UUID: exactly 16 bytes, in order (another length is a run-time error);
 * - a character string → BINARY/VARBINARY: its UTF-8 bytes.
 *
 * State: none. Invariants: the functions receive non-null values of the source kind (cast.ts's contract) and
 * fail with SqlRuntimeError.
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { Value } from '../../zset/value.ts';
import type { TypeKind } from '../sql-type.ts';
import { Decimal } from './decimal.ts';
import { checkBigInt, checkInt, INT_RANGES, intOutOfRange, type NumberIntKind } from './integers.ts';
import { parseTime, TIMESTAMP_DATE_END, USECS_PER_DAY, USECS_PER_SEC } from './temporal.ts';

type CastFn = (v: Value) => Value;

const identity: CastFn = (v) => v;

const SIGNED_WIDTH: Partial<Record<TypeKind, number>> = { TINYINT: 1, SMALLINT: 2, INTEGER: 4, BIGINT: 8 };
const NUMBER_INTS: ReadonlySet<TypeKind> = new Set(['TINYINT', 'SMALLINT', 'INTEGER']);
const UNSIGNED: ReadonlySet<TypeKind> = new Set(['UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT']);
const NUMERIC: ReadonlySet<TypeKind> = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  ...UNSIGNED,
  'DECIMAL',
  'REAL',
  'DOUBLE',
]);

function runtime(message: string): ServiceError {
  return new ServiceError('SqlRuntimeError', message);
}

/** A numeric value as a JS number (DECIMAL and bigint converted; only used where doubles suffice). */
function asNumber(v: Value): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return (v as Decimal).toNumber();
}

/** Milliseconds (a number of any numeric kind) → a TIMESTAMP in µs, cut toward zero to whole seconds. */
function millisToTimestamp(v: Value): Value {
  const secs = typeof v === 'bigint' ? Number(v / 1000n) : Math.trunc(asNumber(v) / 1000);
  const us = secs * USECS_PER_SEC;
  if (!Number.isFinite(us) || Math.abs(us) >= TIMESTAMP_DATE_END * USECS_PER_DAY)
    throw runtime(`${String(v)} milliseconds is out of range for TIMESTAMP`);
  return us;
}

/** A TIMESTAMP (µs) → milliseconds, toward zero. */
function timestampMillis(v: Value): number {
  return Math.trunc((v as number) / 1000);
}

/** Two's-complement bytes of an integer, least significant first, as hex. */
function intBytes(width: number): CastFn {
  return (v) => {
    let b = BigInt.asUintN(width * 8, BigInt(v as number | bigint));
    let hex = '';
    for (let i = 0; i < width; i++) {
      hex += Number(b & 0xffn)
        .toString(16)
        .padStart(2, '0');
      b >>= 8n;
    }
    return hex;
  };
}

/** The Feldera-only conversion from `f` to `t`, or null (then cast.ts decides). */
export function felderaCast(f: TypeKind, t: TypeKind): CastFn | null {
  if (t === 'BOOLEAN' && NUMERIC.has(f)) return (v) => asNumber(v) !== 0;
  if (t === 'TIMESTAMP' && NUMERIC.has(f) && !UNSIGNED.has(f)) return millisToTimestamp;
  if (f === 'TIMESTAMP') {
    if (NUMBER_INTS.has(t)) return (v) => checkInt(t as NumberIntKind, timestampMillis(v));
    if (t === 'BIGINT') return (v) => checkBigInt(BigInt(timestampMillis(v)));
    if (t === 'DECIMAL') return (v) => Decimal.fromBigInt(BigInt(timestampMillis(v)));
    if (t === 'DOUBLE') return (v) => timestampMillis(v);
    if (t === 'REAL') return (v) => Math.fround(timestampMillis(v));
  }
  if ((f === 'DECIMAL' || f === 'REAL' || f === 'DOUBLE') && (NUMBER_INTS.has(t) || t === 'BIGINT')) {
    const k = t as NumberIntKind | 'BIGINT';
    const whole =
      f === 'DECIMAL'
        ? (v: Value) => (v as Decimal).trunc(0).toBigInt()
        : (v: Value) => {
            const n = Math.trunc(v as number);
            if (!Number.isFinite(n) || n >= 2 ** 63 || n < -(2 ** 63)) throw intOutOfRange(k);
            return BigInt(n);
          };
    if (k === 'BIGINT') return (v) => checkBigInt(whole(v));
    const [min, max] = INT_RANGES[k];
    return (v) => {
      const b = whole(v);
      if (b < BigInt(min) || b > BigInt(max)) throw intOutOfRange(k);
      return Number(b);
    };
  }
  if (f === 'TIME' && t === 'TIMESTAMP') return identity; // the time on 1970-01-01
  if ((f === 'VARCHAR' || f === 'CHAR') && t === 'TIME')
    return (v) => {
      const text = v as string;
      if (/^\s*[+-]?\d+-/.test(text))
        throw runtime(`Error converting ${text} to TIME: input contains invalid characters (a date part)`);
      return parseTime(text, 'SqlRuntimeError');
    };
  const bytesTarget = t === 'BINARY' || t === 'VARBINARY';
  const width = SIGNED_WIDTH[f];
  if (bytesTarget && width !== undefined) return intBytes(width);
  if (bytesTarget && (f === 'VARCHAR' || f === 'CHAR'))
    return (v) => Buffer.from(v as string, 'utf8').toString('hex');
  if (t === 'UUID' && (f === 'BINARY' || f === 'VARBINARY'))
    return (v) => {
      const h = v as string;
      if (h.length !== 32)
        throw runtime(`cannot convert ${h.length / 2} bytes to UUID: a UUID needs exactly 16`);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    };
  return null;
}
