/**
 * Parquet for the file and object-store inputs. A Parquet file is not read as a stream of records: its footer
 * (at the end) says where each row group is, so the file is read by byte ranges on demand — a local file
 * through its handle, an object with ranged GETs (retried from scratch on a transient failure) — and decoded
 * by row ranges of at most the connector's `max_batch_size` rows; only the row groups of that range are held.
 *
 * Position (exactly-once): the row index. A file's position is `{offset: 0, row}` (rows `0..row-1` pushed;
 * `offset` is unused for Parquet and stays 0 so the position keeps the file input's shape); an object's is
 * `{key, offset: 0, row, etag}` while it is read and `{key, offset: <size>, etag}` once it is done, as for the
 * line formats. Each push carries the position just after its rows, so a restart resumes at the exact row.
 */
import type { FileHandle } from 'node:fs/promises';
import type { TableSchema } from '../../sql/schema.ts';
import type { ObjectInfo, ObjectStore } from '../../sync/object-store.ts';
import { isTransient } from '../../sync/retry.ts';
import { type AsyncBuffer, openParquet } from '../formats/parquet-parser.ts';
import type { InputRun } from './input-run.ts';
import { sleep } from './run-control.ts';
import type { InputPosition } from './types.ts';

/** A local file as hyparquet reads it: each slice is one positional read. */
export function fileSource(fh: FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start, end) {
      const to = Math.min(end ?? size, size);
      const buf = Buffer.alloc(Math.max(0, to - start));
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + got) as ArrayBuffer;
    },
  };
}

/**
 * An object as hyparquet reads it: each slice is a ranged GET, retried `maxRetries` times on transient
 * failures. `onVersion` sees each response's ETag (the caller refuses a replaced object).
 */
export function objectSource(
  store: ObjectStore,
  obj: ObjectInfo,
  opts: {
    signal: AbortSignal;
    maxRetries: number;
    backoffMs: number;
    onVersion: (etag: string) => void;
    onRetry: (e: unknown, attempt: number) => void;
  },
): AsyncBuffer {
  return {
    byteLength: obj.size,
    async slice(start, end) {
      const to = Math.min(end ?? obj.size, obj.size);
      for (let attempt = 0; ; attempt++) {
        try {
          const { stream, info } = await store.getStream(obj.key, {
            range: { offset: start, length: to - start },
            signal: opts.signal,
          });
          opts.onVersion(info.etag);
          const parts: Buffer[] = [];
          for await (const c of stream as AsyncIterable<Buffer>) parts.push(c);
          const buf = Buffer.concat(parts);
          if (buf.length !== to - start)
            throw Object.assign(
              new Error(`the body of '${obj.key}' had ${buf.length} of ${to - start} bytes`),
              {
                transient: true,
              },
            );
          return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
        } catch (e) {
          if (opts.signal.aborted) throw e;
          const transient = isTransient(e) || (e as { transient?: boolean }).transient === true;
          if (!transient || attempt >= opts.maxRetries) throw e;
          opts.onRetry(e, attempt + 1);
          await sleep(opts.backoffMs * 2 ** attempt, opts.signal);
        }
      }
    },
  };
}

/**
 * Pushes the rows of a Parquet file from row `fromRow` on: each row group is decoded once, then pushed in
 * batches of at most `run.maxBatchSize` rows, each with the position after it (`positionAt(row, done)`: `row`
 * is the next row to read — rows before it that had errors are done too); the file's `bytes` are counted
 * with its last batch.
 * @throws ServiceError ParquetInvalidFile / ParquetSchemaMismatch (nothing of the file pushed for those found
 * in its footer), or the source's read error.
 */
export async function pushParquet(
  run: InputRun,
  table: TableSchema,
  source: AsyncBuffer,
  where: string,
  fromRow: number,
  positionAt: (row: number, done: boolean) => InputPosition,
): Promise<void> {
  const file = await openParquet(source, table, where);
  if (fromRow >= file.numRows) {
    await run.push([], fromRow === 0 ? source.byteLength : 0, positionAt(file.numRows, true));
    return;
  }
  const n = run.maxBatchSize;
  for (const g of file.groups) {
    if (g.end <= fromRow) continue;
    if (run.stopped) return;
    const start = Math.max(g.start, fromRow);
    const r = await file.read(start, g.end);
    run.reportParseErrors(r, `in rows ${start + 1}..${g.end} of ${where}`);
    const last = g.end === file.numRows;
    for (let i = 0; i === 0 || i < r.changes.length; i += n) {
      const j = Math.min(r.changes.length, i + n);
      const next = j < r.changes.length ? (r.rowIndex[j] as number) : g.end;
      const done = last && next === g.end;
      await run.push(r.changes.slice(i, j), done ? source.byteLength : 0, positionAt(next, done));
    }
  }
}
