/**
 * Runs the object-store conformance suite (tests/helpers/object-store-conformance.ts) against every
 * implementation: the local directory store, the S3 store against s3rver (started here, with conditional
 * writes and SigV4 checking added by the helper), and the S3 store against moto_server when it is on PATH
 * (skipped, with a message saying so, when it is not).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DirStore } from '../../../src/sync/dir-store.ts';
import { S3Store } from '../../../src/sync/s3-store.ts';
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
function s3Target(name: string, start: () => Promise<S3Server>): ConformanceTarget {
  let server: S3Server | undefined;
  let deadPort = 0;
  const srv = () => {
    if (server === undefined) throw new Error(`${name} did not start`);
    return server;
  };
  const store = (bucket: string, creds: { accessKey: string; secretKey: string } = srv()) =>
    new S3Store({
      bucket,
      provider: 'Minio',
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
        provider: 'Minio',
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
