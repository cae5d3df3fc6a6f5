/**
 * Transient object-store failures: what counts as one, how they are retried, and a store wrapper that retries
 * every request of the sync layer.
 *
 * # Classification
 * A TRANSIENT failure is one where the store did not give a complete answer: an HTTP 5xx, a connection refused
 * or reset, a timeout, a body that hangs (no byte for `idleTimeoutMs`), or a body that ends before the length the
 * response promised (`Content-Length`). All of them are `ObjectStoreUnavailable` errors, retried with
 * exponential backoff ({@link RetryPolicy}). Corruption is something else: only a COMPLETE answer whose bytes do
 * not match (a manifest that is not valid JSON, a file whose size or SHA-256 differs from its manifest) is
 * `CheckpointCorrupt`/`ObjectChecksumMismatch`, and is never retried. A flaky store must never be mistaken for a
 * corrupt checkpoint: a restore that skipped "corrupt" checkpoints because a proxy cut bodies short would start
 * empty and then bury the good checkpoints under its own.
 *
 * # State
 * {@link Retrier}: counters of retries (total, per incarnation), the last retried failure, and how many
 * operations gave up. {@link RetryingStore}: none beyond the store it wraps.
 *
 * # Invariants
 * - Bounded: at most `attempts` tries per request, sleeping `initialMs × 2^n` (at most `maxMs`) between them.
 * - Every retry is logged (`warn`) and counted; a request that runs out of attempts throws its last error with
 *   "after N attempts" in the message.
 * - A `put` whose body is a stream is not retried here (the stream is consumed): callers that can re-create the
 *   body (uploadFile) retry it themselves with {@link Retrier.run}.
 */
import type { Readable } from 'node:stream';
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import { sleep } from '../util/backoff.ts';
import {
  type GetOptions,
  type GetResult,
  type GetStreamResult,
  type ListOptions,
  type ListPage,
  listAll,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
} from './object-store.ts';

export interface RetryPolicy {
  /** Tries per request, the first included (at least 1). */
  readonly attempts: number;
  /** Sleep before the first retry, doubled for each next one. */
  readonly initialMs: number;
  /** Upper bound of one sleep. */
  readonly maxMs: number;
  /** A response body that sends no byte for this long is abandoned (transient). */
  readonly idleTimeoutMs: number;
}

/** 5 tries, 0.5 s, 1 s, 2 s, 4 s apart (7.5 s of sleep at most), 120 s without a byte is a hang. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  initialMs: 500,
  maxMs: 30_000,
  idleTimeoutMs: 120_000,
};

/** Whether an error is a transient store failure (retry it; never call the data corrupt because of it). */
export function isTransient(e: unknown): boolean {
  return isServiceError(e, 'ObjectStoreUnavailable');
}

/** Whether an error is transient or wraps one (`details.cause_code`, as CheckpointFetchError/PushError do). */
export function causedByTransient(e: unknown): boolean {
  return (
    isTransient(e) ||
    (e as { details?: { cause_code?: unknown } } | null)?.details?.cause_code === 'ObjectStoreUnavailable'
  );
}

/** Whole operations (a standby's activation) retried after their requests' own retries ran out. */
export const OPERATION_ATTEMPTS = 3;

/** A transient failure with the store's words. */
export function transientError(
  what: string,
  why: string,
  details: Record<string, unknown> = {},
): ServiceError {
  return new ServiceError(
    'ObjectStoreUnavailable',
    `${what} failed: ${why}. The object store or the network is unreliable; retry later`,
    details,
  );
}

/**
 * Maps an error raised while a response body streams (a reset, a premature close, an abort) to a transient
 * store error; ServiceErrors (already classified) pass through.
 */
export function bodyError(e: unknown, what: string, key: string): ServiceError {
  if (isServiceError(e)) return e;
  const err = e as { code?: string; message?: string; name?: string };
  const code = err?.code ?? err?.name ?? 'Error';
  return transientError(what, `the response body broke off (${code}: ${err?.message ?? String(e)})`, {
    key,
    store_code: code,
  });
}

export interface RetryEvent {
  readonly what: string;
  readonly attempt: number;
  readonly error: string;
  readonly delayMs: number;
}

export interface RetryStats {
  /** Requests retried after a transient failure. */
  retries: number;
  /** Requests that failed transiently on every attempt. */
  exhausted: number;
  last: { what: string; error: string; at: string } | null;
}

/** Runs store requests with the retry policy, logging and counting every retry. */
export class Retrier {
  readonly policy: RetryPolicy;
  readonly stats: RetryStats = { retries: 0, exhausted: 0, last: null };
  readonly #onRetry: (ev: RetryEvent) => void;

  constructor(policy: RetryPolicy, onRetry: (ev: RetryEvent) => void = () => {}) {
    this.policy = { ...policy, attempts: Math.max(1, Math.floor(policy.attempts)) };
    this.#onRetry = onRetry;
  }

  /** Runs `fn`, retrying transient failures. @throws the last error (transient ones say after how many attempts) */
  async run<T>(what: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (e) {
        if (!isTransient(e)) throw e;
        const err = e as ServiceError;
        if (attempt >= this.policy.attempts) {
          this.stats.exhausted++;
          if (this.policy.attempts === 1) throw err;
          throw new ServiceError(
            err.errorCode,
            `${err.message} (gave up after ${attempt} attempts)`,
            { ...err.details, attempts: attempt },
            { cause: err },
          );
        }
        const delayMs = Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** (attempt - 1));
        this.stats.retries++;
        this.stats.last = { what, error: err.message, at: new Date().toISOString() };
        this.#onRetry({ what, attempt, error: err.message, delayMs });
        await sleep(delayMs);
      }
    }
  }
}

