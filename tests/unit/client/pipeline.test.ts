import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HoldfastClient, isApiError, isClientError, Pipeline } from '../../../src/client/index.ts';
import type { PipelineDescr } from '../../../src/types/pipeline-api.ts';
import { FakeServer, pipelineDescr, statusSequence as statusOf } from './fake-server.ts';

const PL = '/v0/pipelines/p';

let client: HoldfastClient;
const server = FakeServer.forFile((s) => {
  client = new HoldfastClient({ url: s.url });
});

const statusSequence = (states: Array<Partial<PipelineDescr>>): void => statusOf(server, states);

const ok = { status: 202, json: 'ok' };

describe('start / stop / pause / resume', () => {
  test('start dismisses the error, starts with dismiss_error=false and waits for Running', async () => {
    server.on('POST', `${PL}/dismiss_error`, { json: 'ok' }).on('POST', `${PL}/start`, ok);
    statusSequence([
      { deployment_status: 'Stopped', deployment_desired_status: 'Running' },
      { deployment_status: 'Provisioning', deployment_desired_status: 'Running' },
      { deployment_status: 'Initializing', deployment_desired_status: 'Running' },
      { deployment_status: 'Running', deployment_desired_status: 'Running' },
    ]);
    const p = client.pipeline('p', { pollIntervalMs: 5 });
    await p.start();
    const paths = server.requests.map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(paths, [
      `POST ${PL}/dismiss_error`,
      `POST ${PL}/start`,
      `GET ${PL}`,
      `GET ${PL}`,
      `GET ${PL}`,
      `GET ${PL}`,
    ]);
    assert.deepEqual(server.requests[1]?.query, { initial: 'running', dismiss_error: 'false' });
    assert.deepEqual(server.requests[2]?.query, { selector: 'status' });
  });

  test('start({ initial: paused, bootstrapPolicy }) waits for Paused; AwaitingApproval also ends the wait', async () => {
    server.on('POST', `${PL}/dismiss_error`, { json: 'ok' }).on('POST', `${PL}/start`, ok);
    statusSequence([{ deployment_status: 'Provisioning' }, { deployment_status: 'Paused' }]);
    const p = client.pipeline('p', { pollIntervalMs: 5 });
    await p.start({ initial: 'paused', bootstrapPolicy: 'allow', silentBootstrap: true });
    assert.deepEqual(server.calls(`${PL}/start`)[0]?.query, {
      initial: 'paused',
      bootstrap_policy: 'allow',
      silent_bootstrap: 'true',
      dismiss_error: 'false',
    });
    server.reset();
    server.on('POST', `${PL}/dismiss_error`, { json: 'ok' }).on('POST', `${PL}/start`, ok);
    statusSequence([{ deployment_status: 'AwaitingApproval' }]);
    await p.start({ dismissError: false });
    assert.equal(server.calls(`${PL}/dismiss_error`).length, 0);
  });

  test('start fails fast with the deployment_error when the pipeline lands in Stopped', async () => {
    server.on('POST', `${PL}/dismiss_error`, { json: 'ok' }).on('POST', `${PL}/start`, ok);
    statusSequence([
      { deployment_status: 'Provisioning', deployment_desired_status: 'Running' },
      { deployment_status: 'Stopping', deployment_desired_status: 'Stopped' },
      {
        deployment_status: 'Stopped',
        deployment_desired_status: 'Stopped',
        deployment_error: {
          message: 'table t: bad checkpoint',
          error_code: 'StateRestoreError',
          details: {},
        },
      },
    ]);
    const p = client.pipeline('p', { pollIntervalMs: 5 });
    const e = await p.start({ timeoutMs: 5000 }).catch((x: unknown) => x);
    assert.ok(isClientError(e, 'PipelineFailed'));
    assert.match(e.message, /bad checkpoint/);
    assert.deepEqual((e.details.deployment_error as { error_code: string }).error_code, 'StateRestoreError');
  });

  test('start with wait: false returns after the POST; start with timeoutMs throws WaitTimeout', async () => {
    server.on('POST', `${PL}/dismiss_error`, { json: 'ok' }).on('POST', `${PL}/start`, ok);
    statusSequence([{ deployment_status: 'Provisioning', deployment_desired_status: 'Running' }]);
    const p = client.pipeline('p', { pollIntervalMs: 10 });
    await p.start({ wait: false });
    assert.equal(server.calls(PL).length, 0);
    const e = await p.start({ timeoutMs: 60 }).catch((x: unknown) => x);
    assert.ok(isClientError(e, 'WaitTimeout'));
    assert.match(e.message, /timed out after 60 ms waiting for pipeline 'p' to reach Running/);
    assert.equal(e.details.deployment_status, 'Provisioning');
    // it stopped at its timeout: at most one status poll per interval until then (however slow the machine)
    const polls = server.calls(PL).length;
    assert.ok(polls >= 1 && polls <= 60 / 10 + 2, `${polls} polls`);
  });

  test('stop sends force and waits for Stopped; its timeout is WaitTimeout', async () => {
    server.on('POST', `${PL}/stop`, ok);
    statusSequence([
      { deployment_status: 'Running' },
      { deployment_status: 'Stopping' },
      { deployment_status: 'Stopped' },
    ]);
    const p = client.pipeline('p', { pollIntervalMs: 5 });
    await p.stop({ force: true });
    assert.deepEqual(server.calls(`${PL}/stop`)[0]?.query, { force: 'true' });
    assert.equal(server.calls(PL).length, 3);
    server.reset();
    server.on('POST', `${PL}/stop`, ok);
    statusSequence([{ deployment_status: 'Suspended' }]);
    const e = await p.stop({ timeoutMs: 30 }).catch((x: unknown) => x);
    assert.ok(isClientError(e, 'WaitTimeout'));
    assert.deepEqual(server.calls(`${PL}/stop`)[0]?.query, { force: 'false' });
  });

  test('pause / resume wait for Paused / Running; clearStorage waits for Cleared; delete', async () => {
    server
      .on('POST', `${PL}/pause`, ok)
      .on('POST', `${PL}/resume`, ok)
      .on('POST', `${PL}/clear`, ok)
      .on('DELETE', PL, { status: 200 });
    const p = client.pipeline('p', { pollIntervalMs: 5 });
    statusSequence([{ deployment_status: 'Running' }, { deployment_status: 'Paused' }]);
    await p.pause();
    statusSequence([{ deployment_status: 'Paused' }, { deployment_status: 'Running' }]);
    await p.resume();
    statusSequence([
      { storage_status: 'InUse' },
      { storage_status: 'Clearing' },
      { storage_status: 'Cleared' },
    ]);
    await p.clearStorage();
    statusSequence([{ storage_status: 'Cleared' }]);
    await p.delete({ clearStorage: true });
    const actions = server.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(actions, [
      `POST ${PL}/pause`,
      `POST ${PL}/resume`,
      `POST ${PL}/clear`,
      `POST ${PL}/clear`,
      `DELETE ${PL}`,
    ]);
  });

  test('status() is the deployment_status, or NotFound on 404', async () => {
    statusSequence([{ deployment_status: 'Running' }]);
    assert.equal(await client.pipeline('p').status(), 'Running');
    assert.equal(await client.pipeline('nope').status(), 'NotFound');
  });
});

