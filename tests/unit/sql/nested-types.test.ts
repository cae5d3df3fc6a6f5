/**
 * ARRAY, MAP, ROW, user-defined types and VARIANT end to end (compile → step → JSON rows): declarations in every
 * form Feldera accepts, JSON input and output, constructors, indexing and field access with their NULL rules,
 * the collection functions, nested values as GROUP BY / DISTINCT / join / set-operation keys (incrementally,
 * with deletes), and array comparisons checked against Postgres (PGlite) where the two agree.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import type { Row } from '../../../src/zset/value.ts';
import { type Oracle, startOracle } from './values/pg-oracle.ts';

type Rec = Record<string, unknown>;

function contents(columns: Parameters<typeof rowToJson>[0], b: Batch): Rec[] {
  const out: Rec[] = [];
  b.rows.forEach((row, i) => {
    for (let k = 0; k < (b.weights[i] as number); k++) out.push(rowToJson(columns, row as Row) as Rec);
  });
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Compiles `sql`; `steps` are lists of [table, record, weight] applied one step each; returns view `view`. */
async function runSteps(sql: string, steps: Array<Array<[string, Rec, number]>>, view = 'v'): Promise<Rec[]> {
  const p = await compileProgram(sql);
  const c = p.instantiate();
  for (const step of steps) {
    const m = new Map<string, { rows: Row[]; weights: number[] }>();
    for (const [name, rec, w] of step) {
      const t = p.table(name) as TableSchema;
      const e = m.get(name) ?? { rows: [], weights: [] };
      e.rows.push(rowFromJson(t, rec));
      e.weights.push(w);
      m.set(name, e);
    }
    c.step(m);
  }
  return contents(p.views.find((v) => v.name === view)?.columns ?? [], c.contents(view));
}

const run = (sql: string, rows: Rec[], view = 'v') =>
  runSteps(sql, [rows.map((r) => ['t', r, 1] as [string, Rec, number])], view);

async function compileError(sql: string): Promise<{ code: string; message: string }> {
  try {
    await compileProgram(sql);
  } catch (e) {
    if (isServiceError(e)) return { code: e.errorCode, message: e.message };
    throw e;
  }
  throw new Error('expected a compile error');
}

test('types: every declaration form, and JSON in → JSON out unchanged', async () => {
  const sql = `
    CREATE TYPE point AS (x INT NOT NULL, y INT NULL);
    CREATE TYPE shape AS (name VARCHAR, pts point ARRAY);
    CREATE TABLE t (
      a INT ARRAY, b ARRAY<VARCHAR>, c INT ARRAY ARRAY NOT NULL, d MAP<VARCHAR, INT ARRAY>,
      e ROW(i INT NOT NULL, m MAP<VARCHAR, DECIMAL(6, 2)>) NULL, f shape, g VARIANT, h BIGINT ARRAY
    );
    CREATE MATERIALIZED VIEW v AS SELECT * FROM t;`;
  const rec = {
    a: [1, null, 3],
    b: ['x', null],
    c: [[1], [], [2, 3]],
    d: { k: [1, 2], j: null },
    e: { i: 7, m: { z: 1.5, a: null } },
    f: {
      name: 'tri',
      pts: [
        { x: 1, y: null },
        { x: 2, y: 3 },
      ],
    },
    g: { any: ['json', 1, 2.5, true, null] },
    h: [9007199254740993n.toString()],
  };
  const [got] = await run(sql, [rec]);
  assert.deepEqual(got, {
    ...rec,
    d: { j: null, k: [1, 2] },
    e: { i: 7, m: { a: null, z: 1.5 } },
    g: '{"any":["json",1,2.5,true,null]}',
    h: ['9007199254740993'],
  });
});

