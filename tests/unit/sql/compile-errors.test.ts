/**
 * Golden tests for SQL compile errors: each program must fail with the pinned error code and message (line,
 * column, offending name). Regenerate after an intended change with `UPDATE_GOLDEN=1 npm run test:only`.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram } from '../../../src/sql/program.ts';

const GOLDEN = join(resolve(import.meta.dirname, '../../golden/sql-compile-errors'), 'errors.json');

const T = 'CREATE TABLE t (a INT NOT NULL, b VARCHAR, d DATE, x DECIMAL(10,2));\n';
const U = 'CREATE TABLE u (a INT, c DOUBLE);\n';

export const CASES: Record<string, string> = {
  syntax: `${T}CREATE VIEW v AS SELEC a FROM t;`,
  syntax_end: `${T}CREATE VIEW v AS SELECT a FROM t WHERE`,
  unknown_table: `${T}CREATE VIEW v AS SELECT a FROM nope;`,
  unknown_column: `${T}CREATE VIEW v AS\n  SELECT a, zz FROM t;`,
  unknown_qualifier: `${T}CREATE VIEW v AS SELECT q.a FROM t;`,
  ambiguous_column: `${T}${U}CREATE VIEW v AS SELECT a FROM t JOIN u ON t.a = u.a;`,
  not_grouped: `${T}CREATE VIEW v AS SELECT a, b, COUNT(*) FROM t GROUP BY a;`,
  aggregate_in_where: `${T}CREATE VIEW v AS SELECT a FROM t WHERE COUNT(*) > 1;`,
  nested_aggregate: `${T}CREATE VIEW v AS SELECT SUM(COUNT(a)) FROM t;`,
  type_mismatch_compare: `${T}CREATE VIEW v AS SELECT a FROM t WHERE d = 5;`,
  type_mismatch_arith: `${T}CREATE VIEW v AS SELECT b + 1 FROM t;`,
  bad_literal_cast: `${T}CREATE VIEW v AS SELECT a FROM t WHERE d > 'not a date';`,
  sum_of_varchar: `${T}CREATE VIEW v AS SELECT SUM(b) FROM t;`,
  where_not_boolean: `${T}CREATE VIEW v AS SELECT a FROM t WHERE a;`,
  union_arity: `${T}CREATE VIEW v AS SELECT a FROM t UNION SELECT a, b FROM t;`,
  union_types: `${T}CREATE VIEW v AS SELECT d FROM t UNION SELECT a FROM t;`,
  duplicate_relation: `${T}CREATE TABLE t (z INT);`,
  duplicate_column: 'CREATE TABLE t (a INT, a INT);',
  duplicate_view_column: `${T}CREATE VIEW v (a, a) AS SELECT a, b FROM t;`,
  unknown_type: 'CREATE TABLE t (a MONEY);',
  array_slice: 'CREATE TABLE t (a INT ARRAY); CREATE VIEW v AS SELECT a[1:2] AS s FROM t;',
  subscript_not_array: `${T}CREATE VIEW v AS SELECT a[1] AS s FROM t;`,
  no_such_field: 'CREATE TABLE t (r ROW(x INT, y INT)); CREATE VIEW v AS SELECT t.r.z FROM t;',
  pk_unknown_column: 'CREATE TABLE t (a INT, PRIMARY KEY (z));',
  unsupported_subquery_expr: `${T}CREATE VIEW v AS SELECT a FROM t WHERE a > ALL (SELECT a FROM t);`,
  unsupported_window: `${T}CREATE VIEW v AS SELECT SUM(a) OVER (PARTITION BY a), COUNT(*) OVER (PARTITION BY b), t.a FROM t;`,
  unsupported_function: `${T}CREATE VIEW v AS SELECT xxhash(b) FROM t;`,
  unsupported_statement: `${T}INSERT INTO t VALUES (1, 'x', NULL, 1.0);`,
  unsupported_order_by: `${T}CREATE VIEW v AS SELECT a FROM t ORDER BY a LIMIT a;`,
  unsupported_using: `${T}${U}CREATE VIEW v AS SELECT t.a FROM t FULL JOIN u USING (a);`,
  unsupported_cte: `${T}CREATE VIEW v AS WITH RECURSIVE w AS (SELECT a FROM t) SELECT a FROM w;`,
  unknown_property: "CREATE TABLE t (a INT) WITH ('materialised' = 'true');",
  bad_property_value: "CREATE TABLE t (a INT) WITH ('materialized' = 'yes');",
  connectors_not_json: "CREATE TABLE t (a INT) WITH ('connectors' = '[{bad');",
  connectors_not_array: `CREATE TABLE t (a INT) WITH ('connectors' = '{"name": "x"}');`,
  bad_decimal: 'CREATE TABLE t (a DECIMAL(5, 7));',
  group_by_non_integer_constant: `${T}CREATE VIEW v AS SELECT COUNT(*) FROM t GROUP BY 100.001;`,
  view_over_unknown_view: `${T}CREATE VIEW v AS SELECT a FROM w;\nCREATE VIEW w AS SELECT a FROM t;`,
};

function outcome(e: unknown): { error_code: string; message: string } {
  if (!isServiceError(e)) throw e;
  return { error_code: e.errorCode, message: e.message };
}

test('SQL compile errors match the golden file', async () => {
  const actual: Record<string, { error_code: string; message: string }> = {};
  for (const [name, sql] of Object.entries(CASES)) {
    try {
      await compileProgram(sql);
      actual[name] = { error_code: 'NONE', message: 'compiled without error' };
    } catch (e) {
      actual[name] = outcome(e);
    }
  }
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, `${JSON.stringify(actual, null, 2)}\n`);
  const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as typeof actual;
  for (const name of Object.keys(CASES)) {
    assert.notEqual(actual[name]?.error_code, 'NONE', `${name} must fail to compile`);
    assert.deepEqual(actual[name], golden[name], `case ${name}`);
  }
  assert.deepEqual(Object.keys(golden).sort(), Object.keys(CASES).sort());
});

test('error messages never contain stack traces', async () => {
  for (const sql of Object.values(CASES)) {
    try {
      await compileProgram(sql);
    } catch (e) {
      assert.doesNotMatch((e as Error).message, /\n\s+at /);
    }
  }
});
