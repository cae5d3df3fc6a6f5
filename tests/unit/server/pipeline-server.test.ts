/**
 * The pipeline process's HTTP API over real HTTP on 127.0.0.1 (port 0): ingress in every format, completion
 * tokens, streaming egress, ad-hoc queries, stats, metrics, pause/start and coded errors.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Controller } from '../../../src/controller/controller.ts';
import { createPipelineServer } from '../../../src/server/pipeline-server.ts';
import { compileProgram } from '../../../src/sql/program.ts';

const program = await compileProgram(`
  CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR, amount DECIMAL(10,2));
  CREATE MATERIALIZED VIEW v AS SELECT id, name, amount FROM t;
  CREATE VIEW n AS SELECT COUNT(*) AS c FROM t;`);
const controller = new Controller(program);
const server = createPipelineServer(controller, { heartbeatMs: 100, name: 'test' });
let base = '';

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function call(method: string, path: string, body?: string) {
  const r = await fetch(base + path, { method, body });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, text, json: json as Record<string, unknown> };
}

async function waitComplete(token: string) {
  for (let i = 0; i < 200; i++) {
    const s = await call('GET', `/completion_status?token=${encodeURIComponent(token)}`);
    if ((s.json as { status: string }).status === 'complete') return s.json;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('token never completed');
}

test('ingest JSON and CSV, wait on the token, query as text and JSON', async () => {
  const a = await call(
    'POST',
    '/ingress/t?format=json',
    '{"insert": {"id": 1, "name": "a", "amount": 1.5}}\n{"insert": {"id": 2, "name": "b"}}',
  );
  assert.equal(a.status, 200, a.text);
  await waitComplete(a.json.token as string);
  const b = await call('POST', '/ingress/T?format=csv', '3,"c, d",2\n');
  assert.equal(b.status, 200, b.text);
  const c = await call(
    'POST',
    '/ingress/t?format=json&update_format=raw&array=true',
    '[{"id": 4}, {"id": 5}]',
  );
  assert.equal(c.status, 200, c.text);
  const done = await waitComplete(c.json.token as string);
  assert.equal(typeof (done as { step: unknown }).step, 'number');
  const q = await call(
    'GET',
    `/query?sql=${encodeURIComponent('SELECT id, name, amount FROM v ORDER BY id')}&format=text`,
  );
  assert.equal(q.status, 200);
  assert.equal(
    q.text,
    [
      '+----+------+--------+',
      '| id | name | amount |',
      '+----+------+--------+',
      '| 1  | a    | 1.50   |',
      '| 2  | b    | NULL   |',
      '| 3  | c, d | 2.00   |',
      '| 4  | NULL | NULL   |',
      '| 5  | NULL | NULL   |',
      '+----+------+--------+',
      '',
    ].join('\n'),
  );
  const j = await call(
    'GET',
    `/query?sql=${encodeURIComponent('SELECT id, amount FROM v WHERE id < 3 ORDER BY id')}&format=json`,
  );
  assert.deepEqual(
    j.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
    [
      { id: 1, amount: 1.5 },
      { id: 2, amount: null },
    ],
  );
});

test('format=hash: one upper-case SHA-256 per result, as text/plain; row order does not matter, rows and columns do', async () => {
  const hash = async (sql: string) => {
    const r = await fetch(`${base}/query?sql=${encodeURIComponent(sql)}&format=hash`);
    assert.equal(r.status, 200);
    assert.equal(
      r.headers.get('content-type'),
      'text/plain',
      "Feldera's clients read exactly text/plain as text",
    );
    const text = await r.text();
    assert.match(text, /^[0-9A-F]{64}$/);
    return text;
  };
  const all = await hash('SELECT id, name, amount FROM v');
  assert.equal(await hash('SELECT id, name, amount FROM v ORDER BY id DESC'), all, 'order-independent');
  assert.equal(await hash('SELECT id, name, amount FROM v ORDER BY amount, name, id'), all);
  assert.equal(await hash('SELECT * FROM v'), all);
  assert.notEqual(await hash('SELECT id, name, amount FROM v WHERE id > 1'), all, 'a row fewer');
  assert.notEqual(await hash('SELECT id AS k, name, amount FROM v'), all, 'another column name');
  assert.notEqual(await hash('SELECT CAST(id AS BIGINT) AS id, name, amount FROM v'), all, 'another type');
  assert.notEqual(await hash('SELECT id, name, amount + 1 AS amount FROM v'), all, 'another value');
  // a multiset: a duplicated row changes the hash, and two rows swapping values do not collide with the original
  const once = await hash('SELECT name FROM v WHERE id = 1');
  const twice = await hash('SELECT name FROM v WHERE id = 1 UNION ALL SELECT name FROM v WHERE id = 1');
  assert.notEqual(twice, once);
  assert.notEqual(
    await hash('SELECT id, name FROM v WHERE id IN (1, 2)'),
    await hash("SELECT id, CASE WHEN id = 1 THEN 'b' ELSE 'a' END AS name FROM v WHERE id IN (1, 2)"),
  );
  const empty = await hash('SELECT id FROM v WHERE id < 0');
  assert.notEqual(
    empty,
    await hash('SELECT id AS x FROM v WHERE id < 0'),
    'an empty result still hashes its columns',
  );
  const bad = await call('GET', `/query?sql=${encodeURIComponent('SELECT 1')}&format=parquet`);
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error_code, 'InvalidParam');
  assert.match(bad.json.message as string, /use text, json or hash/);
});

test('bad records: good ones are ingested, the reply is 400 ParseErrors listing the bad ones', async () => {
  const r = await call(
    'POST',
    '/ingress/t?format=json',
    '{"insert": {"id": 10}}\n{"insert": {"id": "x"}}\n{"insert": {"id": 11}}',
  );
  assert.equal(r.status, 400);
  assert.equal(r.json.error_code, 'ParseErrors');
  assert.equal((r.json.details as { num_errors: number }).num_errors, 1);
  assert.match(r.json.message as string, /^Errors parsing input data \(1 error\):/);
  await controller.idle();
  const q = await call(
    'GET',
    `/query?sql=${encodeURIComponent('SELECT COUNT(*) AS c FROM v WHERE id IN (10, 11)')}&format=json`,
  );
  assert.equal(q.text.trim(), '{"c":2}');
});

test('coded errors for unknown tables/views, bad options and bad SQL', async () => {
  const cases: Array<[string, string, string | undefined, number, string]> = [
    ['POST', '/ingress/nope?format=json', '{}', 404, 'ConfigError.UnknownInputStream'],
    ['POST', '/ingress/t?format=xml', '', 400, 'ConfigError.UnknownInputFormat'],
    ['POST', '/ingress/t?format=json&array=True', '', 400, 'ConfigError.ParserConfigParseError'],
    ['POST', '/egress/nope?format=json', undefined, 404, 'ConfigError.UnknownOutputStream'],
    [
      'POST',
      '/egress/n?format=json&send_snapshot=true',
      undefined,
      400,
      'ConfigError.InvalidTransportConfig',
    ],
    ['GET', '/query?sql=SELECT%20*%20FROM%20n', undefined, 400, 'AdHocQueryError'],
    ['GET', '/completion_status?token=garbage', undefined, 400, 'InvalidParam'],
    ['GET', '/nowhere', undefined, 404, 'NotFound'],
  ];
  for (const [m, path, body, status, code] of cases) {
    const r = await call(m, path, body);
    assert.equal(r.status, status, `${m} ${path}: ${r.text}`);
    assert.equal(r.json.error_code, code, path);
    assert.doesNotMatch(r.text, /\n\s+at /);
  }
});

test('egress streams a snapshot, then changes, then heartbeats', async () => {
  const ac = new AbortController();
  const res = await fetch(`${base}/egress/v?format=json&send_snapshot=true&backpressure=true`, {
    method: 'POST',
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let buf = '';
  const chunks: Array<Record<string, unknown>> = [];
  const next = async () => {
    while (!buf.includes('\r\n')) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buf += new TextDecoder().decode(value);
    }
    const i = buf.indexOf('\r\n');
    const line = buf.slice(0, i);
    buf = buf.slice(i + 2);
    const obj = JSON.parse(line) as Record<string, unknown>;
    chunks.push(obj);
    return obj;
  };
  const snap = await next();
  assert.equal(snap.snapshot, true);
  assert.equal(snap.sequence_number, 0);
  assert.ok((snap.json_data as unknown[]).length >= 5);
  await call('POST', '/ingress/t?format=json', '{"insert": {"id": 1, "name": "renamed", "amount": 1.5}}');
  const change = await next();
  assert.equal(change.snapshot, false);
  assert.deepEqual(change.json_data, [
    { delete: { id: 1, name: 'a', amount: 1.5 } },
    { insert: { id: 1, name: 'renamed', amount: 1.5 } },
  ]);
  const hb = await next();
  assert.equal(hb.json_data, undefined, 'a heartbeat carries no data');
  assert.equal(hb.sequence_number, 2);
  const stats = await call('GET', '/stats');
  assert.equal((stats.json.outputs as unknown[]).length, 1);
  ac.abort();
});

test('stats carry every global metric key; metrics are Prometheus text; pause and start', async () => {
  const s = await call('GET', '/stats');
  const g = s.json.global_metrics as Record<string, unknown>;
  for (const k of [
    'state',
    'incarnation_uuid',
    'start_time',
    'total_input_records',
    'total_processed_records',
    'total_completed_records',
    'buffered_input_records',
    'pipeline_complete',
    'total_completed_steps',
    'transaction_status',
  ]) {
    assert.ok(k in g, k);
  }
  assert.equal(g.state, 'Running');
  assert.ok(
    (s.json.inputs as Array<{ endpoint_name: string }>).some((i) =>
      i.endpoint_name.startsWith('t.api-ingress'),
    ),
  );
  const m = await call('GET', '/metrics');
  assert.match(m.text, /^# HELP holdfast_records_input_total /m);
  assert.match(m.text, /^holdfast_records_processed_total\{pipeline_name="test"\} \d+$/m);
  assert.equal((await call('POST', '/pause')).status, 200);
  assert.equal(
    ((await call('GET', '/stats')).json.global_metrics as Record<string, unknown>).state,
    'Paused',
  );
  assert.equal((await call('POST', '/start')).status, 200);
  assert.equal(
    ((await call('GET', '/stats')).json.global_metrics as Record<string, unknown>).state,
    'Running',
  );
});

test('CSV egress carries a trailing weight column', async () => {
  const ac = new AbortController();
  const res = await fetch(`${base}/egress/v?format=csv&send_snapshot=true`, {
    method: 'POST',
    signal: ac.signal,
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let buf = '';
  while (!buf.includes('\r\n')) buf += new TextDecoder().decode((await reader.read()).value);
  const first = JSON.parse(buf.slice(0, buf.indexOf('\r\n'))) as { snapshot: boolean; text_data: string };
  assert.equal(first.snapshot, true);
  assert.match(first.text_data, /^1,renamed,1\.50,1$/m);
  assert.match(first.text_data, /^3,"c, d",2\.00,1$/m);
  ac.abort();
});
