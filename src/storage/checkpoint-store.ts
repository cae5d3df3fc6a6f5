/**
 * The local checkpoint store: committed checkpoints of a circuit's state, made of immutable content-addressed
 * segment files shared between checkpoints and one manifest per checkpoint.
 *
 * # Layout (under `dir`)
 * ```
 * checkpoints.json          catalog, oldest first (a cache: rebuilt from the manifests when unreadable)
 * checkpoints/<uuid>.json   manifest (format_version 1); its presence means the checkpoint is committed
 * files/<sha256>            segment files (see segment.ts), named by the SHA-256 of their bytes
 * ```
 * A manifest lists, per operator and state name, an ORDERED list of segment refs `{hash, size, rows}` whose sum
 * is that state: the first is the base, the rest are deltas appended by incremental checkpoints. A state held
 * in a trace (`zset/trace.ts`) is snapshotted as its sealed batches (a `TraceParts`): its base is then
 * several segments (format v2, one per batch), and a batch already written to this store (its `segment` stamp,
 * the file present with that size) is listed again without being encoded or written: a full checkpoint of a
 * large trace-backed state writes only the batches sealed or merged since the last one. (The reuse check is by
 * size, not content: a file damaged since it was written is caught by the hash check of every reader.)
 * A `TraceParts` may hold a frozen head still to be sealed (`Trace.capture`, `PendingBatch`): `write` seals it
 * first, in slices between event-loop turns.
 * Writes ahead ({@link CheckpointStore.prewrite}): a large batch a pipeline's state seals or merges gets that file
 * written in the background (encoded on a worker thread, `segment-ahead.ts`) and its stamp, so the next full
 * checkpoint lists it; until a manifest lists it, GC keeps the file while its batch is alive.
 * A spilled batch (`zset/batch-file.ts`, segment format v5) is a segment file already: a checkpoint hard-links
 * it from the spill directory into `files/` (copies it when it cannot), never re-encodes it; the spill directory
 * is not the store's, so GC here never removes a file a live trace reads. Reading a v5 segment checks its whole
 * hash, then (spilling on) links it into the spill directory and opens it there — restore opens files — or
 * (spilling off) reads it into memory.
 *
 * # Invariants (DESIGN.md 2–4)
 * - Files first, manifest last, catalog after: every write is temp → fsync → rename → fsync dir (util/durable-
 *   file.ts). A crash at any point leaves either the previous set of checkpoints or the new one, plus garbage
 *   that {@link gc} removes. A write that fails (full disk: `StorageFull`, other I/O: `StorageWriteFailed`) rejects
 *   with that coded error and leaves the previous checkpoints as they were (a manifest whose catalog update
 *   failed is removed again).
 * - Manifests are the truth; the catalog is a cache. Loading reconciles the two: manifests missing from the
 *   catalog are added back (in uuid order: uuids are v7, and new ones are always newer than every existing
 *   one), catalog entries without a manifest are dropped, an unreadable catalog is rebuilt.
 * - Readers trust nothing: {@link latest} checks that every referenced file exists with the right size (and, by
 *   default, hash); {@link read} verifies each segment's hash while decoding. A corrupt or incomplete checkpoint is
 *   skipped with a logged reason, never loaded; {@link CheckpointStore.skipped} lists the ones the last
 *   `readLatest` skipped, so a caller that cannot bridge the gap (the journal) can name them in its error.
 * - One writer per directory. Within a store, operations run one at a time (an internal queue), so `gc` never
 *   races a `write` of the same store.
 *
 * # Incremental checkpoints and compaction (the caller's contract)
 * - The first checkpoint of a circuit (and any after a failed write) is full: `write(circuit.snapshot(), meta)`.
 *   `snapshot()` also resets the circuit's change tracking, so later deltas are relative to it.
 * - Later ones may be deltas: `write(circuit.takeDelta(), meta, { delta: true })`. The new manifest is the
 *   parent's lists plus the delta's segments. The parent is `opts.parent`, or else the checkpoint this store
 *   last wrote or read (restored); with neither, `CheckpointNotFound`. If a delta write fails, the delta is lost:
 *   the next checkpoint must be full.
 * - Before each checkpoint, call {@link needsCompaction} on the parent: when it says so (a state's list holds
 *   `maxChain` − 1 deltas, or the deltas' bytes exceed the bases' bytes), write a full snapshot instead of a
 *   delta. Following this, no list ever holds more than `maxChain` − 1 deltas beyond its full checkpoint's
 *   segments (one, or one per sealed batch of a trace-backed state: a full checkpoint of a trace lists its
 *   batches, and those do not count as deltas; after a restore, the first segment alone is taken as the base,
 *   so the first checkpoint may be full).
 * - `write` encodes the snapshot synchronously before its promise is returned, so the circuit may keep running
 *   while the files are written.
 */
import { createHash } from 'node:crypto';
import { link, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CircuitSnapshot } from '../circuit/circuit.ts';
import { isUuid, uuidV7, uuidV7Time } from '../util/uuid-v7.ts';
import { type Batch, emptyBatch, isSettling } from '../zset/batch.ts';
import { FileBatch, openBatchFile, spillConfig } from '../zset/batch-file.ts';
import {
  type BatchSegment,
  isReleased,
  loadFileBatch,
  PREWRITE_MIN_ENTRIES,
  type SealedBatch,
  TraceBatch,
  traceBatchesOf,
  writtenFile,
} from '../zset/trace.ts';
import {
  commitRenamed,
  ensureDir,
  fsyncDir,
  isNotFound,
  isTempName,
  listDir,
  readJson,
  removeFile,
  tempName,
  writeFileAtomic,
  writeJsonAtomic,
} from './atomic.ts';
import {
  asStorageError,
  decodeObjectTable,
  decodeSegment,
  type EncodedSegment,
  encodeSegmentAsync,
  isBatchFileVersion,
  needsKeyUpgrade,
  type ObjectValueCodec,
  SEGMENT_V_FILE,
  sha256Hex,
  upgradeKeys,
} from './segment.ts';
import { encodeOffThread } from './segment-ahead.ts';
import { isStorageError, StorageError } from './storage-error.ts';

export const MANIFEST_FORMAT_VERSION = 1;
export const CATALOG_FILE = 'checkpoints.json';
export const MANIFESTS_DIR = 'checkpoints';
export const FILES_DIR = 'files';

const HASH_RE = /^[0-9a-f]{64}$/;
const MANIFEST_NAME_RE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/;

/** One segment file in a manifest. */
export interface SegmentRef {
  readonly hash: string;
  readonly size: number;
  readonly rows: number;
}

/** Per operator key, per state name: the segments whose sum is that state (base first, then deltas). */
export type StateLists = Record<string, Record<string, SegmentRef[]>>;

