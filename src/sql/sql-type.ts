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
  'NULL',
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
}

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
    default:
      return t.kind;
  }
}
