import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type ConnectorContext, parseConnectorSpec } from '../../../../src/connectors/transports/config.ts';
import { startFileInput } from '../../../../src/connectors/transports/file-input.ts';
import { BoundaryScanner } from '../../../../src/connectors/transports/record-buffer.ts';
import type { FileInputPosition } from '../../../../src/connectors/transports/types.ts';
import { isServiceError } from '../../../../src/errors/service-error.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import type { TableSchema } from '../../../../src/sql/schema.ts';
import { FakeHost, recordingLog, tempDir, until } from './support.ts';

const program = await compileProgram('CREATE TABLE t (id INT NOT NULL, name VARCHAR);');
const table = program.table('t') as TableSchema;
const tmp = tempDir();
after(tmp.cleanup);

function setup(config: Record<string, unknown>, format: Record<string, unknown> | null) {
  const spec = parseConnectorSpec(
    { name: 'src', transport: { name: 'file_input', config }, format },
    0,
    't',
    'table',
  );
  const ctx: ConnectorContext = {
    relation: 't',
    relationKind: 'table',
    connector: 'src',
    transport: 'file_input',
  };
  return { spec, ctx };
}

const JSON_RAW = { name: 'json', config: { update_format: 'raw' } };

test('reads JSON lines into the table, signals end of input, and reports the byte position', async () => {
  const path = join(tmp.dir, 'a.json');
  const text = '{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n{"id": 3}\n';
  writeFileSync(path, text);
  const host = new FakeHost();
  const { spec, ctx } = setup({ path }, JSON_RAW);
  const c = await startFileInput(ctx, spec, table, host, () => {}, { baseDir: tmp.dir });
  await c.settled;
  assert.deepEqual(host.rows('t.src'), [
    [1, 'a'],
    [2, 'b'],
    [3, null],
  ]);
  const ep = host.endpoints.get('t.src');
  assert.equal(ep?.metrics.end_of_input, true);
  assert.deepEqual(c.position(), { offset: Buffer.byteLength(text) });
  assert.equal(c.status().state, 'end_of_input');
  assert.equal(c.status().records, 3);
  await c.stop();
});

test('records cut by small reads (multi-byte text, multi-line JSON values) are parsed whole', async () => {
  const path = join(tmp.dir, 'b.json');
  const lines = [
    '{"insert": {"id": 1, "name": "héllo wörld ✓"}}',
    '{"insert": {\n  "id": 2,\n  "name": "x{y}[z]\\"q"\n}}',
    '{"insert": {"id": 3, "name": "日本語"}}',
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
  const host = new FakeHost();
  const { spec, ctx } = setup({ path, buffer_size_bytes: 5 }, { name: 'json', config: {} });
  const c = await startFileInput(ctx, spec, table, host, () => {}, { baseDir: tmp.dir });
  await c.settled;
  assert.deepEqual(host.rows(), [
    [1, 'héllo wörld ✓'],
    [2, 'x{y}[z]"q'],
    [3, '日本語'],
  ]);
  assert.equal(host.endpoints.get('t.src')?.metrics.num_parse_errors, 0);
});

test('a last record without a final newline is read at end of file', async () => {
  const path = join(tmp.dir, 'c.csv');
  writeFileSync(path, '1,a\n2,"b,\nc"\n3,z');
  const host = new FakeHost();
  const { spec, ctx } = setup({ path, buffer_size_bytes: 3 }, { name: 'csv', config: {} });
  const c = await startFileInput(ctx, spec, table, host, () => {}, { baseDir: tmp.dir });
  await c.settled;
  assert.deepEqual(host.rows(), [
    [1, 'a'],
    [2, 'b,\nc'],
    [3, 'z'],
  ]);
});

test('CSV headers are skipped only at the start of the file; resuming from a position skips nothing', async () => {
  const path = join(tmp.dir, 'd.csv');
  writeFileSync(path, 'id,name\n1,a\n2,b\n3,c\n');
  const { spec, ctx } = setup({ path }, { name: 'csv', config: { headers: true } });
  const h1 = new FakeHost();
  const c1 = await startFileInput(ctx, spec, table, h1, () => {}, { baseDir: tmp.dir });
  await c1.settled;
  assert.deepEqual(h1.rows(), [
    [1, 'a'],
    [2, 'b'],
    [3, 'c'],
  ]);
  // resume after "id,name\n1,a\n" (12 bytes)
  const h2 = new FakeHost();
  const c2 = await startFileInput(ctx, spec, table, h2, () => {}, {
    baseDir: tmp.dir,
    position: { offset: 12 },
  });
  await c2.settled;
  assert.deepEqual(h2.rows(), [
    [2, 'b'],
    [3, 'c'],
  ]);
});

test('resuming at every intermediate position gives exactly the remaining records', async () => {
  const path = join(tmp.dir, 'e.json');
  const n = 20;
  writeFileSync(
    path,
    Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, name: `n${i}` })).join('\n'),
  );
  const { spec, ctx } = setup({ path, buffer_size_bytes: 40 }, JSON_RAW);
  const host = new FakeHost();
  const c = await startFileInput(ctx, spec, table, host, () => {}, { baseDir: tmp.dir });
  await c.settled;
  // every push recorded a position; collect them by replaying with a host that notes the position after each push
  const all = host.rows();
  assert.equal(all.length, n);
  const offsets: number[] = [0];
  let total = 0;
  for (const p of host.pushes) offsets.push((total += p.bytes));
  for (const off of offsets) {
    const h = new FakeHost();
    const r = await startFileInput(ctx, spec, table, h, () => {}, {
      baseDir: tmp.dir,
      position: { offset: off },
    });
    await r.settled;
    const consumed = host.pushes
      .filter((_, i) => offsets[i + 1]! <= off)
      .reduce((a, p) => a + p.changes.length, 0);
    assert.deepEqual(h.rows(), all.slice(consumed), `resume at ${off}`);
  }
});

