/**
 * Object-store inputs: `s3_input` (Feldera's transport and config) and `object_store_input` (Holdfast's, for
 * S3-compatible stores, Google Cloud Storage, Azure Blob Storage and local directories, configured like the
 * checkpoint `sync` section). Both read objects with the connector's format (JSON, CSV or Parquet; each object
 * is a file of its own, so a CSV header is skipped at the start of every object) and push their records to the
 * table. A Parquet object is read by ranged GETs of the parts its footer names, row range by row range (see
 * parquet-input.ts); its position inside the object is the row index (`row`, with `offset` 0).
 *
 * Which objects: `key` reads one object; `prefix` reads every object whose key starts with it, in ascending
 * key order (UTF-8 byte order, sorted here: some S3-compatible servers list in another order). With `follow`
 * (a Holdfast extension) the connector keeps listing every `poll_interval_ms` and reads objects whose keys sort
 * after the last one read — write new objects under increasing names (timestamps, sequence numbers); an object
 * added under a smaller key than one already read is not read. Without `follow` the input ends after the
 * listing taken at start.
 *
 * Position (fault tolerance): `{key, offset, etag}` — every object before `key` is read, and `key` is read up to
 * byte `offset` (always a record boundary; `offset` = size when the object is done). Positions are reported
 * with each push, so an exactly_once restart resumes exactly there: nothing skipped, nothing repeated. Objects
 * are expected to be immutable: if the object at the position was replaced since (its ETag changed), the
 * connector fails (`ObjectInputChanged`) rather than mix two versions.
 *
 * Encryption: with `customer_key_secret` (AzureBlob only; a secret, redacted by name) every read carries that
 * customer-provided key (azure-store.ts); a blob written with another key fails with
 * `ObjectStoreEncryptionKeyMismatch`.
 *
 * Transfers: each object is streamed (a ranged read from the position), parsed chunk by chunk, never held
 * whole. Up to `max_concurrent_fetches` objects (default 8, as in Feldera) are fetched at once (object-prefetch.ts):
 * the object being parsed and the next ones in key order, each read ahead into a queue of at most
 * PREFETCH_BYTES (its socket paused beyond that), so prefetched bytes stay under `max_concurrent_fetches` ×
 * (PREFETCH_BYTES + one network chunk). Records are still parsed and pushed one object after the other, in key
 * order, with the same positions as a sequential read: a prefetched byte counts for nothing until it is pushed,
 * so a crash loses only read-ahead, never a record. Parquet objects are read one at a time. A transient failure
 * (connection reset, 5xx, a body cut short) is retried from the byte already reached, up to `max_retries` times
 * with exponential backoff; anything else fails the connector with the store's error (bad credentials, missing
 * bucket).
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { TableSchema } from '../../sql/schema.ts';
import { AzureStore } from '../../sync/azure-store.ts';
import { DirStore } from '../../sync/dir-store.ts';
import type { ObjectInfo, ObjectStore } from '../../sync/object-store.ts';
import { S3Store } from '../../sync/s3-store.ts';
import type { ErrorCode } from '../../types/error-codes.ts';
import { inputParser } from '../formats/index.ts';
import {
  type ConnectorContext,
  type ConnectorSpec,
  configError,
  optionalBool,
  optionalInt,
} from './config.ts';
import { checkFormat, formatOf, wrapFormatError } from './file-input.ts';
import { InputRun } from './input-run.ts';
import { ObjectFetch } from './object-prefetch.ts';
import { objectSource, pushParquet } from './parquet-input.ts';
import { RecordBuffer } from './record-buffer.ts';
import { sleep } from './run-control.ts';
import type {
  ConnectorHost,
  ConnectorLog,
  InputPosition,
  ObjectInputPosition,
  RunningConnector,
} from './types.ts';

export interface ObjectInputConfig {
  /** Opens the store (credentials resolved); called once per run. */
  readonly open: () => ObjectStore;
  /** Human-readable location, no secrets. */
  readonly location: string;
  readonly key: string | null;
  readonly prefix: string;
  readonly follow: boolean;
  readonly pollMs: number;
  readonly maxRetries: number;
  /** Objects fetched at once (read ahead of the one being parsed). */
  readonly maxFetches: number;
}

const S3_INPUT_KEYS = [
  'aws_access_key_id',
  'aws_secret_access_key',
  'no_sign_request',
  'key',
  'prefix',
  'region',
  'bucket_name',
  'endpoint_url',
  'max_concurrent_fetches',
  'max_retries',
  'streaming',
  'follow',
  'poll_interval_ms',
];

