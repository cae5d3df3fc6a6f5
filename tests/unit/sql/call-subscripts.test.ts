/**
 * Subscripts and field access on call results and constructors (`f(x)[i]`, `SPLIT(s, ',')[1]`,
 * `PARSE_JSON(s)['a']`, `MAP[...]['k']`, `ARRAY[...][i]`, nested `a[1][2]`, `f(x).field`), which the Postgres
 * grammar refuses and `subscript-syntax.ts` wraps in parentheses: values, NULL rules, use inside a
 * `CREATE FUNCTION` body, and error positions that stay those of the text as written.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { wrapCallSubscripts } from '../../../src/sql/subscript-syntax.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;

async function run(sql: string, rows: Rec[]): Promise<Rec[]> {
  const p = await compileProgram(sql);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((v) => v.name === 'v')?.columns ?? [];
  const b = c.contents('v');
  return b.rows
    .map((r) => rowToJson(cols, r as Row) as Rec)
    .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
}

async function compileError(sql: string): Promise<{ code: string; message: string }> {
  try {
    await compileProgram(sql);
  } catch (e) {
    if (isServiceError(e)) return { code: e.errorCode, message: e.message };
    throw e;
  }
  throw new Error('expected a compile error');
}

test('wrapping: calls and constructors with a subscript or field get one pair of parentheses', () => {
  const w = (s: string) => wrapCallSubscripts(s).text;
  assert.equal(w("SELECT SPLIT(s, ',')[1] FROM t"), "SELECT (SPLIT(s, ','))[1] FROM t");
  assert.equal(w('SELECT f(g(x)[1])[2][3].a'), 'SELECT (f((g(x))[1]))[2][3].a');
  assert.equal(w('SELECT ARRAY[1, 2][2]'), 'SELECT (ARRAY[1, 2])[2]');
  assert.equal(w('SELECT f(x).a, s.f(x)[1]'), 'SELECT (f(x)).a, (s.f(x))[1]');
  // left alone: columns, parenthesized expressions, keywords, array types, literals, identifiers, comments
  for (const s of [
    'SELECT a[1][2], (a)[1], t.c[1] FROM t WHERE x AND (a)[1] = 2',
    'SELECT CAST(x AS VARCHAR(10)[])',
    'SELECT \'f(x)[1]\', "f(x)[1]" -- f(x)[1]\n /* g(y)[2] */',
  ])
    assert.equal(w(s), s);
});

test('values: SPLIT, PARSE_JSON, MAP and ARRAY constructors indexed directly, nested indexes', async () => {
  const sql = `CREATE TABLE t (id INT, s VARCHAR, j VARCHAR, a INT ARRAY ARRAY);
    CREATE MATERIALIZED VIEW v AS SELECT id,
      SPLIT(s, ',')[2] AS second, SPLIT(s, ',')[9] AS missing,
      PARSE_JSON(j)['k'] AS k, PARSE_JSON(j)['arr'][2] AS arr2, PARSE_JSON(j)['none'] AS none,
      MAP['x', id, 'y', id * 10]['y'] AS y, ARRAY[10, 20, 30][id] AS third,
      a[2][1] AS a21, a[5][1] AS a51, ROW(id, s).EXPR$1 AS f1, (ROW(id, s)).EXPR$0 AS f0
    FROM t;`;
  const got = await run(sql, [
    { id: 3, s: 'p,q,r', j: '{"k": 1, "arr": [5, 6]}', a: [[1], [2, 3]] },
    { id: 1, s: null, j: null, a: null },
  ]);
  assert.deepEqual(got, [
    {
      id: 1,
      second: null,
      missing: null,
      k: null,
      arr2: null,
      none: null,
      y: 10,
      third: 10,
      a21: null,
      a51: null,
      f1: null,
      f0: 1,
    },
    {
      id: 3,
      second: 'q',
      missing: null,
      k: '1',
      arr2: '6',
      none: null,
      y: 30,
      third: 30,
      a21: 2,
      a51: null,
      f1: 'p,q,r',
      f0: 3,
    },
  ]);
});

test('a CREATE FUNCTION body may index a call result (Nexmark q22 split_index)', async () => {
  const sql = `CREATE FUNCTION split_index(s VARCHAR, sep CHAR, index INT) RETURNS VARCHAR
      AS SPLIT(s, CAST(sep AS VARCHAR))[index + 1];
    CREATE TABLE t (url VARCHAR);
    CREATE MATERIALIZED VIEW v AS SELECT split_index(url, '/', 3) AS d1, split_index(url, '/', 9) AS d9 FROM t;`;
  assert.deepEqual(await run(sql, [{ url: 'https://x.com/a/b/c' }]), [{ d1: 'a', d9: null }]);
});

