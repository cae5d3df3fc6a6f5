/**
 * Output encoders for connectors: turn a view's change (a Z-set batch) into text or bytes, by Feldera's formats.
 * - json (`update_format: insert_delete`, the only one supported): one `{"insert": row}` / `{"delete": row}`
 *   per line, a row with weight ±n written n times; with `array: true` a step's events form one JSON array line.
 * - csv: one line per copy of a row, fields in column order and the weight (+1/-1) as the last field; no header.
 *   NULL is an empty field; text with the delimiter, a quote or a newline (and the empty string) is quoted.
 * - parquet: complete Parquet files of the inserted rows (connectors/formats/parquet-encoder.ts), as `bytes`.
 */
import { isServiceError } from '../../errors/service-error.ts';
import { rowToJson } from '../../sql/records.ts';
import type { ColumnSchema } from '../../sql/schema.ts';
import { formatValue } from '../../sql/values/format.ts';
import type { Batch } from '../../zset/batch.ts';
import type { Row, Value } from '../../zset/value.ts';
import { DEFAULT_PARQUET_BUFFER_RECORDS, parquetEncoder } from '../formats/parquet-encoder.ts';
import type { FormatSpec } from './config.ts';
import { type ConnectorContext, configError, kindOf } from './config.ts';

/** An encoded change: `text`, or `bytes` for a binary format (then `text` is ''). */
export type BatchEncoder = (change: Batch) => { text: string; records: number; bytes?: Uint8Array };

const JSON_KEYS = ['update_format', 'json_flavor', 'buffer_size_records', 'array', 'key_fields', 'lines'];
const CSV_KEYS = ['delimiter', 'buffer_size_records'];
const PARQUET_KEYS = ['buffer_size_records'];

/** Builds the encoder for `format` (json or csv). @throws ServiceError naming the connector. */
export function outputEncoder(
  ctx: ConnectorContext,
  format: FormatSpec | null,
  columns: readonly ColumnSchema[],
): BatchEncoder {
  if (format === null)
    throw configError(
      ctx,
      'a "format" is required, e.g. {"name": "json", "config": {"update_format": "insert_delete"}}',
    );
  const cfg = format.config;
  if (format.name === 'json') {
    unknownKeys(ctx, cfg, JSON_KEYS, 'json');
    const uf = cfg.update_format ?? 'insert_delete';
    if (uf !== 'insert_delete')
      throw configError(
        ctx,
        `update_format ${JSON.stringify(uf)} is not supported by file output; use insert_delete`,
        'ConfigError.OutputFormatNotSupported',
      );
    if (cfg.json_flavor !== undefined && cfg.json_flavor !== null && cfg.json_flavor !== 'default')
      throw configError(
        ctx,
        `json_flavor ${JSON.stringify(cfg.json_flavor)} is not supported; use default`,
        'ConfigError.OutputFormatNotSupported',
      );
    const array = cfg.array ?? false;
    if (typeof array !== 'boolean')
      throw configError(ctx, `'array' must be true or false, got ${kindOf(array)}`);
    return jsonEncoder(columns, array);
  }
  if (format.name === 'csv') {
    unknownKeys(ctx, cfg, CSV_KEYS, 'csv');
    const d = cfg.delimiter ?? ',';
    if (typeof d !== 'string' || d.length !== 1 || d === '"' || d === '\n' || d === '\r')
      throw configError(
        ctx,
        `'delimiter' must be one character other than a quote or newline, got ${kindOf(d)}`,
        'ConfigError.ParserConfigParseError',
      );
    return csvEncoder(columns, d);
  }
  if (format.name === 'parquet') {
    unknownKeys(ctx, cfg, PARQUET_KEYS, 'parquet');
    const n = cfg.buffer_size_records ?? DEFAULT_PARQUET_BUFFER_RECORDS;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1)
      throw configError(
        ctx,
        `'buffer_size_records' must be a positive integer, got ${kindOf(n)}`,
        'ConfigError.ParserConfigParseError',
      );
    let enc: ReturnType<typeof parquetEncoder>;
    try {
      enc = parquetEncoder(columns, n);
    } catch (e) {
      throw isServiceError(e) ? configError(ctx, e.message, e.errorCode, e.details) : e;
    }
    return (change) => {
      const { bytes, records } = enc.encode(change);
      return records === 0 ? { text: '', records: 0 } : { text: '', records, bytes };
    };
  }
  throw configError(
    ctx,
    `output format '${format.name}' is not supported; use json, csv or parquet`,
    'ConfigError.OutputFormatNotSupported',
  );
}

function unknownKeys(
  ctx: ConnectorContext,
  cfg: Readonly<Record<string, unknown>>,
  allowed: readonly string[],
  name: string,
): void {
  for (const k of Object.keys(cfg)) {
    if (!allowed.includes(k))
      throw configError(
        ctx,
        `unknown ${name} format option '${k}'; supported: ${allowed.join(', ')}`,
        'ConfigError.ParserConfigParseError',
      );
  }
}

function forEachCopy(change: Batch, f: (row: Row, sign: 1 | -1) => void): void {
  for (let i = 0; i < change.rows.length; i++) {
    const w = change.weights[i] as number;
    const sign = w > 0 ? 1 : -1;
    for (let k = Math.abs(w); k > 0; k--) f(change.rows[i] as Row, sign);
  }
}

export function jsonEncoder(columns: readonly ColumnSchema[], array: boolean): BatchEncoder {
  return (change) => {
    const events: string[] = [];
    forEachCopy(change, (row, sign) => {
      events.push(JSON.stringify({ [sign > 0 ? 'insert' : 'delete']: rowToJson(columns, row) }));
    });
    if (events.length === 0) return { text: '', records: 0 };
    return { text: array ? `[${events.join(',')}]\n` : `${events.join('\n')}\n`, records: events.length };
  };
}

export function csvEncoder(columns: readonly ColumnSchema[], delimiter: string): BatchEncoder {
  const needsQuote = (s: string) =>
    s === '' || s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r');
  const field = (v: Value, c: ColumnSchema): string => {
    if (v === null) return '';
    const s = formatValue(v, c.type);
    return needsQuote(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return (change) => {
    let text = '';
    let records = 0;
    forEachCopy(change, (row, sign) => {
      let line = '';
      for (let j = 0; j < columns.length; j++)
        line += `${field(row[j] as Value, columns[j] as ColumnSchema)}${delimiter}`;
      text += `${line}${sign}\n`;
      records++;
    });
    return { text, records };
  };
}
