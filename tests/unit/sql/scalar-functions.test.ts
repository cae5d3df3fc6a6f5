/**
 * The scalar functions of functions/scalar.ts: where Postgres has the same function with the same meaning, each
 * expression is evaluated by Holdfast and by PGlite and the texts must agree; Feldera's own functions and the
 * deliberate differences (README table) are checked against the values Feldera's reference gives.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { type ColumnSchema, compileProgram } from '../../../src/sql/program.ts';
import { formatValue } from '../../../src/sql/values/format.ts';
import { mismatches, type Oracle, type Outcome, startOracle } from './values/pg-oracle.ts';

let pg: Oracle;
before(async () => {
  pg = await startOracle();
});
after(async () => {
  await pg.close();
});

/** Evaluates each expression with Holdfast (as an ad-hoc SELECT over a program without tables) to text. */
async function evalOurs(exprs: readonly string[]): Promise<Outcome[]> {
  const c = (await compileProgram('')).instantiate();
  const out: Outcome[] = [];
  for (const e of exprs) {
    try {
      const r = await c.query(`SELECT ${e} AS x`);
      const v = r.rows[0]?.[0] ?? null;
      out.push({ value: v === null ? null : formatValue(v, (r.columns[0] as ColumnSchema).type) });
    } catch (err) {
      if (!isServiceError(err)) throw err;
      out.push({ error: err.message });
    }
  }
  return out;
}

/** Numbers agree to 1e-14 relative (the last digit of a double may differ: libm vs V8, NUMERIC vs DOUBLE). */
async function agreeWithPg(exprs: readonly string[]): Promise<void> {
  const [mine, theirs] = [await evalOurs(exprs), await pg.evalMany(exprs)];
  const near = (o: Outcome, ref: Outcome): Outcome => {
    if (!('value' in o) || !('value' in ref) || o.value === null || ref.value === null) return o;
    const [a, b] = [Number(o.value), Number(ref.value)];
    return Number.isFinite(a) && Math.abs(a - b) <= 1e-14 * Math.max(1, Math.abs(b)) ? ref : o;
  };
  const close = mine.map((o, i) => near(o, theirs[i] as Outcome));
  assert.deepEqual(mismatches(exprs, theirs, close, { compareMessages: false }), []);
}

async function expect(pairs: ReadonlyArray<readonly [string, string | null]>): Promise<void> {
  const got = await evalOurs(pairs.map(([e]) => e));
  const bad: string[] = [];
  pairs.forEach(([e, want], i) => {
    const g = got[i] as Outcome;
    if (!('value' in g) || g.value !== want) bad.push(`${e}: want ${want}, got ${JSON.stringify(g)}`);
  });
  assert.deepEqual(bad, []);
}

test('string functions that Postgres shares agree with PGlite', async () => {
  const strs = ["'hello world'", "'Ünïcödé 🐍x'", "''", "'a|b|c|'", 'NULL'];
  const exprs: string[] = [];
  for (const s of strs) {
    exprs.push(
      `LEFT(${s}, 3)`,
      `RIGHT(${s}, 3)`,
      `LEFT(${s}, 0)`,
      `REPEAT(${s}, 2)`,
      `REPEAT(${s}, -1)`,
      `REPLACE(${s}, 'l', 'L')`,
      `REPLACE(${s}, '', 'x')`,
      `REVERSE(${s})`,
      `INITCAP(${s})`,
      `SPLIT_PART(${s}, '|', 2)`,
      `SPLIT_PART(${s}, '|', -1)`,
      `SPLIT_PART(${s}, '|', 9)`,
      `SPLIT_PART(${s}, '', 1)`,
      `ASCII(${s})`,
      `MD5(${s})`,
      `OVERLAY(${s} PLACING 'XY' FROM 2 FOR 3)`,
      `OVERLAY(${s} PLACING 'XY' FROM 2)`,
      `CHR(ASCII(${s}) + 1)`,
      `REGEXP_REPLACE(${s}, '[lo]+', '_', 'g')`.replace(", 'g')", ')'),
    );
  }
  // Postgres's regexp_replace replaces only the first match unless 'g' is given: compare the 'g' form
  const pgExprs = exprs.map((e) => (e.startsWith('REGEXP_REPLACE') ? e.replace(/\)$/, ", 'g')") : e));
  const mine = await evalOurs(exprs);
  const theirs = await pg.evalMany(pgExprs);
  assert.deepEqual(mismatches(exprs, theirs, mine, { compareMessages: false }), []);
});

