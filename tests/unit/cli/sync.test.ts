/**
 * `holdfast pipeline sync NAME [--wait]` and `checkpoints NAME --remote` against a stub pipeline over real
 * HTTP: in process (with a fake terminal, to check the progress bar drawn from sync_status `checkpoint_sync`) and as a real
 * `holdfast` process (stderr is a pipe: plain progress lines, no control characters).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { syncProgressBar } from '../../../src/cli/progress.ts';
import type { RemoteCheckpoint, SyncProgress } from '../../../src/types/pipeline-api.ts';
import { type CliRun, runCli } from '../../kit/cli.ts';
import { FakeServer } from '../client/fake-server.ts';
import {
  MiB,
  OLD,
  progress,
  requested,
  STORE_ERROR,
  status,
  syncStats,
  U1,
  U2,
} from '../client/sync-fixtures.ts';

const PL = '/v0/pipelines/p';
const MAIN = join(resolve(import.meta.dirname, '../../..'), 'src/bin/main.ts');
const TOTAL = Math.round(27.4 * MiB);
/** 45% of TOTAL: `12.3/27.4 MiB`. */
const DONE_45 = Math.ceil(TOTAL * 0.45);

const server = FakeServer.forFile();

/**
 * Plays one push of `uuid`: the first `steps.length` sync_status polls report an older success (the push is
 * running, `checkpoint_sync` shows the step's progress), then the push ends in success (with `last_push` in
 * `checkpoint_sync`) or in a failure with `error`.
 */
function playPush(uuid: string, steps: Array<SyncProgress | null>, end: { error: string } | 'success'): void {
  let polls = 0;
  let current: SyncProgress | null = null;
  const finished = () => polls > steps.length;
  const stats = () =>
    finished()
      ? syncStats({
          pushes: 1,
          last_push:
            end === 'success'
              ? {
                  uuid,
                  finished_at: '2026-08-21T10:00:04Z',
                  bytes: TOTAL,
                  files: 7,
                  files_skipped: 2,
                  duration_seconds: 3.4,
                  bytes_per_second: 8.1 * MiB,
                }
              : null,
        })
      : syncStats({ push_in_progress: current });
  server.on('POST', `${PL}/checkpoint/sync`, requested(uuid));
  // a poll counts once per push attempt answer; reads of the progress alone (syncProgress) do not advance it
  server.on('GET', `${PL}/checkpoint/sync_status`, (req) => {
    if (req.query.incarnation_uuid !== undefined) {
      polls++;
      if (!finished()) current = steps[polls - 1] ?? null;
    }
    if (!finished()) return status(OLD, null, null, stats());
    return end === 'success'
      ? status(uuid, null, null, stats())
      : status(OLD, { uuid, error: end.error }, null, stats());
  });
}

const STEPS = [
  null, // queued: the push has not started
  progress(U1, 2 * MiB, TOTAL, [1, 7]),
  progress(U1, DONE_45, TOTAL, [3, 7]),
];

const run = (args: string[], tty: boolean, now?: () => number): Promise<CliRun> =>
  runCli(
    server.url,
    args.filter((a) => a !== 'pipeline'),
    { tty, ...(now ? { now } : {}) },
  );

describe('progress formatting', () => {
  test('the bar shows percent, MiB done/total, rate and files', () => {
    assert.equal(
      syncProgressBar(progress(U1, DONE_45, TOTAL, [3, 7])),
      '[#########-----------] 45% 12.3/27.4 MiB 8.1 MiB/s 3/7 files',
    );
    assert.equal(
      syncProgressBar(progress(U1, TOTAL, TOTAL, [7, 7])),
      '[####################] 100% 27.4/27.4 MiB 8.1 MiB/s 7/7 files',
    );
    // Nothing moved yet is never 100%: 0 of 0 bytes (nothing known to upload yet) is 0%.
    assert.equal(
      syncProgressBar(progress(U1, 0, 0, [0, 0], 0), 10),
      '[----------] 0% 0.0/0.0 MiB 0.0 MiB/s 0/0 files',
    );
    assert.equal(syncProgressBar(progress(U1, 0, TOTAL, [0, 7], 0), 10).slice(0, 15), '[----------] 0%');
    // One byte short of the end: 99%, and the bar is not full.
    assert.equal(
      syncProgressBar(progress(U1, TOTAL - 1, TOTAL, [6, 7]), 10).slice(0, 16),
      '[#########-] 99%',
    );
    // Empty files to upload: by files.
    assert.equal(syncProgressBar(progress(U1, 0, 0, [1, 2], 0), 10).slice(0, 15), '[#####-----] 50');
  });
});

