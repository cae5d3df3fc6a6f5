/**
 * JSON input (Feldera's JSON format). The input is a stream of JSON values separated by whitespace (NDJSON is
 * a special case); with `array: true` each value is an array of events. An event is, by `update_format`:
 * - `raw`: the row itself, an insert;
 * - `insert_delete` (default): `{"insert": row}` / `{"delete": row}`, both allowed in one event (delete first);
 * - `weighted`: `{"weight": n, "data": row}`, n copies inserted (n > 0) or deleted (n < 0);
 * - `debezium`: `{"payload": {"op": ..., "before": row | null, "after": row | null}}`.
 * A row is a JSON object keyed by column name, or an array of values in column order.
 *
 * Bad events are reported and skipped; the others are kept. With `array: true` an array holding any bad
 * event is rejected whole.
 */
import { isServiceError, ServiceError } from '../../errors/service-error.ts';
import { rowFromJson } from '../../sql/records.ts';
import type { TableSchema } from '../../sql/schema.ts';
import { addError, emptyResult, type ParsedChange, type ParseResult } from './parse-result.ts';

export const INPUT_UPDATE_FORMATS = ['raw', 'insert_delete', 'weighted', 'debezium'] as const;
export type InputUpdateFormat = (typeof INPUT_UPDATE_FORMATS)[number];

export interface JsonParserConfig {
  readonly update_format: InputUpdateFormat;
  readonly array: boolean;
}

/** Validates a JSON parser config given as strings (query parameters) or JSON values (connector config). */
export function jsonParserConfig(raw: Readonly<Record<string, unknown>>): JsonParserConfig {
  const uf = raw.update_format ?? 'insert_delete';
  if (uf === 'snowflake' || uf === 'redis') {
    throw new ServiceError(
      'ConfigError.InputFormatNotSupported',
      `update_format '${uf}' is an output-only format; input accepts ${INPUT_UPDATE_FORMATS.join(', ')}`,
      {
        update_format: uf,
      },
    );
  }
  if (typeof uf !== 'string' || !(INPUT_UPDATE_FORMATS as readonly string[]).includes(uf)) {
    throw new ServiceError(
      'ConfigError.ParserConfigParseError',
      `unknown update_format '${String(uf)}'; expected one of ${INPUT_UPDATE_FORMATS.join(', ')}`,
      {
        update_format: String(uf),
      },
    );
  }
  return { update_format: uf as InputUpdateFormat, array: bool(raw.array, 'array') };
}

export function bool(v: unknown, name: string, dflt = false): boolean {
  if (v === undefined || v === null) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new ServiceError(
    'ConfigError.ParserConfigParseError',
    `option '${name}' must be true or false, got '${String(v)}'`,
    { option: name },
  );
}

/** Splits a text into top-level JSON values (objects, arrays or scalar tokens) with their start offsets. */
export function splitJsonValues(text: string): Array<{ text: string; start: number }> {
  const out: Array<{ text: string; start: number }> = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) {
      i++;
      continue;
    }
    const start = i;
    if (c === 123 || c === 91) {
      let depth = 0;
      let inString = false;
      for (; i < n; i++) {
        const d = text.charCodeAt(i);
        if (inString) {
          if (d === 92) i++;
          else if (d === 34) inString = false;
        } else if (d === 34) inString = true;
        else if (d === 123 || d === 91) depth++;
        else if (d === 125 || d === 93) {
          depth--;
          if (depth === 0) {
            i++;
            break;
          }
        }
      }
    } else if (c === 34) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) {
          i++;
          break;
        }
      }
    } else {
      // Anything else (a scalar, or garbage) runs to the end of the line: one bad value, one error.
      while (i < n && text.charCodeAt(i) !== 10) i++;
    }
    out.push({ text: text.slice(start, i), start });
  }
  return out;
}

/**
 * The changes one JSON event stands for under `format` (shared with `holdfast run`'s input files).
 * @throws ServiceError InvalidRecord for an event of the wrong shape (`details.column`: the offending key), or
 *   the row's own error (sql/records.ts)
 */
export function jsonEventChanges(table: TableSchema, format: InputUpdateFormat, ev: unknown): ParsedChange[] {
  const changes: ParsedChange[] = [];
  pushEventChanges(table, format, ev, changes);
  return changes;
}

/**
 * Appends the changes of one JSON event to `out` (see {@link jsonEventChanges}); on a throw `out` may hold
 * some of the event's changes, which the caller drops.
 */
