/**
 * Runs `holdfast ARGS…` for several argument lists in one process: the dispatcher's `main` (src/bin/dispatch.ts)
 * called in turn for each list, with what it writes to stdout and stderr captured. Prints one JSON array
 * `[{args, code, out, err}]` on the real stdout. Used by the CLI test to check many usage texts with one Node
 * start; the exit codes and error lines of the real executable (src/bin/main.ts) are checked with real spawns.
 *
 *   node tests/helpers/cli-batch.ts '[["server", "--help"], ["help", "server"]]'
 */
import { join, resolve } from 'node:path';
import { main } from '../../src/bin/dispatch.ts';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');
const lists = JSON.parse(process.argv[2] ?? '[]') as string[][];
const stdoutWrite = process.stdout.write.bind(process.stdout);
const stderrWrite = process.stderr.write.bind(process.stderr);
const results: Array<{ args: string[]; code: number | string; out: string; err: string }> = [];
for (const args of lists) {
  let out = '';
  let err = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  let code: number | string;
  try {
    code = await main(args, { mainScript: MAIN });
  } catch (e) {
    code = `threw: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
  results.push({ args, code, out, err });
}
stdoutWrite(`${JSON.stringify(results)}\n`);
