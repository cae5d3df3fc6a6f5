/**
 * Value ↔ text/JSON conversions: PostgreSQL text output (`formatValue`, what `::text` or psql shows), the JSON
 * form of output records (`valueToJson`) and the readers of input records (`parseJsonValue`, `parseTextValue`).
 *
 * Float output follows Postgres 12+ (extra_float_digits = 1): shortest digits that read back to the same
 * float8 (float4 for REAL), exponent form `1e+20` / `1e-05` when the decimal exponent is < -4 or ≥ 15 (≥ 6 for
 * REAL), and `NaN`, `Infinity`, `-Infinity`, `-0`.
 *
 * JSON output choices: BIGINT is a JSON number when |v| ≤ 2^53 − 1, else a decimal string; DECIMAL is a JSON
 * number when that number reads back as the same numeric value (scale aside: 1.50 → 1.5), else its Postgres text;
 * REAL is the number with the shortest float4 digits (0.1, not 0.10000000149011612); non-finite floats are the
 * strings 'NaN', 'Infinity', '-Infinity'; DATE/TIME/TIMESTAMP are their Postgres text forms; BINARY/VARBINARY
 * are arrays of byte values (as Feldera reads and writes them); UUID is its canonical text.
 */
import { isServiceError, ServiceError } from '../../errors/service-error.ts';
import type { Value } from '../../zset/value.ts';
import { NESTED_KINDS, type SqlType, typeToSql } from '../sql-type.ts';
import { bytesFromJsonArray, bytesToArray, coerceBytes, parseBytesText, parseUuidText } from './bytes.ts';
import { Decimal, pow10 } from './decimal.ts';
import { checkInt, checkUBigInt, type NumberIntKind } from './integers.ts';
import { formatInterval, parseIntervalText, parseTimestampTz } from './interval.ts';
import { nestedFromJson, nestedToJson } from './nested-json.ts';
import { parseBigIntText, parseBoolText, parseFloatText, parseIntText, parseUBigIntText } from './parse.ts';
import { coerceToLength } from './strings.ts';
import { formatDate, formatTime, formatTimestamp, parseDate, parseTime, parseTimestamp } from './temporal.ts';

const bits = new DataView(new ArrayBuffer(8));

/**
 * Shortest decimal digits (Ryu's choice, as Postgres prints) of a finite positive float: the fewest significant
 * digits strictly inside the rounding interval (`evenBounds`: its ends too when the mantissa is even), the closest
 * to the value, ties to an even last digit. Exact bigint
 * arithmetic; `float32` selects the format. Returns the digits (no trailing zeros) and the decimal exponent of the
 * first digit.
 */
export function exactShortest(
  x: number,
  float32: boolean,
  evenBounds = false,
): { digits: string; exp: number } {
  let m: bigint;
  let e: number;
  let lowerCloser: boolean;
  if (float32) {
    bits.setFloat32(0, x);
    const w = bits.getUint32(0);
    const be = (w >>> 23) & 0xff;
    const frac = w & 0x7fffff;
    m = BigInt(be === 0 ? frac : frac | 0x800000);
    e = (be === 0 ? 1 : be) - 127 - 23;
    lowerCloser = frac === 0 && be > 1;
  } else {
    bits.setFloat64(0, x);
    const hi = bits.getUint32(0);
    const lo = bits.getUint32(4);
    const be = (hi >>> 20) & 0x7ff;
    const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    m = be === 0 ? frac : frac | (1n << 52n);
    e = (be === 0 ? 1 : be) - 1023 - 52;
    lowerCloser = frac === 0n && be > 1;
  }
  // x = 4m·2^(e-2); interval (x - gap/2 [or /4], x + gap/2), everything over den = 2^s
  const shift = e - 2;
  const s = shift < 0 ? -shift : 0;
  const mul = shift > 0 ? 1n << BigInt(shift) : 1n;
  const xN = 4n * m * mul;
  const highN = (4n * m + 2n) * mul;
  const lowN = (4n * m - (lowerCloser ? 1n : 2n)) * mul;
  const den = 1n << BigInt(s);
  const acceptBounds = evenBounds && m % 2n === 0n;
  let k = Math.floor(Math.log10(x)) + 1;
  for (;;) {
    const P = k >= 0 ? pow10(k) * den : den;
    const Q = k >= 0 ? 1n : pow10(-k);
    const lowQ = lowN * Q;
    const highQ = highN * Q;
    const xQ = xN * Q;
    // with `evenBounds` the interval's ends count when the mantissa is even (round-half-even reads them back to
    // x), as Rust's Ryu (Feldera) and JS do; Postgres's output never takes them
    let d = acceptBounds && lowQ % P === 0n ? lowQ / P : lowQ / P + 1n;
    let best = -1n;
    let bestDist = 0n;
    for (; d * P < highQ || (acceptBounds && d * P === highQ); d++) {
      const diff = d * P - xQ;
      const dist = diff < 0n ? -diff : diff;
      if (best < 0n || dist < bestDist || (dist === bestDist && d % 2n === 0n)) {
        best = d;
        bestDist = dist;
      }
    }
    if (best >= 0n) {
      let digits = best.toString();
      let end = digits.length;
      while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
      digits = digits.slice(0, end);
      return { digits, exp: k + best.toString().length - 1 };
    }
    k--;
  }
}

