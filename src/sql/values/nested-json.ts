/**
 * JSON input and output of the nested types, as Feldera encodes them: ARRAY ↔ JSON array, MAP ↔ JSON object
 * (keys as their JSON text when not strings), ROW ↔ JSON object keyed by field name (input also accepts a
 * JSON array in field order), VARIANT ↔ embedded JSON (input: any JSON value, taken as the VARIANT's
 * content, a JSON null in a NOT NULL VARIANT component being the VARIANT null and in a nullable one an SQL NULL;
 * output: the VARIANT's JSON text as a string, `"null"` for the VARIANT null). Components use the
 * scalar encodings of `format.ts` (passed in, to avoid an import cycle).
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { Value } from '../../zset/value.ts';
import { type SqlType, typeToSql } from '../sql-type.ts';
import { SqlArray, SqlMap, SqlRow, VARIANT_NULL, Variant } from './collections.ts';
import { Decimal } from './decimal.ts';
import { jsonIntegerVariant } from './variant-types.ts';

type Scalar = (v: Value, t: SqlType) => unknown;
type ParseScalar = (json: unknown, t: SqlType, column: string) => Value;

/** The JSON value (for JSON.stringify) of a non-null nested value. */
export function nestedToJson(v: Value, t: SqlType, scalar: Scalar): unknown {
  const comp = (x: Value, ct: SqlType): unknown => (x === null ? null : nestedOrScalar(x, ct, scalar));
  switch (t.kind) {
    case 'ARRAY':
      return (v as SqlArray).items.map((x) => comp(x, t.element as SqlType));
    case 'MAP': {
      const m = v as SqlMap;
      const out: Record<string, unknown> = {};
      for (let i = 0; i < m.size; i++) {
        const k = comp(m.keys[i] as Value, t.key as SqlType);
        out[typeof k === 'string' ? k : JSON.stringify(k)] = comp(m.values[i] as Value, t.value as SqlType);
      }
      return out;
    }
    case 'ROW': {
      const out: Record<string, unknown> = {};
      (t.fields ?? []).forEach((f, i) => {
        out[f.name] = comp((v as SqlRow).fields[i] as Value, f.type);
      });
      return out;
    }
    case 'VARIANT':
      return variantJsonText(v as Variant);
    default:
      return scalar(v, t);
  }
}

function nestedOrScalar(v: Value, t: SqlType, scalar: Scalar): unknown {
  return nestedToJson(v, t, scalar);
}

/** The JSON tree of a VARIANT's content. */
export function variantToJsonTree(x: Variant): unknown {
  const v = x.value;
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : new RawJson(v.toString());
  if (v instanceof Decimal) return new RawJson(v.toString());
  if (v instanceof SqlArray) return v.items.map((e) => variantToJsonTree(e as Variant));
  if (v instanceof SqlMap) {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < v.size; i++) {
      const k = variantToJsonTree(v.keys[i] as Variant);
      out[typeof k === 'string' ? k : stringifyJson(k)] = variantToJsonTree(v.values[i] as Variant);
    }
    return out;
  }
  return String(v);
}

/** A number kept as its exact text in JSON output. */
class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** JSON.stringify that writes {@link RawJson} numbers exactly. */
export function stringifyJson(tree: unknown): string {
  if (tree instanceof RawJson) return tree.text;
  if (Array.isArray(tree)) return `[${tree.map(stringifyJson).join(',')}]`;
  if (tree !== null && typeof tree === 'object')
    return `{${Object.entries(tree)
      .map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v)}`)
      .join(',')}}`;
  if (typeof tree === 'number' && !Number.isFinite(tree)) return 'null';
  return JSON.stringify(tree) ?? 'null';
}

/** A VARIANT's JSON text (Feldera's output and `CAST(v AS VARCHAR)`, `TO_JSON`). */
export function variantJsonText(x: Variant): string {
  return stringifyJson(variantToJsonTree(x));
}

/** A JSON value as a VARIANT (numbers with a fraction or an exponent become DECIMAL-like exact values). */
export function variantFromJson(json: unknown): Variant {
  if (json === null || json === undefined) return VARIANT_NULL;
  if (typeof json === 'boolean' || typeof json === 'string') return new Variant(json);
  if (typeof json === 'number')
    return Number.isInteger(json) ? jsonIntegerVariant(json) : new Variant(Decimal.parse(String(json)));
  if (typeof json === 'bigint') return jsonIntegerVariant(json);
  if (Array.isArray(json)) return new Variant(new SqlArray(json.map(variantFromJson)));
  if (typeof json === 'object')
    return new Variant(
      SqlMap.of(
        Object.entries(json as Record<string, unknown>).map(([k, v]) => [new Variant(k), variantFromJson(v)]),
      ),
    );
  throw new ServiceError('InvalidRecord', `not a JSON value: ${typeof json}`);
}

function mismatch(json: unknown, t: SqlType, column: string): ServiceError {
  const what = Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json;
  return new ServiceError('InvalidRecord', `column "${column}": expected ${typeToSql(t)}, got ${what}`, {
    column,
    type: typeToSql(t),
  });
}

/** Reads a JSON input value of a nested type (null → null; NOT NULL is the caller's). */
export function nestedFromJson(json: unknown, t: SqlType, column: string, scalar: ParseScalar): Value {
  if (json === null || json === undefined) return t.kind === 'VARIANT' ? null : null;
  const comp = (x: unknown, ct: SqlType, where: string): Value => {
    if (x === null || x === undefined) {
      // a JSON null component is an SQL NULL (of a nullable VARIANT component too, as Feldera reads it)
      if (ct.kind === 'VARIANT' && !ct.nullable) return VARIANT_NULL;
      if (!ct.nullable)
        throw new ServiceError('InvalidRecord', `column "${column}": ${where} must not be null`, { column });
      return null;
    }
    return nestedFromJson(x, ct, column, scalar);
  };
  const field = (x: unknown, ft: SqlType, name: string): Value => comp(x, ft, `field ${name}`);
  switch (t.kind) {
    case 'VARIANT':
      return variantFromJson(json);
    case 'ARRAY':
      if (!Array.isArray(json)) throw mismatch(json, t, column);
      return new SqlArray(json.map((x) => comp(x, t.element as SqlType, 'an array element')));
    case 'MAP': {
      if (typeof json !== 'object' || Array.isArray(json)) throw mismatch(json, t, column);
      const kt = t.key as SqlType;
      return SqlMap.of(
        Object.entries(json as Record<string, unknown>).map(([k, v]) => [
          kt.kind === 'VARIANT' ? new Variant(k) : scalar(k, kt, column),
          comp(v, t.value as SqlType, `the value of key ${JSON.stringify(k)}`),
        ]),
      );
    }
    case 'ROW': {
      const fields = t.fields ?? [];
      if (Array.isArray(json)) {
        if (json.length !== fields.length)
          throw new ServiceError(
            'InvalidRecord',
            `column "${column}": a ${typeToSql(t)} written as an array needs ${fields.length} elements, got ${json.length}`,
            { column, type: typeToSql(t) },
          );
        return new SqlRow(fields.map((f, i) => field(json[i], f.type, f.name)));
      }
      if (typeof json !== 'object') throw mismatch(json, t, column);
      const obj = json as Record<string, unknown>;
      const lower = new Map(Object.keys(obj).map((k) => [k.toLowerCase(), k]));
      return new SqlRow(
        fields.map((f) => field(obj[f.name] ?? obj[lower.get(f.name.toLowerCase()) ?? ''], f.type, f.name)),
      );
    }
    default:
      return scalar(json, t, column);
  }
}
