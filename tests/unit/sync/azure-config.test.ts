/** The Azure Blob store's configuration and error mapping, without a server (Azurite runs in the conformance suite). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AzureStore, azureError } from '../../../src/sync/azure-store.ts';
import { openStore } from '../../../src/sync/synchronizer.ts';
import { parseSyncConfig } from '../../../src/types/sync-config.ts';

const KEY = Buffer.alloc(64, 1).toString('base64');

test('openStore: provider AzureBlob opens an Azure store on the default or given endpoint', async () => {
  const s = openStore(
    parseSyncConfig({
      provider: 'AzureBlob',
      bucket: 'ckpt/orders',
      access_key: 'myaccount',
      secret_key: KEY,
    }),
    'ckpt/orders',
  );
  assert.ok(s instanceof AzureStore);
  assert.equal(s.description, 'azureblob://ckpt/orders/ at https://myaccount.blob.core.windows.net');
  const sas = openStore(
    parseSyncConfig({
      provider: 'AzureBlob',
      bucket: 'ckpt',
      endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
      sas_token: '?sv=2024-01-01&sig=TOPSECRET',
    }),
    'ckpt',
  );
  assert.equal(sas.description, 'azureblob://ckpt/ at http://127.0.0.1:10000/devstoreaccount1');
  const env = openStore(
    parseSyncConfig({ provider: 'AzureBlob', bucket: 'ckpt', account: 'myaccount' }),
    'ckpt',
  );
  assert.match(env.description, /myaccount\.blob\.core\.windows\.net/);
});

test('AzureStore refuses bad options with InvalidObjectStoreConfig naming the field', () => {
  const field = (f: string) => (e: Error & { errorCode?: string; details?: { field?: string } }) =>
    e.errorCode === 'InvalidObjectStoreConfig' && e.details?.field === f;
  assert.throws(() => new AzureStore({ bucket: 'ck', account: 'myaccount' }), field('bucket'));
  assert.throws(() => new AzureStore({ bucket: 'ckpt' }), field('endpoint'));
  assert.throws(() => new AzureStore({ bucket: 'ckpt', accountName: 'a' }), field('secret_key'));
  assert.throws(() => new AzureStore({ bucket: 'ckpt', endpoint: 'ftp://x' }), field('endpoint'));
  assert.throws(
    () => new AzureStore({ bucket: 'ckpt', connectionString: 'AccountName=a', sasToken: 'sv=1' }),
    field('connection_string'),
  );
});

test('azureError: auth, not found, container missing, conditions, transient; SAS signatures and keys hidden', () => {
  const m = (e: unknown, cond?: 'create' | 'cas') => azureError(e, 'GET k on x', 'k', cond, [KEY]);
  const rest = (statusCode: number, code: string, message = code) =>
    Object.assign(new Error(message), { name: 'RestError', statusCode, code });
  assert.equal(m(rest(404, 'BlobNotFound')).errorCode, 'ObjectNotFound');
  assert.equal(m(rest(404, 'ContainerNotFound')).errorCode, 'ObjectStoreBucketNotFound');
  assert.equal(m(rest(409, 'BlobAlreadyExists'), 'create').errorCode, 'ObjectAlreadyExists');
  assert.equal(m(rest(412, 'ConditionNotMet'), 'cas').errorCode, 'ObjectEtagMismatch');
  assert.equal(m(rest(403, 'AuthorizationPermissionMismatch')).errorCode, 'ObjectStoreAuthFailed');
  assert.equal(m(rest(503, 'ServerBusy')).errorCode, 'ObjectStoreUnavailable');
  assert.equal(m(rest(500, 'InternalError')).errorCode, 'ObjectStoreUnavailable');
  assert.equal(
    m(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).errorCode,
    'ObjectStoreUnavailable',
  );
  const noCred = m(
    Object.assign(new Error('DefaultAzureCredential failed'), { name: 'AggregateAuthenticationError' }),
  );
  assert.equal(noCred.errorCode, 'ObjectStoreAuthFailed');
  assert.match(noCred.message, /AZURE_CLIENT_ID/);
  const leaky = m(
    rest(
      403,
      'AuthenticationFailed',
      `Signature did not match. sig=abc%2Fdef&se=1 key ${KEY}\nRequestId:1\nTime:2`,
    ),
  );
  assert.doesNotMatch(leaky.message, /abc%2Fdef|RequestId/);
  assert.ok(!leaky.message.includes(KEY));
  assert.equal(leaky.details.store_code, 'AuthenticationFailed');
});
