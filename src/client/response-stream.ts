/**
 * `ResponseStream<T>`: a streamed HTTP answer (egress chunks, log lines) exposed as a single-use async
 * iterable. The request is sent as soon as the stream is created, so nothing produced after that moment is
 * missed even if iteration starts later; `ready` resolves once the response headers arrived (and rejects with
 * the `ApiError` if the server refused).
 *
 * Closing — `close()`, the caller's `AbortSignal`, `break` out of `for await`, or `await using` — aborts the
 * request; iteration then ends quietly instead of throwing.
 */

export class ResponseStream<T> implements AsyncIterable<T> {
  readonly #response: Promise<Response>;
  readonly #abort: AbortController;
  readonly #parse: (res: Response) => AsyncIterable<T>;
  #iterated = false;

  /**
   * @param open sends the request with the given signal and resolves to an OK response (errors rejected).
   * @param parse turns the response body into items.
   * @param signal optional caller signal; aborting it closes the stream.
   */
  constructor(
    open: (signal: AbortSignal) => Promise<Response>,
    parse: (res: Response) => AsyncIterable<T>,
    signal?: AbortSignal,
  ) {
    const abort = new AbortController();
    if (signal) {
      if (signal.aborted) abort.abort(signal.reason);
      else {
        const onAbort = () => abort.abort(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        abort.signal.addEventListener('abort', () => signal.removeEventListener('abort', onAbort), {
          once: true,
        });
      }
    }
    this.#abort = abort;
    this.#parse = parse;
    this.#response = abort.signal.aborted ? Promise.reject(abort.signal.reason) : open(abort.signal);
    // Failures surface through `ready` or iteration; never as an unhandled rejection.
    this.#response.catch(() => {});
  }

  static #derived<T, U>(
    source: ResponseStream<T>,
    transform: (items: AsyncIterable<T>) => AsyncIterable<U>,
  ): ResponseStream<U> {
    return new ResponseStream<U>(
      () => source.#response,
      (res) => transform(source.#parse(res)),
      source.#abort.signal,
    );
  }

  /** A stream over the same request whose items are `transform(items)`; closing either closes both. */
  pipe<U>(transform: (items: AsyncIterable<T>) => AsyncIterable<U>): ResponseStream<U> {
    const out = ResponseStream.#derived(this, transform);
    out.#abort.signal.addEventListener('abort', () => this.close(), { once: true });
    return out;
  }

  /** Resolves when the response headers arrived; rejects with the request's error. */
  get ready(): Promise<void> {
    return this.#response.then(() => undefined);
  }

  /** True once the stream was closed (by `close()`, the caller's signal, or the end of iteration). */
  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Aborts the request; a running iteration ends without an error. Idempotent. */
  close(): void {
    if (!this.#abort.signal.aborted) this.#abort.abort();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    if (this.#iterated) throw new TypeError('a ResponseStream can be iterated only once');
    this.#iterated = true;
    try {
      const res = await this.#response;
      for await (const item of this.#parse(res)) yield item;
    } catch (e) {
      if (this.#abort.signal.aborted) return;
      throw e;
    } finally {
      this.close();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
