/**
 * A group's rows as a multiset kept in sort order (the state of the top-k and window-aggregate operators): each
 * distinct row once, with its copies, ordered by the operator's comparator and then by the row's encoding, so
 * the order is total and deterministic. Adding is a binary search plus an array splice.
 *
 * {@link SortedGroupsOperator} is what those operators share: groups keyed by the leading columns, each with its
 * sorted integral and what was emitted for it; a step adds the changes, recomputes the touched groups' output
 * (the subclass's {@link SortedGroupsOperator.output}, a function of the sorted rows only) and emits the
 * difference. State "input": the integral (distinct rows with weights); the emitted outputs are not saved, since
 * they are a function of the integral, so restore and apply recompute them for the groups they touch.
 * Bounded state (LATENESS): with a `purge`, a group key column has a waterline (a lower bound on it in every
 * later change, `sql/waterline-plan.ts`); at the end of a step in which it rose, every group whose key is below
 * it can never change again and is discarded: its emitted rows stand (nothing is retracted), its rows leave the
 * state, logged as a change of "input", so checkpoints, restore and warm apply agree.
 * A subclass may also discard a closed prefix of each group ({@link SortedGroupsOperator.closedPrefix}, with a
 * `prefixPurge` waterline: session windows, window-agg's RANGE frames): the leading rows go the same way, and the
 * group's `emitted` becomes the output of the rows left, which the subclass guarantees equals what was emitted
 * for them, or differs only for rows whose output no later change can touch (window-agg.ts).
 * Invariant: a group's `emitted` map is exactly the net output the operator has produced for the group.
 */
import type { StateBatches } from '../circuit/operator.ts';
import { type Batch, push } from '../zset/batch.ts';
import { encodeColumns, encodeRow, type Row, type Value } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

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

interface SortedGroup {
  /** Distinct rows of the group in order (weights may be ≤ 0 transiently: those rows are absent). */
  readonly sorted: SortedEntry[];
  /** What the operator has emitted for the group. */
  emitted: GroupOutput;
}

/** Groups of sorted rows with incremental output (see the module header). */
export abstract class SortedGroupsOperator extends StatefulBase {
  readonly arity = 1;
  readonly #groups = new Map<string, SortedGroup>();
  readonly #keyCols: number[];
  readonly #compare: (a: Row, b: Row) => number;
  readonly #purge: GroupPurge | undefined;
  /** The waterline of the last purge (in memory only: a repeat is a no-op). */
  #purgedAt: Value = null;
  readonly #prefixPurge: PrefixPurge | undefined;
  #prefixAt: Value = null;

  protected constructor(
    keyCount: number,
    compare: (a: Row, b: Row) => number,
    purge?: GroupPurge,
    prefixPurge?: PrefixPurge,
  ) {
    super(['input']);
    this.#keyCols = Array.from({ length: keyCount }, (_, i) => i);
    this.#compare = compare;
    this.#purge = purge;
    this.#prefixPurge = prefixPurge;
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
    const log = this.logs.input!;
    for (const [gk, g] of this.#groups) {
      const n = this.closedPrefix(g.sorted, wl);
      if (n <= 0) continue;
      for (const e of g.sorted.splice(0, n)) if (e.weight !== 0) log.record(e.row, -e.weight);
      if (g.sorted.length === 0) this.#groups.delete(gk);
      else g.emitted = this.output(g.sorted);
    }
  }

  /** Groups held (for tests and state-size reports). */
  get groupCount(): number {
    return this.#groups.size;
  }

  /** Distinct rows held over all groups (for tests and state-size reports). */
  get entryCount(): number {
    let n = 0;
    for (const g of this.#groups.values()) n += g.sorted.length;
    return n;
  }

  #collect(p: GroupPurge): void {
    const wl = p.below();
    if (wl === null || (this.#purgedAt !== null && p.compare(wl, this.#purgedAt) <= 0)) return;
    this.#purgedAt = wl;
    const log = this.logs.input!;
    for (const [gk, g] of this.#groups) {
      const first = g.sorted[0];
      const v = first === undefined ? null : (first.row[p.key] as Value);
      if (v === null || p.compare(v, wl) >= 0) continue;
      for (const e of g.sorted) if (e.weight !== 0) log.record(e.row, -e.weight);
      this.#groups.delete(gk);
    }
  }

  /** The output of a group, from its rows in order (a pure function of them). */
  protected abstract output(sorted: readonly SortedEntry[]): GroupOutput;

  /** Adds w copies of row to its group's integral; returns the group's key. */
  #add(row: Row, w: number): string {
    const gk = this.#keyCols.length === 0 ? '' : encodeColumns(row, this.#keyCols);
    let g = this.#groups.get(gk);
    if (g === undefined) {
      g = { sorted: [], emitted: new Map() };
      this.#groups.set(gk, g);
    }
    addSorted(g.sorted, row, w, this.#compare);
    return gk;
  }

  /** Recomputes the touched groups' output and pushes the change against what was emitted into `out`. */
  #refresh(touched: Iterable<string>, out: Batch | null): void {
    for (const gk of touched) {
      const g = this.#groups.get(gk) as SortedGroup;
      const now = this.output(g.sorted);
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
    if (this.#purge !== undefined) this.#collect(this.#purge);
    if (this.#prefixPurge !== undefined) this.#collectPrefixes(this.#prefixPurge);
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

  /** Adds the parts to the integral and recomputes the output of the groups they touch (emitting nothing). */
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
