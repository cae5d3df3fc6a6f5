/**
 * Feldera compares a REAL with an exact-number literal as two REALs (its illarg `case_val_when_reall_legal`
 * case: `CASE reall WHEN -57681.18 THEN 0 ...` matches a REAL column holding -57681.18), where Postgres widens
 * both to DOUBLE and the float4 value never equals the literal (README: deliberate differences).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';

test('a REAL column equals, and orders against, the literal it was written as', async () => {
  const p = await compileProgram(`CREATE TABLE t(id INT, r REAL, d DOUBLE);
    CREATE MATERIALIZED VIEW v AS SELECT id,
      CASE r WHEN -57681.18 THEN 0 WHEN -0.1234567 THEN 1 ELSE NULL END AS c,
      r = -57681.18 AS eq, -0.1234567 = r AS eq2, r <= 0.1 AS le, r IN (0.1, -0.1234567) AS isin,
      d = 0.1 AS deq FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  const rows = [
    { id: 0, r: -57681.18, d: 0.1 },
    { id: 1, r: -0.1234567, d: 0.2 },
    { id: 2, r: 0.1, d: null },
  ];
  c.step(new Map([['t', { rows: rows.map((x) => rowFromJson(t, x)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((v) => v.name === 'v')?.columns ?? [];
  const got = c
    .contents('v')
    .rows.map((row) => rowToJson(cols, row as Row) as Record<string, unknown>)
    .sort((a, b) => (a.id as number) - (b.id as number));
  assert.deepEqual(got, [
    { id: 0, c: 0, eq: true, eq2: false, le: true, isin: false, deq: true },
    { id: 1, c: 1, eq: false, eq2: true, le: true, isin: true, deq: false },
    { id: 2, c: null, eq: false, eq2: false, le: true, isin: true, deq: null },
  ]);
});
