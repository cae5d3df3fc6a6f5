/**
 * A group's rows as a multiset kept in sort order (the state of the top-k, window-aggregate and session-window
 * operators): each distinct row once, with its copies, ordered by the operator's comparator and then by the row's
 * encoding, so the order is total and deterministic. Adding is a binary search plus an array splice.
 *
 * {@link SortedGroupsOperator} is what those operators share: groups keyed by the leading columns, each with its
 * sorted integral and what was emitted for it; a step adds the changes, recomputes the touched groups' output
 * (the subclass's {@link SortedGroupsOperator.output}, a function of the sorted rows only) and emits the
 * difference.
 *
 * State "input": the integral (distinct rows with weights), held in a scan-only {@link Trace} keyed by the group
 * columns (`scan([group..])` visits one group's rows; a group's rows follow each other in key order). The
 * comparator orders by expressions the operator cannot see as columns, so within a group the trace holds rows in
 * encoding order, not sort order. The trace is what checkpoints write (`snapshot()` returns its sealed batches: a
 * checkpoint writes only batches sealed or merged since the previous one, plus the head, frozen by the capture
 * in O(1) and built in slices off the step, `Trace.capture`; a restore adopts decoded batches). The
 * per-group sorted arrays and emitted outputs are an in-memory cache derived from it: every change goes to both;
 * restore rebuilds the cache from the adopted batches (rows grouped, sorted once per group), and the emitted
 * outputs are recomputed (a function of the integral). Checkpoints written before the trace (plain row batches
 * under "input", the same rows) still restore: their rows are added to the trace and the cache.
 *
 * Bounded state (LATENESS): with a `purge`, a group key column has a waterline (a lower bound on it in every
 * later change, `sql/waterline-plan.ts`); at the end of a step in which it rose, every group whose key is below
 * it can never change again and is discarded: its emitted rows stand (nothing is retracted), its rows leave the
 * state (retracted from the trace), logged as a change of "input", so checkpoints, restore and warm apply agree.
 * A subclass may also discard a closed prefix of each group ({@link SortedGroupsOperator.closedPrefix}, with a
 * `prefixPurge` waterline: window-agg's RANGE frames): the leading rows go the same way, and the group's
 * `emitted` becomes the output of the rows left, which the subclass guarantees equals what was emitted for them,
 * or differs only for rows whose output no later change can touch (window-agg.ts).
 * And a subclass may discard a closed suffix of each group ({@link SortedGroupsOperator.closedSuffix}, with a
 * `suffixPurge` waterline: top-k ordered by a column with a waterline): trailing rows that can never enter the
 * output again, whatever later changes bring, go the same way (logged, retracted from the trace), and the
 * group's `emitted` stays as it is (the subclass guarantees those rows are not in the output). Checked at the end
 * of every step for the groups the step changed, and for every group when the waterline rose.
 * A subclass may bound the cache ({@link SortedGroupsOperator.cacheSlack}: only each group's first rows in memory,
 * reloaded from the trace when they no longer cover the output) and drop the per-group `emitted` map
 * ({@link SortedGroupsOperator.derivedOutput}: recomputed from the cached rows when a step first touches a group).
 * With a derived output and no group purge, groups also leave the cache (evicting): a group no step touched in
 * the last few steps, whose changes are all in sealed batches (the operator seals a head past 131,072 changes, and
 * counts seals), is dropped from memory; a change that reaches a group not cached first reads its rows from the
 * sealed batches (a binary search per batch; the head holds none of them). Groups a rising waterline must visit
 * (a closed suffix: more entries than the floor) stay, and so do groups of more than 1,024 rows. Restore then caches only those; warm apply seals what it
 * added and drops the groups it touched. Which groups are cached never changes the output or the trace.
 * Invariants: a group's `emitted` map (or, when derived, the output of its cached rows at the start of a step) is
 * exactly the net output the operator has produced for the group; the trace's content equals the sum of the
 * groups' rows (when a group is partial: its cached entries plus the trace's rows after them).
 */
import type { StateBatches } from '../circuit/operator.ts';
import { type Batch, emptyBatch, push } from '../zset/batch.ts';
import { FileBatch } from '../zset/batch-file.ts';
import { entryCountOf, sameLayout, Trace, TraceBatch, traceBatchesOf, traceLayout } from '../zset/trace.ts';
import { encodeColumns, encodeRow, type Row, sameValue, type Value } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

