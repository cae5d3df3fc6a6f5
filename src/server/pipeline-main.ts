/**
 * `holdfast pipeline run --config FILE`: one pipeline process, runnable alone or spawned by the manager.
 *
 * The config file is JSON: Feldera's PipelineConfig (runtime_config fields flattened at top level, `name`,
 * `given_name`, `storage_config`) plus `program_code` (the SQL), `udf_ts` (TypeScript UDFs, optional; part of
 * the program: its fingerprint and every restore recompile it with the SQL) and `http` (`{bind, port}`; default
 * 127.0.0.1, port 0 = any free port), `initial` (`running`|`paused`|`standby`, default `running`) and `bootstrap_policy`
 * (`allow`|`reject`|`await_approval`, default `allow` as Feldera's pipeline CLI). It listens before it
 * initializes (restore, bootstrap decision, connectors; see lifecycle.ts) and prints one JSON line to stdout,
 * `{"event":"listening","port":N}`, once initialization is done, failed, or waits for an approval or a
 * bootstrap — the manager (and tests) read the port from it and then follow `/status`. An initialization
 * error (e.g. BootstrapRejected) ends a pipeline run alone (`error [Code]: …` on stderr, exit 1); a managed
 * one (`HOLDFAST_MANAGED=1`) keeps serving it on `/status` until stopped, for the manager to report. Logs go to stderr as JSON
 * lines in the format of util/log.ts, at `--log-level` (the manager passes its own); runtime fields it accepts without acting on them (`workers`, ...) are logged once as warnings at start.
 * SIGTERM/SIGINT stop it cleanly.
 *
 * Environment: `HOLDFAST_PIPELINE_KEY` (the manager sets a fresh random one per spawn) makes every HTTP route
 * require `Authorization: Bearer <key>`; it is removed from the process environment once read and is never
 * logged. `HOLDFAST_MAX_INGRESS_BYTES` limits one ingress body (default: no limit). Ingress bodies over 8 MiB
 * are spooled under `<storage>/ingress-spool/` (emptied at start), or the OS temp dir without storage.
 */

import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { startConnectors } from '../connectors/connectors.ts';
import { checkpointExtra, decideResume, type ResumeDecision } from '../controller/bootstrap.ts';
import { Controller, type ControllerOptions } from '../controller/controller.ts';
import { FtJournal } from '../controller/ft-journal.ts';
import { enableStateSpill, StoreCheckpointWriter, savedConnectors } from '../controller/store-writer.ts';
import { WarmState } from '../controller/warm-state.ts';
import { byteLimit } from '../errors/http-reply.ts';
import { readUserFile } from '../errors/read-user-file.ts';
import { ServiceError, toServiceError } from '../errors/service-error.ts';
import { backfillPace } from '../sql/concurrent-bootstrap.ts';
import { compileProgram, type Program, type SqlCircuit } from '../sql/program.ts';
import { describeProgram } from '../sql/program-diff.ts';
import { SQL_VALUE_CODECS } from '../sql/values/codecs.ts';
import { causedByTransient, OPERATION_ATTEMPTS } from '../sync/retry.ts';
import {
  type ActivationMarker,
  invalidStandby,
  readActivationMarker,
  readPendingActivation,
  removePendingActivation,
  Standby,
  type StandbyOptions,
  type StandbyResult,
  writeActivationMarker,
  writePendingActivation,
} from '../sync/standby.ts';
import { SyncService } from '../sync/sync-service.ts';
import { type PipelineIdentity, type PullOutcome, Synchronizer } from '../sync/synchronizer.ts';
import { FtConfigError, type FtSettings, ftSettings, standbyProblem } from '../types/ft-config.ts';
import type { BootstrapPolicy } from '../types/pipeline-api.ts';
import { runtimeConfigWarnings } from '../types/runtime-fields.ts';
import { describeSync, type SyncSettings } from '../types/sync-config.ts';
import { sleep } from '../util/backoff.ts';
import { DurableTempFile } from '../util/durable-file.ts';
import { createLogger, type LogFn, type LogLevel, logFn } from '../util/log.ts';
import { PipelineLifecycle } from './lifecycle.ts';
import { PipelineMetrics } from './pipeline-metrics.ts';
import { type ActivationSummary, createPipelineServer, type SyncHandle } from './pipeline-server.ts';

