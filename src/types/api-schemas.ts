/**
 * JSON Schemas (`as const`) of the `/v0` API, next to the wire types they describe (pipeline-api.ts): every
 * route's path parameters, query string and body, and the responses whose shape is known. The manager
 * validates every `/v0` request with them (fastify/Ajv: bodies as sent, no coercion; query parameters coerced
 * from text by the HTTP kit) and its OpenAPI document (`GET /v0/api-docs/openapi.json`, `openapi.json`) is made
 * of them. The pipeline process's route tables carry them too, uncompiled (its handlers check their inputs, so a
 * restart does not wait for Ajv).
 *
 * Query-string schemas never set `additionalProperties: false`: unknown query parameters are ignored, as
 * Feldera ignores them (its SDK sends e.g. `pipeline_name=` on /query). Response schemas describe, they do not
 * filter (the servers serialize what the handlers built).
 *
 * Agreement with the wire types: tests/contract/api-schemas.types.ts (checked by `tsc`, so by `npm test`)
 * derives a type from each schema with json-schema-to-ts `FromSchema` and asserts, per wire type, that (1) the
 * wire type is assignable to the schema's type (every value the code can send satisfies the schema), (2) both
 * have the same keys, and (3) the same required keys. A field added to, removed from or retyped in one side
 * only fails the type check. Nested objects the schemas leave open (runtime_config, program_info, …) are
 * covered by (1) alone.
 */
import {
  BOOTSTRAP_POLICIES,
  COMPLETION_STATES,
  METRICS_FORMATS,
  PIPELINE_DESIRED_STATUSES,
  PIPELINE_FIELD_SELECTORS,
  PIPELINE_STATUSES,
  PROGRAM_STATUSES,
  RESOURCES_DESIRED_STATUSES,
  RESOURCES_STATUSES,
  RUNTIME_DESIRED_STATUSES,
  RUNTIME_STATUSES,
  START_INITIAL_STATES,
  STORAGE_STATUSES,
} from './pipeline-api.ts';
import { READ_ONLY_PIPELINE_FIELDS } from './runtime-fields.ts';

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const nullableInt = { type: ['integer', 'null'] } as const;
const bool = { type: 'boolean' } as const;
const obj = { type: 'object' } as const;
const nullableObj = { type: ['object', 'null'] } as const;

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

/** `ErrorResponse`: the one error body. */
export const ErrorResponseShape = {
  type: 'object',
  description: 'The error body of every failed request.',
  properties: {
    message: { type: 'string', description: 'What went wrong and what to do.' },
    error_code: { type: 'string', description: 'A stable code of the catalog (docs/errors.md).' },
    details: { type: 'object', description: 'Code-specific fields.' },
  },
  required: ['message', 'error_code', 'details'],
} as const;

// ---------------------------------------------------------------------------------------------------------
// Path parameters
// ---------------------------------------------------------------------------------------------------------

export const PipelineParamsSchema = {
  type: 'object',
  properties: { pipeline_name: { type: 'string', description: 'The pipeline name.' } },
  required: ['pipeline_name'],
} as const;

export const TableParamsSchema = {
  type: 'object',
  properties: { pipeline_name: str, table_name: { type: 'string', description: 'A table of the program.' } },
  required: ['pipeline_name', 'table_name'],
} as const;

export const ViewParamsSchema = {
  type: 'object',
  properties: { pipeline_name: str, view_name: { type: 'string', description: 'A view of the program.' } },
  required: ['pipeline_name', 'view_name'],
} as const;

const connectorName = {
  type: 'string',
  description: 'A connector of the relation (`unnamed-N` when unnamed).',
} as const;

/** `…/tables/{table_name}/connectors/{connector_name}/…` */
export const TableConnectorParamsSchema = {
  type: 'object',
  properties: { ...TableParamsSchema.properties, connector_name: connectorName },
  required: ['pipeline_name', 'table_name', 'connector_name'],
} as const;

/** `POST …/tables/{table_name}/connectors/{connector_name}/{action}` (`start` or `pause`). */
export const ConnectorActionParamsSchema = {
  type: 'object',
  properties: {
    ...TableConnectorParamsSchema.properties,
    action: { type: 'string', description: 'start or pause' },
  },
  required: ['pipeline_name', 'table_name', 'connector_name', 'action'],
} as const;

