/**
 * Credentials written into a sync endpoint URL (`http://user:PASSWORD@host:port`) are accepted but never shown:
 * a manager (real process) runs a pipeline that pushes to s3rver through such an endpoint and another whose
 * push fails (missing bucket); the password appears nowhere in GET pipeline, the list, /stats, /status, the
 * sync status, the pipeline log, the manager's own log, error bodies, nor in `holdfast pipeline run`'s output.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { startS3rver } from '../helpers/s3rver.ts';
import { type Manager, startManager, stopProcess } from '../kit/index.ts';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');
const PASSWORD = 'Pw-in-url-7f3c9a';
const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-endpoint-creds-'));
let manager: Manager | null = null;
after(async () => {
  if (manager) await stopProcess(manager.proc);
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

async function call(url: string, method: string, path: string, body?: unknown): Promise<[number, string]> {
  const res = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return [res.status, await res.text()];
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Everything the manager's log endpoint has buffered for a pipeline (it follows: read for a moment, then stop). */
async function pipelineLog(url: string, name: string): Promise<string> {
  const ac = new AbortController();
  const res = await fetch(`${url}/v0/pipelines/${name}/logs`, { signal: ac.signal });
  let text = '';
  const timer = setTimeout(() => ac.abort(), 1500);
  try {
    for await (const c of res.body as AsyncIterable<Uint8Array>) text += Buffer.from(c).toString('utf8');
  } catch {
    // aborted: done reading
  }
  clearTimeout(timer);
  return text;
}

