/**
 * Contract: live responses of a real manager and pipeline carry exactly the keys of the wire DTOs in
 * `src/types/pipeline-api.ts` (via the compile-time-checked key sets in `src/types/wire-keys.ts`).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import {
  CONFIGURATION_KEYS,
  GLOBAL_METRICS_KEYS,
  PIPELINE_DESCR_KEYS,
  PIPELINE_STATS_KEYS,
  PIPELINE_STATUS_DESCR_KEYS,
} from '../../src/types/wire-keys.ts';

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');
let server: ChildProcess | null = null;
after(() => server?.kill('SIGTERM'));

/** Keys a response may omit (optional in Feldera too). */
const OPTIONAL = new Set(['telemetry', 'connectors']);

function sameKeys(actual: object, expected: object, what: string): void {
  const a = Object.keys(actual).sort();
  const e = Object.keys(expected)
    .filter((k) => !OPTIONAL.has(k) || k in actual)
    .sort();
  assert.deepEqual(a, e, `${what}: keys differ from the DTO`);
}

test('manager and pipeline responses match the wire DTOs', { timeout: 60_000 }, async () => {
  server = spawn(
    process.execPath,
    [MAIN, 'server', '--data-dir', mkdtempSync(join(tmpdir(), 'holdfast-contract-')), '--port', '0'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const url = (
    JSON.parse(
      await new Promise<string>((r) =>
        createInterface({ input: server?.stdout as NodeJS.ReadableStream }).once('line', r),
      ),
    ) as { url: string }
  ).url;
  const get = async (path: string, init?: RequestInit) =>
    (await fetch(url + path, init)).json() as Promise<Record<string, unknown>>;

  sameKeys(await get('/v0/config'), CONFIGURATION_KEYS, 'GET /v0/config');
  await get('/v0/pipelines', {
    method: 'POST',
    body: JSON.stringify({ name: 'c', program_code: 'CREATE TABLE t (x INT);' }),
  });
  sameKeys(await get('/v0/pipelines/c'), PIPELINE_DESCR_KEYS, 'GET pipeline (selector=all)');
  sameKeys(
    await get('/v0/pipelines/c?selector=status'),
    PIPELINE_STATUS_DESCR_KEYS,
    'GET pipeline (selector=status)',
  );
  await fetch(`${url}/v0/pipelines/c/start`, { method: 'POST' });
  for (let i = 0; i < 200; i++) {
    if ((await get('/v0/pipelines/c?selector=status')).deployment_status === 'Running') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const stats = await get('/v0/pipelines/c/stats');
  sameKeys(stats, PIPELINE_STATS_KEYS, 'GET stats');
  sameKeys(stats.global_metrics as object, GLOBAL_METRICS_KEYS, 'GET stats global_metrics');
  await fetch(`${url}/v0/pipelines/c/stop?force=true`, { method: 'POST' });
});
