/** Reads a file the user named (program, input, config), turning any failure into `FileReadError`. */
import { readFileSync } from 'node:fs';
import { ServiceError } from './service-error.ts';

export function readUserFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ServiceError(
      'FileReadError',
      `cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { path },
    );
  }
}
