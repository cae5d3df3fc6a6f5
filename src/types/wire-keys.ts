/**
 * Runtime key sets of the wire DTOs in {@link ./pipeline-api.ts}, for contract tests. The mapped type makes each
 * set exactly the interface's keys (a key missing here, or one the interface lacks, fails to compile), so the
 * tests that compare live responses against these sets compare them against the types.
 */
import type {
  Configuration,
  ExtendedRuntimeStatus,
  GlobalMetrics,
  PipelineDescr,
  PipelineStats,
  PipelineStatusDescr,
} from './pipeline-api.ts';

export type KeySet<T> = { readonly [K in keyof Required<T>]: true };

export const PIPELINE_STATUS_DESCR_KEYS: KeySet<PipelineStatusDescr> = {
  bootstrap_policy: true,
  silent_bootstrap: true,
  concurrent_bootstrap: true,
  id: true,
  name: true,
  description: true,
  tags: true,
  created_at: true,
  version: true,
  platform_version: true,
  program_config: true,
  program_version: true,
  program_status: true,
  program_status_since: true,
  deployment_error: true,
  refresh_version: true,
  storage_status: true,
  storage_status_details: true,
  deployment_id: true,
  deployment_initial: true,
  deployment_status: true,
  deployment_status_since: true,
  deployment_desired_status: true,
  deployment_desired_status_since: true,
  deployment_resources_status: true,
  deployment_resources_status_since: true,
  deployment_resources_desired_status: true,
  deployment_resources_desired_status_since: true,
  deployment_runtime_status: true,
  deployment_runtime_status_details: true,
  deployment_runtime_status_since: true,
  deployment_runtime_desired_status: true,
  deployment_runtime_desired_status_since: true,
  warnings: true,
};

/** The full pipeline object: the status fields plus the program and its configuration. */
export const PIPELINE_DESCR_KEYS: KeySet<PipelineDescr> = {
  ...PIPELINE_STATUS_DESCR_KEYS,
  runtime_config: true,
  program_code: true,
  udf_rust: true,
  udf_toml: true,
  udf_ts: true,
  program_error: true,
  program_info: true,
  deployment_resources_status_details: true,
};

export const GLOBAL_METRICS_KEYS: KeySet<GlobalMetrics> = {
  state: true,
  bootstrap_in_progress: true,
  transaction_status: true,
  transaction_id: true,
  transaction_msecs: true,
  transaction_records: true,
  commit_progress: true,
  transaction_initiators: true,
  concurrent_bootstrap_phase: true,
  concurrent_bootstrap_progress: true,
  rss_bytes: true,
  memory_pressure: true,
  memory_pressure_epoch: true,
  cpu_msecs: true,
  uptime_msecs: true,
  start_time: true,
  initial_start_time: true,
  incarnation_uuid: true,
  storage_bytes: true,
  storage_mb_secs: true,
  runtime_elapsed_msecs: true,
  buffered_input_records: true,
  buffered_input_bytes: true,
  total_input_records: true,
  total_input_bytes: true,
  total_processed_records: true,
  total_processed_bytes: true,
  total_completed_records: true,
  output_stall_msecs: true,
  total_initiated_steps: true,
  total_completed_steps: true,
  pipeline_complete: true,
};

export const PIPELINE_STATS_KEYS: KeySet<PipelineStats> = {
  global_metrics: true,
  suspend_error: true,
  checkpoint_activity: true,
  permanent_checkpoint_errors: true,
  inputs: true,
  outputs: true,
};

export const CONFIGURATION_KEYS: KeySet<Configuration> = {
  edition: true,
  version: true,
  revision: true,
  runtime_revision: true,
  changelog_url: true,
  unstable_features: true,
  license_validity: true,
  update_info: true,
  build_info: true,
  build_source: true,
  posthog: true,
  conceptualhq: true,
  product_fruits: true,
  telemetry: true,
};

export const EXTENDED_RUNTIME_STATUS_KEYS: KeySet<ExtendedRuntimeStatus> = {
  runtime_status: true,
  runtime_status_details: true,
  runtime_desired_status: true,
  storage_status_details: true,
  state: true,
  incarnation_uuid: true,
};
