/**
 * `Pipeline`: the high-level handle on one pipeline, mirroring Feldera's Python SDK `Pipeline` in camelCase.
 * Every method is a sequence of low-level `HoldfastApi` calls; the waiting ones poll the pipeline object
 * (`GET ?selector=status`) the way the Python SDK does:
 *
 *   start  → dismiss_error, start?initial=…&dismiss_error=false, poll until deployment_status is the initial
 *            state (Running, Paused or Standby) or AwaitingApproval; fail fast (`PipelineFailed`) when it lands
 *            in Stopped with an error
 *   activate → activate?initial=…, poll until Running/Paused or AwaitingApproval; fail fast when it stops
 *   stop   → stop?force=…, poll until Stopped          clearStorage → clear, poll until storage_status Cleared
 *   inputJson({ wait }) → ingress, poll completion_status with backoff 0.1 s × 1.2^n (cap 5 s)
 *   waitForCompletion   → poll /stats until global_metrics.pipeline_complete
 *   syncCheckpoint({ wait }) → checkpoint/sync, poll checkpoint/sync_status?incarnation_uuid=… until the UUID
 *            is the last success or failure (re-requested after IncarnationUuidMismatch)
 *
 * Waits without `timeoutMs` wait forever (except `activate`: 5 minutes); with it they throw
 * `ClientError('WaitTimeout')`. A poll the server answers with a retryable error (the error catalog's
 * `retryable`, e.g. 503 `Initializing`) is sent again after its `Retry-After`, up to 10 times and within the
 * timeout; other errors end the wait at once.
 */
import type {
  BootstrapPolicy,
  CheckpointSyncStats,
  CheckpointSyncStatus,
  JsonChange,
  JsonRow,
  PipelineDescr,
  PipelineStats,
  PipelineStatus,
  PipelineStatusDescr,
  ProgramConfig,
  RemoteCheckpoint,
  RuntimeConfig,
  StandbyStatus,
  StartInitialState,
  SyncProgress,
} from '../types/pipeline-api.ts';
import { PROGRAM_STATUSES_IN_PROGRESS } from '../types/pipeline-api.ts';
import { backoffDelay, sleep } from '../util/backoff.ts';
import { ApiError, isApiError } from './api-error.ts';
import { ClientError } from './client-error.ts';
import { readLines } from './lines.ts';
import type { ResponseStream } from './response-stream.ts';
import type { HoldfastApi } from './rest-api.ts';

export interface PipelineHandleOptions {
  /** Interval between status polls while waiting for a lifecycle transition (default 100 ms). */
  readonly pollIntervalMs?: number;
}

export interface WaitOptions {
  /** Wait for the transition to finish (default true). */
  readonly wait?: boolean;
  /** Give up waiting after this many ms with `ClientError('WaitTimeout')` (default: wait forever). */
  readonly timeoutMs?: number;
  /** Aborts the calls and the wait. */
  readonly signal?: AbortSignal;
}

export interface StartOptions extends WaitOptions {
  /** Initial runtime state (default `running`). */
  readonly initial?: StartInitialState;
  /** Omitted ⇒ the server's default (`await_approval`). */
  readonly bootstrapPolicy?: BootstrapPolicy;
  readonly silentBootstrap?: boolean;
  readonly concurrentBootstrap?: boolean;
  /** Dismiss a previous deployment error first (default true). */
  readonly dismissError?: boolean;
}

export interface ActivateOptions extends WaitOptions {
  /** The state the standby takes over in: `running` (default) or `paused`. */
  readonly initial?: 'running' | 'paused';
}

export interface StopOptions extends WaitOptions {
  /** `true`: stop immediately; `false` (default): suspend with a checkpoint first. */
  readonly force?: boolean;
}

