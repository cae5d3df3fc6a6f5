/**
 * The transfer engine: moves checkpoint files between local storage and an object store with the concurrency,
 * verification and bandwidth limits of the `sync` config (rclone's knobs, same meanings):
 *
 * - `transfers`: files moved at once ({@link Pool}).
 * - `checkers`: existence/size/checksum checks (HEAD) at once.
 * - `upload_concurrency`: multipart parts in flight per file above the upload cutoff.
 * - `multi_thread_streams` / `multi_thread_cutoff`: a download of a file at least the cutoff is split into that
 *   many ranged GETs written in place.
 * - `ignore_checksum`: verify sizes only (otherwise every byte is checked against the manifest's SHA-256).
 * - `--bwlimit`: one token bucket shared by every transfer ({@link RateLimiter}).
 *
 * State: none between calls except the rate limiter and the progress counters of the caller.
 */
import { createHash, type Hash, webcrypto } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, readFile, stat, unlink } from 'node:fs/promises';
import { ServiceError } from '../errors/service-error.ts';
import type { ObjectInfo, ObjectStore } from './object-store.ts';
import {
  DEFAULT_RETRY,
  deadlineMs,
  guardedBody,
  type Retrier,
  transientError,
  withDeadline,
} from './retry.ts';

/** Runs async tasks with at most `n` at once. */
export class Pool {
  readonly #n: number;
  #active = 0;
  readonly #queue: Array<() => void> = [];

  constructor(n: number) {
    this.#n = Math.max(1, n);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#n) await new Promise<void>((r) => this.#queue.push(r));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#queue.shift()?.();
    }
  }

  /** Maps every item through `fn` with the pool's concurrency; rejects with the first failure (after all settle). */
  async map<I, O>(items: readonly I[], fn: (item: I, index: number) => Promise<O>): Promise<O[]> {
    const results = await Promise.allSettled(items.map((item, i) => this.run(() => fn(item, i))));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return results.map((r) => (r as PromiseFulfilledResult<O>).value);
  }
}

/** A token bucket in bytes per second, shared by every transfer (`--bwlimit`); null rate: unlimited. */
export class RateLimiter {
  readonly #rate: number | null;
  #tokens: number;
  #last = performance.now();
  #chain: Promise<void> = Promise.resolve();

  constructor(bytesPerSecond: number | null | undefined) {
    this.#rate = bytesPerSecond ?? null;
    this.#tokens = this.#rate ?? 0;
  }

  get limited(): boolean {
    return this.#rate !== null;
  }

  /** Waits until `bytes` may pass. */
  take(bytes: number): Promise<void> {
    if (this.#rate === null || bytes <= 0) return Promise.resolve();
    const rate = this.#rate;
    this.#chain = this.#chain.then(async () => {
      const now = performance.now();
      this.#tokens = Math.min(rate, this.#tokens + ((now - this.#last) / 1000) * rate);
      this.#last = now;
      this.#tokens -= bytes;
      if (this.#tokens < 0) {
        const waitMs = (-this.#tokens / rate) * 1000;
        await new Promise((r) => setTimeout(r, waitMs));
      }
    });
    return this.#chain;
  }
}

export interface TransferOptions {
  readonly limiter: RateLimiter;
  /** Called with every chunk of bytes moved (for progress). */
  readonly onBytes?: (n: number) => void;
  readonly signal?: AbortSignal;
}

export interface UploadOptions extends TransferOptions {
  /** Files at least this large go up in parts. */
  readonly uploadCutoff: number;
  readonly partSize: number;
  /** Parts in flight per file. */
  readonly uploadConcurrency: number;
  /** Retries transient failures of the upload (the body is read again from the file); absent: one attempt. */
  readonly retrier?: Retrier;
}

const CHUNK = 1024 * 1024;
/** Smallest range a multi-stream download splits a file into. */
const MIN_RANGE = 64 * 1024;

/** Streams a local file, paced by the limiter. */
async function* throttledFile(
  path: string,
  limiter: RateLimiter,
  signal?: AbortSignal,
): AsyncIterable<Buffer> {
  const stream = createReadStream(path, { highWaterMark: CHUNK, ...(signal ? { signal } : {}) });
  for await (const chunk of stream) {
    await limiter.take((chunk as Buffer).length);
    yield chunk as Buffer;
  }
}

