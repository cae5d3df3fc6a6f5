/**
 * Order-preserving byte encoding of row values, the representation of rows inside a trace
 * (see `trace.ts`). Encoded values compare, byte by byte (unsigned, shorter prefix first), in the order the
 * trace keeps: the same as SQL order for every primitive type, so a trace's batches are sorted by key and a
 * range scan by key prefix visits keys in order (time order for a TIMESTAMP key).
 *
 * Equal values (in the sense of `sameValue`: -0 = 0, NaN = NaN, object values by `hashKey()`) encode to equal
 * bytes, and different values to different bytes, so byte equality is row identity.
 *
 * ```
 * 0x01                 null (sorts first)
 * 0x02 | 0x03          false | true
 * 0x05 + 8 bytes       number: float64 big-endian, sign bit flipped (negatives: every bit flipped); every NaN
 *                      → the canonical NaN (sorts after +Infinity); -0 → 0, except in *exact* mode (a trace's
 *                      value columns), which keeps -0 (just below 0) so a stored row comes back as it was
 * 0x06 + u32 + bytes   bigint below -2^63: u32 = 0xffffffff - magnitude length, then the magnitude (big-endian),
 *                      every bit flipped
 * 0x07 + 8 bytes       bigint in [-2^63, 2^63): int64 big-endian, sign bit flipped
 * 0x08 + u32 + bytes   bigint from 2^63: u32 magnitude length, then the magnitude (big-endian)
 * 0x10 + text + 00 01  well-formed string: UTF-8, each 0x00 byte written 00 ff (so the terminator sorts first)
 * 0x11 + u32 + units   string with lone surrogates: u32 count, then UTF-16 code units big-endian (identity is
 *                      exact; order among such strings is by length first)
 * 0x20 + text + 00 01  object value (DECIMAL, ARRAY, ...): its `hashKey()`, escaped as a string. The value
 *                      itself lives in the batch's object table under that key (the trace layer does not know
 *                      object types; a checkpoint encodes them with the injected codecs). Order among object
 *                      values is by hash key, not by SQL order.
 * 0x21 + varint + body inline object value (*exact* mode only: a trace's value columns): the value's own binary
 *                      encoding by the registered {@link InlineObjectCodec} (the SQL layer's nested values: ARRAY,
 *                      MAP, ROW, VARIANT), preceded by its byte length (unsigned LEB128, so the encoding stays
 *                      self-delimiting). No hash key and no object-table entry: the bytes are the value, decoded
 *                      when the row is. Byte equality is *exact* identity (a nested -0 or DECIMAL scale differs),
 *                      as for -0 in value columns; equal values by `hashKey()` with different representations
 *                      are then separate entries whose weights lookups still sum (`sameValue`).
 * 0x22 + key form      ordered object value (key columns): the registered codec's *key form* of the value (the
 *                      SQL layer's nested values), which is canonical (equal values by `hashKey()` give equal
 *                      bytes: -0 = 0, DECIMAL scale ignored), self-delimiting (no length prefix, which would
 *                      break the order) and order-preserving: byte order is the values' SQL order. No hash key
 *                      and no object-table entry; decoded when the row is. A value with a component the codec
 *                      cannot encode goes by hash key (0x20), as before (segment format v6).
 * ```
 */
import type { ObjectValue, Value } from './value.ts';

export const K_NULL = 0x01;
export const K_FALSE = 0x02;
export const K_TRUE = 0x03;
export const K_NUM = 0x05;
export const K_BIGNEG = 0x06;
export const K_I64 = 0x07;
export const K_BIGPOS = 0x08;
export const K_STR = 0x10;
export const K_STR16 = 0x11;
export const K_OBJ = 0x20;
export const K_INL = 0x21;
export const K_ORD = 0x22;

/**
 * Stores some object values inline in a trace's value columns (see tag 0x21 above). Registered once by the layer
 * that owns those values (the SQL layer's nested values, `sql/values/collections.ts`); the trace layer and the
 * segment format stay ignorant of the types. The body format is part of segment format v3.
 */
