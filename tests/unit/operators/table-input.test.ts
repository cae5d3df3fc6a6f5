import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tableInput } from '../../../src/operators/table-input.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { setTraceHeadMin } from '../../../src/zset/trace.ts';
import { runSeed } from '../../kit/seed.ts';
import { assertZ, del, ins, mulberry32, norm, randInt, step1, z } from './support.ts';

describe('table-input with a primary key', () => {
  test('insert, upsert replaces the row with the same key, identical upsert is a no-op', () => {
    const op = tableInput({ primaryKey: [0], materialized: false });
    assert.ok(op.stored);
    assertZ(step1(op, ins([1, 'a'], [2, 'b'])), [
      [[1, 'a'], 1],
      [[2, 'b'], 1],
    ]);
    assertZ(step1(op, ins([1, 'z'])), [
      [[1, 'a'], -1],
      [[1, 'z'], 1],
    ]);
    assertZ(step1(op, ins([1, 'z'])), []);
    assertZ(op.contents(), [
      [[1, 'z'], 1],
      [[2, 'b'], 1],
    ]);
  });

  test('weights > 1 insert a single row', () => {
    const op = tableInput({ primaryKey: [0], materialized: true });
    assertZ(step1(op, z([[1, 'a'], 3])), [[[1, 'a'], 1]]);
    assertZ(op.contents(), [[[1, 'a'], 1]]);
  });

  test('delete reads only the key columns; deleting a missing key is ignored', () => {
    const op = tableInput({ primaryKey: [0], materialized: false });
    step1(op, ins([1, 'a'], [2, 'b']));
    assertZ(step1(op, del([1, null])), [[[1, 'a'], -1]]);
    assertZ(step1(op, del([1, 'a'])), []);
    assertZ(step1(op, del([99, 'x'])), []);
    assertZ(step1(op, z([[2, 'other'], -5])), [[[2, 'b'], -1]]);
    assertZ(op.contents(), []);
  });

  test('changes apply in order within a step', () => {
    const op = tableInput({ primaryKey: [0], materialized: false });
    step1(op, ins([1, 'a']));
    // replace, replace again, delete, re-insert: net change old → 'd'
    const out = step1(op, z([[1, 'b'], 1], [[1, 'c'], 1], [[1, null], -1], [[1, 'd'], 1]));
    assertZ(out, [
      [[1, 'a'], -1],
      [[1, 'd'], 1],
    ]);
    assertZ(step1(op, z([[1, null], -1], [[1, 'e'], 1], [[1, 'e'], 1])), [
      [[1, 'd'], -1],
      [[1, 'e'], 1],
    ]);
    assertZ(step1(op, z([[2, 'x'], 1], [[2, null], -1])), []);
    assertZ(op.contents(), [[[1, 'e'], 1]]);
  });

  test('composite keys and non-primitive key values', () => {
    const op = tableInput({ primaryKey: [2, 0], materialized: false });
    step1(
      op,
      ins(['a', 1, Decimal.parse('1.50')], ['a', 2, Decimal.parse('2')], ['b', 3, Decimal.parse('1.5')]),
    );
    assertZ(step1(op, ins(['a', 9, Decimal.parse('1.5')])), [
      [['a', 1, Decimal.parse('1.50')], -1],
      [['a', 9, Decimal.parse('1.5')], 1],
    ]);
    assertZ(step1(op, del(['b', null, Decimal.parse('1.500')])), [[['b', 3, Decimal.parse('1.5')], -1]]);
    const single = tableInput({ primaryKey: [0], materialized: false });
    step1(single, ins([Decimal.parse('1.0'), 'x']));
    assertZ(step1(single, ins([Decimal.parse('1'), 'y'])), [
      [[Decimal.parse('1.0'), 'x'], -1],
      [[Decimal.parse('1'), 'y'], 1],
    ]);
  });

  test('typed BIGINT keys (held as numbers within ±2^53): upserts and deletes match a map model, across seals, with keys beyond 2^53', () => {
    const seed = runSeed('table-input typed bigint keys', 'TABLE_INPUT_SEED', 1e6);
    console.log(`table-input typed-bigint test seed=${seed} (TABLE_INPUT_SEED to replay)`);
    const rnd = mulberry32(seed);
    const old = setTraceHeadMin(3);
    try {
      const op = tableInput({ primaryKey: [0], materialized: false, typedColumns: true });
      const model = new Map<bigint, string>();
      const big = 2n ** 60n;
      for (let s = 0; s < 40; s++) {
        const rows: Array<[bigint, string]> = [];
        const weights: number[] = [];
        const want = emptyBatch();
        for (let i = 0; i < 6; i++) {
          const k = (randInt(rnd, 0, 1) === 0 ? 0n : big) + BigInt(randInt(rnd, -3, 3));
          const v = `v${randInt(rnd, 0, 2)}`;
          const insert = randInt(rnd, 0, 2) > 0;
          rows.push([k, v]);
          weights.push(insert ? 1 : -1);
          const before = model.get(k);
          if (insert) {
            if (before === v) continue;
            if (before !== undefined) {
              want.rows.push([k, before]);
              want.weights.push(-1);
            }
            model.set(k, v);
            want.rows.push([k, v]);
            want.weights.push(1);
          } else if (before !== undefined) {
            model.delete(k);
            want.rows.push([k, before]);
            want.weights.push(-1);
          }
        }
        assert.deepEqual(norm(op.step([{ rows, weights }])), norm(want), `seed ${seed}, step ${s}`);
      }
      assert.deepEqual(
        norm(op.contents()),
        norm({ rows: [...model].map(([k, v]) => [k, v]), weights: [...model].map(() => 1) }),
        `seed ${seed}`,
      );
    } finally {
      setTraceHeadMin(old);
    }
  });

  test('key values of different JS types are different keys', () => {
    const op = tableInput({ primaryKey: [0], materialized: false });
    assertZ(step1(op, ins([1, 'a'], ['1', 'b'], [1n, 'c'])), [
      [[1, 'a'], 1],
      [['1', 'b'], 1],
      [[1n, 'c'], 1],
    ]);
  });
});

