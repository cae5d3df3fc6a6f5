/**
 * The standby loop on a directory bucket: while nothing new is pushed it keeps polling without downloading or
 * loading anything again (bounded work while it waits); each newer checkpoint is downloaded and loaded once;
 * local storage never holds more than the two newest pulled checkpoints; activation wakes the loop at once and
 * resolves with the held checkpoint.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import { DirStore } from '../../../src/sync/dir-store.ts';
import { Standby, type WarmLoader } from '../../../src/sync/standby.ts';
import { Synchronizer } from '../../../src/sync/synchronizer.ts';
import { parseSyncConfig } from '../../../src/types/sync-config.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import type { Row } from '../../../src/zset/value.ts';
import { untilTrue } from '../../kit/index.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'holdfast-standby-'));
  dirs.push(d);
  return d;
}

function rows(from: number, to: number): Batch {
  const r: Row[] = [];
  for (let i = from; i < to; i++) r.push([i, `row-${i}`]);
  return { rows: r, weights: r.map(() => 1) };
}

/**
 * A primary pushing to `bucket` (a local store and its synchronizer) and a standby's local store and synchronizer;
 * `push(stateOf, delta)` writes a checkpoint of `stateOf(step)` on the primary (steps count from 1) and pushes it.
 */
function primaryAndStandby(d: string, bucket: DirStore, pullInterval: number) {
  const settings = parseSyncConfig({
    bucket: 'b/p',
    standby: true,
    start_from_checkpoint: 'latest',
    pull_interval: pullInterval,
  });
  const primaryStore = new CheckpointStore(join(d, 'primary'));
  const primary = new Synchronizer({
    settings,
    local: primaryStore,
    identity: { id: 'pipeline-a', name: 'a' },
    stores: { bucket, read: null },
  });
  const local = new CheckpointStore(join(d, 'standby'));
  const synchronizer = new Synchronizer({
    settings,
    local,
    identity: { id: 'pipeline-b', name: 'b' },
    stores: { bucket, read: null },
  });
  let step = 1;
  const push = async (stateOf: (step: number) => Batch, delta: boolean): Promise<string> => {
    const w = await primaryStore.write(
      { steps: step, operators: { op0: { state: stateOf(step) } } },
      { fingerprint: 'fp', processed_records: step },
      { delta },
    );
    step++;
    await primary.push(w.entry.uuid);
    return w.entry.uuid;
  };
  return { settings, local, synchronizer, push };
}

test('standby: bounded work while waiting, each new checkpoint loaded once, two kept locally, activation at once', async () => {
  const d = await tempDir();
  const bucket = new DirStore({ root: join(d, 'bucket'), create: true });
  const { settings, local, synchronizer, push } = primaryAndStandby(d, bucket, 1);
  const pushCheckpoint = (delta: boolean): Promise<string> =>
    push((step) => (delta ? rows(10_000 + step * 10, 10_000 + step * 10 + 10) : rows(0, 5_000)), delta);
  const first = await pushCheckpoint(false);

  // the standby, with a warm loader that records what it is asked to load
  const loads: string[] = [];
  let held: string | null = null;
  const warm: WarmLoader = {
    get manifest() {
      return held === null ? null : ({ uuid: held } as WarmLoader['manifest']);
    },
    accepts: () => true,
    async load(_store, uuid) {
      loads.push(uuid);
      held = uuid;
      return { mode: 'delta', seconds: 0, segmentsRead: 1, rowsRead: 1, rebuiltOperators: 0 };
    },
    reset() {
      held = null;
    },
  };
  const standby = new Standby({
    synchronizer,
    settings,
    store: local,
    warm,
    log: () => {},
  });
  const done = standby.run();
  // a failed assertion must not leave the loop polling
  after(() => standby.activate());
  await untilTrue(() => standby.stats().pulls === 1, 'the first pull');
  const bytes = standby.stats().bytes_pulled;
  assert.ok(bytes > 0);
  // nothing new: the loop goes on polling, but downloads and loads nothing again
  await untilTrue(() => standby.stats().pull_attempts >= 3, 'more polls', 5_000);
  assert.equal(standby.stats().pulls, 1);
  assert.equal(standby.stats().bytes_pulled, bytes);
  assert.deepEqual(loads, [first]);

  // three newer checkpoints: each is loaded once; local storage keeps the two newest
  const later: string[] = [];
  for (let i = 0; i < 3; i++) {
    later.push(await pushCheckpoint(true));
    const want = later.at(-1);
    await untilTrue(() => loads.at(-1) === want, `pull and load of ${want}`);
  }
  assert.deepEqual(loads, [first, ...later]);
  const kept = (await local.list()).map((e) => e.uuid);
  assert.ok(kept.length <= 2, `kept ${kept.join(', ')}`);
  assert.equal(kept.at(-1), later.at(-1));
  assert.ok(standby.stats().bytes_pulled < 2 * bytes, 'deltas download only their new files');

  // (that activation does not wait for the next tick: the test below, with an hour between pulls)
  standby.activate();
  const result = await done;
  assert.equal(result.uuid, later.at(-1));
  assert.equal(result.warm, true);
  assert.equal(result.finalPull.bytes, 0);
});