export interface InputJsonOptions {
  /** `raw` (default, rows are inserts) or `insert_delete` (rows are `{insert|delete|update: row}`). */
  readonly updateFormat?: 'raw' | 'insert_delete';
  /** Wait until the data is fully processed (default false). */
  readonly wait?: boolean;
  /** Push even while the pipeline is paused (default false: refused client-side). */
  readonly force?: boolean;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface WaitForCompletionOptions {
  readonly timeoutMs?: number;
  /** Interval between `/stats` polls (default 1000 ms, as the Python SDK). */
  readonly pollIntervalMs?: number;
  /** Stop the pipeline (`force=true`) once complete (default false). */
  readonly forceStop?: boolean;
  readonly signal?: AbortSignal;
}

export interface ListenOptions {
  /** First deliver the full current contents of the (materialized) view (default false). */
  readonly sendSnapshot?: boolean;
  /** Default true: the pipeline waits for this listener rather than dropping changes. */
  readonly backpressure?: boolean;
  readonly signal?: AbortSignal;
}

export interface CreatePipelineOptions {
  readonly name: string;
  readonly sql: string;
  readonly description?: string;
  readonly tags?: string[];
  readonly runtimeConfig?: RuntimeConfig;
  readonly programConfig?: ProgramConfig;
  readonly udfRust?: string;
  readonly udfToml?: string;
  /** TypeScript implementing the functions the SQL declares without a body (the `udf_ts` field). */
  readonly udfTs?: string;
  /** Wait until the program compiled (default true); a compilation error throws `CompilationFailed`. */
  readonly wait?: boolean;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly pollIntervalMs?: number;
}

/** One observation while `syncCheckpoint({ wait: true, onProgress })` waits. */
export interface SyncProgressEvent {
  /** The checkpoint being synced. */
  readonly uuid: string;
  /** `checkpoint_sync.push_in_progress` (of `sync_status`) when it is this checkpoint's push, else null (queued, done). */
  readonly progress: SyncProgress | null;
  /** The whole `checkpoint_sync` of `sync_status` (null when the pipeline reports none or the request failed). */
  readonly stats: CheckpointSyncStats | null;
}

export interface SyncCheckpointOptions {
  /** Wait until the checkpoint is in the bucket (default false: return once the push is requested). */
  readonly wait?: boolean;
  /** Give up waiting after this many ms with `ClientError('WaitTimeout')` (default: wait forever). */
  readonly timeoutMs?: number;
  /** Aborts the calls and the wait. */
  readonly signal?: AbortSignal;
  /** Fixed interval between status polls (default: backoff 100 ms × 1.2^n, at most 5 s). */
  readonly pollIntervalMs?: number;
  /** While waiting, also read `/stats` on every poll and report the push's progress. */
  readonly onProgress?: (event: SyncProgressEvent) => void;
}

/** The state of one checkpoint sync, as `checkpointStatus` reports a checkpoint's. */
export interface CheckpointSyncState {
  readonly status: 'Success' | 'Failure' | 'InProgress' | 'Unknown';
  /** The object store's error, for `Failure`. */
  readonly error?: string;
}

const INITIAL_TO_STATUS: Record<StartInitialState, PipelineStatus> = {
  running: 'Running',
  paused: 'Paused',
  standby: 'Standby',
};

/** The pipeline's `deployment_error` when it is Stopped with one (a failed deployment). */
function failure(d: PipelineStatusDescr): ClientError | undefined {
  if (d.deployment_status !== 'Stopped' || d.deployment_error === null || d.deployment_error === undefined) {
    return undefined;
  }
  const err = d.deployment_error;
  return new ClientError(
    'PipelineFailed',
    `pipeline '${d.name}' stopped with an error: ${err.message} (${err.error_code})`,
    {
      pipeline_name: d.name,
      deployment_error: err,
    },
  );
}

function compilationMessage(name: string, d: PipelineDescr): string {
  const pe = d.program_error;
  const lines: string[] = [];
  for (const m of pe?.sql_compilation?.messages ?? []) {
    if (m.warning) continue;
    lines.push(
      `  ${m.error_type} at ${m.start_line_number}:${m.start_column}: ${m.message}${m.snippet ? `\n${m.snippet}` : ''}`,
    );
  }
  if (pe?.rust_compilation && pe.rust_compilation.exit_code !== 0)
    lines.push(`  ${pe.rust_compilation.stderr}`);
  if (pe?.system_error) lines.push(`  ${pe.system_error}`);
  return `pipeline '${name}': program compilation failed (${d.program_status})${lines.length ? `:\n${lines.join('\n')}` : ''}`;
}

export class Pipeline {
  readonly client: HoldfastApi;
  readonly name: string;
  readonly pollIntervalMs: number;

