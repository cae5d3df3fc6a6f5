/**
 * A runtime-config rule was broken (fault tolerance, storage, sync): a {@link ServiceError} with the catalog's
 * code. `code` is the same as `errorCode` (kept for callers written before it was a ServiceError).
 */
import type { ErrorCode } from './error-codes.ts';
import { ServiceError } from './service-error.ts';

export type FtConfigErrorCode = Extract<
  ErrorCode,
  'ConfigError.FtRequiresStorage' | 'InvalidRuntimeConfig' | 'InvalidSyncConfig'
>;

export class FtConfigError extends ServiceError {
  declare readonly errorCode: FtConfigErrorCode;
  constructor(code: FtConfigErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }

  get code(): FtConfigErrorCode {
    return this.errorCode;
  }
}