/** `…/views/{view_name}/connectors/{connector_name}/stats` */
export const ViewConnectorParamsSchema = {
  type: 'object',
  properties: { ...ViewParamsSchema.properties, connector_name: connectorName },
  required: ['pipeline_name', 'view_name', 'connector_name'],
} as const;

/** Path parameters of the pipeline process's own routes (no pipeline name: one process, one pipeline). */
export const ProcessTableParamsSchema = {
  type: 'object',
  properties: { table_name: str },
  required: ['table_name'],
} as const;

export const ProcessTableConnectorParamsSchema = {
  type: 'object',
  properties: { table_name: str, connector_name: str },
  required: ['table_name', 'connector_name'],
} as const;

export const ProcessConnectorActionParamsSchema = {
  type: 'object',
  properties: { table_name: str, connector_name: str, action: str },
  required: ['table_name', 'connector_name', 'action'],
} as const;

export const ProcessViewConnectorParamsSchema = {
  type: 'object',
  properties: { view_name: str, connector_name: str },
  required: ['view_name', 'connector_name'],
} as const;

export const ProcessViewParamsSchema = {
  type: 'object',
  properties: { view_name: str },
  required: ['view_name'],
} as const;

// ---------------------------------------------------------------------------------------------------------
// Query strings (never closed: unknown parameters are ignored)
// ---------------------------------------------------------------------------------------------------------

export const SelectorQuerySchema = {
  type: 'object',
  properties: { selector: { type: 'string', enum: PIPELINE_FIELD_SELECTORS } },
} as const;

/** `StartPipelineParams`. */
export const StartQuerySchema = {
  type: 'object',
  properties: {
    initial: { type: 'string', enum: START_INITIAL_STATES },
    bootstrap_policy: { type: 'string', enum: BOOTSTRAP_POLICIES },
    silent_bootstrap: bool,
    concurrent_bootstrap: bool,
    dismiss_error: bool,
  },
} as const;

/** `StopPipelineParams`. */
export const StopQuerySchema = {
  type: 'object',
  properties: { force: bool },
} as const;

export const ActivateQuerySchema = {
  type: 'object',
  properties: { initial: { type: 'string', enum: ['running', 'paused'] } },
} as const;

export const ApproveQuerySchema = {
  type: 'object',
  properties: { silent_bootstrap: bool, concurrent_bootstrap: bool },
} as const;

/** `GET …/stats` query: `include_connector_errors=true` adds each endpoint's recent errors. */
export const StatsQuerySchema = {
  type: 'object',
  properties: { include_connector_errors: bool },
} as const;

export const MetricsQuerySchema = {
  type: 'object',
  properties: { format: { type: 'string', enum: METRICS_FORMATS } },
} as const;

/**
 * `POST …/ingress/{table}`. `format`, `update_format` and `array` are checked by the input parser, which
 * answers with Feldera's `ConfigError.*` codes, so they are plain strings here.
 */
export const IngressQuerySchema = {
  type: 'object',
  properties: {
    format: { type: 'string', description: 'json, csv or parquet (default csv).' },
    update_format: { type: 'string', description: 'insert_delete (default), raw, weighted, ...' },
    array: { type: 'string', description: 'true: the body is one JSON array of updates.' },
    force: bool,
  },
} as const;

export const EgressQuerySchema = {
  type: 'object',
  properties: {
    format: { type: 'string', enum: ['json', 'csv'] },
    update_format: { type: 'string', enum: ['insert_delete'] },
    send_snapshot: bool,
    backpressure: bool,
  },
} as const;

export const QuerySqlQuerySchema = {
  type: 'object',
  properties: { sql: str, format: { type: 'string', enum: ['text', 'json', 'hash'] } },
  required: ['sql'],
} as const;

/** The message for a `GET /query?format=` Holdfast does not serve (the pipeline and the manager give the same). */
export function unsupportedQueryFormat(format: string): string {
  return `query format '${format}' is not supported; use text, json or hash`;
}

