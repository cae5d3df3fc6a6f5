/**
 * Exact decimal numbers with PostgreSQL `numeric` semantics (the runtime value of DECIMAL).
 *
 * A Decimal is `unscaled / 10^scale` where `scale` is Postgres's display scale (dscale): it is kept through
 * arithmetic exactly as Postgres computes it, so `1.50` prints as `1.50` and `7 / 2` prints as
 * `3.5000000000000000`. Invariants: immutable; `scale` is an integer ≥ 0; there is no NaN or ±Infinity (Postgres
 * numeric has them, Holdfast does not: producing one is an error). Equal values have equal `hashKey()` whatever
 * their scales (1.5 and 1.50 are the same SQL value).
 *
 * Rounding is half away from zero everywhere (Postgres numeric rounding). Division picks its result scale with
 * Postgres's `select_div_scale` (16 significant digits, reasoning in base-10000 digits).
 */

import { ServiceError } from '../../errors/service-error.ts';
import type { ErrorCode } from '../../types/error-codes.ts';
import type { ObjectValue } from '../../zset/value.ts';

const POW10: bigint[] = [1n];

/** 10^n as a bigint (cached). */
export function pow10(n: number): bigint {
  const p = POW10[n];
  if (p !== undefined) return p;
  for (let i = POW10.length; i <= n; i++) POW10.push((POW10[i - 1] as bigint) * 10n);
  return POW10[n] as bigint;
}

/** n / d rounded half away from zero; d > 0. */
function divRound(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n - q * d;
  if (r === 0n) return q;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice >= d) return n < 0n ? q - 1n : q + 1n;
  return q;
}

/** Rescales an unscaled value from scale `from` to scale `to`, rounding half away from zero when shrinking. */
function rescale(u: bigint, from: number, to: number): bigint {
  if (to === from) return u;
  if (to > from) return u * pow10(to - from);
  return divRound(u, pow10(from - to));
}

const NUMERIC_MIN_SIG_DIGITS = 16;
const NUMERIC_MAX_DISPLAY_SCALE = 1000;
const NUMERIC_MAX_RESULT_SCALE = 2000;
const NUMERIC_MAX_PRECISION = 1000;

