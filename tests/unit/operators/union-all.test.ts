import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { subtract, UnionAllOperator, unionAll } from '../../../src/operators/union-all.ts';
import { assertZ, del, ins, z } from './support.ts';

describe('union-all', () => {
  test('UNION ALL adds weights of both inputs', () => {
    const op = unionAll();
    assert.equal(op.arity, 2);
    const out = op.step([z([['a'], 1], [['b'], 2]), z([['a'], 1], [['c'], -1])]);
    assert.equal(out.rows.length, 4);
    assertZ(out, [
      [['a'], 2],
      [['b'], 2],
      [['c'], -1],
    ]);
  });

  test('n-ary union', () => {
    const op = unionAll(3);
    assert.equal(op.arity, 3);
    assertZ(op.step([ins([1]), ins([1]), del([1], [2])]), [
      [[1], 1],
      [[2], -1],
    ]);
  });

  test('subtract gives left minus right', () => {
    const op = subtract();
    assertZ(op.step([z([['a'], 3], [['b'], 1]), z([['a'], 1], [['b'], 1], [['c'], 2])]), [
      [['a'], 2],
      [['c'], -2],
    ]);
  });

  test('arbitrary signs, empty inputs', () => {
    const op = new UnionAllOperator([2, -1]);
    assertZ(op.step([z([['x'], 1]), z([['x'], 1])]), [[['x'], 1]]);
    assertZ(op.step([z(), z()]), []);
  });

  test('does not mutate its inputs', () => {
    const a = z([['a'], 1]);
    const b = z([['b'], 1]);
    subtract().step([a, b]);
    assert.deepEqual(a, z([['a'], 1]));
    assert.deepEqual(b, z([['b'], 1]));
  });
});
