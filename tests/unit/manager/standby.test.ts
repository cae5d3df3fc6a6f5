/**
 * The manager's standby endpoints, in process, over real HTTP, with a fake pipeline process
 * (fake-pipeline-main.ts) instead of the engine: `start?initial=standby` (allowed only with the file backend,
 * `sync` and `start_from_checkpoint`; the process config says `initial: "standby"`), `activate` (forwarded
 * with its query string, the record and the process config follow), errors, stop while in standby, and a
 * crash after activation (restarted in the activated state, not in standby).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { Manager } from '../../../src/manager/api.ts';

const FAKE_MAIN = join(resolve(import.meta.dirname), 'fake-pipeline-main.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-mgr-standby-'));
let manager: Manager;
let base = '';

before(async () => {
  manager = new Manager({ dataDir, mainScript: FAKE_MAIN });
  await new Promise<void>((r) => manager.server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(manager.server.address() as AddressInfo).port}`;
});
after(async () => {
  await manager.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function api(
  method: string,
  path: string,
  body?: unknown,
): Promise<{
  status: number;
  json: Record<string, unknown> & { error_code?: string; message?: string };
  raw: unknown;
}> {
  const r = await fetch(base + path, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let raw: unknown = null;
  try {
    raw = JSON.parse(text);
  } catch {}
  const json = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  return { status: r.status, json, raw };
}

async function until(path: string, ok: (d: Record<string, unknown>) => boolean, what: string) {
  const end = Date.now() + 10_000;
  for (;;) {
    const d = (await api('GET', path)).json;
    if (ok(d)) return d;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const SYNC = { bucket: 'b/standby', endpoint: 'http://127.0.0.1:9' };
const fileBackend = (sync: Record<string, unknown> | null) => ({
  storage: { backend: { name: 'file', config: sync === null ? {} : { sync } } },
});

async function create(name: string, runtimeConfig: Record<string, unknown>): Promise<string> {
  const r = await api('POST', '/v0/pipelines', {
    name,
    program_code: 'CREATE TABLE t (x INT);',
    runtime_config: runtimeConfig,
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json.id as string;
}

function processConfig(id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dataDir, 'pipelines', id, 'config.json'), 'utf8'));
}

function pipelineRequests(id: string): Array<{ method: string; url: string }> {
  return readFileSync(join(dataDir, 'pipelines', id, 'requests.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

test('start?initial=standby is refused unless the file backend with sync and start_from_checkpoint is configured', async () => {
  await create('plain', {});
  await create('nosync', fileBackend(null));
  await create('defaultbackend', { storage: {} });
  await create('nostart', fileBackend(SYNC));
  for (const name of ['plain', 'nosync', 'defaultbackend']) {
    const r = await api('POST', `/v0/pipelines/${name}/start?initial=standby`);
    assert.equal(r.status, 400, name);
    assert.equal(r.json.error_code, 'InitialStandbyNotAllowed', name);
    assert.match(r.json.message ?? '', /`runtime_config\.storage\.backend\.name` is set to `file`/);
    assert.match(r.json.message ?? '', /"name": "file", "config": \{"sync"/, 'says what to configure');
  }
  const r = await api('POST', '/v0/pipelines/nostart/start?initial=standby');
  assert.equal(r.status, 400);
  assert.equal(r.json.error_code, 'InitialStandbyNotAllowed');
  assert.match(
    r.json.message ?? '',
    /`start_from_checkpoint` is not set in the sync config; set it to "latest"/,
  );
  // nothing was started
  const d = (await api('GET', '/v0/pipelines/nostart')).json;
  assert.equal(d.deployment_status, 'Stopped');
  assert.equal(d.deployment_initial, null);
  // unknown initial values are still 405
  assert.equal((await api('POST', '/v0/pipelines/plain/start?initial=sideways')).status, 405);
});

test('activate on a pipeline that is not started is 503 PipelineInteractionNotDeployed; unknown pipeline 404', async () => {
  await create('stopped', fileBackend({ ...SYNC, start_from_checkpoint: 'latest' }));
  const r = await api('POST', '/v0/pipelines/stopped/activate');
  assert.equal(r.status, 503);
  assert.equal(r.json.error_code, 'PipelineInteractionNotDeployed');
  assert.equal((await api('POST', '/v0/pipelines/nope/activate')).json.error_code, 'UnknownPipelineName');
});

test('standby start, refused transitions, activate forwarded verbatim; a restart after activation is not a standby', async () => {
  const id = await create('sb', fileBackend({ ...SYNC, start_from_checkpoint: 'latest' }));
  const started = await api('POST', '/v0/pipelines/sb/start?initial=standby');
  assert.equal(started.status, 202, JSON.stringify(started.json));
  assert.equal(processConfig(id).initial, 'standby');
  const d = await until('/v0/pipelines/sb', (x) => x.deployment_status === 'Standby', 'Standby');
  assert.equal(d.deployment_initial, 'Standby');
  assert.equal(d.deployment_desired_status, 'Standby');
  assert.equal(d.deployment_runtime_desired_status, 'Standby');
  const details = d.deployment_runtime_status_details as { standby?: { pulls: number } } | null;
  assert.equal(details?.standby?.pulls, 3, 'the standby details of /status are shown');

  // the same start again is accepted; another initial is not (and says to activate)
  assert.equal((await api('POST', '/v0/pipelines/sb/start?initial=standby')).status, 202);
  const other = await api('POST', '/v0/pipelines/sb/start?initial=running');
  assert.equal(other.json.error_code, 'InitialImmutableUnlessStopped');
  assert.match(other.json.message ?? '', /activate/);
  // pause/resume in standby: the pipeline's refusal is passed through
  for (const action of ['pause', 'resume']) {
    const r = await api('POST', `/v0/pipelines/sb/${action}`);
    assert.equal(r.status, 400, action);
    assert.equal(r.json.error_code, 'InvalidTransition', action);
  }
  const bad = await api('POST', '/v0/pipelines/sb/activate?initial=standby');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error_code, 'InvalidActivateStatus');
  assert.match(bad.json.message ?? '', /only running and paused are valid/);

  const act = await api('POST', '/v0/pipelines/sb/activate?initial=paused&x=1');
  assert.equal(act.status, 202);
  assert.equal(act.raw, 'Pipeline transitioning from Standby to Paused');
  const forwarded = pipelineRequests(id).filter((r) => r.method === 'POST' && r.url.startsWith('/activate'));
  assert.deepEqual(forwarded, [{ method: 'POST', url: '/activate?initial=paused&x=1' }]);
  const after = (await api('GET', '/v0/pipelines/sb')).json;
  assert.equal(after.deployment_runtime_desired_status, 'Paused');
  assert.equal(after.deployment_desired_status, 'Paused');
  assert.equal(after.deployment_initial, 'Standby', 'deployment_initial keeps what start asked for');
  assert.equal(processConfig(id).initial, 'paused', 'restarts start in the activated state');
  await until('/v0/pipelines/sb', (x) => x.deployment_status === 'Paused', 'Paused');

  // the process crashes: the supervisor restarts it paused, not in standby
  const pid = manager.store.get('sb')?.pid as number;
  process.kill(pid, 'SIGKILL');
  await until(
    '/v0/pipelines/sb',
    (x) => manager.store.get('sb')?.pid !== pid && x.deployment_status === 'Paused',
    'restarted Paused',
  );
  assert.equal((await api('POST', '/v0/pipelines/sb/stop?force=true')).status, 202);
  await until('/v0/pipelines/sb', (x) => x.deployment_status === 'Stopped', 'Stopped');
});

test('activate without initial activates into Running', async () => {
  const id = await create('sb2', fileBackend({ ...SYNC, start_from_checkpoint: 'latest' }));
  assert.equal((await api('POST', '/v0/pipelines/sb2/start?initial=standby')).status, 202);
  await until('/v0/pipelines/sb2', (x) => x.deployment_status === 'Standby', 'Standby');
  const act = await api('POST', '/v0/pipelines/sb2/activate');
  assert.equal(act.status, 202);
  assert.equal(act.raw, 'Pipeline transitioning from Standby to Running');
  assert.ok(pipelineRequests(id).some((r) => r.method === 'POST' && r.url === '/activate'));
  assert.equal(processConfig(id).initial, 'running');
  await until('/v0/pipelines/sb2', (x) => x.deployment_status === 'Running', 'Running');
  assert.equal((await api('POST', '/v0/pipelines/sb2/stop?force=true')).status, 202);
  await until('/v0/pipelines/sb2', (x) => x.deployment_status === 'Stopped', 'Stopped');
});

test('stop (not forced) in standby just stops: there is nothing to suspend', async () => {
  const id = await create('sb3', fileBackend({ ...SYNC, start_from_checkpoint: 'latest' }));
  assert.equal((await api('POST', '/v0/pipelines/sb3/start?initial=standby')).status, 202);
  await until('/v0/pipelines/sb3', (x) => x.deployment_status === 'Standby', 'Standby');
  const r = await api('POST', '/v0/pipelines/sb3/stop');
  assert.equal(r.status, 202);
  assert.equal(r.raw, 'Pipeline is forcefully stopping');
  const d = await until('/v0/pipelines/sb3', (x) => x.deployment_status === 'Stopped', 'Stopped');
  assert.equal(d.deployment_error, null);
  assert.equal(d.deployment_initial, null);
  assert.ok(!pipelineRequests(id).some((x) => x.url.startsWith('/checkpoint') || x.url === '/pause'));
});