test('types: a NOT NULL component refuses NULL on input, naming the column', async () => {
  const p = await compileProgram('CREATE TYPE pt AS (x INT NOT NULL); CREATE TABLE t (p pt);');
  assert.throws(
    () => rowFromJson(p.table('t') as TableSchema, { p: { x: null } }),
    /column "p".*must not be null/,
  );
  assert.throws(
    () => rowFromJson(p.table('t') as TableSchema, { p: [1, 2] }),
    (e) => isServiceError(e),
  );
  const q = await compileProgram('CREATE TABLE t (a INT ARRAY);');
  assert.throws(() => rowFromJson(q.table('t') as TableSchema, { a: { x: 1 } }), /expected INTEGER ARRAY/);
});

test('types: an inline ROW field is NOT NULL unless declared NULL, a CREATE TYPE field nullable unless NOT NULL', async () => {
  const p = await compileProgram(
    'CREATE TYPE pt AS (x INT, y INT NOT NULL); CREATE TABLE t (r ROW(x INT, y INT NULL), p pt);',
  );
  const t = p.table('t') as TableSchema;
  assert.throws(() => rowFromJson(t, { r: { x: null, y: 1 } }), /column "r": field x must not be null/);
  assert.throws(() => rowFromJson(t, { p: { x: 1, y: null } }), /column "p": field y must not be null/);
  assert.deepEqual(
    await run(
      'CREATE TYPE pt AS (x INT, y INT NOT NULL); CREATE TABLE t (r ROW(x INT, y INT NULL), p pt); CREATE MATERIALIZED VIEW v AS SELECT * FROM t;',
      [{ r: { x: 1, y: null }, p: { x: null, y: 2 } }],
    ),
    [{ r: { x: 1, y: null }, p: { x: null, y: 2 } }],
  );
});

test('VARIANT: a JSON null in a nullable VARIANT slot is an SQL NULL, in a NOT NULL one the VARIANT null', async () => {
  // Feldera's variant_tests: an inline ROW's VARIANT fields are NOT NULL by default (null reads as the VARIANT
  // null, written "null"); a CREATE TYPE's fields, ARRAY elements and MAP values are nullable (SQL NULL)
  const sql = `
    CREATE TYPE vt AS (v1 VARIANT, v2 VARIANT NOT NULL);
    CREATE TABLE t (id INT, r ROW(v1 VARIANT, v2 VARIANT NULL), u vt, a VARIANT ARRAY, m MAP<VARCHAR, VARIANT>);
    CREATE MATERIALIZED VIEW v AS SELECT id, t.r.v1 AS r1, t.r.v2 AS r2, t.u.v1 AS u1, t.u.v2 AS u2, a[1] AS a1,
      m['k'] AS mk, TYPEOF(t.r.v1) AS tr1, TYPEOF(t.u.v1) AS tu1 FROM t;`;
  const nulls = { v1: null, v2: null };
  assert.deepEqual(await run(sql, [{ id: 1, r: nulls, u: nulls, a: [null], m: { k: null } }]), [
    { id: 1, r1: 'null', r2: null, u1: null, u2: 'null', a1: null, mk: null, tr1: 'VARIANT', tu1: 'NULL' },
  ]);
});

test('view columns: a name the query repeats gets a fresh one (i1, i10, ...); a repeated column-list name is an error', async () => {
  const sql = `CREATE TABLE t (id INT, c1 ROW(i1 INT, i2 INT NULL), c2 ROW(i1 INT, i2 INT NULL), i10 INT);
    CREATE MATERIALIZED VIEW v AS SELECT id, t.c1.i1, t.c1.i2, t.c2.i1, t.c2.i2, id, i10, 5 AS i1 FROM t;`;
  assert.deepEqual(await run(sql, [{ id: 1, c1: { i1: 2, i2: null }, c2: { i1: 3, i2: 4 }, i10: 5 }]), [
    // in order, as Calcite does: t.c2.i1 takes i10 first, so the column i10 becomes i100
    { id: 1, i1: 2, i2: null, i10: 3, i20: 4, id0: 1, i100: 5, i11: 5 },
  ]);
  const e = await compileError('CREATE TABLE t (a INT, b INT); CREATE VIEW v (x, x) AS SELECT a, b FROM t;');
  assert.equal(e.code, 'SqlNameError');
  assert.match(e.message, /column "x" specified more than once in view "v"/);
});

