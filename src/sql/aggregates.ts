/**
 * SQL aggregate functions as incremental accumulators: each handles `(value, weight)` with negative weights,
 * so deletions are exact. NULL arguments are ignored (except by COUNT(*)). SUM over an empty (or all-NULL)
 * group is NULL; COUNT is 0. Integer sums are exact (a JS number while it is a safe integer, a bigint beyond);
 * SUM of an integer type has that type (Feldera), a total outside its range failing at run time.
 * MIN/MAX keep the multiset of values (sorted distinct values with counts: a flat array in a small group, a map and
 * a heap in a large one) so deleting the current extreme finds the next one. `distinct` wraps any function so it sees each distinct non-NULL value once.
 *
 * Feldera's aggregates, all invertible in O(1) or O(bits) per change except ARG_MIN/ARG_MAX (which keep the
 * sorted multiset of `(compared, value)` pairs, as MIN/MAX do):
 * - ARG_MIN(v, k) / ARG_MAX(v, k): `v` of the row with the least/greatest `k` (rows whose `k` is NULL count
 *   only when every `k` is NULL); among ties the least/greatest `v` (NULL lowest), so the result does not
 *   depend on arrival order.
 * - BOOL_AND (EVERY, LOGICAL_AND), BOOL_OR (SOME, LOGICAL_OR): counts of TRUE and FALSE inputs.
 * - COUNTIF(b): the count of TRUE inputs (0 on an empty group).
 * - BIT_AND/BIT_OR/BIT_XOR: a count per bit of the two's-complement value (AND: bits set in every input; OR:
 *   in some; XOR: in an odd number).
 * - STDDEV_POP/STDDEV_SAMP/VAR_POP/VAR_SAMP (STDDEV = STDDEV_SAMP, VARIANCE = VAR_SAMP): count, Σx and Σx²,
 *   exact for DECIMAL (the result, of the argument's type as Feldera types it, truncated toward zero), in the
 *   argument's integer arithmetic as Feldera computes it for integers ((Σx² − (Σx)²/n) / d with truncating
 *   divisions, then the integer square root), correctly rounded sums for REAL/DOUBLE.
 * - `$map(k, v)`: Feldera's MAP aggregate `MAP(SELECT k, v ...)` (per key the multiset of values; the largest
 *   wins), see MapAgg.
 */

import { ServiceError } from '../errors/service-error.ts';
import type { Accumulator, AggregateFunction } from '../operators/aggregate.ts';
import { encodeValue, type ObjectValue, type Row, type Value } from '../zset/value.ts';
import { AGGREGATE_ALIASES, type AggregateName, comparator } from './expr.ts';
import { type SqlType, sqlType, type TypeKind, typeToSql } from './sql-type.ts';
import { compareAny, SqlArray, SqlMap } from './values/collections.ts';
import { Decimal } from './values/decimal.ts';
import {
  BIGINT_MAX,
  BIGINT_MIN,
  checkBigInt,
  checkInt,
  checkUBigInt,
  INT_RANGES,
  type NumberIntKind,
  UBIGINT_MAX,
} from './values/integers.ts';

class CountStar implements Accumulator {
  n = 0;
  add(_v: Value, w: number): void {
    this.n += w;
  }
  save(): Value {
    return this.n;
  }
  load(s: Value): void {
    this.n = s as number;
  }
  result(): Value {
    return BigInt(this.n);
  }
}

class Count implements Accumulator {
  n = 0;
  add(v: Value, w: number): void {
    if (v !== null) this.n += w;
  }
  save(): Value {
    return this.n;
  }
  load(s: Value): void {
    this.n = s as number;
  }
  result(): Value {
    return BigInt(this.n);
  }
}

/**
 * Exact integer sum: a number while safe, a bigint beyond. As SUM's accumulator (`kind` set) its result has the
 * argument's type, and a total outside that type's range is a run-time error (Feldera), however the total was
 * reached (intermediate totals may leave the range: only the result is checked).
 */
class IntSum implements Accumulator {
  small = 0;
  big = 0n;
  n = 0;
  readonly asDecimal: boolean;
  readonly kind: TypeKind | null;
  constructor(asDecimal: boolean, kind: TypeKind | null = null) {
    this.asDecimal = asDecimal;
    this.kind = kind;
  }
  add(v: Value, w: number): void {
    if (v === null) return;
    this.n += w;
    if (typeof v === 'number') {
      const s = this.small + v * w;
      if (Number.isSafeInteger(s)) this.small = s;
      else {
        this.big += BigInt(this.small) + BigInt(v) * BigInt(w);
        this.small = 0;
      }
    } else this.big += (v as bigint) * BigInt(w);
  }
  total(): bigint {
    return this.big + BigInt(this.small);
  }
  /** `"n:total"`: the total is exact, so how it is split between `small` and `big` does not matter. */
  save(): Value {
    return `${this.n}:${this.total()}`;
  }
  load(s: Value): void {
    const [n, t] = (s as string).split(':') as [string, string];
    this.n = Number(n);
    const total = BigInt(t);
    const small = Number(total);
    if (Number.isSafeInteger(small)) {
      this.small = small;
      this.big = 0n;
    } else {
      this.small = 0;
      this.big = total;
    }
  }
  result(): Value {
    if (this.n === 0) return null;
    const t = this.total();
    if (this.kind !== null) return sumResult(this.kind, t);
    return this.asDecimal ? Decimal.fromBigInt(t) : checkBigInt(t);
  }
}

