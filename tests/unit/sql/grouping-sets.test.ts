/**
 * GROUP BY GROUPING SETS / ROLLUP / CUBE and GROUPING(...): incremental results compared with Postgres (PGlite)
 * after every step of a seeded stream of inserts and deletes, and the expansion and error rules on their own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandGroupingSets, groupingValue } from '../../../src/sql/grouping-sets.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import { runSeed } from '../../kit/seed.ts';
import { streamAgainstPostgres } from './pg-stream.ts';

const TABLE = 'CREATE TABLE t (id INT NOT NULL, a VARCHAR, b INT, c INT, x INT);';

test('ROLLUP, CUBE and GROUPING SETS follow Postgres under inserts and deletes', async () => {
  const seed = runSeed('grouping-sets stream', 'GROUPING_SETS_SEED');
  console.log(`grouping sets stream seed ${seed} (replay: GROUPING_SETS_SEED=${seed})`);
  await streamAgainstPostgres({
    table: TABLE,
    seed,
    steps: 24,
    record: (rnd, id) => ({
      id,
      a: rnd(5) === 0 ? null : ['p', 'q', 'r'][rnd(3)],
      b: rnd(6) === 0 ? null : rnd(3),
      c: rnd(4),
      x: rnd(100) - 30,
    }),
    views: [
      [
        'SELECT a, b, COUNT(*) AS n, SUM(x) AS s, GROUPING(a) AS ga, GROUPING(a, b) AS gab FROM t GROUP BY ROLLUP (a, b)',
      ],
      ['SELECT a, b, COUNT(x) AS n, MAX(x) AS m, GROUPING(b, a) AS g FROM t GROUP BY CUBE (a, b)'],
      ['SELECT a, b, c, MIN(x) AS m FROM t GROUP BY GROUPING SETS ((a, b), (c), (), a)'],
      // a plain key crossed with a ROLLUP of a parenthesized pair, filtered by GROUPING in HAVING
      [
        'SELECT c, a, b, COUNT(*) AS n FROM t GROUP BY c, ROLLUP ((a, b)) HAVING GROUPING(a) = 1 OR COUNT(*) > 1',
      ],
      // duplicate grouping sets give duplicate rows
      ['SELECT a, COUNT(*) AS n FROM t GROUP BY GROUPING SETS ((a), (a), ())'],
      ['SELECT b + 1 AS b1, COUNT(*) AS n, GROUPING(b + 1) AS g FROM t GROUP BY CUBE (b + 1)'],
    ],
  });
});

test('expansion: ROLLUP gives prefixes, CUBE every subset, items combine as a cross product', () => {
  const col = (n: string) => ({ ColumnRef: { fields: [{ String: { sval: n } }] } });
  const key = (e: unknown) => JSON.stringify(e);
  const fail = (_c: string, m: string) => new Error(m) as never;
  const rollup = expandGroupingSets(
    [{ GroupingSet: { kind: 'GROUPING_SET_ROLLUP', content: [col('a'), col('b')] } }],
    (g) => g,
    key,
    fail,
  );
  assert.deepEqual(rollup.sets, [[0, 1], [0], []]);
  const cube = expandGroupingSets(
    [col('z'), { GroupingSet: { kind: 'GROUPING_SET_CUBE', content: [col('a'), col('b')] } }],
    (g) => g,
    key,
    fail,
  );
  assert.deepEqual(cube.sets, [[0, 1, 2], [0, 1], [0, 2], [0]]);
  assert.equal(cube.exprs.length, 3);
  // GROUPING(a, b): the first argument is the high bit
  assert.equal(groupingValue([0, 1], [1]), 2);
  assert.equal(groupingValue([0, 1], [0]), 1);
  assert.equal(groupingValue([0, 1], []), 3);
});

test('the empty grouping set gives its row on empty input; a key absent from a set is nullable', async () => {
  const p = await compileProgram(
    `CREATE TABLE t (k INT NOT NULL, v INT NOT NULL);
     CREATE MATERIALIZED VIEW v AS SELECT k, SUM(v) AS s, COUNT(*) AS n FROM t GROUP BY ROLLUP (k);`,
  );
  const view = p.views.find((x) => x.name === 'v');
  assert.equal(view?.columns[0]?.type.nullable, true);
  const c = p.instantiate();
  c.step(new Map([['t', { rows: [], weights: [] }]]));
  assert.deepEqual(c.contents('v').rows, [[null, null, 0n]]);
});

test('refused: nested ROLLUP, GROUPING of a non-grouping expression, too many sets', async () => {
  const compile = (q: string) =>
    compileProgram(`CREATE TABLE t (a INT, b INT, arr INT ARRAY); CREATE VIEW v AS ${q};`);
  await assert.rejects(compile('SELECT a, COUNT(*) AS n FROM t GROUP BY ROLLUP (ROLLUP (a))'), (e: Error) => {
    assert.equal((e as { errorCode?: string }).errorCode, 'SqlSyntaxError');
    assert.match(e.message, /cannot be nested/);
    return true;
  });
  await assert.rejects(
    compile('SELECT arr, GROUPING(arr[1]) AS g FROM t GROUP BY CUBE (arr)'),
    (e: Error) => {
      assert.equal((e as { errorCode?: string }).errorCode, 'SqlTypeError');
      assert.match(e.message, /GROUPING must be one of the GROUP BY expressions/);
      return true;
    },
  );
  const many = Array.from({ length: 13 }, () => 'a').join(', ');
  await assert.rejects(compile(`SELECT COUNT(*) AS n FROM t GROUP BY CUBE (${many})`), /4096 grouping sets/);
});

test('deliberate difference: GROUPING and GROUPING_ID are BIGINT, as in Feldera (Postgres: INTEGER, no GROUPING_ID)', async () => {
  const p = await compileProgram(
    `CREATE TABLE t (a INT, b INT);
     CREATE MATERIALIZED VIEW v AS SELECT GROUPING(a) AS g, GROUPING_ID(a, b) AS gid FROM t GROUP BY CUBE (a, b);`,
  );
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  assert.deepEqual(
    cols.map((c) => [c.type.kind, c.type.nullable]),
    [
      ['BIGINT', false],
      ['BIGINT', false],
    ],
  );
  const c = p.instantiate();
  c.step(new Map([['t', { rows: [[1, 2]], weights: [1] }]]));
  const rows = c.contents('v').rows.map((r) => r.map(Number));
  assert.deepEqual(
    rows.sort((x, y) => (x[1] as number) - (y[1] as number)),
    [
      [0, 0],
      [0, 1],
      [1, 2],
      [1, 3],
    ],
  );
});

test('GROUP_ID(): 0 for a grouping set, n for its n-th repetition; incremental under deletes (not in Postgres)', async () => {
  const p = await compileProgram(
    `CREATE TABLE t (a INT, b INT);
     CREATE MATERIALIZED VIEW v AS SELECT a, b, COUNT(*) AS n, GROUP_ID() AS gid, GROUPING(a, b) AS g FROM t
       GROUP BY GROUPING SETS ((a), (a, b), (b, a), (a), ());
     CREATE MATERIALIZED VIEW w AS SELECT a, GROUP_ID() AS gid FROM t GROUP BY a HAVING GROUP_ID() = 0;`,
  );
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  assert.deepEqual([cols[3]?.type.kind, cols[3]?.type.nullable], ['BIGINT', false]);
  const c = p.instantiate();
  const norm = (rows: readonly (readonly unknown[])[]) =>
    rows
      .map((r) => r.map((x) => (typeof x === 'bigint' ? Number(x) : x)))
      .sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
  c.step(
    new Map([
      [
        't',
        {
          rows: [
            [1, 2],
            [1, 3],
          ],
          weights: [1, 1],
        },
      ],
    ]),
  );
  assert.deepEqual(
    norm(c.contents('v').rows),
    norm([
      [1, null, 2, 0, 1], // (a)
      [1, 2, 1, 0, 0], // (a, b)
      [1, 3, 1, 0, 0],
      [1, 2, 1, 1, 0], // (b, a): the same set as (a, b), repeated
      [1, 3, 1, 1, 0],
      [1, null, 2, 1, 1], // (a) again
      [null, null, 2, 0, 3], // ()
    ]),
  );
  assert.deepEqual(norm(c.contents('w').rows), [[1, 0]]);
  c.step(new Map([['t', { rows: [[1, 3]], weights: [-1] }]]));
  assert.deepEqual(
    norm(c.contents('v').rows),
    norm([
      [1, null, 1, 0, 1],
      [1, 2, 1, 0, 0],
      [1, 2, 1, 1, 0],
      [1, null, 1, 1, 1],
      [null, null, 1, 0, 3],
    ]),
  );
});
