import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  compileExtract,
  dateAddDays,
  dateDiff,
  dateToTimestamp,
  formatDate,
  formatTime,
  formatTimestamp,
  parseDate,
  parseTime,
  parseTimestamp,
  type TemporalKind,
  timestampToDate,
  timestampToTime,
  USECS_PER_DAY,
} from '../../../../src/sql/values/temporal.ts';
import { mismatches, type Oracle, ours, prng, startOracle } from './pg-oracle.ts';

let pg: Oracle;
before(async () => {
  pg = await startOracle();
});
after(async () => {
  await pg.close();
});

const rand = prng(777);

const FIELDS = [
  'year',
  'quarter',
  'month',
  'week',
  'day',
  'dow',
  'isodow',
  'doy',
  'hour',
  'minute',
  'second',
  'millisecond',
  'microsecond',
  'epoch',
  'decade',
  'century',
  'millennium',
  'isoyear',
  'julian',
  'timezone',
  'bogus',
  'YEARS',
  'msec',
  'microseconds',
];

function randomDate(): number {
  const r = rand();
  // mostly modern dates, some far past/future (including BC)
  if (r < 0.8) return Math.floor(rand() * 150_000) - 70_000;
  return Math.floor(rand() * 4_000_000) - 2_400_000;
}

function randomTime(): number {
  const r = rand();
  if (r < 0.3) return Math.floor(rand() * 86_400) * 1_000_000;
  if (r < 0.4) return Math.floor(rand() * 86_400_000) * 1_000;
  return Math.floor(rand() * USECS_PER_DAY);
}

test('date/time/timestamp text round-trips against Postgres', async () => {
  const dates = [
    0,
    -1,
    10957,
    -719162,
    -719163,
    -719528,
    2932896,
    ...Array.from({ length: 200 }, randomDate),
  ];
  const times = [0, 1, 500_000, 86_399_999_999, USECS_PER_DAY, ...Array.from({ length: 100 }, randomTime)];
  // keep timestamps where µs are exact in a double (|µs| < 2^53)
  const stamps = Array.from({ length: 200 }, () => {
    const d = Math.floor(rand() * 150_000) - 70_000;
    return d * USECS_PER_DAY + (Math.abs(d) < 100_000 ? randomTime() : Math.floor(rand() * 86_400) * 1e6);
  });
  const exprs = [
    ...dates.map((d) => `date '1970-01-01' + ${d}`),
    ...times.map((t) => `time '00:00' + interval '${t} microseconds'`),
    ...stamps.map((t) => {
      const d = Math.floor(t / USECS_PER_DAY);
      return `timestamp '1970-01-01' + interval '${d} days' + interval '${t - d * USECS_PER_DAY} microseconds'`;
    }),
  ];
  const got = await pg.evalMany(exprs);
  const mine = [
    ...dates.map((d) => ours(() => formatDate(d))),
    ...times.map((t) => ours(() => (t === USECS_PER_DAY ? '00:00:00' : formatTime(t)))),
    ...stamps.map((t) => ours(() => formatTimestamp(t))),
  ];
  assert.deepEqual(mismatches(exprs, got, mine), []);
  // and parse back what we print
  for (const d of dates) assert.equal(parseDate(formatDate(d)), d);
  for (const t of times) assert.equal(parseTime(formatTime(t)), t);
  for (const t of stamps) assert.equal(parseTimestamp(formatTimestamp(t)), t);
  assert.equal(formatTime(USECS_PER_DAY), '24:00:00');
});

test('parsing accepts Postgres ISO forms and rejects like Postgres', async () => {
  const dates = [
    '2020-01-05',
    '2020-1-5',
    ' 2020-02-29 ',
    '2019-02-29',
    '2020-13-01',
    '2020-00-10',
    'x',
    '20-1-1',
    '0044-03-15 BC',
    '2020-01-01x',
    '5874898-01-01',
    '10000-01-01',
  ];
  const times = [
    '10:00',
    '10:00:30',
    '10:00:30.5',
    '23:59:60',
    '24:00',
    '24:00:01',
    '25:00',
    '10:60',
    '1:2:3',
    '10:00:00.1234565',
    '10:00:00.9999999',
    'x',
    '10',
  ];
  const stamps = [
    '2020-01-01 10:00:00',
    '2020-01-01T10:00:00',
    '2020-01-01',
    '2020-01-01 24:00:00',
    '2020-01-01 10:00:00+02',
    '2020-01-01T10:00:00Z',
    '2020-01-01 10:00:00.1234575',
    '2020-01-01 10:00:00 BC',
    'x',
    '2020-02-30 10:00',
    '2020-01-01 25:00',
  ];
  const exprs = [
    ...dates.map((s) => `'${s}'::date`),
    ...times.map((s) => `'${s}'::time`),
    ...stamps.map((s) => `'${s}'::timestamp`),
  ];
  const got = await pg.evalMany(exprs);
  const mine = [
    ...dates.map((s) => ours(() => formatDate(parseDate(s)))),
    ...times.map((s) => ours(() => formatTime(parseTime(s)))),
    ...stamps.map((s) => ours(() => formatTimestamp(parseTimestamp(s)))),
  ];
  assert.deepEqual(mismatches(exprs, got, mine, { compareMessages: false }), []);
  assert.throws(() => parseDate('2020-02-30'), {
    errorCode: 'InvalidRecord',
    message: 'date/time field value out of range: "2020-02-30"',
  });
  assert.throws(() => parseDate('x', 'SqlRuntimeError'), {
    errorCode: 'SqlRuntimeError',
    message: 'invalid input syntax for type date: "x"',
  });
});

