/**
 * Column DEFAULT values (src/sql/column-defaults.ts) and CONNECTOR_METADATA() (connector-metadata-syntax.ts,
 * functions/connector-metadata.ts): a JSON record that does not mention a column gets its default, one that
 * sets it to null keeps the null; defaults are typed constants checked at compile time; CONNECTOR_METADATA()
 * parses with a subscript after it, is NULL (no connector attaches metadata) and is refused outside a DEFAULT;
 * changing a default changes the table's definition (program diff).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import { changedRelations, describeProgram } from '../../../src/sql/program-diff.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';

const SQL = `CREATE TABLE t (
  id INT NOT NULL,
  v VARCHAR DEFAULT 'none',
  n INT NOT NULL DEFAULT 5,
  d DECIMAL(6, 2) DEFAULT 1.5,
  b BIGINT DEFAULT 9007199254740993,
  topic VARCHAR DEFAULT CAST(CONNECTOR_METADATA()['kafka_topic'] AS VARCHAR),
  meta VARIANT DEFAULT CONNECTOR_METADATA()
);
CREATE MATERIALIZED VIEW m AS SELECT * FROM t;`;

test('a record without the column gets the DEFAULT; an explicit null stays null', async () => {
  const p = await compileProgram(SQL);
  const t = p.table('t') as TableSchema;
  assert.deepEqual(rowToJson(t.columns, rowFromJson(t, { id: 1 })), {
    id: 1,
    v: 'none',
    n: 5,
    d: 1.5,
    b: '9007199254740993',
    topic: null,
    meta: null,
  });
  assert.deepEqual(rowToJson(t.columns, rowFromJson(t, { id: 2, v: null, n: 7, d: null })), {
    id: 2,
    v: null,
    n: 7,
    d: null,
    b: '9007199254740993',
    topic: null,
    meta: null,
  });
  // a NOT NULL column with a default may be left out; set to null it is still refused
  assert.throws(() => rowFromJson(t, { id: 3, n: null }), /NOT NULL but the record sets it to null/);
  // through the circuit
  const c = p.instantiate();
  c.step(new Map([['t', { rows: [rowFromJson(t, { id: 1 })], weights: [1] }]]));
  const cols = p.views.find((x) => x.name === 'm')?.columns ?? [];
  assert.deepEqual(rowToJson(cols, c.contents('m').rows[0] ?? []).v, 'none');
});

test('refused: a non-constant default, a default of the wrong type, NULL for NOT NULL, CONNECTOR_METADATA() in a view', async () => {
  const err = async (sql: string) => {
    try {
      await compileProgram(sql);
    } catch (e) {
      assert.ok(isServiceError(e));
      return `${e.errorCode}: ${e.message}`;
    }
    assert.fail(`compiled: ${sql}`);
  };
  assert.match(
    await err('CREATE TABLE t (id INT, w INT DEFAULT id + 1);'),
    /SqlTypeError: .*must be a constant/,
  );
  assert.match(await err("CREATE TABLE t (id INT, w INT DEFAULT 'abc');"), /SqlTypeError/);
  assert.match(
    await err('CREATE TABLE t (id INT NOT NULL DEFAULT NULL);'),
    /SqlTypeError: .*NOT NULL column "id" is NULL/,
  );
  assert.match(
    await err('CREATE TABLE t (id INT); CREATE VIEW v AS SELECT CONNECTOR_METADATA() AS m FROM t;'),
    /SqlUnsupported: CONNECTOR_METADATA\(\) is only allowed in a table column's DEFAULT expression/,
  );
});

test('changing a DEFAULT modifies the table (and what reads it); the same default does not', async () => {
  const describe = async (sql: string) => describeProgram((await compileProgram(sql)).instantiate());
  const base = await describe(
    "CREATE TABLE t (id INT, v VARCHAR DEFAULT 'a'); CREATE VIEW w AS SELECT * FROM t;",
  );
  const same = await describe(
    "CREATE TABLE t (id INT, v VARCHAR DEFAULT 'a'); CREATE VIEW w AS SELECT * FROM t;",
  );
  const changed = await describe(
    "CREATE TABLE t (id INT, v VARCHAR DEFAULT 'b'); CREATE VIEW w AS SELECT * FROM t;",
  );
  assert.deepEqual([...changedRelations(base, same)], []);
  assert.deepEqual([...changedRelations(base, changed)].sort(), ['t', 'w']);
});
