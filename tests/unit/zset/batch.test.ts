import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import {
  append,
  type Batch,
  batchOf,
  consolidate,
  emptyBatch,
  negate,
  push,
  size,
  totalWeight,
} from '../../../src/zset/batch.ts';
import { isTrulyConsolidated, norm } from '../operators/support.ts';

describe('batch basics', () => {
  test('push, size, batchOf, totalWeight', () => {
    const b = emptyBatch();
    assert.equal(size(b), 0);
    push(b, [1], 2);
    push(b, [2], -1);
    assert.equal(size(b), 2);
    assert.equal(totalWeight(b), 1);
    assert.deepEqual(
      batchOf([
        [[1], 2],
        [[2], -1],
      ]),
      b,
    );
  });

  test('append with a sign and negate do not alias weights', () => {
    const src = batchOf([
      [['a'], 2],
      [['b'], -3],
    ]);
    const dst = batchOf([[['c'], 1]]);
    append(dst, src, -1);
    assert.deepEqual(dst.weights, [1, -2, 3]);
    assert.deepEqual(src.weights, [2, -3]);
    const n = negate(src);
    assert.deepEqual(n.weights, [-2, 3]);
    assert.deepEqual(src.weights, [2, -3]);
    n.rows.push(['z']);
    assert.equal(src.rows.length, 2);
  });
});

describe('consolidate', () => {
  test('merges equal rows in first-appearance order and drops zeros', () => {
    const b = batchOf([
      [['b', 1], 1],
      [['a', 2], 2],
      [['b', 1], 2],
      [['c', 3], 1],
      [['a', 2], -2],
      [['d', 4], -1],
    ]);
    const c = consolidate(b);
    assert.deepEqual(c.rows, [
      ['b', 1],
      ['c', 3],
      ['d', 4],
    ]);
    assert.deepEqual(c.weights, [3, 1, -1]);
  });

  test('empty and single-entry batches', () => {
    const plain = (b: Batch) => ({ rows: b.rows, weights: b.weights });
    assert.deepEqual(plain(consolidate(emptyBatch())), plain(emptyBatch()));
    assert.deepEqual(plain(consolidate(batchOf([[[1], 0]]))), plain(emptyBatch()));
    assert.deepEqual(plain(consolidate(batchOf([[[1], 5]]))), plain(batchOf([[[1], 5]])));
    assert.deepEqual(
      plain(
        consolidate(
          batchOf([
            [[1], 3],
            [[1], -3],
          ]),
        ),
      ),
      plain(emptyBatch()),
    );
  });

  test('marks its result consolidated and trusts that mark', () => {
    const c = consolidate(
      batchOf([
        [['a'], 1],
        [['b'], 1],
        [['a'], 1],
      ]),
    );
    assert.equal(c.consolidated, true);
    assert.ok(isTrulyConsolidated(c));
    assert.equal(consolidate(c), c);
    // the mark is a promise by the producer: a batch that lies is returned as is
    const liar: Batch = { rows: [['a'], ['a']], weights: [1, -1], consolidated: true };
    assert.equal(consolidate(liar), liar);
  });

  test('uses value identity: -0 = 0, decimals by value, 1 ≠ 1n ≠ "1", NULL ≠ "null"', () => {
    const c = consolidate(
      batchOf([
        [[0], 1],
        [[-0], 1],
        [[Decimal.parse('1.50')], 1],
        [[Decimal.parse('1.5')], 1],
        [[1], 1],
        [[1n], 1],
        [['1'], 1],
        [[null], 1],
        [['null'], 1],
      ]),
    );
    assert.equal(c.rows.length, 7);
    assert.deepEqual(c.weights, [2, 2, 1, 1, 1, 1, 1]);
  });

  test('is idempotent and preserves the total weight per row', () => {
    const b = batchOf([
      [['x'], 1],
      [['y'], -1],
      [['x'], 4],
      [['y'], 1],
      [['z'], -2],
    ]);
    const once = consolidate(b);
    assert.deepEqual(consolidate(once), once);
    assert.equal(totalWeight(once), totalWeight(b));
    assert.deepEqual(norm(once), [
      ['["x"]', 5],
      ['["z"]', -2],
    ]);
  });
});
