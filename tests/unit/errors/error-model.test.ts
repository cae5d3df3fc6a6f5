/**
 * One error model: the storage layer's and the config parsers' errors are ServiceErrors with catalog codes, so
 * they cross every boundary as they are; the brand checks are realm-safe (a copy of the class from another
 * module instance is still recognised).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError, ServiceError } from '../../../src/errors/service-error.ts';
import { isStorageError, StorageError } from '../../../src/storage/storage-error.ts';
import { FtConfigError, ftSettings } from '../../../src/types/ft-config.ts';

test('StorageError is a coded ServiceError (status from the catalog), still a StorageError with its code', () => {
  const e = new StorageError('CheckpointCorrupt', 'segment x fails its hash', { file: 'x' });
  assert.equal(e instanceof ServiceError && e instanceof Error, true);
  assert.equal(isServiceError(e, 'CheckpointCorrupt'), true);
  assert.equal(isStorageError(e, 'CheckpointCorrupt'), true);
  assert.equal(isStorageError(e, 'CheckpointNotFound'), false);
  assert.equal(e.code, 'CheckpointCorrupt');
  assert.equal(e.httpStatus, 500);
  assert.equal(e.retryable, false);
  assert.deepEqual(e.toResponse(), {
    message: 'segment x fails its hash',
    error_code: 'CheckpointCorrupt',
    details: { file: 'x' },
  });
  // a plain ServiceError with the same code was not thrown by the storage layer
  assert.ok(!isStorageError(new ServiceError('CheckpointCorrupt', 'x')));
});

test('FtConfigError is a coded ServiceError; ftSettings throws it', () => {
  assert.throws(
    () => ftSettings({ fault_tolerance: { model: 'exactly_once' }, storage: false }),
    (e: unknown) =>
      e instanceof FtConfigError &&
      isServiceError(e, 'ConfigError.FtRequiresStorage') &&
      e.code === e.errorCode &&
      e.httpStatus === 400,
  );
});

test('the brands are realm-safe: another module instance of the class is recognised', async () => {
  const other = (await import(
    `../../../src/storage/storage-error.ts?copy=${Date.now()}`
  )) as typeof import('../../../src/storage/storage-error.ts');
  assert.notEqual(other.StorageError, StorageError);
  const e = new other.StorageError('CheckpointNotFound', 'no such checkpoint');
  assert.ok(!(e instanceof StorageError));
  assert.ok(isServiceError(e, 'CheckpointNotFound'));
  assert.ok(isStorageError(e, 'CheckpointNotFound'));
});