/**
 * Reads a response body with a hang bound: each chunk must arrive within `idleMs`, else the stream is destroyed
 * and a transient error thrown. Stream errors become transient errors ({@link bodyError}).
 */
export async function* guardedBody(
  stream: Readable,
  idleMs: number,
  what: string,
  key: string,
): AsyncIterable<Buffer> {
  const it = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(
            transientError(what, `no byte arrived for ${idleMs / 1000} s (the response hangs)`, { key }),
          );
        }, idleMs);
      });
      let r: IteratorResult<Buffer>;
      try {
        r = await Promise.race([it.next(), timeout]);
      } catch (e) {
        throw bodyError(e, what, key);
      } finally {
        clearTimeout(timer);
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    stream.destroy();
  }
}

/**
 * The deadline of a request whose body is `bytes` long: the hang bound, plus the bound again for every 8 MiB of
 * body (a bound on hangs, not on throughput: 8 MiB per `--timeout` is far below any usable link).
 */
export function deadlineMs(idleMs: number, bytes: number): number {
  return idleMs * (1 + Math.ceil(bytes / (8 * 1024 * 1024)));
}

/**
 * Runs a request with a deadline: the SDK's request timeout does not cover a response whose headers arrived and
 * whose body then stalls (a LIST, or a PUT's error body, hung forever through the fault proxy). Past the
 * deadline the request is aborted and fails as transient (so it is retried); the caller's own abort passes
 * through as it is.
 */
export async function withDeadline<T>(
  what: string,
  key: string,
  ms: number,
  caller: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), ms);
  const signal = caller ? AbortSignal.any([caller, deadline.signal]) : deadline.signal;
  try {
    return await fn(signal);
  } catch (e) {
    if (deadline.signal.aborted && caller?.aborted !== true)
      throw transientError(what, `no complete answer within ${ms / 1000} s`, { key });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** An {@link ObjectStore} whose requests are retried on transient failures; full reads check their length. */
export class RetryingStore implements ObjectStore {
  readonly raw: ObjectStore;
  readonly retrier: Retrier;

  constructor(raw: ObjectStore, retrier: Retrier) {
    this.raw = raw;
    this.retrier = retrier;
  }

  get description(): string {
    return this.raw.description;
  }

  /** {@link withDeadline} with the hang bound, for a request that moves `bytes` of body. */
  #deadline<T>(
    what: string,
    key: string,
    caller: AbortSignal | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
    bytes = 0,
  ): Promise<T> {
    return withDeadline(
      `${what} on ${this.raw.description}`,
      key,
      deadlineMs(this.retrier.policy.idleTimeoutMs, bytes),
      caller,
      fn,
    );
  }

  put(key: string, body: ObjectBody, opts: PutOptions = {}): Promise<PutResult> {
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) return this.raw.put(key, body, opts);
    const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    return this.retrier.run(`PUT ${key}`, () =>
      this.#deadline(
        `PUT ${key}`,
        key,
        opts.signal,
        (signal) => this.raw.put(key, body, { ...opts, signal }),
        bytes,
      ),
    );
  }

  /** A whole object, read with the hang bound; a body shorter than its `Content-Length` is transient. */
  get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const what = `GET ${key} on ${this.raw.description}`;
    return this.retrier.run(`GET ${key}`, async () => {
      const { stream, info, contentLength } = await this.raw.getStream(key, opts);
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of guardedBody(stream, this.retrier.policy.idleTimeoutMs, what, key)) {
        chunks.push(c);
        n += c.length;
      }
      if (contentLength !== undefined && n < contentLength)
        throw transientError(
          what,
          `the response ended after ${n} of the ${contentLength} bytes it promised`,
          {
            key,
          },
        );
      return { bytes: Buffer.concat(chunks), info };
    });
  }

  getStream(key: string, opts?: GetOptions): Promise<GetStreamResult> {
    return this.retrier.run(`GET ${key}`, () => this.raw.getStream(key, opts));
  }

  head(
    key: string,
    opts?: { signal?: AbortSignal },
  ): Promise<(ObjectInfo & { readonly etag: string }) | null> {
    return this.retrier.run(`HEAD ${key}`, () =>
      this.#deadline(`HEAD ${key}`, key, opts?.signal, (signal) => this.raw.head(key, { signal })),
    );
  }

  listPage(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    return this.retrier.run(`LIST ${prefix}`, () =>
      this.#deadline(`LIST ${prefix}`, prefix, opts.signal, (signal) =>
        this.raw.listPage(prefix, { ...opts, signal }),
      ),
    );
  }

  list(prefix: string, opts: Omit<ListOptions, 'continuationToken'> = {}): AsyncIterable<ObjectInfo> {
    return listAll(this, prefix, opts);
  }

  delete(key: string, opts?: { signal?: AbortSignal }): Promise<void> {
    return this.retrier.run(`DELETE ${key}`, () =>
      this.#deadline(`DELETE ${key}`, key, opts?.signal, (signal) => this.raw.delete(key, { signal })),
    );
  }

  deleteMany(keys: readonly string[], opts?: { signal?: AbortSignal }): Promise<void> {
    const what = `DELETE ${keys.length} objects`;
    return this.retrier.run(what, () =>
      this.#deadline(what, keys[0] ?? '', opts?.signal, (signal) => this.raw.deleteMany(keys, { signal })),
    );
  }

  close(): Promise<void> {
    return this.raw.close();
  }
}
