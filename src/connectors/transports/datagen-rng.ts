/**
 * The random numbers of Feldera's datagen, bit for bit, so a seeded datagen gives Feldera's rows.
 *
 * Facts reproduced (Rust `rand` 0.8 / `rand_core` 0.6 / `rand_distr` 0.4, as Feldera's datagen uses them):
 * - One generator per record: `SmallRng::seed_from_u64(seed + record index)` (wrapping u64 addition; the index
 *   counts from 0 within each plan). The record's columns draw from it in schema order.
 * - `SmallRng` on 64-bit targets is xoshiro256++. `SmallRng` does not override `seed_from_u64`, so the seed goes
 *   through `rand_core`'s default: eight PCG32 outputs (multiplier 6364136223846793005, increment
 *   11634580027462260723, state advanced before each output) laid out little-endian as the 32-byte seed, read
 *   as four little-endian u64 words s0..s3.
 * - `next_u32` is the high half of `next_u64`.
 * - `Uniform` over integers (every integer column is drawn as i64, lengths and indexes as usize = u64): range
 *   r = high − low; reject = (2^64 − r) mod r; draw v = next_u64 until the low 64 bits of v·r are ≤ 2^64 − 1 −
 *   reject; the value is low + the high 64 bits of v·r.
 * - `Uniform` over f64: scale = high − low, lowered one ulp at a time while low + scale·(1 − 2^−52) ≥ high; a
 *   sample is ((next_u64 >> 12) / 2^52)·scale + low (two roundings, no fused multiply-add).
 * - `Standard` f64: (next_u64 >> 11)·2^−53.
 * - `Zipf(n, s)`: t = (n^(1−s) − s)/(1−s) (s ≠ 1) or 1 + ln n; rejection sampling with
 *   inv_b = inv_cdf(Standard), x = floor(inv_b + 1), ratio = x^−s·(x > 1 ? inv_b^s : 1), accept when Standard <
 *   ratio; the rank is x in [1, n].
 * - `Alphanumeric`: next_u32 >> 26, rejected until < 62, indexing `A–Z a–z 0–9`.
 *
 * Implementation: u64 values as two unsigned 32-bit halves (no BigInt on the hot path). `pow`, `exp` and `ln`
 * are V8's, which may differ from the C library's in the last bit; only Zipf uses them, and a last-bit
 * difference changes a rank only when a sample falls on a boundary.
 *
 * State: a {@link SmallRng} is reseeded per record ({@link SmallRng.seed}); samplers are immutable.
 */

const TWO32 = 4294967296;
const TWO52 = 4503599627370496;
const TWO53 = 9007199254740992;

// PCG32 constants (rand_core's default seed_from_u64), as 32-bit halves
const PCG_MUL_HI = 0x5851f42d;
const PCG_MUL_LO = 0x4c957f2d;
const PCG_INC_HI = 0xa17654e4;
const PCG_INC_LO = 0x6fbe17f3;

let mulHi = 0;
let mulLo = 0;
/** Full 64-bit product of two u32 values, left in mulHi/mulLo (16-bit pieces, integer operations only). */
function mul32(a: number, b: number): void {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const a1b0 = a1 * b0;
  const a0b1 = a0 * b1;
  const mid = ((a0 * b0) >>> 16) + (a1b0 & 0xffff) + (a0b1 & 0xffff);
  mulLo = Math.imul(a, b) >>> 0;
  mulHi = (a1 * b1 + (a1b0 >>> 16) + (a0b1 >>> 16) + (mid >>> 16)) >>> 0;
}

// PCG32 state while seeding (unsigned halves)
let pcgHi = 0;
let pcgLo = 0;
/** One PCG32 step of rand_core's seed_from_u64: advance the state, return the output word (unsigned). */
function pcgStep(): number {
  // state = state · MUL + INC (mod 2^64)
  mul32(pcgLo, PCG_MUL_LO);
  const cross = (Math.imul(pcgHi, PCG_MUL_LO) + Math.imul(pcgLo, PCG_MUL_HI)) >>> 0;
  const nl = mulLo + PCG_INC_LO;
  const sh = (mulHi + cross + PCG_INC_HI + (nl >= TWO32 ? 1 : 0)) >>> 0;
  const sl = nl >>> 0;
  pcgHi = sh;
  pcgLo = sl;
  // xorshifted = (((state >> 18) ^ state) >> 27) as u32; rot = state >> 59
  const xh = sh ^ (sh >>> 18);
  const xl = sl ^ ((sl >>> 18) | (sh << 14));
  const xs = ((xl >>> 27) | (xh << 5)) >>> 0;
  const rot = sh >>> 27;
  return rot === 0 ? xs : ((xs >>> rot) | (xs << (32 - rot))) >>> 0;
}

