/**
 * Query forms of issue 17: `WITH` (several, nested, referenced more than once, column lists, shadowing). Each
 * view is kept incrementally through inserts and deletes and compared, after every step, with PGlite running the
 * same query over the same rows.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowToJson } from '../../../src/sql/program.ts';
import type { Row } from '../../../src/zset/value.ts';

const DDL = 'CREATE TABLE t (k INT, v INT, s VARCHAR); CREATE TABLE u (k INT, w INT);';

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
  await pg.exec(DDL);
});
after(async () => {
  await pg.close();
});

const isErr = (code: string, re: RegExp) => (e: unknown) =>
  isServiceError(e) && e.errorCode === code && re.test(e.message);

type Step = { t?: Array<[Row, number]>; u?: Array<[Row, number]> };

const lit = (v: unknown) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v));

/** Runs `query` as a materialized view through the steps and compares it with PGlite after each step. */
async function agree(query: string, steps: Step[]): Promise<void> {
  const p = await compileProgram(`${DDL}\nCREATE MATERIALIZED VIEW v AS ${query};`);
  const c = p.instantiate();
  const cols = p.views[0]?.columns ?? [];
  await pg.exec('DELETE FROM t; DELETE FROM u;');
  for (const step of steps) {
    const m = new Map<string, { rows: Row[]; weights: number[] }>();
    for (const name of ['t', 'u'] as const) {
      const changes = step[name] ?? [];
      if (changes.length === 0) continue;
      m.set(name, { rows: changes.map(([r]) => r), weights: changes.map(([, w]) => w) });
      for (const [r, w] of changes) {
        if (w > 0) await pg.exec(`INSERT INTO ${name} VALUES (${r.map(lit).join(', ')})`);
        else
          await pg.exec(
            `DELETE FROM ${name} WHERE ctid = (SELECT ctid FROM ${name} WHERE ${r
              .map(
                (x, i) =>
                  `${name === 't' ? ['k', 'v', 's'][i] : ['k', 'w'][i]} IS NOT DISTINCT FROM ${lit(x)}`,
              )
              .join(' AND ')} LIMIT 1)`,
          );
      }
    }
    c.step(m);
    const contents = c.contents('v');
    const got = contents.rows
      .flatMap((r, i) =>
        new Array(contents.weights[i] as number).fill(
          JSON.stringify(Object.values(rowToJson(cols, r as Row) as object)),
        ),
      )
      .sort();
    const want = (await pg.query<unknown[]>(query, [], { rowMode: 'array' })).rows
      .map((r) => JSON.stringify(r.map((x) => (typeof x === 'bigint' ? Number(x) : x))))
      .sort();
    assert.deepEqual(got, want, `${query} after ${JSON.stringify(step)}`);
  }
}

const STEPS: Step[] = [
  {
    t: [
      [[1, 10, 'a'], 1],
      [[2, 20, 'b'], 1],
      [[2, 25, 'c'], 1],
      [[3, null, null], 1],
    ],
    u: [
      [[1, 5], 1],
      [[2, 7], 1],
    ],
  },
  { t: [[[4, 40, 'd'], 1]], u: [[[3, 9], 1]] },
  { t: [[[2, 20, 'b'], -1]], u: [[[1, 5], -1]] },
];

test('WITH: several common table expressions, a later one reading an earlier one', async () => {
  await agree(
    `WITH big AS (SELECT k, v FROM t WHERE v > 15), totals(k, total) AS (SELECT k, SUM(v) FROM big GROUP BY k)
     SELECT k, total FROM totals`,
    STEPS,
  );
});

test('WITH: one expression referenced twice (a self-join) and joined with a table', async () => {
  await agree(
    `WITH x AS (SELECT k, v FROM t WHERE v IS NOT NULL)
     SELECT a.k, a.v AS av, b.v AS bv, u.w FROM x a JOIN x b ON a.k = b.k JOIN u ON u.k = a.k`,
    STEPS,
  );
});

test('WITH nested in a subquery and in another WITH, an inner name shadowing an outer one', async () => {
  await agree(
    `WITH x AS (SELECT k FROM u)
     SELECT q.k, q.n FROM (WITH x AS (SELECT k, COUNT(*) AS n FROM t GROUP BY k) SELECT k, n FROM x) q
     WHERE q.k IN (1, 2, 3, 4) UNION ALL SELECT k, 0 FROM x`,
    STEPS,
  );
});

