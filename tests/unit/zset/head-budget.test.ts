/**
 * The head budget (`src/zset/head-budget.ts`): while every head of the process fits it, a head past its seal
 * threshold stays unsealed (up to `DEFER_HEAD_MAX` entries); past the budget it seals at its threshold as
 * before. Checked for a primary-key table's trace and for a join's side, and that the estimate follows the
 * heads (added on growth, given back by seal, clear and release). Results never depend on it: the operator law
 * tests run with tiny heads, which the budget leaves alone.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { JoinOperator, NULL_KEY } from '../../../src/operators/join.ts';
import { emptyBatch, push } from '../../../src/zset/batch.ts';
import {
  HeadAccount,
  headBudget,
  headBytesTotal,
  headEntryBytes,
  setHeadBudget,
} from '../../../src/zset/head-budget.ts';
import { DEFER_HEAD_MAX, Trace, traceLayout, UNIQUE_HEAD_MIN } from '../../../src/zset/trace.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';

const initial = headBudget();
afterEach(() => setHeadBudget(initial));

/** A primary-key table's trace after `n` inserts of `[id, id % 7, 'v']`, sealed as a step end would. */
function table(n: number): Trace {
  const t = new Trace(traceLayout(3, [0]), { unique: true, typedKeys: true });
  for (let i = 0; i < n; i++) {
    const row: Row = [i, i % 7, 'v'];
    const k = t.keyOf(row);
    t.put(k, t.current(k, row), row);
  }
  t.maybeSeal();
  return t;
}

test('a table head past its threshold stays unsealed while the heads fit the budget, and seals once they do not', () => {
  setHeadBudget(1 << 30);
  const kept = table(UNIQUE_HEAD_MIN + 10);
  assert.equal(kept.batches.length, 0, 'within the budget: no seal');
  assert.equal(kept.headSize, UNIQUE_HEAD_MIN + 10);
  assert.ok(headBytesTotal() >= (UNIQUE_HEAD_MIN + 10) * headEntryBytes(3));
  kept.clear();

  setHeadBudget(0);
  const sealed = table(UNIQUE_HEAD_MIN + 10);
  assert.equal(sealed.headSize, 0, 'over the budget: sealed at the threshold');
  assert.equal(sealed.batches.length, 1);
  assert.equal(sealed.batches[0]?.length, UNIQUE_HEAD_MIN + 10);
  sealed.clear();

  // below its threshold a head never seals, whatever the budget
  const small = table(1000);
  assert.equal(small.batches.length, 0);
  small.clear();
});

test('within the budget a head still seals at DEFER_HEAD_MAX entries', () => {
  setHeadBudget(1 << 30);
  const t = new Trace(traceLayout(2, [0]), { unique: true, typedKeys: true });
  let sealedAt = -1;
  for (let i = 0; i < DEFER_HEAD_MAX + 5 && sealedAt < 0; i++) {
    const row: Row = [i, i];
    const k = t.keyOf(row);
    t.put(k, undefined, row);
    if ((i + 1) % 4096 === 0 || i + 1 === DEFER_HEAD_MAX) {
      t.maybeSeal();
      if (t.batches.length > 0) sealedAt = i + 1;
    }
  }
  assert.equal(sealedAt, DEFER_HEAD_MAX);
  t.clear();
});

test("the heads' estimate follows them: growth adds, a seal and clear give back", () => {
  setHeadBudget(1 << 30);
  const before = headBytesTotal();
  const t = table(5000);
  const held = headBytesTotal() - before;
  assert.equal(held, 5000 * headEntryBytes(3));
  t.seal();
  t.maybeSeal();
  assert.equal(headBytesTotal(), before, 'sealed: nothing held');
  const u = table(300);
  u.clear();
  assert.equal(headBytesTotal(), before, 'cleared: nothing held');

  const a = new HeadAccount();
  const base = headBytesTotal();
  assert.equal(a.report(100), true);
  assert.equal(headBytesTotal(), base + 100);
  setHeadBudget(base + 50);
  assert.equal(a.report(100), false, 'over the budget');
  a.release();
  assert.equal(headBytesTotal(), base);
});

test("a join's side keeps its head unsealed within the budget and seals it past the budget", () => {
  const key = (r: Row) => (r[0] === null ? NULL_KEY : r[0]);
  const mk = () =>
    new JoinOperator({
      kind: 'inner',
      leftKey: key,
      rightKey: key,
      leftId: encodeRow,
      rightId: encodeRow,
      residual: null,
      combine: (l, r) => [...l, ...r],
      leftWidth: 2,
      rightWidth: 2,
    });
  const run = (j: JoinOperator): number => {
    let out = 0;
    for (let s = 0; s < 30; s++) {
      const left = emptyBatch();
      for (let i = 0; i < 10_000; i++) push(left, [i % 500, s * 10_000 + i], 1);
      const right = emptyBatch();
      if (s === 0) for (let k = 0; k < 500; k += 5) push(right, [k, -k], 1);
      out += j.step([left, right]).rows.length;
    }
    return out;
  };
  setHeadBudget(1 << 30);
  const kept = mk();
  const a = run(kept);
  assert.equal(kept.traces.left, null, 'within the budget: the left side never sealed');
  setHeadBudget(0);
  const sealed = mk();
  const b = run(sealed);
  assert.ok((sealed.traces.left?.batches.length ?? 0) > 0, 'over the budget: the left side sealed');
  assert.equal(a, b, 'the same output either way');
  assert.equal(kept.storedRows, sealed.storedRows);
});

test("a scan-only trace (an aggregate's input log) seals at its threshold whatever the budget", () => {
  setHeadBudget(1 << 30);
  const t = new Trace(traceLayout(2, [0]), { indexed: false });
  for (let i = 0; i < 70_000; i++) t.add([i % 100, i], 1);
  t.maybeSeal();
  assert.equal(t.headSize, 0, 'sealed at 65,536 entries although the heads fit');
  assert.equal(t.batches.length, 1);
  t.clear();
});
