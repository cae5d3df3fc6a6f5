/**
 * String-literal select aliases (`AS 'day'`, Calcite's form used by Feldera's Nexmark q15-q17;
 * src/sql/string-alias-syntax.ts): the column gets the literal's text as its (case-kept) name, while a
 * function body `AS 'text'` and string literals elsewhere stay strings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';

test("AS 'name' names a column; a CREATE FUNCTION body AS 'text' stays a string", async () => {
  const p = await compileProgram(`
    CREATE TABLE t (x INT);
    CREATE FUNCTION greet() RETURNS VARCHAR AS 'hi';
    CREATE MATERIALIZED VIEW v AS SELECT x AS 'Day', 'lit' AS "s", greet() AS 'g', (SELECT 1 AS 'one') AS o FROM t;`);
  const v = p.views.find((x) => x.name === 'v');
  assert.deepEqual(
    v?.columns.map((c) => c.name),
    ['Day', 's', 'g', 'o'],
  );
  const c = p.instantiate();
  c.step(new Map([['t', { rows: [rowFromJson(p.table('t') as TableSchema, { x: 7 })], weights: [1] }]]));
  const row = c.contents('v').rows[0];
  assert.deepEqual(rowToJson(v?.columns ?? [], row ?? []), { Day: 7, s: 'lit', g: 'hi', o: 1 });
});
