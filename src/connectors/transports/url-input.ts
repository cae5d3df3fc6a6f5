/**
 * `url_input`: reads one HTTP(S) resource with the connector's format (JSON or CSV) and pushes its records to
 * the table, streaming: records are parsed and pushed as the body arrives, so memory holds one chunk and at most
 * one incomplete record, never the whole resource.
 *
 * Config (Feldera's): `path` (an `http://` or `https://` URL, required), `pause_timeout` (seconds, default 60).
 * While the pipeline does not take more input (the connector paused, or backpressure) the body is not read, so
 * the server is slowed down by TCP flow control; once a push has waited longer than `pause_timeout`, the
 * connection is closed, and reading continues later with a `Range: bytes=N-` request from the byte after the
 * last pushed record.
 *
 * Position (fault tolerance, exactly once): `{offset, etag?}` — the byte offset just after the last pushed record
 * and the resource's entity tag when the server sent one. A restart from a checkpoint resumes with a Range
 * request at `offset` (a server that ignores Range and answers 200 is read from the start, and the first
 * `offset` bytes are skipped). With an `etag`, every resuming request carries `If-Match`: a resource that changed
 * since (412) fails the connector with `UrlInputChanged` instead of mixing two versions.
 *
 * Errors: a 4xx answer (but 416 at the end of the resource) fails the connector (`UrlInputFailed`, with the
 * status); a network error or a 5xx answer is retried from the last pushed record, 5 times with growing delays
 * (0.1 s to 1.6 s), then fails the connector. Records that do not parse are counted and logged (the others are
 * pushed), as for `file_input`.
 */
import type { TableSchema } from '../../sql/schema.ts';
import type { ErrorCode } from '../../types/error-codes.ts';
import { inputParser } from '../formats/index.ts';
import {
  type ConnectorContext,
  type ConnectorSpec,
  configError,
  optionalInt,
  requiredString,
} from './config.ts';
import { checkFormat, formatOf } from './file-input.ts';
import { InputRun } from './input-run.ts';
import { RecordBuffer } from './record-buffer.ts';
import { Stopped, sleep } from './run-control.ts';
import type {
  ConnectorHost,
  ConnectorLog,
  InputPosition,
  RunningConnector,
  UrlInputPosition,
} from './types.ts';

export interface UrlInputConfig {
  readonly url: string;
  readonly pauseTimeoutMs: number;
}

const KNOWN_KEYS = ['path', 'pause_timeout'];
const RETRIES = 5;
const FAILED: ErrorCode = 'UrlInputFailed';
const CHANGED: ErrorCode = 'UrlInputChanged';

