/**
 * `BatchFileWriter.addAll` writes the bytes of entry-by-entry adds. Background batch-file writes
 * (`src/zset/spill-writer.ts`): a sealed batch of file size stays in memory while a
 * worker thread writes its file, and the trace swaps in the file (same entries, the bytes of a synchronous
 * write) once it is complete, also for a caller that never yields to the event loop; a failed write is redone on
 * the step, where its error surfaces; a batch merged away before its write completes leaves no file behind; merged
 * files do not depend on whether an input's write had completed; a checkpoint taken while a write is in flight
 * waits for it and lists the complete batch file, which restores the same rows.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import { disableSpill, enableSpill } from '../../../src/storage/spill.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import {
  BatchFileWriter,
  FileBatch,
  type SpillConfig,
  setSpillConfig,
  spillConfig,
} from '../../../src/zset/batch-file.ts';
import { backgroundWritesSettled } from '../../../src/zset/spill-writer.ts';
import {
  buildBatch,
  type SealedBatch,
  spillBatch,
  Trace,
  TraceBatch,
  TraceParts,
  traceLayout,
  writtenFile,
} from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
import { norm } from '../operators/support.ts';
import { CapturingLogger, CODECS } from '../storage/support.ts';

const LAYOUT = traceLayout(2, [0]);
let dir: string;

/** Spilling with background writes (as a pipeline has it), every batch file-sized, tiny blocks. */
function config(over: Partial<SpillConfig> = {}): SpillConfig {
  const c = enableSpill(
    join(dir, 'spill'),
    { minStorageBytes: 0, cacheMib: 1, compression: 'default' },
    CODECS,
  );
  assert.equal(c.background, true, 'a pipeline writes batch files in the background');
  const full = { ...c, blockBytes: 256, ...over };
  setSpillConfig(full);
  return full;
}

const rowsFrom = (from: number, n: number): Row[] =>
  Array.from({ length: n }, (_, i): Row => [from + i, `value ${(from + i) % 97}`]);

function fill(t: Trace, rows: readonly Row[]): void {
  for (const r of rows) t.add(r, 1);
}

const describeBatches = (bs: readonly SealedBatch[]): string[] =>
  bs.map((b) => (b instanceof FileBatch ? `file ${b.hash} ${b.length}` : `memory ${b.length}`));

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'holdfast-spill-writer-'));
});
after(async () => {
  await backgroundWritesSettled();
  disableSpill();
  rmSync(dir, { recursive: true, force: true });
});

describe('batch file writer', () => {
  test('addAll writes the blocks and bytes that adding each entry writes (random batches and block sizes)', () => {
    const c = config();
    for (let round = 0; round < 40; round++) {
      const n = 1 + ((round * 7919) % 600);
      const rows = Array.from(
        { length: n },
        (_, i): Row => [i * 3 + round, 'x'.repeat((i * 13 + round) % 40)],
      );
      const b = buildBatch(
        LAYOUT,
        rows,
        rows.map((_, i) => (i % 5 === 0 ? -2 : 1)),
      );
      const blockBytes = 1 + ((round * 104729) % 3000);
      const arrays = { arena: b.arena, offsets: b.offsets, splits: b.splits, weights: b.wts };
      // a writer that has begun a block with entries of its own first (a merge), then the whole batch
      const lead = buildBatch(LAYOUT, [[-1, 'lead']], [1]);
      const write = (bulk: boolean, withLead: boolean): string => {
        const w = new BatchFileWriter(c.dir, LAYOUT, round % 2 === 0, blockBytes);
        if (withLead) w.add(lead.arena, 0, lead.splits[0] as number, lead.offsets[1] as number, 1);
        if (bulk) w.addAll(arrays);
        else
          for (let i = 0; i < b.length; i++)
            w.add(
              b.arena,
              b.offsets[i] as number,
              b.splits[i] as number,
              b.offsets[i + 1] as number,
              b.wts[i] as number,
            );
        return w.finishFile(Buffer.alloc(0)).hash;
      };
      assert.equal(write(true, false), write(false, false), `round ${round}: n ${n}, block ${blockBytes}`);
      assert.equal(write(true, true), write(false, true), `round ${round} after a lead entry`);
    }
  });
});

