/**
 * Casts and type rules where Feldera accepts what Postgres refuses, or converts differently (README: deliberate
 * differences; src/sql/values/feldera-casts.ts): numbers ↔ BOOLEAN and TIMESTAMP, fractions cut toward zero,
 * integers and strings → bytes, bytes ↔ UUID, a bare BINARY in a CAST is BINARY(1), MD5 of a UUID, string
 * literals met with bytes, COALESCE and set operations mixing strings with numbers or booleans, and the
 * refusals (SAFE_CAST between different ROW types, a date part in a string CAST to TIME).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;

const TABLE = `CREATE TABLE t(id INT, i INT, d DECIMAL(6, 2), r REAL, f DOUBLE, s VARCHAR, b BOOLEAN,
  bin VARBINARY, ts TIMESTAMP, tm TIME, u UUID, rw ROW(a INT, v VARCHAR));`;

const ROWS: Rec[] = [
  {
    id: 1,
    i: -12,
    d: -1111.52,
    r: -57681.18,
    f: -38.27,
    s: 'hello ',
    b: true,
    bin: [11, 22, 32],
    ts: '2020-06-21 14:23:44.123654',
    tm: '14:23:44',
    u: '42b8fec7-c7a3-4531-9611-4bde80f9cb4c',
    rw: { a: 4, v: 'cat' },
  },
  {
    id: 2,
    i: 0,
    d: 0,
    r: 0,
    f: 2.9,
    s: '0.12',
    b: false,
    bin: [0x42, 0xb8, 0xfe, 0xc7, 0xc7, 0xa3, 0x45, 0x31, 0x96, 0x11, 0x4b, 0xde, 0x80, 0xf9, 0xcb, 0x4c],
    ts: '1970-01-01 00:00:00',
    tm: '00:00:01.5',
    u: null,
    rw: null,
  },
];

async function run(select: string): Promise<Rec[]> {
  const p = await compileProgram(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT id, ${select} FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: ROWS.map((x) => rowFromJson(t, x)), weights: ROWS.map(() => 1) }]]));
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  return c
    .contents('v')
    .rows.map((row) => rowToJson(cols, row as Row) as Rec)
    .sort((a, b) => (a.id as number) - (b.id as number));
}

async function refused(select: string, code: string, message: RegExp): Promise<void> {
  await assert.rejects(
    compileProgram(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT ${select} FROM t;`),
    (e: Error & { errorCode?: string }) => {
      assert.equal(e.errorCode, code);
      assert.match(e.message, message);
      return true;
    },
  );
}

test('numbers → BOOLEAN (zero is FALSE) and → TIMESTAMP (milliseconds, whole seconds toward zero)', async () => {
  assert.deepEqual(
    await run(`CAST(i AS BOOLEAN) AS ib, CAST(d AS BOOLEAN) AS db, CAST(r AS BOOLEAN) AS rb, CAST(f AS BOOL) AS fb,
      CAST(d AS TIMESTAMP) AS dts, CAST(r AS TIMESTAMP) AS rts, CAST(i AS TIMESTAMP) AS its,
      CAST(CAST(90061001 AS BIGINT) AS TIMESTAMP) AS bts`),
    [
      {
        id: 1,
        ib: true,
        db: true,
        rb: true,
        fb: true,
        dts: '1969-12-31 23:59:59',
        rts: '1969-12-31 23:59:03',
        its: '1970-01-01 00:00:00',
        bts: '1970-01-02 01:01:01',
      },
      {
        id: 2,
        ib: false,
        db: false,
        rb: false,
        fb: true,
        dts: '1970-01-01 00:00:00',
        rts: '1970-01-01 00:00:00',
        its: '1970-01-01 00:00:00',
        bts: '1970-01-02 01:01:01',
      },
    ],
  );
});

test('TIMESTAMP → numbers: milliseconds since 1970; SAFE_CAST gives NULL where the target is too small', async () => {
  const got =
    await run(`CAST(ts AS BIGINT) AS big, CAST(ts AS DECIMAL) AS dec, CAST(CAST(ts AS DOUBLE) AS VARCHAR) AS dbl,
    CAST(CAST(ts AS REAL) AS VARCHAR) AS rl, SAFE_CAST(ts AS INT) AS i32, SAFE_CAST(ts AS DECIMAL(6, 2)) AS d62,
    CAST(tm AS TIMESTAMP) AS tts`);
  assert.deepEqual(got[0], {
    id: 1,
    big: 1592749424123,
    dec: 1592749424123,
    dbl: '1592749424123.0',
    rl: '1592749500000.0',
    i32: null,
    d62: null,
    tts: '1970-01-01 14:23:44',
  });
  assert.deepEqual(got[1], {
    id: 2,
    big: 0,
    dec: 0,
    dbl: '0.0',
    rl: '0.0',
    i32: 0,
    d62: 0,
    tts: '1970-01-01 00:00:01.5',
  });
});

test('DECIMAL, REAL and DOUBLE → integers cut toward zero (Postgres rounds)', async () => {
  const got =
    await run(`CAST(d AS INT) AS di, CAST(f AS INT) AS fi, CAST(f AS BIGINT) AS fb, CAST(-2.9 AS SMALLINT) AS lit,
    CAST(d AS TINYINT) AS dt`).catch((e: Error) => e);
  // -1111 does not fit a TINYINT: the step fails at run time
  assert.ok(got instanceof Error && /tinyint out of range/.test(got.message), String(got));
  assert.deepEqual(
    await run(
      'CAST(d AS INT) AS di, CAST(f AS INT) AS fi, CAST(f AS BIGINT) AS fb, CAST(-2.9 AS SMALLINT) AS lit',
    ),
    [
      { id: 1, di: -1111, fi: -38, fb: -38, lit: -2 },
      { id: 2, di: 0, fi: 2, fb: 2, lit: -2 },
    ],
  );
});

test('bytes: integers little-endian, strings as UTF-8, a bare BINARY in a CAST is BINARY(1), bytes ↔ UUID', async () => {
  assert.deepEqual(
    await run(`CAST(i AS BINARY) AS b1, CAST(i AS VARBINARY) AS ib, CAST(CAST(i AS BIGINT) AS BINARY(8)) AS bb,
      CAST(s AS BINARY) AS sb1, CAST(s AS VARBINARY) AS sb, CAST('hé' AS VARBINARY) AS lit,
      CAST(u AS BINARY) AS ub1, CAST(u AS BINARY(16)) AS ub, SAFE_CAST(bin AS UUID) AS bu, MD5(u) AS m`),
    [
      {
        id: 1,
        b1: [0xf4],
        ib: [0xf4, 0xff, 0xff, 0xff],
        bb: [0xf4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        sb1: [0x68],
        sb: [0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20],
        lit: [0x68, 0xc3, 0xa9],
        ub1: [0x42],
        ub: [0x42, 0xb8, 0xfe, 0xc7, 0xc7, 0xa3, 0x45, 0x31, 0x96, 0x11, 0x4b, 0xde, 0x80, 0xf9, 0xcb, 0x4c],
        bu: null, // 3 bytes are not a UUID
        m: 'be9a1f61ed7a08b3cc0fb79ba933d59c', // MD5 of the UUID's text
      },
      {
        id: 2,
        b1: [0],
        ib: [0, 0, 0, 0],
        bb: [0, 0, 0, 0, 0, 0, 0, 0],
        sb1: [0x30],
        sb: [0x30, 0x2e, 0x31, 0x32],
        lit: [0x68, 0xc3, 0xa9],
        ub1: null,
        ub: null,
        bu: '42b8fec7-c7a3-4531-9611-4bde80f9cb4c',
        m: null,
      },
    ],
  );
});

test('a string literal met with bytes spells them in hex (CASE, =); one that is not hex is refused', async () => {
  assert.deepEqual(
    await run(`CASE bin WHEN '0B1620' THEN 'first' ELSE 'other' END AS k, bin = '0b1620' AS eq`),
    [
      { id: 1, k: 'first', eq: true },
      { id: 2, k: 'other', eq: false },
    ],
  );
  await refused(`bin = 'hello'`, 'SqlTypeError', /not hex digits/);
});

test('COALESCE and set operations: strings with numbers or booleans are VARCHAR; a REAL with integers stays REAL', async () => {
  assert.deepEqual(
    await run(
      'COALESCE(NULL, s, -1) AS s1, COALESCE(CAST(NULL AS VARCHAR), i) AS i1, CAST(COALESCE(NULL, r, -1) AS VARCHAR) AS rl',
    ),
    [
      { id: 1, s1: 'hello ', i1: '-12', rl: '-57681.18' },
      { id: 2, s1: '0.12', i1: '0', rl: '0.0' },
    ],
  );
  const p = await compileProgram(`${TABLE}
    CREATE MATERIALIZED VIEW w AS SELECT s FROM t INTERSECT ALL SELECT b FROM t;
    CREATE MATERIALIZED VIEW x AS SELECT i FROM t UNION ALL SELECT s FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  const rows = [...ROWS, { ...ROWS[1], id: 3, s: 'TRUE', i: 7 }];
  c.step(new Map([['t', { rows: rows.map((x) => rowFromJson(t, x)), weights: rows.map(() => 1) }]]));
  assert.deepEqual(c.contents('w').rows, [['TRUE']]);
  assert.deepEqual(
    c
      .contents('x')
      .rows.map((r) => r[0])
      .sort(),
    ['-12', '0', '0.12', '7', 'TRUE', 'hello '].sort(),
  );
  await refused(`COALESCE(NULL, u, X'0B1620') AS x`, 'SqlTypeError', /COALESCE types/);
});

test('refused: SAFE_CAST between ROW types that differ, a date part in a string CAST to TIME', async () => {
  await refused(
    `SAFE_CAST(rw AS ROW(a INT, v DOUBLE)) AS x`,
    'SqlTypeError',
    /SAFE_CAST cannot be used to convert ROW/,
  );
  assert.deepEqual(await run(`SAFE_CAST(rw AS ROW(a INT, v VARCHAR)) AS x`), [
    { id: 1, x: { a: 4, v: 'cat' } },
    { id: 2, x: null },
  ]);
  const p = await compileProgram(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT CAST(s AS TIME) AS x,
    SAFE_CAST(s AS TIME) AS y FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  assert.throws(
    () =>
      c.step(
        new Map([['t', { rows: [rowFromJson(t, { ...ROWS[0], s: '2020-10-01 00:00:00' })], weights: [1] }]]),
      ),
    /Error converting 2020-10-01 00:00:00 to TIME: input contains invalid characters/,
  );
});

test('the VARIANT null cast to a ROW type is a row of NULL fields (to an ARRAY or MAP: NULL), as in Feldera', async () => {
  const p = await compileProgram(`CREATE TABLE t(id INT, r ROW(i INT, v VARCHAR), a INT ARRAY);
    CREATE MATERIALIZED VIEW v AS SELECT id, CAST(CAST(r AS VARIANT) AS ROW(i INT, v VARCHAR)) AS r2,
      CAST(CAST(a AS VARIANT) AS INT ARRAY) AS a2 FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  const rows = [
    { id: 1, r: { i: 4, v: 'cat' }, a: [1] },
    { id: 2, r: null, a: null },
  ];
  c.step(new Map([['t', { rows: rows.map((x) => rowFromJson(t, x)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  const got = c
    .contents('v')
    .rows.map((row) => rowToJson(cols, row as Row) as Rec)
    .sort((a, b) => (a.id as number) - (b.id as number));
  assert.deepEqual(got, [
    { id: 1, r2: { i: 4, v: 'cat' }, a2: [1] },
    { id: 2, r2: { i: null, v: null }, a2: null },
  ]);
});
