/**
 * `holdfast pipeline …` as a user runs it against a real `holdfast server`: every command, text and JSON
 * output, and the exit codes scripts rely on (0 ok, 1 server error, 2 bad arguments, 3 unreachable). Also the
 * real binary's argument handling: `--version`, the help listing every command of the dispatcher's tables,
 * `CMD --help`, unknown options and extra arguments (exit 2, nothing done), and `npx holdfast` in the checkout.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { COMMANDS, topLevelHelp } from '../../src/bin/dispatch.ts';
import { PIPELINE_COMMANDS } from '../../src/cli/commands.ts';
import { commandSynopsis } from '../../src/util/args.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/bin/main.ts');
let server: ChildProcess | null = null;
after(() => server?.kill('SIGTERM'));

function cli(url: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [MAIN, '--url', url, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOLDFAST_API_KEY: '' },
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => res({ code: code ?? -1, out, err }));
  });
}

test('the CLI drives a pipeline end to end', { timeout: 150_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-cli-'));
  server = spawn(process.execPath, [MAIN, 'server', '--data-dir', join(dir, 'data'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const url = (
    JSON.parse(
      await new Promise<string>((r) =>
        createInterface({ input: server?.stdout as NodeJS.ReadableStream }).once('line', r),
      ),
    ) as { url: string }
  ).url;
  writeFileSync(
    join(dir, 'p.sql'),
    'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT);\nCREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(x) AS total FROM t;',
  );
  writeFileSync(join(dir, 'bad.sql'), 'CREATE VIEW v AS SELECT y FROM nowhere;');
  writeFileSync(join(dir, 'rows.json'), '{"insert": {"id": 1, "x": 40}}\n{"insert": {"id": 2, "x": 2}}\n');
  writeFileSync(join(dir, 'rows.csv'), '3,100\n');

  const created = await cli(
    url,
    'pipeline',
    'create',
    'demo',
    '--sql',
    join(dir, 'p.sql'),
    '--description',
    'cli test',
  );
  assert.equal(created.code, 0, created.err);
  assert.match(created.out, /demo: program Success/);
  // A misspelled option is refused before anything is sent: the pipeline stays stopped.
  const typo = await cli(url, 'pipeline', 'start', 'demo', '--intial', 'paused');
  assert.equal(typo.code, 2);
  assert.match(typo.err, /unknown option '--intial' \(did you mean --initial\?\)/);
  const extra = await cli(url, 'pipeline', 'start', 'demo', 'paused');
  assert.equal(extra.code, 2);
  assert.match(extra.err, /unexpected argument 'paused'/);
  assert.equal((await cli(url, 'pipeline', 'status', 'demo')).out.trim(), 'Stopped');
  const bad = await cli(url, 'pipeline', 'create', 'broken', '--sql', join(dir, 'bad.sql'));
  assert.equal(bad.code, 1);
  assert.match(bad.out + bad.err, /nowhere/);

  const list = await cli(url, 'pipeline', 'list');
  assert.match(list.out, /^NAME\s+DEPLOYMENT_STATUS/m);
  assert.match(list.out, /^demo\s+Stopped\s+Success\s+cli test$/m);
  const listJson = await cli(url, '--format', 'json', 'pipeline', 'list');
  assert.deepEqual((JSON.parse(listJson.out) as Array<{ name: string }>).map((p) => p.name).sort(), [
    'broken',
    'demo',
  ]);

  const upd = await cli(
    url,
    'pipeline',
    'update',
    'demo',
    '--description',
    'updated',
    '--runtime-config',
    '{"workers": 2}',
  );
  assert.equal(upd.code, 0, upd.err);
  const got = JSON.parse((await cli(url, '--format', 'json', 'pipeline', 'get', 'demo')).out) as {
    description: string;
    runtime_config: { workers: number };
  };
  assert.equal(got.description, 'updated');
  assert.equal(got.runtime_config.workers, 2);
  assert.equal((await cli(url, 'pipeline', 'start', 'demo')).code, 0);
  assert.equal((await cli(url, 'pipeline', 'status', 'demo')).out.trim(), 'Running');
  const running = await cli(url, 'pipeline', 'update', 'demo', '--sql', join(dir, 'bad.sql'));
  assert.equal(running.code, 1);
  assert.match(running.err, /UpdateRestrictedToStopped/);
  const ing = await cli(url, 'pipeline', 'ingest', 'demo', 't', join(dir, 'rows.json'));
  assert.equal(ing.code, 0, ing.err);
  assert.equal((await cli(url, 'pipeline', 'ingest', 'demo', 't', join(dir, 'rows.csv'))).code, 0);
  const q = await cli(url, 'pipeline', 'query', 'demo', 'SELECT n, total FROM s');
  assert.equal(q.code, 0, q.err);
  assert.match(q.out, /\| 3 \| 142 {3}\|/);
  const qj = await cli(url, '--format', 'json', 'pipeline', 'query', 'demo', 'SELECT n, total FROM s');
  assert.equal(qj.out.trim(), '{"n":3,"total":142}');
  const hashBefore = await cli(url, 'pipeline', 'query', 'demo', 'SELECT n, total FROM s', '--hash');
  assert.equal(hashBefore.code, 0, hashBefore.err);
  assert.match(hashBefore.out.trim(), /^[0-9A-F]{64}$/);
  const listen = await cli(url, 'pipeline', 'listen', 'demo', 's', '--snapshot', '--count', '1');
  assert.equal(listen.out.trim(), '{"insert":{"n":3,"total":142}}');
  const stats = await cli(url, 'pipeline', 'stats', 'demo');
  assert.match(stats.out, /total_processed_records: 3/);
  const logs = await cli(url, 'pipeline', 'logs', 'demo');
  assert.match(logs.out, /pipeline listening on 127\.0\.0\.1/);
  assert.equal((await cli(url, 'pipeline', 'pause', 'demo')).code, 0);
  assert.equal((await cli(url, 'pipeline', 'status', 'demo')).out.trim(), 'Paused');
  assert.equal((await cli(url, 'pipeline', 'resume', 'demo')).code, 0);

  // exit codes
  const notFound = await cli(url, 'pipeline', 'get', 'ghost');
  assert.equal(notFound.code, 1);
  assert.match(notFound.err, /^error \[UnknownPipelineName\]/);
  const cp = await cli(url, 'pipeline', 'checkpoint', 'demo', '--wait');
  assert.equal(cp.code, 0, cp.err);
  assert.match(cp.out, /demo: checkpoint \d+ written/);
  const cps = await cli(url, 'pipeline', 'checkpoints', 'demo');
  assert.match(cps.out, /^UUID\s+STEPS\s+PROCESSED_RECORDS\s+SIZE/m);
  const graceful = await cli(url, 'pipeline', 'stop', 'demo');
  assert.equal(graceful.code, 0, graceful.err);
  assert.equal((await cli(url, 'pipeline', 'start', 'demo')).code, 0);
  assert.equal(
    (await cli(url, '--format', 'json', 'pipeline', 'query', 'demo', 'SELECT n, total FROM s')).out.trim(),
    '{"n":3,"total":142}',
    'a graceful stop keeps the state',
  );
  assert.equal(
    (await cli(url, 'pipeline', 'query', 'demo', 'SELECT n, total FROM s', '--hash')).out,
    hashBefore.out,
    'the same result hashes alike after the restart',
  );
  // a *.parquet file is sent as Parquet (binary, through the manager's proxy)
  writeFileSync(
    join(dir, 'rows.parquet'),
    new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: [4, 5], type: 'INT32', nullable: false },
          { name: 'x', data: [8, null], type: 'INT32' },
        ],
      }),
    ),
  );
  const pq = await cli(url, 'pipeline', 'ingest', 'demo', 't', join(dir, 'rows.parquet'));
  assert.equal(pq.code, 0, pq.err);
  assert.equal(
    (await cli(url, '--format', 'json', 'pipeline', 'query', 'demo', 'SELECT n, total FROM s')).out.trim(),
    '{"n":5,"total":150}',
  );
  assert.equal((await cli(url, 'pipeline', 'frobnicate', 'demo')).code, 2);
  assert.equal((await cli(url, 'pipeline', 'create', 'x')).code, 2);
  const down = await cli('http://127.0.0.1:9', 'pipeline', 'list');
  assert.equal(down.code, 3);
  assert.match(down.err, /error \[ConnectionFailed\]/);

  assert.equal((await cli(url, 'pipeline', 'stop', 'demo', '--force')).code, 0);
  assert.equal((await cli(url, 'pipeline', 'delete', 'demo', '--clear-storage')).code, 0);
  assert.equal((await cli(url, 'pipeline', 'get', 'demo')).code, 1);
});

/** `holdfast ARGS…` as a process (no server), from the checkout's root. */
function holdfast(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return exec(process.execPath, [MAIN, ...args]);
}

