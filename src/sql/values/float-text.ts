/**
 * Feldera's text of a floating-point value, as `CAST(x AS VARCHAR)`, `||`, `CONCAT` and the string functions
 * produce it (Feldera formats with Ryu's "pretty" layout, where Postgres's float8out differs):
 *
 * - the digits are the shortest that read back to the same value (float4 digits for a REAL), a candidate on
 *   the edge of the value's rounding interval counting when the mantissa is even (Rust's Ryu; Postgres's
 *   float8out excludes it: `-2.088852331899055e16` here, `-2.0888523318990552e+16` there);
 * - an integral value keeps a `.0` (`-987.0`, `0.0`, `-0.0`);
 * - plain notation while the decimal point falls within the first 16 digits (13 for a REAL), down to
 *   `0.0001` (`0.00001` for a REAL); outside that, exponent form without `+` or zero padding: `1e16`,
 *   `-2.088852331899055e16`, `1.6631e-6`;
 * - non-finite values are `NaN`, `inf`, `-inf`.
 *
 * State: none. Pure functions.
 */
import { exactShortest } from './format.ts';

/** Below 2^53 in magnitude JS's own shortest digits are Ryu's (see `formatDouble`); larger ones go exact. */
function doubleDigits(a: number): { digits: string; exp: number } {
  if (a >= 9007199254740992) return exactShortest(a, false, true);
  const s = a.toExponential(); // shortest round-trip digits: d.ddde±N
  const e = s.indexOf('e');
  const mant = s.slice(0, e).replace('.', '');
  return { digits: mant, exp: Number(s.slice(e + 1)) };
}

/** Ryu's pretty layout of shortest digits (`exp` is the decimal exponent of the first digit). */
function pretty(neg: boolean, digits: string, exp: number, maxInt: number, minNeg: number): string {
  const length = digits.length;
  const kk = exp + 1; // 10^(kk-1) <= |v| < 10^kk
  const k = kk - length; // exponent of the last digit
  let out: string;
  if (k >= 0 && kk <= maxInt) out = `${digits}${'0'.repeat(k)}.0`;
  else if (kk > 0 && kk <= maxInt) out = `${digits.slice(0, kk)}.${digits.slice(kk)}`;
  else if (kk > minNeg && kk <= 0) out = `0.${'0'.repeat(-kk)}${digits}`;
  else out = `${length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`}e${kk - 1}`;
  return neg ? `-${out}` : out;
}

function nonFinite(x: number): string | null {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  return null;
}

/** Feldera's text of a DOUBLE. */
export function felderaDoubleText(d: number): string {
  const sp = nonFinite(d);
  if (sp !== null) return sp;
  const { digits, exp } = doubleDigits(d < 0 ? -d : d);
  return pretty(d < 0, digits, exp, 16, -5);
}

/** Feldera's text of a REAL (a float4 value held in a double). */
export function felderaRealText(f: number): string {
  const sp = nonFinite(f);
  if (sp !== null) return sp;
  const { digits, exp } = exactShortest(f < 0 ? -f : f, true, true);
  return pretty(f < 0, digits, exp, 13, -6);
}
