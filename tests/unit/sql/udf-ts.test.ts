/**
 * TypeScript UDFs (the udf_ts program field): SQL ↔ TS value mapping for every supported type, the compile-time
 * checks (each error code with its udf_ts position), run-time failures, the sandbox (no Node API, no engine
 * realm reachable, no clock), definitions that follow udf_ts, the TS stubs, and `holdfast run --udf`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { runCommand } from '../../../src/runner/run-command.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import { formatValue } from '../../../src/sql/values/format.ts';
import type { Row, Value } from '../../../src/zset/value.ts';

const isErr = (code: string, re: RegExp) => (e: unknown) => {
  assert.ok(isServiceError(e), String(e));
  assert.equal(e.errorCode, code, e.message);
  assert.match(e.message, re);
  assert.ok(!/\n\s+at /.test(e.message), 'no stack trace in the message');
  return true;
};

/** Runs `SELECT expr FROM t` over one row of t and returns the formatted results. */
async function evalRows(sql: string, udfTs: string, rows: Row[]): Promise<string[]> {
  const p = await compileProgram(sql, { udfTs });
  const c = p.instantiate();
  const out = c.step(new Map([['t', { rows, weights: rows.map(() => 1) }]]));
  const b = out.get('v');
  assert.ok(b);
  const cols = p.outputs.find((v) => v.name === 'v')?.columns ?? [];
  return b.rows
    .map((r) => r.map((v, i) => (v === null ? 'NULL' : formatValue(v as Value, cols[i]!.type))).join('|'))
    .sort();
}

test('SQL types map to TS types and back (README table), NULL to null', async () => {
  const sql = `
CREATE FUNCTION inc(x INT) RETURNS INT;
CREATE FUNCTION big(x BIGINT NOT NULL) RETURNS BIGINT NOT NULL;
CREATE FUNCTION half(x DOUBLE) RETURNS DOUBLE;
CREATE FUNCTION money(x DECIMAL(10, 2)) RETURNS DECIMAL(10, 2);
CREATE FUNCTION shout(s VARCHAR) RETURNS VARCHAR;
CREATE FUNCTION neg(b BOOLEAN) RETURNS BOOLEAN;
CREATE FUNCTION rev(b VARBINARY) RETURNS VARBINARY;
CREATE FUNCTION twice(a INT ARRAY) RETURNS INT ARRAY;
CREATE FUNCTION keys(m MAP<VARCHAR, INT>) RETURNS MAP<VARCHAR, INT>;
CREATE TABLE t (i INT, b BIGINT NOT NULL, d DOUBLE, m DECIMAL(10, 2), s VARCHAR, f BOOLEAN, y VARBINARY);
CREATE VIEW v AS SELECT inc(i), big(b), half(d), money(m), shout(s), neg(f), rev(y),
  twice(ARRAY[i, 2]), keys(MAP['a', i]) FROM t;`;
  const udf = `
export function inc(x: number | null): number | null { return x === null ? null : x + 1; }
export const big = (x: bigint): bigint => x * 2n;
export function half(x: number | null): number | null { return x === null ? null : x / 2; }
export function money(x: string | null): string | null { return x === null ? null : x + '5'; }
export function shout(s: string | null): string | null { return s === null ? null : s.toUpperCase(); }
export function neg(b: boolean | null): boolean | null { return b === null ? null : !b; }
export function rev(b: Uint8Array | null): Uint8Array | null { return b === null ? null : b.slice().reverse(); }
export function twice(a: Array<number | null> | null): Array<number | null> | null {
  return a === null ? null : a.map((x) => (x === null ? null : x * 2));
}
function helper(m: Map<string | null, number | null> | null): Map<string | null, number | null> | null {
  if (m === null) return null;
  const out = new Map<string | null, number | null>();
  for (const [k, v] of m) out.set(k === null ? null : k + k, v);
  return out;
}
export { helper as keys };
`;
  const rows = await evalRows(sql, udf, [
    [41, 2n ** 40n, 3, null, 'hey', true, '0a0b'],
    [null, -1n, null, null, null, null, null],
  ]);
  assert.deepEqual(rows, [
    '42|2199023255552|1.5|NULL|HEY|f|\\x0b0a|[82,4]|{"aa":41}',
    'NULL|-2|NULL|NULL|NULL|NULL|NULL|[null,4]|{"aa":null}',
  ]);
});

