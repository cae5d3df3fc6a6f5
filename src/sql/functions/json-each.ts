/**
 * Feldera's functions that take a JSON object apart or put two together (reference page json):
 * - `JSON_EACH_BIGINT | _STRING | _BOOLEAN | _DATE | _TIME | _TIMESTAMP(v)`: a `MAP<VARCHAR, T>` of the
 *   top-level fields of the object `v` whose values are of that type (values NOT NULL, the map's value type
 *   nullable). BIGINT takes numbers with no fractional part that fit a BIGINT (2.5 and 2^64 − 1 are left out);
 *   STRING and BOOLEAN only strings / booleans (nothing is converted); DATE, TIME and TIMESTAMP take strings in
 *   the grammar of the SQL literal (`2024-01-01`, `17:30:40`, `2024-12-19 16:39:57`; a date alone is also a
 *   midnight TIMESTAMP); JSON nulls and fields with non-string keys are left out; a VARIANT that is not an
 *   object gives an empty map;
 * - `JSON_OBJECT_KEYS(v)`: the sorted `ARRAY<VARCHAR>` of the object's top-level string keys (all of them,
 *   whatever their values); empty for a VARIANT that is not an object;
 * - `JSON_KEYS(v)`: the paths of the keys of the object and of every object nested in it (not inside arrays),
 *   dot-joined with keys that are not identifiers double-quoted as in `VARIANT_DEEP_FILTER`'s paths, sorted and
 *   distinct (BigQuery's JSON_KEYS in its default mode); empty for a VARIANT that is not an object;
 * - `VARIANT_MERGE(v1, v2)`: JSON Merge Patch (RFC 7386) without deletion: two objects merge field by field,
 *   recursively; otherwise (scalars, arrays, mixed) the second wins; a JSON null is a value like any other.
 * An SQL NULL argument gives NULL. A VARIANT made from bytes is a scalar, not an array. Holdfast keeps a DATE,
 * TIME or TIMESTAMP cast to VARIANT as its text, so JSON_EACH_STRING also returns those (Feldera: only strings).
 *
 * State: none.
 */
import type { Value } from '../../zset/value.ts';
import { type Bound, sqlError, strict } from '../bound.ts';
import { type SqlType, sqlType, typeToSql } from '../sql-type.ts';
import { SqlArray, SqlMap, Variant } from '../values/collections.ts';
import { Decimal } from '../values/decimal.ts';
import { BIGINT_MAX, BIGINT_MIN } from '../values/integers.ts';
import { compareStrings } from '../values/primitive-compare.ts';
import { parseDate, parseTime, parseTimestamp } from '../values/temporal.ts';
import type { FunctionCall, FunctionImpl } from './types.ts';
import { pathKey } from './variant-lambdas.ts';

const TEXT = sqlType('VARCHAR', false, { length: null });

/** Argument i, which must be a VARIANT (an untyped NULL is a NULL VARIANT). */
function variantArg(call: FunctionCall, i: number): Bound {
  const b = call.args[i] as Bound;
  if (b.type.kind === 'VARIANT' || b.type.kind === 'NULL') return b;
  throw sqlError(
    'SqlTypeError',
    `${call.name.toUpperCase()} needs a VARIANT argument, got ${typeToSql(b.type)}`,
    call.ctx,
    call.loc,
  );
}

function objectOf(x: Variant): SqlMap | null {
  return x.value instanceof SqlMap ? x.value : null;
}

const attempt = (f: () => number): number | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};

/** The BIGINT a VARIANT number holds exactly, or undefined. */
function bigintOf(x: Variant): bigint | undefined {
  const v = x.value;
  let n: bigint | undefined;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number') n = Number.isInteger(v) ? BigInt(v) : undefined;
  else if (v instanceof Decimal) {
    const p = 10n ** BigInt(v.scale);
    n = v.unscaled % p === 0n ? v.unscaled / p : undefined;
  }
  return n !== undefined && n >= BIGINT_MIN && n <= BIGINT_MAX ? n : undefined;
}

const text = (x: Variant): string | undefined => (typeof x.value === 'string' ? x.value : undefined);

