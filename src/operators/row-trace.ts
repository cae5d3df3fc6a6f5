/**
 * Helpers for operators whose state is a Z-set of whole rows on a {@link Trace} (distinct, set-op, emit-final):
 * the key is the whole row, optionally with one column moved first (a LATENESS/waterline column, so the rows
 * below a bound are a prefix of the key order), so a point lookup by row is a key lookup and a purge below a
 * waterline is a prefix scan. Stateless: the traces belong to the operators.
 */
import type { Batch } from '../zset/batch.ts';
import { applyPart, Trace, traceLayout } from '../zset/trace.ts';
import type { Row, Value } from '../zset/value.ts';

/** A trace keyed by the whole row of `arity` columns, column `lead` first when given (then the others in order). */
export function wholeRowTrace(arity: number, lead: number | null = null): Trace {
  const cols: number[] = [];
  if (lead !== null && lead < arity) cols.push(lead);
  for (let i = 0; i < arity; i++) if (i !== lead) cols.push(i);
  return new Trace(traceLayout(arity, cols));
}

/**
 * The weight of `row` in a whole-row trace (0 when absent): one key lookup (the head, then the batches whose key
 * range holds it), no row decoded.
 */
export function weightOf(trace: Trace, row: Row): number {
  return trace.weightAt(trace.keyOf(row), row);
}

/** Rows held with a non-zero weight (a consolidated scan: O(state); for tests and state-size reports). */
export function rowCount(trace: Trace | null): number {
  let n = 0;
  if (trace !== null)
    forEachRow(trace, () => {
      n++;
    });
  return n;
}

/** Head size up to which {@link forEachBelow} reads the head as it is instead of sealing it. */
export const HEAD_READ_MAX = 65536;

/**
 * Calls `fn(row, weight)` for every row of `trace` (whose first key column is `col`) with `row[col]` not NULL and
 * below `bound` by `compare` (the batches' rows in key order, then the head's others). For primitive values the key order is SQL order,
 * so the scan of the batches stops at the first value at or above the bound, and starts at `from` when given (a
 * previous bound the caller knows nothing is below: the rows it discarded, not yet merged away, are not walked
 * again): the cost is the rows in between plus O(log n) per batch. Object values (DECIMAL: ordered by their hash
 * key, not by value) and mixed JS types are checked one by one from the first non-NULL key to the end.
 *
 * The head is not sealed while it holds at most {@link HEAD_READ_MAX} changes: its changes in range are read as
 * they are and summed with the batches' by row (a LATENESS pass every step would otherwise seal, and merge, a
 * tiny batch every step); a larger head is sealed first. A head frozen by a checkpoint's capture is not built
 * on the step either: its batch is walked with the others once the checkpoint has built it, and until then its
 * entries in range are read as they are, like the head's.
 */
export function forEachBelow(
  trace: Trace,
  col: number,
  bound: Value,
  compare: (a: Value, b: Value) => number,
  fn: (row: Row, weight: number) => void,
  from: Value = null,
): void {
  const ordered = typeof bound !== 'object' || bound === null;
  const useFrom = ordered && from !== null && typeof from === typeof bound;
  const readHead = trace.headSize <= HEAD_READ_MAX && (trace.headSize > 0 || trace.frozenRows > 0);
  // with the head read apart, a row may sit in both: its parts are summed by key before `fn` sees it
  const parts = readHead ? new Map<unknown, [Row, number]>() : null;
  const emit = (row: Row, w: number): void => {
    if (parts === null) {
      fn(row, w);
      return;
    }
    const k = trace.keyOf(row);
    const e = parts.get(k);
    if (e === undefined) parts.set(k, [row, w]);
    else e[1] += w;
  };
  trace.scanFrom(
    useFrom ? [from] : [false],
    (row, w) => {
      const v = row[col] as Value;
      if (v === null) return undefined;
      if (compare(v, bound) < 0) {
        emit(row, w);
        return undefined;
      }
      // at or above the bound: every later key is too when the key order is the comparator's
      return ordered && typeof v === typeof bound ? false : undefined;
    },
    readHead,
    readHead,
  );
  if (parts === null) return;
  // the (frozen) head's changes in the same range (those below `from` cancel batch rows below it, not read either)
  const inRange = (row: Row, w: number): void => {
    const v = row[col] as Value;
    if (v === null || compare(v, bound) >= 0) return;
    if (useFrom && compare(v, from) < 0) return;
    emit(row, w);
  };
  trace.forEachFrozen(inRange);
  trace.forEachHead(inRange);
  // the batches' rows in key order, then the frozen head's and the head's others (the order depends on where
  // rows sit, so callers whose output order matters sort what they are given: emit-final does)
  for (const [row, w] of parts.values()) if (w !== 0) fn(row, w);
}

/**
 * Calls `fn(row, weight)` for every row of `trace` (consolidated; for a whole-state sweep). Without a frozen head
 * it is a scan (the head sealed first). While a checkpoint's capture has a head frozen, nothing is sealed or
 * built: the batches (with the frozen head's batch once built), then the frozen head's and the head's entries,
 * summed by key (the batches' rows in key order, then the others').
 */
export function forEachRow(trace: Trace, fn: (row: Row, weight: number) => void): void {
  if (trace.frozenRows === 0) {
    trace.scan([], fn);
    return;
  }
  const parts = new Map<unknown, [Row, number]>();
  const add = (row: Row, w: number): void => {
    const k = trace.keyOf(row);
    const e = parts.get(k);
    if (e === undefined) parts.set(k, [row, w]);
    else e[1] += w;
  };
  trace.scanSealed([], add, true);
  trace.forEachFrozen(add);
  trace.forEachHead(add);
  for (const [row, w] of parts.values()) if (w !== 0) fn(row, w);
}

/**
 * Adds a state part to an operator's whole-row trace (`traceFor(arity)`): sealed batches of its layout are
 * adopted, other parts (deltas, checkpoints written before the trace: plain row batches) are added row by row.
 */
export function addPart(part: Batch, traceFor: (arity: number) => Trace): void {
  applyPart(part, traceFor, (trace, b) => {
    for (let i = 0; i < b.rows.length; i++) trace.add(b.rows[i] as Row, b.weights[i] as number);
    trace.maybeSeal();
  });
}
