/**
 * Feldera's PIVOT (reference page aggregates): the reference's FURNITURE example (also after an insert of a
 * type the clause does not name, and under retractions), several aggregates and their column names, the
 * pivoted item's alias, a WITH query as input, the refused forms with their error codes, and a seeded random
 * comparison with Postgres running the grouped query PIVOT stands for (SUM/COUNT ... FILTER ... GROUP BY).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';
import { runSeed } from '../../kit/seed.ts';
import { type Oracle, startOracle } from './values/pg-oracle.ts';

type Rec = Record<string, unknown>;
const DDL = 'CREATE TABLE furniture (type VARCHAR, year INTEGER, count INTEGER);';

async function pipeline(query: string) {
  const p = await compileProgram(`${DDL} CREATE MATERIALIZED VIEW v AS ${query};`);
  const c = p.instantiate();
  const t = p.table('furniture') as TableSchema;
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  return {
    names: cols.map((x) => x.name),
    step(rows: readonly (readonly [string | null, number | null, number | null])[], weight = 1) {
      const rs = rows.map(([type, year, count]) => rowFromJson(t, { type, year, count }));
      c.step(new Map([['furniture', { rows: rs, weights: rs.map(() => weight) }]]));
    },
    contents: (): Rec[] =>
      c
        .contents('v')
        .rows.map((r) => rowToJson(cols, r as Row) as Rec)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  };
}

const FURNITURE = [
  ['chair', 2020, 4],
  ['table', 2021, 3],
  ['chair', 2021, 4],
  ['desk', 2023, 1],
  ['table', 2023, 2],
] as const;

const DOC_QUERY = `SELECT * FROM FURNITURE
  PIVOT (
    SUM(count) AS ct
    FOR type IN ('desk' AS desks, 'table' AS tables, 'chair' as chairs)
  )`;

const DOC_RESULT = [
  { year: 2020, desks: null, tables: null, chairs: 4 },
  { year: 2021, desks: null, tables: 3, chairs: 4 },
  { year: 2023, desks: 1, tables: 2, chairs: null },
];

test("PIVOT: the reference's example, one column per value, grouped by the input's other columns", async () => {
  const p = await pipeline(DOC_QUERY);
  assert.deepEqual(p.names, ['year', 'desks', 'tables', 'chairs']);
  p.step(FURNITURE);
  assert.deepEqual(p.contents(), DOC_RESULT);
  // a type the clause does not name changes nothing (the GROUP BY query would gain a row)
  p.step([['bed', 2020, 5]]);
  assert.deepEqual(p.contents(), DOC_RESULT);
});

test('PIVOT: incremental under insertions and retractions (a group disappears with its last row)', async () => {
  const p = await pipeline(DOC_QUERY);
  p.step(FURNITURE);
  p.step([['chair', 2020, 4]], -1);
  p.step([['table', 2021, 10]]);
  assert.deepEqual(p.contents(), [
    { year: 2021, desks: null, tables: 13, chairs: 4 },
    { year: 2023, desks: 1, tables: 2, chairs: null },
  ]);
  p.step([['desk', 2023, 1]], -1);
  assert.deepEqual(p.contents(), [
    { year: 2021, desks: null, tables: 13, chairs: 4 },
    { year: 2023, desks: null, tables: 2, chairs: null },
  ]);
});

test('PIVOT: several aggregates name their columns value_alias; the clause alias qualifies them; a value without alias is named by its literal', async () => {
  const p = await pipeline(
    `SELECT p.year, p.desks_s, p.desks_n, p.chair_s, p.chair_n
     FROM furniture PIVOT (SUM(count) AS s, COUNT(*) AS n FOR type IN ('desk' AS desks, 'chair')) AS p
     WHERE p.year > 2020`,
  );
  p.step(FURNITURE);
  assert.deepEqual(p.contents(), [
    { year: 2021, desks_s: null, desks_n: 0, chair_s: 4, chair_n: 1 },
    { year: 2023, desks_s: 1, desks_n: 1, chair_s: null, chair_n: 0 },
  ]);
});

test("PIVOT: a WITH query as input; the aggregates' own FILTER is kept; columns they read are not keys", async () => {
  const p = await pipeline(
    `WITH f AS (SELECT type, year, count FROM furniture WHERE year < 2023)
     SELECT * FROM f PIVOT (MAX(count) FILTER (WHERE count > 3) AS m FOR type IN ('chair' AS c, 'table' AS t))`,
  );
  assert.deepEqual(p.names, ['year', 'c', 't']);
  p.step(FURNITURE);
  assert.deepEqual(p.contents(), [
    { year: 2020, c: 4, t: null },
    { year: 2021, c: 4, t: null }, // table 2021 has count 3: filtered out
  ]);
});

async function refused(query: string): Promise<{ code: string; message: string }> {
  try {
    await compileProgram(`${DDL} CREATE VIEW v AS ${query};`);
  } catch (e) {
    const err = e as { errorCode?: string; code?: string; message: string };
    return { code: err.errorCode ?? err.code ?? '', message: err.message };
  }
  assert.fail(`expected ${query} to be refused`);
}

test('PIVOT: the forms Holdfast refuses say what to write instead', async () => {
  const cases: [string, string, RegExp][] = [
    [
      "SELECT * FROM (SELECT * FROM furniture) PIVOT (SUM(count) FOR type IN ('desk' AS d))",
      'SqlUnsupported',
      /PIVOT of a subquery is not supported: name the subquery in a WITH clause/,
    ],
    [
      "SELECT * FROM furniture PIVOT (SUM(count) FOR type IN ('desk' AS d)) JOIN furniture f2 ON true",
      'SqlUnsupported',
      /not in a JOIN/,
    ],
    [
      "SELECT * FROM furniture PIVOT (SUM(count) AS a, SUM(year) FOR type IN ('x'))",
      'SqlTypeError',
      /several aggregates: name each one/,
    ],
    [
      "SELECT * FROM furniture PIVOT (SUM(count) FOR (type, year) IN (('x', 1) AS q))",
      'SqlUnsupported',
      /PIVOT FOR takes one column/,
    ],
    ["SELECT * FROM furniture PIVOT (count FOR type IN ('x'))", 'SqlTypeError', /aggregate calls before FOR/],
    [
      "SELECT * FROM furniture PIVOT (SUM(count) FOR type IN (UPPER('x')))",
      'SqlTypeError',
      /give each IN value that is not a literal a name/,
    ],
    [
      "SELECT * FROM nosuch PIVOT (SUM(count) FOR type IN ('x'))",
      'SqlNameError',
      /relation "nosuch" does not exist/,
    ],
  ];
  for (const [q, code, message] of cases) {
    const e = await refused(q);
    assert.equal(e.code, code, q);
    assert.match(e.message, message, q);
    assert.match(e.message, /line 1, column \d+/, `${q}: the error has a position`);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Postgres running the grouped query PIVOT stands for

let oracle: Oracle;
before(async () => {
  oracle = await startOracle();
});
after(async () => {
  await oracle.close();
});

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const SEED = runSeed('pivot oracle', 'PIVOT_SEED');

test(`oracle: PIVOT over random rows (inserts and retractions) equals Postgres GROUP BY with FILTER (seed ${SEED}; replay: PIVOT_SEED=${SEED})`, async (t) => {
  const seed = SEED;
  t.diagnostic(`seed ${seed}`);
  const next = rng(seed);
  const types = ['desk', 'table', 'chair', 'bed', null];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const p = await pipeline(
    `SELECT * FROM furniture PIVOT (SUM(count) AS s, COUNT(count) AS n
       FOR type IN ('desk' AS desks, 'table' AS tables, 'chair' AS chairs))`,
  );
  const live: [string | null, number | null, number | null][] = [];
  for (let round = 0; round < 6; round++) {
    const ins: [string | null, number | null, number | null][] = [];
    for (let i = 0; i < 15; i++)
      ins.push([
        pick(types),
        2020 + Math.floor(next() * 4),
        next() < 0.1 ? null : Math.floor(next() * 20) - 5,
      ]);
    p.step(ins);
    live.push(...ins);
    const del = live.splice(0, Math.floor(next() * 5));
    if (del.length > 0) p.step(del, -1);
  }
  const lit = (v: string | number | null) =>
    v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v);
  const values = live.map(([t, y, c]) => `(${lit(t)}::text, ${lit(y)}::int, ${lit(c)}::int)`).join(', ');
  const cols = ['desks', 'tables', 'chairs'].flatMap((n) => [`${n}_s`, `${n}_n`]);
  const aggs = [
    ['desk', 'desks'],
    ['table', 'tables'],
    ['chair', 'chairs'],
  ].flatMap(([v, n]) => [
    `'${n}_s', SUM(count) FILTER (WHERE type = '${v}')`,
    `'${n}_n', COUNT(count) FILTER (WHERE type = '${v}')`,
  ]);
  const pg = await oracle.run(
    `SELECT COALESCE(json_agg(x.r ORDER BY x.year), '[]')::text FROM (SELECT json_build_object('year', year, ${aggs.join(', ')}) AS r, year
       FROM (VALUES ${values}) AS furniture(type, year, count) GROUP BY year) x`,
  );
  assert.ok('value' in pg, `Postgres refused the query (seed ${seed})`);
  const want = (JSON.parse(pg.value as string) as Rec[]).map((r) =>
    Object.fromEntries(['year', ...cols].map((k) => [k, r[k] ?? null])),
  );
  const got = p
    .contents()
    .map((r) => Object.fromEntries(['year', ...cols].map((k) => [k, r[k] ?? null])))
    .sort((a, b) => (a.year as number) - (b.year as number));
  assert.ok(want.length > 0, 'the random rows leave some groups');
  assert.deepEqual(got, want, `seed ${seed} (replay: PIVOT_SEED=${seed})`);
});