const OBJECT_STORE_INPUT_KEYS = [
  'provider',
  'bucket',
  'endpoint',
  'region',
  'access_key',
  'secret_key',
  'account',
  'sas_token',
  'customer_key_secret',
  'key',
  'prefix',
  'follow',
  'poll_interval_ms',
  'max_retries',
  'max_concurrent_fetches',
];

/** The error of an input object replaced under the reader. */
const CHANGED: ErrorCode = 'ObjectInputChanged';
const DEFAULT_POLL_MS = 1000;
const DEFAULT_MAX_RETRIES = 5;
const READ_BACKOFF_MS = 200;
/** Feldera's default `max_concurrent_fetches`. */
const DEFAULT_MAX_FETCHES = 8;
const MAX_FETCHES = 256;
/** Bytes each fetch may hold ahead of the parser before it stops reading its response. */
export const PREFETCH_BYTES = 2 * 1024 * 1024;

function optionalString(ctx: ConnectorContext, v: unknown, key: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw configError(ctx, `'${key}' must be a string`);
  return v;
}

function warnUnknown(
  ctx: ConnectorContext,
  cfg: Readonly<Record<string, unknown>>,
  known: readonly string[],
  log: ConnectorLog,
): void {
  for (const k of Object.keys(cfg))
    if (!known.includes(k))
      log(
        'warn',
        `connector '${ctx.connector}' of table '${ctx.relation}': ignoring unknown ${ctx.transport} option '${k}'`,
      );
}

/** `key` xor `prefix`, as Feldera's S3 input requires. */
function selection(
  ctx: ConnectorContext,
  cfg: Readonly<Record<string, unknown>>,
): { key: string | null; prefix: string } {
  const key = optionalString(ctx, cfg.key, 'key');
  const prefix = optionalString(ctx, cfg.prefix, 'prefix');
  if ((key === null) === (prefix === null))
    throw configError(
      ctx,
      "set exactly one of 'key' (read one object) and 'prefix' (read every object under it; \"\" for all)",
    );
  if (key === '') throw configError(ctx, "'key' must not be empty");
  return { key, prefix: prefix ?? '' };
}

function common(
  ctx: ConnectorContext,
  cfg: Readonly<Record<string, unknown>>,
): Pick<ObjectInputConfig, 'follow' | 'pollMs' | 'maxRetries' | 'maxFetches'> {
  const maxFetches =
    optionalInt(ctx, cfg.max_concurrent_fetches, 'max_concurrent_fetches', 1) ?? DEFAULT_MAX_FETCHES;
  if (maxFetches > MAX_FETCHES)
    throw configError(ctx, `'max_concurrent_fetches' must be at most ${MAX_FETCHES}, got ${maxFetches}`);
  return {
    follow: optionalBool(ctx, cfg.follow, 'follow', false),
    pollMs: optionalInt(ctx, cfg.poll_interval_ms, 'poll_interval_ms', 10) ?? DEFAULT_POLL_MS,
    maxRetries: optionalInt(ctx, cfg.max_retries, 'max_retries', 0) ?? DEFAULT_MAX_RETRIES,
    maxFetches,
  };
}

/** Validates an `s3_input` config (Feldera's fields); opens nothing. */
export function s3InputConfig(
  ctx: ConnectorContext,
  cfg: Readonly<Record<string, unknown>>,
  log: ConnectorLog,
): ObjectInputConfig {
  warnUnknown(ctx, cfg, S3_INPUT_KEYS, log);
  const bucket = optionalString(ctx, cfg.bucket_name, 'bucket_name');
  if (bucket === null || bucket === '' || bucket.includes('/'))
    throw configError(ctx, "'bucket_name' (the S3 bucket's name, without a prefix) is required");
  const region = optionalString(ctx, cfg.region, 'region');
  if (region === null || region === '') throw configError(ctx, '\'region\' is required (e.g. "us-east-1")');
  const anonymous = optionalBool(ctx, cfg.no_sign_request, 'no_sign_request', false);
  const accessKey = optionalString(ctx, cfg.aws_access_key_id, 'aws_access_key_id');
  const secretKey = optionalString(ctx, cfg.aws_secret_access_key, 'aws_secret_access_key');
  if (!anonymous && (accessKey === null || secretKey === null))
    throw configError(
      ctx,
      "set 'aws_access_key_id' and 'aws_secret_access_key', or 'no_sign_request': true for a public bucket",
    );
  const endpoint = optionalString(ctx, cfg.endpoint_url, 'endpoint_url');
  optionalBool(ctx, cfg.streaming, 'streaming', false);
  const sel = selection(ctx, cfg);
  const rest = common(ctx, cfg);
  const open = () =>
    new S3Store({
      bucket,
      region,
      ...(endpoint !== null ? { endpoint } : {}),
      ...(anonymous
        ? { anonymous: true }
        : { accessKey: accessKey as string, secretKey: secretKey as string }),
      maxAttempts: 1,
      maxSockets: Math.max(50, rest.maxFetches),
    });
  open(); // validates endpoint and the rest now (a bad config is a compile-time error)
  return { open, location: `s3://${bucket}`, ...sel, ...rest };
}

