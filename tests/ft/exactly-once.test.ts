/**
 * exactly_once end to end, with real processes and `kill -9` at chosen moments: a datagen input, HTTP ingress
 * (journaled data) and file outputs. After every crash the pipeline replays its journal; at the end the output
 * files hold exactly one copy of every change (integrating them gives the views' contents, and no delete
 * ever removes a row the file does not hold) and the views equal those of an uninterrupted run.
 * Also: at_least_once keeps the file output and loses nothing; unseeded datagen is refused under exactly_once;
 * an input changed under the journal is a ReplayFailure; a torn journal tail is cut off.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  checkpoint,
  getJson,
  integrateOutput,
  kill9,
  MAIN,
  query,
  startPipeline,
  until,
  viewRows,
} from './support.ts';

const ROWS = 20_000;

function program(dir: string, rate: number): string {
  const gen = JSON.stringify([
    {
      name: 'gen',
      transport: {
        name: 'datagen',
        config: {
          seed: 42,
          plan: [
            {
              limit: ROWS,
              rate,
              worker_chunk_size: 700,
              fields: { id: { strategy: 'increment' }, k: { strategy: 'uniform', range: [0, 40] } },
            },
          ],
        },
      },
    },
  ]);
  const out = (name: string) =>
    JSON.stringify([
      {
        name: 'out',
        transport: { name: 'file_output', config: { path: join(dir, `${name}.jsonl`) } },
        format: { name: 'json' },
      },
    ]);
  return `CREATE TABLE g (id BIGINT NOT NULL, k INT NOT NULL) WITH ('connectors' = '${gen}');
CREATE TABLE h (k INT NOT NULL PRIMARY KEY, name VARCHAR);
CREATE MATERIALIZED VIEW agg WITH ('connectors' = '${out('agg')}') AS
  SELECT g.k, h.name, COUNT(*) AS c, SUM(g.id) AS s FROM g JOIN h ON g.k = h.k GROUP BY g.k, h.name;
CREATE MATERIALIZED VIEW ks WITH ('connectors' = '${out('ks')}') AS SELECT DISTINCT k FROM g;
CREATE MATERIALIZED VIEW total AS SELECT COUNT(*) AS n FROM g;`;
}

function writeConfig(dir: string, model: string, rate: number): string {
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: program(dir, rate),
      storage: {},
      fault_tolerance: { model, checkpoint_interval_secs: null },
    }),
  );
  return cfg;
}

async function pushNames(base: string, from: number, to: number): Promise<void> {
  const body: string[] = [];
  for (let k = from; k < to; k++) body.push(JSON.stringify({ insert: { k, name: `n${k}` } }));
  const r = await fetch(`${base}/ingress/h?format=json`, { method: 'POST', body: body.join('\n') });
  assert.equal(r.status, 200, await r.text());
}

const total = async (base: string) => query(base, 'SELECT n FROM total');
const done = (v: string) => v === `{"n":${ROWS}}`;

test('exactly_once: kill -9 mid-stream, before and after checkpoints; outputs hold every change once', {
  timeout: 120_000,
}, async () => {
  // the reference: one uninterrupted run
  const refDir = mkdtempSync(join(tmpdir(), 'holdfast-eo-ref-'));
  let p = await startPipeline(writeConfig(refDir, 'exactly_once', 40_000));
  await pushNames(p.base, 0, 20);
  await pushNames(p.base, 20, 40);
  await until(() => total(p.base), done, 'reference run');
  const refAgg = await viewRows(p.base, 'agg');
  const refKs = await viewRows(p.base, 'ks');
  await kill9(p);
  assert.equal(refAgg.length, 40);

  const dir = mkdtempSync(join(tmpdir(), 'holdfast-eo-'));
  const cfg = writeConfig(dir, 'exactly_once', 8_000);
  // 1: crash before any checkpoint (the journal alone brings it back)
  p = await startPipeline(cfg);
  await pushNames(p.base, 0, 20);
  await until(
    () => total(p.base),
    (v) => JSON.parse(v).n > 2_000,
    'some progress',
  );
  await kill9(p);
  // 2: checkpoint mid-stream, more input, crash
  p = await startPipeline(cfg);
  await until(
    () => total(p.base),
    (v) => JSON.parse(v).n > 5_000,
    'progress after restart',
  );
  await checkpoint(p.base);
  await pushNames(p.base, 20, 40);
  await until(
    () => total(p.base),
    (v) => JSON.parse(v).n > 9_000,
    'progress after checkpoint',
  );
  await kill9(p);
  // 3: crash right after restart, during replay
  p = await startPipeline(cfg);
  await new Promise((r) => setTimeout(r, 30));
  await kill9(p);
  // 4: run to the end
  p = await startPipeline(cfg);
  await until(() => total(p.base), done, 'the end of the input');
  assert.ok(
    p.log.some((l) => l.includes('replay complete')),
    p.log.join('\n'),
  );
  assert.deepEqual(await viewRows(p.base, 'agg'), refAgg);
  assert.deepEqual(await viewRows(p.base, 'ks'), refKs);
  // every change exactly once: the files integrate to the views (a duplicate delete fails inside)
  assert.deepEqual(integrateOutput(join(dir, 'agg.jsonl')).rows, refAgg);
  assert.deepEqual(integrateOutput(join(dir, 'ks.jsonl')).rows, refKs);
  await kill9(p);
});

test('at_least_once: nothing is lost across kill -9; the output file is kept and appended to', {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-alo-'));
  const cfg = writeConfig(dir, 'at_least_once', 10_000);
  let p = await startPipeline(cfg);
  await pushNames(p.base, 0, 40);
  await until(
    () => total(p.base),
    (v) => JSON.parse(v).n > 4_000,
    'progress',
  );
  await checkpoint(p.base);
  await until(
    () => total(p.base),
    (v) => JSON.parse(v).n > 8_000,
    'progress after checkpoint',
  );
  await kill9(p);
  const before = statSync(join(dir, 'ks.jsonl')).size;
  p = await startPipeline(cfg);
  await until(() => total(p.base), done, 'the end of the input');
  const agg = await viewRows(p.base, 'agg');
  assert.equal(agg.length, 40);
  const counts = agg.map((r) => (JSON.parse(r) as { c: number }).c).reduce((a, b) => a + b, 0);
  assert.equal(counts, ROWS); // every generated row counted once in the state
  assert.ok(statSync(join(dir, 'ks.jsonl')).size >= before, 'the output file was not truncated');
  await kill9(p);
});

test('exactly_once refuses an unseeded datagen input (it could not be replayed)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-eo-seed-'));
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: `CREATE TABLE g (id BIGINT NOT NULL) WITH ('connectors' = '[{"transport": {"name": "datagen", "config": {"plan": [{"limit": 5}]}}}]');`,
      storage: {},
      fault_tolerance: {},
    }),
  );
  const r = spawnSync(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /exactly_once a datagen input must be replayable: set its 'seed'/);
});

test('exactly_once: an input file edited under the journal is a ReplayFailure; a torn journal tail is cut off', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-eo-replay-'));
  const input = join(dir, 'in.csv');
  writeFileSync(input, '1\n2\n3\n');
  const out = join(dir, 'out.jsonl');
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: `CREATE TABLE f (x INT) WITH ('connectors' = '[{"transport": {"name": "file_input", "config": {"path": "${input}", "follow": true}}, "format": {"name": "csv"}}]');
CREATE MATERIALIZED VIEW s WITH ('connectors' = '[{"transport": {"name": "file_output", "config": {"path": "${out}"}}, "format": {"name": "json"}}]') AS SELECT COUNT(*) AS n, SUM(x) AS sx FROM f;`,
      storage: {},
      fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
    }),
  );
  let p = await startPipeline(cfg);
  await until(
    () => query(p.base, 'SELECT n, sx FROM s'),
    (v) => v === '{"n":3,"sx":6}',
    'first rows',
  );
  await checkpoint(p.base);
  appendFileSync(input, '10\n');
  await until(
    () => query(p.base, 'SELECT n, sx FROM s'),
    (v) => v === '{"n":4,"sx":16}',
    'appended row',
  );
  await kill9(p);

  // a torn tail (a record being written when the process died) is cut off; the step before it replays
  const jdir = join(dir, 'storage/journal');
  const last = readdirSync(jdir).sort().at(-1) as string;
  appendFileSync(join(jdir, last), Buffer.from([200, 0, 0, 0, 1, 2, 3]));
  p = await startPipeline(cfg);
  await until(
    () => query(p.base, 'SELECT n, sx FROM s'),
    (v) => v === '{"n":4,"sx":16}',
    'replayed state',
  );
  assert.ok(
    p.log.some((l) => l.includes('cut off a torn tail')),
    p.log.join('\n'),
  );
  assert.deepEqual(integrateOutput(out).rows, ['{"n":4,"sx":16}']);
  await kill9(p);

  // the file's journaled line changes: replay notices
  writeFileSync(input, '1\n2\n3\n99\n');
  p = await startPipeline(cfg);
  // the failure is reported (the body is the error, or a status carrying it)
  const st = await until(
    () => fetch(`${p.base}/status`).then((r) => r.text()),
    (t) => t.includes('ReplayFailure'),
    'replay failure',
  );
  assert.match(st, /ingested different input than was recorded/);
  await kill9(p);
});

test('secrets in connector configs never reach checkpoints, the journal or the log', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-eo-secret-'));
  const input = join(dir, 'in.csv');
  writeFileSync(input, '1\n2\n');
  const SECRET = 'TOPSECRET-4711-value';
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: `CREATE TABLE f (x INT) WITH ('connectors' = '[{"transport": {"name": "file_input", "config": {"path": "${input}", "follow": true, "access_key_secret": "${SECRET}"}}, "format": {"name": "csv"}}]');
CREATE TABLE h (x INT);
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n FROM f;`,
      storage: {},
      fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
    }),
  );
  const p = await startPipeline(cfg);
  await until(
    () => query(p.base, 'SELECT n FROM s'),
    (v) => v === '{"n":2}',
    'rows',
  );
  await checkpoint(p.base);
  await fetch(`${p.base}/ingress/h?format=csv`, { method: 'POST', body: '5\n' });
  appendFileSync(input, '3\n');
  await until(
    () => query(p.base, 'SELECT n FROM s'),
    (v) => v === '{"n":3}',
    'more rows',
  );
  await checkpoint(p.base);
  await kill9(p);
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }))
      e.isDirectory() ? walk(join(d, e.name)) : files.push(join(d, e.name));
  };
  walk(join(dir, 'storage'));
  assert.ok(
    files.some((f) => f.includes('journal')),
    files.join('\n'),
  );
  assert.ok(files.length > 3);
  for (const f of files) assert.ok(!readFileSync(f).includes(SECRET), `${f} holds the secret`);
  assert.ok(!p.log.join('\n').includes(SECRET), 'the log holds the secret');
});

test('status shows Replaying while journaled steps wait for their input, then Running', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-eo-status-'));
  const input = join(dir, 'in.csv');
  writeFileSync(input, '1\n2\n');
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: `CREATE TABLE f (x INT) WITH ('connectors' = '[{"transport": {"name": "file_input", "config": {"path": "${input}", "follow": true}}, "format": {"name": "csv"}}]');
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(x) AS sx FROM f;`,
      storage: {},
      fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
    }),
  );
  let p = await startPipeline(cfg);
  await until(
    () => query(p.base, 'SELECT n, sx FROM s'),
    (v) => v === '{"n":2,"sx":3}',
    'rows',
  );
  await kill9(p);
  // the journaled steps need records the file does not hold (for now): replay waits for them
  writeFileSync(input, '');
  p = await startPipeline(cfg);
  const status = () => getJson<{ runtime_status: string }>(p.base, '/status');
  await until(status, (s) => s.runtime_status === 'Replaying', 'Replaying');
  const q = await fetch(`${p.base}/query?sql=${encodeURIComponent('SELECT n FROM s')}&format=json`);
  assert.equal(q.status, 503);
  assert.equal(((await q.json()) as { error_code: string }).error_code, 'RestoreInProgress');
  writeFileSync(input, '1\n2\n3\n');
  await until(status, (s) => s.runtime_status === 'Running', 'Running after replay');
  await until(
    () => query(p.base, 'SELECT n, sx FROM s'),
    (v) => v === '{"n":3,"sx":6}',
    'replayed + new row',
  );
  await kill9(p);
});
