/**
 * File-backed trace batches (state beyond memory): a sealed batch written to an immutable, block-structured,
 * random-access file (segment format v7; v5 still read) in the pipeline's spill directory, read back by blocks
 * through one process-wide LRU block cache bounded by `cache_mib`.
 *
 * # Format v7 (v5 plus one flag; little-endian; pinned by `tests/golden/checkpoint-v7`, v5 by `checkpoint-v5`)
 * ```
 * header (16): "HFSG" | u8 version (7; 5 in files of earlier builds) | u8 0 | u16 0 | u64 0
 * blocks:      block 0, block 1, ... each stored raw or as one zstd frame (the index says which)
 * meta:        varint arity, varint key column count, each key column (varint)
 *              varint entry count n, varint block count B
 *              per block: varint file offset, varint stored length, varint raw length, u8 compressed (0/1),
 *                         u32 CRC-32 of the stored bytes, varint first entry number,
 *                         varint first key length + the first entry's key bytes
 *              varint last key length + the last entry's key bytes
 *              varint object table length + the object table (opaque here: a v2 segment payload with no entries,
 *                         encoded and decoded by functions the storage layer injects; empty when there is none)
 *              optional varint flags (absent: 0): 1 = column 0 is a key derived from the row (a join side);
 *                         2 = key columns hold nested values in their ordered key form (key-codec tag 0x22),
 *                         followed by the key codec's name (varint length + UTF-8), e.g. `sql-nested-key-1` (v7)
 * trailer (20): u64 meta offset | u32 meta length | u32 CRC-32 of meta | "HFSE"
 * block (raw): u32 entry count m | u32 arena length | m × f64 weight | (m+1) × u32 entry offset (from the arena's
 *              start) | m × u32 key/value split | arena (the entries' order-preserving encodings, sorted)
 * ```
 * A block holds about {@link BLOCK_BYTES} (16 KiB) of arena; its layout keeps every array 8-aligned so a block read into its
 * own buffer is used in place (typed-array views, no copy). The file is named by the SHA-256 of its bytes, like
 * every segment; a reader checks each block's CRC-32 when it reads it (`CheckpointCorrupt` on a mismatch), and
 * a checkpoint restore or sync checks the whole file's hash first.
 *
 * # State
 * - The spill configuration ({@link setSpillConfig}): directory, threshold (`min_storage_bytes`), block cache size
 *   (`cache_mib`), block compression and the object-table codec. Null (the default): nothing spills.
 * - One {@link BlockCache} for the process: decoded blocks by (file id, block), least recently used evicted once
 *   the bytes held exceed the bound. A reader keeps a block it is using alive by reference, so eviction never
 *   pulls bytes from under a lookup; the bound is on what the cache retains.
 * - A {@link FileBatch} holds an open descriptor and its block index (first key and offsets per block: a few
 *   dozen bytes per 64 KiB of entries) and the batch's object table; nothing per entry.
 *
 * # Invariants
 * - Files are immutable and content-addressed; a spill file is `<spill dir>/<sha256>`. A batch that is merged
 *   away {@link FileBatch.release}s its path (unlinks it; the open descriptor still reads, so a checkpoint in
 *   flight copies from it); the descriptor closes when the batch is garbage collected.
 * - Entry order, consolidation and bytes are exactly those of the in-memory batch it replaces: a file-backed
 *   batch answers every lookup, scan and merge the same way.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { crc32, constants as zc, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { ServiceError } from '../errors/service-error.ts';
import {
  compareBytes,
  decodeKeyValue,
  inlineObjects,
  K_ORD,
  type KeyReader,
  skipKeyValue,
} from './key-codec.ts';
import type { ObjectValue, Row, Value } from './value.ts';

/** Segment format version of a block-structured batch file this build writes (v5 files are still read). */
export const BATCH_FILE_VERSION = 7;
/** Arena bytes per block (a block closes at the first entry that reaches it). */
export const BLOCK_BYTES = 16 * 1024;
const MAGIC = 0x47534648; // "HFSG"
const END_MAGIC = 0x45534648; // "HFSE"
const HEADER_SIZE = 16;
const TRAILER_SIZE = 20;

/** Same shape as `trace.ts`'s TraceLayout (kept structural: this module sits below the trace). */
export interface FileLayout {
  readonly arity: number;
  readonly keyCols: readonly number[];
  readonly valCols: readonly number[];
  /** Column 0 is a key derived from the row (a join side's `[key, ...row]`): plain reads leave it out. */
  readonly derivedKey?: boolean;
}

/** Same shape as `trace.ts`'s BatchSegment. */
export interface FileSegment {
  readonly hash: string;
  readonly size: number;
  readonly rows: number;
}

export interface SpillConfig {
  /** Directory of spill files (emptied by {@link setSpillConfig}: files of an earlier process are garbage). */
  readonly dir: string;
  /** A sealed or merged batch of at least this many bytes is written to a file (`min_storage_bytes`). */
  readonly minStorageBytes: number;
  /** Bound of the block cache (`cache_mib` × 2^20). */
  readonly cacheBytes: number;
  /** Compress each block with zstd (`compression` other than "none"). */
  readonly compress: boolean;
  /** Arena bytes per block (default {@link BLOCK_BYTES}; tests use tiny blocks). */
  readonly blockBytes?: number;
  /**
   * Write sealed batches' files in the background (`spill-writer.ts`: a worker thread) instead of on the step
   * (the pipeline's setting; unset: synchronous, as unit tests of the file format want).
   */
  readonly background?: boolean;
  /** Encodes a batch's object table (null when it has none); injected by the storage layer. */
  readonly encodeObjects: (layout: FileLayout, objects: ReadonlyMap<string, ObjectValue>) => Buffer;
  readonly decodeObjects: (bytes: Buffer) => Map<string, ObjectValue>;
}

let spill: SpillConfig | null = null;

