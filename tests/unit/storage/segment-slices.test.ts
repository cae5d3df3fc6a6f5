/**
 * A large trace batch (and a row batch: a delta's change) is encoded for a checkpoint in slices, never as one
 * payload buffer (issue 16: no event-loop stall from a full checkpoint): the payload's pieces are built a bounded
 * number of entries at a time and fed to zstd without being concatenated, and the file still holds exactly the
 * one-shot payload.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeSegment,
  ENTRIES_PER_SLICE,
  encodeSegment,
  encodeSegmentAsync,
  encodeTracePayload,
  readSegmentPayload,
  STREAM_MIN_BYTES,
  tracePayloadPieces,
} from '../../../src/storage/segment.ts';
import { buildBatch, mergeBatches, TraceBatch, traceLayout } from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
import { CODECS, turnCounter } from './support.ts';

/** `n` rows `[id, text, amount]` keyed by id; the texts hold bytes 0x21 and 0x22 ('!', '"'), the inline and ordered tags. */
function bigBatch(n: number): TraceBatch {
  const rows: Row[] = [];
  const ws: number[] = [];
  for (let i = 0; i < n; i++) {
    rows.push([i, `"order" ${i % 1000}! of customer ${(i * 7919) % 10_007}`, (i * 31) % 1000]);
    ws.push(i % 5 === 0 ? -2 : 1);
  }
  return buildBatch(traceLayout(3, [0]), rows, ws);
}

/** Runs the piece generator: the work between two pauses, as entries of the index and bytes yielded. */
function slices(tb: TraceBatch): { pieces: Buffer[]; pauses: number; pausesBeforeFirstPiece: number } {
  const pieces: Buffer[] = [];
  let pauses = 0;
  let pausesBeforeFirstPiece = -1;
  const g = tracePayloadPieces(tb, CODECS, null);
  for (let r = g.next(); r.done !== true; r = g.next()) {
    if (r.value === undefined) pauses++;
    else {
      if (pausesBeforeFirstPiece < 0) pausesBeforeFirstPiece = pauses;
      pieces.push(r.value);
    }
  }
  return { pieces, pauses, pausesBeforeFirstPiece };
}

/** The same entries as `b`, not known to be free of nested-value tags (as a batch decoded from a file). */
function unmarked(b: TraceBatch): TraceBatch {
  return new TraceBatch({
    layout: b.layout,
    arena: b.arena,
    offsets: b.offsets,
    splits: b.splits,
    weights: b.wts,
    objects: b.objects,
  });
}

