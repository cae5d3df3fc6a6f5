/**
 * The manager's guards, as users run it (`holdfast server` and pipeline processes as real processes, raw HTTP
 * on 127.0.0.1): a pipeline process's own port refuses requests without its per-spawn key (401) or with a
 * wrong one, while everything through the manager works (ingress, query, stats, metrics, pause/resume,
 * graceful stop with its checkpoint); the key is not on the child's command line, nor in any manager answer,
 * log, registry or config file. API bodies over `--max-body-bytes` are 413 (declared or chunked) and the
 * manager keeps serving; malformed percent-encoding is 400.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { until } from '../kit/index.ts';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');
const API_KEY = 'manager-key-for-tests';
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

interface Reply {
  status: number;
  text: string;
  json: Record<string, unknown>;
}

/** A raw request (path sent as given); `chunks`: written one by one without a Content-Length. */
function raw(
  port: number,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string; chunks?: string[] } = {},
): Promise<Reply> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: opts.headers }, (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (d) => (text += d));
      r.on('end', () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text);
        } catch {}
        res({ status: r.statusCode ?? 0, text, json });
      });
    });
    req.on('error', rej);
    if (opts.chunks) {
      let i = 0;
      const pump = () => {
        while (i < (opts.chunks as string[]).length) {
          if (req.destroyed) return;
          if (!req.write((opts.chunks as string[])[i++])) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    } else req.end(opts.body);
  });
}

