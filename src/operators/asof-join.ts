/**
 * asof-join: SQL's `l LEFT ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k`, incrementally.
 *
 * On `(row, weight)`: each left row `(l, a)` is paired with at most one right row: among the right rows with
 * the same non-NULL key, a positive weight and a non-NULL timestamp not above `l`'s, the one with the greatest
 * timestamp; rows tied on the timestamp are ordered by `tieBreak` and then by their canonical encoding, and
 * the greatest wins (Feldera: the largest value in the right side's order). The output holds
 * `(combine(l, r), a)` — the match is one row, whatever its multiplicity — or `(combine(l, NULLS), a)` when
 * there is none (a NULL key or timestamp on the left never matches). The output is linear in the left side
 * and not in the right.
 *
 * Incrementally, per key touched by a step: a left change is matched against the key's right rows
 * (linearity). Right changes of a key with timestamps in [tmin, tmax] can only
 * change the match of the key's left rows whose timestamp is in [tmin, tnext), tnext being the smallest
 * timestamp above tmax of a (positive) right row of the key, which the step does not change: a left row
 * below tmin matches below tmin, one at or above tnext matches at or above tnext. Only those left rows are
 * re-matched: their old matches are retracted, the changes are folded in, their new matches are emitted. So a
 * time series whose new right rows come at the end re-matches only the left rows after them, not the key's
 * whole history. Nothing but the two integrals is kept, so restore and warm apply only load rows (no derived
 * state to rebuild). Cost of a step: O(log n + log m) per change (n, m: the key's right and left rows) plus
 * O(log n) per re-matched left row, and the array splice of each change (O(1) when it lands at the end).
 *
 * State "left": the integral of the left rows with a non-NULL key (left rows with a NULL key are passed
 * through padded with NULLs and need none). State "right": the integral of the right rows with a non-NULL
 * key and a non-NULL timestamp (other right rows can never match).
 *
 * Bounded state (LATENESS, `gc`): right changes are at or above the right operand's waterline WR, so a stored
 * left row below WR (or with a NULL timestamp) is never re-matched: it leaves "left" (a later retraction of it is
 * matched against the right rows like any left change, linearity). With a waterline WL on the left operand too,
 * let W = min(WL, WR): per key, the last positive right row below W can neither change (it is below WR) nor be
 * beaten by a later row below the timestamps of later left rows (≥ WL) or of re-matched ones (≥ WR), so every
 * right row before it is no one's match again and leaves "right". Discards happen at the end of a step in which a
 * waterline rose and are logged like any change, so checkpoints, restore and warm apply agree.
 *
 * Invariant: a key's right rows are in ascending (timestamp, tieBreak, encoding) order, its left rows in
 * ascending (timestamp with NULL first, encoding) order; no entry of either side has weight 0; the net
 * output emitted for a key equals the match of its left integral against its right integral.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import type { Row, Value } from '../zset/value.ts';
import { type KeyFn, NULL_KEY } from './join.ts';
import { addSorted, type SortedEntry } from './sorted-multiset.ts';
import { StatefulBase } from './stateful-base.ts';

export interface AsofJoinSpec {
  /** Join keys (the ON equalities); `NULL_KEY` when a key column is NULL (such a row matches nothing). */
  readonly leftKey: KeyFn;
  readonly rightKey: KeyFn;
  /** The MATCH_CONDITION operands (`left >= right`); NULL never matches. */
  readonly leftTs: (l: Row) => Value;
  readonly rightTs: (r: Row) => Value;
  /** Orders two non-NULL timestamps (negative, zero, positive). */
  readonly compareTs: (a: Value, b: Value) => number;
  /** Orders two right rows with equal timestamps (the greatest is the match); the encoding breaks what it ties. */
  readonly tieBreak?: (a: Row, b: Row) => number;
  /** Builds the output row; called with a row of NULLs when a left row has no match. */
  readonly combine: (l: Row, r: Row) => Row;
  readonly rightWidth: number;
  /** LATENESS (planned by `sql/asof-plan.ts`): waterlines, in the MATCH_CONDITION's type (see the header). */
  readonly gc?: AsofGc;
}

/** What an asof join may discard, read at the end of each step (null while there is no waterline). */
export interface AsofGc {
  /** The right operand's waterline: left rows below it are discarded. */
  readonly left?: () => Value;
  /** The smaller of both operands' waterlines: per key, the right rows before the last one below it go. */
  readonly right?: () => Value;
}