export interface PipelineProcessConfig {
  readonly name?: string;
  readonly given_name?: string;
  readonly program_code: string;
  /** TypeScript implementing the functions declared without a body (default ''). */
  readonly udf_ts?: string;
  readonly http?: { readonly bind?: string; readonly port?: number };
  readonly initial?: 'running' | 'paused' | 'standby';
  readonly bootstrap_policy?: BootstrapPolicy;
  /** Feldera's `silent_bootstrap`: views rebuilt by a bootstrap are not sent in full to their outputs. */
  readonly silent_bootstrap?: boolean;
  /** Feldera's `concurrent_bootstrap`: views rebuilt by a bootstrap are backfilled while the pipeline runs. */
  readonly concurrent_bootstrap?: boolean;
  readonly storage_config?: { readonly path?: string } | null;
  readonly [k: string]: unknown;
}

/** Keys of the process config file that are not runtime_config fields (see the module header). */
const PROCESS_CONFIG_FIELDS = [
  'name',
  'given_name',
  'program_code',
  'udf_ts',
  'http',
  'initial',
  'bootstrap_policy',
  'silent_bootstrap',
  'concurrent_bootstrap',
  'storage_config',
];

export function readPipelineConfig(path: string): PipelineProcessConfig {
  const text = readUserFile(path, 'pipeline config');
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new ServiceError(
      'InvalidArguments',
      `pipeline config '${path}' is not valid JSON: ${(e as Error).message}`,
      { path },
    );
  }
  if (
    typeof cfg !== 'object' ||
    cfg === null ||
    typeof (cfg as { program_code?: unknown }).program_code !== 'string'
  ) {
    throw new ServiceError(
      'InvalidArguments',
      `pipeline config '${path}' needs a "program_code" string with the SQL program`,
      { path },
    );
  }
  const udfTs = (cfg as { udf_ts?: unknown }).udf_ts;
  if (udfTs !== undefined && udfTs !== null && typeof udfTs !== 'string')
    throw new ServiceError(
      'InvalidArguments',
      `pipeline config '${path}': "udf_ts" must be a string with the TypeScript UDFs`,
      { path },
    );
  const initial = (cfg as { initial?: unknown }).initial;
  if (initial !== undefined && initial !== 'running' && initial !== 'paused' && initial !== 'standby') {
    throw new ServiceError(
      'InvalidArguments',
      `"initial" must be "running", "paused" or "standby", got ${JSON.stringify(initial)}`,
      { path },
    );
  }
  const policy = (cfg as { bootstrap_policy?: unknown }).bootstrap_policy;
  if (policy !== undefined && policy !== 'allow' && policy !== 'reject' && policy !== 'await_approval') {
    throw new ServiceError(
      'InvalidArguments',
      `"bootstrap_policy" must be "allow", "reject" or "await_approval", got ${JSON.stringify(policy)}`,
      { path },
    );
  }
  const clock = (cfg as { clock_resolution_usecs?: unknown }).clock_resolution_usecs;
  if (
    clock !== undefined &&
    clock !== null &&
    (typeof clock !== 'number' || !Number.isInteger(clock) || clock < 1)
  ) {
    throw new ServiceError(
      'InvalidArguments',
      `"clock_resolution_usecs" must be a positive integer (microseconds), got ${JSON.stringify(clock)}`,
      { path },
    );
  }
  return cfg as PipelineProcessConfig;
}

/**
 * Splits a checkpoint's `inputs` into connector positions and the records after each position the checkpoint
 * already holds (`{position, skip}` entries; a bare position from an older checkpoint means skip 0).
 */
export function splitInputPositions(inputs: Readonly<Record<string, unknown>>): {
  inputs: Record<string, unknown>;
  skips: Record<string, number>;
} {
  const positions: Record<string, unknown> = {};
  const skips: Record<string, number> = {};
  for (const [name, v] of Object.entries(inputs)) {
    if (typeof v === 'object' && v !== null && 'skip' in v && 'position' in v) {
      const e = v as { position: unknown; skip: unknown };
      if (e.position !== null) positions[name] = e.position;
      skips[name] = typeof e.skip === 'number' ? e.skip : 0;
    } else positions[name] = v;
  }
  return { inputs: positions, skips };
}

/**
 * Who pushes checkpoints: the `name` the manager gives (`pipeline-<id>`, stable across renames) or, for a
 * pipeline run alone without one, an id created once and kept in its storage directory.
 */
