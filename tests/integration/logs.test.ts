/**
 * Logs as an operator meets them, with real processes: `holdfast server` on 127.0.0.1 port 0 and its pipeline
 * processes. A pipeline's log survives a `kill -9` of the manager (files under the pipeline's directory,
 * read back by `GET /logs` and `holdfast pipeline logs`); the manager logs one line per request without the
 * Authorization header or the query; `--log-level warn` keeps info lines out of the manager's and the
 * pipelines' logs; a bad level is exit code 2; deleting a pipeline removes its log files.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { api as kitApi, until as kitUntil, readStreamUntil } from '../kit/index.ts';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');
const SQL =
  'CREATE TABLE t (id INT NOT NULL PRIMARY KEY); CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n FROM t;';
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

interface Server {
  base: string;
  proc: ChildProcess;
  /** The manager's stderr lines so far. */
  stderr: string[];
}

async function startServer(
  dataDir: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<Server> {
  const proc = spawn(process.execPath, [MAIN, 'server', '--data-dir', dataDir, '--port', '0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(proc);
  const stderr: string[] = [];
  createInterface({ input: proc.stderr as NodeJS.ReadableStream }).on('line', (l) => stderr.push(l));
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).once('line', res);
    proc.once('exit', (c) => rej(new Error(`server exited ${c}: ${stderr.join('\n')}`)));
  });
  return { base: (JSON.parse(line) as { url: string }).url, proc, stderr };
}

async function stop(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await done;
}

/** The kit's `api` with a JSON content type on every request. */
const api = (base: string, headers: Record<string, string> = {}) =>
  kitApi(base, { 'content-type': 'application/json', ...headers });

/** The kit's `until`, polling every 100 ms. */
const until = <T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 30_000): Promise<T> =>
  kitUntil(f, ok, what, ms, { intervalMs: 100 });

/** `GET /logs` read until `done` says so (or 5 s), then closed; the lines. */
async function readLogs(
  base: string,
  name: string,
  done: (lines: string[]) => boolean,
  headers: Record<string, string> = {},
): Promise<string[]> {
  const lines = (text: string) => text.split('\n').filter((l) => l !== '');
  const r = await readStreamUntil(`${base}/v0/pipelines/${name}/logs`, (t) => done(lines(t)), { headers });
  assert.equal(r.status, 200);
  assert.match(r.contentType, /^text\/plain/);
  return lines(r.text);
}

const parsed = (lines: readonly string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

test('a pipeline log survives kill -9 of the manager: GET /logs and `holdfast pipeline logs` show it', {
  timeout: 120_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-logs-'));
  let s = await startServer(dataDir);
  let call = api(s.base);
  assert.equal((await call('POST', '/v0/pipelines', { name: 'p', program_code: SQL })).status, 201);
  assert.equal((await call('POST', '/v0/pipelines/p/start')).status, 202);
  const running = (r: { json: Record<string, unknown> }) => r.json.deployment_status === 'Running';
  await until(() => call('GET', '/v0/pipelines/p?selector=status'), running, 'Running');
  const first = (await call('GET', '/v0/pipelines/p')).json.deployment_id as string;
  assert.ok(first);
  const before = await readLogs(s.base, 'p', (l) =>
    l.some((x) => x.includes('runtime status Initializing → Running')),
  );
  const pid1 = parsed(before).find((l) => String(l.msg).startsWith('starting pipeline process'))?.pid;
  assert.equal(typeof pid1, 'number', before.join('\n'));
  assert.ok(
    before.some((l) => l.includes('"msg":"pipeline listening on')),
    "the process's own lines are kept",
  );
  for (const l of parsed(before)) {
    assert.equal(typeof l.level, 'string');
    assert.ok(!Number.isNaN(Date.parse(String(l.time))), JSON.stringify(l));
    assert.equal(l.pipeline, 'p');
  }

  // the manager dies without any chance to flush or clean up; its pipeline stops itself (stdin closes)
  await stop(s.proc, 'SIGKILL');
  await until(
    async () => {
      try {
        process.kill(pid1 as number, 0);
        return true;
      } catch {
        return false;
      }
    },
    (alive) => !alive,
    'the orphaned pipeline process to exit',
  );
  const dir = join(dataDir, 'pipelines', readdirSync(join(dataDir, 'pipelines'))[0] as string, 'logs');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'pipeline.log')).mode & 0o777, 0o600);

  s = await startServer(dataDir);
  call = api(s.base);
  await until(
    () => call('GET', '/v0/pipelines/p?selector=status'),
    running,
    'Running after the manager restart',
  );
  const afterRestart = await readLogs(
    s.base,
    'p',
    (l) => l.filter((x) => x.includes('starting pipeline process')).length >= 2,
  );
  const starts = parsed(afterRestart).filter((l) => String(l.msg).startsWith('starting pipeline process'));
  assert.equal(starts[0]?.pid, pid1, "the first incarnation's lines come first");
  assert.ok(starts.length >= 2, afterRestart.join('\n'));
  assert.ok(
    afterRestart.indexOf(before[0] as string) === 0,
    'history starts with the first line ever written',
  );

  // the CLI prints the same history
  const cli = spawnSync(process.execPath, [MAIN, '--url', s.base, 'pipeline', 'logs', 'p'], {
    encoding: 'utf8',
  });
  assert.equal(cli.status, 0, cli.stderr);
  assert.ok(cli.stdout.includes(`starting pipeline process (pid ${pid1})`), cli.stdout);

  // deleting the pipeline deletes its log files
  await call('POST', '/v0/pipelines/p/stop?force=true');
  await until(
    () => call('GET', '/v0/pipelines/p?selector=status'),
    (r) => r.json.deployment_status === 'Stopped',
    'Stopped',
  );
  await call('POST', '/v0/pipelines/p/clear');
  await until(
    () => call('GET', '/v0/pipelines/p'),
    (r) => r.json.storage_status === 'Cleared',
    'Cleared',
  );
  assert.equal((await call('DELETE', '/v0/pipelines/p')).status, 200);
  assert.equal(existsSync(dir), false, 'the log directory is gone');
  // and so is the rest of its directory: the process config (it holds the sync keys)
  assert.equal(existsSync(dirname(dir)), false, "the pipeline's directory is gone");
  await stop(s.proc);
  assert.ok(
    s.stderr.some((l) => l.includes('"msg":"pipeline deleted (its logs too)"')),
    s.stderr.join('\n'),
  );
});

