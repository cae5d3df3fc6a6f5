/**
 * Oracle regressions: minimal cases the random oracle suite found (shrunk by hand from its reports), run
 * through the same harness (Holdfast vs Postgres after every step, atomic and split). Each stays here so the
 * discrepancy it caught cannot come back unnoticed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type {
  ColumnDef,
  GenType,
  GenValue,
  Op,
  OracleCase,
  Step,
  TableDef,
  ViewDef,
} from '../helpers/oracle/generate.ts';
import { report, runCase } from '../helpers/oracle/harness.ts';
import { PgOracle } from '../helpers/oracle/pg-oracle.ts';

let pg: PgOracle;
before(async () => {
  pg = await PgOracle.create();
});
after(async () => {
  await pg.close();
});

function table(
  name: string,
  cols: ReadonlyArray<readonly [string, GenType]>,
  primaryKey: string[] | null = null,
): TableDef {
  const columns: ColumnDef[] = cols.map(([n, type]) => ({
    name: n,
    type,
    notNull: primaryKey?.includes(n) ?? false,
    pool: [],
    bound: 0,
  }));
  return { name, columns, primaryKey };
}

function view(name: string, query: string, deps: string[]): ViewDef {
  return { name, kind: 'view', aliases: null, query, deps, columns: [] };
}

const ins = (t: string, values: Record<string, GenValue>): Op => ({ table: t, kind: 'insert', values });
const del = (t: string, values: Record<string, GenValue>): Op => ({ table: t, kind: 'delete', values });

async function check(tables: TableDef[], views: ViewDef[], steps: Step[]): Promise<void> {
  const c: OracleCase = { seed: 0, focus: 'mixed', tables, views, steps };
  const r = await runCase(pg, c);
  if (r.status === 'pg-error') assert.fail(r.message);
  if (r.status === 'fail')
    assert.fail(report(c, { case: c, failure: r.failure, attempts: 0 }).split('\n').slice(1).join('\n'));
}

test('GROUP BY an IN-list expression that the select list repeats', async () => {
  await check(
    [table('t', [['a', { kind: 'int8' }]])],
    [view('v', 'SELECT a IN (2, 3) AS c, COUNT(*) AS n FROM t GROUP BY a IN (2, 3)', ['t'])],
    [[ins('t', { a: 2n }), ins('t', { a: 5n })]],
  );
});

test('AVG over DECIMAL: the result scale follows the current inputs, not retracted ones', async () => {
  // Postgres: AVG of {1, 1, 2} = 1.3333333333333333; the retracted 5.00000000000000000000 must not leave its
  // scale behind (20 digits would give 1.33333333333333333333).
  await check(
    [table('t', [['x', { kind: 'decimal' }]])],
    [view('v', 'SELECT AVG(x) AS a, SUM(x) AS s FROM t', ['t'])],
    [
      [
        ins('t', { x: '1' }),
        ins('t', { x: '1' }),
        ins('t', { x: '2' }),
        ins('t', { x: '5.00000000000000000000' }),
      ],
      [del('t', { x: '5.00000000000000000000' })],
    ],
  );
});

test('AVG of grouped AVGs after a group value is replaced', async () => {
  await check(
    [
      table('t', [
        ['g', { kind: 'int4' }],
        ['x', { kind: 'int2' }],
      ]),
    ],
    [
      // (AVG of an integer is an integer in Holdfast, as in Feldera: averaged as DECIMAL to compare with Postgres)
      view('v3', 'SELECT g, AVG(CAST(x AS DECIMAL)) AS c FROM t GROUP BY g', ['t']),
      view('v4', 'SELECT AVG(c) AS a, COUNT(*) AS n FROM v3', ['v3']),
    ],
    [
      [
        ins('t', { g: 1, x: 4 }),
        ins('t', { g: 2, x: 0 }),
        ins('t', { g: 2, x: 5 }),
        ins('t', { g: 3, x: 5 }),
      ],
    ],
  );
});
