/**
 * Feldera's typing of array constructors that mix numbers with character strings (nested-expr.ts `arrayOf`):
 * a VARCHAR array whose numbers are each converted to their own text, as Feldera's illarg `arr_construct_legal`
 * case shows (`ARRAY(intt, decimall, reall, dbl, str)` = `['-12', '-1111.52', '-57681.18', ...]`). Postgres
 * refuses `ARRAY[1.5, 'a']` ('a' is not a numeric); README "deliberate differences".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { typeToSql } from '../../../src/sql/sql-type.ts';
import type { Row } from '../../../src/zset/value.ts';

const TABLE = 'CREATE TABLE t (i INT, d DECIMAL(6, 2), r REAL, f DOUBLE, s VARCHAR, dt DATE);';
const ROW = { i: -12, d: -1111.52, r: -57681.18, f: -38.2711234601246, s: 'hello ', dt: '2020-06-21' };

async function view(list: string): Promise<{ rec: Record<string, unknown>; types: string[] }> {
  const p = await compileProgram(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT ${list} FROM t;`);
  const c = p.instantiate();
  c.step(new Map([['t', { rows: [rowFromJson(p.table('t') as TableSchema, ROW)], weights: [1] }]]));
  const cols = p.views.find((v) => v.name === 'v')?.columns ?? [];
  const rec = rowToJson(cols, c.contents('v').rows[0] as Row) as Record<string, unknown>;
  return { rec, types: cols.map((c) => typeToSql(c.type)) };
}

test('numbers with strings make a VARCHAR array; each number keeps its own text', async () => {
  const { rec, types } = await view(`ARRAY(i, d, r, f, s) AS a, ARRAY[1.5, 'a'] AS b, ARRAY[i, NULL, s] AS c,
    ARRAY[f, 'x'] AS e`);
  assert.deepEqual(rec, {
    a: ['-12', '-1111.52', '-57681.18', '-38.2711234601246', 'hello '],
    b: ['1.5', 'a'],
    c: ['-12', null, 'hello '],
    e: ['-38.2711234601246', 'x'],
  });
  assert.match(types[0] as string, /^VARCHAR/);
  assert.match(types[2] as string, /^VARCHAR/);
});

test('other mixes keep the common-type rules: numbers widen, a date literal stays a DATE, date with number fails', async () => {
  const { rec } = await view(`ARRAY[i, d] AS a, ARRAY[dt, '2020-01-02'] AS b, ARRAY['p', s] AS c`);
  assert.deepEqual(rec, { a: [-12, -1111.52], b: ['2020-06-21', '2020-01-02'], c: ['p', 'hello '] });
  await assert.rejects(view('ARRAY[dt, i] AS x'), (e: unknown) => {
    assert.ok(isServiceError(e));
    assert.equal(e.errorCode, 'SqlTypeError');
    assert.match(e.message, /ARRAY types DATE and INTEGER cannot be matched/);
    return true;
  });
});
