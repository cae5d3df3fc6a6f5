/**
 * Trace: an indexed, ordered Z-set of rows — the state layer stateful operators sit on.
 *
 * # Shape
 * A trace holds rows of a fixed arity, indexed by a subset of their columns (the key; the other columns are the
 * value). Its content is the sum of:
 * - a small mutable *head*: the changes since the last {@link Trace.seal}, as JS rows in a Map by key (so a step
 *   sees its own changes at once, and changes within a step apply in order);
 * - a list of immutable {@link TraceBatch}es, largest first: sorted by (key bytes, value bytes), consolidated
 *   (no row twice, no weight 0), in compact columnar form — one byte arena holding every row's order-preserving
 *   encoding (`key-codec.ts`), a `Uint32Array` of entry offsets, one of key/value split points, and a
 *   `Float64Array` of weights. No per-row JS objects: a row costs its encoded bytes plus 16 bytes.
 * Object values (DECIMAL, ARRAY, ...) are encoded by their `hashKey()`; the values themselves sit in each batch's
 * object table (one entry per distinct value), so any ObjectValue works and the trace never interprets them —
 * except in value columns, where a value the registered inline codec takes (the SQL layer's nested values:
 * ARRAY, MAP, ROW, VARIANT) is stored inline in the arena in its own binary form (`key-codec.ts` tag 0x21: no
 * hash key, no table entry; decoded when the row is). Key columns are encoded by identity (-0 = 0); value
 * columns exactly (-0 kept, nested values exactly), so a stored row comes back as it was — except that equal
 * object values by hash key in the table (e.g. DECIMAL 1.5 and 1.50) share one representation per batch.
 *
 * # Operations
 * - {@link Trace.add}: adds `(row, w)` to the head. O(1) expected.
 * - {@link Trace.lookup}: the consolidated rows with a given key: the head's entries plus each batch's (a batch
 *   whose [first key, last key] range excludes the key is skipped without hashing — ascending keys such as ids
 *   miss every batch this way; otherwise a binary search — in a large batch first over its fence keys, every 32nd
 *   key in one small buffer, then within one block of 32 entries — or once the batch has served a sixteenth of its
 *   length in lookups, a per-batch open-addressing hash index over the key bytes that answers in one or two probes).
 *   {@link Trace.lookupHead} / {@link Trace.lookupSealed} are its two halves. {@link Trace.weightAt} sums a key's
 *   weights without decoding rows, and {@link Trace.addAt} adds under a head key already computed
 *   ({@link Trace.keyOf}): a whole-row trace's point lookup and update (distinct, set operations).
 * - Unique traces (`unique: true`, a primary-key table: at most one row per key, weight 1) change only through
 *   {@link Trace.keyOf} / {@link Trace.current} / {@link Trace.put}; their head is a Map from key to the key's
 *   current row or to `{ old, cur }` for a sealed row replaced or deleted since the last seal, so a change costs
 *   a Map get and set. Sealing encodes it straight into `(row, +1)` / `(old, -1), (cur, +1)` entries (in key
 *   order for one numeric key column, a key's two entries in byte order: a sorted build, checked, with no sort;
 *   {@link uniqueHeadBatchSteps}). Operators that key rows by a computed value
 *   (the join) build their batches with a {@link KeyedBatchBuilder}; given each key's entries together in key
 *   order, it sorts only within keys.
 * - {@link Trace.maybeSeal} (after a step): seals the head once it holds half as many entries as the batches (at
 *   least {@link HEAD_MIN}; {@link UNIQUE_HEAD_MIN} for a unique trace): seals and merges are rare (a row is rewritten a small constant number of times),
 *   at the price of a head of up to half the state as JS rows between seals.
 * - {@link Trace.scan}: every row whose key starts with given values, in key order (all rows with no values).
 *   {@link Trace.scanFrom}: every row from a given key prefix on, in key order, until the callback says stop
 *   (LATENESS GC: with a time column first, the rows below a bound are a prefix). {@link Trace.scanSealed}: a
 *   prefix scan of the batches alone (with {@link Trace.lookupHead}: a key's rows without sealing the head).
 * - {@link Trace.seal}: turns the head into a batch, then merges batches so that each is more than twice the
 *   size of the next (a spine: O(log n) batches; each row is merged O(log n) times over its life).
 * - Checkpoints: {@link Trace.batches} lists the sealed batches; a batch remembers the segment it was written to
 *   (`segment`), so a checkpoint writes only batches not written before. A restore adopts decoded batches as
 *   they are ({@link Trace.adopt}) without merging or re-indexing: cold restore is decoding files.
 * - {@link Trace.capture} (a checkpoint's capture, O(1)): the batches plus the head, *frozen* — a new empty head
 *   takes the changes from then on, and the frozen one is a {@link PendingBatch} the checkpoint builds in slices of
 *   about {@link SLICE_MS}, returning to the event loop between them (the build is the seal's own, written as a
 *   generator that pauses every {@link SLICE} entries: the same entries as a synchronous seal). Until the trace's next seal,
 *   scan or capture pushes that batch (unmerged, as a checkpoint's seal was; built there if the checkpoint has not
 *   yet), lookups (`current`, `lookup`, `lookupSealed`, `weightAt`) read the frozen head as the newest sealed
 *   level. The captured parts are the state at the capture whatever the trace does later.
 *
 * # State beyond memory
 * With spilling on (`batch-file.ts`: `storage.min_storage_bytes`, set once per process), a sealed or merged batch
 * of at least `min_storage_bytes` is written to a block-structured batch file and held as a {@link FileBatch}
 * (a {@link SealedBatch} is either kind; both answer the same reads). Merges involving a file stream into a new
 * file ({@link mergeSealed}); a batch merged away or cleared is released (its spill file unlinked). While spilling,
 * the head seals at its minimum size or {@link SPILL_HEAD_MAX} entries, not at half the state. With background
 * writes (a pipeline's setting; `spill-writer.ts`), a sealed batch of file size stays in memory while a worker
 * thread writes its file, and is swapped for the file at a later seal check ({@link writtenFile}: what a
 * checkpoint waits for); such a new batch joins the merges at the next seal (then the spine's shape below holds
 * for every batch but the newest), and a merge gives the same file bytes whether its write had finished or not.
 *
 * # Invariants
 * - Every batch is sorted and consolidated; batches, frozen head and head together sum to the trace's Z-set.
 * - A frozen head never changes; its batch is pushed only by a seal, a scan or a capture (never by the background
 *   build finishing), so the batch list does not depend on when a checkpoint's build ran.
 * - Deterministic: the same sequence of calls gives the same batches, byte for byte (merges depend only on sizes).
 * - Batches are immutable once built (their `segment` stamp aside); readers may keep them across seals.
 */
import type { Batch } from './batch.ts';
import {
  BatchFileWriter,
  type Block,
  type EntryView,
  FileBatch,
  newEntryView,
  type SpillConfig,
  spillConfig,
} from './batch-file.ts';
import { type HeadAccount, headAccount, headEntryBytes } from './head-budget.ts';
import {
  ByteWriter,
  compareBytes,
  decodeKeyValue,
  encodeColumnsTo,
  encodeKeyValue,
  hashBytes,
  type KeyReader,
  skipKeyValue,
} from './key-codec.ts';
import { KeyIndex } from './key-index.ts';
import { drain, SLICE_MS, Sliced, type Steps } from './sliced.ts';
import { type PendingWrite, pollWrites, writeInBackground, writesCompleted } from './spill-writer.ts';
import { type ObjectValue, type Row, sameRow, sameValue, type Value } from './value.ts';

/** Which columns of a row form the key (in key order); the rest, in column order, form the value. */
export interface TraceLayout {
  readonly arity: number;
  readonly keyCols: readonly number[];
  readonly valCols: readonly number[];
  /**
   * Column 0 is a key computed from the other columns (the join's key value, `[key, ...row]`): code that reads a
   * batch as a plain {@link Batch} (`rows`) sees the rows without it. Not stored in segments: an operator that
   * uses it re-labels the batches it adopts ({@link TraceBatch.withLayout}).
   */
  readonly derivedKey?: boolean;
}

export function traceLayout(arity: number, keyCols: readonly number[]): TraceLayout {
  const isKey = new Set(keyCols);
  const valCols: number[] = [];
  for (let i = 0; i < arity; i++) if (!isKey.has(i)) valCols.push(i);
  return { arity, keyCols: [...keyCols], valCols };
}

export function sameLayout(a: TraceLayout, b: TraceLayout): boolean {
  return (
    a.arity === b.arity &&
    a.keyCols.length === b.keyCols.length &&
    a.keyCols.every((c, i) => b.keyCols[i] === c)
  );
}

/** Where a sealed batch was written (set by the checkpoint store; the batch's bytes never change). */
export interface BatchSegment {
  readonly hash: string;
  readonly size: number;
  readonly rows: number;
}

/** Parts of a {@link TraceBatch}, as stored in a segment. */
export interface TraceBatchParts {
  readonly layout: TraceLayout;
  readonly arena: Buffer;
  /** n + 1 entries: entry i is `arena[offsets[i] .. offsets[i+1])`. */
  readonly offsets: Uint32Array;
  /** n entries: entry i's value starts at `splits[i]` (its key is `[offsets[i], splits[i])`). */
  readonly splits: Uint32Array;
  readonly weights: Float64Array;
  readonly objects: ReadonlyMap<string, ObjectValue> | null;
  /** Known to hold no inline or ordered object value (tags 0x21 / 0x22); unknown (false) when absent. */
  readonly untagged?: boolean;
}

const EMPTY_ROWS: Row[] = [];
/**
 * Calls `fn(batch, i)` for every entry of `batches` whose key is `key[0..ke)`, batch by batch. A batch whose key
 * range excludes the key is skipped without hashing; the key is hashed once, for the first batch that may hold it.
 */
export function forEachKeyEntry(
  batches: readonly SealedBatch[],
  key: Uint8Array,
  ke: number,
  fn: (batch: SealedBatch, i: number) => void,
): void {
  let h = -1;
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b] as SealedBatch;
    if (!batch.keyInRange(key, 0, ke)) continue;
    if (h < 0) h = hashBytes(key, 0, ke);
    let i = batch.find(key, 0, ke, h);
    if (i < 0) continue;
    const n = batch.length;
    do {
      fn(batch, i);
      i++;
    } while (i < n && batch.sameKey(i - 1, i));
  }
}

/** A batch of at least this many entries searches its fence keys first (see `TraceBatch.#search`). */
const FENCE_MIN = 4096;
/** One fence key per this many entries (a block of entries spans a few cache lines of offsets and arena). */
const FENCE_EVERY = 32;

/** Reused decoder position (decoding is synchronous and never re-entrant). */
const READER: KeyReader = { pos: 0 };

/**
 * An immutable, sorted, consolidated batch of a trace in columnar form. It is also a {@link Batch}: `rows` and
 * `weights` decode it on first access (the slow path, for code that does not know traces; cached).
 */
export class TraceBatch implements Batch {
  readonly layout: TraceLayout;
  readonly arena: Buffer;
  readonly offsets: Uint32Array;
  readonly splits: Uint32Array;
  readonly wts: Float64Array;
  readonly objects: ReadonlyMap<string, ObjectValue> | null;
  /**
   * True when the batch is known to hold no inline or ordered object value (built from a writer that wrote none,
   * or merged from such batches): its segment is written without walking its entries for those tags. False:
   * unknown (decoded, loaded from a file, or built from other batches' entries).
   */
  readonly untagged: boolean;
  readonly consolidated = true as const;
  /** The segment file holding exactly this batch, once written by a checkpoint. */
  segment: BatchSegment | null = null;
  /**
   * The batches this one was merged from, while its own segment file is not written yet: a large merge's output
   * in a circuit whose new large batches are written ahead ({@link withSealedSink}), unless its inputs cancelled
   * by more than a tenth. Their entries sum to this batch's, so a checkpoint meanwhile lists them instead (the
   * largest has its file already, usually) rather than waiting for this batch's file. Cleared once this batch has
   * its file or is merged away (holding them holds their memory). Null otherwise.
   */
  sources: readonly TraceBatch[] | null = null;
  #index: Int32Array | null = null;
  #hashes: Uint32Array | null = null;
  /** Lookups answered so far without the index. */
  #finds = 0;
  #decoded: { rows: Row[]; weights: number[] } | null = null;
  /** Every {@link FENCE_EVERY}th entry's key bytes, back to back (built on the first search of a large batch). */
  #fenceKeys: Buffer | null = null;
  /** Fence f's key is `#fenceKeys[#fenceEnds[f-1] .. #fenceEnds[f])` (0 for f = 0). */
  #fenceEnds: Uint32Array | null = null;

  constructor(p: TraceBatchParts) {
    this.layout = p.layout;
    this.arena = p.arena;
    this.offsets = p.offsets;
    this.splits = p.splits;
    this.wts = p.weights;
    this.objects = p.objects !== null && p.objects.size > 0 ? p.objects : null;
    this.untagged = p.untagged === true;
  }

  get length(): number {
    return this.wts.length;
  }

