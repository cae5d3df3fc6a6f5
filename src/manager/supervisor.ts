/**
 * Runs pipeline processes for the manager: spawns `holdfast pipeline run --config FILE --log-level L` (the
 * manager's level), learns its port from its first stdout line, hands every line it prints to the pipeline's
 * persisted log (pipeline-logs.ts) together with its own lines about the process (started, serving, exited,
 * restarted, with pid, exit code or signal), polls its status, and restarts it with backoff when it dies
 * unexpectedly. Repeated failure ends in Stopped with `deployment_error` set — never a silent loop.
 *
 *   Stopped ──start──▶ Provisioning ──(port reported)──▶ Provisioned ──stop──▶ Stopping ──(exit)──▶ Stopped
 *                          ▲                                 │ crash
 *                          └────── restart after backoff ◀───┘  (5 crashes without 30 s of stable running
 *                                                                 ⇒ Stopped + deployment_error)
 *
 * The manager never links engine code: it talks to the pipeline over HTTP and reads the process's stdout.
 * Every stored log line has URL credentials redacted (pipeline-logs.ts).
 *
 * Each spawn gets a fresh random key (32 bytes), passed in the child's environment (`HOLDFAST_PIPELINE_KEY`),
 * never on its command line; the pipeline then refuses every request without `Authorization: Bearer <key>`.
 * The key lives only in this object's memory: not in the config file, the registry, logs or API answers.
 * {@link Supervisor.authHeaders} gives the header for the manager's own requests to the process, and
 * {@link Supervisor.client} a typed client (process-client.ts) that sends it.
 *
 * Pipeline processes run with {@link PIPELINE_NODE_FLAGS}.
 *
 * Files: `<data-dir>/pipelines/<id>/config.json` (the process config; holds the sync keys, so mode 0600, written
 * durably by util/durable-file.ts) in a directory of mode 0700, as is the pipeline's `storage/` directory; its
 * `logs/` belong to pipeline-logs.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ErrorResponse } from '../types/error-codes.ts';
import type { StorageStatusDetails } from '../types/pipeline-api.ts';
import { ensurePrivateDirSync, SECRET_FILE_MODE, writeFileDurableSync } from '../util/durable-file.ts';
import type { Logger, LogLevel } from '../util/log.ts';
import { PipelineLogs } from './pipeline-logs.ts';
import { ProcessClient } from './process-client.ts';

/**
 * Node flags of a pipeline process. `--liftoff-only`: WebAssembly (the Postgres grammar, libpg-query) runs on
 * V8's baseline compiler only. Optimizing the grammar's huge parser function, which V8 does in the background
 * once the SQL parser has run for a while, took about 450 MiB of memory for half a second shortly after start:
 * the largest peak of a pipeline process, larger than what it holds while ingesting a large body. SQL parsing
 * is not on a hot path. `--max-semi-space-size=16`: V8's young generation capped at 16 MiB per semi-space
 * (its default on a machine of this size grows to several times that): the young generation a pipeline keeps
 * after ingesting is that much smaller, which at 1M rows of state was about 75 bytes of RSS per row (302 → 226
 * B/row right after ingest; `npm run bench -- --only state-memory`), with no change in stepping time measurable
 * here. (V8 flags are frozen once Node starts, so these cannot be set from inside the process.)
 */
export const PIPELINE_NODE_FLAGS: readonly string[] = ['--liftoff-only', '--max-semi-space-size=16'];

export interface Deployment {
  readonly name: string;
  /** The pipeline's id (its directory and its log files). */
  id: string;
  child: ChildProcess | null;
  port: number | null;
  /** The current process's key (see the module header); null before the first spawn. */
  key: string | null;
  /** Set while we want the process to run. */
  wanted: boolean;
  crashes: number;
  /** When the current process started (a process that ran STABLE_MS resets the crash count). */
  startedAt: number;
  restartTimer: NodeJS.Timeout | null;
  pollTimer: NodeJS.Timeout | null;
}

export interface SupervisorEvents {
  /** The process reported its port (it is serving). */
  onReady(name: string, port: number, pid: number): void;
  /**
   * The pipeline's runtime status as polled from its `/status` (`Initializing`, `AwaitingApproval`, `Running`,
   * …), `Failed` with the error it answered (a failed initialization or step), or `Unavailable`.
   */
  onRuntime(
    name: string,
    state: string,
    error: ErrorResponse | null,
    details?: Record<string, unknown> | null,
    storage?: StorageStatusDetails | null,
  ): void;
  /** The process exited; `expected` when we stopped it. `gaveUp` after too many crashes. */
  onExit(name: string, expected: boolean, gaveUp: boolean, detail: string): void;
}

/** The wait before the first restart after a crash (`holdfast server --restart-backoff`); it doubles per crash. */
export const DEFAULT_RESTART_BACKOFF_MS = 250;
/** Restarts after crashes in a row before giving up. */
const MAX_RESTARTS = 5;
/** A process that stayed up this long is considered healthy again: its crash count restarts from zero. */
const STABLE_MS = 30_000;

