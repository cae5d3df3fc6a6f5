import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import {
  decodeSegment,
  decodeSegmentPayload,
  decodeTracePayload,
  encodeSegment,
  encodeSegmentAsync,
  encodeSegmentPayload,
  encodeTracePayload,
  readSegmentPayload,
} from '../../../src/storage/segment.ts';
import { isStorageError } from '../../../src/storage/storage-error.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { buildBatch, TraceBatch, traceLayout } from '../../../src/zset/trace.ts';
import type { ObjectValue, Row, Value } from '../../../src/zset/value.ts';
import { allKindsBatch, assertSameBatch, CODECS, exact } from './support.ts';

const code = (c: string) => (e: unknown) => isStorageError(e) && e.code === c;

describe('segment encoding', () => {
  test('every value kind and edge case round-trips exactly', () => {
    const b = allKindsBatch();
    const seg = encodeSegment(b, CODECS);
    assert.equal(seg.rows, b.rows.length);
    assert.equal(seg.size, seg.bytes.length);
    assert.match(seg.hash, /^[0-9a-f]{64}$/);
    const back = decodeSegment(seg.bytes, CODECS, { hash: seg.hash, rows: seg.rows });
    assertSameBatch(back, b);
  });

  test('single values: -0, NaN, infinities, bigints at ±2^63, decimals keep their scale', () => {
    const cases = [
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      2n ** 63n,
      -(2n ** 63n),
      2n ** 63n - 1n,
      -(2n ** 63n) - 1n,
      new Decimal(1500n, 3),
      new Decimal(-1n, 30),
      '',
      '\udbff\udfff',
      null,
      true,
      false,
    ];
    for (const v of cases) {
      const back = decodeSegment(encodeSegment({ rows: [[v]], weights: [1] }, CODECS).bytes, CODECS);
      assert.equal(exact(back.rows[0]?.[0] as Value), exact(v));
    }
  });

  test('decimals with scale 0..30, positive and negative, keep unscaled and scale', () => {
    const rows = [];
    for (let s = 0; s <= 30; s++)
      for (const u of [0n, 1n, -1n, 123456789012345678901234567890n, -(10n ** BigInt(s)) - 3n])
        rows.push([new Decimal(u, s)]);
    const b: Batch = { rows, weights: rows.map(() => 1) };
    const back = decodeSegment(encodeSegment(b, CODECS).bytes, CODECS);
    assertSameBatch(back, b);
    for (let i = 0; i < rows.length; i++) {
      const d = back.rows[i]?.[0] as Decimal;
      assert.ok(d instanceof Decimal);
      assert.equal(d.scale, ((rows[i] as Decimal[])[0] as Decimal).scale);
    }
  });

  test('empty batch, ragged rows and the consolidated mark', () => {
    const empty = decodeSegment(encodeSegment({ rows: [], weights: [] }).bytes);
    assert.deepEqual(empty, { rows: [], weights: [] });
    const marked: Batch = { rows: [[1], [2, 'x'], []], weights: [1, 2, 3], consolidated: true };
    const back = decodeSegment(encodeSegment(marked).bytes);
    assert.equal(back.consolidated, true);
    assertSameBatch(back, marked);
    assert.equal(decodeSegment(encodeSegment({ rows: [[1]], weights: [1] }).bytes).consolidated, undefined);
  });

  test('deterministic: equal batches give byte-identical files and hashes', () => {
    const a = encodeSegment(allKindsBatch(), CODECS);
    const b = encodeSegment(allKindsBatch(), CODECS);
    assert.equal(a.hash, b.hash);
    assert.deepEqual(a.bytes, b.bytes);
  });

  test('only codecs in use are listed in the payload', () => {
    const p = encodeSegmentPayload({ rows: [[1]], weights: [1] }, CODECS);
    assert.deepEqual([...p], [0, 0, 1, 1, 3, 2, 2]); // flags, 0 codecs, 1 row, 1 col, int 1, weight 1
    assertSameBatch(decodeSegmentPayload(p), { rows: [[1]], weights: [1] });
  });

  test('values without a codec and bad weights are refused', () => {
    const alien: ObjectValue = { hashKey: () => 'k' };
    assert.throws(
      () => encodeSegment({ rows: [[alien]], weights: [1] }, CODECS),
      code('CheckpointValueUnsupported'),
    );
    assert.throws(
      () => encodeSegment({ rows: [[new Decimal(1n, 0)]], weights: [1] }),
      code('CheckpointValueUnsupported'),
    );
    assert.throws(() => encodeSegment({ rows: [[1]], weights: [0.5] }), code('CheckpointValueUnsupported'));
    assert.throws(
      () => encodeSegment({ rows: [[1]], weights: [2 ** 53] }),
      code('CheckpointValueUnsupported'),
    );
    assert.throws(
      () => encodeSegment({ rows: [[undefined as never]], weights: [1] }),
      code('CheckpointValueUnsupported'),
    );
  });
});

