/**
 * `delta_table_input` (Feldera's transport): reads a Delta Lake table — its transaction log `_delta_log/` and the
 * Parquet data files the log names — from an object store (`s3://`, `gs://`, `az://`/`abfs[s]://`) or a local
 * directory (`file://` or a plain path), and pushes its rows to the table.
 *
 * The log: commits `_delta_log/<20-digit version>.json` (JSON lines of actions: `add`/`remove` with `path`,
 * `partitionValues`, `dataChange`, `deletionVector`; `metaData` with the schema, partition columns and
 * configuration; `protocol`), and classic Parquet checkpoints (`<version>.checkpoint.parquet`, or its parts
 * `<version>.checkpoint.<i>.<n>.parquet`) that sum up the log up to their version. The table's state at version
 * V is the newest complete checkpoint at or below V plus the commits after it (found by listing `_delta_log/`;
 * `_last_checkpoint` is only a hint, so it is not needed). A gap in the commits is `DeltaLogInvalid`. The log
 * is read by delta-log.ts; this module validates the config, opens the store and pushes rows.
 *
 * Modes (Feldera's): `snapshot` — the table at `version`/`datetime` (else the latest version): every live
 * file's rows as inserts, then end of input; `follow` — the commits after `version`/`datetime` (else after the
 * latest version at start): each commit's removed files' rows as deletes, then its added files' rows as
 * inserts (files moved without a data change, `dataChange: false`, e.g. compaction, are skipped);
 * `snapshot_and_follow` — the snapshot, then follow. Following polls for the next commit every
 * `poll_interval_ms` (a Holdfast option, default 1000 ms: Feldera's fixed interval). `end_version` ends the input once that commit is
 * pushed. `filter` (every row, snapshot and changes) and `snapshot_filter` (snapshot rows only) are SQL boolean
 * expressions over the table's columns, compiled with Holdfast's binder when the connectors are checked (at
 * pipeline start, before any connector runs); a row
 * is kept when they are TRUE (a filter that fails on a row makes it a parse error). `cdc` mode and
 * `timestamp_column` are refused then too.
 *
 * Columns map by name (case-insensitively unless quoted in SQL); partition columns take their value from the
 * file's `partitionValues` (text, parsed as the column's type); data file values are converted as the parquet
 * format does (parquet-parser.ts). Delta columns the table does not declare are not read; a nullable table
 * column a file lacks (added to the table later) reads as NULL.
 *
 * Position (fault tolerance): {@link DeltaInputPosition} — the version, whether it is the snapshot or a
 * commit, the files of it already pushed and the rows of the next one; every push carries the position after
 * its rows, so a restart from a checkpoint rebuilds the table's state at that version from the log and resumes
 * at that row: rows in the checkpoint are not read again. (Feldera documents this connector as at-least-once;
 * Holdfast's resumption is exact as long as the log versions it resumes in are still in the log.)
 *
 * Unsupported, refused with `DeltaUnsupportedFeature` naming the feature: deletion vectors, column mapping
 * (`delta.columnMapping.mode` other than `none`), v2 checkpoints and any other reader feature not listed in
 * `READER_FEATURES` (delta-log.ts), reader protocol versions above 3, data files outside the table (absolute paths).
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSync } from 'libpg-query';
import { isServiceError, ServiceError } from '../../errors/service-error.ts';
import { type Bound, compile } from '../../sql/bound.ts';
import { bindExpr } from '../../sql/expr.ts';
import type { Ast } from '../../sql/parse.ts';
import type { ColumnSchema, TableSchema } from '../../sql/schema.ts';
import { SourceMap } from '../../sql/source-map.ts';
import { parseTextValue } from '../../sql/values/format.ts';
import { AzureStore } from '../../sync/azure-store.ts';
import { DirStore } from '../../sync/dir-store.ts';
import type { ObjectStore } from '../../sync/object-store.ts';
import { S3Store } from '../../sync/s3-store.ts';
import type { Row, Value } from '../../zset/value.ts';
import { invalidFile, openParquet } from '../formats/parquet-parser.ts';
import { addError, emptyResult, type ParsedChange } from '../formats/parse-result.ts';
import { type ConnectorContext, type ConnectorSpec, configError, kindOf, optionalInt } from './config.ts';
import {
  BAD_LOG,
  changesOf,
  DeltaLog,
  type FileEntry,
  isObj,
  type LogListing,
  NO_VERSION,
  type Raw,
  type TableMeta,
  type TableState,
} from './delta-log.ts';
import { InputRun } from './input-run.ts';
import { objectSource } from './parquet-input.ts';
import { sleep } from './run-control.ts';
import type {
  ConnectorHost,
  ConnectorLog,
  DeltaInputPosition,
  InputPosition,
  RunningConnector,
} from './types.ts';

export type DeltaMode = 'snapshot' | 'follow' | 'snapshot_and_follow';

export interface DeltaInputConfig {
  readonly mode: DeltaMode;
  /** Opens the store rooted at the table's directory (credentials resolved). */
  readonly open: () => ObjectStore;
  /** The uri without secrets, for messages. */
  readonly location: string;
  readonly version: number | null;
  readonly datetime: Date | null;
  readonly endVersion: number | null;
  readonly pollMs: number;
  readonly maxRetries: number;
  /** `change_feed: "require"`: the table must have `delta.enableChangeDataFeed`. */
  readonly requireChangeFeed: boolean;
  /** `filter`: rows kept everywhere (snapshot and follow), as compiled against the table. */
  readonly filter: RowFilter | null;
  /** `snapshot_filter`: rows kept in the initial snapshot. */
  readonly snapshotFilter: RowFilter | null;
}

