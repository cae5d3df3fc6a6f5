/**
 * Feldera's JSON object functions (reference page json): JSON_EACH_<type>, JSON_OBJECT_KEYS, JSON_KEYS, VARIANT_MERGE and
 * the lambda functions VARIANT_FILTER, VARIANT_DEEP_FILTER, VARIANT_MAP, VARIANT_DEEP_MAP — values from the
 * reference's examples plus edge cases (SQL NULL, non-objects, non-string keys, quoted paths, bytes), an
 * incremental run with retractions, and Postgres (jsonb) as the oracle where the two agree.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { compileProgram, rowFromJson, rowToJson } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import type { Row } from '../../../src/zset/value.ts';
import { type Oracle, startOracle } from './values/pg-oracle.ts';
import { type Rec, view } from './view-of.ts';

/** The first row of `SELECT <exprs>` over one row of t(id INT, s VARCHAR). */
async function one(exprs: string, s: string | null = null): Promise<Rec> {
  const got = await view('CREATE TABLE t(id INT, s VARCHAR);', `SELECT ${exprs} FROM t`, [{ id: 1, s }]);
  return got.rows[0] as Rec;
}

async function compileError(query: string): Promise<{ code: string; message: string }> {
  try {
    await compileProgram(
      `CREATE TABLE t(id INT, s VARCHAR, m MAP<VARCHAR, INT>); CREATE VIEW v AS ${query};`,
    );
  } catch (e) {
    const err = e as { code?: string; errorCode?: string; message: string };
    return { code: err.code ?? err.errorCode ?? '', message: err.message };
  }
  assert.fail(`expected ${query} to be refused`);
}

const OBJ = JSON.stringify({
  i: 1,
  neg: -5,
  big: 5000000000,
  huge: 18446744073709551615n.toString(), // replaced below by the bare number
  dec: 2.5,
  whole: 2.0,
  s: 'text',
  snum: '7',
  b: true,
  n: null,
  arr: [1, 2],
  obj: { x: 1 },
  date: '2024-01-01',
  time: '17:30:40',
  ts: '2024-12-19 16:39:57',
}).replace('"18446744073709551615"', '18446744073709551615');

test('JSON_EACH_<type>: the fields of each runtime type, as a MAP<VARCHAR, T>; nothing is converted', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, s VARCHAR);',
    `SELECT id, JSON_EACH_BIGINT(PARSE_JSON(s)) AS i, JSON_EACH_STRING(PARSE_JSON(s)) AS str,
       JSON_EACH_BOOLEAN(PARSE_JSON(s)) AS b, JSON_EACH_DATE(PARSE_JSON(s)) AS d,
       JSON_EACH_TIME(PARSE_JSON(s)) AS tm, JSON_EACH_TIMESTAMP(PARSE_JSON(s)) AS ts FROM t`,
    [{ id: 1, s: OBJ }],
  );
  assert.deepEqual(got.types, ['INTEGER', 'MAP', 'MAP', 'MAP', 'MAP', 'MAP', 'MAP']);
  assert.deepEqual(got.rows, [
    {
      id: 1,
      // 2.5 is not truncated, 2^64 - 1 does not fit, "7" is a string, null is left out; 2.0 has no fraction
      i: { big: 5000000000, i: 1, neg: -5, whole: 2 },
      str: { date: '2024-01-01', s: 'text', snum: '7', time: '17:30:40', ts: '2024-12-19 16:39:57' },
      b: { b: true },
      d: { date: '2024-01-01' },
      tm: { time: '17:30:40' },
      // a date alone is a midnight TIMESTAMP too
      ts: { date: '2024-01-01 00:00:00', ts: '2024-12-19 16:39:57' },
    },
  ]);
});

test('JSON_EACH_<type> and JSON_OBJECT_KEYS: SQL NULL gives NULL, a non-object an empty result, non-string keys are skipped', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, s VARCHAR);',
    `SELECT id, JSON_EACH_BIGINT(PARSE_JSON(s)) AS e, JSON_OBJECT_KEYS(PARSE_JSON(s)) AS k FROM t`,
    [
      { id: 1, s: null },
      { id: 2, s: '[1, 2]' },
      { id: 3, s: '5' },
      { id: 4, s: 'null' },
      { id: 5, s: 'not json' },
    ],
  );
  assert.deepEqual(got.rows, [
    { id: 1, e: null, k: null },
    { id: 2, e: {}, k: [] },
    { id: 3, e: {}, k: [] },
    { id: 4, e: {}, k: [] },
    { id: 5, e: null, k: null }, // PARSE_JSON of text that is not JSON is NULL
  ]);
  // a map with integer keys, made a VARIANT: its fields have no string keys
  assert.deepEqual(
    await one(
      'JSON_EACH_BIGINT(CAST(MAP[1, 2] AS VARIANT)) AS e, JSON_OBJECT_KEYS(CAST(MAP[1, 2] AS VARIANT)) AS k',
    ),
    { e: {}, k: [] },
  );
});

