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
 * (see {@link serialize}): segments v1/v2, and now only key columns' nested values (a trace's object table) and
 * the journal. In a trace's value columns (segment format v3) and in row segments (format v4) a nested value is
 * stored inline in its compact binary form instead ({@link NESTED_INLINE}, registered with `zset/key-codec.ts`
 * when this module loads; see "inline binary encoding" below).
 */
import { type InlineObjectCodec, registerInlineObjects } from '../../zset/key-codec.ts';
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
  #key: string | undefined;
  hashKey(): string {
    if (this.#key === undefined) {
      const k = `V${encodeValue(this.value)}`;
      this.#key = this.type === undefined ? k : `${k}:${this.type}`;
    }
    return this.#key;
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

// ---------------------------------------------------------------------------------------------------------
// inline binary encoding (trace value columns, segment format v3)

/*
 * A nested value's body, as a trace stores it inline in a value column (`zset/key-codec.ts`, tag 0x21) and a
 * v3 segment holds it: one component = one tag byte, then
 *   0 null | 1 false | 2 true
 *   3 integral number, |n| ≤ 2^52, not -0: zigzag varint     4 other number: float64 (little-endian)
 *   5 bigint in [-2^63, 2^63): int64 (little-endian)          6 other bigint: u8 sign (1 = −), varint byte
 *                                                                length, magnitude (big-endian)
 *   7 well-formed string: varint UTF-8 byte length, bytes     8 string with lone surrogates: varint count,
 *                                                                UTF-16LE code units
 *   9 DECIMAL: varint scale, then the unscaled value as a component (3, 5 or 6)
 *  10 ARRAY: varint count, items   11 MAP: varint count, then key, value per entry (in the map's key order)
 *  12 ROW: varint count, fields    13 VARIANT: content   14 VARIANT with a remembered type: type (as 7), content
 *  15 VARIANT with a common remembered type: u8 index into {@link VARIANT_TYPE_CODES} (append only), content
 * varint = unsigned LEB128. Exact: -0, NaN, DECIMAL scales and map order come back as they were. About the size
 * of the value's JSON text, without its quotes, braces and field names; decoding builds the objects directly
 * (a map's entries are already sorted: no re-sort, no hash key computed).
 */
export const NESTED_INLINE_NAME = 'sql-nested-1';

const B_NULL = 0;
const B_FALSE = 1;
const B_TRUE = 2;
const B_INT = 3;
const B_F64 = 4;
const B_I64 = 5;
const B_BIG = 6;
const B_STR = 7;
const B_STR16 = 8;
const B_DEC = 9;
const B_ARRAY = 10;
const B_MAP = 11;
const B_ROW = 12;
const B_VARIANT = 13;
const B_VARIANT_T = 14;
const B_VARIANT_K = 15;

/**
 * The types a VARIANT commonly remembers (`variant-types.ts`), written as one byte: a JSON integer read into a
 * VARIANT is a `BIGINT UNSIGNED`, so most numbers of JSON events carry one. Append only: the index is stored.
 */
export const VARIANT_TYPE_CODES: readonly string[] = [
  'BIGINT UNSIGNED',
  'BIGINT',
  'INTEGER',
  'SMALLINT',
  'TINYINT',
  'REAL',
  'DOUBLE',
  'DECIMAL',
  'INTEGER UNSIGNED',
  'SMALLINT UNSIGNED',
  'TINYINT UNSIGNED',
  'BINARY',
];
const VARIANT_TYPE_CODE = new Map(VARIANT_TYPE_CODES.map((t, i) => [t, i]));

const BF64 = new Float64Array(1);
const BF64B = new Uint8Array(BF64.buffer);
const BI64 = new BigInt64Array(1);
const BI64B = new Uint8Array(BI64.buffer);
const BLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const I64_LO = -(2n ** 63n);
const I64_HI = 2n ** 63n - 1n;
const SAFE_BIG = 2n ** 52n;

/** The growable buffer of `zset/key-codec.ts` (structurally: the SQL layer writes into it). */
interface BodyWriter {
  buf: Buffer;
  pos: number;
  ensure(n: number): void;
}

function putVarint(w: BodyWriter, z: number): void {
  w.ensure(8);
  const b = w.buf;
  let p = w.pos;
  while (z >= 0x80000000) {
    b[p++] = (z % 128) | 128;
    z = Math.floor(z / 128);
  }
  while (z >= 0x80) {
    b[p++] = (z & 127) | 128;
    z >>>= 7;
  }
  b[p++] = z;
  w.pos = p;
}

function put8(w: BodyWriter, bytes: Uint8Array): void {
  const b = w.buf;
  const p = w.pos;
  if (BLE) for (let i = 0; i < 8; i++) b[p + i] = bytes[i] as number;
  else for (let i = 0; i < 8; i++) b[p + i] = bytes[7 - i] as number;
  w.pos = p + 8;
}

function putString(w: BodyWriter, s: string): void {
  const n = s.length;
  w.ensure(n + 9);
  const b = w.buf;
  // ASCII fast path: the length is the character count
  if (n < 128) {
    let p = w.pos + 2;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      b[p++] = c;
    }
    if (ascii) {
      b[w.pos] = B_STR;
      b[w.pos + 1] = n;
      w.pos = p;
      return;
    }
  }
  if (!s.isWellFormed()) {
    b[w.pos++] = B_STR16;
    putVarint(w, n);
    w.ensure(2 * n);
    for (let i = 0; i < n; i++) w.pos = w.buf.writeUInt16LE(s.charCodeAt(i), w.pos);
    return;
  }
  const len = Buffer.byteLength(s, 'utf8');
  b[w.pos++] = B_STR;
  putVarint(w, len);
  w.ensure(len);
  w.pos += w.buf.write(s, w.pos, len, 'utf8');
}

