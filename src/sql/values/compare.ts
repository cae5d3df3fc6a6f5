/**
 * Total order of non-null values of one SQL type, as PostgreSQL sorts them (ORDER BY, MIN/MAX, comparisons).
 *
 * Invariants: numbers compare numerically with -0 = 0 and NaN equal to itself and greater than every other
 * value (Postgres float semantics); BIGINT compares as bigint, DECIMAL by value (scale ignored); BOOLEAN false <
 * true; strings in Unicode code point order, which is what Postgres's C collation gives (it compares UTF-8 bytes,
 * and UTF-8 byte order is code point order — plain JS `<` compares UTF-16 units and would put U+10000.. before
 * U+E000..U+FFFF); CHAR ignores trailing spaces (Postgres bpchar comparison).
 */
import type { Value } from '../../zset/value.ts';
import type { TypeKind } from '../sql-type.ts';
import { compareAny } from './collections.ts';
import { compareCodePoints, compareFloats, compareStrings } from './primitive-compare.ts';

export { compareFloats, compareStrings } from './primitive-compare.ts';

import type { Decimal } from './decimal.ts';

export type Comparator = (a: Value, b: Value) => number;

function spaceTrimmedEnd(s: string): number {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 32) end--;
  return end;
}

/** CHAR(n) order: trailing spaces do not count. */
export function compareBpchar(a: string, b: string): number {
  if (a === b) return 0;
  return compareCodePoints(a, spaceTrimmedEnd(a), b, spaceTrimmedEnd(b));
}

function compareNumbers(a: Value, b: Value): number {
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function compareBigInts(a: Value, b: Value): number {
  return (a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0;
}

function compareDecimals(a: Value, b: Value): number {
  return (a as Decimal).cmp(b as Decimal);
}

function compareBooleans(a: Value, b: Value): number {
  return a === b ? 0 : a ? 1 : -1;
}

/** The comparator for one kind (resolve once, call per row). */
export function comparatorFor(kind: TypeKind): Comparator {
  switch (kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'DATE':
    case 'TIME':
    case 'TIMESTAMP':
    case 'INTERVAL_YM':
    case 'INTERVAL_DT':
      return compareNumbers;
    case 'REAL':
    case 'DOUBLE':
      return compareFloats as Comparator;
    case 'BIGINT':
    case 'UBIGINT':
      return compareBigInts;
    case 'DECIMAL':
      return compareDecimals;
    case 'BOOLEAN':
      return compareBooleans;
    case 'VARCHAR':
    case 'BINARY': // lowercase hex: string order is byte order
    case 'VARBINARY':
    case 'UUID':
      return compareStrings as Comparator;
    case 'CHAR':
      return compareBpchar as Comparator;
    case 'NULL':
      return () => 0;
    case 'ARRAY':
    case 'MAP':
    case 'ROW':
    case 'VARIANT':
      return compareAny;
  }
}

/** -1, 0 or 1 for two non-null values of the same kind. */
export function compareValues(a: Value, b: Value, kind: TypeKind): number {
  return comparatorFor(kind)(a, b);
}
