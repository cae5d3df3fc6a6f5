/**
 * Feldera's date/time functions (src/sql/functions/datetime.ts): DATE_PART with a unit keyword and the
 * YEAR()/MONTH()/... shorthands (BIGINT, Sunday = 1), DATE_TRUNC/TIMESTAMP_TRUNC/TIME_TRUNC, TIMESTAMPADD,
 * TIMESTAMPDIFF, FORMAT_* and PARSE_*. Expected values are Feldera's (from its conformance corpus) where it has
 * them; TIMESTAMPDIFF in DAY/HOUR/MINUTE/SECOND and DATE_TRUNC in Postgres's argument order are also checked
 * against Postgres (PGlite), where the two agree.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;

const TABLE =
  'CREATE TABLE t (id INT, ts TIMESTAMP, tz TIMESTAMP WITH TIME ZONE, d DATE, tm TIME, s VARCHAR);';
const ROW = {
  id: 0,
  ts: '2020-06-21 14:23:44.123654',
  tz: '2020-06-21T14:23:44.123654+00:00',
  d: '2020-06-21',
  tm: '14:23:44.456',
  s: '2021-01-20',
};

async function select(list: string, rows: Rec[] = [ROW]): Promise<Rec[]> {
  const p = await compileProgram(`${TABLE} CREATE MATERIALIZED VIEW v AS SELECT ${list} FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((v) => v.name === 'v')?.columns ?? [];
  return c.contents('v').rows.map((r) => rowToJson(cols, r as Row) as Rec);
}
const one = async (list: string): Promise<Rec> => (await select(list))[0] as Rec;

test('DATE_PART(unit, x) and the shorthands: BIGINT, Sunday = 1, time fields of a DATE are 0', async () => {
  const expected = { yr: 2020, mth: 6, day: 21, dow: 1, hr: 14, hr1: 0, min: 23, sec: 44, sec1: 0 };
  assert.deepEqual(
    await one(`DATE_PART(YEAR, ts) AS yr, DATE_PART(MONTH, d) AS mth, DATE_PART(DAY, ts) AS day,
      DATE_PART(DOW, d) AS dow, DATE_PART(HOUR, tz) AS hr, DATE_PART(HOUR, d) AS hr1,
      DATE_PART(MINUTE, ts) AS min, DATE_PART(SECOND, ts) AS sec, DATE_PART(SECOND, d) AS sec1`),
    expected,
  );
  assert.deepEqual(
    await one(`YEAR(ts) AS yr, MONTH(d) AS mth, DAYOFMONTH(ts) AS day, DAYOFWEEK(d) AS dow, HOUR(tz) AS hr,
      HOUR(d) AS hr1, MINUTE(ts) AS min, SECOND(ts) AS sec, SECOND(d) AS sec1`),
    expected,
  );
  assert.deepEqual(
    await one(`DATE_PART(MILLISECOND, ts) AS ms, DATE_PART(MICROSECOND, ts) AS us, QUARTER(d) AS q,
      DATE_PART(DOY, d) AS doy, DATE_PART(ISODOW, d) AS isodow, WEEK(d) AS wk, DATE_PART(EPOCH, d) AS ep`),
    { ms: 44123, us: 44123654, q: 2, doy: 173, isodow: 7, wk: 25, ep: 1592697600 },
  );
});

test('DATE_TRUNC / TIMESTAMP_TRUNC / TIME_TRUNC keep the type', async () => {
  assert.deepEqual(
    await one(`DATE_TRUNC(ts, YEAR) AS yr, DATE_TRUNC(ts, MONTH) AS mth, DATE_TRUNC(tz, DAY) AS day_tz,
      DATE_TRUNC(d, MONTH) AS mth1, TIMESTAMP_TRUNC(ts, HOUR) AS hr, TIMESTAMP_TRUNC(ts, MINUTE) AS min,
      TIMESTAMP_TRUNC(ts, SECOND) AS sec, TIME_TRUNC(tm, MINUTE) AS tmin, DATE_TRUNC(d, WEEK) AS wk`),
    {
      yr: '2020-01-01 00:00:00',
      mth: '2020-06-01 00:00:00',
      day_tz: '2020-06-21 00:00:00+00:00',
      mth1: '2020-06-01',
      hr: '2020-06-21 14:00:00',
      min: '2020-06-21 14:23:00',
      sec: '2020-06-21 14:23:44',
      tmin: '14:23:00',
      wk: '2020-06-15',
    },
  );
});

test('TIMESTAMPADD keeps the argument type; TIMESTAMPDIFF counts whole units', async () => {
  assert.deepEqual(
    await one(`TIMESTAMPADD(YEAR, 2, d) AS yr, TIMESTAMPADD(MONTH, 2, d) AS mth, TIMESTAMPADD(DAY, 2, d) AS day,
      TIMESTAMPADD(MILLISECOND, 2, ts) AS ms, TIMESTAMPADD(MICROSECOND, 2, ts) AS us,
      TIMESTAMPADD(HOUR, 2, '2020-06-21 14:23:44.123654 +00:00'::TIMESTAMP WITH TIME ZONE) AS hr_tz,
      TIMESTAMPADD(MONTH, 1, DATE '2020-01-31') AS clamp`),
    {
      yr: '2022-06-21',
      mth: '2020-08-21',
      day: '2020-06-23',
      ms: '2020-06-21 14:23:44.125654',
      us: '2020-06-21 14:23:44.123656',
      hr_tz: '2020-06-21 16:23:44.123654+00:00',
      clamp: '2020-02-29',
    },
  );
  assert.deepEqual(
    await one(`TIMESTAMPDIFF(YEAR, d, '2022-01-22'::DATE) AS yr, TIMESTAMPDIFF(MONTH, d, '2022-01-22'::DATE) AS mth,
      TIMESTAMPDIFF(DAY, d, '2022-01-22'::DATE) AS day,
      TIMESTAMPDIFF(HOUR, '2020-06-21 14:23:44.123'::TIMESTAMP, '2022-01-22 20:24:44.332'::TIMESTAMP) AS hr,
      TIMESTAMPDIFF(SECOND, '2020-06-21 14:23:44.123'::TIMESTAMP, '2022-01-22 20:24:44.332'::TIMESTAMP) AS sec,
      TIMESTAMPDIFF(MINUTE, tm, '20:24:44.332'::TIME) AS tmin`),
    { yr: 1, mth: 19, day: 580, hr: 13926, sec: 50133660, tmin: 360 },
  );
});

test('FORMAT_DATE and PARSE_*: strftime formats; a string that does not parse is NULL', async () => {
  assert.deepEqual(
    await one(`FORMAT_DATE('%Y-%m', d) AS a, FORMAT_DATE('%Y-%m', ts) AS b, FORMAT_DATE('%Y-%m', s) AS c,
      FORMAT_TIMESTAMP('%d %b %Y %H:%M:%S', ts) AS e, PARSE_DATE('%Y-%m-%d', s) AS f,
      PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S', '2020-10-01 00:00:00') AS g, PARSE_DATE('%Y-%m-%d', 'x') AS h,
      PARSE_TIME('%H:%M', '07:05') AS i`),
    {
      a: '2020-06',
      b: '2020-06',
      c: '2021-01',
      e: '21 Jun 2020 14:23:44',
      f: '2021-01-20',
      g: '2020-10-01 00:00:00',
      h: null,
      i: '07:05:00',
    },
  );
});

test('errors name the function and the argument type', async () => {
  const code = (e: unknown) => (e as { errorCode?: string }).errorCode;
  await assert.rejects(one("FORMAT_DATE('%Y', tm) AS x"), (e) => code(e) === 'SqlTypeError');
  await assert.rejects(one('TIMESTAMPDIFF(HOUR, id, tm) AS x'), (e) => code(e) === 'SqlTypeError');
  await assert.rejects(one('DATE_TRUNC(d, FORTNIGHT) AS x'), (e) => code(e) === 'SqlTypeError');
  await assert.rejects(one('TIME_TRUNC(tm, YEAR) AS x'), (e) => code(e) === 'SqlTypeError');
});

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
});
after(async () => {
  await pg.close();
});

test("TIMESTAMPDIFF in days and smaller, and DATE_TRUNC('unit', ts), agree with Postgres", async () => {
  const seed = 77;
  console.log(`datetime oracle seed ${seed}`);
  let a = seed;
  const rnd = (n: number) => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a % n;
  };
  const stamp = () =>
    `${1990 + rnd(40)}-${String(1 + rnd(12)).padStart(2, '0')}-${String(1 + rnd(28)).padStart(2, '0')} ${String(rnd(24)).padStart(2, '0')}:${String(rnd(60)).padStart(2, '0')}:${String(rnd(60)).padStart(2, '0')}`;
  const rows = Array.from({ length: 30 }, (_, i) => ({ id: i, ts: stamp(), s: stamp() }));
  const got = await select(
    `id, TIMESTAMPDIFF(DAY, ts, CAST(s AS TIMESTAMP)) AS dd, TIMESTAMPDIFF(MINUTE, ts, CAST(s AS TIMESTAMP)) AS mm,
     DATE_TRUNC('month', ts) AS tr`,
    rows,
  );
  got.sort((x, y) => (x.id as number) - (y.id as number));
  for (const r of rows) {
    const w = (
      await pg.query<Rec>(
        `SELECT trunc(extract(epoch FROM ($2::timestamp - $1::timestamp)) / 86400)::int AS dd,
                trunc(extract(epoch FROM ($2::timestamp - $1::timestamp)) / 60)::int AS mm,
                to_char(date_trunc('month', $1::timestamp), 'YYYY-MM-DD HH24:MI:SS') AS tr`,
        [r.ts, r.s],
      )
    ).rows[0] as Rec;
    assert.deepEqual(
      got[r.id],
      { id: r.id, dd: w.dd, mm: w.mm, tr: w.tr },
      `seed ${seed} ${JSON.stringify(r)}`,
    );
  }
});
