/**
 * Encoding a sealed trace batch's segment file on a worker thread (`segment-ahead-worker.ts`), for the writes
 * ahead of a checkpoint (`CheckpointStore.prewrite`): payload building, zstd and SHA-256 all run there, so a large
 * batch costs the pipeline's event loop at most the copy of its arrays into shared memory (a few milliseconds at a
 * time between turns of the event loop, so no step waits long for it) — and nothing when they are there already
 * (a large merge's output: `zset/trace.ts`, `PREWRITE_MIN_ENTRIES`), which is most of what is written ahead.
 *
 * State: the worker (a `JobWorker`: started on first use, never keeping the process alive by itself, but while a
 * job is in flight its reply port is referenced, so a caller awaiting a job is not cut short).
 *
 * Invariants: the bytes and hash are those a checkpoint writes for the same batch on the main thread (the worker
 * runs that very function, `encodeSegmentAsync`, on the same arrays). A batch holding nested values (`objects`) needs the
 * store's codecs, which cannot cross threads: {@link encodeOffThread} declines it (null), as it does after the
 * worker failed; the caller then encodes on the main thread.
 */
import { JobWorker } from '../util/job-worker.ts';
import type { TraceBatch } from '../zset/trace.ts';
import type { EncodedSegment } from './segment.ts';
import type { AheadJob, AheadReply } from './segment-ahead-worker.ts';

/** Bytes copied into shared memory at a time (about half a millisecond: fresh pages fault on first touch). */
const COPY_PIECE = 2 ** 20;
/** Milliseconds of copying before the copy gives the event loop a turn. */
const COPY_TURN_MS = 6;

const worker = new JobWorker<AheadReply>(new URL('./segment-ahead-worker.ts', import.meta.url));

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Copies into shared memory, giving the event loop a turn after every {@link COPY_TURN_MS} of copying (a copy
 * runs at about 1.7 GB/s here, page faults included: 140 MB take ~80 ms, so ~13 turns, not one long pause).
 */
class SharedCopier {
  #since = performance.now();

  async copy(src: Uint8Array): Promise<Uint8Array> {
    const dst = new Uint8Array(new SharedArrayBuffer(src.byteLength));
    for (let at = 0; at < src.byteLength; at += COPY_PIECE) {
      if (performance.now() - this.#since >= COPY_TURN_MS) {
        await turn();
        this.#since = performance.now();
      }
      dst.set(src.subarray(at, Math.min(src.byteLength, at + COPY_PIECE)), at);
    }
    return dst;
  }
}

const isShared = (a: Uint8Array | Uint32Array | Float64Array): boolean =>
  a.buffer instanceof SharedArrayBuffer;

const bytesOf = (a: Uint32Array | Float64Array): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Encodes `tb`'s segment file on the worker thread (as `encodeSegmentAsync(tb, codecs, { level })` would); null when it
 * cannot be done there (nested values, or the worker failed): encode it on the main thread then.
 */
export async function encodeOffThread(
  tb: TraceBatch,
  level: number | undefined,
): Promise<EncodedSegment | null> {
  if (worker.broken || tb.objects !== null) return null;
  await turn(); // never on the caller's turn
  // arrays in shared memory already (a large merge's output: `zset/trace.ts`) go as they are, the rest is copied
  const c = new SharedCopier();
  const arena = isShared(tb.arena) ? tb.arena : await c.copy(tb.arena);
  const offsets = isShared(tb.offsets)
    ? tb.offsets
    : new Uint32Array((await c.copy(bytesOf(tb.offsets))).buffer);
  const splits = isShared(tb.splits) ? tb.splits : new Uint32Array((await c.copy(bytesOf(tb.splits))).buffer);
  const weights = isShared(tb.wts) ? tb.wts : new Float64Array((await c.copy(bytesOf(tb.wts))).buffer);
  const job = (id: number): AheadJob => ({
    id,
    layout: { arity: tb.layout.arity, keyCols: [...tb.layout.keyCols], valCols: [...tb.layout.valCols] },
    arena,
    offsets,
    splits,
    weights,
    untagged: tb.untagged,
    level,
  });
  return new Promise((resolve) => {
    const sent = worker.send(job, (r) => {
      if (r === null || 'error' in r) return resolve(null);
      const bytes = Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
      resolve({ bytes, hash: r.hash, size: bytes.length, rows: r.rows });
    });
    if (sent === null) resolve(null);
  });
}