  constructor(client: HoldfastApi, name: string, options: PipelineHandleOptions = {}) {
    this.client = client;
    this.name = name;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
  }

  /** Creates a new pipeline (`POST`; 409 `DuplicateName` if it exists) and waits for its program to compile. */
  static async create(client: HoldfastApi, opts: CreatePipelineOptions): Promise<Pipeline> {
    await client.createPipeline(Pipeline.#body(opts), { signal: opts.signal });
    const p = new Pipeline(client, opts.name, { pollIntervalMs: opts.pollIntervalMs });
    if (opts.wait ?? true) await p.waitForProgram(opts);
    return p;
  }

  /**
   * Creates the pipeline, or replaces an existing one: force-stops it, clears its storage, dismisses its error,
   * then `PUT`s the new definition and waits for compilation (as the Python SDK's `create_or_replace`).
   */
  static async createOrReplace(client: HoldfastApi, opts: CreatePipelineOptions): Promise<Pipeline> {
    const p = new Pipeline(client, opts.name, { pollIntervalMs: opts.pollIntervalMs });
    if ((await p.status({ signal: opts.signal })) !== 'NotFound') {
      await p.stop({ force: true, timeoutMs: opts.timeoutMs, signal: opts.signal });
      await p.clearStorage({ timeoutMs: opts.timeoutMs, signal: opts.signal });
      await client.dismissError(opts.name, { signal: opts.signal });
    }
    await client.putPipeline(opts.name, Pipeline.#body(opts), { signal: opts.signal });
    if (opts.wait ?? true) await p.waitForProgram(opts);
    return p;
  }

  /** A handle on an existing pipeline (throws `ApiError` 404 `UnknownPipelineName` if there is none). */
  static async get(
    client: HoldfastApi,
    name: string,
    options: PipelineHandleOptions = {},
  ): Promise<Pipeline> {
    await client.getPipeline(name, 'status');
    return new Pipeline(client, name, options);
  }

  static #body(opts: CreatePipelineOptions) {
    return {
      name: opts.name,
      program_code: opts.sql,
      description: opts.description ?? '',
      tags: opts.tags ?? [],
      runtime_config: opts.runtimeConfig ?? {},
      program_config: opts.programConfig ?? {},
      udf_rust: opts.udfRust ?? '',
      udf_toml: opts.udfToml ?? '',
      // only when given: a body without it stays the one Feldera's API takes
      ...(opts.udfTs !== undefined ? { udf_ts: opts.udfTs } : {}),
    };
  }

  /** The full pipeline object (`GET ?selector=all`). */
  describe(opts: { signal?: AbortSignal } = {}): Promise<PipelineDescr> {
    return this.client.getPipeline(this.name, 'all', opts);
  }

  /** `deployment_status`, or `NotFound` when the pipeline does not exist. */
  async status(opts: { signal?: AbortSignal } = {}): Promise<PipelineStatus | 'NotFound'> {
    try {
      return (await this.client.getPipeline(this.name, 'status', opts)).deployment_status;
    } catch (e) {
      if (isApiError(e) && e.status === 404) return 'NotFound';
      throw e;
    }
  }

  /** Polls until the program compiled; throws `CompilationFailed` with the compiler's messages otherwise. */
  async waitForProgram(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<PipelineDescr> {
    const inProgress: readonly string[] = PROGRAM_STATUSES_IN_PROGRESS;
    await this.#poll('finish compiling', opts, (d) => !inProgress.includes(d.program_status));
    const d = await this.describe(opts);
    if (d.program_status !== 'Success') {
      throw new ClientError('CompilationFailed', compilationMessage(this.name, d), {
        pipeline_name: this.name,
        program_status: d.program_status,
        program_error: d.program_error,
      });
    }
    return d;
  }

  /** Starts the pipeline (`initial` default `running`) and by default waits until it is there. */
  async start(opts: StartOptions = {}): Promise<void> {
    const initial = opts.initial ?? 'running';
    const signal = opts.signal;
    if (opts.dismissError ?? true) await this.client.dismissError(this.name, { signal });
    await this.client.startPipeline(this.name, initial, {
      bootstrapPolicy: opts.bootstrapPolicy,
      silentBootstrap: opts.silentBootstrap || undefined,
      concurrentBootstrap: opts.concurrentBootstrap || undefined,
      dismissError: false,
      signal,
    });
    if (!(opts.wait ?? true)) return;
    const target = INITIAL_TO_STATUS[initial];
    await this.#poll(`reach ${target}`, opts, (d) => {
      if (d.deployment_status === target || d.deployment_status === 'AwaitingApproval') return true;
      // a pipeline activated before (its storage intact) skips standby and runs on its own
      if (target === 'Standby' && (d.deployment_status === 'Running' || d.deployment_status === 'Paused'))
        return true;
      return failure(d) ?? false;
    });
  }

