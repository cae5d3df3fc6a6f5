/**
 * The Delta Lake transaction log, read for `delta_table_input` (delta-input.ts): listing `_delta_log/` (commits
 * `<20-digit version>.json`, classic Parquet checkpoints `<version>.checkpoint.parquet` and their parts
 * `<version>.checkpoint.<i>.<n>.parquet`), reading commits (JSON lines of actions) and checkpoints (one row per
 * action, read with hyparquet), and rebuilding the table's state at a version — live files with their
 * partition values, schema, partition columns, configuration and protocol — from the newest complete
 * checkpoint at or below it plus the commits after it. Actions are checked as they are applied: a protocol,
 * reader feature, column mapping or deletion vector Holdfast cannot read is `DeltaUnsupportedFeature`; a
 * malformed log (not JSON, a gap, a missing field) is `DeltaLogInvalid`; a version the log cannot rebuild is
 * `DeltaVersionNotFound`; no log at all is `DeltaTableNotFound`.
 *
 * State: none beyond the store handle; a {@link TableState} is the caller's, updated with {@link DeltaLog.apply}.
 */
import { parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { isServiceError, ServiceError } from '../../errors/service-error.ts';
import type { ObjectInfo, ObjectStore } from '../../sync/object-store.ts';
import { isTransient } from '../../sync/retry.ts';
import type { ErrorCode } from '../../types/error-codes.ts';
import { type AsyncBuffer, bufferSource } from '../formats/parquet-parser.ts';
import { sleep } from './run-control.ts';

export const NOT_FOUND: ErrorCode = 'DeltaTableNotFound';
export const NO_VERSION: ErrorCode = 'DeltaVersionNotFound';
export const BAD_LOG: ErrorCode = 'DeltaLogInvalid';
export const UNSUPPORTED: ErrorCode = 'DeltaUnsupportedFeature';
const BACKOFF_MS = 200;

/** Reader features (protocol 3) whose tables Holdfast reads correctly without doing anything about them. */
export const READER_FEATURES = new Set(['timestampNtz', 'vacuumProtocolCheck']);

export interface FileEntry {
  readonly path: string;
  readonly partitionValues: Readonly<Record<string, string | null>>;
  readonly size: number | null;
}

export interface TableMeta {
  readonly partitionColumns: readonly string[];
  readonly schemaFields: readonly string[];
  readonly configuration: Readonly<Record<string, string>>;
}

export interface Protocol {
  readonly minReaderVersion: number;
  readonly readerFeatures: readonly string[];
}

/** The table as of one version: live files, schema, protocol. */
export interface TableState {
  version: number;
  readonly files: Map<string, FileEntry>;
  meta: TableMeta | null;
  protocol: Protocol | null;
}

/** One commit's data changes, in the order they are pushed: removes, then adds. */
export interface CommitChanges {
  readonly files: Array<{ readonly file: FileEntry; readonly weight: 1 | -1 }>;
}

export interface LogListing {
  readonly commits: Map<number, ObjectInfo>;
  /** Checkpoint version → parts found (by part number) and the part count. */
  readonly checkpoints: Map<number, { parts: Map<number, string>; count: number }>;
}

const pad = (v: number) => String(v).padStart(20, '0');
const commitKey = (v: number) => `_delta_log/${pad(v)}.json`;

export type Raw = Record<string, unknown>;
export const isObj = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads the Delta log of one table. */
export class DeltaLog {
  readonly store: ObjectStore;
  readonly location: string;
  readonly signal: AbortSignal;
  readonly maxRetries: number;
  readonly onRetry: (e: unknown, attempt: number) => void;

  constructor(
    store: ObjectStore,
    location: string,
    signal: AbortSignal,
    maxRetries: number,
    onRetry: (e: unknown, attempt: number) => void,
  ) {
    this.store = store;
    this.location = location;
    this.signal = signal;
    this.maxRetries = maxRetries;
    this.onRetry = onRetry;
  }

  err(code: ErrorCode, message: string): ServiceError {
    return new ServiceError(code, `Delta table ${this.location}: ${message}`, { uri: this.location });
  }

  /** Retries `f` on transient store failures. */
  async retrying<T>(f: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await f();
      } catch (e) {
        if (this.signal.aborted || !isTransient(e) || attempt >= this.maxRetries) throw e;
        this.onRetry(e, attempt + 1);
        await sleep(BACKOFF_MS * 2 ** attempt, this.signal);
      }
    }
  }

  async list(): Promise<LogListing> {
    const commits = new Map<number, ObjectInfo>();
    const checkpoints = new Map<number, { parts: Map<number, string>; count: number }>();
    let objs: ObjectInfo[];
    try {
      objs = await this.retrying(async () => {
        const out: ObjectInfo[] = [];
        for await (const o of this.store.list('_delta_log/', { signal: this.signal })) out.push(o);
        return out;
      });
    } catch (e) {
      if (isServiceError(e, 'ObjectStoreBucketNotFound') || isServiceError(e, 'ObjectNotFound'))
        throw this.err(
          NOT_FOUND,
          `there is no Delta table here (${e.message}); 'uri' must name the directory that holds _delta_log/`,
        );
      throw e;
    }
    for (const o of objs) {
      const name = o.key.slice('_delta_log/'.length);
      let m = /^(\d{20})\.json$/.exec(name);
      if (m !== null) {
        commits.set(Number(m[1]), o);
        continue;
      }
      m = /^(\d{20})\.checkpoint\.parquet$/.exec(name);
      if (m !== null) {
        checkpoints.set(Number(m[1]), { parts: new Map([[1, o.key]]), count: 1 });
        continue;
      }
      m = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/.exec(name);
      if (m !== null) {
        const v = Number(m[1]);
        const count = Number(m[3]);
        const c = checkpoints.get(v) ?? { parts: new Map<number, string>(), count };
        if (c.count === count) c.parts.set(Number(m[2]), o.key);
        checkpoints.set(v, c);
      }
    }
    if (commits.size === 0 && checkpoints.size === 0)
      throw this.err(
        NOT_FOUND,
        "there is no Delta table here: _delta_log/ holds no commits; 'uri' must name the directory that holds _delta_log/",
      );
    return { commits, checkpoints };
  }

  /** The latest version the listing knows. */
  static latest(l: LogListing): number {
    let v = -1;
    for (const k of l.commits.keys()) v = Math.max(v, k);
    for (const [k, c] of l.checkpoints) if (c.parts.size === c.count) v = Math.max(v, k);
    return v;
  }

  /** The actions of commit `v` (null when it does not exist yet). */
  async commit(v: number): Promise<Raw[] | null> {
    let text: string;
    try {
      const r = await this.retrying(() => this.store.get(commitKey(v), { signal: this.signal }));
      text = Buffer.from(r.bytes).toString('utf8');
    } catch (e) {
      if (isServiceError(e, 'ObjectNotFound')) return null;
      throw e;
    }
    const out: Raw[] = [];
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue;
      let a: unknown;
      try {
        a = JSON.parse(line);
      } catch {
        throw this.err(BAD_LOG, `line ${i + 1} of ${commitKey(v)} is not JSON`);
      }
      if (!isObj(a)) throw this.err(BAD_LOG, `line ${i + 1} of ${commitKey(v)} is not a JSON object`);
      out.push(a);
    }
    return out;
  }

  /** The actions a checkpoint holds (add, metaData, protocol; its tombstones are skipped). */
  async checkpoint(v: number, parts: readonly string[]): Promise<Raw[]> {
    const out: Raw[] = [];
    for (const key of parts) {
      let rows: Raw[];
      try {
        const r = await this.retrying(() => this.store.get(key, { signal: this.signal }));
        const src: AsyncBuffer = bufferSource(r.bytes);
        const metadata = await parquetMetadataAsync(src);
        const have = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
        const columns = ['add', 'metaData', 'protocol'].filter((c) => have.has(c));
        rows = (await parquetReadObjects({ file: src, metadata, columns, compressors })) as Raw[];
      } catch (e) {
        if (isServiceError(e) && !isServiceError(e, 'ParquetInvalidFile')) throw e;
        throw this.err(BAD_LOG, `checkpoint ${key} of version ${v} cannot be read: ${(e as Error).message}`);
      }
      for (const row of rows)
        for (const k of ['protocol', 'metaData', 'add'])
          if (isObj(row[k])) out.push({ [k]: normalizeCheckpointAction(row[k] as Raw) });
    }
    return out;
  }

  /**
   * The state at version `v`: the newest complete checkpoint at or below `v` plus the commits after it.
   * @throws DeltaVersionNotFound / DeltaLogInvalid.
   */
  async stateAt(l: LogListing, v: number): Promise<TableState> {
    let cp = -1;
    for (const [k, c] of l.checkpoints) if (k <= v && c.parts.size === c.count && k > cp) cp = k;
    const latest = DeltaLog.latest(l);
    if (v > latest)
      throw this.err(NO_VERSION, `version ${v} does not exist (the latest version is ${latest})`);
    const state: TableState = { version: v, files: new Map(), meta: null, protocol: null };
    if (cp >= 0) {
      const c = l.checkpoints.get(cp) as { parts: Map<number, string>; count: number };
      const keys = [...c.parts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
      for (const a of await this.checkpoint(cp, keys)) this.apply(state, a, cp);
    } else if (!l.commits.has(0)) {
      throw this.err(
        NO_VERSION,
        `version ${v} cannot be rebuilt: the log has no commit 0 and no checkpoint at or before version ${v} (older log entries were cleaned up); ask for a later version`,
      );
    }
    for (let k = cp + 1; k <= v; k++) {
      if (!l.commits.has(k))
        throw this.err(
          BAD_LOG,
          `commit ${k} is missing from _delta_log/ (the log has a gap before version ${v})`,
        );
      const actions = await this.commit(k);
      if (actions === null) throw this.err(BAD_LOG, `commit ${k} disappeared while it was read`);
      for (const a of actions) this.apply(state, a, k);
    }
    if (state.meta === null) throw this.err(BAD_LOG, `no metaData action up to version ${v}`);
    if (state.protocol === null) throw this.err(BAD_LOG, `no protocol action up to version ${v}`);
    return state;
  }

  /** Applies one action to `state` (checking protocol and metadata as they arrive). */
  apply(state: TableState, a: Raw, v: number): void {
    if (isObj(a.protocol)) {
      state.protocol = this.protocolOf(a.protocol, v);
    } else if (isObj(a.metaData)) {
      state.meta = this.metaOf(a.metaData, v);
    } else if (isObj(a.add)) {
      const f = this.fileOf(a.add, 'add', v);
      state.files.set(f.path, f);
    } else if (isObj(a.remove)) {
      const p = a.remove.path;
      if (typeof p !== 'string') throw this.err(BAD_LOG, `a remove action of version ${v} has no path`);
      state.files.delete(p);
    }
  }

  protocolOf(p: Raw, v: number): Protocol {
    const minReaderVersion = Number(p.minReaderVersion);
    if (!Number.isInteger(minReaderVersion))
      throw this.err(BAD_LOG, `the protocol action of version ${v} has no minReaderVersion`);
    const readerFeatures = Array.isArray(p.readerFeatures) ? p.readerFeatures.map(String) : [];
    if (minReaderVersion > 3)
      throw this.err(
        UNSUPPORTED,
        `reader protocol version ${minReaderVersion} (version ${v}) is not supported (Holdfast reads versions 1 to 3)`,
      );
    for (const f of readerFeatures)
      if (!READER_FEATURES.has(f) && f !== 'columnMapping')
        throw this.err(
          UNSUPPORTED,
          `the table needs the Delta reader feature '${f}' (version ${v}), which Holdfast does not support${f === 'deletionVectors' ? ' (purge the deletion vectors, e.g. REORG TABLE ... APPLY (PURGE), or disable them)' : ''}`,
        );
    return { minReaderVersion, readerFeatures };
  }

  metaOf(m: Raw, v: number): TableMeta {
    const configuration: Record<string, string> = {};
    if (isObj(m.configuration))
      for (const [k, x] of Object.entries(m.configuration))
        if (x !== null && x !== undefined) configuration[k] = String(x);
    const cm = configuration['delta.columnMapping.mode'];
    if (cm !== undefined && cm !== 'none')
      throw this.err(
        UNSUPPORTED,
        `the table uses column mapping (delta.columnMapping.mode = ${cm}, version ${v}), which Holdfast does not support`,
      );
    const partitionColumns = Array.isArray(m.partitionColumns) ? m.partitionColumns.map(String) : [];
    let schemaFields: string[] = [];
    if (typeof m.schemaString === 'string') {
      try {
        const s = JSON.parse(m.schemaString) as { fields?: Array<{ name?: unknown }> };
        schemaFields = (s.fields ?? []).map((f) => String(f.name));
      } catch {
        throw this.err(BAD_LOG, `the schemaString of version ${v}'s metaData is not JSON`);
      }
    } else throw this.err(BAD_LOG, `the metaData action of version ${v} has no schemaString`);
    return { partitionColumns, schemaFields, configuration };
  }

  fileOf(a: Raw, kind: 'add' | 'remove', v: number): FileEntry {
    const path = a.path;
    if (typeof path !== 'string' || path === '')
      throw this.err(BAD_LOG, `an ${kind} action of version ${v} has no path`);
    // a deletion vector that deletes no row (cardinality 0) changes nothing
    if (isObj(a.deletionVector) && Number(a.deletionVector.cardinality ?? 1) !== 0)
      throw this.err(
        UNSUPPORTED,
        `file ${path} (version ${v}) has a deletion vector, which Holdfast does not support (purge deletion vectors, e.g. REORG TABLE ... APPLY (PURGE))`,
      );
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path) || path.startsWith('/'))
      throw this.err(
        UNSUPPORTED,
        `file ${path} (version ${v}) lies outside the table (a shallow clone?), which Holdfast does not read`,
      );
    const pv: Record<string, string | null> = {};
    if (isObj(a.partitionValues))
      for (const [k, x] of Object.entries(a.partitionValues))
        pv[k] = x === null || x === undefined ? null : String(x);
    const size = typeof a.size === 'number' ? a.size : typeof a.size === 'bigint' ? Number(a.size) : null;
    return { path, partitionValues: pv, size };
  }
}

