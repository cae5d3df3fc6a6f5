/**
 * A group's rows as a multiset kept in sort order (the state of the top-k and window-aggregate operators): each
 * distinct row once, with its copies, ordered by the operator's comparator and then by the row's encoding, so
 * the order is total and deterministic. Adding is a binary search plus an array splice.
 */
import { encodeRow, type Row } from '../zset/value.ts';

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