test('JSON_EACH_DATE / _TIME qualify VARIANTs made from DATE and TIME values', async () => {
  assert.deepEqual(
    await one(
      `JSON_EACH_DATE(CAST(MAP['d', CAST(DATE '2024-01-01' AS VARIANT), 't', CAST(TIME '17:30:40' AS VARIANT)] AS VARIANT)) AS d,
       JSON_EACH_TIME(CAST(MAP['d', CAST(DATE '2024-01-01' AS VARIANT), 't', CAST(TIME '17:30:40' AS VARIANT)] AS VARIANT)) AS t`,
    ),
    { d: { d: '2024-01-01' }, t: { t: '17:30:40' } },
  );
});

test('JSON_EACH_BIGINT with UNNEST: one row per integer field, updated incrementally', async () => {
  const p = await compileProgram(
    `CREATE TABLE t(id INT, j VARIANT);
     CREATE MATERIALIZED VIEW v AS SELECT t.id, kv.k, kv.v FROM t, UNNEST(JSON_EACH_BIGINT(t.j)) AS kv(k, v);`,
  );
  const c = p.instantiate();
  const t = p.table('t') as TableSchema;
  const cols = p.views.find((x) => x.name === 'v')?.columns ?? [];
  const contents = () =>
    c
      .contents('v')
      .rows.map((r) => rowToJson(cols, r as Row))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const r1 = rowFromJson(t, { id: 1, j: { a: 1, b: 'x', c: -3 } });
  const r2 = rowFromJson(t, { id: 2, j: { z: 10 } });
  c.step(new Map([['t', { rows: [r1, r2], weights: [1, 1] }]]));
  assert.deepEqual(contents(), [
    { id: 1, k: 'a', v: 1 },
    { id: 1, k: 'c', v: -3 },
    { id: 2, k: 'z', v: 10 },
  ]);
  c.step(new Map([['t', { rows: [r1], weights: [-1] }]]));
  assert.deepEqual(contents(), [{ id: 2, k: 'z', v: 10 }]);
});

test('JSON_OBJECT_KEYS: every top-level key, sorted, whatever its value', async () => {
  assert.deepEqual(
    await one(`JSON_OBJECT_KEYS(PARSE_JSON('{"b": {"c": 2}, "a": 1, "d": null, "e": [1]}')) AS k`),
    { k: ['a', 'b', 'd', 'e'] },
  );
});

test('JSON_KEYS: the paths of every nested object key, sorted and distinct; arrays are not traversed', async () => {
  assert.deepEqual(
    await one(
      `JSON_KEYS(PARSE_JSON('{"a": {"b": 1, "c": {"d": 2}}, "e": [{"f": 3}], "g": 4}')) AS doc,
       JSON_KEYS(PARSE_JSON('{"a.b": 1, "a": {"b": 1}}')) AS quoted,
       JSON_KEYS(PARSE_JSON('[{"a": 1}]')) AS arr, JSON_KEYS(CAST(MAP[1, MAP['x', 1]] AS VARIANT)) AS intkeys,
       JSON_KEYS(PARSE_JSON(s)) AS sqlnull`,
    ),
    {
      doc: ['a', 'a.b', 'a.c', 'a.c.d', 'e', 'g'],
      // a key with a dot is quoted, so its path differs from the nested a.b
      quoted: ['"a.b"', 'a', 'a.b'],
      arr: [],
      intkeys: [],
      sqlnull: null,
    },
  );
});

