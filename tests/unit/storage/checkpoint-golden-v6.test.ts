/**
 * Pins segment formats v6 and v7: nested values in key columns in their ordered key form (key-codec tag 0x22,
 * `collections.ts` "ordered key encoding": no hash key, no object-table entry).
 * - `tests/golden/checkpoint-v6/store`: a committed store directory with a full checkpoint of a table keyed by
 *   nested values (ARRAY, MAP, ROW, VARIANT with and without remembered types; -0, NaN, DECIMAL scales, huge
 *   bigints, lone surrogates, NUL characters, a key past 128 bytes; one key the key form does not take, by hash
 *   key and the object table) as two v6 trace batches, and a delta (a v4 row batch).
 * - `tests/golden/checkpoint-v7/<sha256>`: the same table as one batch file (v7, blocks of 64 arena bytes,
 *   flag 2 and the key codec's name in its index).
 * This build must read both to exactly these values (a DECIMAL in a key at its smallest scale, -0 as 0: a key is
 * the SQL value), restore a table from the store, and re-encoding must give byte-identical files.
 *
 * Regenerate (only when deliberately changing the format, which then needs a new version):
 *   UPDATE_GOLDEN=1 npx node --test tests/unit/storage/checkpoint-golden-v6.test.ts
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { tableInput } from '../../../src/operators/table-input.ts';
import { SQL_VALUE_CODECS } from '../../../src/sql/values/codecs.ts';
import { SqlArray, SqlMap, SqlRow, VARIANT_NULL, Variant } from '../../../src/sql/values/collections.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import {
  decodeSegment,
  encodeTracePayload,
  readSegment,
  SEGMENT_V_ROWS4,
  SEGMENT_V_TRACE6,
  sha256Hex,
} from '../../../src/storage/segment.ts';
import { disableSpill, enableSpill } from '../../../src/storage/spill.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { type FileBatch, openBatchFile, setSpillConfig } from '../../../src/zset/batch-file.ts';
import { K_OBJ, K_ORD } from '../../../src/zset/key-codec.ts';
import { buildBatch, spillBatch, TraceBatch, TraceParts, traceLayout } from '../../../src/zset/trace.ts';
import type { Row, Value } from '../../../src/zset/value.ts';
import { withTempDir } from './support.ts';

const GOLDEN = resolve(import.meta.dirname, '../../golden/checkpoint-v6/store');
const GOLDEN7 = resolve(import.meta.dirname, '../../golden/checkpoint-v7');
const LAYOUT = traceLayout(3, [0]);
const CODECS = [...SQL_VALUE_CODECS];

after(() => disableSpill());

/** Exact rendering: class, -0, NaN, bigint vs number, DECIMAL scale, VARIANT type, map order. */
function exact(v: Value): string {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? 'n-0' : `n${v}`;
    case 'bigint':
      return `b${v}`;
    case 'string':
      return `s${JSON.stringify([...v].map((c) => c.charCodeAt(0)))}`;
    case 'boolean':
      return `${v}`;
    case 'object':
      if (v === null) return 'null';
      if (v instanceof Decimal) return `d${v.unscaled}e-${v.scale}`;
      if (v instanceof SqlArray) return `A[${v.items.map(exact).join(',')}]`;
      if (v instanceof SqlRow) return `R(${v.fields.map(exact).join(',')})`;
      if (v instanceof SqlMap)
        return `M{${v.keys.map((k, i) => `${exact(k)}:${exact(v.values[i] as Value)}`).join(',')}}`;
      if (v instanceof Variant) return `V<${v.type ?? ''}>${exact(v.value)}`;
      return `?${v.hashKey()}`;
    default:
      return `?${typeof v}`;
  }
}
const rowsOf = (b: Batch) => b.rows.map((r, i) => `${r.map(exact).join('|')} x${b.weights[i]}`);