export interface InlineObjectCodec {
  /** Names the body format in segments; never change it once data is written. */
  readonly name: string;
  /** Whether `v` is stored inline (must be cheap: it runs for every object value encoded exactly). */
  is(v: ObjectValue): boolean;
  /** Appends `v`'s body; may throw TypeError for a component it cannot encode (the value then goes by hash key). */
  encode(w: GrowableBytes, v: ObjectValue): void;
  /** Rebuilds the value from `b[s..e)`; throws on malformed bytes. */
  decode(b: Buffer, s: number, e: number): ObjectValue;
  /** Names the key form in segments (format v6); absent: key columns keep hash keys. */
  readonly keyName?: string;
  /**
   * Appends `v`'s key form: canonical (equal values by `hashKey()` → equal bytes), self-delimiting and
   * order-preserving. May throw TypeError (the value then goes by hash key, deterministically for equal values).
   */
  encodeKey?(w: GrowableBytes, v: ObjectValue): void;
  /** Decodes the key form at `r.pos` (before `end`), advancing `r.pos`; throws on malformed bytes. */
  decodeKey?(b: Buffer, r: { pos: number }, end: number): ObjectValue;
  /** Position after the key form that starts at `p`; throws on malformed bytes. */
  skipKey?(b: Buffer, p: number, end: number): number;
}

let INLINE: InlineObjectCodec | null = null;

/** Registers the inline codec (one per process; registering the same one again is a no-op). */
export function registerInlineObjects(c: InlineObjectCodec): void {
  if (INLINE !== null && INLINE !== c)
    throw new Error(`an inline object codec is already registered (${INLINE.name})`);
  INLINE = c;
}

/** The registered inline codec, if any. */
export function inlineObjects(): InlineObjectCodec | null {
  return INLINE;
}

/** Reads an unsigned LEB128 varint at `r.pos` (before `end`) and advances it. */
function readVarint(b: Uint8Array, r: KeyReader, end: number): number {
  let z = 0;
  let mul = 1;
  for (let p = r.pos; p < end; p++) {
    const c = b[p] as number;
    z += (c & 127) * mul;
    if (c < 0x80) {
      r.pos = p + 1;
      return z;
    }
    mul *= 128;
    if (mul > 2 ** 49) break;
  }
  throw new KeyDecodeError('bad varint');
}

/** Appends `v` inline (tag, length, body); false (nothing written) when the codec cannot encode it. */
function putInline(w: ByteWriter, v: ObjectValue, c: InlineObjectCodec): boolean {
  const start = w.pos;
  w.tagged = true;
  w.ensure(2);
  w.buf[w.pos++] = K_INL;
  w.pos++; // one length byte reserved; moved when the body is 128 bytes or more
  const body = w.pos;
  try {
    c.encode(w, v);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    w.pos = start;
    return false;
  }
  const len = w.pos - body;
  if (len < 0x80) {
    w.buf[body - 1] = len;
    return true;
  }
  let extra = 0;
  for (let x = len >>> 7; x > 0; x >>>= 7) extra++;
  w.ensure(extra);
  w.buf.copyWithin(body + extra, body, w.pos);
  let p = body - 1;
  let x = len;
  while (x >= 0x80) {
    w.buf[p++] = (x & 127) | 128;
    x >>>= 7;
  }
  w.buf[p] = x;
  w.pos += extra;
  return true;
}

