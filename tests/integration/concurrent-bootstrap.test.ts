/**
 * `start?concurrent_bootstrap=true` through a real manager and pipeline process: a checkpointed pipeline gets a
 * new view; while the view is backfilled from the checkpointed table in small, paced slices (the
 * HOLDFAST_BOOTSTRAP_SLICE_* environment, inherited by the pipeline process), the status is
 * `ConcurrentBootstrapping` (also `/stats` `concurrent_bootstrap_phase` and its progress), the unchanged view
 * keeps processing live input (inserts, an upsert and a delete), the new view is held back (queries of it are 503
 * `BootstrapInProgress`, its output connector receives nothing) and a checkpoint requested meanwhile waits; then
 * the pipeline cuts over: the new view holds exactly what a from-scratch run over all input holds (the backfilled
 * rows and the live changes), its output connector receives that once, the waiting checkpoint completes, and a
 * restart from it keeps the view. `silent_bootstrap` with `concurrent_bootstrap` is 400 `InvalidBootstrapConfig`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { api, startManager, stopProcess, until } from '../kit/index.ts';

const P1 =
  'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(x) AS sx FROM t;';
const ROWS = 200;

test('concurrent_bootstrap: unchanged views stay live while a new view backfills, then it cuts over', {
  timeout: 180_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-concurrent-'));
  const out = join(dir, 'big.json');
  const P2 = `${P1} CREATE MATERIALIZED VIEW big WITH ('connectors' = '[{"transport": {"name": "file_output", "config": {"path": "${out}"}}, "format": {"name": "json"}}]') AS SELECT id, x FROM t WHERE x % 2 = 0;`;
  // 200 rows in slices of 5, 100 ms apart: the backfill takes about 4 s
  process.env.HOLDFAST_BOOTSTRAP_SLICE_ROWS = '5';
  process.env.HOLDFAST_BOOTSTRAP_SLICE_PAUSE_MS = '100';
  const s = await startManager(join(dir, 'data'));
  delete process.env.HOLDFAST_BOOTSTRAP_SLICE_ROWS;
  delete process.env.HOLDFAST_BOOTSTRAP_SLICE_PAUSE_MS;
  const call = api(s.base);
  const status = async () => (await call('GET', '/v0/pipelines/p')).json;
  const q = async (sql: string) =>
    call('GET', `/v0/pipelines/p/query?sql=${encodeURIComponent(sql)}&format=json`);
  const lines = (text: string) => text.trim().split('\n').filter(Boolean);

  // the data: rows 1..200 with x = id, checkpointed by a graceful stop
  assert.equal((await call('POST', '/v0/pipelines', { name: 'p', program_code: P1 })).status, 201);
  assert.equal((await call('POST', '/v0/pipelines/p/start')).status, 202);
  await until(status, (r) => r.deployment_status === 'Running', 'Running');
  const data = new Map<number, number>();
  for (let id = 1; id <= ROWS; id++) data.set(id, id);
  const body = [...data].map(([id, x]) => JSON.stringify({ insert: { id, x } })).join('\n');
  assert.equal(
    (await call('POST', '/v0/pipelines/p/ingress/t?format=json&update_format=insert_delete', body)).status,
    200,
  );
  await until(
    () => q('SELECT n FROM s'),
    (r) => r.text.trim() === `{"n":${ROWS}}`,
    'loaded',
  );
  assert.equal((await call('POST', '/v0/pipelines/p/stop?force=false')).status, 202);
  await until(status, (r) => r.deployment_status === 'Stopped', 'Stopped');

  // the new program, started concurrently
  assert.equal((await call('PATCH', '/v0/pipelines/p', { program_code: P2 })).status, 200);
  const both = await call('POST', '/v0/pipelines/p/start?silent_bootstrap=true&concurrent_bootstrap=true');
  assert.equal(both.status, 400);
  assert.equal(both.json.error_code, 'InvalidBootstrapConfig');
  assert.equal(
    (await call('POST', '/v0/pipelines/p/start?bootstrap_policy=allow&concurrent_bootstrap=true')).status,
    202,
  );
  const during = await until(
    status,
    (r) => r.deployment_status === 'ConcurrentBootstrapping',
    'ConcurrentBootstrapping',
  );
  assert.equal(during.concurrent_bootstrap, true);
  const stats = (await call('GET', '/v0/pipelines/p/stats')).json.global_metrics as Record<string, unknown>;
  assert.equal(stats.concurrent_bootstrap_phase, 'ConcurrentBootstrapping');
  assert.equal(
    (stats.concurrent_bootstrap_progress as { in_progress_total_records: number }).in_progress_total_records,
    ROWS,
  );

  // live input meanwhile: the unchanged view follows it
  const live = [
    { insert: { id: 1000, x: 1000 } },
    { insert: { id: 2, x: 7 } }, // upsert: 2 leaves `big`
    { delete: { id: 4, x: 4 } },
    { insert: { id: 5, x: 50 } }, // upsert: 5 enters `big`
  ];
  assert.equal(
    (
      await call(
        'POST',
        '/v0/pipelines/p/ingress/t?format=json&update_format=insert_delete',
        live.map((c) => JSON.stringify(c)).join('\n'),
      )
    ).status,
    200,
  );
  data.set(1000, 1000);
  data.set(2, 7);
  data.delete(4);
  data.set(5, 50);
  const sum = [...data.values()].reduce((a, b) => a + b, 0);
  await until(
    () => q('SELECT n, sx FROM s'),
    (r) => r.text.trim() === `{"n":${data.size},"sx":${sum}}`,
    's live',
  );
  assert.equal(
    (await status()).deployment_status,
    'ConcurrentBootstrapping',
    'still backfilling (slow pace)',
  );
  const held = await q('SELECT COUNT(*) AS c FROM big');
  assert.equal(held.status, 503);
  assert.equal(held.json.error_code, 'BootstrapInProgress');
  assert.equal(existsSync(out) ? readFileSync(out, 'utf8') : '', '', 'nothing emitted before the cut-over');
  // a checkpoint requested now waits for the cut-over
  const cp = await call('POST', '/v0/pipelines/p/checkpoint');
  assert.equal(cp.status, 200, cp.text);
  const seq = cp.json.checkpoint_sequence_number as number;
  assert.equal((await call('GET', '/v0/pipelines/p/checkpoint_status')).json.success, null);
  const activity = (await call('GET', '/v0/pipelines/p/stats')).json.checkpoint_activity as Record<
    string,
    unknown
  >;
  assert.equal(activity.status, 'delayed');
  assert.deepEqual(activity.reasons, ['Bootstrapping']);

  // the cut-over
  await until(status, (r) => r.deployment_status === 'Running', 'Running after the cut-over', 60_000);
  const expected = [...data]
    .filter(([, x]) => x % 2 === 0)
    .map(([id, x]) => ({ id, x }))
    .sort((a, b) => a.id - b.id);
  const got = lines((await q('SELECT id, x FROM big ORDER BY id')).text).map((l) => JSON.parse(l));
  assert.deepEqual(got, expected, 'the new view holds the backfilled rows and the live changes');
  const emitted = await until(
    async () => (existsSync(out) ? lines(readFileSync(out, 'utf8')) : []),
    (l) => l.length >= expected.length,
    'the cut-over output',
  );
  assert.deepEqual(
    emitted
      .map((l) => (JSON.parse(l) as { insert: { id: number; x: number } }).insert)
      .sort((a, b) => a.id - b.id),
    expected,
    'its output connector receives the full contents once',
  );
  await until(
    () => call('GET', '/v0/pipelines/p/checkpoint_status'),
    (r) => typeof r.json.success === 'number' && r.json.success >= seq,
    'the waiting checkpoint completes',
  );
  const after = (await call('GET', '/v0/pipelines/p/stats')).json.global_metrics as Record<string, unknown>;
  assert.equal(after.concurrent_bootstrap_phase, 'Inactive');
  assert.equal(after.concurrent_bootstrap_progress, null);

  // from here on, incremental; and a restart from the new checkpoint keeps the view
  assert.equal(
    (
      await call(
        'POST',
        '/v0/pipelines/p/ingress/t?format=json&update_format=insert_delete',
        JSON.stringify({ insert: { id: 2000, x: 2 } }),
      )
    ).status,
    200,
  );
  await until(
    () => q('SELECT COUNT(*) AS c FROM big'),
    (r) => r.text.trim() === `{"c":${expected.length + 1}}`,
    '+1',
  );
  assert.equal((await call('POST', '/v0/pipelines/p/stop?force=false')).status, 202);
  await until(status, (r) => r.deployment_status === 'Stopped', 'Stopped');
  assert.equal((await call('POST', '/v0/pipelines/p/start')).status, 202);
  await until(status, (r) => r.deployment_status === 'Running', 'Running again');
  assert.equal((await q('SELECT COUNT(*) AS c FROM big')).text.trim(), `{"c":${expected.length + 1}}`);
  await call('POST', '/v0/pipelines/p/stop?force=true');
  await stopProcess(s.proc);
});
