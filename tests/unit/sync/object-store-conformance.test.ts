/**
 * Runs the object-store conformance suite (tests/helpers/object-store-conformance.ts) against every
 * implementation: the local directory store, the S3 store against s3rver (started here, with conditional
 * writes and SigV4 checking added by the helper), and the S3 store against moto_server when it is on PATH
 * (skipped, with a message saying so, when it is not), and the Azure Blob store against Azurite (started here).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { AzureStore, type AzureStoreOptions } from '../../../src/sync/azure-store.ts';
import { DirStore } from '../../../src/sync/dir-store.ts';
import { S3Store } from '../../../src/sync/s3-store.ts';
import { type AzuriteServer, startAzurite } from '../../helpers/azurite.ts';
import { type ConformanceTarget, objectStoreConformance } from '../../helpers/object-store-conformance.ts';
import { findMotoServer, type S3Server, startMoto, startS3rver } from '../../helpers/s3rver.ts';

const MiB = 1024 * 1024;
const BUCKET = 'holdfast-conformance';

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

// --- local directory ---
let dirBase = '';
objectStoreConformance({
  name: 'local directory',
  async setup() {
    dirBase = await mkdtemp(join(tmpdir(), 'holdfast-dirstore-'));
  },
  teardown: () => rm(dirBase, { recursive: true, force: true }),
  open: (prefix) => new DirStore({ root: join(dirBase, ...prefix.split('/').filter(Boolean)), create: true }),
  missingBucket: () => new DirStore({ root: join(dirBase, 'no-such-dir') }),
  wrongCredentials: () => 'a local directory has no credentials',
  unreachable: () => 'a local directory has no endpoint',
  partSize: 5 * MiB,
  reportsParts: false,
});

// --- S3 servers ---
function s3Target(
  name: string,
  start: () => Promise<S3Server>,
  provider: { name: string; region?: string } = { name: 'Minio' },
): ConformanceTarget {
  let server: S3Server | undefined;
  let deadPort = 0;
  const srv = () => {
    if (server === undefined) throw new Error(`${name} did not start`);
    return server;
  };
  const store = (bucket: string, creds: { accessKey: string; secretKey: string } = srv()) =>
    new S3Store({
      bucket,
      provider: provider.name,
      ...(provider.region === undefined ? {} : { region: provider.region }),
      endpoint: srv().endpoint,
      accessKey: creds.accessKey,
      secretKey: creds.secretKey,
      maxAttempts: 1,
    });
  return {
    name,
    async setup() {
      server = await start();
      await server.createBucket(BUCKET);
      deadPort = await closedPort();
    },
    teardown: async () => server?.stop(),
    open: (prefix) => store(prefix === '' ? BUCKET : `${BUCKET}/${prefix}`),
    missingBucket: () => store('no-such-bucket'),
    wrongCredentials: () =>
      srv().checksCredentials
        ? [
            {
              store: store(BUCKET, { accessKey: 'NOT-A-KEY', secretKey: 'whatever' }),
              storeCode: 'InvalidAccessKeyId',
            },
            {
              store: store(BUCKET, { accessKey: srv().accessKey, secretKey: 'wrong-secret' }),
              storeCode: 'SignatureDoesNotMatch',
            },
          ]
        : `${name} accepts any credentials`,
    unreachable: () =>
      new S3Store({
        bucket: BUCKET,
        provider: provider.name,
        endpoint: `http://127.0.0.1:${deadPort}`,
        accessKey: 'a',
        secretKey: 'b',
        maxAttempts: 1,
      }),
    partSize: 5 * MiB,
    reportsParts: true,
  };
}

objectStoreConformance(s3Target('S3 on s3rver', () => startS3rver()));

// GCS's XML API with HMAC keys: provider GCS (region auto, one DELETE per key, generation preconditions)
// against s3rver answering like GCS (no multi-object delete, If-None-Match/If-Match ignored on writes)
objectStoreConformance(
  s3Target('GCS provider on s3rver in GCS mode', () => startS3rver(undefined, { gcs: true }), {
    name: 'GCS',
  }),
);

test('GCS provider: conditional writes go out as x-goog-if-generation-match, deletes one by one; the S3 conditions alone would not hold', async (t) => {
  const server = await startS3rver(t, { buckets: [BUCKET], gcs: true, recordRequests: true });
  const gcs = new S3Store({
    bucket: `${BUCKET}/gcs`,
    provider: 'GCS',
    endpoint: server.endpoint,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    maxAttempts: 1,
  });
  t.after(() => gcs.close());
  const first = await gcs.put('owner.json', 'one', { ifNoneMatch: '*' });
  assert.match(first.etag, /^"gen:\d+"$/);
  assert.equal((await gcs.head('owner.json'))?.etag, first.etag);
  await assert.rejects(gcs.put('owner.json', 'two', { ifNoneMatch: '*' }), (e) =>
    isServiceError(e, 'ObjectAlreadyExists'),
  );
  const second = await gcs.put('owner.json', 'two', { ifMatch: first.etag });
  await assert.rejects(gcs.put('owner.json', 'three', { ifMatch: first.etag }), (e) =>
    isServiceError(e, 'ObjectEtagMismatch'),
  );
  assert.equal(Buffer.from((await gcs.get('owner.json')).bytes).toString(), 'two');
  assert.equal((await gcs.get('owner.json')).info.etag, second.etag);
  await gcs.put('a', 'x');
  await gcs.put('b', 'x');
  await gcs.deleteMany(['a', 'b', 'owner.json']);
  const reqs = (await server.requests?.()) ?? [];
  const puts = reqs.filter((r) => r.method === 'PUT');
  assert.deepEqual(
    puts.slice(0, 4).map((r) => r.headers['x-goog-if-generation-match']),
    ['0', '0', first.etag.replace(/\D/g, ''), first.etag.replace(/\D/g, '')],
  );
  assert.ok(!reqs.some((r) => r.method === 'POST' && /(^|&)delete/.test(r.query)), 'no multi-object delete');
  assert.equal(reqs.filter((r) => r.method === 'DELETE').length, 3);
  // the same server ignores S3's conditions on writes, as GCS does: a generic S3 provider would overwrite
  const s3 = new S3Store({
    bucket: `${BUCKET}/plain`,
    provider: 'Other',
    endpoint: server.endpoint,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    maxAttempts: 1,
  });
  t.after(() => s3.close());
  await s3.put('k', 'one', { ifNoneMatch: '*' });
  await s3.put('k', 'two', { ifNoneMatch: '*' });
  assert.equal(Buffer.from((await s3.get('k')).bytes).toString(), 'two');
});

if (findMotoServer() !== null) objectStoreConformance(s3Target('S3 on moto_server', () => startMoto()));
else
  test('object store conformance: S3 on moto_server', {
    skip: 'moto_server is not on PATH: not run against moto',
  }, () => {});

test('the default AWS credential chain reads credentials from the environment', async (t) => {
  const server = await startS3rver(undefined, { buckets: [BUCKET] });
  t.after(() => server.stop());
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = server.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY = server.secretKey;
  try {
    const s = new S3Store({
      bucket: `${BUCKET}/env`,
      provider: 'Minio',
      endpoint: server.endpoint,
      maxAttempts: 1,
    });
    await s.put('k', 'from env');
    const { bytes } = await s.get('k');
    if (Buffer.from(bytes).toString() !== 'from env') throw new Error('round trip failed');
    await s.close();
    process.env.AWS_SECRET_ACCESS_KEY = 'wrong';
    const bad = new S3Store({ bucket: BUCKET, provider: 'Minio', endpoint: server.endpoint, maxAttempts: 1 });
    await bad.listPage('').then(
      () => {
        throw new Error('expected SignatureDoesNotMatch');
      },
      (e: Error) => {
        if (!e.message.includes('SignatureDoesNotMatch')) throw e;
      },
    );
    await bad.close();
  } finally {
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    else process.env.AWS_ACCESS_KEY_ID = saved.id;
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  }
});

// --- Azure Blob on Azurite ---
let azurite: AzuriteServer | undefined;
let azDeadPort = 0;
const az = () => {
  if (azurite === undefined) throw new Error('azurite did not start');
  return azurite;
};
const azStore = (bucket: string, creds: Partial<AzureStoreOptions> = {}) =>
  new AzureStore({
    bucket,
    endpoint: az().endpoint,
    ...(creds.sasToken === undefined && creds.connectionString === undefined
      ? { accountName: az().account, accountKey: az().key }
      : {}),
    maxTries: 1,
    ...creds,
  });
/** A container SAS (read, add, create, write, delete, list) signed with `key` for Azurite's account. */
const containerSas = (container: string, account: string, key: string) =>
  generateBlobSASQueryParameters(
    {
      containerName: container,
      expiresOn: new Date(Date.now() + 3_600_000),
      permissions: ContainerSASPermissions.parse('racwdl'),
    },
    new StorageSharedKeyCredential(account, key),
  ).toString();
