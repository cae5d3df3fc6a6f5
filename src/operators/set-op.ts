/**
 * set-op: SQL INTERSECT and EXCEPT, with or without ALL. For a row with integrated weight a in the left input
 * and b in the right, the output weight is
 *   INTERSECT: 1 if a>0 and b>0        INTERSECT ALL: min(a, b) (when both positive)
 *   EXCEPT:    1 if a>0 and b≤0        EXCEPT ALL:    max(a - b, 0)
 * Incrementally, every row touched in a step emits the difference between its new and old output weight.
 * State "left"/"right": the integrals of both inputs.
 */
import type { Operator, StateBatches, StatefulOperator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { emptyBatch, push } from '../zset/batch.ts';
import { encodeRow, type Row } from '../zset/value.ts';
import { ZSetMap } from '../zset/zset-map.ts';
import { StatefulBase } from './stateful-base.ts';

export type SetOpKind = 'intersect' | 'intersect_all' | 'except' | 'except_all';

const OUTPUT: Record<SetOpKind, (a: number, b: number) => number> = {
  intersect: (a, b) => (a > 0 && b > 0 ? 1 : 0),
  intersect_all: (a, b) => (a > 0 && b > 0 ? Math.min(a, b) : 0),
  except: (a, b) => (a > 0 && b <= 0 ? 1 : 0),
  except_all: (a, b) => Math.max(a - Math.max(b, 0), 0),
};

export class SetOpOperator extends StatefulBase implements StatefulOperator, Operator {
  readonly kind: string;
  readonly arity = 2;
  readonly #f: (a: number, b: number) => number;
  readonly #left = new ZSetMap();
  readonly #right = new ZSetMap();

  constructor(kind: SetOpKind) {
    super(['left', 'right']);
    this.kind = kind;
    this.#f = OUTPUT[kind];
  }

  step([dl, dr]: readonly Batch[]): Batch {
    const touched = new Map<string, Row>();
    const before = new Map<string, number>();
    const apply = (
      b: Batch,
      side: ZSetMap,
      other: ZSetMap,
      isLeft: boolean,
      log: { record(r: Row, w: number): void },
    ) => {
      for (let i = 0; i < b.rows.length; i++) {
        const row = b.rows[i] as Row;
        const w = b.weights[i] as number;
        const k = encodeRow(row);
        if (!touched.has(k)) {
          touched.set(k, row);
          const a = isLeft ? side.weightOf(row, k) : other.weightOf(row, k);
          const c = isLeft ? other.weightOf(row, k) : side.weightOf(row, k);
          before.set(k, this.#f(a, c));
        }
        side.add(row, w, k);
        log.record(row, w);
      }
    };
    apply(dl as Batch, this.#left, this.#right, true, this.logs.left!);
    apply(dr as Batch, this.#right, this.#left, false, this.logs.right!);
    const out = emptyBatch();
    for (const [k, row] of touched) {
      const now = this.#f(this.#left.weightOf(row, k), this.#right.weightOf(row, k));
      const d = now - (before.get(k) as number);
      if (d !== 0) push(out, row, d);
    }
    return out;
  }

  snapshot(): StateBatches {
    this.resetLogs();
    return { left: this.#left.toBatch(), right: this.#right.toBatch() };
  }

  restore(parts: Record<string, readonly Batch[]>): void {
    this.#left.clear();
    this.#right.clear();
    this.apply(parts);
  }

  /** Adds the parts to both integrals: O(parts). */
  apply(parts: Record<string, readonly Batch[]>): void {
    for (const b of StatefulBase.partsOf(parts, 'left'))
      for (let i = 0; i < b.rows.length; i++) this.#left.add(b.rows[i] as Row, b.weights[i] as number);
    for (const b of StatefulBase.partsOf(parts, 'right'))
      for (let i = 0; i < b.rows.length; i++) this.#right.add(b.rows[i] as Row, b.weights[i] as number);
  }
}

export const setOp = (kind: SetOpKind): SetOpOperator => new SetOpOperator(kind);
