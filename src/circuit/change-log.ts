/**
 * Records the changes a stateful operator makes to one of its state Z-sets, for incremental checkpoints.
 * Off by default (costs nothing then); when on, every change is appended and consolidated on `take()`.
 *
 * Memory: the log is consolidated in place whenever it has doubled since its last consolidation (at least
 * {@link CONSOLIDATE_AT} entries), so it holds about the net change since the last checkpoint (at most twice
 * the distinct rows changed), not one entry per input record: an aggregate over a long input between two
 * checkpoints otherwise kept every input row here until the next checkpoint (a large ingress body ran the
 * process out of memory). Amortized, each record is consolidated a constant number of times. The result of
 * `take()` depends only on the sequence of records, so it stays deterministic.
 *
 * `take()` is an incremental checkpoint's capture, between two steps: it hands the log's entries over and starts a
 * new log, and a change of {@link DEFER_AT} entries or more is consolidated later, in slices between event-loop
 * turns ({@link PendingDelta}: the checkpoint's write settles it), so the capture costs O(1) however large the
 * change (at 5M orders, 1% updated: 31–36 ms of capture before, ~2 ms now).
 */
import { type Batch, consolidate, consolidateSteps, emptyBatch, type SettlingBatch } from '../zset/batch.ts';
import { drain, Sliced, type Steps } from '../zset/sliced.ts';
import { type Row, sameRow } from '../zset/value.ts';

/** Entries before the first in-place consolidation. */
export const CONSOLIDATE_AT = 65_536;

/**
 * Distinct changed rows (a keyed log: keys) past which a log stops recording and reports {@link
 * ChangeLog.overflowed}: a delta that large would cost about what a full checkpoint costs (whose batches are
 * mostly written already), so the checkpointer takes a full one instead (`Circuit.changesOverflowed`), and the
 * log neither holds a copy of the change in memory nor keeps consolidating it (at 5M inserted rows between two
 * checkpoints, the consolidations alone took 3.3 s of CPU).
 */
export const OVERFLOW_AT = 1 << 18;
let overflowAt = OVERFLOW_AT;

/** Sets the overflow limit of every change log (tests); returns the previous one. */
export function setChangeLogOverflow(n: number): number {
  const prev = overflowAt;
  overflowAt = n;
  return prev;
}

function overflowError(): Error {
  return new Error('the change log overflowed: take a full snapshot instead of a delta');
}

export class ChangeLog {
  enabled = false;
  /** More than the overflow limit of distinct rows changed since the last take/reset: nothing is recorded. */
  overflowed = false;
  #pending: Batch = emptyBatch();
  #limit = CONSOLIDATE_AT;

  record(row: Row, weight: number): void {
    if (!this.enabled || this.overflowed) return;
    this.#pending.rows.push(row);
    this.#pending.weights.push(weight);
    // the doubling schedule (2× overflowAt caps it only when a test lowers the limit below CONSOLIDATE_AT)
    if (this.#pending.rows.length >= Math.min(this.#limit, 2 * overflowAt)) {
      const c = consolidate(this.#pending);
      if (c.rows.length >= overflowAt) {
        this.overflowed = true;
        this.#pending = emptyBatch();
        return;
      }
      // a fresh, unflagged batch: more records are appended to it, so take() consolidates it again
      this.#pending = { rows: c.rows, weights: c.weights };
      this.#limit = Math.max(CONSOLIDATE_AT, 2 * c.rows.length);
    }
  }

  /** Entries held now (consolidated or not). */
  get size(): number {
    return this.#pending.rows.length;
  }

  /**
   * The change since the last take/reset, consolidated — a large one in slices off the step path (a
   * {@link PendingDelta}). @throws Error when the log {@link overflowed}
   */
  take(): Batch {
    if (this.overflowed) throw overflowError();
    const p = this.#pending;
    this.reset();
    return p.rows.length < DEFER_AT ? consolidate(p) : new PendingDelta(consolidateSteps(p));
  }

