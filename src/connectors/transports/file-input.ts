/**
 * `file_input`: reads a file with the connector's format (JSON, CSV or Parquet) and pushes its records to the
 * table. Parquet files are read by row ranges, with the row index as the position (see parquet-input.ts);
 * `follow` is refused for them. The rest of this header is about the line formats.
 *
 * Config (Feldera's): `path` (absolute/relative path or `file://` URL, required), `follow` (false: stop at the
 * end of the file and signal end of input; true: keep polling for appended data), `buffer_size_bytes` (read
 * size). The file is read in chunks; only complete records are parsed (a record cut by a chunk boundary waits
 * for the rest). Record boundaries are newlines outside JSON values / CSV quotes, found by a byte scanner, so
 * the position — the byte offset just after the last pushed record — always falls between records and reading
 * can restart from it. Without `follow`, trailing bytes with no final newline form the last record; with
 * `follow` they wait for their newline. Parse errors are counted and logged; the other records are pushed.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isServiceError } from '../../errors/service-error.ts';
import type { TableSchema } from '../../sql/schema.ts';
import { inputParser } from '../formats/index.ts';
import {
  type ConnectorContext,
  type ConnectorSpec,
  configError,
  optionalBool,
  optionalInt,
  requiredString,
} from './config.ts';
import { InputRun } from './input-run.ts';
import { fileSource, pushParquet } from './parquet-input.ts';
import { RecordBuffer } from './record-buffer.ts';
import { sleep } from './run-control.ts';
import type {
  ConnectorHost,
  ConnectorLog,
  FileInputPosition,
  InputPosition,
  RunningConnector,
} from './types.ts';

export interface FileInputConfig {
  readonly path: string;
  readonly follow: boolean;
  readonly bufferSizeBytes: number;
}

const KNOWN_KEYS = ['path', 'follow', 'buffer_size_bytes'];
export const DEFAULT_READ_BYTES = 256 * 1024;

/** Resolves a `path` option (plain path or file:// URL) against `baseDir`. */
export function resolveFilePath(ctx: ConnectorContext, raw: unknown, baseDir: string): string {
  const p = requiredString(ctx, raw, 'path');
  if (p.startsWith('file:')) {
    try {
      return fileURLToPath(p);
    } catch (e) {
      throw configError(ctx, `'path' is not a valid file:// URL: ${(e as Error).message}`);
    }
  }
  return resolvePath(baseDir, p);
}

export function fileInputConfig(
  ctx: ConnectorContext,
  cfg: Readonly<Record<string, unknown>>,
  baseDir: string,
  log: ConnectorLog,
): FileInputConfig {
  for (const k of Object.keys(cfg)) {
    if (!KNOWN_KEYS.includes(k))
      log(
        'warn',
        `connector '${ctx.connector}' of table '${ctx.relation}': ignoring unknown file_input option '${k}'`,
      );
  }
  return {
    path: resolveFilePath(ctx, cfg.path, baseDir),
    follow: optionalBool(ctx, cfg.follow, 'follow', false),
    bufferSizeBytes: optionalInt(ctx, cfg.buffer_size_bytes, 'buffer_size_bytes', 1) ?? DEFAULT_READ_BYTES,
  };
}

export function formatOf(ctx: ConnectorContext, spec: ConnectorSpec): 'json' | 'csv' | 'parquet' {
  const f = spec.format;
  if (f === null)
    throw configError(
      ctx,
      'a "format" is required, e.g. {"name": "json", "config": {"update_format": "raw"}}',
    );
  if (f.name !== 'json' && f.name !== 'csv' && f.name !== 'parquet')
    throw configError(
      ctx,
      `format '${f.name}' is not supported; use json, csv or parquet`,
      'ConfigError.UnknownInputFormat',
    );
  return f.name;
}

/** Validates the config and format (throws naming the connector); opens nothing. */
export function checkFileInput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  baseDir: string,
  log: ConnectorLog,
): FileInputConfig {
  const cfg = fileInputConfig(ctx, spec.config, baseDir, log);
  if (checkFormat(ctx, spec) === 'parquet' && cfg.follow)
    throw configError(
      ctx,
      "'follow' cannot be used with the parquet format: a Parquet file is complete only once its footer is written, so it cannot be read while it grows; write complete files and read them with object_store_input (a Local directory) and 'follow'",
    );
  return cfg;
}

/** The connector's record format (`json`, `csv` or `parquet`), its options validated (errors name the connector). */
export function checkFormat(ctx: ConnectorContext, spec: ConnectorSpec): 'json' | 'csv' | 'parquet' {
  const format = formatOf(ctx, spec);
  if (format === 'parquet') return format; // Feldera's parquet parser has no options
  try {
    inputParser(format, spec.format?.config ?? {});
  } catch (e) {
    throw wrapFormatError(ctx, e);
  }
  return format;
}

