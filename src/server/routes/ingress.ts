/**
 * Pipeline routes: `POST /ingress/{table}?format=json|csv|parquet&update_format=&array=&force=` → `{"token"}`, and
 * `GET /completion_status?token=` → `{"status", "step"}`.
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
 * With `format=parquet` the body is one whole Parquet file (or several back to back): it is decoded after it
 * has arrived (its footer is at its end), read by ranges from memory or the spool file, one row group at a
 * time, its schema checked against the table first
 * (`ParquetSchemaMismatch` / `ParquetInvalidFile` ingest nothing), then its rows pushed in batches.
 * The route's body is `raw` in its table entry: fastify never reads it, `receiveIngress` streams it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { recordParseErrors } from '../../connectors/connector-errors.ts';
import {
  emptyResult,
  mergeErrors,
  type ParsedChange,
  type ParseResult,
  parseErrorsError,
  streamingInputParser,
} from '../../connectors/formats/index.ts';
import { type AsyncBuffer, bufferSource, openParquet } from '../../connectors/formats/parquet-parser.ts';
import { fileSource } from '../../connectors/transports/parquet-input.ts';
import { HTTP_INGRESS_MARK } from '../../controller/controller.ts';
import { boolParam, checkContentLength, payloadTooLarge } from '../../errors/http-reply.ts';
import { ServiceError } from '../../errors/service-error.ts';
import { queryParams, type Route, sendJson } from '../../http/routes.ts';
import {
  CompletionStatusQuerySchema,
  CompletionStatusResponseSchema,
  ERROR_RESPONSES,
  IngressQuerySchema,
  IngressResponseSchema,
  ProcessTableParamsSchema,
} from '../../types/api-schemas.ts';
import { controllerOf, type PipelineServerOptions, type ServerContext } from '../server-context.ts';

/** Ingress bodies up to this size stay in memory while they arrive; larger ones are spooled to a file. */
const SPOOL_AFTER_BYTES = 8 * 1024 * 1024;
/** Records pushed (and journaled) per batch while an ingress body is parsed. */
const INGRESS_BATCH_RECORDS = 10_000;

export function ingressRoutes(ctx: ServerContext): Route[] {
  const { options } = ctx;
  return [
    {
      method: 'POST',
      url: '/ingress/:table_name',
      schema: {
        params: ProcessTableParamsSchema,
        querystring: IngressQuerySchema,
        response: { 200: IngressResponseSchema, ...ERROR_RESPONSES },
      },
      body: 'raw',
      handler: async (req, reply) => {
        const controller = controllerOf(ctx);
        const p = queryParams(req);
        const tableName = (req.params as { table_name: string }).table_name;
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
        const parser = format === 'parquet' ? null : streamingInputParser(format, opts)(table);
        const force = boolParam(p, 'force');
        const ep = controller.inputEndpoint(ingressEndpointName(table.name, format, opts), table.name);
        const body = await receiveIngress(req.raw, options);
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
            recordParseErrors(ep.errors.parse, r.errors, r.numErrors);
            mergeErrors(total, r);
            for (const c of r.changes) batch.push(c);
            bytes += b;
            if (batch.length >= INGRESS_BATCH_RECORDS) await flush();
          };
          if (parser === null) {
            // Parquet: the body is one whole file (its footer, at the end, says where the rows are), read by
            // ranges from memory or from its spool file
            const source = await body.source();
            const file = await openParquet(source, table, 'the request body');
            // one row group at a time (each is decoded whole); batches of INGRESS_BATCH_RECORDS as above
            for (const g of file.groups)
              await take(await file.read(g.start, g.end), g.end === file.numRows ? source.byteLength : 0);
          } else {
            const decoder = new StringDecoder('utf8');
            for await (const chunk of body.chunks())
              await take(parser.write(decoder.write(chunk)), chunk.length);
            await take(parser.write(decoder.end()), 0);
            await take(parser.end(), 0);
          }
          if (batch.length > 0 || bytes > 0 || !pushed) await flush();
        } finally {
          await body.dispose();
        }
        if (total.numErrors > 0) throw parseErrorsError(total);
        sendJson(reply, 200, { token: controller.completionToken(ep) });
      },
    },
    {
      method: 'GET',
      url: '/completion_status',
      schema: {
        querystring: CompletionStatusQuerySchema,
        response: { 200: CompletionStatusResponseSchema, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => {
        const controller = controllerOf(ctx);
        const token = queryParams(req).get('token');
        if (!token)
          throw new ServiceError('InvalidParam', 'missing query parameter token', { param: 'token' });
        sendJson(reply, 200, controller.completionStatus(token));
      },
    },
  ];
}

/**
 * The input endpoint an ingress request feeds: one per table and parser options, named as Feldera names them,
 * `<table>.api-ingress-<16 hex digits>` (here the digits are a hash of the options, so the same options give the
 * same endpoint in every run of the process, which journal replay relies on).
 */
export function ingressEndpointName(table: string, format: string, opts: Record<string, unknown>): string {
  const options = JSON.stringify([
    format,
    String(opts.update_format ?? 'insert_delete'),
    String(opts.array ?? 'false'),
  ]);
  // a hash per request costs as much as parsing a few records of a small body: the names are remembered
  const memo = `${table}\n${options}`;
  let name = endpointNames.get(memo);
  if (name === undefined) {
    name = `${table}${HTTP_INGRESS_MARK}${createHash('sha256').update(options).digest('hex').slice(0, 16)}`;
    if (endpointNames.size >= ENDPOINT_NAMES_KEPT) endpointNames.clear();
    endpointNames.set(memo, name);
  }
  return name;
}

/** Ingress endpoint names by table and options (a few per table; cleared if clients send many options). */
const endpointNames = new Map<string, string>();
const ENDPOINT_NAMES_KEPT = 1024;

/** An ingress body received whole: in memory, or spooled to a file. */
interface ReceivedBody {
  chunks(): AsyncIterable<Buffer>;
  /** The body as a file read by ranges (Parquet): the memory's bytes, or the spool file's. */
  source(): Promise<AsyncBuffer>;
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
  let reader: FileHandle | null = null;
  return {
    async *chunks() {
      if (spooled === null) yield* memory;
      else yield* createReadStream(spooled, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
    },
    async source() {
      if (spooled === null) return bufferSource(Buffer.concat(memory));
      reader = await open(spooled, 'r');
      return fileSource(reader, bytes);
    },
    dispose: async () => {
      await reader?.close().catch(() => {});
      reader = null;
      await dispose();
    },
  };
}

function spoolError(where: string, e: unknown): ServiceError {
  return new ServiceError(
    'UnknownError',
    `the ingress body could not be spooled to ${where}: ${(e as Error).message}; free space there or send smaller requests`,
    {},
  );
}
