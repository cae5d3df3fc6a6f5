import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DistinctOperator, distinct } from '../../../src/operators/distinct.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { setTraceHeadMin, TraceParts } from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
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

  for (const headMin of [2, 5]) {
    test(`tiny trace heads (${headMin}): seals and merges keep the output; snapshot, deltas, restore and warm apply agree`, () => {
      const old = setTraceHeadMin(headMin);
      try {
        const seed = 4242 + headMin;
        const rnd = mulberry32(seed);
        const op = distinct();
        op.trackChanges(true);
        let base = op.snapshot();
        let deltas: Batch[] = [];
        const warm = distinct();
        warm.restore({ input: [base.input as Batch] });
        for (let s = 0; s < 150; s++) {
          const b: Batch = emptyBatch();
          for (let i = randInt(rnd, 0, 6); i > 0; i--) {
            b.rows.push([randInt(rnd, 0, 12), rnd() < 0.5 ? null : randInt(rnd, 0, 2)]);
            b.weights.push(randInt(rnd, -1, 2) || 1);
          }
          const out = step1(op, b);
          assertHonestMark(out);
          if (s % 5 === 4) {
            const d = op.takeDelta().input as Batch;
            deltas.push(d);
            warm.apply({ input: [d] });
            const restored = distinct();
            restored.restore({ input: [base.input as Batch, ...deltas] });
            assert.deepEqual(
              norm(restored.snapshot().input as Batch),
              norm(op.snapshot().input as Batch),
              `seed ${seed} step ${s}`,
            );
            op.takeDelta(); // the snapshot above reset the change logs: nothing to lose, the delta was just taken
            assert.equal(restored.size, op.size, `seed ${seed} step ${s}: size`);
            assert.equal(warm.size, op.size, `seed ${seed} step ${s}: warm size`);
            const next = ins([randInt(rnd, 0, 12), null]);
            const o2 = step1(restored, next);
            assert.deepEqual(norm(step1(warm, next)), norm(o2), `seed ${seed} step ${s}: warm`);
            assert.deepEqual(norm(step1(op, next)), norm(o2), `seed ${seed} step ${s}: restored`);
            const d2 = op.takeDelta().input as Batch;
            deltas.push(d2);
            if (s % 20 === 19) {
              base = op.snapshot();
              deltas = [];
              assert.ok(base.input instanceof TraceParts, 'a snapshot is the trace batches');
            }
          }
        }
      } finally {
        setTraceHeadMin(old);
      }
    });
  }

  test('a checkpoint of the format before traces (a plain batch of rows under "input") restores', () => {
    // what the ZSetMap-backed operator's snapshot() returned: the integral's rows with their weights
    const oldPart: Batch = {
      rows: [
        [1, 'a'],
        [2, 'b'],
        [3, null],
        [4, 'd'],
      ] as Row[],
      weights: [2, 1, -1, 1],
    };
    for (const headMin of [2, 65536]) {
      const old = setTraceHeadMin(headMin);
      try {
        const op = new DistinctOperator();
        op.restore({ input: [oldPart] });
        assert.equal(op.size, 4);
        // [1,'a'] has weight 2: one delete leaves it; [3,null] at -1 appears only after two inserts
        assertZ(step1(op, del([1, 'a'], [2, 'b'])), [[[2, 'b'], -1]]);
        assertZ(step1(op, ins([3, null])), []);
        assertZ(step1(op, ins([3, null], [5, 'e'])), [
          [[3, null], 1],
          [[5, 'e'], 1],
        ]);
        assertZ(step1(op, del([1, 'a'])), [[[1, 'a'], -1]]);
        // and a restore of its own (trace) snapshot gives the same integral
        const again = new DistinctOperator();
        again.restore({ input: [op.snapshot().input as Batch] });
        assert.deepEqual(norm(again.snapshot().input as Batch), [
          ...norm({
            rows: [
              [3, null],
              [4, 'd'],
              [5, 'e'],
            ],
            weights: [1, 1, 1],
          }),
        ]);
      } finally {
        setTraceHeadMin(old);
      }
    }
  });
});
