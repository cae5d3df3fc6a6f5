/** `holdfast pipeline clear NAME [--no-wait]` against a stub server over real HTTP. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CliRun, runCli } from '../../kit/cli.ts';
import { FakeServer, pipelineDescr } from '../client/fake-server.ts';

const PL = '/v0/pipelines/p';

const server = FakeServer.forFile();

const run = (...args: string[]): Promise<CliRun> => runCli(server.url, args);

test('clear asks the server to clear storage and waits until storage_status is Cleared', async () => {
  const states = ['Clearing', 'Clearing', 'Cleared'] as const;
  let polls = 0;
  server
    .on('POST', `${PL}/clear`, { status: 202, json: 'Pipeline storage is being cleared' })
    .on('GET', PL, () => ({
      json: pipelineDescr('p', { storage_status: states[Math.min(polls++, states.length - 1)] }),
    }));
  const r = await run('clear', 'p');
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.deepEqual(r.out, ['p: storage cleared']);
  assert.equal(server.calls(`${PL}/clear`, 'POST').length, 1);
  assert.equal(polls, 3);
});

test('clear --no-wait returns once the request is accepted; --format json', async () => {
  server.on('POST', `${PL}/clear`, { status: 202, json: 'Pipeline storage is being cleared' });
  const r = await run('--format', 'json', 'clear', 'p', '--no-wait');
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.deepEqual(JSON.parse(r.out.join('\n')), { storage_status: 'Clearing' });
  assert.equal(server.calls(PL, 'GET').length, 0);
});

test('clear of a running pipeline reports the server error with exit code 1', async () => {
  server.on('POST', `${PL}/clear`, {
    status: 400,
    json: {
      message: "storage can be cleared only while pipeline 'p' is stopped",
      error_code: 'IllegalPipelineAction',
      details: {},
    },
  });
  const r = await run('clear', 'p');
  assert.equal(r.code, 1);
  assert.match(r.err.join('\n'), /^error \[IllegalPipelineAction\]: storage can be cleared only while/);
  assert.equal((await run('clear')).code, 2);
});
