/**
 * Feldera compares a REAL with an exact number (integer or DECIMAL) as two REALs (src/sql/expr.ts
 * `realOperands`): `=`, `<>`, `<`, ..., CASE x WHEN, IN, IS [NOT] DISTINCT FROM, NULLIF. A deliberate difference
 * from Postgres, which widens both to DOUBLE (checked against PGlite); REAL with DOUBLE still compares as DOUBLE.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;

async function run(select: string, rows: Rec[]): Promise<Rec[]> {
  const p = await compileProgram(
    `CREATE TABLE t (id INT, r REAL, d DOUBLE); CREATE MATERIALIZED VIEW v AS SELECT ${select} FROM t;`,
  );
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((x) => rowFromJson(t, x)), weights: rows.map(() => 1) }]]));
  const cols = p.views[0]?.columns ?? [];
  return c
    .contents('v')
    .rows.map((x) => rowToJson(cols, x as Row) as Rec)
    .sort((a, b) => (a.id as number) - (b.id as number));
}

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
});
after(async () => {
  await pg.close();
});

test('a REAL meets an exact number as a REAL in every comparison form', async () => {
  const got = await run(
    `id, r = -57681.18 AS eq, r <> -57681.18 AS ne, r >= -57681.18 AS ge, r < -57681.18 AS lt,
     CASE r WHEN -57681.18 THEN 'hit' ELSE 'miss' END AS cw, r IN (1, -57681.18) AS i, r NOT IN (-57681.18) AS ni,
     r IS NOT DISTINCT FROM -57681.18 AS nd, NULLIF(r, -57681.18) AS nf, r = 3 AS three, 3 = r AS three2,
     r = CAST(-57681.18 AS DOUBLE) AS dbl`,
    [
      { id: 1, r: -57681.18 },
      { id: 2, r: 3 },
      { id: 3, r: null },
    ],
  );
  assert.deepEqual(got, [
    {
      id: 1,
      eq: true,
      ne: false,
      ge: true,
      lt: false,
      cw: 'hit',
      i: true,
      ni: false,
      nd: true,
      nf: null,
      three: false,
      three2: false,
      dbl: false, // REAL with DOUBLE: widened, as in Postgres
    },
    {
      id: 2,
      eq: false,
      ne: true,
      ge: true,
      lt: false,
      cw: 'miss',
      i: false,
      ni: true,
      nd: false,
      nf: 3,
      three: true,
      three2: true,
      dbl: false,
    },
    {
      id: 3,
      eq: null,
      ne: null,
      ge: null,
      lt: null,
      cw: 'miss',
      i: null,
      ni: null,
      nd: false,
      nf: null,
      three: null,
      three2: null,
      dbl: null,
    },
  ]);
});

test('deliberate difference: Postgres compares REAL -57681.18 with the literal -57681.18 as DOUBLE (FALSE)', async () => {
  const r = await pg.query<Rec>(
    `SELECT CAST(-57681.18 AS REAL) = -57681.18 AS eq, CAST(-57681.18 AS REAL) IN (-57681.18) AS i`,
  );
  assert.deepEqual(r.rows[0], { eq: false, i: false });
  const [mine] = await run('id, r = -57681.18 AS eq, r IN (-57681.18) AS i', [{ id: 1, r: -57681.18 }]);
  assert.deepEqual(mine, { id: 1, eq: true, i: true });
});
