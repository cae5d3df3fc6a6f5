/**
 * GC after recovering past a damaged newest checkpoint: the broken checkpoint must not count towards `keep`, or
 * the next GC deletes the intact checkpoint recovery fell back to and leaves a single intact one on disk.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CircuitSnapshot } from '../../src/circuit/circuit.ts';
import { CheckpointStore, manifestFiles } from '../../src/storage/checkpoint-store.ts';

const quiet = { warn: () => {} };
const snap = (steps: number, xs: number[]): CircuitSnapshot => ({
  steps,
  operators: { op: { s: { rows: xs.map((x) => [x]), weights: xs.map(() => 1) } } },
});

test('gc keeps two intact checkpoints after a recovery past a broken newest one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-torn-gc-'));
  try {
    let s = new CheckpointStore(dir, { logger: quiet });
    const a = await s.write(snap(1, [1, 2]), { fingerprint: 'f' });
    const b = await s.write(snap(2, [3]), { fingerprint: 'f' }, { delta: true });
    const inA = new Set(manifestFiles(a.manifest).map((f) => f.hash));
    const onlyB = manifestFiles(b.manifest).find((f) => !inA.has(f.hash));
    assert.ok(onlyB);
    unlinkSync(s.filePath(onlyB.hash)); // B is broken

    // restart: recovery falls back to A, then the pipeline writes C on top of it and GCs (keep 2)
    s = new CheckpointStore(dir, { logger: quiet });
    assert.equal((await s.readLatest())?.entry.uuid, a.entry.uuid);
    const c = await s.write(snap(3, [4]), { fingerprint: 'f' }, { delta: true });
    const g = await s.gc({ keep: 2 });
    assert.deepEqual(g.removedCheckpoints, []);
    assert.deepEqual(
      (await s.list()).map((e) => e.uuid),
      [a.entry.uuid, b.entry.uuid, c.entry.uuid],
    );

    // once two intact checkpoints are newer, the broken one and the old one go
    const d = await s.write(snap(4, [5]), { fingerprint: 'f' }, { delta: true });
    const g2 = await s.gc({ keep: 2 });
    assert.deepEqual(new Set(g2.removedCheckpoints), new Set([a.entry.uuid, b.entry.uuid]));
    assert.deepEqual(
      (await s.list()).map((e) => e.uuid),
      [c.entry.uuid, d.entry.uuid],
    );
    // C (a delta extending A) still reads back in full: its files outlived A's manifest
    s = new CheckpointStore(dir, { logger: quiet });
    const read = await s.readLatest();
    assert.equal(read?.entry.uuid, d.entry.uuid);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
