/**
 * The `holdfast` command table and dispatcher: one entry per top-level command (its spec for the parser and
 * the help, and its handler). The top-level help is rendered from this table and from the `pipeline`
 * subcommand table (src/cli/commands.ts), so it lists exactly the commands that exist. Arguments are parsed
 * by node:util `parseArgs` in strict mode (src/util/args.ts): unknown options and extra arguments are
 * `InvalidArguments` (exit code 2) before the command does anything. This is the only module that may import
 * both the engine (for commands that run in this process) and the control-plane CLI. The heavy modules (the
 * manager, the pipeline process, the compiler's report, the program diff) are imported when their command runs,
 * so short commands (`--help`, `pipeline …` against a server, `program compile`) start fast. Stateless.
 */

import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPipelineCli } from '../cli/cli.ts';
import { GLOBAL_OPTIONS, PIPELINE_COMMANDS } from '../cli/commands.ts';
import { byteLimit } from '../errors/http-reply.ts';
import { ServiceError } from '../errors/service-error.ts';
import type { Manager } from '../manager/api.ts';
import { parseRunArgs, RUN_SPEC } from '../runner/run-args.ts';
import { redactUrlCredentials } from '../types/redact-url.ts';
import { type CommandSpec, commandHelp, commandList, parseCommand, usageError } from '../util/args.ts';
import { createLogger, LOG_LEVEL_OPTION, type LogLevel, resolveLogLevel } from '../util/log.ts';

/** What the process gives the dispatcher. */
export interface MainEnv {
  /** Path of the executable script (the manager starts pipeline processes with it). */
  readonly mainScript: string;
}

/** Exit code, or -1: keep running (a server) until a signal. */
type TopHandler = (args: readonly string[], env: MainEnv) => Promise<number>;

const SERVER_SPEC: CommandSpec = {
  name: 'server',
  summary: "the manager: serves Feldera's /v0 API and runs pipelines as processes",
  options: {
    'data-dir': {
      type: 'string',
      value: 'DIR',
      help: 'registry and pipeline directories (default holdfast-data)',
    },
    bind: { type: 'string', value: 'ADDR', help: 'address to listen on (default 127.0.0.1)' },
    port: { type: 'string', value: 'N', help: 'port; 0 = any free port (default 8080)' },
    'api-key': { type: 'string', value: 'KEY', help: 'require this bearer key (default HOLDFAST_API_KEY)' },
    'max-body-bytes': {
      type: 'string',
      value: 'N',
      help: 'largest JSON request body (default HOLDFAST_MAX_BODY_BYTES, else 16 MiB)',
    },
    'restart-backoff': {
      type: 'string',
      value: 'MS',
      help: 'wait before restarting a crashed pipeline process, doubled per crash in a row (default 250)',
    },
    'log-level': LOG_LEVEL_OPTION,
  },
  notes:
    'Prints {"event":"listening","url":...,"port":N} on stdout once it listens; stops on SIGTERM/SIGINT.\n' +
    "Logs JSON lines on stderr; each pipeline's log is kept in <data-dir>/pipelines/<id>/logs/.",
};

const PROGRAM_COMPILE_SPEC: CommandSpec = {
  name: 'program compile',
  summary: 'compile SQL read from stdin; print the compile report as JSON (used by the server)',
  options: {
    json: {
      type: 'boolean',
      help: 'stdin is {"program_code": SQL, "udf_ts": TypeScript} instead of the SQL alone',
    },
  },
  notes:
    'usage: holdfast program compile < PROGRAM.sql\n' +
    '       holdfast program compile --json < {"program_code": SQL, "udf_ts": TS}\n' +
    '       holdfast program diff < {"old": SQL, "new": SQL, "old_udf_ts"?: TS, "new_udf_ts"?: TS}  (prints {"diff": ...} or {"error": ...}; used by the server)',
};

const PIPELINE_TOP_SPEC: CommandSpec = {
  name: 'pipeline',
  summary: "drive a server's pipelines (see 'holdfast help pipeline')",
  args: ['COMMAND'],
  optionalArgs: ['ARGS...'],
};

