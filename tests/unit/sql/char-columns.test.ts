/**
 * A table column declared `CHAR` without a length keeps input strings whole (Feldera), while `CAST(x AS CHAR)`
 * is `CHAR(1)` and a column declared `CHAR(n)` still refuses longer input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import { rowFromJson } from '../../../src/sql/records.ts';

test('a bare CHAR column holds strings of any length; CAST(x AS CHAR) keeps one character', async () => {
  const p = await compileProgram(`CREATE TABLE t (c CHAR, d CHAR(3));
CREATE MATERIALIZED VIEW v AS SELECT c, CAST(c AS CHAR) AS c1 FROM t;`);
  assert.equal(p.table('t')?.columns[0]?.type.length, null);
  assert.equal(p.table('t')?.columns[1]?.type.length, 3);
  const c = p.instantiate();
  c.step(new Map([['t', { rows: [['bye bye, friend!!', 'abc']], weights: [1] }]]));
  assert.deepEqual(c.contents('v').rows, [['bye bye, friend!!', 'b']]);
});

test('JSON input: a bare CHAR column takes a long string; CHAR(3) refuses one with InvalidRecord', async () => {
  const p = await compileProgram('CREATE TABLE t (c CHAR, d CHAR(3));');
  const t = p.table('t');
  assert.ok(t);
  assert.deepEqual(rowFromJson(t, { c: 'see you later', d: 'abc' }), ['see you later', 'abc']);
  assert.throws(
    () => rowFromJson(t, { c: 'x', d: 'abcd' }),
    (e: unknown) => isServiceError(e, 'InvalidRecord'),
  );
});