async function pipelineIdentity(cfg: PipelineProcessConfig, storageDir: string): Promise<PipelineIdentity> {
  const display = cfg.given_name ?? cfg.name ?? 'pipeline';
  if (typeof cfg.name === 'string' && cfg.name !== '') return { id: cfg.name, name: display };
  const path = join(storageDir, 'pipeline-id');
  try {
    const id = (await readFile(path, 'utf8')).trim();
    if (id !== '') return { id, name: display };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const id = `pipeline-${randomUUID()}`;
  await mkdir(storageDir, { recursive: true });
  // durably, and only if no other start created it meanwhile (a crash must not leave an empty identity)
  const tmp = await DurableTempFile.create(path);
  await tmp.write(`${id}\n`);
  await tmp.commit('link').catch((e: unknown) => {
    if ((e as { details?: { os_code?: string } }).details?.os_code !== 'EEXIST') throw e;
  });
  return { id: (await readFile(path, 'utf8')).trim(), name: display };
}

/**
 * `start_from_checkpoint`: a matching local checkpoint, else `bucket`, else `read_bucket`. No checkpoint at all:
 * fail (`fail_if_no_checkpoint`) or start from scratch and say so; access errors, transient errors that outlast
 * their retries, and a bucket whose checkpoints are all corrupt always fail (Synchronizer.pull throws).
 */
async function pullAtStart(
  synchronizer: Synchronizer,
  settings: SyncSettings,
  life: PipelineLifecycle,
  log: LogFn,
): Promise<PullOutcome> {
  const target = settings.startFromCheckpoint as string;
  life.reason = `downloading checkpoint ${target} from object storage`;
  let outcome: PullOutcome;
  try {
    outcome = await synchronizer.pull(target);
  } finally {
    life.reason = null;
  }
  if (outcome.kind === 'local')
    log(
      'info',
      `start_from_checkpoint ${target}: using local checkpoint ${outcome.uuid} (nothing to download)`,
      {
        uuid: outcome.uuid,
      },
    );
  if (outcome.kind === 'none') {
    if (settings.failIfNoCheckpoint)
      throw new ServiceError(
        'CheckpointFetchError',
        `Error fetching checkpoint from object store: ${outcome.reason}; the start fails because fail_if_no_checkpoint is true`,
        { start_from_checkpoint: target },
      );
    const msg = `${outcome.reason}; starting from scratch (fail_if_no_checkpoint is false)`;
    log('warn', msg, { start_from_checkpoint: target });
    life.reason = msg;
  }
  return outcome;
}

/**
 * Runs `fn`, retrying it as a whole (at most {@link OPERATION_ATTEMPTS} times, with backoff) when it fails
 * transiently after its requests' own retries.
 */
async function retryTransient<T>(
  what: string,
  synchronizer: Synchronizer,
  log: LogFn,
  fn: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!causedByTransient(e) || attempt >= OPERATION_ATTEMPTS) throw e;
      const delayMs = synchronizer.retrier.policy.initialMs * 2 ** attempt;
      log(
        'warn',
        `${what} failed transiently (attempt ${attempt} of ${OPERATION_ATTEMPTS}), retrying in ${(delayMs / 1000).toFixed(1)} s: ${(e as Error).message}`,
        { attempt },
      );
      await sleep(delayMs);
    }
  }
}

/**
 * Standby until `POST /activate`, then the takeover: the final pull's checkpoint (or none, when the bucket is
 * empty and `fail_if_no_checkpoint` is false), the epoch bump that fences the former owner, the marker (while
 * the warm state applies the final delta). The accepted activation is recorded before the takeover
 * (activation-pending.json, written during the final pull), so that a failed one is finished by the next start,
 * whatever its mode ({@link finishPendingActivation}).
 */
async function standbyThenActivate(
  synchronizer: Synchronizer,
  settings: SyncSettings,
  store: StandbyOptions['store'],
  warm: WarmState,
  sync: SyncHandle,
  life: PipelineLifecycle,
  dir: string,
  log: LogFn,
): Promise<{ result: StandbyResult; epoch: number }> {
  let epoch = 0;
  const standby = new Standby({
    synchronizer,
    settings,
    store,
    warm,
    log,
    onActivationRequested: () =>
      writePendingActivation(dir, { requested_at: new Date().toISOString(), initial: life.desired }),
    // right after the final pull, while the warm state applies its delta
    takeOver: async (uuid, reason) => {
      life.initializing(`activating: taking over ${synchronizer.bucket.description}`);
      epoch = await takeOverAndMark(synchronizer, settings, uuid, reason, life, dir, log);
    },
  });
  sync.standby = standby;
  life.standby(standby);
  const result = await standby.run();
  log('info', 'pipeline activated', {
    checkpoint: result.uuid,
    epoch,
    warm: result.warm,
    final_pull_bytes: result.finalPull.bytes,
  });
  return { result, epoch };
}

/**
 * The takeover of an activation: `fail_if_no_checkpoint` when there is nothing to start from, the epoch bump
 * (retried when it fails transiently), the activation marker, the pending record removed. Returns the epoch.
 */
