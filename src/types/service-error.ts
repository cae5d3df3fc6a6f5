/**
 * Coded errors: the only errors that may cross a boundary (HTTP, CLI, SDK). A `ServiceError` carries a stable
 * `errorCode` from the catalog in `error-codes.ts`, JSON-safe `details`, and an optional `cause`; its HTTP
 * status and whether a retry can help are always read from the catalog, never hard-coded.
 *
 * It lives in the shared `types` layer (imported through `errors/` everywhere else) so that the config parsers
 * here (`FtConfigError`) and the storage layer (`StorageError`) throw subclasses of it: one error model.
 * `isServiceError` is realm-safe (a `Symbol.for` brand), so it also recognises errors from another copy of the
 * library, where `instanceof` would not.
 */
import { ERROR_CATALOG, type ErrorCode, type ErrorResponse } from './error-codes.ts';
import { redactUrlCredentials, redactUrlCredentialsDeep } from './redact-url.ts';

const BRAND = Symbol.for('holdfast.ServiceError');

export class ServiceError extends Error {
  readonly errorCode: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    errorCode: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = `${errorCode}Error`;
    this.errorCode = errorCode;
    this.details = details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  get httpStatus(): number {
    return ERROR_CATALOG[this.errorCode].status;
  }

  /** Whether retrying the same request can help (the catalog's `retryable`). */
  get retryable(): boolean {
    return ERROR_CATALOG[this.errorCode].retryable;
  }

  /** The wire body; credentials written into URLs (`http://user:pass@host`) are redacted from it. */
  toResponse(): ErrorResponse {
    return {
      message: redactUrlCredentials(this.message),
      error_code: this.errorCode,
      details: redactUrlCredentialsDeep(this.details),
    };
  }
}

/** Realm-safe check (works across duplicate copies of the library). */
export function isServiceError(e: unknown, code?: ErrorCode): e is ServiceError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (e as ServiceError).errorCode === code)
  );
}

/** Wraps anything thrown into a ServiceError without leaking a stack trace into the message. */
export function toServiceError(e: unknown): ServiceError {
  if (isServiceError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ServiceError('UnknownError', `internal error: ${message}`, {}, { cause: e });
}