const HELP_SPEC: CommandSpec = {
  name: 'help',
  summary: "show help: of every command, or of one ('holdfast help pipeline start')",
  optionalArgs: ['COMMAND', 'SUBCOMMAND'],
};

const VERSION_SPEC: CommandSpec = {
  name: 'version',
  summary: "print holdfast's version (also 'holdfast --version' or '-V')",
};

/** The spec of `holdfast WORDS…`, for `holdfast help WORDS…`; undefined when there is no such command. */
function specOf(words: readonly string[]): CommandSpec | undefined {
  const [cmd, sub, ...more] = words;
  if (more.length > 0) return undefined;
  if (cmd === 'pipeline' && sub !== undefined)
    return Object.hasOwn(PIPELINE_COMMANDS, sub)
      ? PIPELINE_COMMANDS[sub as keyof typeof PIPELINE_COMMANDS]
      : undefined;
  if (cmd === 'program' && (sub === undefined || sub === 'compile')) return PROGRAM_COMPILE_SPEC;
  if (sub !== undefined || cmd === undefined || !Object.hasOwn(COMMANDS, cmd)) return undefined;
  return COMMANDS[cmd as TopCommand].spec;
}

/** The version in holdfast's package.json (found by walking up from this file). */
export function holdfastVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'holdfast' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: keep walking up
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/** `--log-level` of `spec` (else HOLDFAST_LOG_LEVEL, else info); a bad value is a usage error (exit 2). */
function logLevelOf(spec: CommandSpec, flag: string | undefined): LogLevel {
  try {
    return resolveLogLevel(flag);
  } catch (e) {
    throw usageError(spec, (e as Error).message);
  }
}

