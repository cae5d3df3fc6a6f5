/**
 * The Parquet format (connectors/formats/parquet-parser.ts, parquet-encoder.ts, transports/parquet-input.ts):
 * files written by hyparquet-writer with Feldera's Arrow type mapping (every mapped type, with NULLs) read into
 * a table; snappy, gzip, zstd and brotli pages; schema mismatches and broken files refused with their codes;
 * row errors kept apart; Holdfast's output read back by hyparquet (an independent reader); file and
 * object-store (Local directory) inputs resuming at a row index.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { brotliCompressSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import { parquetEncoder } from '../../../../src/connectors/formats/parquet-encoder.ts';
import { bufferSource, openParquet } from '../../../../src/connectors/formats/parquet-parser.ts';
import { type ConnectorContext, parseConnectorSpec } from '../../../../src/connectors/transports/config.ts';
import { startFileInput } from '../../../../src/connectors/transports/file-input.ts';
import { startObjectInput } from '../../../../src/connectors/transports/object-input.ts';
import type { InputPosition } from '../../../../src/connectors/transports/types.ts';
import { isServiceError } from '../../../../src/errors/service-error.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import { rowToJson } from '../../../../src/sql/records.ts';
import type { TableSchema } from '../../../../src/sql/schema.ts';
import type { Row } from '../../../../src/zset/value.ts';
import { FakeHost } from '../transports/support.ts';

const program = await compileProgram(`
CREATE TYPE pt AS (x INT, tag VARCHAR);
CREATE TABLE t (
  b BOOLEAN, ti TINYINT, si SMALLINT, i INT NOT NULL, bi BIGINT, r REAL, d DOUBLE, dc DECIMAL(10, 2),
  s VARCHAR, bin VARBINARY, tm TIME, ts TIMESTAMP, dt DATE, a INT ARRAY, st pt, m MAP<VARCHAR, INT>, v VARIANT);
CREATE TABLE small (id INT NOT NULL, name VARCHAR);`);
const table = program.table('t') as TableSchema;
const small = program.table('small') as TableSchema;
const tmp = mkdtempSync(join(tmpdir(), 'holdfast-parquet-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const OPT = 'OPTIONAL' as const;
/** Feldera's Arrow mapping as Parquet writes it (TIMESTAMP in ms, TIME as UInt64 ns, DATE as Int32 days). */
const SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 17 },
  { name: 'b', type: 'BOOLEAN', repetition_type: OPT },
  { name: 'ti', type: 'INT32', converted_type: 'INT_8', repetition_type: OPT },
  { name: 'si', type: 'INT32', converted_type: 'INT_16', repetition_type: OPT },
  { name: 'i', type: 'INT32', repetition_type: 'REQUIRED' },
  { name: 'bi', type: 'INT64', repetition_type: OPT },
  { name: 'r', type: 'FLOAT', repetition_type: OPT },
  { name: 'd', type: 'DOUBLE', repetition_type: OPT },
  { name: 'dc', type: 'INT64', converted_type: 'DECIMAL', precision: 10, scale: 2, repetition_type: OPT },
  { name: 's', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: OPT },
  { name: 'bin', type: 'BYTE_ARRAY', repetition_type: OPT },
  { name: 'tm', type: 'INT64', converted_type: 'UINT_64', repetition_type: OPT },
  { name: 'ts', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type: OPT },
  { name: 'dt', type: 'INT32', converted_type: 'DATE', repetition_type: OPT },
  { name: 'a', converted_type: 'LIST', repetition_type: OPT, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type: 'INT32', repetition_type: OPT },
  { name: 'st', repetition_type: OPT, num_children: 2 },
  { name: 'x', type: 'INT32', repetition_type: OPT },
  { name: 'tag', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: OPT },
  { name: 'm', converted_type: 'MAP', repetition_type: OPT, num_children: 1 },
  { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
  { name: 'key', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'value', type: 'INT32', repetition_type: OPT },
  { name: 'v', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: OPT },
];

const COLUMNS: Record<string, unknown[]> = {
  b: [true, null, false],
  ti: [-128, null, 127],
  si: [-32768, null, 300],
  i: [1, 2, 3],
  bi: [9007199254740993n, null, -5n],
  r: [1.5, null, -0.25],
  d: [2.125, null, 1e300],
  dc: [1234567891n, null, -5n], // unscaled: 12345678.91, NULL, -0.05
  s: ['héllo', null, ''],
  bin: [Uint8Array.of(1, 2, 255), null, new Uint8Array()],
  tm: [45_296_789_012_345n, null, 0n], // 12:34:56.789012345 (ns) → µs, truncated
  ts: [1_704_164_645_123n, null, -1n], // 2024-01-02 03:04:05.123, 1969-12-31 23:59:59.999
  dt: [19782, null, -1], // 2024-02-29, 1969-12-31
  a: [[1, null, 3], null, []],
  st: [{ x: 1, tag: 'q' }, null, { x: null, tag: null }],
  m: [
    new Map([
      ['a', 1],
      ['b', null],
    ]),
    null,
    new Map(),
  ],
  v: ['{"k":[1,"x"]}', null, 'null'],
};

