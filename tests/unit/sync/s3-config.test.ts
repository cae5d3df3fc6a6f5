/**
 * S3 store configuration: providers, endpoints, regions, addressing style, checksum mode, credentials, bucket
 * prefixes, and the error mapping of SDK/network errors (no server needed).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { splitBucket } from '../../../src/sync/object-store.ts';
import { resolveS3Config, S3_PROVIDERS, s3Error } from '../../../src/sync/s3-store.ts';

const invalid = (fn: () => unknown, field: string) =>
  assert.throws(fn, (e) => isServiceError(e, 'InvalidObjectStoreConfig') && e.details.field === field);

test('AWS: default region us-east-1, virtual-hosted style, SDK default checksums, default credential chain', () => {
  const c = resolveS3Config({ bucket: 'my-bucket/some/prefix' });
  assert.equal(c.provider, 'AWS');
  assert.equal(c.bucket, 'my-bucket');
  assert.equal(c.prefix, 'some/prefix/');
  assert.equal(c.client.region, 'us-east-1');
  assert.equal(c.client.forcePathStyle, false);
  assert.equal(c.client.requestChecksumCalculation, undefined);
  assert.equal(c.client.credentials, undefined);
  assert.equal(resolveS3Config({ bucket: 'b', region: 'eu-west-3' }).client.region, 'eu-west-3');
});

test('third-party providers: path style, WHEN_REQUIRED checksums, endpoint required or defaulted', () => {
  const c = resolveS3Config({
    bucket: 'b',
    provider: 'minio',
    endpoint: 'http://127.0.0.1:9000/',
    accessKey: 'k',
    secretKey: 's',
  });
  assert.equal(c.provider, 'Minio');
  assert.equal(c.endpoint, 'http://127.0.0.1:9000');
  assert.equal(c.client.forcePathStyle, true);
  assert.equal(c.client.requestChecksumCalculation, 'WHEN_REQUIRED');
  assert.equal(c.client.responseChecksumValidation, 'WHEN_REQUIRED');
  assert.deepEqual(c.client.credentials, { accessKeyId: 'k', secretAccessKey: 's' });
  assert.equal(resolveS3Config({ bucket: 'b', provider: 'GCS' }).endpoint, 'https://storage.googleapis.com');
  assert.equal(resolveS3Config({ bucket: 'b', provider: 'Wasabi' }).endpoint, 'https://s3.wasabisys.com');
  assert.equal(
    resolveS3Config({ bucket: 'b', provider: 'Cloudflare', endpoint: 'acct.r2.cloudflarestorage.com' })
      .endpoint,
    'https://acct.r2.cloudflarestorage.com',
  );
  assert.equal(
    resolveS3Config({ bucket: 'b', provider: 'Cloudflare', endpoint: 'x.example' }).client.region,
    'auto',
  );
  assert.equal(resolveS3Config({ bucket: 'b', endpoint: 'http://h:1' }).provider, 'Other');
  for (const p of ['AWS', 'Minio', 'Ceph', 'Cloudflare', 'GCS', 'Wasabi', 'Other'])
    assert.ok((S3_PROVIDERS as readonly string[]).includes(p));
});

test('invalid configurations are refused with the field named', () => {
  invalid(() => resolveS3Config({ bucket: 'b', provider: 'Nope' }), 'provider');
  invalid(() => resolveS3Config({ bucket: 'b', provider: 'Ceph' }), 'endpoint');
  invalid(() => resolveS3Config({ bucket: 'b', provider: 'Other', endpoint: 'ftp://x' }), 'endpoint');
  invalid(() => resolveS3Config({ bucket: '', endpoint: 'http://h' }), 'bucket');
  invalid(() => resolveS3Config({ bucket: 'b', accessKey: 'only-one' }), 'secret_key');
  invalid(() => resolveS3Config({ bucket: 'b', secretKey: 'only-one' }), 'access_key');
  assert.throws(
    () => splitBucket('b/../x'),
    (e) => isServiceError(e, 'InvalidObjectKey'),
  );
  assert.deepEqual(splitBucket('/b/p/q/'), { bucket: 'b', prefix: 'p/q/' });
});

test('errors keep the store code and classify not-found, auth, network and precondition failures', () => {
  const sdk = (name: string, status: number, message = 'msg') =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
  const cases: [unknown, string, string][] = [
    [sdk('NoSuchKey', 404), 'ObjectNotFound', 'NoSuchKey'],
    [sdk('NotFound', 404, 'UnknownError'), 'ObjectNotFound', 'NotFound'],
    [sdk('NoSuchBucket', 404), 'ObjectStoreBucketNotFound', 'NoSuchBucket'],
    [sdk('SignatureDoesNotMatch', 403), 'ObjectStoreAuthFailed', 'SignatureDoesNotMatch'],
    [sdk('InvalidAccessKeyId', 403), 'ObjectStoreAuthFailed', 'InvalidAccessKeyId'],
    [sdk('AccessDenied', 403), 'ObjectStoreAuthFailed', 'AccessDenied'],
    [sdk('Unknown', 403, 'UnknownError'), 'ObjectStoreAuthFailed', 'Forbidden'],
    [
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
      'ObjectStoreAuthFailed',
      'CredentialsProviderError',
    ],
    [sdk('SlowDown', 503), 'ObjectStoreUnavailable', 'SlowDown'],
    [sdk('InternalError', 500), 'ObjectStoreUnavailable', 'InternalError'],
    [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      'ObjectStoreUnavailable',
      'ECONNREFUSED',
    ],
    [
      Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }),
      'ObjectStoreUnavailable',
      'ENOTFOUND',
    ],
    [sdk('InvalidRange', 416), 'ObjectStoreError', 'InvalidRange'],
  ];
  for (const [err, code, storeCode] of cases) {
    const e = s3Error(err, 'GET k on s3://b/', 'k');
    assert.equal(e.errorCode, code, e.message);
    assert.equal(e.details.store_code, storeCode);
    assert.ok(e.message.includes(storeCode), e.message);
  }
  assert.equal(
    s3Error(sdk('PreconditionFailed', 412), 'PUT', 'k', 'create').errorCode,
    'ObjectAlreadyExists',
  );
  assert.equal(s3Error(sdk('PreconditionFailed', 412), 'PUT', 'k', 'cas').errorCode, 'ObjectEtagMismatch');
});
