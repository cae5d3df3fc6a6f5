/**
 * Postgres's typing rules, as far as Holdfast's SQL goes: literal types, numeric promotion, common types for
 * CASE/COALESCE/IN/UNION, and the result types of aggregates.
 */
import { ServiceError } from '../errors/service-error.ts';
import {
  INTEGER_KINDS,
  NUMERIC_KINDS,
  type SqlType,
  STRING_KINDS,
  sqlType,
  type TypeKind,
  typeToSql,
  UNSIGNED_KINDS,
  withNullable,
} from './sql-type.ts';

const RANK: Partial<Record<TypeKind, number>> = {
  TINYINT: 1,
  SMALLINT: 2,
  INTEGER: 3,
  BIGINT: 4,
  DECIMAL: 5,
  REAL: 6,
  DOUBLE: 7,
};

export const isNumeric = (t: SqlType): boolean => NUMERIC_KINDS.has(t.kind);
export const isInteger = (t: SqlType): boolean => INTEGER_KINDS.has(t.kind);
export const isString = (t: SqlType): boolean => STRING_KINDS.has(t.kind);

const UNSIGNED_RANK: Partial<Record<TypeKind, number>> = {
  UTINYINT: 1,
  USMALLINT: 2,
  UINTEGER: 3,
  UBIGINT: 4,
};
const SIGNED_HOLDER: Partial<Record<TypeKind, TypeKind>> = {
  UTINYINT: 'SMALLINT',
  USMALLINT: 'INTEGER',
  UINTEGER: 'BIGINT',
  UBIGINT: 'DECIMAL',
};

/**
 * Promotion with an unsigned operand (Holdfast's rule; Feldera does not document one): two unsigned kinds give
 * the wider unsigned kind; an unsigned kind next to a signed or inexact one counts as the narrowest signed kind
 * holding all its values (UTINYINT → SMALLINT, USMALLINT → INTEGER, UINTEGER → BIGINT, UBIGINT → DECIMAL), so no
 * value is lost.
 */
function promoteUnsigned(a: SqlType, b: SqlType, nullable: boolean): SqlType {
  const ua = UNSIGNED_RANK[a.kind];
  const ub = UNSIGNED_RANK[b.kind];
  if (ua !== undefined && ub !== undefined) return sqlType(ua >= ub ? a.kind : b.kind, nullable);
  const hold = (t: SqlType): SqlType => {
    const k = SIGNED_HOLDER[t.kind];
    return k === undefined ? t : sqlType(k, nullable);
  };
  return promoteNumeric(hold(a), hold(b), nullable);
}

/** Result type of arithmetic between two numeric types (PG: int2+int4 → int4, int+numeric → numeric, ...). */
export function promoteNumeric(a: SqlType, b: SqlType, nullable: boolean): SqlType {
  if (UNSIGNED_KINDS.has(a.kind) || UNSIGNED_KINDS.has(b.kind)) return promoteUnsigned(a, b, nullable);
  const ra = RANK[a.kind] as number;
  const rb = RANK[b.kind] as number;
  if (a.kind === 'REAL' && b.kind === 'REAL') return sqlType('REAL', nullable);
  if (a.kind === 'REAL' || b.kind === 'REAL') return sqlType('DOUBLE', nullable);
  const kind = (ra >= rb ? a.kind : b.kind) as TypeKind;
  if (kind === 'DECIMAL') return sqlType('DECIMAL', nullable, { precision: null, scale: null });
  return sqlType(kind, nullable);
}

const isBytes = (t: SqlType): boolean => t.kind === 'BINARY' || t.kind === 'VARBINARY';

/**
 * The common type of several expressions (PG's select_common_type, simplified): NULL literals and untyped
 * string literals adopt the others' type; numerics promote; strings become VARCHAR; BINARY and VARBINARY of
 * different kinds or lengths become VARBINARY; DATE with TIMESTAMP becomes TIMESTAMP. `unknown[i]` marks untyped string literals.
 */
