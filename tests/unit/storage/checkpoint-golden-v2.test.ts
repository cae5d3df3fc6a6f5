/**
 * Pins segment format v2 (sealed trace batches): `tests/golden/checkpoint-v2/store` is a committed store
 * directory with a full checkpoint whose table state is two trace batches (every value kind, DECIMAL key values
 * through the codec) and a delta on top of it (a v1 row batch, as deltas are written). This build must read it
 * to exactly these values, restore a table from it, and re-encoding must give byte-identical payloads.
 * Format v1 stays pinned by checkpoint-golden.test.ts (older checkpoints must keep restoring).
 *
 * Regenerate (only when deliberately changing the format, which then needs a new version):
 *   UPDATE_GOLDEN=1 npx node --test tests/unit/storage/checkpoint-golden-v2.test.ts
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { tableInput } from '../../../src/operators/table-input.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import { encodeTracePayload, readSegment, SEGMENT_V_TRACE } from '../../../src/storage/segment.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { buildBatch, TraceBatch, TraceParts, traceLayout } from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
import { assertSameBatch, CODECS, exactRows, withTempDir } from './support.ts';

const GOLDEN = resolve(import.meta.dirname, '../../golden/checkpoint-v2/store');
const LAYOUT = traceLayout(4, [0]);

/** The two sealed batches of the full checkpoint. Never edit: they are what the committed files hold. */
function batches(): [TraceBatch, TraceBatch] {
  const big: Row[] = [
    [1, 'alice', true, null],
    [2, '', false, 0.5],
    [3, 'zoë 日本 🦀', null, -0],
    [-1.5, '\ud800 lone', 2n ** 63n, Number.NaN],
    [2 ** 53, 'a\0b', -(2n ** 63n) - 1n, Number.NEGATIVE_INFINITY],
    [new Decimal(150n, 2), 'x'.repeat(200), new Decimal(-5n, 2), 2n ** 130n],
    ['k', null, new Decimal(10n ** 30n + 1n, 30), 0n],
  ];
  const small: Row[] = [
    [2, '', false, 0.5],
    [4, 'dave', true, 1e-7],
  ];
  return [
    buildBatch(
      LAYOUT,
      big,
      big.map(() => 1),
    ),
    buildBatch(LAYOUT, small, [-1, 1]),
  ];
}

/** The delta (step 5): a plain row batch. */
function delta(): Batch {
  return {
    rows: [
      [4, 'dave', true, 1e-7],
      [5, 'eve', false, 2],
    ],
    weights: [-1, 1],
    consolidated: true,
  };
}

/** The table once everything is summed. */
function expected(): Batch {
  const [big] = batches();
  const rows = big.rows.filter((r) => r[0] !== 2);
  return { rows: [...rows, [5, 'eve', false, 2]], weights: rows.map(() => 1).concat([1]) };
}

before(async () => {
  if (process.env.UPDATE_GOLDEN !== '1') return;
  await rm(GOLDEN, { recursive: true, force: true });
  const store = new CheckpointStore(GOLDEN, { codecs: CODECS });
  const meta = { fingerprint: 'golden-v2', inputs: { t: { offset: 3 } }, outputs: {} };
  await store.write(
    { steps: 3, operators: { 'n1:table': { contents: new TraceParts(batches()) } } },
    { ...meta, processed_records: 3, identifier: 'base' },
  );
  await store.write(
    { steps: 5, operators: { 'n1:table': { contents: delta() } } },
    { ...meta, processed_records: 5 },
    { delta: true },
  );
});

test('the committed v2 store reads back to exactly the pinned batches and restores the table', async () => {
  await withTempDir(async (dir) => {
    await cp(GOLDEN, dir, { recursive: true });
    const store = new CheckpointStore(dir, { codecs: CODECS });
    const read = await store.readLatest();
    assert.ok(read !== null);
    assert.deepEqual(
      read.manifest.operators['n1:table']?.contents?.map((r) => r.rows),
      [7, 2, 2],
    );
    const [big, small] = batches();
    const first = read.snapshot.operators['n1:table']?.contents as Batch;
    assert.ok(first instanceof TraceBatch, 'a v2 segment decodes to a sealed trace batch');
    assert.ok(first.arena.equals(big.arena));
    assert.deepEqual([...first.wts], [...big.wts]);
    assertSameBatch(first, big);
    const second = read.deltas[0]?.operators['n1:table']?.contents as TraceBatch;
    assertSameBatch(second, small);
    assertSameBatch(read.deltas[1]?.operators['n1:table']?.contents as Batch, delta());

    const op = tableInput({ primaryKey: [0], materialized: true });
    op.restore({ contents: [first, second, read.deltas[1]?.operators['n1:table']?.contents as Batch] });
    const sorted = (b: Batch) =>
      exactRows(b)
        .map((x) => JSON.stringify(x))
        .sort();
    assert.deepEqual(sorted(op.contents()), sorted(expected()));
  });
});

test('re-encoding the pinned batches gives byte-identical v2 payloads', async () => {
  const files = await readdir(join(GOLDEN, 'files'));
  const payloads = new Map<string, Buffer>();
  for (const f of files) {
    const { version, payload } = readSegment(await readFile(join(GOLDEN, 'files', f)));
    if (version === SEGMENT_V_TRACE) payloads.set(payload.toString('hex'), payload);
  }
  assert.equal(payloads.size, 2);
  for (const b of batches())
    assert.ok(
      payloads.has(encodeTracePayload(b, CODECS, 2).toString('hex')),
      'payload differs: format v2 changed',
    );
});