test('EXTRACT of every unit over random dates, times and timestamps', async () => {
  const labels: string[] = [];
  const exprs: string[] = [];
  const mine: ReturnType<typeof ours>[] = [];
  const add = (kind: TemporalKind, literal: string, v: number) => {
    for (const f of FIELDS) {
      labels.push(`${f} from ${kind} ${literal}`);
      exprs.push(`extract(${f} from ${literal})`);
      mine.push(ours(() => compileExtract(f, kind)(v).toString()));
    }
  };
  const dates = [0, -719162, -719163, -719529, -1, 18262, 18628, ...Array.from({ length: 60 }, randomDate)];
  for (const d of dates) add('DATE', `date '${formatDate(d)}'`, d);
  for (let i = 0; i < 40; i++) {
    const t = randomTime();
    add('TIME', `time '${formatTime(t)}'`, t);
  }
  add('TIME', `time '24:00:00'`, USECS_PER_DAY);
  for (let i = 0; i < 60; i++) {
    const d = i < 50 ? Math.floor(rand() * 100_000) - 50_000 : randomDate();
    const t = d * USECS_PER_DAY + (i < 50 ? randomTime() : Math.floor(rand() * 86_400) * 1e6);
    add('TIMESTAMP', `timestamp '${formatTimestamp(t)}'`, t);
  }
  const got = await pg.evalMany(exprs);
  assert.deepEqual(mismatches(labels, got, mine), []);
});

test('compileExtract refuses units at compile time with Postgres messages', () => {
  assert.throws(() => compileExtract('hour', 'DATE'), {
    errorCode: 'SqlRuntimeError',
    message: 'unit "hour" not supported for type date',
  });
  assert.throws(() => compileExtract('Year', 'TIME'), {
    message: 'unit "year" not supported for type time without time zone',
  });
  assert.throws(() => compileExtract('foo', 'TIMESTAMP'), {
    message: 'unit "foo" not recognized for type timestamp without time zone',
  });
  assert.equal(compileExtract('SECOND', 'TIMESTAMP')(30_500_000).toString(), '30.500000');
});

test('date arithmetic helpers', async () => {
  const cases: [number, number][] = [
    [0, 1],
    [18262, -365],
    [-719162, -1],
    [2145042905, 1],
    [-2440588, -1],
    [100, 2145042805],
  ];
  const got = await pg.evalMany(cases.map(([d, n]) => `date '1970-01-01' + ${d} + ${n}`));
  const mine = cases.map(([d, n]) => ours(() => formatDate(dateAddDays(d, n))));
  // Postgres evaluates (date + d) first, so only compare when that step is itself in range
  assert.deepEqual(mismatches(cases.map(String), got, mine, { compareMessages: false }), []);
  assert.equal(dateDiff(parseDate('2020-01-01'), parseDate('2019-01-01')), 365);
  assert.equal(formatTimestamp(dateToTimestamp(parseDate('2020-03-04'))), '2020-03-04 00:00:00');
  assert.throws(() => dateToTimestamp(parseDate('294277-01-01')), {
    message: 'date out of range for timestamp',
  });
  const ts = parseTimestamp('1969-12-31 23:59:59.5');
  assert.equal(formatDate(timestampToDate(ts)), '1969-12-31');
  assert.equal(formatTime(timestampToTime(ts)), '23:59:59.5');
});

test('canonical dates and timestamps (read without the regular expression) agree with the calendar, and invalid ones still fail', () => {
  const seed = Number(process.env.TEMPORAL_SEED ?? Date.now() % 1_000_000);
  let x = seed || 1;
  const rand = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const p2 = (n: number): string => String(n).padStart(2, '0');
  for (let i = 0; i < 20000; i++) {
    const y = 1 + rand(9999);
    const m = 1 + rand(13); // 13: invalid
    const d = 1 + rand(31); // may not exist in the month
    const h = rand(25); // 24: only 24:00:00 is valid, and not in the canonical reader
    const mi = rand(60);
    const s = rand(61); // 60: a leap second (full grammar)
    const fdigits = rand(9);
    const frac = Array.from({ length: fdigits }, () => String(rand(10))).join('');
    const sep = rand(2) === 0 ? ' ' : 'T';
    const date = `${String(y).padStart(4, '0')}-${p2(m)}-${p2(d)}`;
    const text = `${date}${sep}${p2(h)}:${p2(mi)}:${p2(s)}${fdigits > 0 ? `.${frac}` : ''}`;
    const dt = new Date(0);
    dt.setUTCFullYear(y, m - 1, d);
    const valid = m <= 12 && dt.getUTCDate() === d;
    const msg = `seed ${seed} (TEMPORAL_SEED): ${text}`;
    if (!valid) {
      assert.throws(() => parseTimestamp(text), msg);
      assert.throws(() => parseDate(date), msg);
      continue;
    }
    const days = Math.round(dt.getTime() / 86400000);
    assert.equal(parseDate(date), days, msg);
    if (h === 24 && (mi > 0 || s > 0 || /[1-9]/.test(frac))) {
      assert.throws(() => parseTimestamp(text), msg);
      continue;
    }
    const f =
      fdigits === 0 ? 0 : fdigits <= 6 ? Number(frac.padEnd(6, '0')) : Math.round(Number(`0.${frac}`) * 1e6);
    const want = days * 86400e6 + (h * 3600e6 + mi * 60e6 + s * 1e6 + f);
    // fractions of more than 6 digits round half to even; compare within a microsecond there
    const got = parseTimestamp(text);
    if (fdigits > 6) assert.ok(Math.abs(got - want) <= Math.max(1, Math.abs(want) * 2 ** -52), msg);
    else assert.equal(got, want, msg);
    assert.equal(
      parseTimestamp(`${date}${sep}${p2(h)}:${p2(mi)}`),
      days * 86400e6 + (h * 3600e6 + mi * 60e6),
      msg,
    );
  }
});
