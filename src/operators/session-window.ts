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
 * recomputed on restore and apply. Every row is kept: sessions are not discarded below a waterline yet.
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
}

export class SessionWindowOperator extends SortedGroupsOperator implements StatefulOperator, Operator {
  readonly kind = 'session-window';
  readonly #spec: SessionWindowSpec;

  constructor(spec: SessionWindowSpec) {
    super(spec.keyCount, (a, b) => spec.time(a) - spec.time(b));
    this.#spec = spec;
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
