/**
 * Window table functions TABLE(TUMBLE(...)) and TABLE(HOP(...)) (src/sql/windows.ts): positional and named
 * arguments, offsets, NULL times, and windowed aggregates kept incrementally over inserts and deletes, checked
 * against Postgres (PGlite) computing the same windows with date_bin / generate_series.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Rec } from './pg-stream.ts';
import { contents, streamAgainstPostgres } from './pg-stream.ts';

const TABLE = 'CREATE TABLE t (id INT NOT NULL, ts TIMESTAMP, v INT);';

async function run(view: string, rows: Rec[]): Promise<Rec[]> {
  const p = await compileProgram(`${TABLE} CREATE MATERIALIZED VIEW v AS ${view};`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  return contents(p.views.find((x) => x.name === 'v')?.columns ?? [], c.contents('v'));
}

const ROWS = [
  { id: 1, ts: '2024-01-01 10:00:30', v: 1 },
  { id: 2, ts: '2024-01-01 10:01:10', v: 2 },
  { id: 3, ts: null, v: 3 },
];

test('TUMBLE adds window_start and window_end; an offset shifts the windows; a NULL time is in no window (Feldera drops the row)', async () => {
  assert.deepEqual(
    await run(
      `SELECT id, window_start, window_end FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))`,
      ROWS,
    ),
    [
      { id: 1, window_start: '2024-01-01 10:00:00', window_end: '2024-01-01 10:01:00' },
      { id: 2, window_start: '2024-01-01 10:01:00', window_end: '2024-01-01 10:02:00' },
    ],
  );
  assert.deepEqual(
    await run(
      `SELECT id, window_start FROM TABLE(TUMBLE(DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL '1' MINUTE, OFFSET => INTERVAL '20' SECOND)) AS w WHERE w.id < 3`,
      ROWS,
    ),
    [
      { id: 1, window_start: '2024-01-01 10:00:20' },
      { id: 2, window_start: '2024-01-01 10:00:20' },
    ],
  );
});

test('HOP puts a row in every window that holds it, and a row with a NULL time in none', async () => {
  assert.deepEqual(
    await run(
      `SELECT id FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) WHERE id = 3`,
      ROWS,
    ),
    [],
  );
  assert.deepEqual(
    await run(
      `SELECT id, window_start, window_end FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) WHERE id = 1`,
      ROWS,
    ),
    [
      { id: 1, window_start: '2024-01-01 10:00:00', window_end: '2024-01-01 10:01:00' },
      { id: 1, window_start: '2024-01-01 10:00:30', window_end: '2024-01-01 10:01:30' },
    ],
  );
});

test('errors: a non-time column, a non-constant width, another table function', async () => {
  const code = (e: unknown) => (e as { errorCode?: string }).errorCode;
  await assert.rejects(
    run(`SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(v), INTERVAL '1' MINUTE))`, []),
    (e) => code(e) === 'SqlTypeError',
  );
  await assert.rejects(
    run(`SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MONTH))`, []),
    (e) => code(e) === 'SqlTypeError',
  );
  await assert.rejects(run(`SELECT * FROM generate_series(1, 3)`, []), (e) => code(e) === 'SqlUnsupported');
});

test('windowed aggregates stay equal to Postgres through inserts and deletes', async () => {
  const seed = 31337;
  console.log(`windows stream seed ${seed}`);
  const views: Array<[string, string]> = [
    [
      `SELECT window_start, window_end, SUM(v) AS s, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' MINUTE)) GROUP BY window_start, window_end`,
      `SELECT to_char(ws, 'YYYY-MM-DD HH24:MI:SS') AS window_start, to_char(ws + interval '10 minutes', 'YYYY-MM-DD HH24:MI:SS') AS window_end, SUM(v)::int AS s, COUNT(*)::int AS n
       FROM (SELECT date_bin('10 minutes', ts, timestamp '1970-01-01') AS ws, v FROM t WHERE ts IS NOT NULL) x GROUP BY ws`,
    ],
    [
      `SELECT window_start, MAX(v) AS m FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '5' MINUTE, INTERVAL '15' MINUTE)) GROUP BY window_start`,
      `SELECT to_char(ws, 'YYYY-MM-DD HH24:MI:SS') AS window_start, MAX(v) AS m FROM (
         SELECT g AS ws, v FROM t, generate_series(date_bin('5 minutes', ts, timestamp '1970-01-01') - interval '10 minutes', date_bin('5 minutes', ts, timestamp '1970-01-01'), interval '5 minutes') g
         WHERE ts IS NOT NULL) x GROUP BY ws`,
    ],
  ];
  await streamAgainstPostgres({
    table: TABLE,
    views,
    seed,
    steps: 25,
    record: (rnd, id) => {
      const min = rnd(120);
      const ts =
        rnd(10) === 0
          ? null
          : `2024-03-01 ${String(10 + Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}:${String(rnd(60)).padStart(2, '0')}`;
      return { id, ts, v: rnd(100) };
    },
  });
});
