/** The README's main-job command (`npm run demo` = `node examples/demo.ts`) works on embedded defaults. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');

test('the demo drives the example with the CLI, syncs a checkpoint to a local bucket, restores from it, fails over to a standby, and cleans up', {
  timeout: 60_000,
}, () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'examples/demo.ts')], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  const north = /\| north {2}\| 3 {6}\| 455\.75 {2}\| 151\.91 {5}\| 310\.25 {2}\|/g;
  // once after ingesting, once after the restore from the bucket, once on the activated standby
  assert.equal(r.stdout.match(north)?.length, 3, r.stdout);
  assert.match(r.stdout, /pipeline 'orders-dr' activated: Running/);
  assert.match(r.stdout, /"msg":"took over .* at epoch 2"/);
  assert.match(r.stdout, /the standby took the bucket over/);
  assert.match(r.stdout, /orders: checkpoint [0-9a-f-]{36} synced/);
  assert.match(r.stdout, /^[0-9a-f-]{36} .* bucket +1 +orders$/m);
  assert.match(r.stdout, /orders: storage cleared/);
  assert.match(r.stdout, /^(?=.*"msg":"checkpoint pulled successfully")(?=.*"source":"bucket").*$/m);
  assert.match(r.stdout, /restored from the bucket/);
  assert.match(r.stdout, /demo finished/);
});
