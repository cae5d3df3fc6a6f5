/**
 * Segment files: one Z-set batch, encoded in a versioned binary format, compressed with zstd, and named by the
 * SHA-256 of the file's bytes (so identical state is stored once and shared by checkpoints). Four payload
 * versions share the header: v1 (and v4, v1 with nested values inline) holds a batch of JS rows (any operator's
 * state, and deltas); v2 and v3 hold one sealed trace batch (`zset/trace.ts`) in its columnar form, so a restore
 * turns the file back into typed arrays and one byte arena without building a JS object per row. A build writes
 * v1 or v4 for plain batches and v3 for trace batches, and reads all four; v5 is a batch file (a spilled trace
 * batch, below), random-access.
 *
 * # Format v1 (little-endian; pinned by `tests/golden/checkpoint-v1`)
 * File = 16-byte header + one zstd frame holding the payload:
 * ```
 * header:  "HFSG" | u8 format version (1) | u8 compression (1 = zstd) | u16 reserved (0) | u64 payload length
 * payload: u8 flags (bit 0: batch is consolidated)
 *          varint codec count, then each codec tag as a string (varint byte length + UTF-8)
 *          varint row count, then per row: varint column count, each value, zigzag-varint weight
 * value:   tag byte, then
 *          0 null | 1 false | 2 true
 *          3 integral number, |n| ≤ 2^52, not -0: zigzag varint
 *          4 other number (fractions, -0, NaN, ±Infinity, large): float64 bits
 *          5 bigint in [-2^63, 2^63): int64
 *          6 other bigint: u8 sign (0 = +, 1 = −), varint byte length, magnitude bytes (least significant first)
 *          7 well-formed string: varint byte length + UTF-8
 *          8 string with lone surrogates: varint code-unit count + UTF-16LE code units
 *          9 object value: varint index into the codec table, varint part count, parts (values with tags 0–8)
 * ```
 * varint = unsigned LEB128 (values up to 2^53); zigzag maps n ≥ 0 to 2n and n < 0 to −2n − 1. Weights are
 * integers within ±2^52 (anything else is refused with `CheckpointValueUnsupported`).
 *
 * # Format v2: a sealed trace batch (pinned by `tests/golden/checkpoint-v2`)
 * Same header with version 2; the payload:
 * ```
 * u8 flags (1: consolidated, always set)
 * varint codec count, then each codec tag as a string (as in v1)
 * varint arity, varint key column count, each key column index (varint)
 * varint entry count n
 * varint object count, then per object value: its hash key (string), varint codec index, varint part count,
 *          parts (values with tags 0–8 as in v1)
 * varint arena length
 * n × (varint entry length, varint key length, zigzag-varint weight)
 * arena:   the entries' order-preserving encodings (see `zset/key-codec.ts`), back to back, sorted
 * ```
 * Decoding checks the structure (lengths add up to the arena, key within entry, weights non-zero) and that each
 * object value's codec gives back a value with the recorded hash key.
 *
 * # Format v4: a batch of rows with inline nested values (pinned by `tests/golden/checkpoint-v3`'s delta)
 * What this build writes for a row batch holding a value the inline codec takes (a delta of a table with nested
 * columns); other row batches stay v1, byte for byte. The v1 payload with two changes:
 * ```
 * u8 flags (bit 0: consolidated; bit 1: inline values, always set in v4), then the inline codec's name (string)
 * value tag 10: inline object value: varint body length, the body (the inline codec's form, as in a v3 arena)
 * ```
 *
 * # Format v3: a sealed trace batch with inline nested values (pinned by `tests/golden/checkpoint-v3`)
 * What this build writes for trace batches. Same header with version 3; the payload is v2's with two changes:
 * ```
 * u8 flags (bit 0: consolidated, always set; bit 1: the arena holds inline object values, key-codec tag 0x21)
 * [bit 1 set: the inline codec's name (string), e.g. `sql-nested-1`]
 * varint codec count, codec tags, arity, key columns, entry count (as in v2)
 * varint object count, then per object value: varint codec index, varint part count, parts — no hash key: it is
 *          the value's `hashKey()`, recomputed on load
 * varint arena length, n × (entry length, key length, weight), arena (as in v2)
 * ```
 * Nested values (ARRAY, MAP, ROW, VARIANT) in a trace's value columns sit in the arena itself, in the binary
 * form of the registered inline codec (`zset/key-codec.ts`; the body format is in `sql/values/collections.ts`),
 * so they are written once, not as hash-key text plus an object-table entry, and a restore builds no JS object
 * for them (a row's values are decoded when the row is read). The object table keeps the object values of key
 * columns (and any value an inline codec does not take, e.g. DECIMAL): those need the hash-key order.
 * A v3 file whose flags say inline values is refused (`CheckpointCorrupt`) by a process with no matching inline
 * codec registered.
 *
 * # Format v5: a batch file (spilled trace batch)
 * Same 16-byte header with version 5, then independently readable blocks, an index and a trailer: defined and
 * read by `zset/batch-file.ts` (random access through a block cache; pinned by `tests/golden/checkpoint-v5`).
 * {@link decodeSegment} reads one held in memory into a sealed trace batch; the checkpoint store opens them as
 * files. The object table inside is {@link encodeObjectTable}'s (a trace payload without entries).
 *
 * Object values (e.g. DECIMAL) are encoded by injected {@link ObjectValueCodec}s: the storage layer does not
 * know the SQL value types. A segment lists the tags of the codecs it uses, so decoding fails clearly
 * (`CheckpointCorrupt`) if a codec is missing.
 *
 * Decoding verifies the hash (when given), the header, the payload length, and that the payload is consumed
 * exactly; any mismatch throws `StorageError('CheckpointCorrupt')`; a newer version throws
 * `CheckpointFormatUnsupported`.
 */