  reset(): void {
    this.#pending = emptyBatch();
    this.#limit = CONSOLIDATE_AT;
    this.overflowed = false;
  }
}

/**
 * The change log of a state in which each key holds at most one row with weight 1 (a table with a primary key):
 * it remembers, per key touched since the last `take()`/`reset()`, the key's row before the first touch and its
 * row now, so `take()` is `(before, -1)`, `(now, +1)` for each key whose row changed. One Map operation per
 * change on a key the caller already computed (no row encoding, no re-consolidation); it holds one entry per
 * touched key, so its size is the net change however often a key changes. Output order: first touch of each
 * key, before then now (deterministic); the result is consolidated (keys are distinct, before ≠ now).
 * A key that held no row before its first touch (an insert: the common case when ingesting) is stored as its
 * current row itself (or {@link INSERTED_THEN_DELETED}), so recording an insert allocates nothing.
 */
export class KeyedChangeLog {
  enabled = false;
  /** More than the overflow limit of keys touched since the last take/reset: nothing is recorded. */
  overflowed = false;
  /** Per touched key: its row now (no row before), {@link INSERTED_THEN_DELETED}, or before and now. */
  #touched = new Map<unknown, Row | typeof INSERTED_THEN_DELETED | Touched>();

  /** Key `k` held `before` (undefined: no row) and now holds `now`. */
  record(k: unknown, before: Row | undefined, now: Row | undefined): void {
    if (!this.enabled || this.overflowed) return;
    const e = this.#touched.get(k);
    if (e === undefined) {
      if (this.#touched.size >= overflowAt) {
        this.overflowed = true;
        this.#touched = new Map();
        return;
      }
      if (before === undefined) this.#touched.set(k, now ?? INSERTED_THEN_DELETED);
      else this.#touched.set(k, { before, now });
    } else if (e === INSERTED_THEN_DELETED || Array.isArray(e))
      this.#touched.set(k, now ?? INSERTED_THEN_DELETED);
    else (e as Touched).now = now;
  }

  /** Keys held now. */
  get size(): number {
    return this.#touched.size;
  }

  /**
   * The change since the last take/reset (consolidated) — a large one built in slices off the step path (a
   * {@link PendingDelta}). @throws Error when the log {@link overflowed}
   */
  take(): Batch {
    if (this.overflowed) throw overflowError();
    const touched = this.#touched;
    this.reset(); // a fresh map: the entries of this one are changed no more
    const steps = keyedDeltaSteps(touched);
    return touched.size < DEFER_AT ? drain(steps) : new PendingDelta(steps);
  }

  reset(): void {
    this.#touched = new Map();
    this.overflowed = false;
  }
}

/** Entries (keys) of a change log from which its delta is computed in slices ({@link PendingDelta}). */
export const DEFER_AT = 8192;

/** Keys of a keyed log's delta built between two pauses. */
const KEYED_SLICE = 8192;

/** A keyed log's delta from its touched keys, in first-touch order; pauses every {@link KEYED_SLICE} keys. */
function* keyedDeltaSteps(
  touched: ReadonlyMap<unknown, Row | typeof INSERTED_THEN_DELETED | Touched>,
): Steps<Batch> {
  const out: Batch = { rows: [], weights: [], consolidated: true };
  let n = 0;
  for (const e of touched.values()) {
    if (++n % KEYED_SLICE === 0) yield;
    if (e === INSERTED_THEN_DELETED) continue;
    if (Array.isArray(e)) {
      out.rows.push(e as Row);
      out.weights.push(1);
      continue;
    }
    const { before, now } = e as Touched;
    if (before !== undefined && now !== undefined && sameRow(before, now)) continue;
    if (before !== undefined) {
      out.rows.push(before);
      out.weights.push(-1);
    }
    if (now !== undefined) {
      out.rows.push(now);
      out.weights.push(1);
    }
  }
  return out;
}

/**
 * An incremental checkpoint's change of one state, still to be computed (consolidated) from the log's entries
 * handed over at the capture: the checkpoint's write computes it in slices between steps (`settle`, started by
 * the checkpointer right after the capture), so the capture stays O(1) however large the change; reading `rows`
 * first computes it at once. The same batch either way (`zset/sliced.ts`).
 */
export class PendingDelta implements SettlingBatch {
  readonly #work: Sliced<Batch>;

  constructor(steps: Steps<Batch>) {
    this.#work = new Sliced(steps);
  }

  get rows(): Row[] {
    return this.#work.result().rows;
  }

  get weights(): number[] {
    return this.#work.result().weights;
  }

  get consolidated(): boolean {
    return true;
  }

  /** Whether the change is computed already (by `settle`, or by a read of `rows`). */
  get computed(): boolean {
    return this.#work.done;
  }

  /** Computes the change in slices of about `sliceMs` (`zset/sliced.ts`), returning to the event loop between. */
  settle(sliceMs?: number): Promise<Batch> {
    return this.#work.settle(sliceMs);
  }
}

interface Touched {
  readonly before: Row;
  now: Row | undefined;
}

/** A key inserted and deleted again since the last take: no change. */
const INSERTED_THEN_DELETED: { readonly gone: true } = Object.freeze({ gone: true as const });