test('math functions that Postgres shares agree with PGlite', async () => {
  const xs = ['0.5E0', '2', '-3', '10.25', 'CAST(7 AS BIGINT)', 'NULL'];
  const exprs: string[] = [];
  for (const x of xs) {
    exprs.push(
      `SIN(${x})`,
      `COS(${x})`,
      `TAN(${x})`,
      `ATAN(${x})`,
      `SINH(${x})`,
      `COSH(${x})`,
      `TANH(${x})`,
      `ASINH(${x})`,
      `EXP(${x})`,
      `CBRT(${x})`,
      `DEGREES(${x})`,
      `RADIANS(${x})`,
      `ATAN2(${x}, 2)`,
      `POWER(${x}, 2)`,
      `SIGN(${x})`,
    );
  }
  exprs.push('MOD(17, 5)', 'MOD(-17, 5)', 'MOD(17, -5)', 'MOD(CAST(17 AS BIGINT), 5)', 'MOD(NULL, 5)');
  exprs.push('TRUNC(12.345, 2)', 'TRUNC(-12.345, 1)', 'TRUNC(12.345)', 'TRUNC(1234, -2)');
  exprs.push('GREATEST(1, 5, 3)', "LEAST('b', 'a', 'c')", 'GREATEST(1.5, 2)', 'ASIN(0.5E0)', 'ACOS(0.5E0)');
  exprs.push('ACOSH(2E0)', 'ATANH(0.5E0)', 'SQRT(16E0)', 'LN(EXP(1E0))', 'LOG10(1000E0)');
  await agreeWithPg(exprs);
});

test("Feldera's own functions and forms", async () => {
  await expect([
    ["LEN('abc🐍')", '4'],
    ["CONCAT_WS(',', 'Post', 'greSQL', NULL, '1')", 'Post,greSQL,,1'],
    ["CONCAT_WS(NULL, 'a')", null],
    ["CONCAT('Post', 'greSQL', 1)", 'PostgreSQL1'],
    ["CONCAT('a', NULL)", null],
    ['LEFT(1234, 2)', '12'],
    ["RLIKE('string', 's..i.*')", 't'],
    ["'string' RLIKE 'x'", 'f'],
    ["'string' NOT RLIKE 'x'", 't'],
    ["REGEXP_REPLACE('a1b22c', '[0-9]+')", 'abc'],
    ["REGEXP_REPLACE('abc', '(', 'x')", 'abc'],
    ["OVERLAY('Txxxxas' PLACING 'hom' FROM 2 FOR 4)", 'Thomas'],
    ["OVERLAY('abc' PLACING 'X' FROM 0 FOR 1)", 'abc'],
    ["OVERLAY('abc' PLACING 'X' FROM 9 FOR 1)", 'abcX'],
    ["OVERLAY(x'1234567890' PLACING x'0203' FROM 2 FOR 3)", '\\x12020390'],
    ["TO_HEX(x'0abc')", '0abc'],
    ["TO_INT(x'0abc')", '2748'],
    ["TO_INT('h@pPq')", '1749053520'],
    ["OCTET_LENGTH('josé')", '5'],
    ["OCTET_LENGTH(x'0abc')", '2'],
    ["LEFT(x'0abc12', 2)", '\\x0abc'],
    ["RIGHT('abc', -1)", ''],
    ["IF(1 < 2, 'yes', 'no')", 'yes'],
    ["IF(NULL, 'yes', 'no')", 'no'],
    ['GREATEST(1, NULL, 3)', null],
    ['GREATEST_IGNORE_NULLS(1, NULL, 3)', '3'],
    ['LEAST_IGNORE_NULLS(NULL, 4, 2)', '2'],
    ['LEAST_IGNORE_NULLS(NULL, NULL)', null],
    ['LOG(EXP(2E0))', '2'],
    ['LOG(8E0, 2E0)', '3'],
    ['1 <=> 1', 't'],
    ['NULL <=> NULL', 't'],
    ['1 <=> NULL', 'f'],
    ["IS_INF(CAST('-Infinity' AS DOUBLE))", 't'],
    ['IS_INF(CAST(1 AS DOUBLE))', 'f'],
    ['IS_NAN(SQRT(CAST(-1 AS DOUBLE)))', 't'],
    ['COT(1E0)', String(1 / Math.tan(1))],
    ['SEC(0E0)', '1'],
    ['CSCH(1E0)', String(1 / Math.sinh(1))],
    ['TRUNCATE(CAST(-12.9 AS DOUBLE))', '-12'],
    ['TRUNCATE(CAST(12.3456 AS DOUBLE), 2)', '12.34'],
    ['SIGN(CAST(-2.5 AS DECIMAL(4,1)))', '-1'],
    ['CHR(-1)', ''],
    ['BROUND(2.5)', '2'],
    ['BROUND(3.5)', '4'],
    ['BROUND(-2.5)', '-2'],
    ['BROUND(2.345, 2)', '2.34'],
    ['BROUND(2.355, 2)', '2.36'],
    ['BROUND(2.3451, 2)', '2.35'],
    ['BROUND(125, -1)', '120'],
    ["'Hawkeye' ILIKE 'h%EYE'", 't'],
    ["'Hawkeye' NOT ILIKE 'h%'", 'f'],
    ['ROUND(PI * 100)', '314'],
    ["INITCAP_SPACES('hello wORLD-x y')", 'Hello World-x Y'],
    ["BIN2UTF8(x'6665')", 'fe'],
    ["GUNZIP(x'1f8b08000000000000ff4b4bcd49492d4a0400218115ac07000000')", 'feldera'],
    ["LENGTH(CAST('ab' AS CHAR(5)))", '5'],
    ["CAST('ab' AS CHAR(4)) || 'x'", 'ab  x'],
    ["CONCAT(CAST('ab' AS CHAR(3)), 'x')", 'ab x'],
    ["CAST(CAST('ab' AS CHAR(4)) AS VARCHAR) || 'x'", 'abx'],
  ]);
});