export const CompletionStatusQuerySchema = {
  type: 'object',
  properties: { token: str },
  required: ['token'],
} as const;

export const IncarnationQuerySchema = {
  type: 'object',
  properties: { incarnation_uuid: str },
} as const;

// ---------------------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------------------

/** The fields a create/replace body carries (`PostPutPipeline`). */
const pipelineBodyFields = {
  name: str,
  program_code: str,
  description: str,
  tags: { type: 'array', items: str },
  runtime_config: nullableObj,
  program_config: nullableObj,
  udf_rust: str,
  udf_toml: str,
  udf_ts: str,
} as const;

/** Read-only fields of the pipeline object: accepted in a body (round trips) and ignored. */
const readOnlyFields = Object.fromEntries(READ_ONLY_PIPELINE_FIELDS.map((k) => [k, { readOnly: true }]));

/** `PostPutPipeline` (the writable fields; see {@link PostPutBodySchema} for the body as accepted). */
export const PostPutPipelineSchema = {
  type: 'object',
  properties: pipelineBodyFields,
  required: ['name', 'program_code'],
  additionalProperties: false,
} as const;

/** `PatchPipeline`: every field optional, `null` leaves it unchanged. */
export const PatchPipelineSchema = {
  type: 'object',
  properties: {
    name: nullableStr,
    program_code: nullableStr,
    description: nullableStr,
    tags: { type: ['array', 'null'], items: str },
    runtime_config: nullableObj,
    program_config: nullableObj,
    udf_rust: nullableStr,
    udf_toml: nullableStr,
    udf_ts: nullableStr,
  },
  additionalProperties: false,
} as const;

/** Body of POST /v0/pipelines and PUT /v0/pipelines/{name}: the writable fields plus the read-only ones. */
export const PostPutBodySchema = {
  ...PostPutPipelineSchema,
  properties: { ...PostPutPipelineSchema.properties, ...readOnlyFields },
};

/** Body of PATCH /v0/pipelines/{name}. */
export const PatchBodySchema = {
  ...PatchPipelineSchema,
  properties: { ...PatchPipelineSchema.properties, ...readOnlyFields },
};

// ---------------------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------------------

/** A JSON string answer, e.g. `"Pipeline is starting"`. */
export const MessageSchema = { type: 'string' } as const;

const pipelineStatusInfoProps = {
  id: str,
  name: str,
  description: str,
  tags: { type: 'array', items: str },
  created_at: str,
  version: int,
  platform_version: str,
  program_config: obj,
  program_version: int,
  program_status: { type: 'string', enum: PROGRAM_STATUSES },
  program_status_since: str,
  deployment_error: { anyOf: [ErrorResponseShape, { type: 'null' }] },
  refresh_version: int,
  storage_status: { type: 'string', enum: STORAGE_STATUSES },
  storage_status_details: nullableObj,
  deployment_id: nullableStr,
  deployment_initial: { type: ['string', 'null'], enum: [...RUNTIME_DESIRED_STATUSES, null] },
  deployment_status: { type: 'string', enum: PIPELINE_STATUSES },
  deployment_status_since: str,
  deployment_desired_status: { type: 'string', enum: PIPELINE_DESIRED_STATUSES },
  deployment_desired_status_since: str,
  deployment_resources_status: { type: 'string', enum: RESOURCES_STATUSES },
  deployment_resources_status_since: str,
  deployment_resources_desired_status: { type: 'string', enum: RESOURCES_DESIRED_STATUSES },
  deployment_resources_desired_status_since: str,
  deployment_runtime_status: { type: ['string', 'null'], enum: [...RUNTIME_STATUSES, null] },
  deployment_runtime_status_details: nullableObj,
  deployment_runtime_status_since: nullableStr,
  deployment_runtime_desired_status: { type: ['string', 'null'], enum: [...RUNTIME_DESIRED_STATUSES, null] },
  deployment_runtime_desired_status_since: nullableStr,
  warnings: {
    type: 'array',
    items: {
      type: 'object',
      properties: { field: str, message: str },
      required: ['field', 'message'],
    },
  },
} as const;