  /** Pauses a running pipeline; by default waits for `Paused`. */
  async pause(opts: WaitOptions = {}): Promise<void> {
    await this.client.pausePipeline(this.name, { signal: opts.signal });
    if (opts.wait ?? true)
      await this.#poll('pause', opts, (d) => d.deployment_status === 'Paused' || (failure(d) ?? false));
  }

  /** Resumes a paused pipeline; by default waits for `Running`. */
  async resume(opts: WaitOptions = {}): Promise<void> {
    await this.client.resumePipeline(this.name, { signal: opts.signal });
    if (opts.wait ?? true)
      await this.#poll('resume', opts, (d) => d.deployment_status === 'Running' || (failure(d) ?? false));
  }

  /**
   * Activates a standby pipeline (`POST .../activate?initial=…`, as Feldera's `pipeline.activate()`): it makes
   * its final pull, takes over the bucket and runs. By default waits until it is `Running` (`Paused` for
   * `initial: 'paused'`) or `AwaitingApproval` (the program changed since the checkpoint), at most `timeoutMs`
   * (default 5 minutes; then `ClientError('WaitTimeout')`), and returns that status (null without `wait`).
   * Throws `ClientError('PipelineFailed')` when the pipeline stops with an error while activating (e.g. the
   * final pull failed), `ClientError('InvalidState')` when it stops without one (someone stopped it), and
   * `ApiError` as the server answers (`PipelineInteractionNotDeployed` when it is not started,
   * `InvalidActivateStatus`, `InvalidTransition`).
   */
  async activate(opts: ActivateOptions = {}): Promise<PipelineStatus | null> {
    const initial = opts.initial ?? 'running';
    if (initial !== 'running' && initial !== 'paused')
      throw new ClientError('InvalidArgument', `initial must be 'running' or 'paused', got '${initial}'`, {
        initial,
      });
    await this.client.activatePipeline(this.name, initial, { signal: opts.signal });
    if (!(opts.wait ?? true)) return null;
    const target = INITIAL_TO_STATUS[initial];
    const d = await this.#poll(
      `activate into ${target}`,
      { timeoutMs: opts.timeoutMs ?? 300_000, signal: opts.signal },
      (d) => {
        if (d.deployment_status === target || d.deployment_status === 'AwaitingApproval') return true;
        if (d.deployment_status !== 'Stopped') return false;
        return (
          failure(d) ??
          new ClientError(
            'InvalidState',
            `pipeline '${this.name}' stopped while activating (deployment_desired_status ${d.deployment_desired_status}); start it again with initial 'standby' and activate it`,
            { pipeline_name: this.name, deployment_status: d.deployment_status },
          )
        );
      },
    );
    return d.deployment_status;
  }

  /**
   * What a standby pipeline's continuous pull holds (`deployment_runtime_status_details.standby`): the
   * checkpoint it would take over from, its age (lag), pull counters, the last error; null when the pipeline
   * is not in standby.
   */
  async standbyStatus(opts: { signal?: AbortSignal } = {}): Promise<StandbyStatus | null> {
    const d = await this.client.getPipeline(this.name, 'status', opts);
    const standby = d.deployment_runtime_status_details?.standby;
    return typeof standby === 'object' && standby !== null ? (standby as StandbyStatus) : null;
  }

  /** Stops the pipeline (`force` default false = suspend with checkpoint); by default waits for `Stopped`. */
  async stop(opts: StopOptions = {}): Promise<void> {
    await this.client.stopPipeline(this.name, opts.force ?? false, { signal: opts.signal });
    if (opts.wait ?? true) await this.#poll('stop', opts, (d) => d.deployment_status === 'Stopped');
  }