test('run-time and compile-time errors', async () => {
  const got = await evalOurs([
    'LN(-1E0)',
    'LOG10(-1)',
    'SQRT(CAST(-4 AS DECIMAL(3,0)))',
    'MOD(1, 0)',
    'TO_HEX(1)',
    'OCTET_LENGTH(1.5E0)',
    "RLIKE('a', '(')",
    "IF(1, 'a', 'b')",
    "GREATEST('a', TRUE)",
  ]);
  for (const g of got) assert.ok('error' in g, JSON.stringify(got));
});

test('SAFE_CAST gives NULL where CAST fails; UUID casts to its 16 bytes', async () => {
  await expect([
    ["SAFE_CAST('12' AS INTEGER)", '12'],
    ["SAFE_CAST('x12' AS INTEGER)", null],
    ["safe_cast('2020-13-45' AS DATE)", null],
    ['SAFE_CAST(300 AS TINYINT)', null],
    ['SAFE_CAST(CAST(300 AS INTEGER) AS TINYINT)', null],
    ['SAFE_CAST(CAST(100 AS INTEGER) AS TINYINT)', '100'],
    [
      "CAST(CAST('724b11b7-5a71-4d18-b241-299f82d9b403' AS UUID) AS VARBINARY)",
      '\\x724b11b75a714d18b241299f82d9b403',
    ],
    ["CAST(CAST('724b11b7-5a71-4d18-b241-299f82d9b403' AS UUID) AS BINARY(2))", '\\x724b'],
  ]);
  const [err] = await evalOurs(["CAST('x12' AS INTEGER)"]);
  assert.ok(err && 'error' in err, 'CAST itself still fails');
});

test('a character string argument of a number function is converted: DOUBLE for SIN, EXP, ..., DECIMAL for CEIL, ROUND, SIGN', async () => {
  await expect([
    ["CAST(CAST('14' AS VARCHAR) AS VARCHAR)", '14'],
    ["SIN(CAST('0' AS VARCHAR))", '0'],
    ["EXP(CAST('0' AS VARCHAR))", '1'],
    ["ATAN2(CAST('0' AS VARCHAR), 1)", '0'],
    ["CEIL(CAST('-0.52' AS VARCHAR))", '0'],
    ["ROUND(CAST('14.5' AS VARCHAR))", '15'],
    ["SIGN(CAST('-3.5' AS VARCHAR))", '-1'],
    ["ABS(CAST('-2.25' AS VARCHAR))", '2.25'],
  ]);
  const [bad] = await evalOurs(["SIN(CAST('x' AS VARCHAR))"]);
  assert.ok(bad && 'error' in bad, JSON.stringify(bad));
});

test('|| of two non-string scalars converts both to VARCHAR (Feldera); of two byte strings concatenates the bytes', async () => {
  await expect([
    ['-12 || -12', '-12-12'],
    ['CAST(1.5 AS DECIMAL(3,1)) || 2', '1.52'],
    ["x'0b16' || x'20'", '\\x0b1620'],
    ["'a' || 1", 'a1'],
  ]);
});