/** A compiled row filter: TRUE keeps the row; FALSE or NULL drops it. */
export type RowFilter = (row: Row) => boolean;

/** Feldera's connector options that Holdfast acts on or accepts. */
const OPTION_KEYS = new Set([
  'uri',
  'mode',
  'version',
  'start_version',
  'datetime',
  'start_datetime',
  'end_version',
  'filter',
  'snapshot_filter',
  'timestamp_column',
  'transaction_mode',
  'skip_unused_columns',
  'change_feed',
  'cdc_delete_filter',
  'cdc_order_by',
  'num_parsers',
  'max_concurrent_readers',
  'verbose',
  'max_retries',
  'poll_interval_ms',
]);

/** Storage options (object_store's names, lower-cased) and what they set. */
const STORAGE_KEYS: Record<string, string> = {
  aws_access_key_id: 'accessKey',
  access_key_id: 'accessKey',
  aws_secret_access_key: 'secretKey',
  secret_access_key: 'secretKey',
  aws_session_token: 'sessionToken',
  aws_token: 'sessionToken',
  session_token: 'sessionToken',
  token: 'sessionToken',
  aws_region: 'region',
  region: 'region',
  aws_default_region: 'region',
  aws_endpoint: 'endpoint',
  aws_endpoint_url: 'endpoint',
  endpoint: 'endpoint',
  endpoint_url: 'endpoint',
  aws_allow_http: 'allowHttp',
  allow_http: 'allowHttp',
  aws_skip_signature: 'anonymous',
  skip_signature: 'anonymous',
  aws_virtual_hosted_style_request: 'virtualHosted',
  virtual_hosted_style_request: 'virtualHosted',
  azure_storage_account_name: 'account',
  account_name: 'account',
  azure_storage_account_key: 'accountKey',
  azure_storage_access_key: 'accountKey',
  account_key: 'accountKey',
  access_key: 'accountKey',
  azure_storage_sas_key: 'sasToken',
  azure_storage_sas_token: 'sasToken',
  sas_key: 'sasToken',
  sas_token: 'sasToken',
  azure_storage_endpoint: 'endpoint',
  azure_endpoint: 'endpoint',
  // Delta/object_store tuning Holdfast has no use for: accepted silently
  aws_conditional_put: '',
  conditional_put: '',
  aws_s3_locking_provider: '',
  timeout: '',
  connect_timeout: '',
  retry_timeout: '',
  pool_idle_timeout: '',
  azure_use_azure_cli: '',
};

