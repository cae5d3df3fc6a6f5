/**
 * Pins segment format v3 (sealed trace batches with nested values inline, object table without hash keys):
 * `tests/golden/checkpoint-v3/store` is a committed store directory with a full checkpoint whose table state is
 * two trace batches — nested values (ARRAY, MAP, ROW, VARIANT; -0, NaN, DECIMAL scales, huge bigints, lone
 * surrogates, a body past 128 bytes) in value columns (inline, key-codec tag 0x21) and in the key column (by
 * hash key, through the object table), DECIMALs — and a delta on top (a row batch with nested values: format
 * v4, v1 with nested values inline, as deltas of nested tables are written). This build must read it to exactly
 * these values, restore a table from it, and re-encoding what the files hold must give byte-identical payloads.
 * v1 and v2 stay pinned by checkpoint-golden*.test.ts.
 *
 * Since format v6 this build keeps nested values of key columns in their ordered key form (key-codec tag 0x22)
 * and writes such batches as v6 (`checkpoint-golden-v6.test.ts`): a v3 batch holding them by hash key is
 * re-encoded when it is read, so its keys match keys that arrive later. The files were written by the build
 * before v6 and are never regenerated (this build would write v6 files).
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { tableInput } from '../../../src/operators/table-input.ts';
import { SQL_VALUE_CODECS } from '../../../src/sql/values/codecs.ts';
import { SqlArray, SqlMap, SqlRow, VARIANT_NULL, Variant } from '../../../src/sql/values/collections.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import {
  decodeTracePayload,
  encodeSegment,
  encodeTracePayload,
  readSegment,
  SEGMENT_V_ROWS4,
  SEGMENT_V_TRACE3,
} from '../../../src/storage/segment.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { K_INL, K_OBJ, K_ORD } from '../../../src/zset/key-codec.ts';
import { buildBatch, TraceBatch, traceLayout } from '../../../src/zset/trace.ts';
import type { Row, Value } from '../../../src/zset/value.ts';
import { withTempDir } from './support.ts';

const GOLDEN = resolve(import.meta.dirname, '../../golden/checkpoint-v3/store');
const LAYOUT = traceLayout(4, [0]);
const CODECS = [...SQL_VALUE_CODECS];

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

/** The two sealed batches of the full checkpoint. Never edit: they are what the committed files hold. */
function batches(): [TraceBatch, TraceBatch] {
  const big: Row[] = [
    [
      1,
      new SqlArray([1, null, -0, Number.NaN, 2 ** 60, 1.5]),
      SqlMap.of([
        ['b', new Decimal(1234n, 2)],
        ['a', null],
      ]),
      null,
    ],
    [
      2,
      new SqlRow([7n, 'x', new SqlArray([true, false]), SqlMap.of([[1, new SqlRow([null])]])]),
      null,
      'plain',
    ],
    [
      3,
      new Variant(SqlMap.of([[new Variant('k'), new Variant(new SqlArray([new Variant(1), VARIANT_NULL]))]])),
      new SqlArray([
        new Variant(1.5, 'REAL'),
        new Variant(7, 'BIGINT UNSIGNED'),
        new Variant('x', 'OTHER TYPE'),
      ]),
      new Decimal(-5n, 2),
    ],
    [
      4,
      new SqlArray([-(2n ** 70n), 2n ** 63n - 1n, 'zoë 日本 🦀', 'lone \ud800', 'a\0b']),
      new SqlArray([]),
      0.5,
    ],
    [
      5,
      new SqlArray(Array.from({ length: 40 }, (_, i) => `item-${i}`)),
      new SqlArray([new Decimal(10n ** 30n + 1n, 30)]),
      2n,
    ],
    [new SqlArray(['key', 1]), new SqlRow([null, 'k']), new SqlArray([new SqlArray([1])]), null],
    [new SqlArray(['lone key \udc00']), null, null, null],
  ];
  const small: Row[] = [
    [
      2,
      new SqlRow([7n, 'x', new SqlArray([true, false]), SqlMap.of([[1, new SqlRow([null])]])]),
      null,
      'plain',
    ],
    [6, new SqlArray(['new']), SqlMap.of([['k', new SqlArray([1n])]]), new Decimal(150n, 2)],
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
      [6, new SqlArray(['new']), SqlMap.of([['k', new SqlArray([1n])]]), new Decimal(150n, 2)],
      [7, new Variant(new SqlArray([new Variant('d'), new Variant(-0)])), new SqlRow([1, -0]), null],
    ],
    weights: [-1, 1],
    consolidated: true,
  };
}

/** The table once everything is summed. */
function expected(): Batch {
  const [big] = batches();
  const rows = big.rows.filter((r) => r[0] !== 2);
  const last = delta().rows[1] as Row;
  return { rows: [...rows, last], weights: rows.map(() => 1).concat([1]) };
}

/** The committed v3 payloads, decoded as they are (without re-encoding their keys). */
async function committed(): Promise<TraceBatch[]> {
  const out: TraceBatch[] = [];
  for (const f of await readdir(join(GOLDEN, 'files'))) {
    const { version, payload } = readSegment(await readFile(join(GOLDEN, 'files', f)));
    if (version === SEGMENT_V_TRACE3) out.push(decodeTracePayload(payload, CODECS, SEGMENT_V_TRACE3));
  }
  return out;
}