/** Keys, as written. Never edit: they are what the committed files hold. */
function keys(): Value[] {
  return [
    new SqlArray([1, null, -0, Number.NaN, 2 ** 60, 1.5, Number.NEGATIVE_INFINITY]),
    new SqlArray([new Decimal(1500n, 3), new Decimal(-5n, 2), new Decimal(10n ** 30n + 1n, 30), 0n]),
    new SqlArray([-(2n ** 70n), 2n ** 63n - 1n, 'zoë 日本 🦀', 'lone \ud800', 'a\0b', '']),
    new SqlRow([null, 'k', new SqlArray([true, false]), SqlMap.of([[1, new SqlRow([null])]])]),
    SqlMap.of([
      ['b', new Decimal(1234n, 2)],
      ['a', null],
    ]),
    new Variant(SqlMap.of([[new Variant('k'), new Variant(new SqlArray([new Variant(1), VARIANT_NULL]))]])),
    new SqlArray([
      new Variant(new Decimal(10n, 1)),
      new Variant(1.5, 'REAL'),
      new Variant(7, 'BIGINT UNSIGNED'),
      new Variant('x', 'OTHER TYPE'),
    ]),
    new SqlArray(Array.from({ length: 40 }, (_, i) => `item-${i}`)),
    new SqlArray([]),
    // an empty type name would tie with no type in order: this key goes by hash key (tag 0x20), as before
    new Variant(1, ''),
    7,
  ];
}

/** The table: key, a nested value column, a plain one. */
function tableRows(): Row[] {
  return keys().map((k, i) => [k, new SqlArray([i, new Decimal(150n, 2)]), `v${i}`]);
}

/** The two sealed batches of the full checkpoint. */
function batches(): [TraceBatch, TraceBatch] {
  const rows = tableRows();
  const big = rows.slice(0, 8);
  const small = rows.slice(8);
  return [
    buildBatch(
      LAYOUT,
      big,
      big.map(() => 1),
    ),
    buildBatch(
      LAYOUT,
      small,
      small.map(() => 1),
    ),
  ];
}

/** The delta: a plain row batch (deletes the first key, adds one). */
function delta(): Batch {
  const rows = tableRows();
  return {
    rows: [rows[0] as Row, [new SqlRow([1, -0]), null, 'new']],
    weights: [-1, 1],
    consolidated: true,
  };
}

/** A key as this build gives it back: the SQL value (DECIMAL at its smallest scale, -0 as 0). */
function canonicalKey(k: Value): string {
  return exact(k).replaceAll('d1500e-3', 'd15e-1').replaceAll('d10e-1', 'd1e-0').replaceAll('n-0', 'n0');
}

function expectedRows(rows: readonly Row[], weights: readonly number[]): string[] {
  return rows.map(
    (r, i) => `${[canonicalKey(r[0] as Value), ...r.slice(1).map(exact)].join('|')} x${weights[i]}`,
  );
}