async function takeOverAndMark(
  synchronizer: Synchronizer,
  settings: SyncSettings,
  uuid: string | null,
  reason: string | null,
  life: PipelineLifecycle,
  dir: string,
  log: LogFn,
): Promise<number> {
  if (uuid === null) {
    if (settings.failIfNoCheckpoint)
      throw new ServiceError(
        'CheckpointFetchError',
        `Error fetching checkpoint from object store: ${reason}; the activation fails because fail_if_no_checkpoint is true (set it to false to activate from scratch)`,
        { start_from_checkpoint: settings.startFromCheckpoint },
      );
    const msg = `${reason}; activated from scratch (fail_if_no_checkpoint is false)`;
    log('warn', msg, { start_from_checkpoint: settings.startFromCheckpoint });
  }
  let epoch: number;
  try {
    epoch = (
      await retryTransient('the takeover of the checkpoint bucket', synchronizer, log, () =>
        synchronizer.takeOver(uuid),
      )
    ).epoch;
  } catch (e) {
    const err = toServiceError(e);
    throw new ServiceError(
      err.errorCode,
      `activation failed: could not take over checkpoint bucket ${synchronizer.bucket.description}: ${err.message}`,
      err.details,
    );
  }
  const marker: ActivationMarker = {
    checkpoint: uuid,
    activated_at: new Date().toISOString(),
    epoch,
    initial: life.desired,
    bucket: synchronizer.bucket.description,
  };
  await writeActivationMarker(dir, marker);
  await removePendingActivation(dir);
  life.reason = uuid === null ? `${reason}; activated from scratch` : null;
  return epoch;
}

/**
 * A start after an activation that was accepted but did not finish (activation-pending.json, no activation
 * marker): whatever mode the pipeline is started in, it finishes the takeover before it runs - the newest
 * checkpoint of the bucket (the one it holds locally if that is still the newest), the epoch bump that fences
 * the former owner, the marker. Returns the checkpoint to start from (null: scratch).
 */
async function finishPendingActivation(
  synchronizer: Synchronizer,
  settings: SyncSettings,
  store: StandbyOptions['store'],
  life: PipelineLifecycle,
  dir: string,
  log: LogFn,
): Promise<{ uuid: string | null; epoch: number }> {
  const target = settings.startFromCheckpoint ?? 'latest';
  log('warn', 'an activation of this pipeline did not finish: finishing the takeover before running', {
    start_from_checkpoint: target,
  });
  life.reason = `finishing an interrupted activation: taking over ${synchronizer.bucket.description}`;
  const current = (await store.latest({ verify: 'size' }))?.uuid ?? null;
  const out = await retryTransient("the interrupted activation's pull", synchronizer, log, () =>
    synchronizer.pull(target, { skipLocal: true, current }),
  );
  const uuid = out.kind === 'none' ? null : out.uuid;
  const epoch = await takeOverAndMark(
    synchronizer,
    settings,
    uuid,
    out.kind === 'none' ? out.reason : null,
    life,
    dir,
    log,
  );
  log('info', 'pipeline activated', { checkpoint: uuid, epoch, finished_after_restart: true });
  return { uuid, epoch };
}

/** What a pipeline process start knows before its engine exists (built once by {@link runPipelineProcess}). */
interface StartContext {
  readonly cfg: PipelineProcessConfig;
  readonly ft: FtSettings;
  readonly syncSettings: SyncSettings | null;
  /** Where checkpoints and the journal live: storage_config.path, or `storage` next to the config file. */
  readonly storageDir: string | undefined;
  readonly program: Program;
  readonly fingerprint: string;
  readonly life: PipelineLifecycle;
  readonly sync: SyncHandle;
  readonly metrics: PipelineMetrics;
  readonly log: LogFn;
}

type Connectors = Awaited<ReturnType<typeof startConnectors>>;

interface Initialized {
  readonly controller: Controller;
  readonly connectors: Connectors;
  readonly activation: Omit<ActivationSummary, 'seconds'> | null;
}

/**
 * Starts the pipeline process. Managed: resolves once listening. Run alone: resolves once initialized (it may
 * wait for a bootstrap approval), rejects with the initialization error.
 */
