import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FtConfigError, ftSettings } from '../../../src/types/ft-config.ts';

test('fault_tolerance forms, defaults and clamping (Feldera rules)', () => {
  const m = (ft: unknown) => ftSettings({ fault_tolerance: ft });
  assert.equal(ftSettings({}).model, 'none');
  assert.equal(m(null).model, 'none');
  assert.equal(m('none').model, 'none');
  assert.equal(m({ model: 'None' }).model, 'none');
  assert.deepEqual([m({}).model, m({}).checkpointIntervalSecs], ['exactly_once', 60]);
  assert.equal(m({ model: 'at_least_once' }).model, 'at_least_once');
  assert.equal(m('initial_state').model, 'exactly_once');
  assert.equal(m('latest_checkpoint').model, 'exactly_once');
  assert.equal(m({ checkpoint_interval_secs: null }).checkpointIntervalSecs, null);
  assert.equal(m({ checkpoint_interval_secs: 0 }).checkpointIntervalSecs, 1);
  assert.equal(m({ checkpoint_interval_secs: 99999 }).checkpointIntervalSecs, 3600);
  assert.throws(
    () => m('sometimes'),
    (e) => e instanceof FtConfigError && e.code === 'InvalidRuntimeConfig',
  );
  assert.throws(
    () => m({ model: 'twice' }),
    (e) => e instanceof FtConfigError && /model must be/.test(e.message),
  );
});

test('storage forms; fault tolerance without storage is FtRequiresStorage', () => {
  assert.equal(ftSettings({ storage: {} }).storage?.backend, 'default');
  assert.equal(ftSettings({ storage: true }).storage?.backend, 'default');
  assert.equal(ftSettings({ storage: null }).storage, null);
  assert.equal(ftSettings({ storage: false }).storage, null);
  assert.deepEqual(
    ftSettings({ storage: { backend: { name: 'file', config: { sync: { bucket: 'b' } } } } }).storage
      ?.backendConfig,
    { sync: { bucket: 'b' } },
  );
  assert.throws(() => ftSettings({ storage: { backend: { name: 'tape' } } }), /backend.name/);
  const tuned = ftSettings({ storage: { compression: 'none', cache_mib: 64 } }).storage;
  assert.equal(tuned?.compression, 'none');
  assert.equal(tuned?.cacheMib, 64);
  assert.equal(ftSettings({ storage: {} }).storage?.compression, 'default');
  assert.throws(
    () => ftSettings({ storage: null, fault_tolerance: {} }),
    (e) =>
      e instanceof FtConfigError &&
      e.code === 'ConfigError.FtRequiresStorage' &&
      e.message === 'Fault tolerance is configured, which requires storage, but storage is not enabled',
  );
  assert.equal(ftSettings({ storage: null, fault_tolerance: null }).model, 'none');
});

test('storage spill knobs: min_storage_bytes (default 10 MiB), min_step_storage_bytes, checked', () => {
  const d = ftSettings({ storage: {} }).storage;
  assert.equal(d?.minStorageBytes, 10 * 1024 * 1024);
  assert.equal(d?.minStepStorageBytes, null);
  const t = ftSettings({ storage: { min_storage_bytes: 0, min_step_storage_bytes: 4096 } }).storage;
  assert.equal(t?.minStorageBytes, 0);
  assert.equal(t?.minStepStorageBytes, 4096);
  assert.equal(
    ftSettings({ storage: { min_storage_bytes: null } }).storage?.minStorageBytes,
    10 * 1024 * 1024,
  );
  for (const bad of [-1, '10', Number.POSITIVE_INFINITY])
    for (const f of ['min_storage_bytes', 'min_step_storage_bytes'])
      assert.throws(
        () => ftSettings({ storage: { [f]: bad } }),
        (e) => e instanceof FtConfigError && e.code === 'InvalidRuntimeConfig' && e.message.includes(f),
      );
});
