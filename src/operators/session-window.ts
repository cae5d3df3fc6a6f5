/**
 * session-window: Feldera's `SESSION` table function. Input rows are `[k, r...]` with a session key first (or
 * just `[r...]`: one timeline); each key's rows, ordered by their time column, form sessions: two consecutive
 * rows whose times are less than `gap` apart are in the same session. Every input row comes out once per copy as
 * `[r..., window_start, window_end]`: the time of its session's first row, and that of its last row plus `gap`.
 * Rows with a NULL time are not given to this operator (the planner drops them, as Feldera does).
 *
 * Incrementally (the shared sorted-groups machinery, `sorted-multiset.ts`): a step adds the changes to their
 * key's sorted rows, recomputes that key's sessions and emits the difference from what it emitted before, so a
 * row that joins two sessions retracts both sessions' rows and emits them again with the merged bounds. Cost per
 * touched key: O(its rows).
 *
 * State "input": the integral of the input (distinct rows with weights); the emitted rows are a function of it,
 * recomputed on restore and apply.
 *
 * Bounded state (LATENESS): with `waterline` (of the time column, in the time's unit), a session whose last row
 * is at least `gap` below it is closed: no later row can join it (later rows are at or above the waterline) and
 * its rows can no longer change, so at the end of a step in which the waterline rose, each key's closed sessions
 * (a prefix of its sorted rows) are discarded, logged as a change of "input" (`sorted-multiset.ts`). What was
 * emitted for them stands.
 */
import type { Operator, StatefulOperator } from '../circuit/operator.ts';
import { encodeRow, type Row, type Value } from '../zset/value.ts';
import { type GroupOutput, type SortedEntry, SortedGroupsOperator } from './sorted-multiset.ts';

export interface SessionWindowSpec {
  /** 1 when rows start with the session key, 0 for one timeline. */
  readonly keyCount: 0 | 1;
  /** The time (microseconds) of a row; never null for rows given to the operator. */
  readonly time: (row: Row) => number;
  /** The inactivity gap, in the time's unit (positive). */
  readonly gap: number;
  /** LATENESS: the time column's waterline, in the same unit as `time` (null while there is none). */
  readonly waterline?: () => number | null;
}

export class SessionWindowOperator extends SortedGroupsOperator implements StatefulOperator, Operator {
  readonly kind = 'session-window';
  readonly #spec: SessionWindowSpec;

  constructor(spec: SessionWindowSpec) {
    const wl = spec.waterline;
    super(
      spec.keyCount,
      (a, b) => spec.time(a) - spec.time(b),
      undefined,
      wl === undefined ? undefined : { below: wl, compare: (a, b) => (a as number) - (b as number) },
    );
    this.#spec = spec;
  }

  /** The entries of the sessions closed under waterline `wl` (see the header): a prefix of the sorted rows. */
  protected override closedPrefix(sorted: readonly SortedEntry[], wl: Value): number {
    const { time, gap } = this.#spec;
    const w = wl as number;
    let closedUpTo = 0; // entries before this index belong to closed sessions
    let last: number | null = null; // time of the last live row seen
    for (let i = 0; i < sorted.length; i++) {
      const e = sorted[i] as SortedEntry;
      if (e.weight <= 0) continue;
      const t = time(e.row);
      if (last !== null && t - last >= gap) {
        // a session ended at `last`: closed when nothing at or above the waterline can reach it
        if (last + gap <= w) closedUpTo = i;
        else break;
      }
      last = t;
    }
    if (last !== null && closedUpTo < sorted.length) {
      // the last session (through the end of the rows) may be closed too
      const tail = sorted.slice(closedUpTo).every((e) => e.weight <= 0 || time(e.row) + gap <= w);
      if (tail) closedUpTo = sorted.length;
    }
    return closedUpTo;
  }

  protected output(sorted: readonly SortedEntry[]): GroupOutput {
    const { time, gap, keyCount } = this.#spec;
    const out: GroupOutput = new Map();
    const live = sorted.filter((e) => e.weight > 0);
    let i = 0;
    while (i < live.length) {
      // one session: rows i .. j-1
      let j = i + 1;
      while (
        j < live.length &&
        time((live[j] as SortedEntry).row) - time((live[j - 1] as SortedEntry).row) < gap
      )
        j++;
      const start: Value = time((live[i] as SortedEntry).row);
      const end: Value = time((live[j - 1] as SortedEntry).row) + gap;
      for (let k = i; k < j; k++) {
        const e = live[k] as SortedEntry;
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
}
