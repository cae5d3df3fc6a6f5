/**
 * Wire DTOs of the manager's public `/v0` REST API, spelled exactly as Feldera spells them (snake_case keys,
 * PascalCase status strings). Shared by the manager (which produces them) and the client SDK (which reads
 * them); neither side may redefine these shapes.
 *
 * Status enumerations are literal unions with a matching `const` array (no TS `enum`), so code can both type
 * and validate values. Objects the server stores "fully expanded" (runtime/program config) are typed with
 * their known keys optional and an index signature, because unknown keys are tolerated on input.
 */
import type { ErrorResponse } from './error-codes.ts';
import type { RuntimeFieldWarning } from './runtime-fields.ts';

export type { ErrorResponse } from './error-codes.ts';
export type { RuntimeFieldWarning } from './runtime-fields.ts';

/** A JSON object row as it appears in ingress/egress/query bodies (keys = column names). */
export type JsonRow = Record<string, unknown>;

/** RFC 3339 UTC timestamp string, e.g. `2026-08-21T10:00:00.123456Z`. */
export type Timestamp = string;

// ---------------------------------------------------------------------------------------------------------
// Status enumerations
// ---------------------------------------------------------------------------------------------------------

/** `program_status`: compilation progress of the pipeline's program. */
export const PROGRAM_STATUSES = [
  'Pending',
  'CompilingSql',
  'SqlCompiled',
  'CompilingRust',
  'Success',
  'SqlError',
  'RustError',
  'SystemError',
] as const;
export type ProgramStatus = (typeof PROGRAM_STATUSES)[number];

/** Program statuses during which compilation is still under way (the SDK keeps polling). */
export const PROGRAM_STATUSES_IN_PROGRESS = [
  'Pending',
  'CompilingSql',
  'SqlCompiled',
  'CompilingRust',
] as const;

/** `deployment_runtime_status` (and pipeline `/status` `runtime_status`). */
export const RUNTIME_STATUSES = [
  'Unavailable',
  'Coordination',
  'Standby',
  'Initializing',
  'AwaitingApproval',
  'Bootstrapping',
  'Replaying',
  'Paused',
  'Running',
  'Suspended',
  'ConcurrentBootstrapping',
  'Synchronizing',
] as const;
export type RuntimeStatus = (typeof RUNTIME_STATUSES)[number];

/** `deployment_runtime_desired_status`, `deployment_initial` (PascalCase in JSON bodies). */
export const RUNTIME_DESIRED_STATUSES = [
  'Unavailable',
  'Coordination',
  'Standby',
  'Paused',
  'Running',
  'Suspended',
] as const;
export type RuntimeDesiredStatus = (typeof RUNTIME_DESIRED_STATUSES)[number];

/** `deployment_resources_status`. */
export const RESOURCES_STATUSES = ['Stopped', 'Provisioning', 'Provisioned', 'Stopping'] as const;
export type ResourcesStatus = (typeof RESOURCES_STATUSES)[number];

/** `deployment_resources_desired_status`. */
export const RESOURCES_DESIRED_STATUSES = ['Stopped', 'Provisioned'] as const;
export type ResourcesDesiredStatus = (typeof RESOURCES_DESIRED_STATUSES)[number];

/**
 * `deployment_status` (Feldera's `CombinedStatus`): the resources status while not `Provisioned`, otherwise the
 * runtime status (`Unavailable` when none is known yet).
 */
export const PIPELINE_STATUSES = ['Stopped', 'Provisioning', 'Stopping', ...RUNTIME_STATUSES] as const;
export type PipelineStatus = (typeof PIPELINE_STATUSES)[number];

/** `deployment_desired_status` (Feldera's `CombinedDesiredStatus`): `Stopped` or a runtime desired status. */
export const PIPELINE_DESIRED_STATUSES = ['Stopped', ...RUNTIME_DESIRED_STATUSES] as const;
export type PipelineDesiredStatus = (typeof PIPELINE_DESIRED_STATUSES)[number];

/** `storage_status`. */
export const STORAGE_STATUSES = ['Cleared', 'InUse', 'Clearing'] as const;
export type StorageStatus = (typeof STORAGE_STATUSES)[number];

