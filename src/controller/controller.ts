/**
 * The pipeline controller: owns a running circuit, its input endpoints and output listeners, and runs the step
 * loop.
 *
 * # Design
 * Input endpoints (HTTP ingress, connectors) push parsed changes into one FIFO of chunks, so changes are
 * applied in arrival order across endpoints. The queue is bounded by `maxBufferedRecords` and by
 * `maxBufferedBytes` (input bytes: a parsed record holds several times its input size in memory, so the byte
 * bound is what keeps memory flat for inputs of small records): a push waits for room (backpressure slows the
 * producer — an HTTP body is read no faster than steps consume it — instead of growing memory). A push into an
 * empty queue is always taken, whatever its size. While Paused, a push waits until the pipeline resumes unless
 * `force` is set (then it is buffered, up to the same bounds, and processed after resume).
 *
 * The step loop runs on the event loop: whenever the pipeline is Running and input is buffered, it takes up
 * to `maxStepRecords` records, runs one circuit step, hands every view's change to its listeners, then
 * updates counters. One initial step runs at start, so constant and global-aggregate views are populated.
 *
 * NOW() (sql/now-clock.ts), when the program calls it: every step sets the circuit's clock table to the wall
 * clock rounded down to `clockResolutionUsecs` if that is later than the clock it holds (never backwards); a timer
 * takes a step without input at each tick while Running. A step that moves the clock is a transaction; under
 * exactly_once its value is journaled with the step and replay sets exactly those values. The clock starts from
 * the restored state's (a checkpoint's) value.
 *
 * Concurrent bootstrapping ({@link Controller.startBackfill}, sql/concurrent-bootstrap.ts): between live steps one
 * backfill slice runs; the rebuilt views' changes are held back from their listeners, every live step's input is
 * recorded for the cut-over, and checkpoint cuts wait; at the cut-over (between steps) the controller replaces its
 * circuit by the backfilled one (the only time `circuit` changes), hands the rebuilt views' contents to their
 * listeners and (with storage) takes a checkpoint.
 *
 * Completion tokens (Feldera's): a token records an endpoint's received-record count; it is complete once
 * every one of those records has been processed and its outputs handed to all listeners.
 *
 * State machine ({@link CONTROLLER_TRANSITIONS}; every change goes through {@link transition}):
 *   Running ⇄ Paused → Terminated;  Running/Paused → Failed (a step threw: state may be partial, no further
 *   steps run; the error is reported; a Paused pipeline steps while it replays its journal);  Failed →
 *   Terminated (stopped). Terminated is final. `pause()` and `resume()` do nothing where they do not apply.
 */
import { randomUUID } from 'node:crypto';
import type { CircuitSnapshot } from '../circuit/circuit.ts';
import {
  ConnectorErrorLog,
  type InputErrorLogs,
  type SavedErrorLog,
} from '../connectors/connector-errors.ts';
import type { ParsedChange } from '../connectors/formats/parse-result.ts';
import type { OutputTracker } from '../connectors/transports/types.ts';
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import type { Backfill } from '../sql/concurrent-bootstrap.ts';
import { clockValue, DEFAULT_CLOCK_RESOLUTION_USECS, NOW_TABLE } from '../sql/now-clock.ts';
import type { Program, QueryResult, SqlCircuit } from '../sql/program.ts';
import type {
  CheckpointActivity,
  CommitProgress,
  InputEndpointMetrics,
  PipelineState,
} from '../types/pipeline-api.ts';
import { checkedMove, type TransitionTable } from '../util/transitions.ts';
import type { Batch } from '../zset/batch.ts';
import { HASH_SEED, hashChanges } from './change-hash.ts';
import { type CaptureHooks, Checkpointer, type CheckpointWriter } from './checkpointer.ts';
import type { FtJournal, ReplayPlan, StepRecord, StepSlice } from './ft-journal.ts';

/** What names an HTTP ingress endpoint (`<table>.api-ingress-<16 hex digits>`, Feldera's naming); they never end. */
export const HTTP_INGRESS_MARK = '.api-ingress-';

/** The wire's pipeline states (`/status` `state`), plus Failed (a step threw). */
export type ControllerState = PipelineState | 'Failed';

/** The moves between controller states (see the header). */
export const CONTROLLER_TRANSITIONS = {
  Running: ['Paused', 'Terminated', 'Failed'],
  Paused: ['Running', 'Terminated', 'Failed'],
  Failed: ['Terminated'],
  Terminated: [],
} as const satisfies TransitionTable<ControllerState>;

/**
 * The controller state after moving `from` → `to`.
 * @throws ServiceError InvalidTransition (a move the table does not allow)
 */
export function transition(from: ControllerState, to: ControllerState): ControllerState {
  return checkedMove('pipeline controller', CONTROLLER_TRANSITIONS, from, to);
}

