import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inputParser, parseErrorsError } from '../../../src/connectors/formats/index.ts';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';

const program = await compileProgram(`
  CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR, amount DECIMAL(10,2), d DATE, ok BOOLEAN);
  CREATE MATERIALIZED VIEW v AS SELECT id, name, amount FROM t;`);
const T = program.table('t') as TableSchema;

const json = (opts: Record<string, unknown>, text: string) => inputParser('json', opts)(T, text);
const csv = (opts: Record<string, unknown>, text: string) => inputParser('csv', opts)(T, text);
const simple = (r: ReturnType<typeof json>) =>
  r.changes.map((c) => [c.row.map((v) => (v instanceof Decimal ? v.toString() : v)), c.weight]);

describe('JSON input', () => {
  test('insert_delete is the default; delete needs only the key; both in one event apply delete first', () => {
    const r = json(
      {},
      '{"insert": {"id": 1, "name": "a", "amount": "1.5"}}\n{"delete": {"id": 2}}\n{"delete": {"id": 3}, "insert": {"id": 3, "name": "c"}}',
    );
    assert.equal(r.numErrors, 0);
    assert.deepEqual(simple(r), [
      [[1, 'a', '1.50', null, null], 1],
      [[2, null, null, null, null], -1],
      [[3, null, null, null, null], -1],
      [[3, 'c', null, null, null], 1],
    ]);
  });

  test('values may span lines or share a line; rows may be arrays in column order', () => {
    const r = json(
      { update_format: 'raw' },
      '{"id": 1,\n "name": "x"} {"id": 2} [3, "z", 2.25, "2026-01-02", true, "ignored extra"]',
    );
    assert.equal(r.numErrors, 0);
    assert.deepEqual(simple(r), [
      [[1, 'x', null, null, null], 1],
      [[2, null, null, null, null], 1],
      [[3, 'z', '2.25', 20455, true], 1],
    ]);
  });

  test('weighted and debezium envelopes', () => {
    assert.deepEqual(
      simple(
        json(
          { update_format: 'weighted' },
          '{"weight": 2, "data": {"id": 1}} {"weight": -1, "data": {"id": 1}}',
        ),
      ),
      [
        [[1, null, null, null, null], 2],
        [[1, null, null, null, null], -1],
      ],
    );
    const r = json(
      { update_format: 'debezium' },
      '{"payload": {"op": "u", "before": {"id": 1}, "after": {"id": 1, "name": "n"}}}',
    );
    assert.deepEqual(simple(r), [
      [[1, null, null, null, null], -1],
      [[1, 'n', null, null, null], 1],
    ]);
  });

  test('bad events are reported with their number and skipped; good ones are kept', () => {
    const r = json(
      {},
      '{"insert": {"id": 1}}\n{"insert": {"id": "x"}}\nnot json\n{"insert": {"id": 4, "nope": 1}}\n{"upsert": {"id": 5}}\n{"insert": {"id": 6}}',
    );
    assert.deepEqual(
      r.changes.map((c) => c.row[0]),
      [1, 6],
    );
    assert.equal(r.numErrors, 4);
    assert.deepEqual(
      r.errors.map((e) => e.event_number),
      [2, 3, 4, 5],
    );
    assert.equal(r.errors[0]?.field, 'id');
    assert.match(r.errors[2]?.description ?? '', /no column 'nope'/);
    assert.match(r.errors[3]?.description ?? '', /unexpected key 'upsert'/);
    const err = parseErrorsError(r);
    assert.ok(isServiceError(err, 'ParseErrors'));
    assert.match(err.message, /^Errors parsing input data \(4 errors\):\n {4}event #2: /);
    assert.equal(err.details.num_errors, 4);
  });

  test('NOT NULL columns must be present in inserts', () => {
    const r = json({}, '{"insert": {"name": "no id"}}');
    assert.equal(r.numErrors, 1);
    assert.match(r.errors[0]?.description ?? '', /column 'id' .* NOT NULL/);
  });

  test('with array=true an array with a bad element is rejected whole', () => {
    const r = json(
      { array: 'true' },
      '[{"insert": {"id": 1}}, {"insert": {"id": 2}}] [{"insert": {"id": 3}}, {"insert": {"id": "bad"}}]',
    );
    assert.deepEqual(
      r.changes.map((c) => c.row[0]),
      [1, 2],
    );
    assert.equal(r.numErrors, 1);
    assert.match(r.errors[0]?.description ?? '', /whole array was rejected/);
  });

  test('update events are refused clearly (not silently applied)', () => {
    const r = json({}, '{"update": {"id": 1, "name": "b"}}');
    assert.equal(r.changes.length, 0);
    assert.match(r.errors[0]?.description ?? '', /'update' events are not supported yet/);
  });

  test('an insert_delete event: an unknown key is named before a refused update, and a bad insert drops its delete', () => {
    const r = json(
      {},
      '{"update": {"id": 1}, "upsert": {"id": 2}}\n{"delete": {"id": 3}, "insert": {"id": "x"}}',
    );
    assert.equal(r.changes.length, 0);
    assert.equal(r.numErrors, 2);
    assert.match(r.errors[0]?.description ?? '', /unexpected key 'upsert'/);
    assert.equal(r.errors[1]?.event_number, 2);
  });

  test('at most 1000 errors are kept, all are counted', () => {
    const text = Array.from({ length: 1500 }, () => '{"insert": {"id": "x"}}').join('\n');
    const r = json({}, text);
    assert.equal(r.numErrors, 1500);
    assert.equal(r.errors.length, 1000);
    assert.match(parseErrorsError(r).message, /reporting 1000 out of 1500 total errors/);
  });

  test('bad configuration is a config error', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isServiceError(e) ? e.errorCode : 'other';
      }
      return 'none';
    };
    assert.equal(
      code(() => inputParser('json', { array: 'True' })),
      'ConfigError.ParserConfigParseError',
    );
    assert.equal(
      code(() => inputParser('json', { update_format: 'snowflake' })),
      'ConfigError.InputFormatNotSupported',
    );
    assert.equal(
      code(() => inputParser('json', { update_format: 'nope' })),
      'ConfigError.ParserConfigParseError',
    );
    assert.equal(
      code(() => inputParser('parquet')),
      'ConfigError.UnknownInputFormat',
    );
    assert.equal(
      code(() => inputParser('csv', { delimiter: ';;' })),
      'ConfigError.ParserConfigParseError',
    );
  });
});

