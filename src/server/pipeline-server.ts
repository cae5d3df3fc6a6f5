/**
 * The pipeline process's HTTP API (the manager proxies `/v0/pipelines/{name}/…` to these routes; the same
 * routes also serve a pipeline run alone):
 *
 *   POST /ingress/{table}?format=json|csv&update_format=&array=&force=   → {"token"}
 *   GET  /completion_status?token=                                       → {"status", "step"}
 *   POST /egress/{view}?format=json|csv&send_snapshot=&backpressure=     → stream of chunks
 *   GET  /query?sql=&format=text|json                                    → table or JSON lines
 *   GET  /stats, GET /metrics?format=prometheus|json (pipeline-metrics.ts), POST /pause, POST /start (resume),
 *   GET /healthz
 *   GET  /status (ExtendedRuntimeStatus), POST /approve (bootstrap approval)       → see lifecycle.ts
 *   POST /checkpoint/sync (202), GET /checkpoint/sync_status, GET /checkpoints/remote → see sync/
 *
 * Bad records in an ingress body: the good ones are ingested and the reply is 400 `ParseErrors` listing the
 * bad ones (Feldera's choice); with `array=true` a JSON array holding a bad record is dropped whole.
 *
 * Ingress bodies are received first — up to 8 MiB in memory, beyond that spooled to a 0600 file in
 * `spoolDir` — and nothing is ingested until the whole body has arrived (a request cut off midway ingests
 * nothing). Then the body is parsed piece by piece (connectors/formats/streaming.ts) and pushed in batches of
 * at most 10,000 records, each journaled before the next is parsed; the reply (token or `ParseErrors`) comes
 * after the last. Memory stays bounded whatever the body's size (except one JSON array with `array=true`,
 * which is parsed whole). Over `maxIngressBytes` the answer is 413 `PayloadTooLarge`, before any is ingested.
 *
 * With a `key` (the manager's per-spawn secret, or `HOLDFAST_PIPELINE_KEY` for a pipeline run alone) every
 * route, `/status` and `/healthz` included, requires `Authorization: Bearer <key>` (401
 * `AuthenticationFailed`). A malformed percent-encoding in the path or query is 400 `InvalidParam`.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import {
  emptyResult,
  mergeErrors,
  type ParsedChange,
  type ParseResult,
  parseErrorsError,
  streamingInputParser,
} from '../connectors/formats/index.ts';
import type { Controller } from '../controller/controller.ts';
import {
  boolParam,
  checkContentLength,
  hasBearer,
  KEEP_ALIVE_TIMEOUT_MS,
  pathSegments,
  payloadTooLarge,
  requestUrl,
  sendError,
  sendJson,
  sendText,
} from '../errors/http-reply.ts';
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import { JSON_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from '../metrics/registry.ts';
import { rowToJson } from '../sql/records.ts';
import type { ColumnSchema, ViewSchema } from '../sql/schema.ts';
import { formatValue } from '../sql/values/format.ts';
import type { Standby } from '../sync/standby.ts';
import type { SyncService } from '../sync/sync-service.ts';
import type { Synchronizer } from '../sync/synchronizer.ts';
import type { Batch } from '../zset/batch.ts';
import type { Row, Value } from '../zset/value.ts';
import { PipelineLifecycle } from './lifecycle.ts';
import { PipelineMetrics } from './pipeline-metrics.ts';
import { asciiTable } from './text-table.ts';

/** The pipeline's checkpoint sync, filled in during initialization. */
export interface SyncHandle {
  /** Whether `storage.backend.config.sync` is set. */
  readonly configured: boolean;
  synchronizer: Synchronizer | null;
  service: SyncService | null;
  /** While (and after) the pipeline was a standby. */
  standby?: Standby | null;
  /** The activation this process went through (null: it did not start as a standby). */
  activation?: ActivationSummary | null;
}

