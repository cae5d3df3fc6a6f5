/**
 * `HoldfastApi`: the low-level `/v0` REST client, one method per endpoint, speaking the wire DTOs of
 * `types/pipeline-api.ts` unchanged (snake_case bodies). `HoldfastClient` (client.ts) extends it with the
 * high-level `pipeline(name)` handle.
 *
 * Transport: global `fetch` (or an injected one); `Authorization: Bearer <apiKey>` only when a key is
 * configured; non-streaming requests time out after `timeoutMs` (whole exchange), streaming ones only while
 * waiting for the response headers. Non-2xx answers throw `ApiError`; transport failures throw `ClientError`
 * (`ConnectionFailed`, `RequestTimeout`). The API key is held in a private field and is redacted from every
 * error message.
 */
import type {
  BootstrapPolicy,
  CheckpointMetadata,
  CheckpointResponse,
  CheckpointStatus,
  CheckpointSyncResponse,
  CheckpointSyncStatus,
  CompletionStatusResponse,
  Configuration,
  EgressChunk,
  EgressFormat,
  IngressFormat,
  IngressResponse,
  InputEndpointStatus,
  JsonFlavor,
  MetricsFormat,
  OutputEndpointStatus,
  PatchPipeline,
  PipelineDescr,
  PipelineDiff,
  PipelineFieldSelector,
  PipelineInfo,
  PipelineSelectedInfo,
  PipelineStats,
  PipelineStatusDescr,
  PipelineStatusWithConnectorsDescr,
  PostPutPipeline,
  QueryFormat,
  RemoteCheckpoint,
  StartInitialState,
  UpdateFormat,
} from '../types/pipeline-api.ts';
import { parseJson } from '../util/json-u64.ts';
import { ApiError, apiErrorFromResponse, redact } from './api-error.ts';
import { ClientError } from './client-error.ts';
import { readLines } from './lines.ts';
import { ResponseStream } from './response-stream.ts';

export const DEFAULT_URL = 'http://localhost:8080';
export const DEFAULT_TIMEOUT_MS = 60_000;
export const USER_AGENT = 'holdfast-client/0.1';

export interface HoldfastClientOptions {
  /** Server base URL without `/v0` (default `http://localhost:8080`). */
  readonly url?: string;
  /** API key (`apikey:…`) or token, sent as `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Timeout of a non-streaming request in ms (default 60 000; `0` = none). */
  readonly timeoutMs?: number;
  /** Extra headers sent with every request (e.g. `Feldera-Tenant`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** `fetch` implementation (default: the global one). */
  readonly fetch?: typeof globalThis.fetch;
}

/** Per-call options of every method. */
export interface RequestOptions {
  /** Aborts the call (rejects with the signal's reason; streams just end). */
  readonly signal?: AbortSignal;
  /** Overrides the client's timeout for this call (`0` = none). */
  readonly timeoutMs?: number;
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RawRequest extends RequestOptions {
  readonly method: string;
  /** Path below `/v0`, starting with `/`, already URL-encoded. */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** JSON request body (sent with `Content-Type: application/json`). */
  readonly json?: unknown;
  /** Raw request body (string, bytes, Blob or a byte stream). */
  readonly body?: RequestInit['body'];
  readonly contentType?: string;
  /** Streaming answer: the timeout covers only the wait for the headers. */
  readonly stream?: boolean;
}

export interface StartPipelineOptions extends RequestOptions {
  readonly bootstrapPolicy?: BootstrapPolicy;
  readonly silentBootstrap?: boolean;
  readonly concurrentBootstrap?: boolean;
  /** Sent as `dismiss_error` when given (server default: true). */
  readonly dismissError?: boolean;
}

export interface IngressOptions extends RequestOptions {
  /** Body format (default `json`). */
  readonly format?: IngressFormat;
  /** JSON change envelope (`update_format`); the server's default is `insert_delete`. */
  readonly updateFormat?: UpdateFormat;
  /** JSON body holds arrays of events. */
  readonly array?: boolean;
  /** Accept data while the pipeline is paused. */
  readonly force?: boolean;
  readonly jsonFlavor?: JsonFlavor;
  /** Any further parser option, sent verbatim as a query parameter. */
  readonly params?: Readonly<Record<string, QueryValue>>;
}

export interface EgressOptions {
  /** Default `json`. */
  readonly format?: EgressFormat;
  /** Default `true` (as Feldera's SDK): the pipeline waits for this client instead of dropping chunks. */
  readonly backpressure?: boolean;
  /** First send the full contents of the (materialized) view. */
  readonly sendSnapshot?: boolean;
  readonly updateFormat?: UpdateFormat;
  readonly jsonFlavor?: JsonFlavor;
  readonly bufferSizeRecords?: number;
  /** Closing this signal closes the stream. */
  readonly signal?: AbortSignal;
  /** Timeout for the response headers only (default: none). */
  readonly timeoutMs?: number;
}

export interface StreamOptions {
  readonly signal?: AbortSignal;
  /** Timeout for the response headers only (default: none). */
  readonly timeoutMs?: number;
}

const seg = (s: string): string => encodeURIComponent(s);

function isByteStream(body: unknown): boolean {
  return (
    typeof body === 'object' && body !== null && typeof (body as ReadableStream).getReader === 'function'
  );
}

export class HoldfastApi {
  /** Server base URL (no trailing slash, no `/v0`). */
  readonly url: string;
  readonly timeoutMs: number;
  readonly #apiKey: string | undefined;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #fetch: typeof globalThis.fetch;

