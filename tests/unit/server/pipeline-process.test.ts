/**
 * `holdfast pipeline run --config FILE` as a real process: it reports its port, serves the pipeline API, and
 * stops on SIGTERM; a bad config fails fast with a coded error.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
