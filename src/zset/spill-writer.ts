/**
 * Background batch-file writes (state beyond memory, off the step's critical path). A trace's sealed batch of at
 * least `min_storage_bytes` stays in memory as it is, and its batch file is written by one worker thread
 * (`spill-worker.ts`: block building, zstd, SHA-256 and the writes run there, i.e. on the machine's other core);
 * once the file is complete the trace swaps the in-memory batch for the {@link FileBatch} (same entries, same
 * reads) at its next seal check. Feldera's `min_step_storage_bytes` (default: never) likewise keeps a step's
 * batches in memory and lets the merger put large batches on storage.
 *
 * State: the worker (a `JobWorker`: started on first use, never keeping the process alive by itself; replies are
 * read by a listener or, between steps, by {@link pollWrites}); the writes in flight; the bytes they hold ({@link MAX_PENDING_BYTES} at most: beyond
 * it {@link writeInBackground} declines and the caller writes synchronously, so memory stays bounded however
 * fast batches are sealed); a count of completed writes ({@link writesCompleted}: a trace looks for batches to
 * swap only when it changed).
 *
 * Invariants: a {@link PendingWrite} resolves only once its file is complete under its hash name (a checkpoint
 * that awaits it lists only complete files); the file's bytes equal those of a synchronous write of the same
 * batch; a write the trace no longer needs ({@link PendingWrite.cancel}) releases its file (unlinks it) when it
 * completes. A crash before a write completes loses nothing: no checkpoint or journal refers to spill files, and
 * the spill directory is emptied when a pipeline starts.
 */
import { JobWorker } from '../util/job-worker.ts';
import {
  BLOCK_BYTES,
  type EntryArrays,
  type FileBatch,
  type FileLayout,
  openBatchFile,
  type SpillConfig,
} from './batch-file.ts';
import type { SpillJob, SpillReply } from './spill-worker.ts';
import type { ObjectValue } from './value.ts';

/** The most bytes of batches waiting for their background write (beyond it, writes are synchronous). */
export const MAX_PENDING_BYTES = 128 * 2 ** 20;

/**
 * One background write: `done` resolves to the file batch, or to null when the write failed (the trace then
 * writes the batch synchronously, so an I/O error fails the step as it does without background writes).
 */
export class PendingWrite {
  readonly bytes: number;
  readonly done: Promise<FileBatch | null>;
  /** The file batch once written (null before, or after a failure). */
  file: FileBatch | null = null;
  failed = false;
  #cancelled = false;
  #resolve!: (f: FileBatch | null) => void;

  constructor(bytes: number) {
    this.bytes = bytes;
    this.done = new Promise((r) => {
      this.#resolve = r;
    });
  }

  get settled(): boolean {
    return this.file !== null || this.failed;
  }

  /** The batch was dropped (merged away, cleared): its file is released now or when it is written. */
  cancel(): void {
    this.#cancelled = true;
    this.file?.release();
  }

  /** @internal */
  complete(f: FileBatch | null): void {
    if (f === null) this.failed = true;
    else {
      this.file = f;
      if (this.#cancelled) f.release();
    }
    this.#resolve(f);
  }
}

const worker = new JobWorker<SpillReply>(new URL('./spill-worker.ts', import.meta.url));
/** Writes in flight. */
const inFlight = new Set<PendingWrite>();
let pendingBytes = 0;
let completed = 0;

/** Writes completed so far (a trace with batches waiting for their file checks them when this changes). */
export function writesCompleted(): number {
  return completed;
}

/** Bytes of batches whose background write is in flight. */
export function pendingWriteBytes(): number {
  return pendingBytes;
}

/**
 * Takes the replies of writes completed so far without waiting for a turn of the event loop (a caller that
 * steps in a loop without yielding — a benchmark, a replay — still sees its writes complete).
 */
export function pollWrites(): void {
  worker.poll();
}

/**
 * Starts writing a batch's file in the background. Returns null (write it synchronously) when the bytes already
 * in flight would exceed {@link MAX_PENDING_BYTES}, or after the worker failed. The arrays are copied (the caller keeps its batch).
 */
export function writeInBackground(
  c: SpillConfig,
  layout: FileLayout,
  e: EntryArrays,
  objects: ReadonlyMap<string, ObjectValue> | null,
  dataBytes: number,
): PendingWrite | null {
  if (worker.broken || (pendingBytes > 0 && pendingBytes + dataBytes > MAX_PENDING_BYTES)) return null;
  const objBytes =
    objects !== null && objects.size > 0
      ? new Uint8Array(c.encodeObjects(layout, objects))
      : new Uint8Array(0);
  const entries: EntryArrays = {
    arena: new Uint8Array(e.arena),
    offsets: e.offsets.slice(),
    splits: e.splits.slice(),
    weights: e.weights.slice(),
  };
  const pw = new PendingWrite(dataBytes);
  const kept = objects === null ? null : new Map(objects);
  const done = (r: SpillReply | null): void => {
    inFlight.delete(pw);
    pendingBytes -= pw.bytes;
    completed++;
    let f: FileBatch | null = null;
    if (r !== null && !('error' in r)) {
      try {
        f = openBatchFile(r.path, r.hash, kept);
      } catch {
        // unreadable: written again synchronously by the trace
      }
    }
    pw.complete(f);
  };
  const job = (id: number): SpillJob => ({
    id,
    dir: c.dir,
    layout: {
      arity: layout.arity,
      keyCols: [...layout.keyCols],
      valCols: [...layout.valCols],
      ...(layout.derivedKey === true ? { derivedKey: true } : {}),
    },
    compress: c.compress,
    blockBytes: c.blockBytes ?? BLOCK_BYTES,
    entries,
    objBytes,
  });
  inFlight.add(pw);
  pendingBytes += dataBytes;
  const sent = worker.send(job, done, [
    entries.arena.buffer as ArrayBuffer,
    entries.offsets.buffer as ArrayBuffer,
    entries.splits.buffer as ArrayBuffer,
    entries.weights.buffer as ArrayBuffer,
    objBytes.buffer as ArrayBuffer,
  ]);
  if (sent === null) {
    inFlight.delete(pw);
    pendingBytes -= dataBytes;
    return null;
  }
  return pw;
}

/** Resolves once every background write started so far has completed (or failed). */
export async function backgroundWritesSettled(): Promise<void> {
  await Promise.all([...inFlight].map((pw) => pw.done));
}
