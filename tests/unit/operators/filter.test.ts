import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { filter } from '../../../src/operators/filter.ts';
import type { Row } from '../../../src/zset/value.ts';
import { assertZ, step1, z } from './support.ts';

describe('filter', () => {
  const positive = (r: Row) => typeof r[0] === 'number' && r[0] > 0;

  test('keeps matching (row, weight) pairs with their weights, in order', () => {
    const op = filter(positive);
    const out = step1(op, z([[1, 'a'], 2], [[-1, 'b'], 1], [[3, 'c'], -1], [[null, 'd'], 1], [[1, 'a'], -1]));
    assert.deepEqual(out.rows, [
      [1, 'a'],
      [3, 'c'],
      [1, 'a'],
    ]);
    assert.deepEqual(out.weights, [2, -1, -1]);
    assert.equal(op.kind, 'filter');
    assert.equal(op.arity, 1);
    assert.ok(!('stateful' in op));
  });

  test('rows with NULL never pass a comparison predicate (NULL counts as false)', () => {
    assertZ(step1(filter(positive), z([[null], 5])), []);
  });

  test('empty input gives empty output', () => {
    assertZ(step1(filter(positive)), []);
  });

  test('is linear: filter(a + b) = filter(a) + filter(b)', () => {
    const a = z([[1], 1], [[-2], 3]);
    const b = z([[1], -1], [[4], 2]);
    const op = filter(positive);
    const both = step1(op, { rows: [...a.rows, ...b.rows], weights: [...a.weights, ...b.weights] });
    const sep = [step1(op, a), step1(op, b)];
    assertZ(both, [[[4], 2]]);
    assertZ({ rows: sep.flatMap((x) => x.rows), weights: sep.flatMap((x) => x.weights) }, [[[4], 2]]);
  });
});
