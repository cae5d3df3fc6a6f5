/**
 * The life of one input connector: a loop that produces changes and pushes them to its endpoint, with the
 * bookkeeping every input shares (state, counters, position, parse errors, failure, stop).
 */
import { recordParseErrors } from '../connector-errors.ts';
import type { ParsedChange, ParseResult } from '../formats/parse-result.ts';
import type { ConnectorContext } from './config.ts';
import { Stopped, unlessStopped } from './run-control.ts';
import type {
  ConnectorHost,
  ConnectorLog,
  ConnectorState,
  ConnectorStatus,
  HostInputEndpoint,
  InputPosition,
  RunningConnector,
} from './types.ts';

export class InputRun implements RunningConnector {
  readonly ctx: ConnectorContext;
  readonly host: ConnectorHost;
  readonly endpoint: HostInputEndpoint;
  readonly log: ConnectorLog;
  readonly maxBatchSize: number;
  readonly #abort = new AbortController();
  #state: ConnectorState = 'running';
  #error: string | null = null;
  #records = 0;
  #bytes = 0;
  #parseErrors = 0;
  #position: InputPosition | null;
  settled: Promise<void> = Promise.resolve();
  #onStop: Array<() => void | Promise<void>> = [];

  constructor(
    ctx: ConnectorContext,
    host: ConnectorHost,
    log: ConnectorLog,
    maxBatchSize: number | null,
    position: InputPosition | null,
  ) {
    this.ctx = ctx;
    this.host = host;
    this.log = log;
    this.maxBatchSize = maxBatchSize ?? 10_000;
    this.#position = position;
    this.endpoint = host.inputEndpoint(`${ctx.relation}.${ctx.connector}`, ctx.relation, {
      replayable: true,
      ...(ctx.paused === true ? { paused: true } : {}),
    });
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Runs `body` as the connector's loop; its outcome sets the final state. */
  start(body: () => Promise<'end_of_input' | 'stopped'>): void {
    this.settled = body().then(
      (how) => {
        if (how === 'end_of_input' && !this.stopped) {
          this.#state = 'end_of_input';
          this.endpoint.metrics.end_of_input = true;
          this.log('info', `${this.endpoint.name}: end of input`, { endpoint: this.endpoint.name });
        } else this.#state = 'stopped';
      },
      (e: unknown) => {
        if (e instanceof Stopped || this.stopped) {
          this.#state = 'stopped';
          return;
        }
        const msg = e instanceof Error ? e.message : String(e);
        this.#state = 'failed';
        this.#error = msg;
        this.endpoint.metrics.num_transport_errors++;
        this.endpoint.errors?.transport.add(msg);
        this.endpoint.fatalError = msg;
        this.log('error', `${this.endpoint.name}: ${msg}`, { endpoint: this.endpoint.name });
      },
    );
  }

  /** Registers cleanup run by {@link stop} (e.g. closing a file). */
  onStop(f: () => void | Promise<void>): void {
    this.#onStop.push(f);
  }

  /** Counts and logs a chunk's parse errors (they never stop the connector). */
  reportParseErrors(r: ParseResult, where: string): void {
    if (r.numErrors === 0) return;
    this.#parseErrors += r.numErrors;
    this.endpoint.metrics.num_parse_errors += r.numErrors;
    if (this.endpoint.errors) recordParseErrors(this.endpoint.errors.parse, r.errors, r.numErrors);
    const first = r.errors[0];
    this.log(
      'warn',
      `${this.endpoint.name}: ${r.numErrors} record(s) could not be parsed ${where}${first ? `; first: ${first.description}` : ''}`,
      { endpoint: this.endpoint.name, num_errors: r.numErrors },
    );
  }

  /**
   * Pushes `changes` (in batches of at most maxBatchSize) and then records `position`. `bytes` is attributed
   * to the last batch. @throws Stopped when the connector is stopped meanwhile.
   */
  async push(changes: ParsedChange[], bytes: number, position: InputPosition | null): Promise<void> {
    if (this.stopped) throw new Stopped();
    const n = this.maxBatchSize;
    const at = position === null ? {} : { position };
    if (changes.length <= n) {
      await unlessStopped(this.host.push(this.endpoint, changes, bytes, at), this.signal);
    } else {
      for (let i = 0; i < changes.length; i += n) {
        const last = i + n >= changes.length;
        await unlessStopped(
          this.host.push(this.endpoint, changes.slice(i, i + n), last ? bytes : 0, last ? at : {}),
          this.signal,
        );
      }
    }
    this.#records += changes.length;
    this.#bytes += bytes;
    if (position !== null) this.#position = position;
  }

  position(): InputPosition | null {
    return this.#position;
  }

  status(): ConnectorStatus {
    return {
      endpoint: this.endpoint.name,
      relation: this.ctx.relation,
      connector: this.ctx.connector,
      transport: this.ctx.transport,
      direction: 'input',
      state: this.#state,
      records: this.#records,
      bytes: this.#bytes,
      parseErrors: this.#parseErrors,
      error: this.#error,
      position: this.#position,
    };
  }

  async stop(): Promise<void> {
    if (!this.stopped) this.#abort.abort();
    await this.settled;
    const fs = this.#onStop;
    this.#onStop = [];
    for (const f of fs) await f();
  }
}
