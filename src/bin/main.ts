/**
 * The `holdfast` executable: dispatches to a command. This is the only module that may import both the engine
 * (for commands that run a program in this process) and the control-plane CLI.
 */

import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PIPELINE_USAGE, runPipelineCli } from '../cli/cli.ts';
import { byteLimit } from '../errors/http-reply.ts';
import { isServiceError, ServiceError, toServiceError } from '../errors/service-error.ts';
import { Manager } from '../manager/api.ts';
import { parseRunArgs, RUN_USAGE, runCommand } from '../runner/run-command.ts';
import { runPipelineProcess } from '../server/pipeline-main.ts';
import { compileReport } from '../sql/program-info.ts';
import { redactUrlCredentials } from '../types/redact-url.ts';

const HELP = `holdfast — incremental SQL pipelines that survive crashes and disasters

usage: holdfast <command> [options]

commands:
  run PROGRAM.sql --input TABLE=FILE.jsonl ...   run a program over input files and print every view
  server [--data-dir DIR] [--bind ADDR] [--port N] [--api-key KEY] [--max-body-bytes N]
                                                 the manager: serves Feldera's /v0 API (see README)
  pipeline run --config FILE                     run one pipeline process with its HTTP API (see README)
  pipeline create|list|get|update|delete|start|stop|pause|resume|status|stats|logs|query|ingest|listen
                                                 drive a server (see 'holdfast pipeline help')
  help [command]                                 show help

${RUN_USAGE}`;

async function main(argv: readonly string[]): Promise<number> {
  // global options (--url, --api-key, --format) may come before the command
  const globals: string[] = [];
  let i = 0;
  while (i < argv.length && /^--(url|api-key|format)(=|$)/.test(argv[i] as string)) {
    globals.push(argv[i] as string);
    if (!(argv[i] as string).includes('=') && i + 1 < argv.length) globals.push(argv[++i] as string);
    i++;
  }
  const [cmd, ...rest] = argv.slice(i);
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${HELP}\n`);
      return cmd === undefined ? 2 : 0;
    case 'run': {
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${RUN_USAGE}\n`);
        return 0;
      }
      const lines: string[] = [];
      const flush = () => {
        if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
        lines.length = 0;
      };
      await runCommand(parseRunArgs(rest), (l) => {
        lines.push(l);
        if (lines.length >= 1000) flush();
      });
      flush();
      return 0;
    }
    case 'server': {
      const opt = (flag: string): string | undefined => {
        const i = rest.indexOf(flag);
        if (i >= 0) return rest[i + 1];
        return rest.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
      };
      for (const a of rest) {
        if (
          a.startsWith('--') &&
          !['--data-dir', '--bind', '--port', '--api-key', '--max-body-bytes'].includes(
            a.split('=')[0] as string,
          )
        ) {
          throw new ServiceError(
            'InvalidArguments',
            `unknown option ${a}; usage: holdfast server [--data-dir DIR] [--bind ADDR] [--port N] [--api-key KEY] [--max-body-bytes N]`,
          );
        }
      }
      const port = Number(opt('--port') ?? 8080);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new ServiceError('InvalidArguments', `--port must be 0..65535, got '${opt('--port')}'`);
      const bind = opt('--bind') ?? '127.0.0.1';
      const bodyFlag = opt('--max-body-bytes') ?? process.env.HOLDFAST_MAX_BODY_BYTES;
      const maxBodyBytes = byteLimit(bodyFlag, '--max-body-bytes (HOLDFAST_MAX_BODY_BYTES)');
      const manager = new Manager({
        ...(maxBodyBytes !== null ? { maxBodyBytes } : {}),
        dataDir: opt('--data-dir') ?? 'holdfast-data',
        apiKey: opt('--api-key') ?? process.env.HOLDFAST_API_KEY ?? null,
        mainScript: fileURLToPath(import.meta.url),
        log: (l) => process.stderr.write(`${redactUrlCredentials(l)}\n`),
      });
      await new Promise<void>((resolve, reject) => {
        manager.server.once('error', reject);
        manager.server.listen(port, bind, resolve);
      });
      manager.resume();
      const actual = (manager.server.address() as AddressInfo).port;
      process.stdout.write(
        `${JSON.stringify({ event: 'listening', url: `http://${bind}:${actual}`, port: actual })}\n`,
      );
      const stop = () => {
        manager.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
        setTimeout(() => process.exit(0), 8000).unref();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      return -1;
    }
    case 'program': {
      // `holdfast program compile`: SQL on stdin → Feldera-shaped compile report on stdout (used by the manager).
      if (rest[0] !== 'compile')
        throw new ServiceError('InvalidArguments', 'usage: holdfast program compile < PROGRAM.sql');
      let sql = '';
      for await (const chunk of process.stdin) sql += chunk;
      process.stdout.write(`${JSON.stringify(await compileReport(sql))}\n`);
      return 0;
    }
    case 'pipeline': {
      if (rest[0] === 'run') {
        const i = rest.indexOf('--config');
        const path =
          i >= 0 ? rest[i + 1] : rest.find((a) => a.startsWith('--config='))?.slice('--config='.length);
        if (!path) throw new ServiceError('InvalidArguments', 'usage: holdfast pipeline run --config FILE');
        await runPipelineProcess(path);
        return -1; // keep running until a signal
      }
      if (rest.length === 0 || rest[0] === '--help' || rest[0] === 'help') {
        process.stdout.write(`${PIPELINE_USAGE}\n`);
        return rest.length === 0 ? 2 : 0;
      }
      return runPipelineCli(
        [...globals, ...rest],
        (l) => process.stdout.write(`${l}\n`),
        (l) => process.stderr.write(`${redactUrlCredentials(l)}\n`),
      );
    }
    default:
      process.stderr.write(`holdfast: unknown command '${cmd}'\n\n${HELP}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    const err = toServiceError(e);
    process.stderr.write(`error [${err.errorCode}]: ${redactUrlCredentials(err.message)}\n`);
    process.exitCode = isServiceError(e) && e.errorCode === 'InvalidArguments' ? 2 : 1;
  },
);
