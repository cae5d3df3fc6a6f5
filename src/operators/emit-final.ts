/**
 * emit-final: a view's `'emit_final' = 'column'` (Feldera): the view's output carries only final rows, those
 * whose value in the column is below the column's waterline (a lower bound on that column in every later
 * change, `sql/waterline-plan.ts`), so no later change can delete or update them. Each change `(r, w)` waits in
 * state "pending" (consolidated: a row inserted and deleted before it is final never leaves) until the waterline
 * passes `r[col]`; it is then emitted once, with its net weight, and leaves the state. A row whose column is NULL
 * is never final (it stays pending). Views defined on this view read the view's changes undelayed (the planner
 * places this operator on the output only).
 *
 * State (inside the stateful-operator contract): "pending", the changes not emitted yet; adding and emitting
 * are logged like any other change, so checkpoints, restore, warm apply and replay emit the same rows once.
 * Output order: the emitted rows sorted by their encoding (deterministic whatever the state's history).
 * Invariant: every pending row has its column NULL or not below the waterline of the last step.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import { encodeRow, type Row, type Value } from '../zset/value.ts';
import { ZSetMap } from '../zset/zset-map.ts';
import { StatefulBase } from './stateful-base.ts';

export interface EmitFinalSpec {
  /** The column whose waterline makes a row final. */
  readonly col: number;
  /** The column's current waterline (null while there is none). */
  readonly below: () => Value;
  readonly compare: (a: Value, b: Value) => number;
}

export class EmitFinalOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'emit-final';
  readonly arity = 1;
  readonly #spec: EmitFinalSpec;
  readonly #pending = new ZSetMap();
  /** The waterline of the last full scan (null: scan everything at the next step, e.g. after a restore). */
  #scannedAt: Value = null;

  constructor(spec: EmitFinalSpec) {
    super(['pending']);
    this.#spec = spec;
  }

  /** Changes waiting for their row to become final (for tests and state-size reports). */
  get pendingRows(): number {
    return this.#pending.size;
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const log = this.logs.pending!;
    const touched: Row[] = [];
    for (let i = 0; i < b.rows.length; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      if (w === 0) continue;
      this.#pending.add(row, w);
      log.record(row, w);
      touched.push(row);
    }
    const s = this.#spec;
    const wl = s.below();
    if (wl === null) return emptyBatch();
    const isFinal = (row: Row) => {
      const v = row[s.col] as Value;
      return v !== null && s.compare(v, wl) < 0;
    };
    const ready = new Map<string, Row>();
    if (this.#scannedAt === null || s.compare(wl, this.#scannedAt) > 0) {
      // the waterline rose: any pending row may have become final
      for (const e of this.#pending.entries()) if (isFinal(e.row)) ready.set(encodeRow(e.row), e.row);
      this.#scannedAt = wl;
    } else {
      // only this step's rows can be below an unchanged waterline
      for (const row of touched) if (isFinal(row)) ready.set(encodeRow(row), row);
    }
    const out = emptyBatch();
    for (const k of [...ready.keys()].sort()) {
      const row = ready.get(k) as Row;
      const w = this.#pending.weightOf(row, k);
      if (w === 0) continue;
      push(out, row, w);
      this.#pending.add(row, -w, k);
      log.record(row, -w);
    }
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return { pending: this.#pending.toBatch() };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#pending.clear();
    this.apply(parts);
  }

  /** Adds the parts to the pending changes (O(parts)); the next step rescans them. */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const b of StatefulBase.partsOf(parts, 'pending'))
      for (let i = 0; i < b.rows.length; i++) this.#pending.add(b.rows[i] as Row, b.weights[i] as number);
    this.#scannedAt = null;
  }
}
