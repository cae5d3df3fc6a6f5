/**
 * Checkpoint sync through the manager, the SDK and the CLI, against s3rver: sync with wait, status, remote
 * listing, a progress-reporting CLI sync; then storage cleared, the pipeline renamed and restarted: it restores
 * from the bucket and keeps pushing to the prefix it owns (ownership is by pipeline id, not by name).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { HoldfastClient, Pipeline } from '../../src/client/index.ts';
import { startS3rver } from '../helpers/s3rver.ts';
import { type Manager, startManager, stopProcess } from '../kit/index.ts';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-sync-mgr-'));
let manager: Manager | null = null;
after(async () => {
  // the manager stops its pipelines on SIGTERM: let it finish before its data directory goes
  if (manager) await stopProcess(manager.proc);
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

test('sync via manager, SDK and CLI; a renamed pipeline restores from its bucket and keeps ownership', {
  timeout: 120_000,
}, async (t) => {
  const s3 = await startS3rver(t, { buckets: ['ckpt'] });
  manager = await startManager(dataDir);
  const url = manager.base;
  const client = new HoldfastClient({ url });
  const sync = {
    endpoint: s3.endpoint,
    provider: 'Minio',
    access_key: s3.accessKey,
    secret_key: s3.secretKey,
    bucket: 'ckpt/orders',
    start_from_checkpoint: 'latest',
  };
  const p = await Pipeline.create(client, {
    name: 'orders',
    sql: `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT);
          CREATE MATERIALIZED VIEW totals AS SELECT COUNT(*) AS n, SUM(v) AS total FROM t;`,
    runtimeConfig: {
      fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
      storage: { backend: { name: 'file', config: { sync } } },
    },
  });
  // the secret never comes back
  assert.doesNotMatch(JSON.stringify(await client.getPipeline('orders')), /"secret_key":"S3RVER"/);
  await p.start({ wait: true, timeoutMs: 30_000 });
  await p.inputJson(
    't',
    [
      { id: 1, v: 5 },
      { id: 2, v: 7 },
    ],
    { wait: true, timeoutMs: 10_000 },
  );
  await p.checkpoint({ wait: true, timeoutMs: 20_000 });
  const uuid = await p.syncCheckpoint({ wait: true, timeoutMs: 30_000 });
  assert.equal((await p.syncCheckpointStatus(uuid)).status, 'Success');
  assert.equal(await p.lastSuccessfulCheckpointSync(), uuid);
  assert.deepEqual(
    (await p.remoteCheckpoints()).map((r) => r.uuid),
    [uuid],
  );

  // the CLI: a second checkpoint and a waited sync
  await p.inputJson('t', [{ id: 3, v: 9 }], { wait: true, timeoutMs: 10_000 });
  await p.checkpoint({ wait: true, timeoutMs: 20_000 });
  const cli = spawnSync(process.execPath, [MAIN, '--url', url, 'pipeline', 'sync', 'orders', '--wait'], {
    encoding: 'utf8',
  });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /orders: checkpoint [0-9a-f-]{36} synced/);
  const listed = spawnSync(
    process.execPath,
    [MAIN, '--url', url, 'pipeline', 'checkpoints', 'orders', '--remote'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(listed.status, 0, listed.stderr);
  assert.equal(listed.stdout.match(/[0-9a-f]{8}-[0-9a-f]{4}-/g)?.length, 2, listed.stdout);
  const before = await p.queryTabular('SELECT * FROM totals');

  // clear local storage, rename, start: restored from the bucket; its pushes still land (same pipeline id)
  await p.stop({ force: true, wait: true, timeoutMs: 20_000 });
  await p.clearStorage({ wait: true, timeoutMs: 20_000 });
  await client.patchPipeline('orders', { name: 'orders-eu' });
  const renamed = new Pipeline(client, 'orders-eu');
  await renamed.start({ wait: true, timeoutMs: 30_000 });
  assert.equal(await renamed.queryTabular('SELECT * FROM totals'), before);
  await renamed.inputJson('t', [{ id: 4, v: 1 }], { wait: true, timeoutMs: 10_000 });
  await renamed.checkpoint({ wait: true, timeoutMs: 20_000 });
  const third = await renamed.syncCheckpoint({ wait: true, timeoutMs: 30_000 });
  assert.equal((await renamed.remoteCheckpoints()).at(-1)?.uuid, third);
  const s3c = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
  });
  const owner = JSON.parse(
    (await (
      await s3c.send(new GetObjectCommand({ Bucket: 'ckpt', Key: 'orders/owner.json' }))
    ).Body?.transformToString()) ?? '{}',
  ) as { pipeline_id: string; pipeline_name: string; epoch: number };
  s3c.destroy();
  assert.match(owner.pipeline_id, /^pipeline-/);
  assert.equal(owner.pipeline_name, 'orders-eu');
  assert.equal(owner.epoch, 1);
  await renamed.stop({ force: true, wait: true, timeoutMs: 20_000 });
});