test('WITH errors: a duplicated name, RECURSIVE, too many column names, an unknown name', async () => {
  const bad: Array<[string, string, RegExp]> = [
    [
      'WITH a AS (SELECT 1 AS x), a AS (SELECT 2 AS x) SELECT x FROM a',
      'SqlNameError',
      /specified more than once/,
    ],
    ['WITH RECURSIVE a AS (SELECT 1 AS x) SELECT x FROM a', 'SqlUnsupported', /WITH RECURSIVE/],
    ['WITH a(x, y) AS (SELECT 1 AS x) SELECT x FROM a', 'SqlNameError', /alias has 2 columns/],
    ['WITH a AS (SELECT k FROM t) SELECT k FROM b', 'SqlNameError', /relation "b" does not exist/],
  ];
  for (const [q, code, re] of bad)
    await assert.rejects(compileProgram(`${DDL}\nCREATE VIEW v AS ${q};`), isErr(code, re), q);
});

// ---------------------------------------------------------------------------------------------------------
// subqueries in expressions (decorrelated into joins: subqueries.ts)

const NULLY: Step[] = [
  ...STEPS,
  { u: [[[9, null], 1]] }, // a NULL in the subquery's column: NOT IN is never TRUE now
  { t: [[[5, 7, 'e'], 1]], u: [[[9, null], -1]] },
  {
    u: [
      [[2, 7], -1],
      [[3, 9], -1],
    ],
  }, // the subquery empties: NOT IN is TRUE for every row, NULL x included
];

test('IN / NOT IN (uncorrelated subquery) with three-valued logic, through inserts and deletes', async () => {
  await agree('SELECT k, v FROM t WHERE v IN (SELECT w FROM u)', NULLY);
  await agree('SELECT k, v FROM t WHERE v NOT IN (SELECT w FROM u)', NULLY);
  await agree(
    'SELECT k, v, k IN (SELECT k FROM u) AS found, v NOT IN (SELECT w FROM u) AS missing FROM t',
    NULLY,
  );
  await agree('SELECT k FROM t WHERE k IN (SELECT k FROM u WHERE w > 6 UNION SELECT 4)', NULLY);
});

test('EXISTS / NOT EXISTS, correlated by equalities, with other predicates inside', async () => {
  await agree('SELECT k, v FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k)', NULLY);
  await agree('SELECT k, v FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.k = t.k AND u.w > 6)', NULLY);
  await agree('SELECT k, s FROM t WHERE EXISTS (SELECT * FROM u)', NULLY);
  await agree(
    'SELECT t1.k FROM t AS t1 WHERE EXISTS (SELECT 1 FROM t AS t2 WHERE t2.k = t1.k AND t2.v > 15)',
    NULLY,
  );
});

test('scalar subqueries: uncorrelated aggregate, correlated aggregates (COUNT is 0 without rows)', async () => {
  await agree('SELECT k, v, (SELECT MAX(w) FROM u) AS top FROM t', NULLY);
  await agree('SELECT k FROM t WHERE v > (SELECT MIN(w) FROM u)', NULLY);
  await agree(
    'SELECT k, (SELECT COUNT(*) FROM u WHERE u.k = t.k) AS n, (SELECT SUM(w) FROM u WHERE u.k = t.k) AS s FROM t',
    NULLY,
  );
  await agree('SELECT k, v FROM t WHERE v IN (SELECT w FROM u WHERE u.k + 0 = t.k)', NULLY);
  await agree('SELECT (SELECT COUNT(*) FROM t) AS n', NULLY);
});

test('uncorrelated subqueries in the select list and HAVING of a GROUP BY query', async () => {
  await agree('SELECT k, COUNT(*) AS n, (SELECT COUNT(*) FROM u) AS total FROM t GROUP BY k', NULLY);
  await agree('SELECT k, SUM(v) AS s FROM t GROUP BY k HAVING SUM(v) > (SELECT MIN(w) FROM u)', NULLY);
  await agree('SELECT k, k IN (SELECT k FROM u) AS found, COUNT(*) AS n FROM t GROUP BY k', NULLY);
  await agree(
    'SELECT s, MAX(v) AS m FROM t WHERE k IN (SELECT k FROM u) GROUP BY s HAVING EXISTS (SELECT 1 FROM u WHERE w > 8)',
    NULLY,
  );
});