const DEFAULT_POLL_MS = 1000;
const DEFAULT_MAX_RETRIES = 5;
const BACKOFF_MS = 200;

function str(ctx: ConnectorContext, v: unknown, key: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw configError(ctx, `'${key}' must be a string, got ${kindOf(v)}`);
  return v;
}

/** A storage option's boolean ("true"/"false" strings, as Feldera's string map holds them, or booleans). */
function flag(ctx: ConnectorContext, v: unknown, key: string): boolean {
  if (v === true || v === 'true' || v === 'TRUE' || v === 'True') return true;
  if (v === false || v === 'false' || v === 'FALSE' || v === 'False') return false;
  throw configError(ctx, `'${key}' must be "true" or "false", got ${kindOf(v)}`);
}

function versionOpt(ctx: ConnectorContext, v: unknown, key: string): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw configError(ctx, `'${key}' must be a table version (an integer >= 0), got ${kindOf(v)}`);
  return n;
}

/**
 * Validates a `delta_table_input` config (Feldera's fields and Delta's storage options); opens nothing.
 * @throws ServiceError SqlPropertyError naming the option.
 */
export function checkDeltaInput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  table: TableSchema,
  baseDir: string,
  log: ConnectorLog,
): DeltaInputConfig {
  const cfg = spec.config;
  const storage: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (OPTION_KEYS.has(k)) continue;
    const field = STORAGE_KEYS[k.toLowerCase()];
    if (field === undefined) {
      log(
        'warn',
        `connector '${ctx.connector}' of table '${ctx.relation}': ignoring unknown delta_table_input option '${k}'`,
      );
      continue;
    }
    if (field !== '' && v !== null && v !== undefined) storage[field] = v;
  }
  if (spec.format !== null)
    log(
      'warn',
      `connector '${ctx.connector}' of table '${ctx.relation}': delta_table_input reads Parquet data files; its "format" is ignored`,
    );
  const rawMode = str(ctx, cfg.mode, 'mode');
  if (rawMode === 'cdc')
    throw configError(
      ctx,
      '\'mode\': "cdc" (a change log encoded as table rows) is not supported by Holdfast; use "snapshot", "follow" or "snapshot_and_follow"',
    );
  if (rawMode !== 'snapshot' && rawMode !== 'follow' && rawMode !== 'snapshot_and_follow')
    throw configError(
      ctx,
      `'mode' is required: "snapshot", "follow" or "snapshot_and_follow", got ${kindOf(cfg.mode)}`,
    );
  const mode: DeltaMode = rawMode;
  for (const key of ['timestamp_column', 'cdc_delete_filter', 'cdc_order_by'])
    if (cfg[key] !== undefined && cfg[key] !== null)
      throw configError(
        ctx,
        key === 'timestamp_column'
          ? "'timestamp_column' (snapshot in timestamp order) is not supported by Holdfast; remove it (the snapshot is read file by file)"
          : `'${key}' belongs to mode "cdc", which Holdfast does not support; remove it`,
      );
  const filterText = str(ctx, cfg.filter, 'filter');
  const snapshotFilterText = str(ctx, cfg.snapshot_filter, 'snapshot_filter');
  if (snapshotFilterText !== null && mode === 'follow')
    throw configError(
      ctx,
      "'snapshot_filter' is only valid in a mode that takes a snapshot (snapshot or snapshot_and_follow)",
    );
  const filter = filterText === null ? null : compileFilter(ctx, table, filterText, 'filter');
  const snapshotFilter =
    snapshotFilterText === null ? null : compileFilter(ctx, table, snapshotFilterText, 'snapshot_filter');
  const tm = str(ctx, cfg.transaction_mode, 'transaction_mode');
  if (tm !== null && !['none', 'snapshot', 'always', 'catchup'].includes(tm))
    throw configError(
      ctx,
      `'transaction_mode' must be "none", "snapshot", "catchup" or "always", got "${tm}"`,
    );
  if (tm !== null && tm !== 'none')
    log(
      'warn',
      `connector '${ctx.connector}' of table '${ctx.relation}': 'transaction_mode' "${tm}" is not supported by Holdfast and is ignored (input is not grouped into transactions)`,
    );
  const cf = str(ctx, cfg.change_feed, 'change_feed');
  if (cf !== null && !['auto', 'require', 'off'].includes(cf))
    throw configError(ctx, `'change_feed' must be "auto", "require" or "off", got "${cf}"`);
  if (cfg.skip_unused_columns !== undefined && cfg.skip_unused_columns !== null)
    flag(ctx, cfg.skip_unused_columns, 'skip_unused_columns');
  const version = versionOpt(
    ctx,
    cfg.version ?? cfg.start_version,
    cfg.version !== undefined ? 'version' : 'start_version',
  );
  const dt = str(ctx, cfg.datetime ?? cfg.start_datetime, 'datetime');
  if (version !== null && dt !== null) throw configError(ctx, "set at most one of 'version' and 'datetime'");
  let datetime: Date | null = null;
  if (dt !== null) {
    datetime = new Date(dt.includes('T') ? dt : dt.replace(' ', 'T'));
    if (Number.isNaN(datetime.getTime()))
      throw configError(
        ctx,
        `'datetime' must be an ISO-8601/RFC 3339 time such as "2024-12-09T16:09:53+00:00", got "${dt}"`,
      );
  }
  const endVersion = versionOpt(ctx, cfg.end_version, 'end_version');
  if (endVersion !== null && mode === 'snapshot')
    throw configError(
      ctx,
      "'end_version' is only valid when the connector follows the log (mode follow or snapshot_and_follow)",
    );
  const pollMs = optionalInt(ctx, cfg.poll_interval_ms, 'poll_interval_ms', 10) ?? DEFAULT_POLL_MS;
  const maxRetries = optionalInt(ctx, cfg.max_retries, 'max_retries', 0) ?? DEFAULT_MAX_RETRIES;
  const uri = str(ctx, cfg.uri, 'uri');
  if (uri === null || uri === '')
    throw configError(
      ctx,
      '\'uri\' is required: the table\'s location, e.g. "s3://bucket/path/to/table" or "file:///data/table"',
    );
  const { open, location } = storeFor(ctx, uri, storage, baseDir, maxRetries);
  try {
    void open().close(); // validates the location and the credentials' shape now
  } catch (e) {
    if (isServiceError(e)) throw configError(ctx, e.message);
    throw e;
  }
  return {
    mode,
    open,
    location,
    version,
    datetime,
    endVersion,
    pollMs,
    maxRetries,
    requireChangeFeed: cf === 'require',
    filter,
    snapshotFilter,
  };
}

