/**
 * session-window at the operator level: over random inserts and deletes per key (times at or above the
 * waterline, as LATENESS guarantees), the integrated output equals sessions computed independently from the live
 * rows, with and without LATENESS discards; every few steps a copy restored from base + deltas and a warm copy
 * (apply) emit what the original does and hold the same rows; with tiny trace heads so seals and merges are
 * crossed; and a checkpoint of the format before traces (a plain batch of rows under "input") restores.
 * Seeds are in the test names (SEED=<n> replays one).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StateBatches } from '../../../src/circuit/operator.ts';
import { SessionWindowOperator } from '../../../src/operators/session-window.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { setTraceHeadMin, TraceParts } from '../../../src/zset/trace.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { assertZ, ins, mulberry32, norm, randInt, step1 } from './support.ts';

const GAP = 5;

/** Sessions computed from the live rows `[k, t, v]` (weights as copies): `[t, v, start, end]` or with k first. */
function reference(live: ZSetMap, keyed: boolean): Array<[string, number]> {
  const byKey = new Map<string, Array<[Row, number]>>();
  for (const e of live.entries()) {
    if (e.weight <= 0) continue;
    const k = keyed ? encodeRow([e.row[0] ?? null]) : '';
    const l = byKey.get(k) ?? [];
    l.push([e.row, e.weight]);
    byKey.set(k, l);
  }
  const out = new ZSetMap();
  const tOf = (r: Row) => r[keyed ? 1 : 0] as number;
  for (const rows of byKey.values()) {
    rows.sort((a, b) => tOf(a[0]) - tOf(b[0]));
    let i = 0;
    while (i < rows.length) {
      let j = i + 1;
      while (
        j < rows.length &&
        tOf((rows[j] as [Row, number])[0]) - tOf((rows[j - 1] as [Row, number])[0]) < GAP
      )
        j++;
      const start = tOf((rows[i] as [Row, number])[0]);
      const end = tOf((rows[j - 1] as [Row, number])[0]) + GAP;
      for (let x = i; x < j; x++) {
        const [r, w] = rows[x] as [Row, number];
        out.add([...r.slice(keyed ? 1 : 0), start, end], w);
      }
      i = j;
    }
  }
  return norm(out.toBatch());
}

function drive(seed: number, keyed: boolean, headMin: number, lateness: boolean): void {
  const old = setTraceHeadMin(headMin);
  try {
    const rnd = mulberry32(seed);
    let wl: number | null = null;
    const make = () =>
      new SessionWindowOperator({
        keyCount: keyed ? 1 : 0,
        timeCol: keyed ? 1 : 0,
        time: (r) => r[keyed ? 1 : 0] as number,
        gap: GAP,
        ...(lateness ? { waterline: () => wl } : {}),
      });
    const op = make();
    op.trackChanges(true);
    let base: StateBatches = op.snapshot();
    let deltas: StateBatches[] = [];
    const live = new ZSetMap();
    const outAcc = new ZSetMap();
    let copies: SessionWindowOperator[] = [];
    let now = 0;
    for (let s = 0; s < 200; s++) {
      now += randInt(rnd, 0, 2) + (s % 10 === 9 ? 3 * GAP : 0); // quiet spells: sessions end
      const b = emptyBatch();
      const spread = rnd() < 0.5 ? 0 : 6; // rows at the waterline itself now and then (sessions ending at it)
      for (let i = randInt(rnd, 0, 4); i > 0; i--) {
        const t = now + randInt(rnd, 0, spread);
        const r: Row = keyed ? [randInt(rnd, 0, 3), t, randInt(rnd, 0, 1)] : [t, randInt(rnd, 0, 1)];
        b.rows.push(r);
        b.weights.push(randInt(rnd, 1, 2));
      }
      // deletes of live rows not below the waterline (later changes never are)
      for (const e of live.entries())
        if (rnd() < 0.05 && (wl === null || (e.row[keyed ? 1 : 0] as number) >= wl)) {
          b.rows.push(e.row);
          b.weights.push(-1);
        }
      for (let i = 0; i < b.rows.length; i++) live.add(b.rows[i] as Row, b.weights[i] as number);
      const out = step1(op, b);
      for (let i = 0; i < out.rows.length; i++) outAcc.add(out.rows[i] as Row, out.weights[i] as number);
      assert.deepEqual(norm(outAcc.toBatch()), reference(live, keyed), `seed ${seed} step ${s}`);
      for (const c of copies) assert.deepEqual(norm(step1(c, b)), norm(out), `seed ${seed} step ${s}: copy`);
      copies = [];
      wl = now; // the next step's rows are at or above it
      if (s % 7 === 6) {
        deltas.push(op.takeDelta());
        const restored = make();
        restored.restore({ input: [base.input as Batch, ...deltas.map((d) => d.input as Batch)] });
        const warm = make();
        warm.restore({ input: [base.input as Batch] });
        for (const d of deltas) warm.apply({ input: [d.input as Batch] });
        assert.equal(restored.entryCount, op.entryCount, `seed ${seed} step ${s}: restored rows`);
        assert.equal(warm.entryCount, op.entryCount, `seed ${seed} step ${s}: warm rows`);
        copies = [restored, warm];
      }
      if (s % 50 === 49) {
        base = op.snapshot();
        deltas = [];
        assert.ok(base.input instanceof TraceParts);
      }
    }
    if (lateness)
      assert.ok(op.entryCount < live.size, `seed ${seed}: ${op.entryCount} rows held of ${live.size}`);
  } finally {
    setTraceHeadMin(old);
  }
}

describe('session-window', () => {
  const runSeed = Number(process.env.SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
  for (const keyed of [true, false])
    for (const lateness of [false, true])
      for (const headMin of [65536, 2])
        for (const seed of process.env.SEED === undefined ? [31, runSeed] : [runSeed])
          test(`${keyed ? 'keyed' : 'one timeline'}${lateness ? ', LATENESS' : ''}, heads ${headMin} (SEED=${seed})`, () => {
            drive(seed, keyed, headMin, lateness);
          });

  test('a checkpoint of the format before traces (a plain batch of rows under "input") restores', () => {
    for (const headMin of [2, 65536]) {
      const old = setTraceHeadMin(headMin);
      try {
        const op = new SessionWindowOperator({
          keyCount: 1,
          timeCol: 1,
          time: (r) => r[1] as number,
          gap: 10,
        });
        // what the operator held before traces: its input integral as rows [k, t, v] with weights
        op.restore({
          input: [
            {
              rows: [
                ['a', 0, 1],
                ['a', 5, 2],
                ['b', 100, 3],
              ],
              weights: [1, 1, 1],
            },
          ],
        });
        assert.equal(op.entryCount, 3);
        assert.equal(op.groupCount, 2);
        // 'a' at 12 joins the session [0, 15) (last row 5): its rows come out again with the new end
        assertZ(step1(op, ins(['a', 12, 4])), [
          [[0, 1, 0, 15], -1],
          [[5, 2, 0, 15], -1],
          [[0, 1, 0, 22], 1],
          [[5, 2, 0, 22], 1],
          [[12, 4, 0, 22], 1],
        ]);
      } finally {
        setTraceHeadMin(old);
      }
    }
  });
});
