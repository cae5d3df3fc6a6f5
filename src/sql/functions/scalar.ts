/**
 * SQL scalar functions: string, math, binary, boolean and comparison functions of Feldera's reference (part 1).
 * Registered by name in `index.ts`; each entry binds its arguments' types and returns a bound expression.
 *
 * Argument conversions follow Feldera: string functions take any scalar argument converted to VARCHAR
 * (`LEFT(42, 1)` is `'4'`); binary functions take BINARY/VARBINARY or a character string (its UTF-8 bytes);
 * floating-point functions (trigonometric, hyperbolic, EXP, LN, LOG, POWER, CBRT, ...) take any number or
 * character string converted to DOUBLE and return DOUBLE. Every function is NULL-strict (NULL in, NULL out) unless its row says otherwise.
 * Where Feldera differs from Postgres the README's table of deliberate differences has a row: CONCAT and
 * GREATEST/LEAST return NULL when an argument is NULL, CONCAT_WS treats a NULL argument as an empty string,
 * LOG(x) is the natural logarithm, TO_HEX is lowercase, LEFT/RIGHT with a negative count return ''.
 *
 * State: none. Invariants: positions and lengths count code points; byte strings are lowercase hex (bytes.ts).
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ServiceError } from '../../errors/service-error.ts';
import type { Value } from '../../zset/value.ts';
import * as arith from '../arith.ts';
import {
  type Bound,
  castBound,
  coerce,
  fold,
  literal,
  mergeCols,
  sqlError,
  strict,
  unify,
} from '../bound.ts';
import { type SqlType, sqlType, typeToSql } from '../sql-type.ts';
import { isInteger, isNumeric, isString } from '../types-rules.ts';
import { comparatorFor } from '../values/compare.ts';
import { Decimal, pow10 } from '../values/decimal.ts';
import * as exact from '../values/exact-math.ts';
import { charLength } from '../values/strings.ts';
import type { FunctionCall, FunctionImpl } from './types.ts';

const text = (nullable: boolean): SqlType => sqlType('VARCHAR', nullable, { length: null });
const anyNullable = (bs: readonly Bound[]): boolean => bs.some((b) => b.type.nullable);

function runtime(message: string): ServiceError {
  return new ServiceError('SqlRuntimeError', message);
}

// ---------------------------------------------------------------------------------------------------------
// argument conversions

/** Argument i as a character string: strings as they are (CHAR without its padding), other scalars cast. */
function asText(call: FunctionCall, i: number): Bound {
  const a = call.args[i] as Bound;
  if (isString(a.type) || a.type.kind === 'NULL' || a.unknownLiteral) return call.str(i);
  try {
    return castBound(a, text(a.type.nullable));
  } catch {
    throw sqlError(
      'SqlTypeError',
      `cannot apply ${call.name.toUpperCase()} to an argument of type ${typeToSql(a.type)}`,
      call.ctx,
      call.loc,
    );
  }
}

/** Argument i as DOUBLE (numbers converted; a string literal parsed). */
function asDouble(call: FunctionCall, i: number): Bound {
  const a = call.args[i] as Bound;
  const t = sqlType('DOUBLE', a.type.nullable);
  if (a.type.kind === 'NULL') return literal(null, sqlType('DOUBLE', true));
  if (a.unknownLiteral) return coerce(a, t, call.ctx, call.loc, call.name.toUpperCase());
  if (isString(a.type)) return castBound(a, t); // Feldera converts a character string (SIN('1.5'))
  if (!isNumeric(a.type))
    throw sqlError(
      'SqlTypeError',
      `cannot apply ${call.name.toUpperCase()} to an argument of type ${typeToSql(a.type)}`,
      call.ctx,
      call.loc,
    );
  return a.type.kind === 'DOUBLE' ? a : castBound(a, t);
}

/** Argument i as a byte string (lowercase hex): BINARY/VARBINARY, or a character string's UTF-8 bytes. */
function asBytes(call: FunctionCall, i: number): Bound {
  const a = call.args[i] as Bound;
  if (a.type.kind === 'BINARY' || a.type.kind === 'VARBINARY') return a;
  if (a.type.kind === 'NULL') return literal(null, sqlType('VARBINARY', true, { length: null }));
  if (isString(a.type) || a.unknownLiteral) {
    const s = call.str(i);
    return strict(sqlType('VARBINARY', s.type.nullable, { length: null }), [s], (v) =>
      Buffer.from(v as string, 'utf8').toString('hex'),
    );
  }
  throw sqlError(
    'SqlTypeError',
    `cannot apply ${call.name.toUpperCase()} to an argument of type ${typeToSql(a.type)}`,
    call.ctx,
    call.loc,
  );
}

