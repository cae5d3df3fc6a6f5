/**
 * `holdfast pipeline activate NAME [--initial paused] [--no-wait] [--timeout S]` and
 * `start NAME --initial standby` against a stub server over real HTTP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PIPELINE_USAGE } from '../../../src/cli/cli.ts';
import type { PipelineDescr } from '../../../src/types/pipeline-api.ts';
import { type CliRun, runCli } from '../../kit/cli.ts';
import { FakeServer, pipelineDescr } from '../client/fake-server.ts';

const PL = '/v0/pipelines/b';

const server = FakeServer.forFile();

/** A clock that advances `stepMs` per reading. */
function clock(stepMs: number): () => number {
  let t = 1_000_000;
  return () => {
    const v = t;
    t += stepMs;
    return v;
  };
}

const run = (args: string[], now: () => number = clock(800)): Promise<CliRun> =>
  runCli(server.url, args, { now });

function statusSequence(states: Array<Partial<PipelineDescr>>): void {
  let i = 0;
  server.on('GET', PL, () => ({ json: pipelineDescr('b', states[Math.min(i++, states.length - 1)] ?? {}) }));
}

const standby: Partial<PipelineDescr> = {
  deployment_status: 'Standby',
  deployment_desired_status: 'Standby',
};

test('activate waits until Running and says how long it took', async () => {
  server.on('POST', `${PL}/activate`, {
    status: 202,
    json: 'Pipeline transitioning from Standby to Running',
  });
  statusSequence([standby, { deployment_status: 'Initializing' }, { deployment_status: 'Running' }]);
  const r = await run(['activate', 'b']);
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.deepEqual(r.out, ["pipeline 'b' activated: Running (took 0.8 s)"]);
  assert.deepEqual(server.calls(`${PL}/activate`, 'POST')[0]?.query, { initial: 'running' });
});

test('activate --initial paused waits for Paused; --format json', async () => {
  server.on('POST', `${PL}/activate`, { status: 202, json: 'Pipeline transitioning from Standby to Paused' });
  statusSequence([standby, { deployment_status: 'Paused' }]);
  const r = await run(['--format', 'json', 'activate', 'b', '--initial', 'paused'], clock(1500));
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.deepEqual(JSON.parse(r.out.join('\n')), { status: 'Paused', seconds: 1.5 });
  assert.deepEqual(server.calls(`${PL}/activate`)[0]?.query, { initial: 'paused' });
});

test('activate --no-wait returns once the request is accepted', async () => {
  server.on('POST', `${PL}/activate`, {
    status: 202,
    json: 'Pipeline transitioning from Standby to Running',
  });
  const r = await run(['activate', 'b', '--no-wait']);
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.deepEqual(r.out, ["pipeline 'b' activating (initial=running)"]);
  assert.equal(server.calls(PL, 'GET').length, 0);
});

test('activate --timeout: a wait that runs out exits 3 with WaitTimeout', async () => {
  server.on('POST', `${PL}/activate`, {
    status: 202,
    json: 'Pipeline transitioning from Standby to Running',
  });
  statusSequence([{ ...standby, deployment_desired_status: 'Running' }]);
  const r = await run(['activate', 'b', '--timeout', '0.2']);
  assert.equal(r.code, 3);
  assert.match(
    r.err.join('\n'),
    /^error \[WaitTimeout\]: timed out after 200 ms waiting for pipeline 'b' to activate/,
  );
});

test('activate: server errors exit 1, bad arguments exit 2 with the usage', async () => {
  server.on('POST', `${PL}/activate`, {
    status: 503,
    json: {
      message: "pipeline 'b' is not deployed (status Stopped); start it and wait for Running",
      error_code: 'PipelineInteractionNotDeployed',
      details: {},
    },
  });
  const r = await run(['activate', 'b']);
  assert.equal(r.code, 1);
  assert.match(r.err.join('\n'), /^error \[PipelineInteractionNotDeployed\]: pipeline 'b' is not deployed/);
  for (const args of [
    ['activate', 'b', '--initial', 'standby'],
    ['activate', 'b', '--timeout', '0'],
    ['activate'],
  ]) {
    const bad = await run(args);
    assert.equal(bad.code, 2, args.join(' '));
    assert.match(bad.err.join('\n'), /usage: holdfast/);
  }
  assert.equal(server.calls(`${PL}/activate`).length, 1);
});

test('activate into AwaitingApproval says to approve', async () => {
  server.on('POST', `${PL}/activate`, {
    status: 202,
    json: 'Pipeline transitioning from Standby to Running',
  });
  statusSequence([{ deployment_status: 'AwaitingApproval' }]);
  const r = await run(['activate', 'b']);
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.match(r.out.join('\n'), /activated: AwaitingApproval .*holdfast pipeline approve b/);
});

test('start --initial standby sends initial=standby and waits for Standby', async () => {
  server
    .on('POST', `${PL}/dismiss_error`, { json: 'ok' })
    .on('POST', `${PL}/start`, { status: 202, json: 'Pipeline is starting' });
  statusSequence([{ deployment_status: 'Provisioning' }, standby]);
  const r = await run(['start', 'b', '--initial', 'standby']);
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.equal(server.calls(`${PL}/start`)[0]?.query.initial, 'standby');
  assert.match(r.out.join('\n'), /^b: in standby .*holdfast pipeline activate b/);
  const bad = await run(['start', 'b', '--initial', 'sideways']);
  assert.equal(bad.code, 2);
  assert.match(bad.err.join('\n'), /--initial must be running, paused or standby/);
});

test('the usage lists activate and start --initial standby', () => {
  assert.match(
    PIPELINE_USAGE,
    /activate NAME \[--initial running\|paused\] \[--no-wait\] \[--timeout SECS\]/,
  );
  assert.match(PIPELINE_USAGE, /start NAME \[--initial running\|paused\|standby\]/);
});
