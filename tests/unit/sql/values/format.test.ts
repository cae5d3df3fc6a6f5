import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sqlType } from '../../../../src/sql/sql-type.ts';
import { Decimal } from '../../../../src/sql/values/decimal.ts';
import {
  formatDouble,
  formatReal,
  formatValue,
  parseJsonValue,
  parseTextValue,
  valueToJson,
} from '../../../../src/sql/values/format.ts';
import { mismatches, type Oracle, ours, prng, startOracle } from './pg-oracle.ts';

let pg: Oracle;
before(async () => {
  pg = await startOracle();
});
after(async () => {
  await pg.close();
});

const rand = prng(4242);

function randomDouble(): number {
  const r = rand();
  if (r < 0.3) return (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
  if (r < 0.5) return Math.round((rand() - 0.5) * 1e6) / 100;
  if (r < 0.6) return 10 ** Math.floor(rand() * 40 - 20);
  // random bit patterns
  const buf = new DataView(new ArrayBuffer(8));
  buf.setUint32(0, Math.floor(rand() * 2 ** 32));
  buf.setUint32(4, Math.floor(rand() * 2 ** 32));
  return buf.getFloat64(0);
}

test('float8 output matches Postgres for edge and random values', async () => {
  const values = [
    0,
    -0,
    1,
    -1,
    0.1,
    1e20,
    1e-5,
    1e15,
    1e14,
    123456789012345680,
    0.0001,
    0.00001234,
    999999999999999.9,
    1e-4,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    2 ** -1022,
    1 / 3,
    Number.NaN,
    Infinity,
    -Infinity,
    5e-324,
    1e21,
    1e22,
  ];
  for (let i = 0; i < 1500; i++) values.push(randomDouble());
  for (let i = 0; i < 300; i++) values.push(Math.floor(rand() * 2 ** (53 + Math.floor(rand() * 30))));
  const exprs = values.map(
    (v) => `'${Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v)}'::float8`,
  );
  const got = await pg.evalMany(exprs);
  const mine = values.map((v) => ours(() => formatDouble(v)));
  assert.deepEqual(mismatches(exprs, got, mine), []);
});

test('float4 output matches Postgres for edge and random values', async () => {
  const values = [
    0,
    -0,
    1,
    0.1,
    1234567,
    123456,
    0.0001,
    0.00001,
    3.4028234663852886e38,
    1.401298464324817e-45,
    1 / 3,
    16777217,
    2 ** 24,
    2 ** -126,
    1e10,
  ];
  for (let i = 0; i < 1500; i++) {
    const buf = new DataView(new ArrayBuffer(4));
    buf.setUint32(0, Math.floor(rand() * 2 ** 32));
    const f = buf.getFloat32(0);
    values.push(Number.isFinite(f) ? f : Math.fround(randomDouble()));
  }
  const fs = values.map((v) => Math.fround(v)).filter((v) => Number.isFinite(v));
  // float8 literal of the exact float32 value, then ::float4 (exact conversion)
  const exprs = fs.map((v) => `'${Object.is(v, -0) ? '-0' : String(v)}'::float8::float4`);
  const got = await pg.evalMany(exprs);
  const mine = fs.map((v) => ours(() => formatReal(v)));
  assert.deepEqual(mismatches(exprs, got, mine), []);
});

test('formatValue covers every kind', () => {
  assert.equal(formatValue(true, sqlType('BOOLEAN')), 't');
  assert.equal(formatValue(false, sqlType('BOOLEAN')), 'f');
  assert.equal(formatValue(12n, sqlType('BIGINT')), '12');
  assert.equal(formatValue(Decimal.parse('1.50'), sqlType('DECIMAL')), '1.50');
  assert.equal(formatValue(18262, sqlType('DATE')), '2020-01-01');
  assert.equal(formatValue(36_000_500_000, sqlType('TIME')), '10:00:00.5');
  assert.equal(formatValue(1_577_872_800_000_000, sqlType('TIMESTAMP')), '2020-01-01 10:00:00');
  assert.equal(formatValue(Math.fround(0.1), sqlType('REAL')), '0.1');
  assert.equal(formatValue(1e20, sqlType('DOUBLE')), '1e+20');
});

test('valueToJson', () => {
  assert.equal(valueToJson(5n, sqlType('BIGINT')), 5);
  assert.equal(valueToJson(2n ** 60n, sqlType('BIGINT')), '1152921504606846976');
  assert.equal(valueToJson(Decimal.parse('1.50'), sqlType('DECIMAL')), 1.5);
  assert.equal(valueToJson(Decimal.parse('0.1'), sqlType('DECIMAL')), 0.1);
  assert.equal(
    valueToJson(Decimal.parse('12345678901234567890'), sqlType('DECIMAL')),
    '12345678901234567890',
  );
  assert.equal(
    valueToJson(Decimal.parse('0.10000000000000000001'), sqlType('DECIMAL')),
    '0.10000000000000000001',
  );
  assert.equal(valueToJson(Math.fround(0.1), sqlType('REAL')), 0.1);
  assert.equal(valueToJson(Number.NaN, sqlType('DOUBLE')), 'NaN');
  assert.equal(valueToJson(18262, sqlType('DATE')), '2020-01-01');
  assert.equal(valueToJson(null, sqlType('DATE')), null);
  assert.equal(valueToJson(true, sqlType('BOOLEAN')), true);
});

test('parseJsonValue and parseTextValue', () => {
  const int = sqlType('INTEGER');
  assert.equal(parseJsonValue(5, int, 'c'), 5);
  assert.equal(parseJsonValue(' 5 ', int, 'c'), 5);
  assert.equal(parseJsonValue(null, int, 'c'), null);
  assert.throws(() => parseJsonValue(5.5, int, 'c'), {
    errorCode: 'InvalidRecord',
    message: /column "c": expected INTEGER/,
  });
  assert.throws(() => parseJsonValue(2 ** 31, int, 'c'), {
    errorCode: 'InvalidRecord',
    message: /column "c".*integer out of range/,
  });
  assert.throws(() => parseJsonValue('abc', int, 'c'), {
    errorCode: 'InvalidRecord',
    message: /invalid input syntax for type integer/,
  });
  assert.throws(() => parseJsonValue(true, int, 'c'), { errorCode: 'InvalidRecord' });
  const big = sqlType('BIGINT');
  assert.equal(parseJsonValue('9223372036854775807', big, 'b'), 9223372036854775807n);
  assert.equal(parseJsonValue(42, big, 'b'), 42n);
  assert.throws(() => parseJsonValue(2 ** 60, big, 'b'), { errorCode: 'InvalidRecord' });
  assert.throws(() => parseJsonValue('9223372036854775808', big, 'b'), {
    message: /out of range for type bigint/,
  });
  const dec = sqlType('DECIMAL', true, { precision: 5, scale: 2 });
  assert.equal((parseJsonValue(1.5, dec, 'd') as Decimal).toString(), '1.50');
  assert.equal((parseJsonValue('123.456', dec, 'd') as Decimal).toString(), '123.46');
  assert.throws(() => parseJsonValue(1234.5, dec, 'd'), {
    errorCode: 'InvalidRecord',
    message: /numeric field overflow/,
  });
  assert.equal(parseJsonValue(0.1, sqlType('REAL'), 'r'), Math.fround(0.1));
  assert.equal(parseJsonValue('NaN', sqlType('DOUBLE'), 'r'), Number.NaN);
  assert.equal(parseJsonValue(true, sqlType('BOOLEAN'), 'x'), true);
  assert.equal(parseJsonValue('yes', sqlType('BOOLEAN'), 'x'), true);
  assert.equal(parseJsonValue('2020-01-01', sqlType('DATE'), 'x'), 18262);
  assert.equal(parseJsonValue('2020-01-01T10:00:00Z', sqlType('TIMESTAMP'), 'x'), 1_577_872_800_000_000);
  assert.equal(parseJsonValue('10:00:00.5', sqlType('TIME'), 'x'), 36_000_500_000);
  assert.equal(parseJsonValue('ab', sqlType('CHAR', true, { length: 4 }), 'x'), 'ab  ');
  assert.throws(() => parseJsonValue('abcde', sqlType('VARCHAR', true, { length: 4 }), 'x'), {
    errorCode: 'InvalidRecord',
    message: /value too long for type character varying\(4\)/,
  });
  assert.throws(() => parseJsonValue(5, sqlType('VARCHAR'), 'x'), {
    errorCode: 'InvalidRecord',
    message: /expected VARCHAR, got number 5/,
  });
  assert.equal(parseTextValue('12', sqlType('SMALLINT'), 'x'), 12);
  assert.throws(() => parseTextValue('40000', sqlType('SMALLINT'), 'x'), {
    message: /value "40000" is out of range for type smallint/,
  });
  assert.equal(parseTextValue('t', sqlType('BOOLEAN'), 'x'), true);
  assert.equal((parseTextValue('1e3', sqlType('DECIMAL'), 'x') as Decimal).toString(), '1000');
});
