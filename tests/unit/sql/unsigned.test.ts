/**
 * Feldera's unsigned integers: `TINYINT/SMALLINT/INTEGER/BIGINT UNSIGNED` (and the names UTINYINT, USMALLINT,
 * UINT/UINTEGER, UBIGINT), their ranges 0 .. 2^bits − 1 on input and in arithmetic, casts, promotion with signed
 * types, JSON in and out (BIGINT UNSIGNED beyond 2^53 as a string), and aggregates over them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';

const DDL = `CREATE TABLE t (id INT, a TINYINT UNSIGNED, b SMALLINT UNSIGNED, c INTEGER UNSIGNED,
  d BIGINT UNSIGNED NOT NULL, e INT UNSIGNED, f UTINYINT, g UBIGINT);`;

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

test('the unsigned type forms and their names in the schema', async () => {
  const p = await compileProgram(DDL);
  const t = p.table('t') as TableSchema;
  assert.deepEqual(
    t.columns.map((c) => c.type.kind),
    ['INTEGER', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UINTEGER', 'UTINYINT', 'UBIGINT'],
  );
  assert.equal(t.columns[4]?.type.nullable, false, 'NOT NULL after UNSIGNED still applies');
});

test('JSON in and out: full ranges, BIGINT UNSIGNED beyond 2^63 as a string', async () => {
  const got = await run('SELECT a, b, c, d FROM t', [
    { a: 255, b: 65535, c: 4294967295, d: '18446744073709551615' },
  ]);
  assert.deepEqual(got, [{ a: 255, b: 65535, c: 4294967295, d: '18446744073709551615' }]);
});

test('input outside the range is an InvalidRecord naming the column', async () => {
  const p = await compileProgram(DDL);
  const t = p.table('t') as TableSchema;
  for (const [rec, re] of [
    [{ a: 256, d: 0 }, /"a"/],
    [{ a: -1, d: 0 }, /"a"/],
    [{ c: 4294967296, d: 0 }, /"c"/],
    [{ d: '18446744073709551616' }, /"d"/],
    [{ d: -1 }, /"d"/],
  ] as const) {
    assert.throws(() => rowFromJson(t, rec), isErr('InvalidRecord', re), JSON.stringify(rec));
  }
});

test('arithmetic stays in the unsigned type and overflow (either way) is a run-time error', async () => {
  const got = await run('SELECT a + f AS s, c * 2 AS m, d + g AS big, d - g AS diff, c / 2 AS q FROM t', [
    { a: 100, f: 155, c: 2000000000, d: '18446744073709551600', g: 15 },
  ]);
  assert.deepEqual(got, [
    { s: 255, m: 4000000000, big: '18446744073709551615', diff: '18446744073709551585', q: 1000000000 },
  ]);
  await assert.rejects(
    run('SELECT a + f AS s FROM t', [{ a: 200, f: 100, d: 0 }]),
    isErr('SqlRuntimeError', /tinyint unsigned out of range/),
  );
  await assert.rejects(
    run('SELECT d - g AS s FROM t', [{ d: 1, g: 2 }]),
    isErr('SqlRuntimeError', /bigint unsigned out of range/),
  );
});

test('with a signed operand the unsigned value counts as the next wider signed type', async () => {
  const p = await compileProgram(
    `${DDL}\nCREATE VIEW v AS SELECT a + 1 AS x, a - id AS y, c + id AS z, d + id AS w, a + b AS u, a * 1.5 AS r FROM t;`,
  );
  assert.deepEqual(
    p.views[0]?.columns.map((c) => c.type.kind),
    ['INTEGER', 'INTEGER', 'BIGINT', 'DECIMAL', 'USMALLINT', 'DECIMAL'],
  );
  const got = await run('SELECT a - id AS y, d + id AS w FROM t WHERE a > 10 AND d > id', [
    { id: 300, a: 20, d: '18446744073709551615' },
  ]);
  assert.deepEqual(got, [{ y: -280, w: '18446744073709551915' }]); // DECIMAL: exact text
});

test('casts to and from unsigned types check the range', async () => {
  const got = await run(
    `SELECT CAST(id AS TINYINT UNSIGNED) AS a, CAST(d AS VARCHAR) AS s, CAST(d AS DOUBLE) AS f,
       CAST('4294967295' AS INT UNSIGNED) AS c, CAST(2.5 AS TINYINT UNSIGNED) AS r, CAST(c AS BIGINT) AS b FROM t`,
    [{ id: 7, c: 4000000000, d: '18446744073709551615' }],
  );
  assert.deepEqual(got, [
    { a: 7, s: '18446744073709551615', f: 18446744073709552000, c: 4294967295, r: 3, b: 4000000000 },
  ]);
  await assert.rejects(
    run('SELECT CAST(id AS TINYINT UNSIGNED) AS a FROM t', [{ id: -1, d: 0 }]),
    isErr('SqlRuntimeError', /tinyint unsigned out of range/),
  );
  await assert.rejects(
    run('SELECT CAST(d AS BIGINT) AS a FROM t', [{ d: '9223372036854775808' }]),
    isErr('SqlRuntimeError', /bigint out of range/),
  );
});

test('aggregates over unsigned columns: SUM, AVG/MIN/MAX/BIT_* keep the type', async () => {
  const got = await run(
    `SELECT SUM(c) AS s, AVG(a) AS av, MIN(d) AS mn, MAX(d) AS mx, BIT_OR(a) AS bo, BIT_AND(d) AS ba,
       ARG_MAX(id, d) AS am, COUNTIF(a > 100) AS ci FROM t`,
    [
      { id: 1, a: 200, c: 4294967295, d: '18446744073709551615' },
      { id: 2, a: 15, c: 0, d: '9223372036854775808' },
    ],
  );
  assert.deepEqual(got, [
    {
      s: 4294967295,
      av: 107,
      mn: '9223372036854775808',
      mx: '18446744073709551615',
      bo: 207,
      ba: '9223372036854775808',
      am: 1,
      ci: 1,
    },
  ]);
});