test('indexing and field access: 1-based, out of range / absent key / NULL container give NULL', async () => {
  const sql = `
    CREATE TABLE t (id INT, a INT ARRAY, m MAP<VARCHAR, INT>, r ROW(x INT, y VARCHAR));
    CREATE MATERIALIZED VIEW v AS SELECT id, a[1] AS a1, a[0] AS a0, a[4] AS a4, m['k'] AS mk, m['no'] AS mno,
      t.r.x AS rx, r.y AS ry, (r).x AS rx2, r[2] AS r2, (ARRAY[10, 20])[2] AS lit, (MAP['a', 1, 'b', 2])['b'] AS mlit
    FROM t;`;
  const got = await run(sql, [
    { id: 1, a: [5, null, 7], m: { k: 3 }, r: { x: 1, y: 'q' } },
    { id: 2, a: null, m: null, r: null },
  ]);
  assert.deepEqual(got, [
    { id: 1, a1: 5, a0: null, a4: null, mk: 3, mno: null, rx: 1, ry: 'q', rx2: 1, r2: 'q', lit: 20, mlit: 2 },
    {
      id: 2,
      a1: null,
      a0: null,
      a4: null,
      mk: null,
      mno: null,
      rx: null,
      ry: null,
      rx2: null,
      r2: null,
      lit: 20,
      mlit: 2,
    },
  ]);
});

test('functions: the array and map functions on values with NULL elements', async () => {
  const sql = `
    CREATE TABLE t (a VARCHAR ARRAY, m MAP<VARCHAR, INT>);
    CREATE MATERIALIZED VIEW v AS SELECT
      CARDINALITY(a) AS card, ARRAY_LENGTH(a) AS len, ELEMENT(ARRAY[2]) AS el, ARRAY_APPEND(a, 'z') AS app,
      ARRAY_PREPEND(a, 'z') AS pre, ARRAY_COMPACT(a) AS comp, ARRAY_CONCAT(a, ARRAY['q']) AS cat,
      ARRAY_CONTAINS(a, 'b') AS has_b, ARRAY_DISTINCT(a) AS dist, ARRAY_EXCEPT(a, ARRAY['b']) AS exc,
      ARRAY_INTERSECT(a, ARRAY['b', 'c']) AS inter, ARRAY_UNION(a, ARRAY['0']) AS uni,
      ARRAY_JOIN(a, ',', '*') AS j, ARRAY_TO_STRING(a, '-') AS j2, ARRAY_MAX(a) AS mx, ARRAY_MIN(a) AS mn,
      ARRAY_POSITION(a, 'b') AS pos, ARRAY_POSITION(a, 'nope') AS pos0, ARRAY_REMOVE(a, 'b') AS rem,
      ARRAY_REPEAT(1, 3) AS rep, ARRAY_REVERSE(a) AS rev, ARRAYS_OVERLAP(a, ARRAY['c']) AS ov,
      SORT_ARRAY(a) AS srt, SORT_ARRAY(a, FALSE) AS srtd, ARRAY_INSERT(a, 6, 'x') AS ins, ARRAY(1, 2) AS fn,
      CARDINALITY(m) AS mcard, MAP_CONTAINS_KEY(m, 'k') AS mhas, MAP_KEYS(m) AS mkeys, MAP_VALUES(m) AS mvals
    FROM t;`;
  const [got] = await run(sql, [{ a: ['b', null, 'a', 'b'], m: { k: 1, c: null } }]);
  assert.deepEqual(got, {
    card: 4,
    len: 4,
    el: 2,
    app: ['b', null, 'a', 'b', 'z'],
    pre: ['z', 'b', null, 'a', 'b'],
    comp: ['b', 'a', 'b'],
    cat: ['b', null, 'a', 'b', 'q'],
    has_b: true,
    dist: ['b', null, 'a'],
    exc: [null, 'a'],
    inter: ['b'],
    uni: [null, '0', 'a', 'b'],
    j: 'b,*,a,b',
    j2: 'b-a-b',
    mx: 'b',
    mn: 'a',
    pos: 1,
    pos0: 0,
    rem: [null, 'a'],
    rep: [1, 1, 1],
    rev: ['b', 'a', null, 'b'],
    ov: false,
    srt: [null, 'a', 'b', 'b'],
    srtd: ['b', 'b', 'a', null],
    ins: ['b', null, 'a', 'b', null, 'x'],
    fn: [1, 2],
    mcard: 2,
    mhas: true,
    mkeys: ['c', 'k'],
    mvals: [null, 1],
  });
});

