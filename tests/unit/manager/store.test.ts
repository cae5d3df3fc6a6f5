/**
 * The manager's registry store (src/manager/store.ts): a corrupt registry stops the manager with a coded error
 * and is left untouched; file and directory modes (secrets); a failed write on a real full disk (tmpfs) rolls
 * the change back in memory and leaves registry.json byte-identical.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { type PipelineRecord, Store } from '../../../src/manager/store.ts';
import { Supervisor } from '../../../src/manager/supervisor.ts';
import { fillDisk, freeDisk, mountTmpfs, unmountTmpfs } from '../../helpers/tmpfs.ts';
import { tempDir } from '../../kit/index.ts';

const tmp = (): string => tempDir('holdfast-store-');

function record(name: string, extra: Partial<PipelineRecord> = {}): PipelineRecord {
  return {
    id: `00000000-0000-7000-8000-${String(name.length).padStart(12, '0')}${name}`.slice(0, 36),
    name,
    description: '',
    tags: [],
    created_at: '2025-01-01T00:00:00Z',
    version: 1,
    refresh_version: 1,
    platform_version: 'x',
    program_code: 'CREATE TABLE t (x INT);',
    udf_rust: '',
    udf_toml: '',
    program_config: {},
    runtime_config: {
      storage: { backend: { name: 'file', config: { sync: { bucket: 'b', secret_key: 'SECRET' } } } },
    },
    program_version: 1,
    program_status: 'Success',
    program_status_since: '2025-01-01T00:00:00Z',
    program_error: { sql_compilation: null, rust_compilation: null, system_error: null },
    program_info: null,
    deployment_id: null,
    deployment_initial: null,
    deployment_error: null,
    deployment_resources_status: 'Stopped',
    deployment_resources_status_since: '2025-01-01T00:00:00Z',
    deployment_resources_desired_status: 'Stopped',
    deployment_resources_desired_status_since: '2025-01-01T00:00:00Z',
    deployment_runtime_status: null,
    deployment_runtime_status_since: null,
    deployment_runtime_desired_status: null,
    deployment_runtime_desired_status_since: null,
    storage_status: 'Cleared',
    pid: null,
    port: null,
    ...extra,
  };
}

test('a truncated, empty or non-registry registry.json stops the store with RegistryCorrupt; the file is kept', () => {
  const good = JSON.stringify({ format_version: 1, pipelines: [record('a'), record('bb')] }, null, 1);
  for (const [what, text] of [
    ['truncated', good.slice(0, good.length / 2)],
    ['empty', ''],
    ['not a registry', '{"hello": 1}'],
    ['an array', '[]'],
    ['a pipeline without a name', '{"format_version": 1, "pipelines": [{"id": "x"}]}'],
  ] as const) {
    const dir = tmp();
    const path = join(dir, 'registry.json');
    writeFileSync(path, text);
    assert.throws(
      () => new Store(dir),
      (e: unknown) => {
        assert.ok(isServiceError(e, 'RegistryCorrupt'), `${what}: ${String(e)}`);
        assert.ok(e.message.includes(path), `${what}: the message names the file`);
        assert.match(e.message, /backup/);
        return true;
      },
    );
    assert.equal(readFileSync(path, 'utf8'), text, `${what}: the file is not replaced`);
  }
});

test('modes: data dir 0700, registry 0600; wider ones found at start are narrowed and logged', () => {
  const dir = join(tmp(), 'data');
  const s = new Store(dir);
  s.put(record('a'));
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'registry.json')).mode & 0o777, 0o600);

  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'registry.json'), 0o644);
  const logs: string[] = [];
  const s2 = new Store(dir, (l) => logs.push(l));
  assert.equal(s2.get('a')?.name, 'a');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'registry.json')).mode & 0o777, 0o600);
  assert.equal(logs.filter((l) => /narrowed the permissions/.test(l)).length, 2, logs.join('\n'));

  // an existing (e.g. pre-created) data dir keeps working
  const d2 = join(tmp(), 'pre');
  mkdirSync(d2, { mode: 0o750 });
  new Store(d2).put(record('b'));
  assert.equal(statSync(d2).mode & 0o777, 0o700);
});

test('full disk: a failed put/update/delete is rolled back in memory; registry.json unchanged', async (t) => {
  const m = mountTmpfs(512 * 1024);
  if ('skip' in m) {
    t.skip(m.skip);
    return;
  }
  try {
    const dir = join(m.dir, 'data');
    const s = new Store(dir);
    s.put(record('keep'));
    const before = readFileSync(join(dir, 'registry.json'));
    const filler = fillDisk(m.dir, 1024);
    const big = record('new', { program_code: 'x'.repeat(64 * 1024) });
    assert.throws(
      () => s.put(big),
      (e: unknown) => isServiceError(e, 'StorageFull'),
    );
    assert.equal(s.get('new'), undefined, 'a pipeline that was never persisted is not in the registry');
    // an in-place change of a live record is undone
    assert.throws(
      () =>
        s.update('keep', (r) => {
          r.deployment_resources_desired_status = 'Provisioned';
          r.program_code = 'y'.repeat(64 * 1024);
        }),
      (e: unknown) => isServiceError(e, 'StorageFull'),
    );
    assert.equal(s.get('keep')?.deployment_resources_desired_status, 'Stopped');
    assert.equal(s.get('keep')?.program_code, 'CREATE TABLE t (x INT);');
    // a rename that fails keeps the old name only
    assert.throws(
      () => s.put({ ...record('renamed', { program_code: 'z'.repeat(64 * 1024) }) }, 'keep'),
      (e: unknown) => isServiceError(e, 'StorageFull'),
    );
    assert.deepEqual(
      s.list().map((r) => r.name),
      ['keep'],
    );
    assert.deepEqual(readFileSync(join(dir, 'registry.json')), before, 'registry.json is byte-identical');
    // a background change stays in memory and is saved once there is room again
    const live = s.get('keep') as PipelineRecord;
    live.description = 'd'.repeat(64 * 1024);
    assert.equal(s.note(live)?.errorCode, 'StorageFull');
    assert.equal(s.get('keep')?.description.length, 64 * 1024);
    freeDisk(filler);
    s.put(record('new'));
    s.close();
    const again = new Store(dir);
    assert.deepEqual(
      again.list().map((r) => r.name),
      ['keep', 'new'].sort((a, b) => (record(a).id < record(b).id ? -1 : 1)),
    );
    assert.equal(again.get('keep')?.description.length, 64 * 1024);
  } finally {
    unmountTmpfs(m.dir);
  }
});

test("the supervisor writes a pipeline's config 0600 (sync keys) in 0700 directories, storage dir included", () => {
  const data = join(tmp(), 'data');
  new Store(data);
  const sup = new Supervisor('unused-main.ts', data, {
    onReady: () => {},
    onRuntime: () => {},
    onExit: () => {},
  });
  const storage = join(data, 'pipelines', 'id1', 'storage');
  const path = sup.writeConfig('id1', { storage_config: { path: storage }, sync: { secret_key: 'S' } });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  for (const d of [join(data, 'pipelines'), join(data, 'pipelines', 'id1'), storage])
    assert.equal(statSync(d).mode & 0o777, 0o700, d);
  // rewriting keeps 0600 and leaves no temporary file
  sup.writeConfig('id1', { storage_config: { path: storage } });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(join(data, 'pipelines', 'id1')).sort(), ['config.json', 'storage']);
});
