import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ServiceError } from '../../../../src/errors/service-error.ts';
import { type SqlType, sqlType, type TypeKind } from '../../../../src/sql/sql-type.ts';
import { compileCast } from '../../../../src/sql/values/cast.ts';
import { compareValues } from '../../../../src/sql/values/compare.ts';
import { Decimal } from '../../../../src/sql/values/decimal.ts';
import { formatValue, parseTextValue } from '../../../../src/sql/values/format.ts';
import {
  bigDiv,
  bigMod,
  bigMul,
  floatDiv,
  floatMul,
  intAdd,
  intDiv,
  intMod,
  intMul,
  intNeg,
  type NumberIntKind,
} from '../../../../src/sql/values/integers.ts';
import { mismatches, type Oracle, type Outcome, ours, prng, startOracle } from './pg-oracle.ts';

let pg: Oracle;
before(async () => {
  pg = await startOracle();
});
after(async () => {
  await pg.close();
});

const PG: Record<string, string> = {
  BOOLEAN: 'boolean',
  SMALLINT: 'smallint',
  INTEGER: 'integer',
  BIGINT: 'bigint',
  REAL: 'real',
  DOUBLE: 'double precision',
  DECIMAL: 'numeric',
  VARCHAR: 'varchar',
  CHAR: 'char',
  DATE: 'date',
  TIME: 'time',
  TIMESTAMP: 'timestamp',
};

function pgTypeOf(t: SqlType): string {
  if (t.kind === 'DECIMAL' && t.precision != null) return `numeric(${t.precision}, ${t.scale ?? 0})`;
  if ((t.kind === 'CHAR' || t.kind === 'VARCHAR') && t.length != null) return `${PG[t.kind]}(${t.length})`;
  return PG[t.kind] as string;
}

/** Source values per kind, as SQL literal text (cast from text in both engines). */
const SAMPLES: Record<string, string[]> = {
  BOOLEAN: ['true', 'false'],
  SMALLINT: ['0', '-32768', '32767', '127', '-129'],
  INTEGER: ['0', '1', '-1', '2147483647', '-2147483648', '40000', '200'],
  BIGINT: ['0', '9223372036854775807', '-9223372036854775808', '3000000000', '16777217', '9007199254740993'],
  REAL: [
    '0',
    '1.5',
    '2.5',
    '-2.5',
    '3.5',
    '0.1',
    '1e10',
    '3e38',
    'NaN',
    'Infinity',
    '-0',
    '32767.5',
    '1e-40',
  ],
  DOUBLE: [
    '0',
    '1.5',
    '2.5',
    '-2.5',
    '0.1',
    '1e20',
    '1e300',
    'NaN',
    '-Infinity',
    '2147483647.5',
    '-2147483648.4',
    '1e-300',
    '9.3e18',
    '1e-50',
    '123456.789',
  ],
  DECIMAL: [
    '0',
    '1.5',
    '-1.5',
    '2.5',
    '-2.49',
    '123.456',
    '99999.995',
    '1e20',
    '0.0001',
    '2147483647.4',
    '2147483647.5',
    '32767.5',
    '9223372036854775807.5',
    '1e40',
  ],
  VARCHAR: [
    'abc',
    ' 12 ',
    'true',
    ' t ',
    'off',
    '2020-01-01',
    '10:00:00',
    '2020-01-01 10:00',
    '1e3',
    '1.5',
    'NaN',
    'ab  ',
    '0x1F',
    '1_000',
  ],
  CHAR: ['ab  ', '1'],
  DATE: ['2020-01-01', '1970-01-01', '0001-01-01'],
  TIME: ['10:00:00', '23:59:59.999999', '00:00:00.5'],
  TIMESTAMP: ['2020-01-01 10:00:00', '1969-12-31 23:59:59.5', '2000-02-29 00:00:00'],
};

const TARGETS: SqlType[] = [
  sqlType('BOOLEAN'),
  sqlType('SMALLINT'),
  sqlType('INTEGER'),
  sqlType('BIGINT'),
  sqlType('REAL'),
  sqlType('DOUBLE'),
  sqlType('DECIMAL'),
  sqlType('DECIMAL', true, { precision: 5, scale: 2 }),
  sqlType('DECIMAL', true, { precision: 3, scale: -1 }),
  sqlType('VARCHAR'),
  sqlType('VARCHAR', true, { length: 2 }),
  sqlType('CHAR', true, { length: 4 }),
  sqlType('DATE'),
  sqlType('TIME'),
  sqlType('TIMESTAMP'),
];

