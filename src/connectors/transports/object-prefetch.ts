/**
 * Read-ahead of whole objects for the object-store inputs (`max_concurrent_fetches`): one {@link ObjectFetch}
 * per object streams its bytes (a ranged GET from a start byte up to the listed size) into a small queue that
 * the connector's reader drains in order. The reader decides which objects are fetched and when; this module
 * only moves bytes, so the order of records and the positions the reader reports are those of a sequential read.
 *
 * State: the queued chunks, their byte count, the ETag seen, the byte reached, and the outcome (done or an error).
 *
 * Invariants:
 * - Memory: a fetch stops pulling from its response once `maxBuffered` bytes wait in its queue (the socket is
 *   then paused and TCP pushes back on the server), so a fetch holds at most `maxBuffered` + one network chunk.
 * - Retries: a transient failure (reset, 5xx, a body cut short) is retried from the byte already queued, up to
 *   `maxRetries` times with exponential backoff; bytes are never queued twice.
 * - Versions: every GET after the first must return the ETag of the first (or of `etag`, the checkpoint's);
 *   otherwise the fetch fails with the error `changed()` builds.
 * - An error is delivered to the reader only after the bytes queued before it (the reader sees a prefix, then the
 *   error). {@link ObjectFetch.cancel} (or the signal) ends the fetch and releases its queue.
 */
import type { ObjectInfo, ObjectStore } from '../../sync/object-store.ts';
import { bodyError, isTransient } from '../../sync/retry.ts';
import { Stopped, sleep } from './run-control.ts';

export interface FetchOptions {
  readonly store: ObjectStore;
  readonly obj: ObjectInfo;
  /** First byte to fetch. */
  readonly from: number;
  /** The version the caller expects (from a checkpoint), if any. */
  readonly etag: string | undefined;
  /** Aborts every request of this fetch (the connector's stop, or the end of a listing pass). */
  readonly signal: AbortSignal;
  readonly maxBuffered: number;
  readonly maxRetries: number;
  readonly backoffMs: number;
  /** The error thrown when the object's ETag changes between requests. */
  readonly changed: () => Error;
  readonly onRetry: (e: unknown, attempt: number, at: number) => void;
}

/** A one-shot wake-up: `wait()` resolves at the next `notify()`. */
class Wake {
  #waiters: Array<() => void> = [];
  wait(): Promise<void> {
    return new Promise((r) => this.#waiters.push(r));
  }
  notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

export class ObjectFetch {
  readonly obj: ObjectInfo;
  #queue: Buffer[] = [];
  #queued = 0;
  #done = false;
  #error: unknown = null;
  #etag: string | undefined;
  readonly #data = new Wake();
  readonly #space = new Wake();
  readonly #abort = new AbortController();
  readonly #opts: FetchOptions;
  readonly #onAbort: () => void;

  constructor(opts: FetchOptions) {
    this.#opts = opts;
    this.obj = opts.obj;
    this.#etag = opts.etag;
    this.#onAbort = () => this.cancel();
    if (opts.signal.aborted) this.#abort.abort();
    else opts.signal.addEventListener('abort', this.#onAbort, { once: true });
    void this.#run();
  }

  /** The object's version, once the first response arrived (before any byte is delivered). */
  get etag(): string | undefined {
    return this.#etag;
  }

  /** Bytes waiting in the queue. */
  get buffered(): number {
    return this.#queued;
  }

  /** Yields the object's bytes in order; throws the fetch's error after the bytes queued before it. */
  async *chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      const c = this.#queue.shift();
      if (c !== undefined) {
        this.#queued -= c.length;
        this.#space.notify();
        yield c;
        continue;
      }
      if (this.#error !== null) throw this.#error;
      if (this.#abort.signal.aborted) throw new Stopped();
      if (this.#done) return;
      await this.#data.wait();
    }
  }

  /** Stops the fetch (aborting its request) and drops what it queued. */
  cancel(): void {
    if (!this.#abort.signal.aborted) this.#abort.abort();
    this.#opts.signal.removeEventListener('abort', this.#onAbort);
    this.#queue = [];
    this.#queued = 0;
    this.#data.notify();
    this.#space.notify();
  }

  async #run(): Promise<void> {
    const o = this.#opts;
    const signal = this.#abort.signal;
    const key = o.obj.key;
    let readAt = o.from;
    let failures = 0;
    while (readAt < o.obj.size && !signal.aborted) {
      try {
        const { stream, info } = await o.store.getStream(key, {
          // up to the listed size: the reader works on the listing's snapshot of the object
          range: { offset: readAt, length: o.obj.size - readAt },
          signal,
        });
        try {
          if (this.#etag !== undefined && info.etag !== this.#etag) throw o.changed();
          this.#etag ??= info.etag;
          const it = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
          for (;;) {
            let next: IteratorResult<Buffer>;
            try {
              next = await it.next();
            } catch (e) {
              // a reset or an abort while the body streams: transient, like a failed request
              throw bodyError(e, `GET ${key}`, key);
            }
            if (next.done || signal.aborted) break;
            readAt += next.value.length;
            failures = 0;
            this.#queue.push(next.value);
            this.#queued += next.value.length;
            this.#data.notify();
            // the bound: wait for the reader before pulling more (the paused socket pushes back)
            while (this.#queued >= o.maxBuffered && !signal.aborted) await this.#space.wait();
          }
        } finally {
          stream.destroy();
        }
        if (signal.aborted) break;
        if (readAt < o.obj.size)
          throw Object.assign(new Error(`the body of '${key}' ended at byte ${readAt} of ${o.obj.size}`), {
            transient: true,
          });
      } catch (e) {
        if (signal.aborted) break;
        const transient = isTransient(e) || (e as { transient?: boolean }).transient === true;
        if (!transient || failures >= o.maxRetries) {
          this.#error = e;
          break;
        }
        failures++;
        o.onRetry(e, failures, readAt);
        try {
          await sleep(o.backoffMs * 2 ** (failures - 1), signal);
        } catch {
          break;
        }
      }
    }
    this.#done = true;
    this.#data.notify();
  }
}
