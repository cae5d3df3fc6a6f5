/**
 * top-k: per group (the first `keyCount` columns of a row, none = one global group), the first `limit` rows
 * (after skipping `offset`) of the group's multiset in a total order, with their multiplicities (a row present
 * 3 times counts as 3 rows). SQL `ORDER BY ... LIMIT n [OFFSET m]` in a view, and the rank-filter forms
 * (`ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) <= n`) once they are planned onto it.
 *
 * With `rank` set, each emitted row carries its rank in the group as an extra last column (SQL's ranking
 * window functions; `limit` then bounds the rank: `WHERE rn <= k`).
 *
 * Order: the caller's comparator over whole rows, then the rows' canonical encoding as the tie-break, so the
 * order is total and deterministic: which of several rows with equal sort keys make the cut depends only on
 * the contents, never on arrival order, so a restored operator emits exactly what the original would.
 *
 * Incrementally: a step adds each `(row, w)` to its group's sorted integral (binary search + splice); for every
 * touched group the new window (the rows at ranks offset+1 .. offset+limit, counting multiplicities) is compared
 * with the window emitted before, and only the difference is emitted. Cost per touched group: O(log n) per
 * change to find it, O(n) worst case to splice, O(offset + limit) to walk the window.
 *
 * State "input": the integral of the input (one entry per distinct row with its weight). The emitted windows
 * are not saved: they are a function of the integral (the order is total), so restore and apply recompute them
 * for the groups they touch. Rows whose integral weight is ≤ 0 take no rank (they are absent from the relation).
 *
 * Invariant: a group's `emitted` map is exactly the net output this operator has produced for the group.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { push } from '../zset/batch.ts';
import { encodeColumns, encodeRow, type Row } from '../zset/value.ts';
import { addSorted, type SortedEntry } from './sorted-multiset.ts';
import { StatefulBase } from './stateful-base.ts';

export interface TopKSpec {
  /** Leading columns that form the group key (0: one global group). */
  readonly keyCount: number;
  /** Orders two rows of the same group (negative, zero, positive); ties are broken by the row encoding. */
  readonly compare: (a: Row, b: Row) => number;
  /** At most this many rows per group (Infinity: no limit, only an offset). */
  readonly limit: number;
  readonly offset?: number;
  /**
   * Append each output row's rank in its group (SQL `ROW_NUMBER()`, `RANK()`, `DENSE_RANK()` over the order):
   * row numbers count every copy (ties cut by the row), RANK gives rows with equal keys the same rank and skips
   * after them, DENSE_RANK does not skip. With a rank, `limit` bounds the rank (rows ranked above it are not
   * emitted) and `offset` is not allowed.
   */
  readonly rank?: 'row_number' | 'rank' | 'dense_rank';
}

type Entry = SortedEntry;

interface Group {
  /** Distinct rows of the group in order (weights may be ≤ 0 transiently; those take no rank). */
  readonly sorted: Entry[];
  /** Row encoding → [row, weight] of what this operator has emitted for the group. */
  emitted: Map<string, [Row, number]>;
}

