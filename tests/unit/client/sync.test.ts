/**
 * The SDK's checkpoint-sync methods against a stub pipeline over real HTTP: `syncCheckpoint` (no wait; wait
 * through in-progress → success; failure with the store's error; incarnation mismatch → re-request; timeout),
 * `syncCheckpointStatus`, `lastSuccessfulCheckpointSync`, `remoteCheckpoints`, `syncProgress`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  HoldfastClient,
  isApiError,
  isClientError,
  type SyncProgressEvent,
} from '../../../src/client/index.ts';
import type { RemoteCheckpoint } from '../../../src/types/pipeline-api.ts';
import { FakeServer } from './fake-server.ts';
import {
  OLD,
  progress,
  requested,
  STORE_ERROR,
  sequence as seq,
  status,
  syncStats,
  U1,
  U2,
} from './sync-fixtures.ts';

const PL = '/v0/pipelines/p';

let client: HoldfastClient;
const server = FakeServer.forFile((s) => {
  client = new HoldfastClient({ url: s.url });
});

const sequence = (method: string, path: string, replies: Parameters<typeof seq>[3]) =>
  seq(server, method, path, replies);

describe('syncCheckpoint', () => {
  test('without wait, requests the push and returns the checkpoint UUID', async () => {
    server.on('POST', `${PL}/checkpoint/sync`, requested(U1));
    assert.equal(await client.pipeline('p').syncCheckpoint(), U1);
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      [`POST ${PL}/checkpoint/sync`],
    );
  });

  test('with wait, polls sync_status with the incarnation until the UUID is the last success', async () => {
    server.on('POST', `${PL}/checkpoint/sync`, requested(U1, 'inc-7'));
    // Earlier pushes are reported while ours runs: an older success, and an older failure.
    sequence('GET', `${PL}/checkpoint/sync_status`, [
      status(OLD, null, null, syncStats({ push_in_progress: progress(U1, 1 << 20, 4 << 20, [1, 4]) })),
      status(
        OLD,
        { uuid: OLD, error: 'old trouble' },
        null,
        syncStats({ push_in_progress: progress(U1, 3 << 20, 4 << 20, [3, 4]) }),
      ),
      status(U1, { uuid: OLD, error: 'old trouble' }),
    ]);
    const events: SyncProgressEvent[] = [];
    const uuid = await client
      .pipeline('p')
      .syncCheckpoint({ wait: true, pollIntervalMs: 5, timeoutMs: 5000, onProgress: (e) => events.push(e) });
    assert.equal(uuid, U1);
    const polls = server.calls(`${PL}/checkpoint/sync_status`);
    assert.equal(polls.length, 3);
    for (const r of polls) assert.deepEqual(r.query, { incarnation_uuid: 'inc-7' });
    assert.deepEqual(
      events.map((e) => [e.uuid, e.progress?.bytes_done, e.progress?.files_done]),
      [
        [U1, 1 << 20, 1],
        [U1, 3 << 20, 3],
      ],
    );
    assert.equal(server.calls(`${PL}/checkpoint/sync`).length, 1);
  });

  test('progress of another checkpoint push is not reported as ours', async () => {
    server.on('POST', `${PL}/checkpoint/sync`, requested(U2));
    sequence('GET', `${PL}/checkpoint/sync_status`, [
      status(OLD, null, null, syncStats({ push_in_progress: progress(U1, 1, 2, [0, 1]) })),
      status(U2),
    ]);
    const events: SyncProgressEvent[] = [];
    await client
      .pipeline('p')
      .syncCheckpoint({ wait: true, pollIntervalMs: 5, timeoutMs: 5000, onProgress: (e) => events.push(e) });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.progress, null);
    assert.equal(events[0]?.stats?.push_in_progress?.uuid, U1);
  });

  test('a failed push throws CheckpointSyncFailed carrying the store error', async () => {
    server.on('POST', `${PL}/checkpoint/sync`, requested(U1));
    sequence('GET', `${PL}/checkpoint/sync_status`, [
      status(OLD),
      status(OLD, { uuid: U1, error: STORE_ERROR }),
    ]);
    await assert.rejects(
      client.pipeline('p').syncCheckpoint({ wait: true, pollIntervalMs: 5, timeoutMs: 5000 }),
      (e: unknown) => {
        assert.ok(isClientError(e, 'CheckpointSyncFailed'), String(e));
        assert.match(e.message, /SignatureDoesNotMatch/);
        assert.match(e.message, new RegExp(U1));
        assert.equal(e.details.error, STORE_ERROR);
        assert.equal(e.details.checkpoint_uuid, U1);
        return true;
      },
    );
  });

  test('IncarnationUuidMismatch (the process restarted) requests the sync again', async () => {
    sequence('POST', `${PL}/checkpoint/sync`, [requested(U1, 'inc-1'), requested(U2, 'inc-2')]);
    server.on('GET', `${PL}/checkpoint/sync_status`, (req) =>
      req.query.incarnation_uuid === 'inc-1'
        ? {
            status: 400,
            json: {
              message: 'the pipeline restarted',
              error_code: 'IncarnationUuidMismatch',
              details: null,
            },
          }
        : status(U2),
    );
    assert.equal(
      await client.pipeline('p').syncCheckpoint({ wait: true, pollIntervalMs: 5, timeoutMs: 5000 }),
      U2,
    );
    assert.equal(server.calls(`${PL}/checkpoint/sync`).length, 2);
    assert.deepEqual(
      server.calls(`${PL}/checkpoint/sync_status`).map((r) => r.query.incarnation_uuid),
      ['inc-1', 'inc-2'],
    );
  });

  test('a wait that does not finish in timeoutMs throws WaitTimeout naming the checkpoint', async () => {
    server.on('POST', `${PL}/checkpoint/sync`, requested(U1));
    server.on('GET', `${PL}/checkpoint/sync_status`, status(OLD));
    await assert.rejects(
      client.pipeline('p').syncCheckpoint({ wait: true, timeoutMs: 150, pollIntervalMs: 20 }),
      (e: unknown) => {
        assert.ok(isClientError(e, 'WaitTimeout'), String(e));
        assert.match(e.message, /timed out after 150 ms waiting for checkpoint .* to sync/);
        assert.match(e.message, new RegExp(U1));
        return true;
      },
    );
    // it stopped at its timeout: at most one poll per interval until then (however slow the machine)
    const polls = server.calls(`${PL}/checkpoint/sync_status`).length;
    assert.ok(polls >= 1 && polls <= 150 / 20 + 2, `${polls} polls`);
  });

  test('server refusals are ApiErrors (NoCheckpointToSync, SyncNotConfigured)', async () => {
    for (const code of ['NoCheckpointToSync', 'SyncNotConfigured']) {
      server.reset();
      server.on('POST', `${PL}/checkpoint/sync`, {
        status: 400,
        json: { message: `refused: ${code}`, error_code: code, details: null },
      });
      await assert.rejects(client.pipeline('p').syncCheckpoint({ wait: true }), (e: unknown) => {
        assert.ok(isApiError(e, code), String(e));
        assert.equal(e.status, 400);
        return true;
      });
      assert.equal(server.calls(`${PL}/checkpoint/sync_status`).length, 0);
    }
  });

  test('the signal aborts the wait', async () => {
    server.on('POST', `${PL}/checkpoint/sync`, requested(U1));
    server.on('GET', `${PL}/checkpoint/sync_status`, status(OLD));
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by test')), 50);
    await assert.rejects(
      client.pipeline('p').syncCheckpoint({ wait: true, pollIntervalMs: 10, signal: ac.signal }),
      /cancelled by test/,
    );
  });
});

describe('syncCheckpointStatus / lastSuccessfulCheckpointSync', () => {
  test('Success, Failure (with the error), InProgress, Unknown', async () => {
    const p = client.pipeline('p');
    server.on('GET', `${PL}/checkpoint/sync_status`, status(U1, { uuid: U2, error: STORE_ERROR }));
    assert.deepEqual(await p.syncCheckpointStatus(U1), { status: 'Success' });
    assert.deepEqual(await p.syncCheckpointStatus(U2), { status: 'Failure', error: STORE_ERROR });
    assert.deepEqual(await p.syncCheckpointStatus(OLD), { status: 'Unknown' });
    server.on(
      'GET',
      `${PL}/checkpoint/sync_status`,
      status(
        U1,
        { uuid: U2, error: STORE_ERROR },
        null,
        syncStats({ push_in_progress: progress(OLD, 1, 2, [0, 1]) }),
      ),
    );
    assert.deepEqual(await p.syncCheckpointStatus(OLD), { status: 'InProgress' });
    // A later success of the same checkpoint wins over its earlier failure.
    server.on('GET', `${PL}/checkpoint/sync_status`, status(U2, { uuid: U2, error: STORE_ERROR }));
    assert.deepEqual(await p.syncCheckpointStatus(U2), { status: 'Success' });
    // A checkpoint pushed by a periodic push is synced too.
    server.on('GET', `${PL}/checkpoint/sync_status`, status(null, null, OLD));
    assert.deepEqual(await p.syncCheckpointStatus(OLD), { status: 'Success' });
  });

  test('lastSuccessfulCheckpointSync: the manual success, else the periodic one, else null', async () => {
    const p = client.pipeline('p');
    server.on('GET', `${PL}/checkpoint/sync_status`, status(U1, null, U2));
    assert.equal(await p.lastSuccessfulCheckpointSync(), U1);
    server.on('GET', `${PL}/checkpoint/sync_status`, status(null, { uuid: U1, error: 'x' }, U2));
    assert.equal(await p.lastSuccessfulCheckpointSync(), U2);
    server.on('GET', `${PL}/checkpoint/sync_status`, status(null, { uuid: U1, error: 'x' }));
    assert.equal(await p.lastSuccessfulCheckpointSync(), null);
  });
});

describe('remoteCheckpoints / syncProgress', () => {
  test('remoteCheckpoints GETs checkpoints/remote', async () => {
    const list: RemoteCheckpoint[] = [
      {
        uuid: U1,
        created_at: '2026-08-21T10:00:00Z',
        size: 1234,
        steps: 10,
        processed_records: 100,
        fingerprint: 'f',
        source: 'bucket',
        epoch: 1,
        pushed_by: null,
      },
    ];
    server.on('GET', `${PL}/checkpoints/remote`, { json: list });
    assert.deepEqual(await client.pipeline('p').remoteCheckpoints(), list);
    assert.deepEqual(await client.remoteCheckpoints('p'), list);
    server.on('GET', `${PL}/checkpoints/remote`, {
      status: 400,
      json: { message: 'no sync', error_code: 'SyncNotConfigured', details: null },
    });
    await assert.rejects(client.pipeline('p').remoteCheckpoints(), (e: unknown) =>
      isApiError(e, 'SyncNotConfigured'),
    );
  });

  test('syncProgress reads sync_status checkpoint_sync, null without it', async () => {
    const p = client.pipeline('p');
    server.on('GET', `${PL}/checkpoint/sync_status`, status(null));
    assert.equal(await p.syncProgress(), null);
    const st = syncStats({ pushes: 3, push_in_progress: progress(U1, 5, 10, [1, 2]) });
    server.on('GET', `${PL}/checkpoint/sync_status`, status(null, null, null, st));
    assert.deepEqual(await p.syncProgress(), st);
  });
});
