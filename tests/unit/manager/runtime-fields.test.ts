/**
 * Unit: which top-level pipeline body fields are refused, and which runtime_config fields are reported as
 * accepted-but-ignored (src/types/runtime-fields.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeRuntimeConfig } from '../../../src/manager/validate.ts';
import {
  closestName,
  IGNORED_RUNTIME_FIELDS,
  PIPELINE_BODY_FIELDS,
  runtimeConfigWarnings,
  unknownBodyFields,
} from '../../../src/types/runtime-fields.ts';

test("every top-level field of Feldera's create/patch body and of a GET pipeline object is accepted", () => {
  const feldera = {
    name: 'p',
    description: '',
    tags: [],
    program_code: '',
    runtime_config: {},
    program_config: {},
    udf_rust: '',
    udf_toml: '',
  };
  assert.deepEqual(unknownBodyFields(feldera), []);
  // a GET response sent back (read, edit, PUT) keeps working
  const roundTrip = {
    ...feldera,
    id: 'x',
    version: 3,
    program_status: 'Success',
    deployment_status: 'Stopped',
    program_info: null,
    bootstrap_policy: null,
    warnings: [],
  };
  assert.deepEqual(unknownBodyFields(roundTrip), []);
});

test('misspelled top-level fields are found, with the closest valid name', () => {
  assert.deepEqual(unknownBodyFields({ name: 'p', runtime_confg: {}, progam_code: '' }), [
    'runtime_confg',
    'progam_code',
  ]);
  assert.equal(closestName('runtime_confg', PIPELINE_BODY_FIELDS), 'runtime_config');
  assert.equal(closestName('progam_code', PIPELINE_BODY_FIELDS), 'program_code');
  assert.equal(closestName('Description', PIPELINE_BODY_FIELDS), 'description');
  assert.equal(closestName('zzzzzzzz', PIPELINE_BODY_FIELDS), null);
});

test('a stored default runtime config has no warnings (also as Feldera SDK sends it)', () => {
  assert.deepEqual(runtimeConfigWarnings(normalizeRuntimeConfig({})), []);
  const sdkDefault = {
    workers: null,
    tracing: false,
    tracing_endpoint_jaeger: '',
    cpu_profiler: true,
    max_buffering_delay_usecs: 0,
    min_batch_size_records: 0,
    storage: null,
    fault_tolerance: null,
    resources: { cpu_cores_min: null, memory_mb_max: null, storage_class: null },
    clock_resolution_usecs: null,
  };
  assert.deepEqual(runtimeConfigWarnings(normalizeRuntimeConfig(sdkDefault)), []);
});

test("Feldera's ignored fields with a non-default value warn; acted-on fields never do", () => {
  const w = runtimeConfigWarnings(
    normalizeRuntimeConfig({
      workers: 4,
      cpu_profiler: false,
      min_batch_size_records: 1000,
      max_buffering_delay_usecs: 500,
      resources: { memory_mb_max: 512 },
      storage: true,
      fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: 5 },
    }),
  );
  assert.deepEqual(
    w.map((x) => x.field),
    ['workers', 'cpu_profiler', 'min_batch_size_records', 'max_buffering_delay_usecs', 'resources'],
  );
  const workers = w.find((x) => x.field === 'workers');
  assert.match(workers?.message ?? '', /runtime_config\.workers = 4 is accepted but has no effect/);
  // every ignored field's "why" is said
  for (const [k, v] of Object.entries(IGNORED_RUNTIME_FIELDS)) assert.ok(v.why.length > 0, k);
});

test('runtime fields unknown to Feldera too warn (not refused), with a suggestion', () => {
  const w = runtimeConfigWarnings(normalizeRuntimeConfig({ wrokers: 2, frobnicate: true }));
  assert.deepEqual(
    w.map((x) => x.field),
    ['wrokers', 'frobnicate'],
  );
  assert.match(w[0]?.message ?? '', /did you mean 'workers'\?/);
  assert.doesNotMatch(w[1]?.message ?? '', /did you mean/);
});

test("the pipeline process's own config keys are not runtime warnings", () => {
  const cfg = { name: 'p', program_code: 'x', http: { port: 0 }, initial: 'running', workers: 2 };
  assert.deepEqual(
    runtimeConfigWarnings(cfg, ['name', 'program_code', 'http', 'initial']).map((x) => x.field),
    ['workers'],
  );
});

test('clock_resolution_usecs (NOW()) is acted on: any positive integer, no warning; anything else is refused', () => {
  assert.deepEqual(runtimeConfigWarnings(normalizeRuntimeConfig({ clock_resolution_usecs: 100_000 })), []);
  assert.equal(normalizeRuntimeConfig({ clock_resolution_usecs: null }).clock_resolution_usecs, undefined);
  for (const bad of [0, -5, 1.5, '1000'])
    assert.throws(
      () => normalizeRuntimeConfig({ clock_resolution_usecs: bad }),
      (e: Error & { errorCode?: string }) =>
        e.errorCode === 'InvalidRuntimeConfig' && /clock_resolution_usecs/.test(e.message),
      String(bad),
    );
});