  /** Bytes held (arena, offsets, weights, index). */
  get byteSize(): number {
    return (
      this.arena.length +
      this.offsets.byteLength +
      this.splits.byteLength +
      this.wts.byteLength +
      (this.#index?.byteLength ?? 0) +
      (this.#hashes?.byteLength ?? 0) +
      (this.#fenceKeys?.length ?? 0) +
      (this.#fenceEnds?.byteLength ?? 0)
    );
  }

  /** Bytes of the entries (arena, offsets, splits, weights): what a batch file of it holds. */
  get dataBytes(): number {
    return this.arena.length + this.offsets.byteLength + this.splits.byteLength + this.wts.byteLength;
  }

  /** Entry i's weight. */
  weight(i: number): number {
    return this.wts[i] as number;
  }

  /** Points `v` at entry i (as a {@link FileBatch} does, so code can read either kind). */
  view(i: number, v: EntryView): void {
    v.buf = this.arena;
    v.s = this.offsets[i] as number;
    v.split = this.splits[i] as number;
    v.e = this.offsets[i + 1] as number;
    v.w = this.wts[i] as number;
  }

  /** Entry i's first key column, decoded. */
  firstKeyValue(i: number): Value {
    const r = READER;
    r.pos = this.offsets[i] as number;
    return decodeKeyValue(this.arena, r, this.splits[i] as number, this.objects);
  }

  get rows(): Row[] {
    return this.#decode().rows;
  }

  get weights(): number[] {
    return this.#decode().weights;
  }

  #decode(): { rows: Row[]; weights: number[] } {
    if (this.#decoded !== null) return this.#decoded;
    const n = this.length;
    const rows: Row[] = n === 0 ? EMPTY_ROWS : new Array(n);
    if (this.layout.derivedKey === true)
      for (let i = 0; i < n; i++) {
        const full = this.row(i);
        rows[i] = full.slice(1);
      }
    else for (let i = 0; i < n; i++) rows[i] = this.row(i);
    this.#decoded = { rows, weights: Array.from(this.wts) };
    return this.#decoded;
  }

  /** The same entries under another label of the same layout (no copy; the segment stamp is kept). */
  withLayout(layout: TraceLayout): TraceBatch {
    if (!sameLayout(layout, this.layout)) throw new Error('trace batch layout differs');
    const b = new TraceBatch({
      layout,
      arena: this.arena,
      offsets: this.offsets,
      splits: this.splits,
      weights: this.wts,
      objects: this.objects,
      untagged: this.untagged,
    });
    b.segment = this.segment;
    return b;
  }

  /** Decodes entry i into a row. */
  row(i: number): Row {
    const L = this.layout;
    const out: Value[] = new Array(L.arity);
    const r = READER;
    r.pos = this.offsets[i] as number;
    const end = this.offsets[i + 1] as number;
    const kc = L.keyCols;
    for (let j = 0; j < kc.length; j++)
      out[kc[j] as number] = decodeKeyValue(this.arena, r, end, this.objects);
    const vc = L.valCols;
    for (let j = 0; j < vc.length; j++)
      out[vc[j] as number] = decodeKeyValue(this.arena, r, end, this.objects);
    return out;
  }

  /** Decodes entry i's value columns into `out` (key columns are left as they are). */
  valueInto(i: number, out: Value[]): void {
    const vc = this.layout.valCols;
    const r = READER;
    r.pos = this.splits[i] as number;
    const end = this.offsets[i + 1] as number;
    for (let j = 0; j < vc.length; j++)
      out[vc[j] as number] = decodeKeyValue(this.arena, r, end, this.objects);
  }

  /**
   * Per-entry hash of the key bytes (computed on first use, carried through merges; not stored in segments).
   */
  keyHashes(): Uint32Array {
    if (this.#hashes !== null) return this.#hashes;
    const n = this.length;
    const hs = new Uint32Array(n);
    const o = this.offsets;
    const sp = this.splits;
    for (let i = 0; i < n; i++) hs[i] = hashBytes(this.arena, o[i] as number, sp[i] as number);
    this.#hashes = hs;
    return hs;
  }

  /** Sets the key hashes (a merge that had both inputs' hashes). */
  setKeyHashes(hs: Uint32Array): void {
    this.#hashes = hs;
  }

  get hasKeyHashes(): boolean {
    return this.#hashes !== null;
  }

  /**
   * Whether `key[ks..ke)` lies between the batch's first and last keys. Outside, {@link find} would miss: this
   * check answers without touching the index (two short comparisons of bytes that stay in cache), which is
   * what a lookup of a new key costs when keys ascend (ids, timestamps).
   */
  keyInRange(key: Uint8Array, ks: number, ke: number): boolean {
    const n = this.length;
    if (n === 0) return false;
    const o = this.offsets;
    const sp = this.splits;
    return (
      compareBytes(key, ks, ke, this.arena, o[0] as number, sp[0] as number) >= 0 &&
      compareBytes(key, ks, ke, this.arena, o[n - 1] as number, sp[n - 1] as number) <= 0
    );
  }

  /**
   * First entry whose key equals `key[ks..ke)` (hash `h`), or -1. A batch answers its first lookups by binary
   * search and builds its hash index only once it has served a sixteenth of its length in lookups, so a batch
   * that is merged away soon after it is built (most are) never pays for an index.
   */
  find(key: Uint8Array, ks: number, ke: number, h: number): number {
    const n = this.length;
    if (n === 0) return -1;
    if (this.#index === null && this.#finds++ * 16 < n) return this.#search(key, ks, ke);
    const idx = this.#index ?? this.#buildIndex();
    const mask = (idx.length >>> 1) - 1;
    const hh = h | 0;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = idx[2 * s + 1] as number;
      if (e === 0) return -1;
      if (idx[2 * s] !== hh) continue;
      const i = e - 1;
      const arena = this.arena;
      const a = this.offsets[i] as number;
      const len = ke - ks;
      if ((this.splits[i] as number) - a !== len) continue;
      let same = true;
      for (let j = 0; j < len; j++)
        if (arena[a + j] !== key[ks + j]) {
          same = false;
          break;
        }
      if (same) return i;
    }
  }

  /**
   * Binary search on the key bytes (keys are self-delimiting, so entries sort by key bytes first). In a large
   * batch it first searches the fence keys (every {@link FENCE_EVERY}th key, copied into one small buffer that
   * stays in cache), then the block of entries between two fences: a handful of cache misses instead of three
   * per halving step over megabytes of offsets and arena.
   */
  #search(key: Uint8Array, ks: number, ke: number): number {
    const o = this.offsets;
    const sp = this.splits;
    const arena = this.arena;
    let lo = 0;
    let hi = this.length;
    if (hi >= FENCE_MIN) {
      if (this.#fenceKeys === null) this.#buildFences();
      const fk = this.#fenceKeys as Buffer;
      const fe = this.#fenceEnds as Uint32Array;
      // the last fence whose key is < key: the first entry ≥ key is in its block or starts the next one
      let flo = 0;
      let fhi = fe.length;
      while (flo < fhi) {
        const mid = (flo + fhi) >>> 1;
        if (compareBytes(fk, mid === 0 ? 0 : (fe[mid - 1] as number), fe[mid] as number, key, ks, ke) < 0)
          flo = mid + 1;
        else fhi = mid;
      }
      if (flo > 0) {
        lo = (flo - 1) * FENCE_EVERY;
        hi = Math.min(hi, flo * FENCE_EVERY);
      } else hi = 0;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(arena, o[mid] as number, sp[mid] as number, key, ks, ke) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.length && compareBytes(arena, o[lo] as number, sp[lo] as number, key, ks, ke) === 0)
      return lo;
    return -1;
  }

  #buildFences(): void {
    const n = this.length;
    const count = Math.ceil(n / FENCE_EVERY);
    const ends = new Uint32Array(count);
    let bytes = 0;
    for (let f = 0; f < count; f++) {
      const i = f * FENCE_EVERY;
      bytes += (this.splits[i] as number) - (this.offsets[i] as number);
    }
    const keys = Buffer.allocUnsafe(bytes);
    let p = 0;
    for (let f = 0; f < count; f++) {
      const i = f * FENCE_EVERY;
      const e = this.splits[i] as number;
      for (let j = this.offsets[i] as number; j < e; j++) keys[p++] = this.arena[j] as number;
      ends[f] = p;
    }
    this.#fenceKeys = keys;
    this.#fenceEnds = ends;
  }

  /** Whether entry i's key equals entry j's (same batch). */
  sameKey(i: number, j: number): boolean {
    const o = this.offsets;
    const s = this.splits;
    return (
      compareBytes(this.arena, o[i] as number, s[i] as number, this.arena, o[j] as number, s[j] as number) ===
      0
    );
  }

  /** Open-addressing table of (key hash, first entry + 1) pairs, load ≤ 0.5: a miss is usually one probe. */
  #buildIndex(): Int32Array {
    const n = this.length;
    const hs = this.keyHashes();
    let cap = 16;
    while (cap < n * 2) cap *= 2;
    const idx = new Int32Array(cap * 2);
    const mask = cap - 1;
    for (let i = 0; i < n; i++) {
      const h = hs[i] as number;
      if (i > 0 && hs[i - 1] === h && this.sameKey(i - 1, i)) continue; // same key: first entry only
      let s = h & mask;
      while (idx[2 * s + 1] !== 0) s = (s + 1) & mask;
      idx[2 * s] = h | 0;
      idx[2 * s + 1] = i + 1;
    }
    this.#index = idx;
    return idx;
  }

  /** First entry whose key is ≥ `key[ks..ke)` as a prefix comparison (for scans). */
  lowerBound(key: Uint8Array, ks: number, ke: number): number {
    let lo = 0;
    let hi = this.length;
    const o = this.offsets;
    const len = ke - ks;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = o[mid] as number;
      const e = Math.min(o[mid + 1] as number, s + len);
      if (compareBytes(this.arena, s, e, key, ks, ke) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether entry i starts with `key[ks..ke)`. */
  hasPrefix(i: number, key: Uint8Array, ks: number, ke: number): boolean {
    const s = this.offsets[i] as number;
    const len = ke - ks;
    if ((this.offsets[i + 1] as number) - s < len) return false;
    for (let j = 0; j < len; j++) if (this.arena[s + j] !== key[ks + j]) return false;
    return true;
  }
}

/**
 * Entries a sliced build handles between two pauses (about a millisecond of work; a frozen join head's entries,
 * read bucket by bucket, cost up to ~1 µs each).
 */
const SLICE = 1 << 12;

/** Bytes a sliced build copies between two pauses (a few milliseconds). */
const COPY_SLICE = 1 << 23;

/**
 * The order of entries `[starts[i], starts[i+1])` of `buf` by their bytes: a stable LSD radix sort on each
 * entry's first 8 bytes after the prefix all entries share (zero-padded, which keeps lexicographic order; passes
 * where every entry has the same byte are skipped), then runs that tie on those bytes are sorted by a full
 * comparison. Pauses every {@link SLICE} entries of each pass.
 */
function* sortEntries(buf: Buffer, starts: Uint32Array, n: number): Steps<Uint32Array> {
  // bytes every entry shares with the first (a type tag, the high bytes of ids) do not order anything: the
  // radix keys start after them, so that entries differing only further on rarely tie
  let cp = n > 0 ? (starts[1] as number) - (starts[0] as number) : 0;
  const s0 = n > 0 ? (starts[0] as number) : 0;
  for (let c = 1; c < n && cp > 0; c += SLICE) {
    const ce = Math.min(n, c + SLICE);
    for (let i = c; i < ce && cp > 0; i++) {
      const si = starts[i] as number;
      const len = Math.min(cp, (starts[i + 1] as number) - si);
      let j = 0;
      while (j < len && buf[si + j] === buf[s0 + j]) j++;
      cp = j;
    }
    yield;
  }
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  let src = new Uint32Array(n);
  for (let c = 0; c < n; c += SLICE) {
    const ce = Math.min(n, c + SLICE);
    for (let i = c; i < ce; i++) {
      const s = (starts[i] as number) + cp;
      const e = starts[i + 1] as number;
      let h = 0;
      let l = 0;
      for (let j = 0; j < 4; j++) h = h * 256 + (s + j < e ? (buf[s + j] as number) : 0);
      for (let j = 4; j < 8; j++) l = l * 256 + (s + j < e ? (buf[s + j] as number) : 0);
      hi[i] = h;
      lo[i] = l;
      src[i] = i;
    }
    yield;
  }
  let dst = new Uint32Array(n);
  const count = new Uint32Array(257);
  for (let pass = 0; pass < 8; pass++) {
    const words = pass < 4 ? lo : hi;
    const shift = 8 * (pass & 3);
    count.fill(0);
    for (let c = 0; c < n; c += SLICE) {
      const ce = Math.min(n, c + SLICE);
      for (let i = c; i < ce; i++) (count[(((words[i] as number) >>> shift) & 255) + 1] as number)++;
      yield;
    }
    let single = false;
    for (let d = 1; d <= 256; d++) if (count[d] === n) single = true;
    if (single) continue;
    for (let d = 1; d <= 256; d++) count[d] = (count[d] as number) + (count[d - 1] as number);
    for (let c = 0; c < n; c += SLICE) {
      const ce = Math.min(n, c + SLICE);
      for (let k = c; k < ce; k++) {
        const i = src[k] as number;
        const d = ((words[i] as number) >>> shift) & 255;
        dst[count[d] as number] = i;
        count[d] = (count[d] as number) + 1;
      }
      yield;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  const perm = src;
  // runs whose first 8 bytes tie: full comparison
  let next = SLICE;
  for (let k = 0; k < n; ) {
    if (k >= next) {
      next = k + SLICE;
      yield;
    }
    const i = perm[k] as number;
    let m = k + 1;
    while (m < n && hi[perm[m] as number] === hi[i] && lo[perm[m] as number] === lo[i]) m++;
    // the run's entries share more than those bytes when they are rows of one key with equal leading values (a
    // group's rows of a wide join): comparisons start after all the bytes they share
    const from = m - k > 1 ? sharedPrefix(buf, starts, perm, k, m) : 0;
    if (m - k > 16) {
      const run = Array.from(perm.subarray(k, m)).sort((x, y) => cmpEntriesFrom(buf, starts, x, y, from));
      perm.set(run, k);
    } else if (m - k > 1) {
      // short run (typically a key's retraction and insertion): stable insertion sort in place
      for (let a = k + 1; a < m; a++) {
        const x = perm[a] as number;
        let b = a - 1;
        while (b >= k && cmpEntriesFrom(buf, starts, perm[b] as number, x, from) > 0) {
          perm[b + 1] = perm[b] as number;
          b--;
        }
        perm[b + 1] = x;
      }
    }
    k = m;
  }
  return perm;
}

/**
 * The order of entries that are already in order but for short local inversions (a unique head sealed in key
 * order: a key's retraction and insertion ordered by value bytes), by an insertion sort that gives up — null —
 * once an entry would move more than {@link NEARLY_SORTED_REACH} places. O(n) when it succeeds.
 */
function* nearlySortedOrder(buf: Buffer, starts: Uint32Array, n: number): Steps<Uint32Array | null> {
  const perm = new Uint32Array(n);
  for (let c = 0; c < n; c += SLICE) {
    const ce = Math.min(n, c + SLICE);
    for (let a = c; a < ce; a++) {
      let b = a - 1;
      while (b >= 0 && cmpEntries(buf, starts, perm[b] as number, a) > 0) {
        if (a - b > NEARLY_SORTED_REACH) return null;
        perm[b + 1] = perm[b] as number;
        b--;
      }
      perm[b + 1] = a;
    }
    yield;
  }
  return perm;
}

const NEARLY_SORTED_REACH = 4;

/**
 * The order of entries that come grouped by key in ascending key order (a join's head sealed in numeric key
 * order): only each key's entries are sorted, by their value bytes (a binary insertion sort; a key's entries are
 * usually few), or null as soon as a key is below the one before it. Equal keys have equal bytes and the codec is
 * prefix-free, so this is the entries' byte order. O(n log r) for runs of r entries; null as well once an entry
 * would move more than {@link LONG_SHIFT} places (the caller then sorts fully).
 */
function* orderWithinKeys(
  buf: Buffer,
  starts: Uint32Array,
  splits: Uint32Array,
  n: number,
): Steps<Uint32Array | null> {
  const perm = new Uint32Array(n);
  let run = 0;
  let next = SLICE;
  for (let i = 0; i < n; i++) {
    if (i >= next) {
      next = i + SLICE;
      yield;
    }
    if (i > run) {
      const c = compareBytes(
        buf,
        starts[run] as number,
        splits[run] as number,
        buf,
        starts[i] as number,
        splits[i] as number,
      );
      if (c > 0) return null;
      if (c < 0) run = i;
    }
    // insert entry i into perm[run..i) by its value bytes (stable: after its equals)
    const vs = splits[i] as number;
    const ve = starts[i + 1] as number;
    let lo = run;
    let hi = i;
    if (
      hi > lo &&
      compareBytes(
        buf,
        splits[perm[hi - 1] as number] as number,
        starts[(perm[hi - 1] as number) + 1] as number,
        buf,
        vs,
        ve,
      ) <= 0
    )
      lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = perm[mid] as number;
      if (compareBytes(buf, splits[m] as number, starts[m + 1] as number, buf, vs, ve) <= 0) lo = mid + 1;
      else hi = mid;
    }
    // a long run in no order (a join key shared by most rows) is left to the radix sort: the shifts would
    // make this quadratic
    if (i - lo > LONG_SHIFT) return null;
    if (lo < i) perm.copyWithin(lo + 1, lo, i);
    perm[lo] = i;
  }
  return perm;
}

/** The most places {@link orderWithinKeys} moves entries to insert one. */
const LONG_SHIFT = 256;

/** The number of leading bytes every entry `perm[k..m)` has in common (at most the shortest entry's length). */
function sharedPrefix(buf: Buffer, starts: Uint32Array, perm: Uint32Array, k: number, m: number): number {
  const f = perm[k] as number;
  const s0 = starts[f] as number;
  let cp = (starts[f + 1] as number) - s0;
  for (let a = k + 1; a < m && cp > 0; a++) {
    const x = perm[a] as number;
    const sx = starts[x] as number;
    const len = Math.min(cp, (starts[x + 1] as number) - sx);
    let j = 0;
    while (j < len && buf[sx + j] === buf[s0 + j]) j++;
    cp = j;
  }
  return cp;
}

/** {@link cmpEntries} of two entries known to share their first `from` bytes. */
function cmpEntriesFrom(buf: Buffer, starts: Uint32Array, x: number, y: number, from: number): number {
  return compareBytes(
    buf,
    (starts[x] as number) + from,
    starts[x + 1] as number,
    buf,
    (starts[y] as number) + from,
    starts[y + 1] as number,
  );
}

function cmpEntries(buf: Buffer, starts: Uint32Array, x: number, y: number): number {
  return compareBytes(
    buf,
    starts[x] as number,
    starts[x + 1] as number,
    buf,
    starts[y] as number,
    starts[y + 1] as number,
  );
}

/** Whether the entries are in strictly ascending order (so no two are equal) and none has weight 0. */
function* strictlyAscending(
  buf: Buffer,
  starts: Uint32Array,
  weights: Float64Array,
  n: number,
): Steps<boolean> {
  for (let c = 0; c < n; c += SLICE) {
    const ce = Math.min(n, c + SLICE);
    for (let i = c; i < ce; i++) {
      if (weights[i] === 0) return false;
      if (i > 0 && cmpEntries(buf, starts, i - 1, i) >= 0) return false;
    }
    yield;
  }
  return true;
}

/** Builds a batch from entries already encoded into `w.buf` (entry i = [starts[i], starts[i+1]), key until splits[i]). */
function* buildFromEncoded(
  layout: TraceLayout,
  buf: Buffer,
  starts: Uint32Array,
  splits: Uint32Array,
  weights: Float64Array,
  n: number,
  objects: Map<string, ObjectValue> | null,
  grouped = false,
  untagged = false,
): Steps<TraceBatch> {
  if (yield* strictlyAscending(buf, starts, weights, n)) {
    // already sorted and consolidated (a head of new ascending ids): the arena is the buffer, or one bulk copy
    const s0 = n > 0 ? (starts[0] as number) : 0;
    const end = starts[n] as number;
    // the builder's buffer is the arena when the entries start it and fill all but a sixteenth of it (a build
    // sized from its first entries, see reserveRest): no copy, no second buffer; else the entries are copied
    let arena: Buffer;
    if (s0 === 0 && buf.length - end <= end >>> 4) arena = buf.subarray(0, end);
    else {
      arena = Buffer.allocUnsafe(end - s0);
      // in pieces (a 1M-entry head is tens of MB: one copy held the event loop ~20 ms)
      for (let p = s0; p < end; p += COPY_SLICE) {
        buf.copy(arena, p - s0, p, Math.min(end, p + COPY_SLICE));
        yield;
      }
    }
    // the entry arrays the build was handed are the batch's own when they are its exact size and the entries
    // start the buffer (every builder hands over arrays it allocated for this build and drops): no copies
    const own = s0 === 0 && starts.length === n + 1 && splits.length === n;
    const offsets = own ? starts : new Uint32Array(n + 1);
    const spl = own ? splits : new Uint32Array(n);
    if (!own) {
      for (let c = 0; c < n; c += SLICE) {
        const ce = Math.min(n, c + SLICE);
        for (let i = c; i < ce; i++) {
          offsets[i] = (starts[i] as number) - s0;
          spl[i] = (splits[i] as number) - s0;
        }
        yield;
      }
      offsets[n] = (starts[n] as number) - s0;
    }
    const wts = weights.length === n ? weights : weights.slice(0, n);
    return new TraceBatch({
      layout,
      arena,
      offsets,
      splits: spl,
      weights: wts,
      objects: usedObjects(objects),
      untagged,
    });
  }
  const perm =
    (grouped ? yield* orderWithinKeys(buf, starts, splits, n) : yield* nearlySortedOrder(buf, starts, n)) ??
    (yield* sortEntries(buf, starts, n));
  // consolidate adjacent equal entries
  let total = 0;
  let out = 0;
  const keepIdx = new Uint32Array(n);
  const keepW = new Float64Array(n);
  let next = SLICE;
  for (let k = 0; k < n; ) {
    if (k >= next) {
      next = k + SLICE;
      yield;
    }
    const i = perm[k] as number;
    let w = weights[i] as number;
    let m = k + 1;
    while (m < n) {
      const j = perm[m] as number;
      if (
        compareBytes(
          buf,
          starts[i] as number,
          starts[i + 1] as number,
          buf,
          starts[j] as number,
          starts[j + 1] as number,
        ) !== 0
      )
        break;
      w += weights[j] as number;
      m++;
    }
    if (w !== 0) {
      keepIdx[out] = i;
      keepW[out++] = w;
      total += (starts[i + 1] as number) - (starts[i] as number);
    }
    k = m;
  }
  const arena = Buffer.allocUnsafe(total);
  const offsets = new Uint32Array(out + 1);
  const spl = new Uint32Array(out);
  const wts = new Float64Array(out);
  let p = 0;
  // bytes of consecutive kept entries that are also consecutive in `buf` are copied in one call
  let from = 0;
  let to = 0;
  for (let c = 0; c < out; c += SLICE) {
    const ce = Math.min(out, c + SLICE);
    for (let k = c; k < ce; k++) {
      const i = keepIdx[k] as number;
      const s = starts[i] as number;
      const e = starts[i + 1] as number;
      offsets[k] = p + (to - from);
      spl[k] = p + (to - from) + ((splits[i] as number) - s);
      if (s !== to) {
        p = copyRange(buf, arena, p, from, to);
        from = s;
      }
      to = e;
      wts[k] = keepW[k] as number;
    }
    yield;
  }
  p = copyRange(buf, arena, p, from, to);
  offsets[out] = p;
  return new TraceBatch({
    layout,
    arena,
    offsets,
    splits: spl,
    weights: wts,
    objects: usedObjects(objects),
    untagged,
  });
}

/** Copies `buf[from, to)` to `arena` at `p` (short ranges byte by byte: cheaper than a call); the new end. */
function copyRange(buf: Buffer, arena: Buffer, p: number, from: number, to: number): number {
  if (to - from <= 32) {
    for (let t = from; t < to; t++) arena[p++] = buf[t] as number;
    return p;
  }
  buf.copy(arena, p, from, to);
  return p + (to - from);
}

/** A copy of `b[0, n)` that owns its memory (one native copy). */
function copyOf(b: Buffer, n: number, shared = false): Buffer {
  const out = newBytes(n, shared);
  b.copy(out, 0, 0, n);
  return out;
}

// A merge of at least PREWRITE_MIN_ENTRIES entries puts its output in shared memory (`SharedArrayBuffer`): such a
// batch is reported for a write ahead of its segment file, whose worker thread then reads its arrays where they are
// instead of the event loop copying them over first (`storage/segment-ahead.ts`). Same contents, same reads.

function newBytes(n: number, shared: boolean): Buffer {
  return shared ? Buffer.from(new SharedArrayBuffer(n)) : Buffer.allocUnsafe(n);
}

function newU32(n: number, shared: boolean): Uint32Array {
  return shared ? new Uint32Array(new SharedArrayBuffer(4 * n)) : new Uint32Array(n);
}

function newF64(n: number, shared: boolean): Float64Array {
  return shared ? new Float64Array(new SharedArrayBuffer(8 * n)) : new Float64Array(n);
}

/** The first `n` elements of `a` (a itself when that is all of it), in shared memory when `shared`. */
function firstOf<T extends Uint32Array | Float64Array>(a: T, n: number, shared: boolean): T {
  if (a.length === n) return a;
  if (!shared) return a.slice(0, n) as T;
  const out = (a instanceof Uint32Array ? newU32(n, true) : newF64(n, true)) as T;
  out.set(a.subarray(0, n));
  return out;
}

function usedObjects(objects: Map<string, ObjectValue> | null): Map<string, ObjectValue> | null {
  return objects !== null && objects.size > 0 ? objects : null;
}

/** Entries encoded before a build sizes its writer for the rest. */
const SIZE_SAMPLE = 8;

/**
 * Whether a build that has encoded `k` entries sizes its writer again ({@link reserveRest}): after
 * {@link SIZE_SAMPLE}, 1,024 and 65,536 entries, each estimate from more entries than the one before (a writer
 * short of the last estimate doubles).
 */
function resizeAt(k: number): boolean {
  return k === SIZE_SAMPLE || k === 1 << 10 || k === 1 << 16;
}

/**
 * Grows `w` for the `n - k` entries still to encode, at 1/16 more than the mean size of the `k` written, when it
 * is short of that (wide rows, long strings: the writer would otherwise double, and copy what it holds, several
 * times). A close estimate lets the build keep the writer's buffer as the batch's arena (see
 * {@link buildFromEncoded}).
 */
function reserveRest(w: ByteWriter, k: number, n: number): void {
  if (n > k) w.reserve(Math.ceil((w.pos / k) * (n - k) * (1 + 1 / 16)));
}

/**
 * A build's writer for `n` entries: room for the first {@link SIZE_SAMPLE}s only (the builds then size it once, by
 * {@link reserveRest}); a writer sized up front at a guessed 32 bytes an entry was doubled by the first larger
 * guess, so a build of 1M rows of 36 bytes allocated 32 + 64 MiB for 36 MiB of entries.
 */
function buildWriter(n: number): ByteWriter {
  return new ByteWriter(64 + Math.min(n, 4 * SIZE_SAMPLE) * 32);
}

/** Encodes rows with weights into a new sorted, consolidated batch. */
export function buildBatch(
  layout: TraceLayout,
  rows: readonly Row[],
  weights: readonly number[],
): TraceBatch {
  return drain(buildBatchSteps(layout, rows, weights));
}

/** {@link buildBatch}, pausing every {@link SLICE} entries. */
function* buildBatchSteps(
  layout: TraceLayout,
  rows: readonly Row[],
  weights: readonly number[],
): Steps<TraceBatch> {
  let n = 0;
  for (let i = 0; i < weights.length; i++) if (weights[i] !== 0) n++;
  const w = buildWriter(n);
  const objects = new Map<string, ObjectValue>();
  const starts = new Uint32Array(n + 1);
  const splits = new Uint32Array(n);
  const ws = new Float64Array(n);
  let k = 0;
  for (let c = 0; c < rows.length; c += SLICE) {
    const ce = Math.min(rows.length, c + SLICE);
    for (let i = c; i < ce; i++) {
      const wt = weights[i] as number;
      if (wt === 0) continue;
      const row = rows[i] as Row;
      starts[k] = w.pos;
      encodeColumnsTo(w, row, layout.keyCols, objects);
      splits[k] = w.pos;
      encodeColumnsTo(w, row, layout.valCols, objects, true);
      ws[k++] = wt;
      if (resizeAt(k)) reserveRest(w, k, n);
    }
    yield;
  }
  starts[n] = w.pos;
  return yield* buildFromEncoded(layout, w.buf, starts, splits, ws, n, objects, false, !w.tagged);
}

/**
 * A batch of entries of in-memory batches as they are encoded (entry `entries[i]` of `batches[i]`, with weight
 * `weights[i]`), sorted and consolidated: what an operator that discards stored entries adds to retract them,
 * without decoding and encoding their rows again. The entries keep their exact bytes (a row stored twice with
 * different encodings, -0 and 0 say, is retracted entry by entry).
 */
export function batchOfEntries(
  layout: TraceLayout,
  batches: readonly TraceBatch[],
  entries: readonly number[],
  weights: readonly number[],
): TraceBatch {
  const n = entries.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const b = batches[i] as TraceBatch;
    const e = entries[i] as number;
    total += (b.offsets[e + 1] as number) - (b.offsets[e] as number);
  }
  const buf = Buffer.allocUnsafe(total);
  const starts = new Uint32Array(n + 1);
  const splits = new Uint32Array(n);
  const ws = new Float64Array(n);
  let objects: Map<string, ObjectValue> | null = null;
  const seen = new Set<TraceBatch>();
  let p = 0;
  for (let i = 0; i < n; i++) {
    const b = batches[i] as TraceBatch;
    const e = entries[i] as number;
    const s = b.offsets[e] as number;
    const end = b.offsets[e + 1] as number;
    starts[i] = p;
    splits[i] = p + ((b.splits[e] as number) - s);
    b.arena.copy(buf, p, s, end);
    p += end - s;
    ws[i] = weights[i] as number;
    if (b.objects !== null && !seen.has(b)) {
      seen.add(b);
      objects ??= new Map();
      for (const [k, v] of b.objects) if (!objects.has(k)) objects.set(k, v);
    }
  }
  starts[n] = p;
  return drain(buildFromEncoded(layout, buf, starts, splits, ws, n, objects));
}

/**
 * {@link buildBatch} for the rows `[keys[i], ...rows[i]]` of a layout keyed by column 0 alone (an operator that
 * keys rows by a computed value: the join), without building those rows.
 */
export function buildKeyedBatch(
  layout: TraceLayout,
  keys: readonly Value[],
  rows: readonly Row[],
  weights: readonly number[],
): TraceBatch {
  return drain(buildKeyedBatchSteps(layout, keys, rows, weights));
}

/**
 * {@link buildKeyedBatch}, pausing every {@link SLICE} entries. With `keysAscending`, see
 * {@link KeyedBatchBuilder.build}.
 */
export function* buildKeyedBatchSteps(
  layout: TraceLayout,
  keys: readonly Value[],
  rows: readonly Row[],
  weights: readonly number[],
  keysAscending = false,
): Steps<TraceBatch> {
  let n = 0;
  for (let i = 0; i < weights.length; i++) if (weights[i] !== 0) n++;
  const b = new KeyedBatchBuilder(layout, n);
  for (let c = 0; c < rows.length; c += SLICE) {
    const ce = Math.min(rows.length, c + SLICE);
    for (let i = c; i < ce; i++) b.add(keys[i] as Value, rows[i] as Row, weights[i] as number);
    yield;
  }
  return yield* b.build(keysAscending);
}

/**
 * Encodes the entries `[key, ...row]` of a layout keyed by column 0 alone one by one, as a caller walks its own
 * structure (the join's head, bucket by bucket: no arrays of keys and rows in between), then builds the batch.
 * `n` is the number of entries with a non-zero weight that will be added (entries with weight 0 are skipped).
 */
export class KeyedBatchBuilder {
  readonly #layout: TraceLayout;
  readonly #width: number;
  readonly #n: number;
  readonly #w: ByteWriter;
  readonly #objects = new Map<string, ObjectValue>();
  readonly #starts: Uint32Array;
  readonly #splits: Uint32Array;
  readonly #ws: Float64Array;
  #k = 0;
  #prevKey: Value | undefined;

  constructor(layout: TraceLayout, n: number) {
    if (layout.keyCols.length !== 1 || layout.keyCols[0] !== 0)
      throw new Error('layout is not keyed by column 0');
    this.#layout = layout;
    this.#width = layout.arity - 1;
    this.#n = n;
    this.#w = buildWriter(n);
    this.#starts = new Uint32Array(n + 1);
    this.#splits = new Uint32Array(n);
    this.#ws = new Float64Array(n);
  }

  /** Entries added so far (weight 0 aside). */
  get count(): number {
    return this.#k;
  }

  add(key: Value, row: Row, wt: number): void {
    if (wt === 0) return;
    const k = this.#k;
    if (k >= this.#n) throw new Error('KeyedBatchBuilder: more entries than announced');
    const w = this.#w;
    const starts = this.#starts;
    const splits = this.#splits;
    const objects = this.#objects;
    starts[k] = w.pos;
    // a key's entries usually come together (a join's head bucket by bucket): its bytes are copied, not encoded
    if (k > 0 && key === this.#prevKey) {
      const ks = starts[k - 1] as number;
      const len = (splits[k - 1] as number) - ks;
      w.ensure(len);
      const b = w.buf;
      let p = w.pos;
      for (let t = ks; t < ks + len; t++) b[p++] = b[t] as number;
      w.pos = p;
    } else {
      encodeKeyValue(w, key, objects, false);
      this.#prevKey = key;
    }
    splits[k] = w.pos;
    const width = this.#width;
    for (let c = 0; c < width; c++) encodeKeyValue(w, row[c] as Value, objects, true);
    this.#ws[k] = wt;
    this.#k = k + 1;
    if (resizeAt(k + 1)) reserveRest(w, k + 1, this.#n);
  }

  /**
   * The batch of the entries added (all `n` must have been). With `keysAscending`, the caller added each key's
   * entries together, keys in ascending order of their encoding (the join's numeric keys, sorted): only each
   * key's entries are sorted then (checked: else a full sort).
   */
  build(keysAscending = false): Steps<TraceBatch> {
    const n = this.#k;
    if (n !== this.#n) throw new Error(`KeyedBatchBuilder: ${n} entries added, ${this.#n} announced`);
    this.#starts[n] = this.#w.pos;
    return buildFromEncoded(
      this.#layout,
      this.#w.buf,
      this.#starts,
      this.#splits,
      this.#ws,
      n,
      this.#objects,
      keysAscending,
      !this.#w.tagged,
    );
  }
}

function mergeObjects(
  a: ReadonlyMap<string, ObjectValue> | null,
  b: ReadonlyMap<string, ObjectValue> | null,
): Map<string, ObjectValue> | null {
  if (a === null && b === null) return null;
  const m = new Map<string, ObjectValue>(a ?? []);
  if (b !== null) for (const [k, v] of b) if (!m.has(k)) m.set(k, v);
  return m;
}

/**
 * Merges two batches of the same layout into one (their sum, consolidated). The object table is the union of
 * both (object values are few; a value no longer referenced stays until the batch is rebuilt).
 */
export function mergeBatches(a: TraceBatch, b: TraceBatch): TraceBatch {
  const na = a.length;
  const nb = b.length;
  const aa = a.arena;
  const ba = b.arena;
  const ao = a.offsets;
  const bo = b.offsets;
  const as = a.splits;
  const bs = b.splits;
  const aw = a.wts;
  const bw = b.wts;
  const withHashes = a.hasKeyHashes && b.hasKeyHashes;
  const ah = withHashes ? a.keyHashes() : null;
  const bh = withHashes ? b.keyHashes() : null;
  if (na > 0 && nb > 0) {
    // disjoint ranges (ascending keys: ids, timestamps): the merge is a concatenation, copied in bulk
    const aLast = compareBytes(
      aa,
      ao[na - 1] as number,
      ao[na] as number,
      ba,
      bo[0] as number,
      bo[1] as number,
    );
    const bLast = compareBytes(
      ba,
      bo[nb - 1] as number,
      bo[nb] as number,
      aa,
      ao[0] as number,
      ao[1] as number,
    );
    if (aLast < 0) return concatBatches(a, b, ah, bh);
    if (bLast < 0) return concatBatches(b, a, bh, ah);
  }
  const shared = na + nb >= PREWRITE_MIN_ENTRIES;
  const arena = newBytes(aa.length + ba.length, shared);
  const offsets = newU32(na + nb + 1, shared);
  const spl = newU32(na + nb, shared);
  const wts = newF64(na + nb, shared);
  const hs = withHashes ? new Uint32Array(na + nb) : null;
  let i = 0;
  let j = 0;
  let k = 0;
  let p = 0;
  let ai = ao[0] as number;
  let bj = bo[0] as number;
  // the bytes still to copy, `[from, to)` of a's arena (`runA`) or b's: consecutive entries taken from one side
  // are contiguous there, and are copied in one call
  let runA = true;
  let from = 0;
  let to = 0;
  while (i < na || j < nb) {
    let fromA: boolean;
    let w: number;
    const ae = i < na ? (ao[i + 1] as number) : 0;
    const be = j < nb ? (bo[j + 1] as number) : 0;
    if (i >= na) {
      fromA = false;
      w = bw[j] as number;
    } else if (j >= nb) {
      fromA = true;
      w = aw[i] as number;
    } else {
      // inline byte comparison of the two entries
      const la = ae - ai;
      const lb = be - bj;
      const m = Math.min(la, lb);
      let c = 0;
      for (let t = 0; t < m; t++) {
        const x = aa[ai + t] as number;
        const y = ba[bj + t] as number;
        if (x !== y) {
          c = x - y;
          break;
        }
      }
      if (c === 0) c = la - lb;
      if (c < 0) {
        fromA = true;
        w = aw[i] as number;
      } else if (c > 0) {
        fromA = false;
        w = bw[j] as number;
      } else {
        w = (aw[i] as number) + (bw[j] as number);
        if (w === 0) {
          i++;
          j++;
          ai = ae;
          bj = be;
          continue;
        }
        fromA = true;
        j++;
        bj = be;
      }
    }
    const at = p + (to - from);
    offsets[k] = at;
    if (fromA) {
      spl[k] = at + ((as[i] as number) - ai);
      if (hs !== null) hs[k] = (ah as Uint32Array)[i] as number;
      if (!runA || ai !== to) {
        p = copyRange(runA ? aa : ba, arena, p, from, to);
        runA = true;
        from = ai;
      }
      to = ae;
      i++;
      ai = ae;
    } else {
      spl[k] = at + ((bs[j] as number) - bj);
      if (hs !== null) hs[k] = (bh as Uint32Array)[j] as number;
      if (runA || bj !== to) {
        p = copyRange(runA ? aa : ba, arena, p, from, to);
        runA = false;
        from = bj;
      }
      to = be;
      j++;
      bj = be;
    }
    wts[k++] = w;
  }
  p = copyRange(runA ? aa : ba, arena, p, from, to);
  offsets[k] = p;
  const exact = k === na + nb && p === arena.length;
  // entries cancelled: the trimmed copies stay shared only while the merge is still that large
  const stillShared = shared && k >= PREWRITE_MIN_ENTRIES;
  const out = new TraceBatch({
    layout: a.layout,
    arena: exact ? arena : copyOf(arena, p, stillShared),
    offsets: firstOf(offsets, k + 1, stillShared),
    splits: firstOf(spl, k, stillShared),
    weights: firstOf(wts, k, stillShared),
    objects: mergeObjects(a.objects, b.objects),
    untagged: a.untagged && b.untagged,
  });
  if (hs !== null) out.setKeyHashes(exact ? hs : hs.slice(0, k));
  return out;
}

/** `a` then `b` as one batch, when every entry of `a` sorts before every entry of `b`. */
function concatBatches(
  a: TraceBatch,
  b: TraceBatch,
  ah: Uint32Array | null,
  bh: Uint32Array | null,
): TraceBatch {
  const na = a.length;
  const nb = b.length;
  const shift = a.arena.length;
  const shared = na + nb >= PREWRITE_MIN_ENTRIES;
  const offsets = newU32(na + nb + 1, shared);
  offsets.set(a.offsets.subarray(0, na), 0);
  const spl = newU32(na + nb, shared);
  spl.set(a.splits, 0);
  for (let j = 0; j <= nb; j++) offsets[na + j] = (b.offsets[j] as number) + shift;
  for (let j = 0; j < nb; j++) spl[na + j] = (b.splits[j] as number) + shift;
  const wts = newF64(na + nb, shared);
  wts.set(a.wts, 0);
  wts.set(b.wts, na);
  const arena = newBytes(shift + b.arena.length, shared);
  a.arena.copy(arena, 0);
  b.arena.copy(arena, shift);
  const out = new TraceBatch({
    layout: a.layout,
    arena,
    offsets,
    splits: spl,
    weights: wts,
    objects: mergeObjects(a.objects, b.objects),
    untagged: a.untagged && b.untagged,
  });
  if (ah !== null && bh !== null) {
    const hs = new Uint32Array(na + nb);
    hs.set(ah, 0);
    hs.set(bh, na);
    out.setKeyHashes(hs);
  }
  return out;
}

/**
 * A sealed batch of a trace: in memory ({@link TraceBatch}) or, with spilling on, in a batch file
 * ({@link FileBatch}, `batch-file.ts`). Both answer the same reads: `length`, `keyInRange`, `find`, `sameKey`,
 * `row`, `weight`, `valueInto`, `lowerBound`, `hasPrefix`, `view`, `firstKeyValue`, and `rows`/`weights`.
 */
export type SealedBatch = TraceBatch | FileBatch;

/** Writes an in-memory batch to a batch file in the spill directory (`c`). */
export function spillBatch(b: TraceBatch, c: SpillConfig): FileBatch {
  const w = new BatchFileWriter(c.dir, b.layout, c.compress, c.blockBytes);
  try {
    w.addAll({ arena: b.arena, offsets: b.offsets, splits: b.splits, weights: b.wts });
    return w.finish(b.objects, c.encodeObjects);
  } catch (e) {
    w.abort();
    throw e;
  }
}

/**
 * A batch as it should be held: in a file when spilling is on and it reaches `min_storage_bytes` — with
 * background writes on, in memory for now ({@link Trace}'s `#spillBehind` starts its file's write once the merges
 * are done, and the trace swaps in the file when it is complete).
 */
function placed(b: TraceBatch): SealedBatch {
  const c = spillConfig();
  if (c === null || b.length === 0 || b.dataBytes < c.minStorageBytes || c.background === true) return b;
  return spillBatch(b, c);
}

/** In-memory batches whose file is being written in the background (`spill-writer.ts`). */
const PENDING = new WeakMap<TraceBatch, PendingWrite>();

/**
 * Entries from which a new in-memory sealed batch is reported to the stepping circuit's sealed-batch sink
 * ({@link withSealedSink}): a batch that large usually outlives the next full checkpoint (the spine merges a batch
 * only once the smaller ones add up to it), so writing its segment file ahead of it is rarely wasted.
 */
export const PREWRITE_MIN_ENTRIES = 1 << 18;

/** Entries up to which {@link Trace.addChange} merges batches whatever the change's size. */
export const PART_MERGE_MIN = 1 << 16;

/** The sink of the circuit stepping now, if it has one (set by {@link withSealedSink} around its step). */
let sealedSink: ((b: TraceBatch) => void) | null = null;
/** Batches reported to a sink already (each is reported once). */
const REPORTED = new WeakSet<TraceBatch>();

/**
 * Runs `fn` (a circuit's step) with `sink` told of every in-memory sealed batch of at least
 * {@link PREWRITE_MIN_ENTRIES} entries that a trace's seal or merge creates meanwhile and that has no segment file
 * and no background spill write: a pipeline's checkpoint store writes their segment files in the background,
 * so the next full checkpoint lists them instead of encoding them (`CheckpointStore.prewrite`). Per circuit, not
 * per process: a sink sees only the batches of the circuit that set it.
 */
export function withSealedSink<T>(sink: ((b: TraceBatch) => void) | null, fn: () => T): T {
  const prev = sealedSink;
  sealedSink = sink;
  try {
    return fn();
  } finally {
    sealedSink = prev;
  }
}

function reportSealed(sink: (b: TraceBatch) => void, bs: readonly SealedBatch[]): void {
  for (const b of bs)
    if (
      b instanceof TraceBatch &&
      b.length >= PREWRITE_MIN_ENTRIES &&
      b.segment === null &&
      !PENDING.has(b) &&
      !REPORTED.has(b)
    ) {
      REPORTED.add(b);
      sink(b);
    }
}

/**
 * The batch file of an in-memory batch whose background write is in flight or done (a checkpoint lists that
 * file instead of encoding the batch: it waits for the write, so it lists only complete files); null when the
 * batch has no background write or the write failed.
 */
export function writtenFile(b: TraceBatch): Promise<FileBatch | null> | null {
  const pw = PENDING.get(b);
  return pw === undefined ? null : pw.done;
}

/** A file-backed batch read into memory (every block once). */
export function loadFileBatch(fb: FileBatch): TraceBatch {
  const n = fb.length;
  const arena = Buffer.allocUnsafe(Math.max(0, fb.dataBytes - 20 * n));
  const offsets = new Uint32Array(n + 1);
  const splits = new Uint32Array(n);
  const weights = new Float64Array(n);
  let k = 0;
  let p = 0;
  let a = arena;
  for (const blk of fb.blocks()) {
    for (let j = 0; j < blk.n; j++) {
      const s = blk.offsets[j] as number;
      const e = blk.offsets[j + 1] as number;
      if (p + (e - s) > a.length) {
        const bigger = Buffer.allocUnsafe(Math.max(a.length * 2, p + (e - s)));
        a.copy(bigger, 0, 0, p);
        a = bigger;
      }
      offsets[k] = p;
      splits[k] = p + ((blk.splits[j] as number) - s);
      weights[k] = blk.wts[j] as number;
      blk.arena.copy(a, p, s, e);
      p += e - s;
      k++;
    }
  }
  offsets[n] = p;
  return new TraceBatch({
    layout: fb.layout,
    arena: p === a.length ? a : Buffer.from(a.subarray(0, p)),
    offsets,
    splits,
    weights,
    objects: fb.objects,
  });
}

function inMemory(b: SealedBatch): TraceBatch {
  return b instanceof TraceBatch ? b : loadFileBatch(b);
}

/** Reads a sealed batch's entries in order (a file-backed one block by block, bypassing the cache). */
class EntryCursor {
  readonly v: EntryView = newEntryView();
  readonly #b: SealedBatch;
  readonly #blocks: Generator<Block> | null;
  #blk: Block | null = null;
  #j = 0;
  #i = 0;
  done = false;

  constructor(b: SealedBatch) {
    this.#b = b;
    this.#blocks = b instanceof FileBatch ? b.blocks() : null;
    this.#load();
  }

  #load(): void {
    const b = this.#b;
    if (this.#blocks === null) {
      if (this.#i >= b.length) this.done = true;
      else (b as TraceBatch).view(this.#i, this.v);
      return;
    }
    while (this.#blk === null || this.#j >= this.#blk.n) {
      const r = this.#blocks.next();
      if (r.done === true) {
        this.done = true;
        return;
      }
      this.#blk = r.value;
      this.#j = 0;
    }
    const blk = this.#blk;
    const j = this.#j;
    const v = this.v;
    v.buf = blk.arena;
    v.s = blk.offsets[j] as number;
    v.split = blk.splits[j] as number;
    v.e = blk.offsets[j + 1] as number;
    v.w = blk.wts[j] as number;
  }

  next(): void {
    this.#i++;
    this.#j++;
    this.#load();
  }
}

function cmpViews(x: EntryView, y: EntryView): number {
  return compareBytes(x.buf, x.s, x.e, y.buf, y.s, y.e);
}

/**
 * Merges two sealed batches (their sum, consolidated). Two in-memory batches whose entries stay under
 * `min_storage_bytes` (or with spilling off) merge in memory ({@link mergeBatches}); otherwise, with spilling on,
 * the merge streams both inputs' entries into a new batch file (disjoint inputs: a file-backed input's blocks are
 * copied unchanged). The inputs are left as they are (the caller releases them).
 */
export function mergeSealed(a: SealedBatch, b: SealedBatch): SealedBatch {
  const c = spillConfig();
  if (c === null) return mergeBatches(inMemory(a), inMemory(b));
  if (a instanceof TraceBatch && b instanceof TraceBatch && a.dataBytes + b.dataBytes < c.minStorageBytes)
    return mergeBatches(a, b);
  const w = new BatchFileWriter(c.dir, a.layout, c.compress, c.blockBytes);
  try {
    const ca = new EntryCursor(a);
    const cb = new EntryCursor(b);
    const copy = (x: SealedBatch, cx: EntryCursor): void => {
      const f = x instanceof FileBatch ? x : (PENDING.get(x)?.file ?? null);
      if (f !== null) {
        w.copyBlocks(f);
        return;
      }
      // an in-memory batch of file size (its background write not done yet) gets the blocks its file would have,
      // so the merged file's bytes do not depend on the write's timing
      const fileSized = x.dataBytes >= c.minStorageBytes;
      if (fileSized) w.closeBlock();
      for (; !cx.done; cx.next()) w.add(cx.v.buf, cx.v.s, cx.v.split, cx.v.e, cx.v.w);
      if (fileSized) w.closeBlock();
    };
    if (ca.done || cb.done || cmpViews(ca.v, lastView(b)) > 0 || cmpViews(lastView(a), cb.v) < 0) {
      // disjoint (or one empty): one after the other
      const aFirst = cb.done || (!ca.done && cmpViews(lastView(a), cb.v) < 0);
      if (aFirst) {
        copy(a, ca);
        copy(b, cb);
      } else {
        copy(b, cb);
        copy(a, ca);
      }
    } else
      while (!ca.done || !cb.done) {
        let c2: number;
        if (ca.done) c2 = 1;
        else if (cb.done) c2 = -1;
        else c2 = cmpViews(ca.v, cb.v);
        if (c2 < 0) {
          w.add(ca.v.buf, ca.v.s, ca.v.split, ca.v.e, ca.v.w);
          ca.next();
        } else if (c2 > 0) {
          w.add(cb.v.buf, cb.v.s, cb.v.split, cb.v.e, cb.v.w);
          cb.next();
        } else {
          const s = ca.v.w + cb.v.w;
          if (s !== 0) w.add(ca.v.buf, ca.v.s, ca.v.split, ca.v.e, s);
          ca.next();
          cb.next();
        }
      }
    if (w.entries === 0) {
      w.abort();
      return mergeBatches(emptyLike(a), emptyLike(b));
    }
    return w.finish(mergeObjects(a.objects, b.objects), c.encodeObjects);
  } catch (e) {
    w.abort();
    throw e;
  }
}

function lastView(b: SealedBatch): EntryView {
  const v = newEntryView();
  b.view(b.length - 1, v);
  return v;
}

function emptyLike(b: SealedBatch): TraceBatch {
  return new TraceBatch({
    layout: b.layout,
    arena: Buffer.alloc(0),
    offsets: new Uint32Array(1),
    splits: new Uint32Array(0),
    weights: new Float64Array(0),
    objects: null,
  });
}

/** Drops a batch the trace no longer holds (a file-backed one unlinks its spill file, now or once written). */
function release(b: SealedBatch): void {
  if (b instanceof FileBatch) b.release();
  else {
    RELEASED.add(b);
    b.sources = null;
    PENDING.get(b)?.cancel();
  }
}

/**
 * What merge `m` of `a` and `b` is the sum of, for {@link TraceBatch.sources}: each input, or the inputs it was
 * itself merged from while it has no file of its own. Null when one is a batch file (the merge is written as one
 * then), or when the inputs' entries cancelled each other by more than a tenth (updates: `(old, +1)` in one,
 * `(old, -1), (new, +1)` in the other): listing them would make the checkpoint that much larger than the merge.
 */
function mergedFrom(m: TraceBatch, a: SealedBatch, b: SealedBatch): readonly TraceBatch[] | null {
  if (a instanceof FileBatch || b instanceof FileBatch) return null;
  const of = (x: TraceBatch): readonly TraceBatch[] =>
    x.segment === null && x.sources !== null ? x.sources : [x];
  const out = [...of(a), ...of(b)];
  let entries = 0;
  for (const x of out) entries += x.length;
  return m.length * 10 >= entries * 9 ? out : null;
}

/** In-memory batches a trace has dropped (merged away, cleared): no later checkpoint of it lists them. */
const RELEASED = new WeakSet<TraceBatch>();

/**
 * Whether a trace has dropped `b` (merged it into a larger batch, or cleared it): a write ahead of its file
 * would be wasted (a checkpoint already under way that lists it encodes it itself).
 */
export function isReleased(b: TraceBatch): boolean {
  return RELEASED.has(b);
}

/**
 * A head entry; a key's entries form a short linked list (usually one or two: a retraction and an insertion). A
 * key whose only entry is one row with weight 1 maps to the row itself (no entry object).
 */
interface HeadEntry {
  row: Row;
  w: number;
  next: HeadEntry | null;
}

/**
 * A unique trace's head slot for a key whose sealed row `old` was replaced (`cur`) or deleted (`cur` null) since
 * the last seal. A key first inserted since the last seal maps to its row itself.
 */
interface Replaced {
  readonly old: Row;
  cur: Row | null;
}

const NO_KEY: unique symbol = Symbol('no key');
/** {@link Trace}'s numeric unique head keys were first touched in ascending order. */
const ASCENDING: unique symbol = Symbol('ascending');

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE_BIG = -MAX_SAFE_BIG;

/**
 * A batch still being built from a frozen head (a checkpoint's capture, {@link Trace.capture}): built in slices of
 * at most about {@link SLICE_MS} by `settle`, returning to the event loop between slices, or at once by
 * {@link batch} (a reader that needs it now, or the trace's next seal). Either way it is built once and is the
 * same batch (its entries are those a synchronous seal of the head builds).
 */
export class PendingBatch extends Sliced<TraceBatch> {
  /** Head entries it is built from (before consolidation). */
  readonly entries: number;

  constructor(entries: number, steps: Steps<TraceBatch>) {
    super(steps);
    this.entries = entries;
  }

  /** Whether the batch is built. */
  get built(): boolean {
    return this.done;
  }

  /** The batch, finishing its build now if needed (synchronously). A build that failed throws its error again. */
  batch(): TraceBatch {
    return this.result();
  }
}

/**
 * A head frozen by {@link Trace.capture}: no longer changed, read by lookups (as the newest sealed level) until the
 * trace's next seal, scan or capture pushes its batch (built by then, or built at that point).
 */
interface Frozen {
  /** An indexed trace's head (null for a unique or scan-only trace). */
  readonly head: Map<unknown, HeadEntry | Row> | null;
  /** A unique trace's head (null otherwise). */
  readonly uhead: KeyIndex<Row | Replaced> | null;
  /** A scan-only trace's append log (null otherwise). */
  readonly log: { readonly rows: readonly Row[]; readonly weights: readonly number[] } | null;
  /** Head entries at the freeze (what {@link Trace.maybeSeal} counts until the batch is pushed). */
  readonly rows: number;
  readonly pending: PendingBatch;
}

/** Builds an indexed head's batch, pausing while its entries are collected and while the batch is built. */
function* headSteps(layout: TraceLayout, head: Map<unknown, HeadEntry | Row>): Steps<TraceBatch> {
  const rows: Row[] = [];
  const ws: number[] = [];
  let i = 0;
  for (const first of head.values()) {
    if ((++i & (SLICE - 1)) === 0) yield;
    pushHeadSlot(first, rows, ws);
  }
  return yield* buildBatchSteps(layout, rows, ws);
}

/** Appends an indexed head's slot (one row of weight 1, or its chain of entries) to `rows` / `ws`. */
function pushHeadSlot(first: HeadEntry | Row, rows: Row[], ws: number[]): void {
  if (Array.isArray(first)) {
    rows.push(first as Row);
    ws.push(1);
  } else
    for (let e: HeadEntry | null = first as HeadEntry; e !== null; e = e.next) {
      rows.push(e.row);
      ws.push(e.w);
    }
}

/**
 * Builds a unique head's batch, pausing every {@link SLICE} keys. Numeric keys first touched in ascending order
 * are emitted in that (key) order; other numeric keys are sorted first when they are few (a typed-array sort
 * cannot pause), else left to the build's radix sort, which pauses.
 */
function* uniqueHeadSteps(
  layout: TraceLayout,
  uhead: KeyIndex<Row | Replaced>,
  simpleKey: boolean,
  replaced: number,
): Steps<TraceBatch> {
  let keys: Float64Array | null = simpleKey ? new Float64Array(uhead.size) : null;
  let ascending = true;
  if (keys !== null) {
    let i = 0;
    let prev = 0;
    for (const k of uhead.keys()) {
      if ((i & (SLICE - 1)) === SLICE - 1) yield;
      if (typeof k !== 'number') {
        keys = null;
        break;
      }
      if (Number.isNaN(k) || (i > 0 && !(k > prev))) ascending = false;
      prev = k;
      keys[i++] = k;
    }
  }
  if (keys !== null && !ascending && keys.length <= SORT_KEYS_MAX) {
    keys.sort();
    return yield* uniqueHeadBatchSteps(layout, uhead, keys, replaced);
  }
  return yield* uniqueHeadBatchSteps(layout, uhead, null, replaced);
}

/**
 * Builds a unique head's batch by encoding its slots straight into one buffer (no arrays of rows in between), in
 * the order of `keys` (numeric head keys, sorted: each is looked up in the head) or else of the Map. A replaced
 * key's two entries are put in byte order as they are encoded (a row put back as it was: both dropped, as the
 * consolidation would), so a head walked in key order is already sorted: the build checks that and then copies
 * the buffer in one call, else sorts as {@link buildBatch} does. The batch is byte for byte the one
 * {@link buildBatch} makes of the slots' entries (`old` with -1, then `cur` or the row with +1): the same entries
 * encoded in the same order, so the object table too. Pauses every {@link SLICE} keys. `replaced`: how many slots
 * are replaced rows (two entries each), which sizes the entry arrays (a head of insertions only: exactly its
 * size, and the batch keeps them); more replaced slots than that only grow the arrays once.
 */
export function* uniqueHeadBatchSteps(
  layout: TraceLayout,
  uhead: Pick<KeyIndex<Row | Replaced>, 'size' | 'get' | 'values'>,
  keys: Float64Array | null,
  replaced = uhead.size,
): Steps<TraceBatch> {
  const size = uhead.size;
  // at most two entries per key (a replaced row's retraction and insertion)
  let cap = size + Math.min(size, Math.max(0, replaced));
  const w = buildWriter(size);
  const objects = new Map<string, ObjectValue>();
  let starts = new Uint32Array(cap + 1);
  let splits = new Uint32Array(cap);
  let ws = new Float64Array(cap);
  const kc = layout.keyCols;
  const vc = layout.valCols;
  let k = 0;
  let sized = 0;
  const it = keys === null ? uhead.values() : null;
  for (let i = 0; i < size; i++) {
    if ((i & (SLICE - 1)) === SLICE - 1) yield;
    const s =
      keys === null
        ? ((it as Iterator<Row | Replaced>).next().value as Row | Replaced)
        : (uhead.get(keys[i]) as Row | Replaced);
    if (k >= SIZE_SAMPLE && k >= sized) {
      // the rest at this many entries per key so far (again at 1,024 and 65,536 entries: see resizeAt)
      reserveRest(w, k, k + Math.ceil(((size - i) * k) / i));
      sized = k < 1 << 10 ? 1 << 10 : k < 1 << 16 ? 1 << 16 : Number.POSITIVE_INFINITY;
    }
    if (Array.isArray(s)) {
      const row = s as Row;
      starts[k] = w.pos;
      encodeColumnsTo(w, row, kc, objects);
      splits[k] = w.pos;
      encodeColumnsTo(w, row, vc, objects, true);
      ws[k++] = 1;
      continue;
    }
    const r = s as Replaced;
    if (k + 2 + (size - i - 1) > cap) {
      // more replaced slots than announced (no room for this slot's two entries and one per slot after it):
      // room for two entries per slot left, once
      cap = k + 2 * (size - i);
      const s2 = new Uint32Array(cap + 1);
      s2.set(starts.subarray(0, k));
      const p2 = new Uint32Array(cap);
      p2.set(splits.subarray(0, k));
      const w2 = new Float64Array(cap);
      w2.set(ws.subarray(0, k));
      starts = s2;
      splits = p2;
      ws = w2;
    }
    const s0 = w.pos;
    encodeColumnsTo(w, r.old, kc, objects);
    const p0 = w.pos;
    encodeColumnsTo(w, r.old, vc, objects, true);
    if (r.cur === null) {
      starts[k] = s0;
      splits[k] = p0;
      ws[k++] = -1;
      continue;
    }
    const s1 = w.pos;
    encodeColumnsTo(w, r.cur, kc, objects);
    const p1 = w.pos;
    encodeColumnsTo(w, r.cur, vc, objects, true);
    const e1 = w.pos;
    const c = compareBytes(w.buf, s0, s1, w.buf, s1, e1);
    if (c === 0) {
      // put back as it was: the two entries cancel out
      w.pos = s0;
      continue;
    }
    if (c < 0) {
      starts[k] = s0;
      splits[k] = p0;
      ws[k++] = -1;
      starts[k] = s1;
      splits[k] = p1;
      ws[k++] = 1;
      continue;
    }
    // the new row sorts first: move the old row's bytes after it
    const lenOld = s1 - s0;
    const lenCur = e1 - s1;
    w.ensure(lenOld);
    const b = w.buf;
    b.copy(b, e1, s0, s1);
    b.copy(b, s0, s1, e1 + lenOld);
    starts[k] = s0;
    splits[k] = s0 + (p1 - s1);
    ws[k++] = 1;
    starts[k] = s0 + lenCur;
    splits[k] = s0 + lenCur + (p0 - s0);
    ws[k++] = -1;
  }
  starts[k] = w.pos;
  return yield* buildFromEncoded(layout, w.buf, starts, splits, ws, k, objects, false, !w.tagged);
}

/** Most numeric head keys a sliced build sorts up front (in one go: a few milliseconds). */
export const SORT_KEYS_MAX = 1 << 16;

/** Default head size before a step-end {@link Trace.maybeSeal} seals it. */
export const HEAD_MIN = 65536;
/**
 * Default head size of a unique trace (a primary-key table): its head is as cheap per change as a Map of rows,
 * so it seals later (a table of up to this many changed rows between checkpoints never seals on the step path).
 */
export const UNIQUE_HEAD_MIN = 262144;
let defaultHeadMin = HEAD_MIN;
/**
 * With spilling on, the most a head grows to (beyond its minimum) between seals: about 150 MiB of JS rows, so a
 * state far larger than the heap never has half of it in the head.
 */
export const SPILL_HEAD_MAX = 1 << 20;
/**
 * The most entries a head grows to past its threshold while every head fits the head budget (`head-budget.ts`):
 * about 100–250 MiB of JS rows, so a trace's seal, when it comes, is never larger than this (the sealed state
 * then grows geometrically, a head sealing at half of it).
 */
export const DEFER_HEAD_MAX = 1 << 20;

/** The head size traces created now get ({@link HEAD_MIN} unless a test set another with {@link setTraceHeadMin}). */
export function traceHeadMin(): number {
  return defaultHeadMin;
}

/** Sets the head size of traces created from now on (tests use tiny heads to exercise sealing); returns the old. */
export function setTraceHeadMin(n: number): number {
  const old = defaultHeadMin;
  defaultHeadMin = Math.max(1, n);
  return old;
}

export class Trace {
  readonly layout: TraceLayout;
  /** Sealed batches, largest first. */
  #batches: SealedBatch[] = [];
  /** Changes since the last seal, by key: raw value for a one-column primitive key, else the key bytes (latin1). */
  #head = new Map<unknown, HeadEntry | Row>();
  #headRows = 0;
  /** The head a checkpoint froze ({@link capture}), until its batch is pushed; null when none. */
  #frozen: Frozen | null = null;
  #rowsInBatches = 0;
  readonly #scratch = new ByteWriter(256);
  readonly #simpleKey: boolean;
  readonly #headMin: number;
  /**
   * Whether a head past its threshold may stay unsealed while every head fits the process's budget
   * (`head-budget.ts`): indexed traces with the default head size (not a size a test set).
   */
  readonly #defer: boolean;
  readonly #account: HeadAccount;
  /** Estimated bytes per head entry (see `headEntryBytes`; raised by a seal's measured encoding). */
  #entryBytes: number;
  /** Without point lookups the head is a plain append log (consolidated when sealed). */
  readonly #indexed: boolean;
  #logRows: Row[] = [];
  #logWeights: number[] = [];
  /** Unique traces: at most one row per key, changed with {@link put} only; the head is `#uhead`. */
  readonly #unique: boolean;
  /** Unique head: key → the key's current row (inserted since the last seal) or a {@link Replaced} slot. */
  #uhead = new KeyIndex<Row | Replaced>();
  /** Replaced-row slots put in `#uhead` since it was last emptied (sizes its build's entry arrays). */
  #uheadReplaced = 0;
  /**
   * The sealed batches' smallest and largest keys as numbers, when the key is one numeric column (`#rangeOf`
   * is the batch list they were computed for; a new list recomputes them on demand).
   */
  readonly #bigintAsNumber: boolean;
  #minNum: number | bigint = 0;
  #maxNum: number | bigint = 0;
  #rangeOf: readonly SealedBatch[] | null = null;
  #rangeNumeric = false;
  /** The key and slot the last {@link current} looked at (a {@link put} of the same key reuses them). */
  #lastKey: unknown = NO_KEY;
  #lastSlot: Row | Replaced | undefined = undefined;
  readonly #foundRows: Row[] = [];
  readonly #foundWeights: number[] = [];
  /** Batches held in memory while their file is written in the background; {@link writesCompleted} when checked. */
  #writing = 0;
  #writesSeen = 0;

  /**
   * `indexed: false` makes a trace without {@link lookup} (scans only): `add` then just appends to the head,
   * which suits an integral that is only added to and scanned (an aggregate's input). `unique: true` makes a
   * trace holding at most one row (weight 1) per key, changed only by {@link put} (a primary-key table): its head
   * is a Map of current rows by key, as cheap per change as a plain Map of rows. `typedKeys: true` promises that
   * each key column holds values of one JS type (an SQL column does), so a BIGINT key within ±2^53 can be held
   * in the head as a number (without it, 1 and 1n stay different keys).
   */
  constructor(
    layout: TraceLayout,
    opts: { headMin?: number; indexed?: boolean; unique?: boolean; typedKeys?: boolean } = {},
  ) {
    this.layout = layout;
    this.#bigintAsNumber = opts.typedKeys ?? false;
    this.#unique = opts.unique ?? false;
    this.#indexed = this.#unique || (opts.indexed ?? true);
    this.#headMin =
      opts.headMin ?? (this.#unique && defaultHeadMin === HEAD_MIN ? UNIQUE_HEAD_MIN : defaultHeadMin);
    // a scan-only trace's head is an append log, sealed by sorting it whenever: holding it longer saves little
    this.#defer = opts.headMin === undefined && defaultHeadMin === HEAD_MIN && this.#indexed;
    this.#account = headAccount(this);
    this.#entryBytes = headEntryBytes(layout.arity);
    this.#simpleKey = layout.keyCols.length === 1;
  }

  /** Sealed batches, largest first (a snapshot: the array is not changed later, the batches never). */
  get batches(): readonly SealedBatch[] {
    return this.#batches;
  }

  /** Entries held (head entries plus batch entries; rows cancelled across levels count until merged). */
  get entryCount(): number {
    return this.#headRows + this.#rowsInBatches + (this.#frozen?.rows ?? 0);
  }

  get headSize(): number {
    return this.#headRows;
  }

  /** Bytes held by the sealed batches. */
  get batchBytes(): number {
    let s = 0;
    for (const b of this.#batches) s += b.byteSize;
    return s;
  }

  clear(): void {
    for (const b of this.#batches) release(b);
    this.#batches = [];
    this.#frozen = null; // a capture holding it still builds its batch from the (unchanged) frozen head
    this.#head.clear();
    this.#uhead.clear();
    this.#uheadReplaced = 0;
    this.#lastKey = NO_KEY;
    this.#logRows.length = 0;
    this.#logWeights.length = 0;
    this.#headRows = 0;
    this.#rowsInBatches = 0;
    this.#writing = 0;
    this.#account.report(0);
  }

  /** Encodes `row`'s key into the scratch buffer; returns its end. */
  #encodeKey(row: Row): number {
    const w = this.#scratch;
    w.reset();
    encodeColumnsTo(w, row, this.layout.keyCols, null);
    return w.pos;
  }

  #headKey(row: Row): unknown {
    if (this.#simpleKey) {
      const v = row[this.layout.keyCols[0] as number] as Value;
      if (typeof v !== 'object' || v === null) {
        // a BIGINT key within ±2^53 is held as a number (with `typedKeys`: 5 and 5n never meet as keys): Maps
        // hash numbers much faster than bigints, and a seal sorts numeric keys in a Float64Array
        if (typeof v === 'bigint' && this.#bigintAsNumber && v <= MAX_SAFE_BIG && v >= MIN_SAFE_BIG)
          return Number(v);
        return v;
      }
    }
    const end = this.#encodeKey(row);
    return this.#scratch.buf.toString('latin1', 0, end);
  }

  /** The head's key for `row`'s key columns (for {@link current} / {@link put}). */
  keyOf(row: Row): unknown {
    return this.#headKey(row);
  }

  /**
   * Unique traces: the current row whose key is `k` (= `keyOf(probe)`), or undefined. A key changed since the
   * last seal is answered by the head alone; other keys probe the sealed batches (a batch whose key range
   * excludes the key costs two byte comparisons).
   */
  current(k: unknown, probe: Row): Row | undefined {
    const s = this.#uhead.get(k);
    this.#lastKey = k;
    this.#lastSlot = s;
    if (s !== undefined) return Array.isArray(s) ? (s as Row) : ((s as Replaced).cur ?? undefined);
    // a key changed before the last capture and not since: the frozen head has its row (or its deletion)
    const f = this.#frozen;
    if (f !== null) {
      const fs = (f.uhead as KeyIndex<Row | Replaced>).get(k);
      if (fs !== undefined) return Array.isArray(fs) ? (fs as Row) : ((fs as Replaced).cur ?? undefined);
    }
    if (this.#batches.length === 0) return undefined;
    // a numeric key outside every batch's key range (a new ascending id or timestamp) is a miss without
    // encoding it or visiting the batches
    if (
      (typeof k === 'number' || typeof k === 'bigint') &&
      this.#numericRange() &&
      (k > this.#maxNum || k < this.#minNum)
    )
      return undefined;
    const rows = this.#foundRows;
    const ws = this.#foundWeights;
    this.#lookupBatches(probe, rows, ws);
    let row: Row | undefined;
    for (let i = 0; i < rows.length; i++) if ((ws[i] as number) > 0) row = rows[i] as Row;
    rows.length = 0;
    ws.length = 0;
    return row;
  }

  /**
   * Unique traces: the key `k` (= `keyOf` of the rows) whose current row is `old` (as {@link current} returned
   * it) now holds `cur` (undefined: no row). O(1) expected.
   */
  put(k: unknown, old: Row | undefined, cur: Row | undefined): void {
    if (!this.#unique) throw new Error('put on a trace that is not unique');
    const h = this.#uhead;
    const s = k === this.#lastKey ? this.#lastSlot : h.get(k);
    this.#lastKey = NO_KEY;
    this.#lastSlot = undefined;
    if (s === undefined) {
      if (old !== undefined) {
        h.set(k, { old, cur: cur ?? null });
        this.#uheadReplaced++;
      } else if (cur !== undefined) h.set(k, cur);
      else return;
      this.#headRows++;
      return;
    }
    if (Array.isArray(s)) {
      // inserted since the last seal: the batches hold no row for the key
      if (cur !== undefined) h.set(k, cur);
      else {
        h.delete(k);
        this.#headRows--;
      }
      return;
    }
    (s as Replaced).cur = cur ?? null;
  }

  /** Whether `#minNum`/`#maxNum` bound the sealed keys (one numeric key column; recomputed per batch list). */
  #numericRange(): boolean {
    if (this.#rangeOf === this.#batches) return this.#rangeNumeric;
    this.#rangeOf = this.#batches;
    this.#rangeNumeric = false;
    if (!this.#simpleKey) return false;
    let min: number | bigint = Infinity;
    let max: number | bigint = -Infinity;
    for (const b of this.#batches) {
      if (b.length === 0) continue;
      const first = b.firstKeyValue(0);
      const last = b.firstKeyValue(b.length - 1);
      // the codec orders numbers before bigints: only a batch whose first and last keys are both numbers (or
      // both bigints) holds keys of one kind only, all between the two (JS compares numbers and bigints exactly)
      const kind = typeof first;
      if ((kind !== 'number' && kind !== 'bigint') || typeof last !== kind) return false;
      if ((first as number) < min) min = first as number | bigint;
      // NaN sorts after every number: a batch holding it gives no upper bound (max stays NaN: no key exceeds it)
      if (typeof max === 'number' && Number.isNaN(max)) continue;
      if (typeof last === 'number' && Number.isNaN(last)) max = last;
      else if ((last as number) > max) max = last as number | bigint;
    }
    this.#minNum = min;
    this.#maxNum = max;
    this.#rangeNumeric = true;
    return true;
  }

  /** The unique head's changes as Z-set entries, passed to `fn`. */
  #uheadEntries(fn: (row: Row, w: number) => void): void {
    for (const s of this.#uhead.values()) this.#slotEntries(s, fn);
  }

  #slotEntries(s: Row | Replaced, fn: (row: Row, w: number) => void): void {
    if (Array.isArray(s)) {
      fn(s as Row, 1);
      return;
    }
    const r = s as Replaced;
    // a row put back as it was cancels out when the batch is built (value columns are compared exactly there)
    fn(r.old, -1);
    if (r.cur !== null) fn(r.cur, 1);
  }

  /**
   * The unique head's keys as numbers when the key is one column and every head key is a number, else null;
   * {@link ASCENDING} when, moreover, they were first touched in strictly ascending order (no NaN: the Map's order is
   * then the key order, and no sort is needed).
   */
  #numericHeadKeys(): Float64Array | typeof ASCENDING | null {
    if (!this.#simpleKey) return null;
    const keys = new Float64Array(this.#uhead.size);
    let i = 0;
    let ascending = true;
    let prev = 0;
    for (const k of this.#uhead.keys()) {
      if (typeof k !== 'number') return null;
      if (Number.isNaN(k) || (i > 0 && !(k > prev))) ascending = false;
      prev = k;
      keys[i++] = k;
    }
    return ascending ? ASCENDING : keys;
  }

  /** Adds `w` copies of `row` (negative: removes). */
  add(row: Row, w: number): void {
    if (w === 0) return;
    if (this.#unique) throw new Error('add on a unique trace (use put)');
    if (!this.#indexed) {
      this.#logRows.push(row);
      this.#logWeights.push(w);
      this.#headRows++;
      return;
    }
    this.addAt(this.#headKey(row), row, w);
  }

  /**
   * {@link add} for an indexed trace, with the row's head key `k` (= `keyOf(row)`) already computed: an operator
   * that groups a step's changes by `keyOf` adds them without encoding the key again.
   */
  addAt(k: unknown, row: Row, w: number): void {
    if (w === 0) return;
    if (this.#unique || !this.#indexed) throw new Error('addAt on a unique or scan-only trace');
    const first = this.#head.get(k);
    if (first === undefined) {
      // a key's only entry with weight 1 (an insertion: the common case) is the row itself, no entry object
      this.#head.set(k, w === 1 ? row : { row, w, next: null });
      this.#headRows++;
      return;
    }
    if (Array.isArray(first)) {
      const one = first as Row;
      if (sameRow(one, row)) {
        if (w === -1) {
          this.#head.delete(k);
          this.#headRows--;
        } else this.#head.set(k, { row: one, w: 1 + w, next: null });
        return;
      }
      this.#head.set(k, { row: one, w: 1, next: { row, w, next: null } });
      this.#headRows++;
      return;
    }
    let prev: HeadEntry | null = null;
    for (let e: HeadEntry | null = first as HeadEntry; e !== null; prev = e, e = e.next) {
      if (!sameRow(e.row, row)) continue;
      e.w += w;
      if (e.w === 0) {
        this.#headRows--;
        if (prev !== null) prev.next = e.next;
        else if (e.next !== null) this.#head.set(k, e.next);
        else this.#head.delete(k);
      }
      return;
    }
    (prev as HeadEntry).next = { row, w, next: null };
    this.#headRows++;
  }

  /**
   * The summed weight of the rows whose key is `probe`'s (`k` = `keyOf(probe)`), without decoding any row: for a
   * trace keyed by the whole row, the row's weight (a distinct or set operation's point lookup).
   */
  weightAt(k: unknown, probe: Row): number {
    if (this.#unique || !this.#indexed) throw new Error('weightAt on a unique or scan-only trace');
    let sum = 0;
    const first = this.#head.get(k);
    if (first !== undefined) {
      if (Array.isArray(first)) sum = 1;
      else for (let e: HeadEntry | null = first as HeadEntry; e !== null; e = e.next) sum += e.w;
    }
    const fh = this.#frozen?.head;
    if (fh !== undefined && fh !== null) {
      const ff = fh.get(k);
      if (ff !== undefined) {
        if (Array.isArray(ff)) sum += 1;
        else for (let e: HeadEntry | null = ff as HeadEntry; e !== null; e = e.next) sum += e.w;
      }
    }
    const bs = this.#batches;
    if (bs.length === 0) return sum;
    const ke = this.#encodeKey(probe);
    forEachKeyEntry(bs, this.#scratch.buf, ke, (batch, i) => {
      sum += batch.weight(i);
    });
    return sum;
  }

  /**
   * The rows whose key equals `probe`'s key columns, with their (non-zero) weights, written to `outRows` /
   * `outWeights` (cleared first). Rows come back as stored (key columns by identity: a -0 key comes back 0).
   */
  lookup(probe: Row, outRows: Row[], outWeights: number[]): void {
    this.lookupSealed(probe, outRows, outWeights);
    if (this.#unique) {
      this.#uheadSlotInto(this.#headKey(probe), outRows, outWeights, true);
      return;
    }
    const first = this.#head.get(this.#headKey(probe));
    if (first === undefined) return;
    if (Array.isArray(first)) addInto(outRows, outWeights, first as Row, 1);
    else
      for (let e: HeadEntry | null = first as HeadEntry; e !== null; e = e.next)
        addInto(outRows, outWeights, e.row, e.w);
  }

  /**
   * The sealed batches' part of {@link lookup} (the head left out): with {@link lookupHead}, what an operator that
   * has already looked at the head needs.
   */
  lookupSealed(probe: Row, outRows: Row[], outWeights: number[]): void {
    this.#lookupBatches(probe, outRows, outWeights);
    const f = this.#frozen;
    if (f === null) return;
    // a head frozen by a capture counts as sealed (the newest level) until its batch is pushed
    const k = this.#headKey(probe);
    if (f.uhead !== null) {
      const s = f.uhead.get(k);
      if (s !== undefined) this.#slotEntries(s, (r, w) => addInto(outRows, outWeights, r, w));
      return;
    }
    const first = (f.head as Map<unknown, HeadEntry | Row>).get(k);
    if (first === undefined) return;
    if (Array.isArray(first)) addInto(outRows, outWeights, first as Row, 1);
    else
      for (let e: HeadEntry | null = first as HeadEntry; e !== null; e = e.next)
        addInto(outRows, outWeights, e.row, e.w);
  }

  /** The batches' part of {@link lookupSealed} (the frozen head left out). */
  #lookupBatches(probe: Row, outRows: Row[], outWeights: number[]): void {
    if (!this.#indexed) throw new Error('lookup on a trace without an index');
    outRows.length = 0;
    outWeights.length = 0;
    const bs = this.#batches;
    if (bs.length > 0) {
      const ke = this.#encodeKey(probe);
      forEachKeyEntry(bs, this.#scratch.buf, ke, (batch, i) =>
        addInto(outRows, outWeights, batch.row(i), batch.weight(i)),
      );
    }
  }

  /**
   * The head's part of {@link lookup}: the changes since the last seal for `probe`'s key, written to `outRows` /
   * `outWeights` (cleared first) as they are (not summed with the batches). Returns whether the head holds any.
   * An operator that knows more about its content than the trace does can answer from the head alone (a
   * primary-key table: a key touched since the last seal has its current row, if any, in the head).
   */
  lookupHead(probe: Row, outRows: Row[], outWeights: number[]): boolean {
    if (!this.#indexed) throw new Error('lookup on a trace without an index');
    outRows.length = 0;
    outWeights.length = 0;
    if (this.#unique) {
      this.#uheadSlotInto(this.#headKey(probe), outRows, outWeights, false);
      return outRows.length > 0;
    }
    const first = this.#head.get(this.#headKey(probe));
    if (first === undefined) return false;
    pushHeadSlot(first, outRows, outWeights);
    return outRows.length > 0;
  }

  /** A unique head slot's entries for key `k`, summed into (`sum`) or appended to the output arrays. */
  #uheadSlotInto(k: unknown, outRows: Row[], outWeights: number[], sum: boolean): void {
    const s = this.#uhead.get(k);
    if (s === undefined) return;
    const put = (row: Row, w: number): void => {
      if (sum) addInto(outRows, outWeights, row, w);
      else {
        outRows.push(row);
        outWeights.push(w);
      }
    };
    if (Array.isArray(s)) put(s as Row, 1);
    else {
      const r = s as Replaced;
      put(r.old, -1);
      if (r.cur !== null) put(r.cur, 1);
    }
  }

  /**
   * Readies the sealed batches for point lookups, for a trace that has just been restored or added to (a warm
   * standby's loaded state) and will next be looked up by key (its next applied delta): runs about `samples`
   * lookups of keys the batches hold (each batch's share in proportion to its size, at least a few, at most one
   * per entry), spread over each batch, through the path a change takes ({@link current}
   * on a unique trace, {@link lookupSealed} otherwise). That builds what a batch builds on its first lookups (the
   * fence keys of a large batch; the hash index of a batch small enough for the samples to reach its share of
   * lookups) and runs the lookup code before a change has to wait for it. Read only: the contents, the head and
   * the last looked-up key are as before. A trace without an index has nothing to prepare. Returns the lookups run.
   */
  prepareLookups(samples = 4096): number {
    if (!this.#indexed || this.#batches.length === 0 || samples <= 0) return 0;
    const total = this.#rowsInBatches;
    const lastKey = this.#lastKey;
    const lastSlot = this.#lastSlot;
    const rows = this.#foundRows;
    const ws = this.#foundWeights;
    let done = 0;
    for (const b of this.#batches) {
      const n = b.length;
      // every batch gets at least a few probes (its fences and its code path), the rest in proportion to size
      const share = Math.min(n, Math.max(16, Math.ceil((samples * n) / Math.max(1, total))));
      for (let j = 0; j < share; j++) {
        const probe = b.row(Math.floor((j * n) / share));
        if (this.#unique) this.current(this.keyOf(probe), probe);
        else this.lookupSealed(probe, rows, ws);
        done++;
      }
    }
    rows.length = 0;
    ws.length = 0;
    this.#lastKey = lastKey;
    this.#lastSlot = lastSlot;
    return done;
  }

  /**
   * Seals the head into a batch when it has grown past its threshold (call between steps): its minimum size, or
   * half the sealed entries — unless every head of the process still fits the head budget (`head-budget.ts`),
   * then it keeps growing, up to {@link DEFER_HEAD_MAX} entries. A checkpoint's frozen head counts
   * toward the budget until its batch is pushed (by the next seal, scan or capture, as before).
   */
  maybeSeal(): void {
    if (this.#writing > 0) this.#checkWrites();
    // with spilling on, the head stays at its minimum size instead of growing with the state (half of a state
    // larger than memory would not fit in the heap)
    const half = (this.#rowsInBatches + (this.#frozen?.rows ?? 0)) >>> 1;
    const grown = spillConfig() === null ? half : Math.min(half, SPILL_HEAD_MAX);
    const n = this.#headRows;
    const fits = this.#account.report((n + (this.#frozen?.rows ?? 0)) * this.#entryBytes);
    if (n < Math.max(this.#headMin, grown)) return;
    if (this.#defer && fits && n < DEFER_HEAD_MAX) return;
    this.seal();
    this.#account.report((this.#frozen?.rows ?? 0) * this.#entryBytes);
  }

  /**
   * Turns the head into a sealed batch and (unless `merge` is false) restores the spine shape by merging. A
   * checkpoint seals without merging, so that its pause is the head's size, not a merge's; the next seal merges.
   */
  seal(merge = true): void {
    this.#pushFrozen();
    if (this.#headRows === 0) return;
    if (!this.#indexed) {
      const b = buildBatch(this.layout, this.#logRows, this.#logWeights);
      this.#logRows.length = 0;
      this.#logWeights.length = 0;
      this.#headRows = 0;
      this.#push(b, merge);
      return;
    }
    if (this.#unique && this.#head.size === 0) {
      // straight from the head Map, in key order when the keys are numbers (see uniqueHeadBatchSteps)
      const keys = this.#numericHeadKeys();
      if (keys !== null && keys !== ASCENDING) keys.sort();
      const b = drain(
        uniqueHeadBatchSteps(this.layout, this.#uhead, keys === ASCENDING ? null : keys, this.#uheadReplaced),
      );
      this.#uhead.clear();
      this.#uheadReplaced = 0;
      this.#lastKey = NO_KEY;
      this.#headRows = 0;
      this.#push(b, merge);
      return;
    }
    const rows: Row[] = [];
    const ws: number[] = [];
    if (this.#unique) {
      const emit = (r: Row, w: number): void => {
        rows.push(r);
        ws.push(w);
      };
      const keys = this.#numericHeadKeys();
      if (keys === ASCENDING) {
        // keys first touched in ascending order (new ids or timestamps): the Map's order is key order
        this.#uheadEntries(emit);
      } else if (keys !== null) {
        // one numeric key column: key order is numeric order, so the entries are encoded already sorted
        // (but for a key's retraction and insertion, which the build orders by their value bytes)
        keys.sort();
        const h = this.#uhead;
        for (let i = 0; i < keys.length; i++) this.#slotEntries(h.get(keys[i]) as Row | Replaced, emit);
      } else this.#uheadEntries(emit);
      this.#uhead.clear();
      this.#uheadReplaced = 0;
      this.#lastKey = NO_KEY;
    }
    for (const first of this.#head.values())
      if (Array.isArray(first)) {
        rows.push(first as Row);
        ws.push(1);
      } else
        for (let e: HeadEntry | null = first as HeadEntry; e !== null; e = e.next) {
          rows.push(e.row);
          ws.push(e.w);
        }
    this.#head.clear();
    this.#headRows = 0;
    this.#push(buildBatch(this.layout, rows, ws), merge);
  }

  #checkWrites(): void {
    pollWrites();
    if (this.#writesSeen !== writesCompleted()) this.#takeWritten();
  }

  /**
   * Swaps in the files of batches whose background write has completed (the same entries: reads are unchanged);
   * a batch whose write failed is written synchronously.
   */
  #takeWritten(): void {
    this.#writesSeen = writesCompleted();
    let bs: SealedBatch[] | null = null;
    let writing = 0;
    for (let i = 0; i < this.#batches.length; i++) {
      const b = this.#batches[i] as SealedBatch;
      const pw = b instanceof TraceBatch ? PENDING.get(b) : undefined;
      if (pw === undefined) continue;
      if (pw.file !== null) {
        bs ??= this.#batches.slice(); // the previous array may be held by a snapshot
        bs[i] = pw.file;
      } else if (pw.failed) {
        // written now, on the step (an I/O error then fails the step, as without background writes)
        const c = spillConfig();
        PENDING.delete(b as TraceBatch);
        if (c !== null) {
          bs ??= this.#batches.slice();
          bs[i] = spillBatch(b as TraceBatch, c);
        }
      } else writing++;
    }
    if (bs !== null) this.#batches = bs;
    this.#writing = writing;
  }

  /** Starts the background writes of the file-sized batches held in memory (after a seal's merges). */
  #spillBehind(bs: SealedBatch[], only: ReadonlySet<SealedBatch> | null = null): void {
    const c = spillConfig();
    if (c === null || c.background !== true) return;
    for (let i = 0; i < bs.length; i++) {
      const b = bs[i] as SealedBatch;
      if (!(b instanceof TraceBatch) || b.length === 0 || b.dataBytes < c.minStorageBytes || PENDING.has(b))
        continue;
      if (only !== null && !only.has(b)) continue;
      const pw = writeInBackground(
        c,
        b.layout,
        { arena: b.arena, offsets: b.offsets, splits: b.splits, weights: b.wts },
        b.objects,
        b.dataBytes,
      );
      // too much in flight: written now, as without background writes
      if (pw === null) bs[i] = spillBatch(b, c);
      else {
        PENDING.set(b, pw);
        this.#writing++;
      }
    }
  }

  /**
   * Adds a built batch to the spine, then (with `merge`) merges the smallest neighbours that break its shape,
   * leaving alone batches of more than `mergeMax` entries; with spilling and background writes on, starts the
   * file writes of the file-sized batches held in memory — only of the batches this push made when `spillAll` is
   * false (a restored state's batches are left to the next seal).
   */
  #push(built: TraceBatch, merge: boolean, mergeMax = Number.POSITIVE_INFINITY, spillAll = true): void {
    if (built.length === 0) return;
    // a head's batch measures what its rows encode to (wide strings make a head entry larger than its width says)
    this.#entryBytes = headEntryBytes(this.layout.arity, built.dataBytes / built.length);
    if (this.#writing > 0) this.#checkWrites();
    const b = placed(built);
    const fresh = spillAll ? null : new Set<SealedBatch>([b]);
    const bs = this.#batches.slice(); // the previous array may be held by a snapshot
    // with background writes, a file-sized new batch joins the merges at the next seal, by when its file is
    // usually written (a merge then copies the file's blocks instead of compressing its entries on the step);
    // decided by size alone, so the batches stay the same whatever the writes' timing
    const c = spillConfig();
    const later = merge && c !== null && c.background === true && b.dataBytes >= c.minStorageBytes;
    if (!later) bs.push(b);
    this.#rowsInBatches += b.length;
    bs.sort((x, y) => y.length - x.length); // stable; usually already in order
    // merge the smallest neighbours that break the shape until every batch is more than twice the next: the
    // new batch can land between two others (checking only the last pair let equal sizes pile up unmerged)
    while (merge) {
      let i = bs.length - 2;
      while (
        i >= 0 &&
        ((bs[i] as SealedBatch).length > 2 * (bs[i + 1] as SealedBatch).length ||
          (bs[i] as SealedBatch).length > mergeMax)
      )
        i--;
      if (i < 0) break;
      const prev = bs[i] as SealedBatch;
      const last = bs[i + 1] as SealedBatch;
      const m = mergeSealed(prev, last);
      fresh?.add(m);
      if (sealedSink !== null && m instanceof TraceBatch && m.length >= PREWRITE_MIN_ENTRIES)
        m.sources = mergedFrom(m, prev, last);
      release(prev);
      release(last);
      this.#rowsInBatches += m.length - prev.length - last.length;
      if (m.length > 0) bs.splice(i, 2, m);
      else bs.splice(i, 2);
      bs.sort((x, y) => y.length - x.length);
    }
    if (later) {
      bs.push(b);
      bs.sort((x, y) => y.length - x.length);
    }
    this.#spillBehind(bs, fresh);
    this.#batches = bs;
    if (sealedSink !== null) reportSealed(sealedSink, bs);
  }

  /**
   * A checkpoint's view of the whole state in O(1) (the checkpoint's capture): the sealed batches plus the head,
   * *frozen* — a new empty head takes the changes from now on, and the frozen one becomes a {@link PendingBatch}
   * that the checkpoint builds in slices off the step path (`TraceParts.settle`). Until the trace's next seal,
   * scan or capture pushes that batch (without merging, as a checkpoint's seal did; built at that point if it is
   * not yet), lookups read the frozen head as the newest sealed level. The returned parts are exactly the state
   * now, whatever runs later. A frozen head left from an earlier capture is pushed first.
   */
  capture(): TraceParts {
    this.#pushFrozen();
    const n = this.#headRows;
    if (n === 0) return new TraceParts(this.#batches);
    let steps: Steps<TraceBatch>;
    let head: Map<unknown, HeadEntry | Row> | null = null;
    let uhead: KeyIndex<Row | Replaced> | null = null;
    let log: Frozen['log'] = null;
    if (!this.#indexed) {
      steps = buildBatchSteps(this.layout, this.#logRows, this.#logWeights);
      log = { rows: this.#logRows, weights: this.#logWeights };
      this.#logRows = [];
      this.#logWeights = [];
    } else if (this.#unique) {
      uhead = this.#uhead;
      steps = uniqueHeadSteps(this.layout, uhead, this.#simpleKey, this.#uheadReplaced);
      this.#uhead = new KeyIndex();
      this.#uheadReplaced = 0;
      this.#lastKey = NO_KEY;
      this.#lastSlot = undefined;
    } else {
      head = this.#head;
      steps = headSteps(this.layout, head);
      this.#head = new Map();
    }
    const pending = new PendingBatch(n, steps);
    this.#frozen = { head, uhead, log, rows: n, pending };
    this.#headRows = 0;
    return new TraceParts(this.#batches, [pending]);
  }

  /** Whether a captured head is still frozen (its batch not yet pushed; for tests). */
  get frozenRows(): number {
    return this.#frozen?.rows ?? 0;
  }

  /**
   * Whether a head frozen by a capture is read apart: its batch is not built yet, so the reads that leave it
   * frozen ({@link scanSealed} / {@link scanFrom} with `frozenApart`) skip it and {@link forEachFrozen} reads it.
   * Once its batch is built (the checkpoint's sliced build finished) those reads walk the built batch instead
   * (still without pushing it: the batch list never depends on when the build finished).
   */
  get frozenApart(): boolean {
    const f = this.#frozen;
    return f !== null && !f.pending.built;
  }

  /**
   * Calls `fn(row, weight)` for every entry of a frozen head whose batch is not built yet ({@link frozenApart}),
   * as they are (not consolidated; in no particular order); nothing otherwise. With {@link forEachHead} and a
   * `frozenApart` scan, an operator reads a range or a key after a checkpoint's capture without building the
   * frozen head on the step. Not for unique traces.
   */
  forEachFrozen(fn: (row: Row, weight: number) => void): void {
    const f = this.#frozen;
    if (f === null || f.pending.built) return;
    if (f.uhead !== null) throw new Error('forEachFrozen on a unique trace');
    if (f.log !== null) {
      for (let i = 0; i < f.log.rows.length; i++) fn(f.log.rows[i] as Row, f.log.weights[i] as number);
      return;
    }
    for (const first of (f.head as Map<unknown, HeadEntry | Row>).values())
      if (Array.isArray(first)) fn(first as Row, 1);
      else for (let e: HeadEntry | null = first as HeadEntry; e !== null; e = e.next) fn(e.row, e.w);
  }

  /** Pushes the frozen head's batch (building it now if a checkpoint has not yet), without merging. */
  #pushFrozen(): void {
    const f = this.#frozen;
    if (f === null) return;
    this.#frozen = null;
    this.#push(f.pending.batch(), false);
  }

  /**
   * Adds a batch built outside the trace (an operator that keeps its own head: the join) as a seal adds the
   * head's batch: merging to restore the spine shape unless `merge` is false (a checkpoint's seal).
   */
  pushBatch(b: TraceBatch, merge = true): void {
    if (!sameLayout(b.layout, this.layout)) throw new Error('trace batch layout differs from the trace');
    this.seal(merge);
    this.#push(b, merge);
  }

  /**
   * Adds a batch that is a change of the contents (a checkpoint's delta part, built outside the trace), merging
   * it only with batches of at most {@link PART_MERGE_MIN} entries or four times its own size, whichever is more:
   * its cost follows its size, not the state's. (A restored trace's batches need not have the spine's shape,
   * and restoring it would merge the largest batches; with spilling on, the restored batches' file writes would
   * start: both are left to the next seal.)
   */
  addChange(b: TraceBatch): void {
    if (!sameLayout(b.layout, this.layout)) throw new Error('trace batch layout differs from the trace');
    this.seal(false);
    this.#push(b, true, Math.max(PART_MERGE_MIN, 4 * b.length), false);
  }

  /**
   * Adds a sealed batch as it is (restore: no merge, no index build). Seals the head first so batch order
   * stays meaningful.
   */
  adopt(b: SealedBatch): void {
    if (!sameLayout(b.layout, this.layout)) throw new Error('trace batch layout differs from the trace');
    if (b.length === 0) return;
    this.seal();
    const bs = [...this.#batches, b];
    bs.sort((x, y) => y.length - x.length); // stable: equal sizes keep their order
    this.#batches = bs;
    this.#rowsInBatches += b.length;
  }

  /** Seals the head and returns the batches (the whole state) for a checkpoint. */
  sealedBatches(): readonly SealedBatch[] {
    this.seal(false);
    return this.#batches;
  }

  /**
   * Calls `fn(row, weight)` for every row whose key starts with `prefix` (values of the first key columns), in
   * key order, consolidated across batches (the head is sealed first). With an empty prefix: every row.
   */
  scan(prefix: readonly Value[], fn: (row: Row, weight: number) => void): void {
    this.#walk(prefix, true, fn);
  }

  /**
   * Calls `fn(row, weight)` for every row whose key is at or after `from` (values of the first key columns,
   * encoded as a key prefix), in key order, consolidated across batches (the head is sealed first), until `fn`
   * returns false. `[false]` starts after the NULLs of the first key column (false is the smallest non-NULL value
   * in key order): with a time column first, the rows below a bound are a prefix visited in time order.
   * `sealedOnly`: the sealed batches alone (the head neither sealed nor read; see {@link forEachHead}).
   * `frozenApart` (with `sealedOnly`): a head frozen by a capture is not pushed (nor built): its batch is walked
   * when built, else left to {@link forEachFrozen} (see {@link frozenApart}).
   */
  scanFrom(
    from: readonly Value[],
    fn: (row: Row, weight: number) => boolean | undefined,
    sealedOnly = false,
    frozenApart = false,
  ): void {
    this.#walk(from, false, fn, !sealedOnly, frozenApart);
  }

  /**
   * Calls `fn(row, weight)` for every change in the head (since the last seal, not consolidated with the batches;
   * in no particular order). With `scanFrom(.., sealedOnly)`, a caller can read a range without sealing a small
   * head every step. Not for unique traces.
   */
  forEachHead(fn: (row: Row, weight: number) => void): void {
    if (this.#unique) throw new Error('forEachHead on a unique trace');
    if (!this.#indexed) {
      for (let i = 0; i < this.#logRows.length; i++)
        fn(this.#logRows[i] as Row, this.#logWeights[i] as number);
      return;
    }
    for (const first of this.#head.values())
      if (Array.isArray(first)) fn(first as Row, 1);
      else for (let e: HeadEntry | null = first as HeadEntry; e !== null; e = e.next) fn(e.row, e.w);
  }

  /**
   * {@link scan} over the sealed batches only (the head neither sealed nor read): with {@link lookupHead}, a key's
   * rows without sealing the head (an operator that reads a few keys per step and keys its trace by them).
   * `frozenApart`: a head frozen by a capture is not pushed (nor built): its batch is walked when built, else
   * left to {@link forEachFrozen} (see {@link frozenApart}).
   */
  scanSealed(prefix: readonly Value[], fn: (row: Row, weight: number) => void, frozenApart = false): void {
    this.#walk(prefix, true, fn, false, frozenApart);
  }

  /** {@link scan} (`prefixOnly`: `fn`'s result is ignored) or {@link scanFrom} (stops when `fn` returns false). */
  #walk(
    from: readonly Value[],
    prefixOnly: boolean,
    fn: (row: Row, weight: number) => unknown,
    sealHead = true,
    frozenApart = false,
  ): void {
    let bs: readonly SealedBatch[] = this.#batches;
    if (sealHead) {
      this.seal();
      bs = this.#batches;
    } else if (!frozenApart) {
      this.#pushFrozen();
      bs = this.#batches;
    } else {
      const f = this.#frozen;
      // the built batch is read where it will sit, but not pushed (the batch list must not depend on timing)
      if (f?.pending.built) bs = [...bs, f.pending.batch()];
    }
    const w = this.#scratch;
    w.reset();
    for (const v of from) encodeColumnsTo(w, [v], [0], null);
    const pe = w.pos;
    const key = Buffer.from(w.buf.subarray(0, pe));
    const pos: number[] = bs.map((b) => b.lowerBound(key, 0, pe));
    // each batch's current entry (null: past its end or its prefix range)
    const views: Array<EntryView | null> = bs.map(() => newEntryView());
    const load = (b: number): void => {
      const batch = bs[b] as SealedBatch;
      const i = pos[b] as number;
      if (i >= batch.length || (prefixOnly && !batch.hasPrefix(i, key, 0, pe))) views[b] = null;
      else batch.view(i, views[b] ?? (views[b] = newEntryView()));
    };
    for (let b = 0; b < bs.length; b++) load(b);
    for (;;) {
      // smallest current entry across batches
      let best = -1;
      for (let b = 0; b < bs.length; b++) {
        const v = views[b];
        if (v === null || v === undefined) continue;
        if (best < 0 || cmpViews(v, views[best] as EntryView) < 0) best = b;
      }
      if (best < 0) return;
      const o = bs[best] as SealedBatch;
      const j = pos[best] as number;
      const bv = views[best] as EntryView;
      let wsum = bv.w;
      for (let b = 0; b < bs.length; b++) {
        const v = views[b];
        if (b === best || v === null || v === undefined || cmpViews(v, bv) !== 0) continue;
        wsum += v.w;
        pos[b] = (pos[b] as number) + 1;
        load(b);
      }
      const row = wsum !== 0 ? o.row(j) : null;
      pos[best] = j + 1;
      load(best);
      if (row !== null && fn(row, wsum) === false && !prefixOnly) return;
    }
  }

  /** The whole content as one plain batch (decoded rows). */
  toBatch(): Batch {
    const rows: Row[] = [];
    const weights: number[] = [];
    this.scan([], (r, w) => {
      rows.push(r);
      weights.push(w);
    });
    return { rows, weights, consolidated: true };
  }
}

/**
 * A state made of several sealed batches (a trace's {@link Trace.sealedBatches}): what a trace-backed operator's
 * `snapshot()` returns for a state. A checkpoint writes each part as its own segment (reusing the ones written
 * before); code that does not know traces sees a plain batch: `rows`/`weights` are the parts' consolidated sum
 * (decoded on first access: slow, and it holds every row as a JS array).
 */
export class TraceParts implements Batch {
  readonly #sealed: readonly SealedBatch[];
  /** Parts still being built from a frozen head ({@link Trace.capture}); `parts` lists them after the sealed ones. */
  readonly pending: readonly PendingBatch[];
  #all: readonly SealedBatch[] | null;
  #decoded: { rows: Row[]; weights: number[] } | null = null;

  constructor(parts: readonly SealedBatch[], pending: readonly PendingBatch[] = []) {
    this.#sealed = parts;
    this.pending = pending;
    this.#all = pending.length === 0 ? parts : null;
  }

  /** The batches, in order; a pending part not yet built is built now (synchronously: call {@link settle} first). */
  get parts(): readonly SealedBatch[] {
    this.#all ??= [...this.#sealed, ...this.pending.map((p) => p.batch())];
    return this.#all;
  }

  /** Builds the pending parts in slices, returning to the event loop between slices (a checkpoint's write). */
  async settle(): Promise<void> {
    for (const p of this.pending) await p.settle();
  }

  /** Entries held, without building a pending part (its head entries counted before consolidation). */
  get entryCount(): number {
    let n = 0;
    for (const p of this.#sealed) n += p.length;
    for (const p of this.pending) n += p.built ? p.batch().length : p.entries;
    return n;
  }

  get rows(): Row[] {
    return this.#decode().rows;
  }

  get weights(): number[] {
    return this.#decode().weights;
  }

  #decode(): { rows: Row[]; weights: number[] } {
    if (this.#decoded !== null) return this.#decoded;
    // the parts' sum, consolidated (a row may sit in several parts): merge them, smallest first
    const ps = [...this.parts].sort((a, b) => a.length - b.length);
    let acc: TraceBatch | null = null;
    for (const p of ps) acc = acc === null ? inMemory(p) : mergeBatches(acc, inMemory(p));
    this.#decoded = acc === null ? { rows: [], weights: [] } : { rows: acc.rows, weights: acc.weights };
    return this.#decoded;
  }
}

/**
 * Adds one state part to a trace-backed operator's trace (`traceFor(arity)` gives it, created on first use):
 * sealed batches of the trace's layout are adopted as they are (no row decoded, no merge); anything else — a
 * plain batch (a delta, a checkpoint written before the trace), a batch of another layout — goes to `addRows`.
 * Empty parts and batches are skipped.
 */
export function applyPart(
  part: Batch,
  traceFor: (arity: number) => Trace,
  addRows: (trace: Trace, b: Batch) => void,
): void {
  const sealed = traceBatchesOf(part);
  if (sealed !== null) {
    for (const tb of sealed) {
      if (tb.length === 0) continue;
      const trace = traceFor(tb.layout.arity);
      if (sameLayout(tb.layout, trace.layout)) trace.adopt(tb);
      else addRows(trace, tb);
    }
    return;
  }
  if (part.rows.length === 0) return;
  addRows(traceFor((part.rows[0] as Row).length), part);
}

/** The sealed batches a state part holds, when it is trace-shaped (else null: a plain batch of rows). */
export function traceBatchesOf(b: Batch): readonly SealedBatch[] | null {
  if (b instanceof TraceBatch || b instanceof FileBatch) return [b];
  if (b instanceof TraceParts) return b.parts;
  return null;
}

/** Entries of a batch, without decoding a trace batch's rows. */
export function entryCountOf(b: Batch): number {
  if (b instanceof TraceBatch || b instanceof FileBatch) return b.length;
  if (b instanceof TraceParts) return b.entryCount;
  return b.rows.length;
}

/** Row identity as a trace's batches see it: value columns exactly (-0 is not 0), like their encoding. */
function sameStoredRow(a: Row, b: Row): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Value;
    const y = b[i] as Value;
    if (typeof x === 'number' && typeof y === 'number' ? !Object.is(x, y) : !sameValue(x, y)) return false;
  }
  return true;
}

function addInto(rows: Row[], weights: number[], row: Row, w: number): void {
  for (let i = 0; i < rows.length; i++) {
    if (sameStoredRow(rows[i] as Row, row)) {
      const s = (weights[i] as number) + w;
      if (s === 0) {
        rows.splice(i, 1);
        weights.splice(i, 1);
      } else weights[i] = s;
      return;
    }
  }
  rows.push(row);
  weights.push(w);
}

/** Skips over `count` encoded values starting at `p` (exported for tests and the segment reader). */
export function skipValues(b: Buffer, p: number, end: number, count: number): number {
  let q = p;
  for (let i = 0; i < count; i++) q = skipKeyValue(b, q, end);
  return q;
}