test('parse errors are counted and logged; the other records are ingested', async () => {
  const path = join(tmp.dir, 'f.json');
  writeFileSync(path, '{"id": 1}\nnot json\n{"id": "x"}\n{"id": 4}\n');
  const host = new FakeHost();
  const { log, entries } = recordingLog();
  const { spec, ctx } = setup({ path }, JSON_RAW);
  const c = await startFileInput(ctx, spec, table, host, log, { baseDir: tmp.dir });
  await c.settled;
  assert.deepEqual(host.rows(), [
    [1, null],
    [4, null],
  ]);
  assert.equal(host.endpoints.get('t.src')?.metrics.num_parse_errors, 2);
  assert.equal(c.status().parseErrors, 2);
  assert.equal(c.status().state, 'end_of_input');
  assert.ok(entries.some((e) => e.level === 'warn' && /2 record\(s\) could not be parsed/.test(e.message)));
});

test('follow keeps tailing: appended records (also a line completed later) are picked up; no end of input', async () => {
  const path = join(tmp.dir, 'g.json');
  writeFileSync(path, '{"id": 1}\n');
  const host = new FakeHost();
  const { spec, ctx } = setup({ path, follow: true }, JSON_RAW);
  const c = await startFileInput(ctx, spec, table, host, () => {}, { baseDir: tmp.dir, pollMs: 10 });
  await until(() => host.rows().length === 1, 'the first record');
  appendFileSync(path, '{"id": 2}\n{"id"');
  await until(() => host.rows().length === 2, 'the appended record');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(host.rows().length, 2, 'a partial line waits for its newline');
  appendFileSync(path, ': 3}\n');
  await until(() => host.rows().length === 3, 'the completed record');
  assert.deepEqual(host.rows(), [
    [1, null],
    [2, null],
    [3, null],
  ]);
  assert.equal(host.endpoints.get('t.src')?.metrics.end_of_input, false);
  assert.deepEqual(c.position(), { offset: Buffer.byteLength('{"id": 1}\n{"id": 2}\n{"id": 3}\n') });
  await c.stop();
  assert.equal(c.status().state, 'stopped');
});

test('stop() interrupts a push that waits for backpressure', async () => {
  const path = join(tmp.dir, 'h.json');
  writeFileSync(path, '{"id": 1}\n');
  const host = new FakeHost();
  host.gate = new Promise(() => {}); // never releases
  const { spec, ctx } = setup({ path }, JSON_RAW);
  const c = await startFileInput(ctx, spec, table, host, () => {}, { baseDir: tmp.dir });
  await new Promise((r) => setTimeout(r, 20));
  await c.stop();
  assert.equal(c.status().state, 'stopped');
  assert.deepEqual(c.position(), { offset: 0 } satisfies FileInputPosition);
});

test('errors: missing file, missing or unknown format, bad option values, a position past the end', async () => {
  const reject = async (
    config: Record<string, unknown>,
    format: Record<string, unknown> | null,
    re: RegExp,
    position?: { offset: number },
  ) => {
    const { spec, ctx } = setup(config, format);
    await assert.rejects(
      startFileInput(ctx, spec, table, new FakeHost(), () => {}, {
        baseDir: tmp.dir,
        ...(position ? { position } : {}),
      }),
      (e: unknown) =>
        isServiceError(e) &&
        re.test(e.message) &&
        /connector 'src' \(file_input\) of table 't'/.test(e.message),
    );
  };
  await reject({ path: join(tmp.dir, 'nope.json') }, JSON_RAW, /cannot open/);
  await reject({ path: join(tmp.dir, 'a.json') }, null, /"format" is required/);
  await reject({ path: join(tmp.dir, 'a.json') }, { name: 'avro' }, /format 'avro' is not supported/);
  await reject(
    { path: join(tmp.dir, 'a.json') },
    { name: 'json', config: { update_format: 'nope' } },
    /update_format/,
  );
  await reject({}, JSON_RAW, /'path' is required/);
  await reject({ path: join(tmp.dir, 'a.json'), follow: 'yes' }, JSON_RAW, /'follow' must be true or false/);
  await reject({ path: join(tmp.dir, 'a.json') }, JSON_RAW, /cannot resume at byte 100000/, {
    offset: 100000,
  });
});

test('relative paths resolve against baseDir; file:// URLs are accepted', async () => {
  writeFileSync(join(tmp.dir, 'rel.json'), '{"id": 7}\n');
  for (const path of ['rel.json', `file://${join(tmp.dir, 'rel.json')}`]) {
    const host = new FakeHost();
    const { spec, ctx } = setup({ path }, JSON_RAW);
    const c = await startFileInput(ctx, spec, table, host, () => {}, { baseDir: tmp.dir });
    await c.settled;
    assert.deepEqual(host.rows(), [[7, null]]);
  }
});

test('the boundary scanner finds newlines outside JSON values and CSV quotes, across chunks', () => {
  const s = new BoundaryScanner('json');
  const enc = (t: string) => Buffer.from(t);
  const full = enc('{"a": "x\\"}",\n "c": 1}\n{"b": [1,\n2]}\n');
  assert.equal(s.scan(full.subarray(0, 12), 0), -1); // inside a string, then inside an object
  assert.equal(s.scan(full.subarray(0, 20), 12), -1);
  assert.equal(s.scan(full, 20), full.length);
  const c = new BoundaryScanner('csv');
  const t = enc('a,"b\nc"\nd');
  assert.equal(c.scan(t, 0), 8);
});
