/**
 * The command-line parser of every `holdfast pipeline` command (node:util `parseArgs`, strict), run in
 * process against a stub server over real HTTP: an unknown option or an extra argument is exit code 2 with a
 * message naming it and pointing to the command's help, and sends no request; `--help`, `help CMD` print the
 * command's usage. Also the standby lines of `status`/`stats` and the generic parser in src/util/args.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runPipelineCli } from '../../../src/cli/cli.ts';
import { PIPELINE_COMMANDS, PIPELINE_USAGE, type PipelineCommand } from '../../../src/cli/commands.ts';
import type { StandbyStatus } from '../../../src/types/pipeline-api.ts';
import { commandSynopsis, parseCommand } from '../../../src/util/args.ts';
import { runCli } from '../../kit/cli.ts';
import { FakeServer, pipelineDescr } from '../client/fake-server.ts';
import { standbyStatus } from '../client/sync-fixtures.ts';

const server = FakeServer.forFile();

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(server.url, args);
  return { code: r.code, out: r.out.join('\n'), err: r.err.join('\n') };
}

/** Arguments that satisfy each command's required positionals and options. */
function validArgs(cmd: PipelineCommand): string[] {
  const spec = PIPELINE_COMMANDS[cmd];
  const args: string[] = [...(('args' in spec ? spec.args : []) as readonly string[])].map((a) =>
    a.toLowerCase(),
  );
  for (const [name, o] of Object.entries('options' in spec ? spec.options : {}))
    if ('required' in o && o.required) args.push(`--${name}`, 'file');
  return args;
}

const COMMANDS = Object.keys(PIPELINE_COMMANDS) as PipelineCommand[];

describe('every pipeline command', () => {
  for (const cmd of COMMANDS) {
    test(`${cmd}: unknown option and extra argument exit 2 without a request; --help prints its usage`, async () => {
      const unknown = await run(cmd, ...validArgs(cmd), '--frobnicate');
      assert.equal(unknown.code, 2, unknown.err);
      assert.match(unknown.err, /unknown option '--frobnicate'/);
      assert.match(unknown.err, new RegExp(`see 'holdfast pipeline ${cmd} --help'`));
      assert.equal(unknown.out, '');

      const extra = await run(cmd, ...validArgs(cmd), 'surplus');
      assert.equal(extra.code, 2, extra.err);
      assert.match(extra.err, /unexpected argument 'surplus'/);

      const typo = await run(cmd, ...validArgs(cmd), '-x');
      assert.equal(typo.code, 2);
      assert.match(typo.err, /unknown option '-x'/);
      assert.equal(server.requests.length, 0, 'bad arguments send nothing');

      const synopsis = `usage: holdfast ${commandSynopsis(PIPELINE_COMMANDS[cmd])}`;
      for (const help of [
        [cmd, '--help'],
        [cmd, '-h'],
        ['help', cmd],
        [cmd, ...validArgs(cmd), '--help'],
      ]) {
        const h = await run(...help);
        assert.equal(h.code, 0, `${help.join(' ')}: ${h.err}`);
        assert.equal(h.out.split('\n')[0], synopsis, help.join(' '));
        assert.match(h.out, /-h, --help\s+show this help/);
      }
      assert.equal(server.requests.length, 0, 'help sends nothing');
    });
  }
});

test('start --intial paused (a typo) starts nothing and suggests --initial', async () => {
  server.on('POST', '/v0/pipelines/p/start', { status: 202, json: 'starting' });
  const r = await run('start', 'p', '--intial', 'paused');
  assert.equal(r.code, 2);
  assert.match(
    r.err,
    /^error \[InvalidArguments\]: holdfast pipeline start: unknown option '--intial' \(did you mean --initial\?\)/,
  );
  assert.match(r.err, /^usage: holdfast pipeline start NAME \[--initial running\|paused\|standby\]/m);
  assert.equal(server.requests.length, 0);
});

