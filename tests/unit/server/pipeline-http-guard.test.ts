/**
 * The pipeline process's HTTP guards over real HTTP on 127.0.0.1 (port 0): the per-pipeline key on every route
 * (401 without it or with a wrong one), 400 for malformed percent-encoding in a path or a query, 413 for an
 * ingress body over the limit (by Content-Length and by counting a chunked body; the server keeps serving and
 * nothing is ingested), and streaming ingress: a body larger than the in-memory part is spooled, parsed in
 * pieces and ingested whole; a bad record midway is reported with its event number while the others are
 * ingested; a request cut off midway ingests nothing and leaves no spool file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Controller } from '../../../src/controller/controller.ts';
import { createPipelineServer } from '../../../src/server/pipeline-server.ts';
import { compileProgram } from '../../../src/sql/program.ts';

const KEY = 'k-0123456789abcdef';
const program = await compileProgram(`
  CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR);
  CREATE MATERIALIZED VIEW n AS SELECT COUNT(*) AS c FROM t;`);
const controller = new Controller(program);
const spoolDir = join(mkdtempSync(join(tmpdir(), 'holdfast-guard-')), 'spool');
const server = createPipelineServer(controller, { key: KEY, maxIngressBytes: 64 * 1024 * 1024, spoolDir });
const small = createPipelineServer(new Controller(program), { maxIngressBytes: 1000 });
let port = 0;
let smallPort = 0;

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => small.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  smallPort = (small.address() as AddressInfo).port;
});
after(async () => {
  for (const s of [server, small]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface Reply {
  status: number;
  text: string;
  json: Record<string, unknown>;
}

/** A raw HTTP request (the path is sent exactly as given); `chunks` are written one by one (chunked). */
function raw(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string; chunks?: Iterable<string>; to?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: opts.to ?? port, method, path, headers: opts.headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    req.on('error', reject);
    if (opts.chunks) {
      const it = opts.chunks[Symbol.iterator]();
      const pump = () => {
        for (;;) {
          const n = it.next();
          if (n.done) return void req.end();
          if (!req.write(n.value)) return void req.once('drain', pump);
        }
      };
      pump();
    } else req.end(opts.body);
  });
}

const auth = { authorization: `Bearer ${KEY}` };

async function count(): Promise<number> {
  const r = await raw('GET', `/query?sql=${encodeURIComponent('SELECT c FROM n')}&format=json`, {
    headers: auth,
  });
  assert.equal(r.status, 200, r.text);
  return r.text.trim() === '' ? 0 : (JSON.parse(r.text) as { c: number }).c;
}

async function settle(token: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const s = await raw('GET', `/completion_status?token=${encodeURIComponent(token)}`, { headers: auth });
    if (s.json.status === 'complete') return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('token never completed');
}

test('with a key, every route refuses a request without it or with a wrong one (401), and serves it with it', async () => {
  const routes: Array<[string, string]> = [
    ['GET', '/status'],
    ['GET', '/healthz'],
    ['GET', '/stats'],
    ['GET', '/metrics'],
    ['POST', '/ingress/t?format=json'],
    ['GET', '/query?sql=SELECT%201'],
    ['POST', '/checkpoint'],
    ['GET', '/checkpoint_status'],
    ['POST', '/activate'],
    ['POST', '/pause'],
    ['POST', '/start'],
    ['POST', '/approve'],
    ['POST', '/egress/n?format=json'],
    ['GET', '/completion_status?token=x'],
    ['GET', '/no/such/route'],
  ];
  for (const [method, path] of routes) {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: KEY }] as Array<
      Record<string, string>
    >) {
      const r = await raw(method, path, {
        headers,
        ...(method === 'POST' ? { body: '{"insert": {"id": 1}}' } : {}),
      });
      assert.equal(r.status, 401, `${method} ${path} ${JSON.stringify(headers)}: ${r.text}`);
      assert.equal(r.json.error_code, 'AuthenticationFailed');
      assert.doesNotMatch(r.text, new RegExp(KEY));
    }
  }
  assert.equal((await raw('GET', '/status', { headers: auth })).status, 200);
  const ok = await raw('POST', '/ingress/t?format=json', { headers: auth, body: '{"insert": {"id": 1}}' });
  assert.equal(ok.status, 200, ok.text);
  await settle(ok.json.token as string);
  assert.equal(await count(), 1);
  const stats = await raw('GET', '/stats', { headers: auth });
  assert.doesNotMatch(stats.text, new RegExp(KEY), 'the key is not in /stats');
});