// ---------------------------------------------------------------------------------------------------------
// strings

function codePoints(s: string): string[] {
  return Array.from(s);
}

function left(s: string, n: number): string {
  if (n <= 0) return '';
  return codePoints(s).slice(0, n).join('');
}

function right(s: string, n: number): string {
  if (n <= 0) return '';
  const cps = codePoints(s);
  return cps.slice(Math.max(0, cps.length - n)).join('');
}

/** Feldera's OVERLAY over code points (strings) or bytes (hex pairs): see the README. */
function overlayUnits(units: string[], placing: string[], start: number, len: number): string[] {
  if (start <= 0) return units;
  if (start > units.length) return [...units, ...placing];
  const remove = Math.max(0, len);
  return [...units.slice(0, start - 1), ...placing, ...units.slice(start - 1 + remove)];
}

function hexUnits(h: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < h.length; i += 2) out.push(h.slice(i, i + 2));
  return out;
}

function initcap(s: string): string {
  let out = '';
  let inWord = false;
  for (const c of s) {
    const alnum = /[\p{L}\p{N}]/u.test(c);
    out += alnum ? (inWord ? c.toLowerCase() : c.toUpperCase()) : c;
    inWord = alnum;
  }
  return out;
}

function splitPart(s: string, delim: string, n: number): string {
  const parts = delim === '' ? [s] : s.split(delim);
  if (n > 0) return parts[n - 1] ?? '';
  if (n < 0) return parts[parts.length + n] ?? '';
  return '';
}