const sasFor = (key: string) => containerSas(BUCKET, az().account, key);
const WRONG_KEY = Buffer.alloc(64, 7).toString('base64');

objectStoreConformance({
  name: 'Azure Blob on Azurite',
  async setup() {
    azurite = await startAzurite();
    await azurite.createContainer(BUCKET);
    azDeadPort = await closedPort();
  },
  teardown: async () => azurite?.stop(),
  open: (prefix) => azStore(prefix === '' ? BUCKET : `${BUCKET}/${prefix}`),
  missingBucket: () => azStore('no-such-container'),
  wrongCredentials: () => [
    { store: azStore(BUCKET, { accountKey: WRONG_KEY }), storeCode: 'AuthorizationFailure' },
    { store: azStore(BUCKET, { sasToken: sasFor(WRONG_KEY) }), storeCode: 'AuthorizationFailure' },
  ],
  unreachable: () =>
    new AzureStore({
      bucket: BUCKET,
      endpoint: `http://127.0.0.1:${azDeadPort}/devstoreaccount1`,
      accountName: 'devstoreaccount1',
      accountKey: WRONG_KEY,
      maxTries: 1,
    }),
  partSize: 5 * MiB,
  reportsParts: true,
  storeCodes: { exists: 'BlobAlreadyExists', stale: 'ConditionNotMet', noBucket: 'ContainerNotFound' },
});

