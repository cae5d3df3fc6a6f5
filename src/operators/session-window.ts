/**
 * session-window: Feldera's `SESSION` table function. Input rows are `[k, r...]` with a session key first (or
 * just `[r...]`: one timeline); each key's rows, ordered by their time column, form sessions: two consecutive
 * rows whose times are less than `gap` apart are in the same session. Every input row comes out once per copy as
 * `[r..., window_start, window_end]`: the time of its session's first row, and that of its last row plus `gap`.
 * Rows with a NULL time are not given to this operator (the planner drops them, as Feldera does).
 *
 * State "input": the integral of the input (rows with weights), a {@link Trace} keyed by the whole row with the
 * session key first and the time column next, so a key's sealed rows are one prefix scan, in time order, that
 * does not seal the head; the head's changes are also noted per key in memory (`#headRows`, references to the
 * head's rows, dropped whenever the head is empty), so a key's rows never cost a seal. The emitted
 * rows are not kept: they are a function of a key's rows. A step reads each touched key's rows once, computes
 * the key's sessions before and after the step's changes and emits the difference, so a row that joins two
 * sessions retracts both sessions' rows and emits them again with the merged bounds; then it adds the changes.
 * Cost per touched key: O(its rows). A checkpoint writes the sealed batches (those not written before), a
 * restore adopts them; plain row batches (deltas, checkpoints written before the trace, same state name and row
 * shape) are added row by row. A checkpoint's capture is O(1) (`Trace.capture`): the head is frozen, its notes
 * move aside with it (`#frozenRows`), and until the frozen head's batch is built (in slices, by the checkpoint)
 * a key's rows are its batches' rows plus its frozen and head notes, so the step never builds it.
 *
 * Bounded state (LATENESS): with `waterline` (of the time column, in the time's unit), a session whose last row
 * is at least `gap` below it is closed: no later row can join it (later rows are at or above the waterline) and
 * its rows can no longer change, so at the end of a step in which the waterline rose, each key's closed sessions
 * (a prefix of its rows in time order) are discarded, logged as a change of "input"; what was emitted for them
 * stands (the rest's sessions are unchanged). Which keys to visit: each key has a time before which nothing of it
 * can close (the time of the row its last visit stopped at, plus `gap`); a heap of those times gives the keys due,
 * and every key touched by a step is due at the next rise. So a rise visits the keys due and, in each, the rows
 * of its closed sessions plus one — never the whole state, except once after a restore or apply (no times known).
 * The times are in memory only: one number per key.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import { entryCountOf, Trace, traceLayout } from '../zset/trace.ts';
import { encodeRow, type Row, sameValue, type Value } from '../zset/value.ts';
import { addPart } from './row-trace.ts';
import { StatefulBase } from './stateful-base.ts';

export interface SessionWindowSpec {
  /** 1 when rows start with the session key, 0 for one timeline. */
  readonly keyCount: 0 | 1;
  /** The index of the time column in the operator's input rows (its order is the order of `time`). */
  readonly timeCol: number;
  /** The time (microseconds) of a row; never null for rows given to the operator. */
  readonly time: (row: Row) => number;
  /** The inactivity gap, in the time's unit (positive). */
  readonly gap: number;
  /** LATENESS: the time column's waterline, in the same unit as `time` (null while there is none). */
  readonly waterline?: () => number | null;
}

/** A row of a key's integral and its weight (≤ 0: the row is absent). */
interface Entry {
  readonly row: Row;
  weight: number;
}

/** Output rows of one key: encoding → [row, copies]. */
type Output = Map<string, [Row, number]>;

/** A key due for a LATENESS visit once the waterline reaches `at`. */
interface Due {
  readonly at: number;
  readonly id: unknown;
}