export function commonType(types: readonly SqlType[], unknown: readonly boolean[], what: string): SqlType {
  const nullable = types.some((t) => t.nullable);
  const typed = types.filter((t, i) => t.kind !== 'NULL' && !unknown[i]);
  if (typed.length === 0) {
    return types.some((t) => t.kind !== 'NULL')
      ? sqlType('VARCHAR', nullable, { length: null })
      : sqlType('NULL', true);
  }
  let acc = typed[0] as SqlType;
  for (const t of typed.slice(1)) {
    if (isNumeric(acc) && isNumeric(t)) acc = promoteNumeric(acc, t, nullable);
    else if (isString(acc) && isString(t)) {
      acc =
        acc.kind === t.kind && acc.length === t.length ? acc : sqlType('VARCHAR', nullable, { length: null });
    } else if (isBytes(acc) && isBytes(t) && (acc.kind !== t.kind || acc.length !== t.length)) {
      acc = sqlType('VARBINARY', nullable, { length: null }); // BINARY(n) with VARBINARY or another length
    } else if (
      (acc.kind === 'DATE' && t.kind === 'TIMESTAMP') ||
      (acc.kind === 'TIMESTAMP' && t.kind === 'DATE')
    ) {
      acc = sqlType('TIMESTAMP', nullable);
    } else if (
      acc.kind === 'ROW' &&
      t.kind === 'ROW' &&
      acc.fields?.length === t.fields?.length &&
      typeToSql({ ...acc, nullable: true }) !== typeToSql({ ...t, nullable: true })
    ) {
      // ROW values of the same shape: field by field (a field is nullable when it is on either side); the
      // first one's field names and type name
      acc = {
        ...acc,
        nullable,
        fields: (acc.fields ?? []).map((f, i) => {
          const g = (t.fields ?? [])[i] as { type: SqlType };
          const c = commonType([f.type, g.type], [false, false], what);
          return {
            ...f,
            type: c.kind === 'NULL' ? c : { ...c, nullable: f.type.nullable || g.type.nullable },
          };
        }),
      };
    } else if (acc.kind === t.kind && (acc.kind === 'ARRAY' || acc.kind === 'MAP')) {
      // nested: component by component (components keep their own nullability)
      const part = (x: SqlType | undefined, y: SqlType | undefined): SqlType => {
        const c = commonType([x as SqlType, y as SqlType], [false, false], what);
        return c.kind === 'NULL' ? c : { ...c, nullable: (x as SqlType).nullable || (y as SqlType).nullable };
      };
      acc =
        acc.kind === 'ARRAY'
          ? sqlType('ARRAY', nullable, { element: part(acc.element, t.element) })
          : sqlType('MAP', nullable, { key: part(acc.key, t.key), value: part(acc.value, t.value) });
    } else if (acc.kind !== t.kind) {
      throw new ServiceError(
        'SqlTypeError',
        `${what} types ${typeToSql(acc)} and ${typeToSql(t)} cannot be matched`,
        {
          left: typeToSql(acc),
          right: typeToSql(t),
        },
      );
    } else if (acc.kind === 'DECIMAL' && (acc.precision !== t.precision || acc.scale !== t.scale)) {
      acc = sqlType('DECIMAL', nullable, { precision: null, scale: null });
    }
  }
  return { ...acc, nullable };
}

/** Type of an integer literal: INTEGER if it fits, else BIGINT, else DECIMAL (PG). */
export function integerLiteralType(v: bigint): SqlType {
  if (v >= -2147483648n && v <= 2147483647n) return sqlType('INTEGER', false);
  if (v >= -9223372036854775808n && v <= 9223372036854775807n) return sqlType('BIGINT', false);
  return sqlType('DECIMAL', false, { precision: null, scale: null });
}

