import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ChangeLog,
  CONSOLIDATE_AT,
  KeyedChangeLog,
  PendingDelta,
  setChangeLogOverflow,
} from '../../../src/circuit/change-log.ts';
import { consolidate, emptyBatch, push } from '../../../src/zset/batch.ts';
import type { Row } from '../../../src/zset/value.ts';
import { runSeed } from '../../kit/seed.ts';
import { mulberry32 } from '../operators/support.ts';

test('a change log holds about the net change, not one entry per record, and take() is the consolidated sum', () => {
  const seed = runSeed('change log', 'HOLDFAST_TEST_SEED', 1_000_000);
  let x = seed;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const log = new ChangeLog();
  log.enabled = true;
  const all = emptyBatch();
  let most = 0;
  for (let i = 0; i < 400_000; i++) {
    const row = [rnd(1000), `v${rnd(3)}`];
    const w = rnd(3) - 1;
    log.record(row, w);
    push(all, row, w);
    most = Math.max(most, log.size);
  }
  assert.ok(most <= CONSOLIDATE_AT, `seed ${seed}: the log held ${most} entries`);
  const want = consolidate(all);
  const got = log.take();
  const asMap = (b: typeof got) =>
    new Map(b.rows.map((r, i) => [JSON.stringify(r), b.weights[i] as number] as const));
  assert.deepEqual(asMap(got), asMap(want), `seed ${seed}`);
  assert.equal(log.size, 0);
});

test('a disabled change log records nothing', () => {
  const log = new ChangeLog();
  log.record([1], 1);
  assert.equal(log.size, 0);
  assert.equal(log.take().rows.length, 0);
});

test('a keyed change log: one entry per touched key, take() is (before, -1), (now, +1) and equals the consolidated sum', () => {
  const seed = runSeed('keyed change log', 'HOLDFAST_TEST_SEED', 1_000_000);
  let x = seed;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  // a model table: key -> row; every change goes through the log as the table-input operator reports it
  const table = new Map<number, [number, string]>();
  const log = new KeyedChangeLog();
  log.record(1, undefined, [1, 'a']);
  assert.equal(log.size, 0, 'a disabled log records nothing');
  log.enabled = true;
  const all = emptyBatch();
  for (let step = 0; step < 3; step++) {
    for (let i = 0; i < 20_000; i++) {
      const k = rnd(500);
      const before = table.get(k);
      const now: [number, string] | undefined = rnd(4) === 0 ? undefined : [k, `v${rnd(3)}`];
      if (now === undefined) table.delete(k);
      else table.set(k, now);
      if (before !== undefined && now !== undefined && before[1] === now[1]) continue;
      log.record(k, before, now);
      if (before !== undefined) push(all, before, -1);
      if (now !== undefined) push(all, now, 1);
    }
    assert.ok(log.size <= 500, `seed ${seed}: one entry per key, got ${log.size}`);
    const got = log.take();
    const want = consolidate(all);
    const asMap = (b: typeof got) =>
      new Map(b.rows.map((r, i) => [JSON.stringify(r), b.weights[i] as number] as const));
    assert.equal(got.rows.length, asMap(got).size, `seed ${seed}: no row twice`);
    assert.deepEqual(asMap(got), asMap(want), `seed ${seed}`);
    assert.equal(log.size, 0);
    all.rows.length = 0;
    all.weights.length = 0;
  }
  // a key changed and changed back is no change; inserted then deleted is no change
  log.record(7, [7, 'a'], [7, 'b']);
  log.record(7, [7, 'b'], [7, 'a']);
  log.record(8, undefined, [8, 'x']);
  log.record(8, [8, 'x'], undefined);
  assert.deepEqual(log.take().rows, []);
});