/** `bootstrap_policy` (start query parameter and GET field). Server default when absent: `await_approval`. */
export const BOOTSTRAP_POLICIES = ['allow', 'reject', 'await_approval'] as const;
export type BootstrapPolicy = (typeof BOOTSTRAP_POLICIES)[number];

/** `?initial=` of `POST /v0/pipelines/{name}/start` (snake_case on the query string; default `running`). */
export const START_INITIAL_STATES = ['running', 'paused', 'standby'] as const;
export type StartInitialState = (typeof START_INITIAL_STATES)[number];

/** `?selector=` of `GET /v0/pipelines[/{name}]`. */
export const PIPELINE_FIELD_SELECTORS = ['all', 'status', 'status_with_connectors'] as const;
export type PipelineFieldSelector = (typeof PIPELINE_FIELD_SELECTORS)[number];

/** `/stats` `global_metrics.state` (the controller's state). */
export const PIPELINE_STATES = ['Running', 'Paused', 'Terminated'] as const;
export type PipelineState = (typeof PIPELINE_STATES)[number];

export const TRANSACTION_STATUSES = ['NoTransaction', 'TransactionInProgress', 'CommitInProgress'] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

export const CONCURRENT_BOOTSTRAP_PHASES = ['Inactive', 'ConcurrentBootstrapping', 'Synchronizing'] as const;
export type ConcurrentBootstrapPhase = (typeof CONCURRENT_BOOTSTRAP_PHASES)[number];

export const MEMORY_PRESSURES = ['low', 'moderate', 'high', 'critical'] as const;
export type MemoryPressure = (typeof MEMORY_PRESSURES)[number];

/** `completion_status` `status`. */
export const COMPLETION_STATES = ['complete', 'inprogress'] as const;
export type CompletionState = (typeof COMPLETION_STATES)[number];

export const PROGRAM_PROFILES = ['dev', 'unoptimized', 'optimized', 'optimized_symbols'] as const;
export type ProgramProfile = (typeof PROGRAM_PROFILES)[number];

/** `?format=` of `/ingress`. */
export const INGRESS_FORMATS = ['json', 'csv', 'raw', 'parquet', 'avro'] as const;
export type IngressFormat = (typeof INGRESS_FORMATS)[number];

/** `?format=` of `/egress`. */
export const EGRESS_FORMATS = ['json', 'csv'] as const;
export type EgressFormat = (typeof EGRESS_FORMATS)[number];

/** `?format=` of `/query`. */
export const QUERY_FORMATS = ['text', 'json', 'arrow_ipc', 'parquet', 'hash'] as const;
export type QueryFormat = (typeof QUERY_FORMATS)[number];

/** JSON `update_format` values (input accepts `raw`, `insert_delete`, `debezium`; output `insert_delete`, …). */
export const UPDATE_FORMATS = ['raw', 'insert_delete', 'debezium', 'weighted', 'snowflake', 'redis'] as const;
export type UpdateFormat = (typeof UPDATE_FORMATS)[number];

export const JSON_FLAVORS = [
  'default',
  'debezium_mysql',
  'debezium_postgres',
  'snowflake',
  'kafka_connect_json_converter',
  'pandas',
  'blockchain',
  'c_hex',
] as const;
export type JsonFlavor = (typeof JSON_FLAVORS)[number];

/** `?format=` of `/metrics`. */
export const METRICS_FORMATS = ['prometheus', 'json'] as const;
export type MetricsFormat = (typeof METRICS_FORMATS)[number];

// ---------------------------------------------------------------------------------------------------------
// Platform: GET /v0/config, GET /v0/cluster_healthz, API keys
// ---------------------------------------------------------------------------------------------------------

export interface BuildInfo {
  build_timestamp: string;
  build_cpu: string;
  build_os: string;
  cargo_dependencies: string;
  cargo_features: string;
  cargo_debug: string;
  cargo_opt_level: string;
  cargo_target_triple: string;
  rustc_version: string;
}

/** `GET /v0/config`. The Python SDK requires `edition` ∈ {"Open source", "Enterprise"}. */
export interface Configuration {
  edition: 'Open source' | 'Enterprise';
  version: string;
  revision: string;
  runtime_revision: string;
  changelog_url: string;
  unstable_features: string | null;
  license_validity: Record<string, unknown> | null;
  update_info: Record<string, unknown> | null;
  build_info: BuildInfo;
  build_source: 'ci' | 'source';
  posthog: string;
  conceptualhq: string;
  product_fruits: string;
  telemetry?: string;
}