/** Appends `v` in the codec's key form (tag 0x22); false (nothing written) when the codec cannot encode it. */
function putOrdered(w: ByteWriter, v: ObjectValue, c: InlineObjectCodec): boolean {
  const start = w.pos;
  w.tagged = true;
  w.ensure(1);
  w.buf[w.pos++] = K_ORD;
  try {
    (c.encodeKey as NonNullable<InlineObjectCodec['encodeKey']>)(w, v);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    w.pos = start;
    return false;
  }
  return true;
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

const F64 = new Float64Array(1);
const F64B = new Uint8Array(F64.buffer);
const F64W = new Uint32Array(F64.buffer);
const I64 = new BigInt64Array(1);
const I64B = new Uint8Array(I64.buffer);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What an inline codec writes into (a {@link ByteWriter}, or the segment writer). */
export interface GrowableBytes {
  buf: Buffer;
  pos: number;
  /** Makes room for `n` more bytes at `pos` (may replace `buf`). */
  ensure(n: number): void;
}

/** A growable byte buffer that values are encoded into. */
export class ByteWriter implements GrowableBytes {
  buf: Buffer;
  pos = 0;
  /**
   * Whether an inline (tag 0x21) or ordered (0x22) object value was ever written (set before, and kept even when
   * the codec then refuses the value): a batch built in this writer with it false holds neither tag, so its
   * segment needs no scan for them (see `TraceBatch.untagged`).
   */
  tagged = false;

  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /**
   * Room for `n` more bytes, grown (when short) to exactly that, not doubled: for a caller that has estimated
   * what it will write (a batch build sized from its first entries), so no buffer twice its need is allocated.
   */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(this.pos + n);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  reset(): void {
    this.pos = 0;
  }
}

function putU32(w: ByteWriter, n: number): void {
  const b = w.buf;
  b[w.pos++] = (n >>> 24) & 255;
  b[w.pos++] = (n >>> 16) & 255;
  b[w.pos++] = (n >>> 8) & 255;
  b[w.pos++] = n & 255;
}

/** Strings at least this long are written by the native UTF-8 writer (a call costs more than a short loop). */
const NATIVE_WRITE_MIN = 16;

/** Writes `s` escaped (0x00 → 00 ff) and terminated (00 01). */
function putEscaped(w: ByteWriter, s: string): void {
  const n = s.length;
  w.ensure(n * 3 + 2);
  const b = w.buf;
  let p = w.pos;
  if (n >= NATIVE_WRITE_MIN && !s.includes('\0')) {
    // no NUL: the escaped form is the UTF-8 bytes as they are (a multi-byte sequence never holds 0x00), which
    // the native writer produces in one call (callers pass well-formed strings; n * 3 bytes always suffice)
    p += b.write(s, p, 'utf8');
    b[p++] = 0;
    b[p++] = 1;
    w.pos = p;
    return;
  }
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    if (c === 0) {
      b[p++] = 0;
      b[p++] = 0xff;
    } else b[p++] = c;
  }
  if (!ascii) {
    p = w.pos;
    const bytes = Buffer.from(s, 'utf8');
    w.ensure(bytes.length * 2 + 2);
    const bb = w.buf;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i] as number;
      bb[p++] = c;
      if (c === 0) bb[p++] = 0xff;
    }
  }
  w.buf[p++] = 0;
  w.buf[p++] = 1;
  w.pos = p;
}

/**
 * An object's hash key is written as UTF-8, which cannot hold a lone surrogate (a nested value holding such a
 * string): a key that is not well-formed, or that holds U+FFFF, is written with U+FFFF as an escape (U+FFFF →
 * FFFF '0'; a lone surrogate → FFFF '1' + 4 hex digits), which is injective and leaves every other key as it was.
 */
const KEY_ESC = '\uffff';

function escapeKey(k: string): string {
  let out = '';
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c === 0xffff) out += `${KEY_ESC}0`;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < k.length && (k.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += k.slice(i, i + 2);
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) out += `${KEY_ESC}1${c.toString(16).padStart(4, '0')}`;
    else out += k.charAt(i);
  }
  return out;
}

function unescapeKey(t: string): string {
  if (!t.includes(KEY_ESC)) return t;
  let out = '';
  for (let i = 0; i < t.length; i++) {
    if (t.charAt(i) !== KEY_ESC) {
      out += t.charAt(i);
      continue;
    }
    if (t[i + 1] === '0') {
      out += KEY_ESC;
      i++;
    } else {
      out += String.fromCharCode(Number.parseInt(t.slice(i + 2, i + 6), 16));
      i += 5;
    }
  }
  return out;
}

