/**
 * The `holdfast pipeline …` commands, built only on the SDK (`src/client`). The server URL comes from `--url`
 * or `HOLDFAST_URL` (default http://127.0.0.1:8080), the API key from `--api-key` or `HOLDFAST_API_KEY`.
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
import { mib, SyncProgressReporter } from './progress.ts';

export const PIPELINE_USAGE = `usage: holdfast [--url URL] [--api-key KEY] [--format text|json] pipeline <command> ...

commands:
  create NAME --sql FILE [--description TEXT] [--runtime-config JSON]   create a pipeline (compiles its SQL)
  update NAME [--sql FILE] [--description TEXT] [--runtime-config JSON] change a stopped pipeline
  list | get NAME | status NAME | stats NAME                              inspect
  start NAME [--initial running|paused|standby] [--bootstrap-policy allow|reject|await_approval] [--no-wait]
                                                                          start and wait for Running/Paused/
                                                                          Standby (or AwaitingApproval)
  activate NAME [--initial running|paused] [--no-wait] [--timeout SECS]   make a standby take over and wait
                                                                          until it runs (default 300 s)
  approve NAME                                                            approve bootstrapping a changed program
  stop NAME [--force] [--no-wait]                                         stop (--force: without a checkpoint)
  pause NAME | resume NAME                                                pause or resume processing
  delete NAME [--clear-storage]                                           delete a stopped pipeline
  clear NAME [--no-wait]                                                  clear a stopped pipeline's storage
  checkpoint NAME [--wait] | checkpoints NAME [--remote]                  take a checkpoint; list local checkpoints
                                                                          (--remote: those in the sync bucket)
  sync NAME [--wait] [--timeout SECS]                                     push the newest checkpoint to object
                                                                          storage (--wait: show progress, wait)
  logs NAME [--follow]                                                    print the pipeline's log
  query NAME SQL                                                          ad-hoc query over materialized views
  ingest NAME TABLE FILE [--data-format json|csv] [--update-format F] [--no-wait]   push a file of records
  listen NAME VIEW [--snapshot] [--count N]                               print a view's changes as they happen

environment: HOLDFAST_URL, HOLDFAST_API_KEY. Exit codes: 0 ok, 1 server error, 2 bad arguments, 3 unreachable/timeout.`;

class UsageError extends Error {}

interface Parsed {
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

const BOOLEAN_FLAGS = new Set([
  '--no-wait',
  '--force',
  '--follow',
  '--snapshot',
  '--clear-storage',
  '--wait',
  '--remote',
]);

function parse(args: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(0, eq), a.slice(eq + 1));
    else if (BOOLEAN_FLAGS.has(a)) flags.set(a, true);
    else {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      flags.set(a, v);
    }
  }
  return { positional, flags };
}

function str(p: Parsed, flag: string): string | undefined {
  const v = p.flags.get(flag);
  return typeof v === 'string' ? v : undefined;
}

function need(p: Parsed, i: number, what: string): string {
  const v = p.positional[i];
  if (v === undefined) throw new UsageError(`missing ${what}`);
  return v;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function jsonFlag(p: Parsed, flag: string): Record<string, unknown> | undefined {
  const v = str(p, flag);
  if (v === undefined) return undefined;
  const text = v.startsWith('@') ? readText(v.slice(1)) : v;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${flag} is not valid JSON: ${(e as Error).message}`);
  }
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

/** Terminal access beyond line output (tests replace it). */
export interface CliIo {
  /** Raw stderr writer, no newline added (the progress bar); default `process.stderr.write`. */
  readonly writeErr?: (s: string) => void;
  /** Whether stderr is a terminal (draw a progress bar); default `process.stderr.isTTY`. */
  readonly stderrIsTTY?: boolean;
  /** Clock for the progress display; default `Date.now`. */
  readonly now?: () => number;
}

