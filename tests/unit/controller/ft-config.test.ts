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