export async function runPipelineProcess(configPath: string, logLevel: LogLevel = 'info'): Promise<void> {
  const ctx = await startContext(configPath, logLevel);
  const { cfg, life, sync, log } = ctx;
  const key = process.env.HOLDFAST_PIPELINE_KEY || null;
  delete process.env.HOLDFAST_PIPELINE_KEY; // not inherited by anything this process starts
  const maxIngressBytes = byteLimit(process.env.HOLDFAST_MAX_INGRESS_BYTES, 'HOLDFAST_MAX_INGRESS_BYTES');
  const spoolDir = ctx.storageDir === undefined ? undefined : join(ctx.storageDir, 'ingress-spool');
  if (spoolDir !== undefined) await rm(spoolDir, { recursive: true, force: true }); // bodies cut off by a crash
  let running: Initialized | null = null;
  const server = createPipelineServer(life, {
    name: cfg.given_name ?? cfg.name ?? 'pipeline',
    metrics: ctx.metrics,
    sync,
    key,
    maxIngressBytes,
    connectors: () => running?.connectors.status() ?? [],
    ...(spoolDir !== undefined ? { spoolDir } : {}),
    ...(ctx.storageDir !== undefined ? { storageDir: ctx.storageDir } : {}),
  });
  const bind = cfg.http?.bind ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.http?.port ?? 0, bind, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  log('info', `pipeline listening on ${bind}:${port}`, { port });
  // announced once initialization is done, failed, or waits (approval, bootstrap): a fast start is ready to
  // take input when the line appears, a slow one can be watched through /status
  const managed = process.env.HOLDFAST_MANAGED === '1';
  void life.leftInitializing.then(() => {
    if (managed || life.phase.kind !== 'Failed')
      process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
  });
  stopOnSignals(ctx, server, () => running, managed);
  const initialized = initializePipeline(ctx).then(
    (r) => {
      running = r;
      life.ready(r.controller);
      if (r.activation !== null && life.activationRequestedAt !== null) {
        const seconds = (performance.now() - life.activationRequestedAt) / 1000;
        sync.activation = { ...r.activation, seconds: Number(seconds.toFixed(3)) };
        log('info', `activation took ${seconds.toFixed(3)} s`, { ...sync.activation });
      }
    },
    (e: unknown) => {
      const err = toServiceError(e);
      log('error', `initialization failed: [${err.errorCode}] ${err.message}`, { error_code: err.errorCode });
      life.fail(err);
      // run alone, an initialization error ends the process (`error [Code]: …`, exit 1); managed, the process
      // keeps serving it on /status so the manager records it as the deployment error
      if (!managed) {
        server.close();
        server.closeAllConnections();
        throw err;
      }
    },
  );
  if (!managed) await initialized;
}

/** Reads and checks the config, compiles the program, and builds the lifecycle and metrics of the process. */
async function startContext(configPath: string, logLevel: LogLevel): Promise<StartContext> {
  const cfg = readPipelineConfig(configPath);
  const name = cfg.given_name ?? cfg.name ?? 'pipeline';
  const log = logFn(createLogger({ level: logLevel, bindings: { pipeline: name } }));
  let ft: FtSettings;
  try {
    ft = ftSettings(cfg, dirname(resolvePath(configPath)));
  } catch (e) {
    if (e instanceof FtConfigError) throw new ServiceError(e.code, e.message, e.details);
    throw e;
  }
  const syncSettings = ft.storage?.sync ?? null;
  if (syncSettings && syncSettings.unknownFields.length > 0)
    log('warn', `sync config: ignoring unknown field(s) ${syncSettings.unknownFields.join(', ')}`, {
      fields: syncSettings.unknownFields,
    });
  // runtime fields accepted without effect: once per start, so an operator sees why e.g. `workers` changed nothing
  for (const w of runtimeConfigWarnings(cfg, PROCESS_CONFIG_FIELDS))
    log('warn', w.message, { runtime_field: w.field });
  const udfTs = typeof cfg.udf_ts === 'string' ? cfg.udf_ts : '';
  const program = await compileProgram(cfg.program_code, { udfTs });
  return {
    cfg,
    ft,
    syncSettings,
    storageDir: ft.storage
      ? (cfg.storage_config?.path ?? join(dirname(resolvePath(configPath)), 'storage'))
      : undefined,
    program,
    // the SQL alone when there is no udf_ts, so checkpoints of programs without UDFs keep their fingerprint
    fingerprint: createHash('sha256')
      .update(udfTs === '' ? cfg.program_code : `${cfg.program_code}\u0000udf_ts\u0000${udfTs}`)
      .digest('hex')
      .slice(0, 16),
    // serve /status (and /approve) from the start: initialization may wait for a bootstrap approval
    life: new PipelineLifecycle({
      desired: cfg.initial === 'paused' ? 'Paused' : 'Running', // a standby runs once activated
      policy: cfg.bootstrap_policy ?? 'allow',
      silentBootstrap: cfg.silent_bootstrap === true,
      concurrentBootstrap: cfg.concurrent_bootstrap === true,
    }),
    sync: { synchronizer: null, service: null, configured: syncSettings !== null },
    // one metric registry for the process: the server exposes it, the engine feeds its histograms
    metrics: new PipelineMetrics(name),
    log,
  };
}

