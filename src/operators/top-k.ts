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
 * State "input": the integral of the input (one entry per distinct row with its weight), a scan-only trace keyed
 * by the group columns (`sorted-multiset.ts`): checkpoints write its sealed batches; the per-group sorted arrays
 * are a cache rebuilt from it on restore. The emitted windows are not saved: they are a function of the integral
 * (the order is total), so restore and apply recompute them for the groups they touch. Rows whose integral
 * weight is ≤ 0 take no rank (they are absent from the relation).
 *
 * With `purge` (LATENESS), a group whose partition key is below its waterline is discarded (its emitted rows
 * stand), see `sorted-multiset.ts`.
 *
 * With `orderPurge` (LATENESS on the first sort key, e.g. a global `ORDER BY ts DESC LIMIT 10` over a table whose
 * `ts` has a waterline W): every later change (insert or delete) has key ≥ W, so a row whose key is below W
 * ("frozen") can never change again, and the frozen rows form one contiguous run of the group's order (after
 * the rows ≥ W when descending, before them when ascending; NULL keys, never late, before or after both). A
 * row can reach the window only if fewer than N frozen rows precede it (N = offset + limit; for RANK, frozen rows
 * strictly before it; for DENSE_RANK, their distinct keys; N = limit), since the frozen ones can never leave and
 * every other row before it might be deleted. Once N frozen rows are counted, every row after them is discarded
 * at the end of the step (`closedSuffix`): descending, that keeps the rows ≥ W plus the first N frozen ones;
 * ascending, once N rows are frozen the window is final and everything after it, later arrivals included, is
 * discarded. Discarded rows are ordinary logged state changes (`sorted-multiset.ts`).
 *
 * Memory: each group keeps in memory only its window's rows, their ties and 2 more (`cacheSlack`), the rest in the
 * trace; a group whose cached rows stop covering its window (deletions) is reloaded from the trace. What was
 * emitted is not kept (`derivedOutput`): it is the window of the cached rows at the start of a step. So the cache
 * is derived from the trace alone, and a partitioned top-k (without a LATENESS purge of whole partitions) evicts
 * partitions no step touched for a few steps once their changes are sealed (`sorted-multiset.ts`): a partition
 * of one row (q18) or one no change reaches any more (q19's and q9's old auctions) lives in the trace only.
 *
 * Invariant: the net output this operator has produced for a group is the window of its rows at the start of
 * every step.
 */
import type { Operator, StatefulOperator } from '../circuit/operator.ts';
import { encodeRow, type Row, type Value } from '../zset/value.ts';
import {
  type GroupOutput,
  type GroupPurge,
  type SortedEntry,
  SortedGroupsOperator,
} from './sorted-multiset.ts';

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
  /** LATENESS: discard groups whose key column is below its waterline (`sorted-multiset.ts`). */
  readonly purge?: GroupPurge;
  /** LATENESS on the first sort key: discard rows that can never reach the window (see the module header). */
  readonly orderPurge?: OrderPurge;
}

/** The first sort key of a top-k and its waterline. */
export interface OrderPurge {
  /** The first sort key of a row (the value `compare` orders by first). */
  readonly key: (row: Row) => Value;
  readonly desc: boolean;
  readonly nullsFirst: boolean;
  /** The key's waterline: every later change has a key ≥ it, or NULL (null: no waterline yet). */
  readonly below: () => Value;
  /** Orders two non-NULL keys (ascending). */
  readonly compare: (a: Value, b: Value) => number;
}

/** Rows past the window (and its ties) a group keeps in memory, to absorb deletions without a reload. */
const CACHE_SLACK = 2;

export class TopKOperator extends SortedGroupsOperator implements StatefulOperator, Operator {
  readonly kind = 'top-k';
  readonly #spec: TopKSpec;

  constructor(spec: TopKSpec) {
    const whole = (n: number) => n === Number.POSITIVE_INFINITY || (Number.isInteger(n) && n >= 0);
    if (!whole(spec.limit) || !whole(spec.offset ?? 0))
      throw new Error('top-k limit and offset: integers ≥ 0');
    const op = spec.orderPurge;
    super(
      spec.keyCount,
      spec.compare,
      spec.purge,
      undefined,
      op === undefined ? undefined : { below: op.below, compare: op.compare },
    );
    this.#spec = spec;
  }

