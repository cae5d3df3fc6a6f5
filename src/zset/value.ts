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

const HASH_F64 = new Float64Array(1);
const HASH_I32 = new Int32Array(HASH_F64.buffer);

function hashString(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * A 32-bit hash of a row, equal for rows that {@link sameRow} calls equal (so for equal {@link encodeRow}s):
 * -0 hashes as 0, every NaN alike, an object value by its `hashKey()`. Numbers cost a multiply (an int32) or
 * two (a double's halves), strings one per character; no string is built.
 */
export function hashRow(row: Row): number {
  let h = 0x811c9dc5 ^ row.length;
  for (let i = 0; i < row.length; i++) {
    const v = row[i] as Value;
    let x: number;
    switch (typeof v) {
      case 'number':
        if ((v | 0) === v) x = v | 0;
        else if (Number.isNaN(v)) x = 0x7ff80000;
        else {
          HASH_F64[0] = v;
          x = (HASH_I32[0] as number) ^ Math.imul(HASH_I32[1] as number, 0x9e3779b1);
        }
        break;
      case 'string':
        x = hashString(v, 0x2c1b3c6d);
        break;
      case 'bigint':
        x = hashString(v.toString(), 0x27d4eb2f);
        break;
      case 'boolean':
        x = v ? 0x5bd1e995 : 0x1b873593;
        break;
      default:
        x = v === null ? 0x3c6ef372 : hashString((v as ObjectValue).hashKey(), 0x68e31da4);
    }
    h = Math.imul(h ^ x, 0x01000193);
    h ^= h >>> 15;
  }
  return h;
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