/**
 * Compiles a `filter`/`snapshot_filter` (a SQL boolean expression over the table's columns, as in
 * `SELECT * FROM t WHERE <expression>`) with Holdfast's expression binder. The SQL parser is loaded whenever a
 * program was compiled, which is always the case before connectors are checked (the table comes from one).
 * @throws ServiceError SqlPropertyError naming the option (syntax, unknown column, not a boolean).
 */
export function compileFilter(
  ctx: ConnectorContext,
  table: TableSchema,
  text: string,
  key: string,
): RowFilter {
  const sql = `SELECT * FROM t WHERE ${text}`;
  const bad = (why: string) => configError(ctx, `'${key}' ${JSON.stringify(text)}: ${why}`);
  let where: Ast | undefined;
  try {
    const tree = parseSync(sql) as { stmts?: Array<{ stmt: Ast }> };
    const stmts = tree.stmts ?? [];
    const sel =
      stmts.length === 1
        ? ((stmts[0] as { stmt: Ast }).stmt as { SelectStmt?: Record<string, unknown> }).SelectStmt
        : undefined;
    const only =
      sel !== undefined &&
      Object.keys(sel).every((k) =>
        ['targetList', 'fromClause', 'whereClause', 'limitOption', 'op'].includes(k),
      );
    if (!only) throw new Error('expected one boolean expression');
    where = sel?.whereClause as Ast | undefined;
  } catch (e) {
    throw bad(`not a SQL expression (${(e as Error).message})`);
  }
  if (where === undefined) throw bad('expected one boolean expression');
  let b: Bound;
  try {
    b = bindExpr(where, {
      columns: (table.columns as readonly ColumnSchema[]).map((c) => ({
        qualifier: null,
        name: c.name,
        type: c.type,
      })),
      source: new SourceMap(sql),
      clause: key,
    });
  } catch (e) {
    throw bad((e as Error).message.replace(/ at line \d+, column \d+/, ''));
  }
  if (b.type.kind !== 'BOOLEAN' && b.type.kind !== 'NULL')
    throw bad(`it is of type ${b.type.kind}, not BOOLEAN`);
  const ev = compile(b);
  return (row) => ev(row, []) === true;
}

