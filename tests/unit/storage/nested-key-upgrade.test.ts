/**
 * Batches of the formats before v6 hold nested values in key columns by hash key (key-codec tag 0x20, the value in
 * the object table). This build keeps them in their ordered key form (tag 0x22), so such a batch is re-encoded
 * when it is read: its keys then have the bytes the same keys get when they arrive later (a retraction finds its
 * row), in SQL order. Here for a v5 batch file (the v3 path is covered by `checkpoint-golden-v3.test.ts`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SQL_VALUE_CODECS } from '../../../src/sql/values/codecs.ts';
import { SqlArray, SqlRow } from '../../../src/sql/values/collections.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { decodeSegment, needsKeyUpgrade, sha256Hex } from '../../../src/storage/segment.ts';
import { disableSpill, enableSpill } from '../../../src/storage/spill.ts';
import { setSpillConfig } from '../../../src/zset/batch-file.ts';
import { K_OBJ, K_ORD } from '../../../src/zset/key-codec.ts';
import { buildBatch, spillBatch, Trace, TraceBatch, traceLayout } from '../../../src/zset/trace.ts';
import type { ObjectValue, Row } from '../../../src/zset/value.ts';

after(() => disableSpill());

const LAYOUT = traceLayout(2, [0]);

/** A batch as the build before v6 encoded it: nested keys as tag 0x20 + hash key, values in the object table. */
function oldBatch(rows: Row[]): TraceBatch {
  const sorted = rows
    .map((r) => ({ r, key: (r[0] as ObjectValue).hashKey() }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  const parts: Buffer[] = [];
  const offsets = new Uint32Array(sorted.length + 1);
  const splits = new Uint32Array(sorted.length);
  const objects = new Map<string, ObjectValue>();
  let at = 0;
  sorted.forEach(({ r, key }, i) => {
    objects.set(key, r[0] as ObjectValue);
    const k = Buffer.concat([Buffer.from([K_OBJ]), Buffer.from(key, 'utf8'), Buffer.from([0, 1])]);
    const v = buildBatch(traceLayout(1, []), [[r[1] as number]], [1]).arena; // a value column, exact
    offsets[i] = at;
    splits[i] = at + k.length;
    parts.push(k, v);
    at += k.length + v.length;
  });
  offsets[sorted.length] = at;
  return new TraceBatch({
    layout: LAYOUT,
    arena: Buffer.concat(parts),
    offsets,
    splits,
    weights: new Float64Array(sorted.length).fill(1),
    objects,
  });
}

test('a v5 batch file with nested keys by hash key is re-encoded when read: ordered keys, SQL order, same bytes as new keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-upgrade-'));
  try {
    const rows: Row[] = [
      [new SqlArray([10, 'b']), 1],
      [new SqlArray([9, 'a']), 2],
      [new SqlRow([null, new Decimal(150n, 2)]), 3],
      [new SqlArray([-1]), 4],
    ];
    const old = oldBatch(rows);
    assert.ok(needsKeyUpgrade(old.objects));
    const c = enableSpill(dir, { minStorageBytes: 0, cacheMib: 1, compression: 'none' }, SQL_VALUE_CODECS);
    setSpillConfig(c);
    const fb = spillBatch(old, c);
    const bytes = Buffer.from(readFileSync(fb.path as string));
    bytes[4] = 5; // the same file as the build before v7 wrote it
    const hash = sha256Hex(bytes);
    const read = decodeSegment(bytes, SQL_VALUE_CODECS, { hash, rows: 4 }) as TraceBatch;
    assert.ok(read instanceof TraceBatch);
    assert.equal(read.objects, null, 'no object table left');
    for (let i = 0; i < read.length; i++) assert.equal(read.arena[read.offsets[i] as number], K_ORD);
    const fresh = buildBatch(
      LAYOUT,
      rows,
      rows.map(() => 1),
    );
    assert.ok(read.arena.equals(fresh.arena), 'the bytes this build gives the same rows');
    // a retraction arriving after the restore cancels the restored row
    const t = new Trace(LAYOUT);
    t.adopt(read);
    t.add([new SqlArray([9, 'a']), 2], -1);
    const got: number[] = [];
    t.scan([], (r, w) => got.push((r[1] as number) * w));
    assert.deepEqual(
      got,
      [4, 1, 3],
      'in SQL order ([-1] < [9] < [10], arrays before rows), the retracted row gone',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