const pipelineStatusInfoRequired = [
  'id',
  'name',
  'description',
  'tags',
  'created_at',
  'version',
  'platform_version',
  'program_config',
  'program_version',
  'program_status',
  'program_status_since',
  'deployment_error',
  'refresh_version',
  'storage_status',
  'storage_status_details',
  'deployment_id',
  'deployment_initial',
  'deployment_status',
  'deployment_status_since',
  'deployment_desired_status',
  'deployment_desired_status_since',
  'deployment_resources_status',
  'deployment_resources_status_since',
  'deployment_resources_desired_status',
  'deployment_resources_desired_status_since',
  'deployment_runtime_status',
  'deployment_runtime_status_details',
  'deployment_runtime_status_since',
  'deployment_runtime_desired_status',
  'deployment_runtime_desired_status_since',
] as const;

const bootstrapProps = {
  bootstrap_policy: { type: ['string', 'null'], enum: [...BOOTSTRAP_POLICIES, null] },
  silent_bootstrap: bool,
  concurrent_bootstrap: bool,
} as const;
const bootstrapRequired = ['bootstrap_policy', 'silent_bootstrap', 'concurrent_bootstrap'] as const;

const pipelineInfoProps = {
  ...pipelineStatusInfoProps,
  runtime_config: obj,
  program_code: str,
  udf_rust: str,
  udf_toml: str,
  udf_ts: str,
  program_error: obj,
  program_info: nullableObj,
  deployment_resources_status_details: {},
} as const;
const pipelineInfoRequired = [
  ...pipelineStatusInfoRequired,
  'runtime_config',
  'program_code',
  'udf_rust',
  'udf_toml',
  'udf_ts',
  'program_error',
  'program_info',
  'deployment_resources_status_details',
] as const;

/** `PipelineInfo`: the answer of POST/PUT/PATCH. */
export const PipelineInfoShape = {
  type: 'object',
  properties: pipelineInfoProps,
  required: pipelineInfoRequired,
} as const;

/** `PipelineDescr`: GET with `selector=all`. */
export const PipelineDescrShape = {
  type: 'object',
  properties: { ...pipelineInfoProps, ...bootstrapProps },
  required: [...pipelineInfoRequired, ...bootstrapRequired],
} as const;

/** `PipelineStatusDescr`: GET with `selector=status`. */
export const PipelineStatusDescrShape = {
  type: 'object',
  properties: { ...pipelineStatusInfoProps, ...bootstrapProps },
  required: [...pipelineStatusInfoRequired, ...bootstrapRequired],
} as const;

/** `PipelineStatusWithConnectorsDescr`: GET with `selector=status_with_connectors`. */
export const PipelineStatusWithConnectorsDescrShape = {
  type: 'object',
  properties: {
    ...pipelineStatusInfoProps,
    ...bootstrapProps,
    connectors: {
      type: ['object', 'null'],
      properties: { num_errors: int },
      required: ['num_errors'],
    },
  },
  required: [...pipelineStatusInfoRequired, ...bootstrapRequired, 'connectors'],
} as const;

/** `Configuration` (`GET /v0/config`). */
export const ConfigurationSchema = {
  type: 'object',
  properties: {
    edition: { type: 'string', enum: ['Open source', 'Enterprise'] },
    version: str,
    revision: str,
    runtime_revision: str,
    changelog_url: str,
    unstable_features: nullableStr,
    license_validity: nullableObj,
    update_info: nullableObj,
    build_info: {
      type: 'object',
      properties: {
        build_timestamp: str,
        build_cpu: str,
        build_os: str,
        cargo_dependencies: str,
        cargo_features: str,
        cargo_debug: str,
        cargo_opt_level: str,
        cargo_target_triple: str,
        rustc_version: str,
      },
      required: [
        'build_timestamp',
        'build_cpu',
        'build_os',
        'cargo_dependencies',
        'cargo_features',
        'cargo_debug',
        'cargo_opt_level',
        'cargo_target_triple',
        'rustc_version',
      ],
    },
    build_source: { type: 'string', enum: ['ci', 'source'] },
    posthog: str,
    conceptualhq: str,
    product_fruits: str,
    telemetry: str,
  },
  required: [
    'edition',
    'version',
    'revision',
    'runtime_revision',
    'changelog_url',
    'unstable_features',
    'license_validity',
    'update_info',
    'build_info',
    'build_source',
    'posthog',
    'conceptualhq',
    'product_fruits',
  ],
} as const;