describe('CSV input', () => {
  test('positional fields, quoting, NULLs and empty strings', () => {
    const r = csv(
      {},
      '1,plain,1.5,2026-01-02,true\n2,"a, ""quoted""\nvalue",,,\n3,,NULL,null,\n4,"",2\r\n\n',
    );
    assert.equal(r.numErrors, 0, JSON.stringify(r.errors));
    assert.deepEqual(simple(r), [
      [[1, 'plain', '1.50', 20455, true], 1],
      [[2, 'a, "quoted"\nvalue', null, null, null], 1],
      [[3, '', null, null, null], 1],
      [[4, '', '2.00', null, null], 1],
    ]);
  });

  test('headers are skipped, not used; extra fields dropped; other delimiters', () => {
    const r = csv({ headers: true, delimiter: ';' }, 'name;id\n7;x;9.99;2026-02-03;false;extra\n');
    assert.deepEqual(simple(r), [[[7, 'x', '9.99', 20487, false], 1]]);
  });

  test('a bad line is reported with its line number; the others are ingested', () => {
    const r = csv({}, '1,a\nx,b\n3,c\n,d\n');
    assert.deepEqual(
      r.changes.map((c) => c.row[0]),
      [1, 3],
    );
    assert.equal(r.numErrors, 2);
    assert.match(r.errors[0]?.description ?? '', /^line 2: .*id/);
    assert.equal(r.errors[0]?.invalid_text, 'x,b');
    assert.match(r.errors[1]?.description ?? '', /^line 4: column 'id' is NOT NULL/);
  });
});

test('parsed changes drive a circuit (upsert by key)', () => {
  const c = program.instantiate();
  for (const text of [
    '{"insert": {"id": 1, "name": "a", "amount": 1}}',
    '{"insert": {"id": 1, "name": "b", "amount": 2}}',
  ]) {
    const r = json({}, text);
    c.step({ t: { rows: r.changes.map((x) => x.row), weights: r.changes.map((x) => x.weight) } });
  }
  const v = c.contents('v');
  assert.deepEqual(
    v.rows.map((r) => [r[0], r[1], String(r[2])]),
    [[1, 'b', '2.00']],
  );
});