// A regression that never ends a wait fails on this timeout instead of hanging.
describe('holdfast pipeline sync', { timeout: 30_000 }, () => {
  test('without --wait prints the requested UUID (text and json)', async () => {
    server.on('POST', `${PL}/checkpoint/sync`, requested(U1));
    const r = await run(['pipeline', 'sync', 'p'], false);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.out, [`p: sync of checkpoint ${U1} requested`]);
    const j = await run(['--format', 'json', 'pipeline', 'sync', 'p'], false);
    assert.deepEqual(JSON.parse(j.out.join('\n')), { checkpoint_uuid: U1, status: 'Requested' });
    assert.equal(server.calls(`${PL}/checkpoint/sync_status`).length, 0);
  });

  test('--wait on a terminal draws the progress bar from sync_status, erases it, prints the result', async () => {
    playPush(U1, STEPS, 'success');
    const r = await run(['pipeline', 'sync', 'p', '--wait'], true);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.out, [`p: checkpoint ${U1} synced (27.4 MiB in 3.4 s)`]);
    assert.deepEqual(r.err, []);
    assert.deepEqual(r.raw, [
      `\rsyncing checkpoint ${U1}: waiting for the push to start\x1b[K`,
      '\r[#-------------------] 7% 2.0/27.4 MiB 8.1 MiB/s 1/7 files\x1b[K',
      '\r[#########-----------] 45% 12.3/27.4 MiB 8.1 MiB/s 3/7 files\x1b[K',
      '\r\x1b[K',
    ]);
    // sync_status was polled with the incarnation of the request, about every 250 ms (its `checkpoint_sync`
    // carries the progress), then read once more for the finished push's size
    const calls = server.calls(`${PL}/checkpoint/sync_status`);
    const polls = calls.filter((c) => c.query.incarnation_uuid !== undefined);
    assert.equal(polls.length, STEPS.length + 1);
    for (const p of polls) assert.equal(p.query.incarnation_uuid, 'inc-1');
    assert.equal(calls.length, polls.length + 1);
  });

  test('--wait --format json prints {checkpoint_uuid, status}', async () => {
    playPush(U1, [progress(U1, 1, 2, [0, 1])], 'success');
    const r = await run(['--format', 'json', 'pipeline', 'sync', 'p', '--wait'], true);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(JSON.parse(r.out.join('\n')), { checkpoint_uuid: U1, status: 'Success' });
  });

  test('--wait without a terminal prints a plain progress line at most every 2 s', async () => {
    playPush(U1, [...STEPS, progress(U1, 20 * MiB, TOTAL, [5, 7])], 'success');
    // A clock that moves 1.5 s per reading: progress seen at 3.0, 4.5 and 6.0 s → lines at 3.0 and 6.0 s.
    let t = 0;
    const r = await run(['pipeline', 'sync', 'p', '--wait'], false, () => (t += 1500));
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.raw, [], 'no bar, no control characters');
    assert.deepEqual(r.err, [
      `p: syncing checkpoint ${U1}: 7% 2.0/27.4 MiB 8.1 MiB/s 1/7 files`,
      `p: syncing checkpoint ${U1}: 72% 20.0/27.4 MiB 8.1 MiB/s 5/7 files`,
    ]);
    assert.deepEqual(r.out, [`p: checkpoint ${U1} synced (27.4 MiB in 3.4 s)`]);
  });

  test('a failed push exits 1 with the store error, after erasing the bar', async () => {
    playPush(U1, [progress(U1, 1 * MiB, TOTAL, [0, 7])], { error: STORE_ERROR });
    const r = await run(['pipeline', 'sync', 'p', '--wait'], true);
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, []);
    assert.equal(r.err.length, 1);
    assert.match(
      r.err[0] as string,
      /^error \[CheckpointSyncFailed\]: sync of checkpoint \S+ of pipeline 'p' failed: Error pushing checkpoint to object store: SignatureDoesNotMatch/,
    );
    assert.equal(r.raw.at(-1), '\r\x1b[K');
  });

  test('after a restart (IncarnationUuidMismatch) the sync is requested again', async () => {
    let posts = 0;
    server.on('POST', `${PL}/checkpoint/sync`, () =>
      ++posts === 1 ? requested(U1, 'inc-1') : requested(U2, 'inc-2'),
    );
    server.on('GET', `${PL}/checkpoint/sync_status`, (req) =>
      req.query.incarnation_uuid === 'inc-1'
        ? {
            status: 400,
            json: { message: 'restarted', error_code: 'IncarnationUuidMismatch', details: null },
          }
        : status(U2),
    );
    const r = await run(['pipeline', 'sync', 'p', '--wait'], false);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.equal(posts, 2);
    assert.match(
      r.out[0] as string,
      new RegExp(`^p: checkpoint ${U2} synced \\(0\\.0 MiB in \\d+\\.\\d s\\)$`),
    );
  });

  test('server refusals exit 1 as error [Code]; a bad --timeout exits 2', async () => {
    server.on('POST', `${PL}/checkpoint/sync`, {
      status: 400,
      json: { message: 'no checkpoints found', error_code: 'NoCheckpointToSync', details: null },
    });
    const r = await run(['pipeline', 'sync', 'p', '--wait'], true);
    assert.equal(r.code, 1);
    assert.deepEqual(r.err, ['error [NoCheckpointToSync]: no checkpoints found']);
    assert.deepEqual(r.raw, []);
    const bad = await run(['pipeline', 'sync', 'p', '--wait', '--timeout', 'soon'], false);
    assert.equal(bad.code, 2);
    assert.match(bad.err[0] as string, /--timeout must be a positive number/);
  });

  test('--timeout ends the wait with exit 3', async () => {
    server.on('POST', `${PL}/checkpoint/sync`, requested(U1));
    server.on('GET', `${PL}/checkpoint/sync_status`, status(OLD));
    const r = await run(['pipeline', 'sync', 'p', '--wait', '--timeout', '0.3'], false);
    assert.equal(r.code, 3);
    assert.match(
      r.err.at(-1) as string,
      /^error \[WaitTimeout\]: timed out after 300 ms waiting for checkpoint/,
    );
  });

  test('as a real process with stderr on a pipe: plain progress, the result on stdout', async () => {
    playPush(U1, [progress(U1, DONE_45, TOTAL, [3, 7])], 'success');
    const r = await new Promise<{ code: number; out: string; err: string }>((res) => {
      const c = spawn(process.execPath, [MAIN, '--url', server.url, 'pipeline', 'sync', 'p', '--wait'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, HOLDFAST_API_KEY: '' },
      });
      let out = '';
      let err = '';
      c.stdout.on('data', (d) => (out += d));
      c.stderr.on('data', (d) => (err += d));
      c.on('close', (code) => res({ code: code ?? -1, out, err }));
    });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `p: checkpoint ${U1} synced (27.4 MiB in 3.4 s)\n`);
    assert.equal(r.err, `p: syncing checkpoint ${U1}: 45% 12.3/27.4 MiB 8.1 MiB/s 3/7 files\n`);
  });
});

