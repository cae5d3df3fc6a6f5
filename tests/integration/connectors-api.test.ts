/**
 * Feldera's per-connector routes through a real manager and pipeline process (issue 15, item 5), driven over
 * HTTP and through the TS SDK where it has the call:
 *
 * - `GET …/tables/{t}/connectors/{c}/stats` and `GET …/views/{v}/connectors/{c}/stats` answer one endpoint's
 *   status, with every metric Feldera's SDK reads as an integer; unknown connectors are 404
 *   `UnknownInputEndpoint` / `UnknownOutputEndpoint`.
 * - `POST …/connectors/{c}/pause` stops a following file input from reading (appended lines stay unread), `start`
 *   resumes it from where it was (every line arrives once); another action is 400 `InvalidConnectorAction`.
 * - HTTP ingress endpoints are named `<table>.api-ingress-<16 hex digits>`; the SDK's `completionToken` for that
 *   connector gives a token `completion_status` answers.
 * - While running, `deployment_runtime_status_details.connector_stats.num_errors` counts connector errors; with
 *   storage, `storage_status_details` lists the checkpoints; tags with a comma are 400 `InvalidTag`.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HoldfastApi } from '../../src/client/rest-api.ts';
import { api, startManager, stopProcess, until } from '../kit/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('connector stats, start/pause, ingress endpoint names and completion tokens', {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-connectors-api-'));
  const input = join(dir, 'in.csv');
  const output = join(dir, 'out.json');
  writeFileSync(input, '1\n2\n');
  const s = await startManager(join(dir, 'data'));
  const call = api(s.base);
  const sdk = new HoldfastApi({ url: s.base });
  const sql = `CREATE TABLE t (x INT) WITH ('connectors' = '[{"transport": {"name": "file_input", "config": {"path": "${input}", "follow": true}}, "format": {"name": "csv"}}]');
CREATE MATERIALIZED VIEW v WITH ('connectors' = '[{"name": "out", "transport": {"name": "file_output", "config": {"path": "${output}"}}, "format": {"name": "json"}}]') AS SELECT COUNT(*) AS n FROM t;`;

  const comma = await call('POST', '/v0/pipelines', { name: 'p', program_code: sql, tags: ['a,b'] });
  assert.equal(comma.status, 400);
  assert.equal(comma.json.error_code, 'InvalidTag');
  assert.equal(
    (await call('POST', '/v0/pipelines', { name: 'p', program_code: sql, tags: ['a', 'b'] })).status,
    201,
  );
  assert.equal((await call('POST', '/v0/pipelines/p/start')).status, 202);
  await until(
    () => call('GET', '/v0/pipelines/p'),
    (r) => r.json.deployment_status === 'Running',
    'Running',
  );

  const inStats = () => sdk.inputConnectorStats('p', 't', 'unnamed-0');
  const first = await until(inStats, (st) => st.metrics.total_records === 2, 'two records read');
  assert.equal(first.endpoint_name, 't.unnamed-0');
  assert.equal(first.paused, false);
  assert.deepEqual(first.config, { stream: 't' });
  // table names are SQL identifiers: unquoted is case-insensitive
  assert.equal((await call('GET', '/v0/pipelines/p/tables/T/connectors/unnamed-0/stats')).status, 200);

  // pause: appended lines are not read; start: they are, once each
  await sdk.connectorAction('p', 't', 'unnamed-0', 'pause');
  assert.equal((await inStats()).paused, true);
  appendFileSync(input, '3\n4\n5\n');
  await sleep(1500);
  assert.equal((await inStats()).metrics.total_records, 2, 'a paused connector does not ingest');
  const count = async () =>
    (
      await call('GET', `/v0/pipelines/p/query?sql=${encodeURIComponent('SELECT n FROM v')}&format=json`)
    ).text.trim();
  assert.equal(await count(), '{"n":2}');
  const started = await call('POST', '/v0/pipelines/p/tables/t/connectors/unnamed-0/start');
  assert.equal(started.status, 200);
  assert.equal(started.text, '');
  await until(inStats, (st) => st.metrics.total_records === 5 && !st.paused, 'the rest read after start');
  await until(count, (n) => n === '{"n":5}', 'view counts every line once');

  const unknown = await call('GET', '/v0/pipelines/p/tables/t/connectors/nope/stats');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error_code, 'UnknownInputEndpoint');
  const badAction = await call('POST', '/v0/pipelines/p/tables/t/connectors/unnamed-0/stop');
  assert.equal(badAction.status, 400);
  assert.equal(badAction.json.error_code, 'InvalidConnectorAction');

  // the output connector: every metric the SDK reads as an integer is there
  const out = await until(
    () => sdk.outputConnectorStats('p', 'v', 'out'),
    (o) => o.metrics.transmitted_records > 0,
    'output written',
  );
  assert.equal(out.endpoint_name, 'v.out');
  for (const k of [
    'transmitted_records',
    'transmitted_bytes',
    'queued_records',
    'queued_batches',
    'buffered_records',
    'buffered_batches',
    'num_encode_errors',
    'num_transport_errors',
    'total_processed_input_records',
    'total_processed_steps',
    'memory',
  ])
    assert.ok(Number.isInteger((out.metrics as unknown as Record<string, unknown>)[k]), `metrics.${k}`);
  const noOut = await call('GET', '/v0/pipelines/p/views/v/connectors/nope/stats');
  assert.equal(noOut.status, 404);
  assert.equal(noOut.json.error_code, 'UnknownOutputEndpoint');

  // HTTP ingress: Feldera's endpoint name, and a completion token for it through the connector route
  assert.equal((await call('POST', '/v0/pipelines/p/ingress/t?format=csv', '6\n')).status, 200);
  const stats = await sdk.stats('p');
  const ingress = stats.inputs.find((i) => i.endpoint_name.includes('.api-ingress-'));
  assert.match(ingress?.endpoint_name ?? '', /^t\.api-ingress-[0-9a-f]{16}$/);
  const connector = (ingress?.endpoint_name ?? '').slice('t.'.length);
  const { token } = await sdk.completionToken('p', 't', connector);
  await until(
    () => sdk.completionStatus('p', token),
    (c) => c.status === 'complete',
    'token complete',
  );
  assert.equal(
    stats.outputs.some((o) => o.endpoint_name === 'v.out'),
    true,
    '/stats lists SQL output connectors',
  );

  // connector_stats while running: a bad CSV line counts
  const details = async () =>
    (await call('GET', '/v0/pipelines/p')).json.deployment_runtime_status_details as {
      connector_stats?: { num_errors: number };
    } | null;
  await until(details, (d) => d?.connector_stats?.num_errors === 0, 'connector_stats while running');
  assert.equal((await call('POST', '/v0/pipelines/p/ingress/t?format=csv', 'oops\n')).status, 400);
  await until(details, (d) => d?.connector_stats?.num_errors === 1, 'the parse error counted');

  // storage in use: the checkpoints are listed
  const cp = await call('POST', '/v0/pipelines/p/checkpoint');
  assert.equal(cp.status, 200, cp.text);
  const withCheckpoint = await until(
    () => call('GET', '/v0/pipelines/p'),
    (r) =>
      ((r.json.storage_status_details as { checkpoints?: unknown[] } | null)?.checkpoints?.length ?? 0) > 0,
    'storage_status_details lists the checkpoint',
  );
  const listed = (
    withCheckpoint.json.storage_status_details as { checkpoints: Array<Record<string, unknown>> }
  ).checkpoints[0];
  assert.equal(typeof listed?.uuid, 'string');
  assert.equal(typeof listed?.fingerprint, 'number');
  await stopProcess(s.proc);
});
