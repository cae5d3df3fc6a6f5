/**
 * Lifecycle details as Feldera shows them (issue 15, item 7), through a real manager:
 *
 * - `refresh_version` moves as Feldera's does: 1 at creation, +1 for each program status move a client must
 *   refetch on (SqlCompiled and Success, or the failure it stops in), +1 for every core edit.
 * - `stop?force=false` on a pipeline without storage is accepted (202) and ends `Stopped` with a
 *   `deployment_error` saying why no checkpoint was written (Holdfast refused it with 400 before).
 * - `storage_status_details` is null while storage is cleared.
 * - `POST /v0/pipelines/{name}/diff` compares the pipeline's program with a proposed one (item 6).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HoldfastApi } from '../../src/client/rest-api.ts';
import { api, startManager, stopProcess, until } from '../kit/index.ts';

test('refresh_version, graceful stop without storage, storage_status_details', {
  timeout: 90_000,
}, async () => {
  const s = await startManager(mkdtempSync(join(tmpdir(), 'holdfast-lifecycle-details-')));
  const call = api(s.base);
  const sql = 'CREATE TABLE t (x INT); CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n FROM t;';

  const created = await call('POST', '/v0/pipelines', {
    name: 'p',
    program_code: sql,
    runtime_config: { storage: false },
  });
  assert.equal(created.status, 201, created.text);
  // created (1), SqlCompiled (+1), Success (+1)
  assert.equal(created.json.refresh_version, 3);
  assert.equal(created.json.storage_status_details, null);
  const bad = await call('POST', '/v0/pipelines', { name: 'q', program_code: 'CREATE TABLE' });
  assert.equal(bad.json.program_status, 'SqlError');
  assert.equal(bad.json.refresh_version, 2, 'created (1), SqlError (+1)');
  // a core edit without a program change: +1; with one: +1 and the two compile moves
  const rc = await call('PATCH', '/v0/pipelines/p', { runtime_config: { storage: false, workers: 2 } });
  assert.equal(rc.json.refresh_version, 4, rc.text);
  const prog = await call('PATCH', '/v0/pipelines/p', {
    program_code: `${sql} CREATE VIEW w AS SELECT x FROM t;`,
  });
  assert.equal(prog.json.refresh_version, 7, prog.text);

  assert.equal((await call('POST', '/v0/pipelines/p/start')).status, 202);
  await until(
    () => call('GET', '/v0/pipelines/p'),
    (r) => r.json.deployment_status === 'Running',
    'Running',
  );
  const stop = await call('POST', '/v0/pipelines/p/stop?force=false');
  assert.equal(stop.status, 202, stop.text);
  const stopped = await until(
    () => call('GET', '/v0/pipelines/p'),
    (r) => r.json.deployment_status === 'Stopped',
    'Stopped',
  );
  const err = stopped.json.deployment_error as { error_code: string; message: string } | null;
  assert.equal(err?.error_code, 'CheckpointStorageRequired');
  assert.match(err?.message ?? '', /without a checkpoint/);
  await stopProcess(s.proc);
});

test('POST /diff shows what a program change would change, before any approval (TS SDK)', {
  timeout: 90_000,
}, async () => {
  const s = await startManager(mkdtempSync(join(tmpdir(), 'holdfast-diff-')));
  const call = api(s.base);
  const sdk = new HoldfastApi({ url: s.base });
  const sql =
    'CREATE TABLE t (x INT); CREATE VIEW v AS SELECT x FROM t; CREATE VIEW gone AS SELECT 1 AS one;';
  assert.equal((await call('POST', '/v0/pipelines', { name: 'p', program_code: sql })).status, 201);
  const proposed =
    'CREATE TABLE t (x INT); CREATE TABLE u (y INT); CREATE VIEW v AS SELECT x + 1 AS x FROM t; CREATE VIEW w AS SELECT y FROM u;';
  const diff = await sdk.programDiff('p', proposed);
  assert.deepEqual(diff.program_diff, {
    added_tables: ['u'],
    removed_tables: [],
    modified_tables: [],
    added_views: ['w'],
    removed_views: ['gone'],
    modified_views: ['v'],
  });
  assert.equal(diff.program_diff_error, null);
  // nothing changed: the pipeline still has its program
  const after = await call('GET', '/v0/pipelines/p');
  assert.equal(after.json.program_code, sql);
  assert.equal(after.json.version, 1);
  // no program given: the pipeline's own, so an empty diff
  const same = await call('POST', '/v0/pipelines/p/diff', {});
  assert.equal(same.status, 200, same.text);
  assert.deepEqual(Object.values((same.json.program_diff ?? {}) as Record<string, unknown[]>).flat(), []);
  // a proposed program that does not compile: its compile error
  const bad = await call('POST', '/v0/pipelines/p/diff', { program_code: 'CREATE TABLE' });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error_code), /^Sql/);
  // a pipeline whose own program did not compile: ProgramNotCompiled
  assert.equal(
    (await call('POST', '/v0/pipelines', { name: 'q', program_code: 'CREATE TABLE' })).status,
    201,
  );
  const none = await call('POST', '/v0/pipelines/q/diff', { program_code: sql });
  assert.equal(none.status, 404);
  assert.equal(none.json.error_code, 'ProgramNotCompiled');
  await stopProcess(s.proc);
});
