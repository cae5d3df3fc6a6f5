/**
 * Push scheduling: manual requests share a push of the same checkpoint, pushes run one at a time, the
 * checkpoints queued or in flight are pinned against local GC, periodic pushes run every push_interval after
 * the previous one finished and back off after failures (visible in status, /stats and metrics), and a
 * refusal by another owner stops periodic pushes.
 */

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { StoreCheckpointWriter } from '../../../src/controller/store-writer.ts';
import { ServiceError } from '../../../src/errors/service-error.ts';
import { type CheckpointStore, manifestFiles } from '../../../src/storage/checkpoint-store.ts';
import { DirStore } from '../../../src/sync/dir-store.ts';
import type { ObjectStore } from '../../../src/sync/object-store.ts';
import { DEFAULT_RETRY, Retrier } from '../../../src/sync/retry.ts';
import { SyncService } from '../../../src/sync/sync-service.ts';
import { type PushResult, Synchronizer } from '../../../src/sync/synchronizer.ts';
import { parseSyncConfig } from '../../../src/types/sync-config.ts';

type PushFn = (uuid: string) => Promise<PushResult>;

function fakeSync(push: PushFn, pushInterval: number | null = null): Synchronizer {
  return {
    settings: parseSyncConfig({ bucket: 'b', ...(pushInterval ? { push_interval: pushInterval } : {}) }),
    bucket: { description: 'dir:/fake' },
    readBucket: null,
    retrier: new Retrier(DEFAULT_RETRY),
    push: (uuid: string) => push(uuid),
  } as unknown as Synchronizer;
}

const ok = (uuid: string): PushResult => ({
  uuid,
  bytes: 10,
  files: 1,
  filesSkipped: 0,
  durationSeconds: 0.01,
  alreadyRemote: false,
  epoch: 1,
  retention: null,
});

const U1 = '019a0000-0000-7000-8000-000000000001';
const U2 = '019a0000-0000-7000-8000-000000000002';

