/**
 * SQL types as the compiler tracks them. Every expression and column has one; it decides the runtime value
 * representation (see `zset/value.ts`), arithmetic result types and how values print.
 */

export const TYPE_KINDS = [
  'BOOLEAN',
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'REAL',
  'DOUBLE',
  'DECIMAL',
  'CHAR',
  'VARCHAR',
  'DATE',
  'TIME',
  'TIMESTAMP',
  'BINARY',
  'VARBINARY',
  'UUID',
  // Feldera's intervals (sql/intervals.ts): months (year-month) or µs (day-time), a number; `qualifier` set
  'INTERVAL_YM',
  'INTERVAL_DT',
  'NULL',
  // part 3 (issue 19): nested types
  'ARRAY',
  'MAP',
  'ROW',
  'VARIANT',
] as const;

export type TypeKind = (typeof TYPE_KINDS)[number];

export interface SqlType {
  readonly kind: TypeKind;
  readonly nullable: boolean;
  /** DECIMAL: precision (1..1000) or null when unconstrained (Postgres `numeric`). */
  readonly precision?: number | null;
  /** DECIMAL: scale, or null when unconstrained. */
  readonly scale?: number | null;
  /** CHAR/VARCHAR: maximum length, or null when unbounded (TEXT, STRING); BINARY/VARBINARY: bytes. */
  readonly length?: number | null;
  /** INTERVAL_YM / INTERVAL_DT: the fields it is written with (`DAY TO SECOND`); see `sql/intervals.ts`. */
  readonly qualifier?: IntervalQualifier;
  /** TIMESTAMP: declared `WITH TIME ZONE` (values are UTC µs; JSON output carries `+00:00`). */
  readonly withTimeZone?: boolean;
  /** ARRAY: the element type. */
  readonly element?: SqlType;
  /** MAP: the key and value types. */
  readonly key?: SqlType;
  readonly value?: SqlType;
  /** ROW (and user-defined types): the fields in order. */
  readonly fields?: readonly RowField[];
  /** ROW: the user-defined type's name when declared with CREATE TYPE. */
  readonly typeName?: string;
}

export const INTERVAL_UNITS = ['YEAR', 'MONTH', 'DAY', 'HOUR', 'MINUTE', 'SECOND'] as const;
export type IntervalUnit = (typeof INTERVAL_UNITS)[number];
/** An interval's leading and trailing field (equal for a single field: `DAY`). */
export interface IntervalQualifier {
  readonly start: IntervalUnit;
  readonly end: IntervalUnit;
}

export interface RowField {
  readonly name: string;
  readonly type: SqlType;
}

/** Kinds whose values are nested (see `values/collections.ts`). */
export const NESTED_KINDS: ReadonlySet<TypeKind> = new Set(['ARRAY', 'MAP', 'ROW', 'VARIANT']);

/** Feldera's unsigned integers (`TINYINT UNSIGNED` ...): numbers, except UBIGINT (a bigint). */
export const UNSIGNED_KINDS: ReadonlySet<TypeKind> = new Set([
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
]);
export const INTEGER_KINDS: ReadonlySet<TypeKind> = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  ...UNSIGNED_KINDS,
]);
export const NUMERIC_KINDS: ReadonlySet<TypeKind> = new Set([...INTEGER_KINDS, 'DECIMAL', 'REAL', 'DOUBLE']);
export const STRING_KINDS: ReadonlySet<TypeKind> = new Set(['CHAR', 'VARCHAR']);

export function sqlType(kind: TypeKind, nullable = true, extra: Partial<SqlType> = {}): SqlType {
  return { kind, nullable, ...extra };
}

export function withNullable(t: SqlType, nullable: boolean): SqlType {
  return t.nullable === nullable ? t : { ...t, nullable };
}

/** Renders a type as SQL (`DECIMAL(10, 2)`, `VARCHAR(5)`, `BIGINT NOT NULL` is not included). */
export function typeToSql(t: SqlType): string {
  switch (t.kind) {
    case 'DECIMAL':
      return t.precision == null ? 'DECIMAL' : `DECIMAL(${t.precision}, ${t.scale ?? 0})`;
    case 'CHAR':
    case 'VARCHAR':
      return t.length == null ? (t.kind === 'CHAR' ? 'CHAR' : 'VARCHAR') : `${t.kind}(${t.length})`;
    case 'BINARY':
    case 'VARBINARY':
      return t.length == null ? t.kind : `${t.kind}(${t.length})`;
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'UBIGINT':
      return `${t.kind.slice(1)} UNSIGNED`;
    case 'INTERVAL_YM':
    case 'INTERVAL_DT': {
      const q = t.qualifier;
      if (q === undefined) return 'INTERVAL';
      return q.start === q.end ? `INTERVAL ${q.start}` : `INTERVAL ${q.start} TO ${q.end}`;
    }
    case 'TIMESTAMP':
      return t.withTimeZone ? 'TIMESTAMP WITH TIME ZONE' : 'TIMESTAMP';
    case 'ARRAY':
      return `${nestedToSql(t.element as SqlType)} ARRAY`;
    case 'MAP':
      return `MAP<${nestedToSql(t.key as SqlType)}, ${nestedToSql(t.value as SqlType)}>`;
    case 'ROW':
      return (
        t.typeName ?? `ROW(${(t.fields ?? []).map((f) => `${f.name} ${nestedToSql(f.type)}`).join(', ')})`
      );
    default:
      return t.kind;
  }
}

/** A component type inside ARRAY/MAP/ROW, with its nullability (components carry their own). */
function nestedToSql(t: SqlType): string {
  return t.nullable ? typeToSql(t) : `${typeToSql(t)} NOT NULL`;
}
