import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Decimal } from '../../../../src/sql/values/decimal.ts';
import { checkBigInt } from '../../../../src/sql/values/integers.ts';
import { mismatches, type Oracle, ours, prng, startOracle } from './pg-oracle.ts';

let pg: Oracle;
before(async () => {
  pg = await startOracle();
});
after(async () => {
  await pg.close();
});

const rand = prng(20240611);

function randomDecimalText(): string {
  const r = rand();
  if (r < 0.05) return '0';
  if (r < 0.1)
    return (
      (rand() < 0.5 ? '-' : '') +
      '0.' +
      '0'.repeat(Math.floor(rand() * 8)) +
      String(1 + Math.floor(rand() * 99))
    );
  const intDigits = Math.floor(rand() * 14);
  const fracDigits = Math.floor(rand() * 10);
  let s = rand() < 0.4 ? '-' : '';
  let int = '';
  for (let i = 0; i < intDigits; i++) int += String(Math.floor(rand() * 10));
  s += int === '' ? '0' : int.replace(/^0+(?=\d)/, '');
  if (fracDigits > 0) {
    s += '.';
    for (let i = 0; i < fracDigits; i++) s += String(Math.floor(rand() * 10));
  }
  return s;
}

function lit(t: string): string {
  return `'${t}'::numeric`;
}

test('parse and print like numeric_in / numeric_out', async () => {
  const inputs = [
    '12',
    '-1.50',
    '.5',
    '1e3',
    '1.5E-2',
    ' 42 ',
    '-0.00',
    '123.',
    '1.000e2',
    '1e-3',
    '+7',
    '0.000',
    '1_000.5',
    '-.5e1',
    '5e+2',
    '1E0',
    'abc',
    '',
    '1e',
    '1.2.3',
    '--1',
    '1 2',
    '_1',
    '1_',
    '1__0',
    '9'.repeat(40),
  ];
  const got = await pg.evalMany(inputs.map((s) => lit(s)));
  const mine = inputs.map((s) => ours(() => Decimal.parse(s, 'SqlRuntimeError').toString()));
  assert.deepEqual(mismatches(inputs, got, mine, { compareMessages: false }), []);
  // deliberate difference: Postgres numeric has NaN/Infinity, DECIMAL does not
  assert.throws(() => Decimal.parse('NaN'), /DECIMAL cannot hold/);
  assert.throws(() => Decimal.parse('abc'), {
    errorCode: 'InvalidRecord',
    message: 'invalid input syntax for type numeric: "abc"',
  });
});

test('arithmetic on random pairs matches Postgres (add, sub, mul, div, mod)', async () => {
  const labels: string[] = [];
  const exprs: string[] = [];
  const mine: ReturnType<typeof ours>[] = [];
  for (let i = 0; i < 600; i++) {
    const a = randomDecimalText();
    const b = i % 7 === 0 ? randomDecimalText().slice(0, 4) : randomDecimalText();
    const da = Decimal.parse(a);
    const db = Decimal.parse(b);
    const ops: [string, () => Decimal][] = [
      ['+', () => da.add(db)],
      ['-', () => da.sub(db)],
      ['*', () => da.mul(db)],
      ['/', () => da.div(db)],
      ['%', () => da.mod(db)],
    ];
    for (const [op, fn] of ops) {
      labels.push(`${a} ${op} ${b}`);
      exprs.push(`${lit(a)} ${op} ${lit(b)}`);
      mine.push(ours(() => fn().toString()));
    }
  }
  const got = await pg.evalMany(exprs);
  assert.deepEqual(mismatches(labels, got, mine), []);
});

test('division examples from the spec and scale edge cases', async () => {
  const pairs: [string, string][] = [
    ['7', '2'],
    ['1', '3'],
    ['0', '3'],
    ['1', '0'],
    ['2', '3'],
    ['10000', '3'],
    ['9999', '10000'],
    ['1', '10000'],
    ['123456789.123', '0.0007'],
    ['-1', '7'],
    ['1.00000000000000000000001', '3'],
    ['5', '-0.5'],
    ['1e-20', '3'],
    ['1e30', '7'],
    ['0.5', '0.5'],
    ['1', '9999'],
    ['99999999', '0.00000001'],
  ];
  const got = await pg.evalMany(pairs.map(([a, b]) => `${lit(a)} / ${lit(b)}`));
  const mine = pairs.map(([a, b]) => ours(() => Decimal.parse(a).div(Decimal.parse(b)).toString()));
  assert.deepEqual(
    mismatches(
      pairs.map((p) => p.join('/')),
      got,
      mine,
    ),
    [],
  );
  assert.equal(Decimal.fromBigInt(7n).div(Decimal.fromBigInt(2n)).toString(), '3.5000000000000000');
  assert.equal(Decimal.fromInt(1).div(Decimal.fromInt(3)).toString(), '0.33333333333333333333');
  assert.equal(Decimal.avg(Decimal.parse('10.5'), 4n).toString(), '2.6250000000000000');
});

