/**
 * SQL aggregate functions as incremental accumulators: each handles `(value, weight)` with negative weights,
 * so deletions are exact. NULL arguments are ignored (except by COUNT(*)). SUM over an empty (or all-NULL)
 * group is NULL; COUNT is 0. Integer sums are exact (a JS number while it is a safe integer, a bigint beyond).
 * MIN/MAX keep the multiset of values (sorted distinct values with counts) so deleting the current extreme
 * finds the next one. `distinct` wraps any function so it sees each distinct non-NULL value once.
 */
import type { Accumulator, AggregateFunction } from '../operators/aggregate.ts';
import { encodeValue, type Value } from '../zset/value.ts';
import { type AggregateName, comparator } from './expr.ts';
import type { SqlType } from './sql-type.ts';
import { Decimal } from './values/decimal.ts';
import { checkBigInt } from './values/integers.ts';

class CountStar implements Accumulator {
  n = 0;
  add(_v: Value, w: number): void {
    this.n += w;
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
  result(): Value {
    return BigInt(this.n);
  }
}

/** Exact integer sum: a number while safe, a bigint beyond. */
class IntSum implements Accumulator {
  small = 0;
  big = 0n;
  n = 0;
  readonly asDecimal: boolean;
  constructor(asDecimal: boolean) {
    this.asDecimal = asDecimal;
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
  result(): Value {
    if (this.n === 0) return null;
    const t = this.total();
    return this.asDecimal ? Decimal.fromBigInt(t) : checkBigInt(t);
  }
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

class Avg implements Accumulator {
  readonly inner: IntSum | DecimalSum | FloatSum;
  readonly kind: 'int' | 'decimal' | 'float';
  constructor(inner: IntSum | DecimalSum | FloatSum, kind: 'int' | 'decimal' | 'float') {
    this.inner = inner;
    this.kind = kind;
  }
  add(v: Value, w: number): void {
    this.inner.add(v, w);
  }
  result(): Value {
    const n = this.inner.n;
    if (n === 0) return null;
    if (this.kind === 'float') return (this.inner as FloatSum).sum / n;
    const sum =
      this.kind === 'int'
        ? Decimal.fromBigInt((this.inner as IntSum).total())
        : (this.inner as DecimalSum).value();
    return sum.div(Decimal.fromInt(n));
  }
}

/** MIN or MAX over a multiset of values: sorted distinct values plus a count per value. */
class Extreme implements Accumulator {
  readonly counts = new Map<unknown, { v: Value; n: number }>();
  readonly sorted: Value[] = [];
  readonly cmp: (a: Value, b: Value) => number;
  readonly max: boolean;
  constructor(cmp: (a: Value, b: Value) => number, max: boolean) {
    this.cmp = cmp;
    this.max = max;
  }
  #key(v: Value): unknown {
    return typeof v === 'object' && v !== null ? encodeValue(v) : v;
  }
  #find(v: Value): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cmp(this.sorted[mid] as Value, v) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  add(v: Value, w: number): void {
    if (v === null) return;
    const k = this.#key(v);
    const e = this.counts.get(k);
    if (e === undefined) {
      this.counts.set(k, { v, n: w });
      this.sorted.splice(this.#find(v), 0, v);
      return;
    }
    e.n += w;
    if (e.n === 0) {
      this.counts.delete(k);
      const i = this.#find(e.v);
      this.sorted.splice(i, 1);
    }
  }
  result(): Value {
    if (this.sorted.length === 0) return null;
    return (this.max ? this.sorted[this.sorted.length - 1] : this.sorted[0]) as Value;
  }
}

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

export type { AggregateName };

/** Builds the aggregate function for `name(arg)` (arg -1 = `*`) over an argument of type `argType`. */
export function makeAggregate(
  name: AggregateName,
  arg: number,
  argType: SqlType | null,
  distinct: boolean,
): AggregateFunction {
  const make = (): Accumulator => {
    switch (name) {
      case 'count':
        return arg < 0 ? new CountStar() : new Count();
      case 'sum':
      case 'avg': {
        const k = (argType as SqlType).kind;
        let inner: IntSum | DecimalSum | FloatSum;
        let kind: 'int' | 'decimal' | 'float';
        if (k === 'REAL' || k === 'DOUBLE') {
          inner = new FloatSum(k === 'REAL' && name === 'sum');
          kind = 'float';
        } else if (k === 'DECIMAL') {
          inner = new DecimalSum();
          kind = 'decimal';
        } else {
          inner = new IntSum(k === 'BIGINT');
          kind = 'int';
        }
        return name === 'sum' ? inner : new Avg(inner, kind);
      }
      case 'min':
      case 'max':
        return new Extreme(comparator((argType as SqlType).kind), name === 'max');
    }
  };
  return {
    arg,
    create: distinct && arg >= 0 ? () => new Distinct(make()) : make,
  };
}