/** A JavaScript regular expression for a (Java-style) pattern, or null when it is not valid. */
function regex(pattern: string, flags: string): RegExp | null {
  try {
    return new RegExp(pattern, `u${flags}`);
  } catch {
    try {
      return new RegExp(pattern, flags);
    } catch {
      return null;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// numbers

const double = (nullable: boolean) => sqlType('DOUBLE', nullable);

/** A DOUBLE → DOUBLE function. */
function unaryDouble(f: (x: number) => number): FunctionImpl {
  return (call) => {
    call.argc(1);
    const a = asDouble(call, 0);
    return strict(double(a.type.nullable), [a], (x) => f(x as number));
  };
}

/** LN / LOG10 / LOG: -inf for 0, a run-time error for a negative argument (as Feldera). */
function checkedLog(name: string, x: number): number {
  if (x < 0) throw runtime(`${name} of a negative number (${x})`);
  return x;
}

function truncDouble(x: number, d: number): number {
  if (!Number.isFinite(x)) return x;
  if (d === 0) return Math.trunc(x);
  const p = 10 ** d;
  const r = Math.trunc(x * p) / p;
  return Number.isFinite(r) ? r : x;
}

function truncInteger(v: Value, d: number): Value {
  if (d >= 0) return v;
  if (typeof v === 'bigint') {
    const p = 10n ** BigInt(-d);
    return (v / p) * p;
  }
  const p = 10 ** -d;
  const n = v as number;
  const r = Math.trunc(n / p) * p;
  return Object.is(r, -0) ? 0 : r;
}

/** Banker's rounding of a DECIMAL to `digits` decimals (ties to the even neighbour; digits < 0 rounds to tens...). */
function roundHalfEven(x: Decimal, digits: number): Decimal {
  if (digits >= x.scale) return x;
  const factor = pow10(x.scale - digits);
  let q = x.unscaled / factor;
  const r = x.unscaled % factor;
  const twice = 2n * (r < 0n ? -r : r);
  const sign = x.unscaled < 0n ? -1n : 1n;
  if (twice > factor || (twice === factor && q % 2n !== 0n)) q += sign;
  return digits >= 0 ? new Decimal(q, digits) : new Decimal(q * pow10(-digits), 0);
}

function truncate(call: FunctionCall): Bound {
  call.argc(1, 2);
  const a = call.num(0);
  const digits = call.args.length === 2 ? call.int(1) : literal(0, sqlType('INTEGER', false));
  const kind = a.type.kind;
  if (kind === 'DECIMAL') return strict(a.type, [a, digits], (x, d) => (x as Decimal).trunc(d as number));
  if (kind === 'REAL' || kind === 'DOUBLE')
    return strict(a.type, [a, digits], (x, d) => truncDouble(x as number, d as number));
  return strict(a.type, [a, digits], (x, d) => truncInteger(x, d as number));
}

function sign(call: FunctionCall): Bound {
  call.argc(1);
  const a = call.num(0);
  switch (a.type.kind) {
    case 'DECIMAL':
      return strict(a.type, [a], (x) => Decimal.fromInt((x as Decimal).sign()));
    case 'BIGINT':
    case 'UBIGINT':
      return strict(a.type, [a], (x) => ((x as bigint) > 0n ? 1n : (x as bigint) < 0n ? -1n : 0n));
    default:
      return strict(a.type, [a], (x) => Math.sign(x as number) + 0);
  }
}

function mod(call: FunctionCall): Bound {
  call.argc(2);
  const int = (i: number) =>
    (call.args[i] as Bound).type.kind === 'NULL' ? literal(null, sqlType('INTEGER', true)) : call.num(i);
  const a = int(0);
  const b = int(1);
  if (!isInteger(a.type))
    throw sqlError(
      'SqlTypeError',
      `MOD needs integer arguments, got ${typeToSql(a.type)}`,
      call.ctx,
      call.loc,
    );
  const [x, y] = unify([a, b], call.ctx, call.loc, 'MOD') as [Bound, Bound];
  return strict({ ...x.type, nullable: anyNullable([x, y]) }, [x, y], arith.binary('%', x.type.kind));
}

/** SQRT, LN, LOG10 of a DECIMAL fail on a non-positive (or negative) argument; of a float they follow IEEE. */
function decimalChecked(name: string, f: (x: number) => number, refuseZero: boolean): FunctionImpl {
  return (call) => {
    call.argc(1);
    const raw = call.args[0] as Bound;
    const isDecimal = raw.type.kind === 'DECIMAL';
    const a = asDouble(call, 0);
    return strict(double(a.type.nullable), [a], (v) => {
      const x = v as number;
      if (isDecimal && (x < 0 || (refuseZero && x === 0)))
        throw runtime(`${name} of ${x === 0 ? 'zero' : 'a negative number'} (${x})`);
      return f(x);
    });
  };
}

// ---------------------------------------------------------------------------------------------------------
// comparisons

function greatestLeast(greatest: boolean, ignoreNulls: boolean): FunctionImpl {
  return (call) => {
    if (call.args.length < 1)
      throw sqlError('SqlTypeError', `${call.name.toUpperCase()} needs arguments`, call.ctx, call.loc);
    const bs = unify(call.args, call.ctx, call.loc, call.name.toUpperCase());
    const t0 = (bs[0] as Bound).type;
    if (t0.kind === 'NULL') return literal(null, t0);
    const cmp = comparatorFor(t0.kind);
    const nullable = ignoreNulls ? bs.every((b) => b.type.nullable) : anyNullable(bs);
    return fold({
      type: { ...t0, nullable },
      cols: mergeCols(...bs),
      gen: (c) => {
        const evs = bs.map((b) => b.gen(c));
        return (r1, r2) => {
          let best: Value = null;
          for (const e of evs) {
            const v = e(r1, r2);
            if (v === null) {
              if (!ignoreNulls) return null;
              continue;
            }
            if (best === null || (greatest ? cmp(v, best) > 0 : cmp(v, best) < 0)) best = v;
          }
          return best;
        };
      },
    });
  };
}

function ifFunction(call: FunctionCall): Bound {
  call.argc(3);
  const c = call.args[0] as Bound;
  if (c.type.kind !== 'BOOLEAN' && c.type.kind !== 'NULL')
    throw sqlError(
      'SqlTypeError',
      `IF needs a BOOLEAN condition, got ${typeToSql(c.type)}`,
      call.ctx,
      call.loc,
    );
  const [a, b] = unify([call.args[1] as Bound, call.args[2] as Bound], call.ctx, call.loc, 'IF') as [
    Bound,
    Bound,
  ];
  return fold({
    type: { ...a.type, nullable: a.type.nullable || b.type.nullable },
    cols: mergeCols(c, a, b),
    gen: (ctx) => {
      const ec = c.gen(ctx);
      const ea = a.gen(ctx);
      const eb = b.gen(ctx);
      return (r1, r2) => (ec(r1, r2) === true ? ea(r1, r2) : eb(r1, r2));
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// the table

export const SCALAR_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {
  // strings
  len: (call) => {
    call.argc(1);
    const a = asText(call, 0);
    return strict(sqlType('INTEGER', a.type.nullable), [a], (s) => charLength(s as string));
  },
  ascii: (call) => {
    call.argc(1);
    const a = asText(call, 0);
    return strict(sqlType('INTEGER', a.type.nullable), [a], (s) => (s as string).codePointAt(0) ?? 0);
  },
  chr: (call) => {
    call.argc(1);
    const n = call.int(0);
    return strict(text(n.type.nullable), [n], (v) => {
      const c = v as number;
      return c > 0 && c <= 0x10ffff && !(c >= 0xd800 && c <= 0xdfff) ? String.fromCodePoint(c) : '';
    });
  },
  concat: (call) => {
    if (call.args.length === 0) throw sqlError('SqlTypeError', 'CONCAT needs arguments', call.ctx, call.loc);
    // Feldera refuses CONCAT of byte strings ("Not yet implemented"); `||` joins them
    if (call.args.some((a) => a.type.kind === 'BINARY' || a.type.kind === 'VARBINARY'))
      throw sqlError(
        'SqlUnsupported',
        'CONCAT of BINARY/VARBINARY values is not supported (as in Feldera): join byte strings with ||',
        call.ctx,
        call.loc,
        { construct: 'CONCAT' },
      );
    const bs = call.args.map((_b, i) => asText(call, i));
    return strict(text(anyNullable(bs)), bs, (...vs) => vs.join(''));
  },
  concat_ws: (call) => {
    if (call.args.length < 1)
      throw sqlError('SqlTypeError', 'CONCAT_WS needs a separator', call.ctx, call.loc);
    const bs = call.args.map((_b, i) => asText(call, i));
    const [sep, ...rest] = bs as [Bound, ...Bound[]];
    return fold({
      type: text(sep.type.nullable),
      cols: mergeCols(...bs),
      gen: (c) => {
        const es = sep.gen(c);
        const evs = rest.map((b) => b.gen(c));
        return (r1, r2) => {
          const s = es(r1, r2);
          if (s === null) return null;
          return evs.map((e) => (e(r1, r2) ?? '') as string).join(s as string);
        };
      },
    });
  },
  initcap: (call) => {
    call.argc(1);
    const a = asText(call, 0);
    return strict(text(a.type.nullable), [a], (s) => initcap(s as string));
  },
  left: (call) => {
    call.argc(2);
    const n = call.int(1);
    const raw = call.args[0] as Bound;
    if (raw.type.kind === 'BINARY' || raw.type.kind === 'VARBINARY')
      return strict({ ...raw.type, nullable: anyNullable([raw, n]) }, [raw, n], (h, k) =>
        (h as string).slice(0, Math.max(0, 2 * (k as number))),
      );
    const a = asText(call, 0);
    return strict(text(anyNullable([a, n])), [a, n], (s, k) => left(s as string, k as number));
  },
  right: (call) => {
    call.argc(2);
    const n = call.int(1);
    const raw = call.args[0] as Bound;
    if (raw.type.kind === 'BINARY' || raw.type.kind === 'VARBINARY')
      return strict({ ...raw.type, nullable: anyNullable([raw, n]) }, [raw, n], (h, k) => {
        const s = h as string;
        const cut = Math.max(0, 2 * (k as number));
        return cut === 0 ? '' : s.slice(Math.max(0, s.length - cut));
      });
    const a = asText(call, 0);
    return strict(text(anyNullable([a, n])), [a, n], (s, k) => right(s as string, k as number));
  },
  overlay: (call) => {
    call.argc(3, 4);
    const raw = call.args[0] as Bound;
    const start = call.int(2);
    const binary = raw.type.kind === 'BINARY' || raw.type.kind === 'VARBINARY';
    const s = binary ? raw : asText(call, 0);
    const p = binary ? asBytes(call, 1) : asText(call, 1);
    const split = binary ? hexUnits : codePoints;
    const len = call.args.length === 4 ? call.int(3) : null;
    const type = binary ? sqlType('VARBINARY', false, { length: null }) : text(false);
    const bs = len === null ? [s, p, start] : [s, p, start, len];
    return strict({ ...type, nullable: anyNullable(bs) }, bs, (a, b, st, ln) => {
      const pl = split(b as string);
      return overlayUnits(
        split(a as string),
        pl,
        st as number,
        ln === undefined ? pl.length : (ln as number),
      ).join('');
    });
  },
  repeat: (call) => {
    call.argc(2);
    const a = asText(call, 0);
    const n = call.int(1);
    return strict(text(anyNullable([a, n])), [a, n], (s, k) => {
      const count = k as number;
      if (count <= 0) return '';
      if ((s as string).length * count > 1 << 28) throw runtime('REPEAT result is too long');
      return (s as string).repeat(count);
    });
  },
  replace: (call) => {
    call.argc(3);
    const bs = [asText(call, 0), asText(call, 1), asText(call, 2)];
    return strict(text(anyNullable(bs)), bs, (h, n, r) =>
      (n as string) === '' ? h : (h as string).split(n as string).join(r as string),
    );
  },
  reverse: (call) => {
    call.argc(1);
    const a = asText(call, 0);
    return strict(text(a.type.nullable), [a], (s) =>
      codePoints(s as string)
        .reverse()
        .join(''),
    );
  },
  split_part: (call) => {
    call.argc(3);
    const bs = [asText(call, 0), asText(call, 1), call.int(2)];
    return strict(text(anyNullable(bs)), bs, (s, d, n) => splitPart(s as string, d as string, n as number));
  },
  rlike: (call) => {
    call.argc(2);
    const s = asText(call, 0);
    const p = asText(call, 1);
    const type = sqlType('BOOLEAN', anyNullable([s, p]));
    const test = (str: string, pat: string): boolean => {
      const re = regex(pat, '');
      if (re === null) throw runtime(`invalid regular expression '${pat}' in RLIKE`);
      return re.test(str);
    };
    if (p.literal && typeof p.literal.value === 'string') {
      const re = regex(p.literal.value, '');
      if (re === null)
        throw sqlError('SqlTypeError', `invalid regular expression '${p.literal.value}'`, call.ctx, call.loc);
      return strict(type, [s], (v) => re.test(v as string));
    }
    return strict(type, [s, p], (v, pat) => test(v as string, pat as string));
  },
  regexp_replace: (call) => {
    call.argc(2, 3);
    const bs = call.args.map((_b, i) => asText(call, i));
    if (bs.length === 2) bs.push(literal('', text(false)));
    return strict(text(anyNullable(bs)), bs, (s, pat, rep) => {
      const re = regex(pat as string, 'g');
      return re === null ? s : (s as string).replace(re, rep as string);
    });
  },
  md5: (call) => {
    call.argc(1);
    if (call.args[0]?.type.kind === 'UUID') {
      // a UUID hashes its text form (Feldera)
      const u = call.str(0);
      return strict(text(u.type.nullable), [u], (v) =>
        createHash('md5')
          .update(v as string, 'utf8')
          .digest('hex'),
      );
    }
    const a = asBytes(call, 0);
    return strict(text(a.type.nullable), [a], (h) =>
      createHash('md5')
        .update(Buffer.from(h as string, 'hex'))
        .digest('hex'),
    );
  },
  initcap_spaces: (call) => {
    call.argc(1);
    const a = asText(call, 0);
    return strict(text(a.type.nullable), [a], (v) =>
      (v as string)
        .split(' ')
        .map((w) => {
          const [first = '', ...rest] = Array.from(w);
          return first.toUpperCase() + rest.join('').toLowerCase();
        })
        .join(' '),
    );
  },
  // binary
  bin2utf8: (call) => {
    call.argc(1);
    const a = asBytes(call, 0);
    return strict(text(a.type.nullable), [a], (h) => {
      const bytes = Buffer.from(h as string, 'hex');
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw runtime('BIN2UTF8: the bytes are not valid UTF-8');
      }
    });
  },
  gunzip: (call) => {
    call.argc(1);
    const a = asBytes(call, 0);
    return strict(text(a.type.nullable), [a], (h) => {
      try {
        return gunzipSync(Buffer.from(h as string, 'hex')).toString('utf8');
      } catch {
        throw runtime('GUNZIP: the input is not gzip data');
      }
    });
  },
  octet_length: (call) => {
    call.argc(1);
    const a = asBytes(call, 0);
    return strict(sqlType('INTEGER', a.type.nullable), [a], (h) => (h as string).length / 2);
  },
  to_hex: (call) => {
    call.argc(1);
    const a = asBytes(call, 0);
    return strict(text(a.type.nullable), [a], (h) => h);
  },
  to_int: (call) => {
    call.argc(1);
    const a = asBytes(call, 0);
    return strict(sqlType('INTEGER', a.type.nullable), [a], (h) => {
      const s = (h as string).slice(0, 8);
      return s === '' ? 0 : Number.parseInt(s, 16) | 0;
    });
  },
  // numbers
  mod,
  sign,
  bround: (call) => {
    call.argc(1, 2);
    const a = call.num(0);
    const digits = call.args.length === 2 ? call.int(1) : literal(0, sqlType('INTEGER', false));
    const d = castBound(a, sqlType('DECIMAL', a.type.nullable, { precision: null, scale: null }));
    return strict(d.type, [d, digits], (x, n) => roundHalfEven(x as Decimal, n as number));
  },
  trunc: truncate,
  truncate,
  power: (call) => {
    call.argc(2);
    const a = asDouble(call, 0);
    const b = asDouble(call, 1);
    return strict(double(anyNullable([a, b])), [a, b], (x, y) => (x as number) ** (y as number));
  },
  sqrt: decimalChecked('SQRT', Math.sqrt, false),
  ln: (call) => {
    call.argc(1);
    const a = asDouble(call, 0);
    return strict(double(a.type.nullable), [a], (x) => Math.log(checkedLog('LN', x as number)));
  },
  log10: (call) => {
    call.argc(1);
    const a = asDouble(call, 0);
    return strict(double(a.type.nullable), [a], (x) => Math.log10(checkedLog('LOG10', x as number)));
  },
  log: (call) => {
    call.argc(1, 2);
    const a = asDouble(call, 0);
    if (call.args.length === 1)
      return strict(double(a.type.nullable), [a], (x) => Math.log(checkedLog('LOG', x as number)));
    const b = asDouble(call, 1);
    return strict(
      double(anyNullable([a, b])),
      [a, b],
      (x, base) => Math.log(checkedLog('LOG', x as number)) / Math.log(checkedLog('LOG', base as number)),
    );
  },
  exp: unaryDouble(Math.exp),
  // correctly rounded, as Feldera's results are (values/exact-math.ts); Math.cbrt/cos/... can be an ulp off
  cbrt: unaryDouble(exact.cbrt),
  sin: unaryDouble(exact.sin),
  cos: unaryDouble(exact.cos),
  tan: unaryDouble(exact.tan),
  cot: unaryDouble((x) => 1 / exact.tan(x)),
  sec: unaryDouble((x) => 1 / exact.cos(x)),
  csc: unaryDouble((x) => 1 / exact.sin(x)),
  asin: unaryDouble(Math.asin),
  acos: unaryDouble(Math.acos),
  atan: unaryDouble(Math.atan),
  sinh: unaryDouble(Math.sinh),
  cosh: unaryDouble(Math.cosh),
  tanh: unaryDouble(Math.tanh),
  coth: unaryDouble((x) => 1 / Math.tanh(x)),
  sech: unaryDouble((x) => 1 / Math.cosh(x)),
  csch: unaryDouble((x) => 1 / Math.sinh(x)),
  asinh: unaryDouble(Math.asinh),
  // Feldera's (Rust's) formula, which differs from Math.acosh in the last digit (ACOSH(14) = 3.3309265526412517)
  acosh: unaryDouble((x) => (x < 1 ? Number.NaN : Math.log(x + Math.sqrt(x - 1) * Math.sqrt(x + 1)))),
  atanh: unaryDouble(Math.atanh),
  degrees: unaryDouble((x) => (x * 180) / Math.PI),
  radians: unaryDouble((x) => (x * Math.PI) / 180),
  atan2: (call) => {
    call.argc(2);
    const y = asDouble(call, 0);
    const x = asDouble(call, 1);
    return strict(double(anyNullable([y, x])), [y, x], (a, b) => Math.atan2(a as number, b as number));
  },
  is_inf: (call) => {
    call.argc(1);
    const a = asDouble(call, 0);
    return strict(sqlType('BOOLEAN', a.type.nullable), [a], (x) => x === Infinity || x === -Infinity);
  },
  is_nan: (call) => {
    call.argc(1);
    const a = asDouble(call, 0);
    return strict(sqlType('BOOLEAN', a.type.nullable), [a], (x) => Number.isNaN(x));
  },
  // comparisons and conditionals
  greatest: greatestLeast(true, false),
  least: greatestLeast(false, false),
  greatest_ignore_nulls: greatestLeast(true, true),
  least_ignore_nulls: greatestLeast(false, true),
  if: ifFunction,
};
