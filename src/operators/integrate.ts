/**
 * integrate (DBSP's I): outputs the running sum of its input, i.e. at step t the whole Z-set Σ_{s≤t} Δ_s.
 * Its output is as large as the state, so circuits use it only where the full relation is wanted (tests,
 * snapshots of a stream); {@link MaterializeOperator} is the pass-through variant views use.
 *
 * State "input" (the integral) is a scan-only {@link Trace} keyed by the whole row: compact sealed batches,
 * no per-row JS objects once sealed; a checkpoint writes only batches not written before, a restore adopts the
 * decoded batches. Like every trace key, -0 and 0 are one value (a row stored with -0 reads back with 0).
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch } from '../zset/batch.ts';
import { applyPart, Trace, traceLayout } from '../zset/trace.ts';
import type { Row } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

export class IntegrateOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind: string = 'integrate';
  readonly arity = 1;
  /** The integral: a scan-only trace keyed by the whole row; created on the first row (its arity). */
  #trace: Trace | null = null;

  constructor() {
    super(['input']);
  }

  #traceFor(arity: number): Trace {
    this.#trace ??= new Trace(
      traceLayout(
        arity,
        Array.from({ length: arity }, (_, i) => i),
      ),
      { indexed: false },
    );
    return this.#trace;
  }

  protected accumulate(b: Batch): void {
    const n = b.rows.length;
    if (n === 0) return;
    const trace = this.#traceFor((b.rows[0] as Row).length);
    const log = this.logs.input!;
    for (let i = 0; i < n; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      if (w === 0) continue;
      trace.add(row, w);
      log.record(row, w);
    }
    trace.maybeSeal();
  }

  step([input]: readonly Batch[]): Batch {
    this.accumulate(input as Batch);
    return this.contents();
  }

  /** The current integral (consolidated, in the trace's row order). */
  contents(): Batch {
    return this.#trace === null ? emptyBatch() : this.#trace.toBatch();
  }

  /** Entries held (for state-size reports and tests). */
  get entryCount(): number {
    return this.#trace?.entryCount ?? 0;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    // O(1): the head is frozen, and the checkpoint seals it in slices (`Trace.capture`)
    return { input: this.#trace === null ? emptyBatch() : this.#trace.capture() };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#trace?.clear();
    this.apply(parts);
  }

  /**
   * Adds the parts to the integral: O(parts). Sealed batches of the same layout are adopted as they are (a
   * restore decodes no row); plain batches (deltas, checkpoints written before the trace) are added row by row.
   */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const part of StatefulBase.partsOf(parts, 'input'))
      applyPart(
        part,
        (arity) => this.#traceFor(arity),
        (trace, b) => {
          for (let i = 0; i < b.rows.length; i++) trace.add(b.rows[i] as Row, b.weights[i] as number);
          trace.maybeSeal();
        },
      );
  }
}

/**
 * materialize: keeps the integral of its input (so the relation's current contents can be read at any time,
 * e.g. for ad-hoc queries and snapshots) and outputs the change unchanged.
 */
export class MaterializeOperator extends IntegrateOperator {
  override readonly kind = 'materialize';

  override step([input]: readonly Batch[]): Batch {
    this.accumulate(input as Batch);
    return input as Batch;
  }
}

export const integrate = (): IntegrateOperator => new IntegrateOperator();
export const materialize = (): MaterializeOperator => new MaterializeOperator();