/** A SUM total as a value of the argument's integer type. @throws SqlRuntimeError when it does not fit. */
function sumResult(kind: TypeKind, t: bigint): Value {
  const fail = () =>
    new ServiceError(
      'SqlRuntimeError',
      `SUM overflows ${typeToSql(sqlType(kind, true)).replace(/ NULL$/, '')}: the total ${t} is out of its range; cast the argument to a wider type (e.g. SUM(CAST(x AS BIGINT)) or DECIMAL)`,
      { total: String(t) },
    );
  if (kind === 'BIGINT') {
    if (t < BIGINT_MIN || t > BIGINT_MAX) throw fail();
    return t;
  }
  if (kind === 'UBIGINT') {
    if (t < 0n || t > UBIGINT_MAX) throw fail();
    return t;
  }
  const [lo, hi] = INT_RANGES[kind as NumberIntKind];
  if (t < BigInt(lo) || t > BigInt(hi)) throw fail();
  return Number(t);
}

/**
 * Exact DECIMAL sum. Postgres gives the sum the largest display scale among the *current* inputs, so the
 * multiset of input scales is kept: after deleting the only value with 20 decimals, the sum shows fewer again.
 */
class DecimalSum implements Accumulator {
  sum = Decimal.ZERO;
  n = 0;
  readonly scales = new Map<number, number>();
  add(v: Value, w: number): void {
    if (v === null) return;
    this.n += w;
    const d = v as Decimal;
    const c = (this.scales.get(d.scale) ?? 0) + w;
    if (c === 0) this.scales.delete(d.scale);
    else this.scales.set(d.scale, c);
    this.sum = this.sum.add(w === 1 ? d : w === -1 ? d.neg() : d.mul(Decimal.fromInt(w)));
  }
  /** `"n|unscaled|scale|s1:c1,s2:c2"`: the sum exactly, and the multiset of input scales. */
  save(): Value {
    const sc = [...this.scales].map(([k, c]) => `${k}:${c}`).join(',');
    return `${this.n}|${this.sum.unscaled}|${this.sum.scale}|${sc}`;
  }
  load(s: Value): void {
    const [n, u, scale, sc] = (s as string).split('|') as [string, string, string, string];
    this.n = Number(n);
    this.sum = new Decimal(BigInt(u), Number(scale));
    this.scales.clear();
    if (sc !== '')
      for (const e of sc.split(',')) {
        const [k, c] = e.split(':') as [string, string];
        this.scales.set(Number(k), Number(c));
      }
  }
  /** The sum at the display scale Postgres would give it. */
  value(): Decimal {
    let scale = 0;
    for (const [sc, c] of this.scales) if (c > 0 && sc > scale) scale = sc;
    return this.sum.scale === scale ? this.sum : this.sum.round(scale);
  }
  result(): Value {
    return this.n === 0 ? null : this.value();
  }
}

/**
 * Exact floating-point sum (Shewchuk's non-overlapping partials, as in Python's fsum): the partials hold the
 * exact sum of everything added, so the result is the correctly rounded total whatever the order of additions
 * and deletions — a restored accumulator gives bit-identical results to one that never stopped.
 */