describe('background batch-file writes', () => {
  test('a sealed batch stays in memory until its file is written, then the trace holds the file (same bytes as a synchronous write)', async () => {
    const c = config();
    const t = new Trace(LAYOUT, { headMin: 1 });
    const rows = rowsFrom(0, 400);
    fill(t, rows);
    t.seal();
    const b = t.batches[0] as SealedBatch;
    assert.ok(b instanceof TraceBatch, 'the seal did not write on the step');
    const pending = writtenFile(b);
    assert.ok(pending !== null, 'its write was started');
    const f = await pending;
    assert.ok(f instanceof FileBatch);
    t.maybeSeal();
    assert.equal(t.batches[0], f, 'the trace swapped in the written file');
    assert.equal(f.length, 400);
    assert.equal(f.blockCount > 1, true);
    const sync = spillBatch(b, { ...c, background: false });
    assert.equal(sync.hash, f.hash, 'the same bytes as a synchronous write');
    const got: Row[] = [];
    t.scan([], (r) => got.push(r));
    assert.deepEqual(got, rows);
    const out: Row[] = [];
    const ws: number[] = [];
    t.lookup([123, null], out, ws);
    assert.deepEqual(out, [[123, 'value 26']]);
  });

  test('a caller that steps without yielding to the event loop still sees its writes complete', () => {
    config();
    const t = new Trace(LAYOUT, { headMin: 1 });
    fill(t, rowsFrom(0, 300));
    t.seal();
    assert.ok(t.batches[0] instanceof TraceBatch);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + 20_000;
    // no await: only a synchronous read of the worker's replies can complete the write
    while (!(t.batches[0] instanceof FileBatch) && Date.now() < until) {
      Atomics.wait(pause, 0, 0, 5);
      t.maybeSeal();
    }
    assert.ok(t.batches[0] instanceof FileBatch, 'the write completed without a turn of the event loop');
  });

  test('a failed background write is redone on the step, where its error surfaces as without background writes', () => {
    config();
    const t = new Trace(LAYOUT, { headMin: 1 });
    fill(t, rowsFrom(0, 300));
    rmSync(join(dir, 'spill'), { recursive: true, force: true });
    t.seal(); // the worker cannot create its file: the spill directory is gone
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + 20_000;
    let error: unknown = null;
    while (error === null && Date.now() < until) {
      Atomics.wait(pause, 0, 0, 5);
      try {
        t.maybeSeal();
      } catch (e) {
        error = e;
      }
    }
    assert.match(String(error), /ENOENT/, 'the synchronous retry reports the I/O error');
    assert.equal(t.toBatch().rows.length, 300, 'the rows are still there');
  });

  test('batches merged away before their write completes leave no file; the spill directory holds the live files only', async () => {
    config();
    const t = new Trace(LAYOUT, { headMin: 1 });
    for (let s = 0; s < 12; s++) {
      fill(t, rowsFrom(s * 100, 100));
      t.seal(); // no turn of the event loop between seals: merges meet batches whose files are not written
    }
    await backgroundWritesSettled();
    t.maybeSeal();
    const live = t.batches.map((b) => (b instanceof FileBatch ? b.hash : 'memory')).sort();
    assert.deepEqual(readdirSync(join(dir, 'spill')).sort(), live.length === 0 ? [] : live);
    assert.equal(t.toBatch().rows.length, 1200);
  });

  test('merged files do not depend on whether the inputs\u2019 background writes had completed', async () => {
    const run = async (wait: boolean, start: number): Promise<{ files: string[]; rows: Batch }> => {
      config();
      const t = new Trace(LAYOUT, { headMin: 1 });
      for (let s = 0; s < 14; s++) {
        // ascending keys: disjoint batches, so merges concatenate blocks (a written input's blocks are copied)
        fill(t, rowsFrom(start + s * 37, 37));
        if (wait) await backgroundWritesSettled();
        t.seal();
      }
      await backgroundWritesSettled();
      t.maybeSeal();
      return { files: describeBatches(t.batches), rows: t.toBatch() };
    };
    const waited = await run(true, 0);
    const raced = await run(false, 0);
    assert.ok(
      waited.files.every((f) => f.startsWith('file ')),
      `every batch is a file: ${waited.files}`,
    );
    assert.deepEqual(raced.files, waited.files);
    assert.deepEqual(norm(raced.rows), norm(waited.rows));
  });

  test('a checkpoint taken while a write is in flight waits for it and lists the complete batch file', async () => {
    config();
    const t = new Trace(LAYOUT, { headMin: 1 });
    const rows = rowsFrom(1000, 500);
    fill(t, rows);
    const batches = t.sealedBatches(); // what a snapshot does
    const b = batches[0] as SealedBatch;
    assert.ok(b instanceof TraceBatch && writtenFile(b) !== null, 'the write is in flight');
    const storeDir = join(dir, 'store');
    const store = new CheckpointStore(storeDir, { codecs: CODECS, logger: new CapturingLogger() });
    const r = await store.write(
      { steps: 1, operators: { op: { s: new TraceParts(batches) } } },
      { fingerprint: 'fp' },
    );
    const f = (await writtenFile(b)) as FileBatch;
    const listed = (r.manifest.operators as Record<string, Record<string, Array<{ hash: string }>>>).op?.s;
    assert.deepEqual(
      listed?.map((x) => x.hash),
      [f.hash],
      'the batch file itself is listed (not a segment encoded from memory)',
    );
    const bytes = readFileSync(store.filePath(f.hash));
    assert.equal(bytes.length, f.fileSize, 'the listed file is complete');
    assert.equal(bytes.toString('latin1', 0, 4), 'HFSG');
    assert.equal(bytes[4], 7, 'segment format v7 (a batch file)');
    // a new process restores it
    config();
    const read = await new CheckpointStore(storeDir, { codecs: CODECS }).readLatest();
    assert.deepEqual(
      norm(read?.snapshot.operators.op?.s as Batch),
      norm({ rows, weights: rows.map(() => 1) }),
    );
    assert.equal(spillConfig()?.dir, join(dir, 'spill'));
  });
});
