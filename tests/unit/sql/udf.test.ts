/**
 * SQL user-defined functions: `CREATE FUNCTION f(params) RETURNS T [NOT NULL] AS expression` — parsing around
 * the Postgres grammar with positions kept, inlining at each call with the declared parameter and result types,
 * functions calling functions, the checks at compile and run time, and how a changed body changes the views that
 * use it. Results are checked against PGlite running the same functions in Postgres's `RETURN` form.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowToJson } from '../../../src/sql/program.ts';
import type { Row } from '../../../src/zset/value.ts';

const isErr = (code: string, re: RegExp) => (e: unknown) =>
  isServiceError(e) && e.errorCode === code && re.test(e.message);

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
});
after(async () => {
  await pg.close();
});

async function view(program: string, rows: Row[] = []): Promise<Record<string, unknown>[]> {
  const p = await compileProgram(program);
  const c = p.instantiate();
  if (p.table('t')) c.step(new Map([['t', { rows, weights: rows.map(() => 1) }]]));
  const v = p.views.find((x) => x.name === 'v');
  assert.ok(v);
  return c.contents('v').rows.map((r) => rowToJson(v.columns, r as Row) as Record<string, unknown>);
}

test('a function without parameters, with NOT NULL result, used as a constant (the corpus preamble)', async () => {
  const p = await compileProgram(`CREATE FUNCTION d()
RETURNS TIMESTAMP NOT NULL AS
CAST('1970-01-01 00:00:00' AS TIMESTAMP);
CREATE TABLE t (x INT);
CREATE MATERIALIZED VIEW v AS SELECT d() AS epoch, x FROM t;`);
  const col = p.views[0]?.columns[0];
  assert.equal(col?.type.kind, 'TIMESTAMP');
  assert.equal(col?.type.nullable, false);
  const c = p.instantiate();
  c.step(new Map([['t', { rows: [[7]], weights: [1] }]]));
  const [row] = c.contents('v').rows;
  assert.deepEqual(rowToJson(p.views[0]?.columns ?? [], row as Row), { epoch: '1970-01-01 00:00:00', x: 7 });
});

test('parameters are converted to their declared types and the result to the declared result type (PGlite agrees)', async () => {
  const fns = [
    ['half', 'x INTEGER', 'DOUBLE PRECISION', 'x / 2'], // integer division, then the result cast to DOUBLE
    ['scaled', 'x NUMERIC(10,2), k INTEGER', 'NUMERIC(12,2)', 'x * k'],
    ['tag', 's VARCHAR, n INTEGER', 'VARCHAR', "s || '-' || CAST(n AS VARCHAR)"],
    ['twice', 'x BIGINT', 'BIGINT', 'x + x'],
    ['quad', 'x BIGINT', 'BIGINT', 'twice(twice(x))'],
  ] as const;
  const program = [
    ...fns.map(([n, ps, r, b]) => `CREATE FUNCTION ${n}(${ps}) RETURNS ${r} AS ${b};`),
    'CREATE TABLE t (i INT, d NUMERIC(10,2), s VARCHAR);',
    `CREATE MATERIALIZED VIEW v AS SELECT i, half(i) AS h, scaled(d, i) AS sc, tag(s, i) AS tg, quad(i) AS q FROM t;`,
  ].join('\n');
  const rows: Row[] = [
    [5, null, 'a'],
    [-3, null, null],
    [null, null, 'z'],
  ];
  const got = await view(program, rows);
  for (const [n, ps, r, b] of fns)
    await pg.exec(`CREATE OR REPLACE FUNCTION ${n}(${ps}) RETURNS ${r} RETURN ${b};`);
  await pg.exec(
    "CREATE TABLE t (i INT, d NUMERIC(10,2), s VARCHAR); INSERT INTO t VALUES (5, NULL, 'a'), (-3, NULL, NULL), (NULL, NULL, 'z');",
  );
  const want = await pg.query<Record<string, unknown>>(
    'SELECT i, half(i) AS h, scaled(d, i) AS sc, tag(s, i) AS tg, quad(i) AS q FROM t',
  );
  const norm = (xs: Record<string, unknown>[]) =>
    xs
      .map((x) =>
        JSON.stringify(
          Object.fromEntries(
            Object.entries(x).map(([k, v]) => [k, v === null ? null : Number(v) || String(v)]),
          ),
        ),
      )
      .sort();
  assert.deepEqual(norm(got), norm(want.rows));
});

test('each argument is evaluated once however often the body reads it, and calls nest', async () => {
  const got = await view(
    `CREATE FUNCTION sq(x INT) RETURNS INT AS x * x;
CREATE FUNCTION poly(a INT, b INT) RETURNS INT AS sq(a) + sq(b) + a * b;
CREATE TABLE t (a INT, b INT);
CREATE MATERIALIZED VIEW v AS SELECT poly(a + 1, b) AS p, sq(sq(a)) AS s4 FROM t;`,
    [[1, 2]],
  );
  assert.deepEqual(got, [{ p: 4 + 4 + 4, s4: 1 }]);
});

test('names are case-insensitive, and a function may be declared after the view that uses it', async () => {
  const got = await view(
    `CREATE TABLE t (x INT);
CREATE MATERIALIZED VIEW v AS SELECT Plus_One(x) AS y FROM t;
CREATE FUNCTION PLUS_ONE(x INT) RETURNS INT AS x + 1;`,
    [[41]],
  );
  assert.deepEqual(got, [{ y: 42 }]);
});

test('NULL for a NOT NULL parameter, or a NULL result declared NOT NULL, is a run-time error', async () => {
  const p = await compileProgram(`CREATE FUNCTION f(x INT NOT NULL) RETURNS INT AS x;
CREATE FUNCTION g(x INT) RETURNS INT NOT NULL AS x;
CREATE TABLE t (x INT);
CREATE VIEW vf AS SELECT f(x) AS y FROM t;
CREATE VIEW vg AS SELECT g(x) AS y FROM t;`);
  assert.equal(p.views[0]?.columns[0]?.type.nullable, true);
  assert.equal(p.views[1]?.columns[0]?.type.nullable, false);
  const c = p.instantiate();
  c.step(new Map([['t', { rows: [[1]], weights: [1] }]]));
  assert.throws(
    () => c.step(new Map([['t', { rows: [[null]], weights: [1] }]])),
    isErr('SqlRuntimeError', /function f: NULL passed for parameter "x"/),
  );
  const c2 = (
    await compileProgram(`CREATE FUNCTION g(x INT) RETURNS INT NOT NULL AS x;
CREATE TABLE t (x INT);
CREATE VIEW vg AS SELECT g(x) AS y FROM t;`)
  ).instantiate();
  assert.throws(
    () => c2.step(new Map([['t', { rows: [[null]], weights: [1] }]])),
    isErr('SqlRuntimeError', /function g returned NULL/),
  );
});

test('errors name the function and point at the program text', async () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'CREATE FUNCTION f(x INT) RETURNS INT AS y;',
      'SqlNameError',
      /column "y" does not exist \(line 1, column 41\)/,
    ],
    [
      'CREATE TABLE t (x INT);\nCREATE FUNCTION f(x INT) RETURNS INT AS x +;',
      'SqlSyntaxError',
      /line 2, column 43/,
    ],
    [
      'CREATE FUNCTION f(x INT) RETURNS INT AS x;\nCREATE VIEW v AS SELECT f(1, 2) AS y;',
      'SqlTypeError',
      /function f takes 1 argument, got 2 \(line 2, column 25\)/,
    ],
    [
      "CREATE FUNCTION f(x INT) RETURNS INT AS x;\nCREATE VIEW v AS SELECT f(DATE '2020-01-01') AS y;",
      'SqlTypeError',
      /argument 1 \(x\) of function f: cannot use DATE where INTEGER is expected/,
    ],
    [
      'CREATE FUNCTION f(x INT) RETURNS INT AS x;\nCREATE FUNCTION F(y INT) RETURNS INT AS y;',
      'SqlNameError',
      /declared more than once \(line 2/,
    ],
    ['CREATE FUNCTION f(x INT, x INT) RETURNS INT AS x;', 'SqlNameError', /parameter "x"/],
    [
      'CREATE FUNCTION f(x INT) RETURNS INT;',
      'UdfMissingExport',
      /function f is declared without a body, and the program has no udf_ts.*line 1, column 17/,
    ],
    ['CREATE FUNCTION f(x INT) RETURNS INT AS x, x;', 'SqlSyntaxError', /single expression/],
  ];
  for (const [sql, code, re] of cases) await assert.rejects(compileProgram(sql), isErr(code, re), sql);
});

test('a changed function body changes the definition of the views that use it, and only those', async () => {
  const defs = async (body: string) => {
    const p = await compileProgram(`CREATE FUNCTION f(x INT) RETURNS INT AS ${body};
CREATE FUNCTION g(x INT) RETURNS INT AS f(x) * 10;
CREATE TABLE t (x INT);
CREATE VIEW uses_g AS SELECT g(x) AS y FROM t;
CREATE VIEW plain AS SELECT x FROM t;`);
    const c = p.instantiate();
    return Object.fromEntries(c.relations.map((r) => [r.name, JSON.stringify(r.definition)]));
  };
  const a = await defs('x + 1');
  const b = await defs('x + 2');
  assert.notEqual(a.uses_g, b.uses_g, 'g calls f, whose body changed');
  assert.equal(a.plain, b.plain);
  assert.ok(!(a.plain as string).includes('functions'), 'a view without calls keeps its old definition');
});

test("an ad-hoc query can call the program's functions", async () => {
  const p = await compileProgram(`CREATE FUNCTION inc(x INT) RETURNS INT AS x + 1;
CREATE TABLE t (x INT) WITH ('materialized' = 'true');`);
  const c = p.instantiate();
  c.step(new Map([['t', { rows: [[1], [2]], weights: [1, 1] }]]));
  const r = await c.query('SELECT inc(x) AS y FROM t ORDER BY y');
  assert.deepEqual(r.rows, [[2], [3]]);
});