/** Re-raises a format-option error with the connector named in its message (same error code). */
export function wrapFormatError(ctx: ConnectorContext, e: unknown): unknown {
  return isServiceError(e) ? configError(ctx, e.message, e.errorCode, e.details) : e;
}

/** The Parquet row to resume at (`row` of a file position; 0 when absent). */
export function positionRow(ctx: ConnectorContext, position: InputPosition | null | undefined): number {
  const row = (position as { row?: unknown } | null | undefined)?.row;
  if (row === undefined) return 0;
  if (typeof row !== 'number' || !Number.isSafeInteger(row) || row < 0)
    throw configError(
      ctx,
      `the resume position's "row" must be a row index, got ${JSON.stringify(position)}`,
    );
  return row;
}

export function positionOffset(ctx: ConnectorContext, position: InputPosition | null | undefined): number {
  if (position === null || position === undefined) return 0;
  const off = (position as Partial<FileInputPosition>).offset;
  if (typeof off !== 'number' || !Number.isSafeInteger(off) || off < 0)
    throw configError(
      ctx,
      `the resume position must be {"offset": <byte offset>}, got ${JSON.stringify(position)}`,
    );
  return off;
}

/** Opens the file and starts reading from `position` (default: the beginning). */
export async function startFileInput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  table: TableSchema,
  host: ConnectorHost,
  log: ConnectorLog,
  options: { baseDir: string; position?: InputPosition | null; pollMs?: number },
): Promise<RunningConnector> {
  const cfg = checkFileInput(ctx, spec, options.baseDir, log);
  const format = formatOf(ctx, spec);
  const start = positionOffset(ctx, options.position);
  let fh: FileHandle;
  try {
    fh = await open(cfg.path, 'r');
  } catch (e) {
    throw configError(ctx, `cannot open '${cfg.path}': ${(e as Error).message}`, 'FileReadError', {
      path: cfg.path,
    });
  }
  const size = (await fh.stat()).size;
  if (start > size) {
    await fh.close();
    throw configError(
      ctx,
      `cannot resume at byte ${start}: '${cfg.path}' has only ${size} bytes (was it replaced or truncated?)`,
      'FileReadError',
      { path: cfg.path },
    );
  }
  if (format === 'parquet') {
    const fromRow = positionRow(ctx, options.position);
    const run = new InputRun(ctx, host, log, spec.maxBatchSize, { offset: 0, row: fromRow });
    run.onStop(() => fh.close().catch(() => {}));
    run.start(async () => {
      await pushParquet(run, table, fileSource(fh, size), `'${cfg.path}'`, fromRow, (row) => ({
        offset: 0,
        row,
      }));
      return run.stopped ? 'stopped' : 'end_of_input';
    });
    return run;
  }
  const fmtConfig = spec.format?.config ?? {};
  const firstParser = inputParser(format, fmtConfig);
  // a CSV header is only skipped at the very start of the file
  const restParser = format === 'csv' ? inputParser(format, { ...fmtConfig, headers: false }) : firstParser;
  const run = new InputRun(ctx, host, log, spec.maxBatchSize, { offset: start });
  run.onStop(() => fh.close().catch(() => {}));
  const pollMs = options.pollMs ?? 100;

  run.start(async () => {
    const records = new RecordBuffer(format);
    let base = start; // byte offset of the next record to push
    let readAt = start;
    let atStart = start === 0;
    const chunk = Buffer.alloc(cfg.bufferSizeBytes);

    const flush = async (bytes: Buffer): Promise<void> => {
      const parser = atStart ? firstParser : restParser;
      atStart = false;
      const r = parser(table, bytes.toString('utf8'));
      run.reportParseErrors(r, `at bytes ${base}..${base + bytes.length} of '${cfg.path}'`);
      base += bytes.length;
      await run.push(r.changes, bytes.length, { offset: base });
    };

    for (;;) {
      if (run.stopped) return 'stopped';
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, readAt);
      if (bytesRead > 0) {
        readAt += bytesRead;
        const ready = records.add(chunk.subarray(0, bytesRead));
        if (ready !== null) await flush(ready);
        continue;
      }
      // end of file (for now)
      if (!cfg.follow) {
        const rest = records.rest();
        if (rest !== null) await flush(rest);
        return 'end_of_input';
      }
      await sleep(pollMs, run.signal);
    }
  });
  return run;
}