/** A sealed trace batch in memory or in a file (adopted as it is by a trace of its layout). */
function isSealedBatch(b: Batch): b is TraceBatch | FileBatch {
  return b instanceof TraceBatch || b instanceof FileBatch;
}

export interface SortedEntry {
  readonly row: Row;
  readonly enc: string;
  weight: number;
}

/** Adds `w` copies of `row` to `sorted` (ordered by `compare`, ties by encoding); a weight of 0 removes it. */
export function addSorted(
  sorted: SortedEntry[],
  row: Row,
  w: number,
  compare: (a: Row, b: Row) => number,
): void {
  const probe: SortedEntry = { row, enc: encodeRow(row), weight: w };
  const order = (a: SortedEntry): number => {
    const c = compare(a.row, probe.row);
    if (c !== 0) return c;
    return a.enc < probe.enc ? -1 : a.enc > probe.enc ? 1 : 0;
  };
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (order(sorted[mid] as SortedEntry) < 0) lo = mid + 1;
    else hi = mid;
  }
  const at = sorted[lo];
  if (at !== undefined && at.enc === probe.enc) {
    at.weight += w;
    if (at.weight === 0) sorted.splice(lo, 1);
  } else if (w !== 0) sorted.splice(lo, 0, probe);
}

/** Discard groups whose key column `key` (an index among the key columns) is below `below()`. */
export interface GroupPurge {
  readonly key: number;
  readonly below: () => Value;
  readonly compare: (a: Value, b: Value) => number;
}

/** A waterline for {@link SortedGroupsOperator.closedPrefix} (its meaning is the subclass's). */
export interface PrefixPurge {
  readonly below: () => Value;
  readonly compare: (a: Value, b: Value) => number;
}

/** An operator's output for one group: row encoding → [row, copies]. */
export type GroupOutput = Map<string, [Row, number]>;

const EMPTY_OUTPUT: GroupOutput = new Map();

interface SortedGroup {
  /** The group key's values (the trace's key prefix: a {@link SortedGroupsOperator.cacheSlack} reload scans it). */
  readonly key: Row;
  /**
   * Distinct rows of the group in order (weights may be ≤ 0 transiently: those rows are absent). When `partial`,
   * only the first of them: every row of the group in the trace and not here sorts after the last entry.
   */
  sorted: SortedEntry[];
  /** Whether the trace holds rows of the group after `sorted` (only with a {@link SortedGroupsOperator.cacheSlack}). */
  partial: boolean;
  /**
   * What the operator has emitted for the group; null with a {@link SortedGroupsOperator.derivedOutput} (it is
   * then `output(sorted)` whenever a step starts, computed when the step first touches the group).
   */
  emitted: GroupOutput | null;
  /** {@link SortedGroupsOperator.horizon} of the group as of its last refresh (null: every change matters). */
  horizon: SortedEntry | null;
  /** With a cache slack: the entries up to the horizon (its ties included) as of the last refresh, or 0. */
  keep: number;
  /** When evicting: the step that last touched the group (its cache age). */
  seen: number;
  /** When evicting: the operator's seal epoch at the group's last change (sealed once the epoch has moved on). */
  epoch: number;
  /**
   * Rows of the group in the trace and not in `sorted` (a partial group's, counted as they are cut or bypass
   * the cache; an estimate, never below the truth): a group larger than {@link EVICT_ROWS_MAX} is not evicted.
   */
  extra: number;
}

/**
 * When evicting: a cached group untouched for more than this many steps leaves the cache once its changes are
 * sealed (its rows stay in the trace; a later change reads them back from the sealed batches).
 */
const CACHE_STEPS = 4;
/**
 * When evicting: the head is sealed once it holds this many changes, so that groups leave the cache soon after
 * their last change (a group with changes in the head stays cached: reads of a group skip the head).
 */
const EVICT_HEAD_MAX = 1 << 17;
/**
 * When evicting: a group of more rows than this stays cached (a partial group caches only its first rows, so
 * evicting it would save little, and reading it back costs all its rows).
 */
const EVICT_ROWS_MAX = 1024;

