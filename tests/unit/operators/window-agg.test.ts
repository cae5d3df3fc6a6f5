import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StateBatches } from '../../../src/circuit/operator.ts';
import { type WindowAggSpec, windowAgg } from '../../../src/operators/window-agg.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { setTraceHeadMin, TraceParts } from '../../../src/zset/trace.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { assertHonestMark, assertZ, del, ins, mulberry32, norm, randInt, step1 } from './support.ts';

/** Partition = column 0; order = column 1; appends the running sum of column 1 and the previous row's value. */
const SPEC: WindowAggSpec = {
  keyCount: 1,
  compare: (a, b) => (a[1] as number) - (b[1] as number),
  compute: (rows) => {
    let sum = 0;
    return rows.map((r, i) => {
      sum += r[1] as number;
      return [sum, i > 0 ? ((rows[i - 1] as Row)[1] as number) : null];
    });
  },
};

function reference(integral: ZSetMap): Batch {
  const parts = new Map<string, Row[]>();
  for (const e of integral.entries())
    for (let k = 0; k < e.weight; k++) {
      const key = JSON.stringify(e.row[0]);
      parts.set(key, [...(parts.get(key) ?? []), e.row]);
    }
  const out = emptyBatch();
  for (const rows of parts.values()) {
    rows.sort(
      (a, b) =>
        SPEC.compare(a, b) || (encodeRow(a) < encodeRow(b) ? -1 : encodeRow(a) > encodeRow(b) ? 1 : 0),
    );
    const vals = SPEC.compute(rows);
    rows.forEach((r, i) => {
      out.rows.push([...r, ...(vals[i] ?? [])]);
      out.weights.push(1);
    });
  }
  return out;
}

describe('window-agg', () => {
  test('appends the window values and re-emits the rows whose values change', () => {
    const op = windowAgg(SPEC);
    assertZ(step1(op, ins(['a', 2], ['a', 5])), [
      [['a', 2, 2, null], 1],
      [['a', 5, 7, 2], 1],
    ]);
    assertZ(step1(op, ins(['a', 3], ['b', 1])), [
      [['a', 3, 5, 2], 1],
      [['a', 5, 7, 2], -1],
      [['a', 5, 10, 3], 1],
      [['b', 1, 1, null], 1],
    ]);
    assertZ(step1(op, del(['a', 2])), [
      [['a', 2, 2, null], -1],
      [['a', 3, 5, 2], -1],
      [['a', 3, 3, null], 1],
      [['a', 5, 10, 3], -1],
      [['a', 5, 8, 3], 1],
    ]);
  });

  for (const head of [0, 2])
    test(`law: random steps = recomputation; snapshot + deltas restore and warm apply continue alike (trace head ${head || 'default'})`, () => {
      const oldHead = head > 0 ? setTraceHeadMin(head) : null;
      try {
        const seed = 8080;
        const rnd = mulberry32(seed);
        let op = windowAgg(SPEC);
        op.trackChanges(true);
        let base = op.snapshot();
        const deltas: StateBatches[] = [];
        const warm = windowAgg(SPEC);
        const integral = new ZSetMap();
        const outAcc = new ZSetMap();
        for (let s = 0; s < 200; s++) {
          const b = emptyBatch();
          for (let i = randInt(rnd, 0, 4); i > 0; i--) {
            const row: Row = [randInt(rnd, 0, 2), randInt(rnd, 0, 6)];
            const w = integral.weightOf(row) > 0 && rnd() < 0.4 ? -1 : 1;
            b.rows.push(row);
            b.weights.push(w);
            integral.add(row, w);
          }
          const out = step1(op, b);
          assertHonestMark(out, `seed ${seed} step ${s}`);
          for (let i = 0; i < out.rows.length; i++) outAcc.add(out.rows[i] ?? [], out.weights[i] ?? 0);
          assert.deepEqual(norm(outAcc.toBatch()), norm(reference(integral)), `seed ${seed} step ${s}`);
          if (s % 20 === 19) {
            const d = op.takeDelta();
            deltas.push(d);
            warm.apply({ input: [d.input ?? emptyBatch()] });
          }
          if (s % 60 === 59) {
            const r = windowAgg(SPEC);
            r.restore({ input: [base.input ?? emptyBatch(), ...deltas.map((d) => d.input ?? emptyBatch())] });
            assert.deepEqual(
              norm(warm.snapshot().input ?? emptyBatch()),
              norm(r.snapshot().input ?? emptyBatch()),
            );
            op = r;
            op.trackChanges(true);
            base = op.snapshot();
            deltas.length = 0;
            warm.restore({ input: [base.input ?? emptyBatch()] });
          }
        }
        assert.ok(op.snapshot().input instanceof TraceParts, 'the state is written as trace batches');
      } finally {
        if (oldHead !== null) setTraceHeadMin(oldHead);
      }
    });

  test('a checkpoint written before the trace (plain rows under "input") restores and continues alike', () => {
    const op = windowAgg(SPEC);
    step1(op, ins(['a', 1], ['a', 4], ['b', 2], ['a', 1]));
    step1(op, del(['a', 4]));
    const plain: Batch = {
      rows: [
        ['a', 1],
        ['b', 2],
      ],
      weights: [2, 1],
    };
    const r = windowAgg(SPEC);
    r.restore({ input: [plain] });
    assert.deepEqual(norm(r.snapshot().input ?? emptyBatch()), norm(op.snapshot().input ?? emptyBatch()));
    const next = ins(['a', 0], ['b', 3]);
    assert.deepEqual(norm(step1(r, next)), norm(step1(op, next)));
  });
});