/** `IngressResponse`. */
export const IngressResponseSchema = {
  type: 'object',
  properties: { token: str },
  required: ['token'],
} as const;

/** `CompletionStatusResponse`. */
export const CompletionStatusResponseSchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: COMPLETION_STATES }, step: nullableInt },
  required: ['status', 'step'],
} as const;

/** `CheckpointResponse`. */
export const CheckpointResponseSchema = {
  type: 'object',
  properties: { checkpoint_sequence_number: int, incarnation_uuid: nullableStr },
  required: ['checkpoint_sequence_number', 'incarnation_uuid'],
} as const;

/** `CheckpointStatus`. */
export const CheckpointStatusSchema = {
  type: 'object',
  properties: {
    success: nullableInt,
    failure: {
      type: ['object', 'null'],
      properties: { sequence_number: int, error: str, failed_at: str, error_code: str },
      required: ['sequence_number', 'error', 'failed_at'],
    },
  },
  required: ['success', 'failure'],
} as const;

/** `CheckpointSyncResponse`. */
export const CheckpointSyncResponseSchema = {
  type: 'object',
  properties: { checkpoint_uuid: str, incarnation_uuid: nullableStr },
  required: ['checkpoint_uuid', 'incarnation_uuid'],
} as const;

/** `CheckpointSyncStatus`. */
export const CheckpointSyncStatusSchema = {
  type: 'object',
  properties: {
    success: nullableStr,
    failure: {
      type: ['object', 'null'],
      properties: { uuid: str, error: str },
      required: ['uuid', 'error'],
    },
    periodic: nullableStr,
    checkpoint_sync: {
      ...obj,
      description: 'Holdfast extension: push in progress, last push and pull, counters',
    },
  },
  required: ['success', 'failure', 'periodic'],
} as const;

/** `CheckpointMetadata` (elements of `GET …/checkpoints`). */
export const CheckpointMetadataSchema = {
  type: 'object',
  properties: {
    uuid: str,
    identifier: nullableStr,
    fingerprint: { type: 'integer', format: 'int64', minimum: 0, description: 'u64 (the full 64-bit range)' },
    size: nullableInt,
    steps: nullableInt,
    processed_records: nullableInt,
  },
  required: ['uuid', 'identifier', 'fingerprint', 'size', 'steps', 'processed_records'],
} as const;

/** `RemoteCheckpoint` (elements of `GET …/checkpoints/remote`). */
export const RemoteCheckpointSchema = {
  type: 'object',
  properties: {
    uuid: str,
    created_at: str,
    size: int,
    steps: int,
    processed_records: int,
    fingerprint: str,
    source: { type: 'string', enum: ['bucket', 'read_bucket'] },
    epoch: nullableInt,
    pushed_by: {
      type: ['object', 'null'],
      properties: { pipeline_id: str, pipeline_name: str, pushed_at: str },
      required: ['pipeline_id', 'pipeline_name', 'pushed_at'],
    },
  },
  required: [
    'uuid',
    'created_at',
    'size',
    'steps',
    'processed_records',
    'fingerprint',
    'source',
    'epoch',
    'pushed_by',
  ],
} as const;

/** `POST /v0/pipelines/{name}/diff` body: the proposed program (default: the current one). */
export const ProgramDiffBodySchema = {
  type: 'object',
  properties: {
    program_code: { type: 'string', description: "The proposed program (default: the pipeline's own)." },
    udf_ts: {
      type: 'string',
      description: "The proposed TypeScript UDFs (default: the pipeline's own udf_ts).",
    },
    runtime_version: { type: ['string', 'null'], description: 'Accepted and ignored (one runtime).' },
  },
} as const;

const nameList = { type: 'array', items: str } as const;

