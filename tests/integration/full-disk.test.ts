/**
 * A full disk, for real: small tmpfs mounts (skipped with a message where mounting is not permitted).
 * - The manager's data directory on a tmpfs: pipelines are created through the HTTP API until the disk is full.
 *   The failing create answers 507 StorageFull, registry.json is byte-identical, GETs keep working, and after
 *   freeing space and restarting the manager every pipeline created before is there.
 * - A pipeline's storage on a tmpfs: a checkpoint on a full disk fails with StorageFull (checkpoint_status),
 *   the pipeline keeps running, the previous checkpoint stays intact; after freeing space the next checkpoint
 *   works, and a restart restores all the data acknowledged before it.
 * - A corrupt registry: `holdfast server` refuses to start with RegistryCorrupt, naming the file.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { checkpoint, getJson, kill9, MAIN, query, startPipeline, until, untilEqual } from '../ft/support.ts';
import { fillDisk, freeDisk, mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.ts';

const children: ChildProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startServer(dataDir: string): Promise<{ base: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [MAIN, 'server', '--data-dir', dataDir, '--port', '0'], {
    // stderr (the manager's log, a line per request) is not read: not piped, so it cannot fill up and block
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(proc);
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).once('line', res);
    proc.once('exit', (c) => rej(new Error(`server exited ${c}`)));
  });
  return { base: (JSON.parse(line) as { url: string }).url, proc };
}

async function stopServer(proc: ChildProcess): Promise<void> {
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await done;
}

async function call(base: string, method: string, path: string, body?: unknown) {
  const r = await fetch(base + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, json };
}

const SQL =
  'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n FROM t;';

test('manager data dir on a full disk: create fails with 507 StorageFull, nothing is lost', {
  timeout: 120_000,
}, async (t) => {
  const m = mountTmpfs(1024 * 1024);
  if ('skip' in m) {
    t.skip(m.skip);
    return;
  }
  try {
    const dataDir = join(m.dir, 'data');
    let { base, proc } = await startServer(dataDir);
    // a description makes each record a few KB, so the disk fills after a handful of pipelines
    const create = (i: number) =>
      call(base, 'POST', '/v0/pipelines', {
        name: `p${i}`,
        description: 'd'.repeat(280),
        program_code: `${SQL} -- ${'c'.repeat(3000)}`,
        runtime_config: { storage: {} },
      });
    assert.equal((await create(0)).status, 201);
    const filler = fillDisk(m.dir, 24 * 1024);
    const created = ['p0'];
    let failed: { status: number; json: Record<string, unknown> } | null = null;
    let registryBefore = readFileSync(join(dataDir, 'registry.json'));
    for (let i = 1; i < 100 && failed === null; i++) {
      registryBefore = readFileSync(join(dataDir, 'registry.json'));
      const r = await create(i);
      if (r.status === 201) created.push(`p${i}`);
      else failed = r;
    }
    assert.ok(failed !== null, 'the disk never filled up');
    assert.equal(failed.status, 507, JSON.stringify(failed.json));
    assert.equal(failed.json.error_code, 'StorageFull');
    assert.match(String(failed.json.message), /full/);
    assert.ok(!/\n\s+at /.test(String(failed.json.message)), 'no stack trace');
    const failedName = `p${created.length}`;
    assert.deepEqual(
      readFileSync(join(dataDir, 'registry.json')),
      registryBefore,
      'registry.json is byte-identical after the failed create',
    );
    assert.deepEqual(
      readdirSync(dataDir).filter((n) => n.startsWith('registry.json')),
      ['registry.json'],
      'no temporary file left',
    );
    // the manager keeps serving, and does not pretend the failed pipeline exists
    const list = await call(base, 'GET', '/v0/pipelines');
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.json as unknown as Array<{ name: string }>).map((p) => p.name),
      created,
    );
    assert.equal((await call(base, 'GET', `/v0/pipelines/${failedName}`)).status, 404);
    assert.equal((await call(base, 'GET', '/healthz')).status, 200);

    // free space, restart: everything acknowledged is there, and the failed create can be retried
    freeDisk(filler);
    await stopServer(proc);
    ({ base, proc } = await startServer(dataDir));
    const again = await call(base, 'GET', '/v0/pipelines');
    assert.deepEqual(
      (again.json as unknown as Array<{ name: string }>).map((p) => p.name),
      created,
    );
    assert.equal((await create(created.length)).status, 201);
    assert.equal(statSync(join(dataDir, 'registry.json')).mode & 0o777, 0o600);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    await stopServer(proc);
  } finally {
    unmountTmpfs(m.dir);
  }
});

test('holdfast server refuses a corrupt registry with RegistryCorrupt and leaves it as it is', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-corrupt-'));
  dirs.push(dataDir);
  const path = join(dataDir, 'registry.json');
  writeFileSync(path, '{"format_version": 1, "pipelines": [{"id": "0190');
  const r = spawnSync(process.execPath, [MAIN, 'server', '--data-dir', dataDir, '--port', '0'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /error \[RegistryCorrupt\]/);
  assert.ok(r.stderr.includes(path), r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(readFileSync(path, 'utf8'), '{"format_version": 1, "pipelines": [{"id": "0190');
});

test('pipeline storage on a full disk: checkpoint fails with StorageFull, the pipeline runs on, nothing acknowledged is lost', {
  timeout: 120_000,
}, async (t) => {
  const m = mountTmpfs(2 * 1024 * 1024);
  if ('skip' in m) {
    t.skip(m.skip);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'holdfast-fullcp-'));
  dirs.push(work);
  try {
    const storageDir = m.dir;
    writeFileSync(
      join(work, 'config.json'),
      JSON.stringify({
        program_code: SQL,
        storage: {},
        storage_config: { path: storageDir },
        fault_tolerance: { model: 'none' },
      }),
    );
    let p = await startPipeline(join(work, 'config.json'), { cwd: work });
    const push = async (from: number, to: number) => {
      const body = Array.from({ length: to - from }, (_, k) =>
        JSON.stringify({ insert: { id: from + k, x: k } }),
      ).join('\n');
      const r = await fetch(`${p.base}/ingress/t?format=json`, { method: 'POST', body });
      assert.equal(r.status, 200, await r.text());
    };
    await push(0, 500);
    await untilEqual(() => query(p.base, 'SELECT n FROM s'), '{"n":500}');
    await checkpoint(p.base); // A
    const listA = await getJson<Array<{ uuid: string }>>(p.base, '/checkpoints');
    assert.equal(listA.length, 1);
    await push(500, 3000);
    await untilEqual(() => query(p.base, 'SELECT n FROM s'), '{"n":3000}');

    const filler = fillDisk(m.dir, 4096);
    const { checkpoint_sequence_number: seq } = await getJson<{ checkpoint_sequence_number: number }>(
      p.base,
      '/checkpoint',
      { method: 'POST' },
    );
    const st = await until(
      () =>
        getJson<{
          success: number | null;
          failure: { sequence_number: number; error: string; error_code: string } | null;
        }>(p.base, '/checkpoint_status'),
      (s) => s.failure !== null && s.failure.sequence_number >= seq,
      'the checkpoint on a full disk to fail',
    );
    assert.equal(st.failure?.error_code, 'StorageFull', JSON.stringify(st));
    assert.match(st.failure?.error ?? '', /full/);
    // still running and serving; the previous checkpoint is still the one listed
    assert.equal((await getJson<{ runtime_status: string }>(p.base, '/status')).runtime_status, 'Running');
    assert.equal(await query(p.base, 'SELECT n FROM s'), '{"n":3000}');
    assert.deepEqual(
      (await getJson<Array<{ uuid: string }>>(p.base, '/checkpoints')).map((c) => c.uuid),
      listA.map((c) => c.uuid),
    );
    const metrics = await (await fetch(`${p.base}/metrics`)).text();
    assert.match(metrics, /holdfast_checkpoint_errors_total\{[^}]*\} 1\n/);
    // no temporary files left behind on the full disk
    const leftovers = spawnSync('find', [storageDir, '-name', '*.tmp-*'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(leftovers, '', 'temporary files removed');

    // the previous checkpoint is intact: a restart now restores A
    await kill9(p);
    p = await startPipeline(join(work, 'config.json'), { cwd: work });
    await untilEqual(() => query(p.base, 'SELECT n FROM s'), '{"n":500}');
    await push(500, 3000);
    await untilEqual(() => query(p.base, 'SELECT n FROM s'), '{"n":3000}');

    // free space: the next checkpoint works, and a restart holds everything it acknowledged
    freeDisk(filler);
    await checkpoint(p.base);
    await kill9(p);
    p = await startPipeline(join(work, 'config.json'), { cwd: work });
    await untilEqual(() => query(p.base, 'SELECT n FROM s'), '{"n":3000}');
    await kill9(p);
  } finally {
    unmountTmpfs(m.dir);
  }
});
