/**
 * Runs `holdfast pipeline …` in process (`runPipelineCli`) against a server URL and captures what it prints:
 * stdout lines, stderr lines and the raw progress writes. Stateless; stderr counts as a TTY only when asked.
 */
import { runPipelineCli } from '../../src/cli/cli.ts';

export interface CliRun {
  code: number;
  /** Lines printed to stdout. */
  readonly out: string[];
  /** Lines printed to stderr. */
  readonly err: string[];
  /** Raw stderr writes (the progress bar). */
  readonly raw: string[];
}

export interface CliRunOptions {
  /** Whether stderr is a terminal (default false). */
  readonly tty?: boolean;
  /** The clock the command reads (default the real one). */
  readonly now?: () => number;
}

/** `holdfast pipeline --url URL ARGS…`; resolves with the exit code and the captured output. */
export async function runCli(
  url: string,
  args: readonly string[],
  options: CliRunOptions = {},
): Promise<CliRun> {
  const r: CliRun = { code: -1, out: [], err: [], raw: [] };
  r.code = await runPipelineCli(
    ['--url', url, ...args],
    (s) => r.out.push(s),
    (s) => r.err.push(s),
    {
      stderrIsTTY: options.tty ?? false,
      writeErr: (s) => r.raw.push(s),
      ...(options.now ? { now: options.now } : {}),
    },
  );
  return r;
}
