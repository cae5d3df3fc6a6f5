/**
 * MAKE_DATE, MAKE_TIME, MAKE_TIMESTAMP and CONVERT_TIMEZONE (src/sql/functions/datetime.ts,
 * src/sql/values/time-zones.ts), with Feldera's rules: integer fields (a DECIMAL or string is a SqlTypeError),
 * seconds any number, a nullable result that is NULL for a NULL argument or a field out of range (Feldera's
 * `MAKE_DATE(2023, 2, 29)` is NULL, where Postgres raises an error). Valid fields are checked against Postgres's
 * make_timestamp / make_time (PGlite); CONVERT_TIMEZONE against Postgres's
 * `(ts AT TIME ZONE source) AT TIME ZONE target`, including daylight-saving gaps and overlaps.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram } from '../../../src/sql/program.ts';
import { type Rec, view } from './view-of.ts';

const DDL =
  'CREATE TABLE t (id INT NOT NULL, y INT, mo INT, d INT, h INT, mi INT, s DECIMAL(9,6), f DOUBLE, ' +
  'ts TIMESTAMP, src VARCHAR, dst VARCHAR, dec DECIMAL(5,1), txt VARCHAR);';

const ROW: Rec = {
  id: 0,
  y: 2020,
  mo: 2,
  d: 29,
  h: 23,
  mi: 59,
  s: '59.5',
  f: 1.25,
  ts: '2020-06-21 14:23:44.5',
};

async function one(select: string, row: Rec = ROW): Promise<{ r: Rec; types: string[] }> {
  const out = await view(DDL, `SELECT ${select} FROM t`, [row]);
  return { r: out.rows[0] as Rec, types: out.types };
}

async function compileError(select: string): Promise<string> {
  try {
    await compileProgram(`${DDL} CREATE MATERIALIZED VIEW v AS SELECT ${select} FROM t;`);
  } catch (e) {
    return `${(e as { errorCode?: string }).errorCode}: ${(e as Error).message}`;
  }
  throw new Error('expected a compile error');
}

test('MAKE_DATE / MAKE_TIME / MAKE_TIMESTAMP: values from literals and columns, fractional seconds', async () => {
  const { r, types } = await one(
    [
      'MAKE_DATE(y, mo, d) AS d1',
      'MAKE_DATE(2024, 12, 31) AS d2',
      'MAKE_TIME(h, mi, s) AS t1',
      'MAKE_TIME(8, 15, 23.5) AS t2',
      'MAKE_TIME(0, 0, f) AS t3',
      'MAKE_TIME(1, 2, 3) AS t4',
      'MAKE_TIMESTAMP(y, mo, d, h, mi, s) AS ts1',
      'MAKE_TIMESTAMP(2013, 7, 15, 8, 15, 23.123456) AS ts2',
      'MAKE_TIMESTAMP(1969, 12, 31, 23, 59, 59.999999) AS ts3',
      'MAKE_TIME(1, 2, 3.4567895) AS t5',
      'MAKE_TIME(1, 2, 59.9999999) AS t6',
    ].join(', '),
  );
  assert.deepEqual(r, {
    d1: '2020-02-29',
    d2: '2024-12-31',
    t1: '23:59:59.5',
    t2: '08:15:23.5',
    t3: '00:00:01.25',
    t4: '01:02:03',
    ts1: '2020-02-29 23:59:59.5',
    ts2: '2013-07-15 08:15:23.123456',
    ts3: '1969-12-31 23:59:59.999999',
    t5: '01:02:03.45679',
    t6: '01:02:59.999999',
  });
  assert.deepEqual(types, [
    'DATE',
    'DATE',
    'TIME',
    'TIME',
    'TIME',
    'TIME',
    'TIMESTAMP',
    'TIMESTAMP',
    'TIMESTAMP',
    'TIME',
    'TIME',
  ]);
});

test('MAKE_*: a NULL argument or a field out of range gives NULL (Feldera), never an error', async () => {
  const { r } = await one(
    [
      'MAKE_DATE(2023, 2, 29) AS a',
      'MAKE_DATE(2020, 13, 1) AS b',
      'MAKE_DATE(2020, 0, 1) AS c',
      'MAKE_DATE(2020, 4, 31) AS dd',
      'MAKE_DATE(NULL, 1, 1) AS e',
      'MAKE_TIME(24, 0, 0) AS f1',
      'MAKE_TIME(-1, 0, 0) AS f2',
      'MAKE_TIME(1, 60, 0) AS f3',
      'MAKE_TIME(1, 2, 60) AS f4',
      'MAKE_TIME(1, 2, -0.5) AS f5',
      'MAKE_TIME(1, NULL, 0) AS f6',
      'MAKE_TIME(1, 2, -0.0000001) AS f7',
      'MAKE_TIMESTAMP(2021, 2, 29, 0, 0, 0) AS g1',
      'MAKE_TIMESTAMP(2021, 1, 1, 25, 0, 0) AS g2',
      'MAKE_TIMESTAMP(2021, 1, 1, 0, 0, NULL) AS g3',
      "MAKE_TIMESTAMP(y, mo, d, h, mi, CAST('NaN' AS DOUBLE)) AS g4",
    ].join(', '),
  );
  for (const [k, v] of Object.entries(r)) assert.equal(v, null, k);
  // the result type is nullable even when every argument is NOT NULL
  const p = await compileProgram(
    `CREATE TABLE u (a INT NOT NULL); CREATE VIEW w AS SELECT MAKE_DATE(a, a, a) AS x, MAKE_TIME(a, a, a) AS y, MAKE_TIMESTAMP(a, a, a, a, a, a) AS z FROM u;`,
  );
  for (const c of p.views.find((v) => v.name === 'w')?.columns ?? [])
    assert.equal(c.type.nullable, true, c.name);
});

test('MAKE_*: fields must be integers (SqlTypeError), argument counts are checked', async () => {
  assert.match(
    await compileError('MAKE_DATE(2020, 1.5, 3) AS x'),
    /^SqlTypeError: MAKE_DATE: argument 2 must be an integer, not DECIMAL/,
  );
  assert.match(
    await compileError('MAKE_TIME(dec, 1, 1) AS x'),
    /^SqlTypeError: MAKE_TIME: argument 1 must be an integer, not DECIMAL/,
  );
  assert.match(
    await compileError('MAKE_TIMESTAMP(2020, 1, 1.0, 10, 0, 0) AS x'),
    /^SqlTypeError: MAKE_TIMESTAMP: argument 3 must be an integer/,
  );
  assert.match(
    await compileError('MAKE_TIMESTAMP(2020, 1, 1, 10, f, 0) AS x'),
    /^SqlTypeError: MAKE_TIMESTAMP: argument 5 must be an integer, not DOUBLE/,
  );
  assert.match(
    await compileError('MAKE_TIME(txt, 1, 1) AS x'),
    /^SqlTypeError: MAKE_TIME: argument 1 must be an integer, not VARCHAR/,
  );
  assert.match(
    await compileError('MAKE_TIME(1, 1, txt) AS x'),
    /^SqlTypeError: MAKE_TIME: argument 3 must be a number, not VARCHAR/,
  );
  assert.match(
    await compileError('MAKE_TIME(1, 1) AS x'),
    /^SqlTypeError: function MAKE_TIME takes 3 arguments/,
  );
  assert.match(
    await compileError('MAKE_TIMESTAMP(1, 1, 1) AS x'),
    /^SqlTypeError: function MAKE_TIMESTAMP takes 6 arguments/,
  );
});

test('CONVERT_TIMEZONE: IANA zones, half-hour zones, DST gaps and overlaps resolved as Postgres does', async () => {
  const { r, types } = await one(
    [
      "CONVERT_TIMEZONE('UTC', 'America/New_York', ts) AS a",
      "CONVERT_TIMEZONE('America/New_York', 'UTC', ts) AS b",
      "CONVERT_TIMEZONE('Asia/Kolkata', 'UTC', TIMESTAMP '2020-01-01 00:00:00') AS c",
      // 02:30 does not exist in New York on 2018-03-11: read with the offset before the jump (EST)
      "CONVERT_TIMEZONE('America/New_York', 'UTC', TIMESTAMP '2018-03-11 02:30:00') AS gap",
      // 01:30 happens twice on 2018-11-04: the later instant (EST)
      "CONVERT_TIMEZONE('America/New_York', 'UTC', TIMESTAMP '2018-11-04 01:30:00') AS overlap",
      "CONVERT_TIMEZONE('UTC', 'America/New_York', TIMESTAMP '2018-11-04 05:30:00') AS first_130",
      "CONVERT_TIMEZONE('UTC', 'America/New_York', TIMESTAMP '2018-11-04 06:30:00') AS second_130",
      "CONVERT_TIMEZONE('Europe/Paris', 'Asia/Tokyo', '2020-06-01 12:00:00.123456') AS lit",
      "CONVERT_TIMEZONE('utc', 'europe/london', DATE '2020-07-01') AS lower_case_and_date",
      "CONVERT_TIMEZONE(src, 'UTC', ts) AS null_zone",
      "CONVERT_TIMEZONE('UTC', 'UTC', NULL) AS null_ts",
    ].join(', '),
  );
  assert.deepEqual(r, {
    a: '2020-06-21 10:23:44.5',
    b: '2020-06-21 18:23:44.5',
    c: '2019-12-31 18:30:00',
    gap: '2018-03-11 07:30:00',
    overlap: '2018-11-04 06:30:00',
    first_130: '2018-11-04 01:30:00',
    second_130: '2018-11-04 01:30:00',
    lit: '2020-06-01 19:00:00.123456',
    lower_case_and_date: '2020-07-01 01:00:00',
    null_zone: null,
    null_ts: null,
  });
  assert.equal(
    types.every((x) => x === 'TIMESTAMP'),
    true,
  );
});

test('CONVERT_TIMEZONE: an unknown zone is SqlTypeError as a constant, SqlRuntimeError from a row', async () => {
  assert.match(
    await compileError("CONVERT_TIMEZONE('Mars/Olympus', 'UTC', ts) AS x"),
    /^SqlTypeError: CONVERT_TIMEZONE: time zone 'Mars\/Olympus' not recognized/,
  );
  // an abbreviation that is not a time-zone database name (ICU would take it, as a zone with summer time)
  assert.match(
    await compileError("CONVERT_TIMEZONE('PST', 'UTC', ts) AS x"),
    /^SqlTypeError: CONVERT_TIMEZONE: time zone 'PST' not recognized/,
  );
  const names = await one(
    "CONVERT_TIMEZONE('UTC', 'CET', ts) AS cet, CONVERT_TIMEZONE('UTC', 'US/Pacific', ts) AS us, CONVERT_TIMEZONE('UTC', 'Etc/GMT+5', ts) AS etc",
  );
  assert.deepEqual(names.r, {
    cet: '2020-06-21 16:23:44.5',
    us: '2020-06-21 07:23:44.5',
    etc: '2020-06-21 09:23:44.5',
  });
  assert.match(
    await compileError("CONVERT_TIMEZONE('UTC', '+05:30', ts) AS x"),
    /^SqlTypeError: CONVERT_TIMEZONE: time zone '\+05:30' not recognized/,
  );
  assert.match(
    await compileError('CONVERT_TIMEZONE(src, dst, id) AS x'),
    /^SqlTypeError: Cannot apply 'CONVERT_TIMEZONE' to arguments of type INTEGER/,
  );
  await assert.rejects(
    view(DDL, "SELECT CONVERT_TIMEZONE(src, 'UTC', ts) AS x FROM t", [{ ...ROW, src: 'Nowhere/Land' }]),
    (e: Error & { errorCode?: string }) =>
      e.errorCode === 'SqlRuntimeError' && /Nowhere\/Land/.test(e.message),
  );
  const ok = await view(DDL, 'SELECT CONVERT_TIMEZONE(src, dst, ts) AS x FROM t', [
    { ...ROW, src: 'Asia/Tokyo', dst: 'Europe/Berlin' },
  ]);
  assert.deepEqual(ok.rows, [{ x: '2020-06-21 07:23:44.5' }]);
});

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
});
after(async () => {
  await pg.close();
});

function rng(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a % n;
  };
}
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

test('oracle: MAKE_TIMESTAMP and MAKE_TIME of random valid fields agree with Postgres', async () => {
  const seed = Number(process.env.SEED ?? 20261207);
  console.log(`datetime-constructors make seed ${seed}`);
  const rnd = rng(seed);
  const rows: Rec[] = [];
  // years where a µs TIMESTAMP is exact in a JS number (values/temporal.ts)
  for (let i = 0; i < 80; i++) {
    const sec = `${rnd(60)}.${pad(rnd(1_000_000), 6)}`;
    rows.push({
      id: i,
      y: 1700 + rnd(550),
      mo: 1 + rnd(12),
      d: 1 + rnd(28),
      h: rnd(24),
      mi: rnd(60),
      s: sec,
    });
  }
  const got = await view(
    DDL,
    'SELECT id, MAKE_TIMESTAMP(y, mo, d, h, mi, s) AS a, MAKE_TIME(h, mi, s) AS b FROM t',
    rows,
  );
  const byId = new Map(got.rows.map((r) => [r.id, r]));
  for (const row of rows) {
    const q = await pg.query<{ a: string; b: string }>(
      `SELECT make_timestamp(${row.y}, ${row.mo}, ${row.d}, ${row.h}, ${row.mi}, ${row.s})::text AS a, make_time(${row.h}, ${row.mi}, ${row.s})::text AS b`,
    );
    const want = q.rows[0] as { a: string; b: string };
    const r = byId.get(row.id) as Rec;
    assert.equal(r.a, want.a, JSON.stringify(row));
    assert.equal(r.b, want.b, JSON.stringify(row));
  }
});

test('oracle: CONVERT_TIMEZONE of random timestamps (many near DST switches) agrees with Postgres', async () => {
  const seed = Number(process.env.SEED ?? 20261208);
  console.log(`datetime-constructors convert seed ${seed}`);
  const rnd = rng(seed);
  const zones = [
    'UTC',
    'America/New_York',
    'America/Los_Angeles',
    'Europe/Paris',
    'Europe/London',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
    'Australia/Sydney',
    'America/Sao_Paulo',
    'Pacific/Chatham',
    'Asia/Tokyo',
  ];
  const rows: Rec[] = [];
  for (let i = 0; i < 120; i++) {
    // half of them in the hours around the spring/autumn switches of the northern and southern hemispheres
    const nearSwitch = rnd(2) === 0;
    const month = nearSwitch ? [3, 4, 10, 11][rnd(4)] : 1 + rnd(12);
    const day = nearSwitch ? 1 + rnd(14) + (rnd(2) === 0 ? 0 : 14) : 1 + rnd(28);
    const hour = nearSwitch ? rnd(4) : rnd(24);
    const ts = `${1950 + rnd(90)}-${pad(month as number)}-${pad(day)} ${pad(hour)}:${pad(rnd(60))}:${pad(rnd(60))}.${pad(rnd(1_000_000), 6)}`;
    rows.push({ id: i, ts, src: zones[rnd(zones.length)], dst: zones[rnd(zones.length)] });
  }
  const got = await view(DDL, 'SELECT id, CONVERT_TIMEZONE(src, dst, ts) AS x FROM t', rows);
  const byId = new Map(got.rows.map((r) => [r.id, r.x]));
  for (const row of rows) {
    const q = await pg.query<{ v: string }>(
      `SELECT ((TIMESTAMP '${row.ts}' AT TIME ZONE '${row.src}') AT TIME ZONE '${row.dst}')::text AS v`,
    );
    assert.equal(byId.get(row.id), q.rows[0]?.v, JSON.stringify(row));
  }
});

test('oracle: CONVERT_TIMEZONE minute by minute across DST switches (hours remembered per zone) agrees with Postgres', async () => {
  // every 7 minutes for 6 hours around switches in both directions (whole-hour, half-hour and 45-minute zones)
  const spans: Array<[string, string]> = [
    ['America/New_York', '2018-03-11 00:00:00'],
    ['America/New_York', '2018-11-04 00:00:00'],
    ['Australia/Lord_Howe', '2020-04-04 23:00:00'],
    ['Australia/Lord_Howe', '2020-10-03 23:00:00'],
    ['Pacific/Chatham', '2021-04-04 01:00:00'],
    ['Europe/London', '2021-03-28 00:00:00'],
  ];
  const rows: Rec[] = [];
  for (const [zone, start] of spans) {
    const t0 = Date.parse(`${start.replace(' ', 'T')}Z`);
    for (let m = 0; m < 360; m += 7) {
      const ts = new Date(t0 + m * 60_000).toISOString().replace('T', ' ').slice(0, 19);
      // both directions: local → UTC and UTC → local
      rows.push({ id: rows.length, ts, src: zone, dst: 'UTC' });
      rows.push({ id: rows.length, ts, src: 'UTC', dst: zone });
    }
  }
  const got = await view(DDL, 'SELECT id, CONVERT_TIMEZONE(src, dst, ts) AS x FROM t', rows);
  const byId = new Map(got.rows.map((r) => [r.id, r.x]));
  const values = rows.map((r) => `(${r.id}, TIMESTAMP '${r.ts}', '${r.src}', '${r.dst}')`).join(', ');
  const q = await pg.query<{ id: number; v: string }>(
    `SELECT id, ((ts AT TIME ZONE src) AT TIME ZONE dst)::text AS v FROM (VALUES ${values}) AS r(id, ts, src, dst)`,
  );
  assert.equal(q.rows.length, rows.length);
  for (const r of q.rows) assert.equal(byId.get(r.id), r.v, JSON.stringify(rows[r.id]));
});
