/**
 * Standby: the pipeline does not process data; it keeps pulling checkpoints from the bucket until `POST
 * /activate`, and (warm) keeps the newest one's state loaded so activation does not rebuild it.
 *
 *   start_from_checkpoint "latest": pull the newest checkpoint every `pull_interval` s (only files it lacks)
 *   start_from_checkpoint <uuid>:   pull that checkpoint once (retrying failures every `pull_interval` s), then wait
 *   POST /activate:                 wakes the loop at once; a final pull of the newest checkpoint; run() returns
 *
 * A pull error (store unreachable, nothing in the bucket yet, a corrupt object) is logged, counted, shown in
 * {@link Standby.stats} and retried on the next tick; so is a pull that had to skip newer corrupt checkpoints.
 * Each store request is retried on transient failures first (retry.ts, counted in `store_retries`). The final
 * pull is retried as a whole (at most {@link OPERATION_ATTEMPTS} times) when it failed transiently; any other
 * error of it fails the activation. Each
 * pulled checkpoint is loaded into the {@link WarmState} (when it is of the same program), and local storage
 * keeps the two newest pulled checkpoints.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ServiceError, toServiceError } from '../errors/service-error.ts';
import { writeJsonAtomic } from '../storage/atomic.ts';
import type { CheckpointManifest, CheckpointStore } from '../storage/checkpoint-store.ts';
import type { StandbyStatus } from '../types/pipeline-api.ts';
import type { SyncSettings } from '../types/sync-config.ts';
import { sleep } from '../util/backoff.ts';
import { uuidV7Time } from '../util/uuid-v7.ts';
import { causedByTransient, OPERATION_ATTEMPTS } from './retry.ts';
import type { PullOutcome, Synchronizer, SyncLog } from './synchronizer.ts';

/** What the standby needs from the warm state (controller/warm-state.ts implements it). */
export interface WarmLoader {
  readonly manifest: CheckpointManifest | null;
  accepts(m: CheckpointManifest): boolean;
  /** Warms caches of the loaded state while the standby waits (in slices; never blocks a load or activation). */
  prewarm?(): Promise<unknown>;
  load(
    store: CheckpointStore,
    uuid: string,
  ): Promise<{
    readonly mode: 'full' | 'delta' | 'unchanged';
    readonly seconds: number;
    readonly segmentsRead: number;
    readonly rowsRead: number;
    readonly rebuiltOperators: number;
  }>;
  reset(): void;
}

export interface StandbyOptions {
  readonly synchronizer: Synchronizer;
  readonly settings: SyncSettings;
  readonly store: CheckpointStore;
  /** Null: cold standby (files only). */
  readonly warm: WarmLoader | null;
  readonly log: SyncLog;
  readonly now?: () => number;
  /**
   * Called once when `/activate` ends the pull loop: the caller records that an activation is under way (a
   * failed one must still end in a takeover, see {@link PENDING_ACTIVATION}). The record is written while the
   * final pull runs, and is durable before {@link takeOver} starts.
   */
  readonly onActivationRequested?: () => Promise<void>;
  /**
   * The takeover of the bucket (epoch bump, activation marker), started by {@link Standby.run} as soon as the
   * final pull has its checkpoint (`uuid`; null: none, with `reason`). Applying that checkpoint's delta to the
   * warm state runs meanwhile (one waits on the store, the other on the CPU); `run` resolves once both are done,
   * and fails when the takeover does.
   */
  readonly takeOver?: (uuid: string | null, reason: string | null) => Promise<void>;
}

/** What activation starts from. */
export interface StandbyResult {
  /** The checkpoint to run from (null: nothing in the bucket; the pipeline starts from scratch). */
  readonly uuid: string | null;
  /** Why there is none (when `uuid` is null). */
  readonly reason: string | null;
  /** The warm state holds `uuid`'s state. */
  readonly warm: boolean;
  /**
   * The final pull: `seconds` is the transfer alone (listing, download, verification); `totalSeconds` adds
   * applying the delta to the warm state and local GC.
   */
  readonly finalPull: {
    readonly bytes: number;
    readonly files: number;
    readonly seconds: number;
    readonly totalSeconds: number;
  };
}

