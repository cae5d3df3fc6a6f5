/**
 * Bootstrapping through the manager (real `holdfast server`, real pipeline processes): a pipeline stopped
 * gracefully (checkpoint) gets a new program; `start` (default `await_approval`) lands in AwaitingApproval with
 * the diff in `deployment_runtime_status_details.approval_diff`; `approve` continues to Running with the new
 * view's full contents. `bootstrap_policy=reject` stops the pipeline with `deployment_error` BootstrapRejected
 * and keeps its checkpoint; bad and conflicting policies are refused. The SDK and CLI drive the same flow.
 * With `silent_bootstrap` the rebuilt view's contents are not sent to its output connector (only later changes);
 * `silent_bootstrap` with `concurrent_bootstrap` is refused (concurrent-bootstrap.test.ts covers the latter).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { HoldfastClient, Pipeline } from '../../src/client/index.ts';
import { api as kitApi, startManager, until } from '../kit/index.ts';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');

const P1 =
  'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n FROM t;';
const P2 = `${P1} CREATE MATERIALIZED VIEW big AS SELECT id FROM t WHERE x > 1;`;
const P3 = `${P2} CREATE MATERIALIZED VIEW small AS SELECT id FROM t WHERE x <= 1;`;

test('manager: await_approval → AwaitingApproval with the diff → approve → Running; reject', {
  timeout: 120_000,
}, async () => {
  const base = await startManagerUrl(mkdtempSync(join(tmpdir(), 'holdfast-boot-mgr-')));
  const api = kitApi(base);
  const get = () => api('GET', '/v0/pipelines/p').then((r) => r.json);
  const client = new HoldfastClient({ url: base });
  const p = await filledAndStopped(client, [
    { id: 1, x: 1 },
    { id: 2, x: 5 },
    { id: 3, x: 9 },
  ]);

  assert.equal((await api('PATCH', '/v0/pipelines/p', { program_code: P2 })).status, 200);
  const bad = await api('POST', '/v0/pipelines/p/start?bootstrap_policy=maybe');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error_code, 'InvalidBootstrapConfig');

  // default policy: await_approval
  assert.equal((await api('POST', '/v0/pipelines/p/start')).status, 202);
  const waiting = await until(get, (d) => d.deployment_status === 'AwaitingApproval', 'AwaitingApproval');
  assert.equal(waiting.bootstrap_policy, 'await_approval');
  assert.deepEqual(waiting.deployment_runtime_status_details, {
    approval_diff: {
      program_diff: {
        added_tables: [],
        removed_tables: [],
        modified_tables: [],
        added_views: ['big'],
        removed_views: [],
        modified_views: [],
      },
      program_diff_error: null,
      added_input_connectors: [],
      modified_input_connectors: [],
      removed_input_connectors: [],
      added_output_connectors: [],
      modified_output_connectors: [],
      removed_output_connectors: [],
    },
  });
  const early = await api('GET', `/v0/pipelines/p/query?sql=${encodeURIComponent('SELECT * FROM s')}`);
  assert.equal(early.status, 503);
  assert.equal(early.json.error_code, 'Initializing');
  const other = await api('POST', '/v0/pipelines/p/start?bootstrap_policy=allow');
  assert.equal(other.json.error_code, 'BootstrapPolicyImmutableUnlessStopped');

  await p.approve();
  const running = await until(get, (d) => d.deployment_status === 'Running', 'Running after approve');
  // running: Feldera's connector_stats (no connector counted an error)
  assert.deepEqual(running.deployment_runtime_status_details, { connector_stats: { num_errors: 0 } });
  const rows = [];
  for await (const r of p.query('SELECT id FROM big ORDER BY id')) rows.push(r);
  assert.deepEqual(rows, [{ id: 2 }, { id: 3 }]);
  await p.inputJson('t', [{ id: 4, x: 2 }], { wait: true });
  const n = [];
  for await (const r of p.query('SELECT n FROM s')) n.push(r);
  assert.deepEqual(n, [{ n: 4 }]);
  await p.stop({ force: true, timeoutMs: 30_000 });

  // the bootstrap was checkpointed before input was taken: a start of the same program is no bootstrap
  const details = (await get()).storage_status_details as { checkpoints: unknown[] };
  const after = details.checkpoints;
  assert.equal(after.length, 2, 'a checkpoint of P2 right after the bootstrap');

  // reject: another change (P3) against that checkpoint
  assert.equal((await api('PATCH', '/v0/pipelines/p', { program_code: P3 })).status, 200);
  await p.start({ bootstrapPolicy: 'reject', timeoutMs: 30_000 }).catch(() => {});
  const stopped = await until(
    get,
    (d) => d.deployment_status === 'Stopped' && d.deployment_error !== null,
    'Stopped with an error',
  );
  assert.equal((stopped.deployment_error as { error_code: string }).error_code, 'BootstrapRejected');
  assert.equal(stopped.storage_status, 'InUse');
  const cps = await api('GET', '/v0/pipelines/p');
  assert.equal(cps.json.bootstrap_policy, null);

  // CLI: start with a policy, approve
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [MAIN, '--url', base, 'pipeline', ...args], { encoding: 'utf8' });
  const started = cli('start', 'p', '--bootstrap-policy', 'await_approval');
  assert.equal(started.status, 0, started.stderr);
  assert.match(started.stdout, /awaiting approval/);
  const approved = cli('approve', 'p');
  assert.equal(approved.status, 0, approved.stderr);
  await until(get, (d) => d.deployment_status === 'Running', 'Running after CLI approve');
  assert.equal(cli('start', 'x', '--bootstrap-policy', 'sometimes').status, 2);
  await p.stop({ force: true, timeoutMs: 30_000 });
});

test('silent_bootstrap: a rebuilt view is not sent in full to its output; not with concurrent_bootstrap', {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-boot-silent-'));
  const base = await startManagerUrl(join(dir, 'data'));
  const client = new HoldfastClient({ url: base });
  const get = async () => (await (await fetch(`${base}/v0/pipelines/p`)).json()) as Record<string, unknown>;
  const output = (name: string) => join(dir, `${name}.json`);
  // P2 with a file output on the new view: a bootstrap fills `big` and, unless silent, writes its contents there
  const withOutput = (name: string) =>
    `${P1} CREATE MATERIALIZED VIEW big WITH ('connectors' = '[{"transport": {"name": "file_output", "config": {"path": "${output(name)}"}}, "format": {"name": "json"}}]') AS SELECT id FROM t WHERE x > 1;`;
  const p = await filledAndStopped(client, [
    { id: 1, x: 1 },
    { id: 2, x: 5 },
  ]);

  const refused = await fetch(
    `${base}/v0/pipelines/p/start?concurrent_bootstrap=true&silent_bootstrap=true`,
    {
      method: 'POST',
    },
  );
  assert.equal(refused.status, 400);
  assert.equal(((await refused.json()) as { error_code: string }).error_code, 'InvalidBootstrapConfig');

  // silent: started with the flag, the view is rebuilt (queryable) but its output gets only new changes
  assert.equal(
    (
      await fetch(`${base}/v0/pipelines/p`, {
        method: 'PATCH',
        body: JSON.stringify({ program_code: withOutput('silent') }),
        headers: { 'content-type': 'application/json' },
      })
    ).status,
    200,
  );
  await p.start({ bootstrapPolicy: 'allow', silentBootstrap: true, timeoutMs: 30_000 });
  const running = await until(get, (d) => d.deployment_status === 'Running', 'Running');
  assert.equal(running.silent_bootstrap, true);
  const rows = [];
  for await (const r of p.query('SELECT id FROM big ORDER BY id')) rows.push(r);
  assert.deepEqual(rows, [{ id: 2 }], 'the view itself is rebuilt');
  await p.inputJson('t', [{ id: 3, x: 7 }], { wait: true });
  const silentOut = await until(
    async () => readFileSync(output('silent'), 'utf8'),
    (t) => t.includes('"id":3'),
    'the new change reaches the output',
  );
  assert.doesNotMatch(silentOut, /"id":2/, 'the rebuilt contents were not re-emitted');
  await p.stop({ force: true, timeoutMs: 30_000 });
  assert.equal((await get()).silent_bootstrap, false, 'cleared once stopped');
});

/** Creates pipeline `p` running P1, inputs `rows` into `t` and stops it gracefully (a checkpoint holds them). */
async function filledAndStopped(
  client: HoldfastClient,
  rows: Array<{ id: number; x: number }>,
): Promise<Pipeline> {
  const p = await Pipeline.create(client, { name: 'p', sql: P1 });
  await p.start({ timeoutMs: 30_000 });
  await p.inputJson('t', rows, { wait: true });
  await p.stop({ force: false, timeoutMs: 30_000 }); // graceful: checkpoint first
  return p;
}

/** The manager's URL (the process is stopped by the kit at the end of the file). */
async function startManagerUrl(dataDir: string): Promise<string> {
  return (await startManager(dataDir)).base;
}