describe('segment decoding rejects damage', () => {
  const seg = encodeSegment(allKindsBatch(), CODECS);

  test('hash mismatch (one flipped bit)', () => {
    const bytes = Buffer.from(seg.bytes);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 1;
    assert.throws(() => decodeSegment(bytes, CODECS, { hash: seg.hash }), code('CheckpointCorrupt'));
  });

  test('bad magic, unknown compression, truncated file, truncated payload', () => {
    const magic = Buffer.from(seg.bytes);
    magic[0] = 0;
    assert.throws(() => decodeSegment(magic, CODECS), code('CheckpointCorrupt'));
    const comp = Buffer.from(seg.bytes);
    comp[5] = 9;
    assert.throws(() => decodeSegment(comp, CODECS), code('CheckpointCorrupt'));
    assert.throws(
      () => decodeSegment(seg.bytes.subarray(0, seg.bytes.length - 10), CODECS),
      code('CheckpointCorrupt'),
    );
    assert.throws(() => decodeSegment(seg.bytes.subarray(0, 8), CODECS), code('CheckpointCorrupt'));
    const payload = readSegmentPayload(seg.bytes);
    assert.throws(
      () => decodeSegmentPayload(payload.subarray(0, payload.length - 3), CODECS),
      code('CheckpointCorrupt'),
    );
    assert.throws(
      () => decodeSegmentPayload(Buffer.concat([payload, Buffer.from([0])]), CODECS),
      code('CheckpointCorrupt'),
    );
  });

  test('a newer format version is reported as unsupported, not corrupt', () => {
    const v8 = Buffer.from(seg.bytes);
    v8[4] = 8;
    assert.throws(() => decodeSegment(v8, CODECS), code('CheckpointFormatUnsupported'));
  });

  test('a segment using an unregistered codec fails clearly', () => {
    assert.throws(
      () => decodeSegment(seg.bytes, []),
      (e: unknown) => isStorageError(e, 'CheckpointCorrupt') && /decimal/.test(e.message),
    );
  });

  test('row count differing from the manifest', () => {
    assert.throws(() => decodeSegment(seg.bytes, CODECS, { rows: seg.rows + 1 }), code('CheckpointCorrupt'));
  });
});

test('a 200k-row state round-trips (the rates are printed, not asserted: timing lives in npm run bench)', () => {
  const n = 200_000;
  const rows = [];
  for (let i = 0; i < n; i++)
    rows.push([i, `customer-${i % 5000}`, i * 0.5, BigInt(i), new Decimal(BigInt(i), 2)]);
  const b: Batch = { rows, weights: rows.map(() => 1) };
  let t = performance.now();
  const seg = encodeSegment(b, CODECS);
  const enc = performance.now() - t;
  t = performance.now();
  const back = decodeSegment(seg.bytes, CODECS, { hash: seg.hash });
  const dec = performance.now() - t;
  assert.equal(back.rows.length, n);
  assert.deepEqual(back.rows[n - 1], rows[n - 1]);
  assert.deepEqual(back.rows[12_345], rows[12_345]);
  const rate = (ms: number) => Math.round((n / ms) * 1000);
  console.log(`segment: encode ${rate(enc)} rows/s, decode ${rate(dec)} rows/s, ${seg.size} bytes`);
});

test('the background encoder gives the same bytes as the synchronous one (rows and trace batches)', async () => {
  const rows = allKindsBatch();
  const L = traceLayout(3, [0]);
  const big: Row[] = Array.from(
    { length: 50_000 },
    (_, i): Row => [i, `name-${i % 97}`, new Decimal(BigInt(i), 2)],
  );
  const tb = buildBatch(L, big, new Array(big.length).fill(1));
  for (const b of [rows, tb] as Batch[]) {
    const sync = encodeSegment(b, CODECS);
    const bg = await encodeSegmentAsync(b, CODECS);
    assert.equal(bg.hash, sync.hash);
    assert.ok(bg.bytes.equals(sync.bytes));
  }
  const back = decodeSegment(encodeSegment(tb, CODECS).bytes, CODECS) as TraceBatch;
  assert.ok(back instanceof TraceBatch);
  assert.ok(back.arena.equals(tb.arena));
  assert.deepEqual([...back.offsets], [...tb.offsets]);
  assert.deepEqual([...back.splits], [...tb.splits]);
  assert.equal(exact(back.row(123)[2] as Value), exact(tb.row(123)[2] as Value));
});

test('a damaged v2 payload is reported as corrupt', () => {
  const L = traceLayout(2, [0]);
  const tb = buildBatch(
    L,
    [
      [1, 'a'],
      [2, 'b'],
    ],
    [1, 1],
  );
  const payload = encodeTracePayload(tb);
  assert.throws(() => decodeTracePayload(payload.subarray(0, payload.length - 1)), code('CheckpointCorrupt'));
  assert.throws(
    () => decodeTracePayload(Buffer.concat([payload, Buffer.from([0])])),
    code('CheckpointCorrupt'),
  );
});
