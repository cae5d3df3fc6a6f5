import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { distinct } from '../../../src/operators/distinct.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { assertHonestMark, assertZ, del, ins, mulberry32, norm, randInt, step1, z } from './support.ts';

describe('distinct', () => {
  test('emits +1 when a row first appears and -1 when its last copy goes', () => {
    const op = distinct();
    assertZ(step1(op, z([['a'], 2], [['b'], 1])), [
      [['a'], 1],
      [['b'], 1],
    ]);
    assertZ(step1(op, ins(['a'])), []);
    assertZ(step1(op, del(['a'], ['a'])), []);
    assertZ(step1(op, del(['a'])), [[['a'], -1]]);
    assertZ(step1(op, ins(['a'])), [[['a'], 1]]);
  });

  test('a row inserted and deleted in the same step emits nothing', () => {
    const op = distinct();
    assertZ(step1(op, z([['x'], 1], [['x'], -1])), []);
    assertZ(step1(op, z([['x'], -1], [['x'], 1])), []);
  });

  test('an output marked consolidated is consolidated, even for an unconsolidated input', {}, () => {
    const op = distinct();
    const out = step1(op, z([['x'], 1], [['x'], -1]));
    assertHonestMark(out);
    assert.deepEqual(out.rows, []);
  });

  test('negative integral weight stays absent until it becomes positive', () => {
    const op = distinct();
    assertZ(step1(op, del(['x'])), []);
    assertZ(step1(op, ins(['x'])), []);
    assertZ(step1(op, ins(['x'])), [[['x'], 1]]);
  });

  test('equal values are one row: -0/0, decimals of different scale; NULL is a value', () => {
    const op = distinct();
    const out = step1(
      op,
      z([[0, Decimal.parse('1.5')], 1], [[-0, Decimal.parse('1.50')], 1], [[null, null], 2]),
    );
    assert.equal(out.rows.length, 2);
    assertZ(step1(op, del([0, Decimal.parse('1.500')])), []);
  });

  test('random steps: integrated output = set of rows with positive integral; restore continues alike', () => {
    const rnd = mulberry32(7);
    let op = distinct();
    const integral = new ZSetMap();
    const outAcc = new ZSetMap();
    for (let s = 0; s < 200; s++) {
      const b: Batch = emptyBatch();
      for (let i = randInt(rnd, 0, 4); i > 0; i--) {
        const row = [randInt(rnd, 0, 5)];
        const w = randInt(rnd, -2, 3) || 1;
        b.rows.push(row);
        b.weights.push(w);
        integral.add(row, w);
      }
      const out = step1(op, b);
      for (let i = 0; i < out.rows.length; i++) outAcc.add(out.rows[i] ?? [], out.weights[i] ?? 0);
      const expected = emptyBatch();
      for (const e of integral.entries())
        if (e.weight > 0) {
          expected.rows.push(e.row);
          expected.weights.push(1);
        }
      assert.deepEqual(norm(outAcc.toBatch()), norm(expected), `step ${s}`);
      if (s % 37 === 36) {
        const snap = op.snapshot();
        op = distinct();
        op.restore({ input: [snap.input ?? emptyBatch()] });
      }
    }
  });
});