test('cast matrix matches Postgres (values, runtime errors and refused pairs)', async () => {
  const labels: string[] = [];
  const exprs: string[] = [];
  const mine: Outcome[] = [];
  for (const [fromKind, samples] of Object.entries(SAMPLES)) {
    const from = fromKind === 'CHAR' ? sqlType('CHAR', true, { length: 4 }) : sqlType(fromKind as TypeKind);
    for (const to of TARGETS) {
      let fn: ((v: unknown) => unknown) | null = null;
      let refusal: string | null = null;
      try {
        fn = compileCast(from, to) as (v: unknown) => unknown;
      } catch (e) {
        refusal = (e as Error).message;
      }
      for (const sample of samples) {
        const src = `'${sample}'::${pgTypeOf(from)}`;
        labels.push(`${src} → ${pgTypeOf(to)}`);
        // char(n) output keeps its padding; show it with a bar
        exprs.push(to.kind === 'CHAR' ? `(${src}::${pgTypeOf(to)})::text || '|'` : `${src}::${pgTypeOf(to)}`);
        mine.push(
          ours(() => {
            if (refusal !== null) throw new ServiceError('SqlTypeError', refusal);
            const v = parseTextValue(sample, from, 'x');
            const out = (fn as (v: unknown) => unknown)(v);
            const text = formatValue(out as never, to);
            return to.kind === 'CHAR'
              ? `${text.trimEnd()}|`
              : to.kind === 'BOOLEAN'
                ? out
                  ? 'true'
                  : 'false'
                : text;
          }),
        );
      }
    }
  }
  const got = await pg.evalMany(exprs);
  // deliberate: DECIMAL has no NaN/±Infinity (Postgres numeric has); '1_000' as a date differs in message only;
  // REAL/DOUBLE → text is Feldera's layout (`0.0`, `1e20`, `inf`: tests/unit/sql/string-casts.test.ts), and boolean →
  // text Feldera's upper case (`TRUE`)
  const known = (label: string) =>
    /(NaN|Infinity).*numeric/.test(label) ||
    /1_000.*→ (date|timestamp)/.test(label) ||
    /::(real|double precision|boolean) → (varchar|char)/.test(label) ||
    // Feldera's own pairs (src/sql/values/feldera-casts.ts, tests/unit/sql/feldera-casts.test.ts): numbers ↔
    // BOOLEAN and TIMESTAMP, fractions cut toward zero into integers, TIME → TIMESTAMP, no date part in a TIME
    /::(smallint|integer|bigint|real|double precision|numeric) → (boolean|timestamp)/.test(label) ||
    /::timestamp → (smallint|integer|bigint|real|double precision|numeric)/.test(label) ||
    /::(real|double precision|numeric) → (smallint|integer|bigint)/.test(label) ||
    /::time → timestamp/.test(label) ||
    /'2020-01-01( 10:00)?'::varchar → time/.test(label);
  const keep = labels.map((l) => !known(l));
  assert.deepEqual(
    mismatches(
      labels.filter((_, i) => keep[i]),
      got.filter((_, i) => keep[i]),
      mine.filter((_, i) => keep[i]),
    ),
    [],
  );
});

test('compileCast refuses pairs at compile time with SqlTypeError', () => {
  assert.throws(() => compileCast(sqlType('DATE'), sqlType('INTEGER')), {
    errorCode: 'SqlTypeError',
    message: 'cannot cast type date to integer',
  });
  assert.throws(() => compileCast(sqlType('BOOLEAN'), sqlType('BIGINT')), {
    message: 'cannot cast type boolean to bigint',
  });
  assert.throws(() => compileCast(sqlType('DATE'), sqlType('TIME')), {
    message: 'cannot cast type date to time without time zone',
  });
  assert.equal(compileCast(sqlType('BOOLEAN'), sqlType('VARCHAR'))(true), 'TRUE');
  assert.equal(compileCast(sqlType('BOOLEAN'), sqlType('CHAR', true, { length: 5 }))(false), 'FALSE');
  assert.equal(compileCast(sqlType('TINYINT'), sqlType('BIGINT'))(5), 5n);
  assert.throws(() => compileCast(sqlType('INTEGER'), sqlType('TINYINT'))(200), {
    message: 'tinyint out of range',
  });
  assert.throws(
    () => compileCast(sqlType('VARCHAR'), sqlType('VARCHAR', true, { length: 2 }), false)('abc'),
    {
      message: 'value too long for type character varying(2)',
    },
  );
});