function magnitudeBytes(m: bigint): Buffer {
  let hex = m.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

/**
 * Appends the encoding of `v`. Object values are also recorded in `objects` (hash key → value) when given.
 * `exact` keeps -0 apart from 0 (value columns); keys use identity (-0 = 0).
 */
export function encodeKeyValue(
  w: ByteWriter,
  v: Value,
  objects: Map<string, ObjectValue> | null,
  exact = false,
): void {
  switch (typeof v) {
    case 'number': {
      w.ensure(9);
      const b = w.buf;
      let p = w.pos;
      b[p++] = K_NUM;
      F64[0] = v === 0 && !exact ? 0 : Number.isNaN(v) ? Number.NaN : v;
      // the float64's two 32-bit halves, high first: negatives have every bit flipped, others the sign bit
      let hi = F64W[LE ? 1 : 0] as number;
      let lo = F64W[LE ? 0 : 1] as number;
      if (hi >>> 31 === 1) {
        hi = ~hi;
        lo = ~lo;
      } else hi ^= 0x80000000;
      b[p] = hi >>> 24;
      b[p + 1] = (hi >>> 16) & 255;
      b[p + 2] = (hi >>> 8) & 255;
      b[p + 3] = hi & 255;
      b[p + 4] = lo >>> 24;
      b[p + 5] = (lo >>> 16) & 255;
      b[p + 6] = (lo >>> 8) & 255;
      b[p + 7] = lo & 255;
      w.pos = p + 8;
      return;
    }
    case 'string':
      if (v.isWellFormed()) {
        w.ensure(1);
        w.buf[w.pos++] = K_STR;
        putEscaped(w, v);
      } else {
        w.ensure(5 + v.length * 2);
        w.buf[w.pos++] = K_STR16;
        putU32(w, v.length);
        for (let i = 0; i < v.length; i++) {
          const c = v.charCodeAt(i);
          w.buf[w.pos++] = c >>> 8;
          w.buf[w.pos++] = c & 255;
        }
      }
      return;
    case 'boolean':
      w.ensure(1);
      w.buf[w.pos++] = v ? K_TRUE : K_FALSE;
      return;
    case 'bigint': {
      if (v >= I64_MIN && v <= I64_MAX) {
        w.ensure(9);
        w.buf[w.pos++] = K_I64;
        I64[0] = v;
        if (LE) for (let i = 7; i >= 0; i--) w.buf[w.pos++] = I64B[i] as number;
        else for (let i = 0; i < 8; i++) w.buf[w.pos++] = I64B[i] as number;
        w.buf[w.pos - 8] = (w.buf[w.pos - 8] as number) ^ 0x80;
        return;
      }
      const neg = v < 0n;
      const mag = magnitudeBytes(neg ? -v : v);
      w.ensure(5 + mag.length);
      w.buf[w.pos++] = neg ? K_BIGNEG : K_BIGPOS;
      putU32(w, neg ? 0xffffffff - mag.length : mag.length);
      for (let i = 0; i < mag.length; i++)
        w.buf[w.pos++] = neg ? ~(mag[i] as number) & 255 : (mag[i] as number);
      return;
    }
    case 'object': {
      if (v === null) {
        w.ensure(1);
        w.buf[w.pos++] = K_NULL;
        return;
      }
      if (INLINE?.is(v) === true) {
        if (exact) {
          if (putInline(w, v, INLINE)) return;
        } else if (INLINE.encodeKey !== undefined && putOrdered(w, v, INLINE)) return;
      }
      const k = v.hashKey();
      if (objects !== null && !objects.has(k)) objects.set(k, v);
      w.ensure(1);
      w.buf[w.pos++] = K_OBJ;
      putEscaped(w, k.isWellFormed() && !k.includes(KEY_ESC) ? k : escapeKey(k));
      return;
    }
    default:
      throw new TypeError(`not a row value: ${typeof v}`);
  }
}

/** Appends the encodings of `row[cols[i]]` for every i (`exact`: see {@link encodeKeyValue}). */
export function encodeColumnsTo(
  w: ByteWriter,
  row: readonly Value[],
  cols: readonly number[],
  objects: Map<string, ObjectValue> | null,
  exact = false,
): void {
  for (let i = 0; i < cols.length; i++) encodeKeyValue(w, row[cols[i] as number] as Value, objects, exact);
}

/** Thrown on bytes that are not a valid encoding (callers turn it into their own error). */
export class KeyDecodeError extends Error {}

/** Position just after the escaped string that starts at `p` (its terminator included). */
function escapedEnd(b: Uint8Array, p: number, end: number): number {
  for (;;) {
    const i = b.indexOf(0, p);
    if (i < 0 || i + 1 >= end) throw new KeyDecodeError('unterminated string');
    if (b[i + 1] === 1) return i + 2;
    if (b[i + 1] !== 0xff) throw new KeyDecodeError('bad string escape');
    p = i + 2;
  }
}

function readEscaped(b: Buffer, p: number, stop: number): string {
  // stop = position of the terminator
  let hasZero = false;
  for (let i = p; i < stop; i++)
    if (b[i] === 0) {
      hasZero = true;
      break;
    }
  if (!hasZero) {
    const n = stop - p;
    if (n <= 24) {
      let s = '';
      for (let i = p; i < stop; i++) {
        const c = b[i] as number;
        if (c >= 0x80) return b.toString('utf8', p, stop);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return b.toString('utf8', p, stop);
  }
  const out: number[] = [];
  for (let i = p; i < stop; i++) {
    const c = b[i] as number;
    out.push(c);
    if (c === 0) i++;
  }
  return Buffer.from(out).toString('utf8');
}

/** Position of the byte after the encoded value that starts at `p`. */
export function skipKeyValue(b: Buffer, p: number, end: number): number {
  const tag = b[p];
  switch (tag) {
    case K_NULL:
    case K_FALSE:
    case K_TRUE:
      return p + 1;
    case K_NUM:
    case K_I64:
      return p + 9;
    case K_BIGNEG:
    case K_BIGPOS: {
      const u = b.readUInt32BE(p + 1);
      return p + 5 + (tag === K_BIGNEG ? 0xffffffff - u : u);
    }
    case K_STR:
    case K_OBJ:
      return escapedEnd(b, p + 1, end);
    case K_STR16:
      return p + 5 + 2 * b.readUInt32BE(p + 1);
    case K_INL: {
      const r = { pos: p + 1 };
      const len = readVarint(b, r, end);
      if (r.pos + len > end) throw new KeyDecodeError('truncated inline value');
      return r.pos + len;
    }
    case K_ORD: {
      const skip = INLINE?.skipKey;
      if (skip === undefined)
        throw new KeyDecodeError('ordered object value, but no key codec is registered');
      try {
        return skip(b, p + 1, end);
      } catch (e) {
        throw new KeyDecodeError(`bad ordered object value: ${(e as Error).message}`);
      }
    }
    default:
      throw new KeyDecodeError(`unknown value tag ${tag}`);
  }
}

/** Decoder state: the position advanced by {@link decodeKeyValue}. */
export interface KeyReader {
  pos: number;
}

/**
 * Decodes the value at `r.pos` and advances it. Object values are looked up by hash key in `objects`.
 * @throws KeyDecodeError on malformed bytes or an object value missing from `objects`
 */
export function decodeKeyValue(
  b: Buffer,
  r: KeyReader,
  end: number,
  objects: ReadonlyMap<string, ObjectValue> | null,
): Value {
  const p = r.pos;
  const tag = b[p];
  switch (tag) {
    case K_NULL:
      r.pos = p + 1;
      return null;
    case K_FALSE:
      r.pos = p + 1;
      return false;
    case K_TRUE:
      r.pos = p + 1;
      return true;
    case K_NUM: {
      if (p + 9 > end) throw new KeyDecodeError('truncated number');
      const neg = (b[p + 1] as number) < 0x80;
      if (LE)
        for (let i = 0; i < 8; i++)
          F64B[7 - i] = neg ? ~(b[p + 1 + i] as number) & 255 : (b[p + 1 + i] as number);
      else
        for (let i = 0; i < 8; i++)
          F64B[i] = neg ? ~(b[p + 1 + i] as number) & 255 : (b[p + 1 + i] as number);
      if (!neg) F64B[LE ? 7 : 0] = (F64B[LE ? 7 : 0] as number) ^ 0x80;
      r.pos = p + 9;
      return F64[0] as number;
    }
    case K_I64: {
      if (p + 9 > end) throw new KeyDecodeError('truncated bigint');
      if (LE) for (let i = 0; i < 8; i++) I64B[7 - i] = b[p + 1 + i] as number;
      else for (let i = 0; i < 8; i++) I64B[i] = b[p + 1 + i] as number;
      I64B[LE ? 7 : 0] = (I64B[LE ? 7 : 0] as number) ^ 0x80;
      r.pos = p + 9;
      return I64[0] as bigint;
    }
    case K_BIGNEG:
    case K_BIGPOS: {
      const neg = tag === K_BIGNEG;
      const u = b.readUInt32BE(p + 1);
      const len = neg ? 0xffffffff - u : u;
      if (p + 5 + len > end) throw new KeyDecodeError('truncated bigint');
      const mag = Buffer.from(b.subarray(p + 5, p + 5 + len));
      if (neg) for (let i = 0; i < len; i++) mag[i] = ~(mag[i] as number) & 255;
      const m = len === 0 ? 0n : BigInt(`0x${mag.toString('hex')}`);
      r.pos = p + 5 + len;
      return neg ? -m : m;
    }
    case K_STR: {
      const e = escapedEnd(b, p + 1, end);
      r.pos = e;
      return readEscaped(b, p + 1, e - 2);
    }
    case K_STR16: {
      const n = b.readUInt32BE(p + 1);
      if (p + 5 + 2 * n > end) throw new KeyDecodeError('truncated string');
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(b.readUInt16BE(p + 5 + 2 * i));
      r.pos = p + 5 + 2 * n;
      return s;
    }
    case K_OBJ: {
      const e = escapedEnd(b, p + 1, end);
      const k = unescapeKey(readEscaped(b, p + 1, e - 2));
      const v = objects?.get(k);
      if (v === undefined) throw new KeyDecodeError('object value missing from the object table');
      r.pos = e;
      return v;
    }
    case K_INL: {
      r.pos = p + 1;
      const len = readVarint(b, r, end);
      const s = r.pos;
      if (s + len > end) throw new KeyDecodeError('truncated inline value');
      if (INLINE === null) throw new KeyDecodeError('inline object value, but no inline codec is registered');
      let v: ObjectValue;
      try {
        v = INLINE.decode(b, s, s + len);
      } catch (e) {
        throw new KeyDecodeError(`bad inline object value: ${(e as Error).message}`);
      }
      r.pos = s + len;
      return v;
    }
    case K_ORD: {
      const dec = INLINE?.decodeKey;
      if (dec === undefined) throw new KeyDecodeError('ordered object value, but no key codec is registered');
      r.pos = p + 1;
      try {
        return dec(b, r, end);
      } catch (e) {
        r.pos = p;
        throw new KeyDecodeError(`bad ordered object value: ${(e as Error).message}`);
      }
    }
    default:
      throw new KeyDecodeError(`unknown value tag ${tag}`);
  }
}

/** Unsigned lexicographic comparison of `a[as..ae)` and `b[bs..be)`. */
export function compareBytes(
  a: Uint8Array,
  as: number,
  ae: number,
  b: Uint8Array,
  bs: number,
  be: number,
): number {
  const la = ae - as;
  const lb = be - bs;
  const n = Math.min(la, lb);
  for (let i = 0; i < n; i++) {
    const x = a[as + i] as number;
    const y = b[bs + i] as number;
    if (x !== y) return x - y;
  }
  return la - lb;
}

/** 32-bit FNV-1a of `b[s..e)`. */
export function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h >>> 0;
}