/**
 * Turns spilling on (or off, with null) for traces in this process. Creates the spill directory and removes
 * what an earlier process left in it. Resizes the block cache.
 */
export function setSpillConfig(c: SpillConfig | null): void {
  spill = c;
  if (c !== null) {
    mkdirSync(c.dir, { recursive: true });
    for (const name of readdirSync(c.dir)) rmSync(join(c.dir, name), { force: true, recursive: true });
    BLOCK_CACHE.resize(c.cacheBytes);
  }
}

export function spillConfig(): SpillConfig | null {
  return spill;
}

function corrupt(message: string, details: Record<string, unknown> = {}): ServiceError {
  return new ServiceError('CheckpointCorrupt', message, details);
}

/** A decoded block: views into one buffer. */
export interface Block {
  readonly n: number;
  /** Global number of the block's first entry. */
  readonly first: number;
  readonly wts: Float64Array;
  readonly offsets: Uint32Array;
  readonly splits: Uint32Array;
  readonly arena: Buffer;
  readonly bytes: number;
}

/** Process-wide LRU of decoded blocks, bounded by bytes. */
export class BlockCache {
  #max: number;
  #bytes = 0;
  #map = new Map<string, Block>();
  hits = 0;
  misses = 0;
  peakBytes = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get maxBytes(): number {
    return this.#max;
  }

  resize(max: number): void {
    this.#max = max;
    this.#evict();
  }

  /** Whether `key` is cached (no hit counted, no reordering). */
  has(key: string): boolean {
    return this.#map.has(key);
  }

  get(key: string): Block | undefined {
    const b = this.#map.get(key);
    if (b === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#map.delete(key);
    this.#map.set(key, b);
    return b;
  }

  set(key: string, b: Block): void {
    if (b.bytes > this.#max) return; // larger than the whole cache: used once, not retained
    this.#map.set(key, b);
    this.#bytes += b.bytes;
    this.#evict();
    if (this.#bytes > this.peakBytes) this.peakBytes = this.#bytes;
  }

  /** Drops every block of file `id` (its batch was released). */
  dropFile(id: number, blocks: number): void {
    for (let i = 0; i < blocks; i++) {
      const k = `${id}:${i}`;
      const b = this.#map.get(k);
      if (b !== undefined) {
        this.#map.delete(k);
        this.#bytes -= b.bytes;
      }
    }
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  #evict(): void {
    while (this.#bytes > this.#max) {
      const first = this.#map.entries().next();
      if (first.done === true) break;
      const [k, b] = first.value;
      this.#map.delete(k);
      this.#bytes -= b.bytes;
    }
  }
}

/** Feldera's default: 256 MiB per worker (one worker here). */
export const DEFAULT_CACHE_BYTES = 256 * 2 ** 20;
export const BLOCK_CACHE = new BlockCache(DEFAULT_CACHE_BYTES);

const closer = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
});

let nextFileId = 1;

/** File-backed batches that may still be read, weakly held (what {@link prewarmBlockCache} reads). */
const LIVE = new Set<WeakRef<FileBatch>>();
let warming = false;

/**
 * Reads the blocks of the live file-backed batches into the block cache until it is nearly full (what a warm
 * standby does while it waits, so the lookups of an activation's final delta hit memory), yielding to the event
 * loop after every `sliceMs` of work. One run at a time; stops at the first unreadable block (the read that
 * needs it reports the damage). Returns the number of blocks read.
 */
export async function prewarmBlockCache(sliceMs = 4): Promise<number> {
  if (warming) return 0;
  warming = true;
  let read = 0;
  try {
    let t0 = performance.now();
    for (const ref of [...LIVE]) {
      const fb = ref.deref();
      if (fb === undefined) {
        LIVE.delete(ref);
        continue;
      }
      const perBlock = fb.dataBytes / Math.max(1, fb.blockCount);
      for (let b = 0; b < fb.blockCount && fb.readable; b++) {
        if (BLOCK_CACHE.bytes + 2 * perBlock > BLOCK_CACHE.maxBytes) return read;
        if (fb.isCached(b)) continue;
        fb.block(b);
        read++;
        if (performance.now() - t0 > sliceMs) {
          await new Promise<void>((r) => setImmediate(r));
          t0 = performance.now();
        }
      }
    }
  } catch {
    // a damaged block: left for the read that needs it
  } finally {
    warming = false;
  }
  return read;
}

/** Where one entry's bytes are: `buf[s..e)`, key until `split`. */
export interface EntryView {
  buf: Buffer;
  s: number;
  split: number;
  e: number;
  w: number;
}

export function newEntryView(): EntryView {
  return { buf: EMPTY, s: 0, split: 0, e: 0, w: 0 };
}

const EMPTY: Buffer = Buffer.alloc(0);
const READER: KeyReader = { pos: 0 };

interface BlockIndex {
  readonly off: Float64Array;
  readonly len: Uint32Array;
  readonly raw: Uint32Array;
  readonly comp: Uint8Array;
  readonly crc: Uint32Array;
  /** B + 1 entries: first entry of each block, then n. */
  readonly first: Uint32Array;
  readonly firstKeys: Buffer;
  /** B + 1 offsets into firstKeys. */
  readonly fkOff: Uint32Array;
  readonly lastKey: Buffer;
}

/**
 * A sealed trace batch held in a v5 file: the same operations as an in-memory `TraceBatch`, entries read by block
 * through {@link BLOCK_CACHE}. Entry numbers are global (0..length).
 */
export class FileBatch {
  readonly layout: FileLayout;
  readonly objects: ReadonlyMap<string, ObjectValue> | null;
  readonly consolidated = true as const;
  readonly length: number;
  /** Bytes of the file. */
  readonly fileSize: number;
  /** Raw bytes of the entries (what the in-memory batch would hold). */
  readonly dataBytes: number;
  readonly hash: string;
  /** The file as a checkpoint segment (it is one: content-addressed, hash-verified). */
  segment: FileSegment | null;
  /** Key columns hold nested values in their ordered key form (flag 2 of the index). */
  readonly orderedKeys: boolean;
  readonly #id = nextFileId++;
  readonly #ref = new WeakRef(this);
  #closed = false;
  /** Open descriptor of the file, or -1 for a batch read from bytes in memory ({@link openBatchBytes}). */
  readonly #fd: number;
  readonly #bytes: Buffer | null;
  #path: string | null;
  readonly #ix: BlockIndex;
  #last: Block | null = null;
  #decoded: { rows: Row[]; weights: number[] } | null = null;

