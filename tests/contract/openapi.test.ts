/**
 * Contract: the manager's OpenAPI document.
 *
 * - The document a manager serves (`GET /v0/api-docs/openapi.json`) is the committed `openapi.json` (run
 *   `npm run openapi` after changing a route or a schema).
 * - Every call of the SDK (`HoldfastApi`, src/client/rest-api.ts) is a method and path of the document: each
 *   public method is called once against a recording `fetch` (a method missing from the table below fails),
 *   and the request it sends must match one of the document's operations.
 * - Answers of a real manager validate against the document's schemas for them (pipeline objects for every
 *   selector, the configuration, an error body), with the same Ajv fastify validates requests with.
 *
 * The type-level half (schemas ≡ wire types, which the SDK's signatures use) is tests/contract/api-schemas.types.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import { HoldfastApi } from '../../src/client/rest-api.ts';
import { Manager } from '../../src/manager/api.ts';

const ROOT = resolve(import.meta.dirname, '../..');

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

let manager: Manager;
let base = '';
let doc: Document;

before(async () => {
  manager = new Manager({
    dataDir: mkdtempSync(join(tmpdir(), 'holdfast-openapi-')),
    mainScript: join(ROOT, 'src/bin/main.ts'),
  });
  await new Promise<void>((r) => manager.server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(manager.server.address() as AddressInfo).port}`;
  const r = await fetch(`${base}/v0/api-docs/openapi.json`);
  assert.equal(r.status, 200);
  doc = (await r.json()) as Document;
});
after(() => manager.close());

test('the served document is the committed openapi.json', () => {
  const committed = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8')) as unknown;
  assert.deepEqual(doc, committed, 'openapi.json is stale: run `npm run openapi` and commit it');
  assert.match(String((doc as unknown as { openapi: string }).openapi), /^3\./);
});

/** The document's operation for a request (method, path below the server), if any. */
function operationOf(method: string, path: string): { template: string; op: Operation } | null {
  for (const [template, ops] of Object.entries(doc.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    const op = ops[method.toLowerCase()];
    if (re.test(path) && op) return { template, op };
  }
  return null;
}

/** Endpoints the SDK has (Feldera's) that the manager does not serve yet: must stay absent from the document. */
const NOT_SERVED = new Set<string>([]);

test('every SDK call is an operation of the document', async () => {
  const sent: Array<{ call: string; method: string; path: string }> = [];
  let current = '';
  const fakeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    sent.push({ call: current, method: init?.method ?? 'GET', path: url.pathname });
    return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const api = new HoldfastApi({ url: 'http://sdk.invalid', fetch: fakeFetch as typeof fetch });
  const p = 'p1';
  const calls: Record<string, () => unknown> = {
    getConfig: () => api.getConfig(),
    listPipelines: () => api.listPipelines(),
    getPipeline: () => api.getPipeline(p, 'status'),
    createPipeline: () => api.createPipeline({ name: p, program_code: '' }),
    putPipeline: () => api.putPipeline(p, { name: p, program_code: '' }),
    patchPipeline: () => api.patchPipeline(p, { description: 'x' }),
    deletePipeline: () => api.deletePipeline(p),
    programDiff: () => api.programDiff(p, 'CREATE TABLE t (x INT);'),
    startPipeline: () => api.startPipeline(p, 'paused', { bootstrapPolicy: 'allow' }),
    stopPipeline: () => api.stopPipeline(p, true),
    pausePipeline: () => api.pausePipeline(p),
    resumePipeline: () => api.resumePipeline(p),
    clearStorage: () => api.clearStorage(p),
    dismissError: () => api.dismissError(p),
    activatePipeline: () => api.activatePipeline(p, 'paused'),
    approvePipeline: () => api.approvePipeline(p),
    checkpoint: () => api.checkpoint(p),
    checkpointStatus: () => api.checkpointStatus(p),
    syncCheckpoint: () => api.syncCheckpoint(p),
    syncCheckpointStatus: () => api.syncCheckpointStatus(p),
    checkpoints: () => api.checkpoints(p),
    remoteCheckpoints: () => api.remoteCheckpoints(p),
    ingress: () => api.ingress(p, 't', '{}'),
    completionToken: () => api.completionToken(p, 't', 'c'),
    completionStatus: () => api.completionStatus(p, 'tok'),
    inputConnectorStats: () => api.inputConnectorStats(p, 't', 'c'),
    outputConnectorStats: () => api.outputConnectorStats(p, 'v', 'c'),
    connectorAction: () => api.connectorAction(p, 't', 'c', 'pause'),
    egress: () => api.egress(p, 'v').ready,
    query: () => api.query(p, 'SELECT 1'),
    stats: () => api.stats(p),
    metrics: () => api.metrics(p),
    logs: () => api.logs(p).ready,
  };
  const methods = Object.getOwnPropertyNames(HoldfastApi.prototype).filter(
    (k) =>
      k !== 'constructor' &&
      k !== 'request' &&
      k !== 'requestJson' &&
      typeof Object.getOwnPropertyDescriptor(HoldfastApi.prototype, k)?.value === 'function',
  );
  assert.deepEqual(
    methods.filter((k) => !(k in calls)),
    [],
    'SDK methods missing from this test: add them to `calls`',
  );
  for (const [name, call] of Object.entries(calls)) {
    current = name;
    await Promise.resolve(call()).catch(() => {}); // answers are not the point here, the requests are
  }
  const missing: string[] = [];
  for (const { call, method, path } of sent) {
    const found = operationOf(method, path);
    if (NOT_SERVED.has(call)) assert.equal(found, null, `${call} is served now: remove it from NOT_SERVED`);
    else if (!found) missing.push(`${call}: ${method} ${path}`);
  }
  assert.deepEqual(missing, [], 'SDK calls with no operation in the document');
  assert.deepEqual(
    Object.keys(calls).filter((c) => !sent.some((s) => s.call === c)),
    [],
    'every SDK method sent a request',
  );
});

/** The schema with its `#/components/schemas/X` references replaced by the components. */
function inline(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(inline);
  if (schema === null || typeof schema !== 'object') return schema;
  const ref = (schema as { $ref?: string }).$ref;
  if (ref?.startsWith('#/components/schemas/'))
    return inline(doc.components.schemas[ref.slice('#/components/schemas/'.length)]);
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k]) => k !== '$id')
      .map(([k, v]) => [k, inline(v)]),
  );
}

