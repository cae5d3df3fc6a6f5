import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChangeLog, CONSOLIDATE_AT } from '../../../src/circuit/change-log.ts';
import { consolidate, emptyBatch, push } from '../../../src/zset/batch.ts';

test('a change log holds about the net change, not one entry per record, and take() is the consolidated sum', () => {
  const seed = Number(process.env.HOLDFAST_TEST_SEED ?? Date.now() % 1_000_000);
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
