/**
 * Records ↔ rows: converts JSON objects (Feldera's record format) into engine rows for a table, and rows into
 * JSON objects for output. Column names match exactly first, then case-insensitively for columns that were
 * not quoted in SQL. Missing columns are NULL.
 */
import { ServiceError } from '../errors/service-error.ts';
import type { Row, Value } from '../zset/value.ts';
import type { ColumnSchema, TableSchema } from './schema.ts';
import { NESTED_KINDS } from './sql-type.ts';
import { type JsonOut, parseJsonValue, parseTextValue, valueToJson } from './values/format.ts';

export interface RowFromJsonOptions {
  /** A delete of a table with a primary key needs only the key columns. */
  readonly keyOnly?: boolean;
}

/**
 * How records are read into rows of one column list, built once per list: column names (exact, then
 * lower-cased for columns not quoted in SQL) → index, and each column's value reader.
 */
interface RowReader {
  /** Exact names; the first column of a name wins, as a search in column order finds it. */
  readonly exact: Map<string, number>;
  /** Lower-cased names of the columns not quoted in SQL; the last such column of a name wins. */
  readonly lower: Map<string, number>;
  /** Per column: reads a JSON value (`parseJsonValue` with the type's common cases first). */
  readonly read: Array<(json: unknown) => Value>;
}

const readers = new WeakMap<readonly ColumnSchema[], RowReader>();

function rowReader(cols: readonly ColumnSchema[]): RowReader {
  let r = readers.get(cols);
  if (!r) {
    const exact = new Map<string, number>();
    const lower = new Map<string, number>();
    cols.forEach((c, i) => {
      if (!exact.has(c.name)) exact.set(c.name, i);
      if (!c.caseSensitive) lower.set(c.name.toLowerCase(), i);
    });
    r = { exact, lower, read: cols.map(valueReader) };
    readers.set(cols, r);
  }
  return r;
}

/**
 * A column's JSON value reader: the values `parseJsonValue` gives, with the common JSON shapes of the
 * simplest types answered without its general dispatch, and strings of the other scalar types read with the
 * type's text syntax directly (everything else, nulls and errors go to it).
 */
function valueReader(c: ColumnSchema): (json: unknown) => Value {
  const t = c.type;
  const name = c.name;
  const general = (json: unknown): Value => parseJsonValue(json, t, name);
  switch (t.kind) {
    case 'BIGINT':
      return (json) =>
        typeof json === 'number' && Number.isSafeInteger(json) ? BigInt(json) : general(json);
    case 'INTEGER':
      return (json) =>
        typeof json === 'number' && Number.isInteger(json) && json >= -2147483648 && json <= 2147483647
          ? json + 0 // -0 → 0, as checkInt does
          : general(json);
    case 'DOUBLE':
      return (json) => (typeof json === 'number' ? json : general(json));
    case 'BOOLEAN':
      return (json) => (typeof json === 'boolean' ? json : general(json));
    case 'VARCHAR':
      if (t.length == null) return (json) => (typeof json === 'string' ? json : general(json));
      break;
    case 'NULL':
      return general;
    default:
      if (NESTED_KINDS.has(t.kind)) return general;
  }
  // a string is read with the type's text syntax, as `parseJsonValue` reads it
  return (json) => (typeof json === 'string' ? parseTextValue(json, t, name) : general(json));
}

/** Converts one JSON record into a row of `table`. @throws ServiceError InvalidRecord naming the column. */
export function rowFromJson(table: TableSchema, record: unknown, options: RowFromJsonOptions = {}): Row {
  if (Array.isArray(record)) return rowFromArray(table, record);
  if (record === null || typeof record !== 'object') {
    throw new ServiceError(
      'InvalidRecord',
      `a record for table '${table.name}' must be a JSON object, got ${describe(record)}`,
      {
        table: table.name,
      },
    );
  }
  const cols = table.columns;
  const n = cols.length;
  const reader = rowReader(cols);
  // undefined: a column the record does not mention (a JSON value is never read as undefined)
  const row: Array<Value | undefined> = new Array(n).fill(undefined);
  const o = record as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const i = reader.exact.get(k) ?? reader.lower.get(k.toLowerCase());
    if (i === undefined) {
      throw new ServiceError(
        'InvalidRecord',
        `table '${table.name}' has no column '${k}'; columns: ${cols.map((c) => c.name).join(', ')}`,
        { table: table.name, column: k },
      );
    }
    row[i] = (reader.read[i] as (json: unknown) => Value)(o[k]);
  }
  // a column the record does not mention takes its DEFAULT (column-defaults.ts); then the first NOT NULL
  // column left null (in column order) is the error
  const keyOnly = options.keyOnly === true && table.primaryKey !== null;
  let bad = -1;
  let badSeen = false;
  for (let i = 0; i < n; i++) {
    const c = cols[i] as ColumnSchema;
    let v = row[i];
    const seen = v !== undefined;
    if (!seen) {
      v = c.default !== undefined ? c.default.value() : null;
      row[i] = v;
    }
    if (v !== null || bad >= 0 || c.type.nullable) continue;
    if (keyOnly && !(table.primaryKey as readonly string[]).includes(c.name)) continue;
    bad = i;
    badSeen = seen;
  }
  if (bad >= 0) {
    const c = cols[bad] as ColumnSchema;
    throw new ServiceError(
      'InvalidRecord',
      badSeen
        ? `column '${c.name}' of table '${table.name}' is NOT NULL but the record sets it to null`
        : `column '${c.name}' of table '${table.name}' is NOT NULL but the record does not set it`,
      { table: table.name, column: c.name },
    );
  }
  return row as Row;
}

/** A row given as a JSON array of values in column order (extra values are ignored, too few is an error). */
function rowFromArray(table: TableSchema, values: readonly unknown[]): Row {
  const cols = table.columns;
  if (values.length < cols.length) {
    throw new ServiceError(
      'InvalidRecord',
      `a record for table '${table.name}' given as an array needs ${cols.length} values (one per column, in order), got ${values.length}`,
      { table: table.name },
    );
  }
  return cols.map((c, i) => {
    const v = parseJsonValue(values[i], c.type, c.name);
    if (v === null && !c.type.nullable) {
      throw new ServiceError(
        'InvalidRecord',
        `column '${c.name}' of table '${table.name}' is NOT NULL but the record sets it to null`,
        {
          table: table.name,
          column: c.name,
        },
      );
    }
    return v;
  });
}

/** Converts a row into a JSON object with the relation's column names. */
export function rowToJson(columns: readonly ColumnSchema[], row: Row): Record<string, JsonOut> {
  const out: Record<string, JsonOut> = {};
  columns.forEach((c, i) => {
    out[c.name] = valueToJson(row[i] as Value, c.type);
  });
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