test('functions: type errors name the function and the argument types', async () => {
  const e = await compileError(
    'CREATE TABLE t (s VARCHAR); CREATE VIEW v AS SELECT CARDINALITY(s) AS c FROM t;',
  );
  assert.equal(e.code, 'SqlTypeError');
  assert.match(e.message, /CARDINALITY .*VARCHAR/);
  const f = await compileError(
    'CREATE TABLE t (a VARCHAR ARRAY, i INT); CREATE VIEW v AS SELECT ARRAY_APPEND(a, i) AS c FROM t;',
  );
  assert.equal(f.code, 'SqlTypeError');
  const g = await compileError('CREATE TABLE t (r ROW(x INT)); CREATE VIEW v AS SELECT r = r AS c FROM t;');
  assert.match(g.message, /ROW values cannot be compared/);
});

test('VARIANT: PARSE_JSON, indexing, casts both ways (a content of another type casts to NULL), TO_JSON', async () => {
  const sql = `
    CREATE TABLE t (s VARCHAR);
    CREATE MATERIALIZED VIEW v AS SELECT
      (PARSE_JSON(s))['a'] AS a, CAST((PARSE_JSON(s))['a'] AS INT) AS ai, CAST((PARSE_JSON(s))['b'] AS INT) AS bi,
      CAST((PARSE_JSON(s))['b'] AS VARCHAR) AS bs, CAST((PARSE_JSON(s))['c'][2] AS DECIMAL(4, 1)) AS c2,
      TO_JSON(PARSE_JSON(s)) AS j, CAST((PARSE_JSON(s))['d'] AS INT ARRAY) AS carr, PARSE_JSON('nope') AS bad,
      CAST(ARRAY[1, NULL] AS VARIANT) AS av, CAST(NULL AS VARIANT) AS nv, (PARSE_JSON(s))['zz'] AS missing,
      TYPEOF((PARSE_JSON(s))['b']) AS tb, TYPEOF(PARSE_JSON('null')) AS tvn, TYPEOF((PARSE_JSON(s))['zz']) AS tnull
    FROM t;`;
  const [got] = await run(sql, [{ s: '{"a": 5, "b": "x", "c": [1, 2.5], "d": [1, 2]}' }]);
  assert.deepEqual(got, {
    a: '5',
    ai: 5,
    bi: null,
    bs: 'x',
    c2: 2.5,
    j: '{"a":5,"b":"x","c":[1,2.5],"d":[1,2]}',
    carr: [1, 2],
    bad: null,
    av: '[1,null]',
    nv: 'null', // an SQL NULL cast to VARIANT is the VARIANT null (Feldera)
    missing: null,
    tb: 'VARCHAR',
    tvn: 'VARIANT',
    tnull: 'NULL',
  });
});

