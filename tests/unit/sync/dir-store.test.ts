/**
 * Local directory store specifics beyond the conformance suite: plain files on disk, sha256 checked on write,
 * temporary files invisible, empty directories pruned, conditional create atomic across store instances.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { DirStore } from '../../../src/sync/dir-store.ts';

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'holdfast-dir-'));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('objects are plain files; etag and sha256 are the SHA-256 of the bytes', () =>
  withRoot(async (root) => {
    const s = new DirStore({ root });
    const { etag } = await s.put('files/abc', 'hello');
    assert.equal(await readFile(join(root, 'files/abc'), 'utf8'), 'hello');
    assert.equal(etag, createHash('sha256').update('hello').digest('hex'));
    // a second instance (no cache) computes the same
    assert.equal((await new DirStore({ root }).head('files/abc'))?.etag, etag);
  }));

test('a wrong sha256 is refused and nothing becomes visible', () =>
  withRoot(async (root) => {
    const s = new DirStore({ root });
    await assert.rejects(s.put('k', 'data', { sha256: '00'.repeat(32) }), (e) =>
      isServiceError(e, 'ObjectChecksumMismatch'),
    );
    assert.equal(await s.head('k'), null);
    assert.deepEqual(await readdir(root), []);
  }));

test('temporary files are not listed and not valid keys; deletes prune empty directories', () =>
  withRoot(async (root) => {
    const s = new DirStore({ root });
    await s.put('a/b/c', 'x');
    await writeFile(join(root, 'a/b/c.tmp-1-ff'), 'partial');
    const keys: string[] = [];
    for await (const o of s.list('')) keys.push(o.key);
    assert.deepEqual(keys, ['a/b/c']);
    await assert.rejects(s.put('a/x.tmp-2-aa', 'x'), (e) => isServiceError(e, 'InvalidObjectKey'));
    await rm(join(root, 'a/b/c.tmp-1-ff'));
    await s.delete('a/b/c');
    assert.deepEqual(await readdir(root), []);
  }));

test('conditional create is atomic across store instances (link)', () =>
  withRoot(async (root) => {
    const stores = Array.from({ length: 6 }, () => new DirStore({ root }));
    const results = await Promise.allSettled(
      stores.map((s, i) => s.put('owner.json', `o${i}`, { ifNoneMatch: '*' })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.deepEqual(
      (await readdir(root)).filter((n) => n !== 'owner.json'),
      [],
      'no temporary file left behind',
    );
  }));

test('a missing root is ObjectStoreBucketNotFound unless create is set', () =>
  withRoot(async (root) => {
    const missing = new DirStore({ root: join(root, 'nope') });
    await assert.rejects(missing.head('k'), (e) => isServiceError(e, 'ObjectStoreBucketNotFound'));
    const created = new DirStore({ root: join(root, 'made'), create: true });
    await created.put('k', 'v');
    assert.equal((await created.get('k')).bytes.toString(), 'v');
  }));
