/**
 * Aggregates OVER (PARTITION BY ... ORDER BY ... frame) and LAG/LEAD (src/sql/window-agg-plan.ts, operator
 * src/operators/window-agg.ts): a seeded stream of inserts and deletes keeps every view equal to Postgres
 * (PGlite) after every step; ORDER BY keys are unique or use explicit NULLS FIRST so both agree on the order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram } from '../../../src/sql/program.ts';
import { streamAgainstPostgres } from './pg-stream.ts';

const TABLE = 'CREATE TABLE t (id INT NOT NULL, g VARCHAR, ts TIMESTAMP NOT NULL, x INT);';

const VIEWS: Array<[string, string?]> = [
  [
    `SELECT id, SUM(x) OVER (PARTITION BY g ORDER BY ts, id) AS running, COUNT(*) OVER (PARTITION BY g ORDER BY ts, id) AS n FROM t`,
  ],
  [
    `SELECT id, SUM(x) OVER (PARTITION BY g ORDER BY ts, id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s3,
      MAX(x) OVER (PARTITION BY g ORDER BY ts, id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS m3 FROM t`,
  ],
  [
    `SELECT id, SUM(x) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '10' MINUTE PRECEDING AND CURRENT ROW) AS r10,
      MIN(x) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '10' MINUTE PRECEDING AND CURRENT ROW) AS mn FROM t`,
    `SELECT id, SUM(x) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '10 minutes' PRECEDING AND CURRENT ROW) AS r10,
      MIN(x) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '10 minutes' PRECEDING AND CURRENT ROW) AS mn FROM t`,
  ],
  [
    `SELECT id, LAG(x) OVER (PARTITION BY g ORDER BY ts, id) AS prev, LEAD(x, 2, -1) OVER (PARTITION BY g ORDER BY ts, id) AS next2 FROM t`,
  ],
  [`SELECT g, id, COUNT(x) OVER (PARTITION BY g) AS total FROM t`],
];

test('window aggregates and LAG/LEAD stay equal to Postgres through inserts and deletes', async () => {
  const seed = 4711;
  console.log(`window-agg stream seed ${seed}`);
  await streamAgainstPostgres({
    table: TABLE,
    views: VIEWS,
    seed,
    steps: 25,
    record: (rnd, id) => {
      const min = rnd(60);
      return {
        id,
        g: ['a', 'b', null][rnd(3)] ?? null,
        ts: `2024-03-01 10:${String(min).padStart(2, '0')}:00`,
        x: rnd(8) === 0 ? null : rnd(20),
      };
    },
  });
});

test('different windows in one SELECT with a qualified column, and unsupported frames, are refused', async () => {
  const code = (e: unknown) => (e as { errorCode?: string }).errorCode;
  // (without the qualified t.x the two windows are computed one after the other: select-forms.ts)
  await assert.rejects(
    compileProgram(
      `${TABLE} CREATE VIEW v AS SELECT t.x, SUM(x) OVER (PARTITION BY g), SUM(x) OVER (ORDER BY ts) FROM t;`,
    ),
    (e) => code(e) === 'SqlUnsupported',
  );
  await assert.rejects(
    compileProgram(
      `${TABLE} CREATE VIEW v AS SELECT SUM(x) OVER (ORDER BY ts GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t;`,
    ),
    (e) => code(e) === 'SqlUnsupported',
  );
});

test('a window aggregate with the wrong number of arguments, or a NULL-typed one, is refused (as Feldera does)', async () => {
  const err = async (sel: string) => {
    try {
      await compileProgram(`${TABLE} CREATE VIEW v AS SELECT ${sel} FROM t;`);
    } catch (e) {
      return `${(e as { errorCode?: string }).errorCode}: ${(e as Error).message}`;
    }
    return 'accepted';
  };
  assert.match(await err('MAX(x, x) OVER ()'), /^SqlTypeError: MAX takes exactly one argument/);
  assert.match(await err('MIN(x, g) OVER (PARTITION BY g)'), /^SqlTypeError: MIN takes exactly one argument/);
  assert.match(await err('COUNT(NULL) OVER ()'), /^SqlTypeError: an argument of COUNT has the NULL type/);
  assert.equal(await err('ARG_MAX(x, g) OVER (), COUNT(*) OVER ()'), 'accepted');
});
