/**
 * Azure customer-provided keys (CPK) on the wire. Azurite (started with `--loose`; it refuses the headers
 * otherwise) accepts the CPK headers but neither encrypts with them nor checks them, so this test puts a
 * recording HTTPS proxy (tests/helpers/cpk-proxy.ts) between the Azure store and Azurite:
 *
 * - verified against the server (Azurite): every operation succeeds with the headers present and the bytes
 *   read back equal the bytes written;
 * - verified on the wire only: every Put Blob, Put Block, Put Block List, Get Blob and Get Blob Properties carries
 *   `x-ms-encryption-key` (the configured key), `x-ms-encryption-key-sha256` (the SHA-256 of the decoded key,
 *   computed here independently) and `x-ms-encryption-algorithm: AES256`;
 * - emulated by the proxy (Azure's documented answer, which Azurite does not give): a read without the key, or
 *   with another one, of a blob written with a key gets 409 `BlobUsesCustomerSpecifiedEncryption`, and the store
 *   reports `ObjectStoreEncryptionKeyMismatch`;
 * - the key itself never appears in an error message, a store description or the shown sync settings;
 * - on the wire too: an encryption scope is named on every write, and a large file goes up in blocks of the
 *   configured size, several in flight at once (the proxy counts requests in flight).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { type ConnectorContext, parseConnectorSpec } from '../../../src/connectors/transports/config.ts';
import { startObjectInput } from '../../../src/connectors/transports/object-input.ts';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { redact } from '../../../src/manager/validate.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { AzureStore } from '../../../src/sync/azure-store.ts';
import { openStore } from '../../../src/sync/synchronizer.ts';
import { describeSync, parseSyncConfig } from '../../../src/types/sync-config.ts';
import { type CpkProxy, startCpkProxy } from '../../helpers/cpk-proxy.ts';
import { FakeHost } from '../connectors/transports/support.ts';

const KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(32).toString('base64');
/** The SHA-256 Azure expects, computed here from the decoded key (not by the code under test). */
const sha = (k: string) => createHash('sha256').update(Buffer.from(k, 'base64')).digest('base64');

let proxy: CpkProxy;
let endpoint: string;
let seen: CpkProxy['requests'];
before(async () => {
  proxy = await startCpkProxy(['cpk']);
  endpoint = proxy.endpoint;
  seen = proxy.requests;
});
after(() => proxy?.stop());

const store = (customerKey?: string, bucket = 'cpk/pfx') =>
  new AzureStore({
    bucket,
    endpoint,
    accountName: proxy.azurite.account,
    accountKey: proxy.azurite.key,
    ...(customerKey === undefined ? {} : { customerKey }),
    singleShotSize: 64 * 1024,
    blockSize: 64 * 1024,
    concurrency: 2,
    maxTries: 1,
  });

test('every blob write and read carries the key, its SHA-256 and AES256; Azurite serves the bytes back', async () => {
  const s = store(KEY);
  seen.length = 0;
  const small = Buffer.from('small checkpoint file');
  const big = randomBytes(300 * 1024); // Put Block × 5 + Put Block List
  const streamed = randomBytes(150 * 1024);
  await s.put('files/small', small, { sha256: createHash('sha256').update(small).digest('hex') });
  await s.put('files/big', big);
  await s.put('files/streamed', Readable.from([streamed.subarray(0, 70_000), streamed.subarray(70_000)]));
  await s.put('owner.json', '{"epoch":1}', { ifNoneMatch: '*' });
  const etag = (await s.head('owner.json'))?.etag as string;
  await s.put('owner.json', '{"epoch":2}', { ifMatch: etag });
  assert.deepEqual(Buffer.from((await s.get('files/small')).bytes), small);
  assert.deepEqual(Buffer.from((await s.get('files/big')).bytes), big);
  assert.deepEqual(Buffer.from((await s.get('files/streamed')).bytes), streamed);
  const ranged = await s.get('files/big', { range: { offset: 1000, length: 5000 } });
  assert.deepEqual(Buffer.from(ranged.bytes), big.subarray(1000, 6000));
  assert.equal((await s.head('files/big'))?.size, big.length);
  const listed: string[] = [];
  for await (const o of s.list('files/')) listed.push(o.key);
  assert.deepEqual(listed.sort(), ['files/big', 'files/small', 'files/streamed']);
  await s.delete('files/small');

  const blobOps = seen.filter((r) => !(r.comp === 'list') && r.method !== 'DELETE');
  const kinds = new Set(
    blobOps.map((r) =>
      r.method === 'PUT'
        ? r.comp === 'block'
          ? 'Put Block'
          : r.comp === 'blocklist'
            ? 'Put Block List'
            : 'Put Blob'
        : r.method === 'HEAD'
          ? 'Get Blob Properties'
          : 'Get Blob',
    ),
  );
  assert.deepEqual(
    [...kinds].sort(),
    ['Get Blob', 'Get Blob Properties', 'Put Blob', 'Put Block', 'Put Block List'],
    'every kind of blob request was exercised',
  );
  for (const r of blobOps) {
    const what = `${r.method} ${r.path}${r.comp === null ? '' : `?comp=${r.comp}`}`;
    assert.equal(r.key, KEY, `${what}: x-ms-encryption-key`);
    assert.equal(r.sha, sha(KEY), `${what}: x-ms-encryption-key-sha256 is the SHA-256 of the key`);
    assert.equal(r.algorithm, 'AES256', `${what}: x-ms-encryption-algorithm`);
  }
  assert.ok(blobOps.length >= 14, `${blobOps.length} blob requests`);
  // listings and deletes take no key: it is not sent where it is not needed
  for (const r of seen.filter((x) => x.comp === 'list' || x.method === 'DELETE'))
    assert.equal(r.key, undefined, `${r.method} ${r.path}: no key`);
});

