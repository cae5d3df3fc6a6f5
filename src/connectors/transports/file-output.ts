/**
 * `file_output`: writes a view's changes to a file with the connector's format (JSON insert/delete lines, CSV
 * rows with a weight column, or Parquet: one or more complete Parquet files of the step's inserted rows,
 * appended one after the other as Feldera does), one write per step in which the view changed.
 *
 * Config (Feldera's): `path` (required; plain path or `file://` URL). Writes are synchronous (`writeSync` inside
 * the step's listener), so once the step that produced a change has completed its text is in the file; `stop()`
 * fsyncs and closes it.
 *
 * Fault tolerance (the pipeline's model):
 * - `none`: the file is created or truncated at start.
 * - `at_least_once`: the file is kept and appended to; after a crash the restarted process writes the changes
 *   from the newest checkpoint's state on (recomputed with its own step boundaries), so output after the
 *   checkpoint can repeat, and a change the crashed process wrote after the checkpoint can stay although the
 *   restart reaches the same state without it (every row of the view is still written at least once).
 * - `exactly_once`: a checkpoint records the file's length at its cut (`{offset}`) and syncs the file before it
 *   commits. On restart, output resumes at that offset; while the journal is replayed, bytes that are already
 *   in the file are compared and not written again (already delivered: suppressed), so the file ends up
 *   exactly as if the crash never happened. Bytes past the replayed output (impossible unless the file was
 *   edited) are cut off when replay ends. A fresh start (no checkpoint, no journal) truncates the file.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import type { ViewSchema } from '../../sql/schema.ts';
import { type ConnectorContext, type ConnectorSpec, configError } from './config.ts';
import { resolveFilePath } from './file-input.ts';
import { type BatchEncoder, outputEncoder } from './output-encoders.ts';
import type {
  ConnectorFtModel,
  ConnectorHost,
  ConnectorLog,
  ConnectorState,
  FileOutputProgress,
  RunningConnector,
} from './types.ts';

const KNOWN_KEYS = ['path'];

/** Validates config and format; returns the resolved path and encoder. */
export function checkFileOutput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  view: ViewSchema,
  baseDir: string,
  log: ConnectorLog,
): { path: string; encoder: BatchEncoder } {
  for (const k of Object.keys(spec.config)) {
    if (!KNOWN_KEYS.includes(k))
      log(
        'warn',
        `connector '${ctx.connector}' of view '${ctx.relation}': ignoring unknown file_output option '${k}'`,
      );
  }
  return {
    path: resolveFilePath(ctx, spec.config.path, baseDir),
    encoder: outputEncoder(ctx, spec.format, view.columns),
  };
}

export interface FileOutputOptions {
  readonly baseDir: string;
  readonly ft?: ConnectorFtModel;
  /** exactly_once: the progress the restored checkpoint recorded (null: no checkpoint). */
  readonly resume?: FileOutputProgress | null;
}

export function startFileOutput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  view: ViewSchema,
  host: ConnectorHost,
  log: ConnectorLog,
  options: FileOutputOptions,
): RunningConnector {
  const { path, encoder } = checkFileOutput(ctx, spec, view, options.baseDir, log);
  const ft = options.ft ?? 'none';
  let fd: number;
  try {
    fd = openSync(path, ft === 'none' ? 'w' : 'a+');
    if (ft !== 'none') {
      // positional writes below need a descriptor not opened in append mode
      closeSync(fd);
      fd = openSync(path, 'r+');
    }
  } catch (e) {
    throw configError(ctx, `cannot create '${path}': ${(e as Error).message}`, 'FileReadError', { path });
  }
  let state: ConnectorState = 'running';
  let error: string | null = null;
  let failedAt: string | null = null;
  let records = 0;
  let bytes = 0;
  const endpoint = `${ctx.relation}.${ctx.connector}`;
  /** Where the next output byte goes. */
  let offset =
    ft === 'exactly_once' ? (options.resume?.offset ?? 0) : ft === 'at_least_once' ? fstatSync(fd).size : 0;
  /** exactly_once, until replay ends: bytes of the file that may already hold the output being replayed. */
  let existing = ft === 'exactly_once' ? fstatSync(fd).size : 0;
  let suppressed = 0;

  const writeAt = (buf: Buffer, at: number) => {
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, at + off);
  };
  /** Writes `buf` at `offset`, skipping the part the file already holds identically (exactly_once replay). */
  const deliver = (buf: Buffer) => {
    let from = 0;
    if (offset < existing) {
      const n = Math.min(buf.length, existing - offset);
      const old = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, old, got, n - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      if (got === n && old.equals(buf.subarray(0, n))) {
        from = n;
        suppressed += n;
      } else {
        // the file differs from what replay produces: it is not ours to keep from here on
        log(
          'warn',
          `${endpoint}: '${path}' differs from the replayed output at byte ${offset}; rewriting from there`,
          {
            endpoint,
            offset,
          },
        );
        ftruncateSync(fd, offset);
        existing = offset;
      }
    }
    if (from < buf.length) writeAt(buf.subarray(from), offset + from);
    offset += buf.length;
  };

  let closed = false;
  let unlisten: (() => void) | null = null;
  let untrack: (() => void) | null = null;
  const listener = (change: Parameters<BatchEncoder>[0]) => {
    if (state !== 'running') return;
    try {
      const { text, records: n, bytes: data } = encoder(change);
      if (text === '' && data === undefined) return;
      const buf =
        data !== undefined
          ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
          : Buffer.from(text, 'utf8');
      if (ft === 'exactly_once') deliver(buf);
      else {
        writeAt(buf, offset);
        offset += buf.length;
      }
      records += n;
      bytes += buf.length;
    } catch (e) {
      state = 'failed';
      error = `writing '${path}' failed: ${(e as Error).message}`;
      failedAt = new Date().toISOString();
      log('error', `${endpoint}: ${error}`, { endpoint });
    }
  };
  try {
    unlisten = host.listen(view.name, listener);
    if (ft === 'exactly_once' && host.registerOutput) {
      untrack = host.registerOutput(endpoint, {
        progress: () => ({ offset }) satisfies FileOutputProgress,
        sync: () => {
          if (!closed) fsyncSync(fd);
        },
        replayed: () => {
          if (existing > offset) {
            log(
              'warn',
              `${endpoint}: cutting '${path}' back to ${offset} bytes (it held output no step produced)`,
              {
                endpoint,
              },
            );
            ftruncateSync(fd, offset);
          }
          if (suppressed > 0)
            log(
              'info',
              `${endpoint}: replay re-produced ${suppressed} bytes already in '${path}' (not written twice)`,
              {
                endpoint,
              },
            );
          existing = 0;
        },
      });
    }
  } catch (e) {
    unlisten?.();
    closeSync(fd);
    throw e;
  }
  return {
    settled: new Promise<void>(() => {}),
    position: () => null,
    status: () => ({
      endpoint,
      relation: ctx.relation,
      connector: ctx.connector,
      transport: ctx.transport,
      direction: 'output',
      state,
      records,
      bytes,
      parseErrors: 0,
      error,
      failedAt,
      position: null,
    }),
    stop: async () => {
      if (closed) return;
      closed = true;
      unlisten?.();
      untrack?.();
      if (state === 'running') state = 'stopped';
      try {
        fsyncSync(fd);
      } catch {
        // fsync is best effort (some file systems refuse it)
      }
      closeSync(fd);
    },
  };
}
