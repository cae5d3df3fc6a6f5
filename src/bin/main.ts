/**
 * The `holdfast` executable: runs the dispatcher (dispatch.ts) on the process's arguments and turns its
 * result into the exit code. Errors print as `error [Code]: message` (no stack); bad arguments exit 2.
 */

import { fileURLToPath } from 'node:url';
import { isServiceError, toServiceError } from '../errors/service-error.ts';
import { redactUrlCredentials } from '../types/redact-url.ts';
import { main } from './dispatch.ts';

main(process.argv.slice(2), { mainScript: fileURLToPath(import.meta.url) }).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    const err = toServiceError(e);
    process.stderr.write(`error [${err.errorCode}]: ${redactUrlCredentials(err.message)}\n`);
    process.exitCode = isServiceError(e) && e.errorCode === 'InvalidArguments' ? 2 : 1;
  },
);
