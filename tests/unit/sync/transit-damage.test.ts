/**
 * Bytes damaged in transit never cost a checkpoint (s3rver behind the fault proxy, real HTTP):
 * - an upload whose body is damaged on the way (single PUT or multipart part) is refused by the store, which
 *   checks the Content-MD5 the S3 store sends, so it never lands and never replaces a good object; a push
 *   retries it and lands intact bytes;
 * - a pull reads a checkpoint that looks corrupt again: a body damaged in transit is read whole a second time
 *   and restored, while an object damaged in the bucket (wrong the same way twice) is skipped for an older one;
 * - a damaged LIST answer never hides the newest checkpoint from "latest".
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CheckpointStore, manifestFiles } from '../../../src/storage/checkpoint-store.ts';
import type { ListOptions, ListPage, ObjectStore } from '../../../src/sync/object-store.ts';
import { S3Store } from '../../../src/sync/s3-store.ts';
import { Synchronizer } from '../../../src/sync/synchronizer.ts';
import { parseSyncConfig } from '../../../src/types/sync-config.ts';
import type { Row } from '../../../src/zset/value.ts';
import { startFaultProxy } from '../../helpers/fault-proxy.ts';
import { startS3rver } from '../../helpers/s3rver.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function localStore(): Promise<CheckpointStore> {
  const d = await mkdtemp(join(tmpdir(), 'holdfast-transit-'));
  dirs.push(d);
  return new CheckpointStore(join(d, 'checkpoint-store'));
}

/** Two checkpoints: c1 over operators a and b, then c2, a full one where only b changed (one new file). */
async function twoCheckpoints(): Promise<{ store: CheckpointStore; c1: string; c2: string }> {
  const store = await localStore();
  const batch = (from: number, n: number) => {
    const rows: Row[] = Array.from({ length: n }, (_, i) => [from + i, `row-${from + i}`]);
    return { rows, weights: rows.map(() => 1) };
  };
  const a = { state: batch(0, 500) };
  const meta = (n: number) => ({ fingerprint: 'fp', processed_records: n });
  const c1 = (await store.write({ steps: 1, operators: { a, b: { state: batch(1000, 500) } } }, meta(1)))
    .entry.uuid;
  const c2 = (await store.write({ steps: 2, operators: { a, b: { state: batch(5000, 700) } } }, meta(2)))
    .entry.uuid;
  return { store, c1, c2 };
}

const flip = (b: Uint8Array, at: number): Buffer => {
  const out = Buffer.from(b);
  out[at] = (out[at] as number) ^ 0x10;
  return out;
};

