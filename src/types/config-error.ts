/** A runtime-config rule was broken (fault tolerance, storage, sync); the code is the catalog's. */
export class FtConfigError extends Error {
  readonly code: 'ConfigError.FtRequiresStorage' | 'InvalidRuntimeConfig' | 'InvalidSyncConfig';
  readonly details: Record<string, unknown>;
  constructor(code: FtConfigError['code'], message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}
