/** `Pipeline.activate()`, `standbyStatus()` and `start({ initial: 'standby' })` against the fake `/v0` server. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HoldfastClient, isApiError, isClientError, type StandbyStatus } from '../../../src/client/index.ts';
import type { PipelineDescr } from '../../../src/types/pipeline-api.ts';
import { FakeServer, statusSequence as statusOf } from './fake-server.ts';
import { standbyStatus } from './sync-fixtures.ts';

const PL = '/v0/pipelines/p';

let client: HoldfastClient;
const server = FakeServer.forFile((s) => {
  client = new HoldfastClient({ url: s.url });
});

const statusSequence = (states: Array<Partial<PipelineDescr>>): void => statusOf(server, states);

const STANDBY: StandbyStatus = standbyStatus({
  last_error: { message: 'connection refused', at: '2026-08-21T09:59:50.000Z' },
  store_retries: 2,
});
const inStandby: Partial<PipelineDescr> = {
  deployment_status: 'Standby',
  deployment_desired_status: 'Standby',
  deployment_runtime_status_details: { standby: STANDBY },
};
const transitioning = { status: 202, json: 'Pipeline transitioning from Standby to Running' };

test('activate() posts initial=running and waits until Running, returning it', async () => {
  server.on('POST', `${PL}/activate`, transitioning);
  statusSequence([
    inStandby,
    { deployment_status: 'Initializing', deployment_desired_status: 'Running' },
    { deployment_status: 'Replaying', deployment_desired_status: 'Running' },
    { deployment_status: 'Running', deployment_desired_status: 'Running' },
  ]);
  const p = client.pipeline('p', { pollIntervalMs: 5 });
  assert.equal(await p.activate(), 'Running');
  assert.deepEqual(server.calls(`${PL}/activate`, 'POST')[0]?.query, { initial: 'running' });
  assert.equal(server.calls(PL, 'GET').length, 4);
});

test("activate({ initial: 'paused' }) waits for Paused; AwaitingApproval also ends the wait", async () => {
  server.on('POST', `${PL}/activate`, { status: 202, json: 'Pipeline transitioning from Standby to Paused' });
  statusSequence([inStandby, { deployment_status: 'Paused' }]);
  const p = client.pipeline('p', { pollIntervalMs: 5 });
  assert.equal(await p.activate({ initial: 'paused' }), 'Paused');
  assert.deepEqual(server.calls(`${PL}/activate`)[0]?.query, { initial: 'paused' });
  server.reset();
  server.on('POST', `${PL}/activate`, transitioning);
  statusSequence([inStandby, { deployment_status: 'AwaitingApproval' }]);
  assert.equal(await p.activate(), 'AwaitingApproval');
});

test('activate({ wait: false }) returns null after the POST; a bad initial is refused before sending', async () => {
  server.on('POST', `${PL}/activate`, transitioning);
  const p = client.pipeline('p', { pollIntervalMs: 5 });
  assert.equal(await p.activate({ wait: false }), null);
  assert.equal(server.calls(PL, 'GET').length, 0);
  await assert.rejects(p.activate({ initial: 'standby' as 'running' }), (e) =>
    isClientError(e, 'InvalidArgument'),
  );
  assert.equal(server.calls(`${PL}/activate`).length, 1);
});

test('activate() times out with WaitTimeout naming the status it saw', async () => {
  server.on('POST', `${PL}/activate`, transitioning);
  statusSequence([{ ...inStandby, deployment_desired_status: 'Running' }]);
  const p = client.pipeline('p', { pollIntervalMs: 5 });
  await assert.rejects(p.activate({ timeoutMs: 60 }), (e) => {
    assert.ok(isClientError(e, 'WaitTimeout'));
    assert.match(e.message, /timed out after 60 ms waiting for pipeline 'p' to activate into Running/);
    assert.match(e.message, /deployment_status Standby/);
    return true;
  });
});

test('activate() fails fast when the pipeline stops while activating: with its error, or stopped by someone', async () => {
  server.on('POST', `${PL}/activate`, transitioning);
  statusSequence([
    inStandby,
    { deployment_status: 'Initializing', deployment_desired_status: 'Running' },
    {
      deployment_status: 'Stopped',
      deployment_desired_status: 'Stopped',
      deployment_error: {
        message: 'Error fetching checkpoint from object store: connection refused',
        error_code: 'CheckpointFetchError',
        details: {},
      },
    },
  ]);
  const p = client.pipeline('p', { pollIntervalMs: 5 });
  await assert.rejects(p.activate(), (e) => {
    assert.ok(isClientError(e, 'PipelineFailed'));
    assert.match(e.message, /CheckpointFetchError/);
    return true;
  });
  server.reset();
  server.on('POST', `${PL}/activate`, transitioning);
  statusSequence([inStandby, { deployment_status: 'Stopped', deployment_desired_status: 'Stopped' }]);
  await assert.rejects(p.activate(), (e) => {
    assert.ok(isClientError(e, 'InvalidState'));
    assert.match(e.message, /stopped while activating/);
    return true;
  });
});

test('activate() surfaces the server refusal as ApiError (PipelineInteractionNotDeployed)', async () => {
  server.on('POST', `${PL}/activate`, {
    status: 503,
    json: {
      message: "pipeline 'p' is not deployed (status Stopped); start it and wait for Running",
      error_code: 'PipelineInteractionNotDeployed',
      details: {},
    },
  });
  const p = client.pipeline('p', { pollIntervalMs: 5 });
  await assert.rejects(p.activate(), (e) => isApiError(e, 'PipelineInteractionNotDeployed'));
});

test('standbyStatus() is runtime_status_details.standby, or null when not in standby', async () => {
  statusSequence([inStandby]);
  const p = client.pipeline('p');
  assert.deepEqual(await p.standbyStatus(), STANDBY);
  assert.deepEqual(server.calls(PL, 'GET')[0]?.query, { selector: 'status' });
  server.reset();
  statusSequence([{ deployment_status: 'Running', deployment_runtime_status_details: null }]);
  assert.equal(await p.standbyStatus(), null);
});

test("start({ initial: 'standby' }) sends initial=standby and waits for Standby", async () => {
  server.on('POST', `${PL}/dismiss_error`, { json: 'ok' }).on('POST', `${PL}/start`, {
    status: 202,
    json: 'Pipeline is starting',
  });
  statusSequence([{ deployment_status: 'Provisioning' }, { deployment_status: 'Initializing' }, inStandby]);
  const p = client.pipeline('p', { pollIntervalMs: 5 });
  await p.start({ initial: 'standby' });
  assert.equal(server.calls(`${PL}/start`)[0]?.query.initial, 'standby');
  assert.equal(server.calls(PL, 'GET').length, 3);
});
