import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ApiError,
  ClientError,
  HoldfastClient,
  isApiError,
  isClientError,
} from '../../../src/client/index.ts';
import { FakeServer, pipelineDescr, send } from './fake-server.ts';

const KEY = 'apikey:s3cr3tS3CR3Ts3cr3tS3CR3T';

const server = FakeServer.forFile();

describe('low-level methods send the right requests', () => {
  test('every method: method, path, query and body', async () => {
    const c = new HoldfastClient({ url: server.url });
    const pl = '/v0/pipelines/p1';
    const descr = pipelineDescr('p1');
    server
      .on('GET', '/v0/config', { json: { edition: 'Open source', version: '0.1.0' } })
      .on('GET', '/v0/pipelines', { json: [descr] })
      .on('GET', pl, { json: descr })
      .on('POST', '/v0/pipelines', { status: 201, json: descr })
      .on('PUT', pl, { status: 201, json: descr })
      .on('PATCH', pl, { json: descr })
      .on('DELETE', pl, { status: 200 })
      .on('POST', `${pl}/start`, { status: 202, json: 'Pipeline is starting' })
      .on('POST', `${pl}/stop`, { status: 202, json: 'Pipeline is forcefully stopping' })
      .on('POST', `${pl}/pause`, { status: 202, json: 'Pipeline is pausing' })
      .on('POST', `${pl}/resume`, { status: 202, json: 'Pipeline is resuming' })
      .on('POST', `${pl}/clear`, { status: 202, json: 'Pipeline storage is being cleared' })
      .on('POST', `${pl}/dismiss_error`, { json: 'ok' })
      .on('POST', `${pl}/activate`, { status: 202, json: 'activating' })
      .on('POST', `${pl}/approve`, { json: 'Bootstrap approved' })
      .on('POST', `${pl}/checkpoint`, { json: { checkpoint_sequence_number: 3, incarnation_uuid: 'u' } })
      .on('GET', `${pl}/checkpoint_status`, { json: { success: 3, failure: null } })
      .on('POST', `${pl}/checkpoint/sync`, {
        status: 202,
        json: { checkpoint_uuid: 'c', incarnation_uuid: 'u' },
      })
      .on('GET', `${pl}/checkpoint/sync_status`, { json: { success: 'c', failure: null, periodic: null } })
      .on('GET', `${pl}/checkpoints`, { json: [] })
      .on('POST', `${pl}/ingress/t1`, { json: { token: 'tok' } })
      .on('POST', `${pl}/ingress/%22T1%22`, { json: { token: 'tok2' } })
      .on('GET', `${pl}/tables/t1/connectors/c1/completion_token`, { json: { token: 'tok3' } })
      .on('GET', `${pl}/completion_status`, { json: { status: 'complete', step: 4 } })
      .on('GET', `${pl}/stats`, { json: { global_metrics: { pipeline_complete: false } } })
      .on('GET', `${pl}/metrics`, { text: '# TYPE x counter\nx 1\n' })
      .on('GET', `${pl}/query`, { text: '+---+\n' });

    assert.equal((await c.getConfig()).edition, 'Open source');
    assert.equal((await c.listPipelines()).length, 1);
    await c.listPipelines('status');
    assert.equal((await c.getPipeline('p1')).name, 'p1');
    await c.getPipeline('p1', 'status_with_connectors');
    const body = { name: 'p1', program_code: 'CREATE TABLE t (x INT);' };
    await c.createPipeline(body);
    await c.putPipeline('p1', body);
    await c.patchPipeline('p1', { description: 'd', program_code: null });
    await c.deletePipeline('p1');
    await c.startPipeline('p1');
    await c.startPipeline('p1', 'paused', {
      bootstrapPolicy: 'allow',
      silentBootstrap: true,
      dismissError: false,
    });
    await c.stopPipeline('p1', true);
    await c.stopPipeline('p1');
    await c.pausePipeline('p1');
    await c.resumePipeline('p1');
    await c.clearStorage('p1');
    await c.dismissError('p1');
    await c.activatePipeline('p1', 'paused');
    await c.approvePipeline('p1', { silentBootstrap: true, concurrentBootstrap: false });
    assert.equal((await c.checkpoint('p1')).checkpoint_sequence_number, 3);
    await c.checkpointStatus('p1', 'inc-1');
    await c.syncCheckpoint('p1');
    await c.syncCheckpointStatus('p1');
    await c.checkpoints('p1');
    assert.deepEqual(
      await c.ingress('p1', 't1', '[{"x":1}]', { updateFormat: 'raw', array: true, force: true }),
      { token: 'tok' },
    );
    await c.ingress('p1', '"T1"', '1,2\n', { format: 'csv' });
    assert.equal((await c.completionToken('p1', 't1', 'c1')).token, 'tok3');
    assert.deepEqual(await c.completionStatus('p1', 'a+b/c='), { status: 'complete', step: 4 });
    await c.stats('p1');
    await c.stats('p1', { includeConnectorErrors: true });
    assert.equal(await c.metrics('p1'), '# TYPE x counter\nx 1\n');
    await c.metrics('p1', 'json');
    assert.equal(await (await c.query('p1', 'SELECT 1')).text(), '+---+\n');

    const seen = server.requests.map((r) => [r.method, r.path, r.query, r.body]);
    assert.deepEqual(seen, [
      ['GET', '/v0/config', {}, ''],
      ['GET', '/v0/pipelines', {}, ''],
      ['GET', '/v0/pipelines', { selector: 'status' }, ''],
      ['GET', pl, {}, ''],
      ['GET', pl, { selector: 'status_with_connectors' }, ''],
      ['POST', '/v0/pipelines', {}, JSON.stringify(body)],
      ['PUT', pl, {}, JSON.stringify(body)],
      ['PATCH', pl, {}, '{"description":"d","program_code":null}'],
      ['DELETE', pl, {}, ''],
      ['POST', `${pl}/start`, { initial: 'running' }, ''],
      [
        'POST',
        `${pl}/start`,
        { initial: 'paused', bootstrap_policy: 'allow', silent_bootstrap: 'true', dismiss_error: 'false' },
        '',
      ],
      ['POST', `${pl}/stop`, { force: 'true' }, ''],
      ['POST', `${pl}/stop`, { force: 'false' }, ''],
      ['POST', `${pl}/pause`, {}, ''],
      ['POST', `${pl}/resume`, {}, ''],
      ['POST', `${pl}/clear`, {}, ''],
      ['POST', `${pl}/dismiss_error`, {}, ''],
      ['POST', `${pl}/activate`, { initial: 'paused' }, ''],
      ['POST', `${pl}/approve`, { silent_bootstrap: 'true' }, ''],
      ['POST', `${pl}/checkpoint`, {}, ''],
      ['GET', `${pl}/checkpoint_status`, { incarnation_uuid: 'inc-1' }, ''],
      ['POST', `${pl}/checkpoint/sync`, {}, ''],
      ['GET', `${pl}/checkpoint/sync_status`, {}, ''],
      ['GET', `${pl}/checkpoints`, {}, ''],
      [
        'POST',
        `${pl}/ingress/t1`,
        { format: 'json', update_format: 'raw', array: 'true', force: 'true' },
        '[{"x":1}]',
      ],
      ['POST', `${pl}/ingress/%22T1%22`, { format: 'csv' }, '1,2\n'],
      ['GET', `${pl}/tables/t1/connectors/c1/completion_token`, {}, ''],
      ['GET', `${pl}/completion_status`, { token: 'a+b/c=' }, ''],
      ['GET', `${pl}/stats`, {}, ''],
      ['GET', `${pl}/stats`, { include_connector_errors: 'true' }, ''],
      ['GET', `${pl}/metrics`, { format: 'prometheus' }, ''],
      ['GET', `${pl}/metrics`, { format: 'json' }, ''],
      ['GET', `${pl}/query`, { sql: 'SELECT 1', format: 'text' }, ''],
    ]);
    const ct = (i: number) => server.requests[i]?.headers['content-type'];
    assert.equal(ct(5), 'application/json'); // POST pipeline
    assert.equal(ct(7), 'application/json'); // PATCH
    assert.equal(ct(24), 'application/json'); // JSON ingress
    assert.equal(ct(25), 'text/csv'); // CSV ingress
  });

  test('pipeline names are URL-encoded in paths; url may carry /v0 and a trailing slash', async () => {
    const c = new HoldfastClient({ url: `${server.url}/v0/` });
    server.on('GET', '/v0/pipelines/a%20b%2Fc', { json: pipelineDescr('a b/c') });
    assert.equal((await c.getPipeline('a b/c')).name, 'a b/c');
  });
});

