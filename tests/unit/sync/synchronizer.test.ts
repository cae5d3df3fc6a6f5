/**
 * The synchronizer against real stores: a local directory and s3rver (started on 127.0.0.1). Push uploads only
 * what the bucket lacks and the manifest last; ownership refuses a foreign prefix before writing a byte; pull
 * resolves local → bucket → read_bucket, verifies every byte and falls back past corrupt checkpoints; retention
 * runs on a clock the test moves; the tuning fields change what the transfer engine does.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CheckpointStore, manifestFiles } from '../../../src/storage/checkpoint-store.ts';
import { DirStore } from '../../../src/sync/dir-store.ts';
import type { ObjectStore } from '../../../src/sync/object-store.ts';
import { S3Store } from '../../../src/sync/s3-store.ts';
import { OWNER_KEY, Synchronizer } from '../../../src/sync/synchronizer.ts';
import { parseSyncConfig, type SyncSettings } from '../../../src/types/sync-config.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import type { Row } from '../../../src/zset/value.ts';
import { findMotoServer, type S3Server, startMoto, startS3rver } from '../../helpers/s3rver.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'holdfast-sync-'));
  dirs.push(d);
  return d;
}

function rows(from: number, to: number, pad = 0): Batch {
  const r: Row[] = [];
  for (let i = from; i < to; i++) r.push([i, `row-${i}-${'x'.repeat(pad)}`]);
  return { rows: r, weights: r.map(() => 1) };
}

/** A local store with checkpoints: a full one over `ops` operators, then deltas touching only `op0`. */
async function localStore(
  ops = 6,
  deltas = 1,
  rowsPerOp = 2000,
  full = false,
): Promise<{ store: CheckpointStore; uuids: string[] }> {
  const store = new CheckpointStore(join(await tempDir(), 'checkpoint-store'));
  const operators: Record<string, Record<string, Batch>> = {};
  for (let o = 0; o < ops; o++) operators[`op${o}`] = { state: rows(o * rowsPerOp, (o + 1) * rowsPerOp, 20) };
  const uuids = [
    (await store.write({ steps: 1, operators }, { fingerprint: 'fp', processed_records: 1 })).entry.uuid,
  ];
  for (let d = 0; d < deltas; d++) {
    const changed = { state: rows(1_000_000 + d * 10, 1_000_000 + d * 10 + 10) };
    const delta = full ? { ...operators, op0: changed } : { op0: changed };
    const r = await store.write(
      { steps: 2 + d, operators: delta },
      { fingerprint: 'fp', processed_records: 2 + d },
      { delta: !full },
    );
    uuids.push(r.entry.uuid);
  }
  return { store, uuids };
}

function settings(extra: Record<string, unknown> = {}): SyncSettings {
  return parseSyncConfig({ bucket: 'b/p', ...extra });
}

async function keys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out.sort();
}

const ME = { id: 'pipeline-a', name: 'orders' };

/** Counts concurrent calls of one method of a store. */
function counting(
  store: ObjectStore,
  method: 'put' | 'head' | 'getStream',
): { store: ObjectStore; max: () => number; calls: () => number } {
  let active = 0;
  let max = 0;
  let calls = 0;
  const wrapped = Object.create(store) as ObjectStore;
  const orig = (store[method] as (...a: unknown[]) => Promise<unknown>).bind(store);
  (wrapped as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    active++;
    calls++;
    max = Math.max(max, active);
    try {
      await new Promise((r) => setTimeout(r, 5));
      return await orig(...args);
    } finally {
      active--;
    }
  };
  for (const m of [
    'get',
    'list',
    'listPage',
    'delete',
    'deleteMany',
    'close',
    'put',
    'head',
    'getStream',
  ] as const)
    if (m !== method)
      (wrapped as unknown as Record<string, unknown>)[m] = (store[m] as (...a: unknown[]) => unknown).bind(
        store,
      );
  Object.defineProperty(wrapped, 'description', { value: store.description });
  return { store: wrapped, max: () => max, calls: () => calls };
}

/**
 * The store-independent behaviour, run on every store: a local directory, s3rver, and moto_server when present.
 * `newBucket()` gives an empty bucket prefix.
 */