export class SessionWindowOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'session-window';
  readonly arity = 1;
  readonly #spec: SessionWindowSpec;
  /** The integral; created with the first row (its arity). */
  #trace: Trace | null = null;
  /**
   * The changes in the trace's head, by key (since the head was last empty): a key's rows are its sealed rows
   * (a prefix scan that does not seal) plus these, so reading a few keys per step never seals the head.
   */
  #headRows = new Map<unknown, Entry[]>();
  /**
   * The notes of the head a checkpoint froze (`snapshot()`), read while the trace reads that head apart
   * (`Trace.frozenApart`: its batch not built yet); dropped once the trace has pushed it.
   */
  #frozenRows: Map<unknown, Entry[]> | null = null;
  /** The waterline of the last LATENESS pass (in memory only: a repeat is a no-op). */
  #prefixAt: number | null = null;
  /** Per key (by its head key): the key value and the waterline it is due at (LATENESS only). */
  readonly #due = new Map<unknown, { key: Value; at: number }>();
  /** Min-heap of due times (an entry whose time is no longer the key's is stale and skipped). */
  readonly #heap: Due[] = [];
  /** After a restore or apply: no due times known; the next LATENESS pass visits every key. */
  #dueUnknown = false;

  constructor(spec: SessionWindowSpec) {
    super(['input']);
    this.#spec = spec;
  }

  #traceFor(arity: number): Trace {
    const { keyCount, timeCol } = this.#spec;
    if (this.#trace === null) {
      // keyed by the whole row: the session key, then the time, then the rest (a key's sealed rows are one prefix
      // scan, in time order; its head rows are in `#headRows`)
      const cols = keyCount === 1 ? [0, timeCol] : [timeCol];
      for (let i = 0; i < arity; i++) if (!cols.includes(i)) cols.push(i);
      this.#trace = new Trace(traceLayout(arity, cols));
    }
    return this.#trace;
  }

  /** Adds a change to the trace and notes it under its key as a head row. */
  #add(trace: Trace, row: Row, w: number): void {
    if (w === 0) return;
    trace.add(row, w);
    const gid = this.#spec.keyCount === 1 ? groupId(row[0] as Value) : '';
    const l = this.#headRows.get(gid);
    if (l === undefined) this.#headRows.set(gid, [{ row, weight: w }]);
    else l.push({ row, weight: w });
  }

  /** Call after anything that may seal the trace: an empty head has no rows to note. */
  #synced(): void {
    if ((this.#trace?.headSize ?? 0) === 0) this.#headRows.clear();
    if ((this.#trace?.frozenRows ?? 0) === 0) this.#frozenRows = null;
  }

  /** Distinct rows held (a scan: for tests and state-size reports). */
  get entryCount(): number {
    let n = 0;
    this.#trace?.scan([], () => {
      n++;
    });
    this.#synced();
    return n;
  }

  /** Keys held (a scan: for tests and state-size reports). */
  get groupCount(): number {
    if (this.#spec.keyCount === 0) return this.entryCount > 0 ? 1 : 0;
    let n = 0;
    let last: Value | undefined;
    this.#trace?.scan([], (row) => {
      const k = row[0] as Value;
      if (n === 0 || !sameValue(k, last as Value)) n++;
      last = k;
    });
    this.#synced();
    return n;
  }

  /** A key's rows in time order (`key` ignored for one timeline). */
  #rowsOf(trace: Trace, key: Value): Entry[] {
    const out: Entry[] = [];
    const collect = (row: Row, weight: number): void => {
      out.push({ row, weight });
    };
    if (this.#spec.keyCount === 0) {
      trace.scan([], collect);
      this.#synced();
      return out;
    }
    // the frozen head stays frozen: its built batch is walked, or (not built yet) its notes are read
    trace.scanSealed([key], collect, true);
    if (trace.frozenApart) {
      const frozen = this.#frozenRows?.get(groupId(key));
      if (frozen !== undefined) for (const e of frozen) this.#addSorted(out, e.row, e.weight);
    }
    const head = this.#headRows.get(groupId(key));
    if (head !== undefined) for (const e of head) this.#addSorted(out, e.row, e.weight);
    return out;
  }

  /** Sorts a key's entries by time (stable: rows of equal time keep their order). */
  #timeOrder(es: Entry[]): void {
    const { time } = this.#spec;
    es.sort((a, b) => time(a.row) - time(b.row));
  }

  /**
   * The output of a key's rows (in time order) for the sessions that reach into [lo - gap, hi + gap): each live
   * row once per copy, with its session's bounds. Changes at times in [lo, hi] leave every other session as it
   * was (its rows, and so its bounds: a row at least `gap` away from a session cannot join it, and removing one
   * cannot split or shorten it), so the step's difference is the difference of these outputs.
   */
  #output(sorted: readonly Entry[], lo: number, hi: number): Output {
    const { time, gap, keyCount } = this.#spec;
    const out: Output = new Map();
    const live = sorted.filter((e) => e.weight > 0);
    let i = 0;
    while (i < live.length) {
      // one session: rows i .. j-1
      let j = i + 1;
      while (j < live.length && time((live[j] as Entry).row) - time((live[j - 1] as Entry).row) < gap) j++;
      const start: Value = time((live[i] as Entry).row);
      const last = time((live[j - 1] as Entry).row);
      const end: Value = last + gap;
      if (last <= lo - gap || start >= hi + gap) {
        i = j;
        continue;
      }
      for (let k = i; k < j; k++) {
        const e = live[k] as Entry;
        const row = [...e.row.slice(keyCount), start, end];
        const enc = encodeRow(row);
        const prev = out.get(enc);
        if (prev) prev[1] += e.weight;
        else out.set(enc, [row, e.weight]);
      }
      i = j;
    }
    return out;
  }

  /** Adds `w` copies of `row` to `sorted` (time order; rows of equal time in any order); weight 0 removes it. */
  #addSorted(sorted: Entry[], row: Row, w: number): void {
    const { time } = this.#spec;
    const t = time(row);
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (time((sorted[mid] as Entry).row) < t) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    for (; i < sorted.length && time((sorted[i] as Entry).row) === t; i++) {
      const e = sorted[i] as Entry;
      if (!sameRowExact(e.row, row)) continue;
      e.weight += w;
      if (e.weight === 0) sorted.splice(i, 1);
      return;
    }
    sorted.splice(i, 0, { row, weight: w });
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const out: Batch = { rows: [], weights: [], consolidated: true };
    const n = b.rows.length;
    const spec = this.#spec;
    const bounded = spec.waterline !== undefined;
    // the waterline this step ends with (the LATENESS filters upstream have moved it already)
    const wl = spec.waterline?.() ?? null;
    if (n > 0) {
      const trace = this.#traceFor((b.rows[0] as Row).length);
      const log = this.logs.input!;
      const keyed = spec.keyCount === 1;
      // the step's changes per key, consolidated per row
      const groups = new Map<unknown, { key: Value; rows: Map<string, Entry> }>();
      for (let i = 0; i < n; i++) {
        const row = b.rows[i] as Row;
        const w = b.weights[i] as number;
        if (w === 0) continue;
        log.record(row, w);
        const key = keyed ? (row[0] as Value) : null;
        const gid = keyed ? groupId(key) : '';
        let g = groups.get(gid);
        if (g === undefined) {
          g = { key, rows: new Map() };
          groups.set(gid, g);
        }
        const rk = encodeRow(row);
        const e = g.rows.get(rk);
        if (e === undefined) g.rows.set(rk, { row, weight: w });
        else e.weight += w;
      }
      const gone: Entry[] = [];
      const walker = wl === null ? null : new ClosedWalker(spec, wl);
      for (const [gid, g] of groups) {
        let lo = Number.POSITIVE_INFINITY;
        let hi = Number.NEGATIVE_INFINITY;
        for (const e of g.rows.values()) {
          if (e.weight === 0) continue;
          const t = spec.time(e.row);
          if (t < lo) lo = t;
          if (t > hi) hi = t;
        }
        if (lo > hi) continue;
        // with LATENESS every key holding rows has a due time: a key without one has none (no scan)
        const held = !bounded || this.#dueUnknown || this.#due.has(gid);
        const sorted = held ? this.#rowsOf(trace, g.key) : [];
        const before = this.#output(sorted, lo, hi);
        for (const e of g.rows.values()) if (e.weight !== 0) this.#addSorted(sorted, e.row, e.weight);
        const now = this.#output(sorted, lo, hi);
        // emitted in encoding order: rows of equal time come in an order that depends on where they sit
        // (batches, a checkpoint's frozen head, the head), which a restore changes; the output must not
        const diffs: Array<[string, Row, number]> = [];
        for (const [enc, [row, c]] of now) {
          const d = c - (before.get(enc)?.[1] ?? 0);
          if (d !== 0) diffs.push([enc, row, d]);
        }
        for (const [enc, [row, c]] of before) if (!now.has(enc)) diffs.push([enc, row, -c]);
        diffs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
        for (const [, row, d] of diffs) push(out, row, d);
        for (const e of g.rows.values()) this.#add(trace, e.row, e.weight);
        if (!bounded) continue;
        if (walker === null) {
          this.#schedule(gid, g.key, Number.NEGATIVE_INFINITY);
          continue;
        }
        // the key's closed sessions go now (its rows are at hand), and it is due again when more can close
        walker.reset();
        for (const e of sorted) if (!walker.add(e.row, e.weight)) break;
        const due = walker.finish(gone);
        if (due === null) this.#due.delete(gid);
        else this.#schedule(gid, g.key, due);
      }
      this.#discard(trace, gone);
      trace.maybeSeal();
      this.#synced();
    }
    if (wl !== null && (this.#prefixAt === null || wl > this.#prefixAt)) {
      this.#prefixAt = wl;
      this.#collect(wl);
    }
    return out;
  }

  /** Removes discarded rows from the state, logged as changes of "input". */
  #discard(trace: Trace, gone: readonly Entry[]): void {
    const log = this.logs.input!;
    for (const e of gone) {
      this.#add(trace, e.row, -e.weight);
      log.record(e.row, -e.weight);
    }
  }

  #schedule(id: unknown, key: Value, at: number): void {
    this.#due.set(id, { key, at });
    const h = this.#heap;
    h.push({ at, id });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as Due).at <= at) break;
      h[i] = h[p] as Due;
      i = p;
    }
    h[i] = { at, id };
  }

  #popDue(): Due | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && (h[r] as Due).at < (h[l] as Due).at ? r : l;
        if ((h[c] as Due).at >= last.at) break;
        h[i] = h[c] as Due;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /**
   * Discards the closed sessions under waterline `wl` (see the header): the keys due, or every key when no due
   * times are known.
   */
  #collect(wl: number): void {
    const trace = this.#trace;
    if (trace === null) return;
    const gone: Entry[] = [];
    const keyed = this.#spec.keyCount === 1;
    if (this.#dueUnknown) {
      // one pass over every key (after a restore or apply), which also learns each key's due time
      this.#due.clear();
      this.#heap.length = 0;
      const walker = new ClosedWalker(this.#spec, wl);
      let key: Value = null;
      let rows: Entry[] = [];
      const finish = (): void => {
        if (rows.length === 0) return;
        this.#timeOrder(rows);
        walker.reset();
        for (const e of rows) if (!walker.add(e.row, e.weight)) break;
        const stop = walker.finish(gone);
        if (stop !== null) this.#schedule(keyed ? groupId(key) : '', key, stop);
        rows = [];
      };
      // in key order: one key's rows after another (sorted by time per key)
      trace.scan([], (row, weight) => {
        const k = keyed ? (row[0] as Value) : null;
        if (rows.length > 0 && keyed && !sameValue(k, key)) finish();
        key = k;
        rows.push({ row, weight });
      });
      finish();
      this.#synced();
      this.#dueUnknown = false;
    } else {
      const walker = new ClosedWalker(this.#spec, wl);
      for (;;) {
        const top = this.#heap[0];
        if (top === undefined || top.at > wl) break;
        this.#popDue();
        const d = this.#due.get(top.id);
        if (d === undefined || d.at !== top.at) continue; // stale
        this.#due.delete(top.id);
        walker.reset();
        for (const e of this.#rowsOf(trace, d.key)) if (!walker.add(e.row, e.weight)) break;
        const stop = walker.finish(gone);
        if (stop !== null) this.#schedule(top.id, d.key, stop);
      }
    }
    if (gone.length === 0) return;
    this.#discard(trace, gone);
    trace.maybeSeal();
    this.#synced();
  }

  snapshot(): StateBatches {
    this.resetLogs();
    if (this.#trace === null) return { input: emptyBatch() };
    // O(1): the head is frozen (the checkpoint builds its batch in slices) and its notes with it
    const parts = this.#trace.capture();
    if (this.#trace.frozenRows > 0) {
      this.#frozenRows = this.#headRows;
      this.#headRows = new Map();
    }
    this.#synced();
    return { input: parts };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#trace?.clear();
    this.#headRows.clear();
    this.#frozenRows = null;
    this.#due.clear();
    this.#heap.length = 0;
    this.apply(parts);
  }

  /** Adds the parts to the integral (sealed batches adopted, plain ones added row by row): O(parts). */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const part of StatefulBase.partsOf(parts, 'input'))
      if (entryCountOf(part) > 0) addPart(part, (arity) => this.#traceFor(arity));
    // plain parts went to the head unnoted: seal them (once per restore or delta), so the head is all noted
    this.#trace?.seal();
    this.#synced();
    this.#dueUnknown = this.#spec.waterline !== undefined;
  }
}

/**
 * Walks one key's rows in time order and finds its closed sessions under waterline `wl`: a session is closed
 * when its last live row's time plus `gap` is at most `wl` (no later row, at or above the waterline, can join
 * it). Rows between two sessions belong to the later one; absent rows (weight ≤ 0) go with the live rows around
 * them. `add` returns false once nothing further can be closed.
 */
class ClosedWalker {
  readonly #time: (row: Row) => number;
  readonly #gap: number;
  readonly #wl: number;
  /** Rows since the last closed session. */
  #buf: Entry[] = [];
  #last: number | null = null;
  /** The time from which a later pass may close more (null: the key has no rows left). */
  #stop: number | null = null;

  constructor(spec: SessionWindowSpec, wl: number) {
    this.#time = spec.time;
    this.#gap = spec.gap;
    this.#wl = wl;
  }

  reset(): void {
    this.#buf = [];
    this.#last = null;
    this.#stop = null;
    this.#closed = [];
  }

  /** Rows of the closed sessions found so far. */
  #closed: Entry[] = [];

  add(row: Row, weight: number): boolean {
    if (this.#stop !== null) return false;
    if (weight > 0) {
      const t = this.#time(row);
      const last = this.#last;
      if (last !== null && t - last >= this.#gap) {
        // a session ended at `last`
        if (last + this.#gap <= this.#wl) {
          for (const e of this.#buf) this.#closed.push(e);
          this.#buf = [];
        } else {
          this.#stop = last;
          return false;
        }
      }
      if (t + this.#gap > this.#wl) {
        // this row's session ends at or after it: not closed, nor anything after it
        this.#stop = t;
        return false;
      }
      this.#last = t;
    }
    this.#buf.push({ row, weight });
    return true;
  }

  /**
   * Moves the closed rows to `gone`; returns the waterline at which the key is due again (null: no rows left).
   */
  finish(gone: Entry[]): number | null {
    if (this.#stop === null) {
      // the end of the key's rows: the last session is closed too (if it has a live row)
      if (this.#last !== null) {
        for (const e of this.#buf) this.#closed.push(e);
        this.#buf = [];
      }
    }
    for (const e of this.#closed) gone.push(e);
    this.#closed = [];
    if (this.#stop !== null) return this.#stop + this.#gap;
    // only absent rows left (weight ≤ 0), or none: nothing to close until live rows come (touched: due again)
    return this.#buf.length > 0 ? Number.POSITIVE_INFINITY : null;
  }
}

/** A session key's identity in the operator's maps (a primitive as it is, as Maps compare them; else its encoding). */
function groupId(key: Value): unknown {
  return typeof key === 'object' && key !== null ? encodeRow([key]) : key;
}

/** Row identity as the trace stores it (key columns by identity, which is how a whole-row key compares). */
function sameRowExact(a: Row, b: Row): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameValue(a[i] as Value, b[i] as Value)) return false;
  return true;
}