function putBigint(w: BodyWriter, v: bigint): void {
  if (v >= -SAFE_BIG && v <= SAFE_BIG) {
    const n = Number(v);
    w.buf[w.pos++] = B_INT;
    putVarint(w, n >= 0 ? n * 2 : -n * 2 - 1);
  } else if (v >= I64_LO && v <= I64_HI) {
    w.buf[w.pos++] = B_I64;
    BI64[0] = v;
    put8(w, BI64B);
  } else {
    w.buf[w.pos++] = B_BIG;
    w.buf[w.pos++] = v < 0n ? 1 : 0;
    let hex = (v < 0n ? -v : v).toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    putVarint(w, hex.length / 2);
    w.ensure(hex.length / 2);
    w.pos += w.buf.write(hex, w.pos, 'hex');
  }
}

function putList(w: BodyWriter, tag: number, vs: readonly Value[]): void {
  w.buf[w.pos++] = tag;
  putVarint(w, vs.length);
  for (let i = 0; i < vs.length; i++) putComponent(w, vs[i] as Value);
}

function putComponent(w: BodyWriter, v: Value): void {
  w.ensure(10);
  const b = w.buf;
  switch (typeof v) {
    case 'number':
      if (Number.isInteger(v) && Math.abs(v) <= 2 ** 52 && !Object.is(v, -0)) {
        b[w.pos++] = B_INT;
        putVarint(w, v >= 0 ? v * 2 : -v * 2 - 1);
      } else {
        b[w.pos++] = B_F64;
        BF64[0] = v;
        put8(w, BF64B);
      }
      return;
    case 'string':
      putString(w, v);
      return;
    case 'boolean':
      b[w.pos++] = v ? B_TRUE : B_FALSE;
      return;
    case 'bigint':
      // an int64 tag even for small values: the component's JS type (bigint) must come back
      if (v >= I64_LO && v <= I64_HI) {
        b[w.pos++] = B_I64;
        BI64[0] = v;
        put8(w, BI64B);
      } else putBigint(w, v);
      return;
    case 'object':
      if (v === null) b[w.pos++] = B_NULL;
      else if (v instanceof SqlArray) putList(w, B_ARRAY, v.items);
      else if (v instanceof Variant) {
        if (v.type === undefined) b[w.pos++] = B_VARIANT;
        else {
          const code = VARIANT_TYPE_CODE.get(v.type);
          if (code !== undefined) {
            b[w.pos++] = B_VARIANT_K;
            b[w.pos++] = code;
          } else {
            b[w.pos++] = B_VARIANT_T;
            putString(w, v.type);
          }
        }
        putComponent(w, v.value);
      } else if (v instanceof SqlMap) {
        b[w.pos++] = B_MAP;
        const n = v.keys.length;
        putVarint(w, n);
        for (let i = 0; i < n; i++) {
          putComponent(w, v.keys[i] as Value);
          putComponent(w, v.values[i] as Value);
        }
      } else if (v instanceof SqlRow) putList(w, B_ROW, v.fields);
      else if (v instanceof Decimal) {
        b[w.pos++] = B_DEC;
        putVarint(w, v.scale);
        w.ensure(10);
        putBigint(w, v.unscaled);
      } else throw new TypeError(`a nested value holds an unsupported component (${v.constructor?.name})`);
      return;
    default:
      throw new TypeError(`not a row value: ${typeof v}`);
  }
}