const EXPECTED = [
  {
    b: true,
    ti: -128,
    si: -32768,
    i: 1,
    bi: '9007199254740993',
    r: 1.5,
    d: 2.125,
    dc: 12345678.91,
    s: 'héllo',
    bin: [1, 2, 255],
    tm: '12:34:56.789012',
    ts: '2024-01-02 03:04:05.123',
    dt: '2024-02-29',
    a: [1, null, 3],
    st: { x: 1, tag: 'q' },
    m: { a: 1, b: null },
    v: '{"k":[1,"x"]}',
  },
  {
    b: null,
    ti: null,
    si: null,
    i: 2,
    bi: null,
    r: null,
    d: null,
    dc: null,
    s: null,
    bin: null,
    tm: null,
    ts: null,
    dt: null,
    a: null,
    st: null,
    m: null,
    v: null,
  },
  {
    b: false,
    ti: 127,
    si: 300,
    i: 3,
    bi: -5,
    r: -0.25,
    d: 1e300,
    dc: -0.05,
    s: '',
    bin: [],
    tm: '00:00:00',
    ts: '1969-12-31 23:59:59.999',
    dt: '1969-12-31',
    a: [],
    st: { x: null, tag: null },
    m: {},
    v: null, // a JSON null in a nullable VARIANT column is SQL NULL, as with JSON input
  },
];

function writeAll(
  codec?: 'SNAPPY' | 'GZIP' | 'ZSTD' | 'BROTLI' | 'UNCOMPRESSED',
  compressors?: Record<string, (b: Uint8Array) => Uint8Array>,
): Uint8Array {
  const buf = parquetWriteBuffer({
    schema: SCHEMA,
    columnData: Object.entries(COLUMNS).map(([name, data]) => ({ name, data })),
    ...(codec ? { codec } : {}),
    ...(compressors ? { compressors } : {}),
  });
  return new Uint8Array(buf);
}

async function readAll(bytes: Uint8Array, t: TableSchema = table) {
  const f = await openParquet(bufferSource(bytes), t, 'the file');
  return f.read(0, f.numRows);
}

const json = (rows: readonly Row[], t: TableSchema = table) => rows.map((r) => rowToJson(t.columns, r));

test('every type of Feldera’s Parquet mapping, NULLs included, reads into the table exactly', async () => {
  const r = await readAll(writeAll());
  assert.deepEqual(r.errors, []);
  assert.deepEqual(json(r.changes.map((c) => c.row)), EXPECTED);
  assert.ok(r.changes.every((c) => c.weight === 1));
});

test('compressed pages: snappy, gzip, zstd, brotli and uncompressed read alike', async () => {
  const z = (f: (b: Uint8Array) => Buffer) => (b: Uint8Array) => new Uint8Array(f(b));
  for (const [codec, compressors] of [
    ['SNAPPY', undefined],
    ['GZIP', { GZIP: z(gzipSync) }],
    ['ZSTD', { ZSTD: z(zstdCompressSync) }],
    ['BROTLI', { BROTLI: z(brotliCompressSync) }],
    ['UNCOMPRESSED', undefined],
  ] as const) {
    const r = await readAll(writeAll(codec, compressors));
    assert.deepEqual(r.errors, [], codec);
    assert.deepEqual(json(r.changes.map((c) => c.row)), EXPECTED, codec);
  }
});

