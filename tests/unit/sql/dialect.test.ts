/**
 * The dialect pre-pass (`src/sql/dialect.ts`): one test per rewrite, and that positions in errors are those of
 * the text the user wrote.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { type DialectToken, rewriteDialect } from '../../../src/sql/dialect.ts';
import { compileProgram } from '../../../src/sql/program.ts';

/** A minimal tokenizer for the tests: words, single-quoted strings and one-character punctuation. */
function tokens(sql: string): DialectToken[] {
  const out: DialectToken[] = [];
  const re = /('(?:[^']|'')*')|("(?:[^"]|"")*")|([A-Za-z_0-9$.]+)|(\S)/g;
  for (let m = re.exec(sql); m !== null; m = re.exec(sql)) {
    const kind = m[1] ? 'string' : m[2] ? 'qident' : m[3] ? 'word' : 'punct';
    out.push({ kind, text: m[0], start: m.index, end: m.index + m[0].length });
  }
  return out;
}

function rewrite(sql: string): string {
  const chars = sql.split('');
  rewriteDialect(tokens(sql), chars);
  const out = chars.join('');
  assert.equal(out.length, sql.length, 'positions are preserved');
  return out;
}

test('rewrite 1: SOME(...) as a call becomes s0me(...), keeping every position', () => {
  assert.equal(rewrite('SELECT SOME(x > 1), some (y) FROM t'), 'SELECT s0me(x > 1), s0me (y) FROM t');
});

test('rewrite 1: SOME after a comparison operator, in strings and quoted names is left alone', () => {
  const sql = `SELECT x = SOME(a), x <> SOME(b), x >= SOME(c), 'SOME(' AS s, "SOME"(x), SOMETHING(x) FROM t`;
  assert.equal(rewrite(sql), sql);
});

test('SOME compiles as Feldera’s aggregate and its errors name SOME at the written position', async () => {
  const p = await compileProgram(
    'CREATE TABLE t (b BOOLEAN, i INT);\nCREATE VIEW v AS SELECT SOME(b) AS s, SOME(i > 0) AS p FROM t;',
  );
  assert.deepEqual(
    p.views[0]?.columns.map((c) => c.type.kind),
    ['BOOLEAN', 'BOOLEAN'],
  );
  await assert.rejects(
    compileProgram('CREATE TABLE t (b BOOLEAN);\nCREATE VIEW v AS SELECT b FROM t WHERE SOME(b);'),
    (e: unknown) =>
      isServiceError(e) &&
      /aggregate function SOME is not allowed in WHERE/.test(e.message) &&
      /line 2/.test(e.message),
  );
  // a syntax error after the rewritten word is reported where it is without the rewrite (XOME: same length)
  const message = async (sql: string) =>
    compileProgram(sql).then(
      () => 'compiled',
      (e: Error) => e.message,
    );
  const after = ' FROM t WHERE ) ;';
  const pre = 'CREATE TABLE t (b BOOLEAN);\nCREATE VIEW v AS SELECT ';
  const withSome = await message(`${pre}SOME(b)${after}`);
  assert.match(withSome, /syntax error at or near "\)" at line 2/);
  assert.equal(withSome, await message(`${pre}XOME(b)${after}`));
});

test('rewrite 2: <integer type> UNSIGNED becomes one type name padded to the same length', () => {
  assert.equal(
    rewrite(
      'CREATE TABLE t (a TINYINT UNSIGNED, b int2 unsigned NOT NULL, c INT UNSIGNED, d BIGINT  UNSIGNED)',
    ),
    'CREATE TABLE t (a utinyint        , b usmallint     NOT NULL, c uinteger    , d ubigint         )',
  );
  const sql = "SELECT CAST(x AS INTEGER UNSIGNED), 'INT UNSIGNED' FROM t";
  assert.equal(rewrite(sql), "SELECT CAST(x AS uinteger        ), 'INT UNSIGNED' FROM t");
  const plain = 'CREATE TABLE unsigned (unsigned INT, x VARCHAR)';
  assert.equal(rewrite(plain), plain, 'UNSIGNED as a name is untouched');
});

test('rewrite 3: MAP[k, v, ...] becomes a call MAP(k, v, ...), nested brackets kept', () => {
  assert.equal(rewrite("SELECT MAP['a', a[1], 'b', 2] FROM t"), "SELECT MAP('a', a[1], 'b', 2) FROM t");
});

test('rewrite 4: ARRAY(e, ...) becomes _arry(e, ...); ARRAY(SELECT ...) and ARRAY[...] stay', () => {
  assert.equal(rewrite('SELECT ARRAY(1, 2), ARRAY[3] FROM t'), 'SELECT _arry(1, 2), ARRAY[3] FROM t');
  const sub = 'SELECT ARRAY(SELECT x FROM u) FROM t';
  assert.equal(rewrite(sub), sub);
});

test('rewrite 5: nested types and CREATE TYPE fields become same-length placeholders; values stay', () => {
  const out = rewrite(
    'CREATE TYPE p AS (x INT NOT NULL, y INT); CREATE TABLE t (m MAP<VARCHAR, INT ARRAY>, r ROW(a p NULL), a ARRAY<INT>, n INT ARRAY ARRAY NOT NULL);',
  );
  assert.match(
    out,
    /^CREATE TYPE p AS \(x _h0 {9}, y INT\); CREATE TABLE t \(m _h1 +, r _h2 +, a _h3 +, n _h4 + NOT NULL\);$/,
  );
  const values = 'SELECT ROW(a, b), ROW(1, 2), m < 3, x > 1 FROM t';
  assert.equal(rewrite(values), values);
});

test('FOREIGN KEY clauses (column form FOREIGN KEY REFERENCES t(c), table form) are accepted, not enforced', async () => {
  const p = await compileProgram(`CREATE TABLE a (id INT PRIMARY KEY);
CREATE TABLE b (id INT, aid INT FOREIGN KEY REFERENCES a(id), bid INT, FOREIGN KEY (bid) REFERENCES a(id));
CREATE MATERIALIZED VIEW v AS SELECT b.id FROM b JOIN a ON b.aid = a.id;`);
  assert.deepEqual(
    p.table('b')?.columns.map((c) => c.name),
    ['id', 'aid', 'bid'],
  );
  const c = p.instantiate();
  // a row referencing no row of a is accepted (Feldera does not enforce foreign keys)
  c.step(new Map([['b', { rows: [[1, 99, 98]], weights: [1] }]]));
  assert.deepEqual(c.contents('v').rows, []);
});