  /**
   * Approves a pending bootstrap (`POST .../approve`): a pipeline started with `bootstrapPolicy:
   * 'await_approval'` whose program changed since its checkpoint waits in `AwaitingApproval`, with the diff in
   * `deployment_runtime_status_details.approval_diff`, until this is called. Does not wait (as Feldera's SDK).
   */
  approve(opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.client.approvePipeline(this.name, { signal: opts.signal });
  }

  /** `stop({ force: true })` then `start(opts)`. */
  async restart(opts: StartOptions = {}): Promise<void> {
    await this.stop({ force: true, timeoutMs: opts.timeoutMs, signal: opts.signal });
    await this.start(opts);
  }

  /** Clears the storage of a stopped pipeline; by default waits for `storage_status == Cleared`. */
  async clearStorage(opts: WaitOptions = {}): Promise<void> {
    await this.client.clearStorage(this.name, { signal: opts.signal });
    if (opts.wait ?? true) await this.#poll('clear its storage', opts, (d) => d.storage_status === 'Cleared');
  }

  /** Dismisses the pipeline's `deployment_error`. */
  dismissError(opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.client.dismissError(this.name, opts);
  }

  /** Deletes the pipeline; with `clearStorage`, first clears its storage (it must be stopped). */
  async delete(
    opts: { clearStorage?: boolean; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    if (opts.clearStorage) await this.clearStorage({ timeoutMs: opts.timeoutMs, signal: opts.signal });
    await this.client.deletePipeline(this.name, { signal: opts.signal });
  }

  /**
   * Takes a checkpoint (`POST .../checkpoint`) and returns its sequence number. With `wait`, polls
   * `checkpoint_status` until it is written (throws `ClientError('CheckpointFailed')` if it failed); when the
   * pipeline process restarted meanwhile (`IncarnationUuidMismatch`), the checkpoint is requested again.
   */
  async checkpoint(opts: { wait?: boolean; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<number> {
    const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
    for (;;) {
      const r = await this.client.checkpoint(this.name, { signal: opts.signal });
      const seq = r.checkpoint_sequence_number;
      if (!opts.wait) return seq;
      for (let attempt = 0; ; attempt++) {
        let st: { success: number | null; failure: { sequence_number: number; error: string } | null };
        try {
          st = await polled(
            () =>
              this.client.checkpointStatus(this.name, r.incarnation_uuid ?? undefined, {
                signal: opts.signal,
              }),
            deadline,
            opts.signal,
          );
        } catch (e) {
          if (isApiError(e, 'IncarnationUuidMismatch')) break; // restarted: ask again
          throw e;
        }
        if (st.success !== null && st.success >= seq) return seq;
        if (st.failure && st.failure.sequence_number >= seq) {
          throw new ClientError(
            'CheckpointFailed',
            `checkpoint ${seq} of pipeline '${this.name}' failed: ${st.failure.error}`,
            { pipeline_name: this.name, sequence_number: seq },
          );
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new ClientError(
            'WaitTimeout',
            `timed out after ${opts.timeoutMs} ms waiting for checkpoint ${seq} of pipeline '${this.name}'`,
            {
              pipeline_name: this.name,
              sequence_number: seq,
            },
          );
        }
        await sleep(Math.min(backoffDelay(attempt), left), opts.signal);
      }
    }
  }

  /** The state of checkpoint `seq`: `Success`, `Failure` (with the error), `InProgress`, or `Unknown`. */
  async checkpointStatus(
    seq: number,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ status: 'Success' | 'Failure' | 'InProgress' | 'Unknown'; error?: string }> {
    const st = await this.client.checkpointStatus(this.name, undefined, { signal: opts.signal });
    if (st.failure && st.failure.sequence_number === seq)
      return { status: 'Failure', error: st.failure.error };
    if (st.success !== null && st.success >= seq) return { status: 'Success' };
    const stats = await this.client.stats(this.name, { signal: opts.signal }).catch(() => null);
    const activity = (stats?.checkpoint_activity ?? null) as { status?: string } | null;
    if (activity?.status === 'in_progress') return { status: 'InProgress' };
    return { status: st.success === null && st.failure === null ? 'Unknown' : 'InProgress' };
  }

  /** The pipeline's checkpoints (`GET .../checkpoints`). */
  checkpoints(opts: { signal?: AbortSignal } = {}): ReturnType<HoldfastApi['checkpoints']> {
    return this.client.checkpoints(this.name, opts);
  }

  /**
   * Pushes the newest checkpoint to the sync bucket (`POST .../checkpoint/sync`) and returns its UUID. With
   * `wait`, polls `checkpoint/sync_status` until that UUID is the last success (returned) or the last failure
   * (throws `ClientError('CheckpointSyncFailed')` carrying the store's error); when the pipeline process
   * restarted meanwhile (`IncarnationUuidMismatch`), the sync is requested again and the new UUID returned.
   * Fails with `ApiError` `SyncNotConfigured` or `NoCheckpointToSync` as the server answers.
   */
  async syncCheckpoint(opts: SyncCheckpointOptions = {}): Promise<string> {
    const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
    const signal = opts.signal;
    for (;;) {
      const r = await this.client.syncCheckpoint(this.name, { signal });
      const uuid = r.checkpoint_uuid;
      if (!opts.wait) return uuid;
      for (let attempt = 0; ; attempt++) {
        let st: CheckpointSyncStatus;
        try {
          st = await polled(
            () => this.client.syncCheckpointStatus(this.name, r.incarnation_uuid ?? undefined, { signal }),
            deadline,
            signal,
          );
        } catch (e) {
          if (isApiError(e, 'IncarnationUuidMismatch')) break; // restarted: ask again
          throw e;
        }
        if (st.success === uuid || st.periodic === uuid) return uuid;
        if (st.failure && st.failure.uuid === uuid) throw this.#syncFailed(uuid, st.failure.error);
        if (opts.onProgress) {
          // the same answer carries Holdfast's progress (`checkpoint_sync`)
          const stats = st.checkpoint_sync ?? null;
          const running = stats?.push_in_progress ?? null;
          opts.onProgress({ uuid, progress: running?.uuid === uuid ? running : null, stats });
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new ClientError(
            'WaitTimeout',
            `timed out after ${opts.timeoutMs} ms waiting for checkpoint ${uuid} of pipeline '${this.name}' to sync to object storage`,
            { pipeline_name: this.name, checkpoint_uuid: uuid },
          );
        }
        await sleep(Math.min(opts.pollIntervalMs ?? backoffDelay(attempt), left), signal);
      }
    }
  }

  #syncFailed(uuid: string, error: string): ClientError {
    return new ClientError(
      'CheckpointSyncFailed',
      `sync of checkpoint ${uuid} of pipeline '${this.name}' failed: ${error}`,
      { pipeline_name: this.name, checkpoint_uuid: uuid, error },
    );
  }

  /**
   * The state of the sync of checkpoint `uuid`: `Success` (the last successful push, manual or periodic),
   * `Failure` (the last failed push, with the store's error), `InProgress` (`sync_status` shows its push running),
   * or `Unknown` (never requested, queued, or superseded by later pushes).
   */
  async syncCheckpointStatus(
    uuid: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<CheckpointSyncState> {
    const st = await this.client.syncCheckpointStatus(this.name, undefined, { signal: opts.signal });
    if (st.success === uuid || st.periodic === uuid) return { status: 'Success' };
    if (st.failure && st.failure.uuid === uuid) return { status: 'Failure', error: st.failure.error };
    if (st.checkpoint_sync?.push_in_progress?.uuid === uuid) return { status: 'InProgress' };
    return { status: 'Unknown' };
  }

  /** The UUID of the newest checkpoint known to be synced: the last manual push, else the last periodic one. */
  async lastSuccessfulCheckpointSync(opts: { signal?: AbortSignal } = {}): Promise<string | null> {
    const st = await this.client.syncCheckpointStatus(this.name, undefined, { signal: opts.signal });
    return st.success ?? st.periodic ?? null;
  }

  /** The checkpoints in the sync bucket (and `read_bucket`), oldest first (`GET .../checkpoints/remote`). */
  remoteCheckpoints(opts: { signal?: AbortSignal } = {}): Promise<RemoteCheckpoint[]> {
    return this.client.remoteCheckpoints(this.name, opts);
  }

  /**
   * `checkpoint_sync` of `GET .../checkpoint/sync_status` (Holdfast's extension of Feldera's sync status): the
   * push in progress, the last push and pull, counters, the activation; null without it.
   */
  async syncProgress(opts: { signal?: AbortSignal } = {}): Promise<CheckpointSyncStats | null> {
    const st = await this.client.syncCheckpointStatus(this.name, undefined, { signal: opts.signal });
    return st.checkpoint_sync ?? null;
  }

  /** `/stats`. */
  stats(opts: { signal?: AbortSignal; includeConnectorErrors?: boolean } = {}): Promise<PipelineStats> {
    return this.client.stats(this.name, opts);
  }

  /** Prometheus metrics text. */
  metrics(opts: { signal?: AbortSignal } = {}): Promise<string> {
    return this.client.metrics(this.name, 'prometheus', opts);
  }

  /**
   * Pushes rows into `table` as a JSON array (`format=json&update_format=…&array=true`) and returns the
   * completion token; with `wait`, returns once the data is fully processed.
   */
  async inputJson(
    table: string,
    rows: JsonRow | readonly JsonRow[],
    opts: InputJsonOptions = {},
  ): Promise<string> {
    const updateFormat = opts.updateFormat ?? 'raw';
    if (updateFormat !== 'raw' && updateFormat !== 'insert_delete') {
      throw new ClientError(
        'InvalidArgument',
        `updateFormat must be 'raw' or 'insert_delete', got '${updateFormat}'`,
        {
          update_format: updateFormat,
        },
      );
    }
    const signal = opts.signal;
    if (!opts.force && (await this.status({ signal })) === 'Paused') {
      throw new ClientError(
        'InvalidState',
        `pipeline '${this.name}' is paused; resume it or pass force: true to push data while paused`,
        { pipeline_name: this.name, deployment_status: 'Paused' },
      );
    }
    const array = Array.isArray(rows) ? rows : [rows];
    const { token } = await this.client.ingress(this.name, table, JSON.stringify(array), {
      format: 'json',
      updateFormat,
      array: true,
      force: opts.force,
      signal,
    });
    if (opts.wait) await this.waitForToken(token, opts);
    return token;
  }

  /** Polls `completion_status` with Feldera's backoff (0.1 s × 1.2^n, cap 5 s) until `complete`. */
  async waitForToken(token: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const cs = await polled(
        () => this.client.completionStatus(this.name, token, { signal: opts.signal }),
        deadline,
        opts.signal,
      );
      if (cs.status === 'complete') return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ClientError(
          'WaitTimeout',
          `timed out after ${opts.timeoutMs} ms waiting for pipeline '${this.name}' to process pushed data`,
          { pipeline_name: this.name, token },
        );
      }
      await sleep(Math.min(backoffDelay(attempt), left), opts.signal);
    }
  }

  /** Polls `/stats` until `pipeline_complete` (every input reached its end and all was processed). */
  async waitForCompletion(opts: WaitForCompletionOptions = {}): Promise<void> {
    const interval = opts.pollIntervalMs ?? 1000;
    const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
    for (;;) {
      const stats = await this.client.stats(this.name, { signal: opts.signal });
      const complete = stats?.global_metrics?.pipeline_complete;
      if (typeof complete !== 'boolean') {
        throw new ClientError(
          'InvalidResponse',
          `pipeline '${this.name}': /stats has no global_metrics.pipeline_complete`,
          {
            pipeline_name: this.name,
          },
        );
      }
      if (complete) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ClientError(
          'WaitTimeout',
          `timed out after ${opts.timeoutMs} ms waiting for pipeline '${this.name}' to complete`,
          { pipeline_name: this.name },
        );
      }
      await sleep(Math.min(interval, left), opts.signal);
    }
    if (opts.forceStop) await this.stop({ force: true, signal: opts.signal });
  }