test('one request log line per request: method, route, status, duration; no Authorization value, no query', {
  timeout: 60_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-logs-'));
  const s = await startServer(dataDir, ['--api-key', 'sekret-key-123']);
  const anon = api(s.base);
  const auth = api(s.base, { authorization: 'Bearer sekret-key-123' });
  assert.equal((await anon('GET', '/v0/pipelines')).status, 401);
  assert.equal((await auth('GET', '/v0/pipelines?secret_token=hunter2')).status, 200);
  assert.equal((await auth('GET', '/v0/pipelines/nope')).status, 404);
  await stop(s.proc);
  const requests = parsed(s.stderr.filter((l) => l.includes('"method"')));
  assert.equal(requests.length, 3, s.stderr.join('\n'));
  assert.deepEqual(
    requests.map((r) => [r.method, r.route, r.path, r.status, r.level]),
    [
      ['GET', '/v0/pipelines', '/v0/pipelines', 401, 'warn'],
      ['GET', '/v0/pipelines', '/v0/pipelines', 200, 'info'],
      ['GET', '/v0/pipelines/{pipeline_name}', '/v0/pipelines/nope', 404, 'info'],
    ],
  );
  for (const r of requests) {
    assert.equal(typeof r.duration_ms, 'number');
    assert.equal(r.component, 'manager');
  }
  const all = s.stderr.join('\n');
  assert.ok(!all.includes('sekret-key-123'), 'the API key is never logged');
  assert.ok(!all.includes('hunter2'), 'the query string is never logged');
});

test('--log-level warn keeps info lines out of the manager log and the pipeline log; warnings still show', {
  timeout: 90_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-logs-'));
  const s = await startServer(dataDir, ['--log-level', 'warn']);
  const call = api(s.base);
  // `workers` is accepted without effect: the pipeline process logs a warning about it at every start
  const created = await call('POST', '/v0/pipelines', {
    name: 'w',
    program_code: SQL,
    runtime_config: { workers: 4 },
  });
  assert.equal(created.status, 201, created.text);
  await call('POST', '/v0/pipelines/w/start');
  await until(
    () => call('GET', '/v0/pipelines/w?selector=status'),
    (r) => r.json.deployment_status === 'Running',
    'Running',
  );
  const lines = await readLogs(s.base, 'w', (l) => l.some((x) => x.includes('runtime_config.workers')));
  assert.ok(
    lines.some((l) => l.includes('runtime_config.workers')),
    `the warning is kept: ${lines.join('\n')}`,
  );
  for (const l of parsed(lines)) assert.notEqual(l.level, 'info', JSON.stringify(l));
  await call('POST', '/v0/pipelines/w/stop?force=true');
  await until(
    () => call('GET', '/v0/pipelines/w?selector=status'),
    (r) => r.json.deployment_status === 'Stopped',
    'Stopped',
  );
  await stop(s.proc);
  for (const l of s.stderr) assert.doesNotMatch(l, /"level":"(info|debug|trace)"/);
});