test('DATE, TIME and TIMESTAMP cross as their CAST text; an ad-hoc query can call a TS UDF', async () => {
  const sql = `CREATE FUNCTION next_day(d DATE) RETURNS DATE;
CREATE FUNCTION hour_of(t TIME NOT NULL) RETURNS INT NOT NULL;
CREATE FUNCTION later(ts TIMESTAMP) RETURNS TIMESTAMP;
CREATE TABLE t (d DATE, tm TIME NOT NULL, ts TIMESTAMP) WITH ('materialized' = 'true');
CREATE VIEW v AS SELECT next_day(d), hour_of(tm), later(ts) FROM t;`;
  const udfTs = `export function next_day(d: string | null): string | null {
  if (d === null) return null;
  const t = new Date(d + 'T00:00:00Z');
  return new Date(t.getTime() + 86400000).toISOString().slice(0, 10);
}
export const hour_of = (t: string): number => Number(t.slice(0, 2));
export const later = (ts: string | null): string | null => (ts === null ? null : ts.replace('12:', '13:'));
`;
  const p = await compileProgram(sql, { udfTs });
  const c = p.instantiate();
  const row = [19782, 45296123456, 1709210096500000]; // 2024-02-29, 12:34:56.123456, 2024-02-29 12:34:56.5
  const out = c.step(new Map([['t', { rows: [row], weights: [1] }]]));
  const cols = p.outputs[0]?.columns ?? [];
  assert.deepEqual(
    out.get('v')?.rows[0]?.map((v, i) => formatValue(v as Value, cols[i]!.type)),
    ['2024-03-01', '12', '2024-02-29 13:34:56.5'],
  );
  const r = await c.query('SELECT next_day(d) AS n FROM t');
  assert.deepEqual(r.rows, [[19783]]);
  // a result that is not a date is a run-time error naming the function
  const bad = await compileProgram(sql, {
    udfTs: udfTs.replace('toISOString().slice(0, 10)', "toISOString() + '!'"),
  });
  assert.throws(
    () => bad.instantiate().step(new Map([['t', { rows: [row], weights: [1] }]])),
    isErr('UdfRuntimeError', /function next_day returned a value that does not fit DATE/),
  );
});

test('a DECIMAL argument is its exact text, and the result is rounded to the declared scale', async () => {
  const p = await compileProgram(
    'CREATE FUNCTION money(x DECIMAL(10, 2) NOT NULL) RETURNS DECIMAL(10, 2) NOT NULL;\nCREATE VIEW v AS SELECT money(CAST(12.5 AS DECIMAL(10, 2))) AS m;',
    { udfTs: 'export function money(x: string): string { return x + "57"; }' },
  );
  const out = p.instantiate().step(new Map());
  const type = p.outputs[0]!.columns[0]!.type;
  assert.equal(formatValue(out.get('v')?.rows[0]?.[0] as Value, type), '12.51'); // '12.5057' → 12.51
});

const SQL1 =
  'CREATE FUNCTION f(x INT) RETURNS INT;\nCREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT f(x) AS y FROM t;';

