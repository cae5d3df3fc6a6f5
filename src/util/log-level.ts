/**
 * The log levels of Holdfast (`--log-level` of `holdfast server` and `holdfast pipeline run`, and
 * `HOLDFAST_LOG_LEVEL`) and their parsing; kept apart from util/log.ts so that the CLI does not load pino.
 * Stateless.
 */
import { ServiceError } from '../errors/service-error.ts';

/** The levels `--log-level` and `HOLDFAST_LOG_LEVEL` accept, most verbose first; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
/** The environment variable read when `--log-level` is not given. */
export const LOG_LEVEL_ENV = 'HOLDFAST_LOG_LEVEL';

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/**
 * The level from a `--log-level` flag value, else `HOLDFAST_LOG_LEVEL`, else `info`. A value that is not a
 * level is `InvalidArguments` naming where it came from (exit code 2 in the CLI).
 */
export function resolveLogLevel(
  flag: string | undefined,
  env: string | undefined = process.env[LOG_LEVEL_ENV],
): LogLevel {
  const [value, from] = flag !== undefined ? [flag, '--log-level'] : [env, LOG_LEVEL_ENV];
  if (value === undefined || value === '') return DEFAULT_LOG_LEVEL;
  if (isLogLevel(value)) return value;
  throw new ServiceError(
    'InvalidArguments',
    `${from} must be one of ${LOG_LEVELS.join(', ')}, got '${value}'`,
    { [from === '--log-level' ? 'flag' : 'env']: from, value },
  );
}

/** The `--log-level` option of `holdfast server` and `holdfast pipeline run` (util/args.ts spec). */
export const LOG_LEVEL_OPTION = {
  type: 'string',
  value: 'LEVEL',
  help: `${LOG_LEVELS.join('|')} (default ${LOG_LEVEL_ENV}, else ${DEFAULT_LOG_LEVEL})`,
} as const;