test('an unknown log level is exit code 2 naming the flag (server, pipeline run) or the variable', {
  timeout: 30_000,
}, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-logs-'));
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [MAIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 20_000,
    });
  const server = run(['server', '--data-dir', dataDir, '--port', '0', '--log-level', 'loud']);
  assert.equal(server.status, 2, server.stderr);
  assert.match(
    server.stderr,
    /--log-level must be one of trace, debug, info, warn, error, fatal, silent, got 'loud'/,
  );
  assert.doesNotMatch(server.stderr, /at .*\.ts:\d+/, 'no stack trace');
  const env = run(['server', '--data-dir', dataDir, '--port', '0'], { HOLDFAST_LOG_LEVEL: 'chatty' });
  assert.equal(env.status, 2, env.stderr);
  assert.match(env.stderr, /HOLDFAST_LOG_LEVEL must be one of .*got 'chatty'/);
  const pipeline = run(['pipeline', 'run', '--config', join(dataDir, 'none.json'), '--log-level', 'LOUD']);
  assert.equal(pipeline.status, 2, pipeline.stderr);
  assert.match(pipeline.stderr, /--log-level must be one of/);
  const help = run(['server', '--help']);
  assert.match(
    help.stdout,
    /--log-level LEVEL +trace\|debug\|info\|warn\|error\|fatal\|silent \(default HOLDFAST_LOG_LEVEL, else info\)/,
  );
  assert.match(run(['pipeline', 'run', '--help']).stdout, /--log-level/);
});

test('a pipeline run alone logs JSON lines on stderr at its level', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-logs-'));
  const cfg = join(dir, 'p.json');
  writeFileSync(cfg, JSON.stringify({ name: 'solo', program_code: SQL, workers: 2 }));
  const lines = async (level: string) => {
    const p = spawn(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg, '--log-level', level], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(p);
    const err: string[] = [];
    createInterface({ input: p.stderr as NodeJS.ReadableStream }).on('line', (l) => err.push(l));
    await new Promise<string>((res) =>
      createInterface({ input: p.stdout as NodeJS.ReadableStream }).once('line', res),
    );
    await stop(p);
    return parsed(err);
  };
  const info = await lines('info');
  assert.ok(
    info.some((l) => l.level === 'info' && String(l.msg).startsWith('pipeline listening')),
    JSON.stringify(info),
  );
  assert.ok(info.every((l) => l.pipeline === 'solo' && typeof l.time === 'string'));
  const warn = await lines('warn');
  assert.ok(warn.length > 0 && warn.every((l) => l.level === 'warn'), JSON.stringify(warn));
  assert.ok(!existsSync(join(dir, 'logs')), 'a pipeline run alone keeps no log files');
});

test('what a crashing process printed is kept: unstructured stderr wrapped (redacted), then the exit and restart', {
  timeout: 90_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-logs-'));
  // preloaded into the pipeline process (not the manager or the compiler): once, it prints plain text and dies
  const marker = join(dataDir, 'crashed-once');
  const preload = join(dataDir, 'crash-once.cjs');
  writeFileSync(
    preload,
    `const fs = require('node:fs');
if (process.argv.includes('run') && process.argv.includes('--config') && !fs.existsSync(${JSON.stringify(marker)})) {
  fs.writeFileSync(${JSON.stringify(marker)}, '');
  setTimeout(() => {
    fs.writeSync(2, 'FATAL: out of luck talking to http://bob:hunter2@store:9000\\n');
    process.exit(7);
  }, 1000);
}
`,
  );
  const s = await startServer(dataDir, [], { NODE_OPTIONS: `--require ${preload}` });
  const call = api(s.base);
  await call('POST', '/v0/pipelines', { name: 'c', program_code: SQL });
  await call('POST', '/v0/pipelines/c/start');
  await until(
    () => call('GET', '/v0/pipelines/c?selector=status'),
    (r) => r.json.deployment_status === 'Running' && existsSync(marker),
    'Running after one crash',
  );
  const lines = await readLogs(
    s.base,
    'c',
    (l) => l.filter((x) => x.includes('starting pipeline process')).length >= 2,
  );
  const text = lines.join('\n');
  assert.ok(!text.includes('hunter2'), text);
  const raw = parsed(lines).find((l) => l.stream === 'stderr');
  assert.deepEqual(
    { level: raw?.level, pipeline: raw?.pipeline, msg: raw?.msg },
    { level: 'error', pipeline: 'c', msg: 'FATAL: out of luck talking to http://bob:<redacted>@store:9000' },
  );
  const exit = parsed(lines).find((l) => String(l.msg).includes('exited unexpectedly'));
  assert.equal(exit?.msg, 'pipeline process exited unexpectedly (exit code 7); restart #1');
  assert.equal(exit?.exit_code, 7);
  assert.equal(exit?.restart, 1);
  assert.ok(lines.indexOf(JSON.stringify(raw)) < lines.findIndex((l) => l.includes('exited unexpectedly')));
  await call('POST', '/v0/pipelines/c/stop?force=true');
  await stop(s.proc);
});