test('keys: nested values group, deduplicate, join and UNION by value, incrementally with deletes', async () => {
  const sql = `
    CREATE TABLE t (id INT, a INT ARRAY, m MAP<VARCHAR, INT>, r ROW(x INT, y INT NULL));
    CREATE TABLE u (a INT ARRAY, label VARCHAR);
    CREATE MATERIALIZED VIEW g AS SELECT a, COUNT(*) AS n FROM t GROUP BY a;
    CREATE MATERIALIZED VIEW d AS SELECT DISTINCT m FROM t;
    CREATE MATERIALIZED VIEW j AS SELECT t.id, u.label FROM t JOIN u ON t.a = u.a;
    CREATE MATERIALIZED VIEW s AS SELECT r FROM t UNION SELECT r FROM t;`;
  const t1 = { id: 1, a: [1, 2], m: { b: 2, a: 1 }, r: { x: 1, y: null } };
  const t2 = { id: 2, a: [1, 2], m: { a: 1, b: 2 }, r: { x: 1, y: null } };
  const t3 = { id: 3, a: [2, 1], m: { a: 1 }, r: { x: 2, y: 0 } };
  const steps: Array<Array<[string, Rec, number]>> = [
    [
      ['t', t1, 1],
      ['t', t2, 1],
      ['t', t3, 1],
      ['u', { a: [1, 2], label: 'one-two' }, 1],
    ],
    [['t', t1, -1]],
  ];
  assert.deepEqual(await runSteps(sql, steps, 'g'), [
    { a: [1, 2], n: 1 },
    { a: [2, 1], n: 1 },
  ]);
  assert.deepEqual(await runSteps(sql, steps, 'd'), [{ m: { a: 1, b: 2 } }, { m: { a: 1 } }]);
  assert.deepEqual(await runSteps(sql, steps, 'j'), [{ id: 2, label: 'one-two' }]);
  assert.deepEqual(await runSteps(sql, steps, 's'), [{ r: { x: 1, y: null } }, { r: { x: 2, y: 0 } }]);
});

let oracle: Oracle;
before(async () => {
  oracle = await startOracle();
});
after(async () => {
  await oracle.close();
});

test('oracle: array equality and order (NULL elements last, shorter prefix first) agree with Postgres', async () => {
  const arrays = [
    'ARRAY[1, 2]',
    'ARRAY[1, NULL]',
    'ARRAY[1]',
    'ARRAY[2]',
    'ARRAY[1, 2, 3]',
    'ARRAY[NULL::int]',
  ];
  const exprs: string[] = [];
  for (const x of arrays)
    for (const y of arrays) for (const op of ['=', '<', '>', '<>']) exprs.push(`${x} ${op} ${y}`);
  exprs.push('(ARRAY[10, 20, 30])[2]', '(ARRAY[10, 20, 30])[5]', 'cardinality(ARRAY[1, NULL, 3])');
  const pg = await oracle.evalMany(exprs);
  const body = exprs.map((e, i) => `${e} AS c${i}`);
  const [got] = await run(
    `CREATE TABLE t (x INT); CREATE MATERIALIZED VIEW v AS SELECT ${body.join(', ')} FROM t;`,
    [{ x: 1 }],
  );
  exprs.forEach((e, i) => {
    const want = pg[i] as { value: string | null };
    const mine = (got as Rec)[`c${i}`];
    const text = typeof mine === 'boolean' ? (mine ? 'true' : 'false') : mine === null ? null : String(mine);
    assert.equal(text, want.value, e);
  });
});