/** xoshiro256++ (Rust's `SmallRng` on 64-bit targets), seeded the way `SmallRng::seed_from_u64` seeds it. */
export class SmallRng {
  /** s0..s3 as (high, low) int32 pairs, then the last output's (high, low): raw words, no boxing. */
  readonly #w = new Int32Array(10);

  /** The high 32 bits (unsigned) of the last {@link nextU64}. */
  get hi(): number {
    return (this.#w[8] as number) >>> 0;
  }

  /** The low 32 bits (unsigned) of the last {@link nextU64}. */
  get lo(): number {
    return (this.#w[9] as number) >>> 0;
  }

  /** Reseeds as `SmallRng::seed_from_u64(hi·2^32 + lo)` (both halves unsigned 32-bit). */
  seed(hi: number, lo: number): this {
    pcgHi = hi >>> 0;
    pcgLo = lo >>> 0;
    const w = this.#w;
    // the eight output words, little-endian, are s0.lo, s0.hi, s1.lo, ...
    for (let k = 0; k < 8; k += 2) {
      w[k + 1] = pcgStep();
      w[k] = pcgStep();
    }
    return this;
  }

  /** Reseeds for record `index` of a datagen with `seed`: `seed_from_u64(seed + index)`, wrapping. */
  seedRecord(seedHi: number, seedLo: number, index: number): this {
    const ih = Math.floor(index / TWO32);
    const sumLo = seedLo + (index - ih * TWO32);
    return this.seed(seedHi + ih + (sumLo >= TWO32 ? 1 : 0), sumLo);
  }

  /** Next 64 random bits, read them from {@link hi} / {@link lo}. */
  nextU64(): void {
    const w = this.#w;
    const s0h = w[0] as number;
    const s0l = w[1] as number;
    const s1h = w[2] as number;
    const s1l = w[3] as number;
    const s2h = w[4] as number;
    const s2l = w[5] as number;
    const s3h = w[6] as number;
    const s3l = w[7] as number;
    // result = rotl(s0 + s3, 23) + s0
    const al = (s0l + s3l) | 0;
    const ah = (s0h + s3h + (al >>> 0 < s0l >>> 0 ? 1 : 0)) | 0;
    const rh = (ah << 23) | (al >>> 9);
    const rl = (al << 23) | (ah >>> 9);
    const ol = (rl + s0l) | 0;
    w[8] = rh + s0h + (ol >>> 0 < rl >>> 0 ? 1 : 0);
    w[9] = ol;
    // t = s1 << 17; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 45)
    const th = (s1h << 17) | (s1l >>> 15);
    const tl = s1l << 17;
    const n2h = s2h ^ s0h;
    const n2l = s2l ^ s0l;
    const n3h = s3h ^ s1h;
    const n3l = s3l ^ s1l;
    w[2] = s1h ^ n2h;
    w[3] = s1l ^ n2l;
    w[0] = s0h ^ n3h;
    w[1] = s0l ^ n3l;
    w[4] = n2h ^ th;
    w[5] = n2l ^ tl;
    // rotl by 45 = swap the halves, then rotl by 13
    w[6] = (n3l << 13) | (n3h >>> 19);
    w[7] = (n3h << 13) | (n3l >>> 19);
  }

  /** `next_u32`: the high half of the next u64. */
  nextU32(): number {
    this.nextU64();
    return this.hi;
  }

  /** `Standard` f64 in [0, 1): 53 high bits. */
  unit(): number {
    this.nextU64();
    return (this.hi * 2097152 + (this.lo >>> 11)) / TWO53;
  }
}

// one 64-bit word seen as two uint32 halves (little-endian) and as i64 / u64, to build a bigint in one step
const WORDS = new Uint32Array(2);
const I64 = new BigInt64Array(WORDS.buffer);
const U64 = new BigUint64Array(WORDS.buffer);

/**
 * `Uniform::new(low, high)` over i64 (or usize/u64 ranges that fit), half-open. Samples are offsets from
 * `low` ({@link offset}, a number when the range is below 2^53) or values ({@link big}).
 */
export class UniformInt {
  readonly low: bigint;
  readonly range: bigint;
  /** Whether the range is small enough for offsets as numbers. */
  readonly small: boolean;
  readonly #rHi: number; // the range's 32-bit halves
  readonly #rLo: number;
  readonly #r32: number; // the range when below 2^32, else 0
  readonly #lowHi: number; // low's two's-complement 32-bit halves
  readonly #lowLo: number;
  readonly #unsigned: boolean;
  readonly #zoneHi: number;
  readonly #zoneLo: number;
  #offHi = 0;
  #offLo = 0;

  constructor(low: bigint, high: bigint) {
    if (!(low < high)) throw new Error('UniformInt needs low < high');
    const range = BigInt.asUintN(64, high - low);
    this.low = low;
    this.range = range;
    this.small = range <= 2n ** 53n;
    const reject = range === 0n ? 0n : (2n ** 64n - range) % range;
    const zone = 2n ** 64n - 1n - reject;
    this.#zoneHi = Number(zone >> 32n);
    this.#zoneLo = Number(zone & 0xffffffffn);
    const r = Number(range & 0xffffffffn);
    const rh = Number((range >> 32n) & 0xffffffffn);
    this.#rHi = rh;
    this.#rLo = r;
    const lowBits = BigInt.asUintN(64, low);
    this.#lowHi = Number(lowBits >> 32n);
    this.#lowLo = Number(lowBits & 0xffffffffn);
    // values at or above 2^63 (BIGINT UNSIGNED ranges) read as unsigned, the rest as signed i64
    this.#unsigned = low >= 0n && high > 2n ** 63n;
    this.#r32 = rh === 0 ? r : 0;
  }

  /** Draws until accepted; the offset's halves are left in #offHi/#offLo. */
  #draw(rng: SmallRng): void {
    if (this.#r32 !== 0) {
      this.#draw32(rng, this.#r32);
      return;
    }
    const rl = this.#rLo;
    const rh = this.#rHi;
    for (;;) {
      rng.nextU64();
      const vl = rng.lo;
      const vh = rng.hi;
      // v·r = vh·rh·2^64 + (vh·rl + vl·rh)·2^32 + vl·rl, in 32-bit words with carries
      mul32(vl, rl);
      const a1 = mulHi;
      const w0 = mulLo;
      mul32(vl, rh);
      const b1 = mulHi;
      const b0 = mulLo;
      mul32(vh, rl);
      const c1 = mulHi;
      const c0 = mulLo;
      mul32(vh, rh);
      const t1 = a1 + b0 + c0;
      const w1 = t1 >>> 0;
      const t2 = b1 + c1 + mulLo + (t1 - w1) / TWO32;
      const w2 = t2 >>> 0;
      if (w1 < this.#zoneHi || (w1 === this.#zoneHi && w0 <= this.#zoneLo)) {
        this.#offHi = (mulHi + (t2 - w2) / TWO32) >>> 0;
        this.#offLo = w2;
        return;
      }
    }
  }

  /** #draw for ranges below 2^32: v·r as (v_hi·r)·2^32 + v_lo·r with two 32×32 products. */
  #draw32(rng: SmallRng, r: number): void {
    for (;;) {
      rng.nextU64();
      mul32(rng.lo, r);
      const aH = mulHi;
      const aL = mulLo;
      mul32(rng.hi, r);
      const mid = mulLo + aH;
      const midLo = mid >>> 0;
      if (midLo < this.#zoneHi || (midLo === this.#zoneHi && aL <= this.#zoneLo)) {
        this.#offHi = 0;
        this.#offLo = mulHi + (mid >= TWO32 ? 1 : 0);
        return;
      }
    }
  }

