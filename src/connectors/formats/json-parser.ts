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

type Event = { readonly changes: ParsedChange[] } | { readonly error: string; readonly field: string | null };

/**
 * The changes one JSON event stands for under `format` (shared with `holdfast run`'s input files).
 * @throws ServiceError InvalidRecord for an event of the wrong shape (`details.column`: the offending key), or
 *   the row's own error (sql/records.ts)
 */
export function jsonEventChanges(table: TableSchema, format: InputUpdateFormat, ev: unknown): ParsedChange[] {
  const bad = (message: string, field: string | null) =>
    new ServiceError('InvalidRecord', message, field === null ? {} : { column: field });
  const changes: ParsedChange[] = [];
  const isObject = ev !== null && typeof ev === 'object' && !Array.isArray(ev);
  switch (format) {
    case 'raw':
      changes.push({ row: rowFromJson(table, ev), weight: 1 });
      break;
    case 'insert_delete': {
      if (!isObject)
        throw bad(
          `expected an object like {"insert": {...}} or {"delete": {...}}, got ${describe(ev)}`,
          null,
        );
      const o = ev as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (k !== 'insert' && k !== 'delete' && k !== 'update' && k !== 'table')
          throw bad(
            `unexpected key '${k}' in an insert_delete event (allowed: insert, delete, update, table)`,
            k,
          );
      }
      if ('update' in o)
        throw bad(
          "'update' events are not supported yet; send the whole new row as an insert (with a primary key it replaces the old row)",
          'update',
        );
      if ('delete' in o) changes.push({ row: rowFromJson(table, o.delete, { keyOnly: true }), weight: -1 });
      if ('insert' in o) changes.push({ row: rowFromJson(table, o.insert), weight: 1 });
      if (changes.length === 0) throw bad('an insert_delete event needs an "insert" or a "delete" key', null);
      break;
    }
    case 'weighted': {
      if (!isObject)
        throw bad(`expected an object like {"weight": 1, "data": {...}}, got ${describe(ev)}`, null);
      const o = ev as Record<string, unknown>;
      const w = o.weight;
      if (typeof w !== 'number' || !Number.isSafeInteger(w))
        throw bad(`"weight" must be an integer, got ${JSON.stringify(w)}`, 'weight');
      if (w !== 0) changes.push({ row: rowFromJson(table, o.data, { keyOnly: w < 0 }), weight: w });
      break;
    }
    case 'debezium': {
      const p = isObject ? (ev as Record<string, unknown>).payload : undefined;
      if (p === null || typeof p !== 'object' || Array.isArray(p))
        throw bad('a debezium event needs a "payload" object', 'payload');
      const { before, after } = p as Record<string, unknown>;
      if (before !== undefined && before !== null)
        changes.push({ row: rowFromJson(table, before, { keyOnly: true }), weight: -1 });
      if (after !== undefined && after !== null) changes.push({ row: rowFromJson(table, after), weight: 1 });
      break;
    }
  }
  return changes;
}

function eventChanges(table: TableSchema, cfg: JsonParserConfig, ev: unknown): Event {
  try {
    return { changes: jsonEventChanges(table, cfg.update_format, ev) };
  } catch (e) {
    if (isServiceError(e))
      return { error: e.message, field: typeof e.details.column === 'string' ? e.details.column : null };
    throw e;
  }
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** Parses a JSON input chunk for `table`; `r.events` is set to the number of events it held. */
export function parseJson(
  table: TableSchema,
  cfg: JsonParserConfig,
  text: string,
  firstEvent = 1,
): ParseResult {
  const r = emptyResult();
  let event = firstEvent;
  for (const v of splitJsonValues(text)) {
    let json: unknown;
    try {
      json = JSON.parse(v.text);
    } catch (e) {
      addError(r, {
        description: `invalid JSON: ${(e as Error).message}`,
        event_number: event++,
        field: null,
        invalid_text: v.text,
      });
      continue;
    }
    if (!cfg.array) {
      const ev = eventChanges(table, cfg, json);
      if ('error' in ev)
        addError(r, { description: ev.error, event_number: event, field: ev.field, invalid_text: v.text });
      else for (const c of ev.changes) r.changes.push(c);
      event++;
      continue;
    }
    if (!Array.isArray(json)) {
      addError(r, {
        description: `with array=true each JSON value must be an array of events, got ${describe(json)}`,
        event_number: event++,
        field: null,
        invalid_text: v.text,
      });
      continue;
    }
    const pending: ParsedChange[] = [];
    let bad = false;
    for (const item of json) {
      const ev = eventChanges(table, cfg, item);
      if ('error' in ev) {
        addError(r, {
          description: `${ev.error} (the whole array was rejected)`,
          event_number: event,
          field: ev.field,
          invalid_text: JSON.stringify(item),
        });
        bad = true;
      } else for (const c of ev.changes) pending.push(c);
      event++;
    }
    if (!bad) for (const c of pending) r.changes.push(c);
  }
  r.events = event - firstEvent;
  return r;
}
