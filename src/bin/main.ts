/**
 * The `holdfast` executable: dispatches to a command. This is the only module that may import both the engine
 * (for commands that run a program in this process) and the control-plane CLI.
 */
import { isServiceError, ServiceError, toServiceError } from '../errors/service-error.ts';
import { parseRunArgs, RUN_USAGE, runCommand } from '../runner/run-command.ts';
import { runPipelineProcess } from '../server/pipeline-main.ts';

const HELP = `holdfast — incremental SQL pipelines that survive crashes and disasters

usage: holdfast <command> [options]

commands:
  run PROGRAM.sql --input TABLE=FILE.jsonl ...   run a program over input files and print every view
  pipeline run --config FILE                     run one pipeline process with its HTTP API (see README)
  help [command]                                 show help

${RUN_USAGE}`;

async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
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
    case 'pipeline': {
      if (rest[0] === 'run') {
        const i = rest.indexOf('--config');
        const path =
          i >= 0 ? rest[i + 1] : rest.find((a) => a.startsWith('--config='))?.slice('--config='.length);
        if (!path) throw new ServiceError('InvalidArguments', 'usage: holdfast pipeline run --config FILE');
        await runPipelineProcess(path);
        return -1; // keep running until a signal
      }
      throw new ServiceError(
        'InvalidArguments',
        `unknown pipeline command '${rest[0] ?? ''}'; available here: pipeline run --config FILE`,
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
    process.stderr.write(`error [${err.errorCode}]: ${err.message}\n`);
    process.exitCode = isServiceError(e) && e.errorCode === 'InvalidArguments' ? 2 : 1;
  },
);