  /** A sample's offset from `low` as a number (only when {@link small}). */
  offset(rng: SmallRng): number {
    this.#draw(rng);
    return this.#offHi * TWO32 + this.#offLo;
  }

  /** A sample: low + offset (inside [low, high)), as one bigint read from its two 32-bit halves. */
  big(rng: SmallRng): bigint {
    this.#draw(rng);
    const lo = this.#lowLo + this.#offLo;
    WORDS[0] = lo;
    WORDS[1] = this.#lowHi + this.#offHi + (lo >= TWO32 ? 1 : 0);
    return this.#unsigned ? (U64[0] as bigint) : (I64[0] as bigint);
  }
}

/** `Uniform::new(low, high)` over f64, half-open. */
export class UniformFloat {
  readonly low: number;
  readonly scale: number;

  constructor(low: number, high: number) {
    if (!(low < high) || !Number.isFinite(low) || !Number.isFinite(high))
      throw new Error('UniformFloat needs finite low < high');
    let scale = high - low;
    if (!Number.isFinite(scale)) throw new Error('UniformFloat range overflow');
    const maxRand = 1 - 2 ** -52;
    const tooBig = (x: number) => x * maxRand + low >= high;
    if (tooBig(scale)) {
      // rand lowers the scale one ulp at a time while it is too big: the result is the largest float below
      // the start that is not (the test is monotone in the scale), found here by bisecting bit patterns
      const view = new DataView(new ArrayBuffer(8));
      const bits = (x: number) => {
        view.setFloat64(0, x);
        return view.getBigUint64(0);
      };
      const float = (b: bigint) => {
        view.setBigUint64(0, b);
        return view.getFloat64(0);
      };
      let ok = 0n; // bits of 0.0: never too big (low < high)
      let bad = bits(scale);
      while (bad - ok > 1n) {
        const mid = (ok + bad) / 2n;
        if (tooBig(float(mid))) bad = mid;
        else ok = mid;
      }
      scale = float(ok);
    }
    this.low = low;
    this.scale = scale;
  }

