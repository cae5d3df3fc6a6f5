/**
 * FIRST_VALUE / LAST_VALUE OVER (src/sql/window-agg-plan.ts, operator src/operators/window-agg.ts): the value of
 * the expression at the partition's first / last row in ORDER BY order, for the frames Feldera supports (whose
 * first / last row is the partition's); other frames are SqlUnsupported. Checked step by step through inserts and
 * deletes that move the first and last rows, against Postgres (PGlite) on a seeded stream without ties, with ties
 * cut by the whole row, and through a snapshot / restore.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson, type SqlCircuit } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';
import { streamAgainstPostgres } from './pg-stream.ts';
import { type Rec, view } from './view-of.ts';

const TABLE = 'CREATE TABLE t (id INT NOT NULL, g VARCHAR, ts TIMESTAMP NOT NULL, x INT);';
const code = (e: unknown) => (e as { errorCode?: string }).errorCode;

/** A compiled one-view program over `t` and a step function taking inserts (+1) and deletes (-1). */
async function program(query: string) {
  const p = await compileProgram(`${TABLE} CREATE MATERIALIZED VIEW v AS ${query};`);
  const t = p.table('t') as TableSchema;
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  const read = (c: SqlCircuit) =>
    c
      .contents('v')
      .rows.map((r) => rowToJson(cols, r as Row) as Rec)
      .sort((a, b) => (a.id as number) - (b.id as number));
  const step = (c: SqlCircuit, ins: Rec[], del: Rec[] = []) =>
    c.step(
      new Map([
        [
          't',
          {
            rows: [...ins, ...del].map((x) => rowFromJson(t, x)),
            weights: [...ins.map(() => 1), ...del.map(() => -1)],
          },
        ],
      ]),
    );
  return { p, read, step, cols };
}

const r = (id: number, g: string | null, min: number, x: number | null): Rec => ({
  id,
  g,
  ts: `2024-03-01 10:${String(min).padStart(2, '0')}:00`,
  x,
});

test('FIRST_VALUE / LAST_VALUE follow inserts and deletes that change the first and last rows', async () => {
  const { p, read, step } = await program(
    `SELECT id, FIRST_VALUE(x) OVER (PARTITION BY g ORDER BY ts) AS f,
       LAST_VALUE(x) OVER (PARTITION BY g ORDER BY ts ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS l FROM t`,
  );
  const c = p.instantiate();
  step(c, [r(1, 'a', 10, 100), r(2, 'a', 20, 200), r(3, 'b', 15, 300)]);
  assert.deepEqual(
    read(c).map((x) => [x.id, x.f, x.l]),
    [
      [1, 100, 200],
      [2, 100, 200],
      [3, 300, 300],
    ],
  );
  // a new first row in a and a new last row in b (a NULL value: the value at that row, NULL included)
  step(c, [r(4, 'a', 5, 50), r(5, 'b', 30, null)]);
  assert.deepEqual(
    read(c).map((x) => [x.id, x.f, x.l]),
    [
      [1, 50, 200],
      [2, 50, 200],
      [3, 300, null],
      [4, 50, 200],
      [5, 300, null],
    ],
  );
  // deleting the first row of a and the last rows of a and b
  step(c, [], [r(4, 'a', 5, 50), r(2, 'a', 20, 200), r(5, 'b', 30, null)]);
  assert.deepEqual(
    read(c).map((x) => [x.id, x.f, x.l]),
    [
      [1, 100, 100],
      [3, 300, 300],
    ],
  );
});

test('FIRST_VALUE / LAST_VALUE: no PARTITION BY, DESC order, RANGE and ROWS frames, types', async () => {
  const rows = [r(1, 'a', 10, 1), r(2, 'b', 20, 2), r(3, null, 30, null), r(4, 'a', 40, 4)];
  const got = await view(
    TABLE,
    `SELECT id,
       FIRST_VALUE(x) OVER (ORDER BY id DESC) AS f_desc,
       FIRST_VALUE(g) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS f_rows,
       LAST_VALUE(x * 10) OVER (ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS l_range,
       LAST_VALUE(g) OVER (ORDER BY id DESC RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS l_desc
     FROM t`,
    rows,
  );
  assert.deepEqual(
    got.rows.map((x) => [x.id, x.f_desc, x.f_rows, x.l_range, x.l_desc]),
    [
      [1, 4, 'a', 40, 'a'],
      [2, 4, 'a', 40, 'a'],
      [3, 4, 'a', 40, 'a'],
      [4, 4, 'a', 40, 'a'],
    ],
  );
  // without ORDER BY: the partition ordered by the calls' first arguments (NULL first), as LAG/LEAD
  const unordered = await view(
    TABLE,
    'SELECT id, FIRST_VALUE(x) OVER (PARTITION BY g) AS f, LAST_VALUE(x) OVER (PARTITION BY g) AS l FROM t',
    [...rows, r(5, null, 50, 5)],
  );
  assert.deepEqual(
    unordered.rows.map((x) => [x.id, x.f, x.l]),
    [
      [1, 1, 4],
      [2, 2, 2],
      [3, null, 5],
      [4, 1, 4],
      [5, null, 5],
    ],
  );
  // ... x's own, also when another call's argument comes first in the partition's implicit order
  const mixed = await view(
    TABLE,
    'SELECT id, SUM(id) OVER (PARTITION BY g) AS s, FIRST_VALUE(x) OVER (PARTITION BY g) AS f, LAST_VALUE(x) OVER (PARTITION BY g) AS l FROM t',
    [r(1, 'a', 1, 10), r(2, 'a', 2, null), r(3, 'a', 3, 7)],
  );
  assert.deepEqual(
    mixed.rows.map((x) => [x.f, x.l]),
    [
      [null, 10],
      [null, 10],
      [null, 10],
    ],
  );
  const p = await compileProgram(
    `${TABLE} CREATE VIEW v AS SELECT FIRST_VALUE(id) OVER (ORDER BY ts) AS f, LAST_VALUE(g) OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS l FROM t;`,
  );
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  assert.deepEqual(
    cols.map((x) => [x.type.kind, x.type.nullable]),
    [
      ['INTEGER', true],
      ['VARCHAR', true],
    ],
  );
});

