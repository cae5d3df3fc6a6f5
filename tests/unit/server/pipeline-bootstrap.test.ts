/**
 * Bootstrapping in a real pipeline process (`holdfast pipeline run`): a checkpoint written by program P1, then
 * P2 (a view added, one modified, one unchanged) started on it. `allow` rebuilds the added and modified views
 * from the checkpointed tables (contents equal a fresh run of P2 on the same input; their file outputs get the
 * full contents) while the unchanged view keeps its state and emits nothing spurious; `reject` fails with
 * BootstrapRejected and keeps the checkpoint; a rebuilt view over a non-materialized table is
 * BootstrapNotAllowed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { EXTENDED_RUNTIME_STATUS_KEYS } from '../../../src/types/wire-keys.ts';

const MAIN = join(resolve(import.meta.dirname, '../../..'), 'src/bin/main.ts');
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

function runAlone(cfg: string) {
  return spawnSync(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg], { encoding: 'utf8' });
}

async function start(
  cfg: string,
  managed = false,
): Promise<{ base: string; child: ChildProcess; log: string[] }> {
  const child = spawn(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg], {
    stdio: [managed ? 'pipe' : 'ignore', 'pipe', 'pipe'], // managed: stops when stdin (the manager) closes
    env: managed ? { ...process.env, HOLDFAST_MANAGED: '1' } : process.env,
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const log: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => log.push(l));
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', res);
    child.once('exit', (c) => rej(new Error(`exited ${c}: ${log.join('\n')}`)));
  });
  return { base: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, child, log };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function status(base: string): Promise<{ code: number; body: Record<string, unknown> }> {
  const r = await fetch(`${base}/status`);
  return { code: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function untilStatus(
  base: string,
  ok: (s: { code: number; body: Record<string, unknown> }) => boolean,
) {
  let last: { code: number; body: Record<string, unknown> } | null = null;
  for (let i = 0; i < 500; i++) {
    last = await status(base);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`status never matched: ${JSON.stringify(last)}`);
}

async function query(base: string, sql: string): Promise<string[]> {
  const text = await (await fetch(`${base}/query?sql=${encodeURIComponent(sql)}&format=json`)).text();
  return text.split('\n').filter(Boolean).sort();
}

async function ingest(base: string, body: string): Promise<void> {
  const { token } = (await (
    await fetch(`${base}/ingress/t?format=json`, { method: 'POST', body })
  ).json()) as {
    token: string;
  };
  for (let i = 0; i < 500; i++) {
    const s = (await (
      await fetch(`${base}/completion_status?token=${encodeURIComponent(token)}`)
    ).json()) as {
      status: string;
    };
    if (s.status === 'complete') return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('ingest did not complete');
}

async function checkpoint(base: string): Promise<void> {
  const { checkpoint_sequence_number: seq } = (await (
    await fetch(`${base}/checkpoint`, { method: 'POST' })
  ).json()) as { checkpoint_sequence_number: number };
  for (let i = 0; i < 300; i++) {
    const s = (await (await fetch(`${base}/checkpoint_status`)).json()) as { success: number | null };
    if (s.success !== null && s.success >= seq) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('checkpoint did not complete');
}

const out = (dir: string, view: string) =>
  `'[{"name": "file", "transport": {"name": "file_output", "config": {"path": "${join(dir, `${view}.json`)}"}}, "format": {"name": "json"}}]'`;

const P1 = (dir: string) => `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT);
CREATE MATERIALIZED VIEW same WITH ('connectors' = ${out(dir, 'same')}) AS SELECT COUNT(*) AS c, SUM(x) AS s FROM t;
CREATE MATERIALIZED VIEW changed WITH ('connectors' = ${out(dir, 'changed')}) AS SELECT id, x FROM t WHERE x > 10;`;

const P2 = (dir: string) => `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT);
CREATE MATERIALIZED VIEW same WITH ('connectors' = ${out(dir, 'same')}) AS SELECT COUNT(*) AS c, SUM(x) AS s FROM t;
CREATE MATERIALIZED VIEW changed WITH ('connectors' = ${out(dir, 'changed')}) AS SELECT id, x FROM t WHERE x > 5;
CREATE MATERIALIZED VIEW added WITH ('connectors' = ${out(dir, 'added')}) AS SELECT x, COUNT(*) AS n FROM t GROUP BY x;`;

const STEP1 = '{"insert": {"id": 1, "x": 3}}\n{"insert": {"id": 2, "x": 8}}\n{"insert": {"id": 3, "x": 20}}';
const STEP2 = '{"insert": {"id": 4, "x": 8}}\n{"insert": {"id": 2, "x": 12}}\n{"delete": {"id": 1}}';
const STEP3 = '{"insert": {"id": 5, "x": 7}}';

function config(dir: string, sql: string, extra: Record<string, unknown> = {}): string {
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({ program_code: sql, storage: {}, ...extra }));
  return cfg;
}

const lines = (dir: string, view: string) =>
  readFileSync(join(dir, `${view}.json`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .sort();

async function contents(base: string): Promise<Record<string, string[]>> {
  return {
    same: await query(base, 'SELECT * FROM same'),
    changed: await query(base, 'SELECT * FROM changed'),
    added: await query(base, 'SELECT * FROM added'),
  };
}

test('bootstrap: allow rebuilds new and modified views; reject keeps the checkpoint', {
  timeout: 90_000,
}, async () => {
  // the reference: P2 from scratch on the same input
  const fresh = mkdtempSync(join(tmpdir(), 'holdfast-boot-fresh-'));
  const ref = await start(config(fresh, P2(fresh)));
  await ingest(ref.base, STEP1);
  await ingest(ref.base, STEP2);
  const want = await contents(ref.base);
  await ingest(ref.base, STEP3);
  const wantAfter = await contents(ref.base);
  await stop(ref.child);

  // P1, checkpointed and stopped
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-boot-'));
  let p = await start(config(dir, P1(dir)));
  await ingest(p.base, STEP1);
  await ingest(p.base, STEP2);
  await checkpoint(p.base);
  const sameBefore = await query(p.base, 'SELECT * FROM same');
  await stop(p.child);
  const manifests = () => readdirSync(join(dir, 'storage/checkpoint-store/checkpoints')).sort();
  const written = manifests();
  assert.equal(written.length, 1);

  // reject: fails with BootstrapRejected (run alone: exit 1); the checkpoint is kept
  const rejected = runAlone(config(dir, P2(dir), { bootstrap_policy: 'reject' }));
  assert.equal(rejected.status, 1);
  assert.match(
    rejected.stderr,
    /error \[BootstrapRejected\]: Bootstrapping of the modified pipeline was rejected by the user\./,
  );
  assert.deepEqual(manifests(), written);
  // managed (served on /status until stopped, for the manager): routes needing the controller answer the error
  p = await start(config(dir, P2(dir), { bootstrap_policy: 'reject' }), true);
  const st = await status(p.base);
  assert.equal(st.code, 409);
  assert.equal(st.body.error_code, 'BootstrapRejected');
  assert.equal(st.body.message, 'Bootstrapping of the modified pipeline was rejected by the user.');
  assert.equal((await fetch(`${p.base}/query?sql=SELECT+1`)).status, 409);
  await stop(p.child);
  assert.deepEqual(manifests(), written);

  // allow (the default of a pipeline run alone)
  p = await start(config(dir, P2(dir)));
  const running = await untilStatus(p.base, (s) => s.body.runtime_status === 'Running');
  assert.deepEqual(Object.keys(running.body).sort(), Object.keys(EXTENDED_RUNTIME_STATUS_KEYS).sort());
  assert.deepEqual(await contents(p.base), want);
  assert.deepEqual(await query(p.base, 'SELECT * FROM same'), sameBefore);
  // outputs: rebuilt views got their full contents as inserts; the unchanged view got nothing
  const inserts = (rows: string[]) => rows.map((r) => `{"insert":${r}}`).sort();
  assert.deepEqual(lines(dir, 'changed'), inserts(want.changed as string[]));
  assert.deepEqual(lines(dir, 'added'), inserts(want.added as string[]));
  assert.deepEqual(lines(dir, 'same'), []);
  assert.ok(
    p.log.some((l) => l.includes('bootstrapping') && l.includes('added')),
    p.log.join('\n'),
  );
  // continuing: the same results as the fresh run, and only real changes on the unchanged view
  await ingest(p.base, STEP3);
  assert.deepEqual(await contents(p.base), wantAfter);
  assert.deepEqual(
    lines(dir, 'same'),
    [`{"delete":${sameBefore[0]}}`, `{"insert":${wantAfter.same?.[0]}}`].sort(),
  );
  // a checkpoint now records P2: restarting P2 needs no bootstrap and restores everything
  await checkpoint(p.base);
  await stop(p.child);
  p = await start(config(dir, P2(dir), { bootstrap_policy: 'reject' }));
  await untilStatus(p.base, (s) => s.body.runtime_status === 'Running');
  assert.deepEqual(await contents(p.base), wantAfter);
  assert.deepEqual(lines(dir, 'changed'), []);
  await stop(p.child);
  assert.ok(existsSync(join(dir, 'storage/checkpoint-store')));
});

test('bootstrap: a modified view over a non-materialized table is BootstrapNotAllowed', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-boot-nm-'));
  const sql = 'CREATE TABLE t (id INT, x INT); CREATE MATERIALIZED VIEW v AS SELECT SUM(x) AS s FROM t;';
  let p = await start(config(dir, sql));
  await ingest(p.base, '{"insert": {"id": 1, "x": 3}}');
  await checkpoint(p.base);
  await stop(p.child);
  const r = runAlone(config(dir, sql.replace('SUM(x)', 'MAX(x)')));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error \[BootstrapNotAllowed\]: .*not materialized.*'t'.*materializ/s);
  // the unchanged program still restores
  p = await start(config(dir, sql));
  await untilStatus(p.base, (x) => x.body.runtime_status === 'Running');
  assert.deepEqual(await query(p.base, 'SELECT s FROM v'), ['{"s":3}']);
  await stop(p.child);
});

test('exactly_once: input acknowledged right after a bootstrap survives kill -9 (the bootstrap is checkpointed before input is taken)', {
  timeout: 90_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-boot-ft-'));
  const ft = { fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null } };
  let p = await start(config(dir, P1(dir), ft));
  await ingest(p.base, STEP1);
  await checkpoint(p.base);
  await stop(p.child);

  // P2 bootstraps from P1's checkpoint and discards the journal; the input then acknowledged must not depend on
  // a later checkpoint: before the fix, a crash here bootstrapped from P1's checkpoint again and dropped it
  p = await start(config(dir, P2(dir), ft));
  await untilStatus(p.base, (s) => s.body.runtime_status === 'Running');
  await ingest(p.base, STEP2);
  p.child.kill('SIGKILL');
  await new Promise((r) => p.child.once('exit', r));

  p = await start(config(dir, P2(dir), ft));
  await untilStatus(p.base, (s) => s.body.runtime_status === 'Running');
  assert.deepEqual(
    await query(p.base, 'SELECT id, x FROM t ORDER BY id'),
    ['{"id":2,"x":12}', '{"id":3,"x":20}', '{"id":4,"x":8}'],
    'STEP2 (acknowledged after the bootstrap) is in the table',
  );
  await stop(p.child);
});
