/**
 * Text input of scalar values with PostgreSQL's input rules and messages (int2in/int4in/int8in, float4in/
 * float8in, boolin). Used by string→type casts (error code SqlRuntimeError) and by CSV/JSON input (InvalidRecord):
 * every parser takes the error code to throw.
 *
 * Integers: surrounding whitespace, optional sign, decimal digits with single underscores between digits, or
 * 0x/0o/0b prefixed forms (Postgres 16+). Floats: decimal notation, NaN, [+-]Infinity/inf, any case, hexadecimal
 * integers (0x1F); hexadecimal floats with a fraction or binary exponent are refused. Booleans: t/true/y/yes/on/1 and f/false/n/no/off/0, any case, any unique prefix.
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { ErrorCode } from '../../types/error-codes.ts';
import { BIGINT_MAX, BIGINT_MIN, INT_RANGES, type NumberIntKind, UBIGINT_MAX } from './integers.ts';

const PG_TYPE_NAMES: Readonly<Record<NumberIntKind | 'BIGINT' | 'REAL' | 'DOUBLE', string>> = {
  TINYINT: 'tinyint',
  SMALLINT: 'smallint',
  INTEGER: 'integer',
  UTINYINT: 'tinyint unsigned',
  USMALLINT: 'smallint unsigned',
  UINTEGER: 'integer unsigned',
  BIGINT: 'bigint',
  REAL: 'real',
  DOUBLE: 'double precision',
};

function syntax(type: string, text: string, code: ErrorCode): ServiceError {
  return new ServiceError(code, `invalid input syntax for type ${type}: "${text}"`, { value: text });
}

const SIMPLE_INT = /^-?[0-9]{1,15}$/;
const INT_RE =
  /^[ \t\n\v\f\r]*([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[0-9](?:_?[0-9])*)[ \t\n\v\f\r]*$/;

function parseIntegral(text: string, type: string, code: ErrorCode): bigint {
  const m = INT_RE.exec(text);
  if (m === null) throw syntax(type, text, code);
  const body = (m[2] as string).replaceAll('_', '');
  const v = BigInt(body);
  return m[1] === '-' ? -v : v;
}

/** TINYINT/SMALLINT/INTEGER from text. */
export function parseIntText(text: string, kind: NumberIntKind, code: ErrorCode = 'InvalidRecord'): number {
  const [min, max] = INT_RANGES[kind];
  let n: number;
  if (SIMPLE_INT.test(text)) n = Number(text);
  else {
    const b = parseIntegral(text, PG_TYPE_NAMES[kind], code);
    n = b < -9007199254740991n || b > 9007199254740991n ? Number.POSITIVE_INFINITY : Number(b);
  }
  if (n < min || n > max) {
    throw new ServiceError(code, `value "${text}" is out of range for type ${PG_TYPE_NAMES[kind]}`, {
      value: text,
    });
  }
  return n + 0;
}

/** BIGINT from text. */
export function parseBigIntText(text: string, code: ErrorCode = 'InvalidRecord'): bigint {
  const b = SIMPLE_INT.test(text) ? BigInt(text) : parseIntegral(text, 'bigint', code);
  if (b < BIGINT_MIN || b > BIGINT_MAX) {
    throw new ServiceError(code, `value "${text}" is out of range for type bigint`, { value: text });
  }
  return b;
}

/** BIGINT UNSIGNED (Feldera) from text: 0 .. 2^64 − 1. */
export function parseUBigIntText(text: string, code: ErrorCode = 'InvalidRecord'): bigint {
  const b = SIMPLE_INT.test(text) ? BigInt(text) : parseIntegral(text, 'bigint unsigned', code);
  if (b < 0n || b > UBIGINT_MAX) {
    throw new ServiceError(code, `value "${text}" is out of range for type bigint unsigned`, { value: text });
  }
  return b;
}

const FLOAT_RE = /^[ \t\n\v\f\r]*([+-]?)([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\v\f\r]*$/;
const SPECIAL_FLOAT = /^[ \t\n\v\f\r]*([+-]?)(nan|inf|infinity|0x[0-9a-f]+)[ \t\n\v\f\r]*$/i;

/**
 * REAL/DOUBLE from text. Like Postgres, a value that overflows to infinity or underflows to zero from non-zero
 * digits is out of range. (REAL goes through double then float32: a double-rounding difference from strtof is
 * possible in astronomically rare halfway cases.)
 */
export function parseFloatText(
  text: string,
  kind: 'REAL' | 'DOUBLE',
  code: ErrorCode = 'InvalidRecord',
): number {
  const m = FLOAT_RE.exec(text);
  if (m === null) {
    const sm = SPECIAL_FLOAT.exec(text);
    if (sm === null) throw syntax(PG_TYPE_NAMES[kind], text, code);
    const word = (sm[2] as string).toLowerCase();
    if (word === 'nan') return Number.NaN;
    if (word.startsWith('0x')) {
      // strtod's hexadecimal form (integers only here)
      let v = Number(word);
      if (kind === 'REAL') v = Math.fround(v);
      if (v === Infinity) {
        throw new ServiceError(code, `"${text}" is out of range for type ${PG_TYPE_NAMES[kind]}`, {
          value: text,
        });
      }
      return sm[1] === '-' ? -v : v;
    }
    return sm[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  const mant = m[2] as string;
  let v = Number(`${mant}${m[3] ?? ''}`);
  if (kind === 'REAL') v = Math.fround(v);
  if (v === Infinity || (v === 0 && /[1-9]/.test(mant))) {
    throw new ServiceError(code, `"${text}" is out of range for type ${PG_TYPE_NAMES[kind]}`, {
      value: text,
    });
  }
  return m[1] === '-' ? -v : v;
}

/** BOOLEAN from text (Postgres boolin). */
export function parseBoolText(text: string, code: ErrorCode = 'InvalidRecord'): boolean {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  const v = (start === 0 && end === text.length ? text : text.slice(start, end)).toLowerCase();
  const len = v.length;
  if (len > 0) {
    switch (v.charCodeAt(0)) {
      case 116: // t
        if ('true'.startsWith(v)) return true;
        break;
      case 102: // f
        if ('false'.startsWith(v)) return false;
        break;
      case 121: // y
        if ('yes'.startsWith(v)) return true;
        break;
      case 110: // n
        if ('no'.startsWith(v)) return false;
        break;
      case 111: // o: 'on' / 'off' need two characters
        if (v === 'on') return true;
        if (len >= 2 && 'off'.startsWith(v)) return false;
        break;
      case 49: // 1
        if (len === 1) return true;
        break;
      case 48: // 0
        if (len === 1) return false;
        break;
      default:
        break;
    }
  }
  throw syntax('boolean', text, code);
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}