/** SIGTERM, SIGINT and (managed) the manager's exit stop connectors, sync and engine, then the process. */
function stopOnSignals(
  ctx: StartContext,
  server: ReturnType<typeof createPipelineServer>,
  running: () => Initialized | null,
  managed: boolean,
): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    ctx.log('info', `received ${signal}, stopping`);
    const r = running();
    const finish = () => {
      ctx.sync.service?.stop();
      r?.controller.terminate();
      server.closeAllConnections();
      // let a checkpoint being written finish (it is atomic either way), then exit
      void (r?.controller.checkpointer?.flush() ?? Promise.resolve()).finally(() =>
        server.close(() => process.exit(0)),
      );
    };
    (r?.connectors.stop() ?? Promise.resolve()).then(finish, (e: unknown) => {
      ctx.log('error', `stopping connectors failed: ${(e as Error).message}`);
      finish();
    });
    setTimeout(() => process.exit(0), 2000).unref();
  };
  if (managed) {
    process.stdin.on('data', () => {});
    process.stdin.once('end', () => stop('the manager exited'));
  }
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Where the engine starts from: the checkpoint to restore (if any) and how it was obtained. */
interface StartPoint {
  writer: StoreCheckpointWriter | null;
  restore: ControllerOptions['restore'];
  restoredOutputs: Record<string, unknown>;
  resumed: ResumeDecision | null;
  pullOutcome: PullOutcome | null;
  /** The journal on disk does not continue the checkpoint restored (it came from the bucket). */
  discardJournal: boolean;
  /** A standby's circuit that already holds the checkpoint's state. */
  warmCircuit: SqlCircuit | null;
  activation: Omit<ActivationSummary, 'seconds'> | null;
}

/** Restore (local, bucket or standby), journal, controller, connectors and the sync service, in that order. */
async function initializePipeline(ctx: StartContext): Promise<Initialized> {
  const wantsStandby = ctx.cfg.initial === 'standby' || ctx.syncSettings?.standby === true;
  const standbyRefusal = wantsStandby ? standbyProblem(ctx.ft) : null;
  if (standbyRefusal !== null) throw invalidStandby(standbyRefusal);
  const start: StartPoint = {
    writer: null,
    restore: undefined,
    restoredOutputs: {},
    resumed: null,
    pullOutcome: null,
    discardJournal: false,
    warmCircuit: null,
    activation: null,
  };
  // Storage: checkpoints live under storage_config.path (the manager sets it per pipeline), or next to the
  // config file for a pipeline run alone.
  if (ctx.storageDir !== undefined && ctx.ft.storage !== null)
    // state beyond memory: large trace batches live in files under the storage directory (before any restore,
    // which opens a checkpoint's batch files there)
    enableStateSpill(join(ctx.storageDir, 'spill'), ctx.ft.storage, SQL_VALUE_CODECS);
  if (ctx.storageDir !== undefined) await restoreFromStorage(ctx, ctx.storageDir, wantsStandby, start);
  return startEngine(ctx, start);
}

/** Opens the checkpoint store, resolves the sync start (pending activation, standby, pull) and plans the resume. */
async function restoreFromStorage(
  ctx: StartContext,
  dir: string,
  wantsStandby: boolean,
  start: StartPoint,
): Promise<void> {
  const { log, sync } = ctx;
  const storeDir = join(dir, 'checkpoint-store');
  const store = StoreCheckpointWriter.store(storeDir, SQL_VALUE_CODECS, log);
  const startUuid =
    ctx.syncSettings === null
      ? undefined
      : await syncStart(ctx, ctx.syncSettings, dir, store, wantsStandby, start);
  const opened = await StoreCheckpointWriter.open(storeDir, SQL_VALUE_CODECS, log, {
    store,
    ...(startUuid !== undefined ? { uuid: startUuid } : {}),
    adopt: start.warmCircuit !== null,
  });
  const writer = opened.writer;
  start.writer = writer;
  const latest = opened.latest;
  // pushes are checked against it: one that would bury newer checkpoints of the bucket is refused
  if (sync.synchronizer)
    sync.synchronizer.startedFrom = opened.adopted?.manifest.uuid ?? latest?.entry.uuid ?? null;
  const description = describeProgram(ctx.program.instantiate());
  writer.extra = checkpointExtra(description);
  if (opened.adopted) {
    // warm standby: the circuit holds this checkpoint's state already (same program: no bootstrap)
    const m = opened.adopted.manifest;
    start.restore = {
      processedRecords: m.processed_records,
      transactionId: m.transaction_id ?? 0,
      ...splitInputPositions(m.inputs ?? {}),
      connectors: savedConnectors(m.extra),
    };
    start.restoredOutputs = { ...(m.outputs ?? {}) };
    log(
      'info',
      `resuming from checkpoint ${m.uuid} (${m.processed_records} records processed; state preloaded by the standby)`,
      { checkpoint: m.uuid },
    );
    return;
  }
  if (!latest) return;
  // a changed program: diff, bootstrap policy, bootstrap (sql/bootstrap.ts)
  const resumed = await decideResume(
    ctx.program,
    description,
    ctx.fingerprint,
    {
      uuid: latest.entry.uuid,
      fingerprint: latest.manifest.fingerprint,
      extra: latest.manifest.extra,
      base: latest.snapshot,
      deltas: latest.deltas,
    },
    {
      decide: (diff) => ctx.life.decide(diff),
      bootstrapping: () => ctx.life.bootstrapping(),
      concurrent: () => ctx.life.concurrentBootstrap,
      log,
    },
  );
  start.resumed = resumed;
  // state keys of a changed program differ: a delta on top of the old checkpoint would not restore
  if (latest.manifest.fingerprint !== ctx.fingerprint) writer.requireFull();
  const positions = splitInputPositions(latest.manifest.inputs ?? {});
  // an input that restarts from scratch (its table or its connector changed) also takes its declared `paused`
  const connectors = savedConnectors(latest.manifest.extra);
  for (const ep of resumed.restartInputs) {
    delete positions.inputs[ep];
    delete positions.skips[ep];
    delete connectors[ep];
  }
  start.restore = {
    base: resumed.base,
    deltas: resumed.deltas,
    processedRecords: latest.manifest.processed_records,
    transactionId: latest.manifest.transaction_id ?? 0,
    ...positions,
    connectors,
  };
  start.restoredOutputs = Object.fromEntries(
    Object.entries(latest.manifest.outputs ?? {}).filter(
      ([ep]) => !resumed.rebuiltViews.has(ep.slice(0, ep.lastIndexOf('.'))),
    ),
  );
  log(
    'info',
    `resuming from checkpoint ${latest.entry.uuid} (${latest.manifest.processed_records} records processed)`,
    { checkpoint: latest.entry.uuid },
  );
}