/** Groups of sorted rows with incremental output (see the module header). */
export abstract class SortedGroupsOperator extends StatefulBase {
  readonly arity = 1;
  /** The cache: group key → its sorted rows and emitted output (derived from the trace). */
  readonly #groups = new Map<string, SortedGroup>();
  /** State "input": the integral, keyed by the group columns; created on the first row (its arity). */
  #trace: Trace | null = null;
  readonly #keyCols: number[];
  readonly #compare: (a: Row, b: Row) => number;
  readonly #purge: GroupPurge | undefined;
  /** The waterline of the last purge (in memory only: a repeat is a no-op). */
  #purgedAt: Value = null;
  readonly #prefixPurge: PrefixPurge | undefined;
  #prefixAt: Value = null;
  readonly #suffixPurge: PrefixPurge | undefined;
  #suffixAt: Value = null;
  /** {@link SortedGroupsOperator.cacheSlack}, read once (after the subclass's constructor has run: lazily). */
  #slackRead = false;
  #slackValue: number | null = null;

  #derivedRead = false;
  #derivedValue = false;
  /** Steps run by this instance (in memory only: the age of cached groups). */
  #stepNo = 0;
  /** Seals of the trace seen by this instance: a group whose `epoch` is older has every change sealed. */
  #epoch = 0;