function pushEventChanges(
  table: TableSchema,
  format: InputUpdateFormat,
  ev: unknown,
  out: ParsedChange[],
): void {
  const isObject = ev !== null && typeof ev === 'object' && !Array.isArray(ev);
  switch (format) {
    case 'raw':
      out.push({ row: rowFromJson(table, ev), weight: 1 });
      return;
    case 'insert_delete': {
      if (!isObject)
        throw bad(
          `expected an object like {"insert": {...}} or {"delete": {...}}, got ${describe(ev)}`,
          null,
        );
      const o = ev as Record<string, unknown>;
      let insert: unknown;
      let del: unknown;
      let hasInsert = false;
      let hasDelete = false;
      let hasUpdate = false;
      for (const k of Object.keys(o)) {
        if (k === 'insert') {
          hasInsert = true;
          insert = o[k];
        } else if (k === 'delete') {
          hasDelete = true;
          del = o[k];
        } else if (k === 'update') hasUpdate = true;
        else if (k !== 'table')
          throw bad(
            `unexpected key '${k}' in an insert_delete event (allowed: insert, delete, update, table)`,
            k,
          );
      }
      if (hasUpdate)
        throw bad(
          "'update' events are not supported yet; send the whole new row as an insert (with a primary key it replaces the old row)",
          'update',
        );
      if (hasDelete) out.push({ row: rowFromJson(table, del, KEY_ONLY), weight: -1 });
      if (hasInsert) out.push({ row: rowFromJson(table, insert), weight: 1 });
      if (!hasInsert && !hasDelete)
        throw bad('an insert_delete event needs an "insert" or a "delete" key', null);
      return;
    }
    case 'weighted': {
      if (!isObject)
        throw bad(`expected an object like {"weight": 1, "data": {...}}, got ${describe(ev)}`, null);
      const o = ev as Record<string, unknown>;
      const w = o.weight;
      if (typeof w !== 'number' || !Number.isSafeInteger(w))
        throw bad(`"weight" must be an integer, got ${JSON.stringify(w)}`, 'weight');
      if (w !== 0) out.push({ row: rowFromJson(table, o.data, { keyOnly: w < 0 }), weight: w });
      return;
    }
    case 'debezium': {
      const p = isObject ? (ev as Record<string, unknown>).payload : undefined;
      if (p === null || typeof p !== 'object' || Array.isArray(p))
        throw bad('a debezium event needs a "payload" object', 'payload');
      const { before, after } = p as Record<string, unknown>;
      if (before !== undefined && before !== null)
        out.push({ row: rowFromJson(table, before, KEY_ONLY), weight: -1 });
      if (after !== undefined && after !== null) out.push({ row: rowFromJson(table, after), weight: 1 });
      return;
    }
  }
}

const KEY_ONLY = { keyOnly: true } as const;

function bad(message: string, field: string | null): ServiceError {
  return new ServiceError('InvalidRecord', message, field === null ? {} : { column: field });
}

/**
 * Appends one event's changes to `out`; for a bad event, drops what it appended and returns its error
 * (`null` when the event was good).
 */
function addEvent(
  table: TableSchema,
  cfg: JsonParserConfig,
  ev: unknown,
  out: ParsedChange[],
): { readonly error: string; readonly field: string | null } | null {
  const before = out.length;
  try {
    pushEventChanges(table, cfg.update_format, ev, out);
    return null;
  } catch (e) {
    out.length = before;
    if (isServiceError(e))
      return { error: e.message, field: typeof e.details.column === 'string' ? e.details.column : null };
    throw e;
  }
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** In a list of values' `JSON.parse` results: the value's text still needs `JSON.parse`. */
export const NOT_PARSED: unique symbol = Symbol('not parsed');

/** Parses a JSON input chunk for `table`; `r.events` is set to the number of events it held. */
export function parseJson(
  table: TableSchema,
  cfg: JsonParserConfig,
  text: string,
  firstEvent = 1,
): ParseResult {
  const values = splitJsonValues(text);
  const texts: string[] = new Array(values.length);
  for (let k = 0; k < values.length; k++) texts[k] = (values[k] as { text: string }).text;
  return parseJsonValues(table, cfg, texts, firstEvent);
}

/**
 * Parses top-level JSON values already split (by `splitJsonValues` or the streaming scanner) for `table`;
 * `r.events` is set to the number of events they held. `parsed[k]`, when given and not {@link NOT_PARSED},
 * is `JSON.parse(texts[k])` done already.
 */
export function parseJsonValues(
  table: TableSchema,
  cfg: JsonParserConfig,
  texts: readonly string[],
  firstEvent = 1,
  parsed: readonly unknown[] | null = null,
): ParseResult {
  const r = emptyResult();
  const changes = r.changes;
  let event = firstEvent;
  for (let k = 0; k < texts.length; k++) {
    const text = texts[k] as string;
    let json: unknown = parsed === null ? NOT_PARSED : parsed[k];
    if (json === NOT_PARSED)
      try {
        json = JSON.parse(text);
      } catch (e) {
        addError(r, {
          description: `invalid JSON: ${(e as Error).message}`,
          event_number: event++,
          field: null,
          invalid_text: text,
        });
        continue;
      }
    if (!cfg.array) {
      const err = addEvent(table, cfg, json, changes);
      if (err !== null)
        addError(r, { description: err.error, event_number: event, field: err.field, invalid_text: text });
      event++;
      continue;
    }
    if (!Array.isArray(json)) {
      addError(r, {
        description: `with array=true each JSON value must be an array of events, got ${describe(json)}`,
        event_number: event++,
        field: null,
        invalid_text: text,
      });
      continue;
    }
    const before = changes.length;
    let isBad = false;
    for (const item of json) {
      const err = addEvent(table, cfg, item, changes);
      if (err !== null) {
        addError(r, {
          description: `${err.error} (the whole array was rejected)`,
          event_number: event,
          field: err.field,
          invalid_text: JSON.stringify(item),
        });
        isBad = true;
      }
      event++;
    }
    if (isBad) changes.length = before;
  }
  r.events = event - firstEvent;
  return r;
}