before(async () => {
  if (process.env.UPDATE_GOLDEN !== '1') return;
  await rm(GOLDEN, { recursive: true, force: true });
  const store = new CheckpointStore(GOLDEN, { codecs: CODECS });
  const meta = { fingerprint: 'golden-v6', inputs: { t: { offset: 3 } }, outputs: {} };
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

test('nested keys are in their ordered key form; a key the form cannot hold goes by hash key', () => {
  const [big, small] = batches();
  for (let i = 0; i < big.length; i++) assert.equal(big.arena[big.offsets[i] as number], K_ORD);
  assert.equal(big.objects, null, 'no object table: the nested keys and the value column are inline');
  const tags = new Set(
    Array.from({ length: small.length }, (_, i) => small.arena[small.offsets[i] as number]),
  );
  assert.ok(tags.has(K_ORD) && tags.has(K_OBJ));
});

test('the committed v6 store reads back to exactly the pinned keys and restores the table', async () => {
  await withTempDir(async (dir) => {
    await cp(GOLDEN, dir, { recursive: true });
    const store = new CheckpointStore(dir, { codecs: CODECS });
    const read = await store.readLatest();
    assert.ok(read !== null);
    const [big, small] = batches();
    const first = read.snapshot.operators['n1:table']?.contents as Batch;
    assert.ok(first instanceof TraceBatch, 'a v6 segment decodes to a sealed trace batch');
    assert.ok(first.arena.equals(big.arena));
    assert.equal(first.objects, null);
    assert.deepEqual(rowsOf(first), expectedRows(big.rows, big.weights));
    const second = read.deltas[0]?.operators['n1:table']?.contents as TraceBatch;
    assert.ok(second.arena.equals(small.arena));
    const d = read.deltas[1]?.operators['n1:table']?.contents as Batch;
    const op = tableInput({ primaryKey: [0], materialized: true });
    op.restore({ contents: [first, second, d] });
    const all = tableRows().slice(1);
    all.push([new SqlRow([1, -0]), null, 'new']);
    assert.deepEqual(
      rowsOf(op.contents()).sort(),
      expectedRows(
        all,
        all.map(() => 1),
      ).sort(),
    );
  });
});

test('re-encoding the pinned batches gives byte-identical v6 payloads, and the delta a v4 file', async () => {
  const payloads = new Set<string>();
  let rows4 = 0;
  for (const f of await readdir(join(GOLDEN, 'files'))) {
    const { version, payload } = readSegment(await readFile(join(GOLDEN, 'files', f)));
    if (version === SEGMENT_V_TRACE6) payloads.add(payload.toString('hex'));
    if (version === SEGMENT_V_ROWS4) rows4++;
  }
  assert.equal(payloads.size, 2);
  assert.equal(rows4, 1);
  for (const b of batches())
    assert.ok(
      payloads.has(encodeTracePayload(b, CODECS).toString('hex')),
      'payload differs: format v6 changed',
    );
});

function writeFile7(dir: string): FileBatch {
  const c = enableSpill(dir, { minStorageBytes: 0, cacheMib: 1, compression: 'none' }, CODECS);
  const cfg = { ...c, blockBytes: 64 };
  setSpillConfig(cfg);
  const rows = tableRows();
  return spillBatch(
    buildBatch(
      LAYOUT,
      rows,
      rows.map(() => 1),
    ),
    cfg,
  );
}

test('golden v7 batch file: opens, reads the pinned keys, decodes as a segment, and is written byte for byte', async () => {
  await withTempDir(async (dir) => {
    const fresh = writeFile7(join(dir, 'spill'));
    if (process.env.UPDATE_GOLDEN === '1') {
      rmSync(GOLDEN7, { recursive: true, force: true });
      mkdirSync(GOLDEN7, { recursive: true });
      copyFileSync(fresh.path as string, join(GOLDEN7, fresh.hash));
    }
    const names = readdirSync(GOLDEN7);
    assert.equal(names.length, 1);
    const hash = names[0] as string;
    const bytes = readFileSync(join(GOLDEN7, hash));
    assert.equal(sha256Hex(bytes), hash, 'the golden file is intact');
    assert.equal(bytes[4], 7, 'format version 7');
    const opened = openBatchFile(join(GOLDEN7, hash), hash);
    assert.ok(opened.orderedKeys, 'the index flags ordered nested keys');
    assert.ok(opened.blockCount >= 3, `several blocks (${opened.blockCount})`);
    const rows = tableRows();
    const want = buildBatch(
      LAYOUT,
      rows,
      rows.map(() => 1),
    );
    const wantRows = expectedRows(want.rows, want.weights);
    assert.deepEqual(rowsOf({ rows: opened.rows, weights: opened.weights }), wantRows);
    assert.deepEqual(rowsOf(decodeSegment(bytes, CODECS, { hash, rows: want.length })), wantRows);
    assert.equal(fresh.hash, hash, 'this build writes the same bytes');
  });
});
