/**
 * The worker thread of writes ahead (`segment-ahead.ts`): receives a sealed trace batch's columnar arrays (shared
 * memory, copied by the main thread) and encodes its segment file with the very function a checkpoint uses on
 * the main thread ({@link encodeSegmentAsync}: payload pieces streamed into zstd, SHA-256) — then answers with the file's bytes (transferred) and its hash, or with
 * the error's message. Off the pipeline's event loop, i.e. on the machine's other core.
 *
 * State: none between jobs (each job is one complete segment; jobs may overlap, each answered when done).
 */
import { setPriority } from 'node:os';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { TraceBatch, type TraceLayout } from '../zset/trace.ts';
import { encodeSegmentAsync } from './segment.ts';

export interface AheadJob {
  readonly id: number;
  readonly layout: TraceLayout;
  readonly arena: Uint8Array;
  readonly offsets: Uint32Array;
  readonly splits: Uint32Array;
  readonly weights: Float64Array;
  readonly untagged: boolean;
  readonly level: number | undefined;
}

export type AheadReply =
  | { readonly id: number; readonly bytes: Uint8Array; readonly hash: string; readonly rows: number }
  | { readonly id: number; readonly error: string };

// a lower priority than the pipeline's event loop (on Linux a thread's own nice value): on a machine with few
// cores, the steps and the checkpoint's slices run first and the writes ahead take what is left
try {
  setPriority(10);
} catch {
  // not permitted here: the default priority
}

const port = parentPort;
/** Replies go to their own port (unreferenced by the main thread: a write ahead never keeps a process alive). */
const replies = (workerData as { replies?: MessagePort } | null)?.replies ?? null;
if (port !== null && replies !== null)
  port.on('message', async (j: AheadJob) => {
    try {
      const tb = new TraceBatch({
        layout: j.layout,
        arena: Buffer.from(j.arena.buffer, j.arena.byteOffset, j.arena.byteLength),
        offsets: j.offsets,
        splits: j.splits,
        weights: j.weights,
        objects: null,
        untagged: j.untagged,
      });
      const seg = await encodeSegmentAsync(tb, [], j.level === undefined ? {} : { level: j.level });
      const bytes = new Uint8Array(seg.bytes.buffer, seg.bytes.byteOffset, seg.bytes.byteLength);
      const reply: AheadReply = { id: j.id, bytes, hash: seg.hash, rows: seg.rows };
      // transfer the file's bytes when they own their buffer (a pooled Buffer's memory is shared: copied)
      replies.postMessage(
        reply,
        bytes.byteLength === bytes.buffer.byteLength ? [bytes.buffer as ArrayBuffer] : [],
      );
    } catch (e) {
      replies.postMessage({
        id: j.id,
        error: e instanceof Error ? e.message : String(e),
      } satisfies AheadReply);
    }
  });
