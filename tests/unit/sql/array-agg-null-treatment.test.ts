/**
 * `ARRAY_AGG(x IGNORE NULLS)` / `ARRAY_AGG(x RESPECT NULLS)` (Feldera's null treatment; the pre-pass in
 * src/sql/null-treatment-syntax.ts): IGNORE NULLS leaves NULL arguments out, RESPECT NULLS is the default, both
 * combine with FILTER and stay incremental (deleting a row removes its element).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram } from '../../../src/sql/program.ts';
import type { Row } from '../../../src/zset/value.ts';

const items = (rows: Row[]) =>
  rows
    .map((r) =>
      r.map((v) => (v !== null && typeof v === 'object' ? (v as unknown as { items: unknown }).items : v)),
    )
    .sort((a, b) => Number(a[0]) - Number(b[0]));

test('IGNORE NULLS drops NULL elements, RESPECT NULLS keeps them, FILTER still applies; deletions retract', async () => {
  const p = await compileProgram(`CREATE TABLE t (g INT, x INT);
CREATE MATERIALIZED VIEW v AS SELECT g,
  ARRAY_AGG(x IGNORE NULLS) AS a,
  array_agg(x respect nulls) AS b,
  ARRAY_AGG(x IGNORE NULLS) FILTER (WHERE x > 1) AS c
FROM t GROUP BY g;`);
  const c = p.instantiate();
  c.step({
    t: {
      rows: [
        [1, 1],
        [1, null],
        [1, 3],
        [2, null],
      ],
      weights: [1, 1, 1, 1],
    },
  });
  assert.deepEqual(items(c.contents('v').rows), [
    [1, [1, 3], [null, 1, 3], [3]],
    [2, [], [null], []],
  ]);
  c.step({ t: { rows: [[1, 3]], weights: [-1] } });
  assert.deepEqual(items(c.contents('v').rows), [
    [1, [1], [null, 1], []],
    [2, [], [null], []],
  ]);
});

test('the words are only null treatment inside ARRAY_AGG; errors point at the text as written', async () => {
  // a column named nulls is still a column
  const p = await compileProgram(`CREATE TABLE t (ignore INT, nulls INT);
CREATE MATERIALIZED VIEW v AS SELECT ARRAY_AGG(nulls) AS a FROM t;`);
  const c = p.instantiate();
  c.step({ t: { rows: [[1, 2]], weights: [1] } });
  assert.deepEqual(items(c.contents('v').rows), [[[2]]]);
  await assert.rejects(
    compileProgram('CREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT ARRAY_AGG(y IGNORE NULLS) FROM t;'),
    (e: Error & { code?: string; details?: { line?: number; column?: number } }) => /y/.test(e.message),
  );
});