export interface SupervisorOptions {
  /** The pipelines' persisted logs (default: kept under `dataDir`, manager lines not echoed anywhere). */
  readonly logs?: PipelineLogs;
  /** Passed to every pipeline process as `--log-level` (default info). */
  readonly logLevel?: LogLevel;
  /** The wait before the first restart after a crash, doubled for each next one (default 250 ms). */
  readonly restartBackoffMs?: number;
}

export class Supervisor {
  readonly #main: string;
  readonly #dataDir: string;
  readonly #events: SupervisorEvents;
  readonly #deployments = new Map<string, Deployment>();
  readonly #silenced = new Set<string>();
  readonly logs: PipelineLogs;
  readonly #logLevel: LogLevel;
  readonly #backoffMs: readonly number[];

  constructor(mainScript: string, dataDir: string, events: SupervisorEvents, opts: SupervisorOptions = {}) {
    this.#main = mainScript;
    this.#dataDir = dataDir;
    this.#events = events;
    this.logs = opts.logs ?? new PipelineLogs(dataDir);
    this.#logLevel = opts.logLevel ?? 'info';
    const first = opts.restartBackoffMs ?? DEFAULT_RESTART_BACKOFF_MS;
    this.#backoffMs = Array.from({ length: MAX_RESTARTS }, (_, i) => first * 2 ** i);
  }

