/**
 * `file_input`: reads a file with the connector's format (JSON or CSV) and pushes its records to the table.
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

/** Incremental record-boundary finder over bytes (state carries across chunks). */
export class BoundaryScanner {
  readonly #csv: boolean;
  #depth = 0;
  #inString = false;
  #escape = false;

  constructor(format: 'json' | 'csv') {
    this.#csv = format === 'csv';
  }

  /** Scans `buf[from..)`; returns the index just after the last record boundary in that range, or -1. */
  scan(buf: Uint8Array, from: number): number {
    let last = -1;
    const n = buf.length;
    if (this.#csv) {
      let q = this.#inString;
      for (let i = from; i < n; i++) {
        const c = buf[i] as number;
        if (c === 34) q = !q;
        else if (c === 10 && !q) last = i + 1;
      }
      this.#inString = q;
      return last;
    }
    let depth = this.#depth;
    let inStr = this.#inString;
    let esc = this.#escape;
    for (let i = from; i < n; i++) {
      const c = buf[i] as number;
      if (inStr) {
        if (esc) esc = false;
        else if (c === 92) esc = true;
        else if (c === 34) inStr = false;
      } else if (c === 34) inStr = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) depth = depth > 0 ? depth - 1 : 0;
      else if (c === 10 && depth === 0) last = i + 1;
    }
    this.#depth = depth;
    this.#inString = inStr;
    this.#escape = esc;
    return last;
  }
}

function formatOf(ctx: ConnectorContext, spec: ConnectorSpec): 'json' | 'csv' {
  const f = spec.format;
  if (f === null)
    throw configError(
      ctx,
      'a "format" is required, e.g. {"name": "json", "config": {"update_format": "raw"}}',
    );
  if (f.name !== 'json' && f.name !== 'csv')
    throw configError(
      ctx,
      `format '${f.name}' is not supported; use json or csv`,
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
  const format = formatOf(ctx, spec);
  try {
    inputParser(format, spec.format?.config ?? {});
  } catch (e) {
    throw wrapFormatError(ctx, e);
  }
  return cfg;
}

/** Re-raises a format-option error with the connector named in its message (same error code). */
export function wrapFormatError(ctx: ConnectorContext, e: unknown): unknown {
  return isServiceError(e) ? configError(ctx, e.message, e.errorCode, e.details) : e;
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
  const fmtConfig = spec.format?.config ?? {};
  const firstParser = inputParser(format, fmtConfig);
  // a CSV header is only skipped at the very start of the file
  const restParser = format === 'csv' ? inputParser(format, { ...fmtConfig, headers: false }) : firstParser;
  const run = new InputRun(ctx, host, log, spec.maxBatchSize, { offset: start });
  run.onStop(() => fh.close().catch(() => {}));
  const pollMs = options.pollMs ?? 100;

  run.start(async () => {
    const scanner = new BoundaryScanner(format);
    let pending: Buffer = Buffer.alloc(0); // bytes read but not yet pushed; starts at `base`
    let base = start;
    let scanned = 0; // pending[0..scanned) already scanned
    let boundary = -1; // end of the last complete record within pending
    let readAt = start;
    let atStart = start === 0;
    const chunk = Buffer.alloc(cfg.bufferSizeBytes);

    const flush = async (upTo: number): Promise<void> => {
      const text = pending.subarray(0, upTo).toString('utf8');
      const parser = atStart ? firstParser : restParser;
      atStart = false;
      const r = parser(table, text);
      run.reportParseErrors(r, `at bytes ${base}..${base + upTo} of '${cfg.path}'`);
      const next = base + upTo;
      pending = pending.subarray(upTo);
      scanned -= upTo;
      boundary = -1;
      base = next;
      await run.push(r.changes, upTo, { offset: next });
    };

    for (;;) {
      if (run.stopped) return 'stopped';
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, readAt);
      if (bytesRead > 0) {
        readAt += bytesRead;
        pending =
          pending.length === 0
            ? Buffer.from(chunk.subarray(0, bytesRead))
            : Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
        const b = scanner.scan(pending, scanned);
        scanned = pending.length;
        if (b >= 0) boundary = b;
        if (boundary > 0) await flush(boundary);
        continue;
      }
      // end of file (for now)
      if (!cfg.follow) {
        if (pending.length > 0) await flush(pending.length);
        return 'end_of_input';
      }
      await sleep(pollMs, run.signal);
    }
  });
  return run;
}