test('integer and float arithmetic errors match Postgres', async () => {
  const rand = prng(5);
  const labels: string[] = [];
  const exprs: string[] = [];
  const mine: Outcome[] = [];
  const kinds: [NumberIntKind, string, number][] = [
    ['SMALLINT', 'int2', 32768],
    ['INTEGER', 'int4', 2147483648],
  ];
  for (const [kind, pgt, lim] of kinds) {
    const vals = [0, 1, -1, 7, -7, lim - 1, -lim, Math.floor(lim / 2), 181, -46341, 46341];
    for (let i = 0; i < 20; i++) vals.push(Math.floor((rand() * 2 - 1) * lim));
    for (const a of vals.filter((v) => v < lim && v >= -lim)) {
      for (const b of [0, 1, -1, 2, -3, 7, lim - 1, -lim, 46341]) {
        if (b >= lim || b < -lim) continue;

        for (const [op, fn] of [
          ['+', intAdd],
          ['*', intMul],
          ['/', intDiv],
          ['%', intMod],
        ] as const) {
          labels.push(`${a}::${pgt} ${op} ${b}::${pgt}`);
          exprs.push(`(${a})::${pgt} ${op} (${b})::${pgt}`);
          mine.push(ours(() => String(fn(kind, a, b))));
        }
      }
      labels.push(`-${a}::${pgt}`);
      exprs.push(`-((${a})::${pgt})`);
      mine.push(ours(() => String(intNeg(kind, a))));
    }
  }
  const bigs = [0n, 1n, -1n, 7n, -9223372036854775808n, 9223372036854775807n, 3037000500n];
  for (const a of bigs) {
    for (const b of [0n, -1n, 3n, 3037000500n]) {
      for (const [op, fn] of [
        ['*', bigMul],
        ['/', bigDiv],
        ['%', bigMod],
      ] as const) {
        labels.push(`${a} ${op} ${b}`);
        exprs.push(`(${a})::int8 ${op} (${b})::int8`);
        mine.push(ours(() => String(fn(a, b))));
      }
    }
  }
  for (const [a, b] of [
    [1, 0],
    [Number.NaN, 0],
    [1e308, 1e-10],
    [1e-300, 1e300],
    [0, 0],
  ] as const) {
    labels.push(`${a} / ${b}`, `${a} * ${b}`);
    exprs.push(`'${a}'::float8 / '${b}'::float8`, `'${a}'::float8 * '${b}'::float8`);
    mine.push(ours(() => formatValue(floatDiv('DOUBLE', a, b), sqlType('DOUBLE'))));
    mine.push(ours(() => formatValue(floatMul('DOUBLE', a, b), sqlType('DOUBLE'))));
  }
  const got = await pg.evalMany(exprs);
  assert.deepEqual(mismatches(labels, got, mine), []);
});

test('compareValues orders like Postgres (C collation, NaN last)', async () => {
  const strs = ['a', 'B', 'b', '', 'ab', 'é', 'z', '\uE000', '😀', 'a b', 'A', '~'];
  const floats = [1, -1, 0, Number.NaN, Infinity, -Infinity, 1e-300, 2.5];
  const decs = ['1.50', '1.5', '-2', '10', '0.001', '-0.5'];
  const got = await pg.evalMany([
    `(SELECT string_agg(s, ',' ORDER BY s COLLATE "C") FROM unnest(ARRAY[${strs.map((s) => `'${s}'`).join(',')}]) s)`,
    `(SELECT string_agg(f::text, ',' ORDER BY f) FROM unnest(ARRAY[${floats.map((f) => `'${f}'::float8`).join(',')}]) f)`,
    `(SELECT string_agg(d::text, ',' ORDER BY d, d::text) FROM unnest(ARRAY[${decs.map((d) => `${d}::numeric`).join(',')}]) d)`,
  ]);
  const sortedStrs = [...strs].sort((a, b) => compareValues(a, b, 'VARCHAR'));
  const sortedFloats = [...floats]
    .sort((a, b) => compareValues(a, b, 'DOUBLE'))
    .map((f) => formatValue(f, sqlType('DOUBLE')));
  const sortedDecs = decs
    .map((d) => Decimal.parse(d))
    .sort((a, b) => compareValues(a, b, 'DECIMAL') || (a.toString() < b.toString() ? -1 : 1))
    .map(String);
  assert.deepEqual(got, [
    { value: sortedStrs.join(',') },
    { value: sortedFloats.join(',') },
    { value: sortedDecs.join(',') },
  ]);
  assert.equal(compareValues('ab  ', 'ab', 'CHAR'), 0);
  assert.equal(compareValues(false, true, 'BOOLEAN'), -1);
  assert.equal(compareValues(2n, 10n, 'BIGINT'), -1);
});
