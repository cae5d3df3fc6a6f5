/** `/stats`' measured resource figures: storage size (rescanned at most every 5 s, integrated) and memory pressure. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ResourceMeters, STORAGE_SCAN_MS } from '../../../src/server/resource-meters.ts';
import { MEMORY_PRESSURES } from '../../../src/types/pipeline-api.ts';

test('storage_bytes is the size of the files under the storage directory; storage_mb_secs integrates it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-meters-'));
  mkdirSync(join(dir, 'journal'));
  writeFileSync(join(dir, 'journal', 'a.log'), Buffer.alloc(1048576));
  writeFileSync(join(dir, 'b'), Buffer.alloc(1000));
  const m = new ResourceMeters(dir);
  const t0 = 1_000_000;
  assert.deepEqual(m.storage(t0), { storage_bytes: 1049576, storage_mb_secs: 0 });
  writeFileSync(join(dir, 'c'), Buffer.alloc(5000));
  assert.equal(m.storage(t0 + 1000).storage_bytes, 1049576, 'not rescanned within the interval');
  const later = m.storage(t0 + 10_000);
  assert.equal(later.storage_bytes, 1054576, 'rescanned after the interval');
  assert.ok(STORAGE_SCAN_MS <= 10_000);
  assert.equal(later.storage_mb_secs, Math.round((1049576 / 1048576) * 10));
  assert.deepEqual(new ResourceMeters(null).storage(), { storage_bytes: 0, storage_mb_secs: 0 });
});

test('memory_pressure is one of the four levels, measured from the heap; the epoch starts at 0', () => {
  const m = new ResourceMeters(null);
  const p = m.memoryPressure();
  assert.ok((MEMORY_PRESSURES as readonly string[]).includes(p.memory_pressure));
  assert.equal(p.memory_pressure, 'low', 'a test process uses little of its heap limit');
  assert.equal(p.memory_pressure_epoch, 0);
});
