/**
 * Fencing rests on conditional writes. The synchronizer probes the bucket once, before its first ownership
 * write: a store that ignores `If-None-Match: *` / `If-Match` is refused (`ConditionalWritesUnsupported`) unless
 * `allow_unsafe_ownership` is set, and the probe leaves nothing behind. Also: a takeover through a store that
 * honours them fences the former owner, and the probe runs once per synchronizer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import { DirStore } from '../../../src/sync/dir-store.ts';
import type { ObjectStore, PutOptions } from '../../../src/sync/object-store.ts';
import { OWNER_KEY, Synchronizer } from '../../../src/sync/synchronizer.ts';
import { parseSyncConfig } from '../../../src/types/sync-config.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'holdfast-probe-'));
  dirs.push(d);
  return d;
}

/** A directory store that drops the conditions of every put (like a store without conditional writes). */
function unconditional(store: ObjectStore): { store: ObjectStore; puts: () => number } {
  let puts = 0;
  const wrapped = Object.create(store) as ObjectStore;
  for (const m of ['get', 'getStream', 'head', 'list', 'listPage', 'delete', 'deleteMany', 'close'] as const)
    (wrapped as unknown as Record<string, unknown>)[m] = (store[m] as (...a: unknown[]) => unknown).bind(
      store,
    );
  (wrapped as unknown as Record<string, unknown>).put = (key: string, body: never, opts: PutOptions = {}) => {
    puts++;
    const { ifNoneMatch: _a, ifMatch: _b, ...rest } = opts;
    return store.put(key, body, rest);
  };
  Object.defineProperty(wrapped, 'description', { value: store.description });
  return { store: wrapped, puts: () => puts };
}

async function keys(store: ObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('')) out.push(o.key);
  return out.sort();
}

async function setup(extra: Record<string, unknown> = {}, conditional = true) {
  const local = new CheckpointStore(join(await tempDir(), 'local'));
  const dir = new DirStore({ root: join(await tempDir(), 'bucket'), create: true });
  const bucket = conditional ? dir : unconditional(dir).store;
  const make = (id: string) =>
    new Synchronizer({
      settings: parseSyncConfig({ bucket: 'b/p', ...extra }),
      local,
      identity: { id, name: id },
      stores: { bucket, read: null },
    });
  return { dir, bucket, make };
}

test('a store that ignores conditional writes is refused for ownership, and the probe leaves nothing', async () => {
  const { dir, make } = await setup({}, false);
  const a = make('pipeline-a');
  await assert.rejects(a.claim(), (e: Error & { errorCode?: string }) => {
    assert.equal(e.errorCode, 'ConditionalWritesUnsupported');
    assert.match(e.message, /does not support conditional writes \(a create with If-None-Match: \* replaced/);
    assert.match(e.message, /allow_unsafe_ownership: true/);
    return true;
  });
  await assert.rejects(a.takeOver(null), /does not support conditional writes/);
  assert.deepEqual(await keys(dir), []);
});

test('allow_unsafe_ownership: the same store is accepted with a warning; claim and takeover still work', async () => {
  const { dir, make } = await setup({ allow_unsafe_ownership: true }, false);
  const warnings: string[] = [];
  const a = new Synchronizer({
    settings: parseSyncConfig({ bucket: 'b/p', allow_unsafe_ownership: true }),
    local: new CheckpointStore(join(await tempDir(), 'local')),
    identity: { id: 'pipeline-a', name: 'a' },
    stores: { bucket: unconditional(dir).store, read: null },
    log: (level, message) => {
      if (level === 'warn') warnings.push(message);
    },
  });
  assert.equal(await a.conditionalWrites(), false);
  const owner = await a.claim();
  assert.equal(owner.record.epoch, 1);
  assert.ok(
    warnings.some((w) => /read-then-write check/.test(w)),
    warnings.join('\n'),
  );
  const b = make('pipeline-b');
  assert.equal((await b.takeOver(null)).epoch, 2);
  await assert.rejects(a.claim(), /was fenced: pipeline 'pipeline-b'/);
  assert.deepEqual(await keys(dir), [OWNER_KEY]);
});

test('a store with conditional writes passes the probe once; takeover fences the former owner', async () => {
  const d = await tempDir();
  const dir = new DirStore({ root: join(d, 'bucket'), create: true });
  let puts = 0;
  const bucket = Object.create(dir) as ObjectStore;
  for (const m of ['get', 'getStream', 'head', 'list', 'listPage', 'delete', 'deleteMany', 'close'] as const)
    (bucket as unknown as Record<string, unknown>)[m] = (dir[m] as (...a: unknown[]) => unknown).bind(dir);
  (bucket as unknown as Record<string, unknown>).put = (...args: Parameters<ObjectStore['put']>) => {
    puts++;
    return dir.put(...args);
  };
  Object.defineProperty(bucket, 'description', { value: dir.description });
  const local = new CheckpointStore(join(d, 'local'));
  const a = new Synchronizer({
    settings: parseSyncConfig({ bucket: 'b/p' }),
    local,
    identity: { id: 'pipeline-a', name: 'a' },
    stores: { bucket, read: null },
  });
  assert.equal(await a.conditionalWrites(), true);
  const afterProbe = puts;
  assert.equal(afterProbe, 3); // create, create again (refused), stale If-Match (refused)
  await a.claim();
  await a.claim();
  assert.equal(puts, afterProbe + 1); // only owner.json: the probe is not repeated
  const b = new Synchronizer({
    settings: parseSyncConfig({ bucket: 'b/p' }),
    local,
    identity: { id: 'pipeline-b', name: 'b' },
    stores: { bucket, read: null },
  });
  const took = await b.takeOver('01a00000-0000-7000-8000-000000000000');
  assert.equal(took.epoch, 2);
  assert.equal(took.takeovers?.[0]?.previous_pipeline_id, 'pipeline-a');
  await assert.rejects(a.claim(), (e: Error & { errorCode?: string; details?: Record<string, unknown> }) => {
    assert.equal(e.errorCode, 'CheckpointBucketOwned');
    assert.equal(e.details?.fenced, true);
    return true;
  });
  assert.deepEqual(await keys(dir), [OWNER_KEY]);
});
