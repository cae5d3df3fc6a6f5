/**
 * The command-line specifications of `holdfast pipeline …`: one {@link CommandSpec} per subcommand, from which
 * the parser (src/util/args.ts) checks arguments and the help texts are rendered. The dispatcher in cli.ts has
 * exactly one handler per key of {@link PIPELINE_COMMANDS} (enforced by its type), so the help cannot list a
 * command that does not exist nor miss one that does. Pure data.
 */
import { type CommandSpec, commandSynopsis, type OptionSpecs } from '../util/args.ts';
import { LOG_LEVEL_OPTION } from '../util/log-level.ts';

/** Options of every remote `pipeline` subcommand, accepted before `pipeline` or after the subcommand. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  url: {
    type: 'string',
    value: 'URL',
    help: 'the server (default HOLDFAST_URL, else http://127.0.0.1:8080)',
  },
  'api-key': { type: 'string', value: 'KEY', help: 'bearer API key (default HOLDFAST_API_KEY)' },
  format: { type: 'string', value: 'text|json', help: 'output format (default text)' },
};

const NAME = ['NAME'] as const;
const noWait = { type: 'boolean', help: 'return once the request is accepted; do not wait' } as const;
const runtimeConfig = {
  type: 'string',
  value: 'JSON|@FILE',
  help: 'runtime_config as JSON, or @FILE to read it from a file',
} as const;

export const PIPELINE_COMMANDS = {
  create: {
    name: 'pipeline create',
    summary: 'create a pipeline (compiles its SQL)',
    args: NAME,
    options: {
      sql: { type: 'string', value: 'FILE', required: true, help: 'the program (SQL file)' },
      udf: { type: 'string', value: 'FILE.ts', help: 'TypeScript UDFs (the udf_ts field)' },
      description: { type: 'string', value: 'TEXT', help: 'description' },
      'runtime-config': runtimeConfig,
    },
  },
  update: {
    name: 'pipeline update',
    summary: "change a stopped pipeline's program, description or runtime config",
    args: NAME,
    options: {
      sql: { type: 'string', value: 'FILE', help: 'new program (SQL file)' },
      udf: { type: 'string', value: 'FILE.ts', help: 'new TypeScript UDFs (the udf_ts field)' },
      description: { type: 'string', value: 'TEXT', help: 'new description' },
      'runtime-config': runtimeConfig,
    },
  },
  list: { name: 'pipeline list', summary: 'list pipelines with their status' },
  get: { name: 'pipeline get', summary: "show a pipeline's fields", args: NAME },
  status: {
    name: 'pipeline status',
    summary: "print a pipeline's deployment status (a standby: also its lag and last pulled checkpoint)",
    args: NAME,
  },
  stats: {
    name: 'pipeline stats',
    summary: "print a pipeline's global metrics (a standby: its pull state)",
    args: NAME,
  },
  start: {
    name: 'pipeline start',
    summary: 'start and wait for Running/Paused/Standby (or AwaitingApproval)',
    args: NAME,
    options: {
      initial: {
        type: 'string',
        value: 'running|paused|standby',
        help: 'state to start in (default running)',
      },
      'bootstrap-policy': {
        type: 'string',
        value: 'allow|reject|await_approval',
        help: 'what to do when the program changed since the checkpoint',
      },
      'no-wait': noWait,
    },
  },
  activate: {
    name: 'pipeline activate',
    summary: 'make a standby take over and wait until it runs',
    args: NAME,
    options: {
      initial: {
        type: 'string',
        value: 'running|paused',
        help: 'state after the takeover (default running)',
      },
      'no-wait': noWait,
      timeout: { type: 'string', value: 'SECS', help: 'how long to wait (default 300)' },
    },
  },
  approve: { name: 'pipeline approve', summary: 'approve bootstrapping a changed program', args: NAME },
  stop: {
    name: 'pipeline stop',
    summary: 'stop a pipeline (checkpointing first unless --force)',
    args: NAME,
    options: {
      force: { type: 'boolean', help: 'stop without taking a checkpoint' },
      'no-wait': noWait,
    },
  },
  pause: { name: 'pipeline pause', summary: 'pause processing', args: NAME, options: { 'no-wait': noWait } },
  resume: {
    name: 'pipeline resume',
    summary: 'resume processing',
    args: NAME,
    options: { 'no-wait': noWait },
  },
  delete: {
    name: 'pipeline delete',
    summary: 'delete a stopped pipeline',
    args: NAME,
    options: { 'clear-storage': { type: 'boolean', help: 'also clear its storage' } },
  },
  clear: {
    name: 'pipeline clear',
    summary: "clear a stopped pipeline's storage (waits until Cleared)",
    args: NAME,
    options: { 'no-wait': noWait },
  },
  checkpoint: {
    name: 'pipeline checkpoint',
    summary: 'take a checkpoint',
    args: NAME,
    options: { wait: { type: 'boolean', help: 'wait until it is written' } },
  },
  checkpoints: {
    name: 'pipeline checkpoints',
    summary: 'list local checkpoints (--remote: those in the sync bucket)',
    args: NAME,
    options: { remote: { type: 'boolean', help: 'list the sync bucket instead' } },
  },
  sync: {
    name: 'pipeline sync',
    summary: 'push the newest checkpoint to object storage',
    args: NAME,
    options: {
      wait: { type: 'boolean', help: 'show progress on stderr and wait until it is synced' },
      timeout: { type: 'string', value: 'SECS', help: 'how long to wait (with --wait)' },
    },
  },
  logs: {
    name: 'pipeline logs',
    summary: "print the pipeline's log",
    args: NAME,
    options: { follow: { type: 'boolean', help: 'keep printing new lines' } },
  },
  query: {
    name: 'pipeline query',
    summary: 'ad-hoc query over materialized views (a table, or JSON lines with --format json)',
    args: ['NAME', 'SQL'],
    options: {
      hash: {
        type: 'boolean',
        help: "print only the result's hash (format=hash: compares results without moving them)",
      },
    },
  },
  ingest: {
    name: 'pipeline ingest',
    summary: 'push a file of records into a table and wait until processed',
    args: ['NAME', 'TABLE', 'FILE'],
    options: {
      'data-format': {
        type: 'string',
        value: 'json|csv|parquet',
        help: 'default: csv for *.csv files, parquet for *.parquet, else json',
      },
      'update-format': { type: 'string', value: 'F', help: 'JSON update format (default insert_delete)' },
      'no-wait': noWait,
    },
  },
  listen: {
    name: 'pipeline listen',
    summary: "print a view's changes as JSON lines as they happen",
    args: ['NAME', 'VIEW'],
    options: {
      snapshot: { type: 'boolean', help: "start with the view's current contents" },
      count: { type: 'string', value: 'N', help: 'exit after N changes' },
    },
  },
  run: {
    name: 'pipeline run',
    summary: 'run one pipeline process in the foreground with its own HTTP API (no server)',
    options: {
      config: {
        type: 'string',
        value: 'FILE',
        required: true,
        help: 'JSON: program_code, optional http {bind, port}, initial, runtime-config fields',
      },
      'log-level': LOG_LEVEL_OPTION,
    },
  },
} as const satisfies Record<string, CommandSpec>;

export type PipelineCommand = keyof typeof PIPELINE_COMMANDS;

/** The `pipeline` command itself: its global options. */
export const PIPELINE_SPEC: CommandSpec = {
  name: 'pipeline',
  summary: 'drive pipelines on a server (or run one pipeline process)',
  args: ['COMMAND'],
  options: GLOBAL_OPTIONS,
};

export function isPipelineCommand(s: string): s is PipelineCommand {
  return Object.hasOwn(PIPELINE_COMMANDS, s);
}

export const PIPELINE_USAGE = `usage: holdfast [--url URL] [--api-key KEY] [--format text|json] pipeline <command> ...

commands:
${Object.values(PIPELINE_COMMANDS)
  .map((s: CommandSpec) => `  ${commandSynopsis(s).slice('pipeline '.length)}\n      ${s.summary}`)
  .join('\n')}

'holdfast pipeline help COMMAND' (or 'holdfast pipeline COMMAND --help') shows a command's options.
The global options may also follow the command. Environment: HOLDFAST_URL, HOLDFAST_API_KEY.
Exit codes: 0 ok, 1 server error, 2 bad arguments, 3 unreachable/timeout.`;
