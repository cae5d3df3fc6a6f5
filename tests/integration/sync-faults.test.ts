/**
 * Checkpoint sync through a flaky object store: real pipeline processes, s3rver behind the fault-injecting proxy
 * (tests/helpers/fault-proxy.ts), real HTTP, real `kill -9`.
 *
 * - Restore with bodies cut short: retried, then restored when the fault stops; CheckpointFetchError when it
 *   persists (whatever fail_if_no_checkpoint says); never Running-empty.
 * - The data loss: a restore that cannot read the bucket's checkpoints does not start empty and push that
 *   empty state as the newest checkpoint; a pipeline that started from scratch over a bucket with checkpoints
 *   is refused its push (CheckpointPushDiverged). A later healthy restore gets the data.
 * - 503 on PUT during a push: retried and visible; when it persists the push fails loudly and the bucket never
 *   holds a manifest whose files are missing.
 * - Standby: resets and hangs retried and counted, pulls whose bodies keep arriving damaged in transit counted
 *   as failures (never taken for a corrupt checkpoint to skip), activation through a transient fault retried, and a plain start after a failed activation takes
 *   the bucket over before running.
 */
import assert from 'node:assert/strict';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { StandbyStatus } from '../../src/types/pipeline-api.ts';
import {
  checkpoint,
  getJson,
  ingestRows,
  kill9,
  type Proc,
  pipelineConfig,
  query,
  startPipeline,
  until,
} from '../ft/support.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { startS3rver } from '../helpers/s3rver.ts';

const PROGRAM = `
CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT);
CREATE MATERIALIZED VIEW totals AS SELECT COUNT(*) AS n, SUM(v) AS total FROM t;
`;

/** Fast retries so that a persistent fault fails in well under a second per request. */
const RETRY_FLAGS = ['--low-level-retries', '3', '--retries-sleep', '50ms', '--timeout', '2s'];

/** A pipeline config over PROGRAM with exactly-once checkpoints and `sync` (plus RETRY_FLAGS). */
const configBody = (name: string, sync: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name,
  program_code: PROGRAM,
  fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
  storage: { backend: { name: 'file', config: { sync: { flags: RETRY_FLAGS, ...sync } } } },
  ...extra,
});

