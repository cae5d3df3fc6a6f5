/**
 * Records ↔ rows: converts JSON objects (Feldera's record format) into engine rows for a table, and rows into
 * JSON objects for output. Column names match exactly first, then case-insensitively for columns that were
 * not quoted in SQL. Missing columns are NULL.
 */
import { ServiceError } from '../errors/service-error.ts';
import type { Row, Value } from '../zset/value.ts';
import type { ColumnSchema, TableSchema } from './schema.ts';
import { type JsonOut, parseJsonValue, valueToJson } from './values/format.ts';

export interface RowFromJsonOptions {
  /** A delete of a table with a primary key needs only the key columns. */
  readonly keyOnly?: boolean;
}

const lookups = new WeakMap<readonly ColumnSchema[], Map<string, number>>();

function lowerIndex(cols: readonly ColumnSchema[]): Map<string, number> {
  let m = lookups.get(cols);
  if (!m) {
    m = new Map();
    cols.forEach((c, i) => {
      if (!c.caseSensitive) m!.set(c.name.toLowerCase(), i);
    });
    lookups.set(cols, m);
  }
  return m;
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
  const row: Value[] = new Array(cols.length).fill(null);
  const seen: boolean[] = new Array(cols.length).fill(false);
  const lower = lowerIndex(cols);
  for (const [k, v] of Object.entries(record as Record<string, unknown>)) {
    let i = cols.findIndex((c) => c.name === k);
    if (i < 0) i = lower.get(k.toLowerCase()) ?? -1;
    if (i < 0) {
      throw new ServiceError(
        'InvalidRecord',
        `table '${table.name}' has no column '${k}'; columns: ${cols.map((c) => c.name).join(', ')}`,
        { table: table.name, column: k },
      );
    }
    const col = cols[i] as ColumnSchema;
    row[i] = parseJsonValue(v, col.type, col.name);
    seen[i] = true;
  }
  // a column the record does not mention takes its DEFAULT (column-defaults.ts)
  cols.forEach((c, i) => {
    if (!seen[i] && c.default !== undefined) row[i] = c.default.value();
  });
  const keyOnly = options.keyOnly === true && table.primaryKey !== null;
  cols.forEach((c, i) => {
    if (row[i] !== null || c.type.nullable) return;
    if (keyOnly && !table.primaryKey!.includes(c.name)) return;
    throw new ServiceError(
      'InvalidRecord',
      seen[i]
        ? `column '${c.name}' of table '${table.name}' is NOT NULL but the record sets it to null`
        : `column '${c.name}' of table '${table.name}' is NOT NULL but the record does not set it`,
      { table: table.name, column: c.name },
    );
  });
  return row;
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
