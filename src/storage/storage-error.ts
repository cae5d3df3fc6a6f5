/**
 * Errors raised by the storage layer: a {@link ServiceError} whose code is one of the checkpoint codes of the
 * catalog (`types/error-codes.ts`), so it crosses every boundary as it is. `code` is the same as `errorCode`
 * (kept for callers written before it was a ServiceError); `isStorageError` is realm-safe like
 * `isServiceError`.
 */
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import type { ErrorCode } from '../types/error-codes.ts';

export type StorageErrorCode = Extract<
  ErrorCode,
  /** A checkpoint's manifest or one of its segments is unreadable, truncated, or fails its hash/format check. */
  | 'CheckpointCorrupt'
  /** The requested checkpoint (or a delta's parent) does not exist. */
  | 'CheckpointNotFound'
  /** The checkpoint was written by a newer, unknown format version. */
  | 'CheckpointFormatUnsupported'
  /** A state value cannot be encoded (an ObjectValue with no registered codec, a non-integer weight, ...). */
  | 'CheckpointValueUnsupported'
>;

const BRAND = Symbol.for('holdfast.StorageError');

export class StorageError extends ServiceError {
  declare readonly errorCode: StorageErrorCode;
  constructor(
    code: StorageErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
    Object.defineProperty(this, BRAND, { value: true });
  }

  get code(): StorageErrorCode {
    return this.errorCode;
  }
}

/** A StorageError (thrown by the storage layer), optionally of one code. Realm-safe (a `Symbol.for` brand). */
export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return (
    isServiceError(e) &&
    (e as unknown as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || e.errorCode === code)
  );
}
