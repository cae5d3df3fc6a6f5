/**
 * The one structured log format of Holdfast (manager and pipeline processes), on pino: one JSON object per
 * line,
 *
 *   {"level":"info","time":"2026-12-06T12:00:00.000Z","pipeline":"orders","msg":"checkpoint pulled successfully","uuid":"…"}
 *
 * - `level` is the level's name (`trace`, `debug`, `info`, `warn`, `error`, `fatal`), not pino's number: easier
 *   to read and to grep; `time` is ISO 8601 (UTC, milliseconds); `msg` is the message; `pipeline` names the
 *   pipeline (lines about one); `component: "manager"` marks lines the manager wrote; every other field is the
 *   call's own.
 * - Secrets never leak (DESIGN.md invariant 6): pino's `redact` paths censor Authorization headers and
 *   secret-named keys at the top and first levels, a walk censors secret-named keys at any depth of a logged
 *   object (config objects), and every finished line has the credentials of any URL in it redacted
 *   (`http://user:<redacted>@host`, types/redact-url.ts) — message text included.
 * - Lines are written synchronously to the destination (stderr by default: synchronous for files, pipes and
 *   terminals on Linux), so a process that dies right after logging has still written the line.
 *
 * Stateless apart from the loggers it creates.
 */
import { type Logger, type LoggerOptions, pino } from 'pino';
import { REDACTED_SECRET, redactUrlCredentials } from '../types/redact-url.ts';
import { DEFAULT_LOG_LEVEL, type LogLevel } from './log-level.ts';

export type { Logger } from 'pino';
export * from './log-level.ts';

/** What a logger writes finished lines to (each ends with a newline). */
export interface LineSink {
  write(line: string): void;
}

/** Keys whose values are secrets wherever they appear (the rule of the manager's API redaction, plus authorization). */
const SECRET_KEY = /(secret|password|passwd|token|api_key|apikey|private_key|credential|authorization)/i;

/** pino `redact` paths: the usual places of an Authorization header and of credentials. */
const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.authorization',
  '*.headers.authorization',
  'secret_key',
  '*.secret_key',
  'password',
  '*.password',
  'api_key',
  '*.api_key',
  'token',
  '*.token',
];

export interface LoggerSettings {
  readonly level?: LogLevel;
  /** Fields on every line (e.g. `{pipeline: "orders"}`, `{component: "manager"}`). */
  readonly bindings?: Record<string, unknown>;
  /** Default: the process's stderr. */
  readonly sink?: LineSink;
}

/** pino's options for the Holdfast format (shared by every logger, so manager and pipelines agree). */
export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => redactSecretKeys(obj) as Record<string, unknown>,
    },
    redact: { paths: REDACT_PATHS, censor: REDACTED_SECRET },
  };
}

/** A logger in the Holdfast format writing to `sink` (default stderr). */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const sink = settings.sink ?? process.stderr;
  const logger = pino(loggerOptions(settings.level ?? DEFAULT_LOG_LEVEL), {
    write: (line: string) => sink.write(redactUrlCredentials(line)),
  });
  return settings.bindings ? logger.child(settings.bindings) : logger;
}

/** A logger that writes nothing (library defaults, tests). */
export function silentLogger(): Logger {
  return createLogger({ level: 'silent', sink: { write: () => {} } });
}

/** The `(level, message, fields)` function the engine modules take (controller, sync, connectors, storage). */
export type LogFn = (
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export function logFn(logger: Logger): LogFn {
  return (level, message, fields = {}) => logger[level](fields, message);
}

/** What one HTTP request log line says. */
export interface RequestInfo {
  readonly method: string;
  /** The request target as received (its query string is never logged: it may carry secrets). */
  readonly url: string;
  /** The route template (`/v0/pipelines/{pipeline_name}/start`) when known. */
  readonly route?: string;
  readonly status: number;
  /** Time from the request to the end of the response, in milliseconds. */
  readonly ms: number;
}

/**
 * One line per HTTP request: `method`, `route` (template) and `path` (without the query), `status`,
 * `duration_ms`; never a header. Level `info`, `warn` for 4xx other than 404, `error` for 5xx.
 */
export function logRequest(logger: Logger, r: RequestInfo): void {
  const q = r.url.search(/[?#]/);
  const path = q < 0 ? r.url : r.url.slice(0, q);
  const fields = {
    method: r.method,
    ...(r.route !== undefined ? { route: r.route } : {}),
    path,
    status: r.status,
    duration_ms: Math.round(r.ms * 10) / 10,
  };
  const level = r.status >= 500 ? 'error' : r.status >= 400 && r.status !== 404 ? 'warn' : 'info';
  logger[level](fields, `${r.method} ${path} ${r.status}`);
}

/** String values of secret-named keys censored at any depth (plain objects and arrays; the input is not changed). */
function redactSecretKeys(v: unknown, depth = 0): unknown {
  if (depth > 20 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => redactSecretKeys(x, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>))
    out[k] =
      SECRET_KEY.test(k) && typeof x === 'string' && x !== ''
        ? REDACTED_SECRET
        : redactSecretKeys(x, depth + 1);
  return out;
}