class FloatSum implements Accumulator {
  readonly partials: number[] = [];
  n = 0;
  special = 0; // non-finite inputs are summed naively (NaN/Infinity are absorbing anyway)
  specialCount = 0;
  readonly real: boolean;
  constructor(real: boolean) {
    this.real = real;
  }
  #addExact(x: number): void {
    const ps = this.partials;
    let i = 0;
    for (let j = 0; j < ps.length; j++) {
      let y = ps[j] as number;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) ps[i++] = lo;
      x = hi;
    }
    ps.length = i;
    if (x !== 0) ps.push(x);
  }
  add(v: Value, w: number): void {
    if (v === null) return;
    this.n += w;
    const x = v as number;
    if (!Number.isFinite(x)) {
      this.specialCount += w;
      this.special += x * w;
      return;
    }
    if (w === 1 || w === -1) {
      this.#addExact(w * x);
      return;
    }
    // x·w exactly as hi + lo (Dekker's two-product with Veltkamp splitting).
    const hi = x * w;
    const split = (a: number): [number, number] => {
      const c = 134217729 * a;
      const ah = c - (c - a);
      return [ah, a - ah];
    };
    const [xh, xl] = split(x);
    const [wh, wl] = split(w);
    const lo = xh * wh - hi + xh * wl + xl * wh + xl * wl;
    this.#addExact(hi);
    if (lo !== 0) this.#addExact(lo);
  }
  /**
   * `"n|specialCount|special|p1,p2,..."`: the partials themselves (JS prints a double so that it reads back
   * bit for bit), so a loaded accumulator goes on exactly as the saved one would have.
   */
  save(): Value {
    return `${this.n}|${this.specialCount}|${this.special}|${this.partials.join(',')}`;
  }
  load(s: Value): void {
    const [n, sc, sp, ps] = (s as string).split('|') as [string, string, string, string];
    this.n = Number(n);
    this.specialCount = Number(sc);
    this.special = Number(sp);
    this.partials.length = 0;
    if (ps !== '') for (const x of ps.split(',')) this.partials.push(Number(x));
  }
  /** The correctly rounded sum of the partials. */
  get sum(): number {
    if (this.specialCount !== 0) return this.special;
    const ps = this.partials;
    let k = ps.length - 1;
    if (k < 0) return 0;
    let hi = ps[k] as number;
    let lo = 0;
    while (k > 0) {
      const x = hi;
      const y = ps[--k] as number;
      hi = x + y;
      const yr = hi - x;
      lo = y - yr;
      if (lo !== 0) break;
    }
    if (k > 0 && ((lo < 0 && (ps[k - 1] as number) < 0) || (lo > 0 && (ps[k - 1] as number) > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
  result(): Value {
    if (this.n === 0) return null;
    return this.real ? Math.fround(this.sum) : this.sum;
  }
}

/**
 * AVG in the argument's type (Feldera): integers divide truncating toward zero, DECIMAL(p, s) is truncated to
 * scale s, REAL is rounded to single precision; an unconstrained DECIMAL keeps Postgres's division scale.
 */
class Avg implements Accumulator {
  readonly inner: IntSum | DecimalSum | FloatSum;
  readonly type: SqlType;
  constructor(inner: IntSum | DecimalSum | FloatSum, type: SqlType) {
    this.inner = inner;
    this.type = type;
  }
  add(v: Value, w: number): void {
    this.inner.add(v, w);
  }
  save(): Value {
    return this.inner.save();
  }
  load(s: Value): void {
    this.inner.load(s);
  }
  result(): Value {
    const n = this.inner.n;
    if (n === 0) return null;
    const k = this.type.kind;
    if (k === 'REAL') return Math.fround((this.inner as FloatSum).sum / n);
    if (k === 'DOUBLE') return (this.inner as FloatSum).sum / n;
    if (k === 'DECIMAL') {
      const q = (this.inner as DecimalSum).value().div(Decimal.fromInt(n));
      return this.type.scale == null ? q : q.trunc(this.type.scale);
    }
    const q = (this.inner as IntSum).total() / BigInt(n);
    return k === 'BIGINT' || k === 'UBIGINT' ? q : Number(q);
  }
}

/** Distinct values up to which MIN/MAX keep the flat sorted form (see {@link Extreme}). */
const FLAT_MAX = 32;

/**
 * MIN or MAX over a multiset of values. Small (at most {@link FLAT_MAX} distinct values, the common group): one
 * flat array of the distinct values in ascending order, each followed by its count (`[v0, n0, v1, n1, ...]`,
 * sized exactly: about 16 bytes per distinct value, against the ~90 of a map entry, a heap slot and a count
 * object); a change is a binary search plus a copy of at most 64 slots, the result the first or last value.
 * Values that compare equal but differ (a DECIMAL 1.0 and 1.00) are ordered by their encoding, so the result does
 * not depend on arrival order. Large: a count per distinct value, and a binary heap of the distinct values, best
 * first (lowest for MIN, highest for MAX). A value whose count reaches 0 leaves the map at once and the heap
 * lazily (when it surfaces at the top, or when stale entries outnumber live ones and the heap is rebuilt), so a
 * change is O(log n) and a result O(1) amortized — a sorted array's splice made a large group (a window of
 * every bid) quadratic. A group moves to the large form when its distinct values pass {@link FLAT_MAX}, and back
 * when they fall to a quarter of it.
 */
class Extreme implements Accumulator {
  /** Small form: distinct values ascending, each followed by its count; null in the large form. */
  flat: Value[] | null = EMPTY_FLAT;
  /** Large form: count per distinct value (key: the value, or an object value's encoding). */
  counts: Map<unknown, { v: Value; n: number }> | null = null;
  heap: Value[] | null = null;
  readonly cmp: (a: Value, b: Value) => number;
  readonly max: boolean;
  constructor(cmp: (a: Value, b: Value) => number, max: boolean) {
    this.cmp = cmp;
    this.max = max;
  }
  #key(v: Value): unknown {
    return typeof v === 'object' && v !== null ? encodeValue(v) : v;
  }
  /** The flat form's order: the comparator, then (for values it ties) the key. */
  #order(a: Value, b: Value): number {
    const c = this.cmp(a, b);
    if (c !== 0) return c;
    const x = this.#key(a) as string | number;
    const y = this.#key(b) as string | number;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  /** Whether `a` belongs above `b` in the heap. */
  #above(a: Value, b: Value): boolean {
    const c = this.cmp(a, b);
    return this.max ? c > 0 : c < 0;
  }
  #up(i: number): void {
    const h = this.heap as Value[];
    const v = h[i] as Value;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#above(v, h[p] as Value)) break;
      h[i] = h[p] as Value;
      i = p;
    }
    h[i] = v;
  }
  #down(i: number): void {
    const h = this.heap as Value[];
    const n = h.length;
    const v = h[i] as Value;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.#above(h[c + 1] as Value, h[c] as Value)) c++;
      if (!this.#above(h[c] as Value, v)) break;
      h[i] = h[c] as Value;
      i = c;
    }
    h[i] = v;
  }
  #popTop(): void {
    const h = this.heap as Value[];
    const last = h.pop() as Value;
    if (h.length > 0) {
      h[0] = last;
      this.#down(0);
    }
  }
  #heapify(): void {
    const h = this.heap as Value[];
    for (let i = (h.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }
  add(v: Value, w: number): void {
    if (v === null || w === 0) return;
    const f = this.flat;
    if (f !== null) {
      this.#addFlat(f, v, w);
      return;
    }
    const counts = this.counts as Map<unknown, { v: Value; n: number }>;
    const heap = this.heap as Value[];
    const k = this.#key(v);
    const e = counts.get(k);
    if (e === undefined) {
      counts.set(k, { v, n: w });
      heap.push(v);
      this.#up(heap.length - 1);
      return;
    }
    e.n += w;
    if (e.n !== 0) return;
    counts.delete(k);
    if (counts.size <= FLAT_MAX >> 2) {
      // small again: back to the flat form
      const live = [...counts.values()].sort((a, b) => this.#order(a.v, b.v));
      const out: Value[] = new Array(2 * live.length);
      for (let i = 0; i < live.length; i++) {
        out[2 * i] = (live[i] as { v: Value }).v;
        out[2 * i + 1] = (live[i] as { n: number }).n;
      }
      this.flat = out;
      this.counts = null;
      this.heap = null;
    } else if (heap.length > 2 * counts.size + 32) {
      // stale entries outnumber live ones: rebuild from the live values (amortized against the removals)
      heap.length = 0;
      for (const x of counts.values()) heap.push(x.v);
      this.#heapify();
    }
  }
  #addFlat(f: Value[], v: Value, w: number): void {
    const n = f.length >> 1;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#order(f[2 * mid] as Value, v) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && this.#order(f[2 * lo] as Value, v) === 0) {
      const c = (f[2 * lo + 1] as number) + w;
      if (c !== 0) {
        f[2 * lo + 1] = c;
        return;
      }
      // the value leaves: a copy without its two slots
      const out: Value[] = new Array(f.length - 2);
      for (let i = 0; i < 2 * lo; i++) out[i] = f[i] as Value;
      for (let i = 2 * lo + 2; i < f.length; i++) out[i - 2] = f[i] as Value;
      this.flat = out.length === 0 ? EMPTY_FLAT : out;
      return;
    }
    if (n >= FLAT_MAX) {
      // too many distinct values for the flat form: the map and the heap
      const counts = new Map<unknown, { v: Value; n: number }>();
      const heap: Value[] = [];
      for (let i = 0; i < n; i++) {
        const x = f[2 * i] as Value;
        counts.set(this.#key(x), { v: x, n: f[2 * i + 1] as number });
        heap.push(x);
      }
      this.flat = null;
      this.counts = counts;
      this.heap = heap;
      this.#heapify();
      this.add(v, w);
      return;
    }
    const out: Value[] = new Array(f.length + 2);
    for (let i = 0; i < 2 * lo; i++) out[i] = f[i] as Value;
    out[2 * lo] = v;
    out[2 * lo + 1] = w;
    for (let i = 2 * lo; i < f.length; i++) out[i + 2] = f[i] as Value;
    this.flat = out;
  }
  result(): Value {
    const f = this.flat;
    // every value held has a non-zero count (as in the large form)
    if (f !== null) return f.length === 0 ? null : (f[this.max ? f.length - 2 : 0] as Value);
    const counts = this.counts as Map<unknown, { v: Value; n: number }>;
    const heap = this.heap as Value[];
    while (heap.length > 0) {
      const e = counts.get(this.#key(heap[0] as Value));
      if (e !== undefined) return e.v;
      this.#popTop();
    }
    return null;
  }
}

/** The flat form of an empty MIN/MAX (shared: a change replaces the array, never writes into it). */
const EMPTY_FLAT: Value[] = [];

/** Feeds the inner accumulator each distinct non-NULL value once (for COUNT(DISTINCT x) etc.). */
class Distinct implements Accumulator {
  readonly counts = new Map<unknown, number>();
  readonly inner: Accumulator;
  constructor(inner: Accumulator) {
    this.inner = inner;
  }
  add(v: Value, w: number): void {
    if (v === null) return;
    const k = typeof v === 'object' ? encodeValue(v) : v;
    const before = this.counts.get(k) ?? 0;
    const after = before + w;
    if (after === 0) this.counts.delete(k);
    else this.counts.set(k, after);
    if (before <= 0 && after > 0) this.inner.add(v, 1);
    else if (before > 0 && after <= 0) this.inner.add(v, -1);
  }
  result(): Value {
    return this.inner.result();
  }
}

/** The `(compared, value)` pair ARG_MIN/ARG_MAX order by: by `k`, then by `v` with NULL lowest. */
class ArgPair implements ObjectValue {
  readonly k: Value;
  readonly v: Value;
  constructor(k: Value, v: Value) {
    this.k = k;
    this.v = v;
  }
  hashKey(): string {
    return encodeValue(this.k) + encodeValue(this.v);
  }
}

export { AGGREGATE_ALIASES, type AggregateName };

class ArgExtreme implements Accumulator {
  readonly inner: Extreme;
  constructor(cmpK: (a: Value, b: Value) => number, cmpV: (a: Value, b: Value) => number, max: boolean) {
    // a NULL `k` ranks below every other for ARG_MAX and above for ARG_MIN: it wins only when all are NULL
    const nullK = max ? -1 : 1;
    const cmp = (a: Value, b: Value): number => {
      const x = a as ArgPair;
      const y = b as ArgPair;
      if (x.k === null || y.k === null) {
        if (x.k !== null) return -nullK;
        if (y.k !== null) return nullK;
      } else {
        const c = cmpK(x.k, y.k);
        if (c !== 0) return c;
      }
      if (x.v === null) return y.v === null ? 0 : -1;
      if (y.v === null) return 1;
      return cmpV(x.v, y.v);
    };
    this.inner = new Extreme(cmp, max);
  }
  add(v: Value, w: number): void {
    this.inner.add(v, w);
  }
  result(): Value {
    const p = this.inner.result() as ArgPair | null;
    return p === null ? null : p.v;
  }
}

class BoolAgg implements Accumulator {
  trues = 0;
  falses = 0;
  readonly and: boolean;
  constructor(and: boolean) {
    this.and = and;
  }
  add(v: Value, w: number): void {
    if (v === true) this.trues += w;
    else if (v === false) this.falses += w;
  }
  save(): Value {
    return `${this.trues}:${this.falses}`;
  }
  load(s: Value): void {
    const [t, f] = (s as string).split(':') as [string, string];
    this.trues = Number(t);
    this.falses = Number(f);
  }
  result(): Value {
    if (this.trues === 0 && this.falses === 0) return null;
    return this.and ? this.falses === 0 : this.trues > 0;
  }
}

class CountIf implements Accumulator {
  n = 0;
  add(v: Value, w: number): void {
    if (v === true) this.n += w;
  }
  save(): Value {
    return this.n;
  }
  load(s: Value): void {
    this.n = s as number;
  }
  result(): Value {
    return BigInt(this.n);
  }
}

/** Width in bits of each integer kind's two's-complement representation. */
const BITS: Partial<Record<string, number>> = {
  TINYINT: 8,
  SMALLINT: 16,
  INTEGER: 32,
  BIGINT: 64,
  UTINYINT: 8,
  USMALLINT: 16,
  UINTEGER: 32,
  UBIGINT: 64,
};

class BitAgg implements Accumulator {
  readonly counts: number[];
  n = 0;
  readonly op: 'and' | 'or' | 'xor';
  readonly kind: string;
  constructor(op: 'and' | 'or' | 'xor', kind: string) {
    this.op = op;
    this.kind = kind;
    this.counts = new Array(BITS[kind] ?? 64).fill(0);
  }
  add(v: Value, w: number): void {
    if (v === null) return;
    this.n += w;
    const cs = this.counts;
    if (typeof v === 'number' && cs.length <= 32) {
      for (let b = 0; b < cs.length; b++) if ((v >>> b) & 1) cs[b] = (cs[b] as number) + w;
      return;
    }
    let u = BigInt.asUintN(cs.length, BigInt(v as number | bigint));
    for (let b = 0; u !== 0n; b++, u >>= 1n) if (u & 1n) cs[b] = (cs[b] as number) + w;
  }
  result(): Value {
    if (this.n === 0) return null;
    let r = 0n;
    const cs = this.counts;
    for (let b = cs.length - 1; b >= 0; b--) {
      const c = cs[b] as number;
      const set = this.op === 'and' ? c === this.n : this.op === 'or' ? c > 0 : c % 2 !== 0;
      r = (r << 1n) | (set ? 1n : 0n);
    }
    const v = this.kind.startsWith('U') ? r : BigInt.asIntN(cs.length, r);
    return this.kind === 'BIGINT' || this.kind === 'UBIGINT' ? v : Number(v);
  }
}

/** Integer square root (floor) of a non-negative bigint. */
function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

/**
 * Variance and standard deviation from count, Σx and Σx² (all invertible). Exact kinds compute the variance as
 * the exact fraction (nΣx² − (Σx)²) / (n·d), d = n or n − 1, and truncate the result to the argument's scale.
 */
class Variance implements Accumulator {
  n = 0;
  readonly exact: boolean;
  readonly sum: IntSum | DecimalSum | FloatSum;
  readonly sq: IntSum | DecimalSum | FloatSum;
  readonly samp: boolean;
  readonly sqrt: boolean;
  readonly type: SqlType;
  constructor(type: SqlType, samp: boolean, sqrt: boolean) {
    this.type = type;
    this.samp = samp;
    this.sqrt = sqrt;
    const k = type.kind;
    if (k === 'REAL' || k === 'DOUBLE') {
      this.exact = false;
      this.sum = new FloatSum(false);
      this.sq = new FloatSum(false);
    } else if (k === 'DECIMAL') {
      this.exact = true;
      this.sum = new DecimalSum();
      this.sq = new DecimalSum();
    } else {
      this.exact = true;
      this.sum = new IntSum(true);
      this.sq = new IntSum(true);
    }
  }
  add(v: Value, w: number): void {
    if (v === null) return;
    this.n += w;
    this.sum.add(v, w);
    if (typeof v === 'number') {
      if (this.exact) {
        const b = BigInt(v);
        this.sq.add(b * b, w);
      } else this.sq.add(v * v, w);
    } else if (typeof v === 'bigint') this.sq.add(v * v, w);
    else this.sq.add((v as Decimal).mul(v as Decimal), w);
  }
  save(): Value {
    return `${this.n}#${this.sum.save()}#${this.sq.save()}`;
  }
  load(s: Value): void {
    const [n, sum, sq] = (s as string).split('#') as [string, string, string];
    this.n = Number(n);
    this.sum.load(sum);
    this.sq.load(sq);
  }

  result(): Value {
    const n = this.n;
    const d = this.samp ? n - 1 : n;
    if (n <= 0 || d <= 0) return null;
    if (!this.exact) {
      const s = (this.sum as FloatSum).sum;
      const q = (this.sq as FloatSum).sum;
      let r = Math.max(0, (q - (s * s) / n) / d);
      if (this.sqrt) r = Math.sqrt(r);
      return this.type.kind === 'REAL' ? Math.fround(r) : r;
    }
    // numerator and the common scale: sums as unscaled integers at scale `sc` (Σx) and `2·sc` (Σx²)
    let sx: bigint;
    let sxx: bigint;
    let sc = 0;
    if (this.type.kind === 'DECIMAL') {
      const a = (this.sum as DecimalSum).sum;
      const b = (this.sq as DecimalSum).sum;
      sc = Math.max(a.scale, Math.ceil(b.scale / 2));
      sx = a.unscaled * 10n ** BigInt(sc - a.scale);
      sxx = b.unscaled * 10n ** BigInt(2 * sc - b.scale);
    } else {
      // Feldera's integer formula: each division truncates
      sx = (this.sum as IntSum).total();
      sxx = (this.sq as IntSum).total();
      const v = (sxx - (sx * sx) / BigInt(n)) / BigInt(d);
      const r = this.sqrt ? isqrt(v) : v;
      const k = this.type.kind;
      if (k === 'BIGINT') return checkBigInt(r);
      if (k === 'UBIGINT') return checkUBigInt(r);
      return checkInt(k as NumberIntKind, Number(r));
    }
    const num = BigInt(n) * sxx - sx * sx; // variance = num / (n·d) / 10^(2·sc)
    const den = BigInt(n) * BigInt(d);
    const out = this.type.kind === 'DECIMAL' ? (this.type.scale ?? 0) : 0;
    let unscaled: bigint; // result · 10^out, truncated
    if (this.sqrt) {
      // sqrt(num / den / 10^(2sc)) · 10^out = sqrt(num · 10^(2out) / (den · 10^(2sc)))
      unscaled = isqrt((num * 10n ** BigInt(2 * out)) / (den * 10n ** BigInt(2 * sc)));
    } else unscaled = (num * 10n ** BigInt(out)) / (den * 10n ** BigInt(2 * sc));
    const r = new Decimal(unscaled, out);
    const p = this.type.precision;
    return p == null ? r : r.withTypmod(p, out);
  }
}

/**
 * ARRAY_AGG: the multiset of its input rows' values, as an array in a deterministic order that does not depend
 * on arrival: the `ORDER BY` keys first (Postgres's NULL placement), then the aggregate's input columns up to
 * its own (group keys excluded; NULL first, as Feldera orders rows), then the value. With DISTINCT: the
 * distinct values (NULL included) sorted, NULL first, as Feldera returns them. A group none of whose rows
 * reaches the aggregate (FILTER) gives an empty array. Each change costs O(1); the
 * result is rebuilt (sorted) for a changed group only.
 */
class ArrayAggItem implements ObjectValue {
  readonly key: readonly Value[];
  readonly v: Value;
  constructor(key: readonly Value[], v: Value) {
    this.key = key;
    this.v = v;
  }
  hashKey(): string {
    let out = '';
    for (const k of this.key) out += encodeValue(k);
    return out + encodeValue(this.v);
  }
}

const nullFirst = (a: Value, b: Value): number =>
  a === null ? (b === null ? 0 : -1) : b === null ? 1 : compareAny(a, b);

class ArrayAgg implements Accumulator {
  readonly items = new Map<string, { item: ArrayAggItem; n: number }>();
  readonly order: readonly { desc: boolean; nullsFirst: boolean }[];
  constructor(order: readonly { desc: boolean; nullsFirst: boolean }[]) {
    this.order = order;
  }
  add(v: Value, w: number): void {
    const item = v as ArrayAggItem;
    const k = item.hashKey();
    const e = this.items.get(k);
    if (e === undefined) this.items.set(k, { item, n: w });
    else if ((e.n += w) === 0) this.items.delete(k);
  }
  result(): Value {
    if (this.items.size === 0) return new SqlArray([]); // Feldera: a group whose rows are all filtered out
    const order = this.order;
    const cmp = (x: ArrayAggItem, y: ArrayAggItem): number => {
      for (let i = 0; i < x.key.length; i++) {
        const a = x.key[i] as Value;
        const b = y.key[i] as Value;
        const o = order[i];
        let c: number;
        if (o === undefined) c = nullFirst(a, b);
        else if (a === null || b === null) c = a === b ? 0 : (a === null) === o.nullsFirst ? -1 : 1;
        else c = o.desc ? -compareAny(a, b) : compareAny(a, b);
        if (c !== 0) return c;
      }
      return nullFirst(x.v, y.v);
    };
    const sorted = [...this.items.values()].sort((p, q) => cmp(p.item, q.item));
    const out: Value[] = [];
    for (const { item, n } of sorted) for (let i = 0; i < n; i++) out.push(item.v);
    return new SqlArray(out);
  }
}

class ArrayAggDistinct implements Accumulator {
  readonly counts = new Map<string, { v: Value; n: number }>();
  add(v: Value, w: number): void {
    const k = encodeValue(v);
    const e = this.counts.get(k);
    if (e === undefined) this.counts.set(k, { v, n: w });
    else if ((e.n += w) === 0) this.counts.delete(k);
  }
  result(): Value {
    if (this.counts.size === 0) return new SqlArray([]);
    return new SqlArray([...this.counts.values()].map((e) => e.v).sort(nullFirst));
  }
}

/**
 * `$map(k, v)`, Feldera's MAP aggregate (`MAP(SELECT k, v ...)`, see `collection-subqueries.ts`): per key the
 * multiset of its values; the result maps each key to its largest value (NULL the smallest), keys sorted as
 * SqlMap keeps them. Deleting a row removes its value, so a key whose rows are all gone leaves the map and a
 * key's deleted largest value gives way to the next. Each change costs O(1); the map is rebuilt for a changed
 * group only. Fed `ArgPair(k = v, v = k)` (the pair's `k` is the second argument).
 */
class MapAgg implements Accumulator {
  readonly keys = new Map<string, { key: Value; values: Map<string, { v: Value; n: number }> }>();
  add(x: Value, w: number): void {
    const p = x as ArgPair;
    const kk = encodeValue(p.v);
    let e = this.keys.get(kk);
    if (e === undefined) {
      e = { key: p.v, values: new Map() };
      this.keys.set(kk, e);
    }
    const vk = encodeValue(p.k);
    const c = e.values.get(vk);
    if (c === undefined) e.values.set(vk, { v: p.k, n: w });
    else if ((c.n += w) === 0) {
      e.values.delete(vk);
      if (e.values.size === 0) this.keys.delete(kk);
    }
  }
  result(): Value {
    const entries: Array<[Value, Value]> = [];
    for (const { key, values } of this.keys.values()) {
      let best: Value | undefined;
      for (const { v, n } of values.values())
        if (n > 0 && (best === undefined || nullFirst(v, best) > 0)) best = v;
      if (best !== undefined) entries.push([key, best]);
    }
    entries.sort((a, b) => nullFirst(a[0], b[0]));
    return new SqlMap(
      entries.map((e) => e[0]),
      entries.map((e) => e[1]),
    );
  }
}

/** The regression aggregates `f(y, x)` (and COVAR/CORR): two arguments, fed as one `(x, y)` pair. */
export const TWO_ARGUMENT_AGGREGATES: ReadonlySet<string> = new Set([
  'regr_count',
  'regr_sxx',
  'regr_syy',
  'regr_sxy',
  'regr_avgx',
  'regr_avgy',
  'regr_slope',
  'regr_intercept',
  'regr_r2',
  'covar_pop',
  'covar_samp',
  'corr',
]);

/** A number as a double (for the regression aggregates). */
function toDouble(v: Value): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return (v as Decimal).toNumber();
}

