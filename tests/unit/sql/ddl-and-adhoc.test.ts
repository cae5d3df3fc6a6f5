/**
 * Every DDL type of the issue end to end (declared, ingested from JSON, printed as Postgres prints it), WITH
 * properties kept in the schema, and ad-hoc queries with ORDER BY (NULL placement), LIMIT and OFFSET.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, formatValue, rowFromJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Value } from '../../../src/zset/value.ts';

const SQL = `CREATE TABLE t (
  b BOOLEAN, ti TINYINT, si SMALLINT, i INT NOT NULL PRIMARY KEY, bi BIGINT, r REAL, d DOUBLE,
  dec DECIMAL(8, 3), vc VARCHAR(5), c CHAR(4), tx TEXT, st STRING, dt DATE, tm TIME, ts TIMESTAMP
) WITH ('materialized' = 'true', 'append_only' = 'false', 'connectors' = '[]');
CREATE MATERIALIZED VIEW v AS SELECT * FROM t;
CREATE LOCAL VIEW l AS SELECT i FROM t;`;

test('every DDL type round-trips from JSON to Postgres text output', async () => {
  const p = await compileProgram(SQL);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  assert.deepEqual(
    t.columns.map((col) => col.type.kind),
    [
      'BOOLEAN',
      'TINYINT',
      'SMALLINT',
      'INTEGER',
      'BIGINT',
      'REAL',
      'DOUBLE',
      'DECIMAL',
      'VARCHAR',
      'CHAR',
      'VARCHAR',
      'VARCHAR',
      'DATE',
      'TIME',
      'TIMESTAMP',
    ],
  );
  assert.deepEqual(Object.keys(t.properties).sort(), ['append_only', 'connectors', 'materialized']);
  assert.equal(t.materialized, true);
  assert.deepEqual(
    p.outputs.map((v) => v.name),
    ['v'],
    'LOCAL views are not outputs',
  );
  const row = rowFromJson(t, {
    b: true,
    ti: -128,
    si: 32767,
    i: 1,
    bi: '9223372036854775807',
    r: 1.5,
    d: 0.1,
    dec: '12.5',
    vc: 'hello',
    c: 'ab',
    tx: 'text',
    st: 'str',
    dt: '2026-02-28',
    tm: '23:59:59.5',
    ts: '2026-02-28 12:00:00.123456',
  });
  c.step({ t: { rows: [row], weights: [1] } });
  const v = c.contents('v');
  const cols = (p.views.find((x) => x.name === 'v') as (typeof p.views)[number]).columns;
  assert.deepEqual(
    (v.rows[0] as Value[]).map((x, j) => formatValue(x, (cols[j] as (typeof cols)[number]).type)),
    [
      't',
      '-128',
      '32767',
      '1',
      '9223372036854775807',
      '1.5',
      '0.1',
      '12.500',
      'hello',
      'ab  ',
      'text',
      'str',
      '2026-02-28',
      '23:59:59.5',
      '2026-02-28 12:00:00.123456',
    ],
  );
  assert.throws(
    () => rowFromJson(t, { i: 2, ti: 200 }),
    (e) => isServiceError(e, 'InvalidRecord') && /ti/.test(e.message),
  );
  assert.throws(
    () => rowFromJson(t, { i: 2, vc: 'toolong' }),
    (e) => isServiceError(e, 'InvalidRecord'),
  );
  assert.throws(
    () => rowFromJson(t, { i: 2, dec: '123456.7' }),
    (e) => isServiceError(e, 'InvalidRecord'),
  );
});

test('ad-hoc queries: ORDER BY with NULL placement, LIMIT, OFFSET; only materialized relations', async () => {
  const p = await compileProgram(`CREATE TABLE s (k INT NOT NULL PRIMARY KEY, x INT);
    CREATE VIEW nv AS SELECT k FROM s;
    CREATE MATERIALIZED VIEW mv AS SELECT k, x FROM s;`);
  const c = p.instantiate();
  c.step({
    s: {
      rows: [
        [1, 30],
        [2, null],
        [3, 10],
        [4, 20],
      ],
      weights: [1, 1, 1, 1],
    },
  });
  const q = async (sql: string) => (await c.query(sql)).rows.map((r) => r[0]);
  assert.deepEqual(await q('SELECT k FROM mv ORDER BY x'), [3, 4, 1, 2], 'NULLS LAST when ascending');
  assert.deepEqual(await q('SELECT k FROM mv ORDER BY x DESC'), [2, 1, 4, 3], 'NULLS FIRST when descending');
  assert.deepEqual(await q('SELECT k FROM mv ORDER BY x NULLS FIRST LIMIT 2'), [2, 3]);
  assert.deepEqual(await q('SELECT k FROM s ORDER BY 1 DESC LIMIT 2 OFFSET 1'), [3, 2]);
  assert.deepEqual(await q('SELECT COUNT(*) FROM s WHERE x > 15'), [2n]);
  assert.deepEqual(
    await q('SELECT a.k FROM mv a JOIN mv b ON a.k = b.k + 1 ORDER BY a.k'),
    [2, 3, 4],
    'a self-join reads the relation once',
  );
  assert.deepEqual(await q('SELECT x > 15 AS big FROM mv GROUP BY x > 15 ORDER BY COUNT(*) DESC, 1'), [
    true,
    false,
    null,
  ]);
  assert.equal(
    (await c.query('SELECT k FROM mv ORDER BY x')).columns.length,
    1,
    'hidden sort columns are not returned',
  );
  await assert.rejects(
    c.query('SELECT k FROM nv'),
    (e) => isServiceError(e, 'AdHocQueryError') && /not materialized/.test(e.message),
  );
  await assert.rejects(c.query('SELECT nope FROM mv'), (e) => isServiceError(e, 'AdHocQueryError'));
  await assert.rejects(c.query('SELECT 1; SELECT 2'), (e) => isServiceError(e, 'AdHocQueryError'));
});

test('an empty program (no text, whitespace or comments only) compiles to an empty circuit, as in Feldera', async () => {
  for (const sql of ['', ' \n\t', '-- nothing yet\n', '/* later */']) {
    const p = await compileProgram(sql);
    assert.deepEqual([p.tables.length, p.views.length], [0, 0], JSON.stringify(sql));
    const c = p.instantiate();
    assert.equal(c.step(new Map()).size, 0);
  }
});

test("program_info names unnamed connectors by their index in the list, as Feldera does ('t.unnamed-1', 't.unnamed-3')", async () => {
  const { programInfo } = await import('../../../src/sql/program-info.ts');
  const gen = { transport: { name: 'datagen', config: { plan: [{ limit: 0 }] } } };
  const list = JSON.stringify([{ name: 'a', ...gen }, gen, { name: 'b', ...gen }, gen]);
  const p = await compileProgram(`CREATE TABLE t (x INT) WITH ('connectors' = '${list}');`);
  const info = programInfo(p) as { input_connectors: Record<string, unknown> };
  assert.deepEqual(Object.keys(info.input_connectors).sort(), ['t.a', 't.b', 't.unnamed-1', 't.unnamed-3']);
});