/** `/stats` `checkpoint_sync.activation` and `holdfast_standby_activation_seconds`. */
export interface ActivationSummary {
  /** `POST /activate` received → the pipeline Running/Paused. */
  readonly seconds: number;
  readonly checkpoint: string | null;
  /** The state was already loaded (warm standby) rather than read from storage. */
  readonly warm: boolean;
  readonly epoch: number;
  /**
   * The final pull, part of `seconds`: `seconds` is the transfer (list, download, verify), `total_seconds` adds
   * applying the delta to the preloaded state.
   */
  readonly final_pull: {
    readonly bytes: number;
    readonly files: number;
    readonly seconds: number;
    readonly total_seconds: number;
  };
  readonly activated_at: string;
}

export interface PipelineServerOptions {
  /** Heartbeat interval for idle egress streams (default 3000 ms). */
  readonly heartbeatMs?: number;
  /** Records per egress chunk at most (default 10,000). */
  readonly chunkRecords?: number;
  readonly name?: string;
  readonly sync?: SyncHandle;
  /** When set, every request must carry `Authorization: Bearer <key>`. */
  readonly key?: string | null;
  /** Ingress bodies larger than this are refused with 413 (default: no limit). */
  readonly maxIngressBytes?: number | null;
  /** Where ingress bodies over 8 MiB are spooled while they arrive (default: a directory in the OS temp dir). */
  readonly spoolDir?: string;
  /** The process's metric registry (default: a new one); `/metrics` serves it. */
  readonly metrics?: PipelineMetrics;
}

/** Ingress bodies up to this size stay in memory while they arrive; larger ones are spooled to a file. */
const SPOOL_AFTER_BYTES = 8 * 1024 * 1024;
/** Records pushed (and journaled) per batch while an ingress body is parsed. */
const INGRESS_BATCH_RECORDS = 10_000;

interface EgressConnection {
  readonly name: string;
  readonly view: string;
  transmitted_records: number;
  transmitted_bytes: number;
  chunks: number;
}

/**
 * The pipeline's HTTP server. Given a {@link PipelineLifecycle} it serves from the start of initialization:
 * `/status`, `/healthz`, `/approve`, `/start` and `/pause` always; every other route once the controller exists
 * (503 `Initializing` before, or the initialization error).
 */