export class AsofJoinOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'asof-join';
  readonly arity = 2;
  readonly #s: AsofJoinSpec;
  /** key → left rows in (timestamp with NULL first, encoding) order. */
  readonly #left = new Map<unknown, SortedEntry[]>();
  /** key → right rows in (timestamp, tieBreak, encoding) order. */
  readonly #right = new Map<unknown, SortedEntry[]>();
  readonly #order: (a: Row, b: Row) => number;
  readonly #leftOrder: (a: Row, b: Row) => number;
  readonly #nullRight: Row;

  constructor(spec: AsofJoinSpec) {
    super(['left', 'right']);
    this.#s = spec;
    const ts = spec.rightTs;
    const cmp = spec.compareTs;
    const tie = spec.tieBreak;
    this.#order =
      tie === undefined
        ? (a, b) => cmp(ts(a), ts(b))
        : (a, b) => {
            const c = cmp(ts(a), ts(b));
            return c !== 0 ? c : tie(a, b);
          };
    const lts = spec.leftTs;
    this.#leftOrder = (a, b) => {
      const x = lts(a);
      const y = lts(b);
      if (x === null || y === null) return x === y ? 0 : x === null ? -1 : 1;
      return cmp(x, y);
    };
    this.#nullRight = new Array(spec.rightWidth).fill(null);
  }

  /** Distinct rows held on both sides (for tests and state-size reports). */
  get entryCount(): number {
    let n = 0;
    for (const rows of this.#left.values()) n += rows.length;
    for (const rows of this.#right.values()) n += rows.length;
    return n;
  }

  /** Index of the first entry whose timestamp is at or above (`strict`: above) `t`; `ts` reads an entry's. */
  #search(rows: readonly SortedEntry[], ts: (r: Row) => Value, t: Value, strict: boolean): number {
    const cmp = this.#s.compareTs;
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const v = ts((rows[mid] as SortedEntry).row);
      const below = v === null || (strict ? cmp(v, t) <= 0 : cmp(v, t) < 0);
      if (below) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The key's left rows whose match the right changes with timestamps in [tmin, tmax] can change: those with
   * a timestamp in [tmin, tnext) (see the header). Read before the changes are folded in and after: tnext is
   * the same then, since no right row above tmax changes.
   */
  *#affected(k: unknown, tmin: Value, tmax: Value): Iterable<SortedEntry> {
    const left = this.#left.get(k);
    if (left === undefined) return;
    const rts = this.#s.rightTs;
    const right = this.#right.get(k);
    let next: Value = null;
    if (right !== undefined)
      for (let i = this.#search(right, rts, tmax, true); i < right.length; i++) {
        const e = right[i] as SortedEntry;
        if (e.weight > 0) {
          next = rts(e.row);
          break;
        }
      }
    const lts = this.#s.leftTs;
    const cmp = this.#s.compareTs;
    for (let i = this.#search(left, lts, tmin, false); i < left.length; i++) {
      const e = left[i] as SortedEntry;
      if (next !== null && cmp(lts(e.row), next) >= 0) break;
      yield e;
    }
  }

  /** The right row `l` matches under key `k`, or null. */
  #match(k: unknown, l: Row): Row | null {
    const t = this.#s.leftTs(l);
    if (t === null) return null;
    const rows = this.#right.get(k);
    if (rows === undefined) return null;
    for (let i = this.#search(rows, this.#s.rightTs, t, true) - 1; i >= 0; i--) {
      const e = rows[i] as SortedEntry;
      if (e.weight > 0) return e.row;
    }
    return null;
  }

  #emit(out: Batch, k: unknown, l: Row, w: number): void {
    push(out, this.#s.combine(l, this.#match(k, l) ?? this.#nullRight), w);
  }

  #addLeft(k: unknown, l: Row, w: number): void {
    let rows = this.#left.get(k);
    if (rows === undefined) {
      if (w === 0) return;
      rows = [];
      this.#left.set(k, rows);
    }
    addSorted(rows, l, w, this.#leftOrder);
    if (rows.length === 0) this.#left.delete(k);
  }

  #addRight(k: unknown, r: Row, w: number): void {
    let rows = this.#right.get(k);
    if (rows === undefined) {
      if (w === 0) return;
      rows = [];
      this.#right.set(k, rows);
    }
    addSorted(rows, r, w, this.#order);
    if (rows.length === 0) this.#right.delete(k);
  }

  step([dl, dr]: readonly Batch[]): Batch {
    const out = emptyBatch();
    const s = this.#s;
    const L = dl as Batch;
    const R = dr as Batch;
    const logL = this.logs.left!;
    const logR = this.logs.right!;

    // the right changes, by key, with their timestamp range (rows that can never match are dropped)
    const rightByKey = new Map<unknown, { rows: Array<[Row, number]>; min: Value; max: Value }>();
    const cmp = s.compareTs;
    for (let i = 0; i < R.rows.length; i++) {
      const r = R.rows[i] as Row;
      const w = R.weights[i] as number;
      if (w === 0) continue;
      const k = s.rightKey(r);
      const t = s.rightTs(r);
      if (k === NULL_KEY || t === null) continue;
      const c = rightByKey.get(k);
      if (c === undefined) rightByKey.set(k, { rows: [[r, w]], min: t, max: t });
      else {
        c.rows.push([r, w]);
        if (cmp(t, c.min) < 0) c.min = t;
        if (cmp(t, c.max) > 0) c.max = t;
      }
    }

    // retract the old output of the left rows whose match may change (before any change is folded in)
    for (const [k, c] of rightByKey)
      for (const e of this.#affected(k, c.min, c.max)) this.#emit(out, k, e.row, -e.weight);

    // left changes: those in a re-matched range only update the integral (re-emitted below); the others are
    // matched against the key's right rows, whose changes do not concern them
    for (let i = 0; i < L.rows.length; i++) {
      const l = L.rows[i] as Row;
      const w = L.weights[i] as number;
      if (w === 0) continue;
      const k = s.leftKey(l);
      if (k === NULL_KEY) {
        push(out, s.combine(l, this.#nullRight), w);
        continue;
      }
      logL.record(l, w);
      this.#addLeft(k, l, w);
      if (!this.#inRange(k, l, rightByKey.get(k))) this.#emit(out, k, l, w);
    }

    // fold the right changes in, then emit the new output of the re-matched left rows
    for (const [k, c] of rightByKey) {
      for (const [r, w] of c.rows) {
        logR.record(r, w);
        this.#addRight(k, r, w);
      }
      for (const e of this.#affected(k, c.min, c.max)) this.#emit(out, k, e.row, e.weight);
    }
    if (s.gc !== undefined) this.#collect(s.gc);
    return out;
  }

  /** The waterlines of the last discards (in memory only: repeating one is a no-op). */
  #leftAt: Value = null;
  #rightAt: Value = null;

  /** Discards what the waterlines make unreachable (see the header), logging it. */
  #collect(gc: AsofGc): void {
    const cmp = this.#s.compareTs;
    const rose = (w: Value, at: Value) => w !== null && (at === null || cmp(w, at) > 0);
    const wl = gc.left?.() ?? null;
    if (rose(wl, this.#leftAt)) {
      this.#leftAt = wl;
      const log = this.logs.left!;
      for (const [k, rows] of this.#left) {
        const n = this.#search(rows, this.#s.leftTs, wl, false);
        if (n === 0) continue;
        for (const e of rows.splice(0, n)) log.record(e.row, -e.weight);
        if (rows.length === 0) this.#left.delete(k);
      }
    }
    const wr = gc.right?.() ?? null;
    if (rose(wr, this.#rightAt)) {
      this.#rightAt = wr;
      const log = this.logs.right!;
      for (const rows of this.#right.values()) {
        let j = this.#search(rows, this.#s.rightTs, wr, false) - 1;
        while (j >= 0 && (rows[j] as SortedEntry).weight <= 0) j--;
        if (j <= 0) continue;
        for (const e of rows.splice(0, j)) log.record(e.row, -e.weight);
      }
    }
  }

  /** True when left row `l` is in the range `#affected` re-matches for the key's right changes `c`. */
  #inRange(k: unknown, l: Row, c: { min: Value; max: Value } | undefined): boolean {
    if (c === undefined) return false;
    const t = this.#s.leftTs(l);
    const cmp = this.#s.compareTs;
    if (t === null || cmp(t, c.min) < 0) return false;
    const right = this.#right.get(k);
    if (right === undefined) return true;
    const rts = this.#s.rightTs;
    for (let i = this.#search(right, rts, c.max, true); i < right.length; i++) {
      const e = right[i] as SortedEntry;
      if (e.weight > 0) return cmp(t, rts(e.row)) < 0;
    }
    return true;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    const left = emptyBatch();
    for (const rows of this.#left.values()) for (const e of rows) push(left, e.row, e.weight);
    const right = emptyBatch();
    for (const rows of this.#right.values()) for (const e of rows) push(right, e.row, e.weight);
    return { left, right };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#left.clear();
    this.#right.clear();
    this.apply(parts);
  }

  /** Adds the parts to the integrals (no derived state: the output is a function of the integrals). */
  apply(parts: Record<string, readonly Batch[]>): void {
    const s = this.#s;
    for (const b of StatefulBase.partsOf(parts, 'left'))
      for (let i = 0; i < b.rows.length; i++) {
        const l = b.rows[i] as Row;
        const k = s.leftKey(l);
        if (k !== NULL_KEY) this.#addLeft(k, l, b.weights[i] as number);
      }
    for (const b of StatefulBase.partsOf(parts, 'right'))
      for (let i = 0; i < b.rows.length; i++) {
        const r = b.rows[i] as Row;
        const k = s.rightKey(r);
        if (k !== NULL_KEY && s.rightTs(r) !== null) this.#addRight(k, r, b.weights[i] as number);
      }
  }
}

export const asofJoin = (spec: AsofJoinSpec): AsofJoinOperator => new AsofJoinOperator(spec);
