/**
 * distinct: outputs each row with weight 1 while its integrated input weight is positive, and nothing
 * otherwise (SQL DISTINCT / UNION). Incrementally, a row is emitted `(r, +1)` when its weight crosses from
 * ≤ 0 to > 0 and `(r, -1)` on the way back; other changes emit nothing.
 *
 * State "input": the integral, a {@link Trace} keyed by the whole row (`row-trace.ts`): a step consolidates its
 * changes by row, looks each touched row's weight up once (the head, then the sealed batches whose key range
 * holds it) and adds the net change; work is proportional to the step's rows. A checkpoint writes the sealed
 * batches (only those not written before) and the head, frozen by the capture in O(1) and built in slices off the
 * step (`Trace.capture`); a restore adopts them. Plain row batches (deltas, checkpoints written
 * before the trace, with the same state name and row shape) are added row by row. Like every trace key, -0 and 0
 * are one value (they were already one row here).
 *
 * Bounded state (LATENESS): with `purge`, a column has a waterline (a lower bound on it in every later change,
 * `sql/waterline-plan.ts`). A row whose value there is below it can never change again, so at the end of a step
 * in which the waterline rose its entry is discarded (no output: what was emitted stands) and the removal is
 * logged as a change of "input", so checkpoints, restore and warm apply agree. The first rule's column leads the
 * trace's key, so its discards are a prefix scan (the rows below the waterline, not the whole state). Rows below
 * a further rule's waterline (but not the first's) are found by a sweep of the whole state, run only once the
 * state has doubled since the last sweep (amortized O(1) per change; such rows are held at most that long).
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import { entryCountOf, type Trace } from '../zset/trace.ts';
import type { Row, Value } from '../zset/value.ts';
import { addPart, forEachBelow, forEachRow, rowCount, wholeRowTrace } from './row-trace.ts';
import { StatefulBase } from './stateful-base.ts';

/** Discard rows whose column `col` (not NULL) is below `below()` (see the header). */
export interface DistinctPurge {
  readonly col: number;
  readonly below: () => Value;
  readonly compare: (a: Value, b: Value) => number;
}

/** State size under which a sweep for the further purge rules is not worth it. */
const SWEEP_MIN = 1024;

export class DistinctOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind = 'distinct';
  readonly arity = 1;
  /** The integral; created with the first row (its arity). */
  #trace: Trace | null = null;
  /** Rows of non-zero weight (null after a restore/apply until counted). */
  #rows: number | null = 0;
  readonly #purge: readonly DistinctPurge[];
  /**
   * Per purge rule: the waterline of the last discard (in memory only: a repeat is a no-op; nothing is held below
   * the first rule's, so the next discard scans from it; reset by restore and apply).
   */
  readonly #purgedAt: Value[];
  /** Rows held after the last sweep for the further purge rules. */
  #sweptAt = 0;

  constructor(purge: readonly DistinctPurge[] = []) {
    super(['input']);
    this.#purge = purge;
    this.#purgedAt = purge.map(() => null);
  }

  #traceFor(arity: number): Trace {
    this.#trace ??= wholeRowTrace(arity, this.#purge[0]?.col ?? null);
    return this.#trace;
  }

  /** Distinct rows held (for tests and state-size reports; counted by a scan after a restore). */
  get size(): number {
    this.#rows ??= rowCount(this.#trace);
    return this.#rows;
  }

  #collect(): void {
    const trace = this.#trace;
    const bounds: Value[] = [];
    const movedAt: boolean[] = [];
    // nothing is held below the first rule's last bound (discarded then; later changes are not below it)
    const leadFrom = (this.#purgedAt[0] ?? null) as Value;
    this.#purge.forEach((p, i) => {
      const b = p.below();
      bounds.push(b);
      const at = this.#purgedAt[i] as Value;
      const moved = b !== null && (at === null || p.compare(b, at) > 0);
      movedAt.push(moved);
      if (moved) this.#purgedAt[i] = b;
    });
    if (trace === null || !movedAt.some((m) => m)) return;
    const gone: [Row, number][] = [];
    const lead = this.#purge[0] as DistinctPurge;
    if (movedAt[0])
      forEachBelow(trace, lead.col, bounds[0] as Value, lead.compare, (r, w) => gone.push([r, w]), leadFrom);
    if (
      this.#purge.length > 1 &&
      movedAt.slice(1).some((m) => m) &&
      this.size >= 2 * this.#sweptAt + SWEEP_MIN
    ) {
      // a further rule: sweep everything (rare: the state has doubled since the last sweep)
      const lb = bounds[0] as Value;
      let kept = 0;
      forEachRow(trace, (row, w) => {
        const hit = this.#purge.some((p, i) => {
          const b = bounds[i] as Value;
          const v = row[p.col] as Value;
          return b !== null && v !== null && p.compare(v, b) < 0;
        });
        // rows below the first rule's bound are in `gone` already
        const lv = row[lead.col] as Value;
        const byLead = movedAt[0] && lb !== null && lv !== null && lead.compare(lv, lb) < 0;
        if (hit && !byLead) gone.push([row, w]);
        else if (!hit) kept++;
      });
      this.#sweptAt = kept;
    }
    const log = this.logs.input!;
    for (const [row, w] of gone) {
      trace.add(row, -w);
      log.record(row, -w);
    }
    if (this.#rows !== null) this.#rows -= gone.length;
    trace.maybeSeal();
  }

  step([input]: readonly Batch[]): Batch {
    const b = input as Batch;
    const n = b.rows.length;
    const out: Batch = { rows: [], weights: [], consolidated: true };
    if (n > 0) {
      const trace = this.#traceFor((b.rows[0] as Row).length);
      const log = this.logs.input!;
      // the step's net change per row: a row that appears and disappears within one step emits nothing, and
      // the output is consolidated
      const net = new Map<unknown, [Row, number]>();
      for (let i = 0; i < n; i++) {
        const row = b.rows[i] as Row;
        const w = b.weights[i] as number;
        log.record(row, w);
        const k = trace.keyOf(row);
        const e = net.get(k);
        if (e === undefined) net.set(k, [row, w]);
        else e[1] += w;
      }
      let rows = this.#rows;
      for (const [k, [row, dw]] of net) {
        if (dw === 0) continue;
        const was = trace.weightAt(k, row);
        trace.addAt(k, row, dw);
        const now = was + dw;
        if (was <= 0 && now > 0) push(out, row, 1);
        else if (was > 0 && now <= 0) push(out, row, -1);
        if (rows !== null) rows += (now !== 0 ? 1 : 0) - (was !== 0 ? 1 : 0);
      }
      this.#rows = rows;
      trace.maybeSeal();
    }
    if (this.#purge.length > 0) this.#collect();
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    // O(1): the head is frozen and the checkpoint builds its batch in slices (`Trace.capture`); steps read it
    // where it is (lookups, and the LATENESS range read of `forEachBelow`) without building it
    return { input: this.#trace === null ? emptyBatch() : this.#trace.capture() };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#trace?.clear();
    this.#rows = 0;
    this.#sweptAt = 0;
    this.apply(parts);
  }

  /** Adds the parts to the integral: sealed batches are adopted, plain ones added row by row; O(parts). */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const part of StatefulBase.partsOf(parts, 'input')) {
      if (entryCountOf(part) === 0) continue;
      addPart(part, (arity) => this.#traceFor(arity));
      this.#rows = null;
    }
    // the parts may hold rows below the bounds this instance discarded at: the next discard starts from the start
    this.#purgedAt.fill(null);
  }
}

export const distinct = (): DistinctOperator => new DistinctOperator();