/** Result type of SUM over a column of type `t` (PG). */
export function sumType(t: SqlType): SqlType {
  switch (t.kind) {
    // Feldera: the argument's own integer type; a total outside its range is a run-time error (aggregates.ts)
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'UBIGINT':
      return sqlType(t.kind, true);
    case 'DECIMAL':
      return sqlType('DECIMAL', true, { precision: null, scale: null });
    case 'REAL':
      return sqlType('REAL', true);
    case 'DOUBLE':
      return sqlType('DOUBLE', true);
    default:
      throw new ServiceError('SqlTypeError', `SUM is not defined for ${typeToSql(t)}`, {
        type: typeToSql(t),
      });
  }
}

/**
 * Result type of AVG over a column of type `t`, as Feldera types it (not Postgres): the argument's own type, so
 * AVG of an integer column is an integer (truncated) and AVG of DECIMAL(p, s) keeps scale s (truncated). An
 * unconstrained DECIMAL (only from expressions) keeps Postgres's division scale.
 */
export function avgType(t: SqlType): SqlType {
  if (isNumeric(t)) return withNullable(t, true);
  throw new ServiceError('SqlTypeError', `AVG is not defined for ${typeToSql(t)}`, { type: typeToSql(t) });
}

/**
 * Result type of aggregate `name` (canonical, see `aggregates.ts`; `shown` is the name as written) over
 * arguments of types `args`. Throws a plain Error with the message when the arguments do not fit.
 */
export function aggregateType(name: string, shown: string, args: readonly SqlType[]): SqlType {
  const t = args[0] as SqlType;
  const bad = (): never => {
    throw new Error(`${shown} is not defined for ${args.map(typeToSql).join(', ')}`);
  };
  switch (name) {
    case 'count':
      return sqlType('BIGINT', false);
    case 'sum':
      return sumType(t);
    case 'avg':
      return avgType(t);
    case 'min':
    case 'max':
      if (t.kind === 'BOOLEAN' || t.kind === 'NULL') bad();
      return withNullable(t, true);
    case 'arg_min':
    case 'arg_max':
      if ((args[1] as SqlType).kind === 'NULL') bad();
      return withNullable(t, true);
    case 'bool_and':
    case 'bool_or':
      if (t.kind !== 'BOOLEAN' && t.kind !== 'NULL') bad();
      return sqlType('BOOLEAN', true);
    case 'countif':
      if (t.kind !== 'BOOLEAN' && t.kind !== 'NULL') bad();
      return sqlType('BIGINT', false);
    case 'bit_and':
    case 'bit_or':
    case 'bit_xor':
      if (!isInteger(t)) bad();
      return withNullable(t, true);
    case 'stddev_pop':
    case 'stddev_samp':
    case 'var_pop':
    case 'var_samp':
      if (!isNumeric(t)) bad();
      return withNullable(t, true);
    case 'array_agg':
      return sqlType('ARRAY', true, { element: t.kind === 'NULL' ? t : withNullable(t, true) });
    case '$map': {
      // MAP(SELECT k, v ...): never NULL (an empty query gives an empty map)
      const v = args[1] as SqlType;
      return sqlType('MAP', false, { key: t, value: v.kind === 'NULL' ? v : withNullable(v, true) });
    }
    case 'regr_count':
      if (!args.every((a) => isNumeric(a) || a.kind === 'NULL')) bad();
      return sqlType('BIGINT', false);
    case 'regr_sxx':
    case 'regr_syy':
    case 'regr_sxy':
    case 'regr_avgx':
    case 'regr_avgy':
    case 'regr_slope':
    case 'regr_intercept':
    case 'regr_r2':
    case 'covar_pop':
    case 'covar_samp':
    case 'corr':
      if (!args.every((a) => isNumeric(a) || a.kind === 'NULL')) bad();
      return sqlType('DOUBLE', true);
    default:
      throw new Error(`aggregate ${shown} is not supported`);
  }
}