/** Decoding position over a body (bounds checked against `end`). */
interface BodyReader {
  b: Buffer;
  pos: number;
  end: number;
}

function bad(what: string): never {
  throw new RangeError(`malformed nested value: ${what}`);
}

function getVarint(r: BodyReader): number {
  const b = r.b;
  let z = 0;
  let mul = 1;
  while (r.pos < r.end) {
    const c = b[r.pos++] as number;
    z += (c & 127) * mul;
    if (c < 0x80) return z;
    mul *= 128;
    if (mul > 2 ** 49) break;
  }
  return bad('varint');
}

function take(r: BodyReader, n: number): number {
  const at = r.pos;
  if (at + n > r.end) bad('truncated');
  r.pos = at + n;
  return at;
}

function get8(r: BodyReader, bytes: Uint8Array): void {
  const at = take(r, 8);
  const b = r.b;
  if (BLE) for (let i = 0; i < 8; i++) bytes[i] = b[at + i] as number;
  else for (let i = 0; i < 8; i++) bytes[7 - i] = b[at + i] as number;
}

function getText(r: BodyReader): string {
  const len = getVarint(r);
  const at = take(r, len);
  const b = r.b;
  if (len <= 32) {
    let s = '';
    for (let i = at; i < at + len; i++) {
      const c = b[i] as number;
      if (c >= 0x80) return b.toString('utf8', at, at + len);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return b.toString('utf8', at, at + len);
}

function unzig(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

function getBigint(r: BodyReader): bigint {
  const tag = r.b[take(r, 1)];
  if (tag === B_INT) return BigInt(unzig(getVarint(r)));
  if (tag === B_I64) {
    get8(r, BI64B);
    return BI64[0] as bigint;
  }
  if (tag === B_BIG) {
    const neg = r.b[take(r, 1)] === 1;
    const len = getVarint(r);
    const at = take(r, len);
    const m = len === 0 ? 0n : BigInt(`0x${r.b.toString('hex', at, at + len)}`);
    return neg ? -m : m;
  }
  return bad(`bigint tag ${tag}`);
}

function getList(r: BodyReader): Value[] {
  const n = getVarint(r);
  if (n > r.end - r.pos) bad('count');
  const out: Value[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = getComponent(r);
  return out;
}

function getComponent(r: BodyReader): Value {
  const tag = r.b[take(r, 1)];
  switch (tag) {
    case B_NULL:
      return null;
    case B_FALSE:
      return false;
    case B_TRUE:
      return true;
    case B_INT:
      return unzig(getVarint(r));
    case B_F64:
      get8(r, BF64B);
      return BF64[0] as number;
    case B_I64:
    case B_BIG:
      r.pos--;
      return getBigint(r);
    case B_STR:
      return getText(r);
    case B_STR16: {
      const n = getVarint(r);
      const at = take(r, 2 * n);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(r.b.readUInt16LE(at + 2 * i));
      return s;
    }
    case B_DEC: {
      const scale = getVarint(r);
      return new Decimal(getBigint(r), scale);
    }
    case B_ARRAY:
      return new SqlArray(getList(r));
    case B_ROW:
      return new SqlRow(getList(r));
    case B_MAP: {
      const n = getVarint(r);
      if (n > r.end - r.pos) bad('count');
      const keys: Value[] = new Array(n);
      const values: Value[] = new Array(n);
      for (let i = 0; i < n; i++) {
        keys[i] = getComponent(r);
        values[i] = getComponent(r);
      }
      return new SqlMap(keys, values);
    }
    case B_VARIANT:
      return new Variant(getComponent(r));
    case B_VARIANT_K: {
      const type = VARIANT_TYPE_CODES[r.b[take(r, 1)] as number];
      if (type === undefined) bad('variant type code');
      return new Variant(getComponent(r), type);
    }
    case B_VARIANT_T: {
      if (r.b[take(r, 1)] !== B_STR) bad('variant type');
      const type = getText(r);
      return new Variant(getComponent(r), type);
    }
    default:
      return bad(`tag ${tag}`);
  }
}

/** Appends the body of nested value `v` (see above). @throws TypeError on a component of another kind */
export function encodeNestedBody(w: BodyWriter, v: ObjectValue): void {
  putComponent(w, v);
}

/** The nested value whose body is `b[s..e)`. @throws RangeError on malformed bytes */
export function decodeNestedBody(b: Buffer, s: number, e: number): ObjectValue {
  const r: BodyReader = { b, pos: s, end: e };
  const v = getComponent(r);
  if (r.pos !== e) bad('trailing bytes');
  if (typeof v !== 'object' || v === null || v instanceof Decimal) bad('not a nested value');
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// ordered key encoding (trace key columns, segment format v6)

/*
 * A nested value in a trace's *key* column (`zset/key-codec.ts`, tag 0x22) needs what a value column does not:
 * byte order = SQL order ({@link compareAny}) and byte equality = SQL key equality (`hashKey()`: -0 = 0, NaN =
 * NaN, DECIMAL scale ignored). So the key form is canonical and self-delimiting, with no length prefix:
 *   00 end of an ARRAY / MAP / ROW          01 NULL in a ROW field (a NULL field sorts first)
 *   02 FALSE | 03 TRUE
 *   10 -Infinity | 11 negative | 12 zero | 13 positive | 14 +Infinity | 15 NaN   (numbers, bigints, DECIMALs on
 *      one scale, as the comparator orders them: 11 and 13 are followed by the magnitude)
 *   20 string: each UTF-16 code unit (surrogates moved above U+E000..U+FFFF, as the comparator orders them) as a
 *      1-3 byte UTF-8-style sequence, 00 written 00 ff, terminated by 00 01
 *   30 ARRAY: items, 00      31 MAP: key, value per entry (in key order), 00      32 ROW: fields, 00
 *   40 VARIANT: content, then its remembered type: 01 none; a type of {@link VARIANT_KEY_TYPES} as one byte
 *      (12 + 2·index + 1), another as 12 + 2·(index of the last known type below it) + 2 (or 10 below them all)
 *      then the name as a string (so types sort by name; an empty type name is not taken: hash key)
 *   50 NULL (array items, map keys and values, VARIANT content: NULL sorts last)
 * then, after the whole value, one *kind* byte per 11 / 12 / 13 component, in order: 1 number, 2 bigint,
 * 3 DECIMAL. Values the comparator finds equal but keys tell apart (1 and 1n, a DECIMAL 1.0 VARIANT and a
 * number 1 one) differ there only, after every component: a kind byte in place would decide before a later
 * component the comparator goes on to (a VARIANT's type, the next array item).
 * Magnitude: the value is 0.d₁d₂…dₙ × 10^e with d₁ ≠ 0, dₙ ≠ 0: e as one byte 0x80 + e (|e| < 0x60), else 00
 * (e < 0) or ff (e > 0) and u32 big-endian e + 2^31; then the digits in pairs (the last padded with 0), each pair
 * p as one byte, 2p + 1 when more pairs follow and 2p for the last. A negative value has every magnitude byte
 * complemented. A double is its exact value when integral, its shortest round-trip decimal otherwise (what the
 * comparator compares a double with a DECIMAL by); the kind byte restores the JS type, a DECIMAL comes back at
 * the smallest scale that holds it (1.50 → 1.5: the key is the SQL value, as -0 → 0 for a number key).
 */
export const NESTED_KEY_NAME = 'sql-nested-key-1';

const O_END = 0x00;
const O_NULL_FIRST = 0x01;
const O_FALSE = 0x02;
const O_TRUE = 0x03;
const O_NEG_INF = 0x10;
const O_NEG = 0x11;
const O_ZERO = 0x12;
const O_POS = 0x13;
const O_POS_INF = 0x14;
const O_NAN = 0x15;
const O_STR = 0x20;
const O_ARRAY = 0x30;
const O_MAP = 0x31;
const O_ROW = 0x32;
const O_VARIANT = 0x40;
const O_NULL_LAST = 0x50;
const KIND_NUMBER = 1;
const KIND_BIGINT = 2;
const KIND_DECIMAL = 3;
const T_NONE = 0x01;
const T_BASE = 0x10;

/** The remembered VARIANT types written as one byte in keys, sorted by name (fixed: the byte is stored). */
export const VARIANT_KEY_TYPES: readonly string[] = [...VARIANT_TYPE_CODES].sort(compareStrings);
const VARIANT_KEY_TYPE = new Map(VARIANT_KEY_TYPES.map((t, i) => [t, i]));

function stripZeros(s: string, e: number): [string, number] {
  let i = 0;
  while (s.charCodeAt(i) === 48) {
    i++;
    e--;
  }
  let j = s.length;
  while (j > i && s.charCodeAt(j - 1) === 48) j--;
  return [i === 0 && j === s.length ? s : s.slice(i, j), e];
}

/** Digits and exponent of a finite positive double (exact when integral, shortest round trip otherwise). */
function doubleDigits(x: number): [string, number] {
  if (Number.isInteger(x)) {
    const s = x < 1e21 ? String(x) : BigInt(x).toString();
    return stripZeros(s, s.length);
  }
  // fast path: a decimal of at most 15 significant digits that converts back to x is x's shortest round-trip
  // decimal (decimals of ≤ 15 digits map to distinct doubles), so no String(x) and no parsing
  if (x >= 1e-7 && x < 1e15) {
    let p = 1;
    for (let k = 1; k <= 15; k++) {
      p *= 10;
      const m = Math.round(x * p);
      if (m >= 1e15) break;
      if (m / p === x) {
        const s = String(m);
        return stripZeros(s, s.length - k);
      }
    }
  }
  const s = String(x);
  const k = s.indexOf('e');
  const mant = k < 0 ? s : s.slice(0, k);
  const ex = k < 0 ? 0 : Number(s.slice(k + 1));
  const dot = mant.indexOf('.');
  const all = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  return stripZeros(all, (dot < 0 ? mant.length : dot) + ex);
}

function putMagnitude(w: BodyWriter, neg: boolean, d: string, e: number): void {
  const n = d.length;
  w.ensure(6 + (n >> 1) + 1);
  const b = w.buf;
  const flip = neg ? 255 : 0;
  let p = w.pos;
  if (e > -0x60 && e < 0x60) b[p++] = (0x80 + e) ^ flip;
  else {
    b[p++] = (e < 0 ? 0x00 : 0xff) ^ flip;
    const u = (e + 0x80000000) >>> 0;
    b[p++] = (u >>> 24) ^ flip;
    b[p++] = ((u >>> 16) & 255) ^ flip;
    b[p++] = ((u >>> 8) & 255) ^ flip;
    b[p++] = (u & 255) ^ flip;
  }
  for (let i = 0; i < n; i += 2) {
    const pair = (d.charCodeAt(i) - 48) * 10 + (i + 1 < n ? d.charCodeAt(i + 1) - 48 : 0);
    b[p++] = (i + 2 >= n ? pair * 2 : pair * 2 + 1) ^ flip;
  }
  w.pos = p;
}

/** Kind bytes of the value being encoded (written after it). */
const KINDS: number[] = [];

function putNumeric(w: BodyWriter, sign: number, d: string, e: number, kind: number): void {
  w.ensure(1);
  if (sign === 0) {
    w.buf[w.pos++] = O_ZERO;
  } else {
    w.buf[w.pos++] = sign < 0 ? O_NEG : O_POS;
    putMagnitude(w, sign < 0, d, e);
  }
  KINDS.push(kind);
}

function putKeyString(w: BodyWriter, s: string): void {
  const n = s.length;
  w.ensure(n * 3 + 3);
  const b = w.buf;
  let p = w.pos;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) {
        b[p++] = 0;
        b[p++] = 0xff;
      } else b[p++] = c;
      continue;
    }
    if (c >= 0xd800) c = c >= 0xe000 ? c - 0x800 : c + 0x2000;
    if (c < 0x800) {
      b[p++] = 0xc0 | (c >>> 6);
      b[p++] = 0x80 | (c & 63);
    } else {
      b[p++] = 0xe0 | (c >>> 12);
      b[p++] = 0x80 | ((c >>> 6) & 63);
      b[p++] = 0x80 | (c & 63);
    }
  }
  b[p++] = 0;
  b[p++] = 1;
  w.pos = p;
}

function putVariantType(w: BodyWriter, t: string | undefined): void {
  w.ensure(1);
  if (t === undefined) {
    w.buf[w.pos++] = T_NONE;
    return;
  }
  // the comparator orders no type as '': the two would tie in order and differ as keys
  if (t === '') throw new TypeError('a VARIANT with an empty type name');
  const known = VARIANT_KEY_TYPE.get(t);
  if (known !== undefined) {
    w.buf[w.pos++] = T_BASE + 2 * known + 1;
    return;
  }
  let below = -1;
  while (
    below + 1 < VARIANT_KEY_TYPES.length &&
    compareStrings(VARIANT_KEY_TYPES[below + 1] as string, t) < 0
  )
    below++;
  w.buf[w.pos++] = T_BASE + 2 * below + 2;
  putKeyString(w, t);
}

function putKeyComponent(w: BodyWriter, v: Value, nullTag: number): void {
  w.ensure(1);
  switch (typeof v) {
    case 'number': {
      if (Number.isNaN(v)) w.buf[w.pos++] = O_NAN;
      else if (v === Number.POSITIVE_INFINITY) w.buf[w.pos++] = O_POS_INF;
      else if (v === Number.NEGATIVE_INFINITY) w.buf[w.pos++] = O_NEG_INF;
      else if (v === 0) putNumeric(w, 0, '', 0, KIND_NUMBER);
      else {
        const [d, e] = doubleDigits(Math.abs(v));
        putNumeric(w, v < 0 ? -1 : 1, d, e, KIND_NUMBER);
      }
      return;
    }
    case 'bigint': {
      if (v === 0n) putNumeric(w, 0, '', 0, KIND_BIGINT);
      else {
        const s = (v < 0n ? -v : v).toString();
        const [d, e] = stripZeros(s, s.length);
        putNumeric(w, v < 0n ? -1 : 1, d, e, KIND_BIGINT);
      }
      return;
    }
    case 'string':
      w.buf[w.pos++] = O_STR;
      putKeyString(w, v);
      return;
    case 'boolean':
      w.buf[w.pos++] = v ? O_TRUE : O_FALSE;
      return;
    case 'object': {
      if (v === null) {
        w.buf[w.pos++] = nullTag;
        return;
      }
      if (v instanceof SqlArray) {
        w.buf[w.pos++] = O_ARRAY;
        const items = v.items;
        for (let i = 0; i < items.length; i++) putKeyComponent(w, items[i] as Value, O_NULL_LAST);
      } else if (v instanceof Variant) {
        w.buf[w.pos++] = O_VARIANT;
        putKeyComponent(w, v.value, O_NULL_LAST);
        putVariantType(w, v.type);
        return;
      } else if (v instanceof SqlMap) {
        w.buf[w.pos++] = O_MAP;
        for (let i = 0; i < v.keys.length; i++) {
          putKeyComponent(w, v.keys[i] as Value, O_NULL_LAST);
          putKeyComponent(w, v.values[i] as Value, O_NULL_LAST);
        }
      } else if (v instanceof SqlRow) {
        w.buf[w.pos++] = O_ROW;
        const fields = v.fields;
        for (let i = 0; i < fields.length; i++) putKeyComponent(w, fields[i] as Value, O_NULL_FIRST);
      } else if (v instanceof Decimal) {
        const u = v.unscaled;
        if (u === 0n) putNumeric(w, 0, '', 0, KIND_DECIMAL);
        else {
          const s = (u < 0n ? -u : u).toString();
          const [d, e] = stripZeros(s, s.length - v.scale);
          putNumeric(w, u < 0n ? -1 : 1, d, e, KIND_DECIMAL);
        }
        return;
      } else throw new TypeError(`a nested value holds an unsupported component (${v.constructor?.name})`);
      w.ensure(1);
      w.buf[w.pos++] = O_END;
      return;
    }
    default:
      throw new TypeError(`not a row value: ${typeof v}`);
  }
}

/** Reads a magnitude (see above): its digits and exponent. */
function getMagnitude(r: BodyReader, neg: boolean): [string, number] {
  const flip = neg ? 255 : 0;
  const b = r.b;
  const b0 = (b[take(r, 1)] as number) ^ flip;
  let e: number;
  if (b0 === 0x00 || b0 === 0xff) {
    const at = take(r, 4);
    const u =
      ((b[at] as number) ^ flip) * 2 ** 24 +
      ((((b[at + 1] as number) ^ flip) << 16) |
        (((b[at + 2] as number) ^ flip) << 8) |
        ((b[at + 3] as number) ^ flip));
    e = u - 0x80000000;
  } else e = b0 - 0x80;
  let d = '';
  for (;;) {
    const x = (b[take(r, 1)] as number) ^ flip;
    if (x > 199) bad('digit pair');
    const pair = x >>> 1;
    d += pair < 10 ? `0${pair}` : String(pair);
    if ((x & 1) === 0) break;
  }
  if (d.charCodeAt(d.length - 1) === 48) d = d.slice(0, -1);
  if (d.charCodeAt(0) === 48 || d.length === 0) bad('digits');
  return [d, e];
}

function skipMagnitude(r: BodyReader, neg: boolean): void {
  const flip = neg ? 255 : 0;
  const b0 = (r.b[take(r, 1)] as number) ^ flip;
  if (b0 === 0x00 || b0 === 0xff) take(r, 4);
  for (;;) if ((((r.b[take(r, 1)] as number) ^ flip) & 1) === 0) return;
}

function numericOf(sign: number, d: string, e: number, kind: number): Value {
  const n = d.length;
  switch (kind) {
    case KIND_NUMBER: {
      if (sign === 0) return 0;
      const x = Number(`0.${d}e${e}`);
      return sign < 0 ? -x : x;
    }
    case KIND_BIGINT: {
      if (sign === 0) return 0n;
      if (e < n) bad('fractional bigint');
      const m = BigInt(e === n ? d : d + '0'.repeat(e - n));
      return sign < 0 ? -m : m;
    }
    case KIND_DECIMAL: {
      if (sign === 0) return new Decimal(0n, 0);
      const m = BigInt(e >= n ? d + '0'.repeat(e - n) : d);
      return new Decimal(sign < 0 ? -m : m, e >= n ? 0 : n - e);
    }
    default:
      return bad(`numeric kind ${kind}`);
  }
}

/** End of the key string starting at `r.pos` (after its terminator); its text. */
function getKeyString(r: BodyReader): string {
  const b = r.b;
  const start = r.pos;
  const z = b.indexOf(0, start);
  if (z < 0 || z + 1 >= r.end) bad('unterminated string');
  if (b[z + 1] === 1) {
    let ascii = true;
    for (let i = start; i < z; i++)
      if ((b[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    if (ascii) {
      r.pos = z + 2;
      return b.toString('latin1', start, z);
    }
  }
  const units: number[] = [];
  let p = start;
  for (;;) {
    if (p >= r.end) bad('unterminated string');
    const c = b[p] as number;
    if (c === 0) {
      const x = b[p + 1];
      if (x === 1) {
        r.pos = p + 2;
        break;
      }
      if (x !== 0xff) bad('string escape');
      units.push(0);
      p += 2;
    } else if (c < 0x80) {
      units.push(c);
      p++;
    } else {
      let u: number;
      if (c >= 0xe0) {
        if (p + 3 > r.end) bad('truncated string');
        u = ((c & 15) << 12) | (((b[p + 1] as number) & 63) << 6) | ((b[p + 2] as number) & 63);
        p += 3;
      } else {
        if (p + 2 > r.end) bad('truncated string');
        u = ((c & 31) << 6) | ((b[p + 1] as number) & 63);
        p += 2;
      }
      if (u >= 0xd800) u = u >= 0xf800 ? u - 0x2000 : u + 0x800;
      units.push(u);
    }
  }
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.slice(i, i + 4096));
  return s;
}

function skipKeyString(r: BodyReader): void {
  const b = r.b;
  let p = r.pos;
  for (;;) {
    const z = b.indexOf(0, p);
    if (z < 0 || z + 1 >= r.end) bad('unterminated string');
    if (b[z + 1] === 1) {
      r.pos = z + 2;
      return;
    }
    p = z + 2;
  }
}

function getVariantType(r: BodyReader): string | undefined {
  const t = r.b[take(r, 1)] as number;
  if (t === T_NONE) return undefined;
  if (t < T_BASE) bad('variant type');
  const k = t - T_BASE;
  if (k % 2 === 1) {
    const name = VARIANT_KEY_TYPES[(k - 1) / 2];
    if (name === undefined) bad('variant type code');
    return name;
  }
  return getKeyString(r);
}

/** Decoding state of one key: the kind bytes (after the value) and how many were used; counted when skipping. */
interface KindCursor {
  at: number;
  k: number;
}

function getKeyComponent(r: BodyReader, skip: boolean, kc: KindCursor): Value {
  const tag = r.b[take(r, 1)] as number;
  switch (tag) {
    case O_NULL_FIRST:
    case O_NULL_LAST:
      return null;
    case O_FALSE:
      return false;
    case O_TRUE:
      return true;
    case O_NEG_INF:
      return Number.NEGATIVE_INFINITY;
    case O_POS_INF:
      return Number.POSITIVE_INFINITY;
    case O_NAN:
      return Number.NaN;
    case O_ZERO:
      if (skip) {
        kc.k++;
        return null;
      }
      return numericOf(0, '', 0, r.b[kc.at + kc.k++] as number);
    case O_NEG:
    case O_POS: {
      if (skip) {
        skipMagnitude(r, tag === O_NEG);
        kc.k++;
        return null;
      }
      const [d, e] = getMagnitude(r, tag === O_NEG);
      return numericOf(tag === O_NEG ? -1 : 1, d, e, r.b[kc.at + kc.k++] as number);
    }
    case O_STR:
      if (skip) {
        skipKeyString(r);
        return null;
      }
      return getKeyString(r);
    case O_ARRAY:
    case O_MAP:
    case O_ROW: {
      const items: Value[] = [];
      for (;;) {
        if (r.pos >= r.end) bad('unterminated list');
        if (r.b[r.pos] === O_END) break;
        const v = getKeyComponent(r, skip, kc);
        if (!skip) items.push(v);
      }
      r.pos++;
      if (skip) return null;
      if (tag === O_ARRAY) return new SqlArray(items);
      if (tag === O_ROW) return new SqlRow(items);
      if (items.length % 2 === 1) bad('map entries');
      const keys: Value[] = new Array(items.length / 2);
      const values: Value[] = new Array(items.length / 2);
      for (let i = 0; i < keys.length; i++) {
        keys[i] = items[2 * i] as Value;
        values[i] = items[2 * i + 1] as Value;
      }
      return new SqlMap(keys, values);
    }
    case O_VARIANT: {
      const content = getKeyComponent(r, skip, kc);
      const type = getVariantType(r);
      return skip ? null : new Variant(content, type);
    }
    default:
      return bad(`key tag ${tag}`);
  }
}

/** Appends the ordered key form of nested value `v` (see above). @throws TypeError on an unsupported component */
export function encodeNestedKey(w: BodyWriter, v: ObjectValue): void {
  KINDS.length = 0;
  putKeyComponent(w, v, O_NULL_LAST);
  const n = KINDS.length;
  w.ensure(n);
  for (let i = 0; i < n; i++) w.buf[w.pos++] = KINDS[i] as number;
}

/** Decodes the key form at `r.pos` (before `end`) and advances `r.pos`. @throws RangeError on malformed bytes */
export function decodeNestedKey(b: Buffer, r: { pos: number }, end: number): ObjectValue {
  const br: BodyReader = { b, pos: r.pos, end };
  const kc: KindCursor = { at: 0, k: 0 };
  getKeyComponent(br, true, kc);
  const kinds = kc.k;
  if (br.pos + kinds > end) bad('truncated kinds');
  kc.at = br.pos;
  kc.k = 0;
  br.pos = r.pos;
  const v = getKeyComponent(br, false, kc);
  if (typeof v !== 'object' || v === null || v instanceof Decimal) bad('not a nested value');
  r.pos = br.pos + kinds;
  return v;
}

/** Position after the key form that starts at `p`. @throws RangeError on malformed bytes */
export function skipNestedKey(b: Buffer, p: number, end: number): number {
  const br: BodyReader = { b, pos: p, end };
  const kc: KindCursor = { at: 0, k: 0 };
  getKeyComponent(br, true, kc);
  if (br.pos + kc.k > end) bad('truncated kinds');
  return br.pos + kc.k;
}

/** The inline codec of nested values, registered with the trace layer when this module loads. */
export const NESTED_INLINE: InlineObjectCodec = {
  name: NESTED_INLINE_NAME,
  is: (v) => v instanceof SqlArray || v instanceof Variant || v instanceof SqlMap || v instanceof SqlRow,
  encode: encodeNestedBody,
  decode: decodeNestedBody,
  keyName: NESTED_KEY_NAME,
  encodeKey: encodeNestedKey,
  decodeKey: decodeNestedKey,
  skipKey: skipNestedKey,
};
registerInlineObjects(NESTED_INLINE);

/** Checkpoint codecs of the nested values (register beside `DECIMAL_CODEC`). */
export const NESTED_CODECS = [
  nestedCodec('sql-array', SqlArray),
  nestedCodec('sql-map', SqlMap),
  nestedCodec('sql-row', SqlRow),
  nestedCodec('sql-variant', Variant),
] as const;
