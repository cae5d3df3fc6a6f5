/**
 * Push scheduling for a running pipeline: manual requests (`POST /checkpoint/sync`), periodic pushes every
 * `push_interval` seconds, Feldera's sync status, progress for `/stats`, and Prometheus samples.
 *
 * # State
 * A FIFO of push requests (one push runs at a time; requests for the checkpoint being pushed share its result),
 * the status `{success, failure, periodic}` (in memory, per incarnation, as in Feldera), counters, the push in
 * flight with its progress, and the periodic timer.
 *
 * # Invariants
 * - The checkpoints being pushed or queued are {@link pinned}: local GC must not delete them.
 * - A periodic push starts `push_interval` seconds after the previous one finished; after a failure it is
 *   retried with exponential backoff (1 s, 2 s, 4 s, ... at most 5 min) and the failure is visible in
 *   `sync_status.failure`, `checkpoint_sync.last_push_error` (with `push_failures_in_row` and the retry's
 *   `push_retry_backoff_seconds`), the log and
 *   `holdfast_checkpoint_sync_push_failures_total`. A refusal because another pipeline owns the bucket, or
 *   because the bucket holds a newer checkpoint than the one this pipeline started from
 *   (`CheckpointPushDiverged`), stops periodic pushes (retrying cannot help).
 * - Each object-store request of a push is retried on transient failures first (retry.ts); the retries are
 *   counted in `/stats` `checkpoint_sync.retries` and `holdfast_checkpoint_sync_retries_total`.
 */
import { ServiceError } from '../errors/service-error.ts';
import type {
  CheckpointSyncStats,
  CheckpointSyncStatus,
  SyncProgress,
  SyncTransferSummary,
} from '../types/pipeline-api.ts';
import { uuidV7Time } from '../util/uuid-v7.ts';
import {
  type PullOutcome,
  type PushResult,
  type Synchronizer,
  type SyncLog,
  syncError,
  type TransferProgress,
} from './synchronizer.ts';

export interface SyncServiceOptions {
  readonly synchronizer: Synchronizer;
  /** The newest local checkpoint's uuid, or null. */
  readonly latestLocal: () => string | null;
  readonly log: SyncLog;
  /** Seconds between automatic pushes (null: none). */
  readonly pushInterval: number | null;
  readonly now?: () => number;
  /** Called once when a push finds this pipeline fenced (another pipeline took the bucket over). */
  readonly onFenced?: (message: string) => void;
}

interface Request {
  readonly uuid: string;
  periodic: boolean;
  readonly waiters: Array<(r: PushResult | null) => void>;
}

export interface MetricSample {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly value: number;
}

const MAX_BACKOFF_S = 300;

export class SyncService {
  readonly #sync: Synchronizer;
  readonly #latestLocal: () => string | null;
  readonly #log: SyncLog;
  readonly #interval: number | null;
  readonly #now: () => number;
  readonly status: CheckpointSyncStatus = { success: null, failure: null, periodic: null };
  readonly #queue: Request[] = [];
  #running: (SyncProgress & { readonly t0: number }) | null = null;
  #draining = false;
  #timer: NodeJS.Timeout | null = null;
  #nextPushAt: number | null = null;
  /** The delay of the scheduled periodic attempt when it is a retry after a failure (null: a regular one). */
  #retryBackoffMs: number | null = null;
  #failuresInRow = 0;
  #stopped = false;
  #periodicHalted = false;
  #fenced: string | null = null;
  readonly #onFenced: ((message: string) => void) | undefined;
  #lastPush: SyncTransferSummary | null = null;
  #lastPushError: { uuid: string; error: string; at: string } | null = null;
  #lastPull: SyncTransferSummary | null = null;
  /** created_at of the newest checkpoint known to be in the bucket. */
  #newestRemoteAt: number | null = null;
  #pushedUuid: string | null = null;
  readonly counters = { pushes: 0, pushFailures: 0, pushBytes: 0, pulls: 0 };

  constructor(opts: SyncServiceOptions) {
    this.#sync = opts.synchronizer;
    this.#latestLocal = opts.latestLocal;
    this.#log = opts.log;
    this.#interval = opts.pushInterval;
    this.#now = opts.now ?? Date.now;
    this.#onFenced = opts.onFenced;
  }

