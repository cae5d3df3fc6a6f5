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
 * Invariant: a bucket never holds a row with weight 0; `matches` always equals the sum of partner weights.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import type { Row } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

export type JoinKind = 'inner' | 'left' | 'right' | 'full';

/** Returned by a key function when the key has a NULL (such a row matches nothing). */
export const NULL_KEY: unique symbol = Symbol('NULL_KEY');

export type KeyFn = (row: Row) => unknown;
export type RowIdFn = (row: Row) => unknown;

export interface JoinSpec {
  readonly kind: JoinKind;
  readonly leftKey: KeyFn;
  readonly rightKey: KeyFn;
  /** Identity of a row within its side (default: the whole row encoded); equal rows must give equal ids. */
  readonly leftId: RowIdFn;
  readonly rightId: RowIdFn;
  readonly residual: ((l: Row, r: Row) => boolean) | null;
  /** Builds the output row; called with a row of NULLs for the missing side of an outer join. */
  readonly combine: (l: Row, r: Row) => Row;
  readonly leftWidth: number;
  readonly rightWidth: number;
}

interface Entry {
  row: Row;
  weight: number;
  matches: number;
}

type Index = Map<unknown, Map<unknown, Entry>>;

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

  constructor(spec: JoinSpec) {
    super(['left', 'right']);
    this.#s = spec;
    this.#nullLeft = new Array(spec.leftWidth).fill(null);
    this.#nullRight = new Array(spec.rightWidth).fill(null);
    this.#outerLeft = spec.kind === 'left' || spec.kind === 'full';
    this.#outerRight = spec.kind === 'right' || spec.kind === 'full';
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
        for (const e of bucket.values()) {
          if (residual !== null && !residual(l, e.row)) continue;
          push(out, combine(l, e.row), w * e.weight);
          m += e.weight;
          if (outerR) {
            const before = e.matches;
            e.matches += w;
            if (before === 0 && e.matches !== 0) push(out, combine(this.#nullLeft, e.row), -e.weight);
            else if (before !== 0 && e.matches === 0) push(out, combine(this.#nullLeft, e.row), e.weight);
          }
        }
      }
      const entry = upsert(this.#left, k, s.leftId(l), l, w, m);
      if (outerL && entry.matches === 0) push(out, combine(l, this.#nullRight), w);
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
        for (const e of bucket.values()) {
          if (residual !== null && !residual(e.row, r)) continue;
          push(out, combine(e.row, r), e.weight * w);
          m += e.weight;
          if (outerL) {
            const before = e.matches;
            e.matches += w;
            if (before === 0 && e.matches !== 0) push(out, combine(e.row, this.#nullRight), -e.weight);
            else if (before !== 0 && e.matches === 0) push(out, combine(e.row, this.#nullRight), e.weight);
          }
        }
      }
      const entry = upsert(this.#right, k, s.rightId(r), r, w, m);
      if (outerR && entry.matches === 0) push(out, combine(this.#nullLeft, r), w);
    }
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return { left: dump(this.#left), right: dump(this.#right) };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#left.clear();
    this.#right.clear();
    const s = this.#s;
    for (const b of StatefulBase.partsOf(parts, 'left'))
      for (let i = 0; i < b.rows.length; i++) {
        const r = b.rows[i] as Row;
        upsert(this.#left, s.leftKey(r), s.leftId(r), r, b.weights[i] as number, 0);
      }
    for (const b of StatefulBase.partsOf(parts, 'right'))
      for (let i = 0; i < b.rows.length; i++) {
        const r = b.rows[i] as Row;
        upsert(this.#right, s.rightKey(r), s.rightId(r), r, b.weights[i] as number, 0);
      }
    // Recompute match counts from the restored indexes (they are derived state, never persisted).
    if (this.#outerLeft) this.#recount(this.#left, this.#right, false);
    if (this.#outerRight) this.#recount(this.#right, this.#left, true);
  }

  #recount(mine: Index, other: Index, mineIsRight: boolean): void {
    const residual = this.#s.residual;
    for (const [k, bucket] of mine) {
      const partners = other.get(k);
      for (const e of bucket.values()) {
        let m = 0;
        if (partners !== undefined)
          for (const p of partners.values()) {
            const ok = residual === null || (mineIsRight ? residual(p.row, e.row) : residual(e.row, p.row));
            if (ok) m += p.weight;
          }
        e.matches = m;
      }
    }
  }
}

/** Adds `w` to the row's entry (creating it with `matches`), removing it at weight 0; returns the entry. */
function upsert(index: Index, k: unknown, id: unknown, row: Row, w: number, matches: number): Entry {
  let bucket = index.get(k);
  if (bucket === undefined) {
    bucket = new Map();
    index.set(k, bucket);
  }
  const e = bucket.get(id);
  if (e === undefined) {
    const fresh = { row, weight: w, matches };
    if (w !== 0) bucket.set(id, fresh);
    return fresh;
  }
  e.weight += w;
  if (e.weight === 0) {
    bucket.delete(id);
    if (bucket.size === 0) index.delete(k);
  }
  return e;
}

function dump(index: Index): Batch {
  const b = emptyBatch();
  for (const bucket of index.values()) for (const e of bucket.values()) push(b, e.row, e.weight);
  return b;
}

export const join = (spec: JoinSpec): JoinOperator => new JoinOperator(spec);
