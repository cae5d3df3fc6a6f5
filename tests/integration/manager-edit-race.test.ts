/**
 * A program edit racing a start. The manager compiles an edited program in a child process (hundreds of ms to
 * seconds); a start that arrives meanwhile deploys the stored program. The edit used to be written back from
 * the record as it was before the compile, which reset the started pipeline to Stopped while its process kept
 * running, unseen (a later start would run a second process on the same storage). Now the edit is refused
 * (`UpdateRestrictedToStopped`) when the pipeline was started or changed while the edit compiled, and the
 * started pipeline stays tracked.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { api as client, startManager, stopProcess, tempDir, until } from '../kit/index.ts';

const SQL =
  'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n FROM t;';

/** Pipeline processes of pipeline `id`, found by their config path in /proc. */
function processes(id: string): string[] {
  return readdirSync('/proc').filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(join('pipelines', id));
    } catch {
      return false;
    }
  });
}

test('an edit that compiles while the pipeline is started does not orphan its process', {
  timeout: 90_000,
}, async () => {
  const { base, proc } = await startManager(tempDir('holdfast-edit-race-'));
  const api = client(base);
  try {
    const created = await api('POST', '/v0/pipelines', {
      name: 'p',
      program_code: SQL,
      runtime_config: { fault_tolerance: { model: 'exactly_once' } },
    });
    assert.equal(created.status, 201);
    const id = created.json.id as string;
    // the edit passes its "stopped?" check at once, then compiles in a child process; the start lands meanwhile
    const edit = api('PATCH', '/v0/pipelines/p', {
      program_code: `${SQL} CREATE MATERIALIZED VIEW big AS SELECT id FROM t WHERE x > 1;`,
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await api('POST', '/v0/pipelines/p/start')).status, 202);
    const edited = await edit;
    assert.equal(edited.status, 400, JSON.stringify(edited.json));
    assert.equal(edited.json.error_code, 'UpdateRestrictedToStopped');
    // the pipeline runs its stored program, and the manager knows it
    const running = await until(
      () => api('GET', '/v0/pipelines/p'),
      (r) => r.json.deployment_status === 'Running',
      'the started pipeline Running',
    );
    assert.equal(running.json.program_code, SQL);
    assert.equal(processes(id).length, 1);
    // stopped, the edit goes through
    assert.equal((await api('POST', '/v0/pipelines/p/stop?force=true')).status, 202);
    await until(
      () => api('GET', '/v0/pipelines/p'),
      (r) => r.json.deployment_status === 'Stopped',
      'Stopped',
    );
    await until(
      async () => processes(id).length,
      (n) => n === 0,
      'the pipeline process gone',
    );
    const again = await api('PATCH', '/v0/pipelines/p', {
      program_code: `${SQL} CREATE MATERIALIZED VIEW big AS SELECT id FROM t WHERE x > 1;`,
    });
    assert.equal(again.status, 200, JSON.stringify(again.json));
  } finally {
    await stopProcess(proc);
  }
});
