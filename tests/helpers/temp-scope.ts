/**
 * Preloaded into the test runner and every test file's process (`node --test --import`, package.json's `test`
 * script): points `TMPDIR` at a fresh directory of this process's own, removed when the process exits. The
 * temporary directories tests create under `os.tmpdir()` — and those of the processes they start, which inherit
 * `TMPDIR` — then go with it instead of piling up in /tmp run after run (a test that fails or is killed midway
 * skips its own cleanup; the runner's exit still removes them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'holdfast-test-'));
process.env.TMPDIR = dir;
process.on('exit', () => {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // a process it started still writing there: left for the runner's own exit (or the OS) to remove
  }
});