describe('table-input without a key', () => {
  test('materialized: a multiset; deletes are clamped to what is present', () => {
    const op = tableInput({ primaryKey: null, materialized: true });
    assert.ok(op.stored);
    assertZ(step1(op, z([['a'], 2], [['b'], 1])), [
      [['a'], 2],
      [['b'], 1],
    ]);
    assertZ(step1(op, z([['a'], -5])), [[['a'], -2]]);
    assertZ(step1(op, del(['zzz'])), []);
    assertZ(step1(op, z([['b'], -1], [['b'], -1], [['b'], 1])), [
      [['b'], -1],
      [['b'], 1],
    ]);
    assertZ(op.contents(), [[['b'], 1]]);
  });

  test('not materialized: passes changes through unchanged and stores nothing', () => {
    const op = tableInput({ primaryKey: null, materialized: false });
    assert.ok(!op.stored);
    const input = z([['a'], 2], [['x'], -1]);
    assert.equal(step1(op, input), input);
    assertZ(op.contents(), []);
    assertZ(op.snapshot().contents as Batch, []);
  });
});

describe('table-input state', () => {
  test('random upserts/deletes with tiny trace heads (many sealed batches): restore continues like the original', () => {
    const old = setTraceHeadMin(2);
    try {
      for (const spec of [
        { primaryKey: [0], materialized: false },
        { primaryKey: null, materialized: true },
      ]) {
        const seed = runSeed(`table-input ${String(spec.primaryKey)}`, 'TABLE_INPUT_SEED', 1e6);
        console.log(`table-input tiny-head test seed=${seed} (TABLE_INPUT_SEED to replay)`);
        const rnd = mulberry32(seed);
        const a = tableInput(spec);
        a.trackChanges(true);
        const randomBatch = (): Batch => {
          const b = emptyBatch();
          for (let i = randInt(rnd, 1, 6); i > 0; i--) {
            b.rows.push([randInt(rnd, 0, 9), String.fromCharCode(97 + randInt(rnd, 0, 2))]);
            b.weights.push(rnd() < 0.4 ? -1 : randInt(rnd, 1, 2));
          }
          return b;
        };
        for (let s = 0; s < 30; s++) step1(a, randomBatch());
        const base = a.snapshot();
        assert.ok((a.trace?.batches.length ?? 0) >= 1, 'the snapshot is made of sealed batches');
        const deltas: Batch[] = [];
        for (let s = 0; s < 60; s++) {
          step1(a, randomBatch());
          if (s % 7 === 6) deltas.push(a.takeDelta().contents as Batch);
        }
        deltas.push(a.takeDelta().contents as Batch);
        const r = tableInput(spec);
        r.restore({ contents: [base.contents as Batch, ...deltas] });
        assert.deepEqual(norm(r.contents()), norm(a.contents()));
        // restore(P ++ Q) ≡ restore(P); apply(Q)
        const r2 = tableInput(spec);
        r2.restore({ contents: [base.contents as Batch] });
        r2.apply({ contents: deltas });
        assert.deepEqual(norm(r2.contents()), norm(a.contents()));
        for (let s = 0; s < 20; s++) {
          const next = randomBatch();
          const want = norm(step1(a, next));
          assert.deepEqual(norm(step1(r, next)), want);
          assert.deepEqual(norm(step1(r2, next)), want);
        }
        assert.deepEqual(norm(r.contents()), norm(a.contents()));
        // a second snapshot is again the sealed batches, and sums to the contents
        assert.deepEqual(norm(r.snapshot().contents as Batch), norm(a.contents()));
      }
    } finally {
      setTraceHeadMin(old);
    }
  });

  test("primary key: a checkpoint's delta part is added as a batch — no lookup per row, the large batches left unmerged", () => {
    const a = tableInput({ primaryKey: [0], materialized: false });
    const rows = (from: number, to: number, tag: string): Batch => {
      const b = emptyBatch();
      for (let i = from; i < to; i++) {
        b.rows.push([i, `${tag}${i % 7}`]);
        b.weights.push(1);
      }
      return b;
    };
    // the restored state: two batches of 150,000 rows each (written by two operators), not in the spine's shape
    // (each no more than twice the next): restoring that shape would merge them
    const halves: Batch[] = [];
    for (const from of [0, 150_000]) {
      const h = tableInput({ primaryKey: [0], materialized: false });
      for (let i = from; i < from + 150_000; i += 10_000) step1(h, rows(i, i + 10_000, 'v'));
      halves.push(h.snapshot().contents as Batch);
    }
    for (let i = 0; i < 300_000; i += 10_000) step1(a, rows(i, i + 10_000, 'v'));
    a.trackChanges(true);
    // 30 updates, 10 deletions, 10 new keys
    step1(a, rows(1000, 1030, 'w'));
    step1(a, del(...Array.from({ length: 10 }, (_, i) => [2000 + i, null])));
    step1(a, rows(400_000, 400_010, 'n'));
    const delta = a.takeDelta().contents as Batch;
    const r = tableInput({ primaryKey: [0], materialized: false });
    r.restore({ contents: halves });
    const trace = r.trace;
    assert.ok(trace !== null);
    const before = [...trace.batches];
    assert.deepEqual(
      before.map((b) => b.length),
      [150_000, 150_000],
    );
    trace.current = () => {
      throw new Error('a lookup while applying a delta');
    };
    r.apply({ contents: [delta] });
    const after = trace.batches;
    assert.ok(
      before.every((b) => after.includes(b)),
      'the large batches are left unmerged',
    );
    assert.equal(after.length, 3, 'the delta is one more batch');
    assert.deepEqual(norm(r.contents()), norm(a.contents()));
    Reflect.deleteProperty(trace, 'current');
    // and steps on top read the summed state: an update of a key the delta changed, a re-insert of a deleted one
    const next = emptyBatch();
    next.rows.push([1000, 'x'], [2000, 'y']);
    next.weights.push(1, 1);
    assert.deepEqual(norm(step1(r, next)), norm(step1(a, next)));
    assert.deepEqual(norm(r.contents()), norm(a.contents()));
  });

  test('primary key, tiny trace heads: the changes of every step match a map model (keys touched before and after seals)', () => {
    // The operator answers a key touched since the last seal from the trace's head alone; this checks it against
    // a plain map of key → row across many seals and merges, with several changes to one key in a step.
    for (const headMin of [1, 2, 3, 7]) {
      const old = setTraceHeadMin(headMin);
      try {
        const seed = runSeed(`table-input map model ${headMin}`, 'TABLE_INPUT_SEED', 1e6);
        console.log(
          `table-input map-model test headMin=${headMin} seed=${seed} (TABLE_INPUT_SEED to replay)`,
        );
        const rnd = mulberry32(seed);
        const op = tableInput({ primaryKey: [0], materialized: false });
        const model = new Map<number, [number, string]>();
        for (let s = 0; s < 200; s++) {
          const b = emptyBatch();
          const want = emptyBatch();
          for (let i = randInt(rnd, 1, 8); i > 0; i--) {
            const k = randInt(rnd, 0, 12);
            const row: [number, string] = [k, String.fromCharCode(97 + randInt(rnd, 0, 3))];
            const cur = model.get(k);
            if (rnd() < 0.3) {
              b.rows.push(row);
              b.weights.push(-1);
              if (cur !== undefined) {
                want.rows.push(cur);
                want.weights.push(-1);
                model.delete(k);
              }
            } else {
              b.rows.push(row);
              b.weights.push(1);
              if (cur !== undefined && cur[1] === row[1]) continue;
              if (cur !== undefined) {
                want.rows.push(cur);
                want.weights.push(-1);
              }
              want.rows.push(row);
              want.weights.push(1);
              model.set(k, row);
            }
          }
          assert.deepEqual(norm(step1(op, b)), norm(want), `step ${s}`);
        }
        assert.deepEqual(
          norm(op.contents()),
          norm({ rows: [...model.values()], weights: [...model.values()].map(() => 1) }),
        );
      } finally {
        setTraceHeadMin(old);
      }
    }
  });

  test('random upserts/deletes: restore from base + deltas continues like the original', () => {
    // bigint keys (a BIGINT key without typed columns): a delta's retractions are applied in key order too
    for (const [spec, key] of [
      [{ primaryKey: [0], materialized: false }, (k: number) => k],
      [{ primaryKey: [0], materialized: false }, (k: number) => BigInt(k) * 3n - 5n],
      [{ primaryKey: null, materialized: true }, (k: number) => k],
    ] as const) {
      const rnd = mulberry32(99);
      const a = tableInput(spec);
      a.trackChanges(true);
      step1(a, ins([0, 'init']));
      const base = a.snapshot();
      const deltas: Batch[] = [];
      for (let s = 0; s < 60; s++) {
        const b = emptyBatch();
        for (let i = randInt(rnd, 1, 4); i > 0; i--) {
          b.rows.push([key(randInt(rnd, 0, 4)), String.fromCharCode(97 + randInt(rnd, 0, 2))]);
          b.weights.push(rnd() < 0.4 ? -1 : randInt(rnd, 1, 2));
        }
        step1(a, b);
        if (s % 6 === 5) deltas.push(a.takeDelta().contents as Batch);
      }
      deltas.push(a.takeDelta().contents as Batch);
      const r = tableInput(spec);
      r.restore({ contents: [base.contents as Batch, ...deltas] });
      assert.deepEqual(norm(r.contents()), norm(a.contents()));
      const next = z([[1, 'q'], 1], [[2, 'a'], -1], [[3, 'b'], 1]);
      assert.deepEqual(norm(step1(r, next)), norm(step1(a, next)));
      assert.deepEqual(norm(r.contents()), norm(a.contents()));
    }
  });
});