export interface ControllerOptions {
  readonly initialState?: 'Running' | 'Paused';
  /** Records buffered across all inputs before pushes wait (default 1,000,000). */
  readonly maxBufferedRecords?: number;
  /**
   * Input bytes buffered across all inputs before pushes wait (default {@link DEFAULT_MAX_BUFFERED_BYTES}).
   * Pushes that carry no bytes (a connector's batches before the one its bytes are attributed to) count by
   * records only.
   */
  readonly maxBufferedBytes?: number;
  /** Records per step at most (default 10,000). */
  readonly maxStepRecords?: number;
  readonly log?: (
    level: 'info' | 'warn' | 'error',
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
  /**
   * A circuit built from `program` that already holds the restored state (a warm standby's, see
   * warm-state.ts); `restore.base`/`restore.deltas` are then not applied. It must not have run a step.
   */
  readonly circuit?: SqlCircuit;
  /** State to restore before the first step (from a checkpoint). */
  readonly restore?: {
    /** The state (not needed with {@link ControllerOptions.circuit}). */
    readonly base?: CircuitSnapshot;
    readonly deltas?: readonly CircuitSnapshot[];
    readonly processedRecords: number;
    /** Input positions at the checkpoint, by endpoint name (kept until the input moves on). */
    readonly inputs?: Readonly<Record<string, unknown>>;
    /**
     * Per replayable endpoint: records after its position that the checkpoint already holds (dropped when the
     * input delivers them again).
     */
    readonly skips?: Readonly<Record<string, number>>;
    /** Transactions (input steps) the checkpoint holds. */
    readonly transactionId?: number;
    /**
     * Input endpoints' own state at the checkpoint, by endpoint name ({@link SavedInputEndpoint}): paused by the
     * user or not, error counters and recent errors. It wins over a connector's declared `paused`.
     */
    readonly connectors?: Readonly<Record<string, unknown>>;
  };
  /**
   * Do not run the initial step in the constructor: `begin()` runs it, once output connectors listen (so a
   * file output also receives the initial output of constant and global-aggregate views). Until then no
   * step runs.
   */
  readonly deferInitialStep?: boolean;
  /** Fault tolerance: the journal to append to and what to replay from it first. */
  readonly ft?: { readonly journal: FtJournal; readonly replay: ReplayPlan };
  /** NOW()'s clock granularity (runtime_config `clock_resolution_usecs`; default 1 s, Feldera's). */
  readonly clockResolutionUsecs?: number;
  /** The wall clock in ms since the epoch (default `Date.now`; tests replace it). */
  readonly wallClock?: () => number;
}

export type { InputEndpointMetrics };

/**
 * Input bytes buffered before pushes wait. 4 MiB of small JSON records is about 50,000 records (a few tens of
 * MiB of parsed rows): five 10,000-record steps of look-ahead, enough to keep the step loop busy (parsing and
 * steps share one thread, so more look-ahead buys no speed, only memory).
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface InputEndpoint {
  readonly id: number;
  readonly name: string;
  readonly table: string;
  readonly metrics: InputEndpointMetrics;
  /** Records of this endpoint fully processed (outputs delivered). */
  completed: number;
  /** The input's position after its last fully processed record (replayable inputs; for checkpoints). */
  processedPosition: unknown;
  /** Records after `processedPosition` already processed (a checkpoint stores them as `skip`). */
  sincePosition: number;
  /** Records the input will deliver again that the restored checkpoint already holds: dropped on arrival. */
  skip: number;
  /** Replayable inputs (files, datagen) re-read after a restart; others (HTTP) have their data journaled. */
  readonly replayable: boolean;
  paused: boolean;
  /** The `paused` the endpoint was declared with (a checkpoint records `paused` only where it differs). */
  readonly declaredPaused: boolean;
  fatalError: string | null;
  /** Recent parse and transport errors (Feldera's `parse_errors` / `transport_errors`). */
  readonly errors: InputErrorLogs;
}

/**
 * An input endpoint's state a checkpoint records (under the manifest's `extra.connectors`) when it differs from
 * a fresh endpoint's: paused other than declared, or errors counted. Restored when the endpoint is created again.
 */
export interface SavedInputEndpoint {
  readonly paused: boolean;
  readonly num_parse_errors: number;
  readonly num_transport_errors: number;
  readonly parse_errors: SavedErrorLog;
  readonly transport_errors: SavedErrorLog;
}

/** Receives a view's change after every step in which it changed. */
export type OutputListener = (change: Batch, step: number) => void;