test('the v3 files hold nested values inline in value columns and by hash key in the key column; this build in their key form', async () => {
  const files = await committed();
  const big = files.find((b) => b.length === batches()[0].length) as TraceBatch;
  assert.equal(big.arena[big.splits[0] as number], K_INL);
  assert.ok(big.objects !== null, 'key-column nested values and DECIMALs use the object table');
  const tags = (b: TraceBatch) =>
    new Set(Array.from({ length: b.length }, (_, i) => b.arena[b.offsets[i] as number]));
  assert.ok(tags(big).has(K_OBJ));
  assert.ok(tags(batches()[0]).has(K_ORD), 'this build: the ordered key form');
  assert.ok(!tags(batches()[0]).has(K_OBJ));
});

test('the committed v3 store reads back to exactly the pinned batches and restores the table', async () => {
  await withTempDir(async (dir) => {
    await cp(GOLDEN, dir, { recursive: true });
    const store = new CheckpointStore(dir, { codecs: CODECS });
    const read = await store.readLatest();
    assert.ok(read !== null);
    const [big, small] = batches();
    const first = read.snapshot.operators['n1:table']?.contents as Batch;
    assert.ok(first instanceof TraceBatch, 'a v3 segment decodes to a sealed trace batch');
    assert.ok(first.arena.equals(big.arena));
    assert.deepEqual([...first.wts], [...big.wts]);
    assert.deepEqual(rowsOf(first), rowsOf(big));
    const second = read.deltas[0]?.operators['n1:table']?.contents as TraceBatch;
    assert.deepEqual(rowsOf(second), rowsOf(small));
    assert.deepEqual(rowsOf(read.deltas[1]?.operators['n1:table']?.contents as Batch), rowsOf(delta()));

    const op = tableInput({ primaryKey: [0], materialized: true });
    op.restore({ contents: [first, second, read.deltas[1]?.operators['n1:table']?.contents as Batch] });
    assert.deepEqual(rowsOf(op.contents()).sort(), rowsOf(expected()).sort());
  });
});

test('re-encoding what the v3 files hold gives byte-identical v3 payloads, and the delta a v4 file', async () => {
  const files = await readdir(join(GOLDEN, 'files'));
  const payloads = new Set<string>();
  const files4: Buffer[] = [];
  for (const f of files) {
    const bytes = await readFile(join(GOLDEN, 'files', f));
    const { version, payload } = readSegment(bytes);
    if (version === SEGMENT_V_TRACE3) payloads.add(payload.toString('hex'));
    if (version === SEGMENT_V_ROWS4) files4.push(bytes);
  }
  assert.equal(payloads.size, 2);
  assert.equal(files4.length, 1, 'the delta (nested values in a row batch) is a v4 file');
  assert.ok((files4[0] as Buffer).equals(encodeSegment(delta(), CODECS).bytes), 'format v4 changed');
  for (const b of await committed())
    assert.ok(
      payloads.has(encodeTracePayload(b, CODECS, SEGMENT_V_TRACE3).toString('hex')),
      'payload differs: format v3 changed',
    );
});

/**
 * `tests/golden/checkpoint-v2-nested/store` was written by the build before v3 (nested values as hash-key text in
 * the arena plus JSON text in the object table): it still restores, to exactly these rows, and once restored its
 * rows re-encode inline (a later checkpoint writes them as v3).
 */
test('a v2 checkpoint with nested values, written by the build before v3, still restores', async () => {
  const OLD = resolve(import.meta.dirname, '../../golden/checkpoint-v2-nested/store');
  const want: Row[] = [
    [
      1,
      new SqlArray([1, null, -0.5, 2 ** 60]),
      SqlMap.of([
        ['b', new Decimal(1234n, 2)],
        ['a', null],
      ]),
    ],
    [2, new SqlRow([7n, 'x', new SqlArray([true, false])]), new Variant(1.5, 'REAL')],
    [
      3,
      new Variant(SqlMap.of([[new Variant('k'), new Variant(new SqlArray([new Variant(1), VARIANT_NULL]))]])),
      null,
    ],
    [new SqlArray(['key', 1]), new SqlRow([null, 'k']), new SqlArray([new SqlArray([1])])],
    [4, new SqlArray(['d']), null],
  ];
  await withTempDir(async (dir) => {
    await cp(OLD, dir, { recursive: true });
    const read = await new CheckpointStore(dir, { codecs: CODECS }).readLatest();
    assert.ok(read !== null);
    const base = read.snapshot.operators['n1:table']?.contents as Batch;
    assert.ok(base instanceof TraceBatch);
    assert.equal(
      readSegment(
        await readFile(
          join(
            dir,
            'files',
            (base.segment?.hash ?? read.manifest.operators['n1:table']?.contents?.[0]?.hash) as string,
          ),
        ),
      ).version,
      2,
    );
    const op = tableInput({ primaryKey: [0], materialized: true });
    op.restore({ contents: [base, read.deltas[0]?.operators['n1:table']?.contents as Batch] });
    const all = { rows: want, weights: want.map(() => 1) };
    assert.deepEqual(rowsOf(op.contents()).sort(), rowsOf(all).sort());
    const again = buildBatch(traceLayout(3, [0]), op.contents().rows, op.contents().weights);
    assert.equal(again.arena[again.splits[0] as number], K_INL);
  });
});