  /**
   * Starts (or restarts) the pipeline process with this config, or, without `config`, with the config file
   * {@link writeConfig} wrote last. @throws ServiceError StorageFull | StorageWriteFailed (writing the config)
   */
  start(name: string, id: string, config?: Record<string, unknown>): void {
    const configPath =
      config === undefined
        ? join(this.#dataDir, 'pipelines', id, 'config.json')
        : this.writeConfig(id, config);
    let d = this.#deployments.get(name);
    if (!d) {
      d = {
        name,
        id,
        child: null,
        port: null,
        key: null,
        wanted: true,
        crashes: 0,
        startedAt: 0,
        restartTimer: null,
        pollTimer: null,
      };
      this.#deployments.set(name, d);
    }
    d.id = id;
    d.wanted = true;
    d.crashes = 0;
    this.#spawn(d, configPath);
  }

  /**
   * Writes the pipeline's process config (`<data-dir>/pipelines/<id>/config.json`) and returns its path. A
   * running process is not affected; its automatic restarts read the new one (e.g. after a standby's
   * activation: they start in the activated state, not in standby again).
   */
  writeConfig(id: string, config: Record<string, unknown>): string {
    const dir = join(this.#dataDir, 'pipelines', id);
    ensurePrivateDirSync(join(this.#dataDir, 'pipelines'));
    ensurePrivateDirSync(dir);
    const storage = (config.storage_config as { path?: unknown } | null | undefined)?.path;
    if (typeof storage === 'string') ensurePrivateDirSync(storage);
    const configPath = join(dir, 'config.json');
    // durable temp + rename: a process (re)starting meanwhile reads the old or the new config, never a torn
    // one; 0600 from the first byte (it holds the sync keys)
    writeFileDurableSync(configPath, JSON.stringify(config, null, 1), { mode: SECRET_FILE_MODE });
    return configPath;
  }

  #spawn(d: Deployment, configPath: string): void {
    // stdin is a pipe the pipeline watches: if the manager dies (even by SIGKILL) the pipe closes and the
    // pipeline stops itself instead of living on as an orphan (a restarted manager starts it again).
    const key = randomBytes(32).toString('base64url');
    // the manager's own API key is not the pipeline's business
    const { HOLDFAST_API_KEY: _apiKey, ...env } = process.env;
    const child = spawn(
      process.execPath,
      [
        ...PIPELINE_NODE_FLAGS,
        this.#main,
        'pipeline',
        'run',
        '--config',
        configPath,
        '--log-level',
        this.#logLevel,
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...env, HOLDFAST_MANAGED: '1', HOLDFAST_PIPELINE_KEY: key },
      },
    );
    d.key = key;
    d.child = child;
    d.port = null;
    d.startedAt = Date.now();
    const id = d.id;
    this.#logger(d).info({ pid: child.pid }, `starting pipeline process (pid ${child.pid})`);
    let ready = false;
    const out = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    out.on('line', (line) => {
      if (ready) return;
      try {
        const msg = JSON.parse(line) as { event?: string; port?: number };
        if (msg.event === 'listening' && typeof msg.port === 'number') {
          ready = true;
          d.port = msg.port;
          this.#logger(d).info(
            { pid: child.pid, port: msg.port },
            `pipeline process serves on port ${msg.port}`,
          );
          this.#events.onReady(d.name, msg.port, child.pid ?? 0);
          this.#poll(d);
        }
      } catch {
        this.logs.capture(id, d.name, 'stdout', line);
      }
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
      this.logs.capture(id, d.name, 'stderr', line),
    );
    // 'close', not 'exit': it comes once stdout and stderr are drained, so a crash's last words are logged
    // before the exit (on 'exit', lines still in the pipe were logged after it, or after the restart's first)
    child.once('close', (code, signal) => {
      if (d.pollTimer) clearInterval(d.pollTimer);
      d.pollTimer = null;
      d.child = null;
      d.port = null;
      const detail = signal ? `killed by ${signal}` : `exit code ${code}`;
      const how = { pid: child.pid, exit_code: code, signal };
      if (this.#silenced.delete(d.name)) {
        this.#logger(d).info(how, `pipeline process stopped with the manager (${detail})`);
        return;
      }
      if (!d.wanted) {
        this.#logger(d).info(how, `pipeline process stopped (${detail})`);
        this.#events.onExit(d.name, true, false, detail);
        return;
      }
      if (Date.now() - d.startedAt > STABLE_MS) d.crashes = 0;
      d.crashes++;
      const gaveUp = d.crashes > this.#backoffMs.length;
      this.#logger(d).error(
        {
          ...how,
          ...(gaveUp
            ? { gave_up: true }
            : { restart: d.crashes, restart_in_ms: this.#backoffMs[d.crashes - 1] }),
        },
        `pipeline process exited unexpectedly (${detail})${gaveUp ? '; giving up' : `; restart #${d.crashes}`}`,
      );
      this.#events.onExit(d.name, false, gaveUp, detail);
      if (gaveUp) {
        d.wanted = false;
        return;
      }
      d.restartTimer = setTimeout(
        () => {
          d.restartTimer = null;
          if (d.wanted) this.#spawn(d, configPath);
        },
        this.#backoffMs[d.crashes - 1],
      );
    });
  }

  #poll(d: Deployment): void {
    if (d.pollTimer) clearInterval(d.pollTimer);
    const tick = async () => {
      if (d.port === null) return;
      try {
        const answer = await this.client(d.name, d.port).status(5000);
        if (!answer.ok) {
          this.#events.onRuntime(d.name, 'Failed', answer.body);
          return;
        }
        const s = answer.body;
        let details: Record<string, unknown> | null = s.runtime_status_details ?? null;
        // older pipelines put the diff itself in the details (Feldera's manager rewraps it too)
        if (details !== null && 'program_diff' in details) details = { approval_diff: details };
        this.#events.onRuntime(
          d.name,
          s.runtime_status ?? 'Unavailable',
          null,
          details,
          s.storage_status_details ?? null,
        );
      } catch {
        if (d.port !== null) this.#events.onRuntime(d.name, 'Unavailable', null);
      }
    };
    d.pollTimer = setInterval(tick, 500);
    void tick();
  }

  /**
   * Stops the process (SIGTERM, then SIGKILL after `graceMs`). Resolves when it has exited. With `silent`
   * (manager shutdown) no exit event is reported, so the registry keeps the pipeline's desired state.
   */
  async stop(name: string, graceMs = 5000, silent = false): Promise<void> {
    const d = this.#deployments.get(name);
    if (!d) return;
    if (silent) this.#silenced.add(name);
    d.wanted = false;
    if (d.restartTimer) clearTimeout(d.restartTimer);
    d.restartTimer = null;
    const child = d.child;
    if (!child) {
      this.#events.onExit(name, true, false, 'not running');
      return;
    }
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  }

  port(name: string): number | null {
    return this.#deployments.get(name)?.port ?? null;
  }

  /** The header that the current process of `name` requires on every request (empty when none runs). */
  /** The typed client for a pipeline's process (its port and key). */
  client(name: string, port: number): ProcessClient {
    return new ProcessClient(port, this.authHeaders(name), name);
  }

  authHeaders(name: string): Record<string, string> {
    const key = this.#deployments.get(name)?.key;
    return key ? { authorization: `Bearer ${key}` } : {};
  }

  forget(name: string): void {
    this.#deployments.delete(name);
  }

  /** Kills a process left over by an earlier manager run, if it is still a pipeline process of ours. */
  static killStale(pid: number, configPath: string): void {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('pipeline') && cmd.includes(configPath)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }

  // ------------------------------------------------------------------------------------------------------
  // logs

  /** A manager line about deployed pipeline `name` (to the manager's log and the pipeline's). */
  log(
    name: string,
    message: string,
    level: 'info' | 'warn' | 'error' = 'info',
    fields: Record<string, unknown> = {},
  ): void {
    const d = this.#deployments.get(name);
    if (d) this.#logger(d)[level](fields, message);
  }

  #logger(d: Deployment): Logger {
    return this.logs.logger(d.id, d.name);
  }

  /** Stops every process without reporting it (the manager is shutting down; desired states are kept). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#deployments.keys()].map((n) => this.stop(n, 5000, true)));
  }
}
