/**
 * A connector's own state across restarts, through a real manager and pipeline process (issue 15):
 *
 * - `POST …/connectors/{c}/pause` survives a restart from a checkpoint — a graceful stop/start and a `kill -9`
 *   after a checkpoint (the manager restarts the process) — as Feldera keeps it: the checkpointed state wins
 *   over the connector's declaration (`"paused": true` starts a connector paused; started, it stays started).
 *   A paused connector reads nothing of what is appended meanwhile, and everything once started (each line once).
 * - `GET …/stats?include_connector_errors=true` lists each endpoint's recent errors (`parse_errors`,
 *   `transport_errors`; outputs `encode_errors`, `transport_errors`) as `{timestamp, index, tag, message}`; plain
 *   `/stats` has no lists; the connector stats route always has them; the lists and counters survive a restart.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { api, startManager, stopProcess, until } from '../kit/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ErrorEntry {
  timestamp: string;
  index: number;
  tag: string | null;
  message: string;
}
interface InputStats {
  endpoint_name: string;
  paused: boolean;
  metrics: { total_records: number; num_parse_errors: number };
  parse_errors?: ErrorEntry[];
  transport_errors?: ErrorEntry[];
}

test('connector pause survives restarts from a checkpoint; connector errors are listed and kept', {
  timeout: 180_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-connector-state-'));
  const fileA = join(dir, 'a.csv');
  const fileB = join(dir, 'b.csv');
  writeFileSync(fileA, '1\n2\noops\n');
  writeFileSync(fileB, '10\n20\n');
  const dataDir = join(dir, 'data');
  const s = await startManager(dataDir);
  const call = api(s.base);
  const sql = `CREATE TABLE t (x INT) WITH ('connectors' = '[
  {"name": "a", "transport": {"name": "file_input", "config": {"path": "${fileA}", "follow": true}}, "format": {"name": "csv"}},
  {"name": "b", "paused": true, "transport": {"name": "file_input", "config": {"path": "${fileB}", "follow": true}}, "format": {"name": "csv"}}]');
CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n, SUM(x) AS s FROM t;`;
  assert.equal((await call('POST', '/v0/pipelines', { name: 'p', program_code: sql })).status, 201);
  const running = () =>
    until(
      () => call('GET', '/v0/pipelines/p'),
      (r) => r.json.deployment_status === 'Running',
      'Running',
    );
  assert.equal((await call('POST', '/v0/pipelines/p/start')).status, 202);
  await running();
  const stats = async (c: string) =>
    (await call('GET', `/v0/pipelines/p/tables/t/connectors/${c}/stats`)).json as unknown as InputStats;
  const view = async () =>
    (
      await call('GET', `/v0/pipelines/p/query?sql=${encodeURIComponent('SELECT n, s FROM v')}&format=json`)
    ).text.trim();

  // `"paused": true` starts b paused; a reads its two good lines and counts the bad one
  await until(
    () => stats('a'),
    (st) => st.metrics.total_records === 2 && st.metrics.num_parse_errors === 1,
    'a read',
  );
  assert.equal((await stats('b')).paused, true, 'declared paused');
  assert.equal((await stats('b')).metrics.total_records, 0);

  // the error lists: only with the selector on /stats, always on the connector route
  const plain = (await call('GET', '/v0/pipelines/p/stats')).json as unknown as { inputs: InputStats[] };
  assert.equal(
    plain.inputs.some((i) => 'parse_errors' in i),
    false,
    'plain /stats has no error lists',
  );
  const full = (await call('GET', '/v0/pipelines/p/stats?include_connector_errors=true')).json as unknown as {
    inputs: InputStats[];
    outputs: Array<{ encode_errors?: unknown[]; transport_errors?: unknown[] }>;
  };
  const a = full.inputs.find((i) => i.endpoint_name === 't.a');
  assert.equal(a?.parse_errors?.length, 1);
  const e = a?.parse_errors?.[0] as ErrorEntry;
  assert.equal(e.index, 0);
  assert.equal(e.tag, null);
  assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.match(e.message, /oops|pars/i);
  assert.deepEqual(a?.transport_errors, []);
  assert.deepEqual((await stats('a')).parse_errors, a?.parse_errors, 'the connector route lists them');
  const bad = await call('GET', '/v0/pipelines/p/stats?include_connector_errors=maybe');
  assert.equal(bad.status, 400);

  // pause a, start b; b reads its lines
  assert.equal((await call('POST', '/v0/pipelines/p/tables/t/connectors/a/pause')).status, 200);
  assert.equal((await call('POST', '/v0/pipelines/p/tables/t/connectors/b/start')).status, 200);
  await until(view, (v) => v === '{"n":4,"s":33}', 'b read after start');

  // graceful stop (checkpoint) and start: a stays paused, b stays started, errors kept
  assert.equal((await call('POST', '/v0/pipelines/p/stop?force=false')).status, 202);
  await until(
    () => call('GET', '/v0/pipelines/p'),
    (r) => r.json.deployment_status === 'Stopped',
    'Stopped',
  );
  assert.equal((await call('POST', '/v0/pipelines/p/start')).status, 202);
  await running();
  assert.equal((await stats('a')).paused, true, 'a paused after a restart from the checkpoint');
  assert.equal((await stats('b')).paused, false, 'b started after a restart, over its declaration');
  const kept = await stats('a');
  assert.equal(kept.metrics.num_parse_errors, 1, 'the error counter survives');
  assert.deepEqual(kept.parse_errors, a?.parse_errors, 'the error list survives');
  appendFileSync(fileA, '100\n');
  appendFileSync(fileB, '1000\n');
  await until(view, (v) => v === '{"n":5,"s":1033}', 'b reads, a does not');
  await sleep(1000);
  assert.equal(await view(), '{"n":5,"s":1033}', 'a paused: its appended line is not read');

  // kill -9 after a checkpoint: the manager restarts the process from it, a still paused
  assert.equal((await call('POST', '/v0/pipelines/p/checkpoint')).status, 200);
  await until(
    () => call('GET', '/v0/pipelines/p/checkpoint_status'),
    (r) => typeof r.json.success === 'number',
    'checkpoint written',
  );
  const inc = (
    (await call('GET', '/v0/pipelines/p/stats')).json.global_metrics as { incarnation_uuid: string }
  ).incarnation_uuid;
  const reg = JSON.parse(readFileSync(join(dataDir, 'registry.json'), 'utf8')) as {
    pipelines: Array<{ name: string; pid: number }>;
  };
  process.kill(reg.pipelines.find((p) => p.name === 'p')?.pid as number, 'SIGKILL');
  await until(
    () => call('GET', '/v0/pipelines/p/stats'),
    (r) =>
      r.status === 200 &&
      (r.json.global_metrics as { incarnation_uuid: string; state: string }).incarnation_uuid !== inc &&
      (r.json.global_metrics as { state: string }).state === 'Running',
    'a new incarnation after kill -9',
  );
  assert.equal((await stats('a')).paused, true, 'a paused after kill -9 and restart');
  await sleep(1000);
  assert.equal(await view(), '{"n":5,"s":1033}', 'still not read');

  // started again: a's line is read once
  assert.equal((await call('POST', '/v0/pipelines/p/tables/t/connectors/a/start')).status, 200);
  await until(view, (v) => v === '{"n":6,"s":1133}', 'a reads its appended line once');

  await call('POST', '/v0/pipelines/p/stop?force=true');
  await stopProcess(s.proc);
});
