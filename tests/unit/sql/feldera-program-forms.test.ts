/**
 * Forms that Feldera's tutorial and demo programs use, each on SQL written for this test: the type aliases
 * FLOAT64 / FLOAT32 / INT64 / NUMBER, the WINDOW clause (named windows, select-forms.ts) and `GROUP BY (a, b)`
 * (a parenthesized list groups by each of its expressions).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';

/** Compiles `sql`, inserts `rows` into table t, returns view v's rows as JSON, sorted. */
async function viewRows(sql: string, rows: Record<string, unknown>[]): Promise<unknown[]> {
  const p = await compileProgram(sql);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  const v = p.views.find((x) => x.name === 'v');
  const out = c.contents('v').rows.map((r) => rowToJson(v?.columns ?? [], r));
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

test('FLOAT64, FLOAT32, INT64 and NUMBER(p, s) are DOUBLE, REAL, BIGINT and DECIMAL(p, s)', async () => {
  const p = await compileProgram(`
    CREATE TABLE t (a FLOAT64, b FLOAT32 NOT NULL, c INT64, d NUMBER(6, 2), e FLOAT64 ARRAY);
    CREATE MATERIALIZED VIEW v AS SELECT CAST(c AS FLOAT64) AS x, CAST(a AS NUMBER(4, 1)) AS y FROM t;`);
  const t = p.table('t') as TableSchema;
  assert.deepEqual(
    t.columns.map((c) => [c.type.kind, c.type.nullable]),
    [
      ['DOUBLE', true],
      ['REAL', false],
      ['BIGINT', true],
      ['DECIMAL', true],
      ['ARRAY', true],
    ],
  );
  assert.equal(t.columns[3]?.type.precision, 6);
  assert.equal(t.columns[4]?.type.element?.kind, 'DOUBLE');
  const v = p.views.find((x) => x.name === 'v');
  assert.deepEqual(
    v?.columns.map((c) => c.type.kind),
    ['DOUBLE', 'DECIMAL'],
  );
});

test('GROUP BY (a, b) groups by a and b; GROUP BY ROW(a, b) stays one ROW key', async () => {
  const rows = [
    { a: 1, b: 'x', n: 10 },
    { a: 1, b: 'x', n: 5 },
    { a: 1, b: 'y', n: 1 },
    { a: 2, b: 'x', n: 2 },
  ];
  const flat = await viewRows(
    `CREATE TABLE t (a INT, b VARCHAR, n INT);
     CREATE MATERIALIZED VIEW v AS SELECT a, b, SUM(n) AS s FROM t GROUP BY (a, b);`,
    rows,
  );
  assert.deepEqual(flat, [
    { a: 1, b: 'x', s: 15 },
    { a: 1, b: 'y', s: 1 },
    { a: 2, b: 'x', s: 2 },
  ]);
  // mixed with a plain item, and with a qualified name, as a program would write it
  const mixed = await viewRows(
    `CREATE TABLE t (a INT, b VARCHAR, n INT);
     CREATE MATERIALIZED VIEW v AS SELECT t.a, COUNT(*) AS c FROM t GROUP BY (t.a), b HAVING COUNT(*) > 0;`,
    rows,
  );
  assert.deepEqual(mixed, [
    { a: 1, c: 1 },
    { a: 1, c: 2 },
    { a: 2, c: 1 },
  ]);
  // a ROW key: columns a and b are not grouping keys on their own
  await assert.rejects(
    compileProgram(`CREATE TABLE t (a INT, b VARCHAR, n INT);
      CREATE MATERIALIZED VIEW v AS SELECT a, SUM(n) AS s FROM t GROUP BY ROW(a, b);`),
    /must appear in the GROUP BY clause/,
  );
});

test('WINDOW clause: OVER w takes the named window; OVER (w ...) adds an ordering or a frame', async () => {
  const sql = `CREATE TABLE t (k INT, ts INT, x INT);
    CREATE MATERIALIZED VIEW v AS SELECT k, ts,
      SUM(x) OVER w AS total,
      COUNT(*) OVER w AS c,
      SUM(x) OVER (w2 ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS last2
    FROM t
    WINDOW w AS (PARTITION BY k ORDER BY ts RANGE BETWEEN 10 PRECEDING AND CURRENT ROW),
           w2 AS (w ORDER BY ts);`;
  const got = await viewRows(sql, [
    { k: 1, ts: 0, x: 1 },
    { k: 1, ts: 5, x: 2 },
    { k: 1, ts: 20, x: 4 },
    { k: 2, ts: 0, x: 8 },
  ]);
  assert.deepEqual(got, [
    { k: 1, ts: 0, total: 1, c: 1, last2: 1 },
    { k: 1, ts: 20, total: 4, c: 1, last2: 6 },
    { k: 1, ts: 5, total: 3, c: 2, last2: 3 },
    { k: 2, ts: 0, total: 8, c: 1, last2: 8 },
  ]);
});

test('WINDOW clause: a reference to an undefined window is a name error', async () => {
  await assert.rejects(
    compileProgram(`CREATE TABLE t (k INT, ts INT, x INT);
      CREATE MATERIALIZED VIEW v AS SELECT SUM(x) OVER nope AS s FROM t WINDOW w AS (ORDER BY ts);`),
    (e: Error & { code?: string }) => /window "nope" is not defined/.test(e.message),
  );
  await assert.rejects(
    compileProgram(`CREATE TABLE t (k INT, ts INT, x INT);
      CREATE MATERIALIZED VIEW v AS SELECT SUM(x) OVER nope AS s FROM t;`),
    /window "nope" is not defined/,
  );
});

test('connector JSON with trailing commas is accepted and stored without them; other bad JSON is refused', async () => {
  const p = await compileProgram(`
    CREATE TABLE t (x INT) WITH ('connectors' = '[
      { "name": "a,]", "transport": { "name": "datagen", "config": { "plan": [ { "limit": 3, }, ], }, }, },
    ]');
    CREATE VIEW v WITH ('connectors' = '[{"transport": {"name": "file_output"},},]') AS SELECT x FROM t;`);
  const raw = p.table('t')?.properties.connectors?.value as string;
  const parsed = JSON.parse(raw);
  assert.equal(parsed[0].name, 'a,]', 'a comma inside a string is kept');
  assert.deepEqual(parsed[0].transport.config.plan, [{ limit: 3 }]);
  assert.equal(
    JSON.parse(p.views.find((v) => v.name === 'v')?.properties.connectors?.value as string).length,
    1,
  );
  await assert.rejects(
    compileProgram(`CREATE TABLE t (x INT) WITH ('connectors' = '[{"transport": {"name": datagen}},]');`),
    (e: Error & { errorCode?: string }) =>
      e.errorCode === 'SqlPropertyError' && /not valid JSON/.test(e.message),
  );
  await assert.rejects(
    compileProgram(`CREATE TABLE t (x INT) WITH ('connectors' = '[,]');`),
    (e: Error & { errorCode?: string }) => e.errorCode === 'SqlPropertyError',
  );
});

test('INTERVAL n WEEK[S] is n × 7 days and INTERVAL n QUARTER[S] n × 3 months (number, string or column)', async () => {
  const got = await viewRows(
    `CREATE TABLE t (ts TIMESTAMP, n INT);
     CREATE MATERIALIZED VIEW v AS SELECT ts + INTERVAL 1 WEEK AS a, ts - INTERVAL 2 WEEKS AS b,
       ts + INTERVAL '3' WEEK AS c, ts + INTERVAL n QUARTER AS d, ts + INTERVAL '1' QUARTERS AS e,
       INTERVAL 1 WEEK = INTERVAL 7 DAYS AS f, ts >= ts - INTERVAL n WEEK AS g FROM t;`,
    [{ ts: '2024-01-31 10:00:00', n: 2 }],
  );
  assert.deepEqual(got, [
    {
      a: '2024-02-07 10:00:00',
      b: '2024-01-17 10:00:00',
      c: '2024-02-21 10:00:00',
      d: '2024-07-31 10:00:00',
      e: '2024-04-30 10:00:00',
      f: true,
      g: true,
    },
  ]);
});

test('ST_DISTANCE(ST_POINT(x1, y1), ST_POINT(x2, y2)) is the Euclidean distance; NULL in, NULL out', async () => {
  const got = await viewRows(
    `CREATE TABLE t (id INT, x DOUBLE, y DOUBLE, i INT);
     CREATE MATERIALIZED VIEW v AS SELECT id, ST_DISTANCE(ST_POINT(x, y), ST_POINT(0, 0)) AS d,
       ST_DISTANCE(ST_POINT(i, 1.5), ST_POINT(x, y)) > 2 AS far FROM t;`,
    [
      { id: 1, x: 3, y: 4, i: 3 },
      { id: 2, x: -1.5, y: 2, i: -10 },
      { id: 3, x: null, y: 1, i: 0 },
    ],
  );
  assert.deepEqual(got, [
    { id: 1, d: 5, far: true },
    { id: 2, d: 2.5, far: true },
    { id: 3, d: null, far: null },
  ]);
  await assert.rejects(
    compileProgram(`CREATE TABLE t (x DOUBLE); CREATE VIEW v AS SELECT ST_DISTANCE(x, x) AS d FROM t;`),
    /ST_DISTANCE takes two points made by ST_POINT/,
  );
  await assert.rejects(
    compileProgram(`CREATE TABLE t (s VARCHAR); CREATE VIEW v AS SELECT ST_POINT(s, s) AS p FROM t;`),
    /ST_POINT takes two numbers/,
  );
});

test('duplicate column names of a subquery in FROM: later ones become name0, name1 (Calcite), so they can be named', async () => {
  const sql = `CREATE TABLE t (k INT, a INT);
    CREATE TABLE u (k INT, a INT, k0 INT);
    CREATE MATERIALIZED VIEW v AS SELECT k, a, k1, a0, k0 FROM (SELECT t.*, u.* FROM t JOIN u ON t.k = u.k) AS s;`;
  const p = await compileProgram(sql);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  const u = p.table('u') as TableSchema;
  c.step(
    new Map([
      ['t', { rows: [rowFromJson(t, { k: 1, a: 10 })], weights: [1] }],
      ['u', { rows: [rowFromJson(u, { k: 1, a: 20, k0: 30 })], weights: [1] }],
    ]),
  );
  const v = p.views.find((x) => x.name === 'v');
  assert.deepEqual(rowToJson(v?.columns ?? [], c.contents('v').rows[0] ?? []), {
    k: 1,
    a: 10,
    k1: 1,
    a0: 20,
    k0: 30,
  });
  // SELECT * shows the renamed columns
  const star = await compileProgram(`${sql.split('CREATE MATERIALIZED')[0]}
    CREATE VIEW v AS SELECT * FROM (SELECT t.*, u.a FROM t JOIN u ON t.k = u.k) AS s;`);
  assert.deepEqual(
    star.views.find((x) => x.name === 'v')?.columns.map((x) => x.name),
    ['k', 'a', 'a0'],
  );
});

test('a scalar subquery over any rows: NULL for none, the value for one, a run-time error for more', async () => {
  const p = await compileProgram(`CREATE TABLE t (x INT);
    CREATE TABLE u (k VARCHAR, y INT);
    CREATE MATERIALIZED VIEW v AS SELECT x, (SELECT y FROM u WHERE k = 'a') AS ya,
      (SELECT n FROM (SELECT COUNT(*) AS n FROM u)) AS total FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  const u = p.table('u') as TableSchema;
  const v = p.views.find((x) => x.name === 'v');
  const rows = () => c.contents('v').rows.map((r) => rowToJson(v?.columns ?? [], r));
  c.step(new Map([['t', { rows: [rowFromJson(t, { x: 1 })], weights: [1] }]]));
  assert.deepEqual(rows(), [{ x: 1, ya: null, total: 0 }]);
  const a7 = rowFromJson(u, { k: 'a', y: 7 });
  c.step(new Map([['u', { rows: [a7, rowFromJson(u, { k: 'b', y: 8 })], weights: [1, 1] }]]));
  assert.deepEqual(rows(), [{ x: 1, ya: 7, total: 2 }]);
  // a second 'a' row: the subquery has two rows
  assert.throws(
    () => c.step(new Map([['u', { rows: [rowFromJson(u, { k: 'a', y: 9 })], weights: [1] }]])),
    (e: Error & { errorCode?: string }) =>
      e.errorCode === 'SqlRuntimeError' && /scalar subquery returned 2 rows/.test(e.message),
  );
  // forms whose row count the rewrite cannot keep are still refused at compile time
  await assert.rejects(
    compileProgram(`CREATE TABLE u (k VARCHAR, y INT);
      CREATE VIEW v AS SELECT (SELECT y FROM u ORDER BY y LIMIT 1) AS first FROM u;`),
    /a scalar subquery with GROUP BY, DISTINCT, ORDER BY, LIMIT/,
  );
});

test('CREATE TYPE name AS type is an alias: columns, casts, ROW fields, arrays and functions take it', async () => {
  const p = await compileProgram(`
    create type id_t as string;
    CREATE TYPE "Amount" AS DECIMAL(8, 2);
    create type props_t as variant;
    CREATE TYPE pair AS (id id_t, amt "Amount");
    CREATE FUNCTION twice(a "Amount") RETURNS "Amount" AS a * 2;
    create table t (id id_t not null primary key, a "Amount", p props_t, ids id_t ARRAY, pr pair);
    CREATE MATERIALIZED VIEW v AS SELECT id, twice(a) AS a2, CAST(a AS id_t) AS s, pr.amt AS pa FROM t;`);
  const t = p.table('t') as TableSchema;
  assert.deepEqual(
    t.columns.map((c) => [c.name, c.type.kind, c.type.nullable]),
    [
      ['id', 'VARCHAR', false],
      ['a', 'DECIMAL', true],
      ['p', 'VARIANT', true],
      ['ids', 'ARRAY', true],
      ['pr', 'ROW', true],
    ],
  );
  assert.equal(t.columns[1]?.type.scale, 2);
  assert.equal(t.columns[3]?.type.element?.kind, 'VARCHAR');
  const c = p.instantiate();
  c.step(
    new Map([
      ['t', { rows: [rowFromJson(t, { id: 'x', a: 1.25, pr: { id: 'y', amt: 3.5 } })], weights: [1] }],
    ]),
  );
  const v = p.views.find((x) => x.name === 'v');
  assert.deepEqual(rowToJson(v?.columns ?? [], c.contents('v').rows[0] ?? []), {
    id: 'x',
    a2: 2.5,
    s: '1.25',
    pa: 3.5,
  });
  await assert.rejects(
    compileProgram('create type id_t as string; create type id_t as int; create table t (x id_t);'),
    /type "id_t" is declared more than once/,
  );
});

test('window aggregates with different PARTITION BY / ORDER BY in one SELECT', async () => {
  const rows = [
    { a: 1, b: 1, ts: 10, x: 1 },
    { a: 1, b: 2, ts: 20, x: 2 },
    { a: 2, b: 1, ts: 30, x: 4 },
    { a: 1, b: 1, ts: 40, x: 8 },
  ];
  const got = await viewRows(
    `CREATE TABLE t (a INT, b INT, ts INT, x INT);
     CREATE MATERIALIZED VIEW v AS SELECT *,
       SUM(x) OVER (PARTITION BY a ORDER BY ts RANGE BETWEEN 15 PRECEDING AND CURRENT ROW) AS sa,
       COUNT(*) OVER (PARTITION BY b ORDER BY ts) AS cb,
       LAG(x) OVER (ORDER BY ts) AS prev,
       SUM(x) OVER (PARTITION BY a ORDER BY ts) AS runa
     FROM t WHERE x < 100;`,
    rows,
  );
  assert.deepEqual(got, [
    { a: 1, b: 1, ts: 10, x: 1, sa: 1, cb: 1, prev: null, runa: 1 },
    { a: 1, b: 1, ts: 40, x: 8, sa: 8, cb: 3, prev: 4, runa: 11 },
    { a: 1, b: 2, ts: 20, x: 2, sa: 3, cb: 1, prev: 1, runa: 3 },
    { a: 2, b: 1, ts: 30, x: 4, sa: 4, cb: 2, prev: 2, runa: 4 },
  ]);
  // a qualified column reference keeps the old rule (compute the others in another view)
  await assert.rejects(
    compileProgram(`CREATE TABLE t (a INT, b INT, ts INT, x INT);
      CREATE VIEW v AS SELECT t.x, SUM(x) OVER (PARTITION BY a) AS s1, SUM(x) OVER (PARTITION BY b) AS s2 FROM t;`),
    /must share PARTITION BY and ORDER BY/,
  );
});

test('a udf_ts function takes and returns VARIANT as its JSON value', async () => {
  const udfTs = `
export function pick(v: unknown, key: string | null): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || key === null) return null;
  const o = v as Record<string, unknown>;
  return key in o ? o[key] : null;
}
export function wrap(v: unknown): unknown {
  return { got: v, arr: Array.isArray(v), kind: typeof v };
}
export function bad(_v: unknown): unknown {
  return undefined;
}`;
  const p = await compileProgram(
    `CREATE FUNCTION pick(v VARIANT, key VARCHAR) RETURNS VARIANT;
     CREATE FUNCTION wrap(v VARIANT NOT NULL) RETURNS VARIANT NOT NULL;
     CREATE FUNCTION bad(v VARIANT) RETURNS VARIANT;
     CREATE TABLE t (id INT, j VARCHAR);
     CREATE MATERIALIZED VIEW v AS SELECT id, TO_JSON(pick(PARSE_JSON(j), 'a')) AS a,
       TO_JSON(wrap((PARSE_JSON(j))['list'])) AS w FROM t WHERE id <> 99;
     CREATE MATERIALIZED VIEW b AS SELECT bad(PARSE_JSON(j)) AS x FROM t WHERE id = 99;`,
    { udfTs },
  );
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(
    new Map([
      [
        't',
        {
          rows: [rowFromJson(t, { id: 1, j: '{"a": {"b": [1, 2.5, "x"]}, "list": [true, null]}' })],
          weights: [1],
        },
      ],
    ]),
  );
  const v = p.views.find((x) => x.name === 'v');
  assert.deepEqual(rowToJson(v?.columns ?? [], c.contents('v').rows[0] ?? []), {
    id: 1,
    a: '{"b":[1,2.5,"x"]}',
    w: '{"arr":true,"got":[true,null],"kind":"object"}',
  });
  assert.throws(
    () => c.step(new Map([['t', { rows: [rowFromJson(t, { id: 99, j: '1' })], weights: [1] }]])),
    (e: Error & { errorCode?: string }) =>
      e.errorCode === 'UdfRuntimeError' &&
      /function bad returned undefined where a JSON value/.test(e.message),
  );
});

test('SET FELDERA_IGNORE_WARNING_... / FELDERA_WARNINGS_ARE_ERRORS are accepted; other SETs are refused', async () => {
  const p = await compileProgram(`SET FELDERA_IGNORE_WARNING_UNUSED_COLUMN = 1;
    set feldera_ignore_warning_unused = ON;
    SET FELDERA_WARNINGS_ARE_ERRORS = OFF;
    CREATE TABLE t (x INT, y INT);
    CREATE MATERIALIZED VIEW v AS SELECT x FROM t;`);
  assert.deepEqual(
    p.views.map((v) => v.name),
    ['v'],
  );
  for (const [stmt, re] of [
    ['SET search_path = public;', /SET SEARCH_PATH is not supported in a program \(line 1, column 1\)/],
    ['SET FELDERA_IGNORE_WARNING_ = 1;', /SET FELDERA_IGNORE_WARNING_ is not supported/],
    ['SET LOCAL FELDERA_IGNORE_WARNING_UNUSED = 1;', /SET LOCAL is not supported/],
    ['RESET FELDERA_IGNORE_WARNING_UNUSED;', /RESET is not supported/],
  ] as const)
    await assert.rejects(
      compileProgram(`${stmt}\nCREATE TABLE t (x INT);`),
      (e: Error & { errorCode?: string }) => e.errorCode === 'SqlUnsupported' && re.test(e.message),
      stmt,
    );
});
