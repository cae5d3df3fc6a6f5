/**
 * Runtime values of the nested SQL types (issue 19): ARRAY → {@link SqlArray}, MAP → {@link SqlMap}, ROW and
 * user-defined types → {@link SqlRow}, VARIANT → {@link Variant}. All are immutable {@link ObjectValue}s.
 *
 * Invariants:
 * - equal SQL values have equal `hashKey()` (built from `encodeValue` of the components, so the components'
 *   own identity rules hold: -0 = 0, DECIMAL scale ignored), which makes them usable as join keys, GROUP BY
 *   keys, DISTINCT and in set operations;
 * - a map's entries are kept sorted by key (in {@link compareAny} order) with unique keys, so two maps with
 *   the same entries have the same representation whatever order they were built in;
 * - {@link compareAny} is a total order on values of one SQL type: NULL array elements and map values sort
 *   after every non-null one (Postgres's array order), NULL row fields before (Feldera's row order); arrays
 *   and rows compare component by component, then by length.
 *
 * Checkpoints: {@link NESTED_CODECS} are `ObjectValueCodec`s (structurally; the SQL layer does not import
 * storage) that store a nested value as one string part: a JSON text of tagged components
 * (see {@link serialize}), so the segment format does not change.
 */
import type { ObjectValue, Value } from '../../zset/value.ts';
import { encodeValue } from '../../zset/value.ts';
import { Decimal } from './decimal.ts';
import { compareFloats, compareStrings } from './primitive-compare.ts';

function encodeAll(tag: string, vs: readonly Value[]): string {
  let out = tag;
  for (const v of vs) out += encodeValue(v);
  return out;
}

export class SqlArray implements ObjectValue {
  readonly items: readonly Value[];
  #key: string | undefined;
  constructor(items: readonly Value[]) {
    this.items = items;
  }
  hashKey(): string {
    this.#key ??= encodeAll(`A${this.items.length}:`, this.items);
    return this.#key;
  }
}

export class SqlRow implements ObjectValue {
  readonly fields: readonly Value[];
  #key: string | undefined;
  constructor(fields: readonly Value[]) {
    this.fields = fields;
  }
  hashKey(): string {
    this.#key ??= encodeAll(`R${this.fields.length}:`, this.fields);
    return this.#key;
  }
}

export class SqlMap implements ObjectValue {
  /** Sorted by key, keys unique (see the header). */
  readonly keys: readonly Value[];
  readonly values: readonly Value[];
  #key: string | undefined;
  /** Use {@link SqlMap.of} unless `keys` is already sorted and unique. */
  constructor(keys: readonly Value[], values: readonly Value[]) {
    this.keys = keys;
    this.values = values;
  }
  /** Builds a map from entries in any order; a repeated key keeps its last value (Feldera's MAP[...]). */
  static of(entries: Iterable<readonly [Value, Value]>): SqlMap {
    const byKey = new Map<string, [Value, Value]>();
    for (const [k, v] of entries) byKey.set(encodeValue(k), [k, v]);
    const sorted = [...byKey.values()].sort((x, y) => compareAny(x[0], y[0]));
    return new SqlMap(
      sorted.map((e) => e[0]),
      sorted.map((e) => e[1]),
    );
  }
  get size(): number {
    return this.keys.length;
  }
  /** The value for `k`, or undefined when absent. */
  get(k: Value): Value | undefined {
    let lo = 0;
    let hi = this.keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = compareAny(this.keys[mid] as Value, k);
      if (c === 0) return this.values[mid] as Value;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }
  hashKey(): string {
    if (this.#key === undefined) {
      let out = `M${this.keys.length}:`;
      for (let i = 0; i < this.keys.length; i++)
        out += encodeValue(this.keys[i] as Value) + encodeValue(this.values[i] as Value);
      this.#key = out;
    }
    return this.#key;
  }
}

