/**
 * emit-final against a model (pending changes as a plain Z-set; each step emits the pending rows whose column is
 * below the waterline, sorted by encoding), with the state laws: a copy restored from base + deltas and a warm
 * copy (apply) emit what the original does; with tiny trace heads so seals and merges are crossed; and a
 * checkpoint of the format before traces (a plain batch of rows under "pending") restores. Seeds are printed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StateBatches } from '../../../src/circuit/operator.ts';
import { EmitFinalOperator } from '../../../src/operators/emit-final.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { setTraceHeadMin, TraceParts } from '../../../src/zset/trace.ts';
import { encodeRow, type Row, type Value } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { assertZ, ins, mulberry32, norm, randInt, step1, z } from './support.ts';

const num = (a: Value, b: Value) => (a as number) - (b as number);

function drive(seed: number, headMin: number): void {
  const old = setTraceHeadMin(headMin);
  try {
    const rnd = mulberry32(seed);
    let wl: Value = null;
    const make = () => new EmitFinalOperator({ col: 1, below: () => wl, compare: num });
    const op = make();
    op.trackChanges(true);
    let base: StateBatches = op.snapshot();
    let deltas: StateBatches[] = [];
    const model = new ZSetMap();
    let copies: EmitFinalOperator[] = [];
    let now = 0;
    let emitted = 0;
    for (let s = 0; s < 300; s++) {
      if (rnd() < 0.6) now += randInt(rnd, 0, 3);
      const b = emptyBatch();
      for (let i = randInt(rnd, 0, 5); i > 0; i--) {
        // [key, time or NULL, value]; deletes of rows still pending now and then
        const t = rnd() < 0.1 ? null : now + randInt(rnd, 0, 4);
        const row: Row = [randInt(rnd, 0, 3), t, randInt(rnd, 0, 2)];
        const w = model.weightOf(row) > 0 && rnd() < 0.3 ? -1 : randInt(rnd, 1, 2);
        b.rows.push(row);
        b.weights.push(w);
      }
      for (let i = 0; i < b.rows.length; i++) model.add(b.rows[i] as Row, b.weights[i] as number);
      // the waterline moves at the end of some steps only (an unchanged one checks just the step's rows)
      if (rnd() < 0.5) wl = now - 1;
      const expected: Array<[Row, number]> = [];
      if (wl !== null)
        for (const e of model.entries()) {
          const t = e.row[1] as Value;
          if (t !== null && (t as number) < (wl as number)) expected.push([e.row, e.weight]);
        }
      expected.sort((x, y) => (encodeRow(x[0]) < encodeRow(y[0]) ? -1 : 1));
      for (const [row, w] of expected) model.add(row, -w);
      const out = step1(op, b);
      assert.deepEqual(
        out.rows.map((r, i) => [encodeRow(r), out.weights[i]]),
        expected.map(([r, w]) => [encodeRow(r), w]),
        `seed ${seed} step ${s}`,
      );
      emitted += out.rows.length;
      for (const c of copies) assert.deepEqual(norm(step1(c, b)), norm(out), `seed ${seed} step ${s}: copy`);
      copies = [];
      if (s % 9 === 8) {
        const d = op.takeDelta();
        deltas.push(d);
        const restored = make();
        restored.restore({ pending: [base.pending as Batch, ...deltas.map((x) => x.pending as Batch)] });
        const warm = make();
        warm.restore({ pending: [base.pending as Batch] });
        for (const x of deltas) warm.apply({ pending: [x.pending as Batch] });
        assert.equal(restored.pendingRows, model.size, `seed ${seed} step ${s}: restored rows`);
        assert.equal(warm.pendingRows, model.size, `seed ${seed} step ${s}: warm rows`);
        assert.equal(op.pendingRows, model.size, `seed ${seed} step ${s}: rows`);
        copies = [restored, warm];
      }
      if (s % 60 === 59) {
        base = op.snapshot();
        deltas = [];
        assert.ok(base.pending instanceof TraceParts);
      }
    }
    assert.ok(emitted > 100, `seed ${seed}: ${emitted} rows emitted`);
  } finally {
    setTraceHeadMin(old);
  }
}

describe('emit-final', () => {
  const runSeed = Number(process.env.SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
  for (const headMin of [65536, 2, 7])
    for (const seed of [11, 12, runSeed])
      test(`final rows once, in encoding order; restore and warm apply alike (heads ${headMin}, SEED=${seed})`, () => {
        drive(seed, headMin);
      });

  test('the rows a rising waterline makes final are a prefix: NULLs wait, the rest are not visited', () => {
    let wl: Value = null;
    const op = new EmitFinalOperator({ col: 0, below: () => wl, compare: num });
    assertZ(step1(op, z([[5, 'a'], 1], [[null, 'n'], 1], [[1, 'b'], 2], [[9, 'c'], 1])), []);
    wl = 6;
    assertZ(step1(op, ins([7, 'd'])), [
      [[1, 'b'], 2],
      [[5, 'a'], 1],
    ]);
    assert.equal(op.pendingRows, 3);
    // unchanged waterline: a late row below it goes out at once
    assertZ(step1(op, ins([2, 'late'])), [[[2, 'late'], 1]]);
  });

  test('a checkpoint of the format before traces (a plain batch of rows under "pending") restores', () => {
    for (const headMin of [2, 65536]) {
      const old = setTraceHeadMin(headMin);
      try {
        let wl: Value = null;
        const op = new EmitFinalOperator({ col: 0, below: () => wl, compare: num });
        // what the ZSetMap-backed operator's snapshot() returned: the pending rows with their weights
        op.restore({
          pending: [
            {
              rows: [
                [3, 'x'],
                [8, 'y'],
                [null, 'z'],
                [4, 'w'],
              ],
              weights: [2, 1, 1, -1],
            },
          ],
        });
        assert.equal(op.pendingRows, 4);
        wl = 5;
        assertZ(step1(op, emptyBatch()), [
          [[3, 'x'], 2],
          [[4, 'w'], -1],
        ]);
        wl = 10;
        assertZ(step1(op, emptyBatch()), [[[8, 'y'], 1]]);
        assert.equal(op.pendingRows, 1);
      } finally {
        setTraceHeadMin(old);
      }
    }
  });
});
