/**
 * `FLOOR(x TO unit)` / `CEIL(x TO unit)` (src/sql/functions/ceil-floor-to.ts): every unit on DATE, TIME and
 * TIMESTAMP with Feldera's boundaries (millennium 2000, week from Sunday), a value on a boundary, NULL, the
 * numeric CEIL/FLOOR untouched, errors; and random timestamps checked against Postgres (PGlite) `date_trunc`
 * where the two agree (YEAR ... MICROSECOND; CEIL as the truncation plus one unit unless already on it).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';

type Rec = Record<string, unknown>;
const TABLE = 'CREATE TABLE t (id INT NOT NULL, d DATE, tm TIME, ts TIMESTAMP, tz TIMESTAMP WITH TIME ZONE);';

async function run(select: string, rows: Rec[]): Promise<Rec[]> {
  const p = await compileProgram(`${TABLE}\nCREATE MATERIALIZED VIEW v AS SELECT ${select} FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  c.step(new Map([['t', { rows: rows.map((r) => rowFromJson(t, r)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  const b = c.contents('v');
  return b.rows
    .map((r) => rowToJson(cols, r as Row) as Rec)
    .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
}

async function compileError(select: string): Promise<string> {
  try {
    await compileProgram(`${TABLE}\nCREATE MATERIALIZED VIEW v AS SELECT ${select} FROM t;`);
  } catch (e) {
    return `${(e as { errorCode?: string }).errorCode}: ${(e as Error).message}`;
  }
  throw new Error('expected a compile error');
}

const ROW = {
  id: 0,
  d: '2020-06-21',
  tm: '14:23:44.456',
  ts: '2020-06-21 14:23:44.123654',
  tz: '2020-06-21T14:23:44.123654+00:00',
};

test('FLOOR(x TO unit): Calcite boundaries on DATE, TIMESTAMP, TIMESTAMP WITH TIME ZONE and TIME', async () => {
  const units = ['MILLENNIUM', 'CENTURY', 'DECADE', 'YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY'];
  const [r] = await run(
    [
      ...units.map((u) => `FLOOR(d TO ${u}) AS d_${u}`),
      ...units.map((u) => `FLOOR(ts TO ${u}) AS ts_${u}`),
      'FLOOR(ts TO HOUR) AS ts_hour',
      'FLOOR(ts TO MILLISECOND) AS ts_ms',
      'FLOOR(tz TO WEEK) AS tz_week',
      'FLOOR(tm TO MINUTE) AS tm_min',
      'FLOOR(tm TO SECOND) AS tm_sec',
    ].join(', '),
    [ROW],
  );
  assert.deepEqual(r, {
    d_millennium: '2000-01-01',
    d_century: '2000-01-01',
    d_decade: '2020-01-01',
    d_year: '2020-01-01',
    d_quarter: '2020-04-01',
    d_month: '2020-06-01',
    d_week: '2020-06-21', // a Sunday: weeks start on Sunday
    d_day: '2020-06-21',
    ts_millennium: '2000-01-01 00:00:00',
    ts_century: '2000-01-01 00:00:00',
    ts_decade: '2020-01-01 00:00:00',
    ts_year: '2020-01-01 00:00:00',
    ts_quarter: '2020-04-01 00:00:00',
    ts_month: '2020-06-01 00:00:00',
    ts_week: '2020-06-21 00:00:00',
    ts_day: '2020-06-21 00:00:00',
    ts_hour: '2020-06-21 14:00:00',
    ts_ms: '2020-06-21 14:23:44.123',
    tz_week: '2020-06-21 00:00:00+00:00',
    tm_min: '14:23:00',
    tm_sec: '14:23:44',
  });
});

test('CEIL(x TO unit): the next boundary, or x itself when it is on one; CEILING too; NULL gives NULL', async () => {
  const rows = await run(
    [
      'id',
      'CEIL(d TO MILLENNIUM) AS d_mil',
      'CEIL(d TO QUARTER) AS d_q',
      'CEIL(d TO WEEK) AS d_week',
      'CEIL(d TO DAY) AS d_day',
      'CEIL(ts TO WEEK) AS ts_week',
      'CEIL(ts TO DAY) AS ts_day',
      'CEILING(ts TO SECOND) AS ts_sec',
      'CEIL(ts TO MICROSECOND) AS ts_us',
      'CEIL(tm TO HOUR) AS tm_hour',
    ].join(', '),
    [ROW, { id: 1, d: '2020-12-31', tm: '23:59:59.5', ts: '2020-01-01 00:00:00' }, { id: 2 }],
  );
  assert.deepEqual(rows, [
    {
      id: 0,
      d_mil: '3000-01-01',
      d_q: '2020-07-01',
      d_week: '2020-06-21',
      d_day: '2020-06-21',
      ts_week: '2020-06-28 00:00:00',
      ts_day: '2020-06-22 00:00:00',
      ts_sec: '2020-06-21 14:23:45',
      ts_us: '2020-06-21 14:23:44.123654',
      tm_hour: '15:00:00',
    },
    {
      id: 1,
      d_mil: '3000-01-01',
      d_q: '2021-01-01',
      d_week: '2021-01-03',
      d_day: '2020-12-31',
      ts_week: '2020-01-05 00:00:00',
      ts_day: '2020-01-01 00:00:00',
      ts_sec: '2020-01-01 00:00:00',
      ts_us: '2020-01-01 00:00:00',
      tm_hour: '00:00:00', // past the end of the day: wraps
    },
    {
      id: 2,
      d_mil: null,
      d_q: null,
      d_week: null,
      d_day: null,
      ts_week: null,
      ts_day: null,
      ts_sec: null,
      ts_us: null,
      tm_hour: null,
    },
  ]);
});

test('the numeric CEIL and FLOOR are untouched; a TO inside nested parentheses belongs to the outer call', async () => {
  const [r] = await run(
    'CEIL(id + 0.5) AS c, FLOOR(-1.5) AS f, FLOOR((ts) TO DAY) AS fd, CEIL(CEIL(1.2)) AS cc',
    [ROW],
  );
  assert.deepEqual(r, { c: 1, f: -2, fd: '2020-06-21 00:00:00', cc: 2 });
});

test('errors: a unit the type does not have, a non-time argument, a word that is not a unit', async () => {
  assert.match(
    await compileError('FLOOR(d TO HOUR) AS x'),
    /^SqlTypeError: FLOOR: unit HOUR is not defined for DATE/,
  );
  assert.match(
    await compileError('CEIL(tm TO DAY) AS x'),
    /^SqlTypeError: CEIL: unit DAY is not defined for TIME/,
  );
  assert.match(
    await compileError('CEIL(id TO DAY) AS x'),
    /^SqlTypeError: Cannot apply 'CEIL' to arguments of type INTEGER/,
  );
  assert.match(
    await compileError('FLOOR(ts TO FORTNIGHT) AS x'),
    /^SqlTypeError: FLOOR: FORTNIGHT is not a time unit \(line 2, column 50\)/,
  );
});

let pg: PGlite;
before(async () => {
  pg = await PGlite.create();
});
after(async () => {
  await pg.close();
});

test('oracle: FLOOR/CEIL of random timestamps agree with Postgres date_trunc (YEAR ... MICROSECOND)', async () => {
  const seed = Number(process.env.SEED ?? 20261206);
  console.log(`ceil-floor-to seed ${seed}`);
  let a = seed;
  const rnd = (n: number) => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a % n;
  };
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const rows: Rec[] = [];
  for (let i = 0; i < 60; i++) {
    // some values on a boundary, most not
    const onBoundary = rnd(4) === 0;
    const ts = onBoundary
      ? `${1900 + rnd(200)}-${pad(1 + rnd(12))}-01 00:00:00`
      : `${1900 + rnd(200)}-${pad(1 + rnd(12))}-${pad(1 + rnd(28))} ${pad(rnd(24))}:${pad(rnd(60))}:${pad(rnd(60))}.${pad(rnd(1_000_000), 6)}`;
    rows.push({ id: i, ts });
  }
  const units = ['YEAR', 'QUARTER', 'MONTH', 'DAY', 'HOUR', 'MINUTE', 'SECOND', 'MILLISECOND', 'MICROSECOND'];
  const got = await run(
    ['id', ...units.flatMap((u) => [`FLOOR(ts TO ${u}) AS f_${u}`, `CEIL(ts TO ${u}) AS c_${u}`])].join(', '),
    rows,
  );
  assert.equal(got.length, rows.length);
  const fmt = (s: string | null) =>
    s === null ? null : s.replace(/\.?0+$/, (m) => (m.startsWith('.') ? '' : m));
  for (const r of got) {
    const ts = (rows[r.id as number] as Rec).ts as string;
    for (const u of units) {
      const lower = u.toLowerCase();
      const q = await pg.query<{ f: string; c: string }>(
        `SELECT to_char(date_trunc('${lower}', $1::timestamp), 'YYYY-MM-DD HH24:MI:SS.US') AS f,
                to_char(CASE WHEN date_trunc('${lower}', $1::timestamp) = $1::timestamp THEN $1::timestamp
                             ELSE date_trunc('${lower}', $1::timestamp) + interval '${lower === 'quarter' ? '3 months' : `1 ${lower}`}' END,
                        'YYYY-MM-DD HH24:MI:SS.US') AS c`,
        [ts],
      );
      const want = q.rows[0] as { f: string; c: string };
      const norm = (s: unknown) => fmt(String(s).includes('.') ? String(s) : `${String(s)}.000000`);
      assert.equal(norm(r[`f_${lower}`]), fmt(want.f), `seed ${seed} FLOOR(${ts} TO ${u})`);
      assert.equal(norm(r[`c_${lower}`]), fmt(want.c), `seed ${seed} CEIL(${ts} TO ${u})`);
    }
  }
});
