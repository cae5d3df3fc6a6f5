/**
 * Feldera's BINARY(n) / VARBINARY(n) and UUID types: JSON in and out (bytes as arrays of byte values), `x'..'`
 * literals, byte-wise ordering (a prefix first), casts, length limits, UUID text forms and ordering.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, formatValue, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';

const DDL = 'CREATE TABLE t (id INT, b BINARY(4), v VARBINARY, u UUID);';

async function run(view: string, rows: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  const p = await compileProgram(`${DDL}\nCREATE MATERIALIZED VIEW v AS ${view};`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  const cols = p.views[0]?.columns ?? [];
  return c.contents('v').rows.map((r) => rowToJson(cols, r as Row) as Record<string, unknown>);
}

const isErr = (code: string, re: RegExp) => (e: unknown) =>
  isServiceError(e) && e.errorCode === code && re.test(e.message);

test('bytes in and out of JSON as arrays of byte values, BINARY(n) not padded', async () => {
  const got = await run('SELECT b, v FROM t', [{ b: [12, 22, 32], v: [0, 255, 1] }]);
  assert.deepEqual(got, [{ b: [12, 22, 32], v: [0, 255, 1] }]);
  const bytea = await run('SELECT v FROM t', [{ v: '\\x0B16' }]);
  assert.deepEqual(bytea, [{ v: [11, 22] }], 'a string is read as bytea hex text');
});

test('bad bytes and too long values are InvalidRecord naming the column', async () => {
  const p = await compileProgram(DDL);
  const t = p.table('t') as TableSchema;
  for (const [rec, re] of [
    [{ b: [1, 2, 3, 4, 5] }, /"b".*too long/],
    [{ v: [256] }, /"v"/],
    [{ v: [1.5] }, /"v"/],
    [{ v: '0b16' }, /"v"/],
    [{ u: 'not-a-uuid' }, /"u"/],
  ] as const) {
    assert.throws(() => rowFromJson(t, rec), isErr('InvalidRecord', re), JSON.stringify(rec));
  }
});

test("x'..' literals, byte order (a prefix sorts first), MIN/MAX/ARG_MAX over bytes", async () => {
  const got = await run(
    `SELECT x'0b' < x'0b16' AS p, x'0b16' < x'0c' AS q, x'FF' > x'0a0b' AS r, x'0B16' = x'0b16' AS e,
       MIN(v) AS mn, MAX(v) AS mx, ARG_MAX(id, v) AS am, COUNT(*) FILTER (WHERE v >= x'0b16') AS c FROM t`,
    [
      { id: 1, v: [11] },
      { id: 2, v: [11, 22] },
      { id: 3, v: [12] },
    ],
  );
  assert.deepEqual(got, [{ p: true, q: true, r: true, e: true, mn: [11], mx: [12], am: 3, c: 2 }]);
  await assert.rejects(
    compileProgram("CREATE VIEW v AS SELECT x'0b1' AS a;"),
    isErr('SqlSyntaxError', /even number of hex digits/),
  );
});

test('casts: between byte types (cut to BINARY(n) explicitly), to VARCHAR as hex; Postgres text is \\x..', async () => {
  const got = await run(
    'SELECT CAST(v AS BINARY(2)) AS c, CAST(v AS VARCHAR) AS s, CAST(b AS VARBINARY) AS w FROM t',
    [{ v: [1, 2, 3], b: [9] }],
  );
  assert.deepEqual(got, [{ c: [1, 2], s: '010203', w: [9] }]);
  const p = await compileProgram(DDL);
  assert.equal(formatValue('0b16', (p.table('t') as TableSchema).columns[2]?.type as never), '\\x0b16');
});

test('UUID: any accepted text form becomes canonical lowercase; comparison and casts', async () => {
  const got = await run(
    `SELECT u, CAST(u AS VARCHAR) AS s, u = CAST('{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}' AS UUID) AS e,
       u < CAST('b0000000-0000-0000-0000-000000000000' AS UUID) AS l FROM t`,
    [{ u: 'A0EEBC999C0B4EF8BB6D6BB9BD380A11' }],
  );
  const canon = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
  assert.deepEqual(got, [{ u: canon, s: canon, e: true, l: true }]);
  const agg = await run('SELECT MAX(u) AS m, ARG_MIN(id, u) AS a FROM t', [
    { id: 1, u: 'ffffffff-0000-0000-0000-000000000000' },
    { id: 2, u: '00000000-0000-0000-0000-000000000001' },
  ]);
  assert.deepEqual(agg, [{ m: 'ffffffff-0000-0000-0000-000000000000', a: 2 }]);
  // a constant that is not a UUID is refused when the program compiles
  await assert.rejects(
    run("SELECT CAST('xyz' AS UUID) AS a FROM t", [{ id: 1 }]),
    isErr('SqlTypeError', /invalid input syntax for type uuid/),
  );
});

test('the schema names the types as Feldera does', async () => {
  const p = await compileProgram(DDL);
  assert.deepEqual(
    (p.table('t') as TableSchema).columns.map((c) => [c.type.kind, c.type.length ?? null]),
    [
      ['INTEGER', null],
      ['BINARY', 4],
      ['VARBINARY', null],
      ['UUID', null],
    ],
  );
});

test('BINARY(n) meets VARBINARY or another length as VARBINARY: comparisons, CASE, GREATEST, COALESCE, UNION', async () => {
  const rows = [
    { id: 1, b: [11, 22, 32], v: [11, 22, 32] },
    { id: 2, b: [12], v: [11] },
  ];
  const got = await run(
    `SELECT id, b = v AS eq, b > x'0B16' AS gt, b IS DISTINCT FROM v AS d, GREATEST(b, x'0C') AS g,
       LEAST(b, v) AS l, CASE WHEN id = 1 THEN b ELSE v END AS c, COALESCE(b, v) AS co, NULLIF(b, v) AS n FROM t`,
    rows,
  );
  assert.deepEqual(
    got.sort((x, y) => (x.id as number) - (y.id as number)),
    [
      {
        id: 1,
        eq: true,
        gt: true,
        d: false,
        g: [12],
        l: [11, 22, 32],
        c: [11, 22, 32],
        co: [11, 22, 32],
        n: null,
      },
      { id: 2, eq: false, gt: true, d: true, g: [12], l: [11], c: [11], co: [12], n: [12] },
    ],
  );
  const u = await run('SELECT b AS x FROM t UNION ALL SELECT v FROM t', [{ id: 1, b: [1, 2], v: [3] }]);
  assert.deepEqual(u.map((r) => r.x).sort(), [[1, 2], [3]]);
});

test('SUBSTRING and POSITION work byte-wise on bytes; UPPER, LOWER, LENGTH, SUBSTRING, TRIM, POSITION take other scalars as text; TRIM of bytes is refused', async () => {
  const got = await run(
    `SELECT SUBSTRING(v FROM 2 FOR 2) AS s1, SUBSTR(v, 3) AS s2, SUBSTRING(v FROM 9) AS s3, POSITION(x'16' IN v) AS p1,
       POSITION(x'20' IN v) AS p0, UPPER(u) AS up, LENGTH(id) AS len, SUBSTRING(id FROM 2 FOR 2) AS sub,
       RTRIM(id, '2') AS tr, POSITION('3' IN id) AS pos, LOWER(CAST(u AS VARCHAR)) AS low FROM t`,
    [{ id: -1234, v: [11, 22, 32, 255], u: '42b8fec7-c7a3-4531-9611-4bde80f9cb4c' }],
  );
  assert.deepEqual(got, [
    {
      s1: [22, 32],
      s2: [32, 255],
      s3: [],
      p1: 2,
      p0: 3,
      up: '42B8FEC7-C7A3-4531-9611-4BDE80F9CB4C',
      len: 5,
      sub: '12',
      tr: '-1234',
      pos: 4,
      low: '42b8fec7-c7a3-4531-9611-4bde80f9cb4c',
    },
  ]);
  await assert.rejects(
    compileProgram(`${DDL}\nCREATE VIEW v AS SELECT TRIM(LEADING x'0b' FROM b) AS x FROM t;`),
    isErr('SqlTypeError', /Cannot apply 'LTRIM' to arguments of type BINARY\(4\)/),
  );
});