test('ties in the ORDER BY keys are cut by the whole row, whatever the arrival order', async () => {
  const q = `SELECT id, FIRST_VALUE(x) OVER (PARTITION BY g ORDER BY ts) AS f,
    LAST_VALUE(x) OVER (PARTITION BY g ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS l FROM t`;
  const tied = [r(1, 'a', 10, 7), r(2, 'a', 10, 3), r(3, 'a', 20, 9), r(4, 'a', 20, 1)];
  const forward = await view(TABLE, q, tied);
  const backward = await view(TABLE, q, [...tied].reverse());
  assert.deepEqual(forward, backward);
  // rows [g, id, ts, x]: of the tied first rows id 1 sorts first, of the tied last rows id 4 sorts last
  assert.deepEqual(
    forward.rows.map((x) => [x.f, x.l]),
    tied.map(() => [7, 1]),
  );
});

test('FIRST_VALUE / LAST_VALUE stay equal to Postgres through inserts and deletes (no ties)', async () => {
  await streamAgainstPostgres({
    table: TABLE,
    views: [
      [
        `SELECT id, FIRST_VALUE(x) OVER (PARTITION BY g ORDER BY ts, id) AS f,
          LAST_VALUE(x) OVER (PARTITION BY g ORDER BY ts, id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS l
         FROM t`,
      ],
      [
        `SELECT id, FIRST_VALUE(x) OVER (ORDER BY id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS f,
          LAST_VALUE(g) OVER (ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS l FROM t`,
      ],
    ],
    seed: 9001,
    steps: 25,
    record: (rnd, id) => ({
      id,
      g: ['a', 'b', null][rnd(3)] ?? null,
      ts: `2024-03-01 10:${String(rnd(60)).padStart(2, '0')}:00`,
      x: rnd(8) === 0 ? null : rnd(20),
    }),
  });
});

test('FIRST_VALUE / LAST_VALUE with other frames are SqlUnsupported, naming the supported frames', async () => {
  const cases: Array<[string, RegExp]> = [
    ['LAST_VALUE(x) OVER (ORDER BY ts)', /LAST_VALUE supports only frames .*UNBOUNDED FOLLOWING/],
    [
      'LAST_VALUE(x) OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)',
      /LAST_VALUE supports only/,
    ],
    [
      'LAST_VALUE(x) OVER (ORDER BY ts ROWS BETWEEN 1 PRECEDING AND UNBOUNDED FOLLOWING)',
      /LAST_VALUE supports only/,
    ],
    [
      'FIRST_VALUE(x) OVER (ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)',
      /FIRST_VALUE supports only frames .*UNBOUNDED PRECEDING AND CURRENT ROW or UNBOUNDED FOLLOWING/,
    ],
    [
      'FIRST_VALUE(x) OVER (ORDER BY ts RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)',
      /FIRST_VALUE supports only/,
    ],
    [
      'FIRST_VALUE(x) OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND 1 FOLLOWING)',
      /FIRST_VALUE supports only/,
    ],
  ];
  for (const [call, message] of cases)
    await assert.rejects(
      compileProgram(`${TABLE} CREATE VIEW v AS SELECT ${call} AS y FROM t;`),
      (e) => code(e) === 'SqlUnsupported' && message.test((e as Error).message),
      call,
    );
  await assert.rejects(
    compileProgram(`${TABLE} CREATE VIEW v AS SELECT FIRST_VALUE(x, 1) OVER (ORDER BY ts) FROM t;`),
    (e) => code(e) === 'SqlTypeError',
  );
});

test('FIRST_VALUE / LAST_VALUE after a snapshot and restore continue as an uninterrupted run', async () => {
  const { p, read, step } = await program(
    `SELECT id, FIRST_VALUE(x) OVER (PARTITION BY g ORDER BY ts, id) AS f,
       LAST_VALUE(x) OVER (PARTITION BY g ORDER BY ts, id RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS l
     FROM t`,
  );
  const a = p.instantiate();
  step(a, [r(1, 'a', 10, 1), r(2, 'a', 20, 2), r(3, 'b', 30, 3)]);
  const b = p.instantiate();
  b.restore(a.snapshot());
  // the next step removes a's first row and adds a last one: both instances must emit the same change
  const next = [[r(4, 'a', 40, 4)], [r(1, 'a', 10, 1)]] as const;
  const da = step(a, [...next[0]], [...next[1]]);
  const db = step(b, [...next[0]], [...next[1]]);
  assert.deepEqual(read(b), read(a));
  assert.deepEqual(
    read(b).map((x) => [x.id, x.f, x.l]),
    [
      [2, 2, 4],
      [3, 3, 3],
      [4, 2, 4],
    ],
  );
  const norm = (m: Map<string, { rows: readonly unknown[]; weights: readonly number[] }>) =>
    JSON.stringify(
      [...m].map(([k, x]) => [
        k,
        x.rows
          .map(
            (row, i) =>
              `${JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}:${x.weights[i]}`,
          )
          .sort(),
      ]),
    );
  assert.equal(norm(db), norm(da));
});