test('ROW order: <, <=, >, >=, BETWEEN compare field by field (agreeing with Postgres without NULL fields); = is refused', async () => {
  const rows = ['ROW(1, 2)', 'ROW(1, 3)', 'ROW(2, 0)', 'ROW(1, 2)'];
  const exprs: string[] = [];
  for (const x of rows)
    for (const y of rows) for (const op of ['<', '<=', '>', '>=']) exprs.push(`${x} ${op} ${y}`);
  exprs.push('ROW(1, 5) BETWEEN ROW(1, 2) AND ROW(2, 0)', 'ROW(3, 0) NOT BETWEEN ROW(1, 2) AND ROW(2, 0)');
  const pg = await oracle.evalMany(exprs);
  const body = exprs.map((e, i) => `${e} AS c${i}`);
  const [got] = await run(
    `CREATE TABLE t (x INT); CREATE MATERIALIZED VIEW v AS SELECT ${body.join(', ')} FROM t;`,
    [{ x: 1 }],
  );
  exprs.forEach((e, i) => {
    const want = (pg[i] as { value: string | null }).value;
    assert.equal(String((got as Rec)[`c${i}`]), want, e);
  });
  // a column of a user-defined type against a row constructor; a NULL row gives NULL
  const sql = `CREATE TYPE p AS (i INT, v VARCHAR); CREATE TABLE t (id INT, r p);
    CREATE MATERIALIZED VIEW v AS SELECT id, r < (5, 'a') AS lt, r BETWEEN (4, 'a') AND (4, 'z') AS bt FROM t;`;
  assert.deepEqual(
    await run(sql, [
      { id: 1, r: { i: 4, v: 'cat' } },
      { id: 2, r: null },
    ]),
    [
      { id: 1, lt: true, bt: true },
      { id: 2, lt: null, bt: null },
    ],
  );
  const e = await compileError('CREATE TABLE t (r ROW(x INT)); CREATE VIEW v AS SELECT r <> r AS c FROM t;');
  assert.match(e.message, /ROW values cannot be compared using '<>'/);
});

test('deliberate difference: a NULL field orders first in a ROW comparison (Feldera); Postgres gives NULL', async () => {
  const exprs = ['ROW(1, NULL::int) < ROW(1, 2)', 'ROW(1, 2) > ROW(1, NULL::int)'];
  const pg = await oracle.evalMany(exprs);
  assert.deepEqual(
    pg.map((o) => (o as { value: string | null }).value),
    [null, null],
  );
  const [got] = await run(
    `CREATE TABLE t (r ROW(x INT NULL, y INT NULL)); CREATE MATERIALIZED VIEW v AS SELECT r < ROW(1, 2) AS a, ROW(1, 2) > r AS b FROM t;`,
    [{ r: { x: 1, y: null } }],
  );
  assert.deepEqual(got, { a: true, b: true });
});

test('CREATE TYPE: a type declared twice is SqlNameError; an unknown type name is SqlUnsupported', async () => {
  const e = await compileError('CREATE TYPE p AS (x INT); CREATE TYPE p AS (y INT); CREATE TABLE t (a p);');
  assert.equal(e.code, 'SqlNameError');
  assert.match(e.message, /type "p" is declared more than once/);
  const f = await compileError('CREATE TABLE t (a nope ARRAY);');
  assert.equal(f.code, 'SqlUnsupported');
});

test('dialect: an error after a rewritten type is reported at the position the user wrote', async () => {
  const e = await compileError(
    'CREATE TABLE t (m MAP<VARCHAR, INT>, r ROW(a INT NOT NULL));\nCREATE VIEW v AS SELECT nope FROM t;',
  );
  assert.match(e.message, /line 2, column 25/);
});