import { createHash } from 'node:crypto';
import { createZstdCompress, constants as zc, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import type { Batch } from '../zset/batch.ts';
import { type FileLayout, openBatchBytes } from '../zset/batch-file.ts';
import { ByteWriter, inlineObjects, K_INL, K_ORD, skipKeyValue } from '../zset/key-codec.ts';
import { drain } from '../zset/sliced.ts';
import { buildBatch, loadFileBatch, TraceBatch, traceLayout } from '../zset/trace.ts';
import type { ObjectValue, Row, Value } from '../zset/value.ts';
import { StorageError } from './storage-error.ts';

/**
 * Newest segment format this build reads (and writes: v3 or, with nested values in key columns, v6 trace batches;
 * v1/v4 row batches; v7 batch files).
 */
export const SEGMENT_FORMAT_VERSION = 7;
/** Payload of JS rows (any batch). */
export const SEGMENT_V_ROWS = 1;
/** Payload of one sealed trace batch, object values with their hash keys (read, no longer written). */
export const SEGMENT_V_TRACE = 2;
/** Payload of one sealed trace batch, nested values inline (what this build writes). */
export const SEGMENT_V_TRACE3 = 3;
/** Payload of JS rows with nested values inline (v1 plus value tag 10). */
export const SEGMENT_V_ROWS4 = 4;
/** A block-structured, random-access batch file (a spilled trace batch; see `zset/batch-file.ts`). Read only. */
export const SEGMENT_V_FILE = 5;
/** Payload of one sealed trace batch with nested values in key columns in their ordered key form (v3 + a flag). */
export const SEGMENT_V_TRACE6 = 6;
/** A batch file as this build writes it: v5 plus a flag for nested values in key columns (key-codec tag 0x22). */
export const SEGMENT_V_FILE7 = 7;

/** Whether `version` is a batch file's (v5 or v7). */
export function isBatchFileVersion(version: number | null | undefined): boolean {
  return version === SEGMENT_V_FILE || version === SEGMENT_V_FILE7;
}
const MAGIC = 0x47534648; // "HFSG" read as u32 LE
const HEADER_SIZE = 16;
const COMPRESSION_ZSTD = 1;
/**
 * zstd level of segment files. 2, not zstd's default 3: on the checkpoint suite's state (rows of numbers and short
 * strings, 1M orders) level 2 compresses 15% smaller in ~45% less CPU (BENCHMARKS.md, "the full checkpoint's
 * allocations, overlap and zstd level"); the format is the same, so files of either level read alike.
 */
const DEFAULT_LEVEL = 2;

/** Values a codec may split an object value into. */
export type PrimitiveValue = null | boolean | number | bigint | string;

/** Encodes one kind of {@link ObjectValue} (registered by the caller, e.g. for `Decimal`). */
export interface ObjectValueCodec<T extends ObjectValue = ObjectValue> {
  /** Stable name written into segments (e.g. `decimal`); never change it once data is written. */
  readonly tag: string;
  is(v: ObjectValue): boolean;
  /** The parts that identify `v` exactly (e.g. `[unscaled, scale]`). */
  encode(v: T): readonly PrimitiveValue[];
  /** Rebuilds the value; throwing marks the segment corrupt. */
  decode(parts: readonly PrimitiveValue[]): T;
}

export interface EncodedSegment {
  readonly bytes: Buffer;
  /** SHA-256 of `bytes`, lowercase hex: the file name. */
  readonly hash: string;
  readonly size: number;
  readonly rows: number;
}

const T_NULL = 0;
const T_FALSE = 1;
const T_TRUE = 2;
const T_INT = 3;
const T_F64 = 4;
const T_I64 = 5;
const T_BIGINT = 6;
const T_STR = 7;
const T_STR16 = 8;
const T_OBJ = 9;
const T_INL = 10;

const MAX_ZIGZAG_INT = 2 ** 52;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

// Scratch views for float64/int64 bits (avoids Buffer's slower bigint/double accessors on the hot path).
const SCRATCH = new ArrayBuffer(8);
const F64 = new Float64Array(SCRATCH);
const I64 = new BigInt64Array(SCRATCH);
const S8 = new Uint8Array(SCRATCH);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes the 8 scratch bytes little-endian at `pos`. */
function putScratch(buf: Uint8Array, pos: number): void {
  if (LITTLE_ENDIAN) {
    buf[pos] = S8[0] as number;
    buf[pos + 1] = S8[1] as number;
    buf[pos + 2] = S8[2] as number;
    buf[pos + 3] = S8[3] as number;
    buf[pos + 4] = S8[4] as number;
    buf[pos + 5] = S8[5] as number;
    buf[pos + 6] = S8[6] as number;
    buf[pos + 7] = S8[7] as number;
  } else {
    for (let i = 0; i < 8; i++) buf[pos + i] = S8[7 - i] as number;
  }
}

/** Loads 8 little-endian bytes at `pos` into the scratch. */
function getScratch(buf: Uint8Array, pos: number): void {
  if (LITTLE_ENDIAN) {
    S8[0] = buf[pos] as number;
    S8[1] = buf[pos + 1] as number;
    S8[2] = buf[pos + 2] as number;
    S8[3] = buf[pos + 3] as number;
    S8[4] = buf[pos + 4] as number;
    S8[5] = buf[pos + 5] as number;
    S8[6] = buf[pos + 6] as number;
    S8[7] = buf[pos + 7] as number;
  } else {
    for (let i = 0; i < 8; i++) S8[7 - i] = buf[pos + i] as number;
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function corrupt(message: string, details: Record<string, unknown> = {}): StorageError {
  return new StorageError('CheckpointCorrupt', message, details);
}

class Writer {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Unsigned varint, 0 ≤ z ≤ 2^53; the caller has ensured 8 bytes. */
  varint(z: number): void {
    const buf = this.buf;
    let pos = this.pos;
    if (z < 0x80) {
      buf[pos++] = z;
      this.pos = pos;
      return;
    }
    while (z >= 0x80000000) {
      buf[pos++] = (z % 128) | 128;
      z = Math.floor(z / 128);
    }
    while (z >= 0x80) {
      buf[pos++] = (z & 127) | 128;
      z >>>= 7;
    }
    buf[pos++] = z;
    this.pos = pos;
  }

  /**
   * Fast path for short ASCII strings: writes `tag` (unless negative), the length and the bytes and returns true;
   * returns false (writing nothing) otherwise.
   */
  asciiString(s: string, tag: number): boolean {
    const n = s.length;
    if (n >= 128) return false;
    this.ensure(2 + n);
    const buf = this.buf;
    const start = tag < 0 ? this.pos : this.pos + 1;
    let p = start + 1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[p++] = c;
    }
    if (tag >= 0) buf[this.pos] = tag;
    buf[start] = n;
    this.pos = p;
    return true;
  }

  string(s: string): void {
    if (!this.asciiString(s, -1)) this.utf8String(s);
  }

  utf8String(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.ensure(8 + len);
    this.varint(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Encodes batches; collects the codecs used so the payload can list them. */
class Encoder {
  readonly w: Writer;
  readonly #codecs: readonly ObjectValueCodec[];
  readonly used: ObjectValueCodec[] = [];
  /** Writes the values the inline codec takes inline (tag 10: format v4); null: by codec (v1). */
  readonly inline: ReturnType<typeof inlineObjects>;
  usedInline = false;
  #body: ByteWriter | null = null;

  constructor(codecs: readonly ObjectValueCodec[], capacity: number, inline = false) {
    this.#codecs = codecs;
    this.w = new Writer(capacity);
    this.inline = inline ? inlineObjects() : null;
  }

  /** Writes `v` inline (tag, length, body); false when the inline codec cannot encode it. */
  #putInline(v: ObjectValue): boolean {
    const body = this.#body ?? new ByteWriter(256);
    this.#body = body;
    body.reset();
    try {
      this.inline?.encode(body, v);
    } catch (e) {
      if (e instanceof TypeError) return false;
      throw e;
    }
    const w = this.w;
    w.ensure(9 + body.pos);
    w.buf[w.pos++] = T_INL;
    w.varint(body.pos);
    w.bytes(body.buf.subarray(0, body.pos));
    this.usedInline = true;
    return true;
  }

  value(v: Value, nested: boolean): void {
    const w = this.w;
    w.ensure(10);
    switch (typeof v) {
      case 'number':
        if (
          ((v | 0) === v && (v !== 0 || 1 / v > 0)) ||
          (v !== 0 && Number.isInteger(v) && Math.abs(v) <= MAX_ZIGZAG_INT)
        ) {
          w.buf[w.pos++] = T_INT;
          w.varint(v >= 0 ? v * 2 : -v * 2 - 1);
        } else {
          w.buf[w.pos++] = T_F64;
          F64[0] = v;
          putScratch(w.buf, w.pos);
          w.pos += 8;
        }
        return;
      case 'string':
        if (w.asciiString(v, T_STR)) return;
        if (v.isWellFormed()) {
          w.buf[w.pos++] = T_STR;
          w.utf8String(v);
        } else {
          w.buf[w.pos++] = T_STR16;
          w.varint(v.length);
          w.ensure(v.length * 2);
          for (let i = 0; i < v.length; i++) w.pos = w.buf.writeUInt16LE(v.charCodeAt(i), w.pos);
        }
        return;
      case 'boolean':
        w.buf[w.pos++] = v ? T_TRUE : T_FALSE;
        return;
      case 'bigint':
        if (v >= I64_MIN && v <= I64_MAX) {
          w.buf[w.pos++] = T_I64;
          I64[0] = v;
          putScratch(w.buf, w.pos);
          w.pos += 8;
        } else {
          w.buf[w.pos++] = T_BIGINT;
          w.buf[w.pos++] = v < 0n ? 1 : 0;
          let hex = (v < 0n ? -v : v).toString(16);
          if (hex.length % 2 === 1) hex = `0${hex}`;
          const be = Buffer.from(hex, 'hex');
          w.varint(be.length);
          w.bytes(be.reverse());
        }
        return;
      case 'object': {
        if (v === null) {
          w.buf[w.pos++] = T_NULL;
          return;
        }
        if (nested) throw unsupported('a codec returned an object value as a part', v);
        if (this.inline?.is(v) === true && this.#putInline(v)) return;
        const codecs = this.#codecs;
        let codec: ObjectValueCodec | undefined;
        for (let i = 0; i < codecs.length; i++) {
          if ((codecs[i] as ObjectValueCodec).is(v)) {
            codec = codecs[i];
            break;
          }
        }
        if (codec === undefined) throw unsupported('no codec for an object value', v);
        let idx = this.used.indexOf(codec);
        if (idx < 0) idx = this.used.push(codec) - 1;
        const parts = codec.encode(v);
        w.buf[w.pos++] = T_OBJ;
        w.varint(idx);
        w.varint(parts.length);
        for (const p of parts) this.value(p, true);
        return;
      }
      default:
        throw unsupported(`not a row value: ${typeof v}`, v);
    }
  }
}

function unsupported(message: string, v: unknown): StorageError {
  const kind = typeof v === 'object' && v !== null ? (v.constructor?.name ?? 'object') : typeof v;
  return new StorageError('CheckpointValueUnsupported', message, { kind });
}

/**
 * The uncompressed payload of a batch (format v1, without the file header). Deterministic: the same batch and
 * codecs give the same bytes.
 */
export function encodeSegmentPayload(batch: Batch, codecs: readonly ObjectValueCodec[] = []): Buffer {
  return rowsPayload(batch, codecs, false).payload;
}

/**
 * The uncompressed payload of a row batch as a segment file would hold it: format v4 (nested values inline, in
 * their binary form) when the batch holds one, else v1, byte for byte. Read back with {@link decodeSegmentPayload}
 * and the version returned.
 */
export function encodeRowsPayload(
  batch: Batch,
  codecs: readonly ObjectValueCodec[] = [],
): { payload: Buffer; version: 1 | 4 } {
  return rowsPayload(batch, codecs, true);
}

/**
 * A row batch's payload: with `inline`, values the registered inline codec takes are written inline, and the
 * payload is format v4 if there was one (else v1, byte for byte).
 */
function rowsPayload(
  batch: Batch,
  codecs: readonly ObjectValueCodec[],
  inline: boolean,
): { payload: Buffer; version: 1 | 4 } {
  return drain(rowsPayloadSteps(batch, codecs, inline));
}

/** Rows {@link rowsPayloadSteps} encodes between two pauses. */
const ROWS_PER_SLICE = 4096;

/** {@link rowsPayload}, pausing every {@link ROWS_PER_SLICE} rows (the same bytes however it is run). */
function* rowsPayloadSteps(
  batch: Batch,
  codecs: readonly ObjectValueCodec[],
  inline: boolean,
): Generator<void, { payload: Buffer; version: 1 | 4 }, void> {
  const n = batch.rows.length;
  const enc = new Encoder(codecs, 64 + n * 24, inline);
  const w = enc.w;
  const { rows, weights } = batch;
  for (let i = 0; i < n; i++) {
    if (i % ROWS_PER_SLICE === ROWS_PER_SLICE - 1) yield;
    const row = rows[i] as Row;
    const weight = weights[i] as number;
    if (!Number.isInteger(weight) || Math.abs(weight) > MAX_ZIGZAG_INT)
      throw new StorageError(
        'CheckpointValueUnsupported',
        `weight ${weight} is not an integer within ±2^52`,
        {},
      );
    const m = row.length;
    w.ensure(8);
    w.varint(m);
    for (let j = 0; j < m; j++) enc.value(row[j] as Value, false);
    w.ensure(10);
    w.varint(weight >= 0 ? weight * 2 : -weight * 2 - 1);
  }
  const head = new Writer(64);
  head.ensure(1);
  head.buf[head.pos++] = (batch.consolidated === true ? 1 : 0) | (enc.usedInline ? 2 : 0);
  if (enc.usedInline && enc.inline !== null) head.string(enc.inline.name);
  head.ensure(8);
  head.varint(enc.used.length);
  for (const c of enc.used) head.string(c.tag);
  head.ensure(8);
  head.varint(n);
  return {
    payload: Buffer.concat([head.result(), w.result()]),
    version: enc.usedInline ? SEGMENT_V_ROWS4 : SEGMENT_V_ROWS,
  };
}

function zstdParams(level: number | undefined): { params: Record<number, number> } {
  return {
    params: { [zc.ZSTD_c_compressionLevel]: level ?? DEFAULT_LEVEL, [zc.ZSTD_c_checksumFlag]: 0 },
  };
}

function frame(version: number, payloadLength: number, compressed: Buffer | readonly Buffer[]): Buffer {
  const chunks = Buffer.isBuffer(compressed) ? [compressed] : compressed;
  let size = HEADER_SIZE;
  for (const c of chunks) size += c.length;
  const bytes = Buffer.allocUnsafe(size);
  bytes.writeUInt32LE(MAGIC, 0);
  bytes[4] = version;
  bytes[5] = COMPRESSION_ZSTD;
  bytes.writeUInt16LE(0, 6);
  bytes.writeBigUInt64LE(BigInt(payloadLength), 8);
  let at = HEADER_SIZE;
  for (const c of chunks) at += c.copy(bytes, at);
  return bytes;
}

/** Rows in a batch without decoding a trace batch. */
function entryCount(batch: Batch): number {
  return batch instanceof TraceBatch ? batch.length : batch.rows.length;
}

/**
 * Encodes a batch into a complete segment file (header + zstd payload) and hashes it: format v2 for a sealed
 * trace batch, v1 for any other batch.
 */
export function encodeSegment(
  batch: Batch,
  codecs: readonly ObjectValueCodec[] = [],
  opts: { level?: number } = {},
): EncodedSegment {
  const trace = batch instanceof TraceBatch;
  const { payload, version } = trace
    ? { payload: encodeTracePayload(batch, codecs), version: traceSegmentVersion(batch) }
    : rowsPayload(batch, codecs, true);
  const bytes = frame(version, payload.length, zstdCompressSync(payload, zstdParams(opts.level)));
  return { bytes, hash: sha256Hex(bytes), size: bytes.length, rows: entryCount(batch) };
}

/** Bytes of the file copied and hashed between two turns of the event loop in {@link encodeSegmentAsync}. */
const HASH_CHUNK = 4 * 2 ** 20;
/** zstd output chunk of {@link encodeSegmentAsync} (fewer callbacks on the event loop; the frame is the same). */
const ZSTD_OUT_CHUNK = 256 * 2 ** 10;

/**
 * Payload size from which {@link encodeSegmentAsync} feeds a trace batch's payload to zstd in pieces instead of
 * concatenating it first. Below it the payload is one buffer and the file is the one {@link encodeSegment} writes,
 * byte for byte; from it on, the frame is zstd's streaming output for those pieces (the same payload, a frame a
 * few bytes different from the one-shot one), which depends only on the batch: the pieces are cut by entry count.
 */
export const STREAM_MIN_BYTES = 4 * 2 ** 20;

/** Lets the event loop run (one `setImmediate` turn). */
function turn(): Promise<void> {
  return new Promise<void>((r) => setImmediate(r));
}

/**
 * {@link encodeSegment}'s segment (the same bytes below {@link STREAM_MIN_BYTES} of payload), but compressing on
 * the thread pool and hashing in chunks between which the event loop runs. A trace batch's payload is built in pieces (header, object table, the entry index in
 * slices of {@link ENTRIES_PER_SLICE} entries, then the arena itself, not copied), between which the event loop
 * runs; from {@link STREAM_MIN_BYTES} on they are fed in order to one zstd stream and never concatenated (no
 * payload-sized buffer is allocated or copied), so the frame is zstd's streaming one for those pieces (the same
 * payload: decoded alike; the bytes differ a little from {@link encodeSegment}'s, see {@link STREAM_MIN_BYTES}).
 * What still blocks: a row batch's payload (v1) {@link ROWS_PER_SLICE} rows at a time, one slice of the entry
 * index at a time, and copying and hashing the file {@link HASH_CHUNK} bytes at a time.
 */
export async function encodeSegmentAsync(
  batch: Batch,
  codecs: readonly ObjectValueCodec[] = [],
  opts: { level?: number } = {},
): Promise<EncodedSegment> {
  let pieces: Buffer[];
  let version: number;
  if (batch instanceof TraceBatch) {
    const steps = tracePayloadPieces(batch, codecs, null);
    pieces = [];
    for (;;) {
      const r = steps.next();
      if (r.done === true) {
        version = r.value;
        break;
      }
      if (r.value === undefined) await turn();
      else pieces.push(r.value);
    }
  } else {
    // a row batch (a delta's change, a plain state) is encoded in slices too
    const steps = rowsPayloadSteps(batch, codecs, true);
    for (;;) {
      const r = steps.next();
      if (r.done === true) {
        pieces = [r.value.payload];
        version = r.value.version;
        break;
      }
      await turn();
    }
  }
  let length = 0;
  for (const p of pieces) length += p.length;
  if (length < STREAM_MIN_BYTES && pieces.length > 1) pieces = [Buffer.concat(pieces, length)];
  const compressed = await compressPieces(pieces, length, opts.level);
  // the file: header, then the compressed chunks copied in and hashed about HASH_CHUNK bytes at a time, with a
  // turn of the event loop in between (copying into fresh memory costs about as much as hashing)
  const header = frame(version, length, []);
  let size = header.length;
  for (const c of compressed) size += c.length;
  const file = Buffer.allocUnsafe(size);
  header.copy(file, 0);
  const h = createHash('sha256');
  let at = header.length;
  let hashed = 0;
  for (const c of compressed) {
    at += c.copy(file, at);
    if (at - hashed >= HASH_CHUNK) {
      h.update(file.subarray(hashed, at));
      hashed = at;
      await turn();
    }
  }
  h.update(file.subarray(hashed, at));
  return { bytes: file, hash: h.digest('hex'), size, rows: entryCount(batch) };
}

/**
 * Compresses the concatenation of `pieces` (`length` bytes in all) on the thread pool, without concatenating
 * them: one zstd stream, fed piece by piece (`write` for each, then `end`: the calls, and so the frame, depend only
 * on the pieces, not on timing). With one piece and the pledged size the frame is the one `zstdCompressSync`
 * writes for it, byte for byte; with several it differs by a few bytes (zstd's blocks end elsewhere).
 */
function compressPieces(
  pieces: readonly Buffer[],
  length: number,
  level: number | undefined,
): Promise<Buffer[]> {
  return new Promise<Buffer[]>((resolve, reject) => {
    const z = createZstdCompress({ ...zstdParams(level), pledgedSrcSize: length, chunkSize: ZSTD_OUT_CHUNK });
    const out: Buffer[] = [];
    z.on('data', (c: Buffer) => out.push(c));
    z.on('error', reject);
    z.on('end', () => resolve(out));
    for (const p of pieces) if (p.length > 0) z.write(p);
    z.end();
  });
}

/**
 * The format a sealed trace batch is written in: v6 when a key column holds a nested value in its ordered key
 * form (key-codec tag 0x22), else v3 (so a batch without one is written as before, byte for byte).
 */
export function traceSegmentVersion(tb: TraceBatch): 3 | 6 {
  return runSteps(scanTags(tb, true, false)).ordered ? SEGMENT_V_TRACE6 : SEGMENT_V_TRACE3;
}

/** Runs a generator of pauses to its end (no pause) and returns its result. */
function runSteps<T>(g: Generator<unknown, T>): T {
  for (;;) {
    const r = g.next();
    if (r.done === true) return r.value;
  }
}

/**
 * The uncompressed payload of a sealed trace batch (deterministic): format v3 or v6 ({@link traceSegmentVersion}),
 * or v2 when asked (kept so the golden files of v2 stay checked byte for byte; v2 cannot hold inline values).
 */
export function encodeTracePayload(
  tb: TraceBatch,
  codecs: readonly ObjectValueCodec[] = [],
  version?: 2 | 3 | 6,
): Buffer {
  const pieces: Buffer[] = [];
  const steps = tracePayloadPieces(tb, codecs, version ?? null);
  for (;;) {
    const r = steps.next();
    if (r.done === true) return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
    if (r.value !== undefined) pieces.push(r.value);
  }
}

/** Entries encoded between two yields of {@link tracePayloadSteps}. */
export const ENTRIES_PER_SLICE = 16_384;

/**
 * Whether a key column of `tb` holds an ordered nested value (tag 0x22) and whether a value column holds an inline
 * object value (tag 0x21), as asked. A batch without the byte anywhere is answered by one `indexOf`; otherwise
 * the columns are walked, stopping once every answer asked for is yes, and pausing (a `yield`) every
 * {@link ENTRIES_PER_SLICE} entries: a large batch without such values is walked to its end.
 */
function* scanTags(
  tb: TraceBatch,
  askOrdered: boolean,
  askInline: boolean,
): Generator<undefined, { ordered: boolean; inline: boolean }> {
  // a batch built from a writer that wrote neither tag (or merged from such batches) holds none: no walk
  if (tb.untagged) return { ordered: false, inline: false };
  const a = tb.arena;
  const walkKeys = askOrdered && tb.layout.keyCols.length > 0 && a.indexOf(K_ORD) >= 0;
  const walkVals = askInline && tb.layout.valCols.length > 0 && a.indexOf(K_INL) >= 0;
  let ordered = false;
  let inline = false;
  if (!walkKeys && !walkVals) return { ordered, inline };
  const off = tb.offsets;
  const spl = tb.splits;
  const n = tb.length;
  for (let i = 0; i < n; i++) {
    if (i % ENTRIES_PER_SLICE === ENTRIES_PER_SLICE - 1) yield;
    if (walkKeys && !ordered) {
      const end = spl[i] as number;
      for (let p = off[i] as number; p < end; p = skipKeyValue(a, p, end))
        if (a[p] === K_ORD) {
          ordered = true;
          break;
        }
    }
    if (walkVals && !inline) {
      const end = off[i + 1] as number;
      for (let p = spl[i] as number; p < end; p = skipKeyValue(a, p, end))
        if (a[p] === K_INL) {
          inline = true;
          break;
        }
    }
    if ((!walkKeys || ordered) && (!walkVals || inline)) break;
  }
  return { ordered, inline };
}

/**
 * Whether a key column of `tb` holds an ordered nested value (tag 0x22). A batch without the byte anywhere is
 * answered by one `indexOf`; otherwise the keys are walked, stopping at the first one.
 */
export function hasOrderedKeys(tb: TraceBatch): boolean {
  return runSteps(scanTags(tb, true, false)).ordered;
}

/**
 * The v3 or v6 (or v2) payload of `tb` in pieces: yields the payload's consecutive pieces (Buffers: the header,
 * the object table, the entry index in slices of {@link ENTRIES_PER_SLICE} entries, the arena itself — not a
 * copy) and `undefined` between slices of work (so a caller can let the event loop run; no slice encodes or walks
 * more than {@link ENTRIES_PER_SLICE} entries); returns the version. `version` null: the one this build writes
 * ({@link traceSegmentVersion}). The pieces' concatenation is the payload, byte for byte whatever the slicing.
 */
export function* tracePayloadPieces(
  tb: TraceBatch,
  codecs: readonly ObjectValueCodec[],
  asked: 2 | 3 | 6 | null,
): Generator<Buffer | undefined, 2 | 3 | 6> {
  const n = tb.length;
  const tags = yield* scanTags(tb, true, true);
  const version = asked ?? (tags.ordered ? SEGMENT_V_TRACE6 : SEGMENT_V_TRACE3);
  const ordered = tags.ordered ? inlineObjects() : null;
  if (ordered !== null && version !== SEGMENT_V_TRACE6)
    throw new StorageError(
      'CheckpointValueUnsupported',
      `format v${version} cannot hold nested values in key columns (v6 does)`,
      {},
    );
  if (ordered !== null && ordered.keyName === undefined)
    throw new StorageError(
      'CheckpointValueUnsupported',
      'ordered key values, but no key codec is registered',
      {},
    );
  const hasInline = tags.inline;
  const inline = hasInline ? inlineObjects() : null;
  if (hasInline && inline === null)
    throw new StorageError(
      'CheckpointValueUnsupported',
      'inline object values, but no inline codec is registered',
      {},
    );
  if (inline !== null && version === SEGMENT_V_TRACE)
    throw new StorageError('CheckpointValueUnsupported', 'format v2 cannot hold inline object values', {});
  const objs = tb.objects === null ? [] : [...tb.objects];
  const enc = new Encoder(codecs, 64 + objs.length * 32);
  const w = enc.w;
  const L = tb.layout;
  w.ensure(16 + 8 * L.keyCols.length);
  w.varint(L.arity);
  w.varint(L.keyCols.length);
  for (const c of L.keyCols) w.varint(c);
  w.varint(n);
  w.varint(objs.length);
  for (const [key, v] of objs) {
    if (version === SEGMENT_V_TRACE) w.string(key);
    const codec = codecs.find((c) => c.is(v));
    if (codec === undefined) throw unsupported('no codec for an object value', v);
    let idx = enc.used.indexOf(codec);
    if (idx < 0) idx = enc.used.push(codec) - 1;
    const parts = codec.encode(v);
    w.ensure(16);
    w.varint(idx);
    w.varint(parts.length);
    for (const part of parts) enc.value(part, true);
  }
  const arena = tb.arena;
  w.ensure(8);
  w.varint(arena.length);
  const head = new Writer(64);
  head.ensure(1);
  head.buf[head.pos++] = (inline !== null ? 3 : 1) | (ordered !== null ? 4 : 0);
  if (inline !== null) head.string(inline.name);
  if (ordered !== null) head.string(ordered.keyName as string);
  head.ensure(8);
  head.varint(enc.used.length);
  for (const c of enc.used) head.string(c.tag);
  yield head.result();
  yield w.result();
  const off = tb.offsets;
  const spl = tb.splits;
  const wts = tb.wts;
  // each slice's writer is sized by the slice before it (entries of a batch take alike: 3 bytes each for rows of
  // numbers), not at the 24 bytes an entry can take at most: that was 120 MiB of buffers for a 5M-entry batch
  // whose index is 15 MiB; a slice that needs more grows its writer
  let ix = new Writer(Math.min(n, ENTRIES_PER_SLICE) * 4);
  for (let i = 0; i < n; i++) {
    if (i % ENTRIES_PER_SLICE === 0 && i > 0) {
      const used = ix.pos;
      yield ix.result();
      yield;
      ix = new Writer(Math.ceil(used * 1.0625) + 64);
    }
    ix.ensure(24);
    const a = off[i] as number;
    ix.varint((off[i + 1] as number) - a);
    ix.varint((spl[i] as number) - a);
    const weight = wts[i] as number;
    if (!Number.isInteger(weight) || weight === 0 || Math.abs(weight) > MAX_ZIGZAG_INT)
      throw new StorageError(
        'CheckpointValueUnsupported',
        `weight ${weight} is not a non-zero integer within ±2^52`,
        {},
      );
    ix.varint(weight >= 0 ? weight * 2 : -weight * 2 - 1);
  }
  if (ix.pos > 0) yield ix.result();
  yield arena;
  return version;
}

/**
 * Decodes a v3 or v6 (or, with `version` 2, a v2) payload into a sealed trace batch.
 * @throws StorageError CheckpointCorrupt
 */
export function decodeTracePayload(
  payload: Buffer,
  codecs: readonly ObjectValueCodec[] = [],
  version: 2 | 3 | 6 = SEGMENT_V_TRACE3,
): TraceBatch {
  const r = new Reader(payload);
  const flags = payload[r.take(1)] as number;
  if (version !== SEGMENT_V_TRACE && (flags & 2) !== 0) {
    const name = r.string();
    const registered = inlineObjects();
    if (registered === null || registered.name !== name)
      throw corrupt(`segment holds inline values of codec '${name}', which is not registered`, {
        codec: name,
      });
  }
  if (version === SEGMENT_V_TRACE6 && (flags & 4) !== 0) {
    const name = r.string();
    const registered = inlineObjects()?.keyName;
    if (registered !== name)
      throw corrupt(`segment holds key values of codec '${name}', which is not registered`, { codec: name });
  } else if ((flags & 4) !== 0) throw corrupt(`format v${version} has no ordered key values`);
  const table = readCodecTable(r, codecs);
  const arity = r.varint();
  const kc = r.varint();
  if (kc > arity || arity > payload.length) throw corrupt('bad trace batch layout');
  const keyCols: number[] = [];
  for (let i = 0; i < kc; i++) {
    const c = r.varint();
    if (c >= arity || keyCols.includes(c)) throw corrupt('bad trace batch key column');
    keyCols.push(c);
  }
  const n = r.varint();
  if (n > payload.length) throw corrupt('segment row count exceeds its size');
  const nobj = r.varint();
  if (nobj > payload.length) throw corrupt('bad object count');
  const objects = new Map<string, ObjectValue>();
  for (let i = 0; i < nobj; i++) {
    const key = version === SEGMENT_V_TRACE ? r.string() : null;
    const codec = table[r.varint()];
    if (codec === undefined) throw corrupt('object value refers to an unknown codec');
    const m = r.varint();
    const parts: PrimitiveValue[] = [];
    for (let j = 0; j < m; j++) parts.push(readValue(r, table, true) as PrimitiveValue);
    let v: ObjectValue;
    try {
      v = codec.decode(parts);
    } catch (e) {
      throw corrupt(`codec '${codec.tag}' rejects a value: ${(e as Error).message}`);
    }
    if (key !== null && v.hashKey() !== key)
      throw corrupt(`codec '${codec.tag}' gives back a different value`);
    objects.set(key ?? v.hashKey(), v);
  }
  const arenaLength = r.varint();
  const offsets = new Uint32Array(n + 1);
  const splits = new Uint32Array(n);
  const weights = new Float64Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const len = r.varint();
    const klen = r.varint();
    const z = r.varint();
    if (klen > len || z === 0) throw corrupt('bad trace batch entry');
    offsets[i] = at;
    splits[i] = at + klen;
    weights[i] = unzigzag(z);
    at += len;
    if (at > arenaLength) throw corrupt('trace batch entries exceed the arena');
  }
  if (r.pos > r.end) throw corrupt('segment payload truncated');
  offsets[n] = at;
  if (at !== arenaLength || r.end - r.pos !== arenaLength) throw corrupt('trace batch arena length mismatch');
  // the arena is the payload's tail, used in place (the payload is this batch's own buffer; its head, a few
  // bytes per row of varints, stays allocated with it rather than copying the arena)
  const arena = payload.subarray(r.pos, r.end);
  return new TraceBatch({ layout: traceLayout(arity, keyCols), arena, offsets, splits, weights, objects });
}

/** Checks the header and returns the decompressed payload (see {@link readSegment} for its version). */
export function readSegmentPayload(bytes: Uint8Array): Buffer {
  return readSegment(bytes).payload;
}

/** Checks the header and returns the format version and the decompressed payload. */
export function readSegment(bytes: Uint8Array): { version: number; payload: Buffer } {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER_SIZE || b.readUInt32LE(0) !== MAGIC) throw corrupt('not a segment file (bad magic)');
  const version = b[4] as number;
  if (version > SEGMENT_FORMAT_VERSION)
    throw new StorageError(
      'CheckpointFormatUnsupported',
      `segment format version ${version} is newer than this build supports (${SEGMENT_FORMAT_VERSION})`,
      { version },
    );
  if (isBatchFileVersion(version))
    throw corrupt(`a v${version} segment (batch file) has no single payload: read it with decodeSegment`);
  if (version < SEGMENT_V_ROWS || version > SEGMENT_V_TRACE6)
    throw corrupt(`bad segment format version ${version}`);
  if (b[5] !== COMPRESSION_ZSTD) throw corrupt(`unknown segment compression ${b[5]}`);
  const length = Number(b.readBigUInt64LE(8));
  let payload: Buffer;
  try {
    // one output buffer of the known size: zlib's default 16 KiB chunks cost a concat of the whole payload
    payload = zstdDecompressSync(b.subarray(HEADER_SIZE), {
      maxOutputLength: Math.max(1, length),
      chunkSize: Math.min(Math.max(64, length), 2 ** 31 - 1),
    });
  } catch (e) {
    throw corrupt(`segment does not decompress: ${(e as Error).message}`);
  }
  if (payload.length !== length)
    throw corrupt('segment payload length mismatch', { expected: length, actual: payload.length });
  return { version, payload };
}

class Reader {
  readonly buf: Buffer;
  pos = 0;
  readonly end: number;

  constructor(buf: Buffer) {
    this.buf = buf;
    this.end = buf.length;
  }

  varint(): number {
    const buf = this.buf;
    let b = buf[this.pos++] as number;
    if (b < 0x80) return b;
    let z = b & 127;
    let mul = 128;
    for (;;) {
      b = buf[this.pos++] as number;
      if (b === undefined) throw corrupt('segment payload ends inside a varint');
      z += (b & 127) * mul;
      if (b < 0x80) return z;
      mul *= 128;
      if (mul > 2 ** 56) throw corrupt('varint too long');
    }
  }

  take(n: number): number {
    const at = this.pos;
    if (at + n > this.end) throw corrupt('segment payload truncated');
    this.pos = at + n;
    return at;
  }

  string(): string {
    const len = this.varint();
    const at = this.take(len);
    const buf = this.buf;
    if (len <= 16) {
      let s = '';
      for (let i = at; i < at + len; i++) {
        const c = buf[i] as number;
        if (c >= 0x80) return buf.toString('utf8', at, at + len);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return buf.toString('utf8', at, at + len);
  }
}

function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

function readValue(r: Reader, codecs: readonly ObjectValueCodec[], nested: boolean): Value {
  const buf = r.buf;
  const tag = buf[r.pos++];
  switch (tag) {
    case T_NULL:
      return null;
    case T_FALSE:
      return false;
    case T_TRUE:
      return true;
    case T_INT:
      return unzigzag(r.varint());
    case T_F64:
      getScratch(buf, r.take(8));
      return F64[0] as number;
    case T_I64:
      getScratch(buf, r.take(8));
      return I64[0] as bigint;
    case T_BIGINT: {
      const neg = buf[r.take(1)] === 1;
      const len = r.varint();
      const at = r.take(len);
      const hex = Buffer.from(buf.subarray(at, at + len))
        .reverse()
        .toString('hex');
      const mag = len === 0 ? 0n : BigInt(`0x${hex}`);
      return neg ? -mag : mag;
    }
    case T_STR:
      return r.string();
    case T_STR16: {
      const n = r.varint();
      const at = r.take(n * 2);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(buf.readUInt16LE(at + 2 * i));
      return s;
    }
    case T_INL: {
      const inline = nested ? null : INLINE_READ;
      if (inline === null) throw corrupt('unexpected inline object value');
      const len = r.varint();
      const at = r.take(len);
      try {
        return inline.decode(buf, at, at + len);
      } catch (e) {
        throw corrupt(`bad inline object value: ${(e as Error).message}`);
      }
    }
    case T_OBJ: {
      if (nested) throw corrupt('nested object value');
      const codec = codecs[r.varint()];
      if (codec === undefined) throw corrupt('object value refers to an unknown codec');
      const n = r.varint();
      const parts: PrimitiveValue[] = [];
      for (let i = 0; i < n; i++) parts.push(readValue(r, codecs, true) as PrimitiveValue);
      try {
        return codec.decode(parts);
      } catch (e) {
        throw corrupt(`codec '${codec.tag}' rejects a value: ${(e as Error).message}`);
      }
    }
    default:
      throw corrupt(`unknown value tag ${tag}`);
  }
}

function readCodecTable(r: Reader, codecs: readonly ObjectValueCodec[]): ObjectValueCodec[] {
  const ncodecs = r.varint();
  const table: ObjectValueCodec[] = [];
  for (let i = 0; i < ncodecs; i++) {
    const tag = r.string();
    const c = codecs.find((x) => x.tag === tag);
    if (c === undefined)
      throw corrupt(`segment uses value codec '${tag}', which is not registered`, { codec: tag });
    table.push(c);
  }
  return table;
}

/**
 * The inline codec a v4 payload being decoded may use (set for the duration of one decode: decoding is
 * synchronous and not re-entrant); null: tag 10 is refused.
 */
let INLINE_READ: ReturnType<typeof inlineObjects> = null;

/** Decodes an uncompressed v1 payload (see {@link encodeSegmentPayload}), or with `version` 4 a v4 payload. */
export function decodeSegmentPayload(
  payload: Buffer,
  codecs: readonly ObjectValueCodec[] = [],
  version: 1 | 4 = SEGMENT_V_ROWS,
): Batch {
  const r = new Reader(payload);
  const flags = payload[r.take(1)] as number;
  INLINE_READ = null;
  if (version === SEGMENT_V_ROWS4 && (flags & 2) !== 0) {
    const name = r.string();
    const registered = inlineObjects();
    if (registered === null || registered.name !== name)
      throw corrupt(`segment holds inline values of codec '${name}', which is not registered`, {
        codec: name,
      });
    INLINE_READ = registered;
  }
  try {
    return decodeRows(r, payload, flags, codecs);
  } finally {
    INLINE_READ = null;
  }
}

function decodeRows(r: Reader, payload: Buffer, flags: number, codecs: readonly ObjectValueCodec[]): Batch {
  const table = readCodecTable(r, codecs);
  const n = r.varint();
  if (n > payload.length) throw corrupt('segment row count exceeds its size');
  const rows: Row[] = new Array(n);
  const weights: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const m = r.varint();
    const row: Value[] = [];
    for (let j = 0; j < m; j++) row.push(readValue(r, table, false));
    rows[i] = row;
    weights[i] = unzigzag(r.varint());
    if (r.pos > r.end) throw corrupt('segment payload truncated');
  }
  if (r.pos !== r.end) throw corrupt('trailing bytes after the last row');
  return (flags & 1) === 1 ? { rows, weights, consolidated: true } : { rows, weights };
}

/**
 * Decodes a segment file: a v1 or v4 file gives a plain batch, a v2 or v3 file a {@link TraceBatch}. With `expect.hash`, the bytes' SHA-256 must match; with `expect.rows`, the row count.
 * @throws StorageError CheckpointCorrupt | CheckpointFormatUnsupported
 */
export function decodeSegment(
  bytes: Uint8Array,
  codecs: readonly ObjectValueCodec[] = [],
  expect: { hash?: string; rows?: number } = {},
): Batch {
  if (expect.hash !== undefined) {
    const actual = sha256Hex(bytes);
    if (actual !== expect.hash)
      throw corrupt(`segment ${expect.hash} fails its hash check`, { hash: expect.hash, actual });
  }
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let batch: Batch;
  if (b.length >= HEADER_SIZE && b.readUInt32LE(0) === MAGIC && isBatchFileVersion(b[4])) {
    if ((b[4] as number) > SEGMENT_FORMAT_VERSION) readSegment(b); // refused as too new
    // a batch file read as bytes (no spilling here): its entries are copied into an in-memory batch
    const tb = loadFileBatch(
      asStorageError(() => openBatchBytes(b, expect.hash ?? '', (t) => decodeObjectTable(t, codecs))),
    );
    batch = b[4] === SEGMENT_V_FILE ? upgradeKeys(tb) : tb;
  } else {
    const { version, payload } = readSegment(bytes);
    batch =
      version === SEGMENT_V_ROWS || version === SEGMENT_V_ROWS4
        ? decodeSegmentPayload(payload, codecs, version)
        : version === SEGMENT_V_TRACE6
          ? decodeTracePayload(payload, codecs, SEGMENT_V_TRACE6)
          : upgradeKeys(
              decodeTracePayload(
                payload,
                codecs,
                version === SEGMENT_V_TRACE ? SEGMENT_V_TRACE : SEGMENT_V_TRACE3,
              ),
            );
  }
  const actual = entryCount(batch);
  if (expect.rows !== undefined && actual !== expect.rows)
    throw corrupt('segment row count differs from the manifest', {
      hash: expect.hash ?? null,
      expected: expect.rows,
      actual,
    });
  return batch;
}

/**
 * Whether a batch of an older format (v2, v3, v5) holds nested values by hash key that this build keeps in key
 * columns in their ordered form (tag 0x22): its object table has a value the registered codec takes.
 */
export function needsKeyUpgrade(objects: ReadonlyMap<string, ObjectValue> | null): boolean {
  const c = inlineObjects();
  if (objects === null || c === null || c.encodeKey === undefined) return false;
  for (const v of objects.values()) if (c.is(v)) return true;
  return false;
}

/**
 * A batch of an older format re-encoded as this build encodes it, when {@link needsKeyUpgrade}: a nested value in
 * a key column was its hash key (tag 0x20), it is now its ordered key form, so a key restored from an old
 * checkpoint and the same key arriving later have the same bytes (and the batch is re-sorted: the order
 * changed). Every row is decoded and encoded once; other batches are returned as they are.
 */
export function upgradeKeys(tb: TraceBatch): TraceBatch {
  if (!needsKeyUpgrade(tb.objects)) return tb;
  const n = tb.length;
  const rows = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = tb.row(i);
  return buildBatch(tb.layout, rows, Array.from(tb.wts));
}

/**
 * A batch's object table, encoded for a v3 batch file: a v2 payload of the layout with no entries (the table is
 * all it holds). Decoded by {@link decodeObjectTable}.
 */
export function encodeObjectTable(
  layout: FileLayout,
  objects: ReadonlyMap<string, ObjectValue>,
  codecs: readonly ObjectValueCodec[],
): Buffer {
  const empty = new TraceBatch({
    layout: traceLayout(layout.arity, layout.keyCols),
    arena: Buffer.alloc(0),
    offsets: new Uint32Array(1),
    splits: new Uint32Array(0),
    weights: new Float64Array(0),
    objects,
  });
  return encodeTracePayload(empty, codecs);
}

/** The object table written by {@link encodeObjectTable}. @throws StorageError CheckpointCorrupt */
export function decodeObjectTable(
  bytes: Buffer,
  codecs: readonly ObjectValueCodec[],
): Map<string, ObjectValue> {
  return new Map(decodeTracePayload(bytes, codecs).objects ?? []);
}

/** Runs `fn`, turning the batch-file reader's `CheckpointCorrupt` into a {@link StorageError} of that code. */
export function asStorageError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const code = (e as { errorCode?: unknown }).errorCode;
    if (code === 'CheckpointCorrupt' && !(e instanceof StorageError))
      throw new StorageError('CheckpointCorrupt', (e as Error).message, {
        ...((e as { details?: Record<string, unknown> }).details ?? {}),
      });
    throw e;
  }
}