  /**
   * Runs an ad-hoc query (`format=json`) and yields one row object per result line. Throws `ApiError` if the
   * server answers an error, including one reported mid-stream.
   */
  async *query(sql: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<JsonRow> {
    const res = await this.client.query(this.name, sql, 'json', opts);
    for await (const line of readLines(res.body)) {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new ClientError('InvalidResponse', `query result line is not JSON: ${line.slice(0, 200)}`, {
          pipeline_name: this.name,
        });
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ClientError(
          'InvalidResponse',
          `query result line is not a JSON object: ${line.slice(0, 200)}`,
          {
            pipeline_name: this.name,
          },
        );
      }
      const row = value as JsonRow;
      if (isErrorLine(row)) {
        throw new ApiError({
          status: res.status,
          errorCode: row.error_code as string,
          message: row.message as string,
          details: (row.details as Record<string, unknown> | null | undefined) ?? null,
          method: 'GET',
          path: `/v0/pipelines/${encodeURIComponent(this.name)}/query`,
        });
      }
      yield row;
    }
  }

  /** Runs an ad-hoc query and returns its text-table rendering (`format=text`). */
  async queryTabular(sql: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    return (await this.client.query(this.name, sql, 'text', opts)).text();
  }

  /** Runs an ad-hoc query and returns the hash of its result (`format=hash`). */
  async queryHash(sql: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    return (await (await this.client.query(this.name, sql, 'hash', opts)).text()).trim();
  }