/**
 * REGR_*, COVAR_POP/COVAR_SAMP and CORR over the pairs whose two values are both non-NULL, from exact sums of
 * x, y, x², y² and xy (correctly rounded, so deletions are exact); results are DOUBLE as in Postgres. With
 * Sxx = Σx² − (Σx)²/n (Syy, Sxy alike): REGR_SXX = Sxx, REGR_SLOPE = Sxy/Sxx, REGR_INTERCEPT = (Σy − slope·Σx)/n,
 * REGR_R2 = Sxy²/(Sxx·Syy) (1 when Syy = 0), COVAR_POP = Sxy/n, COVAR_SAMP = Sxy/(n − 1),
 * CORR = Sxy/√(Sxx·Syy); NULL where the formula has no value (no pairs, Sxx = 0, ...).
 */
class Regression implements Accumulator {
  n = 0;
  readonly sx = new FloatSum(false);
  readonly sy = new FloatSum(false);
  readonly sxx = new FloatSum(false);
  readonly syy = new FloatSum(false);
  readonly sxy = new FloatSum(false);
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  add(v: Value, w: number): void {
    const p = v as ArgPair;
    if (p === null || p.k === null || p.v === null) return;
    const x = toDouble(p.k);
    const y = toDouble(p.v);
    this.n += w;
    this.sx.add(x, w);
    this.sy.add(y, w);
    this.sxx.add(x * x, w);
    this.syy.add(y * y, w);
    this.sxy.add(x * y, w);
  }
  result(): Value {
    const n = this.n;
    if (this.name === 'regr_count') return BigInt(n);
    if (n === 0) return null;
    const sx = this.sx.sum;
    const sy = this.sy.sum;
    const sxx = Math.max(0, this.sxx.sum - (sx * sx) / n);
    const syy = Math.max(0, this.syy.sum - (sy * sy) / n);
    const sxy = this.sxy.sum - (sx * sy) / n;
    switch (this.name) {
      case 'regr_sxx':
        return sxx;
      case 'regr_syy':
        return syy;
      case 'regr_sxy':
        return sxy;
      case 'regr_avgx':
        return sx / n;
      case 'regr_avgy':
        return sy / n;
      case 'regr_slope':
        return sxx === 0 ? null : sxy / sxx;
      case 'regr_intercept':
        return sxx === 0 ? null : (sy - (sxy / sxx) * sx) / n;
      case 'regr_r2':
        if (sxx === 0) return null;
        return syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
      case 'covar_pop':
        return sxy / n;
      case 'covar_samp':
        return n < 2 ? null : sxy / (n - 1);
      case 'corr':
        return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy);
      default:
        return null;
    }
  }
}

