/**
 * set-op: SQL INTERSECT and EXCEPT, with or without ALL. For a row with integrated weight a in the left input
 * and b in the right, the output weight is
 *   INTERSECT: 1 if a>0 and b>0        INTERSECT ALL: min(a, b) (when both positive)
 *   EXCEPT:    1 if a>0 and b≤0        EXCEPT ALL:    max(a - b, 0)
 * Incrementally, every row touched in a step emits the difference between its new and old output weight.
 *
 * State "left"/"right": the integrals of both inputs, each a {@link Trace} keyed by the whole row
 * (`row-trace.ts`): a step consolidates each side's changes by row, looks each touched row up once per side and
 * adds the net changes, so its work is proportional to its rows. A checkpoint writes the sealed batches (only
 * those not written before) and the heads, frozen by the capture in O(1) and built in slices off the step
 * (`Trace.capture`); a restore adopts them; plain row batches (deltas, checkpoints written before the
 * traces, same state names and row shapes) are added row by row. As trace keys, -0 and 0 are one value.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import { entryCountOf, type Trace } from '../zset/trace.ts';
import type { Row } from '../zset/value.ts';
import { addPart, wholeRowTrace } from './row-trace.ts';
import { StatefulBase } from './stateful-base.ts';

export type SetOpKind = 'intersect' | 'intersect_all' | 'except' | 'except_all';

const OUTPUT: Record<SetOpKind, (a: number, b: number) => number> = {
  intersect: (a, b) => (a > 0 && b > 0 ? 1 : 0),
  intersect_all: (a, b) => (a > 0 && b > 0 ? Math.min(a, b) : 0),
  except: (a, b) => (a > 0 && b <= 0 ? 1 : 0),
  except_all: (a, b) => Math.max(a - Math.max(b, 0), 0),
};

/** A row touched in a step: the row and its net change on each side. */
interface Touched {
  readonly row: Row;
  dl: number;
  dr: number;
}

export class SetOpOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind: string;
  readonly arity = 2;
  readonly #f: (a: number, b: number) => number;
  /** The integrals; each created with its side's first row (its arity). */
  #left: Trace | null = null;
  #right: Trace | null = null;

  constructor(kind: SetOpKind) {
    super(['left', 'right']);
    this.kind = kind;
    this.#f = OUTPUT[kind];
  }

  #leftFor(arity: number): Trace {
    this.#left ??= wholeRowTrace(arity);
    return this.#left;
  }

  #rightFor(arity: number): Trace {
    this.#right ??= wholeRowTrace(arity);
    return this.#right;
  }

  step([dl, dr]: readonly Batch[]): Batch {
    const l = dl as Batch;
    const r = dr as Batch;
    const out = emptyBatch();
    if (l.rows.length === 0 && r.rows.length === 0) return out;
    const arity = ((l.rows.length > 0 ? l.rows[0] : r.rows[0]) as Row).length;
    const left = this.#leftFor(arity);
    const right = this.#rightFor(arity);
    // both traces have the same layout: one key per row for both sides
    const touched = new Map<unknown, Touched>();
    const collect = (b: Batch, isLeft: boolean, log: { record(r: Row, w: number): void }): void => {
      for (let i = 0; i < b.rows.length; i++) {
        const row = b.rows[i] as Row;
        const w = b.weights[i] as number;
        log.record(row, w);
        const k = left.keyOf(row);
        let t = touched.get(k);
        if (t === undefined) {
          t = { row, dl: 0, dr: 0 };
          touched.set(k, t);
        }
        if (isLeft) t.dl += w;
        else t.dr += w;
      }
    };
    collect(l, true, this.logs.left!);
    collect(r, false, this.logs.right!);
    for (const [k, t] of touched) {
      if (t.dl === 0 && t.dr === 0) continue;
      const a = left.weightAt(k, t.row);
      const b = right.weightAt(k, t.row);
      if (t.dl !== 0) left.addAt(k, t.row, t.dl);
      if (t.dr !== 0) right.addAt(k, t.row, t.dr);
      const d = this.#f(a + t.dl, b + t.dr) - this.#f(a, b);
      if (d !== 0) push(out, t.row, d);
    }
    left.maybeSeal();
    right.maybeSeal();
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    // O(1): the heads are frozen and the checkpoint builds their batches in slices (`Trace.capture`); lookups
    // (`weightAt`) read a frozen head where it is
    const parts = (t: Trace | null): Batch => (t === null ? emptyBatch() : t.capture());
    return { left: parts(this.#left), right: parts(this.#right) };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#left?.clear();
    this.#right?.clear();
    this.apply(parts);
  }

  /** Adds the parts to both integrals (sealed batches adopted, plain ones added row by row): O(parts). */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const part of StatefulBase.partsOf(parts, 'left'))
      if (entryCountOf(part) > 0) addPart(part, (arity) => this.#leftFor(arity));
    for (const part of StatefulBase.partsOf(parts, 'right'))
      if (entryCountOf(part) > 0) addPart(part, (arity) => this.#rightFor(arity));
  }
}

export const setOp = (kind: SetOpKind): SetOpOperator => new SetOpOperator(kind);