export class Standby {
  readonly #o: StandbyOptions;
  readonly #now: () => number;
  #held: { uuid: string; source: 'bucket' | 'read_bucket'; at: number } | null = null;
  #attempts = 0;
  #pulls = 0;
  #failures = 0;
  #bytes = 0;
  #files = 0;
  #lastError: { message: string; at: string } | null = null;
  #warm: StandbyStatus['warm'] = null;
  #warmError: string | null = null;
  #nextPullAt: number | null = null;
  #activate = false;
  #probed = false;
  #wake: () => void = () => {};

  constructor(o: StandbyOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** Asks the loop to finish: it wakes at once, pulls a last time and {@link run} resolves. */
  activate(): void {
    this.#activate = true;
    this.#wake();
  }

  get activationRequested(): boolean {
    return this.#activate;
  }

  /** Pulls until activated; resolves with what to run from. @throws ServiceError CheckpointFetchError (final pull) */
  async run(): Promise<StandbyResult> {
    const target = this.#o.settings.startFromCheckpoint as string;
    const intervalMs = this.#o.settings.pullInterval * 1000;
    this.#o.log(
      'info',
      target === 'latest'
        ? `standby: pulling the newest checkpoint every ${this.#o.settings.pullInterval} s until POST /activate`
        : `standby: pulling checkpoint ${target}, then waiting for POST /activate`,
      { start_from_checkpoint: target },
    );
    for (;;) {
      if (this.#activate) break;
      if (target === 'latest' || this.#held === null) await this.#pullOnce(target, false);
      if (this.#activate) break;
      await this.#sleep(target === 'latest' || this.#held === null ? intervalMs : null);
    }
    // the pending-activation record must be durable before the takeover, not before the final pull: written
    // meanwhile
    const requested = this.#o.onActivationRequested?.() ?? Promise.resolve();
    requested.catch(() => {}); // awaited below (an error fails the activation there)
    const t0 = performance.now();
    let final: PullOutcome | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        final = await this.#pullOnce(target, true);
        break;
      } catch (e) {
        // the requests were retried already; a transient failure that outlasted them is retried as a whole
        // (bounded), anything else fails the activation
        if (!causedByTransient(e) || attempt >= OPERATION_ATTEMPTS) throw e;
        const delayMs = this.#o.synchronizer.retrier.policy.initialMs * 2 ** attempt;
        this.#o.log(
          'warn',
          `standby: the activation's final pull failed transiently (attempt ${attempt} of ${OPERATION_ATTEMPTS}), retrying in ${(delayMs / 1000).toFixed(1)} s: ${(e as Error).message}`,
          { attempt },
        );
        await sleep(delayMs);
      }
    }
    await requested;
    const uuid = this.#held?.uuid ?? null;
    const reason = uuid !== null ? null : final?.kind === 'none' ? final.reason : 'no checkpoint was pulled';
    // the takeover goes first (its first request is then under way), the warm state's apply of the final
    // delta runs while it waits on the store; the final pull's local GC is left to the pipeline's next checkpoint
    const takeOver = this.#o.takeOver?.(uuid, reason) ?? Promise.resolve();
    takeOver.catch(() => {}); // awaited below, after the warm load (which never throws)
    if (uuid !== null) await this.#loadWarm(uuid, true);
    const totalSeconds = (performance.now() - t0) / 1000;
    await takeOver;
    const finalPull = {
      bytes: final?.kind === 'pulled' ? final.bytes : 0,
      files: final?.kind === 'pulled' ? final.files : 0,
      seconds: final?.kind === 'pulled' ? final.durationSeconds : 0,
      totalSeconds,
    };
    if (uuid === null) return { uuid: null, reason, warm: false, finalPull };
    return {
      uuid,
      reason: null,
      warm: this.#o.warm !== null && this.#o.warm.manifest?.uuid === uuid,
      finalPull,
    };
  }