export function createPipelineServer(
  source: Controller | PipelineLifecycle,
  options: PipelineServerOptions = {},
): Server {
  const life = source instanceof PipelineLifecycle ? source : new PipelineLifecycle({ controller: source });
  let routes: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | null = null;
  const egress = new Set<EgressConnection>();
  const metrics = options.metrics ?? new PipelineMetrics(options.name ?? 'pipeline');
  metrics.attach({
    controller: () => life.controller,
    standby: () => (life.phase.kind === 'Standby' ? (options.sync?.standby ?? null) : null),
    syncService: () => (life.controller === null ? null : (options.sync?.service ?? null)),
    activationSeconds: () => (life.controller === null ? null : (options.sync?.activation?.seconds ?? null)),
    outputs: () => egress,
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (options.key && !hasBearer(req, options.key)) {
      if (!req.headers.authorization) res.setHeader('www-authenticate', 'Bearer');
      throw new ServiceError(
        'AuthenticationFailed',
        req.headers.authorization
          ? 'the pipeline key is not valid'
          : 'this pipeline process requires its key: send "Authorization: Bearer <key>" (reach a pipeline started by the manager through the manager\'s API)',
      );
    }
    const path = requestUrl(req, 'http://pipeline').pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (method === 'GET' && (path === '/healthz' || path === '/status')) {
      const s = life.status();
      sendJson(res, s.httpStatus, s.body);
      return;
    }
    if (method === 'POST' && path === '/approve') {
      const p = new URL(req.url ?? '/', 'http://pipeline').searchParams;
      if (boolParam(p, 'silent_bootstrap') || boolParam(p, 'concurrent_bootstrap'))
        throw new ServiceError(
          'InvalidBootstrapConfig',
          'Invalid bootstrap configuration: silent_bootstrap and concurrent_bootstrap are not supported by Holdfast; approve without them',
          {},
        );
      await life.approve();
      sendJson(res, 200, 'Bootstrap approved');
      return;
    }
    if (method === 'GET' && path === '/checkpoints/remote') {
      const synchronizer = syncOrThrow(options.sync, 'listing remote checkpoints').synchronizer;
      if (synchronizer === null) throw life.notReady();
      sendJson(res, 200, await synchronizer.listRemote());
      return;
    }
    if (method === 'POST' && path === '/activate') {
      const initial = new URL(req.url ?? '/', 'http://pipeline').searchParams.get('initial') ?? 'running';
      if (initial !== 'running' && initial !== 'paused')
        throw new ServiceError(
          'InvalidActivateStatus',
          `Invalid activation status ${JSON.stringify(initial)} (only running and paused are valid)`,
          { initial },
        );
      sendJson(res, 202, life.activate(initial === 'paused' ? 'Paused' : 'Running'));
      return;
    }
    const controller = life.controller;
    const phase = life.phase;
    if (phase.kind === 'Standby') {
      if (method === 'POST' && (path === '/pause' || path === '/start' || path === '/resume')) {
        const action = path === '/pause' ? 'pause' : 'start';
        throw new ServiceError(
          'InvalidTransition',
          `Cannot execute ${action} transition starting from Standby; activate the standby first (POST /activate)`,
          { from: 'Standby', action },
        );
      }
      const standby = options.sync?.standby;
      if (method === 'GET' && path === '/stats' && standby) {
        sendJson(res, 200, standbyStats(standby));
        return;
      }
      if (method === 'GET' && path === '/metrics' && standby) {
        await sendMetrics(req, res, metrics);
        return;
      }
    }
    if (controller === null) {
      if (method === 'POST' && (path === '/pause' || path === '/start' || path === '/resume')) {
        life.desired = path === '/pause' ? 'Paused' : 'Running';
        sendJson(res, 200, {});
        return;
      }
      throw life.notReady();
    }
    routes ??= controllerRoutes(controller, options, egress, metrics);
    await routes(req, res);
  };
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!isServiceError(e) && (e as { code?: string })?.code === 'ECONNRESET') return;
      sendError(res, e);
    });
  });
  return server;
}

/** `/stats` while in standby: no controller yet, so the global metrics say Standby and `standby` holds the rest. */
function standbyStats(standby: Standby): Record<string, unknown> {
  return {
    global_metrics: {
      state: 'Standby',
      rss_bytes: process.memoryUsage.rss(),
      cpu_msecs: Math.round(process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000),
      uptime_msecs: Math.round(process.uptime() * 1000),
      total_input_records: 0,
      total_processed_records: 0,
    },
    standby: standby.stats(),
    checkpoint_sync: null,
    inputs: [],
    outputs: [],
  };
}

/** `GET /metrics?format=prometheus|json` (Prometheus text by default). */
async function sendMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: PipelineMetrics,
): Promise<void> {
  const format = new URL(req.url ?? '/', 'http://pipeline').searchParams.get('format') ?? 'prometheus';
  if (format === 'json') sendText(res, 200, JSON.stringify(await metrics.json()), JSON_CONTENT_TYPE);
  else if (format === 'prometheus') sendText(res, 200, await metrics.text(), PROMETHEUS_CONTENT_TYPE);
  else
    throw new ServiceError('InvalidParam', `unknown metrics format '${format}': use prometheus or json`, {
      param: 'format',
      value: format,
    });
}

function syncOrThrow(sync: SyncHandle | undefined, what: string): SyncHandle {
  if (!sync?.configured)
    throw new ServiceError(
      'SyncNotConfigured',
      `${what} requires sync to be configured: set runtime_config.storage.backend to {"name": "file", "config": {"sync": {"bucket": ...}}}`,
      {},
    );
  return sync;
}