test('errors after a wrapped call keep the positions of the text as written', async () => {
  const head = 'CREATE TABLE t (s VARCHAR);\nCREATE MATERIALIZED VIEW v AS SELECT ';
  const col = (s: string) => s.length + 1;
  let e = await compileError(`${head}SPLIT(s, ',')[nosuch] FROM t;`);
  assert.equal(e.code, 'SqlNameError');
  assert.match(
    e.message,
    new RegExp(`line 2, column ${col("CREATE MATERIALIZED VIEW v AS SELECT SPLIT(s, ',')[")}\\b`),
  );
  e = await compileError(`${head}SPLIT(s, ',')[1] + 1 FROM t;`);
  assert.equal(e.code, 'SqlTypeError');
  assert.match(
    e.message,
    new RegExp(`line 2, column ${col("CREATE MATERIALIZED VIEW v AS SELECT SPLIT(s, ',')[1] ")}\\b`),
  );
  // multi-byte characters before the insertion (the parser counts bytes): still the column as written
  e = await compileError(`${head}'héllo ✓' AS g, SPLIT(s, ',')[nosuch] FROM t;`);
  assert.match(
    e.message,
    new RegExp(
      `line 2, column ${col("CREATE MATERIALIZED VIEW v AS SELECT 'héllo ✓' AS g, SPLIT(s, ',')[")}\\b`,
    ),
  );
  // a syntax error: where the parser reports it for the text wrapped by hand, two characters to the left
  e = await compileError(`${head}SPLIT(s, ',')[1] FROM t WHERE ) ;`);
  const byHand = await compileError(`${head}(SPLIT(s, ','))[1] FROM t WHERE ) ;`);
  assert.equal(e.code, 'SqlSyntaxError');
  const column = (m: string) => Number(/line 2, column (\d+)/.exec(m)?.[1]);
  assert.equal(column(e.message), column(byHand.message) - 2);
});

test('a[SAFE_OFFSET(i)]: 0-based, NULL out of range, for a NULL index or a NULL array; on call results too', async () => {
  const sql = `CREATE TABLE t (id INT, a INT ARRAY, i INT);
    CREATE MATERIALIZED VIEW v AS SELECT id, a[SAFE_OFFSET(i)] AS x, a[SAFE_OFFSET(0)] AS first,
      SPLIT('p,q', ',')[SAFE_OFFSET(1)] AS q, ARRAY[2, 3][SAFE_OFFSET(2)] AS past
    FROM t;`;
  assert.deepEqual(
    await run(sql, [
      { id: 1, a: [10, 20, 30], i: 2 },
      { id: 2, a: [10, 20, 30], i: 3 },
      { id: 3, a: [10, 20, 30], i: -1 },
      { id: 4, a: [10, null], i: null },
      { id: 5, a: null, i: 0 },
    ]),
    [
      { id: 1, x: 30, first: 10, q: 'q', past: null },
      { id: 2, x: null, first: 10, q: 'q', past: null },
      { id: 3, x: null, first: 10, q: 'q', past: null },
      { id: 4, x: null, first: 10, q: 'q', past: null },
      { id: 5, x: null, first: null, q: 'q', past: null },
    ],
  );
  const e = await compileError(
    'CREATE TABLE t (m MAP<VARCHAR, INT>); CREATE VIEW v AS SELECT m[SAFE_OFFSET(0)] FROM t;',
  );
  assert.equal(e.code, 'SqlTypeError');
  assert.match(e.message, /SAFE_OFFSET indexes an ARRAY/);
});

test('array slices a[i:j]: not in Feldera, refused with what to write instead', async () => {
  const e = await compileError('CREATE TABLE t (a INT ARRAY); CREATE VIEW v AS SELECT a[1:2] FROM t;');
  assert.equal(e.code, 'SqlUnsupported');
  assert.match(e.message, /array slices \(a\[i:j\]\) are not part of Feldera's SQL.*SAFE_OFFSET/);
});

test("VARIANT: v.field is v['field'] (Feldera's JSON page examples), on columns and call results", async () => {
  const sql = `CREATE TABLE t (id INT, j VARIANT, r ROW(x INT NULL, y VARCHAR NULL));
    CREATE MATERIALIZED VIEW v AS SELECT id,
      CAST(ARRAY[1, 2, 3] AS VARIANT)[1] AS a1,
      CAST(ARRAY[1, 2, 3] AS VARIANT)."name" AS aname,
      CAST(MAP['a', 1, 'b', 2] AS VARIANT)."a" AS quoted,
      CAST(MAP['A', 1, 'b', 2] AS VARIANT).A AS unquoted,
      CAST(MAP['a', 1, 'b', 2] AS VARIANT)['a'] AS indexed,
      CAST(MAP[1, 'a', 2, 'b'] AS VARIANT)[1] AS bykey,
      (CAST(1 AS VARIANT))[1] AS scalar,
      j.a.b AS jab, t.j.a['b'] AS jab2, j.list[2].c AS jl, PARSE_JSON('{"k": [10, 20]}').k[2] AS parsed,
      CAST(r AS VARIANT).x AS rx
    FROM t;`;
  const [got] = await run(sql, [{ id: 1, j: { a: { b: 5 }, list: [{}, { c: 'z' }] }, r: { x: 7, y: null } }]);
  assert.deepEqual(got, {
    id: 1,
    a1: '1',
    aname: null,
    quoted: '1',
    unquoted: null,
    indexed: '1',
    bykey: '"a"',
    scalar: null,
    jab: '5',
    jab2: '5',
    jl: '"z"',
    parsed: '20',
    rx: '7',
  });
});