test('VARIANT_MERGE: objects merge recursively, the second wins otherwise, a JSON null is a value', async () => {
  const m = (a: string, b: string) => `TO_JSON(VARIANT_MERGE(PARSE_JSON('${a}'), PARSE_JSON('${b}')))`;
  assert.deepEqual(
    await one(
      `${m('{"a": {"x": 1, "y": 2}, "b": 1}', '{"a": {"x": 9, "z": 3}, "c": 4}')} AS deep,
       ${m('{"tags": [1, 2]}', '{"tags": [3]}')} AS arrays,
       ${m('{"a": 1, "b": 2}', '{"a": null}')} AS jnull,
       ${m('{"a": 1}', '{"new": 5}')} AS ins,
       ${m('5', '6')} AS scalars, ${m('{"a": 1}', '[1]')} AS arr, ${m('[1]', '{"a": 1}')} AS obj,
       VARIANT_MERGE(PARSE_JSON(s), PARSE_JSON('{"a": 1}')) AS sqlnull,
       TO_JSON(VARIANT_MERGE(PARSE_JSON('{"a": 1}'), CAST(MAP['new', CAST(id AS VARIANT)] AS VARIANT))) AS computed`,
    ),
    {
      deep: '{"a":{"x":9,"y":2,"z":3},"b":1,"c":4}',
      arrays: '{"tags":[3]}',
      jnull: '{"a":null,"b":2}',
      ins: '{"a":1,"new":5}',
      scalars: '6',
      arr: '[1]',
      obj: '{"a":1}',
      sqlnull: null,
      computed: '{"a":1,"new":1}',
    },
  );
});

const PERSON = `PARSE_JSON('{"name": "Ada", "age": 36, "address": {"city": "Boston", "zip": "02115"}, "tags": [1, 2], "note": null}')`;

test('VARIANT_FILTER: top-level fields for which the predicate is TRUE; a non-object is one item with a NULL key', async () => {
  assert.deepEqual(
    await one(
      `TO_JSON(VARIANT_FILTER(${PERSON}, (k, x) -> TYPEOF(x) = 'VARCHAR')) AS strings,
       TO_JSON(VARIANT_FILTER(${PERSON}, (k, x) -> x <> VARIANTNULL())) AS nonnull,
       TO_JSON(VARIANT_FILTER(${PERSON}, (k, x) -> CAST(k AS VARCHAR) LIKE 'a%')) AS akeys,
       TO_JSON(VARIANT_FILTER(PARSE_JSON('5'), (k, x) -> k IS NULL)) AS kept,
       VARIANT_FILTER(PARSE_JSON('5'), (k, x) -> k IS NOT NULL) AS dropped,
       TO_JSON(VARIANT_FILTER(PARSE_JSON('[1, 2]'), (k, x) -> k IS NULL)) AS wholearray,
       VARIANT_FILTER(PARSE_JSON('5'), (k, x) -> NULL) AS nullpred,
       VARIANT_FILTER(PARSE_JSON(s), (k, x) -> TRUE) AS sqlnull`,
    ),
    {
      strings: '{"name":"Ada"}',
      nonnull: '{"address":{"city":"Boston","zip":"02115"},"age":36,"name":"Ada","tags":[1,2]}',
      akeys: '{"address":{"city":"Boston","zip":"02115"},"age":36}',
      kept: '5',
      dropped: null,
      wholearray: '[1,2]',
      nullpred: null,
      sqlnull: null,
    },
  );
});

test('VARIANT_FILTER: the lambda reads the row`s columns; a parameter hides a column of its name', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, k VARCHAR, j VARCHAR);',
    `SELECT id, TO_JSON(VARIANT_FILTER(PARSE_JSON(j), (k, x) -> CAST(x AS INT) > id AND CAST(k AS VARCHAR) <> 'b')) AS r FROM t`,
    [
      { id: 1, k: 'ignored', j: '{"a": 1, "b": 2, "c": 3}' },
      { id: 2, k: 'ignored', j: '{"a": 1, "b": 2, "c": 3}' },
    ],
  );
  assert.deepEqual(got.rows, [
    // k is the field's key, not the column k ('ignored' would keep "b")
    { id: 1, r: '{"c":3}' },
    { id: 2, r: '{"c":3}' },
  ]);
});

test('VARIANT_DEEP_FILTER: items at every depth by path; dropping an item drops its subtree', async () => {
  const nested = `PARSE_JSON('{"a": {"b": 1, "c": {"d": 2}}, "e": [{"f": 3}, 4], "g": 5}')`;
  const f = (pred: string, v = nested) => `TO_JSON(VARIANT_DEEP_FILTER(${v}, (p, x) -> ${pred}))`;
  assert.deepEqual(
    await one(
      `${f("p <> 'a.c'")} AS inner, ${f("p <> 'e[1].f'")} AS elemfield, ${f("p <> 'e[1]'")} AS elem,
       ${f("p = 'a' OR p LIKE 'a.%'")} AS undera,
       ${f("p <> '[2].x'", `PARSE_JSON('[1, {"x": 2}, 3]')`)} AS toparray,
       ${f('p IS NULL', "PARSE_JSON('5')")} AS scalar, VARIANT_DEEP_FILTER(PARSE_JSON('5'), (p, x) -> p IS NOT NULL) AS dropped,
       ${f("p = 'example' OR p NOT LIKE 'example.%'", `PARSE_JSON('{"example.com": {"a": 1}, "example": {"b": 2}}')`)} AS quoted`,
    ),
    {
      inner: '{"a":{"b":1},"e":[{"f":3},4],"g":5}',
      elemfield: '{"a":{"b":1,"c":{"d":2}},"e":[{},4],"g":5}',
      elem: '{"a":{"b":1,"c":{"d":2}},"e":[4],"g":5}',
      undera: '{"a":{"b":1,"c":{"d":2}}}',
      toparray: '[1,{},3]',
      scalar: '5',
      dropped: null,
      // "example.com" is quoted in its path, so only the key example's subtree matches 'example.%'
      quoted: '{"example":{},"example.com":{"a":1}}',
    },
  );
});