describe('sliced segment encoding', () => {
  const n = 200_000;
  const tb = bigBatch(n);

  test('the pieces, concatenated, are the one-shot payload; the arena is handed over, not copied', () => {
    const { pieces, pauses } = slices(tb);
    const payload = encodeTracePayload(tb, CODECS);
    assert.ok(Buffer.concat(pieces).equals(payload));
    const last = pieces.at(-1) as Buffer;
    assert.equal(last.buffer, tb.arena.buffer, 'the arena is the last piece, by reference');
    assert.equal(last.byteOffset, tb.arena.byteOffset);
    assert.equal(last.length, tb.arena.length);
    // the index comes in pieces of at most ENTRIES_PER_SLICE entries (≤ 24 bytes each), one per slice
    for (const p of pieces.slice(2, -1)) assert.ok(p.length <= ENTRIES_PER_SLICE * 24);
    assert.ok(pauses >= Math.floor(n / ENTRIES_PER_SLICE), `${pauses} pauses for ${n} entries`);
  });

  test('the scan for nested-value tags pauses too (an arena full of tag bytes but no nested value)', () => {
    // the same entries, not known to be free of tags (as decoded from a file): the scan walks them
    const unknown = unmarked(tb);
    assert.equal(unknown.untagged, false);
    const { pausesBeforeFirstPiece } = slices(unknown);
    // the whole batch is walked (no entry holds a tagged value), pausing every ENTRIES_PER_SLICE entries
    assert.ok(
      pausesBeforeFirstPiece >= Math.floor(n / ENTRIES_PER_SLICE) - 1,
      `${pausesBeforeFirstPiece} pauses before the first piece`,
    );
  });

  test('a large batch is compressed without a payload-sized buffer; the file holds the one-shot payload', async () => {
    const payload = encodeTracePayload(tb, CODECS);
    assert.ok(payload.length >= STREAM_MIN_BYTES, `payload ${payload.length} bytes: make the batch larger`);
    const concat = Buffer.concat;
    let largest = 0;
    Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
      const b = concat(list, total);
      largest = Math.max(largest, b.length);
      return b;
    }) as typeof Buffer.concat;
    let seg: Awaited<ReturnType<typeof encodeSegmentAsync>>;
    const counter = turnCounter();
    try {
      seg = await encodeSegmentAsync(tb, CODECS);
    } finally {
      Buffer.concat = concat;
      counter.stop();
    }
    assert.ok(largest < STREAM_MIN_BYTES, `a ${largest}-byte buffer was concatenated`);
    assert.ok(counter.turns() >= Math.floor(n / ENTRIES_PER_SLICE), `${counter.turns()} event-loop turns`);
    assert.ok(readSegmentPayload(seg.bytes).equals(payload), 'the decompressed payload is the one-shot one');
    const back = decodeSegment(seg.bytes, CODECS, { hash: seg.hash, rows: n }) as TraceBatch;
    assert.ok(back.arena.equals(tb.arena));
    assert.deepEqual([...back.wts], [...tb.wts]);
    // deterministic: encoded again, alongside another encoding, the same bytes
    const [again, other] = await Promise.all([
      encodeSegmentAsync(tb, CODECS),
      encodeSegmentAsync(tb, CODECS),
    ]);
    assert.equal(again.hash, seg.hash);
    assert.equal(other.hash, seg.hash);
    // and the synchronous encoder writes the same payload (its zstd frame is the one-shot one)
    assert.ok(readSegmentPayload(encodeSegment(tb, CODECS).bytes).equals(payload));
  });

  test('a slice of the index sized by the slice before it grows when its entries take more bytes', () => {
    // the first slice's weights are 1 (one varint byte each), the later ones up to 2^40 (six bytes): each slice's
    // writer, sized by the one before, must grow; a write past its end would be lost and the index decode wrong
    const m = 3 * ENTRIES_PER_SLICE + 5;
    const rows: Row[] = [];
    const ws: number[] = [];
    for (let i = 0; i < m; i++) {
      rows.push([i, i % 7]);
      ws.push(i < ENTRIES_PER_SLICE ? 1 : i < 2 * ENTRIES_PER_SLICE ? 300 + i : -(2 ** 40) - i);
    }
    const big = buildBatch(traceLayout(2, [0]), rows, ws);
    const seg = encodeSegment(big, CODECS);
    const back = decodeSegment(seg.bytes, CODECS, { hash: seg.hash, rows: m }) as TraceBatch;
    assert.ok(back.arena.equals(big.arena));
    assert.deepEqual([...back.offsets], [...big.offsets]);
    assert.deepEqual([...back.wts], ws);
  });

  test('a batch built from rows without nested values is written without the scan; merges keep that', () => {
    assert.equal(tb.untagged, true, 'built by buildBatch from rows of numbers and strings');
    const { pausesBeforeFirstPiece, pieces } = slices(tb);
    assert.equal(pausesBeforeFirstPiece, 0, 'no walk of the entries before the first piece');
    // the payload is the one the walk gives (no nested value: format v3, no inline codec)
    const unknown = unmarked(tb);
    assert.ok(Buffer.concat(pieces).equals(Buffer.concat(slices(unknown).pieces)));
    const other = buildBatch(traceLayout(3, [0]), [[n + 1, 'x', 1]], [1]);
    assert.equal(mergeBatches(tb, other).untagged, true);
    assert.equal(mergeBatches(unknown, other).untagged, false);
  });

  test("a row batch's payload (a delta's change) is encoded in slices too, to the one-shot bytes", async () => {
    const rows: Row[] = [];
    const ws: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      rows.push([i, `row ${i % 977}`, i % 3 === 0 ? null : i * 0.25]);
      ws.push(i % 4 === 0 ? -1 : 1);
    }
    const batch = { rows, weights: ws };
    const oneShot = readSegmentPayload(encodeSegment(batch, CODECS).bytes);
    // the event-loop turns seen when the first row and when the last row is encoded (read through a getter)
    const counter = turnCounter();
    const seen: number[] = [];
    for (const i of [0, rows.length - 1]) {
      const r = rows[i] as Row;
      const v = r[1];
      Object.defineProperty(r, 1, {
        get: () => {
          seen.push(counter.turns());
          return v;
        },
      });
    }
    let seg: Awaited<ReturnType<typeof encodeSegmentAsync>>;
    try {
      seg = await encodeSegmentAsync(batch, CODECS);
    } finally {
      counter.stop();
    }
    const [first, last] = [seen[0] as number, seen.at(-1) as number];
    // a pause every 4,096 rows
    assert.ok(last - first >= 12, `${last - first} event-loop turns while the rows were encoded`);
    assert.ok(readSegmentPayload(seg.bytes).equals(oneShot));
  });
});