export interface ServiceHealth {
  healthy: boolean;
  message: string;
  unchanged_since: Timestamp;
  checked_at: Timestamp;
}

/** `GET /v0/cluster_healthz` (200 when healthy, 503 otherwise; same body). */
export interface ClusterHealth {
  all_healthy: boolean;
  api?: ServiceHealth;
  compiler?: ServiceHealth;
  runner?: ServiceHealth;
}

export type ApiKeyRole = 'read' | 'write';

export interface ApiKeyDescr {
  id: string;
  name: string;
  role: ApiKeyRole;
}

export interface NewApiKeyRequest {
  name: string;
  role?: ApiKeyRole;
}

export interface NewApiKeyResponse {
  id: string;
  name: string;
  api_key: string;
}

// ---------------------------------------------------------------------------------------------------------
// Pipeline configuration objects
// ---------------------------------------------------------------------------------------------------------

export interface ProgramConfig {
  profile?: ProgramProfile | null;
  cache?: boolean;
  runtime_version?: string | null;
  use_platform_compiler?: boolean;
  [key: string]: unknown;
}

export interface StorageBackendConfig {
  name: string;
  config?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface StorageOptions {
  backend?: StorageBackendConfig;
  min_storage_bytes?: number | null;
  min_step_storage_bytes?: number | null;
  compression?: string;
  cache_mib?: number | null;
  [key: string]: unknown;
}

export const FAULT_TOLERANCE_MODELS = ['none', 'at_least_once', 'exactly_once'] as const;
export type FaultToleranceModel = (typeof FAULT_TOLERANCE_MODELS)[number];

export interface FaultToleranceConfig {
  model?: FaultToleranceModel;
  checkpoint_interval_secs?: number | null;
  [key: string]: unknown;
}

export interface ResourceConfig {
  cpu_cores_min?: number | null;
  cpu_cores_max?: number | null;
  memory_mb_min?: number | null;
  memory_mb_max?: number | null;
  storage_mb_max?: number | null;
  storage_class?: string | null;
  service_account_name?: string | null;
  namespace?: string | null;
  [key: string]: unknown;
}

/** `runtime_config`; GET returns it with every default filled in (see the compat reference §2.5). */
export interface RuntimeConfig {
  workers?: number;
  hosts?: number;
  storage?: StorageOptions | boolean | null;
  fault_tolerance?: FaultToleranceConfig | null;
  cpu_profiler?: boolean;
  tracing?: boolean;
  tracing_endpoint_jaeger?: string;
  min_batch_size_records?: number;
  max_buffering_delay_usecs?: number;
  clock_resolution_usecs?: number | null;
  clock_timezone_offset?: number | null;
  pin_cpus?: number[];
  resources?: ResourceConfig;
  provisioning_timeout_secs?: number | null;
  max_rss_mb?: number | null;
  datafusion_memory_mb?: number | null;
  max_parallel_connector_init?: number | null;
  init_containers?: unknown;
  checkpoint_during_suspend?: boolean;
  http_workers?: number | null;
  io_workers?: number | null;
  env?: Record<string, string>;
  dev_tweaks?: Record<string, unknown>;
  logging?: string | null;
  pipeline_template_configmap?: unknown;
  [key: string]: unknown;
}

// ---------------------------------------------------------------------------------------------------------
// Program compilation results and schema
// ---------------------------------------------------------------------------------------------------------

export interface SqlCompilerMessage {
  start_line_number: number;
  start_column: number;
  end_line_number: number;
  end_column: number;
  warning: boolean;
  error_type: string;
  message: string;
  snippet: string | null;
}

export interface SqlCompilationInfo {
  exit_code: number;
  messages: SqlCompilerMessage[];
}

export interface RustCompilationInfo {
  exit_code: number;
  stdout: string;
  stderr: string;
}

/** `program_error`. */
export interface ProgramError {
  sql_compilation: SqlCompilationInfo | null;
  rust_compilation: RustCompilationInfo | null;
  system_error: string | null;
}

export interface SourcePosition {
  start_line_number: number;
  start_column: number;
  end_line_number: number;
  end_column: number;
}

export interface PropertyValue {
  value: string;
  key_position: SourcePosition;
  value_position: SourcePosition;
}

/** A column type; `type` is an SqlType string (`INTEGER`, `VARCHAR`, `ARRAY`, …; absent ⇒ STRUCT). */
export interface ColumnType {
  type?: string;
  nullable: boolean;
  precision?: number;
  scale?: number;
  component?: ColumnType;
  key?: ColumnType;
  value?: ColumnType;
  fields?: Array<ColumnType & { name: string; case_sensitive: boolean }>;
}

export interface Field {
  name: string;
  case_sensitive: boolean;
  columntype: ColumnType;
  unused: boolean;
  default?: string;
  lateness?: string;
  watermark?: string;
  interned?: boolean;
}

export interface Relation {
  name: string;
  case_sensitive: boolean;
  fields: Field[];
  materialized: boolean;
  properties?: Record<string, PropertyValue>;
  primary_key?: string[];
  foreign_keys?: unknown[];
}

export interface ProgramSchema {
  inputs: Relation[];
  outputs: Relation[];
}

/** A connector object (`WITH ('connectors' = '[…]')`); endpoint configs add `stream`. Loosely typed. */
export interface ConnectorConfig {
  name?: string;
  transport: { name: string; config?: Record<string, unknown> };
  format?: { name: string; config?: Record<string, unknown> } | null;
  stream?: string;
  [key: string]: unknown;
}

/** `program_info` (null until the SQL compiled). */
export interface ProgramInfo {
  schema: ProgramSchema;
  udf_stubs: string;
  input_connectors: Record<string, ConnectorConfig>;
  output_connectors: Record<string, ConnectorConfig>;
}

// ---------------------------------------------------------------------------------------------------------
// Checkpoints and storage details (shapes referenced from pipeline objects)
// ---------------------------------------------------------------------------------------------------------

export interface CheckpointMetadata {
  uuid: string;
  identifier: string | null;
  /**
   * The program's fingerprint, a u64 over the full 64-bit range, on the wire an exact JSON integer. The SDK reads
   * a value above 2^53 as a `bigint` (a `number` would round it).
   */
  fingerprint: number | bigint;
  size: number | null;
  steps: number | null;
  processed_records: number | null;
}

export interface StorageStatusDetails {
  checkpoints: CheckpointMetadata[];
}

/** `POST /checkpoint` (200). */
export interface CheckpointResponse {
  checkpoint_sequence_number: number;
  incarnation_uuid: string | null;
}

/** `GET /checkpoint_status`. */
export interface CheckpointStatus {
  success: number | null;
  /** `error_code` (Holdfast's addition): the failure's code, e.g. `StorageFull` when the disk is full. */
  failure: { sequence_number: number; error: string; failed_at: Timestamp; error_code?: string } | null;
}

/** `POST /checkpoint/sync` (202). */
export interface CheckpointSyncResponse {
  checkpoint_uuid: string;
  incarnation_uuid: string | null;
}

/** `GET /checkpoint/sync_status`. */
export interface CheckpointSyncStatus {
  success: string | null;
  failure: { uuid: string; error: string } | null;
  periodic: string | null;
  /** Holdfast extension (Feldera has no home for it): the push in progress, the last push and pull, counters. */
  checkpoint_sync?: CheckpointSyncStats;
}

/** An element of `GET /checkpoints/remote` (Feldera's `RemoteCheckpoint` is `{uuid}`; the rest is Holdfast's). */
export interface RemoteCheckpoint {
  uuid: string;
  /** When the checkpoint was taken (RFC 3339). */
  created_at: Timestamp;
  /** Bytes of every distinct segment file the checkpoint references (its state). */
  size: number;
  steps: number;
  processed_records: number;
  fingerprint: string;
  /** `bucket` or `read_bucket`: where the listing found it. */
  source: 'bucket' | 'read_bucket';
  /** The ownership epoch the checkpoint was pushed under. */
  epoch: number | null;
  /** Which pipeline pushed it (the bucket's owner at the time) and when; null for a manifest without a stamp. */
  pushed_by: { pipeline_id: string; pipeline_name: string; pushed_at: Timestamp } | null;
}

/** A push in flight, in `sync_status` `checkpoint_sync.push_in_progress`. */
export interface SyncProgress {
  uuid: string;
  started_at: Timestamp;
  /** Bytes and files the bucket lacked (what this push uploads). */
  bytes_total: number;
  bytes_done: number;
  files_total: number;
  files_done: number;
  /** Files the bucket already had (skipped). */
  files_skipped: number;
  bytes_per_second: number;
}

/** One finished push or pull, in `sync_status` `checkpoint_sync`. */
export interface SyncTransferSummary {
  uuid: string;
  finished_at: Timestamp;
  bytes: number;
  files: number;
  files_skipped: number;
  duration_seconds: number;
  bytes_per_second: number;
}

/** How a standby's activation went (`checkpoint_sync.activation`). */
export interface SyncActivation {
  /** `POST /activate` received → the pipeline Running/Paused. */
  readonly seconds: number;
  readonly checkpoint: string | null;
  /** The state was already loaded (warm standby) rather than read from storage. */
  readonly warm: boolean;
  readonly epoch: number;
  /** The final pull, part of `seconds`: `seconds` is the transfer, `total_seconds` adds applying the delta. */
  readonly final_pull: {
    readonly bytes: number;
    readonly files: number;
    readonly seconds: number;
    readonly total_seconds: number;
  };
  readonly activated_at: string;
}

/**
 * `checkpoint_sync` of `GET …/checkpoint/sync_status` (Holdfast extension of Feldera's `CheckpointSyncStatus`,
 * which has no home for it; `/stats` keeps Feldera's keys exactly).
 */
export interface CheckpointSyncStats {
  bucket: string;
  read_bucket: string | null;
  push_interval: number | null;
  push_in_progress: SyncProgress | null;
  last_push: SyncTransferSummary | null;
  last_push_error: { uuid: string; error: string; at: Timestamp } | null;
  /** The checkpoint this process started from, when it was pulled. */
  last_pull: SyncTransferSummary | null;
  pushes: number;
  push_failures: number;
  /** Failed pushes since the last successful one (0 after a success). */
  push_failures_in_row: number;
  /** When the next periodic attempt retries a failed push: its backoff delay in seconds (null otherwise). */
  push_retry_backoff_seconds: number | null;
  /** Seconds until the next periodic push attempt (null: none scheduled). */
  next_push_in_seconds: number | null;
  /** Age in seconds of the newest checkpoint known to be in the bucket (the RPO). */
  newest_remote_age_seconds: number | null;
  /** Set when another pipeline took the bucket over (standby activation): who, and that pushes stopped. */
  fenced: string | null;
  /** Object-store requests retried after a transient failure (5xx, reset, timeout, cut-off body), restore included. */
  retries: number;
  /** Requests that failed transiently on every attempt (their operation failed). */
  retries_exhausted: number;
  /** The last retried failure. */
  last_retry: { request: string; error: string; at: Timestamp } | null;
  /** The standby activation this process went through (null: it did not start as a standby). */
  activation?: SyncActivation | null;
}

export interface ProgramDiff {
  added_tables: string[];
  removed_tables: string[];
  modified_tables: string[];
  added_views: string[];
  removed_views: string[];
  modified_views: string[];
}

/** Approval diff / `POST /diff` response. */
export interface PipelineDiff {
  program_diff: ProgramDiff | null;
  program_diff_error: string | null;
  added_input_connectors: string[];
  modified_input_connectors: string[];
  removed_input_connectors: string[];
  added_output_connectors: string[];
  modified_output_connectors: string[];
  removed_output_connectors: string[];
}

/**
 * `runtime_status_details.standby` while a pipeline is in standby (Holdfast extension): what its continuous
 * pull of the sync bucket holds and has done so far.
 */
export interface StandbyStatus {
  /** The sync config's `start_from_checkpoint` (`"latest"` or a UUID): what the standby follows. */
  start_from_checkpoint: string;
  /** Seconds between pulls. */
  pull_interval: number;
  /** UUID of the checkpoint held (the newest pulled), or null before the first successful pull. */
  last_pulled_checkpoint: string | null;
  last_pulled_source: 'bucket' | 'read_bucket' | null;
  /** When the last pull that changed the held checkpoint finished. */
  last_pulled_at: Timestamp | null;
  /** Age of the held checkpoint (now minus its creation): how far the standby lags behind the primary. */
  last_pulled_age_seconds: number | null;
  /** Pulls that succeeded. */
  pulls: number;
  pull_attempts: number;
  /** Pulls that failed (each retried on the next tick). */
  pull_failures: number;
  last_error: { message: string; at: Timestamp } | null;
  /** Object-store requests retried after a transient failure (each pull's requests are retried first). */
  store_retries: number;
  bytes_pulled: number;
  files_pulled: number;
  next_pull_in_seconds: number | null;
  /** The held checkpoint's state loaded in memory, so activation does not restore it (null: cold). */
  warm: {
    checkpoint: string;
    mode: 'full' | 'delta' | 'unchanged';
    seconds: number;
    segments_read: number;
    rows_read: number;
    rebuilt_operators: number;
  } | null;
  warm_error: string | null;
  /** `/activate` was accepted: the final pull and the takeover are under way. */
  activation_requested: boolean;
}

/** `deployment_runtime_status_details` (all keys optional). */
export interface RuntimeStatusDetails {
  reason?: string;
  connector_stats?: { num_errors: number };
  approval_diff?: PipelineDiff;
  /** In standby: a {@link StandbyStatus}. */
  [key: string]: unknown;
}

/**
 * Pipeline process `GET /status` (Feldera's `ExtendedRuntimeStatus`), plus Holdfast's `state` (the controller
 * state or the initialization phase) and `incarnation_uuid` (null until the controller exists). A failed
 * pipeline answers with its `ErrorResponse` instead.
 */
export interface ExtendedRuntimeStatus {
  runtime_status: RuntimeStatus;
  runtime_status_details: RuntimeStatusDetails | null;
  runtime_desired_status: RuntimeDesiredStatus;
  storage_status_details: StorageStatusDetails | null;
  state: string;
  incarnation_uuid: string | null;
}

// ---------------------------------------------------------------------------------------------------------
// Pipeline objects
// ---------------------------------------------------------------------------------------------------------

/** Fields present in every pipeline response, including `GET ?selector=status`. */
export interface PipelineStatusInfo {
  id: string;
  name: string;
  description: string;
  tags: string[];
  created_at: Timestamp;
  version: number;
  platform_version: string;
  program_config: ProgramConfig;
  program_version: number;
  program_status: ProgramStatus;
  program_status_since: Timestamp;
  deployment_error: ErrorResponse | null;
  refresh_version: number;
  storage_status: StorageStatus;
  storage_status_details: StorageStatusDetails | null;
  deployment_id: string | null;
  deployment_initial: RuntimeDesiredStatus | null;
  deployment_status: PipelineStatus;
  deployment_status_since: Timestamp;
  deployment_desired_status: PipelineDesiredStatus;
  deployment_desired_status_since: Timestamp;
  deployment_resources_status: ResourcesStatus;
  deployment_resources_status_since: Timestamp;
  deployment_resources_desired_status: ResourcesDesiredStatus;
  deployment_resources_desired_status_since: Timestamp;
  deployment_runtime_status: RuntimeStatus | null;
  deployment_runtime_status_details: RuntimeStatusDetails | null;
  deployment_runtime_status_since: Timestamp | null;
  deployment_runtime_desired_status: RuntimeDesiredStatus | null;
  deployment_runtime_desired_status_since: Timestamp | null;
  /**
   * Holdfast's addition (Feldera's clients ignore unknown keys): `runtime_config` fields that are accepted but
   * have no effect (Feldera's fields Holdfast ignores, with a non-default value, and fields unknown to both).
   * Holdfast always sends it (empty when there are none); optional because Feldera's server does not.
   */
  warnings?: RuntimeFieldWarning[];
}

/** Flattened `BootstrapConfig`; present in GET responses only (not in POST/PUT/PATCH responses). */
export interface PipelineBootstrapFields {
  bootstrap_policy: BootstrapPolicy | null;
  silent_bootstrap: boolean;
  concurrent_bootstrap: boolean;
}

/** `PipelineInfo`: the body of POST/PUT/PATCH `/v0/pipelines…` and `POST …/update_runtime`. */
export interface PipelineInfo extends PipelineStatusInfo {
  runtime_config: RuntimeConfig;
  program_code: string;
  udf_rust: string;
  udf_toml: string;
  /** TypeScript implementing the SQL functions declared without a body (Holdfast's `udf_rust`). */
  udf_ts: string;
  program_error: ProgramError;
  program_info: ProgramInfo | null;
  deployment_resources_status_details: unknown;
}

/** `GET /v0/pipelines/{name}` (`selector=all`, the default): every field. */
export interface PipelineDescr extends PipelineInfo, PipelineBootstrapFields {}

/** `GET … ?selector=status`. */
export interface PipelineStatusDescr extends PipelineStatusInfo, PipelineBootstrapFields {}

/** `GET … ?selector=status_with_connectors`; `connectors` is null when the pipeline is unreachable. */
export interface PipelineStatusWithConnectorsDescr extends PipelineStatusDescr {
  connectors: { num_errors: number } | null;
}

/** Any `PipelineSelectedInfo` (what GET returns for some selector). */
export type PipelineSelectedInfo = PipelineDescr | PipelineStatusDescr | PipelineStatusWithConnectorsDescr;

/**
 * Body of `POST /v0/pipelines` and `PUT /v0/pipelines/{name}`. A top-level field that is neither one of these
 * nor a read-only field of the pipeline object is a 400 `InvalidRequestBody` (Feldera ignores it; Holdfast
 * catches the misspelling). Unknown `runtime_config` fields are accepted and reported in `warnings`.
 */
export interface PostPutPipeline {
  name: string;
  program_code: string;
  description?: string;
  tags?: string[];
  runtime_config?: RuntimeConfig;
  program_config?: ProgramConfig;
  udf_rust?: string;
  udf_toml?: string;
  udf_ts?: string;
}

/** Body of `PATCH /v0/pipelines/{name}`: absent or `null` keys leave the stored value unchanged. */
export interface PatchPipeline {
  name?: string | null;
  program_code?: string | null;
  description?: string | null;
  tags?: string[] | null;
  runtime_config?: RuntimeConfig | null;
  program_config?: ProgramConfig | null;
  udf_rust?: string | null;
  udf_toml?: string | null;
  udf_ts?: string | null;
}

/** Query parameters of `POST /v0/pipelines/{name}/start`. */
export interface StartPipelineParams {
  initial?: StartInitialState;
  bootstrap_policy?: BootstrapPolicy;
  silent_bootstrap?: boolean;
  concurrent_bootstrap?: boolean;
  dismiss_error?: boolean;
}

/** Query parameters of `POST /v0/pipelines/{name}/stop`. */
export interface StopPipelineParams {
  force?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Data in and out
// ---------------------------------------------------------------------------------------------------------

/** `POST …/ingress/{table}` (200). */
export interface IngressResponse {
  token: string;
}

/** `GET …/completion_status?token=` (200 for both states). */
export interface CompletionStatusResponse {
  status: CompletionState;
  step: number | null;
}

/** One element of `ParseErrors` `details.errors`. */
export interface ParseErrorDescr {
  description: string;
  event_number: number | null;
  field: string | null;
  invalid_text: string | null;
  invalid_bytes: number[] | null;
  suggestion: string | null;
  tag?: string | null;
}

/** `details` of a 400 `ParseErrors` response. */
export interface ParseErrorsDetails {
  num_errors: number;
  errors: ParseErrorDescr[];
}

/** One change in a JSON egress chunk (`update_format=insert_delete`). */
export type JsonChange<R = JsonRow> = { insert: R } | { delete: R };

/**
 * One chunk of the `POST …/egress/{view}` stream (each followed by `\r\n`). Exactly one of `json_data` /
 * `text_data` is present, or neither for a heartbeat.
 */
export interface EgressChunk<R = JsonRow> {
  sequence_number: number;
  snapshot?: boolean;
  json_data?: Array<JsonChange<R>>;
  text_data?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Stats
// ---------------------------------------------------------------------------------------------------------

export interface CommitProgress {
  completed: number;
  in_progress: number;
  remaining: number;
  in_progress_processed_records: number;
  in_progress_total_records: number;
}

export interface TransactionInitiators {
  transaction_id: number | null;
  initiated_by_api: 'Started' | 'Committed' | null;
  initiated_by_connectors: Record<string, { phase: string; label: string | null }>;
}

export interface GlobalMetrics {
  state: PipelineState;
  bootstrap_in_progress: boolean;
  transaction_status: TransactionStatus;
  transaction_id: number;
  transaction_msecs: number | null;
  transaction_records: number | null;
  commit_progress: CommitProgress | null;
  transaction_initiators: TransactionInitiators;
  concurrent_bootstrap_phase: ConcurrentBootstrapPhase;
  concurrent_bootstrap_progress: CommitProgress | null;
  rss_bytes: number;
  memory_pressure: MemoryPressure;
  memory_pressure_epoch: number;
  cpu_msecs: number;
  uptime_msecs: number;
  /** Unix seconds. */
  start_time: number;
  /** Unix seconds. */
  initial_start_time: number;
  incarnation_uuid: string;
  storage_bytes: number;
  storage_mb_secs: number;
  runtime_elapsed_msecs: number;
  buffered_input_records: number;
  buffered_input_bytes: number;
  total_input_records: number;
  total_input_bytes: number;
  total_processed_records: number;
  total_processed_bytes: number;
  total_completed_records: number;
  output_stall_msecs: number;
  total_initiated_steps: number;
  total_completed_steps: number;
  pipeline_complete: boolean;
}

export interface ConnectorHealth {
  status: 'Healthy' | 'Unhealthy';
  description: string | null;
}

/** Element of `parse_errors` / `transport_errors` / `encode_errors` lists. */
export interface ConnectorErrorEntry {
  timestamp: Timestamp;
  index: number;
  tag: string | null;
  message: string;
}

export interface InputEndpointMetrics {
  total_bytes: number;
  total_records: number;
  buffered_records: number;
  buffered_bytes: number;
  num_transport_errors: number;
  num_parse_errors: number;
  /**
   * Holdfast: changes from this endpoint dropped as late (a LATENESS column below its waterline) since the
   * process started; the table's total since the pipeline started is `holdfast_input_table_late_records_total`.
   */
  num_late_records: number;
  end_of_input: boolean;
  processing_latency_p99_micros?: number;
}

export interface InputEndpointStatus {
  endpoint_name: string;
  config: { stream: string; [key: string]: unknown };
  metrics: InputEndpointMetrics;
  fatal_error: string | null;
  paused: boolean;
  barrier: boolean;
  health: ConnectorHealth | null;
  completed_frontier: {
    metadata: unknown;
    ingested_at: Timestamp;
    processed_at: Timestamp;
    completed_at: Timestamp;
  } | null;
  parse_errors?: ConnectorErrorEntry[];
  transport_errors?: ConnectorErrorEntry[];
}

export interface OutputEndpointMetrics {
  transmitted_records: number;
  transmitted_bytes: number;
  queued_records: number;
  queued_batches: number;
  buffered_records: number;
  buffered_batches: number;
  num_encode_errors: number;
  num_transport_errors: number;
  total_processed_input_records: number;
  total_processed_steps: number;
  memory: number;
  batch_records_written?: number;
}

export interface OutputEndpointStatus {
  endpoint_name: string;
  config: { stream: string; [key: string]: unknown };
  metrics: OutputEndpointMetrics;
  fatal_error: string | null;
  health: ConnectorHealth | null;
  encode_errors?: ConnectorErrorEntry[];
  transport_errors?: ConnectorErrorEntry[];
}

/** `checkpoint_activity` in `/stats` (internally tagged by `status`). */
export type CheckpointActivity =
  | { status: 'idle' }
  | { status: 'delayed'; reasons: unknown[]; delayed_since: Timestamp }
  | { status: 'in_progress'; started_at: Timestamp };

/** `GET …/stats`. */
export interface PipelineStats {
  global_metrics: GlobalMetrics;
  suspend_error: unknown;
  checkpoint_activity: CheckpointActivity | null;
  permanent_checkpoint_errors: unknown;
  inputs: InputEndpointStatus[];
  outputs: OutputEndpointStatus[];
}
