/**
 * The `holdfast pipeline …` commands, built only on the SDK (`src/client`). The server URL comes from `--url`
 * or `HOLDFAST_URL` (default http://127.0.0.1:8080), the API key from `--api-key` or `HOLDFAST_API_KEY`.
 * Arguments are checked against each command's spec (commands.ts) by node:util `parseArgs` in strict mode
 * before anything is sent: an unknown option or an extra argument is exit code 2 and no request. One handler
 * per command in HANDLERS, typed to match the specs exactly. Stateless.
 *
 * Exit codes scripts can rely on: 0 success; 1 the server answered with an error (printed as
 * `error [Code]: message`); 2 bad command-line arguments; 3 the server could not be reached or a wait timed out.
 */
import { readFileSync } from 'node:fs';
import {
  type ApiError,
  type ClientError,
  HoldfastClient,
  isApiError,
  isClientError,
  Pipeline,
} from '../client/index.ts';
import { isServiceError, type ServiceError } from '../errors/service-error.ts';
import type { PipelineInfo, StandbyStatus } from '../types/pipeline-api.ts';
import {
  type CommandSpec,
  commandHelp,
  commandSynopsis,
  type ParsedCommand,
  parseCommand,
  usageError,
} from '../util/args.ts';
import { type LogLevel, resolveLogLevel } from '../util/log-level.ts';
import {
  GLOBAL_OPTIONS,
  isPipelineCommand,
  PIPELINE_COMMANDS,
  PIPELINE_SPEC,
  PIPELINE_USAGE,
  type PipelineCommand,
} from './commands.ts';
import { mib, SyncProgressReporter } from './progress.ts';

export { PIPELINE_USAGE } from './commands.ts';

type Values = ParsedCommand['values'];

/** What a command handler gets: its parsed arguments, the client and the output channels. */
interface Ctx {
  readonly spec: CommandSpec;
  readonly args: readonly string[];
  readonly values: Values;
  readonly client: HoldfastClient;
  readonly format: 'text' | 'json';
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  readonly io: CliIo;
  /** Prints `v` as JSON with --format json, else `text()`. */
  show(v: unknown, text: () => string): void;
}

function str(c: Ctx, option: string): string | undefined {
  const v = c.values[option];
  return typeof v === 'string' ? v : undefined;
}

function flag(c: Ctx, option: string): boolean {
  return c.values[option] === true;
}

/** The NAME argument (every command but `list` and `run` has it first). */
function nameOf(c: Ctx): string {
  return c.args[0] as string;
}

function pipelineOf(c: Ctx): Pipeline {
  return c.client.pipeline(nameOf(c));
}

function bad(c: Ctx, message: string): ServiceError {
  return usageError(c.spec, message);
}