async function config(
  name: string,
  sync: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<{ cfg: string; dir: string }> {
  return pipelineConfig('holdfast-sync-faults-', configBody(name, sync, extra));
}

async function writeConfig(
  cfg: string,
  name: string,
  sync: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await writeFile(cfg, JSON.stringify(configBody(name, sync, extra)));
}

const ingest = (base: string, rows: Array<{ id: number; v: number }>) => ingestRows(base, 't', rows);

const totals = (base: string) => query(base, 'SELECT * FROM totals');

/** POST /checkpoint/sync and wait for that push to end (a repeated uuid too: by the push counters). */
async function syncNow(base: string): Promise<{ uuid: string; ok: boolean; error: string | null }> {
  type Counts = { checkpoint_sync: { pushes: number; push_failures: number } };
  const ended = (c: Counts) => c.checkpoint_sync.pushes + c.checkpoint_sync.push_failures;
  const before = ended(await getJson<Counts>(base, '/checkpoint/sync_status'));
  const r = await fetch(`${base}/checkpoint/sync`, { method: 'POST' });
  const text = await r.text();
  assert.equal(r.status, 202, text);
  const { checkpoint_uuid: uuid } = JSON.parse(text) as { checkpoint_uuid: string };
  await until(
    () => getJson<Counts>(base, '/checkpoint/sync_status'),
    (c) => ended(c) > before,
    `sync of ${uuid}`,
    60_000,
  );
  const s = await getJson<{ success: string | null; failure: { uuid: string; error: string } | null }>(
    base,
    '/checkpoint/sync_status',
  );
  return { uuid, ok: s.success === uuid, error: s.failure?.uuid === uuid ? s.failure.error : null };
}

interface SyncStats {
  checkpoint_sync: {
    retries: number;
    retries_exhausted: number;
    last_retry: { request: string; error: string } | null;
  };
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe('checkpoint sync through a flaky object store', async () => {
  const s3 = await startS3rver();
  after(() => s3.stop());
  await s3.createBucket('flaky');
  const proxy = await startFaultProxy(s3.endpoint);
  after(() => proxy.stop());
  const direct = {
    endpoint: s3.endpoint,
    provider: 'Other',
    access_key: s3.accessKey,
    secret_key: s3.secretKey,
  };
  const viaProxy = { ...direct, endpoint: proxy.endpoint };
  const admin = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
  });
  after(() => admin.destroy());

  /** Keys under `prefix` in the bucket, read directly (not through the proxy). */
  async function keys(prefix: string): Promise<string[]> {
    const out = await admin.send(new ListObjectsV2Command({ Bucket: 'flaky', Prefix: prefix }));
    return (out.Contents ?? []).map((o) => o.Key as string);
  }

  /** Every manifest in `prefix` lists only files that are in the bucket. */
  async function assertNoDanglingManifest(prefix: string): Promise<number> {
    const files = new Set(await keys(`${prefix}/files/`));
    const manifests = (await keys(`${prefix}/checkpoints/`)).filter((k) => k.endsWith('.json'));
    for (const k of manifests) {
      const out = await admin.send(new GetObjectCommand({ Bucket: 'flaky', Key: k }));
      const m = JSON.parse(
        await (out.Body as { transformToString(): Promise<string> }).transformToString(),
      ) as {
        operators: Record<string, Record<string, Array<{ hash: string }>>>;
      };
      for (const states of Object.values(m.operators))
        for (const list of Object.values(states))
          for (const f of list)
            assert.ok(files.has(`${prefix}/files/${f.hash}`), `${k} lists missing ${f.hash}`);
    }
    return manifests.length;
  }

  /** A primary that pushed one checkpoint with rows 1..n to `bucket`; returns its views. Killed afterwards. */
  async function seed(name: string, bucket: string, n: number): Promise<string> {
    const { cfg } = await config(name, { ...direct, bucket });
    const p = await startPipeline(cfg);
    try {
      await ingest(
        p.base,
        Array.from({ length: n }, (_, i) => ({ id: i + 1, v: (i + 1) * 10 })),
      );
      await checkpoint(p.base);
      const s = await syncNow(p.base);
      assert.ok(s.ok, s.error ?? '');
      return await totals(p.base);
    } finally {
      await kill9(p);
    }
  }

  test('restore with bodies cut short: CheckpointFetchError while it persists (never Running-empty), retried and restored once it stops', async () => {
    const want = await seed('restore', 'flaky/restore', 50);
    const { cfg, dir } = await config('restore', {
      ...viaProxy,
      bucket: 'flaky/restore',
      start_from_checkpoint: 'latest',
    });
    // every file download cut short: the start fails loudly, whatever fail_if_no_checkpoint (false) says
    const rule = proxy.inject({ kinds: ['get', 'range'], key: 'files/', fault: { type: 'truncate' } });
    await assert.rejects(startPipeline(cfg), (e: Error) => {
      assert.match(e.message, /CheckpointFetchError/);
      assert.match(e.message, /gave up after 4 attempts/);
      assert.doesNotMatch(e.message, /starting from scratch/);
      return true;
    });
    assert.ok(proxy.fired(rule) >= 4, `${proxy.fired(rule)} truncations`);
    proxy.clear();
    // a few cut-off bodies (manifest and files), then a healthy store: retried, restored
    await rm(join(dir, 'storage'), { recursive: true, force: true });
    proxy.inject({ kinds: ['get'], key: 'checkpoints/', fault: { type: 'truncate', keep: 10 }, times: 2 });
    proxy.inject({ kinds: ['get', 'range'], key: 'files/', fault: { type: 'truncate' }, times: 3 });
    const p = await startPipeline(cfg);
    try {
      assert.equal(await totals(p.base), want);
      assert.ok(p.log.some((l) => l.includes('checkpoint pulled successfully')));
      assert.ok(
        p.log.some((l) => l.includes('failed transiently')),
        'each retry is logged',
      );
      const stats = await getJson<SyncStats>(p.base, '/checkpoint/sync_status');
      assert.ok(stats.checkpoint_sync.retries >= 5, JSON.stringify(stats.checkpoint_sync));
      assert.match(
        await (await fetch(`${p.base}/metrics`)).text(),
        /holdfast_checkpoint_sync_retries_total\{[^}]*\} [1-9]/,
      );
    } finally {
      await kill9(p);
      proxy.clear();
    }
  });

  test('the empty state never buries good checkpoints: a later healthy restore gets the data', async () => {
    const want = await seed('bury', 'flaky/bury', 40);
    const { cfg, dir } = await config(
      'bury',
      { ...viaProxy, bucket: 'flaky/bury', start_from_checkpoint: 'latest', push_interval: 1 },
      { fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: 1 } },
    );
    // the issue: every object body cut short during the restore
    proxy.inject({ kinds: ['get', 'range'], key: 'files/', fault: { type: 'truncate' } });
    let started: Proc | null = null;
    try {
      started = await startPipeline(cfg);
    } catch (e) {
      assert.match((e as Error).message, /CheckpointFetchError/);
    }
    if (started !== null) {
      // (the code before the fix: Running, empty, and its periodic push makes the empty state the newest)
      const p = started;
      await until(
        () => getJson<{ periodic: string | null; failure: unknown }>(p.base, '/checkpoint/sync_status'),
        (s) => s.periodic !== null || s.failure !== null,
        'a periodic push',
      ).catch(() => {});
      await kill9(p);
    }
    proxy.clear();
    // a pipeline started from scratch over the bucket (no start_from_checkpoint) may not push over it either
    const fresh = await config('bury', { ...viaProxy, bucket: 'flaky/bury' });
    const f = await startPipeline(fresh.cfg);
    try {
      await ingest(f.base, [{ id: 1000, v: 1 }]);
      await checkpoint(f.base);
      const s = await syncNow(f.base);
      assert.equal(s.ok, false, 'the push was refused');
      assert.match(s.error ?? '', /CheckpointPushDiverged|newer than what this pipeline started from/);
    } finally {
      await kill9(f);
    }
    // the healthy restore: the data of the seed
    await rm(join(dir, 'storage'), { recursive: true, force: true });
    const p = await startPipeline(cfg);
    try {
      assert.equal(await totals(p.base), want);
    } finally {
      await kill9(p);
    }
  });

  test('503 on PUT during a push: retried and visible; persistent, the push fails loudly and no manifest dangles', async () => {
    const { cfg } = await config('putter', { ...viaProxy, bucket: 'flaky/put' });
    const p = await startPipeline(cfg);
    try {
      await ingest(p.base, [{ id: 1, v: 1 }]);
      await checkpoint(p.base);
      proxy.inject({
        kinds: ['put', 'multipart'],
        key: 'files/',
        fault: { type: 'status', status: 503 },
        times: 3,
      });
      proxy.inject({ kinds: ['put'], key: 'checkpoints/', fault: { type: 'reset' }, times: 1 });
      const first = await syncNow(p.base);
      assert.ok(first.ok, first.error ?? '');
      let stats = await getJson<SyncStats>(p.base, '/checkpoint/sync_status');
      assert.ok(stats.checkpoint_sync.retries >= 4, JSON.stringify(stats.checkpoint_sync));
      assert.match(stats.checkpoint_sync.last_retry?.request ?? '', /PUT/);
      assert.equal(await assertNoDanglingManifest('put'), 1);
      // persistent: the files never go up; the push fails, says why, and writes no manifest
      proxy.clear();
      proxy.inject({ kinds: ['put', 'multipart'], key: 'files/', fault: { type: 'status', status: 503 } });
      await ingest(p.base, [{ id: 2, v: 2 }]);
      await checkpoint(p.base);
      const second = await syncNow(p.base);
      assert.equal(second.ok, false);
      assert.match(second.error ?? '', /SlowDown.*gave up after 4 attempts/);
      stats = await getJson<SyncStats>(p.base, '/checkpoint/sync_status');
      assert.ok(stats.checkpoint_sync.retries_exhausted >= 1);
      assert.ok(!(await keys('put/checkpoints/')).some((k) => k.includes(second.uuid)));
      // the manifest PUT failing for good: files up, no manifest
      proxy.clear();
      proxy.inject({ kinds: ['put'], key: 'checkpoints/', fault: { type: 'status', status: 500 } });
      const third = await syncNow(p.base);
      assert.equal(third.ok, false);
      assert.equal(await assertNoDanglingManifest('put'), 1);
      proxy.clear();
      const fourth = await syncNow(p.base);
      assert.ok(fourth.ok, fourth.error ?? '');
      assert.equal(await assertNoDanglingManifest('put'), 2);
    } finally {
      proxy.clear();
      await kill9(p);
    }
  });

  /** A primary pushing to `bucket` directly and a standby of it through the proxy, holding the first push. */
  async function primaryAndStandby(bucket: string, name: string) {
    const primary = await config(`${name}-primary`, { ...direct, bucket });
    const a = await startPipeline(primary.cfg);
    const standby = await config(`${name}-standby`, {
      ...viaProxy,
      bucket,
      start_from_checkpoint: 'latest',
      standby: true,
      pull_interval: 1,
    });
    await ingest(a.base, [{ id: 1, v: 10 }]);
    await checkpoint(a.base);
    const c1 = await syncNow(a.base);
    const b = await startPipeline(standby.cfg);
    const sb = async () =>
      (await getJson<{ runtime_status_details: { standby?: StandbyStatus } | null }>(b.base, '/status'))
        .runtime_status_details?.standby ?? null;
    await until(sb, (s) => s?.last_pulled_checkpoint === c1.uuid, 'standby holds c1');
    return { a, b, sb, dir: standby.dir };
  }

  test('standby: resets and hangs are retried and counted', async () => {
    const { a, b, sb } = await primaryAndStandby('flaky/sb-net', 'sbnet');
    try {
      // resets on every listing: each pull's requests are retried, then the pull fails and is counted
      const before = (await sb()) as StandbyStatus;
      proxy.inject({ kinds: ['list'], fault: { type: 'reset' } });
      const failed = await until(sb, (s) => (s?.pull_failures ?? 0) > before.pull_failures, 'a failed pull');
      assert.ok((failed?.store_retries ?? 0) >= before.store_retries + 3, JSON.stringify(failed));
      assert.match(failed?.last_error?.message ?? '', /ECONNRESET|socket hang up|reset/i);
      assert.match(
        await (await fetch(`${b.base}/metrics`)).text(),
        /holdfast_standby_store_retries_total\{[^}]*\} [1-9]/,
      );
      proxy.clear();
      // a hanging manifest read is abandoned after --timeout and retried: the standby gets c2
      await ingest(a.base, [{ id: 2, v: 20 }]);
      await checkpoint(a.base);
      proxy.inject({ kinds: ['get'], key: 'checkpoints/', fault: { type: 'hang' }, times: 1 });
      const c2 = await syncNow(a.base);
      const got = await until(sb, (s) => s?.last_pulled_checkpoint === c2.uuid, 'standby holds c2', 60_000);
      assert.ok((got?.store_retries ?? 0) > (failed?.store_retries ?? 0), JSON.stringify(got));
    } finally {
      proxy.clear();
      await kill9(a);
      await kill9(b);
    }
  });

  test('standby: a pull whose bodies arrive damaged is a counted failure, not a skip; activation is retried through a transient fault', async () => {
    const { a, b, sb, dir } = await primaryAndStandby('flaky/sb-corrupt', 'sbcor');
    try {
      await ingest(a.base, [{ id: 2, v: 20 }]);
      await checkpoint(a.base);
      const c2 = await syncNow(a.base);
      await until(sb, (s) => s?.last_pulled_checkpoint === c2.uuid, 'standby holds c2');
      // c3's files arrive with flipped bytes, differently each read: the pull fails (transient: no two reads
      // agree, so c3 is not proven corrupt and not skipped), keeps c2, and counts a failure that says so
      await ingest(a.base, [{ id: 3, v: 30 }]);
      await checkpoint(a.base);
      const heldBefore = (await sb()) as StandbyStatus;
      proxy.inject({ kinds: ['get', 'range'], key: 'files/', fault: { type: 'corrupt' } });
      const c3 = await syncNow(a.base);
      const corrupt = await until(
        sb,
        (s) =>
          (s?.pull_failures ?? 0) > heldBefore.pull_failures &&
          /wrong in different ways/.test(s?.last_error?.message ?? ''),
        'a pull that failed on bodies damaged in transit',
      );
      assert.equal(corrupt?.last_pulled_checkpoint, c2.uuid);
      assert.match(corrupt?.last_error?.message ?? '', new RegExp(c3.uuid));
      proxy.clear();
      await until(sb, (s) => s?.last_pulled_checkpoint === c3.uuid, 'standby holds c3 once the store heals');
      // activation through a transient fault: more 503s than one request's attempts, retried as a whole
      await kill9(a);
      proxy.inject({ kinds: ['list', 'get', 'head'], fault: { type: 'status', status: 503 }, times: 6 });
      const r = await fetch(`${b.base}/activate`, { method: 'POST' });
      assert.equal(r.status, 202, await r.text());
      await until(
        () => getJson<{ runtime_status: string }>(b.base, '/status'),
        (s) => s.runtime_status === 'Running',
        'activated',
        60_000,
      );
      assert.equal(await totals(b.base), '{"n":3,"total":60}');
      assert.ok(
        b.log.some((l) => l.includes('failed transiently')),
        b.log.join('\n'),
      );
      assert.ok(await exists(join(dir, 'storage', 'activated.json')));
    } finally {
      proxy.clear();
      await kill9(a);
      await kill9(b);
    }
  });

  test('a plain start after a failed activation takes the bucket over (epoch bump, marker) before running', async () => {
    const primary = await config('act-primary', { ...direct, bucket: 'flaky/act' });
    const a = await startPipeline(primary.cfg);
    const name = 'act-standby';
    const sync = { ...viaProxy, bucket: 'flaky/act', start_from_checkpoint: 'latest', pull_interval: 1 };
    const standby = await config(name, sync, { initial: 'standby' });
    let c: Proc | null = null;
    try {
      await ingest(a.base, [{ id: 1, v: 5 }]);
      await checkpoint(a.base);
      const c1 = await syncNow(a.base);
      const b = await startPipeline(standby.cfg);
      await until(
        () => getJson<{ runtime_status_details: { standby?: StandbyStatus } | null }>(b.base, '/status'),
        (s) => s.runtime_status_details?.standby?.last_pulled_checkpoint === c1.uuid,
        'standby holds c1',
      );
      // the store fails for good during the activation: it fails (the process, run alone, exits)
      proxy.inject({ fault: { type: 'reset' } });
      const r = await fetch(`${b.base}/activate`, { method: 'POST' });
      assert.equal(r.status, 202);
      assert.equal(await b.exited, 1);
      assert.ok(
        b.log.some((l) => l.includes('initialization failed')),
        b.log.join('\n'),
      );
      proxy.clear();
      // a plain start (not standby): it must fence the old primary before it runs
      await writeConfig(standby.cfg, name, sync, { initial: 'running' });
      c = await startPipeline(standby.cfg);
      assert.ok(
        c.log.some((l) => l.includes('finishing the takeover')),
        c.log.join('\n'),
      );
      const marker = JSON.parse(await readFile(join(standby.dir, 'storage', 'activated.json'), 'utf8')) as {
        epoch: number;
        checkpoint: string;
      };
      assert.equal(marker.epoch, 2);
      assert.equal(marker.checkpoint, c1.uuid);
      assert.equal(await totals(c.base), '{"n":1,"total":5}');
      // the old primary is fenced: its next push is refused
      await ingest(a.base, [{ id: 2, v: 6 }]);
      await checkpoint(a.base);
      const late = await syncNow(a.base);
      assert.equal(late.ok, false);
      assert.match(late.error ?? '', /fenced|CheckpointBucketOwned|owned by/);
    } finally {
      proxy.clear();
      await kill9(a);
      if (c) await kill9(c);
    }
  });
});