function exec(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    const c = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => res({ code: code ?? -1, out, err }));
  });
}

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('holdfast --version, -V and version print the version of package.json', async () => {
  for (const args of [['--version'], ['-V'], ['version']]) {
    const r = await holdfast(...args);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${VERSION}\n`);
  }
});

test("the top-level help lists every command of the dispatcher's tables", async () => {
  const r = await holdfast('help');
  assert.equal(r.code, 0);
  assert.equal(r.out, `${topLevelHelp()}\n`);
  assert.equal((await holdfast('--help')).out, r.out);
  const listed = new Set(
    r.out
      .split('\n')
      .filter((l) => /^ {2}[a-z]/.test(l))
      .map((l) => l.trim().split(/\s+/).slice(0, 2).join(' ')),
  );
  const expected = [
    ...Object.keys(COMMANDS).filter((c) => c !== 'pipeline' && c !== 'program'),
    ...Object.keys(PIPELINE_COMMANDS).map((c) => `pipeline ${c}`),
    'program compile',
  ];
  for (const name of expected)
    assert.ok(
      [...listed].some((l) => l === name || l.startsWith(`${name} `) || l.split(' ')[0] === name),
      `the help lists '${name}'`,
    );
  for (const name of Object.keys(PIPELINE_COMMANDS))
    assert.match(r.out, new RegExp(`^  pipeline ${name}\\b`, 'm'), `pipeline ${name} in the help`);
  // and nothing the dispatcher does not have
  for (const l of listed) {
    const [first, second] = l.split(' ');
    if (first === 'pipeline') assert.ok(Object.hasOwn(PIPELINE_COMMANDS, second as string), l);
    else assert.ok(Object.hasOwn(COMMANDS, first as string) || first?.startsWith('-'), l);
  }
  const none = await holdfast();
  assert.equal(none.code, 2);
  assert.equal(none.err, r.out);
});

/** `holdfast ARGS…` for each list, in one process (tests/helpers/cli-batch.ts: the dispatcher in-process). */
async function holdfastBatch(
  lists: string[][],
): Promise<Array<{ args: string[]; code: number | string; out: string; err: string }>> {
  const r = await exec(process.execPath, [join(ROOT, 'tests/helpers/cli-batch.ts'), JSON.stringify(lists)]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

test('CMD --help and help CMD print the command usage; bad arguments exit 2 naming them', async () => {
  // the usage texts, through the dispatcher in one process; a few through the real executable for exit codes
  const commands = Object.entries(COMMANDS).filter(([cmd]) => cmd !== 'pipeline');
  const lists: string[][] = [];
  for (const [, spec] of commands) {
    const words = spec.spec.name.split(' ');
    lists.push([...words, '--help'], ['help', ...words]);
  }
  lists.push(['pipeline', 'sync', '--help'], ['pipeline', 'help', 'sync'], ['help', 'pipeline', 'sync']);
  lists.push(['help', 'pipeline']);
  const got = await holdfastBatch(lists);
  let i = 0;
  for (const [cmd, spec] of commands) {
    const words = spec.spec.name.split(' ');
    const viaFlag = got[i++];
    const viaHelp = got[i++];
    assert.equal(viaFlag?.code, 0, `${cmd}: ${viaFlag?.err}`);
    assert.equal(viaFlag?.out.split('\n')[0], `usage: holdfast ${commandSynopsis(spec.spec)}`);
    assert.equal(viaHelp?.code, 0, `help ${words.join(' ')}: ${viaHelp?.err}`);
    assert.equal(viaHelp?.out, viaFlag?.out, `help ${words.join(' ')}`);
  }
  const [sub, subHelp, helpSub, pipelineHelp] = got.slice(i);
  assert.equal(sub?.out.split('\n')[0], 'usage: holdfast pipeline sync NAME [--wait] [--timeout SECS]');
  assert.equal(subHelp?.out, sub?.out);
  assert.equal(helpSub?.out, sub?.out);
  assert.match(pipelineHelp?.out ?? '', /^ {2}activate NAME/m);
  // the real executable prints the same texts and exits 0
  const [real, realSub] = await Promise.all([
    holdfast('server', '--help'),
    holdfast('help', 'pipeline', 'sync'),
  ]);
  assert.equal(real.code, 0, real.err);
  assert.equal(real.out, got.find((g) => g.args.join(' ') === 'server --help')?.out);
  assert.equal(realSub.code, 0, realSub.err);
  assert.equal(realSub.out, sub?.out);

  const cases: Array<[string[], RegExp]> = [
    [
      ['server', '--prot', '0'],
      /holdfast server: unknown option '--prot' \(did you mean --port\?\); see 'holdfast server --help'/,
    ],
    [['server', 'extra'], /unexpected argument 'extra'/],
    [['run', 'a.sql', 'b.sql'], /holdfast run: unexpected argument 'b\.sql'/],
    [['run', 'a.sql', '--step'], /unknown option '--step' \(did you mean --steps\?\)/],
    [['run'], /missing PROGRAM\.sql/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['help', 'frobnicate'], /no such command: 'frobnicate'/],
    [['program', 'compile', 'x'], /unexpected argument 'x'/],
    [['pipeline', 'run'], /missing --config FILE/],
    [['--url', 'http://127.0.0.1:9', 'run', 'a.sql'], /applies to the pipeline commands only/],
  ];
  // real processes, in parallel: the exit code and the error line come from src/bin/main.ts
  const results = await Promise.all(cases.map(([args]) => holdfast(...args)));
  for (const [k, [args, message]] of cases.entries()) {
    const r = results[k] as { code: number; out: string; err: string };
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message, args.join(' '));
    assert.match(r.err, /^error \[InvalidArguments\]/, args.join(' '));
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    assert.equal(r.out, '');
  }
});

test("npx holdfast runs the checkout's bin under its pinned Node 24", { timeout: 60_000 }, async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.equal(pkg.bin.holdfast, 'bin/holdfast.js');
  const r = await exec('npx', ['--no-install', 'holdfast', '--version']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `${VERSION}\n`);
});
