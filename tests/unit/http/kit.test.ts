/**
 * The HTTP kit (src/http/) on a real server on 127.0.0.1: route tables, 405 with `Allow`, query coercion and
 * unknown query parameters ignored, schema failures mapped (default and per route), bounded JSON bodies (413,
 * declared or counted), raw bodies left for the handler, malformed percent-encoding, bearer auth, the
 * `onResponse` hook point with route templates, and exact content types.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ServiceError } from '../../../src/errors/service-error.ts';
import { HttpApp } from '../../../src/http/app.ts';
import { queryParams, sendJson } from '../../../src/http/routes.ts';

const seen: Array<{ route: string; status: number }> = [];
const app = new HttpApp({
  auth: {
    key: 'k',
    guarded: (path) => path.startsWith('/secret'),
    message: (sent) => (sent ? 'bad key' : 'no key'),
  },
  jsonBodyLimit: 100,
  jsonBodyWhat: 'test bodies',
  onResponse: (_req, reply, route) => seen.push({ route, status: reply.statusCode }),
}).routes([
  {
    method: 'GET',
    url: '/items/:id',
    schema: {
      params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      querystring: {
        type: 'object',
        properties: {
          flag: { type: 'boolean' },
          n: { type: 'integer' },
          mode: { type: 'string', enum: ['a', 'b'] },
        },
      },
    },
    invalid: (e) =>
      e.param === 'mode'
        ? new ServiceError('UnsupportedPipelineAction', `mode ${String(e.value)}`, {})
        : null,
    handler: (req, reply) => sendJson(reply, 200, { params: req.params, query: req.query }),
  },
  {
    method: 'POST',
    url: '/items/:id',
    schema: {
      body: {
        type: 'object',
        properties: { name: { type: 'string' } },
        required: ['name'],
        additionalProperties: false,
      },
    },
    handler: (req, reply) => sendJson(reply, 201, req.body),
  },
  {
    method: 'POST',
    url: '/raw',
    schema: {},
    body: 'raw',
    handler: async (req, reply) => {
      let n = 0;
      for await (const c of req.raw) n += (c as Buffer).length;
      sendJson(reply, 200, { bytes: n, q: queryParams(req).get('x') });
    },
  },
  { method: 'GET', url: '/secret', schema: {}, handler: (_req, reply) => sendJson(reply, 200, 'ok') },
]);
let port = 0;

before(async () => {
  await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', r));
  port = (app.server.address() as AddressInfo).port;
});
after(async () => {
  app.server.closeAllConnections();
  await new Promise((r) => app.server.close(r));
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

function call(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string; chunks?: string[] } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: opts.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else req.end(opts.body);
  });
}

test('a known path with another method is 405 with Allow; an unknown path 404', async () => {
  const r = await call('DELETE', '/items/1');
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, POST');
  assert.equal(r.json.error_code, 'MethodNotAllowed');
  assert.deepEqual((r.json.details as { allowed: string[] }).allowed, ['GET', 'POST']);
  assert.equal((await call('PUT', '/raw')).status, 405);
  const nf = await call('GET', '/nowhere');
  assert.equal(nf.status, 404);
  assert.equal(nf.json.error_code, 'NotFound');
});

test('query parameters: coerced by their schema, unknown ones ignored, bad values mapped', async () => {
  const ok = await call('GET', '/items/x%20y?flag=true&n=42&mode=a&unknown=1&pipeline_name=');
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.headers['content-type'], 'application/json');
  assert.deepEqual(ok.json.params, { id: 'x y' });
  assert.equal((ok.json.query as { flag: unknown }).flag, true);
  assert.equal((ok.json.query as { n: unknown }).n, 42);
  const bool = await call('GET', '/items/1?flag=yes');
  assert.equal(bool.status, 400);
  assert.equal(bool.json.error_code, 'InvalidParam');
  assert.equal(bool.json.message, "query parameter 'flag' must be true or false, got 'yes'");
  const int = await call('GET', '/items/1?n=1.5');
  assert.equal(int.json.message, "query parameter 'n' must be an integer, got '1.5'");
  const mapped = await call('GET', '/items/1?mode=c');
  assert.equal(mapped.status, 405);
  assert.equal(mapped.json.error_code, 'UnsupportedPipelineAction');
  assert.equal(mapped.json.message, 'mode c');
});

test('JSON bodies: validated as sent, bounded (413 declared or counted), not JSON is 400', async () => {
  const h = { 'content-type': 'application/json' };
  const ok = await call('POST', '/items/1', { headers: h, body: '{"name":"n"}' });
  assert.equal(ok.status, 201, ok.text);
  const extra = await call('POST', '/items/1', { headers: h, body: '{"name":"n","x":1}' });
  assert.equal(extra.status, 400);
  assert.equal(extra.json.error_code, 'InvalidRequestBody');
  const typed = await call('POST', '/items/1', { headers: h, body: '{"name":5}' });
  assert.equal(
    typed.json.message,
    "field 'name' of the request body must be string",
    'no coercion of bodies',
  );
  const bad = await call('POST', '/items/1', { body: '{"name"' });
  assert.equal(bad.json.error_code, 'InvalidRequestBody');
  assert.match(bad.json.message as string, /not valid JSON/);
  const big = JSON.stringify({ name: 'x'.repeat(200) });
  const declared = await call('POST', '/items/1', { headers: h, body: big });
  assert.equal(declared.status, 413);
  assert.equal(declared.json.error_code, 'PayloadTooLarge');
  assert.equal(declared.headers.connection, 'close');
  const counted = await call('POST', '/items/1', { chunks: big.match(/.{1,50}/g) as string[] });
  assert.equal(counted.status, 413);
  assert.equal((await call('GET', '/items/1')).status, 200, 'still serving');
});

test('a raw body is left for the handler whatever its size and type', async () => {
  const body = 'x'.repeat(5 * 1024 * 1024);
  const r = await call('POST', '/raw?x=1', { headers: { 'content-type': 'text/csv' }, body });
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.deepEqual(r.json, { bytes: body.length, q: '1' });
});

test('malformed percent-encoding is 400 InvalidParam; guarded paths need the bearer key', async () => {
  for (const path of ['/items/%E0%A4%A', '/items/1?mode=%FF', '/items/a%ZZ']) {
    const r = await call('GET', path);
    assert.equal(r.status, 400, path);
    assert.equal(r.json.error_code, 'InvalidParam', path);
  }
  const none = await call('GET', '/secret');
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Bearer');
  assert.equal(none.json.message, 'no key');
  const wrong = await call('GET', '/secret', { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.json.message, 'bad key');
  assert.equal(wrong.headers['www-authenticate'], undefined);
  assert.equal((await call('GET', '/secret', { headers: { authorization: 'Bearer k' } })).status, 200);
});

test('onResponse sees each response with its route template', async () => {
  seen.length = 0;
  await call('GET', '/items/7');
  await call('GET', '/nope');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen, [
    { route: '/items/{id}', status: 200 },
    { route: '{unknown}', status: 404 },
  ]);
});
