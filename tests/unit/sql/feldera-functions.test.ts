/**
 * Feldera's functions and results where they differ from Postgres or Postgres lacks them (README: deliberate
 * differences): LAG/LEAD over an unordered window, ROUND of a float keeping its type, ACOSH's last digit, the
 * shortest digits of a float text on the edge of its rounding interval.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { felderaDoubleText } from '../../../src/sql/values/float-text.ts';
import type { Row } from '../../../src/zset/value.ts';

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
    types: cols.map((x) => x.type.kind),
  };
}

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