test('subquery errors name the construct', async () => {
  const bad: Array<[string, string, RegExp]> = [
    [
      'SELECT k FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k > t.k)',
      'SqlUnsupported',
      /correlated subquery/,
    ],
    ['SELECT k FROM t WHERE v IN (SELECT k, w FROM u)', 'SqlTypeError', /only one column/],
    // (a plain `(SELECT w FROM u)` is allowed: a run-time error if it has more than one row)
    ['SELECT k, (SELECT DISTINCT w FROM u) AS x FROM t', 'SqlUnsupported', /at most one row/],
    ['SELECT k, (SELECT w FROM u WHERE u.k = t.k) AS x FROM t', 'SqlUnsupported', /aggregate/],
    ['SELECT k FROM t WHERE v > ALL (SELECT w FROM u)', 'SqlUnsupported', /ALL subqueries/],
    ['SELECT k FROM t WHERE v < ANY (SELECT w FROM u)', 'SqlUnsupported', /ANY/],
    [
      'SELECT k, (SELECT COUNT(*) FROM u WHERE u.k = t.k) AS n FROM t GROUP BY k',
      'SqlUnsupported',
      /correlated subquery is not supported in the select list or HAVING of a query with GROUP BY/,
    ],
    [
      'SELECT COUNT(*) AS n, (SELECT COUNT(*) FROM u) AS m FROM t',
      'SqlUnsupported',
      /subquery is not supported/,
    ],
  ];
  for (const [q, code, re] of bad)
    await assert.rejects(compileProgram(`${DDL}\nCREATE VIEW v AS ${q};`), isErr(code, re), q);
});

// ---------------------------------------------------------------------------------------------------------
// JOIN ... USING and NATURAL JOIN

test('JOIN ... USING and NATURAL JOIN: the condition, the unqualified column, qualified access', async () => {
  await agree('SELECT k, t.v, u.w FROM t JOIN u USING (k)', NULLY);
  await agree('SELECT k, t.k AS tk, u.k AS uk, w FROM t LEFT JOIN u USING (k)', NULLY);
  await agree('SELECT k, v, w FROM t RIGHT JOIN u USING (k)', NULLY);
  await agree('SELECT * FROM t NATURAL JOIN u', NULLY);
  await agree('SELECT * FROM u NATURAL JOIN (SELECT k, v AS w FROM t) AS x', NULLY);
  await agree('SELECT a.k, a.v, b.v AS v2 FROM t a JOIN t b USING (k, s) WHERE a.v < b.v', NULLY);
});

test('USING errors', async () => {
  const bad: Array<[string, string, RegExp]> = [
    [
      'SELECT * FROM t JOIN u USING (zz)',
      'SqlNameError',
      /"zz" specified in USING clause does not exist in left table/,
    ],
    ['SELECT * FROM t JOIN u USING (v)', 'SqlNameError', /does not exist in right table/],
    ['SELECT * FROM t JOIN u USING (k, k)', 'SqlNameError', /more than once in USING/],
    ['SELECT * FROM t FULL JOIN u USING (k)', 'SqlUnsupported', /FULL JOIN ... USING/],
  ];
  for (const [q, code, re] of bad)
    await assert.rejects(compileProgram(`${DDL}\nCREATE VIEW v AS ${q};`), isErr(code, re), q);
});

test('BETWEEN SYMMETRIC / NOT BETWEEN SYMMETRIC (bounds in either order, NULLs) agree with Postgres', async () => {
  await agree(
    `SELECT k, v, v BETWEEN SYMMETRIC 25 AND 10 AS a, v NOT BETWEEN SYMMETRIC k * 10 AND 20 AS b,
       v BETWEEN SYMMETRIC NULL AND 15 AS c, s BETWEEN SYMMETRIC 'c' AND 'a' AS d FROM t`,
    STEPS,
  );
});