test('compile errors: each has its code, names the function, and gives the udf_ts (or SQL) position', async () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      '',
      'UdfMissingExport',
      /function f is declared without a body, and the program has no udf_ts.*\(line 1, column 17\)/,
    ],
    [
      'export function g(x: number | null): number | null { return x; }',
      'UdfMissingExport',
      /udf_ts exports no function named f; add: export function f\(x: number \| null\): number \| null/,
    ],
    [
      'export function f(x: number | null, y: number): number | null { return x; }',
      'UdfTypeError',
      /function f takes 1 argument in the SQL .*, but the udf_ts function takes 2 \(udf_ts line 1, column 17\)/,
    ],
    [
      'export function f(x: number): number { return x; }',
      'UdfTypeError',
      /function f: the udf_ts export does not match the SQL declaration f\(x INTEGER\) RETURNS INTEGER.*'null' is not assignable to type 'number'.*\(udf_ts line 1, column 17\)/,
    ],
    [
      'export function f(x: string | null): string | null { return x; }',
      'UdfTypeError',
      /does not match the SQL declaration.*\(udf_ts line 1, column 17\)/,
    ],
    ['export const f = 3;', 'UdfTypeError', /udf_ts export f is not a function/],
    [
      '// a comment\nexport function f(x: number | null): number | null {\n  return x +;\n}',
      'UdfSyntaxError',
      /udf_ts: Expression expected\. \(udf_ts line 3, column 13\)/,
    ],
    [
      'export function f(x: number | null): number | null {\n  const s: string = x;\n  return x;\n}',
      'UdfTypeError',
      /Type 'number \| null' is not assignable to type 'string'.*\(udf_ts line 2, column 9\)/,
    ],
    [
      'export function f(x: number | null): number | null {\n  process.exit(1);\n  return x;\n}',
      'UdfTypeError',
      /cannot find name 'process': a UDF runs with JavaScript's built-ins only.*\(udf_ts line 2, column 3\)/,
    ],
    [
      'export function f(x: number | null): number | null {\n  return require("fs") ? x : x;\n}',
      'UdfTypeError',
      /cannot find name 'require'.*\(udf_ts line 2, column 10\)/,
    ],
    [
      'import { readFileSync } from "node:fs";\nexport function f(x: number | null): number | null { return x; }',
      'UdfTypeError',
      /udf_ts cannot import modules.*\(udf_ts line 1, column 1\)/,
    ],
    [
      'export function f(x: number | null): number | null { return x; }\nexport default f;',
      'UdfTypeError',
      /exports functions by name.*\(udf_ts line 2, column 1\)/,
    ],
    [
      'enum E { A }\nexport function f(x: number | null): number | null { return x; }',
      'UdfSyntaxError',
      /enum is not erasable TypeScript.*\(udf_ts line 1, column 1\)/,
    ],
    [
      'throw new Error("boom at load");\nexport function f(x: number | null): number | null { return x; }',
      'UdfRuntimeError',
      /udf_ts failed while loading: Error: boom at load \(udf_ts line 1, column 7\)/,
    ],
  ];
  for (const [udfTs, code, re] of cases)
    await assert.rejects(compileProgram(SQL1, { udfTs }), isErr(code, re), udfTs);
  // a declaration whose type has no TS mapping is refused at the SQL position
  await assert.rejects(
    compileProgram('CREATE FUNCTION d(x ROW(a INT)) RETURNS INT;', {
      udfTs: 'export const d = (x: number) => x;',
    }),
    isErr(
      'SqlUnsupported',
      /function d: ROW.* is not supported in a function implemented in udf_ts \(line 1/,
    ),
  );
  // udf_ts with a syntax error is reported even when no function is declared without a body
  await assert.rejects(
    compileProgram('CREATE TABLE t (x INT);', { udfTs: 'export function (' }),
    isErr('UdfSyntaxError', /udf_ts line 1/),
  );
  // SQL alone (no ExternalFunctions field given) still compiles programs without bodiless functions
  await compileProgram('CREATE TABLE t (x INT);');
});