function readText(c: Ctx, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw bad(c, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function readBytes(c: Ctx, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw bad(c, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function jsonOption(c: Ctx, option: string): Record<string, unknown> | undefined {
  const v = str(c, option);
  if (v === undefined) return undefined;
  const text = v.startsWith('@') ? readText(c, v.slice(1)) : v;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw bad(c, `--${option} is not valid JSON: ${(e as Error).message}`);
  }
}

function secondsOption(c: Ctx, option: string): number | undefined {
  const v = str(c, option);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw bad(c, `--${option} must be a positive number of seconds, got '${v}'`);
  return n;
}

function table(rows: Array<Record<string, unknown>>, cols: string[]): string {
  const cells = rows.map((r) => cols.map((c) => (r[c] === null || r[c] === undefined ? '' : String(r[c]))));
  const widths = cols.map((c, j) => Math.max(c.length, ...cells.map((r) => (r[j] as string).length)));
  const line = (xs: string[]) =>
    xs
      .map((x, j) => x.padEnd(widths[j] as number))
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

/** A value for text output: `-` for a missing one, never `undefined`. */
function shown(v: unknown): string {
  if (v === undefined || v === null) return '-';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** `key: value` lines of a standby's pull state (`runtime_status_details.standby`). */
export function standbyLines(sb: Partial<StandbyStatus>): string[] {
  const lag = sb.last_pulled_age_seconds;
  const err = sb.last_error;
  const warm = sb.warm;
  return [
    `following: ${shown(sb.start_from_checkpoint)}${typeof sb.pull_interval === 'number' ? ` (pulls every ${sb.pull_interval} s)` : ''}`,
    `last_pulled_checkpoint: ${sb.last_pulled_checkpoint ?? 'none yet'}${sb.last_pulled_source ? ` (from ${sb.last_pulled_source})` : ''}`,
    `last_pulled_at: ${sb.last_pulled_at ?? 'never'}`,
    `lag: ${typeof lag === 'number' ? `${lag.toFixed(1)} s (age of the last pulled checkpoint)` : 'unknown (nothing pulled yet)'}`,
    `pulls: ${shown(sb.pulls)} succeeded, ${shown(sb.pull_failures)} failed of ${shown(sb.pull_attempts)} attempts`,
    ...(err ? [`last_error: ${err.message} (at ${err.at})`] : []),
    `pulled: ${mib(sb.bytes_pulled ?? 0)} MiB in ${shown(sb.files_pulled ?? 0)} files`,
    `next_pull_in: ${typeof sb.next_pull_in_seconds === 'number' ? `${sb.next_pull_in_seconds.toFixed(1)} s` : '-'}`,
    `warm: ${warm ? `${warm.checkpoint} loaded (${warm.mode}, ${warm.seconds.toFixed(1)} s)` : sb.warm_error ? `no: ${sb.warm_error}` : 'no'}`,
    ...(sb.activation_requested ? ['activation: requested'] : []),
  ];
}

const GLOBAL_STATS = [
  'state',
  'total_input_records',
  'total_processed_records',
  'buffered_input_records',
  'total_completed_steps',
  'pipeline_complete',
] as const;

type Handler = (c: Ctx) => Promise<number>;

async function createOrUpdate(c: Ctx, cmd: 'create' | 'update'): Promise<number> {
  const sqlPath = str(c, 'sql');
  const udfPath = str(c, 'udf');
  const name = nameOf(c);
  const description = str(c, 'description');
  const runtimeConfig = jsonOption(c, 'runtime-config');
  let info: PipelineInfo;
  if (cmd === 'create') {
    const created = await Pipeline.create(c.client, {
      name,
      description,
      runtimeConfig,
      sql: readText(c, sqlPath as string),
      ...(udfPath !== undefined ? { udfTs: readText(c, udfPath) } : {}),
    } as Parameters<typeof Pipeline.create>[1]);
    info = await created.describe();
  } else {
    const body: Record<string, unknown> = {};
    if (sqlPath !== undefined) body.program_code = readText(c, sqlPath);
    if (udfPath !== undefined) body.udf_ts = readText(c, udfPath);
    if (description !== undefined) body.description = description;
    if (runtimeConfig !== undefined) body.runtime_config = runtimeConfig;
    info = await c.client.patchPipeline(name, body);
  }
  const d = info;
  c.show(
    info,
    () =>
      `${d.name}: program ${d.program_status}${d.program_status === 'SqlError' ? `\n${(d.program_error?.sql_compilation?.messages ?? []).map((m) => `  ${m.message}`).join('\n')}` : ''}`,
  );
  return d.program_status === 'SqlError' ? 1 : 0;
}

/** One handler per command of {@link PIPELINE_COMMANDS} (`run` only when the binary supplies it). */
const HANDLERS: { readonly [K in PipelineCommand]: Handler } = {
  create: (c) => createOrUpdate(c, 'create'),
  update: (c) => createOrUpdate(c, 'update'),
  list: async (c) => {
    const list = (await c.client.listPipelines('status')) as unknown as Array<Record<string, unknown>>;
    c.show(list, () =>
      list.length === 0
        ? 'no pipelines'
        : table(list, ['name', 'deployment_status', 'program_status', 'description']),
    );
    return 0;
  },
  get: async (c) => {
    const d = (await c.client.getPipeline(nameOf(c), 'all')) as unknown as Record<string, unknown>;
    c.show(d, () =>
      [
        'name',
        'description',
        'program_status',
        'deployment_status',
        'deployment_desired_status',
        'storage_status',
        'deployment_error',
        'created_at',
        'version',
      ]
        .map(
          (k) =>
            `${k}: ${typeof d[k] === 'object' && d[k] !== null ? JSON.stringify(d[k]) : String(d[k] ?? '')}`,
        )
        .join('\n'),
    );
    return 0;
  },
  status: async (c) => {
    let status: string;
    let standby: Partial<StandbyStatus> | null = null;
    try {
      const d = await c.client.getPipeline(nameOf(c), 'status');
      status = d.deployment_status;
      const sb = d.deployment_runtime_status_details?.standby;
      if (status === 'Standby' && typeof sb === 'object' && sb !== null)
        standby = sb as Partial<StandbyStatus>;
    } catch (e) {
      if (!(isApiError(e) && e.status === 404)) throw e;
      status = 'NotFound';
    }
    c.show(standby ? { status, standby } : { status }, () =>
      [status, ...(standby ? standbyLines(standby).map((l) => `  ${l}`) : [])].join('\n'),
    );
    return 0;
  },
  stats: async (c) => {
    const s = await c.client.stats(nameOf(c));
    const g = (s.global_metrics ?? {}) as unknown as Record<string, unknown>;
    // a standby's pull state is in the pipeline's runtime details (`/stats` keeps Feldera's keys)
    const sb =
      g.state === 'Standby'
        ? ((await c.client.getPipeline(nameOf(c), 'status')).deployment_runtime_status_details?.standby as
            | Partial<StandbyStatus>
            | undefined)
        : undefined;
    c.show(s, () =>
      [
        ...GLOBAL_STATS.filter((k) => g[k] !== undefined).map((k) => `${k}: ${shown(g[k])}`),
        ...(typeof sb === 'object' && sb !== null ? standbyLines(sb) : []),
      ].join('\n'),
    );
    return 0;
  },
  start: async (c) => {
    const n = nameOf(c);
    const wait = !flag(c, 'no-wait');
    const initial = str(c, 'initial') ?? 'running';
    if (initial !== 'running' && initial !== 'paused' && initial !== 'standby')
      throw bad(c, `--initial must be running, paused or standby, got '${initial}'`);
    const policy = str(c, 'bootstrap-policy');
    if (policy !== undefined && !['allow', 'reject', 'await_approval'].includes(policy))
      throw bad(c, `--bootstrap-policy must be allow, reject or await_approval, got '${policy}'`);
    await pipelineOf(c).start({
      initial,
      wait,
      timeoutMs: 60_000,
      ...(policy !== undefined ? { bootstrapPolicy: policy as 'allow' | 'reject' | 'await_approval' } : {}),
    });
    const status = wait ? await pipelineOf(c).status() : 'starting';
    c.show({ status }, () =>
      status === 'AwaitingApproval'
        ? `${n}: awaiting approval: the program changed since the checkpoint (see the diff in \`holdfast pipeline get ${n}\`); run \`holdfast pipeline approve ${n}\` to bootstrap`
        : status === 'Standby'
          ? `${n}: in standby (pulling checkpoints; \`holdfast pipeline activate ${n}\` takes over)`
          : `${n}: ${wait ? 'started' : 'starting'}`,
    );
    return 0;
  },
  activate: async (c) => {
    const n = nameOf(c);
    const initial = str(c, 'initial') ?? 'running';
    if (initial !== 'running' && initial !== 'paused')
      throw bad(c, `--initial must be running or paused, got '${initial}'`);
    const timeoutS = secondsOption(c, 'timeout') ?? 300;
    const now = c.io.now ?? Date.now;
    const started = now();
    const status = await pipelineOf(c).activate({
      initial,
      wait: !flag(c, 'no-wait'),
      timeoutMs: timeoutS * 1000,
    });
    const seconds = (now() - started) / 1000;
    if (status === null) {
      c.show({ status: 'Activating', initial }, () => `pipeline '${n}' activating (initial=${initial})`);
      return 0;
    }
    c.show({ status, seconds }, () =>
      status === 'AwaitingApproval'
        ? `pipeline '${n}' activated: AwaitingApproval (took ${seconds.toFixed(1)} s): the program changed since the checkpoint; run \`holdfast pipeline approve ${n}\` to bootstrap`
        : `pipeline '${n}' activated: ${status} (took ${seconds.toFixed(1)} s)`,
    );
    return 0;
  },
  approve: async (c) => {
    await pipelineOf(c).approve();
    c.show({ status: 'Bootstrap approved' }, () => `${nameOf(c)}: bootstrap approved`);
    return 0;
  },
  stop: async (c) => {
    await pipelineOf(c).stop({ force: flag(c, 'force'), wait: !flag(c, 'no-wait'), timeoutMs: 60_000 });
    c.show({ status: 'Stopped' }, () => `${nameOf(c)}: stopped`);
    return 0;
  },
  pause: async (c) => {
    await pipelineOf(c).pause({ wait: !flag(c, 'no-wait') });
    c.show({ status: 'Paused' }, () => `${nameOf(c)}: paused`);
    return 0;
  },
  resume: async (c) => {
    await pipelineOf(c).resume({ wait: !flag(c, 'no-wait') });
    c.show({ status: 'Running' }, () => `${nameOf(c)}: resumed`);
    return 0;
  },
  delete: async (c) => {
    await pipelineOf(c).delete({ clearStorage: flag(c, 'clear-storage') });
    c.show({ deleted: nameOf(c) }, () => `${nameOf(c)}: deleted`);
    return 0;
  },
  clear: async (c) => {
    const wait = !flag(c, 'no-wait');
    await pipelineOf(c).clearStorage({ wait, timeoutMs: 60_000 });
    c.show(
      { storage_status: wait ? 'Cleared' : 'Clearing' },
      () => `${nameOf(c)}: storage ${wait ? 'cleared' : 'clearing'}`,
    );
    return 0;
  },
  checkpoint: async (c) => {
    const wait = flag(c, 'wait');
    const seq = await pipelineOf(c).checkpoint({ wait, timeoutMs: 120_000 });
    c.show(
      { checkpoint_sequence_number: seq, status: wait ? 'Success' : 'Requested' },
      () => `${nameOf(c)}: checkpoint ${seq} ${wait ? 'written' : 'requested'}`,
    );
    return 0;
  },
  checkpoints: async (c) => {
    if (flag(c, 'remote')) {
      const remote = await pipelineOf(c).remoteCheckpoints();
      // the table names who pushed each checkpoint (the bucket's owner then) and under which ownership epoch
      const rows = remote.map((r) => ({ ...r, pushed_by: r.pushed_by?.pipeline_name ?? '' }));
      c.show(remote, () =>
        remote.length === 0
          ? 'no remote checkpoints'
          : table(rows, [
              'uuid',
              'created_at',
              'steps',
              'processed_records',
              'size',
              'source',
              'epoch',
              'pushed_by',
            ]),
      );
      return 0;
    }
    const list = (await pipelineOf(c).checkpoints()) as unknown as Array<Record<string, unknown>>;
    c.show(list, () =>
      list.length === 0 ? 'no checkpoints' : table(list, ['uuid', 'steps', 'processed_records', 'size']),
    );
    return 0;
  },
  sync: async (c) => {
    const timeoutS = secondsOption(c, 'timeout');
    const n = nameOf(c);
    if (!flag(c, 'wait')) {
      const uuid = await pipelineOf(c).syncCheckpoint();
      c.show(
        { checkpoint_uuid: uuid, status: 'Requested' },
        () => `${n}: sync of checkpoint ${uuid} requested`,
      );
      return 0;
    }
    const now = c.io.now ?? Date.now;
    const started = now();
    const reporter = new SyncProgressReporter({
      name: n,
      tty: c.io.stderrIsTTY ?? process.stderr.isTTY === true,
      write: c.io.writeErr ?? ((s) => process.stderr.write(s)),
      line: c.err,
      now,
    });
    const handle = pipelineOf(c);
    let uuid: string;
    try {
      uuid = await handle.syncCheckpoint({
        wait: true,
        pollIntervalMs: 250,
        ...(timeoutS !== undefined ? { timeoutMs: timeoutS * 1000 } : {}),
        onProgress: (ev) => reporter.update(ev.uuid, ev.progress),
      });
    } finally {
      reporter.clear();
    }
    // The size and duration the pipeline measured; else what the progress showed and the wall time.
    const lastPush = await handle.syncProgress().then(
      (st) => (st?.last_push?.uuid === uuid ? st.last_push : null),
      () => null,
    );
    const bytes = lastPush?.bytes ?? reporter.last?.bytes_total ?? 0;
    const seconds = lastPush?.duration_seconds ?? (now() - started) / 1000;
    c.show(
      { checkpoint_uuid: uuid, status: 'Success' },
      () => `${n}: checkpoint ${uuid} synced (${mib(bytes)} MiB in ${seconds.toFixed(1)} s)`,
    );
    return 0;
  },
  logs: async (c) => {
    const follow = flag(c, 'follow');
    const lines = pipelineOf(c).logs();
    const idle = follow ? null : setTimeout(() => lines.close(), 300);
    for await (const l of lines) {
      c.out(l);
      if (idle) idle.refresh();
    }
    return 0;
  },
  query: async (c) => {
    const sql = c.args[1] as string;
    if (flag(c, 'hash')) c.out(await pipelineOf(c).queryHash(sql));
    else if (c.format === 'json') {
      for await (const row of pipelineOf(c).query(sql)) c.out(JSON.stringify(row));
    } else c.out((await pipelineOf(c).queryTabular(sql)).trimEnd());
    return 0;
  },
  ingest: async (c) => {
    const n = nameOf(c);
    const tableName = c.args[1] as string;
    const file = c.args[2] as string;
    const dataFormat =
      str(c, 'data-format') ?? (/\.csv$/i.test(file) ? 'csv' : /\.parquet$/i.test(file) ? 'parquet' : 'json');
    if (dataFormat !== 'json' && dataFormat !== 'csv' && dataFormat !== 'parquet')
      throw bad(c, `--data-format must be json, csv or parquet, got '${dataFormat}'`);
    const body = dataFormat === 'parquet' ? readBytes(c, file) : readText(c, file);
    const updateFormat = str(c, 'update-format');
    const r = await c.client.ingress(n, tableName, body, {
      format: dataFormat,
      ...(updateFormat ? { updateFormat: updateFormat as 'insert_delete' } : {}),
    });
    const wait = !flag(c, 'no-wait');
    if (wait) await pipelineOf(c).waitForToken(r.token, { timeoutMs: 120_000 });
    c.show(r, () => `${n}: ingested into ${tableName}${wait ? ' (processed)' : ` (token ${r.token})`}`);
    return 0;
  },
  listen: async (c) => {
    const view = c.args[1] as string;
    const countText = str(c, 'count');
    const count = countText === undefined ? Number.POSITIVE_INFINITY : Number(countText);
    if (!(count > 0)) throw bad(c, `--count must be a positive number, got '${countText}'`);
    let n = 0;
    const stream = pipelineOf(c).listen(view, { sendSnapshot: flag(c, 'snapshot') });
    for await (const change of stream) {
      c.out(JSON.stringify(change));
      if (++n >= count) {
        stream.close();
        break;
      }
    }
    return 0;
  },
  run: async (c) => {
    if (!c.io.runPipelineProcess)
      throw bad(c, 'runs a pipeline process in this process: use the holdfast binary');
    let level: LogLevel;
    try {
      level = resolveLogLevel(str(c, 'log-level'));
    } catch (e) {
      throw bad(c, (e as Error).message);
    }
    return c.io.runPipelineProcess(str(c, 'config') as string, level);
  },
};

/** Terminal access beyond line output (tests replace it), and what only the binary can do. */
export interface CliIo {
  /** Raw stderr writer, no newline added (the progress bar); default `process.stderr.write`. */
  readonly writeErr?: (s: string) => void;
  /** Whether stderr is a terminal (draw a progress bar); default `process.stderr.isTTY`. */
  readonly stderrIsTTY?: boolean;
  /** Clock for the progress display; default `Date.now`. */
  readonly now?: () => number;
  /** `pipeline run --config FILE`: runs a pipeline process here; returns the exit code (-1: keep running). */
  readonly runPipelineProcess?: (configPath: string, logLevel: LogLevel) => Promise<number>;
}

/** Where the global options before the command end: the index of the command word. */
function commandIndex(argv: readonly string[]): number {
  let i = 0;
  while (i < argv.length && (argv[i] as string).startsWith('-')) {
    const a = argv[i] as string;
    const name = a.replace(/^-+/, '');
    i += Object.hasOwn(GLOBAL_OPTIONS, name) && GLOBAL_OPTIONS[name]?.type === 'string' ? 2 : 1;
  }
  return Math.min(i, argv.length);
}

/**
 * Runs `holdfast [GLOBAL OPTIONS] pipeline ARGS…`: `argv` is the global options followed by ARGS. Returns the
 * exit code; `out` receives stdout lines, `err` stderr lines.
 */
export async function runPipelineCli(
  argv: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
  io: CliIo = {},
): Promise<number> {
  let spec: CommandSpec = PIPELINE_SPEC;
  try {
    const at = commandIndex(argv);
    const leading = parseCommand({ ...PIPELINE_SPEC, args: [] }, argv.slice(0, at));
    const cmd = argv[at];
    const rest = argv.slice(at + 1);
    if (leading.help || cmd === 'help') {
      const topic = leading.help ? undefined : rest[0];
      if (topic === undefined) {
        out(PIPELINE_USAGE);
        return 0;
      }
      if (!isPipelineCommand(topic) || rest.length > 1)
        throw usageError(PIPELINE_SPEC, `no help for '${rest.join(' ')}': not a pipeline command`);
      out(commandHelp(PIPELINE_COMMANDS[topic]));
      return 0;
    }
    if (cmd === undefined) {
      err(PIPELINE_USAGE);
      return 2;
    }
    if (!isPipelineCommand(cmd)) throw usageError(PIPELINE_SPEC, `unknown command '${cmd}'`);
    spec = PIPELINE_COMMANDS[cmd];
    const parsed = parseCommand(spec, rest, cmd === 'run' ? {} : GLOBAL_OPTIONS);
    if (parsed.help) {
      out(commandHelp(spec));
      return 0;
    }
    const values = { ...leading.values, ...parsed.values };
    const format = (values.format as string | undefined) ?? 'text';
    if (format !== 'text' && format !== 'json')
      throw usageError(spec, `--format must be text or json, got '${format}'`);
    const url = (values.url as string | undefined) ?? process.env.HOLDFAST_URL ?? 'http://127.0.0.1:8080';
    const apiKey = (values['api-key'] as string | undefined) ?? process.env.HOLDFAST_API_KEY;
    const client = new HoldfastClient({ url, ...(apiKey ? { apiKey } : {}) });
    const ctx: Ctx = {
      spec,
      args: parsed.args,
      values,
      client,
      format,
      out,
      err,
      io,
      show: (v, text) => out(format === 'json' ? JSON.stringify(v, null, 2) : text()),
    };
    return await HANDLERS[cmd](ctx);
  } catch (e) {
    // `pipeline run`'s own failures (config, SQL, storage) are the pipeline process's: the binary reports them.
    if (spec === PIPELINE_COMMANDS.run && !(isServiceError(e) && e.errorCode === 'InvalidArguments')) throw e;
    if (isServiceError(e) && e.errorCode === 'InvalidArguments') {
      err(`error [InvalidArguments]: ${e.message}`);
      if (spec !== PIPELINE_SPEC) err(`usage: holdfast ${commandSynopsis(spec)}`);
      return 2;
    }
    if (isApiError(e)) {
      const a = e as ApiError;
      err(`error [${a.errorCode}]: ${a.message}`);
      return 1;
    }
    if (isClientError(e)) {
      const c = e as ClientError;
      err(`error [${c.errorCode}]: ${c.message}`);
      return c.errorCode === 'ConnectionFailed' ||
        c.errorCode === 'RequestTimeout' ||
        c.errorCode === 'WaitTimeout'
        ? 3
        : 1;
    }
    err(`error: ${(e as Error).message}`);
    return 1;
  }
}
