import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { constant } from '../../../src/operators/constant.ts';
import { assertZ } from './support.ts';

describe('constant', () => {
  test('emits its rows once, at the first step', () => {
    const op = constant([
      [1, 'a'],
      [2, null],
      [1, 'a'],
    ]);
    assert.equal(op.arity, 0);
    assertZ(op.step(), [
      [[1, 'a'], 2],
      [[2, null], 1],
    ]);
    assertZ(op.step(), []);
    assertZ(op.step(), []);
  });

  test('snapshot/restore remembers whether it has emitted', () => {
    const fresh = constant([[7]]);
    const before = fresh.snapshot();
    const r1 = constant([[7]]);
    r1.restore({ meta: [before.meta ?? { rows: [], weights: [] }] });
    assertZ(r1.step(), [[[7], 1]]);

    const used = constant([[7]]);
    used.step();
    const after = used.snapshot();
    const r2 = constant([[7]]);
    r2.restore({ meta: [after.meta ?? { rows: [], weights: [] }] });
    assertZ(r2.step(), []);
  });

  test('takeDelta records the first step', () => {
    const op = constant([[7]]);
    op.trackChanges(true);
    op.snapshot();
    op.step();
    const d = op.takeDelta();
    assertZ(d.meta ?? { rows: [], weights: [] }, [[[true], 1]]);
    const r = constant([[7]]);
    r.restore({ meta: [{ rows: [], weights: [] }, d.meta ?? { rows: [], weights: [] }] });
    assertZ(r.step(), []);
  });

  test('no rows: empty output', () => {
    assertZ(constant([]).step(), []);
  });
});