test('a blob written with a key, read without it or with another: ObjectStoreEncryptionKeyMismatch, key not shown', async () => {
  await store(KEY).put('files/locked', 'secret bytes');
  for (const [name, s] of [
    ['no key', store()],
    ['another key', store(OTHER_KEY)],
  ] as const) {
    for (const op of [() => s.get('files/locked'), () => s.getStream('files/locked')]) {
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(isServiceError(e, 'ObjectStoreEncryptionKeyMismatch'), `${name}: ${String(e)}`);
        assert.equal(
          (e as unknown as { details: { store_code: string } }).details.store_code,
          'BlobUsesCustomerSpecifiedEncryption',
        );
        assert.match((e as Error).message, /customer_key_secret/);
        for (const k of [KEY, OTHER_KEY])
          assert.ok(!JSON.stringify(e).includes(k) && !(e as Error).message.includes(k));
        // the SDK's error holds the failed request and its headers: never kept when they carry a key
        const cause = (e as Error).cause as
          | { request?: { headers?: { get(n: string): unknown } } }
          | undefined;
        assert.equal(cause?.request?.headers?.get('x-ms-encryption-key'), undefined, 'no key in the cause');
        if (name === 'another key') assert.equal(cause, undefined);
        return true;
      });
    }
    await assert.rejects(s.head('files/locked'), (e: unknown) =>
      isServiceError(e, 'ObjectStoreEncryptionKeyMismatch'),
    );
  }
  assert.equal(Buffer.from((await store(KEY).get('files/locked')).bytes).toString(), 'secret bytes');
});

test('errors, descriptions and shown settings never carry the key', async () => {
  const s = store(KEY, 'nosuch/pfx');
  await assert.rejects(s.get('x'), (e: unknown) => {
    assert.ok(isServiceError(e, 'ObjectStoreBucketNotFound'), String(e));
    assert.ok(!(e as Error).message.includes(KEY) && !JSON.stringify(e).includes(KEY));
    return true;
  });
  assert.ok(!s.description.includes(KEY));
  const missing = store(KEY);
  await assert.rejects(
    missing.get('nothing-here'),
    (e: unknown) => isServiceError(e, 'ObjectNotFound') && !(e as Error).message.includes(KEY),
  );

  const settings = parseSyncConfig({
    provider: 'AzureBlob',
    bucket: 'cpk/sync',
    endpoint,
    access_key: proxy.azurite.account,
    secret_key: proxy.azurite.key,
    customer_key_secret: KEY,
  });
  assert.equal(settings.customerKey, KEY);
  const shown = JSON.stringify(describeSync(settings));
  assert.ok(!shown.includes(KEY), shown);
  assert.match(shown, /customer-provided key/);
  // the manager's and the logger's name-based redaction covers the field
  const viaManager = JSON.stringify(
    redact({ storage: { backend: { config: { sync: { customer_key_secret: KEY } } } } }),
  );
  assert.ok(!viaManager.includes(KEY) && viaManager.includes('<redacted>'), viaManager);
  // the synchronizer's store sends it
  seen.length = 0;
  const synced = openStore(settings, 'cpk/sync');
  await synced.put('checkpoints/x.json', '{}');
  assert.equal(seen.at(-1)?.sha, sha(KEY));
});