  /** Starts periodic pushes (when `push_interval` is set). */
  start(): void {
    if (this.#interval !== null) this.#schedule(this.#interval * 1000);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#nextPushAt = null;
  }

  /** Checkpoints local GC must keep: the one being pushed and the queued ones. */
  pinned(): Set<string> {
    const out = new Set(this.#queue.map((r) => r.uuid));
    if (this.#running) out.add(this.#running.uuid);
    return out;
  }

  /**
   * `POST /checkpoint/sync`: queues a push of the newest local checkpoint and returns its uuid at once; `done`
   * settles when the push ends (null on failure). @throws ServiceError NoCheckpointToSync
   */
  request(): { uuid: string; done: Promise<PushResult | null> } {
    const uuid = this.#latestLocal();
    if (uuid === null)
      throw new ServiceError(
        'NoCheckpointToSync',
        'no checkpoints found; make a POST request to `/checkpoint` to make a new checkpoint',
        {},
      );
    return { uuid, done: this.#enqueue(uuid, false) };
  }

  #enqueue(uuid: string, periodic: boolean): Promise<PushResult | null> {
    return new Promise((resolve) => {
      const same = this.#queue.find((r) => r.uuid === uuid);
      if (same) {
        same.waiters.push(resolve);
        same.periodic ||= periodic;
      } else this.#queue.push({ uuid, periodic, waiters: [resolve] });
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let req = this.#queue[0]; req !== undefined; req = this.#queue[0]) {
        const result = await this.#pushOne(req);
        this.#queue.shift();
        for (const w of req.waiters) w(result);
      }
    } finally {
      this.#draining = false;
    }
  }

  async #pushOne(req: Request): Promise<PushResult | null> {
    const startedAt = this.#now();
    this.#running = {
      uuid: req.uuid,
      started_at: new Date(startedAt).toISOString(),
      t0: performance.now(),
      bytes_total: 0,
      bytes_done: 0,
      files_total: 0,
      files_done: 0,
      files_skipped: 0,
      bytes_per_second: 0,
    };
    const onProgress = (p: TransferProgress) => {
      const r = this.#running;
      if (r === null) return;
      const secs = (performance.now() - r.t0) / 1000;
      this.#running = {
        ...r,
        bytes_total: p.bytesTotal,
        bytes_done: p.bytesDone,
        files_total: p.filesTotal,
        files_done: p.filesDone,
        files_skipped: p.filesSkipped,
        bytes_per_second: secs > 0 ? Math.round(p.bytesDone / secs) : 0,
      };
    };
    try {
      const r = await this.#sync.push(req.uuid, { onProgress });
      this.counters.pushes++;
      this.counters.pushBytes += r.bytes;
      this.status.success = req.uuid;
      if (req.periodic) this.status.periodic = req.uuid;
      this.#pushedUuid = req.uuid;
      this.#failuresInRow = 0;
      this.#lastPush = {
        uuid: req.uuid,
        finished_at: new Date(this.#now()).toISOString(),
        bytes: r.bytes,
        files: r.files,
        files_skipped: r.filesSkipped,
        duration_seconds: r.durationSeconds,
        bytes_per_second: r.durationSeconds > 0 ? Math.round(r.bytes / r.durationSeconds) : 0,
      };
      const created = uuidV7Time(req.uuid);
      if (this.#newestRemoteAt === null || created > this.#newestRemoteAt) this.#newestRemoteAt = created;
      this.#log(
        'info',
        r.alreadyRemote
          ? `checkpoint ${req.uuid} is already in ${this.#sync.bucket.description}`
          : `checkpoint ${req.uuid} pushed to ${this.#sync.bucket.description} (${r.files} file(s), ${r.bytes} bytes uploaded, ${r.filesSkipped} already there, ${r.durationSeconds.toFixed(2)} s)`,
        {
          uuid: req.uuid,
          bytes: r.bytes,
          files: r.files,
          files_skipped: r.filesSkipped,
          periodic: req.periodic,
          epoch: r.epoch,
          ...(r.retention && r.retention.deletedCheckpoints.length > 0
            ? { retention_deleted: r.retention.deletedCheckpoints.length }
            : {}),
        },
      );
      return r;
    } catch (e) {
      const err = syncError(e);
      const pushError = new ServiceError(
        'CheckpointPushError',
        `Error pushing checkpoint to object store: ${err.message}`,
        { uuid: req.uuid, cause_code: err.errorCode, ...err.details },
      );
      const message = pushError.message;
      this.counters.pushFailures++;
      this.#failuresInRow++;
      this.status.failure = { uuid: req.uuid, error: message };
      this.#lastPushError = { uuid: req.uuid, error: message, at: new Date(this.#now()).toISOString() };
      if (err.errorCode === 'CheckpointBucketOwned' || err.errorCode === 'CheckpointPushDiverged')
        this.#periodicHalted = this.#interval !== null;
      if (err.details.fenced === true && this.#fenced === null) {
        this.#fenced = err.message;
        this.#onFenced?.(err.message);
      }
      this.#log(
        'error',
        `${req.periodic ? 'periodic ' : ''}push of checkpoint ${req.uuid} failed: ${message}`,
        {
          uuid: req.uuid,
          error_code: err.errorCode,
          periodic: req.periodic,
          ...(this.#periodicHalted ? { periodic_push: 'stopped' } : {}),
        },
      );
      return null;
    } finally {
      this.#running = null;
    }
  }