test('schema mismatches are refused whole with ParquetSchemaMismatch naming the column', async () => {
  const file = (schema: SchemaElement[], columnData: Array<{ name: string; data: unknown[] }>) =>
    new Uint8Array(parquetWriteBuffer({ schema, columnData }));
  const idName = (idType: SchemaElement, extra: SchemaElement[] = []) => [
    { name: 'root', num_children: 2 + extra.length },
    { ...idType, name: 'id' },
    { name: 'name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: OPT } as SchemaElement,
    ...extra,
  ];
  const cases: Array<[string, Uint8Array, RegExp, string]> = [
    [
      'missing column',
      file(
        [
          { name: 'root', num_children: 1 },
          { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
        ],
        [{ name: 'id', data: [1] }],
      ),
      /column 'name' is missing \(the file has id\)/,
      'name',
    ],
    [
      'wrong type',
      file(idName({ name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: OPT }), [
        { name: 'id', data: ['1'] },
        { name: 'name', data: ['a'] },
      ]),
      /column 'id': expected INTEGER, the file has BYTE_ARRAY \(UTF8\)/,
      'id',
    ],
    [
      'extra column',
      file(
        idName({ name: 'id', type: 'INT32', repetition_type: 'REQUIRED' }, [
          { name: 'extra', type: 'DOUBLE', repetition_type: OPT },
        ]),
        [
          { name: 'id', data: [1] },
          { name: 'name', data: ['a'] },
          { name: 'extra', data: [1.5] },
        ],
      ),
      /the file has column 'extra', which table 'small' does not have/,
      'extra',
    ],
  ];
  for (const [what, bytes, re, column] of cases) {
    await assert.rejects(
      readAll(bytes, small),
      (e: unknown) =>
        isServiceError(e, 'ParquetSchemaMismatch') && re.test(e.message) && e.details.column === column,
      what,
    );
  }
});

test('a file that is not Parquet, or is cut short, is ParquetInvalidFile', async () => {
  const good = writeAll();
  for (const bytes of [new TextEncoder().encode('{"id": 1}\n'), good.subarray(0, good.length - 10)]) {
    await assert.rejects(readAll(bytes), (e: unknown) => isServiceError(e, 'ParquetInvalidFile'));
  }
});

test('row errors (NULL in NOT NULL, out of range) skip that row only; event_number is the row', async () => {
  const bytes = new Uint8Array(
    parquetWriteBuffer({
      schema: [
        { name: 'root', num_children: 2 },
        { name: 'id', type: 'INT64', repetition_type: OPT },
        { name: 'name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: OPT },
      ],
      columnData: [
        { name: 'id', data: [1n, null, 3n, 2n ** 40n] },
        { name: 'name', data: ['a', 'b', 'c', 'd'] },
      ],
    }),
  );
  const r = await readAll(bytes, small);
  assert.deepEqual(
    json(
      r.changes.map((c) => c.row),
      small,
    ),
    [
      { id: 1, name: 'a' },
      { id: 3, name: 'c' },
    ],
  );
  assert.equal(r.numErrors, 2);
  assert.deepEqual(
    r.errors.map((e) => [e.event_number, e.field]),
    [
      [2, 'id'],
      [4, 'id'],
    ],
  );
});

test('output: inserts only (a weight n written n times, deletions left out), read back by hyparquet', async () => {
  const rows = (await readAll(writeAll())).changes.map((c) => c.row);
  const enc = parquetEncoder(table.columns);
  const { bytes, records } = enc.encode({
    rows: [rows[0] as Row, rows[1] as Row, rows[2] as Row],
    weights: [2, -1, 1],
  });
  assert.equal(records, 3);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const back = await parquetReadObjects({ file: ab });
  assert.equal(back.length, 3);
  assert.deepEqual(
    Object.keys(back[0] as object),
    table.columns.map((c) => c.name),
  );
  const first = back[0] as Record<string, unknown>;
  assert.equal(first.bi, 9007199254740993n);
  assert.equal(first.dc, 12345678.91);
  assert.equal(first.s, 'héllo');
  assert.equal((first.ts as Date).toISOString(), '2024-01-02T03:04:05.123Z');
  assert.equal(first.tm, 45_296_789_012_000n); // TIME(NANOS)
  assert.deepEqual(first.a, [1, null, 3]);
  assert.deepEqual(first.st, { x: 1, tag: 'q' });
  assert.deepEqual(first.m, { a: 1, b: null });
  assert.equal(first.v, '{"k":[1,"x"]}');
  assert.equal((back[2] as Record<string, unknown>).i, 3);
  // and Holdfast reads its own output back to the same rows
  const again = await readAll(bytes);
  assert.deepEqual(json(again.changes.map((c) => c.row)), [EXPECTED[0], EXPECTED[0], EXPECTED[2]]);
  // buffer_size_records cuts a change into several complete files
  const two = parquetEncoder(table.columns, 2).encode({ rows: [rows[0] as Row], weights: [3] });
  assert.equal(two.records, 3);
  const magic = Buffer.from(two.bytes).indexOf('PAR1PAR1');
  assert.ok(magic > 0);
  const firstFile = two.bytes.subarray(0, magic + 4);
  assert.equal((await readAll(firstFile)).changes.length, 2);
  assert.equal((await readAll(two.bytes.subarray(magic + 4))).changes.length, 1);
  // Holdfast's inputs read such back-to-back files whole, rows numbered on across them
  const all = await readAll(Buffer.concat([two.bytes, bytes]));
  assert.deepEqual(json(all.changes.map((c) => c.row)), [
    EXPECTED[0],
    EXPECTED[0],
    EXPECTED[0],
    EXPECTED[0],
    EXPECTED[0],
    EXPECTED[2],
  ]);
  assert.deepEqual(all.rowIndex, [0, 1, 2, 3, 4, 5]);
});

function smallFile(from: number, to: number): Uint8Array {
  const ids: number[] = [];
  for (let i = from; i < to; i++) ids.push(i);
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'id', data: ids, type: 'INT32', nullable: false },
        { name: 'name', data: ids.map((i) => `n${i}`), type: 'STRING' },
      ],
      rowGroupSize: 70,
    }),
  );
}

