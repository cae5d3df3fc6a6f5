/**
 * Work that can pause, run off the step path in slices (issue 16: no event-loop stall from a checkpoint).
 *
 * A piece of work is written once, as a generator ({@link Steps}): each `yield` is a point where it may return to
 * the event loop. {@link drain} runs one to its end at once; {@link Sliced.settle} runs it in slices of about
 * {@link SLICE_MS}, returning to the event loop between them. Either way the result is the same value, computed
 * once: a reader that needs it before the slices are done ({@link Sliced.result}) finishes the work synchronously,
 * and the slices then find it done. A checkpoint's frozen heads are sealed this way (`PendingBatch` in `trace.ts`)
 * and an incremental checkpoint's change logs consolidated (`PendingDelta` in `circuit/change-log.ts`).
 */

/** A computation that can pause at each `yield`, returning a `T` at its end. */
export type Steps<T> = Generator<void, T, void>;

/** Runs a build to its end without pausing. */
export function drain<T>(g: Steps<T>): T {
  for (;;) {
    const r = g.next();
    if (r.done === true) return r.value;
  }
}

/** Longest run of sliced work between two returns to the event loop ({@link Sliced.settle}). */
export const SLICE_MS = 10;

/**
 * Sliced runs go one after another, not side by side: Node runs every `setImmediate` callback queued before its
 * check phase in one go, so k runs interleaved would hold the event loop for k slices at a time (a checkpoint
 * settles every frozen head of the circuit at once).
 */
let queue: Promise<unknown> = Promise.resolve();

/**
 * One paused computation: run in slices by {@link settle} or at once by {@link result}; computed once either way
 * (the same generator, paused at fixed points, so its result does not depend on how it was run).
 */
export class Sliced<T> {
  #steps: Steps<T> | null;
  #result: { value: T } | null = null;
  #settling: Promise<T> | null = null;
  #error: Error | null = null;

  constructor(steps: Steps<T>) {
    this.#steps = steps;
  }

  /** Whether the work is done. */
  get done(): boolean {
    return this.#result !== null;
  }

  /** The result, finishing the work now if needed (synchronously). Work that failed throws its error again. */
  result(): T {
    if (this.#error !== null) throw this.#error;
    if (this.#result === null) {
      try {
        this.#result = { value: drain(this.#steps as Steps<T>) };
      } catch (e) {
        this.#error = e as Error;
        throw e;
      }
      this.#steps = null;
    }
    return this.#result.value;
  }

  /** Runs the work in slices of about `sliceMs`, yielding to the event loop between them. */
  settle(sliceMs = SLICE_MS): Promise<T> {
    if (this.#result !== null) return Promise.resolve(this.#result.value);
    if (this.#settling === null) {
      const run = queue.then(() => this.#slices(sliceMs));
      queue = run.catch(() => {});
      this.#settling = run;
    }
    return this.#settling;
  }

  /** The work in slices (after the sliced runs queued before it: {@link queue}). */
  async #slices(sliceMs: number): Promise<T> {
    for (;;) {
      // a reader may have finished (or failed) the work synchronously between two slices
      if (this.#error !== null) throw this.#error;
      if (this.#result !== null) return this.#result.value;
      const g = this.#steps as Steps<T>;
      const t = performance.now();
      for (;;) {
        let r: IteratorResult<void, T>;
        try {
          r = g.next();
        } catch (e) {
          this.#error = e as Error;
          throw e;
        }
        if (r.done === true) {
          this.#result = { value: r.value };
          this.#steps = null;
          return r.value;
        }
        if (performance.now() - t >= sliceMs) break;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