/** The object store a table `uri` names (rooted at the table's directory). */
function storeFor(
  ctx: ConnectorContext,
  uri: string,
  o: Record<string, unknown>,
  baseDir: string,
  maxRetries: number,
): { open: () => ObjectStore; location: string } {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(uri);
  const s = (k: string) => (o[k] === undefined ? undefined : String(o[k]));
  if (m === null || m[1]?.toLowerCase() === 'file') {
    const root = m === null ? (isAbsolute(uri) ? uri : resolvePath(baseDir, uri)) : fileURLToPath(uri);
    return { open: () => new DirStore({ root }), location: root };
  }
  const scheme = (m[1] as string).toLowerCase();
  const rest = (m[2] as string).replace(/\/+$/, '');
  if (rest === '') throw configError(ctx, `'uri' ${JSON.stringify(uri)} names no bucket`);
  if (scheme === 's3' || scheme === 's3a' || scheme === 'gs') {
    const endpoint = s('endpoint');
    if (
      endpoint?.startsWith('http://') &&
      (o.allowHttp === undefined || !flag(ctx, o.allowHttp, 'aws_allow_http'))
    )
      throw configError(ctx, `endpoint ${endpoint} is plain http: set "aws_allow_http": "true" to allow it`);
    const anonymous = o.anonymous !== undefined && flag(ctx, o.anonymous, 'aws_skip_signature');
    const pathStyle =
      o.virtualHosted === undefined
        ? undefined
        : !flag(ctx, o.virtualHosted, 'aws_virtual_hosted_style_request');
    const region = s('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    const accessKey = s('accessKey');
    const secretKey = s('secretKey');
    const sessionToken = s('sessionToken');
    const open = () =>
      new S3Store({
        bucket: rest,
        provider: scheme === 'gs' ? 'GCS' : 'AWS',
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(region !== undefined ? { region } : {}),
        ...(anonymous ? { anonymous: true } : {}),
        ...(accessKey !== undefined ? { accessKey } : {}),
        ...(secretKey !== undefined ? { secretKey } : {}),
        ...(sessionToken !== undefined ? { sessionToken } : {}),
        ...(pathStyle !== undefined ? { forcePathStyle: pathStyle } : {}),
        maxAttempts: Math.min(3, maxRetries + 1),
      });
    return { open, location: `${scheme}://${rest}` };
  }
  if (scheme === 'az' || scheme === 'azure' || scheme === 'abfs' || scheme === 'abfss') {
    let bucket = rest;
    let account = s('account');
    // abfs[s]://container@account.dfs.core.windows.net/path
    const at = /^([^@/]+)@([^./]+)\.[^/]*(\/.*)?$/.exec(rest);
    if (at !== null) {
      bucket = `${at[1]}${at[3] ?? ''}`;
      account ??= at[2];
    }
    const accountKey = s('accountKey');
    const sasToken = s('sasToken');
    const endpoint = s('endpoint');
    const open = () =>
      new AzureStore({
        bucket,
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(account !== undefined && accountKey !== undefined ? { accountName: account, accountKey } : {}),
        ...(account !== undefined ? { account } : {}),
        ...(sasToken !== undefined ? { sasToken } : {}),
        maxTries: Math.min(3, maxRetries + 1),
      });
    return { open, location: `az://${bucket}` };
  }
  throw configError(
    ctx,
    `'uri' scheme '${scheme}://' is not supported; use s3://, gs://, az:// (or abfs[s]://), file:// or a local path`,
  );
}

function positionOf(ctx: ConnectorContext, raw: InputPosition | null | undefined): DeltaInputPosition | null {
  if (raw === null || raw === undefined) return null;
  const p = raw as Partial<DeltaInputPosition>;
  const nat = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (
    !nat(p.version) ||
    !nat(p.file) ||
    !nat(p.row) ||
    (p.snapshot !== undefined && typeof p.snapshot !== 'boolean')
  )
    throw configError(
      ctx,
      `the resume position must be {"version": <n>, "snapshot"?: true, "file": <n>, "row": <n>}, got ${JSON.stringify(raw)}`,
    );
  return {
    version: p.version as number,
    ...(p.snapshot === true ? { snapshot: true } : {}),
    file: p.file as number,
    row: p.row as number,
  };
}

/** Starts reading the table from `position` (default: as the mode and `version`/`datetime` say). */
export function startDeltaInput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  table: TableSchema,
  host: ConnectorHost,
  log: ConnectorLog,
  options: { baseDir: string; position?: InputPosition | null },
): RunningConnector {
  const cfg = checkDeltaInput(ctx, spec, table, options.baseDir, log);
  const start = positionOf(ctx, options.position);
  const store = cfg.open();
  const run = new InputRun(ctx, host, log, spec.maxBatchSize, start);
  run.onStop(() => store.close().catch(() => {}));
  const onRetry = (e: unknown, attempt: number) =>
    log(
      'warn',
      `${run.endpoint.name}: reading ${cfg.location} failed (${(e as Error).message}); retry ${attempt}`,
      {
        endpoint: run.endpoint.name,
      },
    );
  const dlog = new DeltaLog(store, cfg.location, run.signal, cfg.maxRetries, onRetry);
  const columns = table.columns as readonly ColumnSchema[];
  const { filter, snapshotFilter } = cfg;
  const snapshotKeep: RowFilter | null =
    filter !== null && snapshotFilter !== null
      ? (r) => filter(r) && snapshotFilter(r)
      : (filter ?? snapshotFilter);

  /** Which table columns are partition columns (table index → Delta partition column name). */
  const partitionPlan = (meta: TableMeta): Map<number, string> => {
    const out = new Map<number, string>();
    columns.forEach((c, i) => {
      const p =
        meta.partitionColumns.find((n) => n === c.name) ??
        (c.caseSensitive
          ? undefined
          : meta.partitionColumns.find((n) => n.toLowerCase() === c.name.toLowerCase()));
      if (p !== undefined) out.set(i, p);
    });
    return out;
  };

  const checkMeta = (state: TableState): void => {
    const meta = state.meta as TableMeta;
    for (const c of columns) {
      const found =
        meta.schemaFields.includes(c.name) ||
        (!c.caseSensitive && meta.schemaFields.some((f) => f.toLowerCase() === c.name.toLowerCase()));
      if (!found && !c.type.nullable)
        throw new ServiceError(
          'ParquetSchemaMismatch',
          `Delta table ${cfg.location} has no column '${c.name}', which table '${table.name}' declares NOT NULL; declare the table with the Delta table's columns (it has ${meta.schemaFields.join(', ')})`,
          { table: table.name, column: c.name },
        );
    }
    if (cfg.requireChangeFeed && meta.configuration['delta.enableChangeDataFeed'] !== 'true')
      throw dlog.err(
        'DeltaUnsupportedFeature',
        '\'change_feed\' is "require" but the table does not set delta.enableChangeDataFeed',
      );
  };

  /** Pushes rows `fromRow..` of one data file with `weight`, each batch with the position after it. */
  const pushFile = async (
    state: TableState,
    f: FileEntry,
    weight: 1 | -1,
    keep: RowFilter | null,
    fromRow: number,
    positionAt: (row: number, done: boolean) => DeltaInputPosition,
  ): Promise<void> => {
    const meta = state.meta as TableMeta;
    const parts = partitionPlan(meta);
    const dataCols = columns.filter((_, i) => !parts.has(i));
    const sub: TableSchema = { ...table, columns: dataCols };
    const pvals: Value[] = [];
    for (const [i, name] of parts) {
      const col = columns[i] as ColumnSchema;
      const raw = f.partitionValues[name] ?? null;
      let v: Value = null;
      if (raw !== null && raw !== '') {
        // Delta writes a NULL partition value as null or as the empty string
        const text = col.type.kind === 'TIMESTAMP' ? raw.replace('T', ' ').replace(/Z$/, '') : raw;
        try {
          v = parseTextValue(text, col.type, col.name);
        } catch (e) {
          throw dlog.err(
            BAD_LOG,
            `file ${f.path}: partition value ${JSON.stringify(raw)} of column '${name}': ${(e as Error).message}`,
          );
        }
      }
      if (v === null && !col.type.nullable)
        throw dlog.err(
          BAD_LOG,
          `file ${f.path} has a NULL partition value for column '${col.name}', which is NOT NULL in table '${table.name}'`,
        );
      pvals[i] = v;
    }
    let key: string;
    try {
      key = decodeURIComponent(f.path);
    } catch {
      key = f.path;
    }
    let size = f.size;
    if (size === null) {
      const h = await dlog.retrying(() => store.head(key, { signal: run.signal }));
      if (h === null) throw dlog.err(BAD_LOG, `data file ${key} named by the log does not exist`);
      size = h.size;
    }
    const source = objectSource(
      store,
      { key, size },
      {
        signal: run.signal,
        maxRetries: cfg.maxRetries,
        backoffMs: BACKOFF_MS,
        onVersion: () => {},
        onRetry,
      },
    );
    const where = `${cfg.location}/${key}`;
    let file: Awaited<ReturnType<typeof openParquet>>;
    try {
      file = await openParquet(source, sub, where, { ignoreExtraColumns: true, missingAsNull: true });
    } catch (e) {
      if (isServiceError(e, 'ObjectNotFound'))
        throw dlog.err(BAD_LOG, `data file ${key} named by the log does not exist (vacuumed?)`);
      if (isServiceError(e)) throw e;
      throw invalidFile(where, e);
    }
    if (fromRow >= file.numRows) {
      await run.push([], fromRow === 0 ? size : 0, positionAt(file.numRows, true));
      return;
    }
    const n = run.maxBatchSize;
    const full = (row: readonly Value[]): Value[] => {
      const out: Value[] = new Array(columns.length);
      let j = 0;
      for (let i = 0; i < columns.length; i++)
        out[i] = parts.has(i) ? (pvals[i] ?? null) : (row[j++] ?? null);
      return out;
    };
    for (const g of file.groups) {
      if (g.end <= fromRow) continue;
      if (run.stopped) return;
      const first = Math.max(g.start, fromRow);
      const r = await file.read(first, g.end);
      run.reportParseErrors(r, `in rows ${first + 1}..${g.end} of ${where}`);
      const last = g.end === file.numRows;
      for (let i = 0; i === 0 || i < r.changes.length; i += n) {
        const j = Math.min(r.changes.length, i + n);
        const next = j < r.changes.length ? (r.rowIndex[j] as number) : g.end;
        const done = last && next === g.end;
        const changes: ParsedChange[] = [];
        const failed = emptyResult();
        for (const [k, c] of r.changes.slice(i, j).entries()) {
          const row = full(c.row);
          let kept = true;
          try {
            kept = keep === null || keep(row);
          } catch (e) {
            // the filter failed on this row (e.g. a division by zero): the row is an error, not silently dropped
            kept = false;
            addError(failed, {
              description: `the filter failed: ${(e as Error).message}`,
              event_number: (r.rowIndex[i + k] as number) + 1,
              field: null,
              invalid_text: null,
            });
          }
          if (kept) changes.push({ row, weight: weight * c.weight });
        }
        run.reportParseErrors(failed, `of ${where}`);
        await run.push(changes, done ? size : 0, positionAt(next, done));
      }
    }
  };

  /** Pushes files `[from..]` of a list (`fromRow` in the first), then the position "all done". */
  const pushFiles = async (
    state: TableState,
    files: ReadonlyArray<{ file: FileEntry; weight: 1 | -1 }>,
    at: { version: number; snapshot: boolean },
    from: { file: number; row: number },
  ): Promise<void> => {
    const pos = (file: number, row: number): DeltaInputPosition => ({
      version: at.version,
      ...(at.snapshot ? { snapshot: true } : {}),
      file,
      row,
    });
    for (let i = from.file; i < files.length; i++) {
      if (run.stopped) return;
      const e = files[i] as { file: FileEntry; weight: 1 | -1 };
      await pushFile(
        state,
        e.file,
        e.weight,
        at.snapshot ? snapshotKeep : cfg.filter,
        i === from.file ? from.row : 0,
        (row, done) => (done ? pos(i + 1, 0) : pos(i, row)),
      );
    }
    if (files.length === 0) await run.push([], 0, pos(0, 0)); // records that this version is done
  };

  const snapshotFiles = (state: TableState) =>
    [...state.files.values()]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((file) => ({ file, weight: 1 as const }));

  /** The version `datetime` names: the latest commit at or before it. */
  const versionAt = async (l: LogListing, when: Date): Promise<number> => {
    const vs = [...l.commits.keys()].sort((a, b) => b - a);
    for (const v of vs) {
      const actions = await dlog.commit(v);
      const info = actions?.find((a) => isObj(a.commitInfo))?.commitInfo as Raw | undefined;
      const ts = Number(
        info?.inCommitTimestamp ?? info?.timestamp ?? l.commits.get(v)?.lastModified?.getTime() ?? Number.NaN,
      );
      if (Number.isFinite(ts) && ts <= when.getTime()) return v;
    }
    throw dlog.err(NO_VERSION, `no version of the table was committed at or before ${when.toISOString()}`);
  };

  run.start(async () => {
    const listing = await dlog.list();
    const latest = DeltaLog.latest(listing);
    let state: TableState;
    let next: number; // the next commit to follow
    const follows = cfg.mode !== 'snapshot';
    if (start !== null && start.snapshot === true) {
      state = await dlog.stateAt(listing, start.version);
      checkMeta(state);
      await pushFiles(state, snapshotFiles(state), { version: start.version, snapshot: true }, start);
      next = start.version + 1;
    } else if (start !== null) {
      // inside (or at the end of) commit start.version
      state =
        start.version === 0
          ? { version: -1, files: new Map(), meta: null, protocol: null }
          : await dlog.stateAt(listing, start.version - 1);
      const actions = await dlog.commit(start.version);
      if (actions === null)
        throw dlog.err(NO_VERSION, `commit ${start.version} (the resume position) is missing from the log`);
      const ch = changesOf(dlog, state, actions, start.version);
      for (const a of actions) dlog.apply(state, a, start.version);
      state.version = start.version;
      checkMeta(state);
      if (start.file < ch.files.length)
        await pushFiles(state, ch.files, { version: start.version, snapshot: false }, start);
      next = start.version + 1;
    } else {
      const v = cfg.version ?? (cfg.datetime !== null ? await versionAt(listing, cfg.datetime) : latest);
      state = await dlog.stateAt(listing, v);
      checkMeta(state);
      if (cfg.mode !== 'follow')
        await pushFiles(state, snapshotFiles(state), { version: v, snapshot: true }, { file: 0, row: 0 });
      next = v + 1;
    }
    if (!follows) return run.stopped ? 'stopped' : 'end_of_input';
    for (;;) {
      if (run.stopped) return 'stopped';
      if (cfg.endVersion !== null && next > cfg.endVersion) return 'end_of_input';
      const actions = await dlog.commit(next);
      if (actions === null) {
        await sleep(cfg.pollMs, run.signal);
        continue;
      }
      const ch = changesOf(dlog, state, actions, next);
      for (const a of actions) dlog.apply(state, a, next);
      state.version = next;
      checkMeta(state);
      await pushFiles(state, ch.files, { version: next, snapshot: false }, { file: 0, row: 0 });
      next++;
    }
  });
  return run;
}
