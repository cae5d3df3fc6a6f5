/**
 * Command-line parsing for every `holdfast` command, on node:util `parseArgs` in strict mode. A command is
 * described once by a {@link CommandSpec} (its positional arguments, options and help text): `parseCommand`
 * rejects unknown options, missing or extra positional arguments, missing required options and option values
 * of the wrong kind with an `InvalidArguments` error that names the offending argument and points to the
 * command's help (`holdfast CMD --help`); `commandHelp` renders that help and `commandSynopsis` the one-line
 * form the command lists use. Every command accepts `-h`/`--help`. Stateless.
 */
import { parseArgs } from 'node:util';
import { ServiceError } from '../errors/service-error.ts';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Repeatable (values collected in order). */
  readonly multiple?: boolean;
  /** The command fails without it (unless `--help` is given). */
  readonly required?: boolean;
  /** Placeholder for the value in help texts (`FILE`, `running|paused`). */
  readonly value?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec {
  /** The words that select the command: `run`, `pipeline start`. */
  readonly name: string;
  /** One line: what the command does. */
  readonly summary: string;
  /** Required positional arguments, in order (`NAME`, `TABLE`). */
  readonly args?: readonly string[];
  /** Optional positional arguments after the required ones. */
  readonly optionalArgs?: readonly string[];
  readonly options?: OptionSpecs;
  /** More help text, printed after the options. */
  readonly notes?: string;
}

export interface ParsedCommand {
  /** `--help`/`-h` was given: print the help, nothing else was checked. */
  readonly help: boolean;
  readonly args: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' };

/** The bad-arguments error: names the problem and where the command's help is. */
export function usageError(spec: CommandSpec, message: string): ServiceError {
  return new ServiceError(
    'InvalidArguments',
    `holdfast ${spec.name}: ${message}; see 'holdfast ${spec.name} --help'`,
  );
}

/**
 * Parses `argv` (the arguments after the command's words) against `spec`; `extra` are options accepted too
 * but documented elsewhere (the global `--url`, `--api-key`, `--format`). Throws `InvalidArguments`.
 */
export function parseCommand(
  spec: CommandSpec,
  argv: readonly string[],
  extra: OptionSpecs = {},
): ParsedCommand {
  const all: Record<string, OptionSpec> = { ...extra, ...spec.options, help: HELP_OPTION };
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(all))
    config[name] = {
      type: o.type,
      ...(o.short !== undefined ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  let parsed: {
    values: Record<string, string | boolean | Array<string | boolean> | undefined>;
    positionals: string[];
  };
  try {
    parsed = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: true });
  } catch (e) {
    throw usageError(spec, parseArgsMessage(e, Object.keys(all)));
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help === true) return { help: true, args: parsed.positionals, values };
  const required = spec.args ?? [];
  const max = required.length + (spec.optionalArgs?.length ?? 0);
  const pos = parsed.positionals;
  if (pos.length < required.length) throw usageError(spec, `missing ${required[pos.length]}`);
  if (pos.length > max)
    throw usageError(
      spec,
      `unexpected argument '${pos[max]}'${max === 0 ? ' (this command takes no arguments)' : ` (it takes ${[...required, ...(spec.optionalArgs ?? []).map((a) => `[${a}]`)].join(' ')})`}`,
    );
  for (const [name, o] of Object.entries(spec.options ?? {}))
    if (o.required && values[name] === undefined)
      throw usageError(spec, `missing --${name} ${o.value ?? ''}`.trimEnd());
  return { help: false, args: pos, values };
}

/** A readable message from a `parseArgs` error, with a "did you mean" for a misspelled option. */
function parseArgsMessage(e: unknown, known: readonly string[]): string {
  const err = e as { code?: string; message?: string };
  const quoted = /'([^']+)'/.exec(err.message ?? '')?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = quoted;
    const bare = flag.replace(/^-+/, '').split('=')[0] as string;
    const near = known.filter((k) => k.length > 1 && editDistance(k, bare) <= 2);
    return `unknown option '${flag}'${near.length > 0 ? ` (did you mean ${near.map((k) => `--${k}`).join(' or ')}?)` : ''}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = quoted.split(' ')[0] as string;
    const msg = err.message ?? '';
    if (msg.includes('does not take an argument')) return `option '${flag}' takes no value`;
    if (msg.includes('ambiguous'))
      return `option '${flag}' needs a value (to pass a value starting with '-', write ${flag}=VALUE)`;
    return `option '${flag}' needs a value`;
  }
  return (err.message ?? String(e)).split('\n')[0] as string;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j] as number;
      row[j] = Math.min(up + 1, (row[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length] as number;
}

function optionWord(name: string, o: OptionSpec): string {
  return o.type === 'boolean' ? `--${name}` : `--${name} ${o.value ?? 'VALUE'}${o.multiple ? ' ...' : ''}`;
}

/** `pipeline start NAME [--initial running|paused|standby] [--no-wait]` (without the leading `holdfast`). */
export function commandSynopsis(spec: CommandSpec): string {
  const parts = [spec.name, ...(spec.args ?? []), ...(spec.optionalArgs ?? []).map((a) => `[${a}]`)];
  for (const [name, o] of Object.entries(spec.options ?? {}))
    parts.push(o.required ? optionWord(name, o) : `[${optionWord(name, o)}]`);
  return parts.join(' ');
}

/** The full help of one command: usage, summary, options, notes. `prefix` goes before the command's words. */
export function commandHelp(spec: CommandSpec, prefix = 'holdfast'): string {
  const opts = Object.entries({ ...spec.options, help: HELP_OPTION });
  const words = opts.map(([name, o]) => `${o.short ? `-${o.short}, ` : ''}${optionWord(name, o)}`);
  const width = Math.max(...words.map((w) => w.length)) + 2;
  const lines = [
    `usage: ${prefix} ${commandSynopsis(spec)}`,
    '',
    spec.summary,
    '',
    'options:',
    ...opts.map(([, o], i) => `  ${(words[i] as string).padEnd(width)}${o.help}`),
  ];
  if (spec.notes) lines.push('', spec.notes);
  return lines.join('\n');
}

/** Two columns: each command's synopsis and its summary (on the next line when the synopsis is long). */
export function commandList(specs: readonly CommandSpec[], indent = '  ', column = 46): string {
  const lines: string[] = [];
  for (const s of specs) {
    const syn = `${indent}${commandSynopsis(s)}`;
    if (syn.length + 2 <= column) lines.push(`${syn.padEnd(column)}${s.summary}`);
    else lines.push(syn, `${' '.repeat(column)}${s.summary}`);
  }
  return lines.join('\n');
}
