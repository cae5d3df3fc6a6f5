/**
 * Correctly rounded CBRT, SIN, COS and TAN of a DOUBLE: the double nearest to the exact mathematical result.
 * Feldera computes these with the platform's math library, whose results are the correctly rounded ones on its
 * test cases (CBRT(1146171806) = 1046.5257220023252, COS(1146171806) = -0.9355219612196043), where JavaScript's
 * `Math.cbrt` / `Math.cos` may be one unit in the last place off (1046.525722002325, -0.9355219612196044).
 *
 * Method: exact arithmetic on BigInts.
 * - CBRT: `Math.cbrt` is within one unit in the last place; the candidate is moved to its neighbour while the
 *   argument lies beyond the cube of the midpoint between them (midpoints and cubes are exact rationals).
 * - SIN, COS, TAN: the argument (an exact dyadic rational) is reduced modulo π/2 with π known to as many bits
 *   as its magnitude needs (at most {@link PI_BITS}, enough for every finite double: the reduction keeps more
 *   than {@link FRAC} correct bits), then the Taylor series of the reduced argument (|r| ≤ π/4) is summed in
 *   fixed point with {@link FRAC} fraction bits, the quadrant applied and the result rounded once (BigInt →
 *   Number rounds to nearest). The error left (a few units of 2^-FRAC) is far below half a unit in the last
 *   place of any result except in cases no double argument is known to reach.
 * Cost: microseconds per call (hundreds of times `Math.cos`), paid only by views that call these functions.
 *
 * State: the π constant, computed once on first use. Pure functions otherwise.
 */

/** Fraction bits of the fixed-point evaluation. */
const FRAC = 192n;
/** Fraction bits of π available for the argument reduction (largest double exponent 1024 + FRAC + 64 guard bits). */
const PI_BITS = 1344n;

/** Below this magnitude sin x and tan x round to x and cos x to 1 (the next term is under half an ulp). */
const TINY = 2 ** -27;

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/** A finite non-zero |x| as mantissa · 2^exponent (mantissa a positive integer). */
function decompose(x: number): { m: bigint; e: bigint } {
  F64[0] = Math.abs(x);
  const bits = U64[0] as bigint;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & 0xfffffffffffffn;
  return biased === 0 ? { m: frac, e: -1074n } : { m: frac | (1n << 52n), e: BigInt(biased - 1075) };
}

/** The next double above (dir 1) or below (dir -1) a positive finite x. */
function step(x: number, dir: 1 | -1): number {
  F64[0] = x;
  U64[0] = (U64[0] as bigint) + (dir === 1 ? 1n : -1n);
  return F64[0] as number;
}

