/**
 * Order facts the binder attaches to bound expressions, for discarding state under LATENESS
 * (`waterline-plan.ts`): an ordering comparison records `l op r` ({@link Bound.order}; BETWEEN records its two
 * halves), and a column shifted by a constant (`ts - INTERVAL '10' SECOND`, `n + 5`) stays non-decreasing in
 * that column ({@link Bound.monotoneOf}), so a lower bound (waterline) of the column maps to one of the
 * expression. The facts never change what an expression computes.
 *
 * State: none.
 */
import type { Value } from '../zset/value.ts';
import type { Bound, OrderFact } from './bound.ts';

const ORDER_OPS: ReadonlySet<string> = new Set(['<', '<=', '>', '>=']);
/** Result kinds where `x ± constant` is non-decreasing in x (TIME wraps at midnight: not listed). */
const SHIFTABLE: ReadonlySet<string> = new Set([
  'TIMESTAMP',
  'DATE',
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'DECIMAL',
  'REAL',
  'DOUBLE',
]);

/** `res` (the comparison `a op b`) with its order fact, for `<`, `<=`, `>`, `>=`. */
export function withOrderFact(op: string, a: Bound, b: Bound, res: Bound): Bound {
  if (!ORDER_OPS.has(op) || res.literal !== undefined) return res;
  return { ...res, order: [{ op: op as OrderFact['op'], l: a, r: b }] };
}

/** The facts of `x BETWEEN lo AND hi`: those of `x >= lo` and `x <= hi`. */
export function betweenFacts(ge: Bound, le: Bound): { order?: readonly OrderFact[] } {
  const order = [...(ge.order ?? []), ...(le.order ?? [])];
  return order.length > 0 ? { order } : {};
}

/** The single column an expression is a non-decreasing function of (itself, or `monotoneOf`), if any. */
function monotoneColumn(b: Bound): number | undefined {
  if (b.colRef !== undefined) return b.colRef;
  return b.monotoneOf?.col;
}

/**
 * `res` (the arithmetic `l op r`) marked non-decreasing in a column when it is that column (or a
 * non-decreasing function of it) plus or minus a constant.
 */
export function withShift(op: string, l: Bound, r: Bound, res: Bound): Bound {
  if (op !== '+' && op !== '-') return res;
  if (!SHIFTABLE.has(res.type.kind) || res.literal !== undefined) return res;
  const moving = r.literal !== undefined ? l : op === '+' && l.literal !== undefined ? r : null;
  if (moving === null || moving.cols.length !== 1) return res;
  const col = monotoneColumn(moving);
  if (col === undefined) return res;
  const ev = res.gen({ col: () => (a) => a[0] as Value });
  const map = (v: Value): Value => {
    if (v === null) return null;
    try {
      const row = [v];
      return ev(row, row);
    } catch {
      return null; // out of the type's range: no bound
    }
  };
  return { ...res, monotoneOf: { col, map } };
}

/**
 * Functions non-decreasing in their time argument when the others are constants (units, sizes, offsets, the
 * amount of TIMESTAMPADD).
 */
const MONOTONE_CALLS: ReadonlySet<string> = new Set([
  'timestamp_trunc',
  'date_trunc',
  'tumble_start',
  'timestampadd',
  'floor',
  'ceil',
  'ceiling',
]);

/**
 * `res` (a call of `name` with argument ASTs `args`) marked non-decreasing in a column when the function is a
 * truncation (TIMESTAMP_TRUNC, DATE_TRUNC, FLOOR/CEIL of a time or number) or a constant shift (TIMESTAMPADD)
 * of a column or of a non-decreasing
 * function of it. `bindArg` binds one argument (it may throw for a unit argument such as `DAY`: ignored).
 */
export function withMonotoneCall(
  name: string,
  args: readonly unknown[],
  res: Bound,
  bindArg: (a: unknown) => Bound,
): Bound {
  if (res.monotoneOf !== undefined || res.colRef !== undefined || res.cols.length !== 1) return res;
  if (!MONOTONE_CALLS.has(name) || (!SHIFTABLE.has(res.type.kind) && res.type.kind !== 'TIMESTAMP'))
    return res;
  const col = res.cols[0] as number;
  // arguments are bound again here: only small ones, so nested calls cost no more than linear time
  if (!args.every((a) => smallAst(a, 40))) return res;
  let found = false;
  for (const a of args) {
    let b: Bound;
    try {
      b = bindArg(a);
    } catch {
      continue;
    }
    if (b.cols.length === 0) continue;
    if (b.cols.length !== 1 || monotoneColumn(b) !== col) return res;
    found = true;
  }
  if (!found) return res;
  const ev = res.gen({ col: () => (a) => a[0] as Value });
  const map = (v: Value): Value => {
    if (v === null) return null;
    try {
      const row = [v];
      return ev(row, row);
    } catch {
      return null;
    }
  };
  return { ...res, monotoneOf: { col, map } };
}

/** Whether an AST has at most `limit` object nodes (counted iteratively, stopping at the limit). */
function smallAst(root: unknown, limit: number): boolean {
  const stack: unknown[] = [root];
  let n = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (++n > limit) return false;
    for (const x of Object.values(v as Record<string, unknown>))
      if (x !== null && typeof x === 'object') stack.push(x);
  }
  return true;
}