/** Every route that needs the controller. */
function controllerRoutes(
  controller: Controller,
  options: PipelineServerOptions,
  egress: Set<EgressConnection>,
  metrics: PipelineMetrics,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const heartbeatMs = options.heartbeatMs ?? 3000;
  const chunkRecords = options.chunkRecords ?? 10_000;
  let ingressSeq = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestUrl(req, 'http://pipeline');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const seg = pathSegments(url);
    const p = url.searchParams;

    if (method === 'POST' && seg[0] === 'ingress' && seg.length === 2) {
      const tableName = seg[1] as string;
      const table = controller.program.table(tableName);
      if (!table) {
        throw new ServiceError(
          'ConfigError.UnknownInputStream',
          `table '${tableName}' does not exist; tables: ${controller.program.tables.map((t) => t.name).join(', ')}`,
          {
            name: tableName,
          },
        );
      }
      const format = p.get('format') ?? 'csv';
      const opts: Record<string, unknown> = {};
      for (const k of ['update_format', 'array']) if (p.has(k)) opts[k] = p.get(k);
      const parser = streamingInputParser(format, opts)(table);
      const force = boolParam(p, 'force');
      const key = `${table.name}.api-ingress-${format}-${opts.update_format ?? 'insert_delete'}-${opts.array ?? 'false'}`;
      const ep = controller.inputEndpoint(key, table.name);
      const body = await receiveIngress(req, options);
      const total = emptyResult();
      try {
        let batch: ParsedChange[] = [];
        let bytes = 0;
        let pushed = false;
        const flush = async () => {
          const changes = batch;
          batch = [];
          const b = bytes;
          bytes = 0;
          pushed = true;
          await controller.push(ep, changes, b, { force });
        };
        const take = async (r: ParseResult, b: number) => {
          ep.metrics.num_parse_errors += r.numErrors;
          mergeErrors(total, r);
          for (const c of r.changes) batch.push(c);
          bytes += b;
          if (batch.length >= INGRESS_BATCH_RECORDS) await flush();
        };
        const decoder = new StringDecoder('utf8');
        for await (const chunk of body.chunks()) await take(parser.write(decoder.write(chunk)), chunk.length);
        await take(parser.write(decoder.end()), 0);
        await take(parser.end(), 0);
        if (batch.length > 0 || bytes > 0 || !pushed) await flush();
      } finally {
        await body.dispose();
      }
      if (total.numErrors > 0) throw parseErrorsError(total);
      ingressSeq++;
      sendJson(res, 200, { token: controller.completionToken(ep) });
      return;
    }
    if (method === 'GET' && path === '/completion_status') {
      const token = p.get('token');
      if (!token) throw new ServiceError('InvalidParam', 'missing query parameter token', { param: 'token' });
      sendJson(res, 200, controller.completionStatus(token));
      return;
    }
    if (method === 'POST' && seg[0] === 'egress' && seg.length === 2) {
      startEgress(seg[1] as string, p, req, res);
      return;
    }
    if (method === 'GET' && path === '/query') {
      const sql = p.get('sql');
      if (!sql) throw new ServiceError('InvalidParam', 'missing query parameter sql', { param: 'sql' });
      const format = p.get('format') ?? 'text';
      if (format !== 'text' && format !== 'json') {
        throw new ServiceError(
          'InvalidParam',
          `query format '${format}' is not supported; use text or json`,
          { param: 'format' },
        );
      }
      const result = await controller.query(sql);
      const cell = (v: Value, c: ColumnSchema) => (v === null ? 'NULL' : formatValue(v, c.type));
      if (format === 'text') {
        sendText(
          res,
          200,
          asciiTable(
            result.columns.map((c) => c.name),
            result.rows.map((r) => r.map((v, j) => cell(v as Value, result.columns[j] as ColumnSchema))),
          ),
        );
      } else {
        const lines = result.rows.map((r) => JSON.stringify(rowToJson(result.columns, r))).join('\n');
        sendText(res, 200, lines.length > 0 ? `${lines}\n` : '', 'application/json');
      }
      return;
    }
    if (method === 'POST' && path === '/checkpoint') {
      sendJson(res, 200, {
        checkpoint_sequence_number: controller.checkpoint(),
        incarnation_uuid: controller.incarnationUuid,
      });
      return;
    }
    if (method === 'GET' && path === '/checkpoint_status') {
      checkIncarnation(p.get('incarnation_uuid'));
      sendJson(res, 200, controller.checkpointer?.status ?? { success: null, failure: null });
      return;
    }
    if (method === 'POST' && path === '/checkpoint/sync') {
      const service = syncOrThrow(options.sync, 'checkpoint sync').service;
      if (service === null) throw new ServiceError('Initializing', 'checkpoint sync is starting; retry', {});
      const { uuid } = service.request();
      sendJson(res, 202, { checkpoint_uuid: uuid, incarnation_uuid: controller.incarnationUuid });
      return;
    }
    if (method === 'GET' && path === '/checkpoint/sync_status') {
      checkIncarnation(p.get('incarnation_uuid'));
      const service = syncOrThrow(options.sync, 'checkpoint sync').service;
      sendJson(res, 200, service?.status ?? { success: null, failure: null, periodic: null });
      return;
    }
    if (method === 'GET' && path === '/checkpoints') {
      sendJson(res, 200, controller.checkpointer?.list() ?? []);
      return;
    }
    if (method === 'GET' && path === '/stats') {
      sendJson(res, 200, stats());
      return;
    }
    if (method === 'GET' && path === '/metrics') {
      await sendMetrics(req, res, metrics);
      return;
    }
    if (method === 'POST' && path === '/pause') {
      controller.pause();
      sendJson(res, 200, {});
      return;
    }
    if (method === 'POST' && (path === '/start' || path === '/resume')) {
      controller.resume();
      sendJson(res, 200, {});
      return;
    }
    throw new ServiceError('NotFound', `no endpoint ${method} ${path}`, { method, path });
  };

  function startEgress(
    viewName: string,
    p: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    const view =
      controller.program.outputs.find((v) => v.name === viewName) ??
      controller.program.outputs.find((v) => !v.caseSensitive && v.name === viewName.toLowerCase());
    if (!view) {
      throw new ServiceError(
        'ConfigError.UnknownOutputStream',
        `view '${viewName}' does not exist or is LOCAL; views: ${controller.program.outputs.map((v) => v.name).join(', ')}`,
        {
          name: viewName,
        },
      );
    }
    const format = p.get('format') ?? 'csv';
    if (format !== 'json' && format !== 'csv') {
      throw new ServiceError(
        'ConfigError.OutputFormatNotSupported',
        `egress format '${format}' is not supported; use json or csv`,
        { format },
      );
    }
    const uf = p.get('update_format') ?? 'insert_delete';
    if (uf !== 'insert_delete') {
      throw new ServiceError(
        'ConfigError.OutputFormatNotSupported',
        `egress update_format '${uf}' is not supported; use insert_delete`,
        { update_format: uf },
      );
    }
    const snapshot = boolParam(p, 'send_snapshot');
    const backpressure = boolParam(p, 'backpressure');
    if (snapshot && !view.materialized) {
      throw new ServiceError(
        'ConfigError.InvalidTransportConfig',
        `send_snapshot needs a materialized view; declare '${view.name}' with CREATE MATERIALIZED VIEW`,
        {
          name: view.name,
        },
      );
    }
    const conn: EgressConnection = {
      name: `${view.name}.api-${crypto.randomUUID()}`,
      view: view.name,
      transmitted_records: 0,
      transmitted_bytes: 0,
      chunks: 0,
    };
    egress.add(conn);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders(); // clients see the stream open at once, not at the first chunk
    let seq = 0;
    let last = Date.now();
    const write = (obj: Record<string, unknown>, records: number) => {
      const text = `${JSON.stringify({ sequence_number: seq++, ...obj })}\r\n`;
      if (!backpressure && res.writableNeedDrain && records > 0) return; // a lagging client loses chunks
      res.write(text);
      conn.transmitted_records += records;
      conn.transmitted_bytes += text.length;
      conn.chunks++;
      last = Date.now();
    };
    const send = (b: Batch, isSnapshot: boolean) => {
      const entries: Array<[Row, number]> = [];
      for (let i = 0; i < b.rows.length; i++) {
        const w = b.weights[i] as number;
        for (let k = 0; k < Math.abs(w); k++) entries.push([b.rows[i] as Row, w > 0 ? 1 : -1]);
      }
      for (
        let s = 0;
        s < entries.length || (s === 0 && isSnapshot && entries.length === 0);
        s += chunkRecords
      ) {
        const part = entries.slice(s, s + chunkRecords);
        if (format === 'json') {
          write(
            {
              snapshot: isSnapshot,
              json_data: part.map(([r, w]) => ({
                [w > 0 ? 'insert' : 'delete']: rowToJson(view.columns, r),
              })),
            },
            part.length,
          );
        } else {
          write(
            { snapshot: isSnapshot, text_data: part.map(([r, w]) => `${csvLine(view, r)},${w}\n`).join('') },
            part.length,
          );
        }
        if (entries.length === 0) break;
      }
    };
    if (snapshot) send(controller.circuit.contents(view.name), true);
    const unlisten = controller.listen(view.name, (b) => send(b, false));
    const timer = setInterval(
      () => {
        if (Date.now() - last >= heartbeatMs) write({ snapshot: false }, 0);
      },
      Math.max(10, Math.floor(heartbeatMs / 3)),
    );
    const close = () => {
      clearInterval(timer);
      unlisten();
      egress.delete(conn);
    };
    req.on('close', close);
    res.on('close', close);
  }

  function checkIncarnation(requested: string | null): void {
    if (requested !== null && requested !== controller.incarnationUuid)
      throw new ServiceError(
        'IncarnationUuidMismatch',
        `Incarnation UUID mismatch (${requested} in request, expected ${controller.incarnationUuid})`,
        { requested, expected: controller.incarnationUuid },
      );
  }

  function stats(): Record<string, unknown> {
    const t = controller.totals;
    const state =
      controller.state === 'Paused' ? 'Paused' : controller.state === 'Running' ? 'Running' : 'Terminated';
    return {
      global_metrics: {
        state,
        bootstrap_in_progress: false,
        transaction_status: 'NoTransaction',
        transaction_id: 0,
        transaction_msecs: null,
        transaction_records: null,
        commit_progress: null,
        transaction_initiators: { transaction_id: null, initiated_by_api: null, initiated_by_connectors: {} },
        concurrent_bootstrap_phase: 'Inactive',
        concurrent_bootstrap_progress: null,
        rss_bytes: process.memoryUsage.rss(),
        memory_pressure: 'low',
        memory_pressure_epoch: 0,
        cpu_msecs: Math.round(process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000),
        uptime_msecs: Math.round(process.uptime() * 1000),
        start_time: controller.startTime,
        initial_start_time: controller.startTime,
        incarnation_uuid: controller.incarnationUuid,
        storage_bytes: 0,
        storage_mb_secs: 0,
        runtime_elapsed_msecs: Math.round(process.uptime() * 1000),
        buffered_input_records: controller.bufferedRecords,
        buffered_input_bytes: controller.bufferedBytes,
        total_input_records: t.input_records,
        total_input_bytes: t.input_bytes,
        total_processed_records: t.processed_records,
        total_processed_bytes: t.processed_bytes,
        total_completed_records: t.completed_records,
        output_stall_msecs: 0,
        total_initiated_steps: t.initiated_steps,
        total_completed_steps: t.completed_steps,
        pipeline_complete: controller.complete,
      },
      suspend_error: null,
      checkpoint_activity: controller.checkpointer?.activity ?? null,
      permanent_checkpoint_errors: null,
      checkpoint_sync: options.sync?.service
        ? { ...options.sync.service.stats(), activation: options.sync.activation ?? null }
        : null,
      pipeline_error: controller.failure?.toResponse() ?? null,
      inputs: controller.inputs.map((e) => ({
        endpoint_name: e.name,
        config: { stream: e.table },
        metrics: { ...e.metrics },
        fatal_error: e.fatalError,
        paused: e.paused,
        barrier: false,
        health: { status: e.fatalError ? 'Unhealthy' : 'Healthy', description: e.fatalError },
        completed_frontier: null,
      })),
      outputs: [...egress].map((c) => ({
        endpoint_name: c.name,
        config: { stream: c.view },
        metrics: {
          transmitted_records: c.transmitted_records,
          transmitted_bytes: c.transmitted_bytes,
          queued_records: 0,
          queued_batches: 0,
          buffered_records: 0,
          buffered_batches: 0,
          num_encode_errors: 0,
          num_transport_errors: 0,
          total_processed_input_records: t.processed_records,
          total_processed_steps: t.completed_steps,
          memory: 0,
        },
        fatal_error: null,
        health: { status: 'Healthy', description: null },
      })),
    };
  }

  void ingressSeq;
  return handle;
}