test('the pipeline port needs the per-spawn key; the manager works; the key leaks nowhere', {
  timeout: 120_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-sec-'));
  const proc = spawn(
    process.execPath,
    [MAIN, 'server', '--data-dir', dataDir, '--port', '0', '--api-key', API_KEY, '--max-body-bytes', '4000'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(proc);
  let managerStderr = '';
  proc.stderr?.on('data', (d) => (managerStderr += d));
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).once('line', res);
    proc.once('exit', (c) => rej(new Error(`server exited ${c}`)));
  });
  const mport = (JSON.parse(line) as { port: number }).port;
  const auth = { authorization: `Bearer ${API_KEY}` };
  const api = (method: string, path: string, body?: unknown) =>
    raw(mport, method, path, {
      headers: { ...auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  // bounded bodies: 413 over --max-body-bytes, declared or counted; the manager keeps serving
  const huge = JSON.stringify({
    name: 'big',
    program_code: `-- ${'x'.repeat(10_000)}\nCREATE TABLE t (id INT);`,
  });
  const declared = await api('POST', '/v0/pipelines', huge);
  assert.equal(declared.status, 413, declared.text);
  assert.equal(declared.json.error_code, 'PayloadTooLarge');
  const chunked = await raw(mport, 'POST', '/v0/pipelines', {
    headers: auth,
    chunks: huge.match(/.{1,500}/gs) as string[],
  });
  assert.equal(chunked.status, 413, chunked.text);
  assert.equal(chunked.json.error_code, 'PayloadTooLarge');
  assert.equal((await api('GET', '/v0/pipelines')).status, 200, 'still serving');
  assert.equal((await api('GET', '/v0/pipelines/big')).json.error_code, 'UnknownPipelineName');

  // malformed percent-encoding: 400, not 500
  for (const path of ['/v0/pipelines/%E0%A4%A', '/v0/pipelines/p%ZZ/stats', '/v0/pipelines?selector=%FF']) {
    const r = await api('GET', path);
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    assert.equal(r.json.error_code, 'InvalidParam');
  }

  const sql =
    'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n FROM t;';
  assert.equal((await api('POST', '/v0/pipelines', { name: 'p', program_code: sql })).status, 201);
  assert.equal((await api('POST', '/v0/pipelines/p/start')).status, 202);
  await until(
    () => api('GET', '/v0/pipelines/p?selector=status'),
    (r) => r.json.deployment_status === 'Running',
    'Running',
  );

  const reg = JSON.parse(readFileSync(join(dataDir, 'registry.json'), 'utf8')) as {
    pipelines: Array<{ name: string; pid: number; port: number; id: string }>;
  };
  const rec = reg.pipelines.find((p) => p.name === 'p');
  assert.ok(rec && rec.pid > 0 && rec.port > 0, JSON.stringify(reg));
  const environ = readFileSync(`/proc/${rec.pid}/environ`, 'utf8').split('\0');
  const key = environ
    .find((e) => e.startsWith('HOLDFAST_PIPELINE_KEY='))
    ?.slice('HOLDFAST_PIPELINE_KEY='.length);
  assert.ok(key && key.length >= 40, 'the child got a random key in its environment');
  assert.ok(!environ.some((e) => e.includes(API_KEY)), "the manager's API key is not passed to the child");
  const cmdline = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8');
  assert.ok(!cmdline.includes(key), 'the key is not on the command line (ps)');

  // direct requests to the pipeline port: 401 without the key, with a wrong one, or with the manager's key
  const direct: Array<[string, string]> = [
    ['POST', '/ingress/t?format=json'],
    ['GET', '/query?sql=SELECT%20n%20FROM%20s'],
    ['POST', '/checkpoint'],
    ['POST', '/activate'],
    ['GET', '/stats'],
    ['GET', '/status'],
    ['GET', '/metrics'],
    ['POST', '/pause'],
  ];
  for (const [method, path] of direct)
    for (const headers of [{}, { authorization: 'Bearer nope' }, auth] as Array<Record<string, string>>) {
      const r = await raw(rec.port, method, path, {
        headers,
        ...(method === 'POST' ? { body: '{"insert": {"id": 99, "x": 1}}' } : {}),
      });
      assert.equal(r.status, 401, `${method} ${path} ${JSON.stringify(headers)}: ${r.text}`);
      assert.equal(r.json.error_code, 'AuthenticationFailed');
    }
  const withKey = await raw(rec.port, 'GET', '/status', { headers: { authorization: `Bearer ${key}` } });
  assert.equal(withKey.status, 200, 'the right key is accepted');

  // through the manager everything works
  const ing = await api('POST', '/v0/pipelines/p/ingress/t?format=json', '{"insert": {"id": 1, "x": 5}}');
  assert.equal(ing.status, 200, ing.text);
  await until(
    () =>
      api('GET', `/v0/pipelines/p/completion_status?token=${encodeURIComponent(ing.json.token as string)}`),
    (r) => r.json.status === 'complete',
    'completion',
  );
  const q = await api(
    'GET',
    `/v0/pipelines/p/query?sql=${encodeURIComponent('SELECT n FROM s')}&format=json`,
  );
  assert.equal(q.text.trim(), '{"n":1}');
  const stats = await api('GET', '/v0/pipelines/p/stats');
  assert.equal(stats.status, 200);
  assert.equal((await api('POST', '/v0/pipelines/p/pause')).status, 202);
  await until(
    () => api('GET', '/v0/pipelines/p?selector=status'),
    (r) => r.json.deployment_status === 'Paused',
    'Paused',
  );
  assert.equal((await api('POST', '/v0/pipelines/p/resume')).status, 202);
  const metrics = await api('GET', '/v0/metrics');
  assert.match(metrics.text, /holdfast_records_input_total\{pipeline_name="p"\} 1/, 'metrics are collected');
  const got = await api('GET', '/v0/pipelines/p');
  const list = await api('GET', '/v0/pipelines');
  let logs = '';
  await new Promise<void>((res) => {
    const req = request(
      { host: '127.0.0.1', port: mport, path: '/v0/pipelines/p/logs', headers: auth },
      (r) => {
        r.on('data', (d) => (logs += d));
        setTimeout(() => {
          req.destroy();
          res();
        }, 500);
      },
    );
    req.end();
  });
  assert.match(logs, /starting pipeline process/);

  // graceful stop: pause, checkpoint and checkpoint_status from the manager, with the key
  assert.equal((await api('POST', '/v0/pipelines/p/stop')).status, 202);
  const stopped = await until(
    () => api('GET', '/v0/pipelines/p?selector=status'),
    (r) => r.json.deployment_status === 'Stopped',
    'Stopped',
  );
  assert.equal(stopped.json.deployment_error, null, 'the suspend reached the pipeline');

  const files = readdirSync(join(dataDir, 'pipelines', rec.id)).filter((f) => f.endsWith('.json'));
  const onDisk = [
    readFileSync(join(dataDir, 'registry.json'), 'utf8'),
    ...files.map((f) => readFileSync(join(dataDir, 'pipelines', rec.id, f), 'utf8')),
  ];
  for (const [what, text] of [
    ['GET pipeline', got.text],
    ['GET pipelines', list.text],
    ['stats', stats.text],
    ['metrics', metrics.text],
    ['logs', logs],
    ['manager stderr', managerStderr],
    ...onDisk.map((t, i) => [`file ${i}`, t]),
  ] as Array<[string, string]>)
    assert.ok(!text.includes(key), `the pipeline key is not in ${what}`);
  proc.kill('SIGTERM');
});