/** Postgres layout of shortest digits: fixed notation for exponents in [-4, hi), else d.ddde±XX. */
function layout(neg: boolean, digits: string, exp: number, hi: number): string {
  let out: string;
  if (exp < -4 || exp >= hi) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ae = exp < 0 ? -exp : exp;
    out = `${mant}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  } else if (exp < 0) {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    out = digits + '0'.repeat(exp + 1 - digits.length);
  } else {
    out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return neg ? `-${out}` : out;
}

function special(x: number): string | null {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return null;
}

/**
 * Postgres float8out. Below 2^53 in magnitude JS's own shortest digits are exactly Ryu's (no rounding-interval
 * bound or tie can be a short decimal there), so only larger values take the exact path.
 */
export function formatDouble(d: number): string {
  const sp = special(d);
  if (sp !== null) return sp;
  const a = d < 0 ? -d : d;
  if (a >= 1e-4 && a < 1e15) return String(d);
  if (a < 9007199254740992) {
    const s = d.toExponential();
    const e = s.indexOf('e');
    return s.length - e === 3 ? `${s.slice(0, e + 2)}0${s.slice(e + 2)}` : s;
  }
  const { digits, exp } = exactShortest(a, false);
  return layout(d < 0, digits, exp, 15);
}

/** Shortest decimal string of a float4 value (Ryu's digits), e.g. '0.1' for fround(0.1). */
export function shortestFloat4(f: number): string {
  const sp = special(f);
  if (sp !== null) return sp === '-0' ? '-0' : sp;
  const { digits, exp } = exactShortest(f < 0 ? -f : f, true);
  return `${f < 0 ? '-' : ''}${digits}e${exp - digits.length + 1}`;
}

/** Postgres float4out. */
export function formatReal(f: number): string {
  const sp = special(f);
  if (sp !== null) return sp;
  const { digits, exp } = exactShortest(f < 0 ? -f : f, true);
  return layout(f < 0, digits, exp, 6);
}

/** A JSON value as `valueToJson` produces it. */
export type JsonOut = string | number | boolean | null | JsonOut[] | { [key: string]: JsonOut };

/** Postgres text output of a non-null value of type t. */
export function formatValue(v: Value, t: SqlType): string {
  if (v === null) return '';
  switch (t.kind) {
    case 'ARRAY':
    case 'MAP':
    case 'ROW':
      return JSON.stringify(nestedToJson(v, t, valueToJson));
    case 'VARIANT':
      return nestedToJson(v, t, valueToJson) as string;
    case 'BOOLEAN':
      return v ? 't' : 'f';
    case 'REAL':
      return formatReal(v as number);
    case 'DOUBLE':
      return formatDouble(v as number);
    case 'DATE':
      return formatDate(v as number);
    case 'TIME':
      return formatTime(v as number);
    case 'TIMESTAMP':
      return t.withTimeZone ? `${formatTimestamp(v as number)}+00` : formatTimestamp(v as number);
    case 'INTERVAL_YM':
    case 'INTERVAL_DT':
      return formatInterval(v as number, t);
    case 'BINARY':
    case 'VARBINARY':
      return `\\x${v as string}`;
    default:
      return String(v);
  }
}

/** JSON form of a value for output records (see the header for the choices). */
export function valueToJson(v: Value, t: SqlType): JsonOut {
  if (v === null) return null;
  switch (t.kind) {
    case 'ARRAY':
    case 'MAP':
    case 'ROW':
    case 'VARIANT':
      return nestedToJson(v, t, valueToJson) as JsonOut;
    case 'BOOLEAN':
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'CHAR':
    case 'VARCHAR':
      return v as string | number | boolean;
    case 'BIGINT':
    case 'UBIGINT': {
      const b = v as bigint;
      return b <= 9007199254740991n && b >= -9007199254740991n ? Number(b) : b.toString();
    }
    case 'REAL': {
      const f = v as number;
      return Number.isFinite(f) ? Number(shortestFloat4(f)) : formatDouble(f);
    }
    case 'DOUBLE': {
      const d = v as number;
      return Number.isFinite(d) ? d : formatDouble(d);
    }
    case 'DECIMAL': {
      const d = v as Decimal;
      const n = d.toNumber();
      if (
        Number.isFinite(n) &&
        (d.scale === 0 ? BigInt(n) === d.unscaled : Decimal.parse(String(n)).equals(d))
      ) {
        return n;
      }
      return d.toString();
    }
    case 'DATE':
      return formatDate(v as number);
    case 'TIME':
      return formatTime(v as number);
    case 'TIMESTAMP':
      return t.withTimeZone ? `${formatTimestamp(v as number)}+00:00` : formatTimestamp(v as number);
    case 'INTERVAL_YM':
    case 'INTERVAL_DT':
      return v as number;
    case 'BINARY':
    case 'VARBINARY':
      return bytesToArray(v as string);
    default:
      return String(v);
  }
}

function describe(json: unknown): string {
  if (typeof json === 'string')
    return `string ${JSON.stringify(json.length > 40 ? `${json.slice(0, 40)}…` : json)}`;
  if (Array.isArray(json)) return 'an array';
  if (typeof json === 'object') return json === null ? 'null' : 'an object';
  return `${typeof json} ${String(json)}`;
}

function mismatch(json: unknown, t: SqlType, column: string): ServiceError {
  return new ServiceError(
    'InvalidRecord',
    `column "${column}": expected ${typeToSql(t)}, got ${describe(json)}`,
    {
      column,
      type: typeToSql(t),
    },
  );
}

function withColumn(e: unknown, t: SqlType, column: string): unknown {
  if (!isServiceError(e)) return e;
  return new ServiceError(
    'InvalidRecord',
    `column "${column}" (${typeToSql(t)}): ${e.message}`,
    { column, type: typeToSql(t), ...e.details },
    { cause: e },
  );
}

function applyDecimalTypmod(d: Decimal, t: SqlType): Decimal {
  return t.precision == null ? d : d.withTypmod(t.precision, t.scale ?? 0, 'InvalidRecord');
}

function fromText(text: string, t: SqlType): Value {
  switch (t.kind) {
    case 'BOOLEAN':
      return parseBoolText(text, 'InvalidRecord');
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
      return parseIntText(text, t.kind, 'InvalidRecord');
    case 'BIGINT':
      return parseBigIntText(text, 'InvalidRecord');
    case 'UBIGINT':
      return parseUBigIntText(text, 'InvalidRecord');
    case 'REAL':
    case 'DOUBLE':
      return parseFloatText(text, t.kind, 'InvalidRecord');
    case 'DECIMAL':
      return applyDecimalTypmod(Decimal.parse(text, 'InvalidRecord'), t);
    case 'CHAR':
    case 'VARCHAR':
      return coerceToLength(text, t.kind, t.length, false, 'InvalidRecord');
    case 'DATE':
      return parseDate(text, 'InvalidRecord');
    case 'TIME':
      return parseTime(text, 'InvalidRecord');
    case 'TIMESTAMP':
      return t.withTimeZone ? parseTimestampTz(text, 'InvalidRecord') : parseTimestamp(text, 'InvalidRecord');
    case 'INTERVAL_YM':
    case 'INTERVAL_DT':
      return parseIntervalText(text, t, 'InvalidRecord');
    case 'BINARY':
    case 'VARBINARY':
      return coerceBytes(parseBytesText(text, 'InvalidRecord'), t.length, false, 'InvalidRecord');
    case 'UUID':
      return parseUuidText(text, 'InvalidRecord');
    case 'NULL':
      throw new ServiceError('InvalidRecord', `a NULL-typed column only accepts null, got "${text}"`);
    case 'ARRAY':
    case 'MAP':
    case 'ROW':
    case 'VARIANT': {
      // text input of a nested value: its JSON encoding
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ServiceError(
          'InvalidRecord',
          `expected the JSON text of a ${typeToSql(t)} value, got "${text}"`,
        );
      }
      return nestedFromJson(json, t, '', parseJsonValue);
    }
  }
}

/**
 * Reads one field of a CSV record (Postgres input rules for the type; CHAR/VARCHAR lengths are enforced as on
 * INSERT). Empty-string / NULL handling is the caller's. Throws ServiceError('InvalidRecord') naming the column.
 */
export function parseTextValue(text: string, t: SqlType, column: string): Value {
  try {
    return fromText(text, t);
  } catch (e) {
    throw withColumn(e, t, column);
  }
}

/**
 * Reads one field of a JSON input record. null → null (NOT NULL is the caller's). Numbers for numeric types
 * (BIGINT must be a safe integer or a string), strings in Postgres input syntax for every type, booleans for
 * BOOLEAN. Throws ServiceError('InvalidRecord') naming the column and the expected type.
 */
export function parseJsonValue(json: unknown, t: SqlType, column: string): Value {
  if (json === null || json === undefined) return null;
  if (NESTED_KINDS.has(t.kind)) return nestedFromJson(json, t, column, parseJsonValue);
  if (typeof json === 'string') {
    if (t.kind === 'NULL') throw mismatch(json, t, column);
    return parseTextValue(json, t, column);
  }
  try {
    switch (t.kind) {
      case 'BOOLEAN':
        if (typeof json === 'boolean') return json;
        break;
      case 'TINYINT':
      case 'SMALLINT':
      case 'INTEGER':
      case 'UTINYINT':
      case 'USMALLINT':
      case 'UINTEGER':
        if (typeof json === 'number' && Number.isInteger(json))
          return checkInt(t.kind as NumberIntKind, json);
        break;
      case 'UBIGINT':
        if (typeof json === 'number' && Number.isInteger(json)) {
          if (Number.isSafeInteger(json)) return checkUBigInt(BigInt(json));
          throw new ServiceError(
            'InvalidRecord',
            `${json} is not exactly representable as a JSON number; send large BIGINT UNSIGNED values as strings`,
          );
        }
        if (typeof json === 'bigint') return parseUBigIntText(json.toString(), 'InvalidRecord');
        break;
      case 'BIGINT':
        if (typeof json === 'number' && Number.isInteger(json)) {
          if (Number.isSafeInteger(json)) return BigInt(json);
          throw new ServiceError(
            'InvalidRecord',
            `${json} is not exactly representable as a JSON number; send large BIGINT values as strings`,
          );
        }
        if (typeof json === 'bigint') return parseBigIntText(json.toString(), 'InvalidRecord');
        break;
      case 'REAL':
        if (typeof json === 'number') {
          const f = Math.fround(json);
          if (!Number.isFinite(f) && Number.isFinite(json)) {
            throw new ServiceError('InvalidRecord', `"${json}" is out of range for type real`);
          }
          return f;
        }
        break;
      case 'DOUBLE':
        if (typeof json === 'number') return json;
        break;
      case 'BINARY':
      case 'VARBINARY':
        if (Array.isArray(json))
          return coerceBytes(bytesFromJsonArray(json, 'InvalidRecord'), t.length, false, 'InvalidRecord');
        break;
      case 'DECIMAL':
        if (typeof json === 'number')
          return applyDecimalTypmod(Decimal.parse(String(json), 'InvalidRecord'), t);
        break;
      default:
        break;
    }
  } catch (e) {
    throw withColumn(e, t, column);
  }
  throw mismatch(json, t, column);
}
