/**
 * Adapts the on-disk {@link CheckpointStore} to the controller's {@link CheckpointWriter}: writes checkpoints
 * (full or incremental), keeps the newest two (GC after each write), and tracks when the next one must be full
 * (no parent yet, or the delta chain needs compaction).
 */
import type { CircuitSnapshot } from '../circuit/circuit.ts';
import { type CatalogEntry, type CheckpointRead, CheckpointStore } from '../storage/checkpoint-store.ts';
import type { ObjectValueCodec } from '../storage/segment.ts';
import { enableSpill, type SpillOptions } from '../storage/spill.ts';
import type { TraceBatch } from '../zset/trace.ts';
import type {
  CheckpointEntry,
  CheckpointLog,
  CheckpointMeta,
  CheckpointWriter,
  WritesAhead,
} from './checkpointer.ts';

function entryOf(e: CatalogEntry): CheckpointEntry {
  return {
    uuid: e.uuid,
    identifier: e.identifier,
    fingerprint: e.fingerprint,
    size: e.size,
    steps: e.steps,
    processed_records: e.processed_records,
  };
}

/**
 * The manifest's `extra`: the program description, plus `connectors` (input endpoints' paused state and errors)
 * when there is any, so a checkpoint of a pipeline without either is written exactly as before.
 */
function withConnectors(extra: unknown, connectors: Readonly<Record<string, unknown>> | undefined): unknown {
  if (connectors === undefined || Object.keys(connectors).length === 0) return extra;
  const base = typeof extra === 'object' && extra !== null ? extra : {};
  return { ...base, connectors };
}

/** The input endpoints' saved state in a manifest's `extra` (see {@link withConnectors}); `{}` when none. */
export function savedConnectors(extra: unknown): Record<string, unknown> {
  const c = (extra as { connectors?: unknown } | null)?.connectors;
  return typeof c === 'object' && c !== null && !Array.isArray(c)
    ? { ...(c as Record<string, unknown>) }
    : {};
}

export class StoreCheckpointWriter implements CheckpointWriter {
  readonly store: CheckpointStore;
  #full = true;
  #list: CheckpointEntry[] = [];
  /** Recorded as every checkpoint's manifest `extra` (the program description, for bootstrapping). */
  extra: unknown = null;

  private constructor(store: CheckpointStore) {
    this.store = store;
  }

  /**
   * Opens the store at `dir` and reads its newest intact checkpoint, or `uuid` (null when there is none).
   * With `adopt`, checkpoint `uuid`'s state is already loaded by the caller (a warm standby): only its manifest
   * is read, and `latest` is null.
   */
  static async open(
    dir: string,
    codecs: readonly ObjectValueCodec[],
    log: CheckpointLog,
    opts: { store?: CheckpointStore; uuid?: string; adopt?: boolean } = {},
  ): Promise<{
    writer: StoreCheckpointWriter;
    latest: CheckpointRead | null;
    adopted: Awaited<ReturnType<CheckpointStore['adopt']>> | null;
  }> {
    const store = opts.store ?? StoreCheckpointWriter.store(dir, codecs, log);
    const w = new StoreCheckpointWriter(store);
    const adopted = opts.adopt === true && opts.uuid !== undefined ? await store.adopt(opts.uuid) : null;
    const latest =
      adopted !== null
        ? null
        : opts.uuid !== undefined
          ? await store.read(opts.uuid)
          : await store.readLatest();
    w.#list = (await store.list()).map(entryOf);
    const parent = adopted?.entry ?? latest?.entry ?? null;
    w.#full = parent === null || (await store.needsCompaction(parent));
    return { writer: w, latest, adopted };
  }

  /** The checkpoint store at `dir` (for callers that use it before {@link open}, e.g. a sync pull). */
  static store(dir: string, codecs: readonly ObjectValueCodec[], log: CheckpointLog): CheckpointStore {
    return new CheckpointStore(dir, { codecs, logger: { warn: (m, f) => log('warn', m, f) } });
  }

  /** The store's counts of its writes ahead (`CheckpointStore.aheadStats`). */
  get ahead(): WritesAhead {
    return this.store.aheadStats;
  }

  /** See {@link CheckpointStore.prewrite}. */
  prewrite(b: TraceBatch): void {
    this.store.prewrite(b);
  }

  /** Checkpoints GC must keep besides the newest two (e.g. being pushed to object storage). */
  pinned: () => ReadonlySet<string> = () => new Set();

  async write(
    snapshot: CircuitSnapshot,
    meta: CheckpointMeta,
    delta: boolean,
  ): Promise<{ entry: CheckpointEntry; bytes: number }> {
    this.#full = true; // until this write succeeds, a failed delta forces the next one to be full
    const r = await this.store.write(
      snapshot,
      {
        fingerprint: meta.fingerprint,
        processed_records: meta.processed_records,
        transaction_id: meta.transaction_id,
        inputs: { ...meta.inputs },
        outputs: { ...(meta.outputs ?? {}) },
        extra: withConnectors(this.extra, meta.connectors),
      },
      { delta },
    );
    await this.store.gc({ keep: 2, pinned: this.pinned() });
    this.#full = await this.store.needsCompaction(r.entry);
    this.#list = (await this.store.list()).map(entryOf);
    return { entry: entryOf(r.entry), bytes: r.bytesWritten };
  }

  /** The next checkpoint must be full (the restored state was mapped onto a changed program's circuit). */
  requireFull(): void {
    this.#full = true;
  }

  needsFull(): boolean {
    return this.#full;
  }

  list(): CheckpointEntry[] {
    return this.#list;
  }
}

/**
 * Turns on state beyond memory for this pipeline process (`storage/spill.ts`): trace batches of at least
 * `min_storage_bytes` live in batch files under `dir`. Call before restoring a checkpoint.
 */
export function enableStateSpill(dir: string, o: SpillOptions, codecs: readonly ObjectValueCodec[]): void {
  enableSpill(dir, o, codecs);
}
