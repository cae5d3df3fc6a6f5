/**
 * File-backed trace batches (`src/zset/batch-file.ts`): a batch written to a v5 batch file answers every read the
 * in-memory batch answers, the same way (random data, seed printed; replay with BATCH_FILE_SEED=n); merges
 * through files give the in-memory merge's entries; a trace that spills gives the same lookups and scans as one
 * that does not; the block cache stays within its bound; a damaged block is `CheckpointCorrupt`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { disableSpill, enableSpill } from '../../../src/storage/spill.ts';
import {
  BLOCK_CACHE,
  FileBatch,
  newEntryView,
  openBatchFile,
  prewarmBlockCache,
  type SpillConfig,
  setSpillConfig,
  spillConfig,
} from '../../../src/zset/batch-file.ts';
import { ByteWriter, encodeColumnsTo, hashBytes } from '../../../src/zset/key-codec.ts';
import {
  buildBatch,
  mergeBatches,
  mergeSealed,
  type SealedBatch,
  spillBatch,
  Trace,
  type TraceBatch,
  traceLayout,
} from '../../../src/zset/trace.ts';
import type { Row, Value } from '../../../src/zset/value.ts';
import { runSeed } from '../../kit/seed.ts';
import { mulberry32, norm } from '../operators/support.ts';
import { CODECS } from '../storage/support.ts';

const LAYOUT = traceLayout(3, [0, 1]);
let dir: string;

function config(over: Partial<SpillConfig> = {}): SpillConfig {
  const c = enableSpill(join(dir, 'spill'), { minStorageBytes: 0, cacheMib: 1, compression: 'none' }, CODECS);
  // synchronous writes unless a test asks for background ones (these tests read files right after a seal)
  const full = { ...c, blockBytes: 256, background: false, ...over };
  setSpillConfig(full);
  return full;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'holdfast-batch-file-'));
});
after(() => {
  disableSpill();
  rmSync(dir, { recursive: true, force: true });
});

function randomRows(rnd: () => number, n: number, keys: number): { rows: Row[]; weights: number[] } {
  const rows: Row[] = [];
  const weights: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rnd() * keys);
    const sub: Value = rnd() < 0.3 ? null : rnd() < 0.5 ? `s${Math.floor(rnd() * 5)}` : Math.floor(rnd() * 4);
    const v: Value = rnd() < 0.5 ? BigInt(Math.floor(rnd() * 1000)) : 'x'.repeat(Math.floor(rnd() * 40));
    rows.push([k, sub, v]);
    weights.push(rnd() < 0.2 ? -1 : 1 + Math.floor(rnd() * 2));
  }
  return { rows, weights };
}

function keyBytes(row: Row, cols: readonly number[]): Buffer {
  const w = new ByteWriter(64);
  encodeColumnsTo(w, row, cols, null);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function entries(b: SealedBatch): Array<[string, number]> {
  const v = newEntryView();
  const out: Array<[string, number]> = [];
  for (let i = 0; i < b.length; i++) {
    b.view(i, v);
    out.push([v.buf.subarray(v.s, v.e).toString('hex'), v.w]);
  }
  return out;
}

describe('batch files', () => {
  test('a file-backed batch answers like the in-memory one (random data)', () => {
    const seed = runSeed('batch-file reads', 'BATCH_FILE_SEED');
    console.log(`batch-file reads: seed ${seed} (replay: BATCH_FILE_SEED=${seed})`);
    for (const compress of [false, true]) {
      const c = config({ compress });
      const rnd = mulberry32(seed + (compress ? 1 : 0));
      const { rows, weights } = randomRows(rnd, 3000, 400);
      const mem = buildBatch(LAYOUT, rows, weights);
      const fb = spillBatch(mem, c);
      assert.ok(fb instanceof FileBatch);
      assert.ok(fb.blockCount > 10, `several blocks (${fb.blockCount})`);
      assert.equal(fb.length, mem.length);
      assert.deepEqual(entries(fb), entries(mem));
      for (let i = 0; i < mem.length; i++) {
        assert.deepEqual(fb.row(i), mem.row(i));
        assert.equal(fb.weight(i), mem.weight(i));
        assert.deepEqual(fb.firstKeyValue(i), mem.firstKeyValue(i));
        if (i > 0) assert.equal(fb.sameKey(i - 1, i), mem.sameKey(i - 1, i));
      }
      for (let q = 0; q < 800; q++) {
        const probe: Row = [Math.floor(rnd() * 450) - 20, rnd() < 0.3 ? null : Math.floor(rnd() * 4), 0];
        const key = keyBytes(probe, [0, 1]);
        const h = hashBytes(key, 0, key.length);
        assert.equal(fb.keyInRange(key, 0, key.length), mem.keyInRange(key, 0, key.length));
        assert.equal(fb.find(key, 0, key.length, h), mem.find(key, 0, key.length, h), `find ${probe}`);
        const prefix = keyBytes(probe, [0]);
        const lb = mem.lowerBound(prefix, 0, prefix.length);
        assert.equal(fb.lowerBound(prefix, 0, prefix.length), lb, `lowerBound ${probe[0]}`);
        if (lb < mem.length)
          assert.equal(
            fb.hasPrefix(lb, prefix, 0, prefix.length),
            mem.hasPrefix(lb, prefix, 0, prefix.length),
          );
      }
      assert.deepEqual(
        norm({ rows: fb.rows, weights: fb.weights }),
        norm({ rows: mem.rows, weights: mem.weights }),
      );
    }
  });

  test('merges through files give the in-memory merge (overlapping, disjoint, cancelling)', () => {
    const seed = runSeed('batch-file merges', 'BATCH_FILE_SEED');
    console.log(`batch-file merges: seed ${seed} (replay: BATCH_FILE_SEED=${seed})`);
    const c = config();
    const rnd = mulberry32(seed);
    for (let round = 0; round < 6; round++) {
      const a = randomRows(rnd, 500 + Math.floor(rnd() * 1500), 300);
      const b = randomRows(rnd, 500 + Math.floor(rnd() * 1500), 300);
      const shift = (rs: Row[]): Row[] => rs.map((r) => [(r[0] as number) + 1000, ...r.slice(1)]);
      if (round === 1) b.rows = shift(b.rows); // disjoint: b after a
      if (round === 2) a.rows = shift(a.rows); // disjoint: a after b
      if (round === 3) {
        // b cancels a
        b.rows = a.rows.map((r) => [...r]);
        b.weights = a.weights.map((w) => -w);
      }
      const ma = buildBatch(LAYOUT, a.rows, a.weights);
      const mb = buildBatch(LAYOUT, b.rows, b.weights);
      const want = entries(mergeBatches(ma, mb));
      const fa = spillBatch(ma, c);
      const fbb = spillBatch(mb, c);
      for (const [x, y] of [
        [fa, fbb],
        [ma, fbb],
        [fa, mb],
        [ma, mb],
      ] as Array<[SealedBatch, SealedBatch]>) {
        const m = mergeSealed(x, y);
        assert.deepEqual(entries(m), want, `round ${round}`);
        if (want.length > 0)
          assert.ok(m instanceof FileBatch, 'a merge at the threshold is written to a file');
      }
    }
  });

  test('a trace that spills answers lookups and scans like one that does not', () => {
    const seed = runSeed('batch-file trace', 'BATCH_FILE_SEED');
    console.log(`batch-file trace: seed ${seed} (replay: BATCH_FILE_SEED=${seed})`);
    const rnd = mulberry32(seed);
    const ops: Array<[Row, number]> = [];
    const { rows, weights } = randomRows(rnd, 6000, 500);
    for (let i = 0; i < rows.length; i++) ops.push([rows[i] as Row, weights[i] as number]);
    const run = (spill: boolean): { lookups: unknown[]; scans: unknown[]; files: number } => {
      if (spill) config({ minStorageBytes: 2000 });
      else disableSpill();
      const t = new Trace(LAYOUT, { headMin: 64 });
      const lookups: unknown[] = [];
      const scans: unknown[] = [];
      const r2 = mulberry32(seed + 7);
      const outR: Row[] = [];
      const outW: number[] = [];
      for (let i = 0; i < ops.length; i++) {
        const [row, w] = ops[i] as [Row, number];
        t.add(row, w);
        if (i % 50 === 49) t.maybeSeal();
        if (i % 97 === 0) {
          t.lookup([Math.floor(r2() * 500), row[1] as Value, 0], outR, outW);
          lookups.push(norm({ rows: [...outR], weights: [...outW] }));
        }
        if (i % 1500 === 1499) {
          const got: Array<[Row, number]> = [];
          t.scan([Math.floor(r2() * 500)], (r, ww) => got.push([r, ww]));
          scans.push(got);
          const all: Array<[Row, number]> = [];
          t.scan([], (r, ww) => all.push([r, ww]));
          scans.push(all);
        }
      }
      return { lookups, scans, files: t.batches.filter((b) => b instanceof FileBatch).length };
    };
    const plain = run(false);
    const spilled = run(true);
    assert.ok(spilled.files > 0, 'some batches were spilled');
    assert.equal(plain.files, 0);
    assert.deepEqual(spilled.lookups, plain.lookups);
    assert.deepEqual(spilled.scans, plain.scans);
  });

  test('the block cache stays within cache_mib', () => {
    const c = config({ cacheBytes: 8 * 1024, blockBytes: 512 });
    BLOCK_CACHE.clear();
    BLOCK_CACHE.peakBytes = 0;
    const rnd = mulberry32(5);
    const { rows, weights } = randomRows(rnd, 5000, 2000);
    const fb = spillBatch(buildBatch(LAYOUT, rows, weights), c) as FileBatch;
    assert.ok(fb.blockCount * 512 > 4 * c.cacheBytes, 'the file is several times the cache');
    for (let q = 0; q < 3000; q++) fb.row(Math.floor(rnd() * fb.length));
    assert.ok(BLOCK_CACHE.peakBytes <= c.cacheBytes, `peak ${BLOCK_CACHE.peakBytes} ≤ ${c.cacheBytes}`);
    assert.ok(BLOCK_CACHE.bytes > 0 && BLOCK_CACHE.bytes <= c.cacheBytes);
    assert.ok(BLOCK_CACHE.misses > 0 && BLOCK_CACHE.hits > 0);
    // the in-memory part of the batch is its block index, far smaller than its entries
    assert.ok(fb.byteSize * 5 < fb.dataBytes, `index ${fb.byteSize} B for ${fb.dataBytes} B of entries`);
  });

  test('prewarming reads live batches into the cache up to its bound, skipping released ones', async () => {
    // a cache that holds every live batch of this file: all of the live one's blocks end up cached
    const c = config({ cacheBytes: 8 * 1024 * 1024, blockBytes: 512 });
    BLOCK_CACHE.clear();
    const rnd = mulberry32(9);
    const a = randomRows(rnd, 3000, 1000);
    const gone = spillBatch(buildBatch(LAYOUT, a.rows, a.weights), c) as FileBatch;
    gone.release();
    const b = randomRows(rnd, 1500, 500);
    const live = spillBatch(buildBatch(LAYOUT, b.rows, b.weights), c) as FileBatch;
    assert.equal(BLOCK_CACHE.bytes, 0);
    const read = await prewarmBlockCache(0.5);
    assert.ok(read >= live.blockCount, `blocks were read (${read})`);
    for (let i = 0; i < live.blockCount; i++) assert.equal(live.isCached(i), true, `block ${i} cached`);
    for (let i = 0; i < gone.blockCount; i++)
      assert.equal(gone.isCached(i), false, 'a released batch is not read');
    const misses = BLOCK_CACHE.misses;
    for (let i = 0; i < live.blockCount; i++) live.block(i);
    assert.equal(BLOCK_CACHE.misses, misses, 'reads of prewarmed blocks are hits');
    // a small cache: prewarming stops at its bound
    config({ cacheBytes: 8 * 1024, blockBytes: 512 });
    BLOCK_CACHE.clear();
    await prewarmBlockCache(0.5);
    assert.ok(BLOCK_CACHE.bytes > 0 && BLOCK_CACHE.bytes <= 8 * 1024, `${BLOCK_CACHE.bytes} B cached`);
  });

  test('a damaged block is CheckpointCorrupt', () => {
    const c = config({ cacheBytes: 0 });
    const rnd = mulberry32(9);
    const { rows, weights } = randomRows(rnd, 400, 100);
    const fb = spillBatch(buildBatch(LAYOUT, rows, weights), c) as FileBatch;
    const path = fb.path as string;
    const bytes = readFileSync(path);
    bytes[16 + 40] = (bytes[16 + 40] as number) ^ 0xff; // inside block 0
    const damaged = join(dir, 'damaged');
    writeFileSync(damaged, bytes);
    const opened = openBatchFile(damaged, fb.hash);
    assert.throws(
      () => opened.row(0),
      (e: unknown) => (e as { errorCode?: string }).errorCode === 'CheckpointCorrupt',
    );
    // a damaged index (the meta section near the end) is refused on open
    const b2 = readFileSync(path);
    b2[b2.length - 30] = (b2[b2.length - 30] as number) ^ 0xff;
    writeFileSync(damaged, b2);
    assert.throws(
      () => openBatchFile(damaged, fb.hash),
      (e: unknown) => (e as { errorCode?: string }).errorCode === 'CheckpointCorrupt',
    );
  });

  test('a merged-away batch releases its spill file; readers holding it still read', () => {
    const c = config({ minStorageBytes: 0 });
    const t = new Trace(LAYOUT, { headMin: 1 });
    t.add([1, 1, 1n], 1);
    t.seal();
    const first = t.batches[0] as FileBatch;
    assert.ok(first instanceof FileBatch);
    const path = first.path as string;
    t.add([2, 1, 1n], 1);
    t.seal(); // merges the two
    assert.equal(first.path, null);
    assert.throws(() => readFileSync(path), /ENOENT/);
    assert.deepEqual(first.row(0), [1, 1, 1n]);
    assert.equal(spillConfig()?.dir, c.dir);
    assert.equal((t.batches[0] as TraceBatch | FileBatch).length, 2);
  });
});