/** Runs a `pipeline` command; returns the exit code. `out` receives stdout lines, `err` stderr lines. */
export async function runPipelineCli(
  globalArgs: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
  io: CliIo = {},
): Promise<number> {
  let p: Parsed;
  try {
    p = parse(globalArgs);
  } catch (e) {
    err(`error: ${(e as Error).message}\n\n${PIPELINE_USAGE}`);
    return 2;
  }
  const format = str(p, '--format') ?? 'text';
  const url = str(p, '--url') ?? process.env.HOLDFAST_URL ?? 'http://127.0.0.1:8080';
  const apiKey = str(p, '--api-key') ?? process.env.HOLDFAST_API_KEY;
  const client = new HoldfastClient({ url, ...(apiKey ? { apiKey } : {}) });
  const show = (v: unknown, text: () => string) =>
    out(format === 'json' ? JSON.stringify(v, null, 2) : text());
  try {
    if (format !== 'text' && format !== 'json')
      throw new UsageError(`--format must be text or json, got '${format}'`);
    const cmd = need(p, 0, 'command');
    const name = () => need(p, 1, 'pipeline NAME');
    const pipeline = () => client.pipeline(name());
    const wait = p.flags.get('--no-wait') !== true;
    switch (cmd) {
      case 'create':
      case 'update': {
        const sqlPath = str(p, '--sql');
        const opts = {
          name: name(),
          description: str(p, '--description'),
          runtimeConfig: jsonFlag(p, '--runtime-config'),
        };
        let info: unknown;
        if (cmd === 'create') {
          if (!sqlPath) throw new UsageError('create needs --sql FILE');
          const created = await Pipeline.create(client, { ...opts, sql: readText(sqlPath) } as Parameters<
            typeof Pipeline.create
          >[1]);
          info = await created.describe();
        } else {
          const body: Record<string, unknown> = {};
          if (sqlPath) body.program_code = readText(sqlPath);
          if (opts.description !== undefined) body.description = opts.description;
          if (opts.runtimeConfig !== undefined) body.runtime_config = opts.runtimeConfig;
          info = await client.patchPipeline(opts.name, body);
        }
        const d = info as {
          name: string;
          program_status: string;
          program_error?: { sql_compilation?: { messages?: Array<{ message: string }> } };
        };
        show(
          info,
          () =>
            `${d.name}: program ${d.program_status}${d.program_status === 'SqlError' ? `\n${(d.program_error?.sql_compilation?.messages ?? []).map((m) => `  ${m.message}`).join('\n')}` : ''}`,
        );
        return d.program_status === 'SqlError' ? 1 : 0;
      }
      case 'list': {
        const list = (await client.listPipelines('status')) as unknown as Array<Record<string, unknown>>;
        show(list, () =>
          list.length === 0
            ? 'no pipelines'
            : table(list, ['name', 'deployment_status', 'program_status', 'description']),
        );
        return 0;
      }
      case 'get': {
        const d = (await client.getPipeline(name(), 'all')) as unknown as Record<string, unknown>;
        show(d, () =>
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
      }
      case 'status': {
        const s = await pipeline().status();
        show({ status: s }, () => s);
        return 0;
      }
      case 'stats': {
        const s = await client.stats(name());
        const g = s.global_metrics as unknown as Record<string, unknown>;
        show(s, () =>
          [
            'state',
            'total_input_records',
            'total_processed_records',
            'buffered_input_records',
            'total_completed_steps',
            'pipeline_complete',
          ]
            .map((k) => `${k}: ${String(g[k])}`)
            .join('\n'),
        );
        return 0;
      }
      case 'start': {
        const initial = str(p, '--initial') ?? 'running';
        if (initial !== 'running' && initial !== 'paused' && initial !== 'standby')
          throw new UsageError(`--initial must be running, paused or standby, got '${initial}'`);
        const policy = str(p, '--bootstrap-policy');
        if (policy !== undefined && !['allow', 'reject', 'await_approval'].includes(policy))
          throw new UsageError(`--bootstrap-policy must be allow, reject or await_approval, got '${policy}'`);
        await pipeline().start({
          initial,
          wait,
          timeoutMs: 60_000,
          ...(policy !== undefined
            ? { bootstrapPolicy: policy as 'allow' | 'reject' | 'await_approval' }
            : {}),
        });
        const status = wait ? await pipeline().status() : 'starting';
        show({ status }, () =>
          status === 'AwaitingApproval'
            ? `${name()}: awaiting approval: the program changed since the checkpoint (see the diff in \`holdfast pipeline get ${name()}\`); run \`holdfast pipeline approve ${name()}\` to bootstrap`
            : status === 'Standby'
              ? `${name()}: in standby (pulling checkpoints; \`holdfast pipeline activate ${name()}\` takes over)`
              : `${name()}: ${wait ? 'started' : 'starting'}`,
        );
        return 0;
      }
      case 'activate': {
        const initial = str(p, '--initial') ?? 'running';
        if (initial !== 'running' && initial !== 'paused')
          throw new UsageError(`--initial must be running or paused, got '${initial}'`);
        const timeout = str(p, '--timeout');
        const timeoutS = timeout === undefined ? 300 : Number(timeout);
        if (!(timeoutS > 0))
          throw new UsageError(`--timeout must be a positive number of seconds, got '${timeout}'`);
        const n = name();
        const now = io.now ?? Date.now;
        const started = now();
        const status = await pipeline().activate({ initial, wait, timeoutMs: timeoutS * 1000 });
        const seconds = (now() - started) / 1000;
        if (status === null) {
          show({ status: 'Activating', initial }, () => `pipeline '${n}' activating (initial=${initial})`);
          return 0;
        }
        show({ status, seconds }, () =>
          status === 'AwaitingApproval'
            ? `pipeline '${n}' activated: AwaitingApproval (took ${seconds.toFixed(1)} s): the program changed since the checkpoint; run \`holdfast pipeline approve ${n}\` to bootstrap`
            : `pipeline '${n}' activated: ${status} (took ${seconds.toFixed(1)} s)`,
        );
        return 0;
      }
      case 'approve': {
        await pipeline().approve();
        show({ status: 'Bootstrap approved' }, () => `${name()}: bootstrap approved`);
        return 0;
      }
      case 'stop': {
        await pipeline().stop({ force: p.flags.get('--force') === true, wait, timeoutMs: 60_000 });
        show({ status: 'Stopped' }, () => `${name()}: stopped`);
        return 0;
      }
      case 'pause':
      case 'resume': {
        await (cmd === 'pause' ? pipeline().pause({ wait }) : pipeline().resume({ wait }));
        show(
          { status: cmd === 'pause' ? 'Paused' : 'Running' },
          () => `${name()}: ${cmd === 'pause' ? 'paused' : 'resumed'}`,
        );
        return 0;
      }
      case 'delete': {
        await pipeline().delete({ clearStorage: p.flags.get('--clear-storage') === true });
        show({ deleted: name() }, () => `${name()}: deleted`);
        return 0;
      }
      case 'clear': {
        await pipeline().clearStorage({ wait, timeoutMs: 60_000 });
        show(
          { storage_status: wait ? 'Cleared' : 'Clearing' },
          () => `${name()}: storage ${wait ? 'cleared' : 'clearing'}`,
        );
        return 0;
      }
      case 'checkpoint': {
        const wait = p.flags.get('--wait') === true;
        const seq = await pipeline().checkpoint({ wait, timeoutMs: 120_000 });
        show(
          { checkpoint_sequence_number: seq, status: wait ? 'Success' : 'Requested' },
          () => `${name()}: checkpoint ${seq} ${wait ? 'written' : 'requested'}`,
        );
        return 0;
      }
      case 'checkpoints': {
        if (p.flags.get('--remote') === true) {
          const remote = (await pipeline().remoteCheckpoints()) as unknown as Array<Record<string, unknown>>;
          show(remote, () =>
            remote.length === 0
              ? 'no remote checkpoints'
              : table(remote, ['uuid', 'created_at', 'steps', 'processed_records', 'size', 'source']),
          );
          return 0;
        }
        const list = (await pipeline().checkpoints()) as unknown as Array<Record<string, unknown>>;
        show(list, () =>
          list.length === 0 ? 'no checkpoints' : table(list, ['uuid', 'steps', 'processed_records', 'size']),
        );
        return 0;
      }
      case 'sync': {
        const wait = p.flags.get('--wait') === true;
        const timeout = str(p, '--timeout');
        const timeoutS = timeout === undefined ? undefined : Number(timeout);
        if (timeoutS !== undefined && !(timeoutS > 0))
          throw new UsageError(`--timeout must be a positive number of seconds, got '${timeout}'`);
        const n = name();
        if (!wait) {
          const uuid = await pipeline().syncCheckpoint();
          show(
            { checkpoint_uuid: uuid, status: 'Requested' },
            () => `${n}: sync of checkpoint ${uuid} requested`,
          );
          return 0;
        }
        const now = io.now ?? Date.now;
        const started = now();
        const reporter = new SyncProgressReporter({
          name: n,
          tty: io.stderrIsTTY ?? process.stderr.isTTY === true,
          write: io.writeErr ?? ((s) => process.stderr.write(s)),
          line: err,
          now,
        });
        const handle = pipeline();
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
        show(
          { checkpoint_uuid: uuid, status: 'Success' },
          () => `${n}: checkpoint ${uuid} synced (${mib(bytes)} MiB in ${seconds.toFixed(1)} s)`,
        );
        return 0;
      }
      case 'logs': {
        const follow = p.flags.get('--follow') === true;
        const lines = pipeline().logs();
        const idle = follow ? null : setTimeout(() => lines.close(), 300);
        for await (const l of lines) {
          out(l);
          if (idle) idle.refresh();
        }
        return 0;
      }
      case 'query': {
        const sql = need(p, 2, 'SQL');
        if (format === 'json') {
          for await (const row of pipeline().query(sql)) out(JSON.stringify(row));
        } else out((await pipeline().queryTabular(sql)).trimEnd());
        return 0;
      }
      case 'ingest': {
        const tableName = need(p, 2, 'TABLE');
        const body = readText(need(p, 3, 'FILE'));
        const dataFormat = (str(p, '--data-format') ??
          (/\.csv$/i.test(p.positional[3] ?? '') ? 'csv' : 'json')) as 'json' | 'csv';
        const updateFormat = str(p, '--update-format');
        const r = await client.ingress(name(), tableName, body, {
          format: dataFormat,
          ...(updateFormat ? { updateFormat: updateFormat as 'insert_delete' } : {}),
        });
        if (wait) await pipeline().waitForToken(r.token, { timeoutMs: 120_000 });
        show(
          r,
          () => `${name()}: ingested into ${tableName}${wait ? ' (processed)' : ` (token ${r.token})`}`,
        );
        return 0;
      }
      case 'listen': {
        const view = need(p, 2, 'VIEW');
        const count = str(p, '--count') === undefined ? Number.POSITIVE_INFINITY : Number(str(p, '--count'));
        if (!(count > 0)) throw new UsageError('--count must be a positive number');
        let n = 0;
        const stream = pipeline().listen(view, { sendSnapshot: p.flags.get('--snapshot') === true });
        for await (const change of stream) {
          out(JSON.stringify(change));
          if (++n >= count) {
            stream.close();
            break;
          }
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}\n\n${PIPELINE_USAGE}`);
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
