/**
 * One background worker thread that runs jobs and answers each by its id (the spill writer's batch files, the
 * checkpoint store's writes ahead). The worker starts on first use and never keeps the process alive by itself;
 * its reply port is referenced only while jobs are in flight, so a caller awaiting a reply is not cut short.
 * Replies arrive through a listener, or synchronously through {@link JobWorker.poll} (a caller that steps in a
 * loop without yielding still sees its jobs complete).
 *
 * Invariants: every job sent is answered exactly once — with the worker's reply, or with null when the worker
 * could not start or died (then and from then on {@link JobWorker.broken} is true and {@link JobWorker.send}
 * declines, so callers fall back to doing the work themselves).
 *
 * The worker's side: a module that reads `workerData.replies` (a `MessagePort`) and posts `{ id, ... }` there
 * for every `{ id, ... }` it receives on `parentPort`.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';

export class JobWorker<Reply extends { readonly id: number }> {
  readonly #url: URL;
  #worker: Worker | null = null;
  #replies: MessagePort | null = null;
  #broken = false;
  readonly #jobs = new Map<number, (r: Reply | null) => void>();
  #nextId = 1;

  /** `url`: the worker's module. */
  constructor(url: URL) {
    this.#url = url;
  }

  /** The worker failed (it could not start, or died): {@link send} declines from then on. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Jobs sent and not yet answered. */
  get inFlight(): number {
    return this.#jobs.size;
  }

  /**
   * Sends `job(id)` (the job with its id; `transfer`: buffers moved rather than copied) and calls `done` with
   * the worker's reply, or with null if the worker fails first. Returns the id, or null (nothing sent, `done`
   * never called) when the worker is broken.
   */
  send<J extends { readonly id: number }>(
    job: (id: number) => J,
    done: (r: Reply | null) => void,
    transfer: ArrayBuffer[] = [],
  ): number | null {
    if (this.#broken) return null;
    let w: Worker;
    try {
      w = this.#ensure();
    } catch {
      this.#broken = true;
      return null;
    }
    const id = this.#nextId++;
    this.#jobs.set(id, done);
    if (this.#jobs.size === 1) this.#replies?.ref();
    w.postMessage(job(id), transfer);
    return id;
  }

  /** Takes the replies that have arrived without waiting for a turn of the event loop. */
  poll(): void {
    const port = this.#replies;
    if (port === null || this.#jobs.size === 0) return;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port))
      this.#answer((m.message as Reply).id, m.message as Reply);
  }

  #answer(id: number, r: Reply | null): void {
    const done = this.#jobs.get(id);
    if (done === undefined) return;
    this.#jobs.delete(id);
    if (this.#jobs.size === 0) this.#replies?.unref();
    done(r);
  }

  #failAll(): void {
    this.#worker = null;
    this.#replies?.close();
    this.#replies = null;
    this.#broken = true;
    for (const id of [...this.#jobs.keys()]) this.#answer(id, null);
  }

  #ensure(): Worker {
    if (this.#worker !== null) return this.#worker;
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(this.#url, { workerData: { replies: port2 }, transferList: [port2] });
    port1.on('message', (r: Reply) => this.#answer(r.id, r));
    port1.unref();
    this.#replies = port1;
    w.on('error', () => {
      if (this.#worker === w) this.#failAll();
    });
    w.on('exit', () => {
      if (this.#worker === w) this.#failAll();
    });
    w.unref();
    this.#worker = w;
    return w;
  }
}