  constructor(
    path: string | null,
    fd: number,
    bytes: Buffer | null,
    hash: string,
    size: number,
    layout: FileLayout,
    n: number,
    ix: BlockIndex,
    objects: Map<string, ObjectValue> | null,
    orderedKeys = false,
  ) {
    this.orderedKeys = orderedKeys;
    this.#path = path;
    this.#fd = fd;
    this.#bytes = bytes;
    this.hash = hash;
    this.fileSize = size;
    this.layout = layout;
    this.length = n;
    this.#ix = ix;
    this.objects = objects !== null && objects.size > 0 ? objects : null;
    let raw = 0;
    for (let i = 0; i < ix.raw.length; i++) raw += ix.raw[i] as number;
    this.dataBytes = raw;
    this.segment = { hash, size, rows: n };
    if (fd >= 0) closer.register(this, fd, this);
    if (fd >= 0 && path !== null) {
      if (LIVE.size >= 4096) for (const r of LIVE) if (r.deref() === undefined) LIVE.delete(r);
      LIVE.add(this.#ref);
    }
  }

  /** Whether the batch's file is still its own and open (not released, not closed). */
  get readable(): boolean {
    return this.#path !== null && !this.#closed;
  }

  /** Whether block `b` is in the block cache. */
  isCached(b: number): boolean {
    return BLOCK_CACHE.has(`${this.#id}:${b}`);
  }

  /** Reads `len` bytes at file position `pos` into `buf[at..)`; returns the count read. */
  #pread(buf: Buffer, at: number, len: number, pos: number): number {
    const src = this.#bytes;
    if (src !== null) return src.copy(buf, at, pos, Math.min(src.length, pos + len));
    return readSync(this.#fd, buf, at, len, pos);
  }

  /** Closes the descriptor now (a batch read once into memory); the batch must not be read afterwards. */
  close(): void {
    this.#closed = true;
    LIVE.delete(this.#ref);
    if (this.#fd < 0) return;
    closer.unregister(this);
    try {
      closeSync(this.#fd);
    } catch {
      // closed
    }
  }

  /** The file's path while the batch owns it (null once released). */
  get path(): string | null {
    return this.#path;
  }

  get blockCount(): number {
    return this.#ix.len.length;
  }

  /** Bytes held in memory for this batch (the block index). */
  get byteSize(): number {
    const ix = this.#ix;
    return (
      ix.off.byteLength +
      ix.len.byteLength * 3 +
      ix.comp.byteLength +
      ix.first.byteLength +
      ix.firstKeys.length +
      ix.fkOff.byteLength +
      ix.lastKey.length
    );
  }

  /** Unlinks the spill file (the batch was merged away); readers holding the batch still read through its fd. */
  release(): void {
    const p = this.#path;
    if (p === null) return;
    this.#path = null;
    LIVE.delete(this.#ref);
    BLOCK_CACHE.dropFile(this.#id, this.blockCount);
    try {
      unlinkSync(p);
    } catch {
      // gone already
    }
  }

  /** Copies (hard-links when possible) the file to `dest` (a checkpoint's `files/<hash>`), durably. */
  linkTo(dest: string): void {
    if (this.#path !== null) {
      try {
        linkSync(this.#path, dest);
        const fd = openSync(dest, 'r');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
        // another filesystem, or the path is gone: copy from the descriptor
      }
    }
    const tmp = `${dest}.tmp-${process.pid}-${this.#id}`;
    const out = openSync(tmp, 'w');
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let at = 0; at < this.fileSize; ) {
        const k = this.#pread(buf, 0, Math.min(buf.length, this.fileSize - at), at);
        if (k <= 0) throw corrupt('spill file is shorter than its index says', { hash: this.hash });
        writeSync(out, buf, 0, k);
        at += k;
      }
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    renameSync(tmp, dest);
  }

  /** Reads the whole file (for a sync upload or a copy). */
  readAll(): Buffer {
    const buf = Buffer.allocUnsafe(this.fileSize);
    for (let at = 0; at < this.fileSize; ) {
      const k = this.#pread(buf, at, this.fileSize - at, at);
      if (k <= 0) throw corrupt('spill file is shorter than its index says', { hash: this.hash });
      at += k;
    }
    return buf;
  }

  /** Block `b`, from the cache or the file (checked against its CRC-32). `cache: false` for sequential reads. */
  block(b: number, cache = true): Block {
    const key = `${this.#id}:${b}`;
    const hit = BLOCK_CACHE.get(key);
    if (hit !== undefined) return hit;
    const ix = this.#ix;
    const len = ix.len[b] as number;
    const stored = Buffer.allocUnsafeSlow(len);
    let got = 0;
    while (got < len) {
      const k = this.#pread(stored, got, len - got, (ix.off[b] as number) + got);
      if (k <= 0) break;
      got += k;
    }
    if (got !== len || crc32(stored) >>> 0 !== ix.crc[b])
      throw corrupt(`block ${b} of batch file ${this.hash} fails its checksum`, {
        hash: this.hash,
        block: b,
      });
    let raw: Buffer = stored;
    if (ix.comp[b] === 1) {
      let d: Buffer;
      try {
        d = zstdDecompressSync(stored);
      } catch {
        throw corrupt(`block ${b} of batch file ${this.hash} does not decompress`, {
          hash: this.hash,
          block: b,
        });
      }
      if (d.byteOffset % 8 === 0) raw = d;
      else {
        raw = Buffer.allocUnsafeSlow(d.length);
        d.copy(raw);
      }
    }
    const blk = parseBlock(raw, ix.first[b] as number, ix.raw[b] as number);
    if (blk.first + blk.n !== ix.first[b + 1])
      throw corrupt(`block ${b} of batch file ${this.hash} has a wrong entry count`, {
        hash: this.hash,
        block: b,
      });
    if (cache) BLOCK_CACHE.set(key, blk);
    return blk;
  }

  /** The block holding entry i. */
  #blockOf(i: number): Block {
    const l = this.#last;
    if (l !== null && i >= l.first && i < l.first + l.n) return l;
    const f = this.#ix.first;
    let lo = 0;
    let hi = f.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((f[mid] as number) <= i) lo = mid;
      else hi = mid - 1;
    }
    const blk = this.block(lo);
    this.#last = blk;
    return blk;
  }

  /** Points `v` at entry i. */
  view(i: number, v: EntryView): void {
    const blk = this.#blockOf(i);
    const j = i - blk.first;
    v.buf = blk.arena;
    v.s = blk.offsets[j] as number;
    v.split = blk.splits[j] as number;
    v.e = blk.offsets[j + 1] as number;
    v.w = blk.wts[j] as number;
  }

  weight(i: number): number {
    const blk = this.#blockOf(i);
    return blk.wts[i - blk.first] as number;
  }

  row(i: number): Row {
    const blk = this.#blockOf(i);
    const j = i - blk.first;
    const L = this.layout;
    const out: Value[] = new Array(L.arity);
    const r = READER;
    r.pos = blk.offsets[j] as number;
    const end = blk.offsets[j + 1] as number;
    for (const c of L.keyCols) out[c] = decodeKeyValue(blk.arena, r, end, this.objects);
    for (const c of L.valCols) out[c] = decodeKeyValue(blk.arena, r, end, this.objects);
    return out;
  }

  valueInto(i: number, out: Value[]): void {
    const blk = this.#blockOf(i);
    const j = i - blk.first;
    const r = READER;
    r.pos = blk.splits[j] as number;
    const end = blk.offsets[j + 1] as number;
    for (const c of this.layout.valCols) out[c] = decodeKeyValue(blk.arena, r, end, this.objects);
  }

  /** Entry i's first key column, decoded. */
  firstKeyValue(i: number): Value {
    const blk = this.#blockOf(i);
    const j = i - blk.first;
    const r = READER;
    r.pos = blk.offsets[j] as number;
    return decodeKeyValue(blk.arena, r, blk.splits[j] as number, this.objects);
  }

  keyInRange(key: Uint8Array, ks: number, ke: number): boolean {
    if (this.length === 0) return false;
    const ix = this.#ix;
    return (
      compareBytes(key, ks, ke, ix.firstKeys, 0, ix.fkOff[1] as number) >= 0 &&
      compareBytes(key, ks, ke, ix.lastKey, 0, ix.lastKey.length) <= 0
    );
  }

  /**
   * The block where a search for `key[ks..ke)` starts: the last whose first key (cut to `len` bytes when
   * `prefix`) sorts before the key; 0 when none does. The answer is in that block or is the next block's first.
   */
  #startBlock(key: Uint8Array, ks: number, ke: number, prefix: boolean): number {
    const ix = this.#ix;
    const B = ix.len.length;
    let lo = 0;
    let hi = B - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const s = ix.fkOff[mid] as number;
      const e = prefix ? Math.min(ix.fkOff[mid + 1] as number, s + (ke - ks)) : (ix.fkOff[mid + 1] as number);
      if (compareBytes(ix.firstKeys, s, e, key, ks, ke) < 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** First entry whose key is ≥ the key (`prefix`: comparing the entry cut to the key's length), global. */
  #lower(key: Uint8Array, ks: number, ke: number, prefix: boolean): number {
    if (this.length === 0) return 0;
    const b = this.#startBlock(key, ks, ke, prefix);
    const blk = this.block(b);
    this.#last = blk;
    const o = blk.offsets;
    const sp = blk.splits;
    const arena = blk.arena;
    const len = ke - ks;
    let lo = 0;
    let hi = blk.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = o[mid] as number;
      const e = prefix ? Math.min(o[mid + 1] as number, s + len) : (sp[mid] as number);
      if (compareBytes(arena, s, e, key, ks, ke) < 0) lo = mid + 1;
      else hi = mid;
    }
    return blk.first + lo;
  }

  find(key: Uint8Array, ks: number, ke: number, _h: number): number {
    const i = this.#lower(key, ks, ke, false);
    if (i >= this.length) return -1;
    const blk = this.#blockOf(i);
    const j = i - blk.first;
    return compareBytes(blk.arena, blk.offsets[j] as number, blk.splits[j] as number, key, ks, ke) === 0
      ? i
      : -1;
  }

  lowerBound(key: Uint8Array, ks: number, ke: number): number {
    return this.#lower(key, ks, ke, true);
  }

  hasPrefix(i: number, key: Uint8Array, ks: number, ke: number): boolean {
    const blk = this.#blockOf(i);
    const j = i - blk.first;
    const s = blk.offsets[j] as number;
    const len = ke - ks;
    if ((blk.offsets[j + 1] as number) - s < len) return false;
    for (let t = 0; t < len; t++) if (blk.arena[s + t] !== key[ks + t]) return false;
    return true;
  }

  sameKey(i: number, j: number): boolean {
    const a = this.#blockOf(i);
    const ai = i - a.first;
    const b = this.#blockOf(j);
    const bj = j - b.first;
    return (
      compareBytes(
        a.arena,
        a.offsets[ai] as number,
        a.splits[ai] as number,
        b.arena,
        b.offsets[bj] as number,
        b.splits[bj] as number,
      ) === 0
    );
  }

  get rows(): Row[] {
    return this.#decode().rows;
  }

  get weights(): number[] {
    return this.#decode().weights;
  }

  #decode(): { rows: Row[]; weights: number[] } {
    if (this.#decoded !== null) return this.#decoded;
    const rows: Row[] = new Array(this.length);
    const weights: number[] = new Array(this.length);
    const derived = this.layout.derivedKey === true;
    for (let i = 0; i < this.length; i++) {
      rows[i] = derived ? this.row(i).slice(1) : this.row(i);
      weights[i] = this.weight(i);
    }
    this.#decoded = { rows, weights };
    return this.#decoded;
  }

  /** Every entry in order, block by block, without filling the cache (merges, copies). */
  *blocks(): Generator<Block> {
    for (let b = 0; b < this.blockCount; b++) yield this.block(b, false);
  }

  /** The stored bytes of block `b` and its index entry (to copy it into another file unchanged). */
  storedBlock(b: number): { bytes: Buffer; raw: number; comp: number; crc: number; n: number } {
    const ix = this.#ix;
    const len = ix.len[b] as number;
    const bytes = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const k = this.#pread(bytes, got, len - got, (ix.off[b] as number) + got);
      if (k <= 0) throw corrupt('spill file is shorter than its index says', { hash: this.hash });
      got += k;
    }
    if (crc32(bytes) >>> 0 !== ix.crc[b])
      throw corrupt(`block ${b} of batch file ${this.hash} fails its checksum`, {
        hash: this.hash,
        block: b,
      });
    return {
      bytes,
      raw: ix.raw[b] as number,
      comp: ix.comp[b] as number,
      crc: ix.crc[b] as number,
      n: (ix.first[b + 1] as number) - (ix.first[b] as number),
    };
  }

  /** First key bytes of block b. */
  blockFirstKey(b: number): Buffer {
    const ix = this.#ix;
    return ix.firstKeys.subarray(ix.fkOff[b] as number, ix.fkOff[b + 1] as number);
  }

  get lastKey(): Buffer {
    return this.#ix.lastKey;
  }
}

function parseBlock(raw: Buffer, first: number, rawLen: number): Block {
  if (raw.length !== rawLen || raw.length < 8) throw corrupt('batch file block has a wrong length');
  const n = raw.readUInt32LE(0);
  const alen = raw.readUInt32LE(4);
  const need = 8 + n * 8 + (n + 1) * 4 + n * 4;
  const pad = (8 - (need % 8)) % 8;
  if (need + pad + alen !== raw.length) throw corrupt('batch file block has a wrong length');
  const ab = raw.buffer;
  const base = raw.byteOffset;
  const wts = new Float64Array(ab, base + 8, n);
  const offsets = new Uint32Array(ab, base + 8 + n * 8, n + 1);
  const splits = new Uint32Array(ab, base + 8 + n * 8 + (n + 1) * 4, n);
  const arena = raw.subarray(need + pad);
  if (offsets[n] !== alen) throw corrupt('batch file block offsets exceed its arena');
  return { n, first, wts, offsets, splits, arena, bytes: raw.length + 200 };
}

/** Little writer of varints and raw bytes. */
class Out {
  buf = Buffer.allocUnsafe(256);
  pos = 0;
  ensure(k: number): void {
    if (this.pos + k <= this.buf.length) return;
    let c = this.buf.length * 2;
    while (c < this.pos + k) c *= 2;
    const b = Buffer.allocUnsafe(c);
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }
  varint(v: number): void {
    this.ensure(10);
    let x = v;
    while (x >= 128) {
      this.buf[this.pos++] = (x % 128) | 128;
      x = Math.floor(x / 128);
    }
    this.buf[this.pos++] = x;
  }
  bytes(b: Uint8Array, s = 0, e = b.length): void {
    this.ensure(e - s);
    this.buf.set(b.subarray(s, e), this.pos);
    this.pos += e - s;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }
  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

class In {
  readonly buf: Buffer;
  pos = 0;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  varint(): number {
    let v = 0;
    let m = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.buf.length) throw corrupt('batch file index is truncated');
      const b = this.buf[this.pos++] as number;
      v += (b & 127) * m;
      if (b < 128) return v;
      m *= 128;
    }
    throw corrupt('batch file index has a bad varint');
  }
  bytes(k: number): Buffer {
    if (this.pos + k > this.buf.length) throw corrupt('batch file index is truncated');
    const b = this.buf.subarray(this.pos, this.pos + k);
    this.pos += k;
    return b;
  }
  u8(): number {
    return this.bytes(1)[0] as number;
  }
  u32(): number {
    return this.bytes(4).readUInt32LE(0);
  }
}

/**
 * Writes a v5 batch file entry by entry (entries must come in order, consolidated), block by block, hashing as
 * it goes; {@link finish} renames it to `<dir>/<sha256>` and opens it as a {@link FileBatch}.
 */
export class BatchFileWriter {
  readonly #dir: string;
  readonly #layout: FileLayout;
  readonly #compress: boolean;
  readonly #blockBytes: number;
  readonly #tmp: string;
  readonly #fd: number;
  readonly #hash: Hash = createHash('sha256');
  #at = 0;
  #n = 0;
  // current block
  #arena = Buffer.allocUnsafe(BLOCK_BYTES * 2);
  #ap = 0;
  #offs: number[] = [];
  #spl: number[] = [];
  #wts: number[] = [];
  // index
  readonly #ix = new Out();
  #blocks = 0;
  #lastKey: Buffer = EMPTY;
  /** A key column holds an ordered nested value (tag 0x22): flag 2. */
  #ordered = false;

  constructor(dir: string, layout: FileLayout, compress: boolean, blockBytes = BLOCK_BYTES) {
    this.#dir = dir;
    this.#layout = layout;
    this.#compress = compress;
    this.#blockBytes = Math.max(1, blockBytes);
    this.#tmp = join(dir, `.w-${process.pid}-${threadId}-${nextFileId++}`);
    this.#fd = openSync(this.#tmp, 'w');
    const h = Buffer.alloc(HEADER_SIZE);
    h.writeUInt32LE(MAGIC, 0);
    h[4] = BATCH_FILE_VERSION;
    this.#write(h);
  }

  get entries(): number {
    return this.#n;
  }

  #write(b: Buffer): void {
    let done = 0;
    while (done < b.length) done += writeSync(this.#fd, b, done, b.length - done);
    this.#hash.update(b);
    this.#at += b.length;
  }

  /** Appends entry `buf[s..e)` (key until `split`) with weight `w`. */
  add(buf: Uint8Array, s: number, split: number, e: number, w: number): void {
    const len = e - s;
    if (this.#ap + len > this.#arena.length) {
      let c = this.#arena.length * 2;
      while (c < this.#ap + len) c *= 2;
      const a = Buffer.allocUnsafe(c);
      this.#arena.copy(a, 0, 0, this.#ap);
      this.#arena = a;
    }
    this.#offs.push(this.#ap);
    this.#spl.push(this.#ap + (split - s));
    this.#wts.push(w);
    if (!this.#ordered)
      for (let i = s; i < split; i++)
        if (buf[i] === K_ORD) {
          const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
          for (let p = s; p < split; p = skipKeyValue(b, p, split)) if (b[p] === K_ORD) this.#ordered = true;
          break;
        }
    this.#arena.set(buf.subarray(s, e), this.#ap);
    this.#ap += len;
    this.#n++;
    if (this.#ap >= this.#blockBytes) this.#flush();
  }

  #flush(): void {
    const m = this.#wts.length;
    if (m === 0) return;
    const need = 8 + m * 8 + (m + 1) * 4 + m * 4;
    const pad = (8 - (need % 8)) % 8;
    const raw = Buffer.alloc(need + pad + this.#ap);
    raw.writeUInt32LE(m, 0);
    raw.writeUInt32LE(this.#ap, 4);
    const wts = new Float64Array(raw.buffer, raw.byteOffset + 8, m);
    const offs = new Uint32Array(raw.buffer, raw.byteOffset + 8 + m * 8, m + 1);
    const spl = new Uint32Array(raw.buffer, raw.byteOffset + 8 + m * 8 + (m + 1) * 4, m);
    for (let i = 0; i < m; i++) {
      wts[i] = this.#wts[i] as number;
      offs[i] = this.#offs[i] as number;
      spl[i] = this.#spl[i] as number;
    }
    offs[m] = this.#ap;
    this.#arena.copy(raw, need + pad, 0, this.#ap);
    const firstKey = this.#arena.subarray(0, this.#spl[0] as number);
    this.#lastKey = Buffer.from(
      this.#arena.subarray(this.#offs[m - 1] as number, this.#spl[m - 1] as number),
    );
    this.#store(raw, this.#n - m, firstKey);
    this.#offs = [];
    this.#spl = [];
    this.#wts = [];
    this.#ap = 0;
  }

  /** Compresses (when on) and writes a raw block whose first entry is number `first`, and indexes it. */
  #store(raw: Buffer, first: number, firstKey: Uint8Array): void {
    let stored = raw;
    let comp = 0;
    if (this.#compress) {
      const c = zstdCompressSync(raw, { params: { [zc.ZSTD_c_compressionLevel]: 1 } });
      if (c.length < raw.length) {
        stored = c;
        comp = 1;
      }
    }
    this.#indexBlock(stored, raw.length, comp, crc32(stored) >>> 0, first, firstKey);
  }

  /**
   * Appends every entry of `e` (sorted, consolidated, after the entries so far): the same blocks and bytes as
   * {@link add} for each entry, but each full block is built from the arrays in bulk (no per-entry work in JS
   * beyond rebasing its offsets).
   */
  addAll(e: EntryArrays): void {
    const o = e.offsets;
    const sp = e.splits;
    const ws = e.weights;
    const n = ws.length;
    const bb = this.#blockBytes;
    let i = 0;
    // a block begun entry by entry is finished that way
    for (; i < n && this.#wts.length > 0; i++)
      this.add(e.arena, o[i] as number, sp[i] as number, o[i + 1] as number, ws[i] as number);
    while (i < n) {
      const base = o[i] as number;
      // the block closes at the first entry whose end reaches the block size (as add's flush does)
      let j = i + 1;
      while (j < n && (o[j] as number) - base < bb) j++;
      if ((o[j] as number) - base < bb) break; // the last block, not full: left open, entry by entry
      const m = j - i;
      const alen = (o[j] as number) - base;
      const need = 8 + m * 8 + (m + 1) * 4 + m * 4;
      const pad = (8 - (need % 8)) % 8;
      const raw = Buffer.alloc(need + pad + alen);
      raw.writeUInt32LE(m, 0);
      raw.writeUInt32LE(alen, 4);
      new Float64Array(raw.buffer, raw.byteOffset + 8, m).set(ws.subarray(i, j));
      const offs = new Uint32Array(raw.buffer, raw.byteOffset + 8 + m * 8, m + 1);
      const spl = new Uint32Array(raw.buffer, raw.byteOffset + 8 + m * 8 + (m + 1) * 4, m);
      for (let k = 0; k < m; k++) {
        offs[k] = (o[i + k] as number) - base;
        spl[k] = (sp[i + k] as number) - base;
      }
      offs[m] = alen;
      if (!this.#ordered) this.#noteOrderedKeys(e, i, j);
      raw.set(e.arena.subarray(base, base + alen), need + pad);
      this.#n += m;
      this.#lastKey = Buffer.from(e.arena.subarray(o[j - 1] as number, sp[j - 1] as number));
      this.#store(raw, this.#n - m, e.arena.subarray(base, sp[i] as number));
      i = j;
    }
    for (; i < n; i++)
      this.add(e.arena, o[i] as number, sp[i] as number, o[i + 1] as number, ws[i] as number);
  }

  /** Sets the ordered-keys flag when a key of entries `i..j` of `e` holds a nested value in its ordered form. */
  #noteOrderedKeys(e: EntryArrays, i: number, j: number): void {
    const a = e.arena;
    if (a.subarray(e.offsets[i] as number, e.offsets[j] as number).indexOf(K_ORD) < 0) return;
    const b = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (let k = i; k < j && !this.#ordered; k++) {
      const end = e.splits[k] as number;
      for (let p = e.offsets[k] as number; p < end; p = skipKeyValue(b, p, end))
        if (b[p] === K_ORD) {
          this.#ordered = true;
          break;
        }
    }
  }

  #indexBlock(
    stored: Buffer,
    rawLen: number,
    comp: number,
    crc: number,
    first: number,
    firstKey: Uint8Array,
  ): void {
    const ix = this.#ix;
    ix.varint(this.#at);
    ix.varint(stored.length);
    ix.varint(rawLen);
    ix.ensure(1);
    ix.buf[ix.pos++] = comp;
    ix.u32(crc);
    ix.varint(first);
    ix.varint(firstKey.length);
    ix.bytes(firstKey);
    this.#blocks++;
    this.#write(stored);
  }

  /**
   * Closes the current block (the next entry starts a new one). A merge brackets the entries of an in-memory
   * batch of at least `min_storage_bytes` with it, so the file gets the same blocks as when that batch's own file
   * is copied ({@link copyBlocks}): the bytes do not depend on whether a background write had finished.
   */
  closeBlock(): void {
    this.#flush();
  }

  /** Whether a whole block of `fb` can be copied now (no entries are waiting in the current block). */
  get atBlockBoundary(): boolean {
    return this.#wts.length === 0;
  }

  /** Copies every block of `fb` unchanged (its entries must all sort after those written so far). */
  copyBlocks(fb: FileBatch): void {
    this.#flush();
    if (fb.orderedKeys) this.#ordered = true;
    for (let b = 0; b < fb.blockCount; b++) {
      const s = fb.storedBlock(b);
      this.#n += s.n;
      this.#indexBlock(s.bytes, s.raw, s.comp, s.crc, this.#n - s.n, fb.blockFirstKey(b));
    }
    this.#lastKey = Buffer.from(fb.lastKey);
  }

  /** Removes the file being written (the merge or seal failed). */
  abort(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // closed
    }
    rmSync(this.#tmp, { force: true });
  }

  /** Writes the index and trailer, names the file by its hash and opens it. */
  finish(
    objects: ReadonlyMap<string, ObjectValue> | null,
    encodeObjects: SpillConfig['encodeObjects'] | null,
  ): FileBatch {
    let objBytes: Buffer = EMPTY;
    if (objects !== null && objects.size > 0) {
      if (encodeObjects === null) throw new Error('batch file: object values without an object-table codec');
      objBytes = encodeObjects(this.#layout, objects);
    }
    const { path, hash } = this.finishFile(objBytes);
    return openBatchFile(path, hash, objects === null ? null : new Map(objects));
  }

  /** Writes the index (with the object table already encoded) and trailer and names the file by its hash. */
  finishFile(objBytes: Buffer): { path: string; hash: string } {
    this.#flush();
    const meta = new Out();
    const L = this.#layout;
    meta.varint(L.arity);
    meta.varint(L.keyCols.length);
    for (const c of L.keyCols) meta.varint(c);
    meta.varint(this.#n);
    meta.varint(this.#blocks);
    meta.bytes(this.#ix.result());
    meta.varint(this.#lastKey.length);
    meta.bytes(this.#lastKey);
    meta.varint(objBytes.length);
    meta.bytes(objBytes);
    // optional flags (absent = 0): bit 0, a derived key column 0; bit 1, ordered nested keys + the codec's name
    const flags = (L.derivedKey === true ? 1 : 0) | (this.#ordered ? 2 : 0);
    if (flags !== 0) meta.varint(flags);
    if (this.#ordered) {
      const name = Buffer.from(inlineObjects()?.keyName ?? '', 'utf8');
      meta.varint(name.length);
      meta.bytes(name);
    }
    const mb = Buffer.from(meta.result());
    const metaAt = this.#at;
    this.#write(mb);
    const t = Buffer.alloc(TRAILER_SIZE);
    t.writeBigUInt64LE(BigInt(metaAt), 0);
    t.writeUInt32LE(mb.length, 8);
    t.writeUInt32LE(crc32(mb) >>> 0, 12);
    t.writeUInt32LE(END_MAGIC, 16);
    this.#write(t);
    closeSync(this.#fd);
    const hash = this.#hash.digest('hex');
    const path = join(this.#dir, hash);
    renameSync(this.#tmp, path);
    return { path, hash };
  }
}

/** The columnar parts of an in-memory batch that a batch file is written from (`trace.ts`'s TraceBatch). */
export interface EntryArrays {
  readonly arena: Uint8Array;
  readonly offsets: Uint32Array;
  readonly splits: Uint32Array;
  readonly weights: Float64Array;
}

/**
 * Writes a whole in-memory batch as a batch file (what `trace.ts`'s `spillBatch` does, here without the object
 * codecs: `objBytes` is the encoded object table) and returns where it is. Used by the background writer's
 * worker thread (`spill-worker.ts`); the bytes equal those of a synchronous write of the same batch.
 */
export function writeBatchFile(
  dir: string,
  layout: FileLayout,
  compress: boolean,
  blockBytes: number,
  e: EntryArrays,
  objBytes: Buffer,
): { path: string; hash: string } {
  const w = new BatchFileWriter(dir, layout, compress, blockBytes);
  try {
    w.addAll(e);
    return w.finishFile(objBytes);
  } catch (err) {
    w.abort();
    throw err;
  }
}

/**
 * Opens a v5 batch file (its hash already known: the caller verified it, or wrote it). `objects`: the object
 * table when the caller has it (a writer), else it is decoded with the spill configuration's codec or `decode`.
 * @throws ServiceError CheckpointCorrupt
 */
export function openBatchFile(
  path: string,
  hash: string,
  objects: Map<string, ObjectValue> | null = null,
  decode: ((b: Buffer) => Map<string, ObjectValue>) | null = null,
): FileBatch {
  const fd = openSync(path, 'r');
  try {
    return openBatch(path, fd, null, fstatSync(fd).size, hash, objects, decode);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** A v5 file held in memory as a batch (reads copy from `bytes`). @throws ServiceError CheckpointCorrupt */
export function openBatchBytes(
  bytes: Buffer,
  hash: string,
  decode: ((b: Buffer) => Map<string, ObjectValue>) | null = null,
): FileBatch {
  return openBatch(null, -1, bytes, bytes.length, hash, null, decode);
}

function openBatch(
  path: string | null,
  fd: number,
  bytes: Buffer | null,
  size: number,
  hash: string,
  objects: Map<string, ObjectValue> | null,
  decode: ((b: Buffer) => Map<string, ObjectValue>) | null,
): FileBatch {
  const pread = (buf: Buffer, pos: number): void => {
    const k =
      bytes !== null ? bytes.copy(buf, 0, pos, pos + buf.length) : readSync(fd, buf, 0, buf.length, pos);
    if (k !== buf.length) throw corrupt('batch file is truncated', { hash });
  };
  {
    if (size < HEADER_SIZE + TRAILER_SIZE) throw corrupt('batch file is too short', { hash });
    const t = Buffer.alloc(TRAILER_SIZE);
    pread(t, size - TRAILER_SIZE);
    if (t.readUInt32LE(16) !== END_MAGIC) throw corrupt('batch file has no trailer', { hash });
    const metaAt = Number(t.readBigUInt64LE(0));
    const metaLen = t.readUInt32LE(8);
    if (metaAt + metaLen + TRAILER_SIZE !== size) throw corrupt('batch file index is misplaced', { hash });
    const mb = Buffer.alloc(metaLen);
    pread(mb, metaAt);
    if (crc32(mb) >>> 0 !== t.readUInt32LE(12))
      throw corrupt('batch file index fails its checksum', { hash });
    const r = new In(mb);
    const arity = r.varint();
    const kc = r.varint();
    if (kc > arity) throw corrupt('bad batch file layout', { hash });
    const keyCols: number[] = [];
    for (let i = 0; i < kc; i++) {
      const c = r.varint();
      if (c >= arity || keyCols.includes(c)) throw corrupt('bad batch file key column', { hash });
      keyCols.push(c);
    }
    const isKey = new Set(keyCols);
    const valCols: number[] = [];
    for (let i = 0; i < arity; i++) if (!isKey.has(i)) valCols.push(i);
    const n = r.varint();
    const B = r.varint();
    if (B > size) throw corrupt('bad batch file block count', { hash });
    const off = new Float64Array(B);
    const len = new Uint32Array(B);
    const raw = new Uint32Array(B);
    const comp = new Uint8Array(B);
    const crc = new Uint32Array(B);
    const first = new Uint32Array(B + 1);
    const fkOff = new Uint32Array(B + 1);
    const keys: Buffer[] = [];
    let fk = 0;
    let expectAt = HEADER_SIZE;
    for (let b = 0; b < B; b++) {
      off[b] = r.varint();
      len[b] = r.varint();
      raw[b] = r.varint();
      comp[b] = r.u8();
      crc[b] = r.u32();
      first[b] = r.varint();
      const k = r.bytes(r.varint());
      keys.push(k);
      fkOff[b] = fk;
      fk += k.length;
      if (off[b] !== expectAt || (b > 0 && (first[b] as number) <= (first[b - 1] as number)))
        throw corrupt('batch file block index is inconsistent', { hash, block: b });
      expectAt += len[b] as number;
    }
    if (expectAt !== metaAt || (B > 0 && first[0] !== 0) || (B === 0 && n !== 0))
      throw corrupt('batch file block index is inconsistent', { hash });
    first[B] = n;
    fkOff[B] = fk;
    const lastKey = Buffer.from(r.bytes(r.varint()));
    const objBytes = r.bytes(r.varint());
    const flags = r.pos < mb.length ? r.varint() : 0;
    if (flags > 3) throw corrupt('batch file index has unknown flags', { hash, flags });
    if ((flags & 2) !== 0) {
      const name = r.bytes(r.varint()).toString('utf8');
      if (inlineObjects()?.keyName !== name)
        throw corrupt(`batch file holds key values of codec '${name}', which is not registered`, {
          hash,
          codec: name,
        });
    }
    if (r.pos !== mb.length) throw corrupt('batch file index has trailing bytes', { hash });
    let objs = objects;
    if (objs === null && objBytes.length > 0) {
      const dec = decode ?? spill?.decodeObjects ?? null;
      if (dec === null) throw corrupt('batch file has object values but no codec to read them', { hash });
      objs = dec(Buffer.from(objBytes));
    }
    const ix: BlockIndex = {
      off,
      len,
      raw,
      comp,
      crc,
      first,
      firstKeys: Buffer.concat(keys, fk),
      fkOff,
      lastKey,
    };
    const layout: FileLayout =
      (flags & 1) === 1 ? { arity, keyCols, valCols, derivedKey: true } : { arity, keyCols, valCols };
    return new FileBatch(path, fd, bytes, hash, size, layout, n, ix, objs, (flags & 2) !== 0);
  }
}

/** Whether `bytes` start like a v5 batch file. */
export function isBatchFileHeader(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 5 &&
    Buffer.from(bytes.buffer, bytes.byteOffset, 5).readUInt32LE(0) === MAGIC &&
    bytes[4] === 3
  );
}