describe('create', () => {
  const sql = 'CREATE TABLE t (x INT); CREATE MATERIALIZED VIEW v AS SELECT * FROM t;';

  test('create POSTs every field and waits for compilation', async () => {
    server.on('POST', '/v0/pipelines', {
      status: 201,
      json: pipelineDescr('p', { program_status: 'Pending' }),
    });
    statusSequence([
      { program_status: 'Pending' },
      { program_status: 'CompilingSql' },
      { program_status: 'Success' },
    ]);
    const p = await Pipeline.create(client, {
      name: 'p',
      sql,
      description: 'demo',
      runtimeConfig: { workers: 2 },
      pollIntervalMs: 5,
    });
    assert.equal(p.name, 'p');
    assert.deepEqual(JSON.parse(server.calls('/v0/pipelines', 'POST')[0]?.body ?? ''), {
      name: 'p',
      program_code: sql,
      description: 'demo',
      tags: [],
      runtime_config: { workers: 2 },
      program_config: {},
      udf_rust: '',
      udf_toml: '',
    });
    const gets = server.calls(PL, 'GET').map((r) => r.query.selector);
    assert.deepEqual(gets, ['status', 'status', 'status', 'all']);
  });

  test('create sends udf_ts when udfTs is given', async () => {
    server.on('POST', '/v0/pipelines', { status: 201, json: pipelineDescr('p') });
    statusSequence([{ program_status: 'Success' }]);
    await Pipeline.create(client, {
      name: 'p',
      sql,
      udfTs: 'export const f = (x: number) => x;',
      pollIntervalMs: 5,
    });
    const body = JSON.parse(server.calls('/v0/pipelines', 'POST')[0]?.body ?? '');
    assert.equal(body.udf_ts, 'export const f = (x: number) => x;');
  });

  test('create reports SQL errors as CompilationFailed', async () => {
    server.on('POST', '/v0/pipelines', { status: 201, json: pipelineDescr('p') });
    statusSequence([
      {
        program_status: 'SqlError',
        program_error: {
          sql_compilation: {
            exit_code: 1,
            messages: [
              {
                start_line_number: 1,
                start_column: 8,
                end_line_number: 1,
                end_column: 9,
                warning: false,
                error_type: 'Not found',
                message: "Object 'u' not found",
                snippet: null,
              },
            ],
          },
          rust_compilation: null,
          system_error: null,
        },
      },
    ]);
    const e = await Pipeline.create(client, { name: 'p', sql: 'SELECT * FROM u' }).catch((x: unknown) => x);
    assert.ok(isClientError(e, 'CompilationFailed'));
    assert.match(e.message, /Not found at 1:8: Object 'u' not found/);
    assert.equal(e.details.program_status, 'SqlError');
  });

  test('create surfaces DuplicateName from the server', async () => {
    server.on('POST', '/v0/pipelines', {
      status: 409,
      json: { message: 'name exists', error_code: 'DuplicateName', details: null },
    });
    await assert.rejects(Pipeline.create(client, { name: 'p', sql }), (e: unknown) =>
      isApiError(e, 'DuplicateName'),
    );
  });

  test('createOrReplace on an existing pipeline: stop(force), clear, dismiss_error, PUT', async () => {
    server
      .on('POST', `${PL}/stop`, ok)
      .on('POST', `${PL}/clear`, ok)
      .on('POST', `${PL}/dismiss_error`, { json: 'ok' })
      .on('PUT', PL, { json: pipelineDescr('p') });
    statusSequence([{ deployment_status: 'Stopped', storage_status: 'Cleared' }]);
    await Pipeline.createOrReplace(client, { name: 'p', sql, pollIntervalMs: 5 });
    const actions = server.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(actions, [
      `POST ${PL}/stop`,
      `POST ${PL}/clear`,
      `POST ${PL}/dismiss_error`,
      `PUT ${PL}`,
    ]);
    assert.deepEqual(server.calls(`${PL}/stop`)[0]?.query, { force: 'true' });
  });

  test('createOrReplace on a missing pipeline just PUTs', async () => {
    server.on('PUT', '/v0/pipelines/q', { status: 201, json: pipelineDescr('q') });
    server.on('GET', '/v0/pipelines/q', () =>
      server.calls('/v0/pipelines/q', 'PUT').length === 0
        ? {
            status: 404,
            json: { message: 'unknown', error_code: 'UnknownPipelineName', details: { pipeline_name: 'q' } },
          }
        : { json: pipelineDescr('q') },
    );
    const p = await Pipeline.createOrReplace(client, { name: 'q', sql, pollIntervalMs: 5 });
    assert.equal(p.name, 'q');
    assert.deepEqual(
      server.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`),
      ['PUT /v0/pipelines/q'],
    );
  });
});

describe('data', () => {
  test('inputJson sends format=json&update_format&array=true and returns the token', async () => {
    statusSequence([{ deployment_status: 'Running' }]);
    server.on('POST', `${PL}/ingress/t`, { json: { token: 'tok-1' } });
    const p = client.pipeline('p');
    assert.equal(await p.inputJson('t', { x: 1 }), 'tok-1');
    await p.inputJson('t', [{ insert: { x: 2 } }, { delete: { x: 1 } }], { updateFormat: 'insert_delete' });
    const [a, b] = server.calls(`${PL}/ingress/t`);
    assert.deepEqual(a?.query, { format: 'json', update_format: 'raw', array: 'true' });
    assert.equal(a?.body, '[{"x":1}]');
    assert.equal(a?.headers['content-type'], 'application/json');
    assert.deepEqual(b?.query, { format: 'json', update_format: 'insert_delete', array: 'true' });
    assert.equal(b?.body, '[{"insert":{"x":2}},{"delete":{"x":1}}]');
  });

  test('inputJson({ wait }) polls completion_status with backoff until complete', async () => {
    statusSequence([{ deployment_status: 'Running' }]);
    server.on('POST', `${PL}/ingress/t`, { json: { token: 'tok-9' } });
    const seen: number[] = [];
    server.on('GET', `${PL}/completion_status`, () => {
      seen.push(Date.now());
      return {
        json: seen.length < 3 ? { status: 'inprogress', step: null } : { status: 'complete', step: 7 },
      };
    });
    await client.pipeline('p').inputJson('t', [{ x: 1 }], { wait: true });
    const polls = server.calls(`${PL}/completion_status`);
    assert.equal(polls.length, 3);
    assert.deepEqual(polls[0]?.query, { token: 'tok-9' });
    const [t0 = 0, t1 = 0, t2 = 0] = seen;
    assert.ok(t1 - t0 >= 90, `first delay ~100 ms, got ${t1 - t0}`);
    assert.ok(t2 - t1 >= 110, `second delay ~120 ms, got ${t2 - t1}`);
  });

  test('inputJson wait timeout, paused refusal, force while paused', async () => {
    server.on('POST', `${PL}/ingress/t`, { json: { token: 'tok' } });
    server.on('GET', `${PL}/completion_status`, { json: { status: 'inprogress', step: null } });
    statusSequence([{ deployment_status: 'Running' }]);
    const p = client.pipeline('p');
    const e = await p.inputJson('t', [], { wait: true, timeoutMs: 50 }).catch((x: unknown) => x);
    assert.ok(isClientError(e, 'WaitTimeout'));
    statusSequence([{ deployment_status: 'Paused' }]);
    const e2 = await p.inputJson('t', []).catch((x: unknown) => x);
    assert.ok(isClientError(e2, 'InvalidState'));
    const before = server.calls(`${PL}/ingress/t`).length;
    await p.inputJson('t', [], { force: true });
    const calls = server.calls(`${PL}/ingress/t`);
    assert.equal(calls.length, before + 1);
    assert.equal(calls.at(-1)?.query.force, 'true');
    await assert.rejects(p.inputJson('t', [], { updateFormat: 'debezium' as 'raw' }), (x: unknown) =>
      isClientError(x, 'InvalidArgument'),
    );
  });

  test('waitForCompletion polls stats until pipeline_complete, then optionally force-stops', async () => {
    let n = 0;
    server.on('GET', `${PL}/stats`, () => ({ json: { global_metrics: { pipeline_complete: ++n >= 3 } } }));
    server.on('POST', `${PL}/stop`, ok);
    statusSequence([{ deployment_status: 'Stopped' }]);
    const p = client.pipeline('p', { pollIntervalMs: 5 });
    await p.waitForCompletion({ pollIntervalMs: 5, forceStop: true });
    assert.equal(n, 3);
    assert.deepEqual(server.calls(`${PL}/stop`)[0]?.query, { force: 'true' });
    n = -100;
    const e = await p.waitForCompletion({ pollIntervalMs: 5, timeoutMs: 30 }).catch((x: unknown) => x);
    assert.ok(isClientError(e, 'WaitTimeout'));
  });

  test('query yields row objects from JSON lines, split across reads', async () => {
    server.on('GET', `${PL}/query`, (req, res) => {
      assert.deepEqual(req.query, { sql: 'SELECT * FROM v', format: 'json' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"x":1,"s":"a"}\n{"x":2,');
      setTimeout(() => res.end('"s":null}\n\n{"x":3,"s":"c"}'), 10);
      return undefined;
    });
    const rows = [];
    for await (const row of client.pipeline('p').query('SELECT * FROM v')) rows.push(row);
    assert.deepEqual(rows, [
      { x: 1, s: 'a' },
      { x: 2, s: null },
      { x: 3, s: 'c' },
    ]);
  });

  test('query: an error line mid-stream and an error answer both throw ApiError', async () => {
    server.on('GET', `${PL}/query`, {
      text: '{"x":1}\n{"message":"boom","error_code":"AdHocQueryError","details":null}\n',
    });
    const rows: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const row of client.pipeline('p').query('SELECT 1')) rows.push(row);
      })(),
      (e: unknown) => isApiError(e, 'AdHocQueryError') && e.message === 'boom',
    );
    assert.deepEqual(rows, [{ x: 1 }]);
    server.on('GET', `${PL}/query`, {
      status: 400,
      json: {
        message: 'Error during query processing: no table',
        error_code: 'AdHocQueryError',
        details: null,
      },
    });
    await assert.rejects(client.pipeline('p').query('SELECT 1').next(), (e: unknown) =>
      isApiError(e, 'AdHocQueryError'),
    );
    server.on('GET', `${PL}/query`, (req) => ({
      text: req.query.format === 'hash' ? 'AB12\n' : '+--+\n|x|\n',
    }));
    assert.equal(await client.pipeline('p').queryHash('SELECT 1'), 'AB12');
    assert.equal(await client.pipeline('p').queryTabular('SELECT 1'), '+--+\n|x|\n');
  });

  test('listen yields insert/delete changes, skipping heartbeats, across split chunks', async () => {
    server.on('POST', `${PL}/egress/v`, (req, res) => {
      assert.deepEqual(req.query, { format: 'json', backpressure: 'true', send_snapshot: 'true' });
      res.writeHead(200, { 'content-type': 'application/json' });
      const text =
        '{"sequence_number":0,"snapshot":true,"json_data":[{"insert":{"id":1}}]}\r\n' +
        '{"sequence_number":1,"snapshot":false}\r\n' +
        '{"sequence_number":2,"snapshot":false,"json_data":[{"delete":{"id":1}},{"insert":{"id":2}}]}\r\n' +
        '{"sequence_number":3,"snapshot":false}\r\n';
      let i = 0;
      const timer = setInterval(() => {
        if (i >= text.length) return clearInterval(timer);
        res.write(text.slice(i, i + 17));
        i += 17;
      }, 1);
      res.on('close', () => clearInterval(timer));
      return undefined;
    });
    const changes = client.pipeline('p').listen('v', { sendSnapshot: true });
    const got = [];
    for await (const change of changes) {
      got.push(change);
      if (got.length === 3) break;
    }
    assert.deepEqual(got, [{ insert: { id: 1 } }, { delete: { id: 1 } }, { insert: { id: 2 } }]);
    assert.ok(changes.closed);
  });

  test('logs yields lines', async () => {
    server.on('GET', `${PL}/logs`, { text: 'a\nb\n' });
    const lines = [];
    for await (const l of client.pipeline('p').logs()) lines.push(l);
    assert.deepEqual(lines, ['a', 'b']);
  });
});

describe('retries from the error catalog', () => {
  test('a wait retries a poll answered with a retryable error (503 Initializing) and fails at once on a non-retryable one', async () => {
    server.on('POST', `${PL}/ingress/t`, { json: { token: 'tk' } });
    let polls = 0;
    server.on('GET', `${PL}/completion_status`, () => {
      polls++;
      if (polls <= 2)
        return {
          status: 503,
          headers: { 'retry-after': '0' },
          json: { message: 'initializing', error_code: 'Initializing', details: {} },
        };
      return { json: { status: 'complete' } };
    });
    const p = client.pipeline('p', { pollIntervalMs: 5 });
    await p.waitForToken('tk', { timeoutMs: 10_000 });
    assert.equal(polls, 3);

    server.reset();
    polls = 0;
    server.on('GET', `${PL}/completion_status`, () => {
      polls++;
      return { status: 400, json: { message: 'bad token', error_code: 'InvalidParam', details: {} } };
    });
    await assert.rejects(p.waitForToken('tk', { timeoutMs: 10_000 }), (e: unknown) =>
      isApiError(e, 'InvalidParam'),
    );
    assert.equal(polls, 1);
  });

  test('ApiError.retryable is the catalog entry (a bare 503 without a known code is retryable)', async () => {
    for (const [status, code, retryable] of [
      [503, 'Initializing', true],
      [507, 'StorageFull', true],
      [400, 'InvalidParam', false],
      [404, 'UnknownPipelineName', false],
      [503, 'HttpError', true],
      [502, 'HttpError', false],
    ] as const) {
      server.reset();
      server.on('GET', PL, { status, json: { message: 'x', error_code: code, details: {} } });
      await assert.rejects(
        client.getPipeline('p'),
        (e: unknown) => isApiError(e) && e.retryable === retryable,
      );
    }
  });
});