export interface AggregateOptions {
  /** ARRAY_AGG: its ORDER BY keys (argument columns), and where the input's non-key columns start. */
  readonly order?: readonly {
    readonly column: number;
    readonly desc: boolean;
    readonly nullsFirst: boolean;
  }[];
  readonly rowStart?: number;
  /** For two-argument aggregates (ARG_MIN/ARG_MAX): the column and type of the second argument. */
  readonly second?: { readonly column: number; readonly type: SqlType };
  /** Column holding the `FILTER (WHERE ...)` condition. */
  readonly filter?: number;
}

/**
 * Builds the aggregate function for `name(arg)` (arg -1 = `*`) over an argument of type `argType`; the
 * result type is the planner's business (see `types-rules.ts`).
 */
export function makeAggregate(
  name: AggregateName,
  arg: number,
  argType: SqlType | null,
  distinct: boolean,
  opts: AggregateOptions = {},
): AggregateFunction {
  const t = argType as SqlType;
  const make = (): Accumulator => {
    switch (name) {
      case 'count':
        return arg < 0 ? new CountStar() : new Count();
      case 'sum':
      case 'avg': {
        const k = t.kind;
        let inner: IntSum | DecimalSum | FloatSum;
        if (k === 'REAL' || k === 'DOUBLE') inner = new FloatSum(k === 'REAL' && name === 'sum');
        else if (k === 'DECIMAL') inner = new DecimalSum();
        else inner = name === 'sum' ? new IntSum(false, k) : new IntSum(k === 'BIGINT' || k === 'UBIGINT');
        return name === 'sum' ? inner : new Avg(inner, t);
      }
      case 'min':
      case 'max':
        return new Extreme(comparator(t.kind), name === 'max');
      case 'arg_min':
      case 'arg_max':
        return new ArgExtreme(
          comparator((opts.second as { type: SqlType }).type.kind),
          comparator(t.kind),
          name === 'arg_max',
        );
      case 'bool_and':
      case 'bool_or':
        return new BoolAgg(name === 'bool_and');
      case 'countif':
        return new CountIf();
      case 'bit_and':
      case 'bit_or':
      case 'bit_xor':
        return new BitAgg(name.slice(4) as 'and' | 'or' | 'xor', t.kind);
      case 'stddev_pop':
      case 'stddev_samp':
      case 'var_pop':
      case 'var_samp':
        return new Variance(t, name.endsWith('samp'), name.startsWith('stddev'));
      case 'array_agg':
        return distinct ? new ArrayAggDistinct() : new ArrayAgg(opts.order ?? []);
      case '$map':
        return new MapAgg();
      default:
        if (TWO_ARGUMENT_AGGREGATES.has(name)) return new Regression(name);
        throw new Error(`aggregate ${name} has no implementation`);
    }
  };
  if (name === 'array_agg') {
    const order = opts.order ?? [];
    const start = opts.rowStart ?? 0;
    const last = Math.max(arg, ...order.map((o) => o.column));
    // every column the sort key reads is an argument column, so a restored group sorts alike
    const columns = Array.from({ length: last - start + 1 }, (_, i) => start + i);
    return {
      arg,
      create: make,
      ...(opts.filter !== undefined ? { filter: opts.filter } : {}),
      ...(distinct
        ? {}
        : {
            extra: {
              columns,
              combine: (row: Row) =>
                new ArrayAggItem(
                  [...order.map((o) => row[o.column] as Value), ...row.slice(start, arg + 1)],
                  row[arg] as Value,
                ),
            },
          }),
    };
  }
  const second = opts.second;
  const fn: AggregateFunction = {
    arg,
    create: distinct && arg >= 0 ? () => new Distinct(make()) : make,
    ...(opts.filter !== undefined ? { filter: opts.filter } : {}),
    ...(second
      ? {
          extra: {
            columns: [second.column],
            combine: (row: Row) => new ArgPair(row[second.column] as Value, row[arg] as Value),
          },
        }
      : {}),
  };
  return fn;
}
