/**
 * Row values as the engine stores them. A row is a plain array of values in column order (compact: no per-row
 * object keys). The engine never interprets values except to hash and compare them for equality, so a value is
 * one of a few JS primitives or an {@link ObjectValue} that supplies its own canonical key.
 *
 * SQL types map onto values as follows (see `sql/sql-type.ts`): BOOLEAN → boolean; TINYINT/SMALLINT/INTEGER →
 * number (integral); BIGINT → bigint; REAL/DOUBLE → number; DECIMAL → Decimal (an ObjectValue); character types →
 * string; DATE → number (days since 1970-01-01); TIME → number (µs since midnight); TIMESTAMP → number (µs since
 * 1970-01-01 00:00:00); BINARY/VARBINARY → lowercase hex string; UUID → canonical lowercase text; NULL → null.
 */

/** A non-primitive value (e.g. Decimal): equal values must return the same `hashKey()`. */
export interface ObjectValue {
  hashKey(): string;
}

export type Value = null | boolean | number | bigint | string | ObjectValue;

export type Row = readonly Value[];

/**
 * Encodes one value into a string that is equal for equal values and unambiguous when concatenated
 * (strings are length-prefixed). -0 and 0 encode alike, as SQL treats them as equal.
 */
export function encodeValue(v: Value): string {
  switch (typeof v) {
    case 'number':
      return `n${v === 0 ? 0 : v};`;
    case 'string':
      return `s${v.length}:${v}`;
    case 'bigint':
      return `b${v};`;
    case 'boolean':
      return v ? 't' : 'f';
    case 'object':
      if (v === null) return '~';
      {
        const k = v.hashKey();
        return `o${k.length}:${k}`;
      }
    default:
      throw new TypeError(`not a row value: ${typeof v}`);
  }
}

/** Canonical identity of a whole row (used to consolidate Z-sets). */
export function encodeRow(row: Row): string {
  let out = '';
  for (let i = 0; i < row.length; i++) out += encodeValue(row[i] as Value);
  return out;
}

/** Canonical identity of a subset of columns. */
export function encodeColumns(row: Row, cols: readonly number[]): string {
  let out = '';
  for (let i = 0; i < cols.length; i++) out += encodeValue(row[cols[i] as number] as Value);
  return out;
}

/** True when the two values are the same SQL value (NULL equals NULL here: this is identity, not SQL `=`). */
export function sameValue(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null)
    return a.hashKey() === b.hashKey();
  return false;
}

export function sameRow(a: Row, b: Row): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameValue(a[i] as Value, b[i] as Value)) return false;
  return true;
}