test('VARIANT_DEEP_FILTER: the predicate sees the unfiltered item; non-string keys are kept untouched', async () => {
  const got = await one(
    `TO_JSON(VARIANT_DEEP_FILTER(PARSE_JSON('{"a": {"b": 1, "c": 2}}'),
       (p, x) -> p <> 'a.c' AND (p <> 'a' OR CAST(x['c'] AS INT) = 2))) AS seen,
     TO_JSON(VARIANT_DEEP_FILTER(CAST(MAP[1, MAP['x', 1]] AS VARIANT), (p, x) -> FALSE)) AS intkeys`,
  );
  assert.deepEqual(got, { seen: '{"a":{"b":1}}', intkeys: '{"1":{"x":1}}' });
});

test('VARIANT_MAP: values replaced shallowly, converted to VARIANT; NULL becomes a JSON null inside an object', async () => {
  assert.deepEqual(
    await one(
      `TO_JSON(VARIANT_MAP(PARSE_JSON('{"a": 1, "b": "x"}'), (k, x) -> CAST(x AS BIGINT) * 2)) AS doubled,
       TO_JSON(VARIANT_MAP(PARSE_JSON('{"a": 1, "b": "x"}'), (k, x) -> TYPEOF(x))) AS types,
       TO_JSON(VARIANT_MAP(PARSE_JSON('{"a": {"b": 1}}'), (k, x) -> x)) AS shallow,
       TO_JSON(VARIANT_MAP(PARSE_JSON('{"a": 1}'), (k, x) -> k)) AS keys,
       TO_JSON(VARIANT_MAP(PARSE_JSON('5'), (k, x) -> CAST(x AS INT) + 1)) AS scalar,
       VARIANT_MAP(PARSE_JSON('5'), (k, x) -> NULL) AS scalarnull,
       VARIANT_MAP(PARSE_JSON(s), (k, x) -> x) AS sqlnull`,
    ),
    {
      doubled: '{"a":2,"b":null}',
      types: '{"a":"BIGINT UNSIGNED","b":"VARCHAR"}',
      shallow: '{"a":{"b":1}}',
      keys: '{"a":"a"}',
      scalar: '6',
      scalarnull: null,
      sqlnull: null,
    },
  );
});

test('VARIANT_DEEP_MAP: every leaf by path, the structure kept; paths quote keys that are not identifiers', async () => {
  assert.deepEqual(
    await one(
      `TO_JSON(VARIANT_DEEP_MAP(PARSE_JSON('{"a": {"b": 1}, "e": [1, 2], "s": "x"}'), (p, x) -> CAST(x AS BIGINT) * 2)) AS doubled,
       TO_JSON(VARIANT_DEEP_MAP(PARSE_JSON('{"user": {"name": "Ada", "ssn": "123"}, "id": 7}'),
         (p, x) -> CASE WHEN p LIKE 'user.%' THEN CAST('***' AS VARIANT) ELSE x END)) AS redacted,
       TO_JSON(VARIANT_DEEP_MAP(PARSE_JSON('{"a": {"b": 1}, "e": [1, "x"], "n": null}'), (p, x) -> p)) AS paths,
       TO_JSON(VARIANT_DEEP_MAP(PARSE_JSON('{"a\\"b": 1, "_ok9": 2, "x.y": 3}'), (p, x) -> p)) AS quoted,
       TO_JSON(VARIANT_DEEP_MAP(PARSE_JSON('[[1], 2]'), (p, x) -> p)) AS toparray,
       TO_JSON(VARIANT_DEEP_MAP(PARSE_JSON('5'), (p, x) -> CAST(x AS INT) + 1)) AS scalar,
       TO_JSON(VARIANT_DEEP_MAP(CAST(x'0102' AS VARIANT), (p, x) -> TYPEOF(x))) AS bytes`,
    ),
    {
      doubled: '{"a":{"b":2},"e":[2,4],"s":null}',
      redacted: '{"id":7,"user":{"name":"***","ssn":"***"}}',
      paths: '{"a":{"b":"a.b"},"e":["e[1]","e[2]"],"n":"n"}',
      quoted: '{"_ok9":"_ok9","a\\"b":"\\"a\\\\\\"b\\"","x.y":"\\"x.y\\""}',
      toparray: '[["[1][1]"],"[2]"]',
      scalar: '6',
      bytes: '"BINARY"', // a VARIANT made from bytes is one leaf, not an array
    },
  );
});