/** Sign of a·2^ea − b·2^eb (a, b ≥ 0). */
function compareScaled(a: bigint, ea: bigint, b: bigint, eb: bigint): number {
  const e = ea < eb ? ea : eb;
  const x = a << (ea - e);
  const y = b << (eb - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The midpoint of two positive doubles as m · 2^e. */
function midpoint(a: number, b: number): { m: bigint; e: bigint } {
  const p = decompose(a);
  const q = decompose(b);
  let e = p.e;
  if (q.e < e) e = q.e;
  return { m: (p.m << (p.e - e)) + (q.m << (q.e - e)), e: e - 1n };
}

/** Sign of (midpoint of a and b)³ − x. */
function cubeOfMidpointVs(a: number, b: number, x: { m: bigint; e: bigint }): number {
  const mid = midpoint(a, b);
  return compareScaled(mid.m * mid.m * mid.m, 3n * mid.e, x.m, x.e);
}

/** The correctly rounded cube root. */
export function cbrt(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const ax = decompose(x);
  let y = Math.cbrt(Math.abs(x));
  for (let i = 0; i < 4; i++) {
    const up = step(y, 1);
    if (cubeOfMidpointVs(y, up, ax) < 0) {
      y = up;
      continue;
    }
    const down = step(y, -1);
    if (cubeOfMidpointVs(down, y, ax) > 0) {
      y = down;
      continue;
    }
    break;
  }
  return x < 0 ? -y : y;
}

let piCache: bigint | null = null;

/** ⌊π · 2^PI_BITS⌋ (Machin's formula, 16·atan(1/5) − 4·atan(1/239), with guard bits). */
function piScaled(): bigint {
  if (piCache !== null) return piCache;
  const guard = 32n;
  const one = 1n << (PI_BITS + guard);
  const atanInv = (n: bigint): bigint => {
    let term = one / n;
    let sum = term;
    const n2 = n * n;
    for (let k = 3n; term !== 0n; k += 2n) {
      term /= n2;
      sum += (k & 2n ? -term : term) / k;
    }
    return sum;
  };
  piCache = (16n * atanInv(5n) - 4n * atanInv(239n)) >> guard;
  return piCache;
}

/**
 * sin and cos of x: x is reduced modulo π/2 (to r in [−π/4, π/4] and the quadrant k mod 4) with π known to
 * as many bits as x's magnitude needs (its integer bits + FRAC + 64 guard bits; at most PI_BITS), then the
 * Taylor series of r is summed in fixed point with FRAC fraction bits and the quadrant applied.
 */
function sinCosOf(x: number): { sin: bigint; cos: bigint } {
  const { m, e } = decompose(x);
  // bits of π: enough that k·(error of π/2) stays far below 2^-FRAC (k < 2^(e + 53)); e + w ≥ 0 so m·2^(e+w) is exact
  let w = FRAC + 64n + (e + 53n > 0n ? e + 53n : 0n);
  if (w < -e) w = -e;
  const halfPi = piScaled() >> (PI_BITS - w + 1n);
  const scaled = m << (e + w);
  let k = scaled / halfPi;
  let r = scaled - k * halfPi;
  if (r > halfPi >> 1n) {
    r -= halfPi;
    k += 1n;
  }
  let fixed = r >> (w - FRAC);
  if (x < 0) {
    fixed = -fixed;
    k = -k;
  }
  const { sin: s, cos: c } = sinCosSeries(fixed);
  switch (((k % 4n) + 4n) % 4n) {
    case 0n:
      return { sin: s, cos: c };
    case 1n:
      return { sin: c, cos: -s };
    case 2n:
      return { sin: -s, cos: -c };
    default:
      return { sin: -c, cos: s };
  }
}

/** sin and cos of a reduced argument r (fixed point, |r| ≤ π/4), by their Taylor series. */
function sinCosSeries(r: bigint): { sin: bigint; cos: bigint } {
  const one = 1n << FRAC;
  const r2 = (r * r) >> FRAC;
  let c = one;
  let cosSum = one;
  let s = r;
  let sinSum = r;
  for (let k = 1n; c !== 0n || s !== 0n; k++) {
    c = -((c * r2) >> FRAC) / ((2n * k - 1n) * (2n * k));
    s = -((s * r2) >> FRAC) / (2n * k * (2n * k + 1n));
    cosSum += c;
    sinSum += s;
  }
  return { sin: sinSum, cos: cosSum };
}

/** A fixed-point value as the nearest double. */
function toDouble(v: bigint): number {
  // Number(bigint) rounds to nearest; dividing by a power of two is then exact for normal results
  const neg = v < 0n;
  const a = neg ? -v : v;
  const shift = BigInt(Math.max(0, a.toString(2).length - 64));
  // keep 64 significant bits plus a sticky bit so the single rounding of Number() is the correct one
  const kept = (a >> shift) | (a & ((1n << shift) - 1n) ? 1n : 0n);
  const out = Number(kept) * 2 ** Number(shift - FRAC);
  return neg ? -out : out;
}

/** The correctly rounded cosine. */
export function cos(x: number): number {
  if (!Number.isFinite(x)) return Number.NaN;
  if (Math.abs(x) < TINY) return 1; // 1 − x²/2 rounds to 1
  return toDouble(sinCosOf(x).cos);
}

/** The correctly rounded sine. */
export function sin(x: number): number {
  if (!Number.isFinite(x)) return Number.NaN;
  if (Math.abs(x) < TINY) return x; // x − x³/6 rounds to x
  return toDouble(sinCosOf(x).sin);
}

/** The correctly rounded tangent. */
export function tan(x: number): number {
  if (!Number.isFinite(x)) return Number.NaN;
  if (Math.abs(x) < TINY) return x; // x + x³/3 rounds to x
  const { sin: s, cos: c } = sinCosOf(x);
  return toDouble((s << FRAC) / c);
}
