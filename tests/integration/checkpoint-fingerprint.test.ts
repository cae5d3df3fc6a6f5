/**
 * A checkpoint's `fingerprint` is a u64 over the full 64-bit range (Feldera's `CheckpointMetadata`): every place
 * that serves it — the pipeline's `/status` and `/checkpoints`, the manager's `storage_status_details` (also after
 * the manager restarts and reads its registry back) and the proxied `/checkpoints` — writes the exact integer,
 * and the TS SDK reads it as an exact bigint. (Before, the value went through a double and lost its low digits:
 * 2^53 < the value for almost every program.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HoldfastApi } from '../../src/client/rest-api.ts';
import { api, startManager, stopProcess, until } from '../kit/index.ts';

const SQL = 'CREATE TABLE t (x INT);\nCREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n FROM t;';
/** Holdfast's fingerprint: the first 16 hex digits of the program's SHA-256, read as a u64. */
const EXPECTED = BigInt(`0x${createHash('sha256').update(SQL).digest('hex').slice(0, 16)}`);

/** Every `"fingerprint": <digits>` in a response body, as written (not through JSON.parse). */
const rawFingerprints = (text: string) =>
  [...text.matchAll(/"fingerprint":\s*(-?[0-9.eE+]+)/g)].map((m) => m[1]);

test('checkpoint fingerprints keep all 64 bits through the pipeline, the manager, its registry and the SDK', {
  timeout: 120_000,
}, async () => {
  assert.ok(
    EXPECTED > BigInt(Number.MAX_SAFE_INTEGER),
    'the test program must have a fingerprint above 2^53',
  );
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-fingerprint-'));
  let s = await startManager(join(dir, 'data'));
  let call = api(s.base);
  assert.equal((await call('POST', '/v0/pipelines', { name: 'p', program_code: SQL })).status, 201);
  assert.equal((await call('POST', '/v0/pipelines/p/start')).status, 202);
  await until(
    () => call('GET', '/v0/pipelines/p'),
    (r) => r.json.deployment_status === 'Running',
    'Running',
  );
  assert.equal((await call('POST', '/v0/pipelines/p/checkpoint')).status, 200);
  const listed = await until(
    () => call('GET', '/v0/pipelines/p'),
    (r) => rawFingerprints(r.text).length > 0,
    'storage_status_details lists the checkpoint',
  );
  assert.deepEqual(rawFingerprints(listed.text), [EXPECTED.toString()], 'GET /v0/pipelines/p');
  const checkpoints = await call('GET', '/v0/pipelines/p/checkpoints');
  assert.equal(checkpoints.status, 200, checkpoints.text);
  assert.deepEqual(rawFingerprints(checkpoints.text), [EXPECTED.toString()], 'GET /checkpoints');

  // the SDK gives the exact value
  const sdk = new HoldfastApi({ url: s.base });
  const viaSdk = await sdk.checkpoints('p');
  assert.equal(viaSdk[0]?.fingerprint, EXPECTED);

  // the manager's registry keeps it across a manager restart (it is written and read back)
  await stopProcess(s.proc);
  s = await startManager(join(dir, 'data'));
  call = api(s.base);
  const again = await call('GET', '/v0/pipelines/p');
  assert.ok(rawFingerprints(again.text).length > 0, again.text);
  for (const f of rawFingerprints(again.text))
    assert.equal(f, EXPECTED.toString(), 'after a manager restart');
  await call('POST', '/v0/pipelines/p/stop?force=true');
  await stopProcess(s.proc);
});
