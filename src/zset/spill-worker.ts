/**
 * The background writer's worker thread (`spill-writer.ts`): receives an in-memory batch's columnar arrays and
 * writes them as a batch file ({@link writeBatchFile}: block building, zstd, SHA-256 and the writes all run here,
 * off the pipeline's event loop), then answers with the file's path and hash, or with the error's message.
 *
 * State: none between jobs (each job is one complete file; jobs run in the order they were sent).
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { type EntryArrays, type FileLayout, writeBatchFile } from './batch-file.ts';

export interface SpillJob {
  readonly id: number;
  readonly dir: string;
  readonly layout: FileLayout;
  readonly compress: boolean;
  readonly blockBytes: number;
  readonly entries: EntryArrays;
  readonly objBytes: Uint8Array;
}

export type SpillReply =
  | { readonly id: number; readonly path: string; readonly hash: string }
  | { readonly id: number; readonly error: string };

const port = parentPort;
/** Replies go to their own port, which the main thread can also read synchronously between steps. */
const replies = (workerData as { replies?: MessagePort } | null)?.replies ?? null;
if (port !== null && replies !== null)
  port.on('message', (j: SpillJob) => {
    let reply: SpillReply;
    try {
      const objBytes = Buffer.from(j.objBytes.buffer, j.objBytes.byteOffset, j.objBytes.byteLength);
      reply = { id: j.id, ...writeBatchFile(j.dir, j.layout, j.compress, j.blockBytes, j.entries, objBytes) };
    } catch (e) {
      reply = { id: j.id, error: e instanceof Error ? e.message : String(e) };
    }
    replies.postMessage(reply);
  });