/**
 * A VARIANT: a dynamically typed value, as Feldera's VARIANT holds JSON-shaped data. `value` is one of:
 * null (the JSON/VARIANT null, distinct from an SQL NULL VARIANT), boolean, number (a JSON number without a
 * fraction that fits a double is still a number), Decimal (a JSON number with a fraction, kept exactly),
 * string, SqlArray of Variants, SqlMap of Variant keys to Variants; `type` the SQL type it was made from when
 * the content does not say it.
 */
export class Variant implements ObjectValue {
  readonly value: Value;
  /**
   * The SQL type a number or byte string had when it became a VARIANT (`REAL`, `BIGINT UNSIGNED`, `BINARY`,
   * ...: Feldera's VARIANT remembers it, see `variant-types.ts`); undefined when the content's kind says it.
   * Part of the value: VARIANTs of equal content and different types differ, as in Feldera.
   */
  readonly type: string | undefined;
  constructor(value: Value, type?: string) {
    this.value = value;
    this.type = type;
  }
  hashKey(): string {
    const k = `V${encodeValue(this.value)}`;
    return this.type === undefined ? k : `${k}:${this.type}`;
  }
}

export const VARIANT_NULL = new Variant(null);

const RANK_OF = (v: Value): number => {
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 4;
    case 'object':
      if (v === null) return 9;
      if (v instanceof Decimal) return 2;
      if (v instanceof SqlArray) return 5;
      if (v instanceof SqlMap) return 6;
      if (v instanceof SqlRow) return 7;
      return 8;
    default:
      return 8;
  }
};

function compareNumeric(a: Value, b: Value): number {
  if (typeof a === 'number' && typeof b === 'number') return compareFloats(a, b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const d = (x: Value): Decimal =>
    x instanceof Decimal
      ? x
      : typeof x === 'bigint'
        ? Decimal.fromBigInt(x)
        : Number.isInteger(x)
          ? Decimal.fromBigInt(BigInt(x as number))
          : Decimal.parse(String(x));
  if ((typeof a === 'number' && !Number.isFinite(a)) || (typeof b === 'number' && !Number.isFinite(b)))
    return compareFloats(
      Number(a instanceof Decimal ? a.toNumber() : a),
      Number(b instanceof Decimal ? b.toNumber() : b),
    );
  return d(a).cmp(d(b));
}

function compareLists(a: readonly Value[], b: readonly Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareAny(a[i] as Value, b[i] as Value);
    if (c !== 0) return c;
  }
  return a.length - b.length < 0 ? -1 : a.length > b.length ? 1 : 0;
}