function bucketSuite(name: string, newBucket: () => Promise<ObjectStore>): void {
  describe(`synchronizer on ${name}`, () => {
    test('a push uploads every file then the manifest; the next one after a small change uploads only new files', async () => {
      const { store, uuids } = await localStore(6, 1);
      const bucket = await newBucket();
      const sync = new Synchronizer({
        settings: settings(),
        local: store,
        identity: ME,
        stores: { bucket, read: null },
      });
      const full = await sync.push(uuids[0] as string);
      const m0 = await store.readManifest(uuids[0] as string);
      assert.equal(full.files, manifestFiles(m0).length);
      assert.equal(full.filesSkipped, 0);
      assert.ok((await keys(bucket, 'checkpoints/')).includes(`checkpoints/${uuids[0]}.json`));
      const inc = await sync.push(uuids[1] as string);
      assert.equal(inc.files, 1, 'only the delta segment is new');
      assert.equal(inc.filesSkipped, manifestFiles(await store.readManifest(uuids[1] as string)).length - 1);
      assert.ok(inc.bytes < full.bytes * 0.1, `incremental ${inc.bytes} B vs full ${full.bytes} B`);
      const again = await sync.push(uuids[1] as string);
      assert.equal(again.alreadyRemote, true);
      assert.equal(again.bytes, 0);
      // the manifest in the bucket records who pushed it and under which epoch
      const remote = JSON.parse((await bucket.get(`checkpoints/${uuids[1]}.json`)).bytes.toString()) as {
        sync: { epoch: number; pipeline_id: string };
      };
      assert.deepEqual([remote.sync.epoch, remote.sync.pipeline_id], [1, 'pipeline-a']);
    });

    test('ownership: the first push claims the prefix; another pipeline is refused before any byte; a rename keeps it', async () => {
      const { store, uuids } = await localStore(2, 1);
      const bucket = await newBucket();
      const a = new Synchronizer({
        settings: settings(),
        local: store,
        identity: ME,
        stores: { bucket, read: null },
      });
      await a.push(uuids[0] as string);
      const owner = JSON.parse((await bucket.get(OWNER_KEY)).bytes.toString()) as Record<string, unknown>;
      assert.equal(owner.pipeline_id, 'pipeline-a');
      assert.equal(owner.epoch, 1);
      const before = await keys(bucket);
      const other = new Synchronizer({
        settings: settings(),
        local: store,
        identity: { id: 'pipeline-b', name: 'staging' },
        stores: { bucket, read: null },
      });
      await assert.rejects(other.push(uuids[1] as string), (e: Error & { errorCode?: string }) => {
        assert.equal(e.errorCode, 'CheckpointBucketOwned');
        assert.match(e.message, /owned by pipeline 'orders' \(id: pipeline-a, epoch 1\)/);
        assert.match(
          e.message,
          /^S3 checkpoint bucket is already owned by .*Current pipeline is 'staging' \(id: pipeline-b\)\. Refusing to write/,
        );
        return true;
      });
      assert.deepEqual(await keys(bucket), before, 'nothing written by the refused push');
      const renamed = new Synchronizer({
        settings: settings(),
        local: store,
        identity: { id: 'pipeline-a', name: 'orders-v2' },
        stores: { bucket, read: null },
      });
      await renamed.push(uuids[1] as string);
      const owner2 = JSON.parse((await bucket.get(OWNER_KEY)).bytes.toString()) as Record<string, unknown>;
      assert.deepEqual(
        [owner2.pipeline_id, owner2.pipeline_name, owner2.epoch],
        ['pipeline-a', 'orders-v2', 1],
      );
    });

    test('pull: local match first, then bucket, then read_bucket; not found is reported, not thrown', async () => {
      const { store: src, uuids } = await localStore(3, 1);
      const readBucket = await newBucket();
      await new Synchronizer({
        settings: settings(),
        local: src,
        identity: ME,
        stores: { bucket: readBucket, read: null },
      }).push(uuids[1] as string);
      const readKeys = await keys(readBucket);
      const local = new CheckpointStore(join(await tempDir(), 'checkpoint-store'));
      const bucket = await newBucket();
      const sync = new Synchronizer({
        settings: settings(),
        local,
        identity: { id: 'pipeline-c', name: 'seeded' },
        stores: { bucket, read: readBucket },
      });
      const r = await sync.pull('latest');
      assert.equal(r.kind, 'pulled');
      assert.equal(r.kind === 'pulled' && r.source, 'read_bucket');
      assert.equal(r.kind === 'pulled' && r.uuid, uuids[1]);
      const read = await local.read(uuids[1] as string);
      assert.equal(read.manifest.processed_records, 2);
      assert.deepEqual(await keys(readBucket), readKeys, 'read_bucket never written');
      assert.deepEqual(await sync.pull('latest'), { kind: 'local', uuid: uuids[1] });
      assert.deepEqual(await sync.pull(uuids[1] as string), { kind: 'local', uuid: uuids[1] });
      const none = await sync.pull('019a0000-0000-7000-8000-000000000000');
      assert.equal(none.kind, 'none');
      assert.equal(
        none.kind === 'none' ? none.reason : '',
        `checkpoint 019a0000-0000-7000-8000-000000000000 not found in ${bucket.description} or ${readBucket.description} (its files were not found in source)`,
      );
      // a push by the seeded pipeline goes to its own bucket only
      const p = await sync.push(uuids[1] as string);
      assert.equal(p.alreadyRemote, false);
      assert.deepEqual(await keys(readBucket), readKeys);
    });

    test('pull: a bucket whose checkpoints are all corrupt fails (never "none"); a manifest that is not JSON is corrupt', async () => {
      const { store: src, uuids } = await localStore(2, 1);
      const bucket = await newBucket();
      const pusher = new Synchronizer({
        settings: settings(),
        local: src,
        identity: ME,
        stores: { bucket, read: null },
      });
      for (const u of uuids) await pusher.push(u);
      // the newest manifest arrives whole but is not JSON; the older one lists a file that is gone
      await bucket.put(`checkpoints/${uuids[1]}.json`, '{"not json');
      const older = await src.readManifest(uuids[0] as string);
      await bucket.delete(`files/${manifestFiles(older)[0]?.hash}`);
      const sync = new Synchronizer({
        settings: settings(),
        local: new CheckpointStore(join(await tempDir(), 'checkpoint-store')),
        identity: ME,
        stores: { bucket, read: null },
      });
      await assert.rejects(
        sync.pull('latest'),
        (e: Error & { errorCode?: string; details?: { corrupt?: string[] } }) => {
          assert.equal(e.errorCode, 'CheckpointFetchError');
          assert.match(e.message, /holds 2 checkpoint\(s\) and none can be restored/);
          assert.match(e.message, /not valid JSON/);
          assert.deepEqual(e.details?.corrupt?.sort(), [...uuids].sort());
          return true;
        },
      );
    });

    test('push: refused (CheckpointPushDiverged) when the bucket holds a newer checkpoint than the one the pipeline started from', async () => {
      const { store: src, uuids } = await localStore(2, 1);
      const bucket = await newBucket();
      const first = new Synchronizer({
        settings: settings(),
        local: src,
        identity: ME,
        stores: { bucket, read: null },
      });
      first.startedFrom = null;
      await first.push(uuids[0] as string); // an empty bucket: allowed
      first.startedFrom = uuids[0] as string;
      await first.push(uuids[1] as string); // its own lineage (local and started from an older one): allowed
      // the same pipeline, storage lost, started from scratch: its new checkpoint would bury the bucket's
      const { store: other, uuids: mine } = await localStore(1, 0);
      const fresh = new Synchronizer({
        settings: settings(),
        local: other,
        identity: ME,
        stores: { bucket, read: null },
      });
      fresh.startedFrom = null;
      await assert.rejects(fresh.push(mine[0] as string), (e: Error & { errorCode?: string }) => {
        assert.equal(e.errorCode, 'CheckpointPushDiverged');
        assert.match(
          e.message,
          new RegExp(`holds checkpoint ${uuids[1]}, newer than what this pipeline started from \\(nothing`),
        );
        return true;
      });
      // started from an older checkpoint than the newest: refused too; from the newest: allowed
      fresh.startedFrom = uuids[0] as string;
      await assert.rejects(
        fresh.push(mine[0] as string),
        (e: Error & { errorCode?: string }) => e.errorCode === 'CheckpointPushDiverged',
      );
      fresh.startedFrom = uuids[1] as string;
      await fresh.push(mine[0] as string);
      assert.deepEqual((await keys(bucket, 'checkpoints/')).length, 3);
    });

    test('pull: only missing files are downloaded; a corrupt newest checkpoint makes latest fall back, an explicit UUID fail', async () => {
      const { store: src, uuids } = await localStore(3, 2);
      const bucket = await newBucket();
      const pusher = new Synchronizer({
        settings: settings(),
        local: src,
        identity: ME,
        stores: { bucket, read: null },
      });
      for (const u of uuids) await pusher.push(u);
      // first pull of the older checkpoint, then of the newest: the second downloads only the delta
      const local = new CheckpointStore(join(await tempDir(), 'checkpoint-store'));
      const sync = new Synchronizer({
        settings: settings(),
        local,
        identity: ME,
        stores: { bucket, read: null },
      });
      const first = await sync.pull(uuids[1] as string);
      assert.equal(first.kind === 'pulled' && first.filesSkipped, 0);
      const second = await sync.pull(uuids[2] as string);
      assert.equal(second.kind === 'pulled' && second.files, 1);
      // damage the newest checkpoint's delta in the bucket (same size: only the checksum can tell)
      const newest = await src.readManifest(uuids[2] as string);
      const last = newest.operators.op0?.state?.at(-1)?.hash as string;
      const key = `files/${last}`;
      const bytes = Buffer.from((await bucket.get(key)).bytes);
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
      await bucket.put(key, bytes);
      const fresh = new CheckpointStore(join(await tempDir(), 'checkpoint-store'));
      const logs: string[] = [];
      const s2 = new Synchronizer({
        settings: settings(),
        local: fresh,
        identity: ME,
        stores: { bucket, read: null },
        log: (_l, m) => logs.push(m),
      });
      const fallback = await s2.pull('latest');
      assert.equal(fallback.kind === 'pulled' && fallback.uuid, uuids[1], 'the next older intact checkpoint');
      assert.ok(
        logs.some((l) => /is corrupt, trying the next older one/.test(l)),
        logs.join('\n'),
      );
      const fresh2 = new CheckpointStore(join(await tempDir(), 'checkpoint-store'));
      const s3 = new Synchronizer({
        settings: settings(),
        local: fresh2,
        identity: ME,
        stores: { bucket, read: null },
      });
      await assert.rejects(s3.pull(uuids[2] as string), (e: Error & { errorCode?: string }) => {
        assert.equal(e.errorCode, 'CheckpointFetchError');
        assert.match(e.message, new RegExp(`checkpoint ${uuids[2]} is corrupt: .*SHA-256`));
        return true;
      });
      // ignore_checksum verifies sizes only: the same-size damage passes the transfer
      const fresh3 = new CheckpointStore(join(await tempDir(), 'checkpoint-store'));
      const s4 = new Synchronizer({
        settings: settings({ ignore_checksum: true }),
        local: fresh3,
        identity: ME,
        stores: { bucket, read: null },
      });
      const sizeOnly = await s4.pull(uuids[2] as string);
      assert.equal(sizeOnly.kind, 'pulled');
      // a truncated object is caught even then
      await bucket.put(key, bytes.subarray(0, bytes.length - 3));
      const fresh4 = new CheckpointStore(join(await tempDir(), 'checkpoint-store'));
      const s5 = new Synchronizer({
        settings: settings({ ignore_checksum: true }),
        local: fresh4,
        identity: ME,
        stores: { bucket, read: null },
      });
      await assert.rejects(s5.pull(uuids[2] as string), /bytes arrived, the manifest says/);
    });

    test('retention: keeps at least retention_min_count, deletes only checkpoints older than retention_min_age, never the newest; files after the grace period', async () => {
      // full checkpoints: each has its own op0 segment and shares op1's with the others
      const { store, uuids } = await localStore(2, 13, 50, true);
      const bucket = await newBucket();
      let now = Date.now();
      const sync = new Synchronizer({
        settings: settings({ retention_min_count: 10, retention_min_age: 30 }),
        local: store,
        identity: ME,
        stores: { bucket, read: null },
        now: () => now,
        graceSeconds: 3600,
      });
      for (const u of uuids) {
        const r = await sync.push(u);
        assert.deepEqual(r.retention?.deletedCheckpoints, [], 'young checkpoints are never deleted');
      }
      assert.equal((await keys(bucket, 'checkpoints/')).length, 14);
      now += 31 * 86_400_000;
      const r = await sync.retention();
      assert.deepEqual(r.deletedCheckpoints, uuids.slice(0, 4));
      assert.equal((await keys(bucket, 'checkpoints/')).length, 10);
      // the files of the deleted checkpoints are old (by the moved clock) and unreferenced: deleted; shared ones kept
      const remaining = await keys(bucket, 'files/');
      for (const u of uuids.slice(4))
        for (const f of manifestFiles(await store.readManifest(u)))
          assert.ok(remaining.includes(`files/${f.hash}`));
      assert.ok(r.deletedFiles >= 1, 'the deltas only the deleted checkpoints referenced');
      // an unreferenced file younger than the grace period (a push in flight) is kept
      now = Date.now() + 30 * 60_000; // the store stamps objects with the real time
      await bucket.put('files/inflight', 'x');
      const r2 = await sync.retention();
      assert.ok((await keys(bucket, 'files/')).includes('files/inflight'));
      assert.equal(r2.deletedFiles, 0);
      now += 2 * 3600_000;
      await sync.retention();
      assert.ok(!(await keys(bucket, 'files/')).includes('files/inflight'));
      // min_count 1: everything old goes except the newest
      const one = new Synchronizer({
        settings: settings({ retention_min_count: 1, retention_min_age: 0 }),
        local: store,
        identity: ME,
        stores: { bucket, read: null },
        now: () => now,
      });
      await one.retention();
      assert.deepEqual(await keys(bucket, 'checkpoints/'), [`checkpoints/${uuids.at(-1)}.json`]);
    });

    test('takeover: the epoch is bumped with a CAS, the former owner is fenced, and its later manifests are never latest', async () => {
      const { store: aStore, uuids } = await localStore(3, 3);
      const bucket = await newBucket();
      const a = new Synchronizer({
        settings: settings(),
        local: aStore,
        identity: ME,
        stores: { bucket, read: null },
      });
      await a.push(uuids[0] as string);
      await a.push(uuids[1] as string);
      // B restores uuids[1] and takes over from it
      const bStore = new CheckpointStore(join(await tempDir(), 'checkpoint-store'));
      const b = new Synchronizer({
        settings: settings(),
        local: bStore,
        identity: { id: 'pipeline-b', name: 'standby' },
        stores: { bucket, read: null },
      });
      assert.equal((await b.pull('latest')).kind, 'pulled');
      const owner = await b.takeOver(uuids[1] as string);
      assert.equal(owner.epoch, 2);
      assert.deepEqual(
        owner.takeovers?.map((t) => [t.epoch, t.previous_pipeline_id, t.from_checkpoint]),
        [[2, 'pipeline-a', uuids[1]]],
      );
      // A's next push is refused as fenced, before anything is written
      const before = await keys(bucket);
      await assert.rejects(
        a.push(uuids[2] as string),
        (e: Error & { errorCode?: string; details?: Record<string, unknown> }) => {
          assert.equal(e.errorCode, 'CheckpointBucketOwned');
          assert.equal(e.details?.fenced, true);
          assert.match(
            e.message,
            /was fenced: pipeline 'standby' \(id: pipeline-b\) took over .* at epoch 2/,
          );
          // the phrases Feldera's clients look for in an ownership refusal
          for (const phrase of [
            'S3 checkpoint bucket is already owned by',
            'Current pipeline is',
            'Refusing to write',
          ])
            assert.ok(e.message.includes(phrase), `${phrase} in ${e.message}`);
          return true;
        },
      );
      assert.deepEqual(await keys(bucket), before);
      // a push of A's that raced the takeover and landed anyway (epoch 1, newer than B's starting point)
      const m = await aStore.readManifest(uuids[2] as string);
      for (const f of manifestFiles(m))
        await bucket.put(`files/${f.hash}`, await readFile(aStore.filePath(f.hash)));
      await bucket.put(
        `checkpoints/${uuids[2]}.json`,
        JSON.stringify({
          ...m,
          sync: {
            epoch: 1,
            pipeline_id: 'pipeline-a',
            pipeline_name: 'orders',
            pushed_at: new Date().toISOString(),
          },
        }),
      );
      const third = new Synchronizer({
        settings: settings(),
        local: new CheckpointStore(join(await tempDir(), 'cs')),
        identity: { id: 'c', name: 'c' },
        stores: { bucket, read: null },
      });
      const r = await third.pull('latest');
      assert.equal(r.kind === 'pulled' && r.uuid, uuids[1], 'the fenced manifest is not latest');
      assert.ok(!(await third.listRemote()).some((x) => x.uuid === uuids[2]));
      // B's own pushes are epoch 2 and become latest
      await b.push(uuids[1] as string);
      const fourth = new Synchronizer({
        settings: settings(),
        local: new CheckpointStore(join(await tempDir(), 'cs')),
        identity: { id: 'd', name: 'd' },
        stores: { bucket, read: null },
      });
      assert.equal((await fourth.pull('latest')).kind, 'pulled');
    });

    test('transfers and checkers bound the files moved and checked at once', async () => {
      const { store, uuids } = await localStore(12, 0, 200);
      for (const [transfers, checkers] of [
        [1, 1],
        [4, 3],
      ] as const) {
        const base = await newBucket();
        const puts = counting(base, 'put');
        const heads = counting(puts.store, 'head');
        const sync = new Synchronizer({
          settings: settings({ transfers, checkers }),
          local: store,
          identity: ME,
          stores: { bucket: heads.store, read: null },
        });
        await sync.push(uuids[0] as string);
        assert.equal(puts.max(), transfers, `transfers=${transfers}`);
        assert.equal(heads.max(), checkers, `checkers=${checkers}`);
      }
    });
  });
}