/** Uploads one local file with its SHA-256 as metadata. Small files go in one PUT, large ones in parts. */
export async function uploadFile(
  store: ObjectStore,
  key: string,
  path: string,
  file: { readonly size: number; readonly sha256: string },
  opts: UploadOptions,
): Promise<void> {
  let reported = 0;
  const progress = (loaded: number) => {
    if (loaded > reported) {
      opts.onBytes?.(loaded - reported);
      reported = loaded;
    }
  };
  const attempt = async () => {
    try {
      await uploadOnce(store, key, path, file, opts, progress);
    } catch (e) {
      // a failed attempt's progress is taken back: the next one starts over
      if (reported > 0) opts.onBytes?.(-reported);
      reported = 0;
      throw e;
    }
  };
  if (opts.retrier) await opts.retrier.run(`PUT ${key}`, attempt);
  else await attempt();
}

async function uploadOnce(
  store: ObjectStore,
  key: string,
  path: string,
  file: { readonly size: number; readonly sha256: string },
  opts: UploadOptions,
  progress: (loaded: number) => void,
): Promise<void> {
  if (file.size < opts.uploadCutoff) {
    const bytes = await readFile(path);
    if (bytes.length !== file.size)
      throw new ServiceError(
        'CheckpointCorrupt',
        `local file ${path} has ${bytes.length} bytes, expected ${file.size}; the checkpoint is damaged`,
        { path },
      );
    await opts.limiter.take(bytes.length);
    const put = (signal: AbortSignal | undefined) =>
      store.put(key, bytes, { sha256: file.sha256, ...(signal ? { signal } : {}) });
    if (opts.retrier)
      await withDeadline(
        `PUT ${key} on ${store.description}`,
        key,
        deadlineMs(opts.retrier.policy.idleTimeoutMs, bytes.length),
        opts.signal,
        put,
      );
    else await put(opts.signal);
    progress(bytes.length);
    return;
  }
  await store.put(key, throttledFile(path, opts.limiter, opts.signal), {
    sha256: file.sha256,
    partSize: opts.partSize,
    queueSize: opts.uploadConcurrency,
    onProgress: progress,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  progress(file.size);
}

export interface DownloadOptions extends TransferOptions {
  /** Files at least this large are fetched with `streams` ranged GETs. */
  readonly multiThreadCutoff: number;
  readonly streams: number;
  /** Size-only verification. */
  readonly ignoreChecksum: boolean;
  /** Retries transient failures (a whole single-stream download, or one range); absent: one attempt. */
  readonly retrier?: Retrier;
  /** A body that sends no byte for this long is a hang (transient); default {@link DEFAULT_RETRY}'s. */
  readonly idleTimeoutMs?: number;
}

/**
 * Downloads `key` into `dest` (a temporary path the caller renames) and verifies it against the expected size
 * and, unless `ignoreChecksum`, SHA-256.
 *
 * A body that breaks off, hangs, or ends before the `Content-Length` its response promised is a transient
 * `ObjectStoreUnavailable` (retried with `retrier`); only a COMPLETE body that differs from the manifest (size
 * or hash) is corruption. @throws ServiceError ObjectChecksumMismatch (corrupt) | ObjectStoreUnavailable
 */
export async function downloadFile(
  store: ObjectStore,
  key: string,
  dest: string,
  expected: { readonly size: number; readonly sha256: string },
  opts: DownloadOptions,
): Promise<void> {
  const retry = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    opts.retrier ? opts.retrier.run(what, fn) : fn();
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_RETRY.idleTimeoutMs;
  const what = `GET ${key} on ${store.description}`;
  /** One GET (of a range or the whole object) into `fh` at `offset`; progress is taken back when it fails. */
  const fetchInto = async (
    fh: FileHandle,
    offset: number,
    range: { offset: number; length: number } | null,
    hash: Hash | null,
    keep: Buffer[] | null,
  ): Promise<number> => {
    const { stream, contentLength } = await store.getStream(key, {
      ...(range ? { range } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let moved = 0;
    const counted: TransferOptions = {
      ...opts,
      onBytes: (n) => {
        moved += n;
        opts.onBytes?.(n);
      },
    };
    try {
      const pos = await writeAt(fh, offset, guardedBody(stream, idleMs, what, key), hash, counted, keep);
      const got = pos - offset;
      if (contentLength !== undefined && got < contentLength)
        throw transientError(
          what,
          `the response ended after ${got} of the ${contentLength} bytes it promised`,
          {
            key,
          },
        );
      return pos;
    } catch (e) {
      if (moved > 0) opts.onBytes?.(-moved);
      throw e;
    }
  };
  let hash: string | null = null;
  if (expected.size >= opts.multiThreadCutoff && opts.streams > 1 && expected.size > 0) {
    const fh = await open(dest, 'w');
    try {
      const n = Math.min(opts.streams, Math.ceil(expected.size / MIN_RANGE));
      const span = Math.ceil(expected.size / n);
      await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const offset = i * span;
          const length = Math.min(span, expected.size - offset);
          if (length <= 0) return;
          const pos = await retry(`GET ${key} (bytes ${offset}-${offset + length - 1})`, () =>
            fetchInto(fh, offset, { offset, length }, null, null),
          );
          if (pos !== offset + length)
            throw mismatch(
              key,
              store,
              `range at ${offset} returned ${pos - offset} bytes, expected ${length}`,
            );
        }),
      );
      await fh.sync();
    } finally {
      await fh.close();
    }
  } else {
    hash = await retry(`GET ${key}`, async () => {
      const fh = await open(dest, 'w');
      try {
        // verification: a file up to OFFLOAD_HASH bytes is kept and hashed by WebCrypto on the libuv thread
        // pool (off the event loop, in parallel with the other transfers); a larger one is hashed as it streams
        const keep = !opts.ignoreChecksum && expected.size <= OFFLOAD_HASH ? ([] as Buffer[]) : null;
        const h = opts.ignoreChecksum || keep !== null ? null : createHash('sha256');
        await fetchInto(fh, 0, null, h, keep);
        await fh.sync();
        if (h) return h.digest('hex');
        if (keep !== null)
          return Buffer.from(await webcrypto.subtle.digest('SHA-256', Buffer.concat(keep))).toString('hex');
        return null;
      } finally {
        await fh.close();
      }
    });
  }
  // the body arrived whole: from here on a difference is the object's, not the network's
  const size = (await stat(dest)).size;
  if (size !== expected.size) {
    await unlink(dest).catch(() => {});
    throw mismatch(key, store, `${size} bytes arrived, the manifest says ${expected.size}`);
  }
  if (!opts.ignoreChecksum) {
    hash ??= await hashFile(dest);
    if (hash !== expected.sha256) {
      await unlink(dest).catch(() => {});
      throw mismatch(key, store, `its SHA-256 is ${hash}, the manifest says ${expected.sha256}`);
    }
  }
}

/** Downloads up to this size are hashed off the event loop (they are held in memory until verified). */
const OFFLOAD_HASH = 8 * 1024 * 1024;

/** Bytes of a download gathered before one positioned write (socket chunks are 64 KiB at most). */
const WRITE_BATCH = 1024 * 1024;

/**
 * Writes a download stream into `fh` from byte `pos` on, paced by the limiter, hashing it into `hash` when given;
 * chunks are gathered into one `writev` per {@link WRITE_BATCH} bytes (in profiles of a pull, one write per
 * 64 KiB socket chunk cost the event loop more than the SHA-256). Returns the position after the last byte.
 */
async function writeAt(
  fh: FileHandle,
  pos: number,
  stream: AsyncIterable<unknown>,
  hash: Hash | null,
  opts: TransferOptions,
  keep: Buffer[] | null = null,
): Promise<number> {
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async () => {
    const bufs = batch;
    const n = batched;
    batch = [];
    batched = 0;
    await fh.writev(bufs, pos);
    pos += n;
    opts.onBytes?.(n);
  };
  for await (const c of stream) {
    const chunk = c as Buffer;
    await opts.limiter.take(chunk.length);
    hash?.update(chunk);
    keep?.push(chunk);
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= WRITE_BATCH) await flush();
  }
  if (batched > 0) await flush();
  return pos;
}

/** SHA-256 (hex) of a local file, streamed (a multi-stream download can be larger than `readFile` allows). */
async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: CHUNK })) h.update(c as Buffer);
  return h.digest('hex');
}

function mismatch(key: string, store: ObjectStore, why: string): ServiceError {
  return new ServiceError(
    'ObjectChecksumMismatch',
    `object ${key} on ${store.description} is corrupt: ${why}`,
    {
      key,
    },
  );
}

/**
 * Which of `files` the store lacks, checked with HEAD requests `checkers` at a time. A remote object of the
 * wrong size, or (unless `ignoreChecksum`) with a different recorded SHA-256, counts as missing.
 */
export async function missingRemote(
  store: ObjectStore,
  files: ReadonlyArray<{ readonly key: string; readonly size: number; readonly sha256: string }>,
  checkers: Pool,
  ignoreChecksum: boolean,
  signal?: AbortSignal,
): Promise<Set<string>> {
  const missing = new Set<string>();
  await checkers.map(files, async (f) => {
    const info: ObjectInfo | null = await store.head(f.key, signal ? { signal } : {});
    if (
      info === null ||
      info.size !== f.size ||
      (!ignoreChecksum && info.sha256 !== undefined && info.sha256 !== f.sha256)
    )
      missing.add(f.key);
  });
  return missing;
}
