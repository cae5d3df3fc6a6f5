/**
 * TypeScript UDFs through the manager as users run it: `holdfast server` and its pipeline processes as real
 * processes on 127.0.0.1 (port 0), raw HTTP. A program with two TS UDFs is created, started, fed and read; a
 * checkpoint and a `kill -9` of the pipeline process later, the restarted process (which recompiles udf_ts
 * with the SQL) restores the view and keeps computing with the UDFs. A udf_ts error is reported like an SQL
 * error (error_type, udf_ts line and snippet); a UDF that tries `process.exit` fails the step (PipelineFailed,
 * cause UdfRuntimeError, as a panicking Rust UDF fails a Feldera pipeline) and the process does not exit by its hand.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { api as client, startManager, stopProcess, tempDir, until } from '../kit/index.ts';

const SQL = `CREATE FUNCTION label(name VARCHAR NOT NULL, score INT) RETURNS VARCHAR NOT NULL;
CREATE FUNCTION weight(score INT, factor DECIMAL(6, 2) NOT NULL) RETURNS DECIMAL(8, 2);
CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR NOT NULL, score INT);
CREATE MATERIALIZED VIEW v AS SELECT id, label(name, score) AS l, weight(score, 1.50) AS w FROM t;`;

const UDF_TS = `// two UDFs and a helper
function grade(score: number): string {
  return score >= 50 ? 'pass' : 'fail';
}
export function label(name: string, score: number | null): string {
  return score === null ? name + ':none' : name + ':' + grade(score);
}
export function weight(score: number | null, factor: string): string | null {
  if (score === null) return null;
  if (score === 13) return (globalThis as any).process.exit(3);
  return ((Math.round(Number(factor) * 100) * score) / 100).toFixed(2);
}
`;

const query = async (api: ReturnType<typeof client>, name: string) =>
  (
    await api(
      'GET',
      `/v0/pipelines/${name}/query?sql=${encodeURIComponent('SELECT id, l, w FROM v ORDER BY id')}&format=json`,
    )
  ).text
    .trim()
    .split('\n')
    .filter((l) => l !== '');

async function ingest(api: ReturnType<typeof client>, name: string, body: string): Promise<void> {
  const ing = await api('POST', `/v0/pipelines/${name}/ingress/t?format=json`, body);
  assert.equal(ing.status, 200, ing.text);
  await until(
    () => api('GET', `/v0/pipelines/${name}/completion_status?token=${ing.json.token}`),
    (r) => r.json.status === 'complete',
    'completion',
  );
}

const running = (api: ReturnType<typeof client>, name: string) =>
  until(
    () => api('GET', `/v0/pipelines/${name}?selector=status`),
    (r) => r.json.deployment_status === 'Running',
    `${name} Running`,
  );

test('two TS UDFs over HTTP: create, start, push, read; checkpoint, kill -9 and restore keep them working', {
  timeout: 120_000,
}, async () => {
  const dataDir = tempDir('holdfast-udfts-');
  const { base, proc } = await startManager(dataDir);
  const api = client(base);
  try {
    const created = await api('POST', '/v0/pipelines', { name: 'u1', program_code: SQL, udf_ts: UDF_TS });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.program_status, 'Success', created.text);
    assert.equal(created.json.udf_ts, UDF_TS);
    assert.match(
      (created.json.program_info as { udf_stubs: string }).udf_stubs,
      /export function label\(name: string, score: number \| null\): string \{/,
    );
    assert.equal((await api('GET', '/v0/pipelines/u1')).json.udf_ts, UDF_TS);

    assert.equal((await api('POST', '/v0/pipelines/u1/start')).status, 202);
    await running(api, 'u1');
    await ingest(
      api,
      'u1',
      '{"insert": {"id": 1, "name": "ann", "score": 70}}\n{"insert": {"id": 2, "name": "bob", "score": 20}}\n{"insert": {"id": 3, "name": "cy", "score": null}}',
    );
    const expected = [
      '{"id":1,"l":"ann:pass","w":105}',
      '{"id":2,"l":"bob:fail","w":30}',
      '{"id":3,"l":"cy:none","w":null}',
    ];
    assert.deepEqual(await query(api, 'u1'), expected);
    // a retraction goes through the UDF too (same arguments, same result: determinism)
    await ingest(api, 'u1', '{"delete": {"id": 2, "name": "bob", "score": 20}}');
    assert.deepEqual(await query(api, 'u1'), [expected[0], expected[2]]);

    // checkpoint, then kill -9 the pipeline process: the manager restarts it, and the new process recompiles
    // udf_ts with the SQL and restores the checkpoint
    const cp = await api('POST', '/v0/pipelines/u1/checkpoint');
    assert.equal(cp.status, 200, cp.text);
    await until(
      () => api('GET', '/v0/pipelines/u1'),
      (r) =>
        ((r.json.storage_status_details as { checkpoints?: unknown[] } | null)?.checkpoints?.length ?? 0) > 0,
      'the checkpoint is listed',
    );
    const inc1 = (
      (await api('GET', '/v0/pipelines/u1/stats')).json.global_metrics as { incarnation_uuid: string }
    ).incarnation_uuid;
    const reg = JSON.parse(readFileSync(join(dataDir, 'registry.json'), 'utf8')) as {
      pipelines: Array<{ name: string; pid: number }>;
    };
    process.kill(reg.pipelines.find((p) => p.name === 'u1')?.pid as number, 'SIGKILL');
    await until(
      () => api('GET', '/v0/pipelines/u1/stats'),
      (r) =>
        r.status === 200 &&
        (r.json.global_metrics as { incarnation_uuid: string; state: string }).incarnation_uuid !== inc1 &&
        (r.json.global_metrics as { state: string }).state === 'Running',
      'a new incarnation after kill -9',
    );
    assert.deepEqual(await query(api, 'u1'), [expected[0], expected[2]], 'restored from the checkpoint');
    await ingest(api, 'u1', '{"insert": {"id": 4, "name": "dee", "score": 50}}');
    assert.deepEqual(await query(api, 'u1'), [expected[0], expected[2], '{"id":4,"l":"dee:pass","w":75}']);

    // a UDF that tries process.exit: the step fails with UdfRuntimeError, the process did not exit(3)
    await api(
      'POST',
      '/v0/pipelines/u1/ingress/t?format=json',
      '{"insert": {"id": 5, "name": "eve", "score": 13}}',
    );
    const failed = await until(
      () => api('GET', '/v0/pipelines/u1?selector=status'),
      (r) => r.json.deployment_error !== null && r.json.deployment_status === 'Stopped',
      'Stopped with deployment_error',
    );
    const err = failed.json.deployment_error as {
      error_code: string;
      message: string;
      details: { cause_code: string };
    };
    // PipelineFailed (the process reported the failed step), not PipelineCrashed (the process exited)
    assert.equal(err.error_code, 'PipelineFailed', JSON.stringify(err));
    assert.equal(err.details.cause_code, 'UdfRuntimeError');
    assert.match(
      err.message,
      /function weight threw: TypeError: Cannot read properties of undefined \(reading 'exit'\) \(udf_ts line 10/,
    );

    // udf_ts is part of the program: changing it on a stopped pipeline recompiles it (program_version bumps)
    const v1 = (await api('GET', '/v0/pipelines/u1')).json.program_version as number;
    const patched = await api('PATCH', '/v0/pipelines/u1', { udf_ts: UDF_TS.replace("'pass'", "'ok'") });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.json.program_version, v1 + 1);
    assert.equal(patched.json.program_status, 'Success');
    // ... and the program diff names the views that call a function of the changed udf_ts
    const diff = await api('POST', '/v0/pipelines/u1/diff', { udf_ts: UDF_TS.replace("'fail'", "'no'") });
    assert.equal(diff.status, 200, diff.text);
    assert.match(JSON.stringify(diff.json), /"modified_views":\["v"\]/);

    // starting with the changed udf_ts: the checkpoint's program differs (udf_ts is part of its fingerprint), so
    // the view that calls the changed function is bootstrapped, never restored as is with the old results
    assert.equal((await api('POST', '/v0/pipelines/u1/start')).status, 202);
    const waiting = await until(
      () => api('GET', '/v0/pipelines/u1'),
      (r) => r.json.deployment_status === 'AwaitingApproval',
      'AwaitingApproval',
    );
    assert.match(JSON.stringify(waiting.json.deployment_runtime_status_details), /"modified_views":\["v"\]/);
    assert.equal((await api('POST', '/v0/pipelines/u1/approve')).status, 200);
    await running(api, 'u1');
    assert.deepEqual(await query(api, 'u1'), ['{"id":1,"l":"ann:ok","w":105}', expected[2]]);
  } finally {
    await stopProcess(proc);
  }
});

test('udf_ts errors are reported like SQL errors: error_type, udf_ts line and snippet', {
  timeout: 60_000,
}, async () => {
  const dataDir = tempDir('holdfast-udfts-err-');
  const { base, proc } = await startManager(dataDir);
  const api = client(base);
  try {
    const bad = UDF_TS.replace(
      'export function weight(score: number | null',
      'export function weight(score: number',
    );
    const created = await api('POST', '/v0/pipelines', { name: 'bad', program_code: SQL, udf_ts: bad });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.program_status, 'SqlError');
    const m = (
      created.json.program_error as {
        sql_compilation: {
          messages: Array<{
            start_line_number: number;
            start_column: number;
            error_type: string;
            message: string;
            snippet: string;
          }>;
        };
      }
    ).sql_compilation.messages[0];
    assert.equal(m?.error_type, 'UdfTypeError');
    assert.equal(m?.start_line_number, 8);
    assert.equal(m?.start_column, 17);
    assert.equal(m?.snippet, 'export function weight(score: number, factor: string): string | null {');
    assert.match(m?.message ?? '', /function weight: the udf_ts export does not match the SQL declaration/);
    assert.equal(
      (await api('POST', '/v0/pipelines/bad/start')).json.error_code,
      'CannotStartWithCompilationError',
    );

    const missing = await api('POST', '/v0/pipelines', { name: 'missing', program_code: SQL });
    const mm = (
      missing.json.program_error as {
        sql_compilation: { messages: Array<{ error_type: string; start_line_number: number }> };
      }
    ).sql_compilation.messages[0];
    assert.equal(mm?.error_type, 'UdfMissingExport');
    assert.equal(mm?.start_line_number, 1, 'at the SQL declaration');
  } finally {
    await stopProcess(proc);
  }
});
