import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type SetOpKind, setOp } from '../../../src/operators/set-op.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { setTraceHeadMin } from '../../../src/zset/trace.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { assertZ, del, ins, mulberry32, norm, randInt, step2, z } from './support.ts';

/** The reference formulas on integrated weights a (left) and b (right), for a non-negative multiset. */
const REF: Record<SetOpKind, (a: number, b: number) => number> = {
  intersect: (a, b) => (a > 0 && b > 0 ? 1 : 0),
  intersect_all: (a, b) => Math.max(0, Math.min(a, b)),
  except: (a, b) => (a > 0 && b === 0 ? 1 : 0),
  except_all: (a, b) => Math.max(0, a - b),
};

const KINDS: SetOpKind[] = ['intersect', 'intersect_all', 'except', 'except_all'];

describe('set-op', () => {
  test('INTERSECT', () => {
    const op = setOp('intersect');
    assertZ(step2(op, z([['a'], 2], [['b'], 1]), z([['a'], 3], [['c'], 1])), [[['a'], 1]]);
    assertZ(step2(op, ins(['c']), del(['a'])), [[['c'], 1]]);
    assertZ(step2(op, z(), del(['a'], ['a'])), [[['a'], -1]]);
  });

  test('INTERSECT ALL', () => {
    const op = setOp('intersect_all');
    assertZ(step2(op, z([['a'], 2]), z([['a'], 3])), [[['a'], 2]]);
    assertZ(step2(op, z([['a'], 2]), z()), [[['a'], 1]]);
    assertZ(step2(op, z(), del(['a'], ['a'])), [[['a'], -2]]);
  });

  test('EXCEPT', () => {
    const op = setOp('except');
    assertZ(step2(op, z([['a'], 2], [['b'], 1]), ins(['b'])), [[['a'], 1]]);
    assertZ(step2(op, z(), ins(['a'])), [[['a'], -1]]);
    assertZ(step2(op, z(), del(['b'], ['a'])), [
      [['a'], 1],
      [['b'], 1],
    ]);
  });

  test('EXCEPT ALL', () => {
    const op = setOp('except_all');
    assertZ(step2(op, z([['a'], 3]), ins(['a'])), [[['a'], 2]]);
    assertZ(step2(op, z(), z([['a'], 4])), [[['a'], -2]]);
    assertZ(step2(op, z([['a'], 2]), z()), []);
    assertZ(step2(op, z(), z([['a'], -4])), [[['a'], 4]]);
    assertZ(step2(op, z(), z([['a'], -1])), [[['a'], 1]]);
  });

  test('NULLs are ordinary values; both sides changing in one step', () => {
    const op = setOp('intersect');
    assertZ(step2(op, ins([null, 1]), ins([null, 1])), [[[null, 1], 1]]);
    assertZ(step2(op, del([null, 1]), ins([null, 1])), [[[null, 1], -1]]);
  });

  for (const kind of KINDS)
    for (const headMin of [0, 2]) {
      const heads = headMin === 0 ? '' : ` (trace heads of ${headMin}: seals and merges)`;
      test(`${kind}: random steps match the reference formula; snapshot/restore and deltas continue alike${heads}`, (t) => {
        if (headMin > 0) {
          const old = setTraceHeadMin(headMin);
          t.after(() => setTraceHeadMin(old));
        }
        const rnd = mulberry32(1000 + kind.length);
        let op = setOp(kind);
        op.trackChanges(true);
        let base = op.snapshot();
        const deltas: Array<Record<string, Batch>> = [];
        const left = new ZSetMap();
        const right = new ZSetMap();
        const outAcc = new ZSetMap();
        const gen = (side: ZSetMap): Batch => {
          const b = emptyBatch();
          for (let i = randInt(rnd, 0, 3); i > 0; i--) {
            const row: Row = [randInt(rnd, 0, 4) === 0 ? null : randInt(rnd, 0, 3)];
            const have = side.weightOf(row);
            const w = have > 0 && rnd() < 0.45 ? -randInt(rnd, 1, have) : randInt(rnd, 1, 2);
            side.add(row, w);
            b.rows.push(row);
            b.weights.push(w);
          }
          return b;
        };
        for (let s = 0; s < 150; s++) {
          const out = step2(op, gen(left), gen(right));
          for (let i = 0; i < out.rows.length; i++) outAcc.add(out.rows[i] ?? [], out.weights[i] ?? 0);
          const expected = emptyBatch();
          const keys = new Map<string, Row>();
          for (const e of [...left.entries(), ...right.entries()]) keys.set(encodeRow(e.row), e.row);
          for (const row of keys.values()) {
            const w = REF[kind](left.weightOf(row), right.weightOf(row));
            if (w !== 0) {
              expected.rows.push(row);
              expected.weights.push(w);
            }
          }
          assert.deepEqual(norm(outAcc.toBatch()), norm(expected), `step ${s}`);
          if (s % 10 === 9) deltas.push(op.takeDelta());
          if (s % 40 === 39) {
            const parts = (name: string) => [
              base[name] ?? emptyBatch(),
              ...deltas.map((d) => d[name] ?? emptyBatch()),
            ];
            const restored = setOp(kind);
            restored.restore({ left: parts('left'), right: parts('right') });
            assert.deepEqual(norm(restored.snapshot().left ?? emptyBatch()), norm(left.toBatch()));
            assert.deepEqual(norm(restored.snapshot().right ?? emptyBatch()), norm(right.toBatch()));
            // keep running on a fully restored copy
            const snap = op.snapshot();
            op = setOp(kind);
            op.restore({ left: [snap.left ?? emptyBatch()], right: [snap.right ?? emptyBatch()] });
            op.trackChanges(true);
            base = op.snapshot();
            deltas.length = 0;
          }
        }
      });
    }

  test('a checkpoint of the format before traces (plain batches of rows under "left"/"right") restores', () => {
    // what the ZSetMap-backed operator's snapshot() returned: each side's integral as rows with weights
    const left: Batch = { rows: [['a'], ['b'], ['c']], weights: [2, 1, 1] };
    const right: Batch = { rows: [['a'], ['c'], ['d']], weights: [1, 3, 1] };
    const op = setOp('except_all');
    op.restore({ left: [left], right: [right] });
    // a: 2-1 = 1, b: 1, c: 0; one more 'c' on the left leaves c at 0, one more 'a' makes it 2
    assertZ(step2(op, ins(['c'], ['a'])), [[['a'], 1]]);
    assertZ(step2(op, z(), del(['c'], ['c'], ['c'])), [[['c'], 2]]);
    const again = setOp('except_all');
    const snap = op.snapshot();
    again.restore({ left: [snap.left as Batch], right: [snap.right as Batch] });
    assert.deepEqual(norm(again.snapshot().left as Batch), norm(z([['a'], 3], [['b'], 1], [['c'], 2])));
    assert.deepEqual(norm(again.snapshot().right as Batch), norm(z([['a'], 1], [['d'], 1])));
  });
});