/** `PipelineDiff` (`POST …/diff`, and `approval_diff` while awaiting approval). */
export const PipelineDiffSchema = {
  type: 'object',
  properties: {
    program_diff: {
      type: ['object', 'null'],
      properties: {
        added_tables: nameList,
        removed_tables: nameList,
        modified_tables: nameList,
        added_views: nameList,
        removed_views: nameList,
        modified_views: nameList,
      },
    },
    program_diff_error: nullableStr,
    added_input_connectors: nameList,
    modified_input_connectors: nameList,
    removed_input_connectors: nameList,
    added_output_connectors: nameList,
    modified_output_connectors: nameList,
    removed_output_connectors: nameList,
  },
} as const;

/** One input connector (`GET …/tables/{t}/connectors/{c}/stats`, and `inputs[]` of `/stats`). */
export const InputEndpointStatusSchema = {
  type: 'object',
  properties: {
    endpoint_name: str,
    config: obj,
    metrics: obj,
    fatal_error: nullableStr,
    paused: bool,
    barrier: bool,
    health: nullableObj,
    completed_frontier: nullableObj,
    parse_errors: { type: 'array', items: obj },
    transport_errors: { type: 'array', items: obj },
  },
  required: [
    'endpoint_name',
    'config',
    'metrics',
    'fatal_error',
    'paused',
    'barrier',
    'health',
    'completed_frontier',
  ],
} as const;

/** One output connector (`GET …/views/{v}/connectors/{c}/stats`, and `outputs[]` of `/stats`). */
export const OutputEndpointStatusSchema = {
  type: 'object',
  properties: {
    endpoint_name: str,
    config: obj,
    metrics: obj,
    fatal_error: nullableStr,
    health: nullableObj,
    encode_errors: { type: 'array', items: obj },
    transport_errors: { type: 'array', items: obj },
  },
  required: ['endpoint_name', 'config', 'metrics', 'fatal_error', 'health'],
} as const;

/** `PipelineStats` (`GET …/stats`); the nested metrics are described by the wire types. */
export const PipelineStatsSchema = {
  type: 'object',
  properties: {
    global_metrics: obj,
    suspend_error: {},
    checkpoint_activity: nullableObj,
    permanent_checkpoint_errors: {},
    inputs: { type: 'array', items: obj },
    outputs: { type: 'array', items: obj },
  },
  additionalProperties: false,
  required: [
    'global_metrics',
    'suspend_error',
    'checkpoint_activity',
    'permanent_checkpoint_errors',
    'inputs',
    'outputs',
  ],
} as const;

// ---------------------------------------------------------------------------------------------------------
// Shared schemas: components of the OpenAPI document, referenced by `$ref: '<$id>#'`
// ---------------------------------------------------------------------------------------------------------

export const ErrorResponseSchema = { $id: 'ErrorResponse', ...ErrorResponseShape } as const;
export const PipelineInfoSchema = { $id: 'PipelineInfo', ...PipelineInfoShape } as const;
export const PipelineDescrSchema = { $id: 'PipelineDescr', ...PipelineDescrShape } as const;
export const PipelineStatusDescrSchema = { $id: 'PipelineStatusDescr', ...PipelineStatusDescrShape } as const;
export const PipelineStatusWithConnectorsDescrSchema = {
  $id: 'PipelineStatusWithConnectorsDescr',
  ...PipelineStatusWithConnectorsDescrShape,
} as const;

/** Registered once per server (fastify `addSchema`); routes refer to them with {@link ref}. */
export const SHARED_SCHEMAS = [
  ErrorResponseSchema,
  PipelineInfoSchema,
  PipelineDescrSchema,
  PipelineStatusDescrSchema,
  PipelineStatusWithConnectorsDescrSchema,
] as const;

/** A reference to a shared schema. */
export const ref = (schema: { readonly $id: string }) => ({ $ref: `${schema.$id}#` }) as const;

/** Any of the selector variants (GET /v0/pipelines, GET /v0/pipelines/{name}). */
export const PipelineSelectedInfoSchema = {
  anyOf: [
    ref(PipelineDescrSchema),
    ref(PipelineStatusDescrSchema),
    ref(PipelineStatusWithConnectorsDescrSchema),
  ],
} as const;

/** The error answers every route may give (by status class). */
export const ERROR_RESPONSES = {
  '4xx': ref(ErrorResponseSchema),
  '5xx': ref(ErrorResponseSchema),
} as const;
