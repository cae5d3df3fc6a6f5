/**
 * The error catalog: every `error_code` Holdfast can return, its HTTP status, and whether retrying can help.
 *
 * Invariants: codes are PascalCase, stable and append-only (a retired code goes to {@link RETIRED_CODES} and is
 * never reused); each maps to exactly one HTTP status. `docs/errors.md` lists the same codes (a contract test
 * keeps them in step). Names follow Feldera's where the situation is the same.
 */

export type ErrorCategory =
  | 'bad_request'
  | 'not_found'
  | 'conflict'
  | 'gone'
  | 'unsupported'
  | 'unavailable'
  | 'internal';

export interface ErrorCatalogEntry {
  readonly status: 400 | 401 | 404 | 405 | 409 | 410 | 413 | 500 | 501 | 503 | 507;
  readonly retryable: boolean;
  readonly summary: string;
}

export const ERROR_CATALOG = {
  // SQL compilation (program_error)
  SqlSyntaxError: { status: 400, retryable: false, summary: 'The SQL program does not parse.' },
  SqlNameError: {
    status: 400,
    retryable: false,
    summary: 'The SQL program names an unknown or duplicate table, view or column.',
  },
  SqlTypeError: {
    status: 400,
    retryable: false,
    summary: 'An SQL expression has operands of incompatible types.',
  },
  SqlUnsupported: {
    status: 400,
    retryable: false,
    summary: 'The SQL program uses a construct Holdfast does not support.',
  },
  SqlPropertyError: {
    status: 400,
    retryable: false,
    summary: 'A WITH property on a table or view is unknown or malformed.',
  },
  // SQL evaluation
  SqlRuntimeError: {
    status: 400,
    retryable: false,
    summary: 'Evaluating SQL failed for a row (division by zero, overflow, bad cast).',
  },
  RecursionLimitExceeded: {
    status: 400,
    retryable: false,
    summary: 'Recursive views did not reach a fixed point within the iteration limit of one step.',
  },
  // TypeScript UDFs (the udf_ts program field; positions are in the udf_ts source)
  UdfSyntaxError: {
    status: 400,
    retryable: false,
    summary: 'The udf_ts source does not parse, or uses TypeScript syntax that is not erasable.',
  },
  UdfTypeError: {
    status: 400,
    retryable: false,
    summary: 'The udf_ts source does not type-check against the SQL declarations of its functions.',
  },
  UdfMissingExport: {
    status: 400,
    retryable: false,
    summary: 'A function declared without a body in the SQL has no export of that name in udf_ts.',
  },
  UdfRuntimeError: {
    status: 400,
    retryable: false,
    summary: 'A TypeScript UDF threw or returned a value that does not fit its SQL result type.',
  },
  AdHocQueryError: { status: 400, retryable: false, summary: 'An ad-hoc query failed to plan or to run.' },
  // Input
  InvalidRecord: {
    status: 400,
    retryable: false,
    summary: 'An input record does not match the table schema.',
  },
  ParseErrors: {
    status: 400,
    retryable: false,
    summary: 'Some records of an input could not be parsed; the others were accepted.',
  },
  ParquetSchemaMismatch: {
    status: 400,
    retryable: false,
    summary: "A Parquet input's schema does not match the table (a missing or extra column, a wrong type).",
  },
  ParquetInvalidFile: {
    status: 400,
    retryable: false,
    summary: 'A Parquet input is not a readable Parquet file (truncated, corrupt, or an unknown codec).',
  },
  'ConfigError.UnknownInputFormat': {
    status: 400,
    retryable: false,
    summary: 'The input format is not one Holdfast reads.',
  },
  'ConfigError.InputFormatNotSupported': {
    status: 400,
    retryable: false,
    summary: 'The input format option is not supported.',
  },
  'ConfigError.ParserConfigParseError': {
    status: 400,
    retryable: false,
    summary: 'A format option has an invalid value.',
  },
  UnknownInputTable: {
    status: 404,
    retryable: false,
    summary: 'The named table does not exist in the program.',
  },
  // Pipeline interaction
  InvalidParam: {
    status: 400,
    retryable: false,
    summary: 'A request parameter is malformed (e.g. an undecodable completion token).',
  },
  PipelineRestarted: {
    status: 410,
    retryable: false,
    summary: 'The completion token belongs to an earlier run of the pipeline process.',
  },
  UnknownEndpointInCompletionToken: {
    status: 410,
    retryable: false,
    summary: 'The completion token names an input endpoint this pipeline does not have.',
  },
  UnknownInputEndpoint: {
    status: 404,
    retryable: false,
    summary: 'A connector route names an input connector the table does not have.',
  },
  UnknownOutputEndpoint: {
    status: 404,
    retryable: false,
    summary: 'A connector route names an output connector the view does not have.',
  },
  InvalidConnectorAction: {
    status: 400,
    retryable: false,
    summary: 'A connector action other than start or pause.',
  },
  ProgramNotCompiled: {
    status: 404,
    retryable: false,
    summary: 'POST .../diff on a pipeline whose program is not compiled.',
  },
  PipelineFailed: {
    status: 500,
    retryable: false,
    summary: 'The pipeline stopped processing after a step failed; the message says why.',
  },
  Terminating: { status: 410, retryable: false, summary: 'The pipeline is shutting down.' },
  UnknownOutputView: {
    status: 404,
    retryable: false,
    summary: 'The named view does not exist in the program (or is LOCAL).',
  },
  'ConfigError.FtRequiresStorage': {
    status: 400,
    retryable: false,
    summary: 'Fault tolerance is configured but storage is disabled.',
  },
  CheckpointCorrupt: {
    status: 500,
    retryable: false,
    summary: 'A checkpoint manifest or segment is unreadable, truncated, missing, or fails its hash check.',
  },
  CheckpointNotFound: {
    status: 404,
    retryable: false,
    summary: "The checkpoint (or a delta's parent) does not exist.",
  },
  CheckpointFormatUnsupported: {
    status: 500,
    retryable: false,
    summary: 'The checkpoint was written by a newer format version.',
  },
  CheckpointValueUnsupported: {
    status: 500,
    retryable: false,
    summary: 'A state value or weight cannot be encoded in a checkpoint.',
  },
  BootstrapRejected: {
    status: 409,
    retryable: false,
    summary: 'The program changed since the checkpoint and bootstrap_policy is reject.',
  },
  BootstrapNotAllowed: {
    status: 500,
    retryable: false,
    summary: 'The program changed since the checkpoint in a way that cannot be bootstrapped.',
  },
  UnexpectedBootstrap: {
    status: 500,
    retryable: false,
    summary: 'An unchanged relation does not fit its checkpointed state (a bug).',
  },
  Initializing: {
    status: 503,
    retryable: true,
    summary: 'The pipeline has not finished initializing (restoring, awaiting approval, bootstrapping).',
  },
  BootstrapInProgress: {
    status: 503,
    retryable: true,
    summary: 'A view is being bootstrapped concurrently and has no complete contents yet.',
  },
  InvalidBootstrapConfig: {
    status: 400,
    retryable: false,
    summary: 'The bootstrap parameters of start or approve are invalid.',
  },
  BootstrapPolicyImmutableUnlessStopped: {
    status: 400,
    retryable: false,
    summary: 'A started pipeline was started again with a different bootstrap_policy.',
  },
  ReplayFailure: {
    status: 500,
    retryable: false,
    summary:
      'After a restart, a replayed step took different input than the journal recorded, or the journal is damaged.',
  },
  RestoreInProgress: {
    status: 503,
    retryable: true,
    summary: 'The operation waits for the end of journal replay after a restart.',
  },
  JournalWriteFailed: {
    status: 500,
    retryable: true,
    summary: 'Pushed input could not be written to the fault-tolerance journal, so it was not accepted.',
  },
  StorageFull: {
    status: 507,
    retryable: true,
    summary: "The disk holding Holdfast's data is full; free space and retry.",
  },
  SuspendFailed: {
    status: 500,
    retryable: false,
    summary: 'A graceful stop could not write its checkpoint; the pipeline was stopped without one.',
  },
  CheckpointStorageRequired: {
    status: 400,
    retryable: false,
    summary: 'Checkpoints need storage, which is disabled.',
  },
  IncarnationUuidMismatch: {
    status: 400,
    retryable: false,
    summary: 'The status request names an earlier run of the pipeline process; re-trigger the operation.',
  },
  'ConfigError.UnknownInputStream': {
    status: 404,
    retryable: false,
    summary: 'Ingress names a table the program does not declare.',
  },
  'ConfigError.UnknownOutputStream': {
    status: 404,
    retryable: false,
    summary: 'Egress names a view the program does not declare (or a LOCAL view).',
  },
  'ConfigError.InvalidTransportConfig': {
    status: 400,
    retryable: false,
    summary: 'An output option cannot be honoured (e.g. send_snapshot on a non-materialized view).',
  },
  'ConfigError.OutputFormatNotSupported': {
    status: 400,
    retryable: false,
    summary: 'The output format or update format is not supported.',
  },
  NotFound: { status: 404, retryable: false, summary: 'No such endpoint.' },
  MethodNotAllowed: {
    status: 405,
    retryable: false,
    summary: 'The path exists but not with this HTTP method.',
  },
  // Manager (pipeline registry and lifecycle)
  UnknownPipelineName: { status: 404, retryable: false, summary: 'No pipeline has this name.' },
  DuplicateName: { status: 409, retryable: false, summary: 'A pipeline with this name already exists.' },
  EmptyName: { status: 400, retryable: false, summary: 'The pipeline name is empty.' },
  TooLongName: { status: 400, retryable: false, summary: 'The pipeline name is longer than 63 characters.' },
  NameDoesNotMatchPattern: {
    status: 400,
    retryable: false,
    summary: 'The pipeline name has characters other than letters, digits, _ and -.',
  },
  TooLongDescription: {
    status: 400,
    retryable: false,
    summary: 'The description is longer than 300 characters.',
  },
  TooManyTags: { status: 400, retryable: false, summary: 'A pipeline has more than 50 tags.' },
  InvalidTag: {
    status: 400,
    retryable: false,
    summary: 'A tag is empty, longer than 50 characters or has a character outside Feldera’s set.',
  },
  InvalidRequestBody: {
    status: 400,
    retryable: false,
    summary: 'The request body is not the expected JSON.',
  },
  PayloadTooLarge: {
    status: 413,
    retryable: false,
    summary: 'The request body is larger than the configured limit.',
  },
  InvalidRuntimeConfig: {
    status: 400,
    retryable: false,
    summary: 'runtime_config does not have the expected shape.',
  },
  InvalidProgramConfig: {
    status: 400,
    retryable: false,
    summary: 'program_config does not have the expected shape.',
  },
  UpdateRestrictedToStopped: {
    status: 400,
    retryable: false,
    summary: 'The pipeline must be stopped to change its program or configuration.',
  },
  EditRestrictedToClearedStorage: {
    status: 400,
    retryable: false,
    summary:
      'The edit changes what stored state means (name, workers, fault tolerance, ...); clear storage first.',
  },
  CannotRenameNonExistingPipeline: {
    status: 400,
    retryable: false,
    summary: 'PUT renames only an existing pipeline.',
  },
  DeleteRestrictedToFullyStopped: {
    status: 400,
    retryable: false,
    summary: 'A pipeline must be stopped before it is deleted.',
  },
  DeleteRestrictedToClearedStorage: {
    status: 400,
    retryable: false,
    summary: "A pipeline's storage must be cleared before it is deleted.",
  },
  DismissErrorRestrictedToFullyStopped: {
    status: 400,
    retryable: false,
    summary: 'A deployment error can be dismissed only when the pipeline is stopped.',
  },
  CannotStartWithCompilationError: {
    status: 400,
    retryable: false,
    summary: 'The program does not compile, so the pipeline cannot start.',
  },
  CannotStartWhileClearingStorage: {
    status: 400,
    retryable: false,
    summary: 'Storage is being cleared; start again when it is Cleared.',
  },
  InitialImmutableUnlessStopped: {
    status: 400,
    retryable: false,
    summary: 'The pipeline is already started with another initial state.',
  },
  InitialStandbyNotAllowed: {
    status: 400,
    retryable: false,
    summary:
      'start?initial=standby needs the file storage backend with sync and start_from_checkpoint configured.',
  },
  InvalidActivateStatus: {
    status: 400,
    retryable: false,
    summary: '/activate?initial= must be running or paused.',
  },
  InvalidTransition: {
    status: 400,
    retryable: false,
    summary:
      'The lifecycle action is not allowed from the current runtime status (e.g. /start during Standby), or a state machine was asked for a move its transition table does not list.',
  },
  InvalidStandby: {
    status: 500,
    retryable: false,
    summary: 'The pipeline process cannot enter standby mode with its configuration.',
  },
  IllegalPipelineAction: {
    status: 400,
    retryable: false,
    summary: "The action is not allowed in the pipeline's current state.",
  },
  StorageStatusImmutableUnlessStopped: {
    status: 400,
    retryable: false,
    summary: "The pipeline's storage can be cleared only while the pipeline is stopped.",
  },
  UnsupportedPipelineAction: {
    status: 405,
    retryable: false,
    summary: 'The action or its parameters are not supported.',
  },
  PipelineInteractionNotDeployed: {
    status: 503,
    retryable: true,
    summary: 'The pipeline is not running, so the request cannot reach it.',
  },
  PipelineInteractionUnreachable: {
    status: 503,
    retryable: true,
    summary: 'The pipeline process did not answer.',
  },
  PipelineCrashed: {
    status: 500,
    retryable: false,
    summary: 'The pipeline process kept exiting unexpectedly and was stopped.',
  },
  AuthenticationFailed: { status: 401, retryable: false, summary: 'The request has no valid API key.' },
  // CLI and configuration
  InvalidArguments: {
    status: 400,
    retryable: false,
    summary: 'Command-line arguments are missing or malformed.',
  },
  FileReadError: { status: 400, retryable: false, summary: 'A file named by the user could not be read.' },
  UrlInputFailed: {
    status: 503,
    retryable: false,
    summary: 'A url_input could not read its URL (an HTTP error status, or network errors after retries).',
  },
  UrlInputChanged: {
    status: 409,
    retryable: false,
    summary: 'The resource a url_input was reading changed (its ETag) before it was read to the end.',
  },
  ObjectInputChanged: {
    status: 409,
    retryable: false,
    summary:
      'An object an object-store input was reading was replaced; input objects must not change once written.',
  },
  DeltaTableNotFound: {
    status: 404,
    retryable: false,
    summary: "A delta_table_input's uri holds no Delta table (no _delta_log commits).",
  },
  DeltaVersionNotFound: {
    status: 404,
    retryable: false,
    summary: "The Delta table version (or datetime) a delta_table_input asked for is not in the table's log.",
  },
  DeltaLogInvalid: {
    status: 400,
    retryable: false,
    summary:
      "A Delta table's transaction log cannot be read (malformed JSON, a gap in the commits, a bad checkpoint).",
  },
  DeltaUnsupportedFeature: {
    status: 501,
    retryable: false,
    summary:
      'A Delta table uses a protocol or reader feature Holdfast does not read (deletion vectors, column mapping...).',
  },
  // Object stores (sync layer); the store's own error code is kept in the message and in details.store_code
  ObjectNotFound: {
    status: 404,
    retryable: false,
    summary: 'The object does not exist in the object store.',
  },
  ObjectAlreadyExists: {
    status: 409,
    retryable: false,
    summary: 'A conditional create (If-None-Match: *) found an existing object.',
  },
  ObjectEtagMismatch: {
    status: 409,
    retryable: false,
    summary: 'A compare-and-swap write (If-Match) found a different version of the object.',
  },
  ObjectChecksumMismatch: {
    status: 500,
    retryable: false,
    summary: 'The bytes of an object do not match the SHA-256 given for them.',
  },
  InvalidObjectKey: {
    status: 400,
    retryable: false,
    summary: 'An object key is empty, absolute, or has empty, "." or ".." segments.',
  },
  InvalidObjectStoreConfig: {
    status: 400,
    retryable: false,
    summary: 'The object store configuration is incomplete or malformed.',
  },
  ObjectStoreAuthFailed: {
    status: 400,
    retryable: false,
    summary: 'The object store refused the credentials or denied access.',
  },
  ObjectStoreBucketNotFound: {
    status: 404,
    retryable: false,
    summary: 'The bucket (or local store directory) does not exist.',
  },
  ObjectStoreUnavailable: {
    status: 503,
    retryable: true,
    summary: 'The object store could not be reached or answered with a transient error.',
  },
  ObjectStoreEncryptionKeyMismatch: {
    status: 409,
    retryable: false,
    summary:
      'An Azure blob is encrypted with a customer-provided key and the request carried none or another one.',
  },
  ObjectStoreError: {
    status: 500,
    retryable: false,
    summary: 'The object store returned an error Holdfast does not classify further.',
  },
  // Checkpoint sync (push, pull, ownership)
  InvalidSyncConfig: {
    status: 400,
    retryable: false,
    summary: 'The storage.backend.config.sync object has a missing, unknown-typed or invalid field.',
  },
  SyncNotConfigured: {
    status: 400,
    retryable: false,
    summary: 'The action needs checkpoint sync, but storage.backend.config.sync is not set.',
  },
  NoCheckpointToSync: {
    status: 400,
    retryable: false,
    summary: 'A checkpoint sync was requested but the pipeline has no local checkpoint yet.',
  },
  CheckpointPushError: {
    status: 500,
    retryable: true,
    summary: 'Pushing a checkpoint to the object store failed; the message carries the store error.',
  },
  CheckpointFetchError: {
    status: 500,
    retryable: false,
    summary: 'Fetching the checkpoint to start from failed (not found, corrupt, or the store refused).',
  },
  CheckpointBucketOwned: {
    status: 409,
    retryable: false,
    summary: 'The bucket prefix belongs to another pipeline; nothing was written.',
  },
  CheckpointPushDiverged: {
    status: 409,
    retryable: false,
    summary:
      'The bucket holds a newer checkpoint than the one this pipeline started from; pushing would hide it.',
  },
  ConditionalWritesUnsupported: {
    status: 400,
    retryable: false,
    summary: 'The object store ignores conditional writes, which ownership and fencing need.',
  },
  // Local storage (durable writes: registry, config files, checkpoints, markers, directory buckets)
  StorageWriteFailed: {
    status: 500,
    retryable: false,
    summary: 'A durable write failed (I/O error, read-only volume, permission denied); nothing was changed.',
  },
  RegistryCorrupt: {
    status: 500,
    retryable: false,
    summary: "The manager's registry file is not a valid registry; the manager does not start.",
  },
  // Engine
  StateRestoreError: {
    status: 500,
    retryable: false,
    summary: 'Operator state given to restore does not fit the circuit.',
  },
  UnknownError: {
    status: 500,
    retryable: false,
    summary: 'An unexpected internal error; the message says what failed.',
  },
} as const satisfies Record<string, ErrorCatalogEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** Codes that were used once and must never be reused. */
export const RETIRED_CODES: readonly string[] = [
  // replaced by working graceful stops and checkpoints
  'CheckpointsNotAvailable',
  // replaced by standby mode (start?initial=standby, activate): InitialStandbyNotAllowed, InvalidActivateStatus
  'SyncNotAvailable',
  // replaced by bootstrapping (BootstrapRejected, BootstrapNotAllowed)
  'ProgramChangedSinceCheckpoint',
];

/** The one error body sent everywhere (Feldera's `ErrorResponse`). */
export interface ErrorResponse {
  message: string;
  error_code: string;
  details: Record<string, unknown>;
}
