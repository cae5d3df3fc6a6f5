/**
 * `GET /v0/pipelines/{name}?selector=status_with_connectors` reports the errors the pipeline's connectors
 * counted (read from the running process), not a constant: records that fail to parse show up in `num_errors`;
 * a stopped pipeline has `connectors: null`. Clearing a running pipeline's storage is
 * StorageStatusImmutableUnlessStopped, as in Feldera.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { api, startManager, stopProcess, until } from '../kit/index.ts';

test('status_with_connectors counts the connectors’ errors of a running pipeline', {
  timeout: 90_000,
}, async () => {
  const s = await startManager(mkdtempSync(join(tmpdir(), 'holdfast-connerr-')));
  const call = api(s.base);
  const sql = 'CREATE TABLE t (x INT); CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n FROM t;';
  assert.equal((await call('POST', '/v0/pipelines', { name: 'p', program_code: sql })).status, 201);
  const get = () => call('GET', '/v0/pipelines/p?selector=status_with_connectors');
  assert.equal((await get()).json.connectors, null, 'not deployed: nothing measured');
  await call('POST', '/v0/pipelines/p/start');
  await until(get, (r) => r.json.deployment_status === 'Running', 'Running');
  assert.deepEqual((await get()).json.connectors, { num_errors: 0 });
  const bad = await call('POST', '/v0/pipelines/p/ingress/t?format=csv', '1\nnot a number\n2\nnope\n');
  assert.equal(bad.status, 400);
  assert.deepEqual((await get()).json.connectors, { num_errors: 2 });
  // and while it runs, clearing its storage is refused as Feldera refuses it
  const clear = await call('POST', '/v0/pipelines/p/clear');
  assert.equal(clear.status, 400);
  assert.equal(clear.json.error_code, 'StorageStatusImmutableUnlessStopped');
  await stopProcess(s.proc);
});
