/**
 * LATENESS under exactly_once, with real processes and `kill -9`: late rows pushed over HTTP ingress are dropped
 * by the waterline; after a crash (a checkpoint, more input journaled but not checkpointed) the restarted
 * pipeline restores the waterline from the checkpoint and replays the journal, dropping exactly the rows an
 * uninterrupted run drops: same views (one a windowed aggregation whose closed windows' state is discarded),
 * same late count, and the output file holds every change once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkpoint, getJson, integrateOutput, kill9, startPipeline, until, viewRows } from './support.ts';

const BATCHES = 24;
const PER_BATCH = 15;

function writeConfig(dir: string): string {
  const out = JSON.stringify([
    {
      name: 'out',
      transport: { name: 'file_output', config: { path: join(dir, 'per_hour.jsonl') } },
      format: { name: 'json' },
    },
  ]);
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: `CREATE TABLE ev (id BIGINT NOT NULL, ts TIMESTAMP NOT NULL LATENESS INTERVAL 1 HOUR);
CREATE MATERIALIZED VIEW per_hour WITH ('connectors' = '${out}') AS
  SELECT TIMESTAMP_TRUNC(ts, HOUR) AS h, COUNT(*) AS c, SUM(id) AS s FROM ev GROUP BY TIMESTAMP_TRUNC(ts, HOUR);
CREATE MATERIALIZED VIEW per_window AS SELECT window_start, COUNT(*) AS c, SUM(id) AS s
  FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' MINUTES)) GROUP BY window_start;`,
      storage: {},
      fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
    }),
  );
  return cfg;
}

/** The batches: time moves forward a few minutes per batch; about a quarter of the rows are up to 3 h old. */
function batches(seed: number): string[] {
  let x = seed >>> 0;
  const rnd = () => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const start = Date.UTC(2024, 0, 1);
  let now = start;
  let id = 0;
  const out: string[] = [];
  for (let b = 0; b < BATCHES; b++) {
    now += Math.floor(rnd() * 20) * 60_000;
    const lines: string[] = [];
    for (let i = 0; i < PER_BATCH; i++) {
      const back = rnd() < 0.25 ? Math.floor(rnd() * 180) * 60_000 : Math.floor(rnd() * 10) * 60_000;
      const ts = new Date(now - back).toISOString().replace('T', ' ').replace('Z', '');
      lines.push(JSON.stringify({ insert: { id: id++, ts } }));
    }
    out.push(lines.join('\n'));
  }
  return out;
}

async function processed(base: string): Promise<number> {
  const s = await getJson<{
    global_metrics: { total_processed_records: number; buffered_input_records: number };
  }>(base, '/stats');
  return s.global_metrics.buffered_input_records === 0 ? s.global_metrics.total_processed_records : -1;
}

/** Pushes batches [from, to) one step each (waits for each to be processed). */
async function push(base: string, all: readonly string[], from: number, to: number): Promise<void> {
  for (let b = from; b < to; b++) {
    const r = await fetch(`${base}/ingress/ev?format=json`, { method: 'POST', body: all[b] });
    assert.equal(r.status, 200, await r.text());
    await until(
      () => processed(base),
      (n) => n >= (b + 1) * PER_BATCH,
      `batch ${b}`,
    );
  }
}

async function lateCount(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = /^holdfast_input_table_late_records_total\{[^}]*table="ev"[^}]*\} (\d+)$/m.exec(text);
  assert.ok(m, text);
  return Number(m[1]);
}

test('exactly_once: the waterline survives kill -9 and replay drops the same late rows', {
  timeout: 120_000,
}, async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  console.log(`lateness exactly_once seed ${seed}`);
  const all = batches(seed);

  const refDir = mkdtempSync(join(tmpdir(), 'holdfast-late-ref-'));
  let p = await startPipeline(writeConfig(refDir));
  await push(p.base, all, 0, BATCHES);
  const refRows = await viewRows(p.base, 'per_hour');
  const refWindows = await viewRows(p.base, 'per_window');
  const refLate = await lateCount(p.base);
  // per input endpoint in /stats (one HTTP ingress endpoint here) and in the endpoint metric
  const stats = await getJson<{
    inputs: Array<{ endpoint_name: string; metrics: { num_late_records: number } }>;
  }>(p.base, '/stats');
  assert.equal(
    stats.inputs.reduce((n, i) => n + i.metrics.num_late_records, 0),
    refLate,
    JSON.stringify(stats.inputs),
  );
  const metrics = await (await fetch(`${p.base}/metrics`)).text();
  assert.match(
    metrics,
    new RegExp(`holdfast_input_connector_late_records_total\\{[^}]*\\} ${refLate}$`, 'm'),
  );
  await kill9(p);
  assert.ok(refLate > 0, `seed ${seed}: the input had late rows`);

  const dir = mkdtempSync(join(tmpdir(), 'holdfast-late-'));
  const cfg = writeConfig(dir);
  p = await startPipeline(cfg);
  await push(p.base, all, 0, 8);
  await checkpoint(p.base);
  await push(p.base, all, 8, 16); // journaled, not in the checkpoint
  await kill9(p);
  p = await startPipeline(cfg);
  await until(
    () => processed(p.base),
    (n) => n >= 16 * PER_BATCH,
    'replay',
  );
  await push(p.base, all, 16, BATCHES);
  assert.deepEqual(await viewRows(p.base, 'per_hour'), refRows, `seed ${seed}`);
  // the windowed aggregation discards closed windows' state (LATENESS): the view still holds every window
  assert.deepEqual(await viewRows(p.base, 'per_window'), refWindows, `seed ${seed}`);
  assert.equal(await lateCount(p.base), refLate, `seed ${seed}`);
  assert.deepEqual(integrateOutput(join(dir, 'per_hour.jsonl')).rows, refRows, `seed ${seed}`);
  await kill9(p);
});