test('round, trunc, floor, ceil, abs, neg and integer casts', async () => {
  const labels: string[] = [];
  const exprs: string[] = [];
  const mine: ReturnType<typeof ours>[] = [];
  const values = [
    '1234.5',
    '-1234.5',
    '2.5',
    '-2.5',
    '0.049',
    '1.5',
    '-0.5',
    '999.999',
    '0',
    '12345678901234567890.5',
  ];
  for (let i = 0; i < 60; i++) values.push(randomDecimalText());
  for (const v of values) {
    const d = Decimal.parse(v);
    for (const s of [-3, -2, -1, 0, 1, 2, 5]) {
      labels.push(`round(${v}, ${s})`, `trunc(${v}, ${s})`);
      exprs.push(`round(${lit(v)}, ${s})`, `trunc(${lit(v)}, ${s})`);
      mine.push(
        ours(() => d.round(s).toString()),
        ours(() => d.trunc(s).toString()),
      );
    }
    labels.push(`floor ${v}`, `ceil ${v}`, `abs ${v}`, `neg ${v}`, `::int8 ${v}`);
    exprs.push(`floor(${lit(v)})`, `ceil(${lit(v)})`, `abs(${lit(v)})`, `-${lit(v)}`, `${lit(v)}::int8`);
    mine.push(
      ours(() => d.floor().toString()),
      ours(() => d.ceil().toString()),
      ours(() => d.abs().toString()),
      ours(() => d.neg().toString()),
      ours(() => checkBigInt(d.toBigInt()).toString()),
    );
  }
  const got = await pg.evalMany(exprs);
  assert.deepEqual(mismatches(labels, got, mine), []);
});

test('fromDouble keeps 15 significant digits like float8 → numeric', async () => {
  const doubles = [
    1 / 3,
    0.1,
    0.5,
    1e20,
    1e-20,
    123456789.12345679,
    -2.5,
    1e300,
    5e-324,
    0,
    -0,
    2 ** 53 + 1,
    1e15,
    1e16,
  ];
  for (let i = 0; i < 80; i++) doubles.push((rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20));
  const got = await pg.evalMany(doubles.map((d) => `'${d}'::float8::numeric`));
  const mine = doubles.map((d) => ours(() => Decimal.fromDouble(d).toString()));
  assert.deepEqual(mismatches(doubles.map(String), got, mine), []);
  const reals = [1 / 3, 0.1, 123456.7, 1e10, 3.4e38];
  const got4 = await pg.evalMany(reals.map((d) => `'${Math.fround(d)}'::float4::numeric`));
  const mine4 = reals.map((d) => ours(() => Decimal.fromDouble(Math.fround(d), 6).toString()));
  assert.deepEqual(mismatches(reals.map(String), got4, mine4), []);
});

test('withTypmod rounds and overflows like numeric(p, s)', async () => {
  const cases: [string, number, number][] = [
    ['12345.678', 5, 2],
    ['123.456', 5, 2],
    ['999.995', 5, 2],
    ['-999.994', 5, 2],
    ['0.001', 3, 3],
    ['0.5', 1, 0],
    ['9.5', 1, 0],
    ['1234.5', 5, -2],
    ['123456', 5, -2],
    ['0.0123', 2, 3],
    ['0.0995', 2, 3],
    ['12', 5, 1],
    ['0', 1, 0],
  ];
  const got = await pg.evalMany(cases.map(([v, p, s]) => `${lit(v)}::numeric(${p}, ${s})`));
  const mine = cases.map(([v, p, s]) => ours(() => Decimal.parse(v).withTypmod(p, s).toString()));
  assert.deepEqual(
    mismatches(
      cases.map((c) => c.join(',')),
      got,
      mine,
    ),
    [],
  );
});

test('hashKey, equality and comparison ignore scale', () => {
  const a = Decimal.parse('1.5');
  const b = Decimal.parse('1.50');
  assert.equal(a.hashKey(), b.hashKey());
  assert.ok(a.equals(b));
  assert.notEqual(Decimal.parse('15').hashKey(), a.hashKey());
  assert.notEqual(Decimal.parse('150').hashKey(), Decimal.parse('15').hashKey());
  assert.equal(Decimal.parse('0.00').hashKey(), Decimal.ZERO.hashKey());
  assert.equal(Decimal.parse('-2').cmp(Decimal.parse('1.999')), -1);
  assert.equal(Decimal.parse('2.000').cmp(Decimal.parse('1.999')), 1);
  assert.equal(Decimal.parse('100').hashKey(), Decimal.parse('1e2').hashKey());
  for (let i = 0; i < 200; i++) {
    const x = Decimal.parse(randomDecimalText());
    const y = Decimal.parse(randomDecimalText());
    const viaNumber = Math.sign(x.toNumber() - y.toNumber());
    if (Math.abs(x.toNumber() - y.toNumber()) > 1e-6 * Math.max(1, Math.abs(x.toNumber()))) {
      assert.equal(x.cmp(y), viaNumber, `${x} vs ${y}`);
    }
    assert.equal(x.add(Decimal.ZERO.round(3)).hashKey(), x.hashKey());
  }
  assert.ok(Decimal.parse('3.000').isInteger());
  assert.ok(!Decimal.parse('3.001').isInteger());
  assert.equal(Decimal.parse('0.1').toNumber(), 0.1);
  assert.equal(Decimal.parse('123456789012345678901234567890.5').toNumber(), 1.2345678901234568e29);
});
