/**
 * NOW() in a real pipeline process: a view `WHERE ts >= NOW() - INTERVAL '2' SECOND` loses its rows as time
 * passes without any input (the clock steps the pipeline), and under exactly_once a `kill -9` after clock steps
 * replays the journaled clock values: the output file, integrated, always equals the view (no row is left
 * without its retraction, none retracted twice), also when the restart comes long after the crash.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  checkpoint,
  getJson,
  integrateOutput,
  kill9,
  query,
  startPipeline,
  until,
  viewRows,
} from './support.ts';

function writeConfig(dir: string, ft: boolean): string {
  const out = JSON.stringify([
    {
      name: 'out',
      transport: { name: 'file_output', config: { path: join(dir, 'recent.jsonl') } },
      format: { name: 'json' },
    },
  ]);
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: `CREATE TABLE ev (id BIGINT NOT NULL, ts TIMESTAMP NOT NULL);
CREATE MATERIALIZED VIEW recent WITH ('connectors' = '${out}') AS
  SELECT id FROM ev WHERE ts >= NOW() - INTERVAL '2' SECOND;`,
      clock_resolution_usecs: 100_000,
      ...(ft
        ? { storage: {}, fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null } }
        : {}),
    }),
  );
  return cfg;
}

const stamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

async function pushNow(base: string, ids: readonly number[]): Promise<void> {
  const now = Date.now();
  const body = ids.map((id) => JSON.stringify({ insert: { id, ts: stamp(now) } })).join('\n');
  const r = await fetch(`${base}/ingress/ev?format=json`, { method: 'POST', body });
  assert.equal(r.status, 200, await r.text());
}

async function processed(base: string): Promise<number> {
  const s = await getJson<{ global_metrics: { total_processed_records: number } }>(base, '/stats');
  return s.global_metrics.total_processed_records;
}

test('rows age out of a NOW() view without input; ad-hoc NOW() is the clock', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-now-'));
  const p = await startPipeline(writeConfig(dir, false));
  await pushNow(p.base, [1, 2, 3]);
  await until(
    () => processed(p.base),
    (n) => n >= 3,
    'ingest',
  );
  const rows = await viewRows(p.base, 'recent');
  assert.equal(rows.length, 3, rows.join('\n'));
  const t = await query(p.base, 'SELECT EXTRACT(EPOCH FROM NOW()) AS s');
  const s = Number((JSON.parse(t.split('\n')[0] as string) as { s: number }).s);
  assert.ok(Math.abs(s - Date.now() / 1000) < 2, `NOW() ${s}`);
  await until(
    () => viewRows(p.base, 'recent'),
    (r) => r.length === 0,
    'rows age out',
    10_000,
  );
  await until(
    async () => integrateOutput(join(dir, 'recent.jsonl')),
    (o) => o.rows.length === 0 && o.lines === 6,
    'the output retracts them',
    10_000,
  );
  await kill9(p);
});

test('exactly_once: kill -9 after clock steps; replay uses the journaled clock', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-now-eo-'));
  const cfg = writeConfig(dir, true);
  let p = await startPipeline(cfg);
  await pushNow(p.base, [1, 2]);
  await until(
    () => processed(p.base),
    (n) => n >= 2,
    'first batch',
  );
  await checkpoint(p.base);
  await pushNow(p.base, [3, 4]);
  await until(
    () => processed(p.base),
    (n) => n >= 4,
    'second batch',
  );
  await new Promise((r) => setTimeout(r, 300)); // journaled clock-only steps; rows 3 and 4 still recent
  const before = integrateOutput(join(dir, 'recent.jsonl'));
  await kill9(p);
  assert.ok(
    before.rows.some((r) => r.includes('"id":3')),
    JSON.stringify(before),
  );
  // restart well after rows 3 and 4 aged out: the replayed steps must still see them (journaled clocks); the
  // live clock then retracts them, once
  await new Promise((r) => setTimeout(r, 2_500));
  p = await startPipeline(cfg);
  await until(
    () => viewRows(p.base, 'recent'),
    (r) => r.length === 0,
    'rows age out after restart',
    10_000,
  );
  await until(
    async () => integrateOutput(join(dir, 'recent.jsonl')).rows,
    (r) => r.length === 0,
    'the output file integrates to the (empty) view',
    10_000,
  );
  const after = integrateOutput(join(dir, 'recent.jsonl'));
  assert.equal(after.lines, 8, 'four inserts and four deletes, each once');
  await kill9(p);
});