  constructor(options: HoldfastClientOptions = {}) {
    const url = (options.url ?? DEFAULT_URL).replace(/\/+$/, '').replace(/\/v0$/, '');
    try {
      new URL(url);
    } catch {
      throw new ClientError('InvalidArgument', `invalid server URL '${url}'`, { url });
    }
    this.url = url;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#apiKey = options.apiKey === '' ? undefined : options.apiKey;
    this.#headers = { ...(options.headers ?? {}) };
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Whether requests carry an `Authorization` header. */
  get authenticated(): boolean {
    return this.#apiKey !== undefined;
  }

  #secrets(): string[] {
    return this.#apiKey === undefined ? [] : [this.#apiKey];
  }

  /**
   * Sends one request and returns the OK response (body unread). Escape hatch for endpoints without a method.
   * Throws `ApiError` on a non-2xx answer, `ClientError` on transport failure or timeout.
   */
  async request(req: RawRequest): Promise<Response> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined && v !== null) qs.set(k, String(v));
    const q = qs.toString();
    const path = `/v0${req.path}${q ? `?${q}` : ''}`;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...this.#headers };
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`;
    let body: RequestInit['body'];
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    } else if (req.body !== undefined) {
      body = req.body;
      if (req.contentType) headers['content-type'] = req.contentType;
    }
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    const timeout = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => timeout.abort(), timeoutMs);
      // Node: the timer must not keep the process alive; a browser's timer id is a number
      (timer as { unref?: () => void }).unref?.();
    }
    const signal = req.signal ? AbortSignal.any([req.signal, timeout.signal]) : timeout.signal;
    const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, body, signal };
    if (isByteStream(body)) init.duplex = 'half';
    let res: Response;
    try {
      res = await this.#fetch(`${this.url}${path}`, init);
    } catch (e) {
      clearTimeout(timer);
      throw this.#transportError(e, req, path, timeout.signal, timeoutMs);
    }
    if (!res.ok) {
      clearTimeout(timer);
      throw await apiErrorFromResponse(res, req.method, path, this.#secrets());
    }
    if (req.stream || res.body === null) {
      clearTimeout(timer);
      return res;
    }
    // Keep the timeout running while the caller reads the body; clear it once the body is consumed.
    const reader = res.body.getReader();
    const guarded = new ReadableStream<Uint8Array>({
      pull: async (ctl) => {
        try {
          const { done, value } = await reader.read();
          if (done) {
            clearTimeout(timer);
            ctl.close();
          } else ctl.enqueue(value);
        } catch (e) {
          clearTimeout(timer);
          ctl.error(this.#transportError(e, req, path, timeout.signal, timeoutMs));
        }
      },
      cancel: (reason) => {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    });
    return new Response(guarded, { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  #transportError(
    e: unknown,
    req: RawRequest,
    path: string,
    timeout: AbortSignal,
    timeoutMs: number,
  ): unknown {
    if (req.signal?.aborted) return req.signal.reason;
    if (timeout.aborted) {
      return new ClientError('RequestTimeout', `${req.method} ${path} timed out after ${timeoutMs} ms`, {
        method: req.method,
        path,
        timeout_ms: timeoutMs,
      });
    }
    const cause = e as { message?: string; cause?: { code?: string; message?: string } };
    const why = cause?.cause?.code ?? cause?.cause?.message ?? cause?.message ?? String(e);
    return new ClientError(
      'ConnectionFailed',
      redact(`${req.method} ${this.url}${path} failed: ${why}`, this.#secrets()),
      { method: req.method, path },
      { cause: e },
    );
  }

  /** Sends a request and parses the JSON answer (an empty body gives `undefined`). */
  async requestJson<T>(req: RawRequest): Promise<T> {
    const res = await this.request(req);
    const text = await res.text();
    if (text.trim() === '') return undefined as T;
    try {
      return parseJson(text) as T; // an integer beyond 2^53 (a u64 fingerprint) as an exact bigint
    } catch {
      throw new ClientError(
        'InvalidResponse',
        `${req.method} ${req.path}: the server's answer is not JSON: ${redact(text.slice(0, 200), this.#secrets())}`,
        { method: req.method, path: req.path },
      );
    }
  }

  async #action(
    path: string,
    query: Record<string, QueryValue> | undefined,
    opts: RequestOptions,
  ): Promise<void> {
    const res = await this.request({ ...opts, method: 'POST', path, query });
    await res.arrayBuffer().catch(() => {}); // drain so the connection can be reused
  }

  // ------------------------------------------------------------------------------------------------------
  // Platform
  // ------------------------------------------------------------------------------------------------------

  /** `GET /v0/config`. */
  getConfig(opts: RequestOptions = {}): Promise<Configuration> {
    return this.requestJson({ ...opts, method: 'GET', path: '/config' });
  }

  // ------------------------------------------------------------------------------------------------------
  // Pipeline CRUD
  // ------------------------------------------------------------------------------------------------------

  /** `GET /v0/pipelines?selector=` (default `all`). */
  listPipelines(selector?: 'all', opts?: RequestOptions): Promise<PipelineDescr[]>;
  listPipelines(selector: 'status', opts?: RequestOptions): Promise<PipelineStatusDescr[]>;
  listPipelines(
    selector: 'status_with_connectors',
    opts?: RequestOptions,
  ): Promise<PipelineStatusWithConnectorsDescr[]>;
  listPipelines(selector?: PipelineFieldSelector, opts?: RequestOptions): Promise<PipelineSelectedInfo[]>;
  listPipelines(
    selector?: PipelineFieldSelector,
    opts: RequestOptions = {},
  ): Promise<PipelineSelectedInfo[]> {
    return this.requestJson({ ...opts, method: 'GET', path: '/pipelines', query: { selector } });
  }

  /** `GET /v0/pipelines/{name}?selector=` (default `all`). */
  getPipeline(name: string, selector?: 'all', opts?: RequestOptions): Promise<PipelineDescr>;
  getPipeline(name: string, selector: 'status', opts?: RequestOptions): Promise<PipelineStatusDescr>;
  getPipeline(
    name: string,
    selector: 'status_with_connectors',
    opts?: RequestOptions,
  ): Promise<PipelineStatusWithConnectorsDescr>;
  getPipeline(
    name: string,
    selector?: PipelineFieldSelector,
    opts?: RequestOptions,
  ): Promise<PipelineSelectedInfo>;
  getPipeline(
    name: string,
    selector?: PipelineFieldSelector,
    opts: RequestOptions = {},
  ): Promise<PipelineSelectedInfo> {
    return this.requestJson({ ...opts, method: 'GET', path: `/pipelines/${seg(name)}`, query: { selector } });
  }

  /** `POST /v0/pipelines` (201). */
  createPipeline(body: PostPutPipeline, opts: RequestOptions = {}): Promise<PipelineInfo> {
    return this.requestJson({ ...opts, method: 'POST', path: '/pipelines', json: body });
  }

  /** `PUT /v0/pipelines/{name}`: full replace, or create (201); a different `body.name` renames. */
  putPipeline(name: string, body: PostPutPipeline, opts: RequestOptions = {}): Promise<PipelineInfo> {
    return this.requestJson({ ...opts, method: 'PUT', path: `/pipelines/${seg(name)}`, json: body });
  }

  /** `PATCH /v0/pipelines/{name}`: absent/null keys stay unchanged. */
  patchPipeline(name: string, body: PatchPipeline, opts: RequestOptions = {}): Promise<PipelineInfo> {
    return this.requestJson({ ...opts, method: 'PATCH', path: `/pipelines/${seg(name)}`, json: body });
  }

  /** `DELETE /v0/pipelines/{name}` (pipeline must be stopped with storage cleared). */
  async deletePipeline(name: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.request({ ...opts, method: 'DELETE', path: `/pipelines/${seg(name)}` });
    await res.arrayBuffer().catch(() => {});
  }

  // ------------------------------------------------------------------------------------------------------
  // Lifecycle
  // ------------------------------------------------------------------------------------------------------

  /** `POST /v0/pipelines/{name}/start?initial=…` (202; only the options given are sent). */
  startPipeline(
    name: string,
    initial: StartInitialState = 'running',
    opts: StartPipelineOptions = {},
  ): Promise<void> {
    return this.#action(
      `/pipelines/${seg(name)}/start`,
      {
        initial,
        bootstrap_policy: opts.bootstrapPolicy,
        silent_bootstrap: opts.silentBootstrap,
        concurrent_bootstrap: opts.concurrentBootstrap,
        dismiss_error: opts.dismissError,
      },
      opts,
    );
  }

  /**
   * `POST /v0/pipelines/{name}/diff`: what would change (tables, views, connectors added, removed, modified) if
   * the pipeline's program became `programCode` (default: its own). Nothing changes.
   */
  programDiff(name: string, programCode?: string, opts: RequestOptions = {}): Promise<PipelineDiff> {
    return this.requestJson({
      ...opts,
      method: 'POST',
      path: `/pipelines/${seg(name)}/diff`,
      body: JSON.stringify(programCode === undefined ? {} : { program_code: programCode }),
      contentType: 'application/json',
    });
  }

  /** `POST /v0/pipelines/{name}/stop?force=` (202). `force=false` suspends with a checkpoint. */
  stopPipeline(name: string, force = false, opts: RequestOptions = {}): Promise<void> {
    return this.#action(`/pipelines/${seg(name)}/stop`, { force }, opts);
  }

  /** `POST /v0/pipelines/{name}/pause` (202). */
  pausePipeline(name: string, opts: RequestOptions = {}): Promise<void> {
    return this.#action(`/pipelines/${seg(name)}/pause`, undefined, opts);
  }

  /** `POST /v0/pipelines/{name}/resume` (202). */
  resumePipeline(name: string, opts: RequestOptions = {}): Promise<void> {
    return this.#action(`/pipelines/${seg(name)}/resume`, undefined, opts);
  }

  /** `POST /v0/pipelines/{name}/clear` (202): clear storage of a stopped pipeline. */
  clearStorage(name: string, opts: RequestOptions = {}): Promise<void> {
    return this.#action(`/pipelines/${seg(name)}/clear`, undefined, opts);
  }

  /** `POST /v0/pipelines/{name}/dismiss_error`. */
  dismissError(name: string, opts: RequestOptions = {}): Promise<void> {
    return this.#action(`/pipelines/${seg(name)}/dismiss_error`, undefined, opts);
  }

  /** `POST /v0/pipelines/{name}/activate` (standby → active). */
  activatePipeline(name: string, initial?: 'running' | 'paused', opts: RequestOptions = {}): Promise<void> {
    return this.#action(`/pipelines/${seg(name)}/activate`, { initial }, opts);
  }

  /** `POST /v0/pipelines/{name}/approve` (approve a pending bootstrap); only true flags are sent. */
  approvePipeline(
    name: string,
    opts: RequestOptions & { silentBootstrap?: boolean; concurrentBootstrap?: boolean } = {},
  ): Promise<void> {
    return this.#action(
      `/pipelines/${seg(name)}/approve`,
      {
        silent_bootstrap: opts.silentBootstrap || undefined,
        concurrent_bootstrap: opts.concurrentBootstrap || undefined,
      },
      opts,
    );
  }

  // ------------------------------------------------------------------------------------------------------
  // Checkpoints
  // ------------------------------------------------------------------------------------------------------

  /** `POST /v0/pipelines/{name}/checkpoint`. */
  checkpoint(name: string, opts: RequestOptions = {}): Promise<CheckpointResponse> {
    return this.requestJson({ ...opts, method: 'POST', path: `/pipelines/${seg(name)}/checkpoint` });
  }

  /** `GET /v0/pipelines/{name}/checkpoint_status?incarnation_uuid=`. */
  checkpointStatus(
    name: string,
    incarnationUuid?: string,
    opts: RequestOptions = {},
  ): Promise<CheckpointStatus> {
    return this.requestJson({
      ...opts,
      method: 'GET',
      path: `/pipelines/${seg(name)}/checkpoint_status`,
      query: { incarnation_uuid: incarnationUuid },
    });
  }

  /** `POST /v0/pipelines/{name}/checkpoint/sync`. */
  syncCheckpoint(name: string, opts: RequestOptions = {}): Promise<CheckpointSyncResponse> {
    return this.requestJson({ ...opts, method: 'POST', path: `/pipelines/${seg(name)}/checkpoint/sync` });
  }

  /** `GET /v0/pipelines/{name}/checkpoint/sync_status?incarnation_uuid=`. */
  syncCheckpointStatus(
    name: string,
    incarnationUuid?: string,
    opts: RequestOptions = {},
  ): Promise<CheckpointSyncStatus> {
    return this.requestJson({
      ...opts,
      method: 'GET',
      path: `/pipelines/${seg(name)}/checkpoint/sync_status`,
      query: { incarnation_uuid: incarnationUuid },
    });
  }

  /** `GET /v0/pipelines/{name}/checkpoints`. */
  checkpoints(name: string, opts: RequestOptions = {}): Promise<CheckpointMetadata[]> {
    return this.requestJson({ ...opts, method: 'GET', path: `/pipelines/${seg(name)}/checkpoints` });
  }

  /** `GET /v0/pipelines/{name}/checkpoints/remote`: the checkpoints in the sync bucket, oldest first. */
  remoteCheckpoints(name: string, opts: RequestOptions = {}): Promise<RemoteCheckpoint[]> {
    return this.requestJson({ ...opts, method: 'GET', path: `/pipelines/${seg(name)}/checkpoints/remote` });
  }

  // ------------------------------------------------------------------------------------------------------
  // Data in and out
  // ------------------------------------------------------------------------------------------------------

  /**
   * `POST /v0/pipelines/{name}/ingress/{table}`: pushes `body` (JSON text by default) and returns the
   * completion token. `table` is an SQL identifier: wrap it in double quotes for exact case.
   */
  ingress(
    name: string,
    table: string,
    body: string | Uint8Array | Blob | ReadableStream<Uint8Array>,
    opts: IngressOptions = {},
  ): Promise<IngressResponse> {
    const format = opts.format ?? 'json';
    const contentType =
      format === 'json' ? 'application/json' : format === 'csv' ? 'text/csv' : 'application/octet-stream';
    return this.requestJson({
      ...opts,
      method: 'POST',
      path: `/pipelines/${seg(name)}/ingress/${seg(table)}`,
      query: {
        format,
        update_format: opts.updateFormat,
        array: opts.array,
        force: opts.force,
        json_flavor: opts.jsonFlavor,
        ...(opts.params ?? {}),
      },
      body: body as RequestInit['body'],
      contentType,
    });
  }

  /** `GET /v0/pipelines/{name}/tables/{table}/connectors/{connector}/completion_token`. */
  completionToken(
    name: string,
    table: string,
    connector: string,
    opts: RequestOptions = {},
  ): Promise<IngressResponse> {
    return this.requestJson({
      ...opts,
      method: 'GET',
      path: `/pipelines/${seg(name)}/tables/${seg(table)}/connectors/${seg(connector)}/completion_token`,
    });
  }

  /** `GET /v0/pipelines/{name}/tables/{table}/connectors/{connector}/stats`: one input connector's status. */
  inputConnectorStats(
    name: string,
    table: string,
    connector: string,
    opts: RequestOptions = {},
  ): Promise<InputEndpointStatus> {
    return this.requestJson({
      ...opts,
      method: 'GET',
      path: `/pipelines/${seg(name)}/tables/${seg(table)}/connectors/${seg(connector)}/stats`,
    });
  }

  /** `GET /v0/pipelines/{name}/views/{view}/connectors/{connector}/stats`: one output connector's status. */
  outputConnectorStats(
    name: string,
    view: string,
    connector: string,
    opts: RequestOptions = {},
  ): Promise<OutputEndpointStatus> {
    return this.requestJson({
      ...opts,
      method: 'GET',
      path: `/pipelines/${seg(name)}/views/${seg(view)}/connectors/${seg(connector)}/stats`,
    });
  }

  /**
   * `POST /v0/pipelines/{name}/tables/{table}/connectors/{connector}/{start|pause}` (200): a paused input
   * connector stops reading and goes on from where it was once started.
   */
  connectorAction(
    name: string,
    table: string,
    connector: string,
    action: 'start' | 'pause',
    opts: RequestOptions = {},
  ): Promise<void> {
    return this.#action(
      `/pipelines/${seg(name)}/tables/${seg(table)}/connectors/${seg(connector)}/${action}`,
      undefined,
      opts,
    );
  }

  /** `GET /v0/pipelines/{name}/completion_status?token=`. */
  completionStatus(
    name: string,
    token: string,
    opts: RequestOptions = {},
  ): Promise<CompletionStatusResponse> {
    return this.requestJson({
      ...opts,
      method: 'GET',
      path: `/pipelines/${seg(name)}/completion_status`,
      query: { token },
    });
  }

  /**
   * `POST /v0/pipelines/{name}/egress/{view}`: the chunk stream, parsed (heartbeats included; they carry
   * neither `json_data` nor `text_data`). The request is sent immediately; `close()` or the signal ends it.
   */
  egress(name: string, view: string, opts: EgressOptions = {}): ResponseStream<EgressChunk> {
    const path = `/pipelines/${seg(name)}/egress/${seg(view)}`;
    const query = {
      format: opts.format ?? 'json',
      backpressure: opts.backpressure ?? true,
      send_snapshot: opts.sendSnapshot,
      update_format: opts.updateFormat,
      json_flavor: opts.jsonFlavor,
      buffer_size_records: opts.bufferSizeRecords,
    };
    return new ResponseStream(
      (signal) =>
        this.request({ method: 'POST', path, query, signal, stream: true, timeoutMs: opts.timeoutMs ?? 0 }),
      (res) => this.#chunks(res, path),
      opts.signal,
    );
  }

  async *#chunks(res: Response, path: string): AsyncGenerator<EgressChunk> {
    for await (const line of readLines(res.body)) {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new ClientError(
          'InvalidResponse',
          `egress ${path}: a chunk is not JSON: ${line.slice(0, 200)}`,
          {
            path,
          },
        );
      }
      const obj = value as Record<string, unknown>;
      if (typeof obj !== 'object' || obj === null || typeof obj.sequence_number !== 'number') {
        if (typeof obj?.error_code === 'string') {
          throw new ApiError({
            status: res.status,
            errorCode: obj.error_code,
            message: typeof obj.message === 'string' ? obj.message : `egress ${path} failed`,
            details: (obj.details as Record<string, unknown> | null | undefined) ?? null,
            method: 'POST',
            path,
          });
        }
        throw new ClientError('InvalidResponse', `egress ${path}: a chunk has no sequence_number`, { path });
      }
      yield obj as unknown as EgressChunk;
    }
  }

  /**
   * `GET /v0/pipelines/{name}/query?sql=&format=` (default `text`). Returns the OK response with its body
   * unread (a stream: text table, JSON lines, Arrow IPC, Parquet or a hash line, depending on `format`).
   */
  query(
    name: string,
    sql: string,
    format: QueryFormat = 'text',
    opts: StreamOptions = {},
  ): Promise<Response> {
    return this.request({
      ...opts,
      method: 'GET',
      path: `/pipelines/${seg(name)}/query`,
      query: { sql, format },
      stream: true,
      timeoutMs: opts.timeoutMs ?? 0,
    });
  }

  /** `GET /v0/pipelines/{name}/stats`. */
  stats(
    name: string,
    opts: RequestOptions & { includeConnectorErrors?: boolean } = {},
  ): Promise<PipelineStats> {
    return this.requestJson({
      ...opts,
      method: 'GET',
      path: `/pipelines/${seg(name)}/stats`,
      query: { include_connector_errors: opts.includeConnectorErrors || undefined },
    });
  }

  /** `GET /v0/pipelines/{name}/metrics?format=` (Prometheus text by default). */
  async metrics(
    name: string,
    format: MetricsFormat = 'prometheus',
    opts: RequestOptions = {},
  ): Promise<string> {
    const res = await this.request({
      ...opts,
      method: 'GET',
      path: `/pipelines/${seg(name)}/metrics`,
      query: { format },
    });
    return res.text();
  }

  /** `GET /v0/pipelines/{name}/logs`: log lines, replayed then followed, until closed or the server ends it. */
  logs(name: string, opts: StreamOptions = {}): ResponseStream<string> {
    const path = `/pipelines/${seg(name)}/logs`;
    return new ResponseStream(
      (signal) => this.request({ method: 'GET', path, signal, stream: true, timeoutMs: opts.timeoutMs ?? 0 }),
      (res) => readLines(res.body),
      opts.signal,
    );
  }
}
