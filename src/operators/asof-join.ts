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
 * whole history. Nothing but the two integrals is kept (no emitted output), so restore and warm apply only
 * load rows. Cost of a step: O(log n + log m) per change (n, m: the key's right and left rows) plus
 * O(log n) per re-matched left row, and the array splice of each change (O(1) when it lands at the end).
 *
 * State "leftByKey": the integral of the left rows with a non-NULL key (left rows with a NULL key are passed
 * through padded with NULLs and need none). State "rightByKey": the integral of the right rows with a non-NULL
 * key and a non-NULL timestamp (other right rows can never match). Both hold state rows `[key, ts, row..]`: the
 * key (the ON values as `leftKey`/`rightKey` give it, a primitive) and the MATCH_CONDITION operand are
 * expressions, so they are stored as computed, ahead of the row. Each state is a scan-only trace keyed by (key,
 * ts): `scan([key])` visits a key's rows in the codec's order of the timestamp (NULL first; for TIMESTAMP, DATE
 * and numbers that is `compareTs`'s order; the cache sorts with `compareTs` in any case). Checkpoints write the
 * traces' sealed batches (a checkpoint writes only the batches sealed or merged since the previous one) and
 * their heads, frozen by the capture in O(1) and built in slices off the step (`Trace.capture`); deltas
 * (`takeDelta`) are plain batches of state rows. The per-key sorted arrays below are an in-memory cache derived
 * from the traces: every change goes to both; restore rebuilds the cache from one scan of each trace (a key's
 * rows arrive together and in order). Checkpoints written before the traces hold the plain input rows under the
 * states' old names, "left" and "right"; restore and apply still take them.
 *
 * Bounded state (LATENESS, `gc`): right changes are at or above the right operand's waterline WR, so a stored
 * left row below WR (or with a NULL timestamp) is never re-matched: it leaves "leftByKey" (a later retraction of
 * it is matched against the right rows like any left change, linearity). With a waterline WL on the left operand
 * too, let W = min(WL, WR): per key, the last positive right row below W can neither change (it is below WR) nor
 * be beaten by a later row below the timestamps of later left rows (≥ WL) or of re-matched ones (≥ WR), so every
 * right row before it is no one's match again and leaves "rightByKey". Discards happen at the end of a step in
 * which a waterline rose, leave the cache and the trace, and are logged like any change, so checkpoints, restore
 * and warm apply agree.
 *
 * The left cache is lazy when no waterline discards left rows (no `gc.left`: the right side has no LATENESS, as
 * Nexmark q13's side input): the left rows are needed only to re-match a key the right side changes, so a key's
 * left rows are read from the left trace when a step's right changes first reach it (its sealed batches by a
 * prefix scan, plus one walk per step of the head and of a checkpoint's unbuilt frozen head for all such keys)
 * and dropped again once the right side has left the key alone for {@link IDLE_STEPS} steps. A left change to a
 * key not cached goes to the trace only: the left side's memory is its compact trace, not a JS row per left row
 * (q13 keeps every bid). With `gc.left` every key's left rows stay cached, as the discard walks them.
 *
 * Invariants: each trace's content equals its side's cache (as `[key, ts, row..]`; the left cache, when lazy,
 * for the keys it holds); a key's right rows are in
 * ascending (timestamp, tieBreak, encoding) order, its left rows in ascending (timestamp with NULL first,
 * encoding) order; no entry of either side has weight 0; the net output emitted for a key equals the match of
 * its left integral against its right integral.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import { FileBatch } from '../zset/batch-file.ts';
import {
  entryCountOf,
  sameLayout,
  Trace,
  TraceBatch,
  type TraceLayout,
  traceBatchesOf,
  traceLayout,
} from '../zset/trace.ts';
import type { Row, Value } from '../zset/value.ts';
import { encodeRow } from '../zset/value.ts';
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
  /** key → left rows in (timestamp with NULL first, encoding) order (when lazy: the keys in {@link #leftSince}). */
  readonly #left = new Map<unknown, SortedEntry[]>();
  /** Lazy left cache (no `gc.left`; see the header): cached key → the step count when the right side last reached it. */
  readonly #leftSince: Map<unknown, number> | null;
  #steps = 0;
  /** key → right rows in (timestamp, tieBreak, encoding) order. */
  readonly #right = new Map<unknown, SortedEntry[]>();
  /** States "left" / "right": rows `[key, ts, row..]` keyed by (key, ts); created on the first row (its width). */
  #leftTrace: Trace | null = null;
  #rightTrace: Trace | null = null;
  readonly #order: (a: Row, b: Row) => number;
  readonly #leftOrder: (a: Row, b: Row) => number;
  readonly #nullRight: Row;

  constructor(spec: AsofJoinSpec) {
    super([LEFT, RIGHT]);
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
    this.#leftSince = spec.gc?.left === undefined ? new Map() : null;
  }

  /**
   * Distinct rows held on both sides (for tests and state-size reports; with a lazy left cache, the left side's
   * trace entries: rows cancelled across its levels count until they merge).
   */
  get entryCount(): number {
    let n = this.#leftSince === null ? 0 : (this.#leftTrace?.entryCount ?? 0);
    if (this.#leftSince === null) for (const rows of this.#left.values()) n += rows.length;
    for (const rows of this.#right.values()) n += rows.length;
    return n;
  }

  /** Left rows held in the JS cache (for tests: a lazy cache holds only the keys the right side reached lately). */
  get cachedLeftRows(): number {
    let n = 0;
    for (const rows of this.#left.values()) n += rows.length;
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

  /** The trace of a side for rows of width `width` (created on first use). */
  #traceOf(right: boolean, width: number): Trace {
    const t = right ? this.#rightTrace : this.#leftTrace;
    if (t !== null) return t;
    const made = new Trace(traceLayout(width + 2, [0, 1]), { indexed: false });
    if (right) this.#rightTrace = made;
    else this.#leftTrace = made;
    return made;
  }

  /** Adds `w` copies of left row `l` (key `k`, not NULL) to the left state: change log, trace and cache. */
  #storeLeft(k: unknown, l: Row, w: number): void {
    const x = stateRow(k, this.#s.leftTs(l), l);
    this.logs[LEFT]!.record(x, w);
    this.#traceOf(false, l.length).add(x, w);
    if (this.#leftSince === null || this.#leftSince.has(k)) this.#addLeft(k, l, w);
  }

  /**
   * Lazy left cache: caches the left rows of the keys in `keys` not cached yet (read from the left trace: each key's
   * sealed rows by a prefix scan, then one walk of the head and of an unbuilt frozen head for all of them), and
   * marks every key in `keys` as reached at this step.
   */
  #cacheLeft(keys: Iterable<unknown>): void {
    const since = this.#leftSince as Map<unknown, number>;
    const need = new Map<unknown, Map<string, SortedEntry>>();
    for (const k of keys) {
      if (!since.has(k)) need.set(k, new Map());
      since.set(k, this.#steps);
    }
    const trace = this.#leftTrace;
    if (need.size === 0 || trace === null) return;
    let into: Map<string, SortedEntry> | undefined;
    const take = (x: Row, w: number): void => {
      const row = x.slice(2);
      const enc = encodeRow(row);
      const e = (into as Map<string, SortedEntry>).get(enc);
      if (e === undefined) (into as Map<string, SortedEntry>).set(enc, { row, enc, weight: w });
      else e.weight += w;
    };
    for (const [k, m] of need) {
      into = m;
      trace.scanSealed([k as Value], take, true);
    }
    // the head and a frozen head hold rows of any key: one walk each, keeping those of the keys being cached
    const pick = (x: Row, w: number): void => {
      into = need.get(x[0]);
      if (into !== undefined) take(x, w);
    };
    trace.forEachFrozen(pick);
    trace.forEachHead(pick);
    for (const [k, m] of need) {
      const rows: SortedEntry[] = [];
      for (const e of m.values()) if (e.weight !== 0) rows.push(e);
      if (rows.length === 0) continue;
      rows.sort((a, b) => this.#leftOrder(a.row, b.row) || (a.enc < b.enc ? -1 : a.enc > b.enc ? 1 : 0));
      this.#left.set(k, rows);
    }
  }

  /** Lazy left cache: drops the keys the right side has not reached for {@link IDLE_STEPS} steps. */
  #dropIdleLeft(): void {
    const since = this.#leftSince as Map<unknown, number>;
    if (since.size === 0 || this.#steps % IDLE_STEPS !== 0) return;
    for (const [k, at] of since)
      if (this.#steps - at >= IDLE_STEPS) {
        since.delete(k);
        this.#left.delete(k);
      }
  }

  /** Adds `w` copies of right row `r` (key `k` and timestamp not NULL) to the right state. */
  #storeRight(k: unknown, r: Row, w: number): void {
    const x = stateRow(k, this.#s.rightTs(r), r);
    this.logs[RIGHT]!.record(x, w);
    this.#traceOf(true, r.length).add(x, w);
    this.#addRight(k, r, w);
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

    this.#steps++;
    if (this.#leftSince !== null) this.#cacheLeft(rightByKey.keys());
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
      this.#storeLeft(k, l, w);
      if (!this.#inRange(k, l, rightByKey.get(k))) this.#emit(out, k, l, w);
    }

    // fold the right changes in, then emit the new output of the re-matched left rows
    for (const [k, c] of rightByKey) {
      for (const [r, w] of c.rows) {
        this.#storeRight(k, r, w);
      }
      for (const e of this.#affected(k, c.min, c.max)) this.#emit(out, k, e.row, e.weight);
    }
    if (s.gc !== undefined) this.#collect(s.gc);
    if (this.#leftSince !== null) this.#dropIdleLeft();
    this.#leftTrace?.maybeSeal();
    this.#rightTrace?.maybeSeal();
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
      for (const [k, rows] of this.#left) {
        const n = this.#search(rows, this.#s.leftTs, wl, false);
        if (n === 0) continue;
        for (const e of rows.splice(0, n)) this.#discard(false, k, this.#s.leftTs(e.row), e);
        if (rows.length === 0) this.#left.delete(k);
      }
    }
    const wr = gc.right?.() ?? null;
    if (rose(wr, this.#rightAt)) {
      this.#rightAt = wr;
      for (const [k, rows] of this.#right) {
        let j = this.#search(rows, this.#s.rightTs, wr, false) - 1;
        while (j >= 0 && (rows[j] as SortedEntry).weight <= 0) j--;
        if (j <= 0) continue;
        for (const e of rows.splice(0, j)) this.#discard(true, k, this.#s.rightTs(e.row), e);
      }
    }
  }

  /** Removes a discarded cache entry (already spliced out of the cache) from the state: log and trace. */
  #discard(right: boolean, k: unknown, ts: Value, e: SortedEntry): void {
    const x = stateRow(k, ts, e.row);
    this.logs[right ? RIGHT : LEFT]!.record(x, -e.weight);
    this.#traceOf(right, e.row.length).add(x, -e.weight);
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
    // O(1): the heads are frozen and the checkpoint builds their batches in slices (`Trace.capture`); a step only
    // adds to the traces (the per-key cache answers its reads)
    const captured = (t: Trace | null): Batch => (t === null ? emptyBatch() : t.capture());
    return { [LEFT]: captured(this.#leftTrace), [RIGHT]: captured(this.#rightTrace) };
  }

  /**
   * Clears, loads the parts into the traces (trace batches adopted, rows added) and rebuilds each side's
   * cache from one scan of its trace: a key's rows come together, consolidated and in timestamp order.
   */
  restore(parts: Record<string, readonly Batch[]>): void {
    this.#left.clear();
    this.#leftSince?.clear();
    this.#right.clear();
    this.#leftTrace?.clear();
    this.#rightTrace?.clear();
    for (const right of [false, true]) {
      this.#load(right, parts, null);
      const trace = right ? this.#rightTrace : this.#leftTrace;
      if (trace === null) continue;
      // a lazy left cache is filled when the right side reaches a key
      if (!right && this.#leftSince !== null) continue;
      trace.seal(false); // plain rows (deltas) join as one batch; merging waits for the next seal
      const cache = right ? this.#right : this.#left;
      const order = right ? this.#order : this.#leftOrder;
      let key: unknown = NULL_KEY;
      let rows: SortedEntry[] = [];
      const close = (): void => {
        if (rows.length === 0) return;
        rows.sort((a, b) => order(a.row, b.row) || (a.enc < b.enc ? -1 : a.enc > b.enc ? 1 : 0));
        cache.set(key, rows);
        rows = [];
      };
      trace.scan([], (x, w) => {
        const k = x[0];
        // equal key bytes decode to equal values (NaN too; a -0 key decodes as 0), and a key's rows are adjacent
        if (!Object.is(k, key)) {
          close();
          key = k;
        }
        const row = x.slice(2);
        rows.push({ row, enc: encodeRow(row), weight: w });
      });
      close();
    }
  }

  /**
   * Adds the parts to the integrals and the cache (no other derived state: the output is a function of the
   * integrals); see {@link #load} for the forms a part takes.
   */
  apply(parts: Record<string, readonly Batch[]>): void {
    this.#applySide(false, parts);
    this.#applySide(true, parts);
  }

  #applySide(right: boolean, parts: Record<string, readonly Batch[]>): void {
    const since = this.#leftSince;
    if (!right && since !== null) {
      // lazy left cache: the rows go to the trace; a cached key takes them too
      this.#load(false, parts, (k, row, w) => {
        if (w !== 0 && since.has(k)) this.#addLeft(k, row, w);
      });
      this.#leftTrace?.maybeSeal();
      return;
    }
    const cache = right ? this.#right : this.#left;
    const order = right ? this.#order : this.#leftOrder;
    // keys that held no rows before this apply: their rows are collected, consolidated and sorted once
    const fresh = new Map<unknown, Map<string, SortedEntry>>();
    const add = (k: unknown, row: Row, w: number): void => {
      if (w === 0) return;
      let pending = fresh.get(k);
      if (pending === undefined) {
        if (cache.has(k)) {
          if (right) this.#addRight(k, row, w);
          else this.#addLeft(k, row, w);
          return;
        }
        pending = new Map();
        fresh.set(k, pending);
      }
      const enc = encodeRow(row);
      const e = pending.get(enc);
      if (e === undefined) pending.set(enc, { row, enc, weight: w });
      else e.weight += w;
    };
    this.#load(right, parts, add);
    for (const [k, pending] of fresh) {
      const rows: SortedEntry[] = [];
      for (const e of pending.values()) if (e.weight !== 0) rows.push(e);
      if (rows.length === 0) continue;
      rows.sort((a, b) => order(a.row, b.row) || (a.enc < b.enc ? -1 : a.enc > b.enc ? 1 : 0));
      cache.set(k, rows);
    }
    (right ? this.#rightTrace : this.#leftTrace)?.maybeSeal();
  }

  /**
   * Adds one side's state parts to its trace, passing each row as `(key, row, weight)` to `add` when given. Under
   * the state's name ({@link LEFT}, {@link RIGHT}) every part holds state rows `[key, ts, row..]`: trace batches
   * of the state layout are adopted as they are, other batches (deltas, or a snapshot someone turned into plain
   * rows) are added row by row. Under the old names ("left", "right": checkpoints written before the traces) the
   * parts hold input rows, which become state rows here (rows that can never match are skipped).
   */
  #load(
    right: boolean,
    parts: Record<string, readonly Batch[]>,
    add: ((k: unknown, row: Row, w: number) => void) | null,
  ): void {
    const s = this.#s;
    for (const part of parts[right ? RIGHT : LEFT] ?? [])
      for (const b of traceBatchesOf(part) ?? [part]) {
        const n = entryCountOf(b);
        if (n === 0) continue;
        if ((b instanceof TraceBatch || b instanceof FileBatch) && this.#isStateLayout(b.layout)) {
          const trace = this.#traceOf(right, b.layout.arity - 2);
          if (sameLayout(b.layout, trace.layout)) {
            trace.adopt(b);
            if (add !== null)
              for (let i = 0; i < n; i++) {
                const x = b.row(i);
                add(x[0], x.slice(2), b.weight(i));
              }
            continue;
          }
        }
        const rows = b.rows;
        const ws = b.weights;
        for (let i = 0; i < rows.length; i++) {
          const x = rows[i] as Row;
          const w = ws[i] as number;
          if (w === 0) continue;
          this.#traceOf(right, x.length - 2).add(x, w);
          add?.(x[0], x.slice(2), w);
        }
      }
    for (const part of parts[right ? 'right' : 'left'] ?? []) {
      const rows = part.rows;
      const ws = part.weights;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i] as Row;
        const w = ws[i] as number;
        if (w === 0) continue;
        const k = right ? s.rightKey(row) : s.leftKey(row);
        const ts = right ? s.rightTs(row) : s.leftTs(row);
        if (k === NULL_KEY || (right && ts === null)) continue;
        this.#traceOf(right, row.length).add(stateRow(k, ts, row), w);
        add?.(k, row, w);
      }
    }
  }

  /** True for a trace batch laid out as this operator's states are (`[key, ts, row..]` keyed by key and ts). */
  #isStateLayout(l: TraceLayout): boolean {
    return l.arity >= 2 && l.keyCols.length === 2 && l.keyCols[0] === 0 && l.keyCols[1] === 1;
  }

  /** Entries in the two traces (head plus sealed batches; for tests and state-size reports). */
  get traceEntryCount(): number {
    return (this.#leftTrace?.entryCount ?? 0) + (this.#rightTrace?.entryCount ?? 0);
  }
}

/**
 * The states' names: rows `[key, ts, row..]`. (Checkpoints written before the traces hold the input rows under
 * "left" and "right"; {@link AsofJoinOperator} still restores them.)
 */
const LEFT = 'leftByKey';

/** Steps without a right change after which a key's left rows leave a lazy left cache. */
const IDLE_STEPS = 4;
const RIGHT = 'rightByKey';

/** A state row: `[key, ts, row..]`. */
function stateRow(k: unknown, ts: Value, row: Row): Row {
  const n = row.length;
  const out: Value[] = new Array(n + 2);
  out[0] = k as Value;
  out[1] = ts;
  for (let i = 0; i < n; i++) out[i + 2] = row[i] as Value;
  return out;
}

export const asofJoin = (spec: AsofJoinSpec): AsofJoinOperator => new AsofJoinOperator(spec);
