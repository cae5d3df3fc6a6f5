/** The README's main-job command (`npm run demo` = `node examples/demo.ts`) works on embedded defaults. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');

test('the demo starts a server, drives the example with the CLI, and cleans up', { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'examples/demo.ts')], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| north {2}\| 3 {6}\| 455\.75 {2}\| 151\.9166666666666667 \| 310\.25 {2}\|/);
  assert.match(r.stdout, /demo finished/);
});
