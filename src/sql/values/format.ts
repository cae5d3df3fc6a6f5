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
 * strings 'NaN', 'Infinity', '-Infinity'; DATE/TIME/TIMESTAMP are their Postgres text forms.
 */
import { isServiceError, ServiceError } from '../../errors/service-error.ts';
import type { Value } from '../../zset/value.ts';
import { type SqlType, typeToSql } from '../sql-type.ts';
import { Decimal } from './decimal.ts';
import { checkInt, type NumberIntKind } from './integers.ts';
import { parseBigIntText, parseBoolText, parseFloatText, parseIntText } from './parse.ts';
import { coerceToLength } from './strings.ts';
import { formatDate, formatTime, formatTimestamp, parseDate, parseTime, parseTimestamp } from './temporal.ts';

function padExponent(s: string): string {
  // JS writes 'e+5' / 'e-7'; Postgres writes at least two exponent digits
  const e = s.indexOf('e');
  return e >= 0 && s.length - e === 3 ? `${s.slice(0, e + 2)}0${s.slice(e + 2)}` : s;
}

/** Shortest round-trip digits of a double, Postgres layout: fixed notation when 1e-4 ≤ |x| < hiLimit. */
function formatShortest(x: number, hiLimit: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  const a = x < 0 ? -x : x;
  if (a >= 1e-4 && a < hiLimit) return String(x);
  return padExponent(x.toExponential());
}

/** Postgres float8out. */
export function formatDouble(d: number): string {
  return formatShortest(d, 1e15);
}

/** Shortest decimal string that reads back (as float32) to the float4 value f. */
export function shortestFloat4(f: number): string {
  if (f === 0 || !Number.isFinite(f)) return String(f);
  const a = f < 0 ? -f : f;
  const sign = f < 0 ? '-' : '';
  for (let p = 1; p <= 9; p++) {
    const s = a.toExponential(p - 1);
    if (Math.fround(Number(s)) === a) return sign + s;
    // the nearest p-digit decimal can miss while a neighbour hits (narrower interval below a power of two)
    const e = s.indexOf('e');
    const digits = Number(s.slice(0, e).replace('.', ''));
    const exp = Number(s.slice(e + 1)) - (p - 1);
    let best: string | null = null;
    let bestDist = Infinity;
    for (const cand of [digits + 1, digits - 1]) {
      if (cand <= 0) continue;
      const t = `${cand}e${exp}`;
      const v = Number(t);
      if (Math.fround(v) === a) {
        const dist = Math.abs(v - a);
        if (dist < bestDist) {
          best = t;
          bestDist = dist;
        }
      }
    }
    if (best !== null) return sign + best;
  }
  return String(f);
}

/** Postgres float4out. */
export function formatReal(f: number): string {
  if (f === 0 || !Number.isFinite(f)) return formatShortest(f, 1e6);
  return formatShortest(Number(shortestFloat4(f)), 1e6);
}

/** Postgres text output of a non-null value of type t. */
export function formatValue(v: Value, t: SqlType): string {
  if (v === null) return '';
  switch (t.kind) {
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
      return formatTimestamp(v as number);
    default:
      return String(v);
  }
}

/** JSON form of a value for output records (see the header for the choices). */
export function valueToJson(v: Value, t: SqlType): string | number | boolean | null {
  if (v === null) return null;
  switch (t.kind) {
    case 'BOOLEAN':
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'CHAR':
    case 'VARCHAR':
      return v as string | number | boolean;
    case 'BIGINT': {
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
      return formatTimestamp(v as number);
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
      return parseIntText(text, t.kind, 'InvalidRecord');
    case 'BIGINT':
      return parseBigIntText(text, 'InvalidRecord');
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
      return parseTimestamp(text, 'InvalidRecord');
    case 'NULL':
      throw new ServiceError('InvalidRecord', `a NULL-typed column only accepts null, got "${text}"`);
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
        if (typeof json === 'number' && Number.isInteger(json))
          return checkInt(t.kind as NumberIntKind, json);
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
