/**
 * join: incremental equi-join with an optional residual predicate, in the four SQL kinds.
 *
 * On `(row, weight)`: for left `(l, a)` and right `(r, b)` with equal non-NULL keys and `residual(l, r)` true,
 * the output holds `(combine(l, r), a·b)`. Outer kinds add, for each left (right) row with no such partner,
 * `(combine(l, NULLS), a)` (`(combine(NULLS, r), b)`). Intuitively: SQL's JOIN over multisets.
 *
 * Incrementally: Δ(L⋈R) = ΔL⋈R_old + L_new⋈ΔR. Both sides are kept indexed by key (state "left"/"right" =
 * the integrals of the inputs). For outer kinds every stored row also keeps `matches` (the total weight of
 * its partners), so an unmatched row's padded output is added or retracted exactly when `matches` crosses 0.
 * Rows with a NULL key never match: in an outer kind they are passed through padded, and need no state.
 *
 * Bounded state (LATENESS): with `gc`, each side has rules `row[col] < below()` under which a stored row can
 * never again meet a partner (the planner derives them from waterlines, `sql/waterline-plan.ts`: an equi-join
 * key pair with waterlines on both sides discards both sides below the smaller of the two, as Feldera does; an
 * inner join's `l.x >= f(r.y)` with a waterline on `r.y` discards left rows below `f(waterline)`, and so on).
 * At the end of a step in which some rule's bound rose, the rows it covers are discarded: removed from the
 * index without any output (their past output stands) and logged as a removal from "left"/"right" like any
 * other change, so checkpoints, restore and warm apply agree. An outer join only gets the key-pair rule, which
 * discards a row together with all its partners (equal keys, one bound), so match counts stay exact.
 *
 * Invariant: a bucket never holds a row with weight 0; `matches` always equals the sum of partner weights
 * (outer sides only).
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import type { Row, Value } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

export type JoinKind = 'inner' | 'left' | 'right' | 'full';

/** Returned by a key function when the key has a NULL (such a row matches nothing). */
export const NULL_KEY: unique symbol = Symbol('NULL_KEY');

export type KeyFn = (row: Row) => unknown;
export type RowIdFn = (row: Row) => unknown;

/** Discard a stored row of one side when `row[col]` (not NULL) is below `below()` (see the header). */
export interface JoinGcRule {
  readonly col: number;
  /** The current bound (null while there is none); it only rises. */
  readonly below: () => Value;
  readonly compare: (a: Value, b: Value) => number;
}

export interface JoinSpec {
  readonly kind: JoinKind;
  readonly leftKey: KeyFn;
  readonly rightKey: KeyFn;
  /** Identity of a row within its side (default: the whole row encoded); equal rows must give equal ids. */
  readonly leftId: RowIdFn;
  readonly rightId: RowIdFn;
  /**
   * The side's ids are unique among its live rows and a row arrives with weight +1 only when no live row has
   * its id (true for a table's primary key: the table emits the old row's retraction first). Inserts then
   * skip the lookup for an existing entry.
   */
  readonly leftUnique?: boolean;
  readonly rightUnique?: boolean;
  readonly residual: ((l: Row, r: Row) => boolean) | null;
  /** Builds the output row; called with a row of NULLs for the missing side of an outer join. */
  readonly combine: (l: Row, r: Row) => Row;
  readonly leftWidth: number;
  readonly rightWidth: number;
  /** LATENESS: rules for discarding stored rows that can no longer match (see the header). */
  readonly gc?: { readonly left: readonly JoinGcRule[]; readonly right: readonly JoinGcRule[] };
}

/**
 * The rows of one side that share a join key, in parallel arrays (iterating needs no iterator objects, and a
 * one-row bucket costs a few small arrays). Small buckets are scanned; a large one builds an id → position map
 * the first time it is searched, and keeps it up to date from then on.
 * Removal swaps the last row into the hole.
 */
class Bucket {
  readonly rows: Row[] = [];
  readonly ids: unknown[] = [];
  readonly weights: number[] = [];
  /** Total weight of each row's partners (maintained only for the outer side of an outer join). */
  readonly matches: number[] = [];
  #pos: Map<unknown, number> | null = null;

