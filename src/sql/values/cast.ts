/**
 * CAST between SQL types with PostgreSQL semantics, compiled once per (from, to) pair into a per-row function.
 *
 * Invariants: the compiled function receives non-null values (NULL casts to NULL; callers short-circuit it);
 * evaluation errors are ServiceError('SqlRuntimeError') with Postgres's message; a pair Postgres refuses (e.g.
 * date → integer, boolean → bigint) is refused when compiling with ServiceError('SqlTypeError', 'cannot cast
 * type date to integer'). The target's typmod is applied: DECIMAL(p, s) rounds/overflows like numeric(p, s),
 * CHAR(n)/VARCHAR(n) truncate (explicit CAST) or fail when too long (assignment, `explicit` = false), CHAR pads.
 *
 * Notable Postgres rules kept: boolean → integer only for INTEGER; numeric and float → an unsigned integer
 * round (half away from zero, half to even; to a signed one they cut toward zero, as Feldera does: feldera-casts.ts);
 * float8 → numeric keeps 15 significant digits (float4: 6); CHAR → VARCHAR
 * drops trailing spaces; text input trims whitespace for numbers, booleans and date/times.
 *
 * Feldera's rules instead of Postgres's: the pairs in `feldera-casts.ts` (numbers ↔ BOOLEAN and TIMESTAMP, integers
 * and strings → bytes, bytes → UUID) convert; REAL/DOUBLE → text is Feldera's layout (`-987.0`, `1e16`, `inf`; see
 * `float-text.ts`), not float8out's (`-987`, `1e+16`, `Infinity`); boolean → text is 'TRUE'/'FALSE' (Postgres:
 * 'true'/'false').
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { Value } from '../../zset/value.ts';
import { NESTED_KINDS, type SqlType, type TypeKind } from '../sql-type.ts';
import { coerceBytes, parseUuidText } from './bytes.ts';
import { Decimal } from './decimal.ts';
import { felderaCast } from './feldera-casts.ts';
import { felderaDoubleText, felderaRealText } from './float-text.ts';
import {
  BIGINT_MAX,
  BIGINT_MIN,
  checkBigInt,
  checkInt,
  checkUBigInt,
  floatToBigInt,
  floatToInt,
  INT_RANGES,
  intOutOfRange,
  type NumberIntKind,
  roundHalfEven,
} from './integers.ts';
import { compileNestedCast, useCastCompiler } from './nested-cast.ts';
import { parseBigIntText, parseBoolText, parseFloatText, parseIntText, parseUBigIntText } from './parse.ts';
import { coerceToLength, rtrimSpaces } from './strings.ts';
import {
  dateToTimestamp,
  formatDate,
  formatTime,
  formatTimestamp,
  parseDate,
  parseTime,
  parseTimestamp,
  timestampToDate,
  timestampToTime,
} from './temporal.ts';

export type CastFn = (v: Value) => Value;

/** Postgres's name of each type (as in its error messages). */
export const PG_TYPE_NAMES: Readonly<Record<TypeKind, string>> = {
  BOOLEAN: 'boolean',
  TINYINT: 'tinyint',
  SMALLINT: 'smallint',
  INTEGER: 'integer',
  BIGINT: 'bigint',
  UTINYINT: 'tinyint unsigned',
  USMALLINT: 'smallint unsigned',
  UINTEGER: 'integer unsigned',
  UBIGINT: 'bigint unsigned',
  BINARY: 'binary',
  VARBINARY: 'varbinary',
  UUID: 'uuid',
  REAL: 'real',
  DOUBLE: 'double precision',
  DECIMAL: 'numeric',
  CHAR: 'character',
  VARCHAR: 'character varying',
  DATE: 'date',
  TIME: 'time without time zone',
  TIMESTAMP: 'timestamp without time zone',
  INTERVAL_YM: 'interval',
  INTERVAL_DT: 'interval',
  NULL: 'unknown',
  ARRAY: 'array',
  MAP: 'map',
  ROW: 'record',
  VARIANT: 'variant',
};

const INT_ORDER: Readonly<Record<'TINYINT' | 'SMALLINT' | 'INTEGER', number>> = {
  TINYINT: 0,
  SMALLINT: 1,
  INTEGER: 2,
};

const UNSIGNED: ReadonlySet<TypeKind> = new Set(['UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT']);