test('missing arguments, a missing value and a value for a flag are exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['start'], /missing NAME/],
    [['ingest', 'p', 't'], /missing FILE/],
    [['create', 'p'], /missing --sql FILE/],
    [['start', 'p', '--initial'], /option '--initial' needs a value/],
    [['stop', 'p', '--force=yes'], /option '--force' takes no value/],
    [['start', 'p', '--initial', 'sideways'], /--initial must be running, paused or standby/],
    [['frobnicate', 'p'], /unknown command 'frobnicate'/],
    [['--format', 'xml', 'list'], /--format must be text or json/],
    [['--colour', 'list'], /unknown option '--colour'/],
    [['help', 'frobnicate'], /not a pipeline command/],
  ];
  for (const [args, message] of cases) {
    const r = await run(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, message, args.join(' '));
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  assert.equal(server.requests.length, 0);
});

test('global options may follow the command; --url after the command wins', async () => {
  server.on('GET', '/v0/pipelines', { json: [] });
  const r = await runPipelineCli(
    ['--url', 'http://127.0.0.1:9', 'list', '--url', server.url, '--format', 'json'],
    () => {},
    () => {},
  );
  assert.equal(r, 0);
  assert.equal(server.calls('/v0/pipelines', 'GET').length, 1);
});

test('pipeline help, pipeline --help and no command', async () => {
  for (const args of [['help'], ['--help']]) {
    const r = await run(...args);
    assert.equal(r.code, 0);
    assert.equal(r.out, PIPELINE_USAGE);
  }
  const none = await run();
  assert.equal(none.code, 2);
  assert.equal(none.err, PIPELINE_USAGE);
  for (const cmd of COMMANDS)
    assert.ok(
      PIPELINE_USAGE.includes(`\n  ${commandSynopsis(PIPELINE_COMMANDS[cmd]).slice('pipeline '.length)}\n`),
      `the pipeline usage lists ${cmd}`,
    );
});

test('pipeline run needs the binary (it runs a pipeline process in this process)', async () => {
  const r = await run('run', '--config', 'x.json');
  assert.equal(r.code, 2);
  assert.match(r.err, /use the holdfast binary/);
  let got = '';
  const code = await runPipelineCli(
    ['run', '--config', 'x.json'],
    () => {},
    () => {},
    {
      runPipelineProcess: async (path) => {
        got = path;
        return 0;
      },
    },
  );
  assert.equal(code, 0);
  assert.equal(got, 'x.json');
});

const STANDBY: StandbyStatus = standbyStatus({
  pull_interval: 5,
  last_pulled_checkpoint: '0198c7f0-aaaa-7000-8000-000000000042',
  last_pulled_at: '2026-08-21T10:00:05Z',
  last_pulled_age_seconds: 12.25,
  last_error: { message: 'bucket unreachable', at: '2026-08-21T10:00:00Z' },
  bytes_pulled: 3 * 1024 * 1024,
  files_pulled: 9,
  next_pull_in_seconds: 2.5,
});

const NEVER_PULLED: StandbyStatus = {
  ...STANDBY,
  last_pulled_checkpoint: null,
  last_pulled_source: null,
  last_pulled_at: null,
  last_pulled_age_seconds: null,
  pulls: 0,
  pull_failures: 0,
  last_error: null,
  bytes_pulled: 0,
  files_pulled: 0,
  next_pull_in_seconds: null,
};

function standbyPipeline(sb: StandbyStatus): void {
  server.on('GET', '/v0/pipelines/b', {
    json: pipelineDescr('b', {
      deployment_status: 'Standby',
      deployment_runtime_status: 'Standby',
      deployment_runtime_status_details: { standby: sb },
    }),
  });
  // What a pipeline process answers in standby: no controller, so most global metrics are absent.
  server.on('GET', '/v0/pipelines/b/stats', {
    json: {
      global_metrics: {
        state: 'Standby',
        rss_bytes: 1,
        cpu_msecs: 2,
        uptime_msecs: 3,
        total_input_records: 0,
        total_processed_records: 0,
      },
      suspend_error: null,
      checkpoint_activity: null,
      permanent_checkpoint_errors: null,
      inputs: [],
      outputs: [],
    },
  });
}