  find(id: unknown): number {
    if (this.#pos !== null) return this.#pos.get(id) ?? -1;
    const ids = this.ids;
    if (ids.length > 8) {
      this.#pos = new Map();
      for (let j = 0; j < ids.length; j++) this.#pos.set(ids[j], j);
      return this.#pos.get(id) ?? -1;
    }
    for (let i = 0; i < ids.length; i++) if (ids[i] === id) return i;
    return -1;
  }

  append(id: unknown, row: Row, w: number, m: number): number {
    const i = this.rows.length;
    this.rows.push(row);
    this.ids.push(id);
    this.weights.push(w);
    this.matches.push(m);
    if (this.#pos !== null) this.#pos.set(id, i);
    return i;
  }

  remove(i: number): void {
    const last = this.rows.length - 1;
    const id = this.ids[i];
    if (i !== last) {
      this.rows[i] = this.rows[last] as Row;
      this.ids[i] = this.ids[last];
      this.weights[i] = this.weights[last] as number;
      this.matches[i] = this.matches[last] as number;
      this.#pos?.set(this.ids[i], i);
    }
    this.rows.pop();
    this.ids.pop();
    this.weights.pop();
    this.matches.pop();
    this.#pos?.delete(id);
  }
}

type Index = Map<unknown, Bucket>;

export class JoinOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'join';
  readonly arity = 2;
  readonly #s: JoinSpec;
  readonly #left: Index = new Map();
  readonly #right: Index = new Map();
  readonly #nullLeft: Row;
  readonly #nullRight: Row;
  readonly #outerLeft: boolean;
  readonly #outerRight: boolean;
  readonly #leftUnique: boolean;
  readonly #rightUnique: boolean;
  /** Per GC rule (left rules, then right ones): the bound of the last discard (in memory only). */
  readonly #gcAt: Value[];

  constructor(spec: JoinSpec) {
    super(['left', 'right']);
    this.#s = spec;
    this.#nullLeft = new Array(spec.leftWidth).fill(null);
    this.#nullRight = new Array(spec.rightWidth).fill(null);
    this.#outerLeft = spec.kind === 'left' || spec.kind === 'full';
    this.#outerRight = spec.kind === 'right' || spec.kind === 'full';
    this.#leftUnique = spec.leftUnique === true;
    this.#rightUnique = spec.rightUnique === true;
    this.#gcAt = [...(spec.gc?.left ?? []), ...(spec.gc?.right ?? [])].map(() => null);
  }

  /** Rows stored on both sides (for tests and state-size reports). */
  get storedRows(): number {
    let n = 0;
    for (const b of this.#left.values()) n += b.rows.length;
    for (const b of this.#right.values()) n += b.rows.length;
    return n;
  }

  /**
   * Discards the stored rows the GC rules cover, when some rule's bound rose since the last discard; each
   * removal is logged (weight −w). A scan of the side's index: O(rows held), only on a step that moved a bound.
   */
  #collect(): void {
    const gc = this.#s.gc;
    if (gc === undefined) return;
    const sides: Array<[readonly JoinGcRule[], Index, typeof this.logs.left, number]> = [
      [gc.left, this.#left, this.logs.left, 0],
      [gc.right, this.#right, this.logs.right, gc.left.length],
    ];
    for (const [rules, index, log, base] of sides) {
      if (rules.length === 0) continue;
      const bounds: Value[] = [];
      let moved = false;
      rules.forEach((r, i) => {
        const b = r.below();
        bounds.push(b);
        const at = this.#gcAt[base + i] as Value;
        if (b !== null && (at === null || r.compare(b, at) > 0)) {
          moved = true;
          this.#gcAt[base + i] = b;
        }
      });
      if (!moved) continue;
      for (const [k, bucket] of index) {
        for (let j = bucket.rows.length - 1; j >= 0; j--) {
          const row = bucket.rows[j] as Row;
          let gone = false;
          for (let i = 0; i < rules.length && !gone; i++) {
            const b = bounds[i] as Value;
            const r = rules[i] as JoinGcRule;
            const v = row[r.col] as Value;
            gone = b !== null && v !== null && r.compare(v, b) < 0;
          }
          if (!gone) continue;
          log!.record(row, -(bucket.weights[j] as number));
          bucket.remove(j);
        }
        if (bucket.rows.length === 0) index.delete(k);
      }
    }
  }

  step([dl, dr]: readonly Batch[]): Batch {
    const out = emptyBatch();
    const s = this.#s;
    const residual = s.residual;
    const combine = s.combine;
    const outerL = this.#outerLeft;
    const outerR = this.#outerRight;
    const L = dl as Batch;
    const R = dr as Batch;
    const logL = this.logs.left!;
    const logR = this.logs.right!;

    // ΔL ⋈ R_old, then fold ΔL into the left index.
    for (let i = 0; i < L.rows.length; i++) {
      const l = L.rows[i] as Row;
      const w = L.weights[i] as number;
      const k = s.leftKey(l);
      if (k === NULL_KEY) {
        if (outerL) push(out, combine(l, this.#nullRight), w);
        continue;
      }
      logL.record(l, w);
      let m = 0;
      const bucket = this.#right.get(k);
      if (bucket !== undefined) {
        const rows = bucket.rows;
        const ws = bucket.weights;
        const ms = bucket.matches;
        for (let j = 0; j < rows.length; j++) {
          const r = rows[j] as Row;
          if (residual !== null && !residual(l, r)) continue;
          const rw = ws[j] as number;
          push(out, combine(l, r), w * rw);
          m += rw;
          if (outerR) {
            const before = ms[j] as number;
            const after = before + w;
            ms[j] = after;
            if (before === 0 && after !== 0) push(out, combine(this.#nullLeft, r), -rw);
            else if (before !== 0 && after === 0) push(out, combine(this.#nullLeft, r), rw);
          }
        }
      }
      const matches = upsert(this.#left, k, s.leftId(l), l, w, m, this.#leftUnique);
      if (outerL && matches === 0) push(out, combine(l, this.#nullRight), w);
    }

    // L_new ⋈ ΔR, then fold ΔR into the right index.
    for (let i = 0; i < R.rows.length; i++) {
      const r = R.rows[i] as Row;
      const w = R.weights[i] as number;
      const k = s.rightKey(r);
      if (k === NULL_KEY) {
        if (outerR) push(out, combine(this.#nullLeft, r), w);
        continue;
      }
      logR.record(r, w);
      let m = 0;
      const bucket = this.#left.get(k);
      if (bucket !== undefined) {
        const rows = bucket.rows;
        const ws = bucket.weights;
        const ms = bucket.matches;
        for (let j = 0; j < rows.length; j++) {
          const l = rows[j] as Row;
          if (residual !== null && !residual(l, r)) continue;
          const lw = ws[j] as number;
          push(out, combine(l, r), lw * w);
          m += lw;
          if (outerL) {
            const before = ms[j] as number;
            const after = before + w;
            ms[j] = after;
            if (before === 0 && after !== 0) push(out, combine(l, this.#nullRight), -lw);
            else if (before !== 0 && after === 0) push(out, combine(l, this.#nullRight), lw);
          }
        }
      }
      const matches = upsert(this.#right, k, s.rightId(r), r, w, m, this.#rightUnique);
      if (outerR && matches === 0) push(out, combine(this.#nullLeft, r), w);
    }
    this.#collect();
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return { left: dump(this.#left), right: dump(this.#right) };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#left.clear();
    this.#right.clear();
    this.apply(parts);
  }

  /**
   * Adds the "left" parts, then the "right" ones, to the indexes (like a step, without output). Match counts
   * (derived state, never persisted) are kept exact incrementally: an added row's weight is added to the
   * counts of its partners, and a new entry's count is the sum of its partners' weights. Cost: O(parts) for an
   * inner join; for an outer one, each row scans the other side's bucket of its key (what a step pays), so
   * O(Σ over applied rows of the partner bucket's size). Within a part, retractions go before insertions: with
   * primary-key row ids a key's `(old, -1)`/`(new, +1)` pair then works in either order.
   */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const b of StatefulBase.partsOf(parts, 'left')) this.#applySide(b, true);
    for (const b of StatefulBase.partsOf(parts, 'right')) this.#applySide(b, false);
  }

  #applySide(b: Batch, isLeft: boolean): void {
    const s = this.#s;
    const mine = isLeft ? this.#left : this.#right;
    const other = isLeft ? this.#right : this.#left;
    const keyOf = isLeft ? s.leftKey : s.rightKey;
    const idOf = isLeft ? s.leftId : s.rightId;
    const mineOuter = isLeft ? this.#outerLeft : this.#outerRight;
    const otherOuter = isLeft ? this.#outerRight : this.#outerLeft;
    const count = mineOuter || otherOuter;
    const residual = s.residual;
    const n = b.rows.length;
    for (const retractions of [true, false]) {
      for (let i = 0; i < n; i++) {
        const w = b.weights[i] as number;
        if (w === 0 || w < 0 !== retractions) continue;
        const row = b.rows[i] as Row;
        const k = keyOf(row);
        if (k === NULL_KEY) continue; // never stored (a step passes such rows through)
        let m = 0;
        const bucket = count ? other.get(k) : undefined;
        if (bucket !== undefined) {
          const rows = bucket.rows;
          const ws = bucket.weights;
          const ms = bucket.matches;
          for (let j = 0; j < rows.length; j++) {
            const p = rows[j] as Row;
            if (residual !== null && !(isLeft ? residual(row, p) : residual(p, row))) continue;
            m += ws[j] as number;
            if (otherOuter) ms[j] = (ms[j] as number) + w;
          }
        }
        upsert(mine, k, idOf(row), row, w, mineOuter ? m : 0);
      }
    }
  }
}

/**
 * Adds `w` to the row's entry (creating it with `matches`), removing it at weight 0; returns the row's match
 * count.
 */
function upsert(
  index: Index,
  k: unknown,
  id: unknown,
  row: Row,
  w: number,
  matches: number,
  unique = false,
): number {
  let bucket = index.get(k);
  if (bucket === undefined) {
    if (w === 0) return matches;
    bucket = new Bucket();
    index.set(k, bucket);
  }
  if (unique && w > 0) {
    bucket.append(id, row, w, matches);
    return matches;
  }
  const i = bucket.find(id);
  if (i < 0) {
    if (w !== 0) bucket.append(id, row, w, matches);
    return matches;
  }
  const m = bucket.matches[i] as number;
  const nw = (bucket.weights[i] as number) + w;
  if (nw === 0) {
    bucket.remove(i);
    if (bucket.rows.length === 0) index.delete(k);
  } else bucket.weights[i] = nw;
  return m;
}

function dump(index: Index): Batch {
  const b = emptyBatch();
  for (const bucket of index.values())
    for (let i = 0; i < bucket.rows.length; i++) push(b, bucket.rows[i] as Row, bucket.weights[i] as number);
  return b;
}

export const join = (spec: JoinSpec): JoinOperator => new JoinOperator(spec);
