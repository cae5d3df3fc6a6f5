/**
 * distinct: outputs each row with weight 1 while its integrated input weight is positive, and nothing
 * otherwise (SQL DISTINCT / UNION). Incrementally, a row is emitted `(r, +1)` when its weight crosses from
 * ≤ 0 to > 0 and `(r, -1)` on the way back; other changes emit nothing. State "input": the integral.
 *
 * Bounded state (LATENESS): with `purge`, a column has a waterline (a lower bound on it in every later change,
 * `sql/waterline-plan.ts`). A row whose value there is below it can never change again, so at the end of a step
 * in which the waterline rose its entry is discarded (no output: what was emitted stands) and the removal is
 * logged as a change of "input", so checkpoints, restore and warm apply agree.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { push } from '../zset/batch.ts';
import { encodeRow, type Row, type Value } from '../zset/value.ts';
import { ZSetMap } from '../zset/zset-map.ts';
import { StatefulBase } from './stateful-base.ts';

/** Discard rows whose column `col` (not NULL) is below `below()` (see the header). */
export interface DistinctPurge {
  readonly col: number;
  readonly below: () => Value;
  readonly compare: (a: Value, b: Value) => number;
}

export class DistinctOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'distinct';
  readonly arity = 1;
  readonly #integral = new ZSetMap();
  readonly #purge: readonly DistinctPurge[];
  /** Per purge rule: the waterline of the last discard (in memory only: a repeat is a no-op). */
  readonly #purgedAt: Value[];

  constructor(purge: readonly DistinctPurge[] = []) {
    super(['input']);
    this.#purge = purge;
    this.#purgedAt = purge.map(() => null);
  }

  /** Distinct rows held (for tests and state-size reports). */
  get size(): number {
    return this.#integral.size;
  }

  #collect(): void {
    const bounds: Value[] = [];
    let moved = false;
    this.#purge.forEach((p, i) => {
      const b = p.below();
      bounds.push(b);
      const at = this.#purgedAt[i] as Value;
      if (b !== null && (at === null || p.compare(b, at) > 0)) {
        moved = true;
        this.#purgedAt[i] = b;
      }
    });
    if (!moved) return;
    const gone: [Row, number][] = [];
    for (const e of this.#integral.entries()) {
      const row = e.row;
      const hit = this.#purge.some((p, i) => {
        const b = bounds[i] as Value;
        const v = row[p.col] as Value;
        return b !== null && v !== null && p.compare(v, b) < 0;
      });
      if (hit) gone.push([row, e.weight]);
    }
    const log = this.logs.input!;
    for (const [row, w] of gone) {
      this.#integral.add(row, -w);
      log.record(row, -w);
    }
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const log = this.logs.input!;
    // Remember each touched row's weight before the step; emit only the net change of its presence, so a row
    // that appears and disappears within one step emits nothing and the output is consolidated.
    const before = new Map<string, [Row, number]>();
    for (let i = 0; i < b.rows.length; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      log.record(row, w);
      const k = encodeRow(row);
      const [was] = this.#integral.add(row, w, k);
      if (!before.has(k)) before.set(k, [row, was]);
    }
    const out: Batch = { rows: [], weights: [], consolidated: true };
    for (const [k, [row, was]] of before) {
      const now = this.#integral.weightOf(row, k);
      if (was <= 0 && now > 0) push(out, row, 1);
      else if (was > 0 && now <= 0) push(out, row, -1);
    }
    if (this.#purge.length > 0) this.#collect();
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return { input: this.#integral.toBatch() };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#integral.clear();
    this.apply(parts);
  }

  /** Adds the parts to the integral: O(parts). */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const b of StatefulBase.partsOf(parts, 'input'))
      for (let i = 0; i < b.rows.length; i++) this.#integral.add(b.rows[i] as Row, b.weights[i] as number);
  }
}

export const distinct = (): DistinctOperator => new DistinctOperator();
