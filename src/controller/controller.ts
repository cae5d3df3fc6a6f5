/**
 * The pipeline controller: owns a running circuit, its input endpoints and output listeners, and runs the step
 * loop.
 *
 * # Design
 * Input endpoints (HTTP ingress, connectors) push parsed changes into one FIFO of chunks, so changes are
 * applied in arrival order across endpoints. The queue is bounded by `maxBufferedRecords`: a push waits for
 * room (backpressure slows the producer instead of growing memory). While Paused, a push waits until the
 * pipeline resumes unless `force` is set (then it is buffered and processed after resume).
 *
 * The step loop runs on the event loop: whenever the pipeline is Running and input is buffered, it takes up
 * to `maxStepRecords` records, runs one circuit step, hands every view's change to its listeners, then
 * updates counters. One initial step runs at start, so constant and global-aggregate views are populated.
 *
 * Completion tokens (Feldera's): a token records an endpoint's received-record count; it is complete once
 * every one of those records has been processed and its outputs handed to all listeners.
 *
 * State machine:  Running ⇄ Paused → Terminated;  Running → Failed (a step threw: state may be partial, no
 * further steps run; the error is reported).
 */
import { randomUUID } from 'node:crypto';
import type { CircuitSnapshot } from '../circuit/circuit.ts';
import type { ParsedChange } from '../connectors/formats/parse-result.ts';
import { ServiceError } from '../errors/service-error.ts';
import type { Program, QueryResult, SqlCircuit } from '../sql/program.ts';
import type { InputEndpointMetrics } from '../types/pipeline-api.ts';
import type { Batch } from '../zset/batch.ts';
import { Checkpointer, type CheckpointWriter } from './checkpointer.ts';

export type ControllerState = 'Running' | 'Paused' | 'Terminated' | 'Failed';

export interface ControllerOptions {
  readonly initialState?: 'Running' | 'Paused';
  /** Records buffered across all inputs before pushes wait (default 1,000,000). */
  readonly maxBufferedRecords?: number;
  /** Records per step at most (default 10,000). */
  readonly maxStepRecords?: number;
  readonly log?: (
    level: 'info' | 'warn' | 'error',
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
  /** State to restore before the first step (from a checkpoint). */
  readonly restore?: {
    readonly base: CircuitSnapshot;
    readonly deltas: readonly CircuitSnapshot[];
    readonly processedRecords: number;
    /** Input positions at the checkpoint, by endpoint name (kept until the input moves on). */
    readonly inputs?: Readonly<Record<string, unknown>>;
  };
}

export type { InputEndpointMetrics };

export interface InputEndpoint {
  readonly id: number;
  readonly name: string;
  readonly table: string;
  readonly metrics: InputEndpointMetrics;
  /** Records of this endpoint fully processed (outputs delivered). */
  completed: number;
  /** The input's position after its last fully processed record (replayable inputs; for checkpoints). */
  processedPosition: unknown;
  paused: boolean;
  fatalError: string | null;
}

export interface OutputEndpointMetrics {
  transmitted_records: number;
  transmitted_batches: number;
  total_processed_steps: number;
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
  readonly circuit: SqlCircuit;
  #state: ControllerState;
  #failure: ServiceError | null = null;
  readonly #maxBuffered: number;
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
    this.circuit = program.instantiate();
    this.#state = options.initialState ?? 'Running';
    this.#maxBuffered = options.maxBufferedRecords ?? 1_000_000;
    this.#maxStep = options.maxStepRecords ?? 10_000;
    this.#log = options.log ?? (() => {});
    if (options.restore) {
      this.#restoredPositions = { ...(options.restore.inputs ?? {}) };
      this.circuit.restore(options.restore.base, options.restore.deltas);
      this.totals.processed_records = options.restore.processedRecords;
      this.totals.completed_records = options.restore.processedRecords;
    }
    this.#runStep([]); // the initial step: constants and global aggregates (nothing new after a restore)
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