describe('bytes damaged in transit', async () => {
  const s3 = await startS3rver(undefined, { buckets: ['transit'] });
  after(() => s3.stop());
  const proxy = await startFaultProxy(s3.endpoint, { after }, { seed: 20261206 });
  const creds = { provider: 'Other', region: s3.region, accessKey: s3.accessKey, secretKey: s3.secretKey };
  const viaProxy = (bucket: string) =>
    new S3Store({ ...creds, endpoint: proxy.endpoint, bucket, maxAttempts: 1 });
  const direct = (bucket: string) => new S3Store({ ...creds, endpoint: s3.endpoint, bucket });
  const syncSettings = (bucket: string, endpoint: string) =>
    parseSyncConfig({
      endpoint,
      provider: 'Other',
      region: s3.region,
      access_key: s3.accessKey,
      secret_key: s3.secretKey,
      bucket,
      flags: ['--low-level-retries', '5', '--retries-sleep', '10ms'],
    });
  const synchronizer = (local: CheckpointStore, bucket: string, endpoint = proxy.endpoint) => {
    const s = new Synchronizer({
      settings: syncSettings(bucket, endpoint),
      local,
      identity: { id: 'pipeline-t', name: 'transit' },
    });
    after(() => s.close());
    return s;
  };

  test('a single PUT damaged on the way is refused (BadDigest) and never replaces the object', async () => {
    const store = viaProxy('transit/single');
    after(() => store.close());
    await store.put('k', 'version one');
    proxy.inject({ kinds: ['put'], fault: { type: 'corrupt-request' }, times: 1 });
    await assert.rejects(
      store.put('k', 'version two'),
      (e: Error & { errorCode?: string; details?: unknown }) => {
        assert.equal(e.errorCode, 'ObjectStoreUnavailable', e.message);
        assert.equal((e.details as { store_code?: string }).store_code, 'BadDigest');
        return true;
      },
    );
    assert.equal(Buffer.from((await store.get('k')).bytes).toString(), 'version one');
    proxy.inject({ kinds: ['put'], fault: { type: 'corrupt-request' }, times: 1 });
    await assert.rejects(store.put('fresh', Buffer.alloc(4096, 7)), /BadDigest/);
    assert.equal(await store.head('fresh'), null, 'nothing landed');
  });

  test('a multipart part damaged on the way fails the upload; nothing lands', async () => {
    const store = viaProxy('transit/multi');
    after(() => store.close());
    const body = Buffer.alloc(11 * 1024 * 1024, 3);
    // the first multipart request is the (bodiless) create; the next ones are parts
    const rule = proxy.inject({ kinds: ['multipart'], fault: { type: 'corrupt-request' }, times: 3 });
    await assert.rejects(store.put('big', body, { partSize: 5 * 1024 * 1024 }), /BadDigest/);
    proxy.remove(rule);
    assert.equal(await store.head('big'), null);
  });

  test('a push through damaged uploads retries them and lands intact bytes', async () => {
    const { store, c1, c2 } = await twoCheckpoints();
    const before = proxy.counts().injected['corrupt-request'];
    const rule = proxy.inject({ kinds: ['put'], fault: { type: 'corrupt-request' }, probability: 0.4 });
    const sync = synchronizer(store, 'transit/push');
    try {
      await sync.push(c1);
      await sync.push(c2);
    } finally {
      proxy.remove(rule);
    }
    assert.ok(proxy.counts().injected['corrupt-request'] > before, 'some upload was damaged');
    // every byte in the bucket verifies: a pull straight from s3rver restores c2
    const r = await synchronizer(await localStore(), 'transit/push', s3.endpoint).pull('latest');
    assert.equal(r.kind === 'pulled' && r.uuid, c2);
    assert.deepEqual(r.kind === 'pulled' && r.skipped, []);
  });

  test('pull: a body damaged in transit is read again and restored; an object damaged in the bucket is skipped', async () => {
    const { store, c1, c2 } = await twoCheckpoints();
    await synchronizer(store, 'transit/pull', s3.endpoint).push(c1);
    await synchronizer(store, 'transit/pull', s3.endpoint).push(c2);
    // damage in transit, once: c2 is still the one restored
    const rule = proxy.inject({
      kinds: ['get', 'range'],
      key: 'files/',
      fault: { type: 'corrupt' },
      times: 1,
    });
    const r1 = await synchronizer(await localStore(), 'transit/pull').pull('latest');
    assert.equal(proxy.fired(rule), 1);
    proxy.remove(rule);
    assert.equal(r1.kind === 'pulled' && r1.uuid, c2);
    assert.deepEqual(r1.kind === 'pulled' && r1.skipped, []);
    // damage in the bucket: the file only c2 has, rewritten with a flipped byte
    const old = new Set(manifestFiles(await store.readManifest(c1)).map((f) => f.hash));
    const only = manifestFiles(await store.readManifest(c2)).find((f) => !old.has(f.hash));
    assert.ok(only !== undefined);
    const bucket = direct('transit/pull');
    after(() => bucket.close());
    const key = `files/${only.hash}`;
    await bucket.put(key, flip((await bucket.get(key)).bytes, 10));
    const r2 = await synchronizer(await localStore(), 'transit/pull').pull('latest');
    assert.equal(r2.kind === 'pulled' && r2.uuid, c1);
    assert.deepEqual(r2.kind === 'pulled' && r2.skipped.map((s) => s.uuid), [c2]);
  });

  test('a damaged LIST answer never hides the newest checkpoint', async () => {
    const { store, c1, c2 } = await twoCheckpoints();
    await synchronizer(store, 'transit/list', s3.endpoint).push(c1);
    await synchronizer(store, 'transit/list', s3.endpoint).push(c2);
    for (let i = 0; i < 4; i++) {
      const rule = proxy.inject({
        kinds: ['list'],
        key: 'checkpoints/',
        fault: { type: 'corrupt' },
        times: 1,
      });
      const r = await synchronizer(await localStore(), 'transit/list').pull('latest');
      proxy.remove(rule);
      assert.equal(r.kind === 'pulled' && r.uuid, c2, `damaged listing ${i}`);
    }
  });

  /** `store`, whose manifest listings drop the key `drop(n)` names on the n-th listing (a damaged answer). */
  const droppingListings = (store: ObjectStore, drop: (n: number) => string | null): ObjectStore => {
    let n = 0;
    const listPage = async (prefix: string, opts?: ListOptions): Promise<ListPage> => {
      const page = await store.listPage(prefix, opts);
      if (!prefix.startsWith('checkpoints/')) return page;
      const gone = drop(n++);
      return { ...page, objects: page.objects.filter((o) => o.key !== gone) };
    };
    const wrapped: ObjectStore = {
      description: store.description,
      put: store.put.bind(store),
      get: store.get.bind(store),
      getStream: store.getStream.bind(store),
      head: store.head.bind(store),
      delete: store.delete.bind(store),
      deleteMany: store.deleteMany.bind(store),
      close: async () => {},
      listPage,
      list: (p: string) => listAllOf(listPage, p),
    };
    return wrapped;
  };
  async function* listAllOf(listPage: (p: string, o?: ListOptions) => Promise<ListPage>, prefix: string) {
    let token: string | undefined;
    do {
      const page = await listPage(prefix, token === undefined ? {} : { continuationToken: token });
      yield* page.objects;
      token = page.nextToken;
    } while (token !== undefined);
  }

  test('a LIST answer that silently leaves out the newest manifest is taken again; answers that never agree fail the pull', async () => {
    const { store, c1, c2 } = await twoCheckpoints();
    await synchronizer(store, 'transit/agree', s3.endpoint).push(c1);
    await synchronizer(store, 'transit/agree', s3.endpoint).push(c2);
    const bucket = direct('transit/agree');
    after(() => bucket.close());
    const pull = (b: ObjectStore) =>
      new Synchronizer({
        settings: syncSettings('transit/agree', s3.endpoint),
        local: store,
        identity: { id: 'pipeline-t', name: 'transit' },
        stores: { bucket: b, read: null },
      }).pull('latest', { skipLocal: true });
    // the first answer lacks c2's manifest, well-formed: a single listing would restore c1
    const once = await pull(droppingListings(bucket, (n) => (n === 0 ? `checkpoints/${c2}.json` : null)));
    assert.equal(once.kind === 'pulled' && once.uuid, c2);
    // every answer lacks a different manifest: no two agree, the pull fails instead of guessing
    const never = droppingListings(bucket, (n) => `checkpoints/${n % 2 === 0 ? c2 : c1}.json`);
    await assert.rejects(pull(never), (e: Error & { errorCode?: string }) => {
      assert.equal(e.errorCode, 'CheckpointFetchError');
      assert.match(e.message, /never agreed/);
      return true;
    });
  });
});