/** Validates `value` against a schema with fastify's Ajv; the error message, or null when valid. */
async function validate(schema: unknown, value: unknown): Promise<string | null> {
  const app = Fastify({ logger: false, ajv: { customOptions: { coerceTypes: false, strict: false } } });
  app.post(
    '/',
    { schema: { body: { type: 'object', properties: { v: schema as object }, required: ['v'] } } },
    () => 'ok',
  );
  const r = await app.inject({ method: 'POST', url: '/', payload: { v: value } });
  await app.close();
  return r.statusCode === 200 ? null : r.body;
}

async function checkAnswer(method: string, path: string, body?: unknown): Promise<void> {
  const r = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const value = (await r.json()) as unknown;
  const found = operationOf(method, path.split('?')[0] as string);
  assert.ok(found, `${method} ${path} is in the document`);
  const status = String(r.status);
  const responses = found.op.responses ?? {};
  const answer = responses[status] ?? responses[`${status[0]}XX`];
  const schema = answer?.content?.['application/json']?.schema;
  assert.ok(schema, `${method} ${found.template}: the document has a schema for ${status}`);
  assert.equal(
    await validate(inline(schema), value),
    null,
    `${method} ${path} → ${status}: ${JSON.stringify(value)}`,
  );
}

test('answers of a real manager validate against the document', { timeout: 60_000 }, async () => {
  const sql = 'CREATE TABLE t (id INT NOT NULL PRIMARY KEY); CREATE MATERIALIZED VIEW v AS SELECT * FROM t;';
  await checkAnswer('POST', '/v0/pipelines', { name: 'doc1', program_code: sql, description: 'd' });
  for (const selector of ['all', 'status', 'status_with_connectors']) {
    await checkAnswer('GET', `/v0/pipelines/doc1?selector=${selector}`);
    await checkAnswer('GET', `/v0/pipelines?selector=${selector}`);
  }
  await checkAnswer('PATCH', '/v0/pipelines/doc1', { description: 'changed' });
  await checkAnswer('GET', '/v0/config');
  await checkAnswer('GET', '/v0/pipelines/nope');
  const wrong = await fetch(`${base}/v0/pipelines/doc1/stats`, { method: 'POST' });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'GET');
  const body = (await wrong.json()) as { error_code: string };
  assert.equal(body.error_code, 'MethodNotAllowed');
  assert.equal(await validate(inline({ $ref: '#/components/schemas/ErrorResponse' }), body), null);
  // and a wrong answer is caught: the check can fail
  const schema = inline(
    operationOf('GET', '/v0/config')?.op.responses?.['200']?.content?.['application/json']?.schema,
  );
  assert.notEqual(await validate(schema, { edition: 'Community' }), null);
});