/** The top-level commands. `pipeline` and `program` take subcommands. */
export const COMMANDS = {
  run: {
    spec: RUN_SPEC,
    handler: async (args) => {
      const options = parseRunArgs(args);
      if (options === null) {
        process.stdout.write(`${commandHelp(RUN_SPEC)}\n`);
        return 0;
      }
      const lines: string[] = [];
      const flush = () => {
        if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
        lines.length = 0;
      };
      const { runCommand } = await import('../runner/run-command.ts');
      await runCommand(options, (l) => {
        lines.push(l);
        if (lines.length >= 1000) flush();
      });
      flush();
      return 0;
    },
  },
  server: {
    spec: SERVER_SPEC,
    handler: async (args, env) => {
      const p = parseCommand(SERVER_SPEC, args);
      if (p.help) {
        process.stdout.write(`${commandHelp(SERVER_SPEC)}\n`);
        return 0;
      }
      const opt = (name: string) => p.values[name] as string | undefined;
      const port = Number(opt('port') ?? 8080);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw usageError(SERVER_SPEC, `--port must be 0..65535, got '${opt('port')}'`);
      const bind = opt('bind') ?? '127.0.0.1';
      const bodyFlag = opt('max-body-bytes') ?? process.env.HOLDFAST_MAX_BODY_BYTES;
      const maxBodyBytes = byteLimit(bodyFlag, '--max-body-bytes (HOLDFAST_MAX_BODY_BYTES)');
      const logLevel = logLevelOf(SERVER_SPEC, opt('log-level'));
      const dataDir = opt('data-dir') ?? 'holdfast-data';
      const backoffFlag = opt('restart-backoff');
      const restartBackoffMs = backoffFlag === undefined ? undefined : Number(backoffFlag);
      if (restartBackoffMs !== undefined && !(Number.isInteger(restartBackoffMs) && restartBackoffMs >= 0))
        throw usageError(
          SERVER_SPEC,
          `--restart-backoff must be a whole number of milliseconds, got '${backoffFlag}'`,
        );
      const log = createLogger({ level: logLevel, bindings: { component: 'manager' } });
      const { Manager: ManagerClass } = await import('../manager/api.ts');
      const manager: Manager = new ManagerClass({
        ...(maxBodyBytes !== null ? { maxBodyBytes } : {}),
        ...(restartBackoffMs !== undefined ? { restartBackoffMs } : {}),
        dataDir,
        apiKey: opt('api-key') ?? process.env.HOLDFAST_API_KEY ?? null,
        mainScript: env.mainScript,
        logSink: process.stderr,
        logLevel,
      });
      await new Promise<void>((resolve, reject) => {
        manager.server.once('error', reject);
        manager.server.listen(port, bind, resolve);
      });
      manager.resume();
      const actual = (manager.server.address() as AddressInfo).port;
      const url = `http://${bind}:${actual}`;
      log.info(
        { url, data_dir: dataDir, pid: process.pid, log_level: logLevel },
        `manager listening on ${url}`,
      );
      process.stdout.write(`${JSON.stringify({ event: 'listening', url, port: actual })}\n`);
      const stop = (signal: string) => {
        log.info({ signal }, `received ${signal}, stopping the manager (pipelines stop and restart with it)`);
        manager.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
        setTimeout(() => process.exit(0), 8000).unref();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      return -1;
    },
  },
  pipeline: {
    spec: PIPELINE_TOP_SPEC,
    handler: (args) =>
      runPipelineCli(
        args,
        (l) => process.stdout.write(`${l}\n`),
        (l) => process.stderr.write(`${redactUrlCredentials(l)}\n`),
        {
          runPipelineProcess: async (configPath, logLevel) => {
            const { runPipelineProcess } = await import('../server/pipeline-main.ts');
            await runPipelineProcess(configPath, logLevel);
            return -1; // keep running until a signal
          },
        },
      ),
  },
  program: {
    spec: PROGRAM_COMPILE_SPEC,
    handler: async (args) => {
      // `holdfast program compile`: SQL on stdin → Feldera-shaped compile report on stdout (used by the manager).
      // `holdfast program diff`: {"old", "new"} on stdin → {"diff"} or {"error"} on stdout (used by the manager).
      if (args[0] === 'diff') {
        let text = '';
        for await (const chunk of process.stdin) text += chunk;
        let input: unknown = null;
        try {
          input = JSON.parse(text);
        } catch {}
        const { programDiffReport } = await import('./program-diff.ts');
        process.stdout.write(`${JSON.stringify(await programDiffReport(input))}\n`);
        return 0;
      }
      if (args[0] !== 'compile') {
        if (args[0] === '--help' || args[0] === '-h' || args[0] === undefined) {
          process.stdout.write(`${commandHelp(PROGRAM_COMPILE_SPEC)}\n`);
          return args[0] === undefined ? 2 : 0;
        }
        throw usageError(PROGRAM_COMPILE_SPEC, `unknown subcommand '${args[0]}'`);
      }
      const parsed = parseCommand(PROGRAM_COMPILE_SPEC, args.slice(1));
      if (parsed.help) {
        process.stdout.write(`${commandHelp(PROGRAM_COMPILE_SPEC)}\n`);
        return 0;
      }
      let text = '';
      for await (const chunk of process.stdin) text += chunk;
      let sql = text;
      let udfTs = '';
      if (parsed.values.json === true) {
        let body: { program_code?: unknown; udf_ts?: unknown } = {};
        try {
          body = JSON.parse(text);
        } catch {}
        if (typeof body?.program_code !== 'string')
          throw new ServiceError(
            'InvalidArguments',
            'program compile --json reads {"program_code": SQL, "udf_ts": TS} on stdin',
            {},
          );
        sql = body.program_code;
        udfTs = typeof body.udf_ts === 'string' ? body.udf_ts : '';
      }
      const { compileReport } = await import('../sql/program-info.ts');
      process.stdout.write(`${JSON.stringify(await compileReport(sql, udfTs))}\n`);
      return 0;
    },
  },
  help: {
    spec: HELP_SPEC,
    handler: async (args) => {
      const p = parseCommand(HELP_SPEC, args);
      if (p.help || p.args.length === 0) {
        process.stdout.write(`${p.help ? commandHelp(HELP_SPEC) : topLevelHelp()}\n`);
        return 0;
      }
      if (p.args.length === 1 && p.args[0] === 'pipeline') {
        return runPipelineCli(
          ['help'],
          (l) => process.stdout.write(`${l}\n`),
          () => {},
        );
      }
      const spec = specOf(p.args);
      if (!spec)
        throw usageError(HELP_SPEC, `no such command: '${p.args.join(' ')}'; 'holdfast help' lists them`);
      process.stdout.write(`${commandHelp(spec)}\n`);
      return 0;
    },
  },
  version: {
    spec: VERSION_SPEC,
    handler: async (args) => {
      if (parseCommand(VERSION_SPEC, args).help) process.stdout.write(`${commandHelp(VERSION_SPEC)}\n`);
      else process.stdout.write(`${holdfastVersion()}\n`);
      return 0;
    },
  },
} as const satisfies Record<string, { spec: CommandSpec; handler: TopHandler }>;

export type TopCommand = keyof typeof COMMANDS;

/** Every command `holdfast` has, as help lists it: top-level ones, then each `pipeline` subcommand. */
export function allCommandSpecs(): CommandSpec[] {
  return [
    COMMANDS.run.spec,
    COMMANDS.server.spec,
    ...Object.values(PIPELINE_COMMANDS),
    PROGRAM_COMPILE_SPEC,
    COMMANDS.help.spec,
    COMMANDS.version.spec,
  ];
}

function withRequiredOptionsOnly(s: CommandSpec): CommandSpec {
  return { ...s, options: Object.fromEntries(Object.entries(s.options ?? {}).filter(([, o]) => o.required)) };
}

export function topLevelHelp(): string {
  const global = Object.entries(GLOBAL_OPTIONS)
    .map(([name, o]) => `  --${name} ${o.value}`.padEnd(46) + o.help)
    .join('\n');
  return `holdfast ${holdfastVersion()} — incremental SQL pipelines that survive crashes and disasters

usage: holdfast [--url URL] [--api-key KEY] [--format text|json] <command> [options]

commands:
${commandList(allCommandSpecs().map(withRequiredOptionsOnly))}

options of the pipeline commands (before 'pipeline' or after the command):
${global}
  -h, --help                                  show help ('holdfast COMMAND --help': a command's options)
  -V, --version                               print the version

'holdfast help COMMAND' or 'holdfast COMMAND --help' shows a command's options, e.g. 'holdfast help pipeline start'.
Exit codes: 0 ok, 1 error, 2 bad arguments, 3 server unreachable or a wait timed out (pipeline commands).`;
}

/** Runs `holdfast ARGV…`; returns the exit code (-1: keep running until a signal). */
export async function main(argv: readonly string[], env: MainEnv): Promise<number> {
  // Global options (--url, --api-key, --format) may come before the command; -V/--version and -h/--help too.
  let i = 0;
  while (i < argv.length && (argv[i] as string).startsWith('-')) {
    const a = argv[i] as string;
    if (a === '--version' || a === '-V') return COMMANDS.version.handler(argv.slice(i + 1));
    if (a === '--help' || a === '-h') return COMMANDS.help.handler(argv.slice(i + 1));
    const name = a.replace(/^-+/, '');
    if (!Object.hasOwn(GLOBAL_OPTIONS, name.split('=')[0] as string)) {
      throw new ServiceError('InvalidArguments', `holdfast: unknown option '${a}' (see 'holdfast --help')`);
    }
    i += name.includes('=') ? 1 : 2;
  }
  const cmd = argv[i];
  if (cmd === undefined) {
    process.stderr.write(`${topLevelHelp()}\n`);
    return 2;
  }
  const rest = argv.slice(i + 1);
  if (!Object.hasOwn(COMMANDS, cmd))
    throw new ServiceError('InvalidArguments', `holdfast: unknown command '${cmd}' (see 'holdfast --help')`);
  if (i > 0 && cmd !== 'pipeline')
    throw new ServiceError(
      'InvalidArguments',
      `holdfast: ${argv.slice(0, i).join(' ')} applies to the pipeline commands only, not to '${cmd}'`,
    );
  if (cmd === 'pipeline') return COMMANDS.pipeline.handler([...argv.slice(0, i), ...rest]);
  return COMMANDS[cmd as TopCommand].handler(rest, env);
}
