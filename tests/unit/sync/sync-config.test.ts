/** `storage.backend.config.sync` validation: defaults, every field's type, flags, sizes, early errors. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ftSettings } from '../../../src/types/ft-config.ts';
import { describeSync, parseFlags, parseSize, parseSyncConfig } from '../../../src/types/sync-config.ts';

const bad =
  (field: string, pattern: RegExp) => (e: Error & { code?: string; details?: { field?: string } }) => {
    assert.equal(e.code, 'InvalidSyncConfig');
    assert.equal(e.details?.field, field);
    assert.match(e.message, pattern);
    return true;
  };

describe('sync config', () => {
  test('defaults of the product documents', () => {
    const s = parseSyncConfig({ bucket: 'b/prefix' });
    assert.deepEqual(
      {
        region: s.region,
        provider: s.provider,
        start: s.startFromCheckpoint,
        fail: s.failIfNoCheckpoint,
        standby: s.standby,
        pull: s.pullInterval,
        push: s.pushInterval,
        transfers: s.transfers,
        checkers: s.checkers,
        ignore: s.ignoreChecksum,
        streams: s.multiThreadStreams,
        cutoff: s.multiThreadCutoff,
        upload: s.uploadConcurrency,
        count: s.retentionMinCount,
        age: s.retentionMinAge,
        read: s.readBucket,
        flags: s.flags,
      },
      {
        region: null,
        provider: null,
        start: null,
        fail: false,
        standby: false,
        pull: 10,
        push: null,
        transfers: 20,
        checkers: 20,
        ignore: false,
        streams: 10,
        cutoff: 100 * 1024 * 1024,
        upload: 10,
        count: 10,
        age: 30,
        read: null,
        flags: {},
      },
    );
  });

  test('every field is read', () => {
    const s = parseSyncConfig({
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'b',
      region: 'eu-west-1',
      provider: 'Minio',
      access_key: 'AK',
      secret_key: 'SK',
      start_from_checkpoint: '019A0000-0000-7000-8000-000000000000',
      fail_if_no_checkpoint: true,
      pull_interval: 3,
      push_interval: 60,
      transfers: 4,
      checkers: 8,
      ignore_checksum: true,
      multi_thread_streams: 2,
      multi_thread_cutoff: '1G',
      upload_concurrency: 3,
      retention_min_count: 2,
      retention_min_age: 0,
      read_bucket: 'other',
      optimize_download_resources: false,
      some_future_field: 1,
    });
    assert.equal(s.startFromCheckpoint, '019a0000-0000-7000-8000-000000000000');
    assert.equal(s.multiThreadCutoff, 1024 ** 3);
    assert.deepEqual([s.transfers, s.checkers, s.multiThreadStreams, s.uploadConcurrency], [4, 8, 2, 3]);
    assert.deepEqual([s.pushInterval, s.pullInterval, s.retentionMinCount, s.retentionMinAge], [60, 3, 2, 0]);
    assert.deepEqual(s.unknownFields, ['some_future_field']);
    assert.equal(s.accessKey, 'AK');
  });

  test('start_from_checkpoint: "latest", a UUID, or the first documents\' boolean', () => {
    assert.equal(
      parseSyncConfig({ bucket: 'b', start_from_checkpoint: 'latest' }).startFromCheckpoint,
      'latest',
    );
    assert.equal(parseSyncConfig({ bucket: 'b', start_from_checkpoint: true }).startFromCheckpoint, 'latest');
    assert.equal(parseSyncConfig({ bucket: 'b', start_from_checkpoint: false }).startFromCheckpoint, null);
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', start_from_checkpoint: 'newest' }),
      bad('start_from_checkpoint', /a UUID string or the string "latest"/),
    );
  });

  test('clear, early errors', () => {
    assert.throws(() => parseSyncConfig({}), bad('bucket', /`bucket` is required/));
    for (const [b, why] of [
      ['../../etc', /"\." or "\.\." segment/],
      ['ok/../..', /"\." or "\.\." segment/],
      ['ok/./p', /"\." or "\.\." segment/],
      ['/ok/p', /starts with "\/"/],
      ['ok//p', /empty segment/],
      ['ok\\p', /backslash/],
      ['ok/p\u0000', /control character/],
      ['ok/p\n', /control character/],
      ['Bad_Name/p', /valid S3 bucket name/],
      ['10.0.0.1/p', /valid S3 bucket name/],
      ['a..b/p', /valid S3 bucket name/],
    ] as const) {
      assert.throws(() => parseSyncConfig({ bucket: b }), bad('bucket', why), b);
      assert.throws(() => parseSyncConfig({ bucket: 'ok', read_bucket: b }), bad('read_bucket', why), b);
    }
    // S3-compatible services have looser names; a local directory only needs a path inside it
    assert.equal(
      parseSyncConfig({ bucket: 'My_Bucket/p', endpoint: 'http://minio:9000' }).bucket,
      'My_Bucket/p',
    );
    assert.throws(
      () => parseSyncConfig({ bucket: '-x', endpoint: 'http://minio:9000' }),
      bad('bucket', /valid bucket name/),
    );
    assert.equal(parseSyncConfig({ bucket: 'Any_dir/p/', endpoint: 'file:///tmp/b' }).bucket, 'Any_dir/p/');
    assert.throws(
      () => parseSyncConfig({ bucket: '..', endpoint: 'file:///tmp/b' }),
      bad('bucket', /segment/),
    );
    // the same rules through the runtime-config entry point (create, update, start, pipeline run)
    assert.throws(
      () => ftSettings({ storage: { backend: { name: 'file', config: { sync: { bucket: '../../etc' } } } } }),
      bad('bucket', /segment/),
    );
    assert.throws(
      () => parseSyncConfig({ bucket: 'b/p', read_bucket: 'b/p/' }),
      bad('read_bucket', /must point to different locations/),
    );
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', multi_thread_cutoff: '10X' }),
      bad('multi_thread_cutoff', /suffix k, M, G or T/),
    );
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', multi_thread_cutoff: 100 }),
      bad('multi_thread_cutoff', /must be a string/),
    );
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', transfers: '20' }),
      bad('transfers', /must be an integer, got the string "20"/),
    );
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', transfers: 0 }),
      bad('transfers', /between 1 and 255/),
    );
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', checkers: 256 }),
      bad('checkers', /between 1 and 255/),
    );
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', ignore_checksum: 'yes' }),
      bad('ignore_checksum', /true or false/),
    );
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', push_interval: 0 }),
      bad('push_interval', /between 1/),
    );
    assert.throws(() => parseSyncConfig({ bucket: 'b', access_key: 'AK' }), bad('secret_key', /set both/));
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', standby: true }),
      bad('standby', /needs `start_from_checkpoint`/),
    );
    const standby = parseSyncConfig({ bucket: 'b', standby: true, start_from_checkpoint: 'latest' });
    assert.equal(standby.standby, true);
    assert.equal(standby.allowUnsafeOwnership, false);
    assert.equal(parseSyncConfig({ bucket: 'b', allow_unsafe_ownership: true }).allowUnsafeOwnership, true);
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', allow_unsafe_ownership: 'yes' }),
      bad('allow_unsafe_ownership', /true or false/),
    );
    assert.throws(() => parseSyncConfig('b'), bad('sync', /must be an object/));
    // secrets never appear in messages
    try {
      parseSyncConfig({ bucket: 'b', access_key: 'AKIDSECRET', secret_key: 7 });
      assert.fail('should throw');
    } catch (e) {
      assert.doesNotMatch((e as Error).message, /AKIDSECRET/);
    }
  });

  test('sizes follow rclone: suffixes k/M/G/T (powers of 1024), a bare number is KiB', () => {
    assert.equal(parseSize('100M'), 100 * 1024 ** 2);
    assert.equal(parseSize('64k'), 65536);
    assert.equal(parseSize('64K'), 65536);
    assert.equal(parseSize('2G'), 2 * 1024 ** 3);
    assert.equal(parseSize('1T'), 1024 ** 4);
    assert.equal(parseSize('10MiB'), 10 * 1024 ** 2);
    assert.equal(parseSize('512B'), 512);
    assert.equal(parseSize('8'), 8192);
    assert.equal(parseSize('1.5M'), 1.5 * 1024 ** 2);
    assert.equal(parseSize('M'), null);
    assert.equal(parseSize('-1M'), null);
  });

  test('flags: the supported rclone flags in both spellings; anything else refused with the list', () => {
    const { flags } = parseFlags([
      '--s3-server-side-encryption',
      'aws:kms',
      '--s3-sse-kms-key-id=arn:aws:kms:us-east-1:1:key/k',
      '--s3-storage-class',
      'STANDARD_IA',
      '--s3-acl=bucket-owner-full-control',
      '--bwlimit',
      '10M',
      '--s3-chunk-size=16M',
      '--s3-upload-cutoff',
      '64M',
      '--s3-force-path-style',
    ]);
    assert.deepEqual(flags, {
      serverSideEncryption: 'aws:kms',
      sseKmsKeyId: 'arn:aws:kms:us-east-1:1:key/k',
      storageClass: 'STANDARD_IA',
      acl: 'bucket-owner-full-control',
      bwlimit: 10 * 1024 ** 2,
      chunkSize: 16 * 1024 ** 2,
      uploadCutoff: 64 * 1024 ** 2,
      forcePathStyle: true,
    });
    assert.deepEqual(parseFlags(['--bwlimit=off']).flags, {});
    assert.throws(
      () => parseFlags(['--fast-list']),
      bad(
        'flags',
        /"--fast-list" is not supported.*supported flags: --s3-server-side-encryption, --s3-sse-kms-key-id, --s3-storage-class, --s3-acl, --bwlimit/,
      ),
    );
    assert.throws(() => parseFlags(['--s3-storage-class']), bad('flags', /needs a value/));
    assert.throws(() => parseFlags(['--s3-server-side-encryption', 'rot13']), bad('flags', /AES256/));
    assert.throws(() => parseFlags(['--bwlimit', '08:00,512k']), bad('flags', /timetables/));
    assert.throws(() => parseFlags(['--s3-chunk-size=1M']), bad('flags', /at least 5M/));
    assert.throws(() => parseFlags('--s3-acl private'), bad('flags', /array of strings/));
  });

  test('a file: endpoint selects the local-directory store, relative to the config', () => {
    assert.equal(parseSyncConfig({ bucket: 'b', endpoint: 'file:///srv/bucket' }).localRoot, '/srv/bucket');
    assert.equal(
      parseSyncConfig({ bucket: 'b', endpoint: 'file:backups' }, '/etc/hf').localRoot,
      '/etc/hf/backups',
    );
  });

  test('AzureBlob: container names, the Azure credential fields, the azureblob flags; secrets never described', () => {
    const key = parseSyncConfig({
      provider: 'AzureBlob',
      bucket: 'checkpoints/orders',
      access_key: 'myaccount',
      secret_key: 'c2VjcmV0LWtleQ==',
      flags: [
        '--azureblob-chunk-size',
        '16M',
        '--azureblob-access-tier=cool',
        '--azureblob-encryption-scope',
        'scope-1',
      ],
    });
    assert.equal(key.flags.chunkSize, 16 * 1024 * 1024);
    assert.equal(key.flags.azureAccessTier, 'Cool');
    assert.equal(key.flags.azureEncryptionScope, 'scope-1');
    assert.equal(describeSync(key).credentials, 'access_key/secret_key');
    const sas = parseSyncConfig({
      provider: 'azureblob',
      bucket: 'ckpt',
      account: 'myaccount',
      sas_token: 'sv=1&sig=SECRET',
    });
    assert.equal(sas.sasToken, 'sv=1&sig=SECRET');
    assert.equal(describeSync(sas).credentials, 'sas_token');
    assert.doesNotMatch(JSON.stringify(describeSync(sas)), /SECRET/);
    assert.throws(
      () =>
        parseSyncConfig({
          provider: 'AzureBlob',
          bucket: 'ckpt',
          connection_string: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRET;',
        }),
      bad('connection_string', /AZURE_STORAGE_CONNECTION_STRING/),
    );
    const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
    process.env.AZURE_STORAGE_CONNECTION_STRING =
      'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRET;';
    try {
      const cs = parseSyncConfig({ provider: 'AzureBlob', bucket: 'ckpt' });
      assert.equal(cs.connectionString, process.env.AZURE_STORAGE_CONNECTION_STRING);
      assert.equal(describeSync(cs).credentials, 'AZURE_STORAGE_CONNECTION_STRING');
      assert.doesNotMatch(JSON.stringify(describeSync(cs)), /SECRET/);
      // explicit credentials or an endpoint win over the environment's connection string
      for (const o of [{ account: 'acct', sas_token: 's' }, { endpoint: 'http://127.0.0.1:1/acct' }])
        assert.equal(parseSyncConfig({ provider: 'AzureBlob', bucket: 'ckpt', ...o }).connectionString, null);
    } finally {
      if (saved === undefined) delete process.env.AZURE_STORAGE_CONNECTION_STRING;
      else process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
    }
    const env = parseSyncConfig({ provider: 'AzureBlob', bucket: 'ckpt', account: 'myaccount' });
    assert.equal(describeSync(env).credentials, 'environment');
    parseSyncConfig({
      provider: 'AzureBlob',
      bucket: 'ckpt',
      endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
    });

    const az = { provider: 'AzureBlob', account: 'myaccount' };
    for (const b of ['ab', 'Upper', 'a--b', '-ab', 'under_score', 'x'.repeat(64)])
      assert.throws(
        () => parseSyncConfig({ ...az, bucket: `${b}/p` }),
        bad('bucket', /Azure container name/),
      );
    assert.throws(
      () => parseSyncConfig({ provider: 'AzureBlob', bucket: 'ckpt' }),
      bad('account', /storage account/),
    );
    assert.throws(
      () => parseSyncConfig({ ...az, bucket: 'ckpt', account: 'Bad_Name' }),
      bad('account', /storage account/),
    );
    assert.throws(
      () => parseSyncConfig({ ...az, bucket: 'ckpt', sas_token: 'sv=1', access_key: 'a', secret_key: 'b' }),
      bad('sas_token', /one kind of Azure credential/),
    );
    assert.throws(
      () => parseSyncConfig({ ...az, bucket: 'ckpt', flags: ['--s3-storage-class', 'STANDARD_IA'] }),
      bad('flags', /is for S3/),
    );
    assert.throws(
      () => parseSyncConfig({ bucket: 'b', flags: ['--azureblob-access-tier', 'hot'] }),
      bad('flags', /is for Azure Blob/),
    );
    assert.throws(
      () => parseSyncConfig({ ...az, bucket: 'ckpt', flags: ['--azureblob-access-tier', 'archive'] }),
      bad('flags', /hot.*cool.*cold/),
    );
    assert.throws(() => parseSyncConfig({ bucket: 'b', sas_token: 'sv=1' }), bad('sas_token', /AzureBlob/));
    assert.throws(() => parseSyncConfig({ bucket: 'b', account: 'a' }), bad('account', /AzureBlob/));
  });

  test('in a runtime config: only under the file backend', () => {
    const ok = ftSettings({ storage: { backend: { name: 'file', config: { sync: { bucket: 'b' } } } } });
    assert.equal(ok.storage?.sync?.bucket, 'b');
    assert.equal(ftSettings({ storage: {} }).storage?.sync, null);
    assert.throws(
      () => ftSettings({ storage: { backend: { name: 'default', config: { sync: { bucket: 'b' } } } } }),
      (e: Error & { code?: string }) =>
        e.code === 'InvalidSyncConfig' && /needs the file backend/.test(e.message),
    );
    assert.throws(
      () =>
        ftSettings({
          storage: { backend: { name: 'file', config: { sync: { bucket: 'b', transfers: -1 } } } },
        }),
      (e: Error & { code?: string }) => e.code === 'InvalidSyncConfig',
    );
  });
});
