/**
 * The object-store conformance suite: one set of tests that every {@link ObjectStore} implementation must
 * pass (the local directory store, S3 against s3rver, S3 with the GCS provider's settings against s3rver, S3
 * against moto when present, Azure Blob against Azurite). A target supplies fresh
 * stores under a prefix of its bucket; each test uses its own prefix, so tests never see each other's keys.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { isServiceError } from '../../src/errors/service-error.ts';
import type { ObjectStore } from '../../src/sync/object-store.ts';
import type { ErrorCode } from '../../src/types/error-codes.ts';

export interface ConformanceTarget {
  readonly name: string;
  /** Starts servers etc.; called once before the tests. */
  setup(): Promise<void>;
  /** Stops them; called once after the tests. */
  teardown(): Promise<void>;
  /** A store on `prefix` (relative to the target's bucket or root; `''` = the bucket itself). */
  open(prefix: string): ObjectStore;
  /** A store whose bucket (or root directory) does not exist. */
  missingBucket(): ObjectStore;
  /** Stores with bad credentials and the store code each must report; a string = skip, with that reason. */
  wrongCredentials(): { store: ObjectStore; storeCode: string }[] | string;
  /** A store whose endpoint refuses connections; a string = skip, with that reason. */
  unreachable(): ObjectStore | string;
  /** Part size for the multipart test (S3: at least 5 MiB). */
  readonly partSize: number;
  /** Whether `put` reports `parts` for multipart uploads. */
  readonly reportsParts: boolean;
  /**
   * The store's own codes for a failed `If-None-Match: *`, a stale `If-Match` and a missing bucket, which the
   * messages must name (default: S3's `PreconditionFailed`, `PreconditionFailed`, `NoSuchBucket`).
   */
  readonly storeCodes?: { readonly exists: string; readonly stale: string; readonly noBucket: string };
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, includes?: string): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(isServiceError(e), `expected a ServiceError ${code}, got ${String(e)}`);
    assert.equal(e.errorCode, code, e.message);
    if (includes !== undefined) assert.ok(e.message.includes(includes), `"${includes}" not in: ${e.message}`);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

async function keysOf(it: AsyncIterable<{ key: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const o of it) out.push(o.key);
  return out;
}