/**
 * The checkpoint sync decides where to start: an accepted activation that did not finish is finished first; a
 * standby waits, pulling, until activated; otherwise `start_from_checkpoint` is pulled. Returns the checkpoint
 * UUID to open (undefined: the newest local one).
 */
async function syncStart(
  ctx: StartContext,
  settings: SyncSettings,
  dir: string,
  store: ReturnType<typeof StoreCheckpointWriter.store>,
  wantsStandby: boolean,
  start: StartPoint,
): Promise<string | undefined> {
  const { log, life, sync } = ctx;
  const synchronizer = new Synchronizer({
    settings,
    local: store,
    identity: await pipelineIdentity(ctx.cfg, dir),
    log,
    onTransfer: ctx.metrics.timings.transfer,
  });
  sync.synchronizer = synchronizer;
  log('info', `checkpoint sync to ${synchronizer.bucket.description}`, describeSync(settings));
  const marker = await readActivationMarker(dir);
  const pending = marker === null ? await readPendingActivation(dir) : null;
  if (pending !== null) {
    // an accepted activation did not finish: take over before running, in whatever mode this start is
    if (wantsStandby) life.desired = pending.initial === 'Paused' ? 'Paused' : 'Running';
    const done = await finishPendingActivation(synchronizer, settings, store, life, dir, log);
    start.discardJournal = true;
    return done.uuid ?? undefined;
  }
  if (wantsStandby && marker !== null) {
    life.desired = marker.initial === 'Paused' ? 'Paused' : 'Running';
    log(
      'info',
      `this pipeline was previously activated from checkpoint '${marker.checkpoint ?? 'scratch'}' (epoch ${marker.epoch}), skipping standby mode: resuming from its newest local checkpoint`,
      { ...marker },
    );
  } else if (wantsStandby) {
    const warm = new WarmState(ctx.program, ctx.fingerprint);
    const { result, epoch } = await standbyThenActivate(
      synchronizer,
      settings,
      store,
      warm,
      sync,
      life,
      dir,
      log,
    );
    if (result.warm) start.warmCircuit = warm.circuit;
    start.discardJournal = true; // the checkpoint came from the bucket: nothing journaled here continues it
    start.activation = {
      checkpoint: result.uuid,
      warm: result.warm,
      epoch,
      final_pull: {
        bytes: result.finalPull.bytes,
        files: result.finalPull.files,
        seconds: Number(result.finalPull.seconds.toFixed(3)),
        total_seconds: Number(result.finalPull.totalSeconds.toFixed(3)),
      },
      activated_at: new Date().toISOString(),
    };
    return result.uuid ?? undefined;
  }
  if (settings.startFromCheckpoint === null) return undefined;
  const newestLocal = (await store.latest({ verify: 'size' }))?.uuid ?? null;
  const pulled = await pullAtStart(synchronizer, settings, life, log);
  start.pullOutcome = pulled;
  if (pulled.kind === 'none') return undefined;
  // the journal continues the newest local checkpoint only
  start.discardJournal = pulled.uuid !== newestLocal;
  return pulled.uuid;
}

