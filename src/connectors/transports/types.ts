/**
 * What connectors need from the pipeline, and what they report back.
 *
 * Connectors sit below the controller in the layering, so they talk to it through {@link ConnectorHost}, an
 * interface the `Controller` satisfies structurally: an input connector gets an endpoint with
 * `inputEndpoint(name, table)`, queues parsed changes with `push` (which waits while the pipeline applies
 * backpressure or is paused), counts parse/transport errors and signals end of input on the endpoint's
 * `metrics`; an output connector registers a listener for a view's per-step changes with `listen`.
 *
 * Positions (for fault tolerance): every replayable input reports a JSON-safe position after each push; given
 * back at start, the connector resumes just after it (file: byte offset, or row index for Parquet; datagen: row
 * index and seed; nexmark: event number and seed).
 */

import type { FaultToleranceModel } from '../../types/pipeline-api.ts';
import type { Batch } from '../../zset/batch.ts';
import type { InputErrorLogs } from '../connector-errors.ts';
import type { ParsedChange } from '../formats/parse-result.ts';

/** The part of an input endpoint a connector reads and updates (the Controller's `InputEndpoint` has more). */
export interface HostInputEndpoint {
  readonly name: string;
  readonly table: string;
  readonly metrics: {
    num_parse_errors: number;
    num_transport_errors: number;
    end_of_input: boolean;
  };
  /** Set when the connector failed for good (the Controller shows it in stats). */
  fatalError?: string | null;
  /** The recent parse and transport errors (listed by the connector stats; the Controller's endpoints have them). */
  readonly errors?: InputErrorLogs;
}

/** The pipeline as connectors see it. `Controller` implements it. */
export interface ConnectorHost {
  /**
   * Creates (or returns) the input endpoint `name` feeding `table`; `replayable`: the connector re-reads its
   * records from a position after a restart (its data need not be journaled); `paused`: it starts paused (the
   * state a checkpoint recorded for the endpoint takes precedence).
   */
  inputEndpoint(
    name: string,
    table: string,
    options?: { replayable?: boolean; paused?: boolean },
  ): HostInputEndpoint;
  /** Queues changes; resolves once buffered (waits under backpressure / while paused). */
  /**
   * Queues changes. `options.position` is the input's position just after these changes: the host reports it
   * back (for checkpoints) only once all of them are processed.
   */
  push(
    endpoint: HostInputEndpoint,
    changes: ParsedChange[],
    bytes: number,
    options?: { position?: unknown },
  ): Promise<void>;
  /** Calls `listener` with the view's change after every step in which it changed; returns an unsubscriber. */
  listen(view: string, listener: (change: Batch, step: number) => void): () => void;
  /** Registers a fault-tolerant output's checkpoint/replay hooks (see {@link OutputTracker}). */
  registerOutput?(endpoint: string, tracker: OutputTracker): () => void;
}

/** An output connector's part in checkpoints and replay. */
export interface OutputTracker {
  /** JSON-safe progress a checkpoint records (given back as `outputs` on restart). */
  progress(): unknown;
  /** Makes everything written so far durable; called before a checkpoint commits. */
  sync(): void;
  /** Replay after a restart is over (or there was none): output from now on is new. */
  replayed(): void;
}

/** Fault-tolerance model the connectors run under. */
export type ConnectorFtModel = FaultToleranceModel;

/** A file output's progress: bytes of the file that hold output of steps up to the checkpoint. */
export interface FileOutputProgress {
  readonly offset: number;
}

export type ConnectorLogLevel = 'info' | 'warn' | 'error';
export type ConnectorLog = (
  level: ConnectorLogLevel,
  message: string,
  fields?: Record<string, unknown>,
) => void;

/** A replayable input's position: JSON-safe, transport-specific. */
export type InputPosition =
  | FileInputPosition
  | DatagenPosition
  | ObjectInputPosition
  | NexmarkPosition
  | UrlInputPosition
  | DeltaInputPosition;

/** Byte offset just after the last record pushed; Parquet: `row`, the rows pushed (`offset` stays 0). */
export interface FileInputPosition {
  readonly offset: number;
  readonly row?: number;
}

/**
 * An object-store input's place: objects before `key` (in UTF-8 key order) are read, and `key` up to byte
 * `offset` (its size once done); `etag` identifies the object version read. A Parquet object being read has
 * `offset` 0 and `row`: its rows pushed so far.
 */
export interface ObjectInputPosition {
  readonly key: string;
  readonly offset: number;
  readonly etag?: string;
  readonly row?: number;
}

/** `url_input`: byte offset just after the last record pushed, and the resource's entity tag (if it has one). */
export interface UrlInputPosition {
  readonly offset: number;
  readonly etag?: string;
}

/**
 * `delta_table_input`: within table `version`, the first `file` files (in the connector's fixed order: the
 * snapshot's live files sorted by path, or a commit's removed then added files in log order) are pushed, and
 * `row` rows of the next one. `snapshot`: the position is in the initial snapshot of `version`, else in the
 * changes of commit `version`. `file` = the number of files: that snapshot or commit is wholly pushed.
 */
export interface DeltaInputPosition {
  readonly version: number;
  readonly snapshot?: boolean;
  readonly file: number;
  readonly row: number;
}

/** Index of the next row to generate (rows 0..index-1 were pushed) and the seed that generates them. */
export interface DatagenPosition {
  readonly index: number;
  readonly seed: number;
}

/** Number of the next Nexmark event (events 0..event-1, of all three tables, were generated) and the seed. */
export interface NexmarkPosition {
  readonly event: number;
  readonly seed: number;
}

export type ConnectorState = 'running' | 'end_of_input' | 'stopped' | 'failed';

export interface ConnectorStatus {
  /** Endpoint name: `relation.connector`. */
  readonly endpoint: string;
  readonly relation: string;
  readonly connector: string;
  readonly transport: string;
  readonly direction: 'input' | 'output';
  readonly state: ConnectorState;
  /** Input: records pushed; output: records written. */
  readonly records: number;
  /** Input: bytes consumed; output: bytes written. */
  readonly bytes: number;
  readonly parseErrors: number;
  readonly error: string | null;
  /** When it failed (RFC 3339), if it did and the connector records it. */
  readonly failedAt?: string | null;
  readonly position: InputPosition | null;
}

/** A running connector. */
export interface RunningConnector {
  status(): ConnectorStatus;
  /** Current position (inputs that can be replayed), else null. */
  position(): InputPosition | null;
  /** Resolves when an input connector stops by itself (end of input or failure); outputs never settle. */
  readonly settled: Promise<void>;
  stop(): Promise<void>;
}
