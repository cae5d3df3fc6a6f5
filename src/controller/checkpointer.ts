/**
 * Checkpoint coordination for a running pipeline.
 *
 * # Design
 * A checkpoint is a consistent cut between steps. `request()` returns a sequence number at once (Feldera's
 * `POST /checkpoint`); the cut is taken at the next step boundary by the controller calling `capture()` — the
 * only blocking part: it takes the circuit's state changes since the previous checkpoint (`takeDelta()`, or a
 * full `snapshot()` for the first checkpoint and whenever the writer asks for compaction) plus the metadata
 * (steps, records, input positions). A full snapshot is O(1) per trace-backed state (`Trace.capture` freezes the
 * head; the store seals it in slices). Sealing, encoding and writing then run in the background while steps
 * continue; the frozen state is exactly the state at the cut, so the checkpoint matches its input positions.
 * Writes are serialised: a delta is only meaningful on top of the previous checkpoint.
 *
 * Status follows Feldera: `success` = highest sequence number written; `failure` = the highest-numbered failure
 * (not cleared by later successes), with its `error_code` (e.g. `StorageFull`). Sequence numbers start at 0 in each
 * process incarnation. A failed write leaves the previous checkpoint as the one to restore from.
 */
import type { CircuitSnapshot } from '../circuit/circuit.ts';
import { isServiceError } from '../errors/service-error.ts';
import type { CheckpointActivity, CheckpointStatus as WireCheckpointStatus } from '../types/pipeline-api.ts';
import { isSettling } from '../zset/batch.ts';
import type { TraceBatch } from '../zset/trace.ts';

export type CheckpointLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface CheckpointMeta {
  readonly steps: number;
  readonly processed_records: number;
  readonly transaction_id: number;
  /** Opaque positions of replayable inputs, by endpoint name. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Progress of fault-tolerant outputs (e.g. bytes written), by endpoint name. */
  readonly outputs?: Readonly<Record<string, unknown>>;
  /** Input endpoints' own state (paused, errors), by endpoint name; recorded in the manifest's `extra`. */
  readonly connectors?: Readonly<Record<string, unknown>>;
  readonly fingerprint: string;
}

/** What the source does around one checkpoint's write (taken at the cut, run by the background write). */
export interface CaptureHooks {
  /** Before the checkpoint is written (e.g. make output written up to the cut durable). */
  beforeWrite(): void;
  /** After it is durable (e.g. truncate the journal). */
  committed(): void;
}

/** A catalog entry, as `GET /checkpoints` returns it. */
export interface CheckpointEntry {
  readonly uuid: string;
  readonly identifier: string | null;
  readonly fingerprint: string;
  readonly size: number | null;
  readonly steps: number | null;
  readonly processed_records: number | null;
}

export interface CheckpointWriter {
  /** Writes a checkpoint (`delta`: `snapshot` holds only the changes since the previous one). */
  write(
    snapshot: CircuitSnapshot,
    meta: CheckpointMeta,
    delta: boolean,
  ): Promise<{ entry: CheckpointEntry; bytes: number }>;
  /** True when the next checkpoint should be a full one (no previous checkpoint, or the delta chain is long). */
  needsFull(): boolean;
  list(): CheckpointEntry[];
  /**
   * Writes a large sealed batch's segment file ahead of the next full checkpoint, in the background (optional:
   * a writer without it encodes every batch when a checkpoint lists it).
   */
  prewrite?(b: TraceBatch): void;
  /** What the writes ahead did so far (a writer without them: absent). */
  readonly ahead?: WritesAhead;
}

/** Counts of the writes ahead of full checkpoints (`CheckpointStore.prewrite`). */
export interface WritesAhead {
  /** Segment files written ahead, and their bytes. */
  readonly files: number;
  readonly bytes: number;
  /** Writes that failed (the next full checkpoint encodes those batches and reports any error). */
  readonly failed: number;
  /** Batches skipped: collected, merged away, or already written when their turn came. */
  readonly skipped: number;
}

export interface CheckpointSource {
  /** Turns on state change tracking (needed for incremental checkpoints). */
  trackChanges(on: boolean): void;
  snapshot(): CircuitSnapshot;
  takeDelta(): CircuitSnapshot;
  /** Whether the tracked changes outgrew a delta (`Circuit.changesOverflowed`): the checkpoint is then full. */
  changesOverflowed?(): boolean;
  meta(): CheckpointMeta;
  /** Called at the cut, after `meta()`. */
  onCapture?(): CaptureHooks;
}

/**
 * The wire's `/checkpoint_status`; a failure here always has its `error_code` (e.g. `StorageFull`: the disk is
 * full; the previous checkpoint stays).
 */
export interface CheckpointStatus extends WireCheckpointStatus {
  failure: (NonNullable<WireCheckpointStatus['failure']> & { error_code: string }) | null;
}

export interface CheckpointMetrics {
  count: number;
  failures: number;
  lastDurationSeconds: number;
  lastBlockingSeconds: number;
  writtenBytesTotal: number;
  recordsAtLastCheckpoint: number;
}

