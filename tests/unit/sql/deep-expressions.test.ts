/**
 * Long and deep expressions: left-deep chains of +, -, *, || and long OR/AND lists (thousands of terms)
 * compile, run and answer ad-hoc queries; a chain too long for the parser and a nesting past the limit are
 * a clean SqlUnsupported with the statement's position, never a stack overflow (SystemError).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError, type ServiceError } from '../../../src/errors/service-error.ts';
import { MAX_EXPR_DEPTH } from '../../../src/sql/parse.ts';
import { compileProgram } from '../../../src/sql/program.ts';

const TABLE = "CREATE TABLE t (x INT NOT NULL, s VARCHAR) WITH ('materialized' = 'true');\n";
const chain = (n: number, op: string, term: string) => Array.from({ length: n }, () => term).join(op);

async function run(view: string): Promise<unknown[][]> {
  const p = await compileProgram(`${TABLE}CREATE MATERIALIZED VIEW v AS ${view};`);
  const c = p.instantiate();
  c.step({
    t: {
      rows: [
        [1, 'a'],
        [2, 'b'],
      ],
      weights: [1, 1],
    },
  });
  return (await c.query('SELECT * FROM v ORDER BY 1')).rows as unknown[][];
}

const tooDeep = (pattern: RegExp) => (e: unknown) => {
  assert.ok(isServiceError(e, 'SqlUnsupported'), `expected SqlUnsupported, got ${(e as Error).message}`);
  assert.match((e as ServiceError).message, pattern);
  assert.equal(typeof (e as ServiceError).details.line, 'number');
  return true;
};

test('chains of 3,000 and 5,000 terms compile, run and are queried ad hoc', {
  timeout: 120_000,
}, async () => {
  for (const n of [3000, 5000]) {
    assert.deepEqual(await run(`SELECT ${chain(n, ' + ', '1')} AS s FROM t`), [[n], [n]]);
    assert.deepEqual(await run(`SELECT ${chain(n, ' + ', 'x')} AS s FROM t`), [[n], [2 * n]]);
    assert.deepEqual(await run(`SELECT x - ${chain(n, ' - ', '1')} AS s FROM t`), [[1 - n], [2 - n]]);
    assert.deepEqual(await run(`SELECT ${chain(n, ' || ', 's')} AS s FROM t`), [
      ['a'.repeat(n)],
      ['b'.repeat(n)],
    ]);
  }
  assert.deepEqual(await run(`SELECT x FROM t WHERE ${chain(3000, ' OR ', 'x = 2')}`), [[2]]);
  assert.deepEqual(await run(`SELECT x FROM t WHERE ${chain(3000, ' AND ', 'x > 1')}`), [[2]]);
  // with GROUP BY: aggregates found in a long expression
  assert.deepEqual(await run(`SELECT ${chain(3000, ' + ', 'SUM(x)')} AS s FROM t`), [[9000]]);
  // ad hoc
  const p = await compileProgram(`${TABLE}CREATE MATERIALIZED VIEW v AS SELECT x FROM t;`);
  const c = p.instantiate();
  c.step({ t: { rows: [[1, 'a']], weights: [1] } });
  assert.deepEqual((await c.query(`SELECT ${chain(3000, ' + ', 'x')} FROM v`)).rows, [[3000]]);
});

test('a chain too long for the parser (20,000 terms) is SqlUnsupported at its statement', async () => {
  const sql = `${TABLE}CREATE VIEW v AS SELECT ${chain(20_000, ' + ', '1')} AS s FROM t;`;
  await assert.rejects(
    compileProgram(sql),
    tooDeep(/nested too deeply for the SQL parser.*\(line 2, column 1\)/),
  );
  const p = await compileProgram(`${TABLE}CREATE MATERIALIZED VIEW v AS SELECT x FROM t;`);
  await assert.rejects(
    p.instantiate().query(`SELECT ${chain(20_000, ' + ', 'x')} FROM v`),
    (e) => isServiceError(e, 'AdHocQueryError') && /nested too deeply/.test((e as Error).message),
  );
});

test('nesting past the limit is SqlUnsupported naming the depth; at the limit it compiles', async () => {
  const nest = (n: number, f: (inner: string) => string) => {
    let s = 'x';
    for (let i = 0; i < n; i++) s = f(s);
    return s;
  };
  // right-deep arithmetic, nested function calls, nested CASE: each level is a level
  await assert.rejects(
    compileProgram(`${TABLE}CREATE VIEW v AS SELECT ${nest(3000, (s) => `1 + (${s})`)} AS s FROM t;`),
    tooDeep(new RegExp(`expression nested too deeply: \\d+ levels, limit ${MAX_EXPR_DEPTH}`)),
  );
  await assert.rejects(
    compileProgram(`${TABLE}CREATE VIEW v AS SELECT ${nest(3000, (s) => `abs(${s})`)} AS s FROM t;`),
    tooDeep(/nested too deeply/),
  );
  await assert.rejects(
    compileProgram(`${TABLE}CREATE VIEW v AS SELECT ${nest(20_000, (s) => `(${s} + 1)`)} AS s FROM t;`),
    tooDeep(/nested too deeply/),
  );
  const ok = MAX_EXPR_DEPTH - 20;
  assert.deepEqual(await run(`SELECT ${nest(ok, (s) => `abs(${s})`)} AS s FROM t`), [[1], [2]]);
  assert.deepEqual(await run(`SELECT ${nest(ok, (s) => `1 + (${s})`)} AS s FROM t`), [[ok + 1], [ok + 2]]);
  // redundant parentheses are not levels
  assert.deepEqual(await run(`SELECT ${'('.repeat(3000)}x${')'.repeat(3000)} AS s FROM t`), [[1], [2]]);
});