/** ROW order: field by field, a NULL field first (Feldera orders rows so; arrays keep Postgres's order). */
function compareFields(a: readonly Value[], b: readonly Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as Value;
    const y = b[i] as Value;
    const c = x === null ? (y === null ? 0 : -1) : y === null ? 1 : compareAny(x, y);
    if (c !== 0) return c;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/**
 * Total order of two values of one SQL type, including nested ones (NULL last). Used for ARRAY, MAP, ROW and
 * VARIANT comparisons, ORDER BY, MIN/MAX and map key order.
 */
export function compareAny(a: Value, b: Value): number {
  if (a === b) return 0;
  const ra = RANK_OF(a);
  const rb = RANK_OF(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 1:
      return a ? 1 : -1;
    case 2:
      return compareNumeric(a, b);
    case 4:
      return compareStrings(a as string, b as string);
    case 5:
      return compareLists((a as SqlArray).items, (b as SqlArray).items);
    case 6: {
      const x = a as SqlMap;
      const y = b as SqlMap;
      const n = Math.min(x.size, y.size);
      for (let i = 0; i < n; i++) {
        const c =
          compareAny(x.keys[i] as Value, y.keys[i] as Value) ||
          compareAny(x.values[i] as Value, y.values[i] as Value);
        if (c !== 0) return c;
      }
      return x.size < y.size ? -1 : x.size > y.size ? 1 : 0;
    }
    case 7:
      return compareFields((a as SqlRow).fields, (b as SqlRow).fields);
    default:
      if (a instanceof Variant && b instanceof Variant)
        return compareAny(a.value, b.value) || compareStrings(a.type ?? '', b.type ?? '');
      return compareStrings((a as ObjectValue).hashKey(), (b as ObjectValue).hashKey());
  }
}

// ---------------------------------------------------------------------------------------------------------
// checkpoint serialization

type Tree = null | boolean | string | Tree[];

/**
 * A nested value as a JSON-able tree: strings are tagged by their first character (`s` text, `n` number,
 * `b` bigint, `d` decimal as `unscaled/scale`), booleans and null as themselves, nested values as arrays
 * whose first element names the kind (`A` array, `M` map as alternating keys and values, `R` row, `V`
 * variant).
 */
export function serialize(v: Value): Tree {
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'string':
      return `s${v}`;
    case 'number':
      return `n${Object.is(v, -0) ? '-0' : String(v)}`;
    case 'bigint':
      return `b${v}`;
    case 'object':
      if (v === null) return null;
      if (v instanceof Decimal) return `d${v.unscaled}/${v.scale}`;
      if (v instanceof SqlArray) return ['A', ...v.items.map(serialize)];
      if (v instanceof SqlRow) return ['R', ...v.fields.map(serialize)];
      if (v instanceof SqlMap) {
        const out: Tree[] = ['M'];
        for (let i = 0; i < v.size; i++)
          out.push(serialize(v.keys[i] as Value), serialize(v.values[i] as Value));
        return out;
      }
      if (v instanceof Variant)
        return v.type === undefined ? ['V', serialize(v.value)] : ['V', serialize(v.value), `s${v.type}`];
      throw new TypeError(`a nested value holds an unsupported component (${v.constructor?.name})`);
    default:
      throw new TypeError(`not a row value: ${typeof v}`);
  }
}

export function deserialize(t: Tree): Value {
  if (t === null || typeof t === 'boolean') return t;
  if (typeof t === 'string') {
    const body = t.slice(1);
    switch (t[0]) {
      case 's':
        return body;
      case 'n':
        return Number(body);
      case 'b':
        return BigInt(body);
      case 'd': {
        const slash = body.indexOf('/');
        return new Decimal(BigInt(body.slice(0, slash)), Number(body.slice(slash + 1)));
      }
      default:
        throw new TypeError(`unknown component tag '${t[0]}'`);
    }
  }
  if (!Array.isArray(t)) throw new TypeError('malformed nested value');
  const rest = t.slice(1).map(deserialize);
  switch (t[0]) {
    case 'A':
      return new SqlArray(rest);
    case 'R':
      return new SqlRow(rest);
    case 'M': {
      const entries: [Value, Value][] = [];
      for (let i = 0; i + 1 < rest.length; i += 2) entries.push([rest[i] as Value, rest[i + 1] as Value]);
      return SqlMap.of(entries);
    }
    case 'V': // [V, content] or [V, content, type]
      return new Variant(rest[0] as Value, typeof rest[1] === 'string' ? rest[1] : undefined);
    default:
      throw new TypeError(`unknown nested kind '${String(t[0])}'`);
  }
}

function nestedCodec<T extends ObjectValue>(tag: string, cls: abstract new (...a: never[]) => T) {
  return {
    tag,
    is: (v: ObjectValue): boolean => v instanceof cls,
    encode: (v: T): readonly string[] => [JSON.stringify(serialize(v))],
    decode: (parts: readonly unknown[]): T => {
      if (typeof parts[0] !== 'string') throw new TypeError(`${tag}: expected one string part`);
      const v = deserialize(JSON.parse(parts[0]) as Tree);
      if (!(v instanceof cls)) throw new TypeError(`${tag}: the stored value is of another kind`);
      return v;
    },
  };
}

/** Checkpoint codecs of the nested values (register beside `DECIMAL_CODEC`). */
export const NESTED_CODECS = [
  nestedCodec('sql-array', SqlArray),
  nestedCodec('sql-map', SqlMap),
  nestedCodec('sql-row', SqlRow),
  nestedCodec('sql-variant', Variant),
] as const;