interface Chunk {
  readonly endpoint: InputEndpoint;
  readonly changes: ParsedChange[];
  readonly bytes: number;
  /** Position of the input after this chunk (undefined: not a replayable input). */
  readonly position: unknown;
  next: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export class Controller {
  readonly incarnationUuid: string = randomUUID();
  readonly startTime: number = Math.floor(Date.now() / 1000);
  readonly program: Program;
  #circuit: SqlCircuit;
  #state: ControllerState;
  #failure: ServiceError | null = null;
  readonly #maxBuffered: number;
  readonly #maxBufferedBytes: number;
  readonly #maxStep: number;
  readonly #log: NonNullable<ControllerOptions['log']>;
  readonly #inputs: InputEndpoint[] = [];
  readonly #listeners = new Map<string, Set<OutputListener>>();
  readonly #queue: Chunk[] = [];
  #buffered = 0;
  #bufferedBytes = 0;
  #waiters: Waiter[] = [];
  #scheduled = false;
  #stepping = false;
  /**
   * Timing observers (the pipeline process's histograms): `step` after each successful step, `checkpoint` after
   * each successful checkpoint. Called synchronously; they must not throw.
   */
  readonly timings: {
    step?: (seconds: number) => void;
    checkpoint?: (seconds: number, blockingSeconds: number) => void;
  } = {};
  readonly totals = {
    input_records: 0,
    input_bytes: 0,
    processed_records: 0,
    processed_bytes: 0,
    completed_records: 0,
    initiated_steps: 0,
    completed_steps: 0,
  };

  constructor(program: Program, options: ControllerOptions = {}) {
    this.program = program;
    this.#circuit = options.circuit ?? program.instantiate();
    this.#state = options.initialState ?? 'Running';
    this.#maxBuffered = options.maxBufferedRecords ?? 1_000_000;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.#maxStep = options.maxStepRecords ?? 10_000;
    this.#log = options.log ?? (() => {});
    if (options.restore) {
      this.#restoredEndpoints = { ...(options.restore.connectors ?? {}) };
      this.#restoredPositions = { ...(options.restore.inputs ?? {}) };
      this.#restoredSkips = { ...(options.restore.skips ?? {}) };
      if (options.circuit === undefined) {
        if (options.restore.base === undefined)
          throw new ServiceError('StateRestoreError', 'restore needs the state (base) or a restored circuit');
        this.circuit.restore(options.restore.base, options.restore.deltas ?? []);
      }
      // every record the checkpoint holds was received, processed and completed: all three totals start there
      // (as in Feldera; a client waiting for completed == input must not wait forever after a restore)
      this.totals.input_records = options.restore.processedRecords;
      this.totals.processed_records = options.restore.processedRecords;
      this.totals.completed_records = options.restore.processedRecords;
      this.#txn = options.restore.transactionId ?? 0;
    }
    if (options.ft) {
      this.#ft = options.ft.journal;
      // at_least_once journals no steps, so the transaction counter restarts at the checkpoint's cut while a
      // previous incarnation may have written journal files after it (a checkpoint that failed, e.g. on a full
      // disk, still rotated the journal). Numbering on from there made a later cut reuse those files' names and
      // replay their already processed data again after the next crash: the next cut must open a file after them.
      if (this.#ft.model === 'at_least_once') this.#txn = Math.max(this.#txn, this.#ft.activeStart);
      const plan = options.ft.replay;
      // pushed data the checkpoint lacks goes back into the queue first (it is journaled already)
      for (const c of plan.chunks) {
        const ep = this.inputEndpoint(c.endpoint, c.table);
        this.#enqueue(ep, c.changes, 0, undefined);
      }
      this.#replaySteps = plan.steps;
      this.#replaying = plan.steps.length > 0;
      if (this.#replaying)
        this.#log('info', `replaying ${plan.steps.length} journaled step(s) after transaction ${this.#txn}`, {
          steps: plan.steps.length,
        });
    }
    if (program.usesNow) {
      this.#clockResolution = Math.max(1, options.clockResolutionUsecs ?? DEFAULT_CLOCK_RESOLUTION_USECS);
      this.#wallClock = options.wallClock ?? Date.now;
      // a restored circuit continues from its checkpoint's clock
      const row = this.circuit.contents(NOW_TABLE).rows[0];
      this.#clock = row === undefined ? null : (row[0] as number);
    }
    if (options.deferInitialStep !== true) this.begin();
  }

  /** NOW()'s clock (now-clock.ts): the value in the circuit's clock table (µs), null before the first step. */
  #clock: number | null = null;
  #clockResolution = 0;
  #wallClock: () => number = Date.now;
  #clockTimer: NodeJS.Timeout | null = null;

  /** The NOW() clock value the circuit holds (µs since the epoch), or null (no NOW() in the program, or none yet). */
  get clock(): number | null {
    return this.#clock;
  }

  /** The clock a new (not replayed) step sets: the wall clock rounded down, never behind the current one. */
  #nextClock(): number | null {
    if (this.#clockResolution === 0) return null;
    const v = clockValue(this.#wallClock(), this.#clockResolution);
    return this.#clock !== null && v <= this.#clock ? null : v;
  }

  /**
   * Takes a step when the clock has advanced, even without input, so views over NOW() update: a timer at the
   * next clock tick (at most every 10 ms), while the pipeline runs; it does not keep the process alive.
   */
  #scheduleClock(): void {
    if (this.#clockResolution === 0 || this.#clockTimer !== null) return;
    if (this.#state === 'Terminated' || this.#state === 'Failed') return;
    const resMs = this.#clockResolution / 1000;
    const now = this.#wallClock();
    const wait = Math.max(10, Math.ceil(resMs - (((now % resMs) + resMs) % resMs)));
    this.#clockTimer = setTimeout(() => {
      this.#clockTimer = null;
      if (
        this.#begun &&
        this.#state === 'Running' &&
        !this.#replaying &&
        !this.#stepping &&
        this.#queue.length === 0
      )
        if (this.#nextClock() !== null) this.#runStep([]);
      this.#scheduleClock();
    }, wait);
    this.#clockTimer.unref();
  }

  /** Runs the initial step (constants and global aggregates; nothing new after a restore), then input steps. */
  begin(): void {
    if (this.#begun) return;
    this.#begun = true;
    this.#runStep([]);
    this.#schedule();
    this.#scheduleBackfill();
    this.#scheduleClock();
  }

  #begun = false;

  /** The running circuit (replaced once, at a concurrent bootstrap's cut-over). */
  get circuit(): SqlCircuit {
    return this.#circuit;
  }

  /** True while journaled steps are being replayed after a restart (exactly_once). */
  get replaying(): boolean {
    return this.#replaying;
  }

  /** Transactions (input steps) processed since the pipeline was first started. */
  get transactionId(): number {
    return this.#txn;
  }

  get state(): ControllerState {
    return this.#state;
  }

  get failure(): ServiceError | null {
    return this.#failure;
  }

  get bufferedRecords(): number {
    return this.#buffered;
  }

  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  get inputs(): readonly InputEndpoint[] {
    return this.#inputs;
  }

  /**
   * Creates (or returns) the input endpoint `name` feeding `table`. `replayable`: the input can re-read its
   * records from a position (connectors); others have their pushed data journaled under fault tolerance.
   */
  inputEndpoint(
    name: string,
    table: string,
    options: { replayable?: boolean; paused?: boolean } = {},
  ): InputEndpoint {
    const existing = this.#inputs.find((e) => e.name === name);
    if (existing) return existing;
    const t = this.program.table(table);
    if (!t) throw new ServiceError('UnknownInputTable', `table '${table}' does not exist`, { name: table });
    if (this.#clockResolution > 0 && t.name === NOW_TABLE)
      throw new ServiceError(
        'UnknownInputTable',
        `table '${NOW_TABLE}' is the NOW() clock, which the pipeline advances itself; it takes no input`,
        { name: table },
      );
    const ep: InputEndpoint = {
      id: this.#inputs.length,
      name,
      table: t.name,
      metrics: {
        total_bytes: 0,
        total_records: 0,
        buffered_records: 0,
        buffered_bytes: 0,
        num_transport_errors: 0,
        num_parse_errors: 0,
        num_late_records: 0,
        end_of_input: false,
      },
      completed: 0,
      processedPosition: this.#restoredPositions[name] ?? null,
      sincePosition: this.#restoredSkips[name] ?? 0,
      skip: this.#restoredSkips[name] ?? 0,
      replayable: options.replayable === true,
      paused: options.paused === true,
      declaredPaused: options.paused === true,
      fatalError: null,
      errors: { parse: new ConnectorErrorLog(), transport: new ConnectorErrorLog() },
    };
    const saved = this.#restoredEndpoints[name];
    if (typeof saved === 'object' && saved !== null) {
      // the checkpoint's state of this endpoint wins over its declaration (as Feldera keeps a connector paused)
      const s = saved as Partial<SavedInputEndpoint>;
      if (typeof s.paused === 'boolean') ep.paused = s.paused;
      if (isCount(s.num_parse_errors)) ep.metrics.num_parse_errors = s.num_parse_errors;
      if (isCount(s.num_transport_errors)) ep.metrics.num_transport_errors = s.num_transport_errors;
      ep.errors.parse.restore(s.parse_errors);
      ep.errors.transport.restore(s.transport_errors);
      delete this.#restoredEndpoints[name];
      if (ep.paused !== ep.declaredPaused)
        this.#log('info', `input connector ${name} ${ep.paused ? 'paused' : 'started'} as checkpointed`, {
          endpoint: name,
        });
    }
    this.#inputs.push(ep);
    return ep;
  }

  /**
   * The input endpoint `<table>.<connector>` (Feldera's connector routes): `table` is a SQL identifier (unquoted:
   * case-insensitive; in double quotes: exact). HTTP ingress endpoints exist once data was pushed through them.
   * @throws ServiceError UnknownInputEndpoint
   */
  inputEndpointOf(table: string, connector: string): InputEndpoint {
    const quoted = table.length >= 2 && table.startsWith('"') && table.endsWith('"');
    const t = quoted
      ? this.program.tables.find((x) => x.name === table.slice(1, -1))
      : this.program.table(table);
    const name = `${t?.name ?? table}.${connector}`;
    const ep = t ? this.#inputs.find((e) => e.name === name) : undefined;
    if (!ep)
      throw new ServiceError(
        'UnknownInputEndpoint',
        `input connector '${name}' does not exist; input endpoints: ${this.#inputs.map((e) => e.name).join(', ') || '(none)'}`,
        { endpoint_name: name },
      );
    return ep;
  }

  /**
   * Pauses or starts one input endpoint (Feldera's connector `pause`/`start`). A paused endpoint's pushes wait
   * (its connector stops reading, HTTP ingress into it blocks) and go on from where they were once it is started;
   * an endpoint ingests only while both it and the pipeline run. Changes nothing already buffered.
   */
  setInputPaused(ep: InputEndpoint, paused: boolean): void {
    if (ep.paused === paused) return;
    ep.paused = paused;
    this.#log('info', `input connector ${ep.name} ${paused ? 'paused' : 'started'}`, { endpoint: ep.name });
    if (!paused) this.#wake();
  }

  /**
   * Queues changes from an endpoint. Resolves once they are buffered (not processed): waits while the buffer
   * is full, and while Paused unless `force`. @throws ServiceError Terminating / PipelineFailed.
   */
  async push(
    ep: InputEndpoint,
    changes: ParsedChange[],
    bytes: number,
    options: { force?: boolean; position?: unknown } = {},
  ): Promise<void> {
    if (ep.skip > 0 && changes.length > 0) {
      // a replayable input re-delivers records the restored checkpoint already holds
      const drop = Math.min(ep.skip, changes.length);
      ep.skip -= drop;
      changes = changes.slice(drop);
      if (changes.length === 0) {
        if (options.position !== undefined) {
          ep.processedPosition = options.position;
          ep.sincePosition = ep.skip;
        }
        return;
      }
    }
    for (;;) {
      this.#checkAccepting();
      if (this.#replaying) {
        // replay needs each input's records in journal order: bound each input, not the total, and do not
        // wait for a resume (replay restores the state before the crash)
        if (
          ep.metrics.buffered_records === 0 ||
          ep.metrics.buffered_records + changes.length <= this.#maxBuffered
        )
          break;
      } else {
        // a paused endpoint (connector `pause`) waits whatever `force` says: its connector stops reading
        const paused = (this.#state === 'Paused' && options.force !== true) || ep.paused;
        const full =
          this.#buffered > 0 &&
          (this.#buffered + changes.length > this.#maxBuffered ||
            this.#bufferedBytes + bytes > this.#maxBufferedBytes);
        if (!paused && !full) break;
      }
      await new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    }
    if (this.#ft && !ep.replayable && changes.length > 0) {
      // journaled (durably) before the push is acknowledged
      try {
        this.#ft.appendChunk(ep.name, ep.table, changes);
      } catch (e) {
        // the journal says why (StorageFull, JournalWriteFailed) and has removed any partial record
        if (isServiceError(e))
          throw new ServiceError(e.errorCode, e.message, { ...e.details, endpoint: ep.name });
        throw new ServiceError(
          'JournalWriteFailed',
          `the input could not be journaled, so it was not accepted: ${(e as Error).message}; check the storage volume and send it again`,
          { endpoint: ep.name },
        );
      }
    }
    this.#enqueue(ep, changes, bytes, options.position);
  }

  #enqueue(ep: InputEndpoint, changes: ParsedChange[], bytes: number, position: unknown): void {
    ep.metrics.total_records += changes.length;
    ep.metrics.total_bytes += bytes;
    ep.metrics.buffered_records += changes.length;
    ep.metrics.buffered_bytes += bytes;
    this.totals.input_records += changes.length;
    this.totals.input_bytes += bytes;
    this.#buffered += changes.length;
    this.#bufferedBytes += bytes;
    if (changes.length > 0) this.#queue.push({ endpoint: ep, changes, bytes, position, next: 0 });
    else {
      ep.completed = Math.max(ep.completed, ep.metrics.total_records - ep.metrics.buffered_records);
      if (position !== undefined && ep.metrics.buffered_records === 0) {
        ep.processedPosition = position;
        ep.sincePosition = 0;
      }
    }
    this.#schedule();
  }

  #checkAccepting(): void {
    if (this.#state === 'Terminated')
      throw new ServiceError('Terminating', 'the pipeline is shutting down; start it again to send input');
    if (this.#state === 'Failed') throw this.#failure as ServiceError;
  }

  #wake(): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w.resolve();
  }

  /** Steps may run: Running, or replaying (replay restores the state before the crash, even if Paused). */
  #canStep(): boolean {
    return this.#state === 'Running' || (this.#replaying && this.#state === 'Paused');
  }

  #schedule(): void {
    // a replayed step that only moved the clock needs no input
    const clockOnly = this.#replaying && (this.#replaySteps[this.#replayIndex]?.s.length ?? 1) === 0;
    if (this.#scheduled || !this.#begun || !this.#canStep() || (this.#queue.length === 0 && !clockOnly))
      return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#drainOnce();
      this.#schedule();
    });
  }