  /** Runs a statement (e.g. `INSERT`) and discards its result. */
  async execute(sql: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    for await (const _ of this.query(sql, opts)) {
      // drain
    }
  }

  /**
   * Subscribes to `view` and yields its changes (`{insert: row}` / `{delete: row}`), skipping heartbeats. The
   * subscription starts now; `close()`, the signal or leaving the loop ends it.
   */
  listen(view: string, opts: ListenOptions = {}): ResponseStream<JsonChange> {
    return this.client
      .egress(this.name, view, {
        format: 'json',
        backpressure: opts.backpressure ?? true,
        sendSnapshot: opts.sendSnapshot,
        signal: opts.signal,
      })
      .pipe(async function* (chunks) {
        for await (const chunk of chunks) if (chunk.json_data) yield* chunk.json_data;
      });
  }

  /** The pipeline's log lines (replayed, then followed). */
  logs(opts: { signal?: AbortSignal } = {}): ResponseStream<string> {
    return this.client.logs(this.name, opts);
  }

  async #poll(
    what: string,
    opts: { timeoutMs?: number; signal?: AbortSignal },
    check: (d: PipelineStatusDescr) => boolean | Error,
  ): Promise<PipelineStatusDescr> {
    const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
    for (;;) {
      const d = await polled(
        () => this.client.getPipeline(this.name, 'status', { signal: opts.signal }),
        deadline,
        opts.signal,
      );
      const r = check(d);
      if (r === true) return d;
      if (r instanceof Error) throw r;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ClientError(
          'WaitTimeout',
          `timed out after ${opts.timeoutMs} ms waiting for pipeline '${this.name}' to ${what} (deployment_status ${d.deployment_status}, desired ${d.deployment_desired_status})`,
          {
            pipeline_name: this.name,
            waiting_for: what,
            deployment_status: d.deployment_status,
            deployment_desired_status: d.deployment_desired_status,
          },
        );
      }
      await sleep(Math.min(this.pollIntervalMs, left), opts.signal);
    }
  }
}

/** Consecutive retries of one polled request that failed with a retryable `ApiError`, at most. */
const POLL_RETRIES = 10;

/**
 * One request of a wait loop: a retryable `ApiError` (the error catalog's `retryable`, e.g. `Initializing`,
 * `PipelineInteractionUnreachable`) is sent again after its `Retry-After` (else the poll backoff), at most
 * {@link POLL_RETRIES} times and never past `deadline`; any other error is thrown at once.
 */
async function polled<T>(request: () => Promise<T>, deadline: number, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await request();
    } catch (e) {
      if (!isApiError(e) || !e.retryable || attempt >= POLL_RETRIES) throw e;
      const delay = e.retryAfterMs ?? backoffDelay(attempt);
      if (Date.now() + delay > deadline) throw e;
      await sleep(delay, signal);
    }
  }
}

/** A `{"message", "error_code"[, "details"]}` line appended by the server when a query fails mid-stream. */
function isErrorLine(row: JsonRow): boolean {
  const keys = Object.keys(row);
  return (
    typeof row.error_code === 'string' &&
    typeof row.message === 'string' &&
    keys.every((k) => k === 'message' || k === 'error_code' || k === 'details')
  );
}
