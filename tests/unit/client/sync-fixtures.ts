/**
 * Canned checkpoint-sync and standby bodies shared by the SDK and CLI sync tests and the manager's fake
 * pipeline process. Type-only imports: a plain (non-test) process may load this file.
 */
import type {
  CheckpointSyncStats,
  CheckpointSyncStatus,
  StandbyStatus,
  SyncProgress,
} from '../../../src/types/pipeline-api.ts';
import type { FakeServer, Reply } from './fake-server.ts';

export const OLD = '0198c7f0-0000-7000-8000-0000000000a0';
export const U1 = '0198c7f0-0000-7000-8000-0000000000a1';
export const U2 = '0198c7f0-0000-7000-8000-0000000000a2';
export const STORE_ERROR =
  'Error pushing checkpoint to object store: SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided.';
export const MiB = 1024 * 1024;

/** `runtime_status_details.standby` of a standby that pulled 3 times (and failed once). */
export function standbyStatus(overrides: Partial<StandbyStatus> = {}): StandbyStatus {
  return {
    start_from_checkpoint: 'latest',
    pull_interval: 10,
    last_pulled_checkpoint: '0198c7f0-0000-7000-8000-0000000000aa',
    last_pulled_source: 'bucket',
    last_pulled_at: '2026-08-21T10:00:00.000Z',
    last_pulled_age_seconds: 4.5,
    pulls: 3,
    pull_attempts: 4,
    pull_failures: 1,
    last_error: null,
    store_retries: 0,
    bytes_pulled: 4096,
    files_pulled: 7,
    next_pull_in_seconds: 6,
    warm: null,
    warm_error: null,
    activation_requested: false,
    ...overrides,
  };
}

/** A `GET .../checkpoint/sync_status` reply (with Holdfast's `checkpoint_sync` when given). */
export function status(
  success: string | null,
  failure: { uuid: string; error: string } | null = null,
  periodic: string | null = null,
  sync?: CheckpointSyncStats,
): Reply {
  const body: CheckpointSyncStatus = {
    success,
    failure,
    periodic,
    ...(sync ? { checkpoint_sync: sync } : {}),
  };
  return { json: body };
}

/** A `POST .../checkpoint/sync` reply. */
export function requested(uuid: string, incarnation = 'inc-1'): Reply {
  return { status: 202, json: { checkpoint_uuid: uuid, incarnation_uuid: incarnation } };
}

/** `sync_status` `checkpoint_sync.push_in_progress`. */
export function progress(
  uuid: string,
  done: number,
  total: number,
  files: [number, number],
  bytesPerSecond = 8.1 * MiB,
): SyncProgress {
  return {
    uuid,
    started_at: '2026-08-21T10:00:00Z',
    bytes_done: done,
    bytes_total: total,
    files_done: files[0],
    files_total: files[1],
    files_skipped: 0,
    bytes_per_second: bytesPerSecond,
  };
}

/** `sync_status` `checkpoint_sync`. */
export function syncStats(overrides: Partial<CheckpointSyncStats> = {}): CheckpointSyncStats {
  return {
    bucket: 's3://bucket/p',
    read_bucket: null,
    push_interval: null,
    push_in_progress: null,
    last_push: null,
    last_push_error: null,
    last_pull: null,
    pushes: 0,
    push_failures: 0,
    push_failures_in_row: 0,
    push_retry_backoff_seconds: null,
    next_push_in_seconds: null,
    newest_remote_age_seconds: null,
    fenced: null,
    retries: 0,
    retries_exhausted: 0,
    last_retry: null,
    ...overrides,
  };
}

/** Serves a route from a list of replies: each call gets the next one, the last one repeats. */
export function sequence(server: FakeServer, method: string, path: string, replies: Reply[]): void {
  let i = 0;
  server.on(method, path, () => replies[Math.min(i++, replies.length - 1)] as Reply);
}