  #schedule(delayMs: number, retry = false): void {
    this.#retryBackoffMs = retry ? delayMs : null;
    if (this.#stopped || this.#periodicHalted) {
      this.#nextPushAt = null;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#nextPushAt = this.#now() + delayMs;
    this.#timer = setTimeout(() => void this.#periodic(), delayMs);
    this.#timer.unref();
  }

  async #periodic(): Promise<void> {
    this.#timer = null;
    const interval = (this.#interval ?? 60) * 1000;
    const uuid = this.#latestLocal();
    if (uuid === null || uuid === this.#pushedUuid) {
      this.#schedule(interval);
      return;
    }
    this.#nextPushAt = null;
    const r = await this.#enqueue(uuid, true);
    if (r !== null) this.#schedule(interval);
    else {
      const backoff = Math.min(MAX_BACKOFF_S, 2 ** (this.#failuresInRow - 1)) * 1000;
      if (!this.#periodicHalted)
        this.#log('warn', `retrying the periodic push in ${backoff / 1000} s`, {
          failures_in_row: this.#failuresInRow,
        });
      this.#schedule(backoff, true);
    }
  }

  /** Records the pull this process started from. */
  recordPull(outcome: PullOutcome | null): void {
    if (outcome?.kind !== 'pulled') return;
    this.counters.pulls++;
    this.#lastPull = {
      uuid: outcome.uuid,
      finished_at: new Date(this.#now()).toISOString(),
      bytes: outcome.bytes,
      files: outcome.files,
      files_skipped: outcome.filesSkipped,
      duration_seconds: outcome.durationSeconds,
      bytes_per_second: outcome.durationSeconds > 0 ? Math.round(outcome.bytes / outcome.durationSeconds) : 0,
    };
  }

  /** Resolves when no push is queued or running. */
  async idle(): Promise<void> {
    while (this.#queue.length > 0 || this.#running !== null) await new Promise((r) => setTimeout(r, 20));
  }

  /** `/stats` `checkpoint_sync`. */
  stats(): CheckpointSyncStats {
    const s = this.#sync.settings;
    const r = this.#running;
    return {
      bucket: this.#sync.bucket.description,
      read_bucket: this.#sync.readBucket?.description ?? null,
      push_interval: s.pushInterval,
      push_in_progress:
        r === null
          ? null
          : {
              uuid: r.uuid,
              started_at: r.started_at,
              bytes_total: r.bytes_total,
              bytes_done: r.bytes_done,
              files_total: r.files_total,
              files_done: r.files_done,
              files_skipped: r.files_skipped,
              bytes_per_second: r.bytes_per_second,
            },
      last_push: this.#lastPush,
      last_push_error: this.#lastPushError,
      last_pull: this.#lastPull,
      pushes: this.counters.pushes,
      push_failures: this.counters.pushFailures,
      push_failures_in_row: this.#failuresInRow,
      push_retry_backoff_seconds:
        this.#nextPushAt === null || this.#retryBackoffMs === null ? null : this.#retryBackoffMs / 1000,
      next_push_in_seconds:
        this.#nextPushAt === null ? null : Math.max(0, Math.round((this.#nextPushAt - this.#now()) / 1000)),
      newest_remote_age_seconds:
        this.#newestRemoteAt === null ? null : Math.max(0, (this.#now() - this.#newestRemoteAt) / 1000),
      fenced: this.#fenced,
      retries: this.#sync.retrier.stats.retries,
      retries_exhausted: this.#sync.retrier.stats.exhausted,
      last_retry:
        this.#sync.retrier.stats.last === null
          ? null
          : {
              request: this.#sync.retrier.stats.last.what,
              error: this.#sync.retrier.stats.last.error,
              at: this.#sync.retrier.stats.last.at,
            },
    };
  }

  /** Prometheus samples (names without labels). */
  metrics(): MetricSample[] {
    const last = this.#lastPush;
    const pull = this.#lastPull;
    const r = this.#running;
    const out: MetricSample[] = [
      {
        name: 'holdfast_checkpoint_sync_push_success_total',
        type: 'counter',
        help: 'Successful checkpoint pushes.',
        value: this.counters.pushes,
      },
      {
        name: 'holdfast_checkpoint_sync_push_failures_total',
        type: 'counter',
        help: 'Failed checkpoint pushes (manual and periodic).',
        value: this.counters.pushFailures,
      },
      {
        name: 'holdfast_checkpoint_sync_push_transferred_bytes_total',
        type: 'counter',
        help: 'Bytes uploaded by checkpoint pushes.',
        value: this.counters.pushBytes,
      },
      {
        name: 'holdfast_checkpoint_sync_push_transferred_bytes',
        type: 'gauge',
        help: 'Bytes uploaded by the last successful push.',
        value: last?.bytes ?? 0,
      },
      {
        name: 'holdfast_checkpoint_sync_push_duration_seconds',
        type: 'gauge',
        help: 'Duration of the last successful push.',
        value: last?.duration_seconds ?? 0,
      },
      {
        name: 'holdfast_checkpoint_sync_push_transfer_speed_bytes_per_second',
        type: 'gauge',
        help: 'Upload rate of the last successful push.',
        value: last?.bytes_per_second ?? 0,
      },
      {
        name: 'holdfast_checkpoint_sync_push_in_progress',
        type: 'gauge',
        help: '1 while a push runs.',
        value: r === null ? 0 : 1,
      },
      {
        name: 'holdfast_checkpoint_sync_push_in_progress_bytes',
        type: 'gauge',
        help: 'Bytes uploaded so far by the push in flight.',
        value: r?.bytes_done ?? 0,
      },
      {
        name: 'holdfast_checkpoint_sync_push_in_progress_total_bytes',
        type: 'gauge',
        help: 'Bytes the push in flight will upload.',
        value: r?.bytes_total ?? 0,
      },
      {
        name: 'holdfast_checkpoint_sync_pull_success_total',
        type: 'counter',
        help: 'Checkpoints pulled from the object store.',
        value: this.counters.pulls,
      },
      {
        name: 'holdfast_checkpoint_sync_pull_transferred_bytes',
        type: 'gauge',
        help: 'Bytes downloaded by the last pull.',
        value: pull?.bytes ?? 0,
      },
      {
        name: 'holdfast_checkpoint_sync_pull_duration_seconds',
        type: 'gauge',
        help: 'Duration of the last pull.',
        value: pull?.duration_seconds ?? 0,
      },
    ];
    out.push(
      {
        name: 'holdfast_checkpoint_sync_retries_total',
        type: 'counter',
        help: 'Object-store requests retried after a transient failure (5xx, reset, timeout, cut-off body).',
        value: this.#sync.retrier.stats.retries,
      },
      {
        name: 'holdfast_checkpoint_sync_retries_exhausted_total',
        type: 'counter',
        help: 'Object-store requests that failed transiently on every attempt.',
        value: this.#sync.retrier.stats.exhausted,
      },
    );
    if (this.#newestRemoteAt !== null)
      out.push({
        name: 'holdfast_checkpoint_sync_rpo_seconds',
        type: 'gauge',
        help: 'Age of the newest checkpoint pushed to the bucket (the recovery point objective now).',
        value: Math.max(0, (this.#now() - this.#newestRemoteAt) / 1000),
      });
    return out;
  }
}
