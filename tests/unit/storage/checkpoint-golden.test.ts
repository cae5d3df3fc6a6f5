/**
 * Pins checkpoint format v1: `tests/golden/checkpoint-v1/store` is a committed store directory (catalog, two
 * manifests — a full checkpoint and a delta on top of it — and their segments, covering every value kind). This
 * build must read it to exactly these values, and re-encoding these values must give byte-identical segments.
 *
 * Regenerate (only when deliberately changing the format, which then needs a new version):
 *   UPDATE_GOLDEN=1 npx node --test tests/unit/storage/checkpoint-golden.test.ts
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { CheckpointStore, manifestFiles } from '../../../src/storage/checkpoint-store.ts';
import { encodeSegment, encodeSegmentPayload, readSegmentPayload } from '../../../src/storage/segment.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { assertSameBatch, CODECS, withTempDir } from './support.ts';

const GOLDEN = resolve(import.meta.dirname, '../../golden/checkpoint-v1/store');

/** The full checkpoint's state (step 3). Never edit: it is what the committed files hold. */
function fullState(): Record<string, Record<string, Batch>> {
  return {
    'n1:table-input': {
      rows: {
        rows: [
          [1, 'alice', true, null],
          [2, '', false, 0.5],
          [3, 'zoë 日本 🦀', null, -0],
        ],
        weights: [1, 1, 1],
        consolidated: true,
      },
    },
    'n4:aggregate': {
      groups: {
        rows: [
          [
            0,
            -1,
            2 ** 52,
            -(2 ** 52),
            2 ** 53,
            1.25,
            Number.NaN,
            Number.POSITIVE_INFINITY,
            Number.NEGATIVE_INFINITY,
          ],
          [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, -(2n ** 63n) - 1n, 2n ** 130n],
          [new Decimal(0n, 0), new Decimal(150n, 2), new Decimal(-5n, 2), new Decimal(10n ** 30n + 1n, 30)],
          ['\ud800 lone', 'x'.repeat(200), '\0'],
        ],
        weights: [2, -3, 2 ** 52, -(2 ** 52)],
      },
      empty: { rows: [], weights: [] },
    },
  };
}

/** The delta checkpoint's change (step 5). */
function deltaState(): Record<string, Record<string, Batch>> {
  return {
    'n1:table-input': {
      rows: {
        rows: [
          [2, '', false, 0.5],
          [4, 'dave', true, 1e-7],
        ],
        weights: [-1, 1],
        consolidated: true,
      },
    },
    'n4:aggregate': {
      groups: { rows: [], weights: [] },
      empty: { rows: [[new Decimal(-123n, 0)]], weights: [1] },
    },
  };
}

before(async () => {
  if (process.env.UPDATE_GOLDEN !== '1') return;
  await rm(GOLDEN, { recursive: true, force: true });
  const store = new CheckpointStore(GOLDEN, { codecs: CODECS });
  const meta = { fingerprint: 'golden-v1', inputs: { t: { offset: 3 } }, outputs: { v: { sent: 3 } } };
  await store.write(
    { steps: 3, operators: fullState() },
    { ...meta, processed_records: 3, identifier: 'base' },
  );
  await store.write(
    { steps: 5, operators: deltaState() },
    { ...meta, processed_records: 5, transaction_id: 7, extra: { note: 'delta' } },
    { delta: true },
  );
});

test('the committed v1 store reads back to exactly the pinned values', async () => {
  await withTempDir(async (dir) => {
    await cp(GOLDEN, dir, { recursive: true });
    const store = new CheckpointStore(dir, { codecs: CODECS });
    const entries = await store.list();
    assert.equal(entries.length, 2);
    const [base, delta] = entries as [(typeof entries)[0], (typeof entries)[0]];
    assert.deepEqual(Object.keys(base).sort(), [
      'created_at',
      'fingerprint',
      'identifier',
      'parent',
      'processed_records',
      'size',
      'steps',
      'uuid',
    ]);
    assert.equal(base.identifier, 'base');
    assert.equal(delta.parent, base.uuid);
    assert.equal(delta.steps, 5);

    const read = await store.read(delta.uuid);
    const m = read.manifest;
    assert.deepEqual(Object.keys(m), [
      'format_version',
      'uuid',
      'parent',
      'created_at',
      'steps',
      'processed_records',
      'transaction_id',
      'fingerprint',
      'identifier',
      'inputs',
      'outputs',
      'extra',
      'operators',
    ]);
    assert.equal(m.format_version, 1);
    assert.equal(m.transaction_id, 7);
    assert.deepEqual(m.extra, { note: 'delta' });
    assert.deepEqual(m.inputs, { t: { offset: 3 } });
    const lengths = Object.fromEntries(
      Object.entries(m.operators).map(([k, st]) => [
        k,
        Object.fromEntries(Object.entries(st).map(([n, l]) => [n, l.length])),
      ]),
    );
    assert.deepEqual(lengths, { 'n1:table-input': { rows: 2 }, 'n4:aggregate': { groups: 1, empty: 1 } });

    const full = fullState();
    const d = deltaState();
    assertSameBatch(
      read.snapshot.operators['n1:table-input']?.rows as Batch,
      full['n1:table-input']?.rows as Batch,
    );
    assertSameBatch(
      read.snapshot.operators['n4:aggregate']?.groups as Batch,
      full['n4:aggregate']?.groups as Batch,
    );
    assertSameBatch(
      read.snapshot.operators['n4:aggregate']?.empty as Batch,
      d['n4:aggregate']?.empty as Batch,
    );
    assert.equal(read.deltas.length, 1);
    assertSameBatch(
      read.deltas[0]?.operators['n1:table-input']?.rows as Batch,
      d['n1:table-input']?.rows as Batch,
    );
    assert.equal(read.snapshot.operators['n1:table-input']?.rows?.consolidated, true);
  });
});

test('re-encoding the pinned values gives byte-identical segment files (format v1 is stable)', async () => {
  const files = new Set(await readdir(join(GOLDEN, 'files')));
  const batches = [
    fullState()['n1:table-input']?.rows,
    fullState()['n4:aggregate']?.groups,
    deltaState()['n1:table-input']?.rows,
    deltaState()['n4:aggregate']?.empty,
  ] as Batch[];
  for (const b of batches) {
    // the committed files were written at zstd level 3, the default until segments moved to level 2 (the same
    // format: a file of either level reads alike)
    const seg = encodeSegment(b, CODECS, { level: 3 });
    assert.ok(files.has(seg.hash), `no committed segment ${seg.hash}`);
    const committed = await readFile(join(GOLDEN, 'files', seg.hash));
    // The payload pins the format; the compressed bytes also depend on zstd, pinned with Node. If only the
    // second assertion fails, zstd changed its output (harmless: regenerate).
    assert.deepEqual(
      encodeSegmentPayload(b, CODECS),
      readSegmentPayload(committed),
      'payload differs: format v1 changed',
    );
    assert.ok(seg.bytes.equals(committed), 'file bytes differ (zstd output changed?)');
  }
  assert.equal(files.size, batches.length);
  const catalog = JSON.parse(await readFile(join(GOLDEN, 'checkpoints.json'), 'utf8'));
  const m = JSON.parse(await readFile(join(GOLDEN, 'checkpoints', `${catalog.at(-1).uuid}.json`), 'utf8'));
  assert.equal(manifestFiles(m).length, 4, 'the delta manifest references every committed segment');
});