describe('holdfast pipeline checkpoints --remote', () => {
  const remote: RemoteCheckpoint[] = [
    {
      uuid: OLD,
      created_at: '2026-08-21T09:00:00Z',
      size: 2048,
      steps: 12,
      processed_records: 340,
      fingerprint: 'ab',
      source: 'read_bucket',
      epoch: 1,
      pushed_by: null,
    },
    {
      uuid: U1,
      created_at: '2026-08-21T10:00:00Z',
      size: 4096,
      steps: 20,
      processed_records: 1000,
      fingerprint: 'cd',
      source: 'bucket',
      epoch: 2,
      pushed_by: { pipeline_id: 'id-2', pipeline_name: 'orders', pushed_at: '2026-08-21T10:00:05Z' },
    },
  ];

  test('prints a table, "no remote checkpoints", or the JSON array', async () => {
    server.on('GET', `${PL}/checkpoints/remote`, { json: remote });
    const r = await run(['pipeline', 'checkpoints', 'p', '--remote'], false);
    assert.equal(r.code, 0, r.err.join('\n'));
    const lines = (r.out[0] as string).split('\n');
    assert.match(
      lines[0] as string,
      /^UUID\s+CREATED_AT\s+STEPS\s+PROCESSED_RECORDS\s+SIZE\s+SOURCE\s+EPOCH\s+PUSHED_BY$/,
    );
    assert.match(
      lines[1] as string,
      new RegExp(`^${OLD}\\s+2026-08-21T09:00:00Z\\s+12\\s+340\\s+2048\\s+read_bucket\\s+1$`),
    );
    assert.match(
      lines[2] as string,
      new RegExp(`^${U1}\\s+2026-08-21T10:00:00Z\\s+20\\s+1000\\s+4096\\s+bucket\\s+2\\s+orders$`),
    );
    assert.equal(server.calls(`${PL}/checkpoints`).length, 0, 'not the local list');
    const j = await run(['--format', 'json', 'pipeline', 'checkpoints', 'p', '--remote'], false);
    assert.deepEqual(JSON.parse(j.out.join('\n')), remote);
    server.on('GET', `${PL}/checkpoints/remote`, { json: [] });
    assert.deepEqual((await run(['pipeline', 'checkpoints', 'p', '--remote'], false)).out, [
      'no remote checkpoints',
    ]);
  });

  test('without sync configured: error [SyncNotConfigured], exit 1', async () => {
    server.on('GET', `${PL}/checkpoints/remote`, {
      status: 400,
      json: { message: 'checkpoint sync is not configured', error_code: 'SyncNotConfigured', details: null },
    });
    const r = await run(['pipeline', 'checkpoints', 'p', '--remote'], false);
    assert.equal(r.code, 1);
    assert.deepEqual(r.err, ['error [SyncNotConfigured]: checkpoint sync is not configured']);
  });
});