function connector(transport: string, config: Record<string, unknown>) {
  const spec = parseConnectorSpec(
    { name: 'src', transport: { name: transport, config }, format: { name: 'parquet' }, max_batch_size: 50 },
    0,
    'small',
    'table',
  );
  const ctx: ConnectorContext = { relation: 'small', relationKind: 'table', connector: 'src', transport };
  return { spec, ctx };
}

test('file_input reads a Parquet file by row ranges and resumes at a row index', async () => {
  const path = join(tmp, 'in.parquet');
  writeFileSync(path, smallFile(0, 300));
  const run = async (position: InputPosition | null) => {
    const host = new FakeHost();
    const { spec, ctx } = connector('file_input', { path });
    const c = await startFileInput(ctx, spec, small, host, () => {}, { baseDir: tmp, position });
    await c.settled;
    assert.equal(c.status().state, 'end_of_input', String(c.status().error));
    return { ids: host.rows().map((r) => r[0]), pos: c.position(), pushes: host.pushes.length };
  };
  const whole = await run(null);
  assert.deepEqual(
    whole.ids,
    Array.from({ length: 300 }, (_, i) => i),
  );
  assert.deepEqual(whole.pos, { offset: 0, row: 300 });
  assert.equal(whole.pushes, 9); // row groups of 70 rows, each pushed in batches of at most 50
  const resumed = await run({ offset: 0, row: 137 });
  assert.deepEqual(
    resumed.ids,
    Array.from({ length: 163 }, (_, i) => 137 + i),
  );
  // follow cannot be used with parquet
  const { spec, ctx } = connector('file_input', { path, follow: true });
  await assert.rejects(
    startFileInput(ctx, spec, small, new FakeHost(), () => {}, { baseDir: tmp }),
    /'follow' cannot be used with the parquet format/,
  );
});

test('object_store_input (Local) reads Parquet objects in key order and resumes mid-object at a row', async () => {
  const dir = join(tmp, 'bucket');
  mkdirSync(join(dir, 'in'), { recursive: true });
  writeFileSync(join(dir, 'in', 'b.parquet'), smallFile(200, 400));
  writeFileSync(join(dir, 'in', 'a.parquet'), smallFile(0, 200));
  const run = async (position: InputPosition | null) => {
    const host = new FakeHost();
    const { spec, ctx } = connector('object_store_input', { provider: 'Local', bucket: dir, prefix: 'in/' });
    const c = await startObjectInput(ctx, spec, small, host, () => {}, { baseDir: tmp, position });
    await c.settled;
    assert.equal(c.status().state, 'end_of_input', String(c.status().error));
    return {
      ids: host.rows().map((r) => r[0] as number),
      pos: c.position() as unknown as Record<string, unknown>,
    };
  };
  const whole = await run(null);
  assert.deepEqual(
    whole.ids,
    Array.from({ length: 400 }, (_, i) => i),
  );
  assert.equal(whole.pos.key, 'in/b.parquet');
  assert.equal(whole.pos.row, undefined);
  assert.ok((whole.pos.offset as number) > 0);
  const mid = await run({ key: 'in/a.parquet', offset: 0, row: 123 });
  assert.deepEqual(
    mid.ids,
    Array.from({ length: 277 }, (_, i) => 123 + i),
  );
  // a schema mismatch fails the connector with the code, before any row of that object
  writeFileSync(join(dir, 'in', 'c.parquet'), writeAll());
  const host = new FakeHost();
  const { spec, ctx } = connector('object_store_input', { provider: 'Local', bucket: dir, prefix: 'in/' });
  const c = await startObjectInput(ctx, spec, small, host, () => {}, {
    baseDir: tmp,
    position: { key: 'in/b.parquet', offset: whole.pos.offset as number },
  });
  await c.settled;
  assert.equal(c.status().state, 'failed');
  assert.match(String(c.status().error), /does not match table 'small'/);
  assert.equal(host.rows().length, 0);
});