  get #derived(): boolean {
    if (!this.#derivedRead) {
      this.#derivedValue = this.#prefixPurge === undefined && this.derivedOutput();
      this.#derivedRead = true;
    }
    return this.#derivedValue;
  }

  get #slack(): number | null {
    if (!this.#slackRead) {
      this.#slackValue =
        this.#prefixPurge === undefined && this.#suffixPurge === undefined ? this.cacheSlack() : null;
      this.#slackRead = true;
    }
    return this.#slackValue;
  }

  protected constructor(
    keyCount: number,
    compare: (a: Row, b: Row) => number,
    purge?: GroupPurge,
    prefixPurge?: PrefixPurge,
    suffixPurge?: PrefixPurge,
  ) {
    super(['input']);
    this.#keyCols = Array.from({ length: keyCount }, (_, i) => i);
    this.#compare = compare;
    this.#purge = purge;
    this.#prefixPurge = prefixPurge;
    this.#suffixPurge = suffixPurge;
  }

  #traceFor(arity: number): Trace {
    this.#trace ??= new Trace(traceLayout(arity, this.#keyCols), { indexed: false });
    return this.#trace;
  }

  /**
   * Whether groups leave the cache (see {@link CACHE_STEPS}): when the cache is derived from the trace alone (a
   * {@link derivedOutput}, no group purge, which visits the cached groups) and there are group keys. The cache
   * then holds the groups the last steps touched or whose changes are not sealed yet, plus (with a closed
   * suffix) the groups longer than {@link suffixFloor}, which a rising waterline must visit; every other group
   * lives in the trace's sealed batches only (q18: one row per partition; q19 and q9: auctions no bid reaches
   * any more) and is read back from them (a binary search per batch) when a change reaches it.
   */
  get #evicting(): boolean {
    return this.#derived && this.#purge === undefined && this.#keyCols.length > 0;
  }

  /** Removes an entry's copies from the state (a purge): logged, and retracted from the trace. */
  #drop(e: SortedEntry): void {
    if (e.weight === 0) return;
    this.logs.input!.record(e.row, -e.weight);
    this.#trace?.add(e.row, -e.weight);
  }

  /**
   * How many leading entries of a group's sorted rows can never change the output again under waterline `wl`
   * (with a `prefixPurge`); removing them must leave the output of the rest as it was. Default: none.
   */
  protected closedPrefix(_sorted: readonly SortedEntry[], _wl: Value): number {
    return 0;
  }

  #collectPrefixes(p: PrefixPurge): void {
    const wl = p.below();
    if (wl === null || (this.#prefixAt !== null && p.compare(wl, this.#prefixAt) <= 0)) return;
    this.#prefixAt = wl;
    for (const [gk, g] of this.#groups) {
      const n = this.closedPrefix(g.sorted, wl);
      if (n <= 0) continue;
      for (const e of g.sorted.splice(0, n)) this.#drop(e);
      if (g.sorted.length === 0) this.#groups.delete(gk);
      else {
        if (g.emitted !== null) g.emitted = this.output(g.sorted);
        g.horizon = this.horizon(g.sorted);
      }
    }
  }

  /**
   * How many trailing entries of a group's sorted rows can never be part of the output again, whatever later
   * changes bring, under waterline `wl` (with a `suffixPurge`); they must not be in the current output either.
   * Default: none.
   */
  protected closedSuffix(_sorted: readonly SortedEntry[], _wl: Value): number {
    return 0;
  }

  /** Drops the closed suffixes of the groups `changed` (of every group when the waterline rose). */
  #collectSuffixes(p: PrefixPurge, changed: Set<string>): void {
    const wl = p.below();
    if (wl === null) return;
    const rose = this.#suffixAt === null || p.compare(wl, this.#suffixAt) > 0;
    if (rose) this.#suffixAt = wl;
    const visit = (gk: string, g: SortedGroup): void => {
      const n = this.closedSuffix(g.sorted, wl);
      if (n <= 0) return;
      for (const e of g.sorted.splice(g.sorted.length - n, n)) this.#drop(e);
      g.epoch = this.#epoch; // changes in the head: not evicted before they are sealed
      g.horizon = this.horizon(g.sorted);
      if (g.sorted.length === 0 && !this.#evicting) this.#groups.delete(gk);
    };
    // when the waterline rose: the groups with more entries than the floor (found in every group after a
    // restore or apply, then kept up to date from the changed groups), not every group at every step
    const floor = this.suffixFloor();
    const keys = rose ? (this.#longAll ? [...this.#groups.keys()] : [...this.#long, ...changed]) : changed;
    if (rose) {
      this.#longAll = false;
      this.#long.clear();
    }
    for (const gk of keys) {
      const g = this.#groups.get(gk);
      if (g === undefined) continue;
      visit(gk, g);
      if (g.sorted.length > floor && this.#groups.has(gk)) this.#long.add(gk);
    }
  }

  /** Groups with more entries than the floor, for {@link SortedGroupsOperator.suffixFloor} (a superset). */
  readonly #long = new Set<string>();
  /** Whether `#long` must be rebuilt from every group (after a restore or apply). */
  #longAll = true;

  /**
   * A group with at most this many entries has no closed suffix whatever the waterline (so a rising waterline
   * need not visit it). Default: 0 (every group is visited).
   */
  protected suffixFloor(): number {
    return 0;
  }

  /** Groups held in memory (the cache; an evicted group is in the trace only; for tests and state-size reports). */
  get groupCount(): number {
    return this.#groups.size;
  }

  /**
   * Groups with rows in the state (the trace), cached or not (for tests: walks every row; the head is read as it
   * is, not sealed).
   */
  get stateGroupCount(): number {
    const trace = this.#trace;
    if (trace === null) return 0;
    const net = new Map<string, [string, number]>();
    const add = (row: Row, w: number): void => {
      const enc = encodeRow(row);
      const e = net.get(enc);
      if (e === undefined) net.set(enc, [this.#groupKey(row), w]);
      else e[1] += w;
    };
    trace.scanSealed([], add);
    trace.forEachHead(add);
    const groups = new Set<string>();
    for (const [gk, w] of net.values()) if (w > 0) groups.add(gk);
    return groups.size;
  }

  /** Distinct rows held in memory over the cached groups (for tests and state-size reports). */
  get entryCount(): number {
    let n = 0;
    for (const g of this.#groups.values()) n += g.sorted.length;
    return n;
  }

  /** Entries in the trace (head plus sealed batches; for tests and state-size reports). */
  get traceEntryCount(): number {
    return this.#trace?.entryCount ?? 0;
  }

  #collect(p: GroupPurge): void {
    const wl = p.below();
    if (wl === null || (this.#purgedAt !== null && p.compare(wl, this.#purgedAt) <= 0)) return;
    this.#purgedAt = wl;
    for (const [gk, g] of this.#groups) {
      const first = g.sorted[0];
      const v = first === undefined ? null : (first.row[p.key] as Value);
      if (v === null || p.compare(v, wl) >= 0) continue;
      for (const e of g.partial ? this.#load(g) : g.sorted) this.#drop(e);
      this.#groups.delete(gk);
    }
  }

  /**
   * An entry of the group's sorted rows such that the output is a function of the entries up to it alone (a
   * top-k window filled before its end): a change of a row {@link beyond} it cannot change the output, so a
   * step whose changes to a group all lie beyond it skips the group's refresh. Null: every change matters (the
   * default).
   */
  protected horizon(_sorted: readonly SortedEntry[]): SortedEntry | null {
    return null;
  }

  /** Whether a change of `row` lies beyond horizon entry `h`. Default: after it in the total order. */
  protected beyond(row: Row, h: SortedEntry): boolean {
    const c = this.#compare(row, h.row);
    return c > 0 || (c === 0 && encodeRow(row) > h.enc);
  }

  /** The output of a group, from its rows in order (a pure function of them). */
  protected abstract output(sorted: readonly SortedEntry[]): GroupOutput;

  #groupKey(row: Row): string {
    return this.#keyCols.length === 0 ? '' : encodeColumns(row, this.#keyCols);
  }

  #group(gk: string, row: Row): SortedGroup {
    let g = this.#groups.get(gk);
    if (g === undefined) {
      g = {
        key: row.slice(0, this.#keyCols.length),
        sorted: [],
        partial: false,
        emitted: this.#derived ? null : new Map(),
        horizon: null,
        keep: 0,
        seen: this.#stepNo,
        epoch: this.#epoch,
        extra: 0,
      };
      // evicting: a group not cached may have rows in the trace, all sealed (read before the step adds to it)
      if (this.#evicting && this.#trace !== null) {
        g.sorted = this.#load(g, true);
        g.horizon = this.horizon(g.sorted);
        this.#bound(g);
      }
      this.#groups.set(gk, g);
    } else if (g.seen !== this.#stepNo && this.#evicting) {
      // most recently touched last: eviction walks the cache from its start
      g.seen = this.#stepNo;
      this.#groups.delete(gk);
      this.#groups.set(gk, g);
    }
    return g;
  }

  /**
   * Evicting: drops the groups no step touched in the last {@link CACHE_STEPS} (the cache's oldest, first in
   * its order) whose changes are all sealed; those with changes in the head, those a rising waterline must
   * visit (more entries than {@link suffixFloor}) and those of more than {@link EVICT_ROWS_MAX} rows move to the
   * end as if touched.
   */
  #evict(): void {
    const oldest = this.#stepNo - CACHE_STEPS;
    const floor = this.#suffixPurge === undefined ? Number.POSITIVE_INFINITY : this.suffixFloor();
    let left = this.#groups.size;
    for (const [gk, g] of this.#groups) {
      if (left-- === 0 || g.seen > oldest) break;
      this.#groups.delete(gk);
      if (g.sorted.length > floor || g.epoch >= this.#epoch || g.sorted.length + g.extra > EVICT_ROWS_MAX) {
        g.seen = this.#stepNo;
        this.#groups.set(gk, g);
      }
    }
  }

  /** Evicting: seals a head past {@link EVICT_HEAD_MAX} (else as the trace decides) and counts the seal. */
  #sealEvicting(trace: Trace): void {
    const had = trace.headSize;
    if (had >= EVICT_HEAD_MAX) trace.seal();
    else trace.maybeSeal();
    // a seal pushes a checkpoint's frozen head too: every change so far is in a sealed batch
    if (had > 0 && trace.headSize === 0) this.#epoch++;
  }

  /**
   * Bounded cache (top-k: a window of N rows needs only the first rows of each group in memory; the others stay
   * in the trace, compact): how many entries past the horizon a group keeps in memory, or null to keep every row
   * (the default). A group whose cache grows past its horizon by twice the slack is cut back to the horizon plus
   * the slack ({@link SortedGroupsOperator.covers}); one whose cached rows no longer cover its output (deletions)
   * is reloaded from the trace. Not combined with closed prefixes or suffixes.
   */
  protected cacheSlack(): number | null {
    return null;
  }

  /**
   * Whether the output last emitted for a group is always `output(sorted)` of its cached rows at the start of a
   * step (no closed prefix rewrites it; changes beyond the horizon leave it as it is): then it is not kept per
   * group but recomputed when a step first touches the group (memory: one map and its output rows per group).
   * Default: no.
   */
  protected derivedOutput(): boolean {
    return false;
  }

  /**
   * Whether rows `sorted` (the first rows of a group, horizon `h`) determine the group's output and horizon
   * whatever rows follow them. Default: yes (the horizon is in them; rows after it are beyond it).
   */
  protected covers(_sorted: readonly SortedEntry[], _h: SortedEntry): boolean {
    return true;
  }

  /** Adds a change to the group's cache, or leaves it to the trace alone (a partial group's row after the cache). */
  #cacheAdd(g: SortedGroup, row: Row, w: number): boolean {
    if (g.partial) {
      const last = g.sorted[g.sorted.length - 1];
      if (last === undefined) {
        g.extra++;
        return false;
      }
      const c = this.#compare(row, last.row);
      if (c > 0 || (c === 0 && encodeRow(row) > last.enc)) {
        g.extra++;
        return false;
      }
    }
    addSorted(g.sorted, row, w, this.#compare);
    return true;
  }

  /** Cuts a group's cache back to its horizon (ties included) plus the slack; the rest stays in the trace. */
  #trim(g: SortedGroup): void {
    const n = g.keep + (this.#slack as number);
    if (g.keep === 0 || g.sorted.length <= n) return;
    g.extra += g.sorted.length - n;
    g.sorted.length = n;
    g.partial = true;
  }

  /**
   * The group's rows, all of them, from the trace (consolidated, in order). `sealed`: from the sealed batches
   * alone, the head neither read nor sealed (a group none of whose changes is in the head: an evicted one).
   */
  #load(g: SortedGroup, sealed = false): SortedEntry[] {
    const sorted: SortedEntry[] = [];
    const add = (row: Row, weight: number): void => {
      if (weight !== 0) sorted.push({ row, enc: encodeRow(row), weight });
    };
    if (sealed) this.#trace?.scanSealed(g.key, add, true);
    else this.#trace?.scan(g.key, add);
    const cmp = this.#compare;
    sorted.sort((a, b) => cmp(a.row, b.row) || (a.enc < b.enc ? -1 : a.enc > b.enc ? 1 : 0));
    return sorted;
  }

  /** After a refresh: the cache bound of a group from its horizon, and the cut when it is past it. */
  #bound(g: SortedGroup): void {
    const h = g.horizon;
    if (this.#slack === null || h === null) {
      g.keep = 0;
      return;
    }
    let i = g.sorted.indexOf(h) + 1;
    while (i < g.sorted.length && !this.beyond((g.sorted[i] as SortedEntry).row, h)) i++;
    g.keep = i;
    if (g.sorted.length > g.keep + 2 * this.#slack) this.#trim(g);
  }

  /**
   * Adds many changes to the cache (restore and apply): a group that was empty is built by consolidating its
   * changes and sorting them once; changes to a group already held are added one by one.
   */
  #addAll(rows: readonly Row[], weights: ArrayLike<number>, touched: Set<string>): void {
    const fresh = new Map<string, Map<string, SortedEntry>>();
    for (let i = 0; i < rows.length; i++) {
      const w = weights[i] as number;
      if (w === 0) continue;
      const row = rows[i] as Row;
      const gk = this.#groupKey(row);
      touched.add(gk);
      let pending = fresh.get(gk);
      if (pending === undefined) {
        const g = this.#groups.get(gk);
        if (g !== undefined && (g.sorted.length > 0 || g.partial)) {
          this.#cacheAdd(g, row, w);
          continue;
        }
        pending = new Map();
        fresh.set(gk, pending);
      }
      const enc = encodeRow(row);
      const e = pending.get(enc);
      if (e === undefined) pending.set(enc, { row, enc, weight: w });
      else e.weight += w;
    }
    const cmp = this.#compare;
    for (const [gk, pending] of fresh) {
      const sorted: SortedEntry[] = [];
      for (const e of pending.values()) if (e.weight !== 0) sorted.push(e);
      sorted.sort((a, b) => cmp(a.row, b.row) || (a.enc < b.enc ? -1 : a.enc > b.enc ? 1 : 0));
      const g = this.#group(gk, (pending.values().next().value as SortedEntry).row);
      g.sorted = sorted;
    }
  }

  /** Recomputes the touched groups' output and pushes the change against what was emitted into `out`. */
  #refresh(
    touched: Iterable<string>,
    out: Batch | null,
    before: ReadonlyMap<string, GroupOutput> | null = null,
  ): void {
    for (const gk of touched) {
      const g = this.#groups.get(gk);
      if (g === undefined) continue;
      if (g.partial) {
        const h = this.horizon(g.sorted);
        if (h === null || !this.covers(g.sorted, h)) {
          g.sorted = this.#load(g);
          g.partial = false;
          g.extra = 0;
        }
      }
      const now = this.output(g.sorted);
      if (out !== null) {
        const was = g.emitted ?? before?.get(gk) ?? EMPTY_OUTPUT;
        for (const [enc, [row, n]] of now) {
          const d = n - (was.get(enc)?.[1] ?? 0);
          if (d !== 0) push(out, row, d);
        }
        for (const [enc, [row, n]] of was) if (!now.has(enc)) push(out, row, -n);
      }
      if (g.emitted !== null) g.emitted = now;
      g.horizon = this.horizon(g.sorted);
      if (g.sorted.length === 0 && !g.partial && !this.#evicting) this.#groups.delete(gk);
      else this.#bound(g);
    }
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const log = this.logs.input!;
    const touched = new Set<string>();
    const changed = this.#suffixPurge === undefined ? null : new Set<string>();
    const before = this.#derived ? new Map<string, GroupOutput>() : null;
    const n = b.rows.length;
    const trace = n === 0 ? this.#trace : this.#traceFor((b.rows[0] as Row).length);
    for (let i = 0; i < n; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      if (w === 0) continue;
      log.record(row, w);
      const gk = this.#groupKey(row);
      const g = this.#group(gk, row); // before the trace has the change (an evicted group is read from it)
      (trace as Trace).add(row, w);
      g.epoch = this.#epoch;
      // a change beyond the group's horizon leaves its output as it is: no refresh
      const beyond = g.horizon !== null && this.beyond(row, g.horizon);
      if (!beyond && !touched.has(gk)) {
        touched.add(gk);
        before?.set(gk, this.output(g.sorted)); // what was emitted: the output before the step's first change
      }
      changed?.add(gk);
      if (!this.#cacheAdd(g, row, w) || !beyond) continue;
      if (this.#slack !== null && g.sorted.length > g.keep + 2 * this.#slack) this.#trim(g);
    }
    const out: Batch = { rows: [], weights: [], consolidated: true };
    this.#refresh(touched, out, before);
    if (this.#purge !== undefined) this.#collect(this.#purge);
    if (this.#prefixPurge !== undefined) this.#collectPrefixes(this.#prefixPurge);
    if (this.#suffixPurge !== undefined) this.#collectSuffixes(this.#suffixPurge, changed as Set<string>);
    if (this.#evicting && trace !== null) {
      this.#sealEvicting(trace);
      this.#evict();
    } else trace?.maybeSeal();
    this.#stepNo++;
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    // O(1): the head is frozen and the checkpoint builds its batch in slices (`Trace.capture`); a step only adds
    // to the trace (the cache answers its reads), so nothing builds it on the step before the next seal
    return { input: this.#trace === null ? emptyBatch() : this.#trace.capture() };
  }

  /**
   * Clears, then loads the parts into the trace (sealed batches adopted as they are, plain rows added) and
   * rebuilds the cache from one scan of it: the scan visits the groups one after another, each group's rows
   * consolidated across batches, so each group is one sort.
   */
  restore(parts: Record<string, readonly Batch[]>): void {
    this.#groups.clear();
    this.#suffixAt = null;
    this.#longAll = true;
    this.#trace?.clear();
    for (const part of StatefulBase.partsOf(parts, 'input'))
      for (const tb of traceBatchesOf(part) ?? [part]) {
        if (entryCountOf(tb) === 0) continue;
        const trace = this.#traceFor(isSealedBatch(tb) ? tb.layout.arity : (tb.rows[0] as Row).length);
        if (isSealedBatch(tb) && sameLayout(tb.layout, trace.layout)) trace.adopt(tb);
        else {
          const rows = tb.rows;
          const ws = tb.weights;
          for (let i = 0; i < rows.length; i++) trace.add(rows[i] as Row, ws[i] as number);
        }
      }
    const trace = this.#trace;
    if (trace === null) return;
    trace.seal(false); // the plain rows (deltas) join as one batch; merging waits for the next seal
    this.#epoch++;
    // evicting: groups are read from the trace when a step touches them; only those a rising waterline must
    // visit (more entries than the suffix floor) are cached now
    const floor = this.#suffixPurge === undefined ? null : this.suffixFloor();
    if (this.#evicting && floor === null) return;
    const kc = this.#keyCols.length;
    const cmp = this.#compare;
    let prev: Row | null = null;
    let sorted: SortedEntry[] = [];
    const close = (): void => {
      if (sorted.length === 0 || prev === null) return;
      if (this.#evicting && sorted.length <= (floor as number)) {
        sorted = [];
        return;
      }
      sorted.sort((a, b) => cmp(a.row, b.row) || (a.enc < b.enc ? -1 : a.enc > b.enc ? 1 : 0));
      const g: SortedGroup = {
        key: prev.slice(0, kc),
        sorted,
        partial: false,
        emitted: this.#derived ? null : this.output(sorted),
        horizon: this.horizon(sorted),
        keep: 0,
        seen: this.#stepNo,
        epoch: this.#epoch - 1,
        extra: 0,
      };
      this.#bound(g);
      this.#groups.set(this.#groupKey(prev), g);
      sorted = [];
    };
    trace.scan([], (row, weight) => {
      if (prev !== null) {
        let same = true;
        for (let c = 0; c < kc && same; c++) same = sameValue(prev[c] as Value, row[c] as Value);
        if (!same) close();
      }
      prev = row;
      sorted.push({ row, enc: encodeRow(row), weight });
    });
    close();
  }

  /**
   * Adds the parts to the integral (sealed batches of the trace's layout are adopted as they are; plain batches,
   * deltas and checkpoints written before the trace, are added row by row), adds their rows to the cache and
   * recomputes the output of the groups they touch (emitting nothing).
   */
  apply(parts: Record<string, readonly Batch[]>): void {
    if (this.#evicting) {
      this.#applyEvicting(parts);
      return;
    }
    const touched = new Set<string>();
    this.#longAll = true;
    for (const part of StatefulBase.partsOf(parts, 'input')) {
      const sealed = traceBatchesOf(part);
      for (const tb of sealed ?? [part]) {
        const n = entryCountOf(tb);
        if (n === 0) continue;
        const trace = this.#traceFor(isSealedBatch(tb) ? tb.layout.arity : (tb.rows[0] as Row).length);
        if (isSealedBatch(tb) && sameLayout(tb.layout, trace.layout)) {
          // the batch joins the trace as it is; its rows (decoded once, not kept by the batch) fill the cache
          trace.adopt(tb);
          const rows: Row[] = new Array(n);
          for (let i = 0; i < n; i++) rows[i] = tb.row(i);
          this.#addAll(
            rows,
            tb instanceof TraceBatch ? tb.wts : Array.from({ length: n }, (_, i) => tb.weight(i)),
            touched,
          );
          continue;
        }
        const rows = tb.rows;
        const ws = tb.weights;
        for (let i = 0; i < rows.length; i++) trace.add(rows[i] as Row, ws[i] as number);
        this.#addAll(rows, ws, touched);
      }
    }
    this.#trace?.maybeSeal();
    this.#refresh(touched, null);
  }

  /**
   * {@link apply} when evicting: the parts join the trace (sealed, so that every group can be read from the
   * sealed batches), and the groups they touch leave the cache (read back when a step touches them), except
   * those longer than the suffix floor (re-read now: a rising waterline must visit them). The output is
   * derived: nothing else to recompute.
   */
  #applyEvicting(parts: Record<string, readonly Batch[]>): void {
    const touched = new Map<string, Row>();
    const note = (row: Row): void => {
      const gk = this.#groupKey(row);
      if (!touched.has(gk)) touched.set(gk, row.slice(0, this.#keyCols.length));
    };
    for (const part of StatefulBase.partsOf(parts, 'input'))
      for (const tb of traceBatchesOf(part) ?? [part]) {
        const n = entryCountOf(tb);
        if (n === 0) continue;
        const trace = this.#traceFor(isSealedBatch(tb) ? tb.layout.arity : (tb.rows[0] as Row).length);
        if (isSealedBatch(tb) && sameLayout(tb.layout, trace.layout)) {
          trace.adopt(tb);
          for (let i = 0; i < n; i++) note(tb.row(i));
          continue;
        }
        const rows = tb.rows;
        const ws = tb.weights;
        for (let i = 0; i < rows.length; i++) {
          trace.add(rows[i] as Row, ws[i] as number);
          note(rows[i] as Row);
        }
      }
    this.#longAll = true;
    if (this.#trace === null) return;
    this.#trace.seal();
    this.#epoch++;
    const floor = this.#suffixPurge === undefined ? null : this.suffixFloor();
    for (const [gk, key] of touched) {
      this.#groups.delete(gk);
      if (floor === null) continue;
      const g = this.#group(gk, key);
      g.epoch = this.#epoch - 1;
      if (g.sorted.length <= floor) this.#groups.delete(gk);
    }
  }
}