test('run-time failures are UdfRuntimeError with the udf_ts position, and the sandbox has no Node API', async () => {
  const udfTs = `export function f(x: number | null): number | null {
  if (x === 1) throw new RangeError('one is not allowed');
  if (x === 2) return (globalThis as any).process.exit(1);
  if (x === 3) return (globalThis as any).require('node:fs');
  if (x === 4) return ({}).constructor.constructor('return process')();
  if (x === 5) return (x as any).constructor.constructor('return this')().process.pid;
  if (x === 6) return Math.random();
  if (x === 7) return Date.now();
  if (x === 8) return new Date().getTime();
  if (x === 9) return 1.5;
  if (x === 10) return undefined as any;
  if (x === 11) return 2 ** 40;
  if (x === 12) return '12' as any;
  return x;
}`;
  const p = await compileProgram(SQL1, { udfTs });
  const c = p.instantiate();
  const expected: Array<[number, RegExp]> = [
    [1, /function f threw: RangeError: one is not allowed \(udf_ts line 2, column 22\)/],
    [
      2,
      /function f threw: TypeError: Cannot read properties of undefined \(reading 'exit'\) \(udf_ts line 3, column 51\)/,
    ],
    [3, /function f threw: TypeError: .*require.* is not a function \(udf_ts line 4/],
    [
      4,
      /function f threw: EvalError: Code generation from strings disallowed for this context \(udf_ts line 5/,
    ],
    [5, /function f threw: EvalError: Code generation from strings disallowed/],
    [6, /Math\.random is not available in a UDF: UDFs must be deterministic/],
    [7, /Date\.now is not available in a UDF/],
    [8, /new Date\(\) without arguments is not available in a UDF/],
    [9, /function f returned the number 1\.5 where an integral number \(INTEGER\) is expected/],
    [10, /function f returned undefined where an integral number \(INTEGER\) is expected/],
    [11, /function f returned 1099511627776 is out of range for INTEGER/],
    [12, /function f returned the string "12" where an integral number \(INTEGER\) is expected/],
  ];
  for (const [x, re] of expected)
    assert.throws(
      () => c.step(new Map([['t', { rows: [[x]], weights: [1] }]])),
      isErr('UdfRuntimeError', re),
    );
  // the process is still here, and the circuit still computes other rows
  const ok = new Map([['t', { rows: [[100]], weights: [1] }]]);
  assert.deepEqual(p.instantiate().step(ok).get('v')?.rows, [[100]]);
});

test('NULL for a NOT NULL parameter is refused before the call; null for a NOT NULL result is a UdfRuntimeError', async () => {
  const p = await compileProgram(
    'CREATE FUNCTION f(x INT NOT NULL) RETURNS INT NOT NULL;\nCREATE TABLE t (x INT);\nCREATE VIEW v AS SELECT f(x) AS y FROM t;',
    { udfTs: 'export function f(x: number): number { return x === 0 ? (null as any) : x; }' },
  );
  const c = p.instantiate();
  assert.throws(
    () => c.step(new Map([['t', { rows: [[null]], weights: [1] }]])),
    isErr('SqlRuntimeError', /NULL passed for parameter "x", which is NOT NULL/),
  );
  assert.throws(
    () => c.step(new Map([['t', { rows: [[0]], weights: [1] }]])),
    isErr('UdfRuntimeError', /function f returned null where the SQL type is NOT NULL/),
  );
});

test('a changed udf_ts changes the definition of the views that call its functions, and only those', async () => {
  const sql = `${SQL1}\nCREATE VIEW plain AS SELECT x FROM t;`;
  const defs = async (udfTs: string) => {
    const c = (await compileProgram(sql, { udfTs })).instantiate();
    return Object.fromEntries(c.relations.map((r) => [r.name, JSON.stringify(r.definition)]));
  };
  const a = await defs('export const f = (x: number | null) => x;');
  const b = await defs('export const f = (x: number | null) => (x === null ? null : x + 1);');
  assert.notEqual(a.v, b.v);
  assert.equal(a.plain, b.plain);
  assert.equal(a.t, b.t);
});

test('program_info.udf_stubs: a TS stub per function declared without a body', async () => {
  const p = await compileProgram(
    'CREATE FUNCTION f(x INT, s VARCHAR NOT NULL) RETURNS BIGINT NOT NULL;\nCREATE FUNCTION g(x INT) RETURNS INT AS x;',
    { udfTs: 'export function f(x: number | null, s: string): bigint { return 1n; }' },
  );
  assert.equal(
    p.udfStubs,
    "// f(x INTEGER, s VARCHAR NOT NULL) RETURNS BIGINT NOT NULL\nexport function f(x: number | null, s: string): bigint {\n  throw new Error('f is not implemented');\n}\n",
  );
});

test('holdfast run --udf FILE', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-udf-run-'));
  writeFileSync(join(dir, 'p.sql'), SQL1);
  writeFileSync(
    join(dir, 'udf.ts'),
    'export function f(x: number | null): number | null { return x === null ? null : x * 10; }',
  );
  writeFileSync(join(dir, 't.jsonl'), '{"x": 1}\n{"x": 2}\n');
  const lines: string[] = [];
  const out = await runCommand(
    {
      program: join(dir, 'p.sql'),
      udf: join(dir, 'udf.ts'),
      inputs: [{ table: 't', path: join(dir, 't.jsonl') }],
      batchSize: 1,
      output: 'json',
      steps: false,
      explain: false,
    },
    (l) => lines.push(l),
  );
  assert.deepEqual(
    out
      .get('v')
      ?.map((r) => r[0])
      .sort(),
    [10, 20],
  );
});
