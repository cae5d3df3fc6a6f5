import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type ConnectorContext, parseConnectorSpec } from '../../../../src/connectors/transports/config.ts';
import { startFileOutput } from '../../../../src/connectors/transports/file-output.ts';
import { isServiceError } from '../../../../src/errors/service-error.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import type { ViewSchema } from '../../../../src/sql/schema.ts';
import { Decimal } from '../../../../src/sql/values/decimal.ts';
import { FakeHost, tempDir } from './support.ts';

const program = await compileProgram(`
  CREATE TABLE t (id INT NOT NULL, name VARCHAR, price DECIMAL(10, 2), at DATE);
  CREATE VIEW v AS SELECT * FROM t;`);
const view = program.outputs.find((o) => o.name === 'v') as ViewSchema;
const ctx: ConnectorContext = {
  relation: 'v',
  relationKind: 'view',
  connector: 'out',
  transport: 'file_output',
};
const tmp = tempDir();
after(tmp.cleanup);

function start(path: string, format: Record<string, unknown> | null, host = new FakeHost()) {
  const spec = parseConnectorSpec(
    { name: 'out', transport: { name: 'file_output', config: { path } }, format },
    0,
    'v',
    'view',
  );
  return { host, c: startFileOutput(ctx, spec, view, host, () => {}, { baseDir: tmp.dir }) };
}

const row1 = [1, 'a, "b"', Decimal.parse('2.50'), 19723];
const row2 = [2, null, null, null];

test('JSON output: one insert/delete event per line, a weight of n written n times', async () => {
  const path = join(tmp.dir, 'out.json');
  const { host, c } = start(path, { name: 'json', config: { update_format: 'insert_delete' } });
  host.emit('v', [[row1, 1]], 1);
  host.emit(
    'v',
    [
      [row1, -1],
      [row2, 2],
    ],
    2,
  );
  assert.equal(
    readFileSync(path, 'utf8'),
    [
      '{"insert":{"id":1,"name":"a, \\"b\\"","price":2.5,"at":"2024-01-01"}}',
      '{"delete":{"id":1,"name":"a, \\"b\\"","price":2.5,"at":"2024-01-01"}}',
      '{"insert":{"id":2,"name":null,"price":null,"at":null}}',
      '{"insert":{"id":2,"name":null,"price":null,"at":null}}',
      '',
    ].join('\n'),
    'written synchronously with the step',
  );
  assert.equal(c.status().records, 4);
  await c.stop();
  assert.equal(c.status().state, 'stopped');
  host.emit('v', [[row1, 1]], 3);
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 5, 'nothing written after stop');
});

test('JSON output with array: true writes one array per step', async () => {
  const path = join(tmp.dir, 'arr.json');
  const { host, c } = start(path, { name: 'json', config: { array: true } });
  host.emit('v', [
    [row2, 1],
    [row2, -1],
  ]);
  await c.stop();
  assert.equal(
    readFileSync(path, 'utf8'),
    '[{"insert":{"id":2,"name":null,"price":null,"at":null}},{"delete":{"id":2,"name":null,"price":null,"at":null}}]\n',
  );
});

test('CSV output: fields in column order, NULL empty, quoting, weight column; custom delimiter', async () => {
  const path = join(tmp.dir, 'out.csv');
  const { host, c } = start(path, { name: 'csv', config: {} });
  host.emit('v', [
    [row1, 1],
    [row2, -1],
    [[3, '', null, null], 1],
  ]);
  await c.stop();
  assert.equal(readFileSync(path, 'utf8'), '1,"a, ""b""",2.50,2024-01-01,1\n2,,,,-1\n3,"",,,1\n');
  const p2 = join(tmp.dir, 'out.tsv');
  const o2 = start(p2, { name: 'csv', config: { delimiter: '\t' } });
  o2.host.emit('v', [[row2, 1]]);
  await o2.c.stop();
  assert.equal(readFileSync(p2, 'utf8'), '2\t\t\t\t1\n');
});

test('the file is truncated at start', async () => {
  const path = join(tmp.dir, 'trunc.json');
  const a = start(path, { name: 'json' });
  a.host.emit('v', [[row2, 1]]);
  await a.c.stop();
  const b = start(path, { name: 'json' });
  await b.c.stop();
  assert.equal(readFileSync(path, 'utf8'), '');
});

test('errors: no format, unsupported formats and options, an uncreatable file', () => {
  const bad = (path: string, format: Record<string, unknown> | null, re: RegExp) =>
    assert.throws(
      () => start(path, format),
      (e: unknown) =>
        isServiceError(e) &&
        re.test(e.message) &&
        /connector 'out' \(file_output\) of view 'v'/.test(e.message),
    );
  const p = join(tmp.dir, 'x.json');
  bad(p, null, /"format" is required/);
  bad(p, { name: 'avro' }, /output format 'avro' is not supported; use json, csv or parquet/);
  bad(
    p,
    { name: 'parquet', config: { buffer_size_records: 0 } },
    /'buffer_size_records' must be a positive integer/,
  );
  bad(
    p,
    { name: 'json', config: { update_format: 'debezium' } },
    /update_format "debezium" is not supported/,
  );
  bad(p, { name: 'json', config: { colour: 'red' } }, /unknown json format option 'colour'/);
  bad(p, { name: 'csv', config: { delimiter: ';;' } }, /'delimiter' must be one character/);
  bad(join(tmp.dir, 'missing-dir', 'x.json'), { name: 'json' }, /cannot create/);
});