test('ARRAY_AGG: ORDER BY agrees with Postgres (NULL placement included); DISTINCT sorts with NULL first', async () => {
  await oracle.run('CREATE TABLE agg_t (g INT, x INT, y VARCHAR)');
  const rows = [
    { g: 1, x: 3, y: 'c' },
    { g: 1, x: null, y: 'a' },
    { g: 1, x: 1, y: 'b' },
    { g: 2, x: 5, y: null },
    { g: 2, x: 5, y: 'z' },
  ];
  for (const r of rows)
    await oracle.run(
      `INSERT INTO agg_t VALUES (${r.g}, ${r.x ?? 'NULL'}, ${r.y === null ? 'NULL' : `'${r.y}'`})`,
    );
  const aggs = [
    'ARRAY_AGG(x ORDER BY x)',
    'ARRAY_AGG(x ORDER BY x DESC)',
    'ARRAY_AGG(y ORDER BY x NULLS FIRST, y DESC)',
  ];
  for (const g of [1, 2]) {
    const pg = await Promise.all(aggs.map((a) => oracle.run(`SELECT ${a}::text FROM agg_t WHERE g = ${g}`)));
    const got = await run(
      `CREATE TABLE t (g INT, x INT, y VARCHAR); CREATE MATERIALIZED VIEW v AS SELECT ${aggs.map((a, i) => `${a} AS a${i}`).join(', ')} FROM t WHERE g = ${g};`,
      rows,
    );
    aggs.forEach((a, i) => {
      // Postgres prints {3,NULL}; compare as JSON arrays
      const text = (pg[i] as { value: string }).value;
      const want = text
        .slice(1, -1)
        .split(',')
        .map((s) => (s === 'NULL' ? null : /^-?\d+$/.test(s) ? Number(s) : s));
      assert.deepEqual((got[0] as Rec)[`a${i}`], want, `${a} for g = ${g}`);
    });
  }
  const [d] = await run(
    'CREATE TABLE t (g INT, x INT, y VARCHAR); CREATE MATERIALIZED VIEW v AS SELECT ARRAY_AGG(DISTINCT x) AS d FROM t;',
    rows,
  );
  assert.deepEqual(d, { d: [null, 1, 3, 5] });
});

test('ARRAY_AGG: incremental under inserts and deletes, FILTER, and an all-filtered group gives []', async () => {
  const sql = `CREATE TABLE t (g INT, x INT);
    CREATE MATERIALIZED VIEW v AS SELECT g, ARRAY_AGG(x) AS a, ARRAY_AGG(x) FILTER (WHERE x > 1) AS f FROM t GROUP BY g;`;
  const got = await runSteps(sql, [
    [
      ['t', { g: 1, x: 2 }, 1],
      ['t', { g: 1, x: 2 }, 1],
      ['t', { g: 1, x: null }, 1],
      ['t', { g: 2, x: 1 }, 1],
    ],
    [
      ['t', { g: 1, x: 2 }, -1],
      ['t', { g: 1, x: 5 }, 1],
    ],
  ]);
  assert.deepEqual(got, [
    { g: 1, a: [null, 2, 5], f: [2, 5] },
    { g: 2, a: [1], f: [] },
  ]);
});

test('program_info describes nested columns as Feldera does (component, key/value, STRUCT fields)', async () => {
  const { programInfo } = await import('../../../src/sql/program-info.ts');
  const p = await compileProgram(
    'CREATE TABLE t (a INT ARRAY NOT NULL, m MAP<VARCHAR, BOOLEAN>, r ROW(x INT NOT NULL), v VARIANT);',
  );
  const info = programInfo(p) as { schema: { inputs: Array<{ fields: Array<{ columntype: unknown }> }> } };
  const types = (info.schema.inputs[0]?.fields ?? []).map((f) => f.columntype);
  assert.deepEqual(types, [
    { type: 'ARRAY', nullable: false, component: { type: 'INTEGER', nullable: true } },
    {
      type: 'MAP',
      nullable: true,
      key: { type: 'VARCHAR', nullable: true, precision: -1 },
      value: { type: 'BOOLEAN', nullable: true },
    },
    {
      type: 'STRUCT',
      nullable: true,
      fields: [{ name: 'x', case_sensitive: false, columntype: { type: 'INTEGER', nullable: false } }],
    },
    { type: 'VARIANT', nullable: true },
  ]);
});