function csvLine(view: ViewSchema, row: Row): string {
  return row
    .map((v, j) => {
      if (v === null) return '';
      const s = formatValue(v as Value, (view.columns[j] as ColumnSchema).type);
      return /[",\n\r]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',');
}

/** An ingress body received whole: in memory, or spooled to a file. */
interface ReceivedBody {
  chunks(): AsyncIterable<Buffer>;
  dispose(): Promise<void>;
}

/**
 * Receives an ingress body whole before any of it is parsed: the first 8 MiB in memory, the rest spooled to a
 * 0600 file. Over `maxIngressBytes`: 413 with nothing kept. A request cut off midway throws (ECONNRESET).
 */
async function receiveIngress(req: IncomingMessage, options: PipelineServerOptions): Promise<ReceivedBody> {
  const limit = options.maxIngressBytes ?? null;
  const what = 'ingress bodies (HOLDFAST_MAX_INGRESS_BYTES)';
  checkContentLength(req, limit, what);
  const memory: Buffer[] = [];
  let memoryBytes = 0;
  let bytes = 0;
  let file: FileHandle | null = null;
  let path: string | null = null;
  const dispose = async () => {
    await file?.close().catch(() => {});
    file = null;
    if (path !== null) await rm(path, { force: true });
  };
  const write = async (b: Buffer) => {
    for (let off = 0; off < b.length; )
      off += (await (file as FileHandle).write(b, off, b.length - off)).bytesWritten;
  };
  try {
    for await (const c of req.iterator({ destroyOnReturn: false })) {
      const b = c as Buffer;
      bytes += b.length;
      if (limit !== null && bytes > limit) throw payloadTooLarge(limit, what);
      if (file === null && memoryBytes + b.length <= SPOOL_AFTER_BYTES) {
        memory.push(b);
        memoryBytes += b.length;
        continue;
      }
      if (file === null) {
        const dir = options.spoolDir ?? join(tmpdir(), `holdfast-ingress-${process.pid}`);
        try {
          await mkdir(dir, { recursive: true, mode: 0o700 });
          path = join(dir, `ingress-${randomUUID()}.tmp`);
          file = await open(path, 'wx', 0o600);
        } catch (e) {
          throw spoolError(dir, e);
        }
        for (const m of memory.splice(0)) await write(m);
      }
      await write(b).catch((e: unknown) => {
        throw spoolError(path as string, e);
      });
    }
    await file?.close();
    file = null;
  } catch (e) {
    await dispose();
    throw e;
  }
  const spooled = path;
  return {
    async *chunks() {
      if (spooled === null) yield* memory;
      else yield* createReadStream(spooled, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
    },
    dispose,
  };
}

function spoolError(where: string, e: unknown): ServiceError {
  return new ServiceError(
    'UnknownError',
    `the ingress body could not be spooled to ${where}: ${(e as Error).message}; free space there or send smaller requests`,
    {},
  );
}
