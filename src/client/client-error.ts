/**
 * `ClientError`: a failure detected on the client side rather than answered by the server — the server could
 * not be reached, a request or a wait timed out, a reply was malformed, a pipeline landed in a failed state
 * while the SDK waited for it, or a call was refused before sending (e.g. pushing to a paused pipeline).
 * Server answers are `ApiError`s (see `api-error.ts`).
 */

const BRAND = Symbol.for('holdfast.ClientError');

export const CLIENT_ERROR_CODES = [
  /** The HTTP connection failed (refused, reset, DNS). */
  'ConnectionFailed',
  /** A single HTTP request exceeded its timeout. */
  'RequestTimeout',
  /** The server's reply could not be understood (bad JSON, wrong shape). */
  'InvalidResponse',
  /** A wait (`start`, `stop`, `inputJson({ wait })`, …) exceeded its `timeoutMs`. */
  'WaitTimeout',
  /** A checkpoint the client waited for failed (the message has the pipeline's error). */
  'CheckpointFailed',
  /** A checkpoint sync the client waited for failed (the message has the object store's error). */
  'CheckpointSyncFailed',
  /** While waiting, the pipeline stopped with a `deployment_error`. */
  'PipelineFailed',
  /** The program did not compile (`SqlError`, `RustError`, `SystemError`). */
  'CompilationFailed',
  /** The call is not allowed in the pipeline's current state (checked before sending). */
  'InvalidState',
  /** An argument is invalid (checked before sending). */
  'InvalidArgument',
] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export class ClientError extends Error {
  readonly errorCode: ClientErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    errorCode: ClientErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClientError';
    this.errorCode = errorCode;
    this.details = details;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Realm-safe check; with `code`, also matches `errorCode`. */
export function isClientError(e: unknown, code?: ClientErrorCode): e is ClientError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (e as ClientError).errorCode === code)
  );
}
