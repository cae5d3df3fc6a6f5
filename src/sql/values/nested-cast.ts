/**
 * CAST involving the nested types (called by `cast.ts`'s `compileCast`):
 * - ARRAY → ARRAY element by element, MAP → MAP key and value by value, ROW → ROW field by field (same
 *   number of fields); a NULL component stays NULL, a NOT NULL target component refuses it;
 * - any type → VARIANT ({@link toVariant}) and VARIANT → any type ({@link fromVariant}): as in Feldera, a
 *   VARIANT whose content does not fit the target type casts to NULL instead of failing.
 *   The VARIANT remembers the SQL type of numbers and bytes (`variant-types.ts`): a REAL-tagged one widens
 *   its single-precision value, a BINARY-tagged one casts back to bytes.
 * Everything else is refused at compile time (`cannot cast type ...`).
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { Value } from '../../zset/value.ts';
import { type SqlType, sqlType } from '../sql-type.ts';
import { bytesFromJsonArray, bytesToArray } from './bytes.ts';

/** A compiled cast (the same shape as `cast.ts`'s). */
type CastFn = (v: Value) => Value;
/** `cast.ts`'s compileCast, passed in by it (the nested casts recurse through it; no import cycle). */
type CompileCast = (from: SqlType, to: SqlType, explicit: boolean) => CastFn;

let castCompiler: CompileCast | null = null;

/** Called once by `cast.ts` when it loads: nested casts cast their components through it. */
export function useCastCompiler(f: CompileCast): void {
  castCompiler = f;
}

function compileCast(from: SqlType, to: SqlType, explicit: boolean): CastFn {
  if (castCompiler === null) throw new Error('nested-cast.ts used before cast.ts was loaded');
  return castCompiler(from, to, explicit);
}

import { SqlArray, SqlMap, SqlRow, VARIANT_NULL, Variant } from './collections.ts';
import { Decimal } from './decimal.ts';
import { shortestFloat4 } from './format.ts';
import { formatDate, formatTime, formatTimestamp } from './temporal.ts';
import { taggedVariant } from './variant-types.ts';

function componentCast(from: SqlType, to: SqlType, explicit: boolean): CastFn {
  const f = from.kind === 'NULL' ? (v: Value) => v : compileCast(from, to, explicit);
  return (v) => {
    if (v === null) {
      if (!to.nullable)
        throw new ServiceError('SqlRuntimeError', 'a NULL component cannot be cast to a NOT NULL type');
      return null;
    }
    return f(v);
  };
}

/** The cast, or null when the pair is not castable. */
export function compileNestedCast(from: SqlType, to: SqlType, explicit: boolean): CastFn | null {
  if (to.kind === 'VARIANT') return (v) => toVariant(v, from); // NULL → the VARIANT null (see bound.ts)
  if (from.kind === 'VARIANT') return (v) => fromVariant(v as Variant, to);
  if (from.kind === 'ARRAY' && to.kind === 'ARRAY') {
    const f = componentCast(from.element as SqlType, to.element as SqlType, explicit);
    return (v) => new SqlArray((v as SqlArray).items.map(f));
  }
  if (from.kind === 'MAP' && to.kind === 'MAP') {
    const fk = componentCast(from.key as SqlType, to.key as SqlType, explicit);
    const fv = componentCast(from.value as SqlType, to.value as SqlType, explicit);
    return (v) => {
      const m = v as SqlMap;
      return SqlMap.of(m.keys.map((k, i) => [fk(k), fv(m.values[i] as Value)] as const));
    };
  }
  if (from.kind === 'ROW' && to.kind === 'ROW') {
    const ff = from.fields ?? [];
    const tf = to.fields ?? [];
    if (ff.length !== tf.length) return null;
    const fs = ff.map((f, i) => componentCast(f.type, (tf[i] as { type: SqlType }).type, explicit));
    return (v) => new SqlRow((v as SqlRow).fields.map((x, i) => (fs[i] as CastFn)(x)));
  }
  return null;
}

