/**
 * A checkpoint's write encodes each batch that has no segment file yet as soon as it is listed, one after another,
 * while the next frozen head is still being built (issue 16: the compression, on the thread pool, overlaps the
 * builds on the event loop instead of following all of them). The files, their order and their bytes are those
 * of encoding each batch on its own; a failed encoding fails the write, and nothing is left unhandled.
 */
import assert from 'node:assert/strict';
import { syncBuiltinESMExports } from 'node:module';
import { test } from 'node:test';
import zlib from 'node:zlib';
import type { CircuitSnapshot } from '../../../src/circuit/circuit.ts';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import { encodeSegmentAsync } from '../../../src/storage/segment.ts';
import {
  buildBatch,
  PendingBatch,
  type TraceBatch,
  TraceParts,
  traceLayout,
} from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
import { assertSameBatch, CODECS, withTempDir } from './support.ts';

const META = { fingerprint: 'fp-early', processed_records: 0 };
const layout = traceLayout(2, [0]);

function batchOf(from: number, to: number, weight = 1): TraceBatch {
  const rows: Row[] = [];
  const ws: number[] = [];
  for (let i = from; i < to; i++) {
    rows.push([i, `row-${i % 97}`]);
    ws.push(weight);
  }
  return buildBatch(layout, rows, ws);
}

/** Counts the zstd streams created (the segment encoder's compressions) while `fn` runs. */
async function countingCompressions<T>(fn: (started: () => number) => Promise<T>): Promise<T> {
  const original = zlib.createZstdCompress;
  let n = 0;
  // the export is read-only but configurable; syncBuiltinESMExports makes the ESM bindings follow
  const set = (f: typeof original): void => {
    Object.defineProperty(zlib, 'createZstdCompress', { value: f });
    syncBuiltinESMExports();
  };
  set(((...args: Parameters<typeof original>) => {
    n++;
    return original(...args);
  }) as typeof original);
  try {
    return await fn(() => n);
  } finally {
    set(original);
  }
}

test('a listed batch is compressed while the next frozen head is still being built; same files as alone', async () => {
  await withTempDir(async (dir) =>
    countingCompressions(async (started) => {
      const store = new CheckpointStore(dir, { codecs: CODECS });
      const first = batchOf(0, 3000);
      const second = batchOf(3000, 6000);
      let compressingDuringBuild = false;
      // a frozen head whose sliced build pauses (a turn of the event loop every slice) until a compression has
      // started, for at most 3 s: before, every build finished before the first batch was encoded
      function* slowBuild(): Generator<void, TraceBatch, void> {
        const deadline = performance.now() + 3000;
        while (started() === 0 && performance.now() < deadline) yield;
        compressingDuringBuild = started() > 0;
        return second;
      }
      const snapshot: CircuitSnapshot = {
        steps: 1,
        operators: {
          a: { s: new TraceParts([first]) },
          b: { s: new TraceParts([], [new PendingBatch(second.length, slowBuild())]) },
        },
      };
      const r = await store.write(snapshot, META);
      assert.ok(compressingDuringBuild, 'the first batch was being compressed while the second was built');
      const read = await store.read(r.entry.uuid);
      const lists = read.manifest.operators;
      assert.equal(lists.a?.s?.[0]?.hash, (await encodeSegmentAsync(first, CODECS)).hash);
      assert.equal(lists.b?.s?.[0]?.hash, (await encodeSegmentAsync(second, CODECS)).hash);
      assertSameBatch(read.snapshot.operators.a?.s as TraceParts, first);
      assertSameBatch(read.snapshot.operators.b?.s as TraceParts, second);
    }),
  );
});

test('an encoding that fails fails the write (no unhandled rejection), and the store writes again after it', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => {
    unhandled.push(e);
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    await withTempDir(async (dir) => {
      const store = new CheckpointStore(dir, { codecs: CODECS });
      // a weight that is not an integer cannot be written (CheckpointValueUnsupported), found while encoding
      const bad = batchOf(0, 100, 0.5);
      const good = batchOf(100, 200);
      await assert.rejects(
        store.write(
          {
            steps: 1,
            operators: { a: { s: new TraceParts([bad]) }, b: { s: new TraceParts([good]) } },
          },
          META,
        ),
        (e: Error & { errorCode?: string; error_code?: string }) => /not a non-zero integer/.test(e.message),
      );
      await new Promise((r) => setTimeout(r, 20));
      const r = await store.write({ steps: 2, operators: { b: { s: new TraceParts([good]) } } }, META);
      const read = await store.read(r.entry.uuid);
      assertSameBatch(read.snapshot.operators.b?.s as TraceParts, good);
    });
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(unhandled, []);
});
