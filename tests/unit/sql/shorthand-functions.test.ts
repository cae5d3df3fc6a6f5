/**
 * Feldera's other spellings of existing operations: IFNULL (COALESCE), DATE_ADD / DATE_SUB (date ± interval),
 * DATEDIFF (TIMESTAMPDIFF), MAP_CONCAT, DIV_NULL (division, NULL for a zero divisor) and
 * GREATEST_IGNORE_NULLS / LEAST_IGNORE_NULLS — values from the
 * reference's examples and edge cases, with Postgres as the oracle where it agrees (COALESCE, date + whole
 * days or months, date - date, GREATEST/LEAST, which ignore NULLs in Postgres, integer a / NULLIF(b, 0)).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';
import { type Oracle, startOracle } from './values/pg-oracle.ts';

type Rec = Record<string, unknown>;

async function view(ddl: string, query: string, rows: Rec[]): Promise<{ rows: Rec[]; types: string[] }> {
  const p = await compileProgram(`${ddl} CREATE MATERIALIZED VIEW v AS ${query};`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((x) => rowFromJson(t, x)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  return {
    rows: c
      .contents('v')
      .rows.map((r) => rowToJson(cols, r as Row) as Rec)
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    types: cols.map((x) => `${x.type.kind}${x.type.nullable ? '' : ' NOT NULL'}`),
  };
}

async function compileError(query: string): Promise<{ code: string; message: string }> {
  try {
    await compileProgram(
      `CREATE TABLE t(id INT, d DATE, m MAP<VARCHAR, INT>, n MAP<VARCHAR, VARCHAR>); CREATE VIEW v AS ${query};`,
    );
  } catch (e) {
    const err = e as { code?: string; errorCode?: string; message: string };
    return { code: err.code ?? err.errorCode ?? '', message: err.message };
  }
  assert.fail(`expected ${query} to be refused`);
}

test('IFNULL(a, b) is COALESCE(a, b): same value and type', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, x INT, s VARCHAR);',
    `SELECT id, IFNULL(x, 7) AS i, IFNULL(s, 'none') AS s2, IFNULL(x, 2.5) AS dec, IFNULL(x, NULL) AS n FROM t`,
    [
      { id: 1, x: 3, s: 'a' },
      { id: 2, x: null, s: null },
    ],
  );
  assert.deepEqual(got.types, [
    'INTEGER',
    'INTEGER NOT NULL',
    'VARCHAR NOT NULL',
    'DECIMAL NOT NULL',
    'INTEGER',
  ]);
  assert.deepEqual(got.rows, [
    { id: 1, i: 3, s2: 'a', dec: 3, n: 3 },
    { id: 2, i: 7, s2: 'none', dec: 2.5, n: null },
  ]);
  const e = await compileError('SELECT IFNULL(id) FROM t');
  assert.equal(e.code, 'SqlTypeError');
  assert.match(e.message, /IFNULL takes 2 arguments/);
});

test('DATE_ADD / DATE_SUB: date ± interval, a day-time interval counted in whole days (rounded down)', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, d DATE);',
    `SELECT id, DATE_ADD(d, INTERVAL 3 DAYS) AS plus3, DATE_SUB(d, INTERVAL '25' HOUR) AS minus25h,
       DATE_ADD(d, INTERVAL 1 MONTH) AS month, DATE_SUB(d, INTERVAL '1-2' YEAR TO MONTH) AS ym,
       DATE_ADD('2020-02-28', INTERVAL 1 DAY) AS literal FROM t`,
    [
      { id: 1, d: '2020-01-31' },
      { id: 2, d: null },
    ],
  );
  assert.deepEqual(got.types, ['INTEGER', 'DATE', 'DATE', 'DATE', 'DATE', 'DATE NOT NULL']);
  assert.deepEqual(got.rows, [
    {
      id: 1,
      plus3: '2020-02-03',
      minus25h: '2020-01-30',
      month: '2020-02-29', // the month's last day
      ym: '2018-11-30',
      literal: '2020-02-29',
    },
    { id: 2, plus3: null, minus25h: null, month: null, ym: null, literal: '2020-02-29' },
  ]);
  const e = await compileError('SELECT DATE_ADD(d, 3) FROM t');
  assert.equal(e.code, 'SqlTypeError');
  assert.match(e.message, /DATE_ADD\(date, interval\) takes a DATE and an INTERVAL/);
  assert.match((await compileError('SELECT DATE_SUB(id, INTERVAL 1 DAY) FROM t')).message, /DATE_SUB/);
});

test('DATEDIFF(unit, a, b) is TIMESTAMPDIFF: whole units from a to b', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, a TIMESTAMP, b TIMESTAMP);',
    `SELECT id, DATEDIFF(DAY, a, b) AS days, DATEDIFF(MONTH, a, b) AS months, DATEDIFF(HOUR, a, b) AS hours,
       DATEDIFF(DAY, DATE '2020-01-01', DATE '2020-02-01') AS lit, TIMESTAMPDIFF(MONTH, a, b) AS same FROM t`,
    [
      { id: 1, a: '2020-01-31 10:00:00', b: '2020-03-30 09:00:00' },
      { id: 2, a: null, b: '2020-01-01 00:00:00' },
    ],
  );
  assert.deepEqual(got.types, ['INTEGER', 'INTEGER', 'INTEGER', 'INTEGER', 'INTEGER NOT NULL', 'INTEGER']);
  assert.deepEqual(got.rows, [
    { id: 1, days: 58, months: 1, hours: 1415, lit: 31, same: 1 },
    { id: 2, days: null, months: null, hours: null, lit: 31, same: null },
  ]);
  const e = await compileError('SELECT DATEDIFF(d, d) FROM t');
  assert.equal(e.code, 'SqlTypeError');
  assert.match(e.message, /DATEDIFF takes 3 arguments/);
});

test('MAP_CONCAT(m1, m2): the entries of both, m2 winning on a common key; NULL if either is NULL', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, m MAP<VARCHAR, INT>);',
    `SELECT id, MAP_CONCAT(MAP['x', 4], MAP['y', 2]) AS doc, MAP_CONCAT(m, MAP['b', 20, 'c', 30]) AS over,
       MAP_CONCAT(MAP['b', 20], m) AS under FROM t`,
    [
      { id: 1, m: { a: 1, b: 2 } },
      { id: 2, m: null },
    ],
  );
  assert.deepEqual(got.types, ['INTEGER', 'MAP NOT NULL', 'MAP', 'MAP']);
  assert.deepEqual(got.rows, [
    { id: 1, doc: { x: 4, y: 2 }, over: { a: 1, b: 20, c: 30 }, under: { a: 1, b: 2 } },
    { id: 2, doc: { x: 4, y: 2 }, over: null, under: null },
  ]);
  const e = await compileError('SELECT MAP_CONCAT(m, n) FROM t');
  assert.equal(e.code, 'SqlTypeError');
  assert.match(e.message, /MAP_CONCAT .*same key and value types/);
  assert.match(
    (await compileError('SELECT MAP_CONCAT(m, id) FROM t')).message,
    /both arguments must be MAPs/,
  );
});

test('DIV_NULL(a, b): a / b with its type, NULL when b is zero (where / fails or gives Infinity)', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, a INT, b INT, d DECIMAL(6, 2), f DOUBLE);',
    `SELECT id, DIV_NULL(a, b) AS i, DIV_NULL(d, CAST(b AS DECIMAL(4, 1))) AS dec, DIV_NULL(f, CAST(b AS DOUBLE)) AS dbl,
       DIV_NULL(INTERVAL '10' DAY, b) AS iv FROM t`,
    [
      { id: 1, a: -7, b: 2, d: 7.5, f: 1 },
      { id: 2, a: 7, b: 0, d: 7.5, f: 0 },
      { id: 3, a: null, b: 3, d: null, f: null },
      { id: 4, a: 1, b: null, d: 1, f: 1 },
    ],
  );
  assert.deepEqual(got.types, ['INTEGER', 'INTEGER', 'DECIMAL', 'DOUBLE', 'INTERVAL_DT']);
  assert.deepEqual(got.rows, [
    { id: 1, i: -3, dec: 3.75, dbl: 0.5, iv: 432000000000 },
    { id: 2, i: null, dec: null, dbl: null, iv: null }, // 0e0 / 0e0 too
    { id: 3, i: null, dec: null, dbl: null, iv: 288000000000 }, // 10 days / 3, in µs
    { id: 4, i: null, dec: null, dbl: null, iv: null },
  ]);
  // a zero divisor is no error, an overflow still is
  await assert.rejects(
    view('CREATE TABLE t(id INT, a INT, b INT);', 'SELECT DIV_NULL(a, b) AS q FROM t', [
      { id: 1, a: -2147483648, b: -1 },
    ]),
    (e: { errorCode?: string; message: string }) =>
      e.errorCode === 'SqlRuntimeError' && /integer out of range/.test(e.message),
  );
  assert.match((await compileError('SELECT DIV_NULL(id) FROM t')).message, /DIV_NULL takes 2 arguments/);
});

test('GREATEST_IGNORE_NULLS / LEAST_IGNORE_NULLS: NULLs ignored, NULL only when every argument is', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, x INT, y INT);',
    `SELECT id, GREATEST_IGNORE_NULLS(x, y, 5) AS g, LEAST_IGNORE_NULLS(x, y, 5) AS l,
       GREATEST_IGNORE_NULLS(x, y) AS g2, LEAST_IGNORE_NULLS(x, y) AS l2, GREATEST(x, y, 5) AS strictg FROM t`,
    [
      { id: 1, x: 9, y: null },
      { id: 2, x: null, y: null },
      { id: 3, x: 1, y: 3 },
    ],
  );
  assert.deepEqual(got.rows, [
    { id: 1, g: 9, l: 5, g2: 9, l2: 9, strictg: null },
    { id: 2, g: 5, l: 5, g2: null, l2: null, strictg: null },
    { id: 3, g: 5, l: 1, g2: 3, l2: 1, strictg: 5 },
  ]);
});

// ---------------------------------------------------------------------------------------------------------
// Postgres as the oracle where it agrees

let oracle: Oracle;
before(async () => {
  oracle = await startOracle();
});
after(async () => {
  await oracle.close();
});

test('oracle: IFNULL, DIV_NULL, DATE_ADD/DATE_SUB by whole days and months, DATEDIFF(DAY), *_IGNORE_NULLS agree with Postgres', async () => {
  const ints = [null, -3, 0, 7];
  const dates = ['2020-01-31', '2019-02-28', '2024-02-29', '1999-12-31'];
  const cases: { hf: string; pg: string }[] = [];
  const lit = (v: number | null) => (v === null ? 'CAST(NULL AS INT)' : `${v}`);
  for (const a of ints)
    for (const b of ints) {
      cases.push({ hf: `IFNULL(${lit(a)}, ${lit(b)})`, pg: `COALESCE(${lit(a)}, ${lit(b)})` });
      cases.push({ hf: `GREATEST_IGNORE_NULLS(${lit(a)}, ${lit(b)})`, pg: `GREATEST(${lit(a)}, ${lit(b)})` });
      cases.push({ hf: `LEAST_IGNORE_NULLS(${lit(a)}, ${lit(b)}, 1)`, pg: `LEAST(${lit(a)}, ${lit(b)}, 1)` });
      cases.push({ hf: `DIV_NULL(${lit(a)}, ${lit(b)})`, pg: `${lit(a)} / NULLIF(${lit(b)}, 0)` });
    }
  for (const d of dates) {
    for (const n of [1, 29, 366]) {
      cases.push({
        hf: `DATE_ADD(DATE '${d}', INTERVAL '${n}' DAY)`,
        pg: `(DATE '${d}' + INTERVAL '${n} days')::date`,
      });
      cases.push({
        hf: `DATE_SUB(DATE '${d}', INTERVAL '${n}' DAY)`,
        pg: `(DATE '${d}' - INTERVAL '${n} days')::date`,
      });
    }
    for (const n of [1, 13]) {
      cases.push({
        hf: `DATE_ADD(DATE '${d}', INTERVAL '${n}' MONTH)`,
        pg: `(DATE '${d}' + INTERVAL '${n} months')::date`,
      });
      cases.push({
        hf: `DATE_SUB(DATE '${d}', INTERVAL '${n}' MONTH)`,
        pg: `(DATE '${d}' - INTERVAL '${n} months')::date`,
      });
    }
    for (const e of dates)
      cases.push({ hf: `DATEDIFF(DAY, DATE '${d}', DATE '${e}')`, pg: `DATE '${e}' - DATE '${d}'` });
  }
  const got = await view(
    'CREATE TABLE t(id INT);',
    `SELECT ${cases.map((c, i) => `CAST(${c.hf} AS VARCHAR) AS c${i}`).join(', ')} FROM t`,
    [{ id: 1 }],
  );
  const row = got.rows[0] as Rec;
  const pg = await oracle.evalMany(cases.map((c) => c.pg));
  cases.forEach((c, i) => {
    const want = pg[i] as { value: string | null };
    assert.ok('value' in want, `Postgres refused ${c.pg}`);
    assert.equal(row[`c${i}`], want.value, `${c.hf} vs Postgres ${c.pg}`);
  });
});
