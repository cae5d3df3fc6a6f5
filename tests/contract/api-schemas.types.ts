/**
 * Type-level contract (checked by `tsc`, so by `npm test`): each JSON schema of src/types/api-schemas.ts agrees
 * with the wire type it describes (src/types/pipeline-api.ts), through json-schema-to-ts `FromSchema`:
 *
 * 1. every value of the wire type satisfies the schema (the wire type is assignable to the schema's type);
 * 2. the same keys;
 * 3. the same required keys.
 *
 * A field added, removed, made optional or retyped on one side only is a compile error on the line naming the
 * pair. (Nested objects a schema leaves open are covered by 1 alone.) Nothing here runs.
 */
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type {
  CheckpointMetadataSchema,
  CheckpointResponseSchema,
  CheckpointStatusSchema,
  CheckpointSyncResponseSchema,
  CheckpointSyncStatusSchema,
  CompletionStatusResponseSchema,
  ConfigurationSchema,
  ErrorResponseShape,
  IngressResponseSchema,
  PatchPipelineSchema,
  PipelineDescrShape,
  PipelineInfoShape,
  PipelineStatsSchema,
  PipelineStatusDescrShape,
  PipelineStatusWithConnectorsDescrShape,
  PostPutPipelineSchema,
  RemoteCheckpointSchema,
  StartQuerySchema,
  StopQuerySchema,
} from '../../src/types/api-schemas.ts';
import type {
  CheckpointMetadata,
  CheckpointResponse,
  CheckpointStatus,
  CheckpointSyncResponse,
  CheckpointSyncStatus,
  CompletionStatusResponse,
  Configuration,
  ErrorResponse,
  IngressResponse,
  PatchPipeline,
  PipelineDescr,
  PipelineInfo,
  PipelineStats,
  PipelineStatusDescr,
  PipelineStatusWithConnectorsDescr,
  PostPutPipeline,
  RemoteCheckpoint,
  StartPipelineParams,
  StopPipelineParams,
} from '../../src/types/pipeline-api.ts';

/**
 * FromSchema's type without its index signatures: an object schema that does not close its properties allows
 * any other key (`[x: string]: unknown`), which no interface satisfies; the keys are compared by 2 instead.
 */
type DropIndex<T> = T extends readonly (infer U)[]
  ? DropIndex<U>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : K]: DropIndex<T[K]> }
    : T;
type Schema<S extends JSONSchema> = DropIndex<FromSchema<S>>;

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** `true` when the wire type W and the schema S agree (see the header); else a description of what differs. */
type Agrees<W, S extends JSONSchema> = [W] extends [Schema<S>]
  ? Same<keyof W, keyof Schema<S>> extends true
    ? Same<RequiredKeys<W>, RequiredKeys<Schema<S>>> extends true
      ? true
      : { requiredKeysDiffer: [RequiredKeys<W>, RequiredKeys<Schema<S>>] }
    : { keysDiffer: [Exclude<keyof W, keyof Schema<S>>, Exclude<keyof Schema<S>, keyof W>] }
  : { notAssignable: [W, Schema<S>] };

const ok = <T extends true>(): T => true as T;

export const checks = [
  ok<Agrees<ErrorResponse, typeof ErrorResponseShape>>(),
  ok<Agrees<PostPutPipeline, typeof PostPutPipelineSchema>>(),
  ok<Agrees<PatchPipeline, typeof PatchPipelineSchema>>(),
  ok<Agrees<StartPipelineParams, typeof StartQuerySchema>>(),
  ok<Agrees<StopPipelineParams, typeof StopQuerySchema>>(),
  ok<Agrees<PipelineInfo, typeof PipelineInfoShape>>(),
  ok<Agrees<PipelineDescr, typeof PipelineDescrShape>>(),
  ok<Agrees<PipelineStatusDescr, typeof PipelineStatusDescrShape>>(),
  ok<Agrees<PipelineStatusWithConnectorsDescr, typeof PipelineStatusWithConnectorsDescrShape>>(),
  ok<Agrees<Configuration, typeof ConfigurationSchema>>(),
  ok<Agrees<IngressResponse, typeof IngressResponseSchema>>(),
  ok<Agrees<CompletionStatusResponse, typeof CompletionStatusResponseSchema>>(),
  ok<Agrees<CheckpointResponse, typeof CheckpointResponseSchema>>(),
  ok<Agrees<CheckpointStatus, typeof CheckpointStatusSchema>>(),
  ok<Agrees<CheckpointSyncResponse, typeof CheckpointSyncResponseSchema>>(),
  ok<Agrees<CheckpointSyncStatus, typeof CheckpointSyncStatusSchema>>(),
  // a JSON schema's integer has no bigint: the u64 fingerprint (number | bigint on the TS side) is an integer there
  ok<
    Agrees<Omit<CheckpointMetadata, 'fingerprint'> & { fingerprint: number }, typeof CheckpointMetadataSchema>
  >(),
  ok<Agrees<RemoteCheckpoint, typeof RemoteCheckpointSchema>>(),
  ok<Agrees<PipelineStats, typeof PipelineStatsSchema>>(),
];
