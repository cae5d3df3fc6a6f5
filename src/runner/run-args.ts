/**
 * The `holdfast run` command line: its spec (for the parser and the help) and its parsing into RunOptions.
 * Kept apart from run-command.ts (which loads the SQL engine) so the help and the argument checks start fast.
 * Stateless.
 */
import { type CommandSpec, parseCommand, usageError } from '../util/args.ts';

export interface RunOptions {
  readonly program: string;
  /** Path of the udf_ts file (TypeScript UDFs), if any. */
  readonly udf?: string;
  readonly inputs: ReadonlyArray<{ table: string; path: string }>;
  readonly batchSize: number;
  readonly output: 'json' | 'text';
  readonly steps: boolean;
  readonly explain: boolean;
}

/** The `holdfast run` command line (parsed by node:util `parseArgs`, strict: unknown options are errors). */
export const RUN_SPEC: CommandSpec = {
  name: 'run',
  summary: 'Run a program over input files in this process and print the final contents of every view.',
  args: ['PROGRAM.sql'],
  options: {
    input: {
      type: 'string',
      multiple: true,
      value: 'TABLE=FILE.jsonl',
      help: 'records for TABLE (repeatable; files are read in the order given)',
    },
    udf: {
      type: 'string',
      value: 'FILE.ts',
      help: 'TypeScript implementing the functions declared without a body (udf_ts)',
    },
    'batch-size': { type: 'string', value: 'N', help: 'records per step (default 1000)' },
    output: {
      type: 'string',
      value: 'json|text',
      help: 'json: one JSON object per view row; text: aligned tables (default json)',
    },
    steps: { type: 'boolean', help: "also print each step's output changes" },
    explain: { type: 'boolean', help: 'print the compiled circuit and exit' },
  },
  notes: `Input files are JSON lines: {"insert": {...}}, {"delete": {...}} or plain rows (inserts). Records of all
inputs are concatenated in the order of the --input options and cut into steps of --batch-size records.`,
};

/** The options of `holdfast run ARGS...`, or null when `--help` was asked for. Throws `InvalidArguments`. */
export function parseRunArgs(args: readonly string[]): RunOptions | null {
  const p = parseCommand(RUN_SPEC, args);
  if (p.help) return null;
  const inputs: Array<{ table: string; path: string }> = [];
  for (const v of (p.values.input as string[] | undefined) ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw usageError(RUN_SPEC, `--input takes TABLE=FILE, got '${v}'`);
    inputs.push({ table: v.slice(0, eq), path: v.slice(eq + 1) });
  }
  let batchSize = 1000;
  const bs = p.values['batch-size'] as string | undefined;
  if (bs !== undefined) {
    batchSize = Number(bs);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw usageError(RUN_SPEC, `--batch-size must be a positive integer, got '${bs}'`);
  }
  const output = (p.values.output as string | undefined) ?? 'json';
  if (output !== 'json' && output !== 'text')
    throw usageError(RUN_SPEC, `--output must be json or text, got '${output}'`);
  return {
    program: p.args[0] as string,
    ...(typeof p.values.udf === 'string' ? { udf: p.values.udf } : {}),
    inputs,
    batchSize,
    output,
    steps: p.values.steps === true,
    explain: p.values.explain === true,
  };
}