/** `checkpoints/<uuid>.json`. */
export interface CheckpointManifest {
  readonly format_version: 1;
  readonly uuid: string;
  /** The checkpoint this one was derived from (for a delta: the one whose lists it extends). */
  readonly parent: string | null;
  readonly created_at: string;
  /** Steps the circuit had run. */
  readonly steps: number;
  readonly processed_records: number;
  readonly transaction_id: number | null;
  /** Program fingerprint (opaque to storage). */
  readonly fingerprint: string;
  readonly identifier: string | null;
  /** Input positions per input endpoint (opaque JSON). */
  readonly inputs: Record<string, unknown>;
  /** Progress per output endpoint (opaque JSON). */
  readonly outputs: Record<string, unknown>;
  readonly extra: unknown;
  readonly operators: StateLists;
  /**
   * SHA-256 (hex) of the manifest's compact JSON without `checksum` (and without a bucket's `sync` stamp):
   * a changed byte that still parses (a renamed state, a digit of a position) is caught. Written by every
   * build since it was added; a manifest without it (older builds) is read as before.
   */
  readonly checksum?: string;
}

/** Top-level fields a manifest may have (`sync`: the stamp a bucket's copy carries). */
const MANIFEST_KEYS = new Set([
  'format_version',
  'uuid',
  'parent',
  'created_at',
  'steps',
  'processed_records',
  'transaction_id',
  'fingerprint',
  'identifier',
  'inputs',
  'outputs',
  'extra',
  'operators',
  'checksum',
  'sync',
]);

/** The checksum a manifest's fields give (see {@link CheckpointManifest.checksum}). */
export function manifestChecksum(value: Record<string, unknown>): string {
  const { checksum: _c, sync: _s, ...rest } = value;
  return sha256Hex(Buffer.from(JSON.stringify(rest), 'utf8'));
}

/** The manifest with its checksum (a previous one replaced). */
export function sealManifest<M extends object>(m: M): M & { checksum: string } {
  const { checksum: _c, ...rest } = m as M & { checksum?: unknown };
  return { ...(rest as M), checksum: manifestChecksum(rest as Record<string, unknown>) };
}

/** An element of `checkpoints.json`. */
export interface CatalogEntry {
  readonly uuid: string;
  readonly identifier: string | null;
  readonly fingerprint: string;
  /** Bytes: the manifest plus every distinct file it references. */
  readonly size: number;
  readonly steps: number;
  readonly processed_records: number;
  readonly created_at: string;
  readonly parent: string | null;
}

/** What the caller records with a checkpoint besides the state. */
export interface CheckpointMeta {
  readonly fingerprint: string;
  readonly processed_records?: number;
  readonly transaction_id?: number | null;
  readonly identifier?: string | null;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
  readonly extra?: unknown;
}

export interface WriteOptions {
  /** `snapshot` holds only the changes since the parent (from `takeDelta()`). */
  readonly delta?: boolean;
  /** Parent checkpoint (default: the last one this store wrote or read). */
  readonly parent?: string;
}

export interface WriteResult {
  readonly entry: CatalogEntry;
  readonly manifest: CheckpointManifest;
  /** Bytes of new segment files plus the manifest (files that already existed are not counted). */
  readonly bytesWritten: number;
  readonly filesWritten: number;
  readonly filesReused: number;
}

/**
 * A decoded checkpoint, ready for `circuit.restore(snapshot, deltas)`. `snapshot` holds every state's first
 * segment (or an empty batch); `deltas[i]` holds each state's segment number i + 1 where the list is that long.
 * Deltas are thus positions in the lists, not one per checkpoint: only their sum is meaningful.
 */
export interface CheckpointRead {
  readonly entry: CatalogEntry;
  readonly manifest: CheckpointManifest;
  readonly snapshot: CircuitSnapshot;
  readonly deltas: CircuitSnapshot[];
}

export interface GcOptions {
  /** How many of the newest checkpoints to keep (default 2). */
  readonly keep?: number;
  /** Checkpoints kept whatever their age (e.g. being pushed by a sync). */
  readonly pinned?: ReadonlySet<string>;
}

export interface GcResult {
  readonly removedCheckpoints: string[];
  readonly removedFiles: number;
  readonly freedBytes: number;
}

export interface StorageLogger {
  warn(message: string, fields: Record<string, unknown>): void;
}

export interface CheckpointStoreOptions {
  /** Codecs for object values (e.g. DECIMAL); the same tags must be registered to read. */
  readonly codecs?: readonly ObjectValueCodec[];
  readonly logger?: StorageLogger;
  /** Longest segment list before {@link CheckpointStore.needsCompaction} asks for a full checkpoint (default 8). */
  readonly maxChain?: number;
  /** zstd level for segments (default 2). */
  readonly zstdLevel?: number;
}

export interface CompactionStats {
  /** The longest list's segments counting its base as one (1 + the deltas it holds). */
  readonly longestChain: number;
  /** Bytes of every list's base segments (the full checkpoint's). */
  readonly baseBytes: number;
  /** Bytes of all the other segments (the deltas'). */
  readonly deltaBytes: number;
}

/**
 * Per operator, per state: how many leading segments of the list are its full checkpoint's (a trace-backed state
 * lists one per sealed batch); the segments after them are deltas'.
 */
export type BaseCounts = Record<string, Record<string, number>>;

const defaultLogger: StorageLogger = {
  warn: (message, fields) => console.warn(`holdfast storage: ${message}`, fields),
};

/** Every distinct file a manifest references, in first-reference order. */
export function manifestFiles(manifest: CheckpointManifest): SegmentRef[] {
  const seen = new Map<string, SegmentRef>();
  for (const states of Object.values(manifest.operators))
    for (const list of Object.values(states))
      for (const ref of list) if (!seen.has(ref.hash)) seen.set(ref.hash, ref);
  return [...seen.values()];
}

/**
 * How far a checkpoint's lists have grown by deltas. `bases` says how many segments of each list are its full
 * checkpoint's (known for checkpoints this store wrote); without it, a list's first segment is its base and every
 * other one counts as a delta.
 */
export function compactionStats(
  manifest: CheckpointManifest,
  bases: BaseCounts | null = null,
): CompactionStats {
  let longestChain = 0;
  let baseBytes = 0;
  let deltaBytes = 0;
  for (const [op, states] of Object.entries(manifest.operators)) {
    for (const [name, list] of Object.entries(states)) {
      const base = Math.min(list.length, bases === null ? 1 : (bases[op]?.[name] ?? 0));
      longestChain = Math.max(longestChain, 1 + list.length - Math.max(base, 1));
      list.forEach((ref, i) => {
        if (i < base) baseBytes += ref.size;
        else deltaBytes += ref.size;
      });
    }
  }
  return { longestChain, baseBytes, deltaBytes };
}

/** The base counts of a full checkpoint's lists (all of their segments), or of a delta's on its parent's. */
function baseCountsOf(lists: StateLists, parent: BaseCounts | null): BaseCounts {
  const out: BaseCounts = {};
  for (const [op, states] of Object.entries(lists)) {
    const o: Record<string, number> = (out[op] = {});
    for (const [name, list] of Object.entries(states))
      o[name] = parent === null ? list.length : (parent[op]?.[name] ?? 0);
  }
  return out;
}

/** Checkpoints whose base counts a store remembers (the newest it wrote). */
const BASES_KEPT = 16;

