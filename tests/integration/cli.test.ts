/**
 * `holdfast pipeline …` as a user runs it against a real `holdfast server`: every command, text and JSON
 * output, and the exit codes scripts rely on (0 ok, 1 server error, 2 bad arguments, 3 unreachable).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');
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

test('the CLI drives a pipeline end to end', { timeout: 90_000 }, async () => {
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
  assert.equal((await cli(url, 'pipeline', 'frobnicate', 'demo')).code, 2);
  assert.equal((await cli(url, 'pipeline', 'create', 'x')).code, 2);
  const down = await cli('http://127.0.0.1:9', 'pipeline', 'list');
  assert.equal(down.code, 3);
  assert.match(down.err, /error \[ConnectionFailed\]/);

  assert.equal((await cli(url, 'pipeline', 'stop', 'demo', '--force')).code, 0);
  assert.equal((await cli(url, 'pipeline', 'delete', 'demo', '--clear-storage')).code, 0);
  assert.equal((await cli(url, 'pipeline', 'get', 'demo')).code, 1);
});