test('status and stats of a standby show its lag and last pulled checkpoint, no undefined', async () => {
  standbyPipeline(STANDBY);
  const status = await run('status', 'b');
  assert.equal(status.code, 0, status.err);
  const lines = status.out.split('\n');
  assert.equal(lines[0], 'Standby');
  assert.ok(
    lines.includes('  last_pulled_checkpoint: 0198c7f0-aaaa-7000-8000-000000000042 (from bucket)'),
    status.out,
  );
  assert.ok(lines.includes('  lag: 12.3 s (age of the last pulled checkpoint)'), status.out);
  assert.match(status.out, /pulls: 3 succeeded, 1 failed of 4 attempts/);
  assert.match(status.out, /last_error: bucket unreachable/);
  const stats = await run('stats', 'b');
  assert.equal(stats.code, 0, stats.err);
  assert.match(stats.out, /^state: Standby$/m);
  assert.match(stats.out, /^last_pulled_checkpoint: 0198c7f0-aaaa-7000-8000-000000000042 \(from bucket\)$/m);
  assert.match(stats.out, /^lag: 12\.3 s/m);
  assert.match(stats.out, /^pulled: 3\.0 MiB in 9 files$/m);
  for (const out of [status.out, stats.out]) assert.doesNotMatch(out, /undefined|NaN/);

  const json = await run('--format', 'json', 'status', 'b');
  assert.deepEqual(JSON.parse(json.out), { status: 'Standby', standby: STANDBY });
});

test('a standby that has pulled nothing yet says so (no undefined, no null)', async () => {
  standbyPipeline(NEVER_PULLED);
  for (const cmd of ['status', 'stats']) {
    const r = await run(cmd, 'b');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /last_pulled_checkpoint: none yet$/m);
    assert.match(r.out, /lag: unknown \(nothing pulled yet\)$/m);
    assert.doesNotMatch(r.out, /undefined|null|NaN/);
  }
});

test('status of a running pipeline is one word; of an unknown one NotFound', async () => {
  server.on('GET', '/v0/pipelines/r', { json: pipelineDescr('r', { deployment_status: 'Running' }) });
  assert.equal((await run('status', 'r')).out, 'Running');
  assert.equal((await run('status', 'ghost')).out, 'NotFound');
});

describe('parseCommand', () => {
  const spec = {
    name: 'demo',
    summary: 'demo',
    args: ['A'],
    optionalArgs: ['B'],
    options: { n: { type: 'string', value: 'N', help: 'n' }, verbose: { type: 'boolean', help: 'v' } },
  } as const;
  test('positionals, options, --', () => {
    const p = parseCommand(spec, ['a', '--n', '3', '--', '--b']);
    assert.deepEqual(p.args, ['a', '--b']);
    assert.equal(p.values.n, '3');
    assert.equal(p.help, false);
    assert.equal(parseCommand(spec, ['--n=-1', 'a']).values.n, '-1');
  });
  test('errors name the argument and the help', () => {
    assert.throws(() => parseCommand(spec, []), /holdfast demo: missing A; see 'holdfast demo --help'/);
    assert.throws(() => parseCommand(spec, ['a', 'b', 'c']), /unexpected argument 'c' \(it takes A \[B\]\)/);
    assert.throws(
      () => parseCommand(spec, ['a', '--verbos']),
      /unknown option '--verbos' \(did you mean --verbose\?\)/,
    );
    assert.throws(() => parseCommand(spec, ['a', '--n', '-1']), /option '--n' needs a value .*--n=VALUE/);
  });
  test('--help skips every other check', () => {
    assert.equal(parseCommand(spec, ['--help']).help, true);
    assert.equal(parseCommand(spec, ['-h', 'a', 'b', 'c']).help, true);
  });
});
