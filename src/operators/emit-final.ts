/**
 * emit-final: a view's `'emit_final' = 'column'` (Feldera): the view's output carries only final rows, those
 * whose value in the column is below the column's waterline (a lower bound on that column in every later
 * change, `sql/waterline-plan.ts`), so no later change can delete or update them. Each change `(r, w)` waits in
 * state "pending" (consolidated: a row inserted and deleted before it is final never leaves) until the waterline
 * passes `r[col]`; it is then emitted once, with its net weight, and leaves the state. A row whose column is NULL
 * is never final (it stays pending). Views defined on this view read the view's changes undelayed (the planner
 * places this operator on the output only).
 *
 * State (inside the stateful-operator contract): "pending", the changes not emitted yet, a {@link Trace} keyed by
 * the whole row with the column first (`row-trace.ts`), so the rows a rising waterline makes final are a prefix
 * scan (NULLs sort first and are skipped), never a scan of the whole state; while the waterline stays put only
 * the step's own rows are looked up. Adding and emitting are logged like any other change, so checkpoints,
 * restore, warm apply and replay emit the same rows once. A checkpoint writes the sealed batches (those not
 * written before) and the head, frozen by the capture in O(1) and built in slices off the step
 * (`Trace.capture`), a restore adopts them; plain row batches (deltas, checkpoints written before the trace, same
 * state name and row shape) are added row by row.
 * Output order: the emitted rows sorted by their encoding (deterministic whatever the state's history).
 * Invariant: every pending row has its column NULL or not below the waterline of the last step.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import { entryCountOf, type Trace } from '../zset/trace.ts';
import { encodeRow, type Row, type Value } from '../zset/value.ts';
import { addPart, forEachBelow, rowCount, weightOf, wholeRowTrace } from './row-trace.ts';
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
  /** The pending changes; created with the first row (its arity). */
  #pending: Trace | null = null;
  /** The waterline of the last prefix scan (null: scan at the next step, e.g. after a restore). */
  #scannedAt: Value = null;

  constructor(spec: EmitFinalSpec) {
    super(['pending']);
    this.#spec = spec;
  }

  #traceFor(arity: number): Trace {
    this.#pending ??= wholeRowTrace(arity, this.#spec.col);
    return this.#pending;
  }

  /** Changes waiting for their row to become final (a scan: for tests and state-size reports). */
  get pendingRows(): number {
    return rowCount(this.#pending);
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const log = this.logs.pending!;
    const touched: Row[] = [];
    for (let i = 0; i < b.rows.length; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      if (w === 0) continue;
      this.#traceFor(row.length).add(row, w);
      log.record(row, w);
      touched.push(row);
    }
    const pending = this.#pending;
    const s = this.#spec;
    const wl = s.below();
    if (pending === null || wl === null) {
      pending?.maybeSeal();
      return emptyBatch();
    }
    // encoding → [row, pending weight]
    const ready = new Map<string, [Row, number]>();
    if (this.#scannedAt === null || s.compare(wl, this.#scannedAt) > 0) {
      // the waterline rose: the pending rows below it (a prefix of the trace; none below the previous one, by the
      // invariant) have become final
      forEachBelow(
        pending,
        s.col,
        wl,
        s.compare,
        (row, w) => {
          ready.set(encodeRow(row), [row, w]);
        },
        this.#scannedAt,
      );
      this.#scannedAt = wl;
    } else {
      // only this step's rows can be below an unchanged waterline
      for (const row of touched) {
        const v = row[s.col] as Value;
        if (v === null || s.compare(v, wl) >= 0) continue;
        const k = encodeRow(row);
        if (!ready.has(k)) ready.set(k, [row, weightOf(pending, row)]);
      }
    }
    const out = emptyBatch();
    for (const k of [...ready.keys()].sort()) {
      const [row, w] = ready.get(k) as [Row, number];
      if (w === 0) continue;
      push(out, row, w);
      pending.add(row, -w);
      log.record(row, -w);
    }
    pending.maybeSeal();
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return {
      // O(1): the head is frozen and the checkpoint builds its batch in slices (`Trace.capture`); the step's reads
      // (`weightOf`, the range read of `forEachBelow`) take it where it is without building it
      pending: this.#pending === null ? emptyBatch() : this.#pending.capture(),
    };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#pending?.clear();
    this.apply(parts);
  }

  /** Adds the parts to the pending changes (O(parts)); the next step rescans the rows below the waterline. */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const part of StatefulBase.partsOf(parts, 'pending'))
      if (entryCountOf(part) > 0) addPart(part, (arity) => this.#traceFor(arity));
    this.#scannedAt = null;
  }
}