/** Validates the config and format (throws naming the connector); connects to nothing. */
export function checkUrlInput(ctx: ConnectorContext, spec: ConnectorSpec, log: ConnectorLog): UrlInputConfig {
  for (const k of Object.keys(spec.config))
    if (!KNOWN_KEYS.includes(k))
      log(
        'warn',
        `connector '${ctx.connector}' of table '${ctx.relation}': ignoring unknown url_input option '${k}'`,
      );
  const path = requiredString(ctx, spec.config.path, 'path');
  let url: URL;
  try {
    url = new URL(path);
  } catch {
    throw configError(ctx, `'path' must be an http:// or https:// URL, got ${JSON.stringify(path)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw configError(
      ctx,
      `'path' must be an http:// or https:// URL, got ${JSON.stringify(path)}; read local files with file_input`,
    );
  if (formatOf(ctx, spec) === 'parquet')
    throw configError(
      ctx,
      'url_input reads json or csv; read Parquet files with file_input or object_store_input',
      'ConfigError.UnknownInputFormat',
    );
  checkFormat(ctx, spec);
  const seconds = optionalInt(ctx, spec.config.pause_timeout, 'pause_timeout', 0) ?? 60;
  return { url: url.href, pauseTimeoutMs: seconds * 1000 };
}

function urlPosition(ctx: ConnectorContext, position: InputPosition | null | undefined): UrlInputPosition {
  if (position === null || position === undefined) return { offset: 0 };
  const p = position as Partial<UrlInputPosition>;
  if (typeof p.offset !== 'number' || !Number.isSafeInteger(p.offset) || p.offset < 0)
    throw configError(
      ctx,
      `the resume position must be {"offset": <byte offset>}, got ${JSON.stringify(position)}`,
    );
  return p.etag === undefined ? { offset: p.offset } : { offset: p.offset, etag: String(p.etag) };
}

/** Thrown for an answer that a retry cannot fix (4xx, a changed resource). */
class Fatal extends Error {
  readonly error: Error;
  constructor(error: Error) {
    super(error.message);
    this.error = error;
  }
}

/** Starts reading `path` from `position` (default: the beginning). */
export function startUrlInput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  table: TableSchema,
  host: ConnectorHost,
  log: ConnectorLog,
  options: { position?: InputPosition | null },
): RunningConnector {
  const cfg = checkUrlInput(ctx, spec, log);
  const format = formatOf(ctx, spec) as 'json' | 'csv';
  const start = urlPosition(ctx, options.position);
  const fmtConfig = spec.format?.config ?? {};
  const firstParser = inputParser(format, fmtConfig);
  // a CSV header is only skipped at the very start of the resource
  const restParser = format === 'csv' ? inputParser(format, { ...fmtConfig, headers: false }) : firstParser;
  const run = new InputRun(ctx, host, log, spec.maxBatchSize, start);

  run.start(async () => {
    let base = start.offset; // byte offset of the next record to push
    let etag = start.etag ?? null;
    let failures = 0;
    for (;;) {
      if (run.stopped) return 'stopped';
      const conn = new AbortController();
      const stop = () => conn.abort();
      run.signal.addEventListener('abort', stop, { once: true });
      try {
        const outcome = await readFrom(base);
        if (outcome === 'end') return 'end_of_input';
        failures = 0; // closed on purpose after a long pause: reconnect at once
      } catch (e) {
        if (run.stopped || e instanceof Stopped) return 'stopped';
        if (e instanceof Fatal) throw e.error;
        if (++failures > RETRIES)
          throw configError(
            ctx,
            `cannot read ${cfg.url} (${RETRIES} retries): ${(e as Error).message}`,
            FAILED,
            { url: cfg.url },
          );
        const delay = 100 * 2 ** (failures - 1);
        log(
          'warn',
          `${run.endpoint.name}: reading ${cfg.url} failed (${(e as Error).message}); retrying in ${delay} ms`,
          {
            endpoint: run.endpoint.name,
          },
        );
        await sleep(delay, run.signal);
      } finally {
        run.signal.removeEventListener('abort', stop);
        conn.abort();
      }

      /** One connection: reads from byte `from` until the end ('end') or until a long pause closes it ('closed'). */
      async function readFrom(from: number): Promise<'end' | 'closed'> {
        const headers: Record<string, string> = {};
        if (from > 0) headers.range = `bytes=${from}-`;
        if (from > 0 && etag !== null) headers['if-match'] = etag;
        const res = await fetch(cfg.url, { headers, signal: conn.signal });
        if (res.status === 416 && from > 0) return 'end'; // nothing after `from`: the resource was read whole
        if (res.status === 412)
          throw new Fatal(
            configError(
              ctx,
              `${cfg.url} changed since byte ${from} was read (its ETag is no longer ${etag}); a url_input resource must not change while it is read`,
              CHANGED,
              { url: cfg.url },
            ),
          );
        if (res.status >= 400 && res.status < 500)
          throw new Fatal(
            configError(ctx, `GET ${cfg.url} answered HTTP ${res.status}`, FAILED, {
              url: cfg.url,
              status: res.status,
            }),
          );
        if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
        const tag = res.headers.get('etag');
        if (tag !== null && !tag.startsWith('W/')) {
          if (etag !== null && tag !== etag)
            throw new Fatal(
              configError(ctx, `${cfg.url} changed while it was read (ETag ${etag} → ${tag})`, CHANGED, {
                url: cfg.url,
              }),
            );
          etag = tag;
        }
        // bytes of the body to drop: a server that ignores Range sends the resource from its first byte
        let skip = 0;
        if (from > 0) {
          if (res.status === 206) {
            const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
            if (m === null || Number(m[1]) !== from)
              throw new Error(
                `asked for bytes from ${from}, got Content-Range ${res.headers.get('content-range')}`,
              );
          } else skip = from;
        }
        const records = new RecordBuffer(format);
        let atStart = from === 0;
        const flush = async (bytes: Buffer): Promise<'pushed' | 'closed'> => {
          const parser = atStart ? firstParser : restParser;
          atStart = false;
          const r = parser(table, bytes.toString('utf8'));
          run.reportParseErrors(r, `at bytes ${base}..${base + bytes.length} of ${cfg.url}`);
          base += bytes.length;
          const position: UrlInputPosition = etag === null ? { offset: base } : { offset: base, etag };
          // a push that waits longer than pause_timeout (paused, backpressure) closes the connection first
          let timer: NodeJS.Timeout | undefined;
          let closed = false;
          const pushed = run.push(r.changes, bytes.length, position);
          await Promise.race([
            pushed,
            new Promise<void>((resolve) => {
              timer = setTimeout(() => {
                closed = true;
                conn.abort();
                resolve();
              }, cfg.pauseTimeoutMs);
            }),
          ]).finally(() => clearTimeout(timer));
          await pushed;
          return closed ? 'closed' : 'pushed';
        };
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          let chunk = value;
          if (skip > 0) {
            const n = Math.min(skip, chunk.length);
            skip -= n;
            chunk = chunk.subarray(n);
            if (chunk.length === 0) continue;
          }
          const ready = records.add(chunk);
          if (ready !== null && (await flush(ready)) === 'closed') {
            log(
              'info',
              `${run.endpoint.name}: closed ${cfg.url} after a pause of over ${cfg.pauseTimeoutMs / 1000} s; resuming at byte ${base}`,
              {
                endpoint: run.endpoint.name,
              },
            );
            return 'closed';
          }
        }
        if (skip > 0) throw new Error(`the body ended ${skip} bytes before the resume offset ${from}`);
        const rest = records.rest();
        if (rest !== null) await flush(rest);
        return 'end';
      }
    }
  });
  return run;
}
