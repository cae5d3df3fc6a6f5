/**
 * Checkpoint sync end to end: real pipeline processes (`holdfast pipeline run`), real HTTP, a real S3-compatible
 * server (s3rver on 127.0.0.1; moto_server too when it is on PATH) and Azure Blob Storage (Azurite on 127.0.0.1),
 * the same tests for each (tests/helpers/sync-targets.ts). Manual and periodic pushes, restores with storage cleared (latest and by UUID) and without, the start-time rules of fail_if_no_checkpoint and of
 * authentication errors, read_bucket seeding of a second pipeline, ownership refusal, incremental pushes.
 *
 * Against every store: the push and restores, wrong credentials, read_bucket and ownership. The push killed
 * mid-way, the periodic push and the missing checkpoint run their store-independent logic against s3rver in
 * `npm test` (skipped, saying so, against the others) and against every store under `npm run chaos`
 * (HOLDFAST_ALL_STORES=1); each store's own requests (multipart, listing, conditional writes, ranges, errors) are
 * covered per store by tests/unit/sync/object-store-conformance.test.ts.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  checkpoint,
  getJson,
  ingestRows,
  kill9,
  type Proc,
  pipelineConfig,
  query,
  type SyncStatus,
  startPipeline,
  syncAndWait,
  until,
} from '../ft/support.ts';
import { findMotoServer } from '../helpers/s3rver.ts';
import { type SyncTarget, startSyncTarget } from '../helpers/sync-targets.ts';

const PROGRAM = `
CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT);
CREATE MATERIALIZED VIEW totals AS SELECT COUNT(*) AS n, SUM(v) AS total FROM t;
CREATE MATERIALIZED VIEW by_parity AS SELECT id % 2 AS parity, SUM(v) AS total FROM t GROUP BY id % 2;
`;

/** Writes a pipeline config in a fresh directory (storage next to it) and returns its path. */
async function config(
  name: string,
  sync: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<{ cfg: string; dir: string }> {
  return pipelineConfig('holdfast-sync-it-', {
    name,
    program_code: PROGRAM,
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
    storage: { backend: { name: 'file', config: { sync } } },
    ...extra,
  });
}

const ingest = (base: string, rows: Array<{ id: number; v: number }>) => ingestRows(base, 't', rows);

async function views(base: string): Promise<string> {
  return `${await query(base, 'SELECT * FROM totals')}|${await query(base, 'SELECT * FROM by_parity ORDER BY parity')}`;
}

/** POST /checkpoint/sync and wait for it to finish; returns the uuid and the final status. */
const sync = syncAndWait;

async function stop(p: Proc): Promise<void> {
  await kill9(p);
}

/** Set by `npm run chaos`: every test against every store. */
const ALL_STORES = process.env.HOLDFAST_ALL_STORES === '1';

function suiteFor(serverName: SyncTarget['name'], start: () => Promise<SyncTarget>): void {
  /** Store-independent scenarios: against s3rver in npm test, against every store under npm run chaos. */
  const firstStoreOnly =
    serverName === 's3rver' || ALL_STORES
      ? {}
      : {
          skip: 'store-independent: runs against s3rver in npm test and against every store in npm run chaos',
        };
  describe(`checkpoint sync against ${serverName}`, async () => {
    const s3 = await start();
    after(() => s3.stop());
    await s3.createBucket('primary');
    await s3.createBucket('seeds');
    const creds = s3.fields;

    test('manual push; restore from latest and from a UUID with storage cleared; restart without clearing', async () => {
      const { cfg, dir } = await config('orders', {
        ...creds,
        bucket: 'primary/orders',
        start_from_checkpoint: 'latest',
      });
      let p = await startPipeline(cfg);
      // no checkpoint yet: 400 that says what to do
      const none = await fetch(`${p.base}/checkpoint/sync`, { method: 'POST' });
      assert.equal(none.status, 400);
      assert.match(
        ((await none.json()) as { message: string }).message,
        /make a POST request to `\/checkpoint`/,
      );
      await ingest(p.base, [
        { id: 1, v: 10 },
        { id: 2, v: 20 },
        { id: 3, v: 30 },
      ]);
      await checkpoint(p.base);
      const first = await sync(p.base);
      assert.equal(first.status.failure, null);
      // a status query for another incarnation (the process restarted since the request) is refused
      const stale = await fetch(
        `${p.base}/checkpoint/sync_status?incarnation_uuid=019a0000-0000-7000-8000-000000000000`,
      );
      assert.equal(stale.status, 400);
      assert.equal(((await stale.json()) as { error_code: string }).error_code, 'IncarnationUuidMismatch');
      const firstViews = await views(p.base);
      // a small change, a second checkpoint and an incremental push
      await ingest(p.base, [{ id: 4, v: 40 }]);
      await checkpoint(p.base);
      const second = await sync(p.base);
      assert.equal(second.status.success, second.uuid);
      const stats = await getJson<{
        checkpoint_sync: { last_push: { files: number; files_skipped: number }; pushes: number };
      }>(p.base, '/checkpoint/sync_status');
      assert.equal(stats.checkpoint_sync.pushes, 2);
      assert.ok(stats.checkpoint_sync.last_push.files_skipped > 0, 'the incremental push reused files');
      assert.ok(
        stats.checkpoint_sync.last_push.files < stats.checkpoint_sync.last_push.files_skipped,
        JSON.stringify(stats.checkpoint_sync.last_push),
      );
      const metrics = await (await fetch(`${p.base}/metrics`)).text();
      assert.match(metrics, /holdfast_checkpoint_sync_push_success_total\{[^}]*\} 2/);
      const remote = await getJson<Array<{ uuid: string; source: string; steps: number }>>(
        p.base,
        '/checkpoints/remote',
      );
      assert.deepEqual(
        remote.map((r) => r.uuid),
        [first.uuid, second.uuid],
      );
      const lastViews = await views(p.base);
      await stop(p);

      // storage cleared, latest: pulled from the bucket
      await rm(join(dir, 'storage'), { recursive: true, force: true });
      p = await startPipeline(cfg);
      assert.ok(
        p.log.some((l) => l.includes('checkpoint pulled successfully') && l.includes(second.uuid)),
        p.log.join('\n'),
      );
      assert.equal(await views(p.base), lastViews);
      await stop(p);

      // restart without clearing: the local checkpoint is used, nothing downloaded
      p = await startPipeline(cfg);
      assert.ok(!p.log.some((l) => l.includes('checkpoint pulled successfully')), 'no download');
      assert.ok(
        p.log.some((l) => l.includes('using local checkpoint')),
        p.log.join('\n'),
      );
      assert.equal(await views(p.base), lastViews);
      await stop(p);

      // storage cleared, an explicit UUID: that checkpoint, not the newest
      const byUuid = await config('orders', {
        ...creds,
        bucket: 'primary/orders',
        start_from_checkpoint: first.uuid,
      });
      p = await startPipeline(byUuid.cfg);
      assert.ok(
        p.log.some((l) => l.includes('checkpoint pulled successfully') && l.includes(first.uuid)),
        p.log.join('\n'),
      );
      assert.equal(await views(p.base), firstViews);
      await stop(p);
    });

    test(
      'a push shows its progress in sync_status; kill -9 mid-push leaves no checkpoint in the bucket, the next push completes it',
      firstStoreOnly,
      async () => {
        const bucket = `primary/crash-${serverName}`;
        const { cfg } = await config('crashy', { ...creds, bucket, flags: ['--bwlimit', '16k'] });
        let p = await startPipeline(cfg);
        for (let b = 0; b < 4; b++)
          await ingest(
            p.base,
            Array.from({ length: 5000 }, (_, i) => ({ id: b * 5000 + i, v: (i * 7919) % 10007 })),
          );
        await checkpoint(p.base);
        const r = await fetch(`${p.base}/checkpoint/sync`, { method: 'POST' });
        const { checkpoint_uuid: uuid } = (await r.json()) as { checkpoint_uuid: string };
        const progress = await until(
          () =>
            getJson<{
              checkpoint_sync: {
                push_in_progress: {
                  uuid: string;
                  bytes_done: number;
                  bytes_total: number;
                  files_total: number;
                } | null;
              };
            }>(p.base, '/checkpoint/sync_status'),
          // mid-push: the push has counted what it has to move and not moved all of it. (Waiting for bytes_done > 0
          // as well raced: files go up whole under the limit, in no set order, so when the largest goes first the
          // count jumps from 0 to a few bytes short of the total and the last tiny files close the push within
          // milliseconds — a 25 ms poll could miss that window and then saw only the finished push.)
          (s) => {
            const q = s.checkpoint_sync.push_in_progress;
            return q !== null && q.bytes_total > 0 && q.bytes_done < q.bytes_total;
          },
          'push progress',
        );
        const inFlight = progress.checkpoint_sync.push_in_progress;
        assert.equal(inFlight?.uuid, uuid);
        assert.ok((inFlight?.bytes_done ?? 0) < (inFlight?.bytes_total ?? 0), JSON.stringify(inFlight));
        assert.ok(
          (inFlight?.bytes_done ?? -1) >= 0 && (inFlight?.files_total ?? 0) > 1,
          JSON.stringify(inFlight),
        );
        await kill9(p);
        // no manifest: the half-pushed checkpoint does not exist for readers
        const reader = await config('reader', {
          ...creds,
          bucket: `primary/reader-${serverName}`,
          read_bucket: bucket,
          start_from_checkpoint: 'latest',
        });
        const pr = await startPipeline(reader.cfg);
        assert.ok(
          pr.log.some((l) => l.includes('starting from scratch')),
          pr.log.join('\n'),
        );
        await kill9(pr);
        // restarted (local checkpoint intact), the push completes; only the missing files go up (at full speed:
        // the bandwidth limit was there to catch the push mid-way)
        const restarted = JSON.parse(await readFile(cfg, 'utf8'));
        delete restarted.storage.backend.config.sync.flags;
        await writeFile(cfg, JSON.stringify(restarted));
        p = await startPipeline(cfg);
        try {
          const again = await sync(p.base);
          assert.equal(again.uuid, uuid);
          assert.equal(again.status.success, uuid);
          const stats = await getJson<{ checkpoint_sync: { last_push: { files_skipped: number } } }>(
            p.base,
            '/checkpoint/sync_status',
          );
          assert.ok(stats.checkpoint_sync.last_push.files_skipped >= 0);
        } finally {
          await kill9(p);
        }
      },
    );

    test(
      'periodic push every push_interval seconds; sync_status.periodic and checkpoint_sync show it',
      firstStoreOnly,
      async () => {
        const { cfg } = await config(
          'periodic',
          { ...creds, bucket: 'primary/periodic', push_interval: 1 },
          { fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: 1 } },
        );
        const p = await startPipeline(cfg);
        try {
          await ingest(p.base, [{ id: 1, v: 1 }]);
          const st = await until(
            () => getJson<SyncStatus>(p.base, '/checkpoint/sync_status'),
            (s) => s.periodic !== null,
            'a periodic push',
          );
          assert.equal(st.failure, null);
          const stats = await getJson<{ checkpoint_sync: { push_interval: number; pushes: number } }>(
            p.base,
            '/checkpoint/sync_status',
          );
          assert.equal(stats.checkpoint_sync.push_interval, 1);
          assert.ok(stats.checkpoint_sync.pushes >= 1);
        } finally {
          await stop(p);
        }
      },
    );

    test(
      'missing checkpoint: fail_if_no_checkpoint true fails the start, false starts from scratch and says so',
      firstStoreOnly,
      async () => {
        const strict = await config('strict', {
          ...creds,
          bucket: 'primary/empty',
          start_from_checkpoint: 'latest',
          fail_if_no_checkpoint: true,
        });
        await assert.rejects(
          startPipeline(strict.cfg),
          /CheckpointFetchError.*no intact checkpoint found.*fail_if_no_checkpoint is true/s,
        );
        const lax = await config('lax', {
          ...creds,
          bucket: 'primary/empty',
          start_from_checkpoint: 'latest',
        });
        const p = await startPipeline(lax.cfg);
        try {
          assert.ok(
            p.log.some((l) => l.includes('starting from scratch (fail_if_no_checkpoint is false)')),
            p.log.join('\n'),
          );
          const status = await getJson<{
            runtime_status: string;
            runtime_status_details: { reason?: string } | null;
          }>(p.base, '/status');
          assert.equal(status.runtime_status, 'Running');
          assert.match(status.runtime_status_details?.reason ?? '', /starting from scratch/);
        } finally {
          await stop(p);
        }
      },
    );

    if (s3.checksCredentials)
      test('wrong credentials fail the start whatever fail_if_no_checkpoint says, with the store code', async () => {
        for (const fail of [false, true]) {
          const c = await config('badcreds', {
            ...creds,
            secret_key: 'not-the-secret',
            bucket: 'primary/orders',
            start_from_checkpoint: 'latest',
            fail_if_no_checkpoint: fail,
          });
          await assert.rejects(startPipeline(c.cfg), (e: Error) => {
            assert.match(e.message, /CheckpointFetchError/);
            assert.match(e.message, new RegExp(s3.authFailureCode));
            assert.doesNotMatch(e.message, /not-the-secret/);
            return true;
          });
        }
      });

    test('read_bucket seeds a second pipeline (other name, other storage) with identical views; ownership refuses a foreign push', async () => {
      const a = await config('prod', { ...creds, bucket: 'seeds/prod' });
      const pa = await startPipeline(a.cfg);
      await ingest(
        pa.base,
        Array.from({ length: 50 }, (_, i) => ({ id: i, v: i * 3 })),
      );
      await checkpoint(pa.base);
      await sync(pa.base);
      const prodViews = await views(pa.base);
      await stop(pa);

      const b = await config('staging', {
        ...creds,
        bucket: 'seeds/staging',
        read_bucket: 'seeds/prod',
        start_from_checkpoint: 'latest',
        fail_if_no_checkpoint: true,
      });
      const pb = await startPipeline(b.cfg);
      try {
        assert.ok(
          pb.log.some(
            (l) => l.includes('checkpoint pulled successfully') && l.includes('"source":"read_bucket"'),
          ),
          pb.log.join('\n'),
        );
        assert.equal(await views(pb.base), prodViews);
        // its own pushes go to its own bucket; read_bucket untouched
        await checkpoint(pb.base);
        const own = await sync(pb.base);
        assert.equal(own.status.success, own.uuid);
        const remote = await getJson<Array<{ uuid: string; source: string }>>(pb.base, '/checkpoints/remote');
        assert.ok(remote.some((r) => r.uuid === own.uuid && r.source === 'bucket'));
        assert.ok(remote.some((r) => r.source === 'read_bucket'));
      } finally {
        await stop(pb);
      }

      // a third pipeline pointed at prod's prefix is refused, naming both pipelines
      const c = await config('intruder', { ...creds, bucket: 'seeds/prod' });
      const pc = await startPipeline(c.cfg);
      try {
        await ingest(pc.base, [{ id: 1, v: 1 }]);
        await checkpoint(pc.base);
        const r = await sync(pc.base);
        assert.equal(r.status.success, null);
        assert.match(
          r.status.failure?.error ?? '',
          /Error pushing checkpoint to object store: S3 checkpoint bucket is already owned by pipeline 'prod' \(id: prod, epoch 1[;)].*Current pipeline is 'intruder'.*Refusing to write/,
        );
      } finally {
        await stop(pc);
      }
    });
  });
}

suiteFor('s3rver', () => startSyncTarget('s3rver'));
suiteFor('azurite', () => startSyncTarget('azurite'));
const moto = findMotoServer();
if (moto !== null) suiteFor('moto', () => startSyncTarget('moto'));
else
  test('moto_server is absent on this machine: the sync suite ran against s3rver only', {
    skip: 'moto_server not on PATH',
  }, () => {});