/** Validates an `object_store_input` config (fields of the checkpoint `sync` section); opens nothing. */
export function objectStoreInputConfig(
  ctx: ConnectorContext,
  cfg: Readonly<Record<string, unknown>>,
  baseDir: string,
  log: ConnectorLog,
): ObjectInputConfig {
  warnUnknown(ctx, cfg, OBJECT_STORE_INPUT_KEYS, log);
  const provider = optionalString(ctx, cfg.provider, 'provider') ?? 'AWS';
  const bucket = optionalString(ctx, cfg.bucket, 'bucket');
  if (bucket === null || bucket === '')
    throw configError(
      ctx,
      '\'bucket\' is required: "bucket/prefix" (S3, GCS), "container/prefix" (AzureBlob) or a directory (Local)',
    );
  const endpoint = optionalString(ctx, cfg.endpoint, 'endpoint');
  const region = optionalString(ctx, cfg.region, 'region');
  const accessKey = optionalString(ctx, cfg.access_key, 'access_key');
  const secretKey = optionalString(ctx, cfg.secret_key, 'secret_key');
  const account = optionalString(ctx, cfg.account, 'account');
  const sasToken = optionalString(ctx, cfg.sas_token, 'sas_token');
  const customerKey = optionalString(ctx, cfg.customer_key_secret, 'customer_key_secret');
  const sel = selection(ctx, cfg);
  const rest = common(ctx, cfg);
  let open: () => ObjectStore;
  let location: string;
  const p = provider.toLowerCase();
  if (customerKey !== null && p !== 'azureblob' && p !== 'azure')
    throw configError(ctx, "'customer_key_secret' (a customer-provided key) is for provider AzureBlob");
  if (p === 'local') {
    const root = isAbsolute(bucket) ? bucket : resolvePath(baseDir, bucket);
    open = () => new DirStore({ root });
    location = `dir:${root}`;
  } else if (p === 'azureblob' || p === 'azure') {
    open = () =>
      new AzureStore({
        bucket,
        ...(endpoint !== null ? { endpoint } : {}),
        ...(accessKey !== null && secretKey !== null
          ? { accountName: accessKey, accountKey: secretKey }
          : {}),
        ...(account !== null ? { account } : {}),
        ...(sasToken !== null ? { sasToken } : {}),
        ...(customerKey !== null ? { customerKey } : {}),
        maxTries: 1,
      });
    location = `azureblob://${bucket}`;
  } else {
    open = () =>
      new S3Store({
        bucket,
        provider,
        ...(endpoint !== null ? { endpoint } : {}),
        ...(region !== null ? { region } : {}),
        ...(accessKey !== null ? { accessKey } : {}),
        ...(secretKey !== null ? { secretKey } : {}),
        maxAttempts: 1,
        maxSockets: Math.max(50, rest.maxFetches),
      });
    location = `${p === 'gcs' ? 'gs' : 's3'}://${bucket}`;
  }
  try {
    void open().close(); // validates provider, endpoint and credentials' shape now
  } catch (e) {
    throw wrapFormatError(ctx, e);
  }
  return { open, location, ...sel, ...rest };
}

/** Validates the config of either transport and the format (throws naming the connector). */
export function checkObjectInput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  baseDir: string,
  log: ConnectorLog,
): ObjectInputConfig {
  let cfg: ObjectInputConfig;
  try {
    cfg =
      spec.transport === 's3_input'
        ? s3InputConfig(ctx, spec.config, log)
        : objectStoreInputConfig(ctx, spec.config, baseDir, log);
  } catch (e) {
    throw wrapFormatError(ctx, e);
  }
  checkFormat(ctx, spec);
  return cfg;
}

