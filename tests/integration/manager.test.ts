/**
 * The manager as users run it: `holdfast server` as a real process on 127.0.0.1 (port 0), pipelines as real
 * child processes, raw HTTP. Covers the registry, lifecycle, the data-route proxy, errors, auth, redaction,
 * `kill -9` of a pipeline process (restarted and reported) and a manager restart (registry kept).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { api as client, readStreamUntil, startManager, stopProcess, until } from '../kit/index.ts';

const SQL =
  'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(x) AS total FROM t;';

test('registry, lifecycle, proxy, crash recovery and manager restart', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-mgr-'));
  let { base, proc } = await startManager(dataDir);
  let api = client(base);

  const cfg = await api('GET', '/v0/config');
  assert.equal(cfg.json.edition, 'Enterprise');
  assert.equal((await api('GET', '/healthz')).json.status, 'healthy');

  // create, with a secret in runtime_config
  const created = await api('POST', '/v0/pipelines', {
    name: 'p1',
    description: 'test',
    program_code: SQL,
    runtime_config: {
      workers: 2,
      storage: {
        backend: {
          name: 'file',
          config: {
            sync: { bucket: 'b', endpoint: 'http://127.0.0.1:9', access_key: 'AKID', secret_key: 'hunter2' },
          },
        },
      },
    },
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.program_status, 'Success');
  const schema = (
    created.json.program_info as {
      schema: { inputs: Array<{ name: string; fields: unknown[] }>; outputs: Array<{ name: string }> };
    }
  ).schema;
  assert.equal(schema.inputs[0]?.name, 't');
  assert.equal(schema.outputs[0]?.name, 's');
  assert.equal(created.json.deployment_status, 'Stopped');
  assert.doesNotMatch(created.text, /hunter2/, 'secrets are redacted in responses');
  assert.match(created.text, /"secret_key":"<redacted>"/);

  // errors
  assert.equal(
    (await api('POST', '/v0/pipelines', { name: 'p1', program_code: SQL })).json.error_code,
    'DuplicateName',
  );
  assert.equal(
    (await api('POST', '/v0/pipelines', { name: 'bad name!', program_code: SQL })).json.error_code,
    'NameDoesNotMatchPattern',
  );
  assert.equal((await api('GET', '/v0/pipelines/nope')).status, 404);
  assert.equal((await api('GET', '/v0/pipelines/nope')).json.error_code, 'UnknownPipelineName');
  const broken = await api('POST', '/v0/pipelines', {
    name: 'broken',
    program_code: 'CREATE VIEW v AS SELECT x FROM nowhere;',
  });
  assert.equal(broken.json.program_status, 'SqlError');
  const msg = (
    broken.json.program_error as {
      sql_compilation: { messages: Array<{ start_line_number: number; message: string }> };
    }
  ).sql_compilation.messages[0];
  assert.equal(msg?.start_line_number, 1);
  assert.equal(
    (await api('POST', '/v0/pipelines/broken/start')).json.error_code,
    'CannotStartWithCompilationError',
  );
  assert.equal(
    (await api('POST', '/v0/pipelines/p1/ingress/t?format=csv', '1,1\n')).json.error_code,
    'PipelineInteractionNotDeployed',
  );
  assert.equal((await api('POST', '/v0/pipelines/p1/start?initial=sideways')).status, 405);
  await api('POST', '/v0/pipelines', {
    name: 'ftnostore',
    program_code: SQL,
    runtime_config: { storage: null, fault_tolerance: {} },
  });
  const ft = await api('POST', '/v0/pipelines/ftnostore/start');
  assert.equal(ft.json.error_code, 'ConfigError.FtRequiresStorage', ft.text);
  assert.equal(
    (
      await api('POST', '/v0/pipelines', {
        name: 'badft',
        program_code: SQL,
        runtime_config: { fault_tolerance: { model: 'twice' } },
      })
    ).json.error_code,
    'InvalidRuntimeConfig',
  );

  // PUT: create (201), replace (200), rename (200), and renaming a missing pipeline is refused
  assert.equal((await api('PUT', '/v0/pipelines/tmp1', { name: 'tmp1', program_code: SQL })).status, 201);
  const replaced = await api('PUT', '/v0/pipelines/tmp1', {
    name: 'tmp1',
    program_code: SQL,
    description: 'replaced',
  });
  assert.equal(replaced.status, 200);
  assert.equal(replaced.json.description, 'replaced');
  assert.equal((await api('PUT', '/v0/pipelines/tmp1', { name: 'tmp2', program_code: SQL })).status, 200);
  assert.equal((await api('GET', '/v0/pipelines/tmp2')).status, 200);
  assert.equal(
    (await api('PUT', '/v0/pipelines/ghost', { name: 'ghost2', program_code: SQL })).json.error_code,
    'CannotRenameNonExistingPipeline',
  );
  assert.equal((await api('DELETE', '/v0/pipelines/tmp2')).status, 200);

  // start, ingest, query, egress
  assert.equal((await api('POST', '/v0/pipelines/p1/start')).status, 202);
  await until(
    () => api('GET', '/v0/pipelines/p1?selector=status'),
    (r) => r.json.deployment_status === 'Running',
    'Running',
  );
  const ing = await api(
    'POST',
    '/v0/pipelines/p1/ingress/t?format=json',
    '{"insert": {"id": 1, "x": 10}}\n{"insert": {"id": 2, "x": 32}}',
  );
  assert.equal(ing.status, 200, ing.text);
  const token = ing.json.token as string;
  await until(
    () => api('GET', `/v0/pipelines/p1/completion_status?token=${token}`),
    (r) => r.json.status === 'complete',
    'completion',
  );
  const q = await api(
    'GET',
    `/v0/pipelines/p1/query?sql=${encodeURIComponent('SELECT n, total FROM s')}&format=json`,
  );
  assert.equal(q.text.trim(), '{"n":2,"total":42}');
  const stats1 = await api('GET', '/v0/pipelines/p1/stats');
  assert.equal(
    (stats1.json.global_metrics as { total_processed_records: number }).total_processed_records,
    2,
  );
  const inc1 = (stats1.json.global_metrics as { incarnation_uuid: string }).incarnation_uuid;
  assert.match(
    (await api('GET', '/v0/pipelines/p1/metrics')).text,
    /holdfast_records_processed_total\{pipeline_name="p1"\} 2/,
  );

  // pause/resume, edits while running, graceful stop not yet available
  assert.equal((await api('POST', '/v0/pipelines/p1/pause')).status, 202);
  assert.equal((await api('GET', '/v0/pipelines/p1?selector=status')).json.deployment_status, 'Paused');
  assert.equal((await api('POST', '/v0/pipelines/p1/resume')).status, 202);
  await until(
    () => api('GET', '/v0/pipelines/p1?selector=status'),
    (r) => r.json.deployment_status === 'Running',
    'Running again',
  );
  assert.equal(
    (await api('PATCH', '/v0/pipelines/p1', { program_code: `${SQL} CREATE VIEW w AS SELECT id FROM t;` }))
      .json.error_code,
    'UpdateRestrictedToStopped',
  );
  assert.equal(
    (await api('PATCH', '/v0/pipelines/p1', { description: 'edited while running' })).status,
    200,
    'description edits are allowed any time',
  );

  // kill -9 the pipeline process: the manager restarts it
  const reg = JSON.parse(readFileSync(join(dataDir, 'registry.json'), 'utf8')) as {
    pipelines: Array<{ name: string; pid: number }>;
  };
  const pid = reg.pipelines.find((p) => p.name === 'p1')?.pid as number;
  assert.ok(pid > 0);
  process.kill(pid, 'SIGKILL');
  const restarted = await until(
    () => api('GET', '/v0/pipelines/p1/stats'),
    (r) =>
      r.status === 200 && (r.json.global_metrics as { incarnation_uuid: string }).incarnation_uuid !== inc1,
    'a new incarnation after kill -9',
  );
  assert.equal((restarted.json.global_metrics as { state: string }).state, 'Running');
  const logs = (await fetchLogs(base, 'p1')).join('\n');
  assert.match(logs, /exited unexpectedly \(killed by SIGKILL\); restart #1/);
  assert.doesNotMatch(logs, /hunter2/, 'secrets never reach the log');

  // the manager restarts: the registry is kept and the running pipeline comes back
  await stopProcess(proc);
  ({ base, proc } = await startManager(dataDir));
  api = client(base);
  const listed = await api('GET', '/v0/pipelines?selector=status');
  assert.deepEqual(
    (listed.json as unknown as Array<{ name: string }>).map((p) => p.name),
    ['p1', 'broken', 'ftnostore'],
  );
  await until(
    () => api('GET', '/v0/pipelines/p1?selector=status'),
    (r) => r.json.deployment_status === 'Running',
    'Running after manager restart',
  );

  // graceful stop (checkpoint, then stop) and start again: the state is back
  const ing2 = await api('POST', '/v0/pipelines/p1/ingress/t?format=json', '{"insert": {"id": 7, "x": 7}}');
  await until(
    () => api('GET', `/v0/pipelines/p1/completion_status?token=${ing2.json.token}`),
    (r) => r.json.status === 'complete',
    'completion',
  );
  const before = (
    await api('GET', `/v0/pipelines/p1/query?sql=${encodeURIComponent('SELECT n, total FROM s')}&format=json`)
  ).text.trim();
  const susp = await api('POST', '/v0/pipelines/p1/stop');
  assert.equal(susp.status, 202, susp.text);
  await until(
    () => api('GET', '/v0/pipelines/p1?selector=status'),
    (r) => r.json.deployment_status === 'Stopped',
    'Stopped after suspend',
  );
  assert.equal((await api('GET', '/v0/pipelines/p1?selector=status')).json.deployment_error, null);
  await api('POST', '/v0/pipelines/p1/start');
  await until(
    () => api('GET', '/v0/pipelines/p1?selector=status'),
    (r) => r.json.deployment_status === 'Running',
    'Running after resume',
  );
  assert.equal(
    (
      await api(
        'GET',
        `/v0/pipelines/p1/query?sql=${encodeURIComponent('SELECT n, total FROM s')}&format=json`,
      )
    ).text.trim(),
    before,
  );
  const cps = await api('GET', '/v0/pipelines/p1/checkpoints');
  assert.ok(Array.isArray(cps.json) && (cps.json as unknown as unknown[]).length >= 1, cps.text);

  // stop, clear, delete
  assert.equal((await api('POST', '/v0/pipelines/p1/stop?force=true')).status, 202);
  await until(
    () => api('GET', '/v0/pipelines/p1?selector=status'),
    (r) => r.json.deployment_status === 'Stopped',
    'Stopped',
  );
  assert.equal((await api('DELETE', '/v0/pipelines/p1')).json.error_code, 'DeleteRestrictedToClearedStorage');
  const rename = await api('PATCH', '/v0/pipelines/p1', { name: 'p2', runtime_config: { workers: 3 } });
  assert.equal(rename.json.error_code, 'EditRestrictedToClearedStorage', rename.text);
  assert.deepEqual((rename.json.details as { not_allowed: string[] }).not_allowed, [
    '`name`',
    '`runtime_config.workers`',
  ]);
  assert.equal(
    (await api('PATCH', '/v0/pipelines/p1', { program_code: `${SQL} CREATE VIEW w AS SELECT id FROM t;` }))
      .status,
    200,
    'a program change is allowed when stopped',
  );
  assert.equal((await api('POST', '/v0/pipelines/p1/clear')).status, 202);
  assert.equal((await api('DELETE', '/v0/pipelines/p1')).status, 200);
  assert.equal((await api('GET', '/v0/pipelines/p1')).status, 404);
  await stopProcess(proc);
});

test('a pipeline that keeps crashing ends Stopped with deployment_error', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-mgr-'));
  // restarts after 20, 40, 80, 160, 320 ms instead of the default 250 ms doubling (7.75 s in all)
  const { base, proc } = await startManager(dataDir, ['--restart-backoff', '20']);
  const api = client(base);
  await api('POST', '/v0/pipelines', { name: 'crashy', program_code: SQL });
  await api('POST', '/v0/pipelines/crashy/start');
  for (let i = 0; i < 6; i++) {
    const r = await until(
      async () =>
        JSON.parse(readFileSync(join(dataDir, 'registry.json'), 'utf8')) as {
          pipelines: Array<{ pid: number | null; deployment_resources_status: string }>;
        },
      (x) => x.pipelines[0]?.deployment_resources_status === 'Stopped' || (x.pipelines[0]?.pid ?? 0) > 0,
      'a running process',
    );
    const p = r.pipelines[0];
    if (p?.deployment_resources_status === 'Stopped') break;
    try {
      process.kill(p?.pid as number, 'SIGKILL');
    } catch {}
    await until(
      async () =>
        JSON.parse(readFileSync(join(dataDir, 'registry.json'), 'utf8')) as {
          pipelines: Array<{ pid: number | null }>;
        },
      (x) => x.pipelines[0]?.pid !== p?.pid,
      'the crash to be noticed',
    );
  }
  const final = await until(
    () => api('GET', '/v0/pipelines/crashy?selector=status'),
    (r) => r.json.deployment_status === 'Stopped',
    'Stopped after giving up',
  );
  assert.equal((final.json.deployment_error as { error_code: string }).error_code, 'PipelineCrashed');
  // the manager's own line about the first restart says the configured wait
  const first = (await fetchLogs(base, 'crashy')).find((l) => l.includes('restart #1'));
  assert.match(first ?? '', /"restart_in_ms":20\b/, first);
  assert.equal((await api('POST', '/v0/pipelines/crashy/dismiss_error')).status, 200);
  assert.equal((await api('GET', '/v0/pipelines/crashy?selector=status')).json.deployment_error, null);
  await stopProcess(proc);
});

test('with --api-key every /v0 request needs the bearer token', { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-mgr-'));
  const { base, proc } = await startManager(dataDir, ['--api-key', 'sekret']);
  const anon = await client(base)('GET', '/v0/pipelines');
  assert.equal(anon.status, 401);
  assert.equal(anon.json.error_code, 'AuthenticationFailed');
  assert.equal((await client(base, { authorization: 'Bearer wrong' })('GET', '/v0/pipelines')).status, 401);
  assert.equal((await client(base, { authorization: 'Bearer sekret' })('GET', '/v0/pipelines')).status, 200);
  assert.equal((await client(base)('GET', '/healthz')).status, 200, 'health needs no key');
  await stopProcess(proc);
});

async function fetchLogs(base: string, name: string): Promise<string[]> {
  const r = await readStreamUntil(`${base}/v0/pipelines/${name}/logs`, (t) => t.includes('restart #1'), {
    timeoutMs: 2000,
  });
  return r.text.split('\n');
}

test('pipeline processes do not outlive a manager killed with SIGKILL', { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-mgr-'));
  const { base, proc } = await startManager(dataDir);
  const api = client(base);
  await api('POST', '/v0/pipelines', { name: 'orphan', program_code: SQL });
  await api('POST', '/v0/pipelines/orphan/start');
  await until(
    () => api('GET', '/v0/pipelines/orphan?selector=status'),
    (r) => r.json.deployment_status === 'Running',
    'Running',
  );
  const reg = JSON.parse(readFileSync(join(dataDir, 'registry.json'), 'utf8')) as {
    pipelines: Array<{ pid: number }>;
  };
  const pid = reg.pipelines[0]?.pid as number;
  const dead = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await dead;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await until(
    async () => alive(),
    (a) => !a,
    'the pipeline process to exit after its manager died',
  );
});

test('a crashed exactly_once pipeline recovers by itself: the manager shows Replaying, then Running', {
  timeout: 90_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-mgr-replay-'));
  const input = join(dataDir, 'in.csv');
  writeFileSync(input, '1\n2\n');
  const { base, proc } = await startManager(dataDir);
  const api = client(base);
  const created = await api('PUT', '/v0/pipelines/r1', {
    name: 'r1',
    program_code: `CREATE TABLE f (x INT) WITH ('connectors' = '[{"transport": {"name": "file_input", "config": {"path": "${input}", "follow": true}}, "format": {"name": "csv"}}]');
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(x) AS sx FROM f;`,
    runtime_config: { fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null } },
  });
  assert.ok(created.status === 201 || created.status === 200, created.text);
  await api('POST', '/v0/pipelines/r1/start?bootstrap_policy=allow');
  const q = () =>
    api('GET', `/v0/pipelines/r1/query?sql=${encodeURIComponent('SELECT n, sx FROM s')}&format=json`);
  await until(q, (r) => r.text.trim() === '{"n":2,"sx":3}', 'rows processed', 30_000);
  // kill -9; the journaled steps need records the file no longer holds, so replay waits (and shows)
  writeFileSync(input, '');
  const reg = JSON.parse(readFileSync(join(dataDir, 'registry.json'), 'utf8')) as {
    pipelines: Array<{ name: string; pid: number }>;
  };
  process.kill(reg.pipelines.find((p) => p.name === 'r1')?.pid as number, 'SIGKILL');
  const status = () => api('GET', '/v0/pipelines/r1?selector=status');
  await until(status, (r) => r.json.deployment_status === 'Replaying', 'Replaying in the manager', 30_000);
  writeFileSync(input, '1\n2\n3\n');
  await until(status, (r) => r.json.deployment_status === 'Running', 'Running after replay', 30_000);
  await until(q, (r) => r.text.trim() === '{"n":3,"sx":6}', 'replayed state plus the new row', 30_000);
  const logs = (await fetchLogs(base, 'r1')).join('\n');
  assert.match(logs, /replay complete/);
  await api('POST', '/v0/pipelines/r1/stop?force=true');
  await stopProcess(proc);
});
