/**
 * The Holdfast client SDK (the package's default import): `HoldfastClient` for the `/v0` REST API, the
 * `Pipeline` handle, the error classes, and the wire types shared with the server. Imports no server or
 * engine code.
 */

export type { ErrorCode } from '../types/error-codes.ts';
export * from '../types/pipeline-api.ts';
export { ApiError, HTTP_ERROR_CODE, isApiError, parseRetryAfter } from './api-error.ts';
export { HoldfastClient } from './client.ts';
export { CLIENT_ERROR_CODES, ClientError, type ClientErrorCode, isClientError } from './client-error.ts';
export { readLines } from './lines.ts';
export {
  type ActivateOptions,
  type CheckpointSyncState,
  type CreatePipelineOptions,
  type InputJsonOptions,
  type ListenOptions,
  Pipeline,
  type PipelineHandleOptions,
  type StartOptions,
  type StopOptions,
  type SyncCheckpointOptions,
  type SyncProgressEvent,
  type WaitForCompletionOptions,
  type WaitOptions,
} from './pipeline.ts';
export { ResponseStream } from './response-stream.ts';
export {
  DEFAULT_TIMEOUT_MS,
  DEFAULT_URL,
  type EgressOptions,
  HoldfastApi,
  type HoldfastClientOptions,
  type IngressOptions,
  type QueryValue,
  type RawRequest,
  type RequestOptions,
  type StartPipelineOptions,
  type StreamOptions,
} from './rest-api.ts';
