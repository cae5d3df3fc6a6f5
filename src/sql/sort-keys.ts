/**
 * ORDER BY keys compiled once for the operators that order rows in views (top-k of `ORDER BY ... LIMIT`,
 * ranking, window frames): each key's evaluator, direction, NULL placement and value comparator, and one row
 * comparator over them. In views NULL is the smallest value (Feldera) unless `NULLS FIRST/LAST` says otherwise.
 */
import type { Row, Value } from '../zset/value.ts';
import type { Bound, Ev, EvalCtx } from './bound.ts';
import type { Ast } from './source-map.ts';
import { comparatorFor } from './values/compare.ts';

export interface SortKey {
  readonly ev: Ev;
  readonly desc: boolean;
  readonly nullsFirst: boolean;
  readonly cmp: (a: Value, b: Value) => number;
}

/** The key of one `SortBy` node whose expression is already bound (`bound`), evaluated in layout `at`. */
export function sortKey(sortBy: Ast, bound: Bound, at: EvalCtx): SortKey {
  const desc = sortBy.sortby_dir === 'SORTBY_DESC';
  const nullsFirst =
    sortBy.sortby_nulls === 'SORTBY_NULLS_FIRST'
      ? true
      : sortBy.sortby_nulls === 'SORTBY_NULLS_LAST'
        ? false
        : !desc;
  const cmp = comparatorFor(bound.type.kind === 'NULL' ? 'INTEGER' : bound.type.kind);
  return { ev: bound.gen(at), desc, nullsFirst, cmp };
}

/** Orders two rows by `keys` (0 when every key ties). */
export function compareByKeys(keys: readonly SortKey[]): (x: Row, y: Row) => number {
  return (x, y) => {
    for (const k of keys) {
      const a = k.ev(x, x);
      const b = k.ev(y, y);
      if (a === null || b === null) {
        if (a === b) continue;
        return (a === null) === k.nullsFirst ? -1 : 1;
      }
      const r = k.cmp(a, b);
      if (r !== 0) return k.desc ? -r : r;
    }
    return 0;
  };
}
