/**
 * Checkpoint sync to Azure Blob with a customer-provided key (`customer_key_secret`), end to end: real pipeline
 * processes push and pull through the recording HTTPS proxy in front of Azurite (tests/helpers/cpk-proxy.ts;
 * Azurite stores the bytes but neither encrypts nor checks keys). What is checked: the push and the restore work
 * with the key; every blob write and read the pipeline made carried the key and its SHA-256 (on the wire); the key
 * appears in no log line, status or stats response; a restore without the key fails the start with
 * ObjectStoreEncryptionKeyMismatch (Azure's 409 emulated by the proxy).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  checkpoint,
  ingestRows,
  kill9,
  pipelineConfig,
  query,
  startPipeline,
  syncAndWait,
} from '../ft/support.ts';
import { type CpkProxy, startCpkProxy } from '../helpers/cpk-proxy.ts';

const KEY = randomBytes(32).toString('base64');
const SHA = createHash('sha256').update(Buffer.from(KEY, 'base64')).digest('base64');

let proxy: CpkProxy;
before(async () => {
  proxy = await startCpkProxy(['ckpt']);
  // the pipeline processes trust the proxy's self-signed certificate
  process.env.NODE_EXTRA_CA_CERTS = proxy.caFile;
});
after(() => proxy?.stop());

const config = (sync: Record<string, unknown>) =>
  pipelineConfig('holdfast-sync-cpk-', {
    name: 'cpk',
    program_code:
      'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(v) AS total FROM t;',
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
    storage: {
      backend: {
        name: 'file',
        config: {
          sync: {
            provider: 'AzureBlob',
            endpoint: proxy.endpoint,
            access_key: proxy.azurite.account,
            secret_key: proxy.azurite.key,
            bucket: 'ckpt/orders',
            start_from_checkpoint: 'latest',
            ...sync,
          },
        },
      },
    },
  });

async function text(base: string, path: string): Promise<string> {
  return (await fetch(`${base}${path}`)).text();
}

test('push and restore with a customer-provided key: every blob request carries it, no log or status shows it, a restore without it fails clearly', async () => {
  const { cfg, dir } = config({ customer_key_secret: KEY });
  let p = await startPipeline(cfg);
  await ingestRows(p.base, 't', [
    { id: 1, v: 10 },
    { id: 2, v: 20 },
  ]);
  await checkpoint(p.base);
  proxy.requests.length = 0;
  const pushed = await syncAndWait(p.base);
  assert.equal(pushed.error, null);
  const writes = proxy.requests.filter((r) => r.method === 'PUT');
  assert.ok(writes.length >= 3, `${writes.length} blob writes`);
  const shown = [
    await text(p.base, '/checkpoint/sync_status'),
    await text(p.base, '/stats'),
    await text(p.base, '/status'),
    await text(p.base, '/checkpoints/remote'),
  ];
  const views = await query(p.base, 'SELECT n, total FROM s');
  await kill9(p);

  // storage cleared: the checkpoint is pulled (read with the key) and restored
  await rm(join(dir, 'storage'), { recursive: true, force: true });
  proxy.requests.length = 0;
  p = await startPipeline(cfg);
  assert.ok(
    p.log.some((l) => l.includes('checkpoint pulled successfully') && l.includes(pushed.uuid)),
    p.log.join('\n'),
  );
  assert.equal(await query(p.base, 'SELECT n, total FROM s'), views);
  const reads = proxy.requests.filter((r) => (r.method === 'GET' || r.method === 'HEAD') && r.comp === null);
  assert.ok(reads.length >= 2, `${reads.length} blob reads`);
  for (const r of [...writes, ...reads]) {
    const what = `${r.method} ${r.path}${r.comp === null ? '' : `?comp=${r.comp}`}`;
    assert.equal(r.key, KEY, what);
    assert.equal(r.sha, SHA, what);
    assert.equal(r.algorithm, 'AES256', what);
  }
  shown.push(await text(p.base, '/checkpoint/sync_status'), await text(p.base, '/stats'));
  const logs = p.log.join('\n');
  await kill9(p);
  for (const s of [...shown, logs]) assert.ok(!s.includes(KEY), 'the key is never shown');

  // the key left out: the start cannot read the checkpoint and says why
  const { cfg: noKey, dir: dir2 } = config({});
  await rm(join(dir2, 'storage'), { recursive: true, force: true });
  await assert.rejects(startPipeline(noKey), (e: Error) => {
    assert.match(e.message, /CheckpointFetchError/, e.message);
    assert.match(e.message, /BlobUsesCustomerSpecifiedEncryption \(HTTP 409\)/);
    assert.match(e.message, /set `customer_key_secret` to the key the blobs were written with/);
    assert.ok(!e.message.includes(KEY));
    return true;
  });
});
