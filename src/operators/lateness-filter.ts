/**
 * lateness-filter: drops late rows from a relation's change stream (Feldera's LATENESS). For each annotated
 * column c with lateness L, the waterline is `max(c seen so far) − L`; a change `(r, w)` (insert or delete)
 * whose r[c] is below the waterline of any annotated column is dropped and counted, every other change passes
 * unchanged. The waterline a step filters against is the one reached at the end of the previous step, so the
 * rows of one step never make each other late (order within a step does not matter: the result is
 * deterministic). NULL is never late and does not move the waterline. After the filter, the step's kept values
 * raise the per-column maximum (it never goes down).
 *
 * State (inside the stateful-operator contract, so it is checkpointed, restored, applied by a warm standby and
 * replayed exactly):
 * - "max": one row `[column index, max value]` per annotated column that has seen a non-NULL value; a change
 *   of maximum is logged as `(old, −1), (new, +1)`, so the sum of the deltas is the current maximum;
 * - "late": one row `[0]` whose weight is the number of changes dropped so far (deltas add to it).
 * Invariant: the waterline only rises, and every value kept in an earlier step is ≤ the maximum.
 * Not on a trace (issue 16): the state is a handful of scalars (a row per annotated column and a counter).
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { consolidate, emptyBatch, push } from '../zset/batch.ts';
import { encodeRow, type Row, type Value } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

export interface LatenessColumn {
  /** Column index in the rows. */
  readonly index: number;
  /** The waterline for a maximum: `max − lateness` (in the column's type). */
  readonly waterline: (max: Value) => Value;
  /** Orders two non-NULL values of the column. */
  readonly compare: (a: Value, b: Value) => number;
}

export interface LatenessFilterSpec {
  readonly columns: readonly LatenessColumn[];
}

const LATE_ROW: Row = [0];

export class LatenessFilterOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'lateness-filter';
  readonly arity = 1;
  readonly #cols: readonly LatenessColumn[];
  /** Per annotated column (same order as the spec): the maximum seen, or null before any value. */
  readonly #max: Value[];
  /** Per annotated column: the waterline for the current maximum (null when there is none). */
  readonly #waterline: Value[];
  /** The folded "max" state: row encoding → [row, weight] (only rows of positive weight count). */
  readonly #maxRows = new Map<string, [Row, number]>();
  #late = 0;
  /** Changes dropped by the last step (for per-input attribution by the caller): their indexes in its input. */
  lastDropped: number[] = [];

  constructor(spec: LatenessFilterSpec) {
    super(['max', 'late']);
    this.#cols = spec.columns;
    this.#max = spec.columns.map(() => null);
    this.#waterline = spec.columns.map(() => null);
  }

  /** Changes dropped as late since the pipeline started (restored with the state). */
  get lateRecords(): number {
    return this.#late;
  }

  /** The current waterline of column `index` (null before any value, or when it has no LATENESS). */
  waterline(index: number): Value {
    const k = this.#cols.findIndex((c) => c.index === index);
    return k < 0 ? null : (this.#waterline[k] as Value);
  }

  /** The current waterline of each annotated column, by column index (null before any value). */
  waterlines(): Map<number, Value> {
    const out = new Map<number, Value>();
    this.#cols.forEach((c, i) => {
      out.set(c.index, this.#waterline[i] as Value);
    });
    return out;
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const cols = this.#cols;
    const n = b.rows.length;
    const dropped: number[] = [];
    let out: Batch = b;
    if (this.#waterline.some((w) => w !== null)) {
      out = emptyBatch();
      for (let i = 0; i < n; i++) {
        const row = b.rows[i] as Row;
        let late = false;
        for (let k = 0; k < cols.length; k++) {
          const wl = this.#waterline[k] as Value;
          const v = row[(cols[k] as LatenessColumn).index] as Value;
          if (wl !== null && v !== null && (cols[k] as LatenessColumn).compare(v, wl) < 0) {
            late = true;
            break;
          }
        }
        if (late) dropped.push(i);
        else push(out, row, b.weights[i] as number);
      }
    }
    this.lastDropped = dropped;
    if (dropped.length > 0) {
      this.#late += dropped.length;
      this.logs.late!.record(LATE_ROW, dropped.length);
    }
    // raise the maxima with the kept values
    for (let k = 0; k < cols.length; k++) {
      const c = cols[k] as LatenessColumn;
      let m = this.#max[k] as Value;
      const old = m;
      const m2 = out.rows.length;
      for (let i = 0; i < m2; i++) {
        const v = (out.rows[i] as Row)[c.index] as Value;
        if (v !== null && (m === null || c.compare(v, m) > 0)) m = v;
      }
      if (m !== old) this.#setMax(k, old, m, true);
    }
    return out;
  }

  #setMax(k: number, old: Value, m: Value, log: boolean): void {
    const c = this.#cols[k] as LatenessColumn;
    if (old !== null) {
      const r: Row = [k, old];
      this.#fold(r, -1);
      if (log) this.logs.max!.record(r, -1);
    }
    const r: Row = [k, m];
    this.#fold(r, 1);
    if (log) this.logs.max!.record(r, 1);
    this.#max[k] = m;
    this.#waterline[k] = m === null ? null : c.waterline(m);
  }

  #fold(row: Row, w: number): void {
    const key = encodeRow(row);
    const cur = this.#maxRows.get(key);
    const nw = (cur === undefined ? 0 : cur[1]) + w;
    if (nw === 0) this.#maxRows.delete(key);
    else if (cur === undefined) this.#maxRows.set(key, [row, nw]);
    else cur[1] = nw;
  }

  /** Recomputes the maxima and waterlines from the folded "max" state. */
  #derive(): void {
    this.#max.fill(null);
    for (const [row, w] of this.#maxRows.values()) {
      if (w <= 0) continue;
      const k = row[0] as number;
      const c = this.#cols[k];
      if (c === undefined) continue;
      const v = row[1] as Value;
      const m = this.#max[k] as Value;
      if (v !== null && (m === null || c.compare(v, m) > 0)) this.#max[k] = v;
    }
    this.#cols.forEach((c, k) => {
      const m = this.#max[k] as Value;
      this.#waterline[k] = m === null ? null : c.waterline(m);
    });
  }

  snapshot(): StateBatches {
    this.resetLogs();
    const max = emptyBatch();
    this.#max.forEach((m, k) => {
      if (m !== null) push(max, [k, m], 1);
    });
    const late = emptyBatch();
    if (this.#late > 0) push(late, LATE_ROW, this.#late);
    return { max, late };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#maxRows.clear();
    this.#late = 0;
    this.apply(parts);
  }

  /** Folds the "max" parts (each consolidated) and adds the "late" weights; O(parts). */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const part of StatefulBase.partsOf(parts, 'max')) {
      const b = consolidate(part);
      for (let i = 0; i < b.rows.length; i++) this.#fold(b.rows[i] as Row, b.weights[i] as number);
    }
    for (const part of StatefulBase.partsOf(parts, 'late')) for (const w of part.weights) this.#late += w;
    this.#derive();
  }
}
