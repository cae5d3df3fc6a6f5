/**
 * ROW_NUMBER/RANK/DENSE_RANK OVER (PARTITION BY ... ORDER BY ...) (src/sql/window-rank.ts): top-k per group with
 * the `WHERE rn <= k` bound pushed into the operator, and ranks without a bound; a seeded stream of inserts and
 * deletes is checked after every step against Postgres (PGlite), with explicit NULLS FIRST/LAST and unique
 * ORDER BY keys for ROW_NUMBER where the two would otherwise differ.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { contents, streamAgainstPostgres } from './pg-stream.ts';

const TABLE = 'CREATE TABLE t (id INT NOT NULL, g VARCHAR, x INT);';

test('top-k per group and ranks with ties; an unsupported window function is refused', async () => {
  const p = await compileProgram(`${TABLE}
    CREATE MATERIALIZED VIEW top2 AS SELECT g, id FROM (
      SELECT g, id, ROW_NUMBER() OVER (PARTITION BY g ORDER BY x DESC, id) AS rn FROM t) WHERE rn <= 2;
    CREATE MATERIALIZED VIEW ranks AS SELECT id, RANK() OVER (ORDER BY x) AS r,
      DENSE_RANK() OVER (ORDER BY x) AS r2 FROM t WHERE g = 'a';`).catch((e) => e);
  // two different ranking functions in one SELECT are refused with a clear error
  assert.equal((p as { errorCode?: string }).errorCode, 'SqlUnsupported');
  const q = await compileProgram(`${TABLE}
    CREATE MATERIALIZED VIEW top2 AS SELECT g, id FROM (
      SELECT g, id, ROW_NUMBER() OVER (PARTITION BY g ORDER BY x DESC, id) AS rn FROM t) WHERE rn <= 2;
    CREATE MATERIALIZED VIEW ranks AS SELECT id, RANK() OVER (ORDER BY x) AS r FROM t WHERE g = 'a';
    CREATE MATERIALIZED VIEW dense AS SELECT id, DENSE_RANK() OVER (ORDER BY x) AS r FROM t WHERE g = 'a';`);
  const c = q.instantiate();
  const t = q.table('t') as TableSchema;
  const rows = [
    { id: 1, g: 'a', x: 5 },
    { id: 2, g: 'a', x: 7 },
    { id: 3, g: 'a', x: 5 },
    { id: 4, g: 'b', x: 1 },
    { id: 5, g: 'a', x: 9 },
  ];
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  const view = (n: string) => contents(q.views.find((v) => v.name === n)?.columns ?? [], c.contents(n));
  assert.deepEqual(view('top2'), [
    { g: 'a', id: 2 },
    { g: 'a', id: 5 },
    { g: 'b', id: 4 },
  ]);
  assert.deepEqual(view('ranks'), [
    { id: 1, r: 1 },
    { id: 2, r: 3 },
    { id: 3, r: 1 },
    { id: 5, r: 4 },
  ]);
  assert.deepEqual(view('dense'), [
    { id: 1, r: 1 },
    { id: 2, r: 2 },
    { id: 3, r: 1 },
    { id: 5, r: 3 },
  ]);
  await assert.rejects(
    compileProgram(`${TABLE} CREATE VIEW v AS SELECT id, NTILE(2) OVER (ORDER BY id) AS l FROM t;`),
    (e: { errorCode?: string }) => e.errorCode === 'SqlUnsupported',
  );
});

test('incremental top-k per group and ranks agree with Postgres after every step', async () => {
  const seed = 2718;
  console.log(`window-rank stream seed ${seed}`);
  const views: string[] = [
    `SELECT g, id, x FROM (SELECT g, id, x, ROW_NUMBER() OVER (PARTITION BY g ORDER BY x DESC NULLS LAST, id) AS rn FROM t) s WHERE rn <= 2`,
    `SELECT id, r FROM (SELECT id, RANK() OVER (PARTITION BY g ORDER BY x NULLS FIRST) AS r FROM t) s WHERE r < 3`,
    `SELECT id, DENSE_RANK() OVER (ORDER BY x NULLS FIRST) AS r FROM t`,
  ];
  await streamAgainstPostgres({
    table: TABLE,
    views: views.map((q) => [q] as const),
    seed,
    steps: 30,
    record: (rnd, id) => ({ id, g: ['a', 'b', null][rnd(3)] ?? null, x: rnd(8) === 0 ? null : rnd(10) }),
  });
});
