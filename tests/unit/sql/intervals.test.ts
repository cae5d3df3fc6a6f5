/**
 * Feldera's INTERVAL types end to end (compile → step → JSON rows): every literal form, the qualifier on a
 * difference, arithmetic with dates, times and timestamps, casts to VARCHAR/BIGINT as Feldera prints them, and
 * TIMESTAMP(p) / TIMESTAMP WITH TIME ZONE. Expected values are Feldera's (its conformance corpus, where its rules
 * differ from Postgres); timestamp ± interval, where the two agree, is checked against Postgres (PGlite) on a
 * seeded set of random values.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;

/** Runs `SELECT <list>` over table t (one step with `rows`) and returns the rows as JSON records. */
async function select(list: string, rows: Rec[] = [{}], table = 'CREATE TABLE t (id INT);'): Promise<Rec[]> {
  const p = await compileProgram(`${table} CREATE MATERIALIZED VIEW v AS SELECT ${list} FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((v) => v.name === 'v')?.columns ?? [];
  const b = c.contents('v');
  return b.rows.map((r) => rowToJson(cols, r as Row) as Rec);
}

const one = async (list: string): Promise<Rec> => (await select(list, [{ id: 1 }]))[0] as Rec;

test('interval literals in every form, shown as Feldera prints them', async () => {
  assert.deepEqual(
    await one(`CAST(INTERVAL '1:30' HOUR TO MINUTE AS VARCHAR) AS a,
      CAST(INTERVAL '-2-8' YEAR TO MONTH AS VARCHAR) AS b,
      CAST(INTERVAL '150' DAYS AS VARCHAR) AS c,
      CAST(INTERVAL 7 DAYS AS VARCHAR) AS d,
      CAST(INTERVAL '+1855 19:42:00.000000' DAY TO SECOND AS VARCHAR) AS e,
      CAST(INTERVAL '3600:13:40.5' HOUR TO SECOND AS VARCHAR) AS f,
      CAST(INTERVAL '20733' SECONDS AS VARCHAR) AS g,
      CAST(INTERVAL '10' YEAR AS VARCHAR) AS h,
      CAST(INTERVAL '980 04' DAY TO HOUR AS VARCHAR) AS i,
      CAST(INTERVAL -5 MINUTES AS VARCHAR) AS j`),
    {
      a: '+1:30',
      b: '-2-08',
      c: '+150',
      d: '+7',
      e: '+1855 19:42:00',
      f: '+3600:13:40.500000',
      g: '+20733.000000',
      h: '+10',
      i: '+980 04',
      j: '-5',
    },
  );
});

test('the qualifier on a difference keeps the exact value; YEAR TO MONTH counts whole months', async () => {
  const rows = [
    { id: 0, c1: '2024-12-05', c2: '2014-11-05' },
    { id: 1, c1: '2020-06-21', c2: '2023-02-26' },
  ];
  const got = await select(
    `id, CAST((c1 - c2) YEAR TO MONTH AS VARCHAR) AS ytm, CAST((c1 - c2) YEAR AS VARCHAR) AS y,
     CAST((c1-c2)DAY TO HOUR AS VARCHAR) AS dth, CAST((c1 - c2) SECOND AS BIGINT) AS secs,
     c1 + (c1 - c2) YEAR AS plus_years, c2 + (c1 - c2) DAY AS plus_days`,
    rows,
    'CREATE TABLE t (id INT, c1 DATE NOT NULL, c2 DATE);',
  );
  got.sort((a, b) => (a.id as number) - (b.id as number));
  assert.deepEqual(got, [
    // 121 months: shown as 10 years, but adding it adds all 121 months
    {
      id: 0,
      ytm: '+10-01',
      y: '+10',
      dth: '+3683 00',
      secs: 318211200,
      plus_years: '2035-01-05',
      plus_days: '2024-12-05',
    },
    {
      id: 1,
      ytm: '-2-08',
      y: '-2',
      dth: '-980 00',
      secs: -84672000,
      plus_years: '2017-10-21',
      plus_days: '2020-06-21',
    },
  ]);
});

test('date, time and timestamp arithmetic: month ends clamp, times wrap, dates add whole days', async () => {
  assert.deepEqual(
    await one(`DATE '2024-01-31' + INTERVAL '1' MONTH AS a,
      TIMESTAMP '2023-03-31 10:00:00' - INTERVAL '1' MONTH AS b,
      TIME '18:30:45' + INTERVAL '5:45:33' HOUR TO SECOND AS c,
      TIME '01:00:00' - INTERVAL '2' HOUR AS d,
      DATE '2020-06-21' + INTERVAL '36' HOURS AS e,
      INTERVAL '1' DAY + TIMESTAMP '2020-01-01 00:00:00' AS f`),
    {
      a: '2024-02-29',
      b: '2023-02-28 10:00:00',
      c: '00:16:18',
      d: '23:00:00',
      e: '2020-06-22',
      f: '2020-01-02 00:00:00',
    },
  );
});

test('interval ± interval keeps the fields of both; × and ÷ by numbers truncate; comparisons', async () => {
  assert.deepEqual(
    await one(`CAST(INTERVAL '5' YEAR + INTERVAL '128' MONTH AS VARCHAR) AS a,
      CAST(INTERVAL '+1855 19' DAY TO HOUR - INTERVAL '150' DAYS AS VARCHAR) AS b,
      CAST(INTERVAL '60' MONTH * 2.583 AS VARCHAR) AS c,
      CAST(INTERVAL '160342920' SECOND / 2.583 AS VARCHAR) AS d,
      CAST(-INTERVAL '-2-8' YEAR TO MONTH AS VARCHAR) AS e,
      INTERVAL '1' DAY > INTERVAL '23' HOUR AS f,
      CAST(3 * INTERVAL '1:30' HOUR TO MINUTE AS VARCHAR) AS g`),
    {
      a: '+15-08',
      b: '+1705 19',
      c: '+154',
      d: '+62076236.933797',
      e: '+2-08',
      f: true,
      g: '+4:30',
    },
  );
});

test('intervals from strings (CAST and INTERVAL <column> <unit>) and to integers', async () => {
  const got = await select(
    `CAST(s AS INTERVAL DAY TO HOUR) + DATE '2020-01-01' AS a, DATE '2020-01-31' + INTERVAL m MONTH AS b,
     CAST(CAST(CAST(s AS INTERVAL DAY TO HOUR) AS INTERVAL HOUR) AS BIGINT) AS c`,
    [{ s: '+3 12', m: '+1' }],
    'CREATE TABLE t (s VARCHAR, m VARCHAR);',
  );
  assert.deepEqual(got, [{ a: '2020-01-04', b: '2020-02-29', c: 84 }]);
});

test('errors: an interval without qualifier, a malformed literal, mixing families', async () => {
  const code = (e: unknown) => (e as { errorCode?: string }).errorCode;
  await assert.rejects(one(`INTERVAL '1 day' AS x`), (e) => code(e) === 'SqlTypeError');
  await assert.rejects(one(`INTERVAL '1:75' HOUR TO MINUTE AS x`), (e) => code(e) === 'SqlTypeError');
  await assert.rejects(one(`INTERVAL '1' YEAR + INTERVAL '1' DAY AS x`), (e) => code(e) === 'SqlTypeError');
  await assert.rejects(one(`INTERVAL '1' DAY - DATE '2020-01-01' AS x`), (e) => code(e) === 'SqlTypeError');
  await assert.rejects(
    one(`CAST(INTERVAL '1 02' DAY TO HOUR AS BIGINT) AS x`),
    (e) => code(e) === 'SqlTypeError',
  );
});

test('text to TIMESTAMP WITH TIME ZONE applies the offset (UTC, Z, +hh:mm)', async () => {
  assert.deepEqual(
    await one(`CAST('1970-01-01 00:00:00 UTC' AS TIMESTAMP WITH TIME ZONE) AS a,
      CAST('2020-06-21 14:23:44+02:00' AS TIMESTAMP WITH TIME ZONE) AS b,
      CAST('2020-06-21T14:23:44Z' AS TIMESTAMP WITH TIME ZONE) AS c`),
    { a: '1970-01-01 00:00:00+00:00', b: '2020-06-21 12:23:44+00:00', c: '2020-06-21 14:23:44+00:00' },
  );
});

test('TIMESTAMP(p), TIME(p) and TIMESTAMP WITH TIME ZONE columns', async () => {
  const got = await select(
    'ts, t3, tm, tz',
    [
      {
        ts: '2020-06-21 14:23:44.123456',
        t3: '2020-06-21 14:23:44.5',
        tm: '10:11:12.25',
        tz: '2020-06-21T14:23:44+05:00',
      },
    ],
    'CREATE TABLE t (ts TIMESTAMP(6), t3 TIMESTAMP(3) NOT NULL, tm TIME(3), tz TIMESTAMP WITH TIME ZONE);',
  );
  assert.deepEqual(got, [
    {
      ts: '2020-06-21 14:23:44.123456',
      t3: '2020-06-21 14:23:44.5',
      tm: '10:11:12.25',
      tz: '2020-06-21 09:23:44+00:00',
    },
  ]);
});

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
  await pg.exec("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, MDY'");
});
after(async () => {
  await pg.close();
});

test('timestamp ± day-time and month intervals agree with Postgres on random values', async () => {
  const seed = 918;
  console.log(`intervals oracle seed ${seed}`);
  let a = seed;
  const rnd = (n: number): number => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a % n;
  };
  const rows: Rec[] = [];
  for (let i = 0; i < 40; i++) {
    const y = 1970 + rnd(80);
    const mo = 1 + rnd(12);
    const d = 1 + rnd(31);
    const day = Math.min(d, new Date(Date.UTC(y, mo, 0)).getUTCDate());
    const ts = `${y}-${String(mo).padStart(2, '0')}-${String(day).padStart(2, '0')} ${String(rnd(24)).padStart(2, '0')}:${String(rnd(60)).padStart(2, '0')}:${String(rnd(60)).padStart(2, '0')}`;
    rows.push({ id: i, ts, m: rnd(50) - 25, s: rnd(10_000_000) - 5_000_000 });
  }
  const got = await select(
    `id, ts + INTERVAL m MONTH AS plus_m, ts - INTERVAL s SECOND AS minus_s, ts + INTERVAL '1 02:03:04.5' DAY TO SECOND AS plus_dts`,
    rows,
    'CREATE TABLE t (id INT, ts TIMESTAMP, m INT, s INT);',
  );
  got.sort((x, y) => (x.id as number) - (y.id as number));
  for (const r of rows) {
    const want = (
      await pg.query<Rec>(
        `SELECT to_char($1::timestamp + make_interval(months => $2::int), 'YYYY-MM-DD HH24:MI:SS') AS plus_m,
                to_char($1::timestamp - make_interval(secs => $3::int), 'YYYY-MM-DD HH24:MI:SS') AS minus_s,
                to_char($1::timestamp + interval '1 day 02:03:04.5', 'YYYY-MM-DD HH24:MI:SS.US') AS plus_dts`,
        [r.ts, r.m, r.s],
      )
    ).rows[0] as Rec;
    const mine = got[r.id as number] as Rec;
    assert.equal(mine.plus_m, want.plus_m, `seed ${seed} row ${JSON.stringify(r)}`);
    assert.equal(mine.minus_s, want.minus_s, `seed ${seed} row ${JSON.stringify(r)}`);
    assert.equal(
      mine.plus_dts,
      (want.plus_dts as string).replace(/0+$/, ''),
      `seed ${seed} row ${JSON.stringify(r)}`,
    );
  }
});