test('malformed percent-encoding in a path or a query is 400 InvalidParam, not 500', async () => {
  for (const path of [
    '/ingress/%E0%A4%A?format=json',
    '/ingress/t%ZZ',
    '/query?sql=%E0%A4%A',
    '/query?sql=SELECT%FF',
    '/status?x=%',
    '/egress/%C0',
  ]) {
    const get = path.startsWith('/query') || path.startsWith('/status');
    const r = await raw(get ? 'GET' : 'POST', path, { headers: auth, ...(get ? {} : { body: '' }) });
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    assert.equal(r.json.error_code, 'InvalidParam', path);
  }
  assert.equal((await raw('GET', '/status', { headers: auth })).status, 200, 'still serving');
});

test('an ingress body over the limit is 413 PayloadTooLarge (declared or counted); nothing is ingested', async () => {
  const body = Array.from({ length: 200 }, (_, i) => `{"insert": {"id": ${i}}}`).join('\n');
  const declared = await raw('POST', '/ingress/t?format=json', { body, to: smallPort });
  assert.equal(declared.status, 413, declared.text);
  assert.equal(declared.json.error_code, 'PayloadTooLarge');
  assert.equal((declared.json.details as { limit_bytes: number }).limit_bytes, 1000);
  const chunked = await raw('POST', '/ingress/t?format=json', {
    chunks: body.split('\n').map((l) => `${l}\n`),
    to: smallPort,
  });
  assert.equal(chunked.status, 413, chunked.text);
  assert.equal(chunked.json.error_code, 'PayloadTooLarge');
  const stats = await raw('GET', '/stats', { to: smallPort });
  assert.equal(stats.status, 200, 'the server keeps serving');
  assert.equal((stats.json.global_metrics as { total_input_records: number }).total_input_records, 0);
  const fits = await raw('POST', '/ingress/t?format=json', { body: '{"insert": {"id": 1}}', to: smallPort });
  assert.equal(fits.status, 200, fits.text);
});

function* lines(from: number, to: number, bad: number | null = null): Generator<string> {
  const pad = 'x'.repeat(100);
  let buf = '';
  for (let i = from; i < to; i++) {
    buf +=
      i === bad ? '{"insert": {"id": "not a number"}}\n' : `{"insert": {"id": ${i}, "name": "${pad}${i}"}}\n`;
    if (buf.length > 60_000) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

test('a large ingress body is spooled, parsed in pieces and ingested whole; a bad record midway is reported', async () => {
  const before = await count();
  // ~150 bytes a line: 120,000 lines ≈ 17 MiB, more than the 8 MiB kept in memory
  const r = await raw('POST', '/ingress/t?format=json', { headers: auth, chunks: lines(100_000, 220_000) });
  assert.equal(r.status, 200, r.text);
  await settle(r.json.token as string);
  assert.equal(await count(), before + 120_000);
  assert.deepEqual(readdirSync(spoolDir), [], 'the spool file is removed');

  const bad = await raw('POST', '/ingress/t?format=json', {
    headers: auth,
    chunks: lines(300_000, 360_000, 330_000),
  });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error_code, 'ParseErrors');
  const details = bad.json.details as { num_errors: number; errors: Array<{ event_number: number }> };
  assert.equal(details.num_errors, 1);
  assert.equal(details.errors[0]?.event_number, 30_001);
  const stats = await raw('GET', '/stats', { headers: auth });
  const total = (stats.json.global_metrics as { total_input_records: number }).total_input_records;
  for (let i = 0; i < 400 && (await count()) !== before + 120_000 + 59_999; i++)
    await new Promise((res) => setTimeout(res, 10));
  assert.equal(await count(), before + 120_000 + 59_999, `the good records are ingested (${total} input)`);
});

test('an ingress request cut off midway ingests nothing and leaves no spool file', async () => {
  const before = await count();
  const statsBefore = await raw('GET', '/stats', { headers: auth });
  const inputBefore = (statsBefore.json.global_metrics as { total_input_records: number })
    .total_input_records;
  await new Promise<void>((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/ingress/t?format=json',
      headers: { ...auth, 'content-length': String(50 * 1024 * 1024) },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    let sent = 0;
    const it = lines(500_000, 600_000);
    const pump = () => {
      for (;;) {
        const n = it.next();
        if (n.done || sent > 12 * 1024 * 1024) {
          // more than the in-memory part has been sent (spooled); then the client goes away
          setTimeout(() => req.destroy(), 200);
          return;
        }
        sent += n.value.length;
        if (!req.write(n.value)) return void req.once('drain', pump);
      }
    };
    pump();
  });
  await new Promise((r) => setTimeout(r, 300));
  const stats = await raw('GET', '/stats', { headers: auth });
  assert.equal(
    (stats.json.global_metrics as { total_input_records: number }).total_input_records,
    inputBefore,
  );
  assert.equal(await count(), before);
  assert.deepEqual(readdirSync(spoolDir), [], 'the spool file is removed');
});
