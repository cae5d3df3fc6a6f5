/**
 * `holdfast pipeline run --config FILE` as a real process: it reports its port, serves the pipeline API, and
 * stops on SIGTERM; a bad config fails fast with a coded error.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../../..');
const MAIN = join(ROOT, 'src/bin/main.ts');

test('a pipeline process reports its port, ingests, answers queries and stops on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-pp-'));
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      name: 'pipeline-test',
      program_code: 'CREATE TABLE t (x INT); CREATE MATERIALIZED VIEW s AS SELECT SUM(x) AS total FROM t;',
      http: { bind: '127.0.0.1', port: 0 },
    }),
  );
  const child = spawn(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const first = await new Promise<string>((res, rej) => {
      createInterface({ input: child.stdout }).once('line', res);
      child.once('exit', (c) => rej(new Error(`exited ${c}`)));
    });
    const ready = JSON.parse(first) as { event: string; port: number };
    assert.equal(ready.event, 'listening');
    const base = `http://127.0.0.1:${ready.port}`;
    const r = await fetch(`${base}/ingress/t?format=csv`, { method: 'POST', body: '1\n2\n39\n' });
    assert.equal(r.status, 200);
    const { token } = (await r.json()) as { token: string };
    for (let i = 0; i < 100; i++) {
      const s = (await (await fetch(`${base}/completion_status?token=${token}`)).json()) as {
        status: string;
      };
      if (s.status === 'complete') break;
      await new Promise((res) => setTimeout(res, 10));
    }
    const q = await fetch(`${base}/query?sql=${encodeURIComponent('SELECT total FROM s')}&format=json`);
    assert.equal((await q.text()).trim(), '{"total":42}');
  } finally {
    const exited = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});

test('a bad config fails fast with a coded error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-pp-'));
  const cfg = join(dir, 'bad.json');
  writeFileSync(
    cfg,
    JSON.stringify({ program_code: 'CREATE TABLE t (x INT); CREATE VIEW v AS SELECT y FROM t;' }),
  );
  const r = spawnSync(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error \[SqlNameError\]: column "y" does not exist/);
  const r2 = spawnSync(process.execPath, [MAIN, 'pipeline', 'run', '--config', join(dir, 'missing.json')], {
    encoding: 'utf8',
  });
  assert.match(r2.stderr, /error \[FileReadError\]/);
});

test('connectors declared in SQL run in the pipeline process: file in, datagen, file out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-pp-'));
  writeFileSync(join(dir, 'in.csv'), '1,10\n2,20\n3,30\n');
  const out = join(dir, 'out.jsonl');
  const sql = `
    CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT) WITH ('connectors' = '[{"name": "in", "transport": {"name": "file_input", "config": {"path": "${join(dir, 'in.csv')}"}}, "format": {"name": "csv"}}]');
    CREATE TABLE g (n BIGINT NOT NULL) WITH ('connectors' = '[{"transport": {"name": "datagen", "config": {"seed": 7, "plan": [{"limit": 100, "fields": {"n": {"strategy": "increment"}}}]}}}]');
    CREATE MATERIALIZED VIEW total WITH ('connectors' = '[{"transport": {"name": "file_output", "config": {"path": "${out}"}}, "format": {"name": "json"}}]')
      AS SELECT SUM(x) AS sx FROM t;
    CREATE MATERIALIZED VIEW gen AS SELECT COUNT(*) AS c, SUM(n) AS s FROM g;`;
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({ program_code: sql }));
  const child = spawn(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const ready = JSON.parse(
      await new Promise<string>((res) => createInterface({ input: child.stdout }).once('line', res)),
    ) as { port: number };
    const base = `http://127.0.0.1:${ready.port}`;
    const query = async (q: string) =>
      (await (await fetch(`${base}/query?sql=${encodeURIComponent(q)}&format=json`)).text()).trim();
    let total = '';
    let gen = '';
    for (let i = 0; i < 200 && (total !== '{"sx":60}' || gen !== '{"c":100,"s":4950}'); i++) {
      total = await query('SELECT sx FROM total');
      gen = await query('SELECT c, s FROM gen');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(total, '{"sx":60}');
    assert.equal(gen, '{"c":100,"s":4950}');
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  const lines = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines.at(-1), { insert: { sx: 60 } });
});
