/**
 * The SQL type a VARIANT remembers. Feldera's VARIANT is a tagged value (TINYINT, REAL, BIGINT UNSIGNED,
 * BINARY, ...), not bare JSON: `TYPEOF` names the tag, casting a REAL-tagged VARIANT to DOUBLE widens the
 * REAL's own value (57681.18 → 57681.1796875), a BINARY-tagged one casts back to bytes, and a JSON number read
 * into a VARIANT column is a `BIGINT UNSIGNED` (non-negative integer) or `BIGINT` (negative integer).
 *
 * Holdfast's {@link Variant} keeps its content JSON-shaped and records the type in `Variant.type` only when the
 * content's own kind would say something else ({@link kindOfContent}: a JS integer number reads as INTEGER, a
 * fraction as DOUBLE, a bigint as BIGINT, a Decimal as DECIMAL, an array as ARRAY), so the common VARIANTs keep
 * their untagged representation (and hash) and only the ones above carry a tag.
 *
 * State: none.
 */
import type { Value } from '../../zset/value.ts';
import type { SqlType } from '../sql-type.ts';
import { SqlArray, SqlMap, Variant } from './collections.ts';

/** Feldera's TYPEOF name of a scalar SQL type stored in a VARIANT, or undefined for the other kinds. */
function variantTypeName(t: SqlType): string | undefined {
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
    case 'REAL':
    case 'DOUBLE':
    case 'DECIMAL':
      return t.kind;
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'UBIGINT':
      return `${t.kind.slice(1)} UNSIGNED`;
    case 'BINARY':
    case 'VARBINARY':
      return 'BINARY';
    default:
      return undefined;
  }
}

/** The TYPEOF name the content of an untagged VARIANT implies. */
export function kindOfContent(v: Value): string {
  if (v === null) return 'VARIANT';
  if (typeof v === 'boolean') return 'BOOLEAN';
  if (typeof v === 'string') return 'VARCHAR';
  if (typeof v === 'number') return Number.isInteger(v) ? 'INTEGER' : 'DOUBLE';
  if (typeof v === 'bigint') return 'BIGINT';
  if (v instanceof SqlArray) return 'ARRAY';
  if (v instanceof SqlMap) return 'MAP';
  if (v instanceof Variant) return 'VARIANT';
  return 'DECIMAL';
}

/** A VARIANT holding `content`, tagged with the SQL type `t` when the content does not imply it. */
export function taggedVariant(content: Value, t: SqlType): Variant {
  const name = variantTypeName(t);
  return new Variant(content, name === undefined || name === kindOfContent(content) ? undefined : name);
}

/** A JSON number as Feldera reads it into a VARIANT: integers are BIGINT UNSIGNED (≥ 0) or BIGINT. */
export function jsonIntegerVariant(n: number | bigint): Variant {
  const type = n >= 0 ? 'BIGINT UNSIGNED' : 'BIGINT';
  return new Variant(n, type === kindOfContent(n) ? undefined : type);
}

/** Feldera's TYPEOF of a VARIANT's content. */
export function variantTypeOf(x: Variant): string {
  return x.type ?? kindOfContent(x.value);
}