/** A checkpoint row's action as a commit would hold it (maps read as objects or key/value lists). */
function normalizeCheckpointAction(a: Raw): Raw {
  const out: Raw = { ...a };
  for (const k of ['partitionValues', 'configuration']) {
    const x = a[k];
    if (Array.isArray(x)) {
      const o: Record<string, unknown> = {};
      for (const e of x) if (isObj(e)) o[String(e.key)] = e.value;
      out[k] = o;
    }
  }
  return out;
}

/** The data changes of commit `v`'s `actions` (removes before adds), given the state just before it. */
export function changesOf(
  log: DeltaLog,
  before: TableState,
  actions: readonly Raw[],
  v: number,
): CommitChanges {
  const removes: Array<{ file: FileEntry; weight: -1 }> = [];
  const adds: Array<{ file: FileEntry; weight: 1 }> = [];
  for (const a of actions) {
    if (isObj(a.add) && a.add.dataChange !== false)
      adds.push({ file: log.fileOf(a.add, 'add', v), weight: 1 });
    if (isObj(a.remove) && a.remove.dataChange !== false) {
      const r = log.fileOf(a.remove, 'remove', v);
      const known = before.files.get(r.path);
      // a remove need not repeat the file's partition values and size: the state knows them
      removes.push({
        file: {
          path: r.path,
          partitionValues:
            Object.keys(r.partitionValues).length > 0 || known === undefined
              ? r.partitionValues
              : known.partitionValues,
          size: r.size ?? known?.size ?? null,
        },
        weight: -1,
      });
    }
  }
  return { files: [...removes, ...adds] };
}
