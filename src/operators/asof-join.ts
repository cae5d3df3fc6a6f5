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
 * Incrementally, per key touched by a step: when only left rows of the key changed, the output changes by
 * ΔL matched against the key's right rows (linearity). When right rows of the key changed, the key's output
 * is recomputed: the left rows matched against the old right rows are retracted, the changes are folded in,
 * and the left rows matched against the new right rows are emitted. Nothing but the two integrals is kept,
 * so restore and warm apply only load rows (no derived state to rebuild). Cost of a step: per left change,
 * O(log n) in the key's right rows; per key whose right side changed, O(m log n) for its m left rows plus the
 * O(n) splice of each right change.
 *
 * State "left": the integral of the left rows with a non-NULL key (left rows with a NULL key are passed
 * through padded with NULLs and need none). State "right": the integral of the right rows with a non-NULL
 * key and a non-NULL timestamp (other right rows can never match).
 *
 * Invariant: the key's right rows are in ascending (timestamp, tieBreak, encoding) order; no entry of either
 * side has weight 0; the net output emitted for a key equals the match of its left integral against its right
 * integral.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import { encodeRow, type Row, type Value } from '../zset/value.ts';
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
}

interface LeftEntry {
  readonly row: Row;
  weight: number;
}

export class AsofJoinOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'asof-join';
  readonly arity = 2;
  readonly #s: AsofJoinSpec;
  /** key → row encoding → left row and weight. */
  readonly #left = new Map<unknown, Map<string, LeftEntry>>();
  /** key → right rows in (timestamp, tieBreak, encoding) order. */
  readonly #right = new Map<unknown, SortedEntry[]>();
  readonly #order: (a: Row, b: Row) => number;
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
    this.#nullRight = new Array(spec.rightWidth).fill(null);
  }

  /** The right row `l` matches under key `k`, or null. */
  #match(k: unknown, l: Row): Row | null {
    const t = this.#s.leftTs(l);
    if (t === null) return null;
    const rows = this.#right.get(k);
    if (rows === undefined) return null;
    const cmp = this.#s.compareTs;
    const ts = this.#s.rightTs;
    // first entry whose timestamp is above t
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(ts((rows[mid] as SortedEntry).row), t) <= 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0; i--) {
      const e = rows[i] as SortedEntry;
      if (e.weight > 0) return e.row;
    }
    return null;
  }

  #emit(out: Batch, k: unknown, l: Row, w: number): void {
    push(out, this.#s.combine(l, this.#match(k, l) ?? this.#nullRight), w);
  }

  #addLeft(k: unknown, l: Row, w: number): void {
    let m = this.#left.get(k);
    if (m === undefined) {
      if (w === 0) return;
      m = new Map();
      this.#left.set(k, m);
    }
    const enc = encodeRow(l);
    const e = m.get(enc);
    if (e === undefined) {
      if (w !== 0) m.set(enc, { row: l, weight: w });
      return;
    }
    e.weight += w;
    if (e.weight === 0) {
      m.delete(enc);
      if (m.size === 0) this.#left.delete(k);
    }
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

    // the right changes, by key (rows that can never match are dropped)
    const rightByKey = new Map<unknown, Array<[Row, number]>>();
    for (let i = 0; i < R.rows.length; i++) {
      const r = R.rows[i] as Row;
      const w = R.weights[i] as number;
      if (w === 0) continue;
      const k = s.rightKey(r);
      if (k === NULL_KEY || s.rightTs(r) === null) continue;
      let list = rightByKey.get(k);
      if (list === undefined) {
        list = [];
        rightByKey.set(k, list);
      }
      list.push([r, w]);
    }

    // keys whose right side changes: retract their old output (before any change is folded in)
    for (const k of rightByKey.keys()) {
      const m = this.#left.get(k);
      if (m !== undefined) for (const e of m.values()) this.#emit(out, k, e.row, -e.weight);
    }

    // left changes: those of keys whose right side changes only update the integral (re-emitted below); the
    // others are matched against the unchanged right side
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
      if (!rightByKey.has(k)) this.#emit(out, k, l, w);
    }

    // fold the right changes in, then emit the new output of their keys
    for (const [k, list] of rightByKey) {
      for (const [r, w] of list) {
        logR.record(r, w);
        this.#addRight(k, r, w);
      }
      const m = this.#left.get(k);
      if (m !== undefined) for (const e of m.values()) this.#emit(out, k, e.row, e.weight);
    }
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    const left = emptyBatch();
    for (const m of this.#left.values()) for (const e of m.values()) push(left, e.row, e.weight);
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