export function objectStoreConformance(target: ConformanceTarget): void {
  const codes = target.storeCodes ?? {
    exists: 'PreconditionFailed',
    stale: 'PreconditionFailed',
    noBucket: 'NoSuchBucket',
  };
  describe(`object store conformance: ${target.name}`, () => {
    let n = 0;
    const stores: ObjectStore[] = [];
    const fresh = (name: string): ObjectStore => {
      const s = target.open(`t${++n}-${name}`);
      stores.push(s);
      return s;
    };
    const track = (s: ObjectStore) => {
      stores.push(s);
      return s;
    };

    before(() => target.setup());
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await target.teardown();
    });

    test('put / get / head round-trip bytes, strings and streams with sha256 metadata', async () => {
      const s = fresh('rt');
      const bytes = randomBytes(1000);
      const put = await s.put('files/one', bytes, { sha256: sha256(bytes) });
      assert.ok(put.etag.length > 0);
      const got = await s.get('files/one');
      assert.deepEqual(Buffer.from(got.bytes), bytes);
      assert.equal(got.info.size, 1000);
      assert.equal(got.info.etag, put.etag);
      assert.equal(got.info.sha256, sha256(bytes));
      const head = await s.head('files/one');
      assert.equal(head?.size, 1000);
      assert.equal(head?.etag, put.etag);
      assert.equal(head?.sha256, sha256(bytes));

      await s.put('text.json', '{"a":1}\n', { contentType: 'application/json' });
      assert.equal(Buffer.from((await s.get('text.json')).bytes).toString(), '{"a":1}\n');

      const chunks = [randomBytes(300), randomBytes(5), randomBytes(70_000)];
      await s.put('streamed', Readable.from(chunks));
      const streamed = await s.getStream('streamed');
      const back: Buffer[] = [];
      for await (const c of streamed.stream) back.push(c as Buffer);
      assert.deepEqual(Buffer.concat(back), Buffer.concat(chunks));
      assert.equal(streamed.info.size, 70_305);

      await s.put('empty', new Uint8Array(0));
      assert.equal((await s.get('empty')).bytes.length, 0);
      assert.equal((await s.head('empty'))?.size, 0);

      // overwrite
      await s.put('text.json', 'v2');
      assert.equal(Buffer.from((await s.get('text.json')).bytes).toString(), 'v2');
    });

    test('a missing key is not-found, distinguishable from other failures', async () => {
      const s = fresh('missing');
      assert.equal(await s.head('nope/nothing'), null);
      const e = await rejectsWith(s.get('nope/nothing'), 'ObjectNotFound');
      assert.ok(isServiceError(e) && typeof e.details.store_code === 'string');
      await rejectsWith(s.getStream('nope'), 'ObjectNotFound');
      await s.delete('nope/nothing'); // deleting a missing key succeeds
    });

    test('list with pagination, in key order, filtered by prefix', async () => {
      const s = fresh('list');
      const keys = Array.from({ length: 23 }, (_, i) => `list/k${String(i).padStart(2, '0')}`);
      await Promise.all(keys.map((k) => s.put(k, k)));
      await Promise.all(['other/a', 'other/b', 'lis'].map((k) => s.put(k, k)));

      const pages: string[][] = [];
      let token: string | undefined;
      do {
        const page = await s.listPage('list/', {
          pageSize: 10,
          ...(token === undefined ? {} : { continuationToken: token }),
        });
        pages.push(page.objects.map((o) => o.key));
        token = page.nextToken;
      } while (token !== undefined);
      assert.deepEqual(
        pages.map((p) => p.length),
        [10, 10, 3],
      );
      assert.deepEqual(pages.flat(), keys);

      const first = (await s.listPage('list/', { pageSize: 10 })).objects[0];
      assert.equal(first?.size, 'list/k00'.length);

      assert.deepEqual(await keysOf(s.list('list/', { pageSize: 7 })), keys);
      assert.deepEqual(await keysOf(s.list('list/k1', { pageSize: 4 })), keys.slice(10, 20));
      assert.deepEqual(await keysOf(s.list('other/')), ['other/a', 'other/b']);
      assert.deepEqual(await keysOf(s.list('lis', { pageSize: 5 })), ['lis', ...keys]);
      assert.equal((await keysOf(s.list(''))).length, 26);
      assert.deepEqual(await keysOf(s.list('none/')), []);
    });

    test('delete one and many', async () => {
      const s = fresh('del');
      const keys = Array.from({ length: 12 }, (_, i) => `d/${i}`);
      await Promise.all([...keys, 'keep/x'].map((k) => s.put(k, 'x')));
      await s.delete('d/0');
      assert.equal(await s.head('d/0'), null);
      await s.deleteMany([...keys.slice(1), 'd/not-there']);
      assert.deepEqual(await keysOf(s.list('')), ['keep/x']);
      await s.deleteMany([]);
    });

    test('multipart upload of a large object (several parts, parts in flight)', async () => {
      const s = fresh('mp');
      const size = 2 * target.partSize + 12_345;
      const big = randomBytes(size);
      let progress = 0;
      const put = await s.put('big/object', big, {
        partSize: target.partSize,
        queueSize: 2,
        sha256: sha256(big),
        onProgress: (b) => {
          progress = b;
        },
      });
      if (target.reportsParts) assert.equal(put.parts, 3);
      assert.equal(progress, size);
      const got = await s.get('big/object');
      assert.equal(got.info.size, size);
      assert.equal(sha256(got.bytes), sha256(big));
      assert.equal((await s.head('big/object'))?.sha256, sha256(big));

      // a stream of unknown length, larger than one part
      const chunks = Array.from({ length: 12 }, (_, i) => big.subarray(i * 1_000_000, (i + 1) * 1_000_000));
      const streamed = await s.put('big/streamed', Readable.from(chunks), { partSize: target.partSize });
      if (target.reportsParts) assert.equal(streamed.parts, Math.ceil(12_000_000 / target.partSize));
      assert.equal(sha256((await s.get('big/streamed')).bytes), sha256(Buffer.concat(chunks)));
    });

    test('ranged reads', async () => {
      const s = fresh('range');
      const data = randomBytes(10_000);
      await s.put('r', data);
      const mid = await s.get('r', { range: { offset: 100, length: 50 } });
      assert.deepEqual(Buffer.from(mid.bytes), data.subarray(100, 150));
      assert.equal(mid.info.size, 10_000);
      const tail = await s.get('r', { range: { offset: 9_990 } });
      assert.deepEqual(Buffer.from(tail.bytes), data.subarray(9_990));
      const clipped = await s.get('r', { range: { offset: 9_000, length: 5_000 } });
      assert.deepEqual(Buffer.from(clipped.bytes), data.subarray(9_000));
      const streamed = await s.getStream('r', { range: { offset: 1, length: 3 } });
      const back: Buffer[] = [];
      for await (const c of streamed.stream) back.push(c as Buffer);
      assert.deepEqual(Buffer.concat(back), data.subarray(1, 4));
      await rejectsWith(s.get('nothing', { range: { offset: 0, length: 1 } }), 'ObjectNotFound');
    });

    test('conditional create (If-None-Match: *): of racing creates exactly one wins', async () => {
      const s = fresh('create');
      const first = await s.put('owner.json', 'first', { ifNoneMatch: '*' });
      assert.ok(first.etag.length > 0);
      await rejectsWith(
        s.put('owner.json', 'second', { ifNoneMatch: '*' }),
        'ObjectAlreadyExists',
        codes.exists,
      );
      assert.equal(Buffer.from((await s.get('owner.json')).bytes).toString(), 'first');

      const racers = Array.from({ length: 8 }, (_, i) => `racer-${i}`);
      const results = await Promise.allSettled(
        racers.map((r) => s.put('race.json', r, { ifNoneMatch: '*' })),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [racers[i]] : []));
      assert.equal(winners.length, 1, `winners: ${winners.join(', ')}`);
      for (const r of results)
        if (r.status === 'rejected')
          assert.ok(isServiceError(r.reason, 'ObjectAlreadyExists'), String(r.reason?.message ?? r.reason));
      assert.equal(Buffer.from((await s.get('race.json')).bytes).toString(), winners[0]);
    });

    test('compare-and-swap (If-Match): a stale etag is refused', async () => {
      const s = fresh('cas');
      const v1 = await s.put('owner.json', 'v1');
      const v2 = await s.put('owner.json', 'v2', { ifMatch: v1.etag });
      assert.notEqual(v2.etag, v1.etag);
      await rejectsWith(s.put('owner.json', 'v3', { ifMatch: v1.etag }), 'ObjectEtagMismatch', codes.stale);
      assert.equal(Buffer.from((await s.get('owner.json')).bytes).toString(), 'v2');
      const head = await s.head('owner.json');
      assert.equal(head?.etag, v2.etag);
      await rejectsWith(s.put('absent.json', 'x', { ifMatch: v1.etag }), 'ObjectNotFound');

      // racing swaps from the same version: exactly one wins
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => s.put('owner.json', `swap-${i}`, { ifMatch: v2.etag })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results)
        if (r.status === 'rejected')
          assert.ok(isServiceError(r.reason, 'ObjectEtagMismatch'), String(r.reason));
    });

    test('prefix isolation', async () => {
      const base = `t${++n}-iso`;
      const a = track(target.open(`${base}/a`));
      const ab = track(target.open(`${base}/a-b`));
      const parent = track(target.open(base));
      await a.put('x', 'in a');
      await ab.put('x', 'in a-b');
      await parent.put('top', 'in parent');
      assert.deepEqual(await keysOf(a.list('')), ['x']);
      assert.deepEqual(await keysOf(ab.list('')), ['x']);
      assert.equal(Buffer.from((await a.get('x')).bytes).toString(), 'in a');
      assert.equal(await a.head('top'), null);
      // sorted: s3rver lists "a/x" before "a-b/x" (real S3 orders by UTF-8 bytes)
      assert.deepEqual((await keysOf(parent.list(''))).sort(), ['a-b/x', 'a/x', 'top']);
      assert.deepEqual(await keysOf(parent.list('a/')), ['a/x']);
      assert.equal(Buffer.from((await parent.get('a-b/x')).bytes).toString(), 'in a-b');
      await a.deleteMany(['x']);
      assert.deepEqual(await keysOf(parent.list('')), ['a-b/x', 'top']);
    });

    test('invalid keys are refused before any request', async () => {
      const s = fresh('keys');
      for (const k of ['', '/abs', 'a//b', '../up', 'a/./b', 'a/..'])
        await rejectsWith(s.put(k, 'x'), 'InvalidObjectKey');
      await rejectsWith(s.get('../x'), 'InvalidObjectKey');
    });

    test(`missing bucket → ObjectStoreBucketNotFound (${codes.noBucket}), not ObjectNotFound`, async () => {
      const s = track(target.missingBucket());
      await rejectsWith(s.listPage(''), 'ObjectStoreBucketNotFound', codes.noBucket);
      await rejectsWith(s.get('k'), 'ObjectStoreBucketNotFound', codes.noBucket);
      await rejectsWith(s.put('k', 'x'), 'ObjectStoreBucketNotFound', codes.noBucket);
    });

    test('wrong credentials → ObjectStoreAuthFailed with the store code in the message', async (t) => {
      const cases = target.wrongCredentials();
      if (typeof cases === 'string') {
        t.diagnostic(`skipped: ${cases}`);
        t.skip(cases);
        return;
      }
      for (const { store, storeCode } of cases) {
        track(store);
        const e = await rejectsWith(store.listPage(''), 'ObjectStoreAuthFailed', storeCode);
        assert.ok(isServiceError(e) && e.details.store_code === storeCode);
        await rejectsWith(store.put('k', 'x'), 'ObjectStoreAuthFailed', storeCode);
        await rejectsWith(store.get('k'), 'ObjectStoreAuthFailed', storeCode);
      }
    });

    test('unreachable endpoint → ObjectStoreUnavailable with the network code', async (t) => {
      const s = target.unreachable();
      if (typeof s === 'string') {
        t.diagnostic(`skipped: ${s}`);
        t.skip(s);
        return;
      }
      track(s);
      await rejectsWith(s.listPage(''), 'ObjectStoreUnavailable', 'ECONNREFUSED');
    });
  });
}
