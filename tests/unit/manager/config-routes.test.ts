/**
 * The configuration routes Feldera's clients read before they log in, on a real manager with an API key:
 * `GET /config/authentication` answers `{}` without a key — Feldera's answer when no identity provider (AWS
 * Cognito, Google Identity) is configured, which tells its clients to send the API key as a bearer token — while
 * `/v0` routes still refuse a request without the key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Manager } from '../../../src/manager/api.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-config-routes-'));
let manager: Manager;
let base = '';

before(async () => {
  manager = new Manager({
    dataDir,
    mainScript: join(import.meta.dirname, 'fake-pipeline-main.ts'),
    apiKey: 'k1',
  });
  await new Promise<void>((r) => manager.server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(manager.server.address() as AddressInfo).port}`;
});

after(async () => {
  await manager.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('GET /config/authentication is {} (no identity provider) and needs no key; /v0 still needs it', async () => {
  const r = await fetch(`${base}/config/authentication`);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), {});
  const denied = await fetch(`${base}/v0/pipelines`);
  assert.equal(denied.status, 401);
  const allowed = await fetch(`${base}/v0/pipelines`, { headers: { authorization: 'Bearer k1' } });
  assert.equal(allowed.status, 200);
});
