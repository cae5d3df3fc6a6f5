/**
 * Runs one measurement in a fresh Node process (same binary, same flags, plus --expose-gc, an optional heap
 * size and optional further flags) so heap peaks and JIT state are never shared between measurements. The worker prints one line starting with `prefix` followed by
 * JSON; everything else on stdout/stderr is passed through on failure only.
 */
import { spawn } from 'node:child_process';

export function runWorker<T>(
  script: string,
  args: readonly string[],
  prefix: string,
  opts: { heapMiB?: number; nodeFlags?: readonly string[] } = {},
): Promise<T> {
  const flags = process.execArgv.filter(
    (f) => f !== '--expose-gc' && !(opts.heapMiB !== undefined && f.startsWith('--max-old-space-size')),
  );
  flags.push('--expose-gc', ...(opts.nodeFlags ?? []));
  if (opts.heapMiB !== undefined) flags.push(`--max-old-space-size=${opts.heapMiB}`);
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(prefix));
      if (code !== 0 || line === undefined) {
        const why = signal !== null ? `signal ${signal}` : `exit code ${code}`;
        reject(new Error(`worker ${script} ${args.join(' ')} failed (${why})\n${err}${out}`.trimEnd()));
        return;
      }
      resolve(JSON.parse(line.slice(prefix.length)) as T);
    });
  });
}