export class TopKOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'top-k';
  readonly arity = 1;
  readonly #spec: TopKSpec;
  readonly #groups = new Map<string, Group>();
  readonly #keyCols: number[];

  constructor(spec: TopKSpec) {
    super(['input']);
    const whole = (n: number) => n === Number.POSITIVE_INFINITY || (Number.isInteger(n) && n >= 0);
    if (!whole(spec.limit) || !whole(spec.offset ?? 0))
      throw new Error('top-k limit and offset: integers ≥ 0');
    this.#spec = spec;
    this.#keyCols = Array.from({ length: spec.keyCount }, (_, i) => i);
  }

  /** Adds w copies of row to its group's integral; returns the group's key. */
  #add(row: Row, w: number): string {
    const gk = this.#keyCols.length === 0 ? '' : encodeColumns(row, this.#keyCols);
    let g = this.#groups.get(gk);
    if (g === undefined) {
      g = { sorted: [], emitted: new Map() };
      this.#groups.set(gk, g);
    }
    addSorted(g.sorted, row, w, this.#spec.compare);
    return gk;
  }

  /** The group's current window: encoding → [row, copies]. */
  #window(g: Group): Map<string, [Row, number]> {
    if (this.#spec.rank !== undefined) return this.#ranked(g);
    const out = new Map<string, [Row, number]>();
    let skip = this.#spec.offset ?? 0;
    let take = this.#spec.limit;
    for (const e of g.sorted) {
      if (take === 0) break;
      if (e.weight <= 0) continue;
      let n = e.weight;
      const skipped = Math.min(skip, n);
      skip -= skipped;
      n -= skipped;
      const taken = Math.min(take, n);
      if (taken > 0) {
        out.set(e.enc, [e.row, taken]);
        take -= taken;
      }
    }
    return out;
  }

  /** The group's rows with their rank appended, up to rank `limit`. */
  #ranked(g: Group): Map<string, [Row, number]> {
    const out = new Map<string, [Row, number]>();
    const kind = this.#spec.rank;
    const limit = this.#spec.limit;
    let pos = 0; // rows before the current one
    let dense = 0;
    let rank = 0;
    let prev: Row | null = null;
    const add = (row: Row, r: number, n: number) => {
      const x = [...row, r];
      const enc = encodeRow(x);
      out.set(enc, [x, (out.get(enc)?.[1] ?? 0) + n]);
    };
    for (const e of g.sorted) {
      if (e.weight <= 0) continue;
      const newKey = prev === null || this.#spec.compare(prev, e.row) !== 0;
      if (newKey) {
        dense++;
        rank = pos + 1;
        if ((kind === 'dense_rank' ? dense : rank) > limit) break;
      }
      prev = e.row;
      if (kind === 'row_number') {
        for (let k = 0; k < e.weight && pos + k + 1 <= limit; k++) add(e.row, pos + k + 1, 1);
      } else {
        const r = kind === 'rank' ? rank : dense;
        if (r <= limit) add(e.row, r, e.weight);
      }
      pos += e.weight;
      if (kind === 'row_number' && pos >= limit) break;
    }
    return out;
  }

  /** Recomputes the touched groups' windows and returns the change against what was emitted. */
  #refresh(touched: Iterable<string>, out: Batch | null): void {
    for (const gk of touched) {
      const g = this.#groups.get(gk) as Group;
      const now = this.#window(g);
      if (out !== null) {
        for (const [enc, [row, n]] of now) {
          const d = n - (g.emitted.get(enc)?.[1] ?? 0);
          if (d !== 0) push(out, row, d);
        }
        for (const [enc, [row, n]] of g.emitted) if (!now.has(enc)) push(out, row, -n);
      }
      g.emitted = now;
      if (g.sorted.length === 0) this.#groups.delete(gk);
    }
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const log = this.logs.input!;
    const touched = new Set<string>();
    for (let i = 0; i < b.rows.length; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      if (w === 0) continue;
      log.record(row, w);
      touched.add(this.#add(row, w));
    }
    const out: Batch = { rows: [], weights: [], consolidated: true };
    this.#refresh(touched, out);
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    const out: Batch = { rows: [], weights: [], consolidated: true };
    for (const g of this.#groups.values()) for (const e of g.sorted) push(out, e.row, e.weight);
    return { input: out };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#groups.clear();
    this.apply(parts);
  }

  /** Adds the parts to the integral and recomputes the windows of the groups they touch (emitting nothing). */
  apply(parts: Record<string, readonly Batch[]>): void {
    const touched = new Set<string>();
    for (const b of StatefulBase.partsOf(parts, 'input'))
      for (let i = 0; i < b.rows.length; i++) {
        const w = b.weights[i] as number;
        if (w !== 0) touched.add(this.#add(b.rows[i] as Row, w));
      }
    this.#refresh(touched, null);
  }
}

export const topK = (spec: TopKSpec): TopKOperator => new TopKOperator(spec);