test('Azure Blob: SAS token, SAS in the endpoint and connection string authenticate; no secret in any message', async (t) => {
  const server = await startAzurite(t, { containers: ['creds'] });
  const open = (o: Partial<AzureStoreOptions>) => new AzureStore({ bucket: 'creds/p', maxTries: 1, ...o });
  const sas = containerSas('creds', server.account, server.key);
  const ways: Partial<AzureStoreOptions>[] = [
    { endpoint: server.endpoint, sasToken: sas },
    { endpoint: `${server.endpoint}?${sas}` },
    { connectionString: server.connectionString },
    { endpoint: server.endpoint, accountName: server.account, accountKey: server.key },
  ];
  for (const [i, o] of ways.entries()) {
    const s = open(o);
    assert.doesNotMatch(s.description, /sig=|AccountKey|Eby8/);
    await s.put(`k${i}`, `via ${i}`);
    assert.equal(Buffer.from((await s.get(`k${i}`)).bytes).toString(), `via ${i}`);
  }
  assert.equal((await open(ways[2] as AzureStoreOptions).listPage('')).objects.length, 4);
  // a wrong key or SAS: refused, and neither the key nor the signature shows up
  const wrongSas = sas.replace(/sig=[^&]+/, `sig=${encodeURIComponent(WRONG_KEY)}`);
  for (const o of [
    { endpoint: server.endpoint, sasToken: wrongSas },
    { connectionString: server.connectionString.replace(server.key, WRONG_KEY) },
  ]) {
    const e = await open(o)
      .get('k0')
      .then(
        () => assert.fail('expected an auth failure'),
        (err: unknown) => err,
      );
    assert.ok(isServiceError(e, 'ObjectStoreAuthFailed'), String(e));
    const text = JSON.stringify({ m: e.message, d: e.details });
    for (const secret of [WRONG_KEY, encodeURIComponent(WRONG_KEY), server.key, sas])
      assert.ok(!text.includes(secret), `a secret leaked: ${text}`);
  }
});