/**
 * Casts to and from Feldera's unsigned kinds, through an exact bigint: from any integer kind exactly, from
 * DECIMAL rounded as DECIMAL → BIGINT rounds, from REAL/DOUBLE half to even; then range-checked for an unsigned
 * target, or converted as a BIGINT would be (without BIGINT's range, so 2^64 − 1 reaches DECIMAL or DOUBLE).
 */
function unsignedCast(f: TypeKind, t: TypeKind): CastFn | null {
  let toBig: (v: Value) => bigint;
  if (UNSIGNED.has(f) || isNumberInt(f) || f === 'BIGINT') toBig = (v) => BigInt(v as number | bigint);
  else if (f === 'DECIMAL') toBig = (v) => (v as Decimal).toBigInt();
  else if (f === 'REAL' || f === 'DOUBLE')
    toBig = (v) => {
      const r = roundHalfEven(v as number);
      if (!Number.isFinite(r)) throw intOutOfRange(UNSIGNED.has(t) ? (t as NumberIntKind) : 'UBIGINT');
      return BigInt(r);
    };
  else return null;
  if (t === 'UBIGINT') return (v) => checkUBigInt(toBig(v));
  if (UNSIGNED.has(t)) {
    const k = t as NumberIntKind;
    const [, max] = INT_RANGES[k];
    const bmax = BigInt(max);
    return (v) => {
      const b = toBig(v);
      if (b < 0n || b > bmax) throw intOutOfRange(k);
      return Number(b);
    };
  }
  if (t === 'BIGINT') return (v) => checkBigInt(toBig(v));
  const then = kindCast('BIGINT', t);
  return then === null ? null : (v) => then(toBig(v));
}

function isNumberInt(k: TypeKind): k is 'TINYINT' | 'SMALLINT' | 'INTEGER' {
  return k === 'TINYINT' || k === 'SMALLINT' || k === 'INTEGER';
}

const identity: CastFn = (v) => v;

function runtime(message: string): ServiceError {
  return new ServiceError('SqlRuntimeError', message);
}

/** Exact decimal value of a finite double. */
function exactDecimal(d: number): Decimal {
  if (Number.isInteger(d)) return new Decimal(BigInt(d), 0);
  let scale = 0;
  let x = d;
  while (!Number.isInteger(x)) {
    x *= 2; // exact (no overflow for a non-integer double)
    scale++;
  }
  // d = x / 2^scale = x * 5^scale / 10^scale
  return new Decimal(BigInt(x) * 5n ** BigInt(scale), scale);
}

/**
 * Correctly rounded float4 of an exact value already rounded to the double n: fround(n) is wrong only when n sits
 * exactly halfway between two floats and the exact value is not n; `side` is sign(exact − n).
 */
function toFloat4(n: number, side: () => number): number {
  const f = Math.fround(n);
  if (f === n || !Number.isFinite(f)) return f;
  const g = 2 * n - f;
  if (Math.fround(g) !== g) return f;
  const s = side();
  if (s === 0) return f;
  return s > 0 ? Math.max(f, g) : Math.min(f, g);
}

function bigintToFloat4(b: bigint): number {
  const n = Number(b);
  return toFloat4(n, () => {
    const e = BigInt(n);
    return b > e ? 1 : b < e ? -1 : 0;
  });
}

function decimalToFloat4(d: Decimal): number {
  const n = d.toNumber();
  const f = toFloat4(n, () => d.cmp(exactDecimal(n)));
  if (f === Infinity || f === -Infinity) throw runtime(`"${d.toString()}" is out of range for type real`);
  if (f === 0 && !d.isZero()) throw runtime(`"${d.toString()}" is out of range for type real`);
  return f;
}

function decimalToDouble(d: Decimal): number {
  const n = d.toNumber();
  if (!Number.isFinite(n) || (n === 0 && !d.isZero())) {
    throw runtime(`"${d.toString()}" is out of range for type double precision`);
  }
  return n;
}

function decimalToNumberInt(kind: NumberIntKind): CastFn {
  const [min, max] = INT_RANGES[kind];
  const bmin = BigInt(min);
  const bmax = BigInt(max);
  return (v) => {
    const b = (v as Decimal).toBigInt();
    if (b < bmin || b > bmax) throw intOutOfRange(kind);
    return Number(b);
  };
}