/** Each family member: its result value type and the value it takes from a field (undefined: left out). */
const EACH: Readonly<Record<string, readonly [SqlType, (x: Variant) => Value | undefined]>> = {
  json_each_bigint: [sqlType('BIGINT', true), bigintOf],
  json_each_string: [sqlType('VARCHAR', true, { length: null }), text],
  json_each_boolean: [sqlType('BOOLEAN', true), (x) => (typeof x.value === 'boolean' ? x.value : undefined)],
  json_each_date: [
    sqlType('DATE', true),
    (x) => {
      const s = text(x);
      // the DATE literal's grammar: a date, no time of day
      return s === undefined || /[ T:]/.test(s.trim()) ? undefined : attempt(() => parseDate(s.trim()));
    },
  ],
  json_each_time: [
    sqlType('TIME', true),
    (x) => {
      const s = text(x);
      // the TIME literal's grammar: a time of day, no date
      return s === undefined || s.includes('-') ? undefined : attempt(() => parseTime(s.trim()));
    },
  ],
  json_each_timestamp: [
    sqlType('TIMESTAMP', true),
    (x) => {
      const s = text(x);
      return s === undefined ? undefined : attempt(() => parseTimestamp(s.trim()));
    },
  ],
};

function jsonEach(name: string): FunctionImpl {
  const [valueType, take] = EACH[name] as readonly [SqlType, (x: Variant) => Value | undefined];
  return (call) => {
    call.argc(1);
    const v = variantArg(call, 0);
    const type = sqlType('MAP', v.type.nullable, { key: TEXT, value: valueType });
    return strict(type, [v], (x) => {
      const m = objectOf(x as Variant);
      if (m === null) return new SqlMap([], []);
      const ks: Value[] = [];
      const vs: Value[] = [];
      for (let i = 0; i < m.size; i++) {
        const key = (m.keys[i] as Variant).value;
        if (typeof key !== 'string') continue;
        const got = take(m.values[i] as Variant);
        if (got === undefined || got === null) continue;
        ks.push(key);
        vs.push(got);
      }
      return new SqlMap(ks, vs); // string keys in the variant map's order, which is VARCHAR order
    });
  };
}

function merge(x: Variant, y: Variant): Variant {
  const a = objectOf(x);
  const b = objectOf(y);
  if (a === null || b === null) return y;
  const entries: [Value, Value][] = [];
  for (let i = 0; i < a.size; i++) {
    const key = a.keys[i] as Value;
    const other = b.get(key);
    entries.push([
      key,
      other === undefined ? (a.values[i] as Value) : merge(a.values[i] as Variant, other as Variant),
    ]);
  }
  for (let i = 0; i < b.size; i++)
    if (a.get(b.keys[i] as Value) === undefined) entries.push([b.keys[i] as Value, b.values[i] as Value]);
  return new Variant(SqlMap.of(entries));
}

export const JSON_EACH_FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {
  ...Object.fromEntries(Object.keys(EACH).map((name) => [name, jsonEach(name)])),
  json_object_keys: (call) => {
    call.argc(1);
    const v = variantArg(call, 0);
    return strict(sqlType('ARRAY', v.type.nullable, { element: TEXT }), [v], (x) => {
      const m = objectOf(x as Variant);
      if (m === null) return new SqlArray([]);
      return new SqlArray(
        m.keys.map((k) => (k as Variant).value).filter((k): k is string => typeof k === 'string'),
      );
    });
  },
  json_keys: (call) => {
    call.argc(1);
    const v = variantArg(call, 0);
    return strict(sqlType('ARRAY', v.type.nullable, { element: TEXT }), [v], (x) => {
      const paths = new Set<string>();
      const walk = (m: SqlMap, prefix: string) => {
        for (let i = 0; i < m.size; i++) {
          const key = (m.keys[i] as Variant).value;
          if (typeof key !== 'string') continue;
          const path = prefix + pathKey(key);
          paths.add(path);
          const inner = objectOf(m.values[i] as Variant);
          if (inner !== null) walk(inner, `${path}.`);
        }
      };
      const m = objectOf(x as Variant);
      if (m !== null) walk(m, '');
      return new SqlArray([...paths].sort(compareStrings));
    });
  },
  variant_merge: (call) => {
    call.argc(2);
    const a = variantArg(call, 0);
    const b = variantArg(call, 1);
    return strict(sqlType('VARIANT', a.type.nullable || b.type.nullable), [a, b], (x, y) =>
      merge(x as Variant, y as Variant),
    );
  },
};