test('VARIANT lambda functions: argument errors name the function and the expected form', async () => {
  const e1 = await compileError(`SELECT VARIANT_FILTER(PARSE_JSON(s), x -> TRUE) FROM t`);
  assert.equal(e1.code, 'SqlTypeError');
  assert.match(e1.message, /VARIANT_FILTER\(v, \(k, x\) -> expression\)/);
  const e2 = await compileError(`SELECT VARIANT_MAP(s, (k, x) -> x) FROM t`);
  assert.match(e2.message, /VARIANT_MAP needs a VARIANT as its first argument, got VARCHAR/);
  const e3 = await compileError(`SELECT VARIANT_DEEP_FILTER(PARSE_JSON(s), (p, x) -> 1) FROM t`);
  assert.match(e3.message, /must be a condition \(BOOLEAN\), got INTEGER/);
  const e4 = await compileError(`SELECT JSON_EACH_BIGINT(s) FROM t`);
  assert.match(e4.message, /JSON_EACH_BIGINT needs a VARIANT argument, got VARCHAR/);
  const e5 = await compileError(`SELECT VARIANT_MERGE(PARSE_JSON(s), m) FROM t`);
  assert.match(e5.message, /VARIANT_MERGE needs a VARIANT argument, got MAP/);
});

// ---------------------------------------------------------------------------------------------------------
// Postgres (jsonb) as the oracle where the two agree

let oracle: Oracle;
before(async () => {
  oracle = await startOracle();
});
after(async () => {
  await oracle.close();
});

const DOCS = [
  '{"a": 1, "b": "x", "c": true, "d": null, "e": [1], "f": {"g": 2}, "h": -7, "i": "2"}',
  '{}',
  '{"z": "last", "a": "first", "m": false}',
  '[1, 2]',
  '"scalar"',
];

test('oracle: JSON_OBJECT_KEYS and JSON_EACH_STRING / _BOOLEAN / _BIGINT agree with jsonb_object_keys / jsonb_each', async () => {
  const got = await view(
    'CREATE TABLE t(id INT, s VARCHAR);',
    `SELECT id, JSON_OBJECT_KEYS(PARSE_JSON(s)) AS k, JSON_EACH_STRING(PARSE_JSON(s)) AS str,
       JSON_EACH_BOOLEAN(PARSE_JSON(s)) AS b, JSON_EACH_BIGINT(PARSE_JSON(s)) AS i FROM t`,
    DOCS.map((s, id) => ({ id, s })),
  );
  for (const [id, doc] of DOCS.entries()) {
    const row = got.rows.find((r) => r.id === id) as Rec;
    const j = `'${doc}'::jsonb`;
    const obj = `jsonb_typeof(${j}) = 'object'`;
    const each = (typ: string, val: string) =>
      `(SELECT COALESCE(jsonb_object_agg(key, ${val} ORDER BY key), '{}') FROM jsonb_each(CASE WHEN ${obj} THEN ${j} ELSE '{}' END) WHERE jsonb_typeof(value) = '${typ}')`;
    const [keys, str, bool, num] = await oracle.evalMany([
      `CASE WHEN ${obj} THEN array_to_json(ARRAY(SELECT jsonb_object_keys(${j}) ORDER BY 1)) ELSE '[]' END`,
      each('string', 'value'),
      each('boolean', 'value'),
      each('number', 'value'),
    ]);
    const parse = (o: unknown) => JSON.parse((o as { value: string }).value);
    assert.deepEqual(row.k, parse(keys), `keys of ${doc}`);
    assert.deepEqual(row.str, parse(str), `strings of ${doc}`);
    assert.deepEqual(row.b, parse(bool), `booleans of ${doc}`);
    assert.deepEqual(row.i, parse(num), `integers of ${doc}`); // the documents' numbers are all integers
  }
});
