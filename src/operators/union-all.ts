/**
 * union-all (linear combination): outputs every input's `(row, w)` times that input's sign (+1 by default).
 * With signs [1, 1] it is SQL UNION ALL; with [1, -1] it is Z-set subtraction. Stateless.
 */
import type { Operator } from '../circuit/operator.ts';
import type { Batch } from '../zset/batch.ts';
import { append, emptyBatch } from '../zset/batch.ts';

export class UnionAllOperator implements Operator {
  readonly kind = 'union_all';
  readonly arity: number;
  readonly #signs: readonly number[];

  constructor(signs: readonly number[]) {
    this.arity = signs.length;
    this.#signs = signs;
  }

  step(inputs: readonly Batch[]): Batch {
    const out = emptyBatch();
    inputs.forEach((b, i) => {
      append(out, b, this.#signs[i] as number);
    });
    return out;
  }
}

export const unionAll = (arity = 2): UnionAllOperator => new UnionAllOperator(new Array(arity).fill(1));
export const subtract = (): UnionAllOperator => new UnionAllOperator([1, -1]);
