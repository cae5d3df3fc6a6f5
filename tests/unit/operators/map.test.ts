import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { map } from '../../../src/operators/map.ts';
import type { Row } from '../../../src/zset/value.ts';
import { assertZ, step1, z } from './support.ts';

describe('map', () => {
  test('applies f to each row and keeps weights; does not merge rows that become equal', () => {
    const op = map((r: Row) => [r[1] ?? null]);
    const input = z([[1, 'a'], 2], [[2, 'a'], -1], [[3, null], 1]);
    const out = step1(op, input);
    assert.deepEqual(out.rows, [['a'], ['a'], [null]]);
    assert.deepEqual(out.weights, [2, -1, 1]);
    assertZ(out, [
      [['a'], 1],
      [[null], 1],
    ]);
  });

  test('does not share the weights array with its input', () => {
    const input = z([[1], 1]);
    const out = step1(
      map((r) => r),
      input,
    );
    out.weights[0] = 9;
    assert.equal(input.weights[0], 1);
  });

  test('computed columns and empty input', () => {
    const op = map((r) => [r[0] ?? null, (r[0] as number) * 2, `${r[0]}`]);
    assertZ(step1(op, z([[2], -3])), [[[2, 4, '2'], -3]]);
    assertZ(step1(op), []);
    assert.equal(op.kind, 'map');
  });
});
