/**
 * Through a real manager (`holdfast server` on 127.0.0.1, port 0) and a real pipeline process: a misspelled
 * top-level field of a create/replace/patch body is a 400 that names it, and runtime fields Holdfast accepts
 * without acting on them appear in the pipeline's `warnings` and once in its log when it starts.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { readStreamUntil } from '../kit/index.ts';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');
let server: ChildProcess | null = null;
after(() => server?.kill('SIGTERM'));

const SQL = 'CREATE TABLE t (x INT); CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n FROM t;';

/** The parts of a reply the test reads (an error, or a pipeline object). */
type Reply = Record<string, unknown> & {
  error_code: string;
  message: string;
  details: { unknown_fields: string[] };
  warnings: Array<{ field: string }>;
  deployment_status: string;
};

async function readLogs(base: string, name: string, until: (text: string) => boolean): Promise<string> {
  return (await readStreamUntil(`${base}/v0/pipelines/${name}/logs`, until)).text;
}

test('unknown top-level fields are 400; ignored runtime fields are warnings', {
  timeout: 60_000,
}, async () => {
  server = spawn(
    process.execPath,
    [MAIN, 'server', '--data-dir', mkdtempSync(join(tmpdir(), 'holdfast-fields-')), '--port', '0'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const base = (
    JSON.parse(
      await new Promise<string>((r) =>
        createInterface({ input: server?.stdout as NodeJS.ReadableStream }).once('line', r),
      ),
    ) as { url: string }
  ).url;
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json().catch(() => ({}))) as Reply };
  };

  // a misspelled top-level field: 400 naming it and the field it probably meant; nothing is created
  const bad = await api('POST', '/v0/pipelines', {
    name: 'p',
    progam_code: SQL,
    runtime_confg: { workers: 2 },
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error_code, 'InvalidRequestBody');
  assert.match(bad.json.message, /'progam_code' \(did you mean 'program_code'\?\)/);
  assert.match(bad.json.message, /'runtime_confg' \(did you mean 'runtime_config'\?\)/);
  assert.match(bad.json.message, /the fields are name, description, tags, program_code, runtime_config/);
  assert.deepEqual(bad.json.details.unknown_fields, ['progam_code', 'runtime_confg']);
  assert.equal((await api('GET', '/v0/pipelines/p')).status, 404);
  const badPut = await api('PUT', '/v0/pipelines/p', { name: 'p', program_code: SQL, udf_tom: '' });
  assert.equal(badPut.status, 400);
  assert.match(badPut.json.message, /'udf_tom' \(did you mean 'udf_toml'\?\)/);

  // Feldera's full create body (every field, SDK-style nulls in runtime_config) is accepted, no warnings
  const plain = await api('POST', '/v0/pipelines', {
    name: 'plain',
    description: '',
    program_code: SQL,
    udf_rust: '',
    udf_toml: '',
    program_config: { profile: 'optimized', runtime_version: null, use_platform_compiler: false },
    runtime_config: {
      workers: null,
      cpu_profiler: true,
      min_batch_size_records: 0,
      resources: { cpu_cores_min: null },
    },
  });
  assert.equal(plain.status, 201, JSON.stringify(plain.json));
  assert.deepEqual(plain.json.warnings, []);

  // ignored Feldera fields with non-default values, and a field nobody knows: accepted, reported
  const created = await api('POST', '/v0/pipelines', {
    name: 'p',
    program_code: SQL,
    runtime_config: {
      workers: 4,
      cpu_profiler: false,
      max_buffering_delay_usecs: 1000,
      storage: false,
      colour: 'red',
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const fields = (w: Array<{ field: string }>) => w.map((x) => x.field);
  assert.deepEqual(fields(created.json.warnings), [
    'workers',
    'cpu_profiler',
    'max_buffering_delay_usecs',
    'colour',
  ]);
  const status = await api('GET', '/v0/pipelines/p?selector=status');
  assert.deepEqual(fields(status.json.warnings), [
    'workers',
    'cpu_profiler',
    'max_buffering_delay_usecs',
    'colour',
  ]);

  // a GET response sent back with one change is a valid PUT (read-only fields are ignored)
  const full = (await api('GET', '/v0/pipelines/p')).json;
  const put = await api('PUT', '/v0/pipelines/p', { ...full, description: 'round trip' });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  // PATCH: a misspelling is refused; a real patch updates the warnings
  const badPatch = await api('PATCH', '/v0/pipelines/p', { descripton: 'x' });
  assert.equal(badPatch.status, 400);
  assert.match(badPatch.json.message, /'descripton' \(did you mean 'description'\?\)/);
  const patched = await api('PATCH', '/v0/pipelines/p', {
    runtime_config: { workers: 4, min_batch_size_records: 10, storage: false },
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.json));
  assert.deepEqual(fields(patched.json.warnings), ['workers', 'min_batch_size_records']);

  // started: the warnings are in the pipeline's log, once each
  assert.equal((await api('POST', '/v0/pipelines/p/start')).status, 202);
  for (let i = 0; i < 300; i++) {
    if ((await api('GET', '/v0/pipelines/p?selector=status')).json.deployment_status === 'Running') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const logs = await readLogs(base, 'p', (t) => t.includes('pipeline listening'));
  const lines = logs.split('\n').filter((l) => l.includes('is accepted but has no effect'));
  assert.equal(lines.filter((l) => l.includes('runtime_config.workers = 4')).length, 1, logs);
  assert.equal(lines.filter((l) => l.includes('runtime_config.min_batch_size_records = 10')).length, 1, logs);
  assert.equal(lines.length, 2, logs);
  await api('POST', '/v0/pipelines/p/stop?force=true');
});