test('a change log that outgrows its limit stops recording, take() refuses, and reset() starts over', () => {
  const prev = setChangeLogOverflow(1000);
  try {
    const log = new ChangeLog();
    log.enabled = true;
    // the same few rows over and over: the net change stays small, no overflow
    for (let i = 0; i < 50_000; i++) log.record([i % 10], i % 2 === 0 ? 1 : -1);
    assert.equal(log.overflowed, false);
    for (let i = 0; i < 5_000; i++) log.record([`row ${i}`], 1);
    assert.equal(log.overflowed, true);
    assert.equal(log.size, 0, 'nothing held once overflowed');
    assert.throws(() => log.take(), /overflowed/);
    log.reset();
    assert.equal(log.overflowed, false);
    log.record([1], 1);
    assert.equal(log.take().rows.length, 1);

    const keyed = new KeyedChangeLog();
    keyed.enabled = true;
    for (let i = 0; i < 999; i++) keyed.record(i, undefined, [i]);
    for (let i = 0; i < 999; i++) keyed.record(i, [i], [i, 'again']);
    assert.equal(keyed.overflowed, false, 'keys touched again do not count twice');
    keyed.record(999, undefined, [999]);
    keyed.record(1000, undefined, [1000]);
    assert.equal(keyed.overflowed, true);
    assert.throws(() => keyed.take(), /overflowed/);
    keyed.reset();
    keyed.record(1, undefined, [1]);
    assert.deepEqual(keyed.take().rows, [[1]]);
  } finally {
    setChangeLogOverflow(prev);
  }
});

test('a large change is taken in O(1) and computed in slices between event-loop turns, to the same batch', async () => {
  const seed = runSeed('change log slices', 'HOLDFAST_TEST_SEED', 1_000_000);
  const random = mulberry32(seed);
  const rnd = (n: number) => Math.floor(random() * n);
  // a plain log: updates of 60,000 rows (a retraction and its replacement each), some undone again
  const plain = new ChangeLog();
  plain.enabled = true;
  const all = emptyBatch();
  for (let i = 0; i < 60_000; i++) {
    const id = rnd(200_000);
    for (const [row, w] of [
      [[id, `v${rnd(3)}`], -1],
      [[id, `v${rnd(3)}`], 1],
    ] as const) {
      plain.record(row, w);
      push(all, row, w);
    }
  }
  // a keyed log: 40,000 keys, inserted, updated or deleted
  const keyed = new KeyedChangeLog();
  keyed.enabled = true;
  const now = new Map<number, [number, string]>();
  const keyedAll = emptyBatch();
  for (let i = 0; i < 40_000; i++) {
    const k = rnd(30_000);
    const before = now.get(k);
    const after: [number, string] | undefined = rnd(4) === 0 ? undefined : [k, `w${rnd(5)}`];
    keyed.record(k, before, after);
    if (before !== undefined) push(keyedAll, before, -1);
    if (after !== undefined) {
      push(keyedAll, after, 1);
      now.set(k, after);
    } else now.delete(k);
  }
  for (const [log, expected] of [
    [plain, consolidate(all)],
    [keyed, consolidate(keyedAll)],
  ] as const) {
    const d = log.take();
    assert.ok(d instanceof PendingDelta, `seed ${seed}: a large change is computed later`);
    assert.equal(d.computed, false, 'take() computed nothing');
    assert.equal(log.size, 0, 'the log starts over at once');
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    await d.settle(0); // a pause at every point it can pause
    clearInterval(timer);
    assert.ok(d.computed);
    assert.ok(turns > 0, `seed ${seed}: the event loop turned while it was computed`);
    const key = (r: unknown) => JSON.stringify(r);
    assert.deepEqual(
      d.rows.map((r, i) => key([r, d.weights[i]])).sort(),
      expected.rows.map((r, i) => key([r, expected.weights[i]])).sort(),
      `seed ${seed}: the consolidated change`,
    );
  }
  // read at once instead, the same rows in the same order as computed in slices
  const a = new ChangeLog();
  const b = new ChangeLog();
  a.enabled = b.enabled = true;
  for (let i = 0; i < all.rows.length; i++) {
    a.record(all.rows[i] as Row, all.weights[i] as number);
    b.record(all.rows[i] as Row, all.weights[i] as number);
  }
  const da = a.take();
  const db = b.take();
  await (db as PendingDelta).settle();
  assert.deepEqual([da.rows, da.weights], [db.rows, db.weights]);
  // a small change is computed right away
  const small = new ChangeLog();
  small.enabled = true;
  small.record([1, 'a'], 1);
  assert.ok(!(small.take() instanceof PendingDelta));
});
