/**
 * A column named `binary` (src/sql/binary-ident-syntax.ts): Feldera accepts it as a column name, in
 * expressions and as an alias, while `BINARY` / `BINARY(n)` in type positions stays the type; error positions
 * are those of the text as written.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';

test('a column named binary: declared, selected, filtered, cast, ordered, aliased', async () => {
  const p = await compileProgram(`
    CREATE TABLE t (id INT, binary BINARY(4), vb VARBINARY, b2 BINARY);
    CREATE MATERIALIZED VIEW v AS SELECT id, binary AS raw, CAST(binary AS VARIANT) AS bv, t.binary AS q,
      CAST(vb AS BINARY(2)) AS binary2, CAST(b2 AS VARBINARY) AS binary
    FROM t WHERE binary IS NOT NULL AND (binary = x'0c1620' OR id > 1);
    CREATE MATERIALIZED VIEW w AS SELECT binary, COUNT(*) AS n FROM t GROUP BY binary;`);
  const t = p.table('t') as TableSchema;
  assert.deepEqual(
    t.columns.map((c) => [c.name, c.type.kind]),
    [
      ['id', 'INTEGER'],
      ['binary', 'BINARY'],
      ['vb', 'VARBINARY'],
      ['b2', 'BINARY'],
    ],
  );
  const v = p.views.find((x) => x.name === 'v');
  assert.deepEqual(
    v?.columns.map((c) => c.name),
    ['id', 'raw', 'bv', 'q', 'binary2', 'binary'],
  );
  const c = p.instantiate();
  const rows = [
    { id: 0, binary: [12, 22, 32], vb: [1, 2, 3], b2: [9] },
    { id: 1, binary: [1], vb: null, b2: null },
    { id: 2, binary: null, vb: null, b2: null },
  ];
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: [1, 1, 1] }]]));
  const got = c.contents('v').rows.map((r) => Object.values(rowToJson(v?.columns ?? [], r)));
  assert.deepEqual(got, [[0, [12, 22, 32], '[12,22,32]', [12, 22, 32], [1, 2], [9]]]);
  assert.equal(c.contents('w').rows.length, 3);
});

test('a syntax error after a rewritten binary is reported where it is without the rewrite', async () => {
  const at = async (sql: string) => {
    try {
      await compileProgram(sql);
    } catch (e) {
      assert.ok(isServiceError(e));
      assert.equal(e.errorCode, 'SqlSyntaxError');
      return e.details;
    }
    assert.fail('expected a syntax error');
  };
  const tail = ' FROM t WHERE ;';
  assert.deepEqual(
    await at(`CREATE TABLE t (binary BINARY(4));\nCREATE VIEW v AS SELECT binary${tail}`),
    await at(`CREATE TABLE t (bbbbbb BINARY(4));\nCREATE VIEW v AS SELECT bbbbbb${tail}`),
  );
});
