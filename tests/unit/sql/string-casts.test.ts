/**
 * Feldera's text of values converted to strings where it differs from Postgres (README: deliberate differences):
 * REAL/DOUBLE (values/float-text.ts: `-987.0`, `0.0`, `1.6631e-6`, `4.78731782390219e-17` in Feldera's SQL test
 * suite, where Postgres writes `-987`, `0`, `1.6631e-06`) and BOOLEAN (`TRUE`, Postgres `true`), in every string
 * conversion: CAST to VARCHAR/CHAR, `||`, CONCAT and the string functions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { felderaDoubleText, felderaRealText } from '../../../src/sql/values/float-text.ts';
import type { Row } from '../../../src/zset/value.ts';

test('DOUBLE text: integral values keep .0, exponent form outside 1e-5 .. 1e16, non-finite', () => {
  const cases: [number, string][] = [
    [0, '0.0'],
    [-0, '-0.0'],
    [-987, '-987.0'],
    [-38, '-38.0'],
    [0.125, '0.125'],
    [-38.2711234601246, '-38.2711234601246'],
    [13.14159265358979, '13.14159265358979'],
    [1e15, '1000000000000000.0'],
    [1234567890123456, '1234567890123456.0'],
    [1e16, '1e16'],
    [-2.0888523318990548e16, '-2.0888523318990548e16'],
    [4.00874003085199e20, '4.00874003085199e20'],
    [4.895200910921146e37, '4.895200910921146e37'],
    [123456789012345680, '1.2345678901234568e17'],
    [0.0001, '0.0001'],
    [0.00001, '0.00001'],
    [0.000001, '1e-6'],
    [0.0000016631, '1.6631e-6'],
    [4.78731782390219e-17, '4.78731782390219e-17'],
    [5e-324, '5e-324'],
    [Number.MAX_VALUE, '1.7976931348623157e308'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'inf'],
    [Number.NEGATIVE_INFINITY, '-inf'],
  ];
  for (const [x, want] of cases) assert.equal(felderaDoubleText(x), want, String(x));
});

test('REAL text: float4 shortest digits, plain up to 13 integer digits and down to 1e-6', () => {
  const cases: [number, string][] = [
    [-57681.18, '-57681.18'],
    [-0.1234567, '-0.1234567'],
    [-987, '-987.0'],
    [0.1, '0.1'],
    [1e12, '1000000000000.0'],
    [1e13, '1e13'],
    [0.000015, '0.000015'],
    [0.0000015, '0.0000015'],
    [1.5e-7, '1.5e-7'],
    [3.4e38, '3.4e38'],
  ];
  for (const [x, want] of cases) assert.equal(felderaRealText(Math.fround(x)), want, String(x));
});

test('CAST, || and CONCAT of REAL/DOUBLE columns write Feldera text', async () => {
  const p = await compileProgram(`CREATE TABLE t(id INT, r REAL, d DOUBLE);
    CREATE MATERIALIZED VIEW v AS SELECT id, CAST(r AS VARCHAR) AS rs, CAST(d AS VARCHAR) AS ds,
      d || '' AS dcat, CONCAT(r, '|', d) AS rd, CAST(d AS CHAR(6)) AS dchar FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  const rows = [
    { id: 1, r: -987, d: 0 },
    { id: 2, r: -57681.18, d: -38.2711234601246 },
    { id: 3, r: 1e13, d: 1e16 },
  ];
  c.step(new Map([['t', { rows: rows.map((x) => rowFromJson(t, x)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((v) => v.name === 'v')?.columns ?? [];
  const got = c
    .contents('v')
    .rows.map((row) => rowToJson(cols, row as Row) as Record<string, unknown>)
    .sort((a, b) => (a.id as number) - (b.id as number));
  assert.deepEqual(got, [
    { id: 1, rs: '-987.0', ds: '0.0', dcat: '0.0', rd: '-987.0|0.0', dchar: '0.0   ' },
    {
      id: 2,
      rs: '-57681.18',
      ds: '-38.2711234601246',
      dcat: '-38.2711234601246',
      rd: '-57681.18|-38.2711234601246',
      dchar: '-38.27',
    },
    { id: 3, rs: '1e13', ds: '1e16', dcat: '1e16', rd: '1e13|1e16', dchar: '1e16  ' },
  ]);
});

test('a BOOLEAN converts to TRUE / FALSE in CAST, ||, CONCAT and string functions', async () => {
  const p = await compileProgram(`CREATE TABLE t(id INT, b BOOLEAN);
    CREATE MATERIALIZED VIEW v AS SELECT id, CAST(b AS VARCHAR) AS s, b || '!' AS c, CONCAT(b, b) AS cc,
      LEFT(b, 2) AS l FROM t;`);
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  const rows = [
    { id: 1, b: true },
    { id: 2, b: false },
  ];
  c.step(new Map([['t', { rows: rows.map((x) => rowFromJson(t, x)), weights: rows.map(() => 1) }]]));
  const cols = p.views.find((v) => v.name === 'v')?.columns ?? [];
  const got = c
    .contents('v')
    .rows.map((row) => rowToJson(cols, row as Row) as Record<string, unknown>)
    .sort((a, b) => (a.id as number) - (b.id as number));
  assert.deepEqual(got, [
    { id: 1, s: 'TRUE', c: 'TRUE!', cc: 'TRUETRUE', l: 'TR' },
    { id: 2, s: 'FALSE', c: 'FALSE!', cc: 'FALSEFALSE', l: 'FA' },
  ]);
});