/** Postgres numeric weight (base 10000) and first base-10000 digit of |u| / 10^scale; zero gives [0, 0]. */
function baseWeight(u: bigint, scale: number): [number, number] {
  if (u === 0n) return [0, 0];
  const s = (u < 0n ? -u : u).toString();
  const e10 = s.length - 1 - scale;
  const w = Math.floor(e10 / 4);
  const k = e10 - 4 * w + 1;
  let first = 0;
  for (let i = 0; i < k; i++) first = first * 10 + (i < s.length ? s.charCodeAt(i) - 48 : 0);
  return [w, first];
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function syntaxError(text: string, code: ErrorCode): ServiceError {
  return new ServiceError(code, `invalid input syntax for type numeric: "${text}"`, { value: text });
}

function runtime(message: string, details: Record<string, unknown> = {}): ServiceError {
  return new ServiceError('SqlRuntimeError', message, details);
}

export class Decimal implements ObjectValue {
  readonly unscaled: bigint;
  readonly scale: number;
  #key: string | undefined;

  constructor(unscaled: bigint, scale: number) {
    this.unscaled = unscaled;
    this.scale = scale;
  }

  static readonly ZERO: Decimal = new Decimal(0n, 0);
  static readonly ONE: Decimal = new Decimal(1n, 0);

  static fromBigInt(b: bigint): Decimal {
    return new Decimal(b, 0);
  }

  /** From an integral JS number (SMALLINT/INTEGER values). */
  static fromInt(n: number): Decimal {
    return new Decimal(BigInt(n), 0);
  }

  /**
   * Postgres float→numeric: the double printed with `digits` significant digits (`%.*g`, 15 = DBL_DIG for
   * float8, 6 = FLT_DIG for float4), trailing zeros dropped, then read as numeric.
   */
  static fromDouble(d: number, digits = 15, code: ErrorCode = 'SqlRuntimeError'): Decimal {
    if (!Number.isFinite(d)) {
      throw new ServiceError(code, `cannot convert ${Number.isNaN(d) ? 'NaN' : 'infinity'} to DECIMAL`, {
        value: String(d),
      });
    }
    let s = d.toPrecision(digits);
    const e = s.indexOf('e');
    let mant = e < 0 ? s : s.slice(0, e);
    if (mant.indexOf('.') >= 0) {
      let end = mant.length;
      while (mant.charCodeAt(end - 1) === 48) end--;
      if (mant.charCodeAt(end - 1) === 46) end--;
      mant = mant.slice(0, end);
    }
    s = e < 0 ? mant : mant + s.slice(e);
    return Decimal.parse(s, code);
  }

  /**
   * Postgres numeric input: surrounding whitespace, optional sign, digits with an optional point (underscores
   * allowed between digits), optional exponent; or a 0x/0o/0b integer. Result scale = fraction digits − exponent, at least 0.
   * Throws ServiceError(code) on anything else (including NaN/Infinity, which DECIMAL cannot hold).
   */
  static parse(text: string, code: ErrorCode = 'InvalidRecord'): Decimal {
    const n = text.length;
    let i = 0;
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    let end = n;
    while (end > i && isSpace(text.charCodeAt(end - 1))) end--;
    let neg = false;
    let c = text.charCodeAt(i);
    if (c === 43 || c === 45) {
      neg = c === 45;
      i++;
    }
    c = text.charCodeAt(i + 1) | 0x20;
    if (text.charCodeAt(i) === 48 && (c === 120 || c === 111 || c === 98)) {
      // Postgres 16+: 0x / 0o / 0b integers
      const body = text.slice(i, end);
      if (!/^0(?:[xX](?:_?[0-9a-fA-F])+|[oO](?:_?[0-7])+|[bB](?:_?[01])+)$/.test(body))
        throw syntaxError(text, code);
      const v = BigInt(body.replaceAll('_', ''));
      return new Decimal(neg ? -v : v, 0);
    }
    let digits = '';
    let intDigits = 0;
    let fracDigits = 0;
    let seenPoint = false;
    let prevDigit = false;
    let runStart = i;
    for (; i < end; i++) {
      c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        prevDigit = true;
        if (seenPoint) fracDigits++;
        else intDigits++;
        continue;
      }
      if (c === 95) {
        // underscore: only between two digits
        const next = text.charCodeAt(i + 1);
        if (!prevDigit || !(next >= 48 && next <= 57)) throw syntaxError(text, code);
        digits += text.slice(runStart, i);
        runStart = i + 1;
        continue;
      }
      if (c === 46 && !seenPoint) {
        digits += text.slice(runStart, i);
        runStart = i + 1;
        seenPoint = true;
        prevDigit = false;
        continue;
      }
      break;
    }
    digits += text.slice(runStart, i);
    if (intDigits + fracDigits === 0) {
      const word = text.slice(i, end).toLowerCase();
      if (word === 'nan' || word === 'infinity' || word === 'inf') {
        throw new ServiceError(code, `DECIMAL cannot hold "${text}"`, { value: text });
      }
      throw syntaxError(text, code);
    }
    let exp = 0;
    if (i < end) {
      c = text.charCodeAt(i);
      if (c !== 101 && c !== 69) throw syntaxError(text, code);
      i++;
      let eneg = false;
      c = text.charCodeAt(i);
      if (c === 43 || c === 45) {
        eneg = c === 45;
        i++;
      }
      const start = i;
      let eprev = false;
      for (; i < end; i++) {
        c = text.charCodeAt(i);
        if (c >= 48 && c <= 57) {
          exp = exp * 10 + (c - 48);
          eprev = true;
          if (exp > NUMERIC_MAX_PRECISION) throw syntaxError(text, code);
        } else if (
          c === 95 &&
          eprev &&
          i + 1 < end &&
          text.charCodeAt(i + 1) >= 48 &&
          text.charCodeAt(i + 1) <= 57
        ) {
          eprev = false;
        } else {
          throw syntaxError(text, code);
        }
      }
      if (i === start) throw syntaxError(text, code);
      if (eneg) exp = -exp;
    }
    let u = BigInt(digits);
    if (neg) u = -u;
    let scale = fracDigits - exp;
    if (scale < 0) {
      u *= pow10(-scale);
      scale = 0;
    }
    return new Decimal(u, scale);
  }

  /** AVG: sum / count with numeric division rules. */
  static avg(sum: Decimal, count: bigint): Decimal {
    return sum.div(new Decimal(count, 0));
  }

  hashKey(): string {
    let k = this.#key;
    if (k !== undefined) return k;
    if (this.unscaled === 0n) k = '0';
    else {
      const s = this.unscaled.toString();
      let end = s.length;
      let sc = this.scale;
      while (sc > 0 && s.charCodeAt(end - 1) === 48) {
        end--;
        sc--;
      }
      k = sc === 0 ? s.slice(0, end) : `${s.slice(0, end)}/${sc}`;
    }
    this.#key = k;
    return k;
  }

  add(o: Decimal): Decimal {
    if (this.scale === o.scale) return new Decimal(this.unscaled + o.unscaled, this.scale);
    if (this.scale > o.scale)
      return new Decimal(this.unscaled + o.unscaled * pow10(this.scale - o.scale), this.scale);
    return new Decimal(this.unscaled * pow10(o.scale - this.scale) + o.unscaled, o.scale);
  }

  sub(o: Decimal): Decimal {
    if (this.scale === o.scale) return new Decimal(this.unscaled - o.unscaled, this.scale);
    if (this.scale > o.scale)
      return new Decimal(this.unscaled - o.unscaled * pow10(this.scale - o.scale), this.scale);
    return new Decimal(this.unscaled * pow10(o.scale - this.scale) - o.unscaled, o.scale);
  }

  mul(o: Decimal): Decimal {
    return new Decimal(this.unscaled * o.unscaled, this.scale + o.scale);
  }

  /** Postgres numeric division (result scale from select_div_scale, rounded half away from zero). */
  div(o: Decimal): Decimal {
    if (o.unscaled === 0n) throw runtime('division by zero');
    const [w1, f1] = baseWeight(this.unscaled, this.scale);
    const [w2, f2] = baseWeight(o.unscaled, o.scale);
    let qweight = w1 - w2;
    if (f1 <= f2) qweight--;
    let rscale = NUMERIC_MIN_SIG_DIGITS - qweight * 4;
    if (rscale < this.scale) rscale = this.scale;
    if (rscale < o.scale) rscale = o.scale;
    if (rscale < 0) rscale = 0;
    if (rscale > NUMERIC_MAX_DISPLAY_SCALE) rscale = NUMERIC_MAX_DISPLAY_SCALE;
    let n = this.unscaled * pow10(rscale + o.scale - this.scale);
    let d = o.unscaled;
    if (d < 0n) {
      d = -d;
      n = -n;
    }
    return new Decimal(divRound(n, d), rscale);
  }

  /** Postgres numeric modulo: sign of the dividend, scale max of both scales. */
  mod(o: Decimal): Decimal {
    if (o.unscaled === 0n) throw runtime('division by zero');
    const s = Math.max(this.scale, o.scale);
    const a = this.scale === s ? this.unscaled : this.unscaled * pow10(s - this.scale);
    const b = o.scale === s ? o.unscaled : o.unscaled * pow10(s - o.scale);
    return new Decimal(a % b, s);
  }

  neg(): Decimal {
    return this.unscaled === 0n ? this : new Decimal(-this.unscaled, this.scale);
  }

  abs(): Decimal {
    return this.unscaled < 0n ? new Decimal(-this.unscaled, this.scale) : this;
  }

  /** -1, 0 or 1. */
  sign(): number {
    return this.unscaled < 0n ? -1 : this.unscaled > 0n ? 1 : 0;
  }

  cmp(o: Decimal): number {
    const a = this.unscaled;
    const b = o.unscaled;
    if (this.scale === o.scale) return a < b ? -1 : a > b ? 1 : 0;
    // different signs decide without rescaling
    if (a < 0n !== b < 0n) return a < 0n ? -1 : 1;
    let x = a;
    let y = b;
    if (this.scale > o.scale) y *= pow10(this.scale - o.scale);
    else x *= pow10(o.scale - this.scale);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  equals(o: Decimal): boolean {
    return this.cmp(o) === 0;
  }

  isZero(): boolean {
    return this.unscaled === 0n;
  }

  isInteger(): boolean {
    return this.scale === 0 || this.unscaled % pow10(this.scale) === 0n;
  }

  /** Postgres round(x, s): half away from zero; s < 0 rounds left of the point (result scale 0). */
  round(s = 0): Decimal {
    if (s > NUMERIC_MAX_RESULT_SCALE) s = NUMERIC_MAX_RESULT_SCALE;
    if (s < -NUMERIC_MAX_RESULT_SCALE) s = -NUMERIC_MAX_RESULT_SCALE;
    if (s >= 0) return s === this.scale ? this : new Decimal(rescale(this.unscaled, this.scale, s), s);
    const p = pow10(-s);
    return new Decimal(divRound(this.unscaled, pow10(this.scale - s)) * p, 0);
  }

  /** Postgres trunc(x, s): toward zero. */
  trunc(s = 0): Decimal {
    if (s > NUMERIC_MAX_RESULT_SCALE) s = NUMERIC_MAX_RESULT_SCALE;
    if (s < -NUMERIC_MAX_RESULT_SCALE) s = -NUMERIC_MAX_RESULT_SCALE;
    if (s >= this.scale)
      return s === this.scale ? this : new Decimal(this.unscaled * pow10(s - this.scale), s);
    if (s >= 0) return new Decimal(this.unscaled / pow10(this.scale - s), s);
    return new Decimal((this.unscaled / pow10(this.scale - s)) * pow10(-s), 0);
  }

  floor(): Decimal {
    if (this.scale === 0) return this;
    const p = pow10(this.scale);
    let q = this.unscaled / p;
    if (this.unscaled < 0n && q * p !== this.unscaled) q -= 1n;
    return new Decimal(q, 0);
  }

  ceil(): Decimal {
    if (this.scale === 0) return this;
    const p = pow10(this.scale);
    let q = this.unscaled / p;
    if (this.unscaled > 0n && q * p !== this.unscaled) q += 1n;
    return new Decimal(q, 0);
  }

  /** Nearest double (correctly rounded, like Postgres numeric→float8). */
  toNumber(): number {
    const u = this.unscaled;
    if (this.scale <= 22 && u <= 9007199254740991n && u >= -9007199254740991n) {
      const n = Number(u);
      return this.scale === 0 ? n : n / 10 ** this.scale;
    }
    return Number(this.toString());
  }

  /** Integer value rounded half away from zero (Postgres numeric→integer casts); range checks are the caller's. */
  toBigInt(): bigint {
    return this.scale === 0 ? this.unscaled : divRound(this.unscaled, pow10(this.scale));
  }

  /** Postgres text form: exactly `scale` fraction digits, no exponent, never `-0`. */
  toString(): string {
    const u = this.unscaled;
    if (this.scale === 0) return u.toString();
    const neg = u < 0n;
    let s = (neg ? -u : u).toString();
    const sc = this.scale;
    if (s.length <= sc) s = '0'.repeat(sc - s.length + 1) + s;
    const out = `${s.slice(0, s.length - sc)}.${s.slice(s.length - sc)}`;
    return neg ? `-${out}` : out;
  }

  /**
   * Postgres numeric(precision, scale) coercion: round to `scale`, then fail with 'numeric field overflow' if
   * the value needs more than precision − scale integer digits. Negative scales round left of the point.
   */
  withTypmod(precision: number, scale: number, code: ErrorCode = 'SqlRuntimeError'): Decimal {
    const r = this.round(scale);
    const extra = r.scale - scale; // > 0 only when scale < 0 (r.scale is 0 then)
    const limit = pow10(precision + extra);
    const u = r.unscaled;
    if (u >= limit || -u >= limit) {
      throw new ServiceError(code, 'numeric field overflow', {
        detail: `A field with precision ${precision}, scale ${scale} must round to an absolute value less than ${
          precision - scale !== 0 ? `10^${precision - scale}` : '1'
        }.`,
        value: this.toString(),
      });
    }
    return r;
  }
}