  /** Creates (or returns) the input endpoint `name` feeding `table`. */
  inputEndpoint(name: string, table: string): InputEndpoint {
    const existing = this.#inputs.find((e) => e.name === name);
    if (existing) return existing;
    const t = this.program.table(table);
    if (!t) throw new ServiceError('UnknownInputTable', `table '${table}' does not exist`, { name: table });
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
        end_of_input: false,
      },
      completed: 0,
      processedPosition: this.#restoredPositions[name] ?? null,
      paused: false,
      fatalError: null,
    };
    this.#inputs.push(ep);
    return ep;
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
    for (;;) {
      this.#checkAccepting();
      const paused = this.#state === 'Paused' && options.force !== true;
      const full = this.#buffered > 0 && this.#buffered + changes.length > this.#maxBuffered;
      if (!paused && !full) break;
      await new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    }
    ep.metrics.total_records += changes.length;
    ep.metrics.total_bytes += bytes;
    ep.metrics.buffered_records += changes.length;
    ep.metrics.buffered_bytes += bytes;
    this.totals.input_records += changes.length;
    this.totals.input_bytes += bytes;
    this.#buffered += changes.length;
    this.#bufferedBytes += bytes;
    if (changes.length > 0)
      this.#queue.push({ endpoint: ep, changes, bytes, position: options.position, next: 0 });
    else {
      ep.completed = Math.max(ep.completed, ep.metrics.total_records - ep.metrics.buffered_records);
      if (options.position !== undefined && ep.metrics.buffered_records === 0)
        ep.processedPosition = options.position;
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

  #schedule(): void {
    if (this.#scheduled || this.#state !== 'Running' || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#drainOnce();
      this.#schedule();
    });
  }

  /** Takes up to maxStepRecords buffered records and runs one step with them. */
  #drainOnce(): void {
    if (this.#state !== 'Running' || this.#stepping) return;
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

  #runStep(taken: Array<{ chunk: Chunk; from: number; to: number }>): void {
    this.#stepping = true;
    const step = this.totals.initiated_steps + 1;
    this.totals.initiated_steps = step;
    const inputs = new Map<string, Batch>();
    let records = 0;
    let bytes = 0;
    for (const { chunk, from, to } of taken) {
      let b = inputs.get(chunk.endpoint.table);
      if (!b) {
        b = { rows: [], weights: [] };
        inputs.set(chunk.endpoint.table, b);
      }
      for (let i = from; i < to; i++) {
        const c = chunk.changes[i] as ParsedChange;
        b.rows.push(c.row);
        b.weights.push(c.weight);
      }
      records += to - from;
      // bytes are attributed to a chunk's last slice
      if (to === chunk.changes.length) bytes += chunk.bytes;
    }
    try {
      const outputs = this.circuit.step(inputs);
      for (const [view, change] of outputs) {
        if (change.rows.length === 0) continue;
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
      this.#failure = err;
      this.#state = 'Failed';
      this.#log('error', err.message, { step });
      const ws = this.#waiters;
      this.#waiters = [];
      for (const w of ws) w.reject(err);
      return;
    }
    this.#stepping = false;
    for (const { chunk, from, to } of taken) {
      const ep = chunk.endpoint;
      ep.metrics.buffered_records -= to - from;
      if (to === chunk.changes.length) {
        ep.metrics.buffered_bytes -= chunk.bytes;
        if (chunk.position !== undefined) ep.processedPosition = chunk.position;
      }
      ep.completed += to - from;
    }
    this.#buffered -= records;
    this.#bufferedBytes -= bytes;
    this.totals.processed_records += records;
    this.totals.processed_bytes += bytes;
    this.totals.completed_records += records;
    this.totals.completed_steps = step;
    this.#wake();
  }

  #checkpointer: Checkpointer | null = null;
  #restoredPositions: Record<string, unknown> = {};

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
        meta: () => ({
          steps: this.circuit.circuit.steps,
          processed_records: this.totals.processed_records,
          transaction_id: 0,
          inputs: Object.fromEntries(
            this.#inputs
              .filter((e) => e.processedPosition !== null)
              .map((e) => [e.name, e.processedPosition]),
          ),
          fingerprint: options.fingerprint,
        }),
      },
      this.#log,
    );
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
    cp.capture();
    return seq;
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
      this.#state = 'Paused';
      this.#log('info', 'pipeline paused');
    }
  }

  resume(): void {
    if (this.#state === 'Paused') {
      this.#state = 'Running';
      this.#log('info', 'pipeline resumed');
      this.#wake();
      this.#schedule();
    }
  }

  /** Stops accepting input and processing; pending pushes fail with Terminating. */
  terminate(): void {
    if (this.#state === 'Terminated') return;
    this.#state = 'Terminated';
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
    return this.circuit.query(sql);
  }

  /** True when every input reported end-of-input and everything is processed. */
  get complete(): boolean {
    return (
      this.#inputs.length > 0 && this.#inputs.every((e) => e.metrics.end_of_input) && this.#buffered === 0
    );
  }
}