function corrupt(message: string, details: Record<string, unknown>): StorageError {
  return new StorageError('CheckpointCorrupt', message, details);
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Validates a parsed manifest (structure, types, hash syntax). */
export function parseManifest(value: unknown, uuid: string): CheckpointManifest {
  const bad = (why: string) => corrupt(`manifest of checkpoint ${uuid} is invalid: ${why}`, { uuid });
  if (!isObj(value)) throw bad('not an object');
  const v = value.format_version;
  if (typeof v === 'number' && v > MANIFEST_FORMAT_VERSION)
    throw new StorageError(
      'CheckpointFormatUnsupported',
      `checkpoint ${uuid} has manifest format version ${v}; this build reads version ${MANIFEST_FORMAT_VERSION}`,
      { uuid, version: v },
    );
  if (v !== MANIFEST_FORMAT_VERSION) throw bad('bad format_version');
  // (a newer format may add fields and seal differently: its version is checked first)
  const unknown = Object.keys(value).filter((k) => !MANIFEST_KEYS.has(k));
  if (unknown.length > 0) throw bad(`unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  if (value.checksum !== undefined) {
    if (typeof value.checksum !== 'string') throw bad('bad checksum');
    const sum = manifestChecksum(value);
    if (sum !== value.checksum)
      throw bad(
        `its checksum does not match (the file was changed after it was written: ${sum} vs ${value.checksum})`,
      );
  }
  if (value.uuid !== uuid) throw bad('uuid differs from the file name');
  if (value.parent !== null && !isUuid(value.parent)) throw bad('bad parent');
  if (typeof value.created_at !== 'string') throw bad('bad created_at');
  if (!isCount(value.steps)) throw bad('bad steps');
  if (!isCount(value.processed_records)) throw bad('bad processed_records');
  if (value.transaction_id !== null && typeof value.transaction_id !== 'number')
    throw bad('bad transaction_id');
  if (typeof value.fingerprint !== 'string') throw bad('bad fingerprint');
  if (value.identifier !== null && typeof value.identifier !== 'string') throw bad('bad identifier');
  if (!isObj(value.inputs) || !isObj(value.outputs)) throw bad('bad inputs/outputs');
  if (!('extra' in value)) throw bad('missing extra');
  if (!isObj(value.operators)) throw bad('bad operators');
  for (const [op, states] of Object.entries(value.operators)) {
    if (!isObj(states)) throw bad(`bad states of ${op}`);
    for (const [name, list] of Object.entries(states)) {
      if (!Array.isArray(list)) throw bad(`bad segment list of ${op}/${name}`);
      for (const ref of list) {
        if (!isObj(ref) || typeof ref.hash !== 'string' || !HASH_RE.test(ref.hash) || !isCount(ref.size))
          throw bad(`bad segment ref in ${op}/${name}`);
        if (!isCount(ref.rows)) throw bad(`bad segment ref in ${op}/${name}`);
      }
    }
  }
  return value as unknown as CheckpointManifest;
}

function entryOf(m: CheckpointManifest, manifestBytes: number): CatalogEntry {
  let size = manifestBytes;
  for (const f of manifestFiles(m)) size += f.size;
  return {
    uuid: m.uuid,
    identifier: m.identifier,
    fingerprint: m.fingerprint,
    size,
    steps: m.steps,
    processed_records: m.processed_records,
    created_at: m.created_at,
    parent: m.parent,
  };
}

function isEntry(e: unknown): e is CatalogEntry {
  return (
    isObj(e) &&
    isUuid(e.uuid) &&
    typeof e.fingerprint === 'string' &&
    isCount(e.size) &&
    isCount(e.steps) &&
    isCount(e.processed_records) &&
    (e.identifier === null || typeof e.identifier === 'string') &&
    (e.parent === null || isUuid(e.parent)) &&
    typeof e.created_at === 'string'
  );
}

/**
 * The batches a checkpoint lists for sealed batch `b`: `b` itself, or — a large merge's output whose segment file
 * is not written yet (its write ahead queued or under way) — the batches it was merged from (`TraceBatch.sources`:
 * the same sum; the largest usually has its file already), so that a checkpoint right after a large merge need
 * not wait for that merge's file nor encode it.
 */
function listed(b: SealedBatch): readonly SealedBatch[] {
  if (b instanceof TraceBatch && b.segment === null && b.sources !== null && writtenFile(b) === null)
    return b.sources;
  return [b];
}

const byUuid = (a: CatalogEntry, b: CatalogEntry): number => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);

/**
 * A segment to list: encoded already, or a sealed trace batch (written unless its file exists), whose encoding
 * may have been started already (`encoding`: see {@link CheckpointStore.write}).
 */
type PendingSegment =
  | EncodedSegment
  | {
      readonly trace: SealedBatch;
      /** Its encoding, started early; null when a write ahead gave the batch its segment file meanwhile. */
      readonly encoding?: Promise<EncodedSegment | null> | undefined;
    };

/** One operator's states: each state's segments in list order (none for an empty batch). */
interface PendingOperator {
  readonly op: string;
  readonly states: ReadonlyArray<readonly [name: string, segs: readonly PendingSegment[]]>;
}

export class CheckpointStore {
  readonly dir: string;
  readonly #codecs: readonly ObjectValueCodec[];
  readonly #log: StorageLogger;
  readonly #maxChain: number;
  readonly #level: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** The checkpoint last written or read: the default parent of a delta. */
  #last: string | null = null;
  /** Newer checkpoints the last {@link readLatest} skipped as not intact, newest first (for error messages). */
  skipped: Array<{ uuid: string; reason: string; details: Record<string, unknown> }> = [];
  /** Batches whose segment file is to be written ahead of the next checkpoint ({@link prewrite}), oldest first. */
  #ahead: Array<WeakRef<TraceBatch>> = [];
  /**
   * Large merges' inputs still without a file, written ahead before anything in {@link #ahead}: a checkpoint lists
   * them in place of their merge until its file is written, so they are what the next checkpoint would encode.
   */
  #aheadFirst: Array<WeakRef<TraceBatch>> = [];
  #aheadRunning = false;
  /** The write ahead in progress, by batch: a checkpoint listing that batch waits for it instead of encoding. */
  readonly #aheadBusy = new WeakMap<TraceBatch, Promise<void>>();
  /** Batches a checkpoint has listed for encoding: not written ahead (the checkpoint writes their files). */
  readonly #aheadTaken = new WeakSet<TraceBatch>();
  /** Files written ahead, by hash: {@link gc} keeps each while its batch is alive (a checkpoint may list it). */
  readonly #aheadFiles = new Map<string, WeakRef<TraceBatch>>();
  /**
   * The batch each batch is a source of (`TraceBatch.sources`: a large merge's inputs, which a checkpoint lists
   * until the merge's own file is written), learnt from {@link prewrite}: such an input is merged away, but its
   * file written ahead (or its write ahead under way) is still needed.
   */
  readonly #sourceOf = new WeakMap<TraceBatch, WeakRef<TraceBatch>>();
  /**
   * Base counts of the checkpoints this store wrote (the newest {@link BASES_KEPT}): which segments of a list are
   * its full checkpoint's, for {@link needsCompaction}.
   */
  readonly #bases = new Map<string, BaseCounts>();
  /** Checkpoints being written now: no write ahead of a merge listed by its inputs starts meanwhile. */
  #checkpointing = 0;
  /** Writes ahead putting a file in place now: {@link gc} leaves temporary files alone meanwhile. */
  #aheadWriting = 0;
  /** What writes ahead did (for benchmarks and tests). */
  readonly aheadStats = { files: 0, bytes: 0, failed: 0, skipped: 0 };

  constructor(dir: string, opts: CheckpointStoreOptions = {}) {
    this.dir = dir;
    this.#codecs = opts.codecs ?? [];
    this.#log = opts.logger ?? defaultLogger;
    this.#maxChain = opts.maxChain ?? 8;
    this.#level = opts.zstdLevel;
  }

  filePath(hash: string): string {
    if (!HASH_RE.test(hash))
      throw new StorageError('CheckpointNotFound', `not a segment hash: ${hash}`, { hash });
    return join(this.dir, FILES_DIR, hash);
  }

  manifestPath(uuid: string): string {
    if (!isUuid(uuid))
      throw new StorageError('CheckpointNotFound', `not a checkpoint uuid: ${uuid}`, { uuid });
    return join(this.dir, MANIFESTS_DIR, `${uuid}.json`);
  }

  /** The checkpoint a delta written now would extend by default (last written or read), if any. */
  get lastCheckpoint(): string | null {
    return this.#last;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Commits a checkpoint: segment files (existing ones with identical content are reused), then the manifest, then
   * the catalog. Empty batches write no segment. See the module header for the delta/compaction contract.
   * The batches are encoded in the background: the caller hands over fresh batches and must not change them
   * afterwards (snapshot() and takeDelta() build new arrays; rows are immutable).
   * @throws StorageError CheckpointNotFound (delta without a usable parent) | CheckpointCorrupt (parent broken)
   *   | CheckpointValueUnsupported; fs errors as they come.
   */
  write(snapshot: CircuitSnapshot, meta: CheckpointMeta, opts: WriteOptions = {}): Promise<WriteResult> {
    // A snapshot's batches are fresh arrays and rows are immutable, so encoding need not happen now: it runs
    // segment by segment in the background, yielding to the event loop between segments, so the pipeline keeps
    // stepping while a checkpoint is written (only one segment's payload building blocks at a time; compression
    // runs on the thread pool, hashing in chunks). A trace-backed state (sealed batches) lists one segment per
    // batch; a batch already written (its `segment` stamp, file present with that size) is not encoded again.
    return this.#serial(async () => {
      this.#checkpointing++;
      try {
        return await this.#write(snapshot, meta, opts);
      } finally {
        this.#checkpointing--;
      }
    });
  }

  /** {@link write}'s body (in the store's serial queue). */
  async #write(snapshot: CircuitSnapshot, meta: CheckpointMeta, opts: WriteOptions): Promise<WriteResult> {
    const pending: PendingOperator[] = [];
    // A batch that has no segment file yet starts its encoding as soon as it is listed, one batch after another
    // (a chain): its compression runs on the thread pool while the next frozen head is built on the event
    // loop, instead of after every build. The commit below awaits each in list order, so the files, their
    // order and their bytes are those of encoding them there (a segment's bytes depend only on its batch).
    const early = new Map<SealedBatch, Promise<EncodedSegment | null>>();
    let chain: Promise<unknown> = Promise.resolve();
    const encodeEarly = (tb: SealedBatch): Promise<EncodedSegment | null> | undefined => {
      if (tb instanceof FileBatch || tb.segment !== null || writtenFile(tb) !== null) return undefined;
      let p = early.get(tb);
      if (p === undefined) {
        const encode = (): Promise<EncodedSegment> => {
          const q = chain.then(() => encodeSegmentAsync(tb, this.#codecs, this.#levelOpt()));
          chain = q.catch(() => {}); // a failure is the commit's to report (it awaits q), and ends no chain
          return q;
        };
        // a write ahead of this batch in progress: wait for its file (off the chain, which goes on with the
        // other batches) rather than encoding the batch twice; one not started yet is left to this checkpoint
        const ahead = this.#aheadBusy.get(tb);
        this.#aheadTaken.add(tb);
        p = ahead === undefined ? encode() : ahead.then(() => (tb.segment !== null ? null : encode()));
        early.set(tb, p);
      }
      return p;
    };
    for (const [op, states] of Object.entries(snapshot.operators)) {
      const encoded: Array<readonly [string, PendingSegment[]]> = [];
      for (const [name, batch] of Object.entries(states)) {
        // a captured head (a trace's frozen changes since its last seal) is sealed here, and a delta's change log
        // consolidated, in slices between event-loop turns, not in the capture
        if (isSettling(batch)) await batch.settle();
        const sealed = traceBatchesOf(batch);
        if (sealed !== null)
          encoded.push([
            name,
            sealed
              .flatMap(listed)
              .filter((b) => b.length > 0)
              .map((trace) => ({ trace, encoding: encodeEarly(trace) })),
          ]);
        else if (batch.rows.length === 0) encoded.push([name, []]);
        else {
          encoded.push([name, [await encodeSegmentAsync(batch, this.#codecs, this.#levelOpt())]]);
          await new Promise<void>((r) => setImmediate(r));
        }
      }
      pending.push({ op, states: encoded });
    }
    return this.#commit(snapshot.steps, pending, meta, opts);
  }

  /**
   * Writes batch `b`'s segment file ahead of the next checkpoint, in the background: a pipeline's circuit reports
   * each large batch its traces seal or merge (`Circuit.sealedSink`), so a full checkpoint later lists the file
   * (stamped on the batch: `segment`) instead of encoding and compressing the batch while it runs. One batch at
   * a time, oldest first; a batch collected, merged away or given a segment file meanwhile is skipped. The file is the one the
   * checkpoint would write (same bytes, same name); until a checkpoint lists it, {@link gc} keeps it while the
   * batch is alive. A failure (a full disk) only counts: the checkpoint encodes the batch and reports the error.
   */
  prewrite(b: TraceBatch): void {
    for (const s of b.sources ?? []) {
      this.#sourceOf.set(s, new WeakRef(b));
      // an input without a file (typically the head sealed in the step that merged it at once, never reported on
      // its own) is written first: until the merge's file is written, a checkpoint would encode it
      if (s.segment === null && s.length >= PREWRITE_MIN_ENTRIES) this.#aheadFirst.push(new WeakRef(s));
    }
    this.#ahead.push(new WeakRef(b));
    if (!this.#aheadRunning) void this.#runAhead();
  }

  /** Resolves once every write ahead asked for so far is done (tests, benchmarks). */
  async aheadSettled(): Promise<void> {
    while (this.#aheadRunning) await new Promise((r) => setTimeout(r, 5));
  }

  async #runAhead(): Promise<void> {
    this.#aheadRunning = true;
    try {
      const next = () => this.#aheadFirst.shift() ?? this.#ahead.shift();
      for (let ref = next(); ref !== undefined; ref = next()) {
        // a merge whose inputs a checkpoint being written lists in its place waits for that checkpoint: the
        // checkpoint has the CPU first (its encodings, the frozen heads it builds); any other batch's file is one
        // the checkpoint may be waiting for
        while (this.#checkpointing > 0 && (ref.deref()?.sources ?? null) !== null)
          await new Promise((r) => setTimeout(r, 5));
        const b = ref.deref();
        if (b === undefined || b.segment !== null || this.#aheadTaken.has(b) || this.#dropped(b)) {
          this.aheadStats.skipped++;
          continue;
        }
        const p = this.#writeAhead(b);
        this.#aheadBusy.set(b, p);
        await p;
        this.#aheadBusy.delete(b);
      }
    } finally {
      this.#aheadRunning = false;
    }
  }

  async #writeAhead(b: TraceBatch): Promise<void> {
    try {
      // on a worker thread when it can be (no nested values): the event loop only copies the arrays
      const seg =
        (await encodeOffThread(b, this.#level)) ??
        (await encodeSegmentAsync(b, this.#codecs, this.#levelOpt()));
      if (this.#dropped(b)) {
        // merged away while it was encoded: no checkpoint will list it
        this.aheadStats.skipped++;
        return;
      }
      this.#aheadFiles.set(seg.hash, new WeakRef(b));
      this.#aheadWriting++;
      try {
        const path = this.filePath(seg.hash);
        if ((await sizeOf(path)) !== seg.size) {
          await ensureDir(join(this.dir, FILES_DIR));
          await writeFileAtomic(path, seg.bytes);
          this.aheadStats.files++;
          this.aheadStats.bytes += seg.size;
        }
      } finally {
        this.#aheadWriting--;
      }
      if (b.segment === null) b.segment = { hash: seg.hash, size: seg.size, rows: seg.rows };
      b.sources = null; // a checkpoint lists this batch's file from now on, no longer the batches it was merged from
    } catch (e) {
      this.aheadStats.failed++;
      this.#log.warn(
        'writing a segment file ahead of the next checkpoint failed; that checkpoint writes it itself',
        {
          reason: e instanceof Error ? e.message : String(e),
        },
      );
    }
  }

  /**
   * Whether no later checkpoint can list `b`: merged away (released by its trace) and not a source of a live
   * merge that a checkpoint would list in its place ({@link listed}).
   */
  #dropped(b: TraceBatch): boolean {
    if (!isReleased(b)) return false;
    const m = this.#sourceOf.get(b)?.deref();
    return m === undefined || isReleased(m) || m.segment !== null || !(m.sources ?? []).includes(b);
  }

  #levelOpt(): { level?: number } {
    return this.#level === undefined ? {} : { level: this.#level };
  }

  async #commit(
    steps: number,
    pending: readonly PendingOperator[],
    meta: CheckpointMeta,
    opts: WriteOptions,
  ): Promise<WriteResult> {
    await ensureDir(this.dir);
    await ensureDir(join(this.dir, FILES_DIR));
    await ensureDir(join(this.dir, MANIFESTS_DIR));
    const entries = await this.#loadCatalog();

    let lists: StateLists = {};
    let parent: string | null;
    if (opts.delta === true) {
      parent = opts.parent ?? this.#last;
      if (parent === null)
        throw new StorageError(
          'CheckpointNotFound',
          'a delta checkpoint needs a parent: write a full checkpoint first, or restore one',
          {},
        );
      const { manifest: pm } = await this.#readManifest(parent);
      await this.#verifyFiles(pm, false);
      if (steps < pm.steps)
        throw new StorageError(
          'CheckpointNotFound',
          `a delta at step ${steps} cannot extend checkpoint ${parent}, taken later (step ${pm.steps})`,
          {
            parent,
          },
        );
      lists = structuredClone(pm.operators);
    } else {
      parent = opts.parent ?? this.#last ?? entries.at(-1)?.uuid ?? null;
    }

    let bytesWritten = 0;
    let filesWritten = 0;
    let filesReused = 0;
    const done = new Set<string>();
    const stamped: Array<[TraceBatch, SegmentRef]> = [];
    for (const { op, states } of pending) {
      const opLists = (lists[op] ??= {});
      for (const [name, segs] of states) {
        const list = opts.delta === true ? (opLists[name] ??= []) : (opLists[name] = []);
        for (const pendingSeg of segs) {
          let seg: EncodedSegment;
          // an in-memory batch whose file is being written in the background: wait for the complete file
          const written =
            'trace' in pendingSeg && !(pendingSeg.trace instanceof FileBatch)
              ? await writtenFile(pendingSeg.trace as TraceBatch)
              : null;
          if (written !== null || ('trace' in pendingSeg && pendingSeg.trace instanceof FileBatch)) {
            // a spilled batch is a segment file already: listed by its hash, linked (or copied) into files/
            const fb = written ?? (pendingSeg as { trace: FileBatch }).trace;
            list.push({ hash: fb.hash, size: fb.fileSize, rows: fb.length });
            if (done.has(fb.hash)) continue;
            done.add(fb.hash);
            const path = this.filePath(fb.hash);
            if ((await sizeOf(path)) === fb.fileSize) {
              filesReused++;
              continue;
            }
            fb.linkTo(path);
            filesWritten++;
            bytesWritten += fb.fileSize;
            continue;
          }
          if ('trace' in pendingSeg) {
            const tb = pendingSeg.trace as TraceBatch;
            const known = tb.segment;
            if (
              known !== null &&
              (done.has(known.hash) || (await sizeOf(this.filePath(known.hash))) === known.size)
            ) {
              list.push({ hash: known.hash, size: known.size, rows: known.rows });
              if (!done.has(known.hash)) filesReused++;
              done.add(known.hash);
              continue;
            }
            const early = await pendingSeg.encoding;
            if (early === null) {
              // written ahead while the checkpoint waited for it: listed as above
              const ref = tb.segment as BatchSegment;
              list.push({ hash: ref.hash, size: ref.size, rows: ref.rows });
              if (!done.has(ref.hash)) filesReused++;
              done.add(ref.hash);
              continue;
            }
            seg = early ?? (await encodeSegmentAsync(tb, this.#codecs, this.#levelOpt()));
            stamped.push([tb, { hash: seg.hash, size: seg.size, rows: seg.rows }]);
          } else seg = pendingSeg;
          list.push({ hash: seg.hash, size: seg.size, rows: seg.rows });
          if (done.has(seg.hash)) continue;
          done.add(seg.hash);
          const path = this.filePath(seg.hash);
          if (await sameContent(path, seg.bytes)) {
            filesReused++;
            continue;
          }
          await writeFileAtomic(path, seg.bytes, { syncDir: false });
          filesWritten++;
          bytesWritten += seg.size;
        }
      }
    }
    if (filesWritten > 0) await fsyncDir(join(this.dir, FILES_DIR));
    for (const [tb, ref] of stamped) tb.segment = ref;

    // New uuids are always newer than every existing one, so uuid order is creation order in this directory.
    const newest = entries.at(-1);
    const uuid = uuidV7(Math.max(Date.now(), newest === undefined ? 0 : uuidV7Time(newest.uuid) + 1));
    const manifest: CheckpointManifest = {
      format_version: MANIFEST_FORMAT_VERSION,
      uuid,
      parent,
      created_at: new Date().toISOString(),
      steps,
      processed_records: meta.processed_records ?? 0,
      transaction_id: meta.transaction_id ?? null,
      fingerprint: meta.fingerprint,
      identifier: meta.identifier ?? null,
      inputs: meta.inputs ?? {},
      outputs: meta.outputs ?? {},
      extra: meta.extra ?? null,
      operators: lists,
    };
    const sealed = sealManifest(manifest);
    const manifestBytes = await writeJsonAtomic(this.manifestPath(uuid), sealed);
    bytesWritten += manifestBytes;
    const entry = entryOf(sealed, manifestBytes);
    try {
      await writeJsonAtomic(join(this.dir, CATALOG_FILE), [...entries, entry]);
    } catch (e) {
      // the write failed as a whole (e.g. StorageFull): take the manifest back, so a failed checkpoint is not
      // found committed later (if the removal itself is lost in a crash, the manifest is a valid checkpoint)
      await removeFile(this.manifestPath(uuid)).catch(() => false);
      throw e;
    }
    this.#last = uuid;
    // a delta on a parent whose bases this store does not know (one it read) leaves them unknown
    const parentBases = opts.delta === true && parent !== null ? (this.#bases.get(parent) ?? null) : null;
    if (opts.delta !== true || parentBases !== null) {
      this.#bases.set(uuid, baseCountsOf(lists, parentBases));
      for (const k of this.#bases.keys()) if (this.#bases.size > BASES_KEPT) this.#bases.delete(k);
    }
    return { entry, manifest: sealed, bytesWritten, filesWritten, filesReused };
  }

  /** Committed checkpoints, oldest first (not verified: see {@link latest}). */
  list(): Promise<CatalogEntry[]> {
    return this.#serial(() => this.#loadCatalog());
  }

  /**
   * The newest intact checkpoint: its manifest is valid and every file it references exists with the right
   * size and (unless `verify: 'size'`) hash. Broken newer ones are skipped with a logged reason.
   */
  latest(opts: { verify?: 'hash' | 'size' } = {}): Promise<CatalogEntry | null> {
    return this.#serial(async () => {
      const entries = await this.#loadCatalog();
      for (let i = entries.length - 1; i >= 0; i--) {
        const entry = entries[i] as CatalogEntry;
        try {
          const { manifest } = await this.#readManifest(entry.uuid);
          await this.#verifyFiles(manifest, opts.verify !== 'size');
          return entry;
        } catch (e) {
          if (!isStorageError(e)) throw e;
          this.#skip(entry.uuid, e);
        }
      }
      return null;
    });
  }

  #skip(uuid: string, e: StorageError): void {
    this.#log.warn('skipping checkpoint that is not intact', {
      uuid,
      reason: e.message,
      error_code: e.errorCode,
    });
  }

  /** The manifest of a committed checkpoint. @throws StorageError CheckpointNotFound | CheckpointCorrupt */
  readManifest(uuid: string): Promise<CheckpointManifest> {
    return this.#serial(async () => (await this.#readManifest(uuid)).manifest);
  }

  /**
   * Reads and decodes a checkpoint, verifying every segment's size, hash and row count. Makes it the default
   * parent of the next delta. @throws StorageError CheckpointNotFound | CheckpointCorrupt | CheckpointFormatUnsupported
   */
  read(uuid: string): Promise<CheckpointRead> {
    return this.#serial(() => this.#read(uuid));
  }

  /**
   * Makes checkpoint `uuid` the default parent of the next delta without decoding its state (the caller holds
   * that state already, e.g. a warm standby) and returns its entry and manifest.
   * @throws StorageError CheckpointNotFound | CheckpointCorrupt | CheckpointFormatUnsupported
   */
  adopt(uuid: string): Promise<{ entry: CatalogEntry; manifest: CheckpointManifest }> {
    return this.#serial(async () => {
      const { manifest, bytes } = await this.#readManifest(uuid);
      await this.#verifyFiles(manifest, false);
      this.#last = uuid;
      return { entry: entryOf(manifest, bytes), manifest };
    });
  }

  /** Reads and decodes one segment file of checkpoint `uuid`, verifying its size, hash and row count. */
  readSegment(ref: SegmentRef, uuid: string): Promise<Batch> {
    return this.#readSegment(ref, uuid);
  }

  /** {@link read} of the newest checkpoint that reads correctly (broken newer ones are skipped and logged). */
  readLatest(): Promise<CheckpointRead | null> {
    return this.#serial(async () => {
      const entries = await this.#loadCatalog();
      this.skipped = [];
      for (let i = entries.length - 1; i >= 0; i--) {
        const uuid = (entries[i] as CatalogEntry).uuid;
        try {
          return await this.#read(uuid);
        } catch (e) {
          if (!isStorageError(e)) throw e;
          this.#skip(uuid, e);
          this.skipped.push({ uuid, reason: e.message, details: e.details });
        }
      }
      return null;
    });
  }

  async #read(uuid: string): Promise<CheckpointRead> {
    const { manifest, bytes } = await this.#readManifest(uuid);
    const base: Record<string, Record<string, Batch>> = {};
    const deltas: Array<Record<string, Record<string, Batch>>> = [];
    for (const [op, states] of Object.entries(manifest.operators)) {
      const b: Record<string, Batch> = (base[op] = {});
      for (const [name, list] of Object.entries(states)) {
        b[name] = emptyBatch();
        for (let i = 0; i < list.length; i++) {
          const batch = await this.#readSegment(list[i] as SegmentRef, uuid);
          if (i === 0) b[name] = batch;
          else {
            const d = (deltas[i - 1] ??= {});
            (d[op] ??= {})[name] = batch;
          }
        }
      }
    }
    this.#last = uuid;
    const steps = manifest.steps;
    return {
      entry: entryOf(manifest, bytes),
      manifest,
      snapshot: { steps, operators: base },
      deltas: Array.from(deltas, (operators) => ({ steps, operators: operators ?? {} })),
    };
  }

  async #readSegment(ref: SegmentRef, uuid: string): Promise<Batch> {
    const version = await segmentVersion(this.filePath(ref.hash));
    if (isBatchFileVersion(version)) return this.#openBatchFile(ref, uuid, version === SEGMENT_V_FILE);
    let bytes: Buffer;
    try {
      bytes = await readFile(this.filePath(ref.hash));
    } catch (e) {
      if (isNotFound(e))
        throw corrupt(`checkpoint ${uuid} misses segment ${ref.hash}`, { uuid, hash: ref.hash });
      throw e;
    }
    if (bytes.length !== ref.size)
      throw corrupt(
        `segment ${ref.hash} of checkpoint ${uuid} has ${bytes.length} bytes, expected ${ref.size}`,
        {
          uuid,
          hash: ref.hash,
        },
      );
    try {
      return decodeSegment(bytes, this.#codecs, { hash: ref.hash, rows: ref.rows });
    } catch (e) {
      if (isStorageError(e)) e.details.uuid = uuid;
      throw e;
    }
  }

  /**
   * A v5 segment (a batch file): its whole hash is checked (read in chunks, between event-loop turns), then, with
   * spilling on, it is linked into the spill directory and opened there (restore opens files: entries stay on
   * disk); without spilling it is read into memory.
   */
  async #openBatchFile(ref: SegmentRef, uuid: string, v5 = false): Promise<Batch> {
    const path = this.filePath(ref.hash);
    const { size, hash } = await hashFile(path);
    if (size !== ref.size)
      throw corrupt(`segment ${ref.hash} of checkpoint ${uuid} has ${size} bytes, expected ${ref.size}`, {
        uuid,
        hash: ref.hash,
      });
    if (hash !== ref.hash)
      throw corrupt(`segment ${ref.hash} fails its hash check`, { uuid, hash: ref.hash, actual: hash });
    const decode = (b: Buffer) => decodeObjectTable(b, this.#codecs);
    const spill = spillConfig();
    let batch: Batch;
    try {
      if (spill !== null) {
        const own = join(spill.dir, ref.hash);
        await link(path, own).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
        });
        batch = asStorageError(() => openBatchFile(own, ref.hash, null, decode));
      } else {
        const fb = asStorageError(() => openBatchFile(path, ref.hash, null, decode));
        try {
          batch = asStorageError(() => loadFileBatch(fb));
        } finally {
          fb.close();
        }
      }
    } catch (e) {
      if (isStorageError(e)) e.details.uuid = uuid;
      throw e;
    }
    if (v5 && needsKeyUpgrade((batch as TraceBatch | FileBatch).objects)) {
      // a v5 file keeps nested key values by hash key: re-encoded in memory (the next checkpoint writes it anew)
      const fb = batch;
      batch = upgradeKeys(
        fb instanceof FileBatch ? asStorageError(() => loadFileBatch(fb)) : (fb as TraceBatch),
      );
      if (fb instanceof FileBatch) {
        fb.release();
        fb.close();
      }
    }
    const rows = batch instanceof FileBatch ? batch.length : (batch as TraceBatch).length;
    if (rows !== ref.rows)
      throw corrupt('segment row count differs from the manifest', {
        uuid,
        hash: ref.hash,
        expected: ref.rows,
        actual: rows,
      });
    return batch;
  }

  /**
   * Whether the next checkpoint after `checkpoint` (default: the last written or read) should be full rather
   * than a delta: a segment list holds `maxChain` − 1 deltas, or the deltas' bytes exceed the bases'. The base
   * of a list is its full checkpoint's segments (a trace-backed state lists one per sealed batch), known for the
   * checkpoints this store wrote; for one it only read, a list's first segment.
   */
  needsCompaction(checkpoint?: CatalogEntry | string): Promise<boolean> {
    return this.#serial(async () => {
      const uuid = typeof checkpoint === 'string' ? checkpoint : (checkpoint?.uuid ?? this.#last);
      if (uuid === null) return true;
      const s = compactionStats((await this.#readManifest(uuid)).manifest, this.#bases.get(uuid) ?? null);
      return s.longestChain >= this.#maxChain || s.deltaBytes > s.baseBytes;
    });
  }

  /**
   * Deletes old checkpoints: keeps the newest ones until `keep` (at least one) of them have all their files
   * present — broken ones in between are kept too but do not count — and the pinned ones. Order: catalog, then
   * manifests, then every file no kept manifest references (and temporary files left by crashes). If a kept manifest cannot be read, no segment file is deleted.
   */
  gc(opts: GcOptions = {}): Promise<GcResult> {
    return this.#serial(async () => {
      const keep = opts.keep ?? 2;
      const pinned = opts.pinned ?? new Set<string>();
      const entries = await this.#loadCatalog();
      // Newest first, keep checkpoints until `keep` of them (at least one) are intact: a broken checkpoint does
      // not count, so that after a recovery past a damaged newest checkpoint the fallback is not the one deleted.
      const kept = new Set<string>();
      let intact = 0;
      for (let i = entries.length - 1; i >= 0 && intact < Math.max(1, keep); i--) {
        const uuid = (entries[i] as CatalogEntry).uuid;
        kept.add(uuid);
        try {
          await this.#verifyFiles((await this.#readManifest(uuid)).manifest, false);
          intact++;
        } catch (e) {
          if (!isStorageError(e)) throw e;
        }
      }
      for (const e of entries) if (pinned.has(e.uuid)) kept.add(e.uuid);
      const removedCheckpoints = entries.filter((e) => !kept.has(e.uuid)).map((e) => e.uuid);
      if (removedCheckpoints.length > 0)
        await writeJsonAtomic(
          join(this.dir, CATALOG_FILE),
          entries.filter((e) => kept.has(e.uuid)),
        );

      const mdir = join(this.dir, MANIFESTS_DIR);
      let removedManifests = 0;
      for (const name of await listDir(mdir)) {
        const uuid = MANIFEST_NAME_RE.exec(name)?.[1];
        // Removed ones, torn manifests the catalog never took, temporaries.
        if (uuid === undefined ? isTempName(name) : !kept.has(uuid) && !pinned.has(uuid))
          if (await removeFile(join(mdir, name))) removedManifests++;
      }
      for (const name of await listDir(this.dir))
        if (isTempName(name) && name.startsWith(CATALOG_FILE)) await removeFile(join(this.dir, name));
      // (a store with no checkpoint yet, only files written ahead, has no manifest directory to sync)
      if (removedManifests > 0) await fsyncDir(mdir);

      const referenced = new Set<string>();
      for (const uuid of kept) {
        try {
          for (const f of manifestFiles((await this.#readManifest(uuid)).manifest)) referenced.add(f.hash);
        } catch (e) {
          if (!isStorageError(e)) throw e;
          this.#log.warn('gc keeps every segment file: a kept manifest is unreadable', {
            uuid,
            reason: e.message,
          });
          return { removedCheckpoints, removedFiles: 0, freedBytes: 0 };
        }
      }
      const fdir = join(this.dir, FILES_DIR);
      let removedFiles = 0;
      let freedBytes = 0;
      for (const [hash, ref] of this.#aheadFiles) {
        const b = ref.deref();
        // collected, or merged away (no later checkpoint lists it): an unreferenced file is garbage again
        if (b === undefined || this.#dropped(b)) this.#aheadFiles.delete(hash);
      }
      for (const name of await listDir(fdir)) {
        if (referenced.has(name) || this.#aheadFiles.has(name)) continue;
        if (this.#aheadWriting > 0 && isTempName(name)) continue; // perhaps a write ahead's
        if (!HASH_RE.test(name) && !isTempName(name)) continue; // not ours
        const size = (await sizeOf(join(fdir, name))) ?? 0;
        if (await removeFile(join(fdir, name))) {
          removedFiles++;
          freedBytes += size;
        }
      }
      if (removedFiles > 0) await fsyncDir(fdir);
      return { removedCheckpoints, removedFiles, freedBytes };
    });
  }

  /** Whether the store holds segment `hash` with `size` bytes (for sync: what to download/upload). */
  async hasFile(hash: string, size: number): Promise<boolean> {
    return (await sizeOf(this.filePath(hash))) === size;
  }

  /** A temporary path in the files directory to download segment `hash` into (see {@link commitFile}). */
  async downloadTarget(hash: string): Promise<string> {
    if (!HASH_RE.test(hash)) throw corrupt(`bad segment hash ${JSON.stringify(hash)}`, { hash });
    await ensureDir(join(this.dir, FILES_DIR));
    return tempName(this.filePath(hash));
  }

  /** Moves a downloaded, verified segment into place (durably). */
  async commitFile(hash: string, tmp: string): Promise<void> {
    await commitRenamed(tmp, this.filePath(hash));
  }

  /** Stores a segment fetched from elsewhere, after checking its hash. @throws StorageError CheckpointCorrupt */
  importFile(hash: string, bytes: Uint8Array): Promise<void> {
    return this.#serial(async () => {
      const actual = sha256Hex(bytes);
      if (actual !== hash) throw corrupt(`imported segment ${hash} fails its hash check`, { hash, actual });
      const path = this.filePath(hash);
      if (await sameContent(path, bytes)) return;
      await ensureDir(join(this.dir, FILES_DIR));
      await writeFileAtomic(path, bytes);
    });
  }

  /**
   * Commits a manifest fetched from elsewhere (its files must have been imported first).
   * @throws StorageError CheckpointCorrupt (invalid, or a file is missing) | CheckpointFormatUnsupported
   */
  importManifest(manifest: unknown): Promise<CatalogEntry> {
    return this.#serial(async () => {
      const uuid = isObj(manifest) && isUuid(manifest.uuid) ? manifest.uuid : '?';
      const m = parseManifest(manifest, uuid);
      await this.#verifyFiles(m, false);
      await ensureDir(join(this.dir, MANIFESTS_DIR));
      const bytes = await writeJsonAtomic(this.manifestPath(uuid), m);
      await this.#loadCatalog(); // adds it
      return entryOf(m, bytes);
    });
  }

  async #readManifest(uuid: string): Promise<{ manifest: CheckpointManifest; bytes: number }> {
    let text: string;
    try {
      text = await readFile(this.manifestPath(uuid), 'utf8');
    } catch (e) {
      if (isNotFound(e))
        throw new StorageError('CheckpointNotFound', `checkpoint ${uuid} does not exist`, { uuid });
      throw e;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw corrupt(`manifest of checkpoint ${uuid} is not valid JSON: ${(e as Error).message}`, { uuid });
    }
    return { manifest: parseManifest(value, uuid), bytes: Buffer.byteLength(text) };
  }

  /** Every referenced file exists with the right size (and, with `hashes`, content hash). */
  async #verifyFiles(m: CheckpointManifest, hashes: boolean): Promise<void> {
    for (const ref of manifestFiles(m)) {
      const path = this.filePath(ref.hash);
      const size = await sizeOf(path);
      if (size === null)
        throw corrupt(`checkpoint ${m.uuid} misses segment ${ref.hash}`, { uuid: m.uuid, hash: ref.hash });
      if (size !== ref.size)
        throw corrupt(`segment ${ref.hash} of checkpoint ${m.uuid} has ${size} bytes, expected ${ref.size}`, {
          uuid: m.uuid,
          hash: ref.hash,
        });
      if (hashes && sha256Hex(await readFile(path)) !== ref.hash)
        throw corrupt(`segment ${ref.hash} of checkpoint ${m.uuid} fails its hash check`, {
          uuid: m.uuid,
          hash: ref.hash,
        });
    }
  }

  /**
   * The catalog reconciled with the manifests on disk (manifests are the truth): rewrites `checkpoints.json` when
   * it was unreadable or out of step.
   */
  async #loadCatalog(): Promise<CatalogEntry[]> {
    const path = join(this.dir, CATALOG_FILE);
    let cached: CatalogEntry[] = [];
    let dirty = false;
    try {
      const value = await readJson(path);
      if (!Array.isArray(value) || !value.every(isEntry))
        throw new Error('not an array of checkpoint entries');
      cached = value;
    } catch (e) {
      if (!isNotFound(e)) {
        this.#log.warn('checkpoint catalog is unreadable; rebuilding it from the manifests', {
          path,
          reason: (e as Error).message,
        });
      }
      dirty = true;
    }
    const onDisk = new Set<string>();
    for (const name of await listDir(join(this.dir, MANIFESTS_DIR))) {
      const uuid = MANIFEST_NAME_RE.exec(name)?.[1];
      if (uuid !== undefined) onDisk.add(uuid);
    }
    const out = new Map<string, CatalogEntry>();
    for (const e of cached) {
      if (onDisk.has(e.uuid)) out.set(e.uuid, e);
      else {
        this.#log.warn('catalog lists a checkpoint whose manifest is gone; dropping it', { uuid: e.uuid });
        dirty = true;
      }
    }
    for (const uuid of onDisk) {
      if (out.has(uuid)) continue;
      try {
        const { manifest, bytes } = await this.#readManifest(uuid);
        out.set(uuid, entryOf(manifest, bytes));
        dirty = true;
      } catch (e) {
        if (!isStorageError(e)) throw e;
        this.#skip(uuid, e);
      }
    }
    const entries = [...out.values()].sort(byUuid);
    if (!dirty && entries.some((e, i) => e !== cached[i])) dirty = true;
    if (dirty && (onDisk.size > 0 || cached.length > 0)) await writeJsonAtomic(path, entries);
    return entries;
  }
}

/**
 * Whether `path` holds exactly `bytes`. An existing file is reused only then: after a corruption, a replay
 * produces the same segment again, and it must replace the damaged file rather than link to it.
 */
async function sameContent(path: string, bytes: Uint8Array): Promise<boolean> {
  if ((await sizeOf(path)) !== bytes.length) return false;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(await readFile(path));
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

/** The format version byte of a segment file (null when it is shorter than a header or missing). */
async function segmentVersion(path: string): Promise<number | null> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
  try {
    const b = Buffer.alloc(5);
    const { bytesRead } = await fh.read(b, 0, 5, 0);
    return bytesRead === 5 && b.readUInt32LE(0) === 0x47534648 ? (b[4] as number) : null;
  } finally {
    await fh.close();
  }
}

/** SHA-256 and size of a file, read in 8 MiB chunks with an event-loop turn between them. */
async function hashFile(path: string): Promise<{ size: number; hash: string }> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(8 * 2 ** 20);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, size);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { size, hash: h.digest('hex') };
  } finally {
    await fh.close();
  }
}