describe('authentication', () => {
  test('Authorization header only when an API key is configured', async () => {
    server.on('GET', '/v0/config', { json: { edition: 'Open source' } });
    await new HoldfastClient({ url: server.url }).getConfig();
    await new HoldfastClient({ url: server.url, apiKey: KEY }).getConfig();
    await new HoldfastClient({ url: server.url, headers: { 'Feldera-Tenant': 't1' } }).getConfig();
    assert.equal(server.requests[0]?.headers.authorization, undefined);
    assert.equal(server.requests[1]?.headers.authorization, `Bearer ${KEY}`);
    assert.equal(server.requests[2]?.headers['feldera-tenant'], 't1');
    assert.match(String(server.requests[0]?.headers['user-agent']), /^holdfast-client\//);
  });

  test('the API key is not visible on the client object', () => {
    const c = new HoldfastClient({ url: server.url, apiKey: KEY });
    assert.equal(c.authenticated, true);
    assert.ok(!JSON.stringify(c).includes(KEY));
    assert.ok(!Object.values(c).some((v) => String(v).includes(KEY)));
  });

  test('no API key in error messages, even when the server echoes it', async () => {
    server
      .on('GET', '/v0/config', {
        status: 401,
        json: { message: `invalid key ${KEY}`, error_code: 'AuthenticationFailed' },
      })
      .on('GET', '/v0/pipelines', { status: 400, text: `bad header Bearer ${KEY}` });
    const c = new HoldfastClient({ url: server.url, apiKey: KEY });
    const e1 = await c.getConfig().catch((e: unknown) => e);
    assert.ok(isApiError(e1, 'AuthenticationFailed'));
    assert.equal(e1.status, 401);
    assert.equal(e1.details, null);
    assert.ok(!e1.message.includes(KEY) && !e1.stack?.includes(KEY));
    const e2 = await c.listPipelines().catch((e: unknown) => e);
    assert.ok(isApiError(e2, 'HttpError'));
    assert.ok(!e2.message.includes(KEY));
    assert.ok(!JSON.stringify(e2.details).includes(KEY));
    const dead = new HoldfastClient({ url: 'http://127.0.0.1:1', apiKey: KEY });
    const e3 = await dead.getConfig().catch((e: unknown) => e);
    assert.ok(isClientError(e3, 'ConnectionFailed'));
    assert.ok(!e3.message.includes(KEY));
  });
});

describe('errors', () => {
  test('ErrorResponse bodies become ApiError with status, errorCode, details, Retry-After', async () => {
    server
      .on('GET', '/v0/pipelines/nope', {
        status: 404,
        json: {
          message: 'Unknown pipeline name nope',
          error_code: 'UnknownPipelineName',
          details: { pipeline_name: 'nope' },
        },
      })
      .on('POST', '/v0/pipelines/p/ingress/t', {
        status: 503,
        headers: { 'retry-after': '2' },
        json: {
          message: 'not deployed',
          error_code: 'PipelineInteractionNotDeployed',
          details: { status: 'Stopped' },
        },
      });
    const c = new HoldfastClient({ url: server.url });
    const e = await c.getPipeline('nope').catch((x: unknown) => x);
    assert.ok(e instanceof ApiError);
    assert.ok(isApiError(e, 'UnknownPipelineName'));
    assert.equal(isApiError(e, 'DuplicateName'), false);
    assert.equal(e.status, 404);
    assert.equal(e.message, 'Unknown pipeline name nope');
    assert.deepEqual(e.details, { pipeline_name: 'nope' });
    assert.equal(e.retryAfterMs, undefined);
    assert.equal(e.method, 'GET');
    assert.equal(e.path, '/v0/pipelines/nope');
    const e2 = await c.ingress('p', 't', '[]').catch((x: unknown) => x);
    assert.ok(isApiError(e2, 'PipelineInteractionNotDeployed'));
    assert.equal(e2.status, 503);
    assert.equal(e2.retryAfterMs, 2000);
  });

  test('plain-text and empty error bodies still give a useful ApiError', async () => {
    server
      .on('GET', '/v0/pipelines', { status: 400, text: 'Query deserialize error: unknown variant `foo`' })
      .on('GET', '/v0/config', { status: 401, headers: { 'www-authenticate': 'Bearer' } });
    const c = new HoldfastClient({ url: server.url });
    const e = await c.listPipelines().catch((x: unknown) => x);
    assert.ok(isApiError(e, 'HttpError'));
    assert.equal(e.status, 400);
    assert.match(e.message, /GET \/v0\/pipelines failed with HTTP 400 Bad Request: Query deserialize error/);
    assert.deepEqual(e.details, { body: 'Query deserialize error: unknown variant `foo`' });
    const e2 = await c.getConfig().catch((x: unknown) => x);
    assert.ok(isApiError(e2));
    assert.equal(e2.status, 401);
    assert.equal(e2.message, 'GET /v0/config failed with HTTP 401 Unauthorized');
  });

  test('a request that outlives timeoutMs fails with RequestTimeout; a caller abort rejects with its reason', async () => {
    server.on('GET', '/v0/config', () => new Promise(() => {}));
    const c = new HoldfastClient({ url: server.url, timeoutMs: 50 });
    const e = await c.getConfig().catch((x: unknown) => x);
    assert.ok(isClientError(e, 'RequestTimeout'));
    assert.ok(e instanceof ClientError);
    const ac = new AbortController();
    const p = c.getConfig({ signal: ac.signal, timeoutMs: 0 });
    setTimeout(() => ac.abort(new Error('caller gave up')), 20);
    await assert.rejects(p, /caller gave up/);
  });

  test('a non-JSON success body where JSON is expected is InvalidResponse', async () => {
    server.on('GET', '/v0/config', { text: 'hello' });
    const e = await new HoldfastClient({ url: server.url }).getConfig().catch((x: unknown) => x);
    assert.ok(isClientError(e, 'InvalidResponse'));
  });
});

describe('streams', () => {
  test('egress: chunks parsed across split network reads, heartbeats included, close() ends quietly', async () => {
    let ended = false;
    server.on('POST', '/v0/pipelines/p/egress/v', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const lines = [
        '{"sequence_number":0,"snapshot":true,"json_data":[{"insert":{"id":1,"s":"é"}}]}\r\n',
        '{"sequence_number":1,"snapshot":false}\r\n',
        '{"sequence_number":2,"snapshot":false,"json_data":[{"delete":{"id":1,"s":"é"}},{"insert":{"id":2,"s":"b"}}]}\r\n',
      ];
      const bytes = Buffer.from(lines.join(''), 'utf8');
      // Write in awkward pieces: mid-token, mid-"\r\n" and mid-UTF-8 character.
      const cuts = [5, 40, bytes.indexOf(0xc3) + 1, bytes.indexOf(0x0d) + 1, 120, 150].sort((a, b) => a - b);
      let prev = 0;
      const pieces = [...cuts, bytes.length].map((cut) => {
        const piece = bytes.subarray(prev, cut);
        prev = cut;
        return piece;
      });
      let i = 0;
      const timer = setInterval(() => {
        const piece = pieces[i++];
        if (piece) res.write(piece);
        else clearInterval(timer);
      }, 5);
      res.on('close', () => {
        clearInterval(timer);
        ended = true;
      });
      return undefined;
    });
    const c = new HoldfastClient({ url: server.url });
    const stream = c.egress('p', 'v', { sendSnapshot: true });
    await stream.ready;
    const got = [];
    for await (const chunk of stream) {
      got.push(chunk);
      if (chunk.sequence_number === 2) stream.close();
    }
    assert.deepEqual(got, [
      { sequence_number: 0, snapshot: true, json_data: [{ insert: { id: 1, s: 'é' } }] },
      { sequence_number: 1, snapshot: false },
      {
        sequence_number: 2,
        snapshot: false,
        json_data: [{ delete: { id: 1, s: 'é' } }, { insert: { id: 2, s: 'b' } }],
      },
    ]);
    assert.deepEqual(server.requests[0]?.query, {
      format: 'json',
      backpressure: 'true',
      send_snapshot: 'true',
    });
    assert.ok(stream.closed);
    for (let k = 0; k < 50 && !ended; k++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ended, 'the server saw the connection close');
  });

  test('egress: an error answer rejects ready and the iteration', async () => {
    server.on('POST', '/v0/pipelines/p/egress/nope', {
      status: 404,
      json: { message: 'no view', error_code: 'ConfigError.UnknownOutputStream', details: { name: 'nope' } },
    });
    const c = new HoldfastClient({ url: server.url });
    const s = c.egress('p', 'nope');
    await assert.rejects(s.ready, (e: unknown) => isApiError(e, 'ConfigError.UnknownOutputStream'));
    await assert.rejects(
      (async () => {
        for await (const _ of s) {
          // nothing
        }
      })(),
      (e: unknown) => isApiError(e, 'ConfigError.UnknownOutputStream'),
    );
  });

  test('egress: aborting the caller signal ends the iteration without error', async () => {
    server.on('POST', '/v0/pipelines/p/egress/v', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"sequence_number":0,"snapshot":false}\r\n');
      return undefined;
    });
    const ac = new AbortController();
    const s = new HoldfastClient({ url: server.url }).egress('p', 'v', { signal: ac.signal });
    const got = [];
    for await (const chunk of s) {
      got.push(chunk);
      ac.abort();
    }
    assert.equal(got.length, 1);
  });

  test('logs: lines streamed as they arrive, last line without newline', async () => {
    server.on('GET', '/v0/pipelines/p/logs', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.write('2026-08-21 INFO starting\n2026-08-21 INFO ');
      setTimeout(() => {
        res.write('running\r\n');
        setTimeout(() => res.end('end of logs'), 10);
      }, 10);
      return undefined;
    });
    const lines = [];
    for await (const line of new HoldfastClient({ url: server.url }).logs('p')) lines.push(line);
    assert.deepEqual(lines, ['2026-08-21 INFO starting', '2026-08-21 INFO running', 'end of logs']);
  });

  test('query returns the raw streamed response', async () => {
    server.on('GET', '/v0/pipelines/p/query', (req, res) => {
      send(res, { text: req.query.format === 'hash' ? 'ABCDEF\n' : 'x' });
      return undefined;
    });
    const res = await new HoldfastClient({ url: server.url }).query('p', 'SELECT 1', 'hash');
    assert.equal(await res.text(), 'ABCDEF\n');
  });
});