function decimalToBigInt(v: Value): Value {
  const b = (v as Decimal).toBigInt();
  if (b < BIGINT_MIN || b > BIGINT_MAX) throw intOutOfRange('BIGINT');
  return b;
}

function doubleToReal(v: Value): Value {
  const d = v as number;
  const f = Math.fround(d);
  if ((f === Infinity || f === -Infinity) && Number.isFinite(d))
    throw runtime('value out of range: overflow');
  if (f === 0 && d !== 0) throw runtime('value out of range: underflow');
  return f;
}

/** Text of a value as a cast to a string type produces it. */
function toText(kind: TypeKind): CastFn | null {
  switch (kind) {
    case 'BOOLEAN': // Feldera (Calcite): upper case
      return (v) => (v ? 'TRUE' : 'FALSE');
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'UBIGINT':
    case 'DECIMAL':
      return (v) => String(v);
    case 'REAL':
      return (v) => felderaRealText(v as number);
    case 'DOUBLE':
      return (v) => felderaDoubleText(v as number);
    case 'DATE':
      return (v) => formatDate(v as number);
    case 'TIME':
      return (v) => formatTime(v as number);
    case 'TIMESTAMP':
      return (v) => formatTimestamp(v as number);
    case 'CHAR':
      return (v) => rtrimSpaces(v as string);
    case 'VARCHAR':
    case 'UUID':
      return identity;
    case 'BINARY':
    case 'VARBINARY':
      return identity; // the hex digits (Feldera prints bytes as hex)
    default:
      return null;
  }
}

/** Value of a string as input for the target kind (typmods are applied afterwards). */
function fromText(kind: TypeKind): CastFn | null {
  switch (kind) {
    case 'BOOLEAN':
      return (v) => parseBoolText(v as string, 'SqlRuntimeError');
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
      return (v) => parseIntText(v as string, kind, 'SqlRuntimeError');
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
      return (v) => parseIntText(v as string, kind, 'SqlRuntimeError');
    case 'BIGINT':
      return (v) => parseBigIntText(v as string, 'SqlRuntimeError');
    case 'UBIGINT':
      return (v) => parseUBigIntText(v as string, 'SqlRuntimeError');
    case 'REAL':
    case 'DOUBLE':
      return (v) => parseFloatText(v as string, kind, 'SqlRuntimeError');
    case 'DECIMAL':
      return (v) => Decimal.parse(v as string, 'SqlRuntimeError');
    case 'DATE':
      return (v) => parseDate(v as string, 'SqlRuntimeError');
    case 'TIME':
      return (v) => parseTime(v as string, 'SqlRuntimeError');
    case 'TIMESTAMP':
      return (v) => parseTimestamp(v as string, 'SqlRuntimeError');
    case 'UUID':
      return (v) => parseUuidText(v as string, 'SqlRuntimeError');
    default:
      return null;
  }
}