  /**
   * The rows after the N-th frozen one (see the module header): their count. Frozen rows are found by binary
   * search (they are one run of the order), then counted from the start of the run.
   */
  protected override closedSuffix(sorted: readonly SortedEntry[], wl: Value): number {
    const op = this.#spec.orderPurge as OrderPurge;
    const kind = this.#spec.rank;
    const need = kind === undefined ? (this.#spec.offset ?? 0) + this.#spec.limit : this.#spec.limit;
    if (need === Number.POSITIVE_INFINITY) return 0;
    // each row's place in the order by its first key alone: NULLs, the rows ≥ W and the frozen rows (< W)
    const frozenClass = op.desc ? 1 : 0;
    const classOf = (row: Row): number => {
      const k = op.key(row);
      if (k === null) return op.nullsFirst ? -1 : 2;
      const frozen = op.compare(k, wl) < 0;
      return op.desc ? (frozen ? 1 : 0) : frozen ? 0 : 1;
    };
    const firstWith = (pred: (c: number) => boolean): number => {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (pred(classOf((sorted[mid] as SortedEntry).row))) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    };
    const start = firstWith((c) => c >= frozenClass);
    const end = firstWith((c) => c > frozenClass);
    let count = 0; // frozen rows before the current one (RANK: before its tie group; DENSE_RANK: tie groups)
    let total = 0; // frozen rows so far
    let groups = 0; // tie groups with rows so far
    let prev: Row | null = null;
    let prevHasRows = false;
    for (let i = start; i < end; i++) {
      const e = sorted[i] as SortedEntry;
      const newTie = prev === null || this.#spec.compare(prev, e.row) !== 0;
      if (kind === 'rank') {
        if (newTie) count = total;
      } else if (kind === 'dense_rank') {
        if (newTie) {
          if (prevHasRows) groups++;
          prevHasRows = false;
          count = groups;
        }
      } else count = total;
      if (count >= need) return sorted.length - i;
      if (e.weight > 0) {
        total += e.weight;
        prevHasRows = true;
      }
      prev = e.row;
    }
    // rows after the run: every frozen row precedes them
    const after = kind === 'dense_rank' ? groups + (prevHasRows ? 1 : 0) : total;
    return after >= need ? sorted.length - end : 0;
  }

  /** The group's current window: encoding → [row, copies]. */
  protected output(sorted: readonly SortedEntry[]): GroupOutput {
    if (this.#spec.rank !== undefined) return this.#ranked(sorted);
    const out: GroupOutput = new Map();
    let skip = this.#spec.offset ?? 0;
    let take = this.#spec.limit;
    for (const e of sorted) {
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

  /**
   * The entry at which the window is full: rows after it (for RANK and DENSE_RANK: rows that sort strictly after
   * it, since rows tied with it share its rank) can never enter the window, nor change the ranks before them.
   */
  protected override horizon(sorted: readonly SortedEntry[]): SortedEntry | null {
    const kind = this.#spec.rank;
    const need = kind === undefined ? (this.#spec.offset ?? 0) + this.#spec.limit : this.#spec.limit;
    if (need === Number.POSITIVE_INFINITY || need <= 0) return null;
    let n = 0;
    let prev: SortedEntry | null = null;
    for (const e of sorted) {
      if (e.weight <= 0) continue;
      if (kind === 'dense_rank') {
        if (prev === null || this.#spec.compare(prev.row, e.row) !== 0) n++;
        prev = e;
      } else n += e.weight;
      if (n >= need) return e;
    }
    return null;
  }

  /**
   * Keep in memory only the first rows of each group (the window, its ties, and a few more), the others in the
   * trace alone: a finite window without a LATENESS order purge (which cuts suffixes of its own).
   */
  protected override cacheSlack(): number | null {
    const need =
      this.#spec.rank === undefined ? (this.#spec.offset ?? 0) + this.#spec.limit : this.#spec.limit;
    return this.#spec.orderPurge === undefined && need !== Number.POSITIVE_INFINITY && need > 0
      ? CACHE_SLACK
      : null;
  }

  /**
   * A group of one entry has no closed suffix unless the window is empty (the entry is its own first row; with
   * N ≥ 1 nothing frozen precedes it): a rising waterline skips such groups (q18: one bid per partition).
   */
  protected override suffixFloor(): number {
    const need =
      this.#spec.rank === undefined ? (this.#spec.offset ?? 0) + this.#spec.limit : this.#spec.limit;
    return need >= 1 ? 1 : 0;
  }

  /** The window is a function of the cached rows (no closed prefix here): recomputed, not kept per group. */
  protected override derivedOutput(): boolean {
    return true;
  }

  /** RANK and DENSE_RANK: the horizon's ties share its rank, so the cached rows must go past them. */
  protected override covers(sorted: readonly SortedEntry[], h: SortedEntry): boolean {
    const kind = this.#spec.rank;
    if (kind !== 'rank' && kind !== 'dense_rank') return true;
    const last = sorted[sorted.length - 1] as SortedEntry;
    return this.#spec.compare(last.row, h.row) > 0;
  }

  protected override beyond(row: Row, h: SortedEntry): boolean {
    const kind = this.#spec.rank;
    if (kind === 'rank' || kind === 'dense_rank') return this.#spec.compare(row, h.row) > 0;
    return super.beyond(row, h);
  }

  /** The group's rows with their rank appended, up to rank `limit`. */
  #ranked(sorted: readonly SortedEntry[]): GroupOutput {
    const out: GroupOutput = new Map();
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
    for (const e of sorted) {
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
}

export const topK = (spec: TopKSpec): TopKOperator => new TopKOperator(spec);
