/**
 * Pipeline route: `POST /egress/{view}?format=json|csv&send_snapshot=&backpressure=` → a stream of chunks
 * (`{"sequence_number", "snapshot", "json_data"|"text_data"}` each followed by CRLF), with heartbeats (a chunk
 * without data) when idle. Without `backpressure` a lagging client loses chunks rather than holding memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { boolParam } from '../../errors/http-reply.ts';
import { ServiceError } from '../../errors/service-error.ts';
import { queryParams, type Route } from '../../http/routes.ts';
import { rowToJson } from '../../sql/records.ts';
import type { ColumnSchema, ViewSchema } from '../../sql/schema.ts';
import { formatValue } from '../../sql/values/format.ts';
import { EgressQuerySchema, ERROR_RESPONSES, ProcessViewParamsSchema } from '../../types/api-schemas.ts';
import type { Batch } from '../../zset/batch.ts';
import type { Row, Value } from '../../zset/value.ts';
import { controllerOf, type EgressConnection, type ServerContext } from '../server-context.ts';

export function egressRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'POST',
      url: '/egress/:view_name',
      schema: {
        params: ProcessViewParamsSchema,
        querystring: EgressQuerySchema,
        response: { 200: { description: 'A stream of chunks' }, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => {
        const viewName = (req.params as { view_name: string }).view_name;
        // the checks throw before the answer starts; then the stream is the raw response's
        startEgress(ctx, viewName, queryParams(req), req.raw, reply.raw, () => reply.hijack());
      },
    },
  ];
}

function startEgress(
  ctx: ServerContext,
  viewName: string,
  p: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
  hijack: () => void,
): void {
  const controller = controllerOf(ctx);
  const { egress } = ctx;
  const heartbeatMs = ctx.options.heartbeatMs ?? 3000;
  const chunkRecords = ctx.options.chunkRecords ?? 10_000;
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
      format === 'parquet'
        ? "egress cannot stream Parquet (a Parquet file is complete only at its footer; Feldera's egress does not stream it either); use format=json or format=csv, or a file_output connector with format parquet"
        : `egress format '${format}' is not supported; use json or csv`,
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
  // a view still being backfilled (concurrent bootstrap) has no complete contents to send yet
  if (snapshot) controller.checkNotBackfilling(view.name);
  const conn: EgressConnection = {
    name: `${view.name}.api-${crypto.randomUUID()}`,
    view: view.name,
    transmitted_records: 0,
    transmitted_bytes: 0,
    chunks: 0,
    queued_records: 0,
    queued_batches: 0,
    queuedBytes: () => res.writableLength,
  };
  egress.add(conn);
  hijack();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders(); // clients see the stream open at once, not at the first chunk
  let seq = 0;
  let last = Date.now();
  const write = (obj: Record<string, unknown>, records: number) => {
    const text = `${JSON.stringify({ sequence_number: seq++, ...obj })}\r\n`;
    if (!backpressure && res.writableNeedDrain && records > 0) return; // a lagging client loses chunks
    conn.queued_records += records;
    conn.queued_batches++;
    res.write(text, () => {
      // flushed to the client (or the connection closed)
      conn.queued_records -= records;
      conn.queued_batches--;
    });
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

function csvLine(view: ViewSchema, row: Row): string {
  return row
    .map((v, j) => {
      if (v === null) return '';
      const s = formatValue(v as Value, (view.columns[j] as ColumnSchema).type);
      return /[",\n\r]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',');
}