test('configuration: a malformed key, an http endpoint, a non-Azure provider or an encryption scope too are refused, the value never echoed', () => {
  const base = {
    provider: 'AzureBlob',
    bucket: 'cpk',
    access_key: 'devstoreaccount1',
    secret_key: 'a2V5a2V5a2V5',
  };
  const refused = (cfg: Record<string, unknown>, field: string, secret: string) =>
    assert.throws(
      () => parseSyncConfig(cfg),
      (e: Error & { errorCode?: string; details?: { field?: string } }) => {
        assert.equal(e.errorCode, 'InvalidSyncConfig');
        assert.equal(e.details?.field, field, e.message);
        assert.ok(!e.message.includes(secret), e.message);
        return true;
      },
    );
  const short = randomBytes(16).toString('base64');
  refused({ ...base, customer_key_secret: short }, 'customer_key_secret', short);
  refused({ ...base, customer_key_secret: `${KEY}!` }, 'customer_key_secret', KEY);
  refused(
    { ...base, endpoint: 'http://127.0.0.1:10000/devstoreaccount1', customer_key_secret: KEY },
    'endpoint',
    KEY,
  );
  refused(
    { bucket: 'b', provider: 'Minio', endpoint: 'http://x:9000', customer_key_secret: KEY },
    'customer_key_secret',
    KEY,
  );
  refused(
    { ...base, customer_key_secret: KEY, flags: ['--azureblob-encryption-scope', 'scope1'] },
    'customer_key_secret',
    KEY,
  );
  // the store itself refuses it over http and a malformed key, naming the field, not the value
  assert.throws(
    () =>
      new AzureStore({ bucket: 'cpk', endpoint: 'http://127.0.0.1:1/devstoreaccount1', customerKey: KEY }),
    (e: Error & { errorCode?: string; details?: { field?: string } }) =>
      e.errorCode === 'InvalidObjectStoreConfig' &&
      e.details?.field === 'endpoint' &&
      !e.message.includes(KEY),
  );
  assert.throws(
    () =>
      new AzureStore({ bucket: 'cpk', endpoint: 'https://127.0.0.1:1/devstoreaccount1', customerKey: short }),
    (e: Error & { errorCode?: string; details?: { field?: string } }) =>
      e.errorCode === 'InvalidObjectStoreConfig' &&
      e.details?.field === 'customer_key_secret' &&
      !e.message.includes(short),
  );
});

test('object_store_input from Azure with customer_key_secret reads with the key; without it the connector fails clearly', async () => {
  await store(KEY, 'cpk/input').put('1.json', '{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n');
  const table = (await compileProgram('CREATE TABLE t (id INT NOT NULL, name VARCHAR);')).table(
    't',
  ) as TableSchema;
  const read = async (extra: Record<string, unknown>) => {
    const config = {
      provider: 'AzureBlob',
      bucket: 'cpk/input',
      endpoint,
      access_key: proxy.azurite.account,
      secret_key: proxy.azurite.key,
      prefix: '',
      ...extra,
    };
    const spec = parseConnectorSpec(
      {
        name: 'src',
        transport: { name: 'object_store_input', config },
        format: { name: 'json', config: { update_format: 'raw' } },
      },
      0,
      't',
      'table',
    );
    const ctx: ConnectorContext = {
      relation: 't',
      relationKind: 'table',
      connector: 'src',
      transport: 'object_store_input',
    };
    const host = new FakeHost();
    const logged: string[] = [];
    const c = await startObjectInput(ctx, spec, table, host, (_l, m) => logged.push(m), {
      baseDir: tmpdir(),
    });
    await c.settled;
    await c.stop();
    return { host, status: c.status(), logged };
  };
  seen.length = 0;
  const ok = await read({ customer_key_secret: KEY });
  assert.equal(ok.status.state, 'end_of_input', String(ok.status.error));
  assert.deepEqual(ok.host.rows(), [
    [1, 'a'],
    [2, 'b'],
  ]);
  const gets = seen.filter((r) => r.method === 'GET' && r.comp === null);
  assert.ok(gets.length >= 1);
  for (const r of gets) assert.equal(r.sha, sha(KEY));
  const none = await read({});
  assert.equal(none.status.state, 'failed');
  assert.match(String(none.status.error), /BlobUsesCustomerSpecifiedEncryption/);
  const wrong = await read({ customer_key_secret: OTHER_KEY });
  assert.equal(wrong.status.state, 'failed');
  for (const r of [ok, none, wrong])
    assert.ok(
      !JSON.stringify([r.status, r.logged]).includes(KEY) &&
        !JSON.stringify([r.status, r.logged]).includes(OTHER_KEY),
    );
  await assert.rejects(
    read({ provider: 'S3', customer_key_secret: KEY }),
    (e: Error) => /for provider AzureBlob/.test(e.message) && !e.message.includes(KEY),
  );
});

test('an encryption scope is sent on every write; a large file goes up in blocks of the block size, several at once', async () => {
  const s = new AzureStore({
    bucket: 'cpk/scope',
    endpoint,
    accountName: proxy.azurite.account,
    accountKey: proxy.azurite.key,
    encryptionScope: 'scope1',
    singleShotSize: 64 * 1024,
    blockSize: 64 * 1024,
    concurrency: 4,
    maxTries: 1,
  });
  seen.length = 0;
  const big = randomBytes(512 * 1024);
  await s.put('files/big', big);
  await s.put('files/small', Buffer.from('x'));
  assert.deepEqual(Buffer.from((await s.get('files/big')).bytes), big);
  const writes = seen.filter((r) => r.method === 'PUT');
  const blocks = writes.filter((r) => r.comp === 'block');
  assert.equal(blocks.length, 8, '512 KiB in 64 KiB blocks');
  assert.ok(
    writes.every((r) => r.scope === 'scope1'),
    'every Put Blob, Put Block and Put Block List names the scope',
  );
  assert.ok(Math.max(...blocks.map((r) => r.inFlight)) >= 1, 'blocks were uploaded in parallel');
});
