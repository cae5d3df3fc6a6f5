/**
 * Feldera's functions, results and query forms where they differ from Postgres or Postgres lacks them
 * (README: deliberate differences): LAG/LEAD over an unordered window, ROUND of a float keeping its type, ACOSH's
 * last digit, float text on the edge of its rounding interval, SEQUENCE, SPLIT, TRANSFORM / ARRAY_EXISTS with
 * lambdas, constant interval division, CONCAT of bytes refused, LATERAL computed columns.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram } from '../../../src/sql/program.ts';
import { felderaDoubleText } from '../../../src/sql/values/float-text.ts';
import { view } from './view-of.ts';

test('LEAD/LAG OVER () order the rows by their argument, NULL first (then by the whole row)', async () => {
  const rows = [
    { id: 0, x: -12 },
    { id: 1, x: -1 },
    { id: 2, x: null },
  ];
  const ddl = 'CREATE TABLE t(id INT, x INT);';
  // order: NULL, -12, -1
  assert.deepEqual((await view(ddl, 'SELECT id, LEAD(x) OVER () AS n FROM t', rows)).rows, [
    { id: 0, n: -1 },
    { id: 1, n: null },
    { id: 2, n: -12 },
  ]);
  assert.deepEqual((await view(ddl, 'SELECT id, LAG(x) OVER () AS p FROM t', rows)).rows, [
    { id: 0, p: null },
    { id: 1, p: -12 },
    { id: 2, p: null },
  ]);
});

test('ROUND(float, digits) keeps REAL/DOUBLE (Postgres has only ROUND(numeric, int)); ACOSH as Feldera computes it', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, d DOUBLE, r REAL);',
    `SELECT ROUND(SECH(d), 10) AS s, CAST(ROUND(SECH(d), 10) AS VARCHAR) AS st, ROUND(r, 1) AS r1, ROUND(d, -1) AS tens,
       ROUND(CAST(d AS DECIMAL(10, 4)), 1) AS dec, CAST(ACOSH(d) AS VARCHAR) AS ac FROM t`,
    [{ id: 1, d: 14, r: -2.25 }],
  );
  assert.deepEqual(got.types, ['DOUBLE', 'VARCHAR', 'REAL', 'DOUBLE', 'DECIMAL', 'VARCHAR']);
  assert.deepEqual(got.rows, [
    { s: 0.0000016631, st: '1.6631e-6', r1: -2.3, tens: 10, dec: 14, ac: '3.3309265526412517' },
  ]);
});

test('a DOUBLE text takes a shorter digit string on the edge of the rounding interval when the mantissa is even', () => {
  // 2^54 + 4·k neighbours: -20888523318990552 has an even mantissa, so 16 digits (…55) read back to it
  assert.equal(felderaDoubleText(Math.sinh(-38.2711234601246)), '-2.088852331899055e16');
  assert.equal(felderaDoubleText(-20888523318990552), '-2.088852331899055e16');
  // its odd neighbour keeps 17 digits
  assert.equal(felderaDoubleText(-2.0888523318990548e16), '-2.0888523318990548e16');
});

test('SEQUENCE(start, end): integers inclusive, strings of digits read as INTEGER, empty when end < start', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, a INT, s VARCHAR, big BIGINT);',
    `SELECT id, SEQUENCE(a, 3) AS up, SEQUENCE(3, a) AS down, SEQUENCE(s, 16) AS fromtext, SEQUENCE(big, big + 1) AS wide FROM t`,
    [
      { id: 1, a: 1, s: '14', big: 5 },
      { id: 2, a: null, s: null, big: null },
    ],
  );
  assert.deepEqual(got.types, ['INTEGER', 'ARRAY', 'ARRAY', 'ARRAY', 'ARRAY']);
  assert.deepEqual(got.rows, [
    {
      id: 1,
      up: [1, 2, 3],
      down: [],
      fromtext: [14, 15, 16],
      wide: [5, 6],
    },
    { id: 2, up: null, down: null, fromtext: null, wide: null },
  ]);
  await assert.rejects(
    compileProgram('CREATE TABLE t(b BOOLEAN); CREATE VIEW v AS SELECT SEQUENCE(b, 2) AS x FROM t;'),
    /Cannot apply 'SEQUENCE' to arguments of type/,
  );
  const p = await compileProgram(
    'CREATE TABLE t(a BIGINT); CREATE MATERIALIZED VIEW v AS SELECT SEQUENCE(0, a) AS x FROM t;',
  );
  const c = p.instantiate();
  assert.throws(
    () => c.step(new Map([['t', { rows: [[100_000_000n]], weights: [1] }]])),
    /more than 10000000 elements/,
  );
});

test('SPLIT(s [, delimiter]): a VARCHAR array; other scalars split their text; rows are refused', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, s VARCHAR, d DECIMAL(6, 2), u UUID);',
    `SELECT id, SPLIT(s) AS comma, SPLIT(s, '') AS whole, SPLIT(d, '.') AS dec, SPLIT(u, '-') AS uid FROM t`,
    [
      { id: 1, s: 'a,b,,c', d: -1111.52, u: '42b8fec7-c7a3-4531-9611-4bde80f9cb4c' },
      { id: 2, s: '', d: null, u: null },
    ],
  );
  assert.deepEqual(got.rows, [
    {
      id: 1,
      comma: ['a', 'b', '', 'c'],
      whole: ['a,b,,c'],
      dec: ['-1111', '52'],
      uid: ['42b8fec7', 'c7a3', '4531', '9611', '4bde80f9cb4c'],
    },
    { id: 2, comma: [], whole: [], dec: null, uid: null },
  ]);
  await assert.rejects(
    compileProgram("CREATE TABLE t(r ROW(a INT)); CREATE VIEW v AS SELECT SPLIT(r, 'a') AS x FROM t;"),
    /Cannot apply 'SPLIT' to arguments of type/,
  );
});

test("TRANSFORM and ARRAY_EXISTS take a lambda: the element, the row's columns, NULL rules", async () => {
  const got = await view(
    'CREATE TABLE t(id INT, arr VARCHAR ARRAY, n INT ARRAY, k INT);',
    `SELECT id, TRANSFORM(arr, x -> UPPER(X)) AS up, TRANSFORM(n, x -> x * k) AS scaled,
       TRANSFORM(n, k -> k + 1) AS shadow, ARRAY_EXISTS(n, x -> x > k) AS big, ARRAY_EXISTS(n, x -> x = 2) AS two FROM t`,
    [
      { id: 1, arr: ['bye', null, 'hello '], n: [1, 2, 3], k: 2 },
      { id: 2, arr: [], n: [1, null], k: 5 },
      { id: 3, arr: null, n: null, k: 1 },
    ],
  );
  assert.deepEqual(got.rows, [
    { id: 1, up: ['BYE', null, 'HELLO '], scaled: [2, 4, 6], shadow: [2, 3, 4], big: true, two: true },
    // nothing TRUE, one NULL: NULL; nothing TRUE and no NULL: FALSE
    { id: 2, up: [], scaled: [5, null], shadow: [2, null], big: null, two: null },
    { id: 3, up: null, scaled: null, shadow: null, big: null, two: null },
  ]);
  await assert.rejects(
    compileProgram(
      'CREATE TABLE t(n INT ARRAY); CREATE VIEW v AS SELECT ARRAY_EXISTS(n, x -> x + 1) AS x FROM t;',
    ),
    /must be a condition/,
  );
  await assert.rejects(
    compileProgram('CREATE TABLE t(n INT); CREATE VIEW v AS SELECT TRANSFORM(n, x -> x) AS x FROM t;'),
    /needs an array/,
  );
});

test('a constant day-time interval ÷ a DECIMAL rounds its microseconds down; a column division cuts toward zero', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, s VARCHAR);',
    `SELECT CAST((INTERVAL '-980 04:00:00' DAY TO SECOND / 2.583) AS VARCHAR) AS folded,
       CAST((INTERVAL s SECOND) / 2.583 AS VARCHAR) AS col, CAST((INTERVAL '-2-8' YEAR TO MONTH / 2.583) AS VARCHAR) AS ym FROM t`,
    [{ id: 1, s: '-84686400' }],
  );
  assert.deepEqual(got.rows, [{ folded: '-379 11:14:22.717771', col: '-32786062.717770', ym: '-1-00' }]);
});

test('CONCAT of byte strings is refused as in Feldera (|| joins them)', async () => {
  await assert.rejects(
    compileProgram('CREATE TABLE t(b VARBINARY); CREATE VIEW v AS SELECT CONCAT(b, b) AS x FROM t;'),
    (e: Error & { errorCode?: string }) =>
      e.errorCode === 'SqlUnsupported' && /join byte strings with \|\|/.test(e.message),
  );
  const got = await view('CREATE TABLE t(id INT, b VARBINARY);', 'SELECT b || b AS x FROM t', [
    { id: 1, b: [1, 2] },
  ]);
  assert.deepEqual(got.rows, [{ x: [1, 2, 1, 2] }]);
});

test('LATERAL (SELECT ...) without FROM adds computed columns over the rows to its left; other LATERALs are refused', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, n INT, s VARCHAR);',
    `SELECT t.id, x.val, x.tag FROM t, LATERAL (SELECT t.n + 1 AS val, s || '!' AS tag) AS x`,
    [
      { id: 0, n: -12, s: 'a' },
      { id: 1, n: null, s: null },
    ],
  );
  assert.deepEqual(got.rows, [
    { id: 0, val: -11, tag: 'a!' },
    { id: 1, val: null, tag: null },
  ]);
  await assert.rejects(
    compileProgram(
      'CREATE TABLE t(n INT); CREATE VIEW v AS SELECT x.m FROM t, LATERAL (SELECT n AS m FROM t AS u) AS x;',
    ),
    (e: Error & { errorCode?: string }) =>
      e.errorCode === 'SqlUnsupported' && /LATERAL is supported for a SELECT without FROM/.test(e.message),
  );
});
