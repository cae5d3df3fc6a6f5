/**
 * Feldera's "Unused column" warnings (src/sql/unused-columns.ts): a table column no view reads is reported in
 * the compile report's messages as a warning (the program still compiles: status Success, exit code 0) and
 * flagged `unused` in program_info's schema; primary-key columns never are, and a `*`, `USING` or NATURAL join
 * reads what it names.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileReport } from '../../../src/sql/program-info.ts';

type Msg = {
  start_line_number: number;
  start_column: number;
  end_line_number: number;
  end_column: number;
  warning: boolean;
  error_type: string;
  message: string;
  snippet: string | null;
};

async function report(sql: string) {
  const r = await compileReport(sql);
  assert.equal(r.program_status, 'Success');
  const sc = r.program_error.sql_compilation as { exit_code: number; messages: Msg[] };
  assert.equal(sc.exit_code, 0);
  const inputs = (
    r.program_info as {
      schema: { inputs: Array<{ name: string; fields: Array<{ name: string; unused: boolean }> }> };
    }
  ).schema.inputs;
  const unused = Object.fromEntries(
    inputs.map((t) => [t.name, t.fields.filter((f) => f.unused).map((f) => f.name)]),
  );
  return { messages: sc.messages, unused };
}

test('an unread column is a warning at its declaration (name and type); the program compiles', async () => {
  const sql =
    'CREATE TABLE T (COL1 INT NOT NULL, COL2 DOUBLE, COL3 VARCHAR(10));\nCREATE VIEW V AS SELECT COL1 FROM T;';
  const { messages, unused } = await report(sql);
  assert.deepEqual(messages, [
    {
      start_line_number: 1,
      start_column: 36,
      end_line_number: 1,
      end_column: 46,
      warning: true,
      error_type: 'Unused column',
      message: "Column 'col2' of table 't' is unused",
      snippet: 'CREATE TABLE T (COL1 INT NOT NULL, COL2 DOUBLE, COL3 VARCHAR(10));',
    },
    {
      start_line_number: 1,
      start_column: 49,
      end_line_number: 1,
      end_column: 64,
      warning: true,
      error_type: 'Unused column',
      message: "Column 'col3' of table 't' is unused",
      snippet: 'CREATE TABLE T (COL1 INT NOT NULL, COL2 DOUBLE, COL3 VARCHAR(10));',
    },
  ]);
  assert.deepEqual(unused, { t: ['col2', 'col3'] });
});

test('what counts as read: any clause, subqueries, USING, *, t.*, NATURAL; primary keys never warn', async () => {
  const { messages, unused } = await report(`
    CREATE TABLE a (k INT NOT NULL PRIMARY KEY, x INT, y INT, z INT, w INT);
    CREATE TABLE b (k INT, v INT, q INT);
    CREATE TABLE c (m INT, n INT);
    CREATE TABLE d (m INT, o INT);
    CREATE TABLE e (p INT, r INT);
    CREATE TABLE f (s INT, "Quoted" INT);
    CREATE MATERIALIZED VIEW v1 AS SELECT SUM(x) AS sx FROM a WHERE y > (SELECT MAX(v) FROM b) GROUP BY z;
    CREATE VIEW v2 AS SELECT COUNT(*) AS n FROM a JOIN b USING (k);
    CREATE VIEW v3 AS SELECT * FROM c NATURAL JOIN d;
    CREATE LOCAL VIEW v4 AS SELECT e.* FROM e;
    CREATE VIEW v5 AS SELECT COUNT(*) AS n FROM f;`);
  assert.deepEqual(unused, { a: ['w'], b: ['q'], c: [], d: [], e: [], f: ['s', 'Quoted'] });
  assert.deepEqual(
    messages.map((m) => [m.warning, m.message]),
    [
      [true, "Column 'w' of table 'a' is unused"],
      [true, "Column 'q' of table 'b' is unused"],
      [true, "Column 's' of table 'f' is unused"],
      [true, "Column 'Quoted' of table 'f' is unused"],
    ],
  );
});

test('a table no view reads: every column but the key; a program without unused columns has no messages', async () => {
  const lone = await report('CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT, b VARCHAR);');
  assert.deepEqual(lone.unused, { t: ['a', 'b'] });
  const none = await report('CREATE TABLE t (a INT, b INT); CREATE VIEW v AS SELECT a + b AS s FROM t;');
  assert.deepEqual(none.messages, []);
  assert.deepEqual(none.unused, { t: [] });
});

test('SET FELDERA_IGNORE_WARNING_UNUSED_COLUMN = ON silences the warnings (the columns stay marked unused)', async () => {
  const body = 'CREATE TABLE t (a INT, b INT);\nCREATE VIEW v AS SELECT a FROM t;';
  const on = await report(`SET FELDERA_IGNORE_WARNING_UNUSED_COLUMN = ON;\n${body}`);
  assert.deepEqual(on.messages, []);
  assert.deepEqual(on.unused, { t: ['b'] });
  const off = await report(`SET FELDERA_IGNORE_WARNING_UNUSED_COLUMN = OFF;\n${body}`);
  assert.equal(off.messages.length, 1);
  assert.equal(off.messages[0]?.message, "Column 'b' of table 't' is unused");
});