describe('sync service', () => {
  test('manual requests: one push at a time, requests for the same checkpoint share it, queued ones are pinned', async () => {
    let latest: string | null = null;
    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const svc = new SyncService({
      synchronizer: fakeSync(async (uuid) => {
        started.push(uuid);
        await new Promise<void>((r) => gates.set(uuid, r));
        return ok(uuid);
      }),
      latestLocal: () => latest,
      log: () => {},
      pushInterval: null,
    });
    assert.throws(
      () => svc.request(),
      (e: ServiceError) => e.errorCode === 'NoCheckpointToSync',
    );
    latest = U1;
    const a = svc.request();
    const b = svc.request();
    latest = U2;
    const c = svc.request();
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(started, [U1], 'one push at a time');
    assert.deepEqual([...svc.pinned()].sort(), [U1, U2]);
    assert.equal(svc.stats().push_in_progress?.uuid, U1);
    gates.get(U1)?.();
    assert.equal((await a.done)?.uuid, U1);
    assert.equal((await b.done)?.uuid, U1);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(started, [U1, U2]);
    gates.get(U2)?.();
    await c.done;
    assert.deepEqual(svc.status, { success: U2, failure: null, periodic: null });
    assert.equal(svc.pinned().size, 0);
  });

  test('periodic pushes: every push_interval after the previous one; failures are visible and retried with backoff', async () => {
    let fail = true;
    const attempts: number[] = [];
    const logs: string[] = [];
    const svc = new SyncService({
      synchronizer: fakeSync(async (uuid) => {
        attempts.push(Date.now());
        if (fail)
          throw new ServiceError('ObjectStoreUnavailable', 'PUT files/x: ECONNREFUSED', {
            store_code: 'ECONNREFUSED',
          });
        return ok(uuid);
      }, 1),
      latestLocal: () => U1,
      log: (level, m) => logs.push(`${level}: ${m}`),
      pushInterval: 1,
    });
    svc.start();
    try {
      while (attempts.length < 3) await new Promise((r) => setTimeout(r, 20));
      const gaps = [
        (attempts[1] as number) - (attempts[0] as number),
        (attempts[2] as number) - (attempts[1] as number),
      ];
      assert.ok((gaps[1] as number) > (gaps[0] as number) * 1.5, `backoff grows: ${gaps}`);
      assert.equal(svc.status.failure?.uuid, U1);
      assert.match(
        svc.status.failure?.error ?? '',
        /^Error pushing checkpoint to object store: .*ECONNREFUSED/,
      );
      assert.equal(svc.status.periodic, null);
      const stats = svc.stats();
      assert.ok(stats.push_failures >= 3);
      assert.ok(stats.push_failures_in_row >= 3);
      // the scheduled retry's backoff: 2^(failures in a row - 1) s
      assert.equal(stats.push_retry_backoff_seconds, 2 ** (stats.push_failures_in_row - 1));
      assert.match(stats.last_push_error?.error ?? '', /ECONNREFUSED/);
      assert.ok(logs.some((l) => /^error: periodic push of checkpoint .* failed/.test(l)));
      assert.ok(logs.some((l) => /retrying the periodic push in \d+ s/.test(l)));
      const failures = svc.metrics().find((m) => m.name === 'holdfast_checkpoint_sync_push_failures_total');
      assert.ok((failures?.value ?? 0) >= 3);
      fail = false;
      while (svc.status.periodic === null) await new Promise((r) => setTimeout(r, 20));
      assert.equal(svc.status.success, U1);
      assert.equal(svc.stats().push_failures_in_row, 0);
      assert.equal(svc.stats().push_retry_backoff_seconds, null);
      // nothing new: no push of the same checkpoint again
      const n = attempts.length;
      await new Promise((r) => setTimeout(r, 1300));
      assert.equal(attempts.length, n);
      assert.ok((svc.stats().newest_remote_age_seconds ?? -1) >= 0);
      assert.ok(svc.metrics().some((m) => m.name === 'holdfast_checkpoint_sync_rpo_seconds'));
    } finally {
      svc.stop();
    }
  });

  test('a bucket owned by another pipeline stops periodic pushes', async () => {
    let n = 0;
    const svc = new SyncService({
      synchronizer: fakeSync(async () => {
        n++;
        throw new ServiceError('CheckpointBucketOwned', 'owned by pipeline x', {});
      }, 1),
      latestLocal: () => U1,
      log: () => {},
      pushInterval: 1,
    });
    svc.start();
    try {
      while (n < 1) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(n, 1);
      assert.equal(svc.stats().next_push_in_seconds, null);
    } finally {
      svc.stop();
    }
  });

  test('local GC keeps a checkpoint whose push is in flight, even after newer checkpoints', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-pin-'));
    try {
      const { writer } = await StoreCheckpointWriter.open(join(dir, 'store'), [], () => {});
      const store: CheckpointStore = writer.store;
      const meta = { steps: 1, processed_records: 1, transaction_id: 0, inputs: {}, fingerprint: 'fp' };
      const snap = (i: number) => ({
        steps: i,
        operators: { op: { s: { rows: [[i, 'x'.repeat(100)]], weights: [1] } } },
      });
      await writer.write(snap(1) as never, meta, false);
      const first = writer.list().at(-1)?.uuid as string;
      // a bucket whose PUTs wait for the test
      const base = new DirStore({ root: join(dir, 'bucket'), create: true });
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const slow = Object.create(base) as ObjectStore;
      slow.put = async (key, body, opts) => {
        if (key.startsWith('files/')) await gate;
        return base.put(key, body, opts);
      };
      for (const m of ['get', 'head', 'list', 'listPage', 'getStream', 'delete', 'deleteMany'] as const)
        (slow as unknown as Record<string, unknown>)[m] = (base[m] as (...a: unknown[]) => unknown).bind(
          base,
        );
      Object.defineProperty(slow, 'description', { value: base.description });
      const synchronizer = new Synchronizer({
        settings: parseSyncConfig({ bucket: 'b' }),
        local: store,
        identity: { id: 'p', name: 'p' },
        stores: { bucket: slow, read: null },
      });
      const svc = new SyncService({
        synchronizer,
        latestLocal: () => writer.list().at(-1)?.uuid ?? null,
        log: () => {},
        pushInterval: null,
      });
      writer.pinned = () => svc.pinned();
      const { uuid, done } = svc.request();
      assert.equal(uuid, first);
      for (let i = 2; i <= 5; i++) await writer.write(snap(i) as never, meta, false);
      assert.ok(
        writer.list().some((e) => e.uuid === first),
        'the checkpoint being pushed survives local GC',
      );
      release();
      const r = await done;
      assert.equal(r?.uuid, first);
      assert.equal(svc.status.success, first);
      for (const f of manifestFiles(await store.readManifest(first)))
        assert.ok(await base.head(`files/${f.hash}`));
      // once pushed it is no longer pinned: the next checkpoint's GC removes it
      await writer.write(snap(6) as never, meta, false);
      assert.ok(!writer.list().some((e) => e.uuid === first));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