function positionOf(
  ctx: ConnectorContext,
  raw: InputPosition | null | undefined,
): ObjectInputPosition | null {
  if (raw === null || raw === undefined) return null;
  const p = raw as Partial<ObjectInputPosition>;
  if (
    typeof p.key !== 'string' ||
    typeof p.offset !== 'number' ||
    !Number.isSafeInteger(p.offset) ||
    p.offset < 0 ||
    (p.etag !== undefined && typeof p.etag !== 'string') ||
    (p.row !== undefined && (typeof p.row !== 'number' || !Number.isSafeInteger(p.row) || p.row < 0))
  )
    throw configError(
      ctx,
      `the resume position must be {"key": <object key>, "offset": <byte offset>}, got ${JSON.stringify(raw)}`,
    );
  return {
    key: p.key,
    offset: p.offset,
    ...(p.etag !== undefined ? { etag: p.etag } : {}),
    ...(p.row !== undefined ? { row: p.row } : {}),
  };
}

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Starts reading from `position` (default: the first object). */
export async function startObjectInput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  table: TableSchema,
  host: ConnectorHost,
  log: ConnectorLog,
  options: { baseDir: string; position?: InputPosition | null },
): Promise<RunningConnector> {
  const cfg = checkObjectInput(ctx, spec, options.baseDir, log);
  const format = formatOf(ctx, spec);
  const start = positionOf(ctx, options.position);
  const fmtConfig = spec.format?.config ?? {};
  const lines = format === 'parquet' ? 'json' : format; // the line formats' parsers (unused for parquet)
  const firstParser = inputParser(lines, fmtConfig);
  // a CSV header is only skipped at the very start of an object
  const restParser = format === 'csv' ? inputParser(format, { ...fmtConfig, headers: false }) : firstParser;
  const store = cfg.open();
  const run = new InputRun(ctx, host, log, spec.maxBatchSize, start);
  run.onStop(() => store.close().catch(() => {}));

  /** Objects to read after `pos` (sorted), from a fresh listing. */
  const pending = async (pos: ObjectInputPosition | null): Promise<ObjectInfo[]> => {
    let objs: ObjectInfo[];
    if (cfg.key !== null) {
      const info = await store.head(cfg.key, { signal: run.signal });
      if (info === null) {
        if (cfg.follow) return [];
        throw configError(ctx, `object '${cfg.key}' does not exist in ${cfg.location}`, 'ObjectNotFound', {
          key: cfg.key,
        });
      }
      objs = [info];
    } else {
      objs = [];
      for await (const o of store.list(cfg.prefix, { signal: run.signal })) objs.push(o);
      objs.sort((a, b) => utf8Order(a.key, b.key));
    }
    if (pos === null) return objs;
    return objs.filter((o) => {
      const c = utf8Order(o.key, pos.key);
      return c > 0 || (c === 0 && o.size > pos.offset);
    });
  };

  /** Reads a Parquet object from row `fromRow` (by ranged reads of the parts its footer names). */
  const readParquet = async (obj: ObjectInfo, fromRow: number, etag: string | undefined): Promise<void> => {
    let version = etag;
    const source = objectSource(store, obj, {
      signal: run.signal,
      maxRetries: cfg.maxRetries,
      backoffMs: READ_BACKOFF_MS,
      onVersion: (v) => {
        if (version !== undefined && v !== version)
          throw configError(
            ctx,
            `object '${obj.key}' in ${cfg.location} changed while it was being read (objects must not be replaced once written)`,
            CHANGED,
            { key: obj.key },
          );
        version = v;
      },
      onRetry: (e, attempt) =>
        log('warn', `${run.endpoint.name}: reading '${obj.key}' failed, retrying: ${(e as Error).message}`, {
          endpoint: run.endpoint.name,
          attempt,
        }),
    });
    await pushParquet(run, table, source, `'${obj.key}' in ${cfg.location}`, fromRow, (row, done) => ({
      key: obj.key,
      offset: done ? obj.size : 0,
      ...(done ? {} : { row }),
      ...(version !== undefined ? { etag: version } : {}),
    }));
  };

  /** Starts fetching `obj` from byte `from` (read ahead of the parser; see object-prefetch.ts). */
  const fetchObject = (
    obj: ObjectInfo,
    from: number,
    etag: string | undefined,
    signal: AbortSignal,
  ): ObjectFetch =>
    new ObjectFetch({
      store,
      obj,
      from,
      etag,
      signal,
      maxBuffered: PREFETCH_BYTES,
      maxRetries: cfg.maxRetries,
      backoffMs: READ_BACKOFF_MS,
      changed: () =>
        configError(
          ctx,
          `object '${obj.key}' in ${cfg.location} changed while it was being read (objects must not be replaced once written)`,
          CHANGED,
          { key: obj.key },
        ),
      onRetry: (e, attempt, at) =>
        log(
          'warn',
          `${run.endpoint.name}: reading '${obj.key}' failed, retrying from byte ${at}: ${(e as Error).message}`,
          { endpoint: run.endpoint.name, attempt },
        ),
    });

  /** Parses and pushes one object's bytes (fetched by `fetch` from byte `from`), in order. */
  const readObject = async (obj: ObjectInfo, fetch: ObjectFetch, from: number): Promise<void> => {
    const records = new RecordBuffer(lines);
    let base = from; // offset of the next record to push
    let atStart = from === 0;
    const position = (offset: number): ObjectInputPosition => ({
      key: obj.key,
      offset,
      ...(fetch.etag !== undefined ? { etag: fetch.etag } : {}),
    });
    const flush = async (bytes: Buffer): Promise<void> => {
      const parser = atStart ? firstParser : restParser;
      atStart = false;
      const r = parser(table, bytes.toString('utf8'));
      run.reportParseErrors(r, `at bytes ${base}..${base + bytes.length} of '${obj.key}' in ${cfg.location}`);
      base += bytes.length;
      await run.push(r.changes, bytes.length, position(base));
    };
    for await (const chunk of fetch.chunks()) {
      if (run.stopped) return;
      const ready = records.add(chunk);
      if (ready !== null) await flush(ready);
    }
    const rest = records.rest();
    if (rest !== null) await flush(rest);
    else if (base === 0 && obj.size === 0) await run.push([], 0, position(0));
  };

  /** Reads `objs` in order, fetching up to `maxFetches` of them at once; `pos` is where the pass starts. */
  const readAll = async (objs: readonly ObjectInfo[], pos: ObjectInputPosition | null): Promise<void> => {
    const pass = new AbortController();
    const stopPass = () => pass.abort();
    run.signal.addEventListener('abort', stopPass, { once: true });
    const fetches = new Map<number, ObjectFetch>();
    let next = 0; // the next object to start fetching
    const resumeAt = (obj: ObjectInfo) =>
      pos !== null && pos.key === obj.key
        ? { from: pos.offset, etag: pos.etag }
        : { from: 0, etag: undefined };
    try {
      for (let i = 0; i < objs.length; i++) {
        if (run.stopped) return;
        const obj = objs[i] as ObjectInfo;
        const resuming = pos !== null && pos.key === obj.key;
        if (resuming && pos?.etag !== undefined && obj.etag !== undefined && obj.etag !== pos.etag)
          throw configError(
            ctx,
            `cannot resume at byte ${pos.offset} of '${obj.key}' in ${cfg.location}: the object was replaced since the checkpoint (objects must not be replaced once written)`,
            CHANGED,
            { key: obj.key },
          );
        if (format === 'parquet') {
          await readParquet(obj, resuming ? (pos?.row ?? 0) : 0, resuming ? pos?.etag : undefined);
          continue;
        }
        // keep up to maxFetches objects in flight: this one and the next ones in key order
        next = Math.max(next, i);
        while (next < objs.length && next < i + cfg.maxFetches) {
          const o = objs[next] as ObjectInfo;
          const r = resumeAt(o);
          fetches.set(next, fetchObject(o, r.from, r.etag, pass.signal));
          next++;
        }
        const fetch = fetches.get(i) as ObjectFetch;
        fetches.delete(i);
        try {
          await readObject(obj, fetch, resumeAt(obj).from);
        } finally {
          fetch.cancel();
        }
      }
    } finally {
      run.signal.removeEventListener('abort', stopPass);
      pass.abort();
      for (const f of fetches.values()) f.cancel();
    }
  };

  run.start(async () => {
    let pos = start;
    for (;;) {
      if (run.stopped) return 'stopped';
      const objs = await pending(pos);
      await readAll(objs, pos);
      if (run.stopped) return 'stopped';
      const last = objs.at(-1);
      if (last !== undefined) pos = { key: last.key, offset: last.size };
      if (!cfg.follow) return 'end_of_input';
      await sleep(cfg.pollMs, run.signal);
    }
  });
  return run;
}