  /** Takes up to maxStepRecords buffered records and runs one step with them. */
  #drainOnce(): void {
    if (!this.#begun || !this.#canStep() || this.#stepping) return;
    if (this.#replaying) {
      this.#drainReplay();
      return;
    }
    const taken: Array<{ chunk: Chunk; from: number; to: number }> = [];
    let n = 0;
    while (this.#queue.length > 0 && n < this.#maxStep) {
      const chunk = this.#queue[0] as Chunk;
      const to = Math.min(chunk.changes.length, chunk.next + (this.#maxStep - n));
      taken.push({ chunk, from: chunk.next, to });
      n += to - chunk.next;
      chunk.next = to;
      if (chunk.next >= chunk.changes.length) this.#queue.shift();
    }
    if (taken.length > 0) this.#runStep(taken);
  }

  /**
   * Replay (exactly_once): takes the next journaled step's slices from each input's queue, in the journal's
   * order, once every input involved has delivered enough records; runs it and checks it took the same
   * records. Waits (returns) while an input is still short.
   */
  #drainReplay(): void {
    const rec = this.#replaySteps[this.#replayIndex] as StepRecord;
    const need = new Map<string, number>();
    for (const [name, n] of rec.s) need.set(name, (need.get(name) ?? 0) + n);
    for (const [name, n] of need) {
      const ep = this.#inputs.find((e) => e.name === name);
      const have = ep?.metrics.buffered_records ?? 0;
      if (have >= n) continue;
      if (ep && (ep.metrics.end_of_input || ep.fatalError !== null)) {
        this.#fail(
          new ServiceError(
            'ReplayFailure',
            `replayed transaction ${rec.t} ingested different input than was recorded: input '${name}' ${ep.fatalError !== null ? `failed (${ep.fatalError})` : 'ended'} after ${have} of the ${n} records the journal recorded; was the input changed or removed?`,
            { transaction: rec.t, endpoint: name, recorded_records: n, available_records: have },
          ),
        );
      }
      return; // wait for the input to deliver more
    }
    const taken: Array<{ chunk: Chunk; from: number; to: number }> = [];
    for (const [name, n] of rec.s) {
      let left = n;
      for (let i = 0; i < this.#queue.length && left > 0; ) {
        const chunk = this.#queue[i] as Chunk;
        if (chunk.endpoint.name !== name) {
          i++;
          continue;
        }
        const to = Math.min(chunk.changes.length, chunk.next + left);
        taken.push({ chunk, from: chunk.next, to });
        left -= to - chunk.next;
        chunk.next = to;
        if (chunk.next >= chunk.changes.length) this.#queue.splice(i, 1);
        else i++;
      }
    }
    this.#runStep(taken, rec);
    if (this.#state === 'Failed') return;
    this.#replayIndex++;
    if (this.#replayIndex >= this.#replaySteps.length) this.#finishReplay();
  }

  #finishReplay(): void {
    this.#replaying = false;
    this.#replaySteps = [];
    this.#log('info', `replay complete (transaction ${this.#txn}), starting pipeline`, {
      transaction: this.#txn,
    });
    for (const t of this.#outputs.values()) t.replayed();
    if (this.#checkpointer?.pending) this.#checkpointer.capture();
    this.#wake();
  }

  #fail(err: ServiceError): void {
    // Terminated is final: a step that fails after the stop (an initial step begun late) is logged, not a state
    if (this.#state !== 'Terminated') this.#state = transition(this.#state, 'Failed');
    this.#failure = err;
    this.#log('error', err.message, err.details);
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w.reject(err);
  }

  /** The step's input as journal slices: consecutive takes of one endpoint merged, each with its hash. */
  #slices(taken: ReadonlyArray<{ chunk: Chunk; from: number; to: number }>): StepSlice[] {
    const out: StepSlice[] = [];
    let cur: { name: string; n: number; h: number } | null = null;
    for (const { chunk, from, to } of taken) {
      if (cur === null || cur.name !== chunk.endpoint.name) {
        if (cur) out.push([cur.name, cur.n, cur.h >>> 0]);
        cur = { name: chunk.endpoint.name, n: 0, h: HASH_SEED };
      }
      cur.n += to - from;
      cur.h = hashChanges(cur.h, chunk.changes, from, to);
    }
    if (cur) out.push([cur.name, cur.n, cur.h >>> 0]);
    return out;
  }

