/**
 * Errors raised by the storage layer. A `StorageError` carries a stable `code` (PascalCase, meant for the error
 * catalog in `types/error-codes.ts`) and JSON-safe `details`; the layer above maps it to a `ServiceError`.
 */

export type StorageErrorCode =
  /** A checkpoint's manifest or one of its segments is unreadable, truncated, or fails its hash/format check. */
  | 'CheckpointCorrupt'
  /** The requested checkpoint (or a delta's parent) does not exist. */
  | 'CheckpointNotFound'
  /** The checkpoint was written by a newer, unknown format version. */
  | 'CheckpointFormatUnsupported'
  /** A state value cannot be encoded (an ObjectValue with no registered codec, a non-integer weight, ...). */
  | 'CheckpointValueUnsupported';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    code: StorageErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = `${code}Error`;
    this.code = code;
    this.details = details;
  }
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}