test('UNNEST: arrays (of rows: one column per field), maps, several arrays zipped, WITH ORDINALITY, incrementally', async () => {
  const sql = `
    CREATE TABLE t (id INT, a INT ARRAY, b VARCHAR ARRAY, r ROW(x INT, y VARCHAR) ARRAY, m MAP<VARCHAR, INT>);
    CREATE MATERIALIZED VIEW v AS SELECT id, v, i FROM t, UNNEST(t.a) WITH ORDINALITY AS u(v, i);
    CREATE MATERIALIZED VIEW z AS SELECT id, p, q FROM t CROSS JOIN UNNEST(a, b) AS u(p, q);
    CREATE MATERIALIZED VIEW rows AS SELECT id, x, y FROM t, UNNEST(r) AS u(x, y);
    CREATE MATERIALIZED VIEW kv AS SELECT id, k, val FROM t, UNNEST(m) AS u(k, val);
    CREATE MATERIALIZED VIEW lit AS SELECT w FROM UNNEST(ARRAY[3, 1]) AS u(w);`;
  const r1 = { id: 1, a: [5, null], b: ['p'], r: [{ x: 1, y: 'a' }, null], m: { k: 1, j: null } };
  const r2 = { id: 2, a: null, b: [], r: [], m: {} };
  const r3 = { id: 3, a: [9], b: ['s', 't'], r: null, m: null };
  const steps: Array<Array<[string, Rec, number]>> = [
    [
      ['t', r1, 1],
      ['t', r2, 1],
      ['t', r3, 1],
    ],
    [['t', r3, -1]],
  ];
  assert.deepEqual(await runSteps(sql, steps, 'v'), [
    { id: 1, v: 5, i: 1 },
    { id: 1, v: null, i: 2 },
  ]);
  assert.deepEqual(await runSteps(sql, steps, 'z'), [
    { id: 1, p: 5, q: 'p' },
    { id: 1, p: null, q: null },
  ]);
  assert.deepEqual(await runSteps(sql, steps, 'rows'), [
    { id: 1, x: 1, y: 'a' },
    { id: 1, x: null, y: null },
  ]);
  assert.deepEqual(await runSteps(sql, steps, 'kv'), [
    { id: 1, k: 'j', val: null },
    { id: 1, k: 'k', val: 1 },
  ]);
  assert.deepEqual(await runSteps(sql, steps, 'lit'), [{ w: 1 }, { w: 3 }]);
  const e = await compileError(
    'CREATE TABLE t (s VARCHAR); CREATE VIEW v AS SELECT * FROM t, UNNEST(s) AS u(x);',
  );
  assert.equal(e.code, 'SqlTypeError');
});

test('nested types: arrays of different element types meet at their common type (CASE, UNION)', async () => {
  const sql = `CREATE TABLE t (a INT ARRAY, b BIGINT ARRAY, d DECIMAL(4, 1) ARRAY);
    CREATE MATERIALIZED VIEW v AS SELECT CASE WHEN CARDINALITY(a) > 1 THEN a ELSE b END AS c, ARRAY[NULL, 1] AS n FROM t
      UNION ALL SELECT d, ARRAY[2] FROM t;`;
  const got = await run(sql, [{ a: [1, 2], b: ['9007199254740993'], d: [1.5] }]);
  assert.deepEqual(got, [
    { c: [1, 2], n: [null, 1] },
    { c: [1.5], n: [2] },
  ]);
});

test('text formats: a nested value is its JSON text on output and is read back from it (CSV, ad-hoc text)', async () => {
  const { formatValue, parseTextValue } = await import('../../../src/sql/values/format.ts');
  const p = await compileProgram('CREATE TABLE t (a INT ARRAY, m MAP<VARCHAR, INT>, v VARIANT);');
  const [a, m, v] = (p.table('t') as TableSchema).columns.map((c) => c.type);
  const row = rowFromJson(p.table('t') as TableSchema, { a: [1, null], m: { k: 2 }, v: { x: [true] } });
  assert.equal(formatValue(row[0] as never, a as never), '[1,null]');
  assert.equal(formatValue(row[1] as never, m as never), '{"k":2}');
  assert.equal(formatValue(row[2] as never, v as never), '{"x":[true]}');
  const back = parseTextValue('[1,null]', a as never, 'a');
  assert.equal((back as { hashKey(): string }).hashKey(), (row[0] as { hashKey(): string }).hashKey());
  assert.throws(() => parseTextValue('[1,', a as never, 'a'), /JSON text/);
});
