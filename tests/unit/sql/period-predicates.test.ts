/**
 * Period predicates (src/sql/period-predicates.ts): OVERLAPS, CONTAINS (a period or a value), EQUALS,
 * [IMMEDIATELY] PRECEDES, [IMMEDIATELY] SUCCEEDS on DATE, TIME and TIMESTAMP periods written (start, end) or
 * (start, interval), in either order; NULL ends; over table columns; type errors; the words left alone where
 * they are not after a pair; and the deliberate difference from Postgres's OVERLAPS (closed periods: sharing an
 * end point overlaps), checked against PGlite.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;

async function run(program: string, rows: Rec[] = []): Promise<Rec[]> {
  const p = await compileProgram(program);
  const c = p.instantiate();
  const t = p.table('t');
  const inputs = new Map<string, { rows: Row[]; weights: number[] }>();
  if (t)
    inputs.set('t', { rows: rows.map((r) => rowFromJson(t as TableSchema, r)), weights: rows.map(() => 1) });
  c.step(inputs);
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  return c
    .contents('v')
    .rows.map((r) => rowToJson(cols, r as Row) as Rec)
    .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
}

async function compileError(program: string): Promise<string> {
  try {
    await compileProgram(program);
  } catch (e) {
    return `${(e as { errorCode?: string }).errorCode}: ${(e as Error).message}`;
  }
  throw new Error('expected a compile error');
}

const D = (s: string) => `DATE '2020-06-${s}'`;

test('each predicate on DATE periods, true and false cases, ends in either order', async () => {
  const cases: Array<[string, boolean]> = [
    [`(${D('21')}, ${D('25')}) CONTAINS ${D('23')}`, true],
    [`(${D('25')}, ${D('21')}) CONTAINS ${D('26')}`, false],
    [`(${D('21')}, ${D('25')}) CONTAINS (${D('22')}, ${D('25')})`, true],
    [`(${D('21')}, ${D('23')}) EQUALS (${D('23')}, ${D('21')})`, true],
    [`(${D('21')}, ${D('23')}) EQUALS (${D('21')}, ${D('24')})`, false],
    [`(${D('21')}, ${D('23')}) OVERLAPS (${D('23')}, ${D('24')})`, true],
    [`(${D('21')}, ${D('22')}) OVERLAPS (${D('23')}, ${D('24')})`, false],
    [`(${D('21')}, ${D('22')}) PRECEDES (${D('22')}, ${D('24')})`, true],
    [`(${D('21')}, ${D('23')}) PRECEDES (${D('22')}, ${D('24')})`, false],
    [`(${D('21')}, ${D('22')}) IMMEDIATELY PRECEDES (${D('22')}, ${D('23')})`, true],
    [`(${D('21')}, ${D('22')}) IMMEDIATELY PRECEDES (${D('23')}, ${D('24')})`, false],
    [`(${D('25')}, ${D('26')}) SUCCEEDS (${D('24')}, ${D('21')})`, true],
    [`(${D('25')}, ${D('26')}) SUCCEEDS (${D('21')}, ${D('26')})`, false],
    [`(${D('26')}, ${D('25')}) IMMEDIATELY SUCCEEDS (${D('25')}, ${D('24')})`, true],
    [`(${D('26')}, ${D('27')}) IMMEDIATELY SUCCEEDS (${D('24')}, ${D('25')})`, false],
  ];
  const select = cases.map(([e], i) => `${e} AS r${i}`).join(',\n');
  const [r] = await run(`CREATE MATERIALIZED VIEW v AS SELECT ${select};`);
  assert.deepEqual(r, Object.fromEntries(cases.map(([, want], i) => [`r${i}`, want])));
});

test('(start, interval) periods on DATE, TIME, TIMESTAMP; TIMESTAMP WITH TIME ZONE; NULL ends; table columns', async () => {
  const [r] = await run(`CREATE MATERIALIZED VIEW v AS SELECT
    (DATE '2020-06-21', INTERVAL '4' DAY) CONTAINS DATE '2020-06-25' AS d,
    (TIME '14:00:00', INTERVAL '1' HOUR) IMMEDIATELY PRECEDES (TIME '15:00:00', INTERVAL '1' HOUR) AS tm,
    (TIMESTAMP '2020-06-21 14:00:00', INTERVAL '1' HOUR) OVERLAPS (TIMESTAMP '2020-06-21 14:59:59', INTERVAL '1' SECOND) AS ts,
    (TIMESTAMP WITH TIME ZONE '2020-06-21 14:00:00 +00:00', INTERVAL '1' HOUR) EQUALS
      (TIMESTAMP WITH TIME ZONE '2020-06-21 14:00:00 +00:00', TIMESTAMP WITH TIME ZONE '2020-06-21 15:00:00 +00:00') AS tz,
    (CAST(NULL AS DATE), CAST(NULL AS DATE)) PRECEDES (DATE '2020-06-24', DATE '2020-06-25') AS n;`);
  assert.deepEqual(r, { d: true, tm: true, ts: true, tz: true, n: null });
  const rows = await run(
    `CREATE TABLE t (id INT, s TIMESTAMP, e TIMESTAMP);
     CREATE MATERIALIZED VIEW v AS SELECT id, (s, e) OVERLAPS (TIMESTAMP '2024-01-01 12:00:00', INTERVAL '1' HOUR) AS o
     FROM t WHERE NOT ((s, e) PRECEDES (TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-01 01:00:00'));`,
    [
      { id: 1, s: '2024-01-01 11:00:00', e: '2024-01-01 12:00:00' },
      { id: 2, s: '2024-01-01 13:00:01', e: '2024-01-01 14:00:00' },
      { id: 3, s: '2023-12-31 00:00:00', e: '2024-01-01 00:00:00' },
      { id: 4, s: '2024-01-01 12:30:00', e: null },
    ],
  );
  assert.deepEqual(rows, [
    { id: 1, o: true },
    { id: 2, o: false },
    { id: 4, o: null },
  ]);
});

test('errors: mixed types, an interval first, an interval as the value of CONTAINS, a lone value', async () => {
  assert.match(
    await compileError(
      `CREATE VIEW v AS SELECT (TIME '14:00:00', TIME '15:00:00') EQUALS (TIMESTAMP '2020-06-21 14:00:00', TIMESTAMP '2020-06-21 15:00:00') AS r;`,
    ),
    /^SqlTypeError: Cannot apply 'EQUALS' to arguments of type \(TIME, TIME\) and \(TIMESTAMP, TIMESTAMP\)/,
  );
  assert.match(
    await compileError(
      `CREATE VIEW v AS SELECT (INTERVAL '1' DAY, DATE '2020-06-25') IMMEDIATELY SUCCEEDS (INTERVAL '1' DAY, DATE '2020-06-25') AS r;`,
    ),
    /^SqlTypeError: Cannot apply 'IMMEDIATELY SUCCEEDS'/,
  );
  assert.match(
    await compileError(
      `CREATE TABLE t (ts TIMESTAMP); CREATE VIEW v AS SELECT (ts, ts) CONTAINS INTERVAL '1' HOUR AS r FROM t;`,
    ),
    /^SqlTypeError: Cannot apply 'CONTAINS' to arguments of type \(TIMESTAMP, TIMESTAMP\) and INTERVAL HOUR/,
  );
  assert.match(
    await compileError(`CREATE TABLE t (d DATE); CREATE VIEW v AS SELECT (d, d) PRECEDES d AS r FROM t;`),
    /^SqlTypeError: Cannot apply 'PRECEDES'/,
  );
});

test('the words stay names where they do not follow a pair (a column, an alias, a function call)', async () => {
  const rows = await run(
    `CREATE TABLE t (contains INT, succeeds INT);
     CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) precedes, MAX(contains) AS equals, SUM(succeeds) succeeds FROM t;`,
    [{ contains: 3, succeeds: 4 }],
  );
  assert.deepEqual(rows, [{ precedes: 1, equals: 3, succeeds: 4 }]);
});

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
});
after(async () => {
  await pg.close();
});

test('deliberate difference: OVERLAPS takes closed periods (Feldera), Postgres half-open ones', async () => {
  const exprs = [
    `(DATE '2020-06-21', DATE '2020-06-23') OVERLAPS (DATE '2020-06-23', DATE '2020-06-24')`, // share an end
    `(DATE '2020-06-21', DATE '2020-06-23') OVERLAPS (DATE '2020-06-22', DATE '2020-06-24')`, // agree
    `(DATE '2020-06-21', DATE '2020-06-22') OVERLAPS (DATE '2020-06-23', DATE '2020-06-24')`, // agree
  ];
  const [mine] = await run(
    `CREATE MATERIALIZED VIEW v AS SELECT ${exprs.map((e, i) => `${e} AS r${i}`).join(', ')};`,
  );
  const theirs = (await pg.query<Rec>(`SELECT ${exprs.map((e, i) => `${e} AS r${i}`).join(', ')}`)).rows[0];
  assert.deepEqual(mine, { r0: true, r1: true, r2: false });
  assert.deepEqual(theirs, { r0: false, r1: true, r2: false });
});
