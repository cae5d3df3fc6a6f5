/**
 * A VARIANT remembers the SQL type of what it holds (src/sql/values/variant-types.ts), as Feldera's tagged
 * VARIANT does: a REAL cast to VARIANT and back to DOUBLE widens the REAL's own single-precision value, bytes
 * cast back to BINARY/VARBINARY (BINARY(n) padded), a JSON integer read into a VARIANT column is a BIGINT
 * UNSIGNED (or BIGINT when negative), TYPEOF names the type, and the type survives a checkpoint.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { deserialize, serialize, Variant } from '../../../src/sql/values/collections.ts';
import { variantTypeOf } from '../../../src/sql/values/variant-types.ts';

type Rec = Record<string, unknown>;

async function run(sql: string, rows: Rec[]): Promise<Rec[]> {
  const p = await compileProgram(sql);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((v) => v.name === 'v')?.columns ?? [];
  return c
    .contents('v')
    .rows.map((r) => rowToJson(cols, r))
    .sort((a, b) => Number(a.id) - Number(b.id));
}

test('REAL → VARIANT → DOUBLE widens the REAL (57681.18 → 57681.1796875); TYPEOF says REAL', async () => {
  const got = await run(
    `CREATE TABLE t (id INT, r REAL, d DOUBLE, ti TINYINT, ub BIGINT UNSIGNED);
     CREATE MATERIALIZED VIEW v AS SELECT id,
       CAST(CAST(CAST(r AS VARIANT) AS DOUBLE) AS VARCHAR) AS r_dbl,
       CAST(CAST(CAST(d AS VARIANT) AS REAL) AS VARCHAR) AS d_real,
       TO_JSON(CAST(r AS VARIANT)) AS r_text,
       TYPEOF(CAST(r AS VARIANT)) AS tr, TYPEOF(CAST(d AS VARIANT)) AS td,
       TYPEOF(CAST(ti AS VARIANT)) AS tti, TYPEOF(CAST(ub AS VARIANT)) AS tub,
       CAST(r AS VARIANT) = CAST(CAST(r AS DOUBLE) AS VARIANT) AS same
     FROM t;`,
    [{ id: 0, r: 57681.18, d: -38.2711234601246, ti: 3, ub: 4 }],
  );
  assert.deepEqual(got, [
    {
      id: 0,
      r_dbl: '57681.1796875',
      d_real: '-38.271122',
      r_text: '57681.18',
      tr: 'REAL',
      td: 'DOUBLE',
      tti: 'TINYINT',
      tub: 'BIGINT UNSIGNED',
      same: false,
    },
  ]);
});

test('bytes → VARIANT → BINARY(4) / VARBINARY; the VARIANT prints as a byte array; a JSON array is not bytes', async () => {
  const got = await run(
    `CREATE TABLE t (id INT, b BINARY(4), vb VARBINARY, j VARIANT);
     CREATE MATERIALIZED VIEW v AS SELECT id, CAST(b AS VARIANT) AS bv,
       CAST(CAST(b AS VARIANT) AS BINARY(4)) AS b4, CAST(CAST(b AS VARIANT) AS VARBINARY) AS bvb,
       CAST(CAST(vb AS VARIANT) AS BINARY(4)) AS vb4, TYPEOF(CAST(vb AS VARIANT)) AS tvb,
       CAST(j AS VARBINARY) AS jb
     FROM t;`,
    [
      { id: 0, b: [12, 22, 32], vb: [23, 56, 33, 21], j: [1, 2] },
      { id: 1, b: null, vb: null, j: null },
    ],
  );
  assert.deepEqual(got, [
    {
      id: 0,
      bv: '[12,22,32]',
      b4: [12, 22, 32, 0],
      bvb: [12, 22, 32],
      vb4: [23, 56, 33, 21],
      tvb: 'BINARY',
      jb: null,
    },
    { id: 1, bv: 'null', b4: null, bvb: null, vb4: null, tvb: 'VARIANT', jb: null },
  ]);
});

test('a JSON integer in a VARIANT column is BIGINT UNSIGNED (negative: BIGINT); fractions DECIMAL', async () => {
  const got = await run(
    `CREATE TABLE t (id INT, j VARIANT);
     CREATE MATERIALIZED VIEW v AS SELECT id, TYPEOF(j) AS tj, TYPEOF(j[1]) AS t1, CAST(j[1] AS INT) AS i1,
       TYPEOF(PARSE_JSON('8')) AS tp, TO_JSON(j) AS back
     FROM t;`,
    [
      { id: 0, j: 8 },
      { id: 1, j: [-3] },
      { id: 2, j: [2.5] },
    ],
  );
  assert.deepEqual(
    got.map((r) => [r.tj, r.t1, r.i1, r.tp, r.back]),
    [
      ['BIGINT UNSIGNED', 'NULL', null, 'BIGINT UNSIGNED', '8'],
      ['ARRAY', 'BIGINT', -3, 'BIGINT UNSIGNED', '[-3]'],
      ['ARRAY', 'DECIMAL', 2, 'BIGINT UNSIGNED', '[2.5]'],
    ],
  );
});

test('the remembered type is part of the value and survives checkpoint serialization', () => {
  const real = new Variant(1.5, 'REAL');
  const plain = new Variant(1.5);
  assert.notEqual(real.hashKey(), plain.hashKey());
  const back = deserialize(serialize(new Variant(real))) as Variant;
  assert.equal((back.value as Variant).type, 'REAL');
  assert.equal(variantTypeOf(back.value as Variant), 'REAL');
  assert.equal((deserialize(serialize(plain)) as Variant).type, undefined);
});
