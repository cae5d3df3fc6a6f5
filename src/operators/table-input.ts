/**
 * table-input: turns the raw changes pushed into a table into the table's change stream.
 *
 * - With a primary key (upsert semantics): `(r, +w)` inserts r, replacing the row with the same key if any
 *   (emits `(old, -1)`, `(r, +1)`); `(r, -w)` deletes the row with r's key (only key columns are read; emits
 *   `(old, -1)`), and is ignored when no such row exists. Changes apply in order within a step.
 * - Without a key, materialized: a multiset; deleting a row that is not present is ignored (never negative).
 * - Without a key, not materialized: changes pass through unchanged and nothing is stored.
 *
 * State "contents" (when stored): the table itself, held in a {@link Trace} (compact sorted batches, see
 * `zset/trace.ts`). With a primary key it is a unique trace keyed by it: each change reads the key's current
 * row (`current`: the trace's head Map, else its sealed batches) and replaces it (`put`). Without a key it is
 * keyed by the whole row: each change looks the row up and adds its weight. The head is sealed into a batch
 * between steps once large enough. `snapshot()` returns the trace's sealed batches plus its frozen head
 * (`Trace.capture`: O(1), the checkpoint seals the head in slices), so a checkpoint writes only batches it has
 * not written before; `restore`/`apply` adopt decoded batches as they are, and add plain batches (older
 * checkpoints, deltas): with a key as one sealed batch each (`Trace.addChange`: a delta is the exact change of
 * the contents), without one row by row.
 *
 * Invariant: the trace is a Z-set in which each key has at most one row with a non-zero weight (summed across
 * the head and the batches), and that weight is 1 (with a key) or positive (without).
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { consolidate, emptyBatch, push } from '../zset/batch.ts';
import { applyPart, buildBatch, Trace, traceLayout } from '../zset/trace.ts';
import { type Row, sameRow } from '../zset/value.ts';
import { StatefulBase } from './stateful-base.ts';

export interface TableInputSpec {
  /** Column indexes of the primary key, or null for a keyless table. */
  readonly primaryKey: readonly number[] | null;
  readonly materialized: boolean;
  /** Each column holds values of one JS type (an SQL table's do): lets the trace hold BIGINT keys as numbers. */
  readonly typedColumns?: boolean;
}

export class TableInputOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'table';
  readonly arity = 1;
  readonly #pk: readonly number[] | null;
  readonly #store: boolean;
  readonly #typed: boolean;
  /** The table; created on the first row (its arity fixes the layout). */
  #trace: Trace | null = null;
  readonly #rows: Row[] = [];
  readonly #weights: number[] = [];

  constructor(spec: TableInputSpec) {
    // with a key, the delta is per key (before/now), which costs one Map operation per change
    super(spec.primaryKey === null ? ['contents'] : [], spec.primaryKey === null ? [] : ['contents']);
    this.#pk = spec.primaryKey;
    this.#store = spec.primaryKey !== null || spec.materialized;
    this.#typed = spec.typedColumns ?? false;
  }

  #traceFor(arity: number): Trace {
    if (this.#trace !== null) return this.#trace;
    const keyCols = this.#pk ?? Array.from({ length: arity }, (_, i) => i);
    this.#trace = new Trace(traceLayout(arity, keyCols), {
      unique: this.#pk !== null,
      typedKeys: this.#typed,
    });
    return this.#trace;
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    if (!this.#store) return b;
    const out = emptyBatch();
    const n = b.rows.length;
    if (n === 0) return out;
    const trace = this.#traceFor((b.rows[0] as Row).length);
    const found = this.#rows;
    const fw = this.#weights;
    const log = this.logs.contents;
    const keyed = this.keyedLogs.contents;
    for (let i = 0; i < n; i++) {
      const row = b.rows[i] as Row;
      const w = b.weights[i] as number;
      if (w === 0) continue;
      if (this.#pk !== null) {
        // the trace's head is a Map of the rows changed since its last seal: a key touched since then is
        // answered there, others probe the sealed batches
        const k = trace.keyOf(row);
        const old = trace.current(k, row);
        if (w > 0) {
          if (old !== undefined) {
            if (sameRow(old, row)) continue;
            push(out, old, -1);
          }
          trace.put(k, old, row);
          push(out, row, 1);
          keyed!.record(k, old, row);
        } else if (old !== undefined) {
          trace.put(k, old, undefined);
          push(out, old, -1);
          keyed!.record(k, old, undefined);
        }
        continue;
      }
      trace.lookup(row, found, fw);
      const cur = found.length > 0 ? (fw[0] as number) : 0;
      if (w > 0) {
        trace.add(row, w);
        push(out, row, w);
        log!.record(row, w);
      } else if (cur > 0) {
        const d = Math.min(-w, cur);
        const stored = found[0] as Row;
        trace.add(stored, -d);
        push(out, stored, -d);
        log!.record(stored, -d);
      }
    }
    found.length = 0;
    fw.length = 0;
    trace.maybeSeal();
    return out;
  }

  /** Current contents (empty when the table is not stored), in key order. */
  contents(): Batch {
    return this.#trace === null ? emptyBatch() : this.#trace.toBatch();
  }

  get stored(): boolean {
    return this.#store;
  }

  /** The trace holding the table (null before the first row; for tests and memory figures). */
  get trace(): Trace | null {
    return this.#trace;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    if (this.#trace === null) return { contents: emptyBatch() };
    // O(1): the head is frozen, and the checkpoint seals it in slices (`Trace.capture`)
    return { contents: this.#trace.capture() };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#trace?.clear();
    this.apply(parts);
  }

  /**
   * Readies the table for the lookups of the next applied delta (a warm standby, after a load): see
   * `Trace.prepareLookups`. State unchanged.
   */
  prepare(): void {
    this.#trace?.prepareLookups();
  }

  /**
   * Adds the "contents" parts in order: the state is their sum (a Z-set sum; parts written by this operator
   * keep each key to one row). Sealed batches of the same layout are adopted as they are (no decoding of rows,
   * no merge); plain batches (format-v1 checkpoints, deltas) are added by {@link #addRows}. O(parts).
   */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const part of StatefulBase.partsOf(parts, 'contents'))
      applyPart(
        part,
        (arity) => this.#traceFor(arity),
        (trace, b) => this.#addRows(trace, b),
      );
  }

  /**
   * Adds a plain part (consolidated first). With a key, the part is one this operator wrote — a delta (each
   * changed key's `(old, -1)` and `(new, +1)`, the exact change of the contents since the checkpoint before) or
   * an older format's whole contents (one row per key, weight 1) — so it is added as a Z-set sum too, as one
   * sealed batch (`Trace.addChange`): no lookup per row, a cost in proportion to the part whatever the state's
   * size (a warm standby applies one such part per pull, and its activation waits for the last). Lookups sum a
   * key's entries across batches, so the key reads as its new row. Without a key: added to the head.
   */
  #addRows(trace: Trace, b: Batch): void {
    const c = consolidate(b);
    const n = c.rows.length;
    if (this.#pk !== null) {
      if (n > 0) trace.addChange(buildBatch(trace.layout, c.rows, c.weights));
      return;
    }
    for (let i = 0; i < n; i++) trace.add(c.rows[i] as Row, c.weights[i] as number);
    // sealed with the next step's maybeSeal, as steps are: sealing each small delta part (a warm standby applies
    // one per pull) cost as much as the lookups
    trace.maybeSeal();
  }
}

export const tableInput = (spec: TableInputSpec): TableInputOperator => new TableInputOperator(spec);