/** The journal, the controller, the connectors and the sync service, over the start point. */
async function startEngine(ctx: StartContext, start: StartPoint): Promise<Initialized> {
  const { ft, log, life, sync, metrics } = ctx;
  const { writer, restore, resumed } = start;
  let ftJournal: ControllerOptions['ft'];
  if (ctx.storageDir !== undefined && ft.model !== 'none') {
    // the journal: what happened since the checkpoint (exactly_once: every step; at_least_once: pushed data)
    // replay and bootstrap exclude each other: a changed program discards the journal
    if (resumed?.bootstrapped)
      log(
        'warn',
        'Pipeline has been modified since the checkpoint was taken; replay journal will be discarded',
      );
    ftJournal = FtJournal.open(
      join(ctx.storageDir, 'journal'),
      ft.model,
      restore?.transactionId ?? 0,
      SQL_VALUE_CODECS,
      {
        log: (m) => log('warn', m),
        discard: resumed?.bootstrapped === true || start.discardJournal,
        ...(writer ? { skipped: writer.store.skipped } : {}),
      },
    );
  }
  const clockResolution = ctx.cfg.clock_resolution_usecs;
  const controller = new Controller(ctx.program, {
    initialState: life.desired,
    ...(typeof clockResolution === 'number' && clockResolution >= 1
      ? { clockResolutionUsecs: clockResolution }
      : {}),
    log,
    ...(start.warmCircuit ? { circuit: start.warmCircuit } : {}),
    ...(restore ? { restore } : {}),
    ...(ftJournal ? { ft: ftJournal } : {}),
    deferInitialStep: true,
  });
  controller.timings.step = metrics.timings.step;
  controller.timings.checkpoint = metrics.timings.checkpoint;
  if (writer)
    controller.enableCheckpoints(writer, {
      intervalSecs: ft.checkpointIntervalSecs,
      fingerprint: ctx.fingerprint,
    });
  // Connectors declared in SQL (WITH ('connectors' = ...)); relative file paths resolve against the working
  // directory (the manager starts pipelines in its own). Replayable inputs resume from the checkpoint.
  const connectors = await startConnectors(controller, ctx.program, {
    log: (level, message, fields) => log(level, message, fields),
    ...(restore?.inputs ? { positions: restore.inputs as Record<string, never> } : {}),
    ft: ft.storage ? ft.model : 'none',
    outputs: start.restoredOutputs,
  });
  // bootstrapped views' full contents go to their outputs (connectors listen now), before the initial step;
  // with silent_bootstrap they do not (the outputs see only the changes from now on)
  if (resumed && resumed.outputs.size > 0) {
    if (life.silentBootstrap)
      log(
        'info',
        `silent bootstrap: the contents of ${[...resumed.outputs.keys()].join(', ')} are not re-emitted`,
      );
    else controller.emitBootstrap(resumed.outputs);
  }
  // a concurrent bootstrap backfills the rebuilt views between live steps and cuts over (controller.ts)
  if (resumed?.backfill) {
    const pace = backfillPace(process.env);
    resumed.backfill.sliceRows = pace.sliceRows;
    controller.startBackfill(resumed.backfill, { silent: life.silentBootstrap, pauseMs: pace.pauseMs });
  }
  controller.begin(); // output connectors listen now: they see the initial step too
  // a stop-the-world bootstrap discarded the journal: until a checkpoint of the new program is durable, a crash
  // would bootstrap from the old checkpoint again and discard the journal again, losing input acknowledged in
  // between. So the bootstrapped state is checkpointed before any route but /status takes input. (A
  // concurrent bootstrap checkpoints at its cut-over.)
  if (resumed?.bootstrapped === true && !resumed.backfill && writer) {
    const cp = controller.checkpointer;
    const ok = cp !== null && (await cp.wait(controller.checkpoint()));
    if (!ok)
      log(
        'warn',
        'the checkpoint after bootstrapping failed; input is taken, but a crash before the next checkpoint bootstraps again and loses it',
      );
  }
  if (sync.synchronizer && writer) {
    const service = new SyncService({
      synchronizer: sync.synchronizer,
      latestLocal: () => writer.list().at(-1)?.uuid ?? null,
      log,
      pushInterval: ctx.syncSettings?.pushInterval ?? null,
      // the status says so too: another pipeline took the bucket over, this one no longer pushes
      onFenced: (message) => {
        life.reason = `fenced: ${message}`;
      },
    });
    service.recordPull(start.pullOutcome);
    writer.pinned = () => service.pinned();
    sync.service = service;
    service.start();
  }
  return { controller, connectors, activation: start.activation };
}
