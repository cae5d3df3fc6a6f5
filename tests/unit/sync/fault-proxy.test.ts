/**
 * The fault-injecting S3 proxy (tests/helpers/fault-proxy.ts) in front of s3rver, driven by the S3 store with
 * the sync layer's retry wrapper: each fault is injected for the kinds and keys its rule names, for the next N
 * requests or with a seeded probability, is counted, and lands in the store as the error class the sync layer
 * relies on (5xx, resets, bodies cut short and hangs are transient; flipped bytes arrive whole).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Retrier, RetryingStore } from '../../../src/sync/retry.ts';
import { S3Store } from '../../../src/sync/s3-store.ts';
import { downloadFile, RateLimiter } from '../../../src/sync/transfer.ts';
import { startFaultProxy } from '../../helpers/fault-proxy.ts';
import { startS3rver } from '../../helpers/s3rver.ts';

const code = (e: unknown) => (e as { errorCode?: string }).errorCode;

describe('fault proxy', async () => {
  const s3 = await startS3rver(undefined, { buckets: ['b'] });
  const proxy = await startFaultProxy(s3.endpoint, undefined, { seed: 42 });
  const store = new S3Store({
    bucket: 'b/pfx',
    endpoint: proxy.endpoint,
    provider: 'Other',
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    maxAttempts: 1,
  });
  const body = Buffer.alloc(200_000, 7);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-fault-proxy-'));
  test.after(async () => {
    await store.close();
    await proxy.stop();
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('passes requests through; 503 and 500 for the next N matching requests, by kind and key prefix', async () => {
    await store.put('files/a', body);
    await store.put('checkpoints/m.json', '{"x":1}');
    const rule = proxy.inject({
      kinds: ['get'],
      key: 'files/',
      fault: { type: 'status', status: 503 },
      times: 2,
    });
    // another key prefix and another kind are not affected
    assert.equal(Buffer.from((await store.get('checkpoints/m.json')).bytes).toString(), '{"x":1}');
    assert.equal((await store.head('files/a'))?.size, body.length);
    for (let i = 0; i < 2; i++)
      await assert.rejects(store.get('files/a'), (e) => code(e) === 'ObjectStoreUnavailable');
    assert.equal((await store.get('files/a')).bytes.length, body.length, 'the rule ran out');
    assert.equal(proxy.fired(rule), 2);
    proxy.clear();
    proxy.inject({ kinds: ['list'], key: 'checkpoints/', fault: { type: 'status', status: 500 }, times: 1 });
    await assert.rejects(store.listPage('checkpoints/'), (e) => code(e) === 'ObjectStoreUnavailable');
    assert.equal((await store.listPage('checkpoints/')).objects.length, 1);
    proxy.inject({ kinds: ['put'], fault: { type: 'status', status: 503 }, times: 1 });
    await assert.rejects(store.put('files/b', 'x'), (e) => code(e) === 'ObjectStoreUnavailable');
    await store.put('files/b', 'x');
    const c = proxy.counts();
    assert.equal(c.injected.status, 4);
    assert.equal(c.byKind.get, 2);
    assert.equal(c.byKind.list, 1);
    assert.equal(c.byKind.put, 1);
    proxy.clear();
  });

  test('reset, truncated and hanging bodies are transient; the retry wrapper gets through when the fault stops', async () => {
    proxy.inject({ kinds: ['get'], fault: { type: 'reset' }, times: 1 });
    await assert.rejects(store.get('files/a'), (e) => code(e) === 'ObjectStoreUnavailable');
    proxy.inject({ kinds: ['get'], fault: { type: 'truncate' }, times: 1 });
    await assert.rejects(store.get('files/a'), (e) => code(e) === 'ObjectStoreUnavailable');
    assert.equal(proxy.counts().injected.truncate, 1);
    const retrier = new Retrier({ attempts: 4, initialMs: 10, maxMs: 50, idleTimeoutMs: 300 });
    const retrying = new RetryingStore(store, retrier);
    proxy.inject({ kinds: ['get'], fault: { type: 'truncate', keep: 1000 }, times: 2 });
    assert.deepEqual(Buffer.from((await retrying.get('files/a')).bytes), body);
    assert.equal(retrier.stats.retries, 2);
    // a hang is bounded by the idle timeout, then retried
    proxy.inject({ kinds: ['get'], fault: { type: 'hang' }, times: 1 });
    const t0 = performance.now();
    assert.deepEqual(Buffer.from((await retrying.get('files/a')).bytes), body);
    assert.ok(performance.now() - t0 >= 250, 'waited for the idle timeout');
    assert.equal(retrier.stats.retries, 3);
    // retries run out: the last error, saying so
    proxy.inject({ kinds: ['get'], fault: { type: 'reset' }, times: 4 });
    await assert.rejects(retrying.get('files/a'), (e) => {
      assert.equal(code(e), 'ObjectStoreUnavailable');
      assert.match((e as Error).message, /gave up after 4 attempts/);
      return true;
    });
    assert.equal(retrier.stats.exhausted, 1);
    proxy.clear();
  });

  test('a LIST or HEAD whose response stalls after its headers is bounded by the hang bound, then retried', {
    timeout: 20_000,
  }, async () => {
    const retrier = new Retrier({ attempts: 3, initialMs: 10, maxMs: 50, idleTimeoutMs: 300 });
    const retrying = new RetryingStore(store, retrier);
    proxy.inject({ kinds: ['list'], fault: { type: 'hang' }, times: 1 });
    const t0 = performance.now();
    assert.ok((await retrying.listPage('files/')).objects.length >= 1);
    assert.ok(performance.now() - t0 >= 250, 'waited for the bound');
    assert.equal(retrier.stats.retries, 1);
    assert.match(retrier.stats.last?.error ?? '', /no complete answer within 0.3 s/);
    // a PUT whose error answer stalls (the second conditional create of the probe is refused with a body)
    await retrying.put('files/cond', 'x', { ifNoneMatch: '*' });
    proxy.inject({ kinds: ['put'], fault: { type: 'hang' }, times: 1 });
    await assert.rejects(retrying.put('files/cond', 'y', { ifNoneMatch: '*' }), (e) => {
      assert.equal(code(e), 'ObjectAlreadyExists', 'the retry after the hang gets the real answer');
      return true;
    });
    assert.equal(retrier.stats.retries, 2);
    // every attempt hangs: the listing fails as transient instead of waiting forever
    proxy.inject({ kinds: ['list'], fault: { type: 'hang' }, times: 3 });
    await assert.rejects(retrying.listPage('files/'), (e) => {
      assert.equal(code(e), 'ObjectStoreUnavailable');
      assert.match((e as Error).message, /gave up after 3 attempts/);
      return true;
    });
    proxy.clear();
  });

  test('downloadFile: a cut-off body is retried, flipped bytes arrive whole and are corruption', async () => {
    const expected = { size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
    const retrier = new Retrier({ attempts: 3, initialMs: 10, maxMs: 50, idleTimeoutMs: 1000 });
    const opts = {
      limiter: new RateLimiter(null),
      multiThreadCutoff: 1 << 30,
      streams: 1,
      ignoreChecksum: false,
    };
    const dest = join(dir, 'a');
    proxy.inject({ kinds: ['get'], key: 'files/', fault: { type: 'truncate' }, times: 1 });
    await downloadFile(store, 'files/a', dest, expected, { ...opts, retrier });
    assert.deepEqual(await readFile(dest), body);
    proxy.inject({ kinds: ['range'], fault: { type: 'truncate' }, times: 1 });
    await downloadFile(store, 'files/a', dest, expected, {
      ...opts,
      multiThreadCutoff: 1,
      streams: 2,
      retrier,
    });
    assert.deepEqual(await readFile(dest), body);
    assert.equal(proxy.counts().byKind.range, 1);
    proxy.inject({ kinds: ['get'], fault: { type: 'corrupt' }, times: 1 });
    await assert.rejects(
      downloadFile(store, 'files/a', dest, expected, { ...opts, retrier }),
      (e) => code(e) === 'ObjectChecksumMismatch',
    );
    assert.equal(proxy.counts().injected.corrupt, 1);
    proxy.clear();
  });

  test('probability rules fire from the seeded PRNG; delays pass the response through', async () => {
    const rule = proxy.inject({ kinds: ['head'], fault: { type: 'status', status: 503 }, probability: 0.5 });
    let failures = 0;
    for (let i = 0; i < 40; i++) await store.head('files/a').catch(() => failures++);
    assert.equal(proxy.fired(rule), failures);
    assert.ok(failures > 5 && failures < 35, `seed ${proxy.seed}: ${failures} of 40`);
    proxy.clear();
    proxy.inject({ kinds: ['get'], fault: { type: 'delay', ms: 200 }, times: 1 });
    const t0 = performance.now();
    assert.equal((await store.get('files/a')).bytes.length, body.length);
    assert.ok(performance.now() - t0 >= 180);
    proxy.clear();
  });
});