test('activation wakes the loop at once: with an hour between pulls it still resolves', {
  timeout: 30_000,
}, async () => {
  const d = await tempDir();
  const bucket = new DirStore({ root: join(d, 'bucket'), create: true });
  const { settings, local, synchronizer, push } = primaryAndStandby(d, bucket, 3600);
  const uuid = await push(() => rows(0, 100), false);
  const standby = new Standby({ synchronizer, settings, store: local, warm: null, log: () => {} });
  const done = standby.run();
  await untilTrue(() => standby.stats().pulls === 1, 'the first pull');
  // the loop now sleeps for an hour; the activation must not wait for that tick (the test's timeout would end it)
  standby.activate();
  const result = await done;
  assert.equal(result.uuid, uuid);
});

test('activation: the pending record first, the takeover alongside the final load, no final GC, the probe done while waiting', async () => {
  const d = await tempDir();
  const bucket = new DirStore({ root: join(d, 'bucket'), create: true });
  let probePuts = 0;
  const put = bucket.put.bind(bucket);
  bucket.put = (key, ...rest) => {
    if (key.startsWith('probe/')) probePuts++;
    return put(key, ...rest);
  };
  const { settings, local, synchronizer, push } = primaryAndStandby(d, bucket, 1);
  const pushCheckpoint = (delta: boolean): Promise<string> =>
    push((step) => (delta ? rows(100 + step, 101 + step) : rows(0, 100)), delta);
  const first = await pushCheckpoint(false);
  const events: string[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let held: string | null = null;
  let activating = false;
  let prewarms = 0;
  const warm: WarmLoader = {
    get manifest() {
      return held === null ? null : ({ uuid: held } as WarmLoader['manifest']);
    },
    accepts: () => true,
    async prewarm() {
      prewarms++;
    },
    async load(_store, uuid) {
      if (activating) {
        events.push('final load starts');
        await sleep(60);
        events.push('final load ends');
      }
      held = uuid;
      return { mode: 'delta', seconds: 0, segmentsRead: 1, rowsRead: 1, rebuiltOperators: 0 };
    },
    reset() {
      held = null;
    },
  };
  const standby = new Standby({
    synchronizer,
    settings,
    store: local,
    warm,
    log: () => {},
    onActivationRequested: async () => {
      activating = true;
      await sleep(30);
      events.push('pending record durable');
    },
    takeOver: async (uuid) => {
      events.push(`takeover starts from ${uuid === last ? 'the final checkpoint' : uuid}`);
      await synchronizer.takeOver(uuid);
      await sleep(60);
      events.push('takeover ends');
    },
  });
  const done = standby.run();
  after(() => standby.activate());
  await untilTrue(() => held === first, 'the first load');
  const second = await pushCheckpoint(true);
  await untilTrue(() => held === second, 'the second load');
  // the takeover's one-time probe of conditional writes ran while waiting (once, whatever the number of pulls)
  await untilTrue(() => probePuts > 0, 'the conditional-write probe');
  const probed = probePuts;
  assert.equal(prewarms, 2, 'each load is prewarmed while waiting');
  const last = await pushCheckpoint(true);
  standby.activate();
  const result = await done;
  assert.equal(result.uuid, last);
  assert.equal(result.warm, true);
  assert.ok(result.finalPull.files > 0, 'the final pull brought the last checkpoint');
  assert.deepEqual(events.slice(0, 2), [
    'pending record durable',
    'takeover starts from the final checkpoint',
  ]);
  // the two overlap: each starts before the other ends
  assert.ok(events.indexOf('final load starts') < events.indexOf('takeover ends'), events.join(', '));
  assert.ok(events.indexOf('takeover starts from the final checkpoint') < events.indexOf('final load ends'));
  assert.equal(events.length, 5, events.join(', '));
  assert.equal(probePuts, probed, 'the takeover did not probe again');
  assert.equal(prewarms, 2, 'no prewarm after the final load (the pipeline starts at once)');
  // the final pull leaves local GC to the pipeline's next checkpoint: the three pulled checkpoints are there
  assert.deepEqual(
    (await local.list()).map((e) => e.uuid),
    [first, second, last],
  );
});