export class Checkpointer {
  readonly #writer: CheckpointWriter;
  readonly #source: CheckpointSource;
  readonly #log: CheckpointLog;
  #nextSeq = 0;
  /** Requests waiting for the next step boundary. */
  #pending: number[] = [];
  #writing: Promise<void> = Promise.resolve();
  #inProgressSince: string | null = null;
  readonly status: CheckpointStatus = { success: null, failure: null };
  readonly metrics: CheckpointMetrics = {
    count: 0,
    failures: 0,
    lastDurationSeconds: 0,
    lastBlockingSeconds: 0,
    writtenBytesTotal: 0,
    recordsAtLastCheckpoint: 0,
  };
  /** Called after each successful checkpoint with its duration and blocking time (seconds); must not throw. */
  onWritten: ((seconds: number, blockingSeconds: number) => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Set after a failed write: the changes it held were consumed, so the next checkpoint must be full. */
  #forceFull = false;
  #waiters = new Map<number, Array<(ok: boolean) => void>>();

  constructor(writer: CheckpointWriter, source: CheckpointSource, log: CheckpointLog = () => {}) {
    this.#writer = writer;
    this.#source = source;
    this.#log = log;
    source.trackChanges(true);
  }

  /** Periodic checkpoints every `secs` seconds (null: none). */
  schedule(secs: number | null, onDue: () => void): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (secs !== null) {
      this.#timer = setInterval(onDue, secs * 1000);
      this.#timer.unref();
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Asks for a checkpoint; returns its sequence number. The caller must then call `capture()` at a step boundary. */
  request(): number {
    const seq = this.#nextSeq++;
    this.#pending.push(seq);
    return seq;
  }

  get pending(): boolean {
    return this.#pending.length > 0;
  }

  /** What the writer's writes ahead did so far (null: the writer has none). */
  get ahead(): WritesAhead | null {
    return this.#writer.ahead ?? null;
  }

  /** `{status: "idle"}` or `{status: "in_progress", started_at}` for `/stats`. */
  get activity(): CheckpointActivity {
    return this.#inProgressSince === null
      ? { status: 'idle' }
      : { status: 'in_progress', started_at: this.#inProgressSince };
  }

  /** Resolves true when checkpoint `seq` is written, false when it failed. */
  wait(seq: number): Promise<boolean> {
    if (
      this.status.success !== null &&
      this.status.success >= seq &&
      !(this.status.failure?.sequence_number === seq)
    )
      return Promise.resolve(true);
    if (this.status.failure?.sequence_number === seq) return Promise.resolve(false);
    return new Promise((resolve) => {
      const list = this.#waiters.get(seq) ?? [];
      list.push(resolve);
      this.#waiters.set(seq, list);
    });
  }

  /**
   * Takes the cut for every pending request (one checkpoint serves them all) and starts writing it in the
   * background. Call between steps only.
   */
  capture(): void {
    if (this.#pending.length === 0) return;
    const seqs = this.#pending;
    this.#pending = [];
    const t0 = performance.now();
    // a delta of more changed rows than a change log holds costs what a full checkpoint does (OVERFLOW_AT)
    const full = this.#forceFull || this.#writer.needsFull() || this.#source.changesOverflowed?.() === true;
    this.#forceFull = false;
    const snapshot = full ? this.#source.snapshot() : this.#source.takeDelta();
    // frozen heads (a full snapshot's) start sealing now, and a delta's change logs consolidating, in slices
    // between steps, even while an earlier checkpoint is still being written (the write awaits the same work; a
    // failure surfaces there)
    for (const states of Object.values(snapshot.operators))
      for (const b of Object.values(states)) if (isSettling(b)) b.settle().catch(() => {});
    const meta = this.#source.meta();
    const hooks = this.#source.onCapture?.();
    const blocking = (performance.now() - t0) / 1000;
    this.#inProgressSince ??= new Date().toISOString();
    this.#writing = this.#writing.then(async () => {
      try {
        hooks?.beforeWrite();
        const { entry, bytes } = await this.#writer.write(snapshot, meta, !full);
        hooks?.committed();
        const duration = (performance.now() - t0) / 1000;
        Object.assign(this.metrics, {
          count: this.metrics.count + 1,
          lastDurationSeconds: duration,
          lastBlockingSeconds: blocking,
          writtenBytesTotal: this.metrics.writtenBytesTotal + bytes,
          recordsAtLastCheckpoint: meta.processed_records,
        });
        this.onWritten?.(duration, blocking);
        this.status.success = Math.max(this.status.success ?? -1, ...seqs);
        this.#log(
          'info',
          `checkpoint ${entry.uuid} written (${bytes} bytes, ${full ? 'full' : 'incremental'}, ${(duration * 1000).toFixed(1)} ms, ${(blocking * 1000).toFixed(1)} ms blocking)`,
          {
            uuid: entry.uuid,
            bytes,
            steps: meta.steps,
          },
        );
        this.#settle(seqs, true);
      } catch (e) {
        this.metrics.failures++;
        const error = (e as Error).message;
        const errorCode = isServiceError(e) ? e.errorCode : 'UnknownError';
        const seq = Math.max(...seqs);
        if (this.status.failure === null || seq >= this.status.failure.sequence_number) {
          this.status.failure = {
            sequence_number: seq,
            error,
            failed_at: new Date().toISOString(),
            error_code: errorCode,
          };
        }
        this.#log('error', `checkpoint failed: ${errorCode}: ${error}`, {
          sequence_numbers: seqs,
          error_code: errorCode,
        });
        // the next checkpoint must be full: this delta was consumed but not persisted
        this.#forceFull = true;
        this.#settle(seqs, false);
      } finally {
        this.#inProgressSince = null;
      }
    });
  }

  #settle(seqs: number[], ok: boolean): void {
    for (const s of seqs) {
      for (const w of this.#waiters.get(s) ?? []) w(ok);
      this.#waiters.delete(s);
    }
  }

  /** Resolves when every started write has finished. */
  async flush(): Promise<void> {
    await this.#writing;
  }

  list(): CheckpointEntry[] {
    return this.#writer.list();
  }
}