/** An SQL value of type `t` as a VARIANT (NULL components become the VARIANT null). */
export function toVariant(v: Value, t: SqlType): Variant {
  if (v === null) return VARIANT_NULL;
  switch (t.kind) {
    case 'VARIANT':
      return v as Variant;
    case 'ARRAY':
      return new Variant(new SqlArray((v as SqlArray).items.map((x) => toVariant(x, t.element as SqlType))));
    case 'MAP': {
      const m = v as SqlMap;
      return new Variant(
        SqlMap.of(
          m.keys.map(
            (k, i) =>
              [toVariant(k, t.key as SqlType), toVariant(m.values[i] as Value, t.value as SqlType)] as const,
          ),
        ),
      );
    }
    case 'ROW': {
      const fields = t.fields ?? [];
      return new Variant(
        SqlMap.of(
          (v as SqlRow).fields.map(
            (x, i) =>
              [
                new Variant((fields[i] as { name: string }).name),
                toVariant(x, (fields[i] as { type: SqlType }).type),
              ] as const,
          ),
        ),
      );
    }
    case 'DATE':
      return new Variant(formatDate(v as number));
    case 'TIME':
      return new Variant(formatTime(v as number));
    case 'TIMESTAMP':
      return new Variant(formatTimestamp(v as number));
    case 'BINARY':
    case 'VARBINARY':
      return taggedVariant(new SqlArray(bytesToArray(v as string).map((b) => new Variant(b))), t);
    case 'CHAR':
    case 'VARCHAR':
    case 'UUID':
    case 'BOOLEAN':
      return new Variant(v);
    case 'REAL':
      return taggedVariant(Number(shortestFloat4(v as number)), t); // the REAL's own digits (57681.18)
    default:
      return taggedVariant(v, t); // numbers: number, bigint or Decimal
  }
}

const BIGINT = sqlType('BIGINT', false);
const DOUBLE = sqlType('DOUBLE', false);
const DECIMAL = sqlType('DECIMAL', false, { precision: null, scale: null });
const TEXT = sqlType('VARCHAR', false, { length: null });
const REAL = sqlType('REAL', false);
const VARBINARY = sqlType('VARBINARY', false, { length: null });

function tryCast(v: Value, from: SqlType, to: SqlType): Value {
  try {
    return compileCast(from, to, true)(v);
  } catch {
    return null;
  }
}

function padBinary(hex: Value, t: SqlType): Value {
  const n = t.kind === 'BINARY' ? t.length : null;
  return typeof hex === 'string' && n != null && hex.length < 2 * n ? hex.padEnd(2 * n, '0') : hex;
}

/** A VARIANT as an SQL value of type `t`, or NULL when its content does not fit `t`. */
export function fromVariant(x: Variant, t: SqlType): Value {
  const v = x.value;
  // Feldera: the VARIANT null cast to a ROW type is a row of NULL fields (to any other type, NULL)
  if (v === null) return t.kind === 'ROW' ? new SqlRow((t.fields ?? []).map(() => null)) : null;
  switch (t.kind) {
    case 'VARIANT':
      return x;
    case 'BOOLEAN':
      return typeof v === 'boolean' ? v : null;
    case 'CHAR':
    case 'VARCHAR':
      return typeof v === 'string' ? tryCast(v, TEXT, t) : null;
    case 'DATE':
    case 'TIME':
    case 'TIMESTAMP':
    case 'UUID':
      return typeof v === 'string' ? tryCast(v, TEXT, t) : null;
    case 'ARRAY':
      if (!(v instanceof SqlArray)) return null;
      return new SqlArray(v.items.map((e) => fromVariant(e as Variant, t.element as SqlType)));
    case 'MAP': {
      if (!(v instanceof SqlMap)) return null;
      const entries: [Value, Value][] = [];
      for (let i = 0; i < v.size; i++) {
        const k = fromVariant(v.keys[i] as Variant, t.key as SqlType);
        if (k === null) return null;
        entries.push([k, fromVariant(v.values[i] as Variant, t.value as SqlType)]);
      }
      return SqlMap.of(entries);
    }
    case 'ROW': {
      if (!(v instanceof SqlMap)) return null;
      return new SqlRow(
        (t.fields ?? []).map((f) => {
          const e = v.get(new Variant(f.name));
          return e === undefined ? null : fromVariant(e as Variant, f.type);
        }),
      );
    }
    case 'BINARY':
    case 'VARBINARY':
      // a VARIANT made from bytes (Feldera's Variant::Binary) casts back, to BINARY(n) padded with zero
      // bytes (as Feldera does); a JSON array does not
      if (x.type !== 'BINARY' || !(v instanceof SqlArray)) return null;
      return padBinary(
        tryCast(bytesFromJsonArray(v.items.map((e) => (e as Variant).value)), VARBINARY, t),
        t,
      );
    default:
      // numeric targets; a REAL keeps its single-precision value (CAST to DOUBLE widens it, as in Feldera)
      if (x.type === 'REAL' && typeof v === 'number') return tryCast(Math.fround(v), REAL, t);
      if (typeof v === 'number')
        return tryCast(Number.isInteger(v) ? BigInt(v) : v, Number.isInteger(v) ? BIGINT : DOUBLE, t);
      if (typeof v === 'bigint') return tryCast(v, BIGINT, t);
      if (v instanceof Decimal) return tryCast(v, DECIMAL, t);
      return null;
  }
}