/** The conversion between kinds, ignoring the target typmod; null when Postgres refuses the pair. */
function kindCast(f: TypeKind, t: TypeKind): CastFn | null {
  if (f === 'NULL') return identity;
  const feldera = felderaCast(f, t); // pairs Feldera converts and Postgres refuses (feldera-casts.ts)
  if (feldera !== null) return feldera;
  if (t === 'CHAR' || t === 'VARCHAR') {
    if (f === 'CHAR' && t === 'CHAR') return identity;
    return toText(f);
  }
  if (f === 'CHAR' || f === 'VARCHAR') return fromText(t);
  if (f === t) return identity;
  if (UNSIGNED.has(f) || UNSIGNED.has(t)) return unsignedCast(f, t);
  if ((f === 'BINARY' || f === 'VARBINARY') && (t === 'BINARY' || t === 'VARBINARY')) return identity;
  // Feldera: a UUID as bytes is its 16 bytes (then cut to the target's length, as any explicit cast to bytes)
  if (f === 'UUID' && (t === 'BINARY' || t === 'VARBINARY')) return (v) => (v as string).replace(/-/g, '');
  switch (f) {
    case 'BOOLEAN':
      return t === 'INTEGER' ? (v) => (v ? 1 : 0) : null;
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
      switch (t) {
        case 'TINYINT':
        case 'SMALLINT':
        case 'INTEGER':
          return INT_ORDER[t] >= INT_ORDER[f] ? identity : (v) => checkInt(t, v as number);
        case 'BIGINT':
          return (v) => BigInt(v as number);
        case 'DECIMAL':
          return (v) => Decimal.fromInt(v as number);
        case 'REAL':
          return (v) => Math.fround(v as number);
        case 'DOUBLE':
          return identity;
        case 'BOOLEAN':
          return f === 'INTEGER' ? (v) => v !== 0 : null;
        default:
          return null;
      }
    case 'BIGINT':
      if (isNumberInt(t)) {
        const [min, max] = INT_RANGES[t];
        const bmin = BigInt(min);
        const bmax = BigInt(max);
        return (v) => {
          const b = v as bigint;
          if (b < bmin || b > bmax) throw intOutOfRange(t);
          return Number(b);
        };
      }
      if (t === 'DECIMAL') return (v) => Decimal.fromBigInt(v as bigint);
      if (t === 'DOUBLE') return (v) => Number(v as bigint);
      if (t === 'REAL') return (v) => bigintToFloat4(v as bigint);
      return null;
    case 'DECIMAL':
      if (isNumberInt(t)) return decimalToNumberInt(t);
      if (t === 'BIGINT') return decimalToBigInt;
      if (t === 'DOUBLE') return (v) => decimalToDouble(v as Decimal);
      if (t === 'REAL') return (v) => decimalToFloat4(v as Decimal);
      return null;
    case 'REAL':
    case 'DOUBLE':
      if (isNumberInt(t)) return (v) => floatToInt(t, v as number);
      if (t === 'BIGINT') return (v) => floatToBigInt(v as number);
      if (t === 'DECIMAL') {
        const digits = f === 'REAL' ? 6 : 15;
        return (v) => Decimal.fromDouble(v as number, digits);
      }
      if (t === 'DOUBLE') return identity;
      if (t === 'REAL') return doubleToReal;
      return null;
    case 'DATE':
      return t === 'TIMESTAMP' ? (v) => dateToTimestamp(v as number) : null;
    case 'TIMESTAMP':
      if (t === 'DATE') return (v) => timestampToDate(v as number);
      if (t === 'TIME') return (v) => timestampToTime(v as number);
      return null;
    default:
      return null;
  }
}

/** Throws the compile-time refusal for a pair. */
export function castError(from: SqlType, to: SqlType): ServiceError {
  return new ServiceError(
    'SqlTypeError',
    `cannot cast type ${PG_TYPE_NAMES[from.kind]} to ${PG_TYPE_NAMES[to.kind]}`,
    {
      from: from.kind,
      to: to.kind,
    },
  );
}

/** True when Postgres allows casting `from` to `to` (explicitly). */
export function canCast(from: SqlType, to: SqlType): boolean {
  return to.kind === 'NULL' ? from.kind === 'NULL' : kindCast(from.kind, to.kind) !== null;
}

/**
 * Compiles CAST(x AS to) for non-null x of type `from`. `explicit` = false gives assignment semantics (INSERT
 * into a column): a too-long string for CHAR(n)/VARCHAR(n) fails instead of being truncated.
 */
export function compileCast(from: SqlType, to: SqlType, explicit = true): CastFn {
  if (to.kind === 'NULL' && from.kind !== 'NULL') throw castError(from, to);
  if (NESTED_KINDS.has(from.kind) || NESTED_KINDS.has(to.kind)) {
    const nested = compileNestedCast(from, to, explicit);
    if (nested === null) throw castError(from, to);
    return nested;
  }
  const base = kindCast(from.kind, to.kind);
  if (base === null) throw castError(from, to);
  if (to.kind === 'DECIMAL' && to.precision != null) {
    const p = to.precision;
    const s = to.scale ?? 0;
    if (base === identity) return (v) => (v as Decimal).withTypmod(p, s);
    return (v) => (base(v) as Decimal).withTypmod(p, s);
  }
  if ((to.kind === 'BINARY' || to.kind === 'VARBINARY') && to.length != null) {
    const n = to.length;
    return (v) => coerceBytes(base(v) as string, n, explicit, 'SqlRuntimeError');
  }
  if ((to.kind === 'CHAR' || to.kind === 'VARCHAR') && to.length != null) {
    const k = to.kind;
    const n = to.length;
    if (base === identity) return (v) => coerceToLength(v as string, k, n, explicit);
    return (v) => coerceToLength(base(v) as string, k, n, explicit);
  }
  return base;
}

useCastCompiler(compileCast);
