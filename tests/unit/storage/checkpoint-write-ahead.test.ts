/**
 * Writes ahead (issue 16: a full checkpoint of a large state in about a second): a large batch a trace seals or
 * merges gets its segment file written in the background, on a worker thread, with the bytes a checkpoint would
 * write for it; the next full checkpoint lists that file instead of encoding the batch; a checkpoint that meets a
 * write ahead in progress waits for it rather than encoding twice; GC keeps a file written ahead while its batch
 * lives; a circuit stepping with a sink reports its large new batches, once each, and only its own.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CircuitSnapshot } from '../../../src/circuit/circuit.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import { encodeSegmentAsync } from '../../../src/storage/segment.ts';
import { encodeOffThread } from '../../../src/storage/segment-ahead.ts';
import {
  buildBatch,
  mergeBatches,
  PREWRITE_MIN_ENTRIES,
  setTraceHeadMin,
  Trace,
  type TraceBatch,
  TraceParts,
  traceLayout,
  withSealedSink,
} from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
import { assertSameBatch, CapturingLogger, CODECS, withTempDir } from './support.ts';

const META = { fingerprint: 'fp-ahead', processed_records: 0 };

function batchOf(from: number, to: number, text = (i: number) => `row-${i % 97}`): TraceBatch {
  const layout = traceLayout(3, [0]);
  const rows: Row[] = [];
  const ws: number[] = [];
  for (let i = from; i < to; i++) {
    rows.push([i, text(i), i % 3 === 0 ? null : i * 0.5]);
    ws.push(i % 5 === 0 ? -2 : 1);
  }
  return buildBatch(layout, rows, ws);
}

const snapshotOf = (b: TraceBatch): CircuitSnapshot => ({
  steps: 1,
  operators: { op: { s: new TraceParts([b]) } },
});

test('the worker encodes a batch to the bytes a checkpoint writes on the main thread', async () => {
  // small and large (streamed into zstd in pieces), plain and with non-ASCII strings
  for (const b of [
    batchOf(0, 2000),
    batchOf(0, 300_000),
    batchOf(10, 5000, (i) => `é${'x'.repeat(i % 40)}☃`),
  ]) {
    const off = await encodeOffThread(b, undefined);
    assert.ok(off !== null, 'encoded off the thread');
    const main = await encodeSegmentAsync(b, CODECS);
    assert.equal(off.hash, main.hash);
    assert.equal(off.size, main.size);
    assert.equal(off.rows, main.rows);
    assert.ok(off.bytes.equals(main.bytes));
    // and a different batch gives different bytes (the comparison can fail)
    assert.notEqual((await encodeOffThread(batchOf(1, 2000), undefined))?.hash, main.hash);
  }
});

test('a large merge puts its output in shared memory, which the worker reads without a copy, to the same bytes', async () => {
  const half = PREWRITE_MIN_ENTRIES / 2;
  const isShared = (b: TraceBatch): boolean[] =>
    [b.arena, b.offsets, b.splits, b.wts].map((a) => a.buffer instanceof SharedArrayBuffer);
  // interleaved keys (a real merge, with entries cancelling: even keys added in one, retracted in the other) and
  // disjoint ones (a concatenation)
  const layout = traceLayout(2, [0]);
  const side = (odd: number, w: number): TraceBatch => {
    const rows: Row[] = [];
    const ws: number[] = [];
    for (let i = 0; i < 4 * half; i++)
      if (i % 2 === odd || i % 8 === 0) {
        rows.push([i, `v${i % 13}`]);
        ws.push(i % 8 === 0 && odd === 1 ? -w : w);
      }
    return buildBatch(layout, rows, ws);
  };
  const merged = mergeBatches(side(0, 1), side(1, 1));
  const concat = mergeBatches(batchOf(0, half), batchOf(half, 2 * half));
  const small = mergeBatches(batchOf(0, 100), batchOf(100, 200));
  assert.ok(merged.length >= PREWRITE_MIN_ENTRIES && merged.length < 4 * half, 'entries cancelled');
  assert.deepEqual(isShared(merged), [true, true, true, true]);
  assert.deepEqual(isShared(concat), [true, true, true, true]);
  assert.deepEqual(isShared(small), [false, false, false, false], 'small merges stay in ordinary memory');
  for (const b of [merged, concat]) {
    const off = await encodeOffThread(b, undefined);
    assert.ok(off !== null);
    const main = await encodeSegmentAsync(b, CODECS);
    assert.equal(off.hash, main.hash);
    assert.ok(off.bytes.equals(main.bytes));
  }
  // the contents are those of an ordinary merge's
  const rows = merged.rows;
  assert.equal(rows.length, merged.length);
  assert.ok(
    rows.every((r) => (r[0] as number) % 8 !== 0),
    'the cancelled keys are gone',
  );
});

test('a full checkpoint lists a file written ahead instead of writing it; the state restores', async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, { codecs: CODECS });
    const big = batchOf(0, 50_000);
    store.prewrite(big);
    await store.aheadSettled();
    assert.deepEqual(store.aheadStats, { files: 1, bytes: big.segment?.size, failed: 0, skipped: 0 });
    const seg = big.segment;
    assert.ok(seg !== null, 'the batch is stamped with its file');
    const onDisk = readFileSync(join(dir, 'files', seg.hash));
    assert.equal(onDisk.length, seg.size);
    assert.ok(onDisk.equals((await encodeSegmentAsync(big, CODECS)).bytes), 'the bytes a checkpoint writes');

    const r = await store.write(snapshotOf(big), META);
    assert.equal(r.filesWritten, 0, 'nothing encoded or written: the file is listed');
    assert.equal(r.filesReused, 1);
    const back = await store.read(r.entry.uuid);
    assertSameBatch(back.snapshot.operators.op?.s as TraceParts, big);

    // asking again for a batch that has its file does nothing
    store.prewrite(big);
    await store.aheadSettled();
    assert.equal(store.aheadStats.files, 1);
    assert.equal(store.aheadStats.skipped, 1);
  });
});

test('a checkpoint that meets a write ahead in progress waits for it and encodes the batch once', async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, { codecs: CODECS });
    const big = batchOf(0, 400_000);
    store.prewrite(big); // in progress: the copy into shared memory has not even finished
    const r = await store.write(snapshotOf(big), META);
    assert.equal(store.aheadStats.files, 1, 'written ahead');
    assert.equal(r.filesWritten, 0, 'the checkpoint did not write it again');
    assert.equal(r.filesReused, 1);
    assert.deepEqual(
      readdirSync(join(dir, 'files')).filter((n) => !n.includes('.tmp-')),
      [big.segment?.hash],
      'one file',
    );
    assertSameBatch((await store.read(r.entry.uuid)).snapshot.operators.op?.s as TraceParts, big);
  });
});

test('GC keeps a file written ahead while its batch lives, and removes it once the batch is gone', async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, { codecs: CODECS });
    await store.write(snapshotOf(batchOf(0, 100)), META);
    let big: TraceBatch | null = batchOf(1000, 60_000);
    store.prewrite(big);
    await store.aheadSettled();
    const hash = big.segment?.hash as string;
    const files = () => readdirSync(join(dir, 'files'));
    await store.gc({ keep: 1 });
    assert.ok(files().includes(hash), 'kept: the next checkpoint may list it');
    big = null;
    // the batch is collected: its file is garbage (written ahead, never listed)
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let i = 0; i < 20 && files().includes(hash); i++) {
      gc?.();
      await new Promise((r) => setTimeout(r, 10));
      await store.gc({ keep: 1 });
    }
    if (gc !== undefined) assert.ok(!files().includes(hash), 'removed once its batch is gone');
  });
});

test('GC of a store with no checkpoint yet (empty, or only files written ahead) removes nothing and does not fail', async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, { codecs: CODECS });
    assert.deepEqual(await store.gc({ keep: 1 }), { removedCheckpoints: [], removedFiles: 0, freedBytes: 0 });
    const big = batchOf(0, 5000);
    store.prewrite(big);
    await store.aheadSettled();
    assert.deepEqual(await store.gc({ keep: 1 }), { removedCheckpoints: [], removedFiles: 0, freedBytes: 0 });
    assert.ok(
      readdirSync(join(dir, 'files')).includes(big.segment?.hash as string),
      'the file written ahead is kept',
    );
  });
});

test('a circuit stepping with a sink reports each large new batch of its own state once', async () => {
  const program = await compileProgram(
    'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n FROM t;',
  );
  // heads seal at their minimum or half the state (not deferred under the head budget), so steps seal and merge
  const oldHead = setTraceHeadMin(4096);
  const mine = program.instantiate();
  const other = program.instantiate();
  const reported: TraceBatch[] = [];
  mine.circuit.sealedSink = (b) => reported.push(b);
  const rowsOf = (from: number, n: number): Row[] => Array.from({ length: n }, (_, i) => [from + i, i]);
  const total = PREWRITE_MIN_ENTRIES * 3;
  try {
    for (let at = 0; at < total; at += 50_000) {
      const rows = rowsOf(at, Math.min(50_000, total - at));
      mine.step({ t: { rows, weights: rows.map(() => 1) } });
      other.step({ t: { rows, weights: rows.map(() => 1) } });
    }
  } finally {
    setTraceHeadMin(oldHead);
  }
  // the sealed batches of at least PREWRITE_MIN_ENTRIES entries, as a checkpoint lists them (the captured heads
  // aside: they are sealed by the checkpoint, not by a step)
  const sealedOf = (snap: CircuitSnapshot) =>
    Object.values(snap.operators)
      .flatMap((s) => Object.values(s))
      .flatMap((b) => (b instanceof TraceParts ? b.parts.slice(0, b.parts.length - b.pending.length) : []));
  const sealed = sealedOf(mine.circuit.snapshot()).filter((b) => b.length >= PREWRITE_MIN_ENTRIES);
  assert.ok(sealed.length > 0, 'the state has large sealed batches');
  for (const b of reported) assert.ok(b.length >= PREWRITE_MIN_ENTRIES, 'only large batches');
  assert.equal(new Set(reported).size, reported.length, 'each once');
  for (const b of sealed) assert.ok(reported.includes(b as TraceBatch), 'every large batch the state holds');
  const theirs = sealedOf(other.circuit.snapshot());
  assert.ok(
    theirs.some((b) => b.length >= PREWRITE_MIN_ENTRIES),
    'the other circuit has large batches too',
  );
  for (const b of theirs) assert.ok(!reported.includes(b as TraceBatch), 'not theirs');
});

test('a batch a checkpoint lists before its write ahead started is left to the checkpoint (written once)', async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, { codecs: CODECS });
    const first = batchOf(0, 200_000);
    const second = batchOf(500_000, 700_000);
    store.prewrite(first); // in progress
    store.prewrite(second); // waiting behind it
    const r = await store.write(snapshotOf(second), META);
    await store.aheadSettled();
    assert.equal(r.filesWritten, 1, 'the checkpoint wrote the second batch');
    assert.deepEqual(store.aheadStats, { files: 1, bytes: first.segment?.size, failed: 0, skipped: 1 });
    assertSameBatch((await store.read(r.entry.uuid)).snapshot.operators.op?.s as TraceParts, second);
  });
});

test('a batch merged away before its write ahead starts is not written', async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, { codecs: CODECS });
    const trace = new Trace(traceLayout(3, [0]));
    const busy = batchOf(500_000, 700_000);
    const a = batchOf(0, 100_000);
    store.prewrite(busy); // in progress
    trace.pushBatch(a);
    store.prewrite(a); // waiting behind it
    trace.pushBatch(batchOf(100_000, 200_000)); // as large as `a`: merged with it, and `a` released
    assert.equal(trace.sealedBatches().length, 1, 'merged');
    await store.aheadSettled();
    assert.deepEqual(store.aheadStats, { files: 1, bytes: busy.segment?.size, failed: 0, skipped: 1 });
    assert.equal(a.segment, null, 'not written');
    // a file written ahead whose batch is then merged away is garbage for the next GC, collected or not
    const [merged] = trace.sealedBatches() as TraceBatch[];
    store.prewrite(merged as TraceBatch);
    await store.aheadSettled();
    const hash = merged?.segment?.hash as string;
    await store.write(snapshotOf(batchOf(0, 100)), META); // a checkpoint that does not list it
    await store.gc({ keep: 1 });
    assert.ok(readdirSync(join(dir, 'files')).includes(hash), 'kept while its batch is in the trace');
    trace.pushBatch(batchOf(200_000, 400_000)); // merged with it: released
    await store.gc({ keep: 1 });
    assert.ok(!readdirSync(join(dir, 'files')).includes(hash), 'removed once merged away');
  });
});

test('a checkpoint right after a large merge lists the batches it was merged from, not waiting for its file', async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, { codecs: CODECS });
    await store.write(snapshotOf(batchOf(0, 100)), META); // a checkpoint that lists none of the batches below
    const trace = new Trace(traceLayout(3, [0]));
    const sink = (b: TraceBatch) => store.prewrite(b);
    const old = batchOf(0, 300_000);
    withSealedSink(sink, () => trace.pushBatch(old)); // large: written ahead
    await store.aheadSettled();
    const oldFile = old.segment?.hash as string;
    assert.ok(oldFile !== undefined);
    const fresh = batchOf(300_000, 600_000);
    withSealedSink(sink, () => trace.pushBatch(fresh)); // as large as `old`: merged with it, in a step
    const [merged] = trace.sealedBatches() as TraceBatch[];
    assert.ok(merged !== undefined && merged.length === 600_000 && trace.sealedBatches().length === 1);
    assert.deepEqual(merged.sources, [old, fresh], 'it remembers what it was merged from');
    const files = () => readdirSync(join(dir, 'files'));
    await store.gc({ keep: 1 });
    assert.ok(
      files().includes(oldFile),
      "GC keeps a merged-away batch's file while a checkpoint may list it",
    );

    // the fresh input (never reported on its own: merged in the step that made it) is written ahead first, before
    // the merge: until the merge's file is written, it is what a checkpoint would have to encode
    while (fresh.segment === null && merged.segment === null) await new Promise((r) => setTimeout(r, 1));
    assert.ok(fresh.segment !== null, 'the fresh input has its file first');
    assert.equal(merged.segment === null, true, 'the merge has none yet');

    // a checkpoint now lists the inputs in the merge's place: both files as they are, nothing encoded
    const r = await store.write(
      { steps: 1, operators: { op: { s: new TraceParts(trace.sealedBatches()) } } },
      META,
    );
    const refs = r.manifest.operators.op?.s ?? [];
    assert.deepEqual(
      refs.map((x) => x.hash),
      [oldFile, fresh.segment?.hash],
    );
    assert.equal(r.filesReused, 2);
    assert.equal(r.filesWritten, 0);
    // (a state listing several segments reads back as the first plus one "delta" per further segment)
    const read = await store.read(r.entry.uuid);
    const [p0, p1] = [read.snapshot, ...read.deltas].map((x) => x.operators.op?.s as TraceBatch);
    assertSameBatch(mergeBatches(p0 as TraceBatch, p1 as TraceBatch), merged, 'the state restores');

    // once its file is written, the merge is listed itself, and holds its inputs no longer
    await store.aheadSettled();
    assert.ok(merged.segment !== null);
    assert.equal(merged.sources, null);
    const r2 = await store.write(
      { steps: 2, operators: { op: { s: new TraceParts(trace.sealedBatches()) } } },
      META,
    );
    assert.deepEqual(
      (r2.manifest.operators.op?.s ?? []).map((x) => x.hash),
      [merged.segment?.hash],
    );
    assert.equal(r2.filesWritten, 0);

    // without a sink (no writes ahead) a merge keeps no inputs
    const t2 = new Trace(traceLayout(3, [0]));
    t2.pushBatch(batchOf(0, 300_000));
    t2.pushBatch(batchOf(300_000, 600_000));
    assert.equal((t2.sealedBatches()[0] as TraceBatch).sources, null);

    // nor a merge whose inputs cancel (updates: every row of the first retracted in the second, a new one added):
    // its inputs hold three entries for each of its own
    const t3 = new Trace(traceLayout(3, [0]));
    const rows = batchOf(0, 300_000);
    withSealedSink(sink, () => t3.pushBatch(rows));
    const update = mergeBatches(
      batchOf(0, 300_000, (i) => `new-${i % 97}`),
      buildBatch(
        rows.layout,
        rows.rows,
        rows.weights.map((w) => -w),
      ),
    );
    withSealedSink(sink, () => t3.pushBatch(update));
    const [m3] = t3.sealedBatches() as TraceBatch[];
    assert.ok(m3 !== undefined && m3.length === 300_000 && t3.sealedBatches().length === 1);
    assert.equal(m3.sources, null, 'the merge itself is listed');
    await store.aheadSettled();
  });
});

test('a merge listed by its inputs is written ahead only once the checkpoint being written is done', async () => {
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, { codecs: CODECS });
    const sink = (b: TraceBatch) => store.prewrite(b);
    const trace = new Trace(traceLayout(3, [0]));
    withSealedSink(sink, () => trace.pushBatch(batchOf(0, 300_000)));
    await store.aheadSettled(); // the older input has its file
    // a checkpoint under way (a large batch to encode: slow) when the merge comes
    const writing = store.write(snapshotOf(batchOf(1_000_000, 2_500_000)), META);
    await new Promise((r) => setImmediate(r));
    withSealedSink(sink, () => trace.pushBatch(batchOf(300_000, 600_000)));
    const [merged] = trace.sealedBatches() as TraceBatch[];
    assert.ok(
      merged !== undefined && merged.sources !== null,
      'a merge a checkpoint would list by its inputs',
    );
    await writing;
    assert.equal(merged.segment, null, 'its write ahead waited for the checkpoint');
    await store.aheadSettled();
    assert.ok(merged.segment !== null, 'written after it');
    assert.equal(merged.sources, null);
  });
});

test('a write ahead that fails is counted and logged, and leaves the batch to the checkpoint', async () => {
  await withTempDir(async (dir) => {
    const log = new CapturingLogger();
    const store = new CheckpointStore(dir, { codecs: CODECS, logger: log });
    writeFileSync(join(dir, 'files'), 'not a directory'); // every write into files/ fails
    const b = batchOf(0, 50_000);
    store.prewrite(b);
    await store.aheadSettled();
    assert.deepEqual(store.aheadStats, { files: 0, bytes: 0, failed: 1, skipped: 0 });
    assert.equal(b.segment, null, 'not stamped');
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0]?.message ?? '', /ahead of the next checkpoint failed/);
    assert.ok(typeof log.lines[0]?.fields.reason === 'string');
  });
});
