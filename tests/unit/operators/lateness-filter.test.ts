import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StateBatches } from '../../../src/circuit/operator.ts';
import { LatenessFilterOperator, type LatenessFilterSpec } from '../../../src/operators/lateness-filter.ts';
import { emptyBatch } from '../../../src/zset/batch.ts';
import type { Value } from '../../../src/zset/value.ts';
import { assertZ, ins, mulberry32, norm, randInt, step1, z } from './support.ts';

const num = (a: Value, b: Value) => (a as number) - (b as number);
/** Column 0 with lateness 10, column 1 with lateness 3. */
const SPEC: LatenessFilterSpec = {
  columns: [
    { index: 0, waterline: (m) => (m as number) - 10, compare: num },
    { index: 1, waterline: (m) => (m as number) - 3, compare: num },
  ],
};
const filter = () => new LatenessFilterOperator(SPEC);

describe('lateness-filter', () => {
  test('rows below max − lateness of an earlier step are dropped and counted; one step never drops its own rows', () => {
    const op = filter();
    // the first step has no waterline: everything passes, even rows far apart
    assertZ(step1(op, ins([100, 0], [50, 0])), [
      [[100, 0], 1],
      [[50, 0], 1],
    ]);
    assert.equal(op.lateRecords, 0);
    // waterline of column 0 is now 90: 89 is late, 90 is not; deletions are filtered too
    assertZ(step1(op, z([[89, 0], 1], [[90, 0], 1], [[50, 0], -1], [[120, 0], 1])), [
      [[90, 0], 1],
      [[120, 0], 1],
    ]);
    assert.equal(op.lateRecords, 2);
    assert.deepEqual(op.lastDropped, [0, 2]);
    // waterline 110 now (max 120); column 1's waterline is 0 − 3
    assertZ(step1(op, ins([109, 5], [110, 5])), [[[110, 5], 1]]);
    // column 1: max 5 → waterline 2; late on either column is late
    assertZ(step1(op, ins([200, 1], [111, 2])), [[[111, 2], 1]]);
    assert.equal(op.lateRecords, 4);
  });

  test('NULL is never late and does not move the waterline', () => {
    const op = filter();
    step1(op, ins([null, null]));
    assertZ(step1(op, ins([-1000, null])), [[[-1000, null], 1]]);
    assertZ(step1(op, ins([null, -5], [-1011, 0])), [[[null, -5], 1]]);
    assert.deepEqual(
      [...op.waterlines()],
      [
        [0, -1010],
        [1, -8],
      ],
    );
  });

  test('law: snapshot + deltas restore and warm apply give the same state and the same drops', () => {
    const seed = Number(process.env.SEED ?? 1804);
    console.log(`lateness-filter law seed ${seed}`);
    const rnd = mulberry32(seed);
    const op = filter();
    op.trackChanges(true);
    let base = op.snapshot();
    let deltas: StateBatches[] = [];
    const warm = filter();
    const parts = (ss: StateBatches[]) => ({
      max: ss.map((s) => s.max ?? emptyBatch()),
      late: ss.map((s) => s.late ?? emptyBatch()),
    });
    const state = (o: LatenessFilterOperator) => JSON.stringify([[...o.waterlines()], o.lateRecords]);
    let t = 0;
    const batch = () => {
      t += randInt(rnd, 0, 4);
      const b = emptyBatch();
      for (let i = randInt(rnd, 0, 5); i > 0; i--) {
        b.rows.push([t - randInt(rnd, 0, 14), rnd() < 0.2 ? null : randInt(rnd, 0, 50)]);
        b.weights.push(rnd() < 0.2 ? -1 : 1);
      }
      return b;
    };
    let restored: LatenessFilterOperator | null = null;
    for (let s = 0; s < 400; s++) {
      const b = batch();
      const out = step1(op, b);
      if (restored !== null) {
        assert.deepEqual(
          norm(step1(restored, b)),
          norm(out),
          `seed ${seed} step ${s}: restored copy differs`,
        );
        assert.equal(state(restored), state(op), `seed ${seed} step ${s}`);
        restored = null;
      }
      if (s % 7 === 6) {
        const d = op.takeDelta();
        deltas.push(d);
        warm.apply(parts([d]));
        restored = filter();
        restored.restore(parts([base, ...deltas]));
        assert.equal(state(warm), state(op), `seed ${seed} step ${s}: warm apply differs`);
        assert.equal(state(restored), state(op), `seed ${seed} step ${s}: restore differs`);
        assert.deepEqual(
          norm(warm.snapshot().max ?? emptyBatch()),
          norm(restored.snapshot().max ?? emptyBatch()),
        );
      }
      if (s % 100 === 99) {
        base = op.snapshot();
        deltas = [];
        warm.restore(parts([base]));
      }
    }
    assert.ok(op.lateRecords > 0, 'the random stream had late rows');
  });
});