  sample(rng: SmallRng): number {
    rng.nextU64();
    const m = rng.hi * 1048576 + (rng.lo >>> 12); // next_u64 >> 12
    return (m / TWO52) * this.scale + this.low;
  }
}

/** rand_distr's `Zipf::new(n, s)`: ranks 1..=n as floats. */
export class Zipf {
  readonly #s: number;
  readonly #t: number;
  readonly #q: number;

  constructor(n: number, s: number) {
    if (!(s >= 0)) throw new Error('Zipf needs s >= 0');
    if (!(n >= 1)) throw new Error('Zipf needs n >= 1');
    this.#s = s;
    this.#q = s !== 1 ? 1 / (1 - s) : 0;
    this.#t = s !== 1 ? (n ** (1 - s) - s) * this.#q : 1 + Math.log(n);
  }

  #invCdf(p: number): number {
    const pt = p * this.#t;
    if (pt <= 1) return pt;
    if (this.#s !== 1) return (pt * (1 - this.#s) + this.#s) ** this.#q;
    return Math.exp(pt - 1);
  }

  sample(rng: SmallRng): number {
    const s = this.#s;
    for (;;) {
      const invB = this.#invCdf(rng.unit());
      const x = Math.floor(invB + 1);
      // s = 1 (the default): x^−1 = 1/x and invB^1 = invB exactly (a correctly rounded pow gives the same)
      let ratio = s === 1 ? 1 / x : x ** -s;
      if (x > 1) ratio *= s === 1 ? invB : invB ** s;
      if (rng.unit() < ratio) return x;
    }
  }
}

const M64 = (1n << 64n) - 1n;
const M128 = (1n << 128n) - 1n;

/**
 * `Uniform::new(low, high)` over u128 (UUID columns): v = `Standard` u128 (the first next_u64 is the low half,
 * the second the high half), 256-bit v·r, accepted while its low 128 bits ≤ 2^128 − 1 − ((2^128 − r) mod r).
 * BigInt: UUID columns are rare and these draws are not on the numeric hot path.
 */
export class UniformU128 {
  readonly #low: bigint;
  readonly #range: bigint;
  readonly #zone: bigint;

  constructor(low: bigint, high: bigint) {
    if (!(low < high)) throw new Error('UniformU128 needs low < high');
    this.#low = low;
    this.#range = high - low;
    this.#zone = M128 - (((1n << 128n) - this.#range) % this.#range);
  }

  sample(rng: SmallRng): bigint {
    for (;;) {
      rng.nextU64();
      const x = (BigInt(rng.hi) << 32n) | BigInt(rng.lo);
      rng.nextU64();
      const y = (BigInt(rng.hi) << 32n) | BigInt(rng.lo);
      const p = ((y << 64n) | (x & M64)) * this.#range;
      if ((p & M128) <= this.#zone) return this.#low + (p >> 128n);
    }
  }
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `len` characters of rand's `Alphanumeric`. */
export function alphanumeric(rng: SmallRng, len: number): string {
  let out = '';
  for (let k = 0; k < len; k++) {
    let v: number;
    do v = rng.nextU32() >>> 26;
    while (v >= 62);
    out += ALPHANUMERIC[v];
  }
  return out;
}

/** `Uniform::from(1..=100)` (usize) compared with `null_percentage`: whether the value is NULL. */
const PERCENT = new UniformInt(1n, 101n);
export function drawNull(rng: SmallRng, nullPercentage: number): boolean {
  return 1 + PERCENT.offset(rng) <= nullPercentage;
}