  #runStep(taken: Array<{ chunk: Chunk; from: number; to: number }>, replay?: StepRecord): void {
    this.#stepping = true;
    const t0 = performance.now();
    const step = this.totals.initiated_steps + 1;
    this.totals.initiated_steps = step;
    // NOW(): a replayed step sets the journaled clock; a live one the wall clock, if it advanced (the initial
    // step during a replay leaves it alone)
    const clock = replay ? replay.n : this.#replaying ? undefined : (this.#nextClock() ?? undefined);
    const exactlyOnce = this.#ft?.model === 'exactly_once' && (taken.length > 0 || clock !== undefined);
    const slices = exactlyOnce ? this.#slices(taken) : null;
    if (replay && slices) {
      const same =
        slices.length === replay.s.length &&
        slices.every((x, i) => {
          const r = replay.s[i] as StepSlice;
          return x[0] === r[0] && x[1] === r[1] && x[2] === r[2];
        });
      if (!same) {
        this.#stepping = false;
        this.#fail(
          new ServiceError(
            'ReplayFailure',
            `replayed transaction ${replay.t} ingested different input than was recorded: recorded ${JSON.stringify(replay.s)}, replayed ${JSON.stringify(slices)} ([input, records, hash]); was an input file changed?`,
            { transaction: replay.t, recorded: replay.s, replayed: slices },
          ),
        );
        return;
      }
    }
    const inputs = new Map<string, Batch>();
    /** Per table: which endpoint each run of its step input came from (for late-record attribution). */
    const runs = new Map<string, Array<[InputEndpoint, number]>>();
    let records = 0;
    let bytes = 0;
    for (const { chunk, from, to } of taken) {
      let b = inputs.get(chunk.endpoint.table);
      if (!b) {
        b = { rows: [], weights: [] };
        inputs.set(chunk.endpoint.table, b);
        runs.set(chunk.endpoint.table, []);
      }
      runs.get(chunk.endpoint.table)?.push([chunk.endpoint, b.rows.length + (to - from)]);
      for (let i = from; i < to; i++) {
        const c = chunk.changes[i] as ParsedChange;
        b.rows.push(c.row);
        b.weights.push(c.weight);
      }
      records += to - from;
      // bytes are attributed to a chunk's last slice
      if (to === chunk.changes.length) bytes += chunk.bytes;
    }
    if (clock !== undefined) {
      inputs.set(
        NOW_TABLE,
        this.#clock === null
          ? { rows: [[clock]], weights: [1] }
          : { rows: [[this.#clock], [clock]], weights: [-1, 1] },
      );
    }
    const txn = taken.length > 0 || clock !== undefined ? this.#txn + 1 : this.#txn;
    try {
      const outputs = this.circuit.step(inputs);
      this.#backfill?.recordLive(inputs);
      this.#countLate(runs);
      // exactly_once: the step's input is durable in the journal before any of its output leaves
      if (slices && !replay) this.#ft?.appendStep(txn, slices, clock);
      this.#txn = txn;
      if (clock !== undefined) this.#clock = clock;
      for (const [view, change] of outputs) {
        if (change.rows.length === 0 || this.#backfill?.views.has(view)) continue; // held until the cut-over
        for (const l of this.#listeners.get(view) ?? []) l(change, step);
      }
    } catch (e) {
      this.#stepping = false;
      const err =
        e instanceof ServiceError
          ? new ServiceError('PipelineFailed', `step ${step} failed: ${e.message}`, {
              cause_code: e.errorCode,
              step,
            })
          : new ServiceError('PipelineFailed', `step ${step} failed: ${(e as Error).message}`, { step });
      this.#fail(err);
      return;
    }
    this.#stepping = false;
    for (const { chunk, from, to } of taken) {
      const ep = chunk.endpoint;
      ep.metrics.buffered_records -= to - from;
      ep.sincePosition += to - from;
      if (to === chunk.changes.length) {
        ep.metrics.buffered_bytes -= chunk.bytes;
        if (chunk.position !== undefined) {
          ep.processedPosition = chunk.position;
          ep.sincePosition = 0;
        }
      }
      ep.completed += to - from;
    }
    this.#buffered -= records;
    this.#bufferedBytes -= bytes;
    this.totals.processed_records += records;
    this.totals.processed_bytes += bytes;
    this.totals.completed_records += records;
    this.totals.completed_steps = step;
    this.timings.step?.((performance.now() - t0) / 1000);
    this.#wake();
  }

  /** Adds the step's late (LATENESS) drops to the endpoints their rows came from. */
  #countLate(runs: ReadonlyMap<string, Array<[InputEndpoint, number]>>): void {
    for (const [table, dropped] of this.circuit.lastDropped()) {
      const r = runs.get(table);
      if (r === undefined) continue;
      let k = 0;
      for (const i of dropped) {
        while (k < r.length - 1 && i >= (r[k] as [InputEndpoint, number])[1]) k++;
        (r[k] as [InputEndpoint, number])[0].metrics.num_late_records++;
      }
    }
  }

  #checkpointer: Checkpointer | null = null;
  #restoredPositions: Record<string, unknown> = {};
  /** Saved endpoint states (SavedInputEndpoint) not yet taken by an endpoint created again. */
  #restoredEndpoints: Record<string, unknown> = {};
  #restoredSkips: Record<string, number> = {};
  #ft: FtJournal | null = null;
  /** Transactions (steps that took input or moved the NOW() clock) since the pipeline first started; restored from checkpoints. */
  #txn = 0;
  #replaying = false;
  #replaySteps: readonly StepRecord[] = [];
  #replayIndex = 0;
  readonly #outputs = new Map<string, OutputTracker>();

  /**
   * Registers an output connector's checkpoint/replay hooks under its endpoint name. If no replay is running,
   * `replayed()` is called at once.
   */
  registerOutput(name: string, tracker: OutputTracker): () => void {
    this.#outputs.set(name, tracker);
    if (!this.#replaying) tracker.replayed();
    return () => this.#outputs.delete(name);
  }

  /** Input positions for a checkpoint: `{position, skip}` per replayable endpoint (restored ones not yet claimed kept). */
  #inputPositions(): Record<string, { position: unknown; skip: number }> {
    const out: Record<string, { position: unknown; skip: number }> = {};
    for (const name of new Set([
      ...Object.keys(this.#restoredPositions),
      ...Object.keys(this.#restoredSkips),
    ]))
      out[name] = { position: this.#restoredPositions[name] ?? null, skip: this.#restoredSkips[name] ?? 0 };
    for (const e of this.#inputs) {
      if (!e.replayable) continue;
      if (e.processedPosition === null && e.sincePosition === 0) continue;
      out[e.name] = { position: e.processedPosition, skip: e.sincePosition };
    }
    return out;
  }

  /**
   * The input endpoints' state a checkpoint records ({@link SavedInputEndpoint}): endpoints paused other than
   * declared or with errors, plus restored states of endpoints not created again yet (an HTTP ingress endpoint
   * exists once data is pushed).
   */
  #endpointStates(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.#restoredEndpoints };
    for (const e of this.#inputs) {
      const errors = e.metrics.num_parse_errors + e.metrics.num_transport_errors;
      if (e.paused === e.declaredPaused && errors === 0) continue;
      out[e.name] = {
        paused: e.paused,
        num_parse_errors: e.metrics.num_parse_errors,
        num_transport_errors: e.metrics.num_transport_errors,
        parse_errors: e.errors.parse.saved(),
        transport_errors: e.errors.transport.saved(),
      } satisfies SavedInputEndpoint;
    }
    return out;
  }

  /** Taken with a checkpoint's cut: rotates the journal; the write syncs outputs first and truncates after. */
  #onCapture(): CaptureHooks {
    const t = this.#txn;
    const ft = this.#ft;
    ft?.rotate(t, () => {
      for (const chunk of this.#queue) {
        if (chunk.endpoint.replayable) continue;
        ft.appendChunk(chunk.endpoint.name, chunk.endpoint.table, chunk.changes.slice(chunk.next), true);
      }
    });
    const outputs = [...this.#outputs.values()];
    return {
      beforeWrite: () => {
        for (const o of outputs) o.sync();
      },
      committed: () => ft?.committed(t),
    };
  }

  /** Turns on checkpoints through `writer`, periodic every `intervalSecs` (null: only on request). */
  enableCheckpoints(
    writer: CheckpointWriter,
    options: { intervalSecs: number | null; fingerprint: string },
  ): Checkpointer {
    const cp = new Checkpointer(
      writer,
      {
        trackChanges: (on) => this.circuit.trackChanges(on),
        snapshot: () => this.circuit.snapshot(),
        takeDelta: () => this.circuit.takeDelta(),
        changesOverflowed: () => this.circuit.circuit.changesOverflowed(),
        meta: () => ({
          steps: this.circuit.circuit.steps,
          processed_records: this.totals.processed_records,
          transaction_id: this.#txn,
          inputs: this.#inputPositions(),
          connectors: this.#endpointStates(),
          outputs: Object.fromEntries([...this.#outputs].map(([name, t]) => [name, t.progress()])),
          fingerprint: options.fingerprint,
        }),
        onCapture: () => this.#onCapture(),
      },
      this.#log,
    );
    // large batches the state seals or merges get their segment files written in the background, so a full
    // checkpoint lists them instead of encoding them while it runs
    if (writer.prewrite !== undefined) this.circuit.circuit.sealedSink = (b) => writer.prewrite?.(b);
    cp.onWritten = (seconds, blocking) => this.timings.checkpoint?.(seconds, blocking);
    cp.schedule(options.intervalSecs, () => {
      if (this.#state === 'Running' || this.#state === 'Paused') this.checkpoint();
    });
    this.#checkpointer = cp;
    return cp;
  }

  get checkpointer(): Checkpointer | null {
    return this.#checkpointer;
  }

  /**
   * Requests a checkpoint and takes its cut now (the event loop only runs this between steps); the write
   * continues in the background. Returns the checkpoint's sequence number.
   */
  checkpoint(): number {
    const cp = this.#checkpointer;
    if (!cp) {
      throw new ServiceError(
        'CheckpointStorageRequired',
        'checkpoints need storage: enable runtime_config.storage (e.g. "storage": {})',
      );
    }
    if (this.#state === 'Failed') throw this.#failure as ServiceError;
    const seq = cp.request();
    // the cut waits for the end of replay (state mid-replay is not a point the journal can resume from) and for a
    // concurrent bootstrap's cut-over (the rebuilt views' state is partial until then)
    if (!this.#replaying && this.#backfill === null) cp.capture();
    else if (this.#backfill !== null) this.#checkpointDelayedSince ??= new Date().toISOString();
    return seq;
  }

  // -------------------------------------------------------------------------------------------------------
  // bootstrapping (the program changed since the checkpoint; see bootstrap.ts)

  /**
   * Hands each rebuilt view's full contents (the bootstrap step's output) to the view's current listeners,
   * as part of the restored state's last step. Call once, before `begin()`.
   */
  emitBootstrap(outputs: ReadonlyMap<string, Batch>): void {
    for (const [view, change] of outputs) {
      if (change.rows.length === 0) continue;
      for (const l of this.#listeners.get(view) ?? []) l(change, this.totals.completed_steps);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // concurrent bootstrapping (sql/concurrent-bootstrap.ts)

  #backfill: Backfill | null = null;
  #backfillSilent = false;
  #backfillScheduled = false;
  #backfillPauseMs = 0;
  /** When a checkpoint request began waiting for the cut-over (Feldera's `delayed_since`). */
  #checkpointDelayedSince: string | null = null;
  #phase: 'Inactive' | 'ConcurrentBootstrapping' | 'Synchronizing' = 'Inactive';

  /**
   * Runs a concurrent bootstrap: from `begin()` on, one backfill slice runs between live steps; the rebuilt
   * views' live outputs are held back and checkpoints wait; once the backfill is done the pipeline cuts over
   * (the rebuilt views' contents go to their listeners unless `silent`). Call before `begin()`.
   */
  startBackfill(backfill: Backfill, options: { silent: boolean; pauseMs?: number }): void {
    this.#backfill = backfill;
    this.#backfillSilent = options.silent;
    this.#backfillPauseMs = options.pauseMs ?? 0;
    this.#phase = 'ConcurrentBootstrapping';
  }

  /** Feldera's `concurrent_bootstrap_phase`. */
  get concurrentBootstrapPhase(): 'Inactive' | 'ConcurrentBootstrapping' | 'Synchronizing' {
    return this.#phase;
  }

  /**
   * `/stats` `checkpoint_activity`: Feldera's `{"status": "delayed", "reasons": ["Bootstrapping"], "delayed_since"}`
   * while a checkpoint waits for the cut-over, else the checkpointer's (null without storage).
   */
  get checkpointActivity(): CheckpointActivity | null {
    const cp = this.#checkpointer;
    if (cp === null) return null;
    if (this.#backfill !== null && cp.pending && this.#checkpointDelayedSince !== null)
      return { status: 'delayed', reasons: ['Bootstrapping'], delayed_since: this.#checkpointDelayedSince };
    return cp.activity;
  }

  /** Feldera's `concurrent_bootstrap_progress` (null when no concurrent bootstrap runs). */
  get concurrentBootstrapProgress(): CommitProgress | null {
    return this.#backfill?.progress() ?? null;
  }

  /**
   * Refuses what would read a view still being backfilled (its state is partial): an ad-hoc query naming it, an
   * egress snapshot of it. @throws ServiceError BootstrapInProgress
   */
  checkNotBackfilling(sqlOrView: string): void {
    const b = this.#backfill;
    if (b === null) return;
    const words = new Set(sqlOrView.toLowerCase().match(/[a-z_][a-z0-9_$]*/g) ?? []);
    const held = [...b.views].filter((v) => words.has(v.toLowerCase()));
    if (held.length > 0)
      throw new ServiceError(
        'BootstrapInProgress',
        `view(s) ${held.map((v) => `'${v}'`).join(', ')} are being bootstrapped concurrently and have no complete contents yet; try again once the pipeline status is no longer ConcurrentBootstrapping`,
        { views: held },
      );
  }

  #scheduleBackfill(): void {
    if (this.#backfillScheduled || this.#backfill === null || !this.#begun) return;
    this.#backfillScheduled = true;
    const next = () => {
      this.#backfillScheduled = false;
      this.#backfillOnce();
      this.#scheduleBackfill();
    };
    if (this.#backfillPauseMs > 0) setTimeout(next, this.#backfillPauseMs);
    else setImmediate(next);
  }

  /** One backfill slice, or the cut-over once every slice ran (between live steps: never inside one). */
  #backfillOnce(): void {
    const b = this.#backfill;
    if (b === null || this.#stepping || this.#state === 'Failed' || this.#state === 'Terminated') {
      if (b !== null && (this.#state === 'Failed' || this.#state === 'Terminated')) this.#backfill = null;
      return;
    }
    try {
      if (!b.done) {
        b.step();
        return;
      }
      this.#phase = 'Synchronizing';
      const t0 = performance.now();
      const { circuit, outputs } = b.cutover(this.#circuit);
      if (this.#checkpointer) circuit.trackChanges(true);
      this.#circuit = circuit;
      this.#backfill = null;
      this.#phase = 'Inactive';
      if (this.#backfillSilent)
        this.#log('info', `silent bootstrap: the contents of ${[...b.views].join(', ')} are not re-emitted`);
      else this.emitBootstrap(outputs);
      this.#log(
        'info',
        `concurrent bootstrap done: cut over to ${[...b.views].join(', ')} (${b.totalRows} checkpointed rows; cut-over ${(performance.now() - t0).toFixed(1)} ms)`,
        { views: [...b.views] },
      );
      this.#checkpointDelayedSince = null;
      // the cut-over's state is checkpointed at once (with storage): until a checkpoint holds it, a restart would
      // resume from the checkpoint before the change and bootstrap again
      if (this.#checkpointer) {
        if (!this.#checkpointer.pending) this.#checkpointer.request();
        this.#checkpointer.capture();
      }
    } catch (e) {
      this.#backfill = null;
      this.#phase = 'Inactive';
      const err = isServiceError(e) ? e : null;
      this.#fail(
        new ServiceError(
          'PipelineFailed',
          `the concurrent bootstrap failed: ${err?.message ?? (e as Error).message}`,
          err ? { cause_code: err.errorCode } : {},
        ),
      );
    }
  }

  /** Registers a listener for a view's changes; returns the function that removes it. */
  listen(view: string, listener: OutputListener): () => void {
    const v =
      this.program.outputs.find((o) => o.name === view) ??
      this.program.outputs.find((o) => !o.caseSensitive && o.name === view.toLowerCase());
    if (!v) {
      throw new ServiceError(
        'UnknownOutputView',
        `view '${view}' does not exist or is LOCAL; views: ${this.program.outputs.map((o) => o.name).join(', ') || '(none)'}`,
        {
          name: view,
        },
      );
    }
    let set = this.#listeners.get(v.name);
    if (!set) {
      set = new Set();
      this.#listeners.set(v.name, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  pause(): void {
    if (this.#state === 'Running') {
      this.#state = transition(this.#state, 'Paused');
      this.#log('info', 'pipeline paused');
    }
  }

  resume(): void {
    if (this.#state === 'Paused') {
      this.#state = transition(this.#state, 'Running');
      this.#log('info', 'pipeline resumed');
      this.#wake();
      this.#schedule();
    }
  }

  /** Stops accepting input and processing; pending pushes fail with Terminating. */
  terminate(): void {
    if (this.#state === 'Terminated') return;
    this.#state = transition(this.#state, 'Terminated');
    if (this.#clockTimer !== null) clearTimeout(this.#clockTimer);
    this.#clockTimer = null;
    const err = new ServiceError('Terminating', 'the pipeline is shutting down');
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w.reject(err);
  }

  /** Resolves when everything buffered now has been processed (or rejects if the pipeline fails). */
  async idle(): Promise<void> {
    while (this.#buffered > 0) {
      this.#checkAccepting();
      await new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // completion tokens

  completionToken(ep: InputEndpoint): string {
    const json = JSON.stringify({ u: this.incarnationUuid, e: ep.id, c: ep.metrics.total_records });
    return Buffer.from(json).toString('base64url');
  }

  completionStatus(token: string): { status: 'complete' | 'inprogress'; step: number | null } {
    let t: { u?: unknown; e?: unknown; c?: unknown };
    try {
      t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      throw new ServiceError(
        'InvalidParam',
        'the completion token cannot be decoded; pass it exactly as returned by ingress',
        { token },
      );
    }
    if (
      typeof t !== 'object' ||
      t === null ||
      typeof t.u !== 'string' ||
      typeof t.e !== 'number' ||
      typeof t.c !== 'number'
    ) {
      throw new ServiceError(
        'InvalidParam',
        'the completion token cannot be decoded; pass it exactly as returned by ingress',
        { token },
      );
    }
    if (t.u !== this.incarnationUuid) {
      throw new ServiceError(
        'PipelineRestarted',
        'the completion token was issued before the pipeline process restarted',
        {
          token_incarnation: t.u,
          incarnation_uuid: this.incarnationUuid,
        },
      );
    }
    const ep = this.#inputs[t.e];
    if (!ep)
      throw new ServiceError(
        'UnknownEndpointInCompletionToken',
        `the completion token names input endpoint #${t.e}, which does not exist`,
        {},
      );
    return ep.completed >= t.c
      ? { status: 'complete', step: this.totals.completed_steps }
      : { status: 'inprogress', step: null };
  }

  async query(sql: string): Promise<QueryResult> {
    if (this.#state === 'Failed') throw this.#failure as ServiceError;
    this.checkNotBackfilling(sql);
    if (this.#replaying)
      throw new ServiceError(
        'RestoreInProgress',
        'Operation cannot be initiated now because the pipeline is restoring from a checkpoint (replaying its journal); try again when the status is Running',
      );
    const insert = await this.circuit.prepareInsert(sql);
    if (insert === null) return this.circuit.query(sql);
    // Feldera's ad-hoc INSERT: the rows are input like any other (applied in the next step, journaled under
    // fault tolerance), through the table's ad-hoc ingress endpoint; the answer is the inserted count
    const ep = this.inputEndpoint(`${insert.table}${HTTP_INGRESS_MARK}adhoc-insert`, insert.table);
    // (buffered even while Paused, as a forced ingress is: applied once the pipeline runs)
    await this.push(
      ep,
      insert.rows.map((row) => ({ row, weight: 1 })),
      0,
      { force: true },
    );
    return {
      columns: [{ name: 'count', type: { kind: 'BIGINT', nullable: false }, caseSensitive: false }],
      rows: [[BigInt(insert.rows.length)]],
    };
  }

  /**
   * Feldera's `pipeline_complete`: every input endpoint other than the HTTP ingress ones (`<table>.api-ingress-…`,
   * which never end) reached its end of input, and every record received was completed. A pipeline fed only
   * over HTTP is complete once everything pushed so far is processed.
   */
  get complete(): boolean {
    return (
      this.#inputs.every((e) => e.name.includes(HTTP_INGRESS_MARK) || e.metrics.end_of_input) &&
      this.#buffered === 0 &&
      this.totals.completed_records === this.totals.input_records
    );
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
