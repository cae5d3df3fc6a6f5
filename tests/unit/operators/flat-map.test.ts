import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flatMap } from '../../../src/operators/flat-map.ts';
import { assertZ, del, ins, step1, z } from './support.ts';

describe('flat-map', () => {
  test('each input row becomes zero or more rows with its weight', () => {
    const op = flatMap((r) => Array.from({ length: r[0] as number }, (_, i) => [r[0] as number, i]));
    assertZ(step1(op, ins([2], [0])), [
      [[2, 0], 1],
      [[2, 1], 1],
    ]);
    assertZ(step1(op, del([1])), [[[1, 0], -1]]);
    assertZ(step1(op, z([[3], 2])), [
      [[3, 0], 2],
      [[3, 1], 2],
      [[3, 2], 2],
    ]);
  });

  test('is linear: f(a + b) = f(a) + f(b)', () => {
    const f = (r: readonly unknown[]) => [[r[0]], [r[0], 'x']];
    const a = z([['p'], 1], [['q'], -2]);
    const b = z([['p'], 3]);
    const both = flatMap(f as never).step([z([['p'], 1], [['q'], -2], [['p'], 3])]);
    const sep = [flatMap(f as never).step([a]), flatMap(f as never).step([b])];
    const merged = z(...sep.flatMap((x) => x.rows.map((r, i) => [r, x.weights[i] as number] as const)));
    assertZ(
      both,
      merged.rows.map((r, i) => [r, merged.weights[i] as number] as const),
    );
    assert.equal(flatMap(f as never).kind, 'flat-map');
  });
});