bucketSuite(
  'a local-directory bucket',
  async () => new DirStore({ root: join(await tempDir(), 'bucket'), create: true }),
);

/** Fresh prefixes of one bucket on an S3 server started for this file. */
async function s3Buckets(server: S3Server): Promise<() => Promise<ObjectStore>> {
  await server.createBucket('suite');
  let n = 0;
  return async () =>
    new S3Store({
      bucket: `suite/t${n++}`,
      endpoint: server.endpoint,
      provider: 'Other',
      accessKey: server.accessKey,
      secretKey: server.secretKey,
    });
}

const suiteS3 = await startS3rver();
after(() => suiteS3.stop());
bucketSuite('s3rver', await s3Buckets(suiteS3));
if (findMotoServer() !== null) {
  const moto = await startMoto();
  after(() => moto.stop());
  bucketSuite('moto_server', await s3Buckets(moto));
} else
  test('moto_server is absent: the store-independent suite ran on a directory and s3rver only', {
    skip: 'moto_server not on PATH',
  }, () => {});

describe('synchronizer on s3rver', async () => {
  const s3 = await startS3rver(undefined, { buckets: ['sync-bucket', 'seed-bucket'], recordRequests: true });
  after(() => s3.stop());
  const base = {
    endpoint: s3.endpoint,
    provider: 'Other',
    access_key: s3.accessKey,
    secret_key: s3.secretKey,
  };

  test('push, flags in the requests, ranged parallel download above multi_thread_cutoff, pull verified', async () => {
    const { store, uuids } = await localStore(4, 0, 60_000);
    const sync = new Synchronizer({
      settings: parseSyncConfig({
        ...base,
        bucket: 'sync-bucket/flags',
        flags: [
          '--s3-server-side-encryption',
          'AES256',
          '--s3-storage-class=STANDARD',
          '--s3-acl',
          'private',
        ],
        multi_thread_cutoff: '8k',
        multi_thread_streams: 4,
      }),
      local: store,
      identity: ME,
    });
    after(() => sync.close());
    await sync.push(uuids[0] as string);
    const reqs = (await s3.requests?.()) ?? [];
    const puts = reqs.filter((r) => r.method === 'PUT' && r.path.startsWith('/sync-bucket/flags/files/'));
    assert.ok(puts.length >= 4, `${puts.length} file PUTs`);
    for (const p of puts) {
      assert.equal(p.headers['x-amz-server-side-encryption'], 'AES256');
      assert.equal(p.headers['x-amz-storage-class'], 'STANDARD');
      assert.equal(p.headers['x-amz-acl'], 'private');
      assert.match(p.headers['x-amz-meta-sha256'] ?? '', /^[0-9a-f]{64}$/);
    }
    const local = new CheckpointStore(join(await tempDir(), 'checkpoint-store'));
    const puller = new Synchronizer({
      settings: parseSyncConfig({
        ...base,
        bucket: 'sync-bucket/flags',
        multi_thread_cutoff: '8k',
        multi_thread_streams: 4,
      }),
      local,
      identity: ME,
    });
    after(() => puller.close());
    const before = ((await s3.requests?.()) ?? []).length;
    const r = await puller.pull('latest');
    assert.equal(r.kind === 'pulled' && r.uuid, uuids[0]);
    const gets = ((await s3.requests?.()) ?? [])
      .slice(before)
      .filter((q) => q.method === 'GET' && q.path.includes('/files/'));
    const big = manifestFiles(await store.readManifest(uuids[0] as string)).filter((f) => f.size >= 8 * 1024);
    assert.ok(big.length > 0, 'some segment is above the cutoff');
    const ranged = gets.filter((g) => g.headers.range !== undefined);
    assert.ok(
      ranged.length >= big.length * 2,
      `${ranged.length} ranged GETs for ${big.length} large file(s)`,
    );
    assert.equal((await local.read(uuids[0] as string)).manifest.uuid, uuids[0]);
  });

  test('wrong credentials: the store code is in the error, for pull and push', async () => {
    const { store, uuids } = await localStore(1, 0, 10);
    const bad = new Synchronizer({
      settings: parseSyncConfig({ ...base, bucket: 'sync-bucket/auth', secret_key: 'WRONG' }),
      local: store,
      identity: ME,
    });
    after(() => bad.close());
    await assert.rejects(
      bad.pull('019a0000-0000-7000-8000-000000000000', { skipLocal: true }),
      (e: Error & { errorCode?: string }) => {
        assert.equal(e.errorCode, 'CheckpointFetchError');
        assert.match(e.message, /SignatureDoesNotMatch/);
        assert.doesNotMatch(e.message, /WRONG/);
        return true;
      },
    );
    await assert.rejects(bad.push(uuids[0] as string), /SignatureDoesNotMatch/);
  });

  test('an unreachable endpoint is an access error (never "not found"), with the network code', async () => {
    const { store } = await localStore(1, 0, 10);
    const closed = new Synchronizer({
      settings: parseSyncConfig({ ...base, endpoint: 'http://127.0.0.1:9', bucket: 'sync-bucket/x' }),
      local: store,
      identity: ME,
    });
    after(() => closed.close());
    await assert.rejects(
      closed.pull('latest', { skipLocal: true }),
      (e: Error & { errorCode?: string; details?: Record<string, unknown> }) => {
        assert.equal(e.errorCode, 'CheckpointFetchError');
        assert.equal(e.details?.cause_code, 'ObjectStoreUnavailable');
        assert.match(e.message, /ECONNREFUSED/);
        return true;
      },
    );
  });

  test('credentials from the environment when access_key/secret_key are omitted', async () => {
    const { store, uuids } = await localStore(1, 0, 10);
    const saved = { a: process.env.AWS_ACCESS_KEY_ID, s: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = s3.accessKey;
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretKey;
    try {
      const sync = new Synchronizer({
        settings: parseSyncConfig({ endpoint: s3.endpoint, provider: 'Other', bucket: 'seed-bucket/env' }),
        local: store,
        identity: ME,
      });
      after(() => sync.close());
      const r = await sync.push(uuids[0] as string);
      assert.ok(r.files >= 1);
    } finally {
      if (saved.a === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.a;
      if (saved.s === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.s;
    }
  });
});