test('a password in a sync endpoint URL is never displayed', { timeout: 150_000 }, async (t) => {
  const s3 = await startS3rver(t, { buckets: ['ckpt'] });
  const endpoint = s3.endpoint.replace('://', `://holdfast-user:${PASSWORD}@`);
  assert.notEqual(endpoint, s3.endpoint);
  manager = await startManager(join(dataDir, 'mgr'));
  const url = manager.base;
  const seen: string[] = [];
  const keep = ([status, text]: [number, string]): [number, string] => {
    seen.push(text);
    return [status, text];
  };
  const sql = `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT);
    CREATE MATERIALIZED VIEW totals AS SELECT COUNT(*) AS n, SUM(v) AS total FROM t;`;
  /** Exactly-once checkpoints on file storage that syncs with `sync`. */
  const syncedFt = (sync: Record<string, unknown>) => ({
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
    storage: { backend: { name: 'file', config: { sync } } },
  });
  const runtimeConfig = (bucket: string) =>
    syncedFt({ endpoint, provider: 'Minio', access_key: s3.accessKey, secret_key: s3.secretKey, bucket });

  // refused configs: the error bodies (one of them echoes the runtime config) carry no password
  const [badBucket, badBucketBody] = keep(
    await call(url, 'PUT', '/v0/pipelines/bad', {
      name: 'bad',
      program_code: sql,
      runtime_config: runtimeConfig('../../etc'),
    }),
  );
  assert.equal(badBucket, 400, badBucketBody);
  assert.equal(JSON.parse(badBucketBody).error_code, 'InvalidSyncConfig');
  const [badWorkers, badWorkersBody] = keep(
    await call(url, 'PUT', '/v0/pipelines/bad', {
      name: 'bad',
      program_code: sql,
      runtime_config: { ...runtimeConfig('ckpt/bad'), workers: 0 },
    }),
  );
  assert.equal(badWorkers, 400, badWorkersBody);

  // a pipeline that pushes successfully through the endpoint with userinfo
  keep(
    await call(url, 'PUT', '/v0/pipelines/good', {
      name: 'good',
      program_code: sql,
      runtime_config: runtimeConfig('ckpt/good'),
    }),
  );
  const [, shown] = keep(await call(url, 'GET', '/v0/pipelines/good'));
  const shownEndpoint = JSON.parse(shown).runtime_config.storage.backend.config.sync.endpoint as string;
  assert.match(shownEndpoint, /^http:\/\/holdfast-user:<redacted>@127\.0\.0\.1:\d+/);
  // sending the shown config back (PATCH with the redacted endpoint) keeps the stored credentials
  const patched = JSON.parse(shown).runtime_config;
  keep(await call(url, 'PATCH', '/v0/pipelines/good', { runtime_config: patched }));
  keep(await call(url, 'POST', '/v0/pipelines/good/start'));
  await waitFor('good running', async () => {
    const [, text] = await call(url, 'GET', '/v0/pipelines/good');
    return JSON.parse(text).deployment_status === 'Running' ? true : undefined;
  });
  keep(
    await call(url, 'POST', '/v0/pipelines/good/ingress/t?format=json&update_format=raw', { id: 1, v: 2 }),
  );
  const [cs, cbody] = keep(await call(url, 'POST', '/v0/pipelines/good/checkpoint'));
  assert.ok(cs < 300, cbody);
  await waitFor('checkpoint written', async () => {
    const [, text] = await call(url, 'GET', '/v0/pipelines/good/checkpoint_status');
    const done = JSON.parse(text).success as number | null;
    return done !== null && done >= JSON.parse(cbody).checkpoint_sequence_number ? true : undefined;
  });
  const [ss, sbody] = keep(await call(url, 'POST', '/v0/pipelines/good/checkpoint/sync'));
  assert.equal(ss, 202, sbody);
  const uuid = JSON.parse(sbody).checkpoint_uuid as string;
  const status = await waitFor('sync done', async () => {
    const [, text] = await call(url, 'GET', '/v0/pipelines/good/checkpoint/sync_status');
    const j = JSON.parse(text);
    return j.success === uuid || j.failure ? text : undefined;
  });
  seen.push(status);
  assert.equal(
    JSON.parse(status).success,
    uuid,
    `the push through the endpoint with userinfo worked: ${status}`,
  );

  // a pipeline whose push fails (no such bucket): the error names the store, without the password
  keep(
    await call(url, 'PUT', '/v0/pipelines/failing', {
      name: 'failing',
      program_code: sql,
      runtime_config: runtimeConfig('missing-bucket/x'),
    }),
  );
  keep(await call(url, 'POST', '/v0/pipelines/failing/start'));
  await waitFor('failing running', async () => {
    const [, text] = await call(url, 'GET', '/v0/pipelines/failing');
    return JSON.parse(text).deployment_status === 'Running' ? true : undefined;
  });
  const [, fc] = keep(await call(url, 'POST', '/v0/pipelines/failing/checkpoint'));
  await waitFor('checkpoint written', async () => {
    const [, text] = await call(url, 'GET', '/v0/pipelines/failing/checkpoint_status');
    const done = JSON.parse(text).success as number | null;
    return done !== null && done >= JSON.parse(fc).checkpoint_sequence_number ? true : undefined;
  });
  keep(await call(url, 'POST', '/v0/pipelines/failing/checkpoint/sync'));
  const failure = await waitFor('sync failure', async () => {
    const [, text] = await call(url, 'GET', '/v0/pipelines/failing/checkpoint/sync_status');
    return JSON.parse(text).failure ? text : undefined;
  });
  seen.push(failure);
  assert.match(failure, /holdfast-user:<redacted>@/, 'the failure names the store (redacted)');

  for (const name of ['good', 'failing']) {
    keep(await call(url, 'GET', `/v0/pipelines/${name}`));
    keep(await call(url, 'GET', `/v0/pipelines/${name}/stats`));
    keep(await call(url, 'GET', `/v0/pipelines/${name}/status`));
    keep(await call(url, 'GET', `/v0/pipelines/${name}/checkpoints/remote`));
    seen.push(await pipelineLog(url, name));
  }
  keep(await call(url, 'GET', '/v0/pipelines'));
  const stats = seen.find((s) => s.includes('"checkpoint_sync"')) ?? '';
  assert.match(stats, /holdfast-user:<redacted>@/, '/stats shows the bucket, redacted');
  const logs = seen.join('\n');
  assert.match(logs, /checkpoint sync to s3:\/\/ckpt\/good\/ at http:\/\/holdfast-user:<redacted>@/);
  for (const text of seen)
    assert.ok(!text.includes(PASSWORD), `the password leaked in: ${text.slice(0, 2000)}`);
  for (const name of ['good', 'failing'])
    keep(await call(url, 'POST', `/v0/pipelines/${name}/stop?force=true`));
  const managerLog = manager.log();
  assert.ok(!managerLog.includes(PASSWORD), `the password leaked in the manager log: ${managerLog}`);
  // the pipelines' log files on disk (what /logs shows after a manager restart)
  const pipelinesDir = join(dataDir, 'mgr', 'pipelines');
  let files = 0;
  for (const id of readdirSync(pipelinesDir))
    for (const f of readdirSync(join(pipelinesDir, id, 'logs'))) {
      const text = readFileSync(join(pipelinesDir, id, 'logs', f), 'utf8');
      assert.ok(!text.includes(PASSWORD), `the password leaked in log file ${id}/logs/${f}`);
      files++;
    }
  assert.ok(files >= 2, 'each pipeline has its log file');

  // `holdfast pipeline run` alone: a pull that fails prints the store without the password
  const dir = mkdtempSync(join(dataDir, 'run-'));
  const config = join(dir, 'pipeline.json');
  const closed = s3.endpoint.replace(/:\d+$/, ':1').replace('://', `://u:${PASSWORD}@`);
  writeFileSync(
    config,
    JSON.stringify({
      name: 'alone',
      program_code: sql,
      ...syncedFt({
        endpoint: closed,
        provider: 'Minio',
        access_key: 'a',
        secret_key: 'b',
        bucket: 'ckpt/alone',
        start_from_checkpoint: 'latest',
        fail_if_no_checkpoint: true,
      }),
    }),
  );
  const run = spawn(process.execPath, [MAIN, 'pipeline', 'run', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  run.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  run.stderr?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  const code = await new Promise<number | null>((r) => run.once('exit', (c) => r(c)));
  assert.equal(code, 1, out);
  assert.match(out, /u:<redacted>@127\.0\.0\.1:1/, out);
  assert.ok(!out.includes(PASSWORD), `the password leaked in pipeline run's output: ${out}`);
});