  #sleep(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === null ? null : setTimeout(done, ms);
      timer?.unref(); // the pipeline's server keeps the process alive, not the pull loop
      this.#nextPullAt = ms === null ? null : this.#now() + ms;
      function done() {
        if (timer) clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = () => {};
        done();
      };
    });
  }

  async #pullOnce(target: string, final: boolean): Promise<PullOutcome | null> {
    this.#attempts++;
    this.#nextPullAt = null;
    let out: PullOutcome;
    try {
      out = await this.#o.synchronizer.pull(target, { skipLocal: true, current: this.#held?.uuid ?? null });
    } catch (e) {
      const err = toServiceError(e);
      this.#fail(err.message);
      if (final) throw err;
      return null;
    }
    if (out.kind === 'none') {
      if (!final) this.#fail(`${out.reason}; retrying in ${this.#o.settings.pullInterval} s`);
      return out;
    }
    if (out.kind === 'pulled') {
      this.#pulls++;
      this.#bytes += out.bytes;
      this.#files += out.files;
      this.#held = { uuid: out.uuid, source: out.source, at: this.#now() };
      if (out.skipped.length === 0) this.#lastError = null;
      if (!final)
        await this.#o.store
          .gc({ keep: 2, pinned: new Set([out.uuid]) })
          .catch((e: unknown) =>
            this.#o.log('warn', `standby: local checkpoint GC failed: ${(e as Error).message}`),
          );
    } else if (out.kind === 'current' && this.#held === null) {
      this.#held = { uuid: out.uuid, source: out.source, at: this.#now() };
    }
    // newer checkpoints skipped as corrupt: the pull fell back, and that is a failure to see
    if (out.kind !== 'local' && out.skipped.length > 0)
      this.#fail(
        `skipped ${out.skipped.length} corrupt checkpoint(s) (${out.skipped.map((x) => `${x.uuid}: ${x.error}`).join('; ')}); holding ${out.uuid}`,
      );
    // the final pull's checkpoint is loaded by run(), alongside the takeover
    if (this.#held !== null && !final) await this.#loadWarm(this.#held.uuid, false);
    if (!final && this.#held !== null && this.#o.takeOver !== undefined && !this.#probed) {
      // the takeover's one-time probe of the bucket's conditional writes, done once while waiting (a scratch
      // object, deleted at once); a failed probe is not kept: the takeover probes again and reports it
      this.#probed = true;
      this.#o.synchronizer.conditionalWrites().catch(() => {});
    }
    return out;
  }

  /** Loads `uuid` into the warm state; `final`: the activation's load (no prewarm after it). Never throws. */
  async #loadWarm(uuid: string, final: boolean): Promise<void> {
    const warm = this.#o.warm;
    if (warm === null || warm.manifest?.uuid === uuid) return;
    try {
      const m = await this.#o.store.readManifest(uuid);
      if (!warm.accepts(m)) {
        if (this.#warmError === null)
          this.#o.log(
            'warn',
            `standby: checkpoint ${uuid} was written by a different program; its state is not preloaded (activation will load it and decide about bootstrapping)`,
            { uuid },
          );
        this.#warmError = `checkpoint ${uuid} was written by a different program (not preloaded)`;
        warm.reset();
        this.#warm = null;
        return;
      }
      const r = await warm.load(this.#o.store, uuid);
      this.#warmError = null;
      if (!final) void warm.prewarm?.();
      this.#warm = {
        checkpoint: uuid,
        mode: r.mode,
        seconds: Number(r.seconds.toFixed(3)),
        segments_read: r.segmentsRead,
        rows_read: r.rowsRead,
        rebuilt_operators: r.rebuiltOperators,
      };
      this.#o.log('info', `standby: loaded checkpoint ${uuid} (${r.mode}, ${r.rowsRead} rows read)`, {
        uuid,
        mode: r.mode,
        rows_read: r.rowsRead,
        segments_read: r.segmentsRead,
        rebuilt_operators: r.rebuiltOperators,
        seconds: this.#warm.seconds,
      });
    } catch (e) {
      this.#warm = null;
      this.#warmError = `loading checkpoint ${uuid} failed: ${toServiceError(e).message}`;
      this.#o.log('error', `standby: ${this.#warmError}; activation will load it from storage`, { uuid });
    }
  }

  #fail(message: string): void {
    this.#failures++;
    this.#lastError = { message, at: new Date(this.#now()).toISOString() };
    this.#o.log('warn', `standby: pull failed: ${message}`, { failures: this.#failures });
  }

  /** Age in seconds of the held checkpoint (null: none). */
  lagSeconds(): number | null {
    if (this.#held === null) return null;
    return Math.max(0, (this.#now() - uuidV7Time(this.#held.uuid)) / 1000);
  }

  /** What the standby holds: the wire's `runtime_status_details.standby`. */
  stats(): StandbyStatus {
    const lag = this.lagSeconds();
    return {
      start_from_checkpoint: this.#o.settings.startFromCheckpoint as string,
      pull_interval: this.#o.settings.pullInterval,
      last_pulled_checkpoint: this.#held?.uuid ?? null,
      last_pulled_source: this.#held?.source ?? null,
      last_pulled_at: this.#held ? new Date(this.#held.at).toISOString() : null,
      last_pulled_age_seconds: lag === null ? null : Number(lag.toFixed(3)),
      pulls: this.#pulls,
      pull_attempts: this.#attempts,
      pull_failures: this.#failures,
      last_error: this.#lastError,
      store_retries: this.#o.synchronizer.retrier.stats.retries,
      bytes_pulled: this.#bytes,
      files_pulled: this.#files,
      next_pull_in_seconds:
        this.#nextPullAt === null ? null : Math.max(0, Math.round((this.#nextPullAt - this.#now()) / 1000)),
      warm: this.#warm,
      warm_error: this.#warmError,
      activation_requested: this.#activate,
    };
  }

  /** Prometheus samples while in standby. */
  metrics(): Array<{ name: string; type: 'counter' | 'gauge'; help: string; value: number }> {
    return [
      {
        name: 'holdfast_standby_lag_seconds',
        type: 'gauge',
        help: 'Age of the newest checkpoint the standby pulled (-1 until the first pull).',
        value: this.lagSeconds() ?? -1,
      },
      {
        name: 'holdfast_standby_pulls_total',
        type: 'counter',
        help: 'Standby pulls that brought a newer checkpoint.',
        value: this.#pulls,
      },
      {
        name: 'holdfast_standby_pull_failures_total',
        type: 'counter',
        help: 'Standby pulls that failed (or found no checkpoint).',
        value: this.#failures,
      },
      {
        name: 'holdfast_standby_store_retries_total',
        type: 'counter',
        help: 'Object-store requests of standby pulls retried after a transient failure.',
        value: this.#o.synchronizer.retrier.stats.retries,
      },
      {
        name: 'holdfast_standby_pulled_bytes_total',
        type: 'counter',
        help: 'Bytes downloaded by standby pulls.',
        value: this.#bytes,
      },
    ];
  }
}

/** `InvalidStandby`: standby needs storage, the file backend, `sync` and `start_from_checkpoint`. */
export function invalidStandby(reason: string): ServiceError {
  return new ServiceError('InvalidStandby', `Cannot enter standby mode: ${reason}`, {});
}

/** `<storage>/activated.json`: written when a standby is activated; its presence skips standby on restarts. */
export interface ActivationMarker {
  readonly checkpoint: string | null;
  readonly activated_at: string;
  readonly epoch: number;
  readonly initial: 'Running' | 'Paused';
  readonly bucket: string;
}

export const ACTIVATION_MARKER = 'activated.json';

/** The marker in storage directory `dir` (null: this pipeline was never activated). */
export async function readActivationMarker(dir: string): Promise<ActivationMarker | null> {
  try {
    return JSON.parse(await readFile(join(dir, ACTIVATION_MARKER), 'utf8')) as ActivationMarker;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw invalidStandby(
      `the activation marker ${join(dir, ACTIVATION_MARKER)} is unreadable (${(e as Error).message}); remove it to enter standby again, or fix it to resume from local checkpoints`,
    );
  }
}

/** Writes the marker durably (temp file, fsync, rename). */
export async function writeActivationMarker(dir: string, marker: ActivationMarker): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeJsonAtomic(join(dir, ACTIVATION_MARKER), marker);
}

/**
 * `<storage>/activation-pending.json`: written when `/activate` is accepted, removed once the activation marker
 * is written. Its presence at a start (the activation failed or the process died half-way) means the pipeline
 * must finish the takeover - newest checkpoint, epoch bump, activation marker - before it runs, whatever mode it
 * is started in: running without it would leave the old primary unfenced.
 */
export const PENDING_ACTIVATION = 'activation-pending.json';

export interface PendingActivation {
  readonly requested_at: string;
  readonly initial: 'Running' | 'Paused';
}

export async function writePendingActivation(dir: string, p: PendingActivation): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeJsonAtomic(join(dir, PENDING_ACTIVATION), p);
}

/** The pending activation in `dir` (null: none; an unreadable file still means one is pending). */
export async function readPendingActivation(dir: string): Promise<PendingActivation | null> {
  try {
    return JSON.parse(await readFile(join(dir, PENDING_ACTIVATION), 'utf8')) as PendingActivation;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { requested_at: new Date(0).toISOString(), initial: 'Running' };
  }
}

export async function removePendingActivation(dir: string): Promise<void> {
  await rm(join(dir, PENDING_ACTIVATION), { force: true });
}
