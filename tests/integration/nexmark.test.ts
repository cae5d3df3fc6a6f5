/**
 * The `nexmark` input transport in a real pipeline process: three connectors feed person, auction and bid (the
 * tables as Feldera's benchmark declares them, LATENESS on), some of Feldera's Nexmark queries run over them
 * (q3 join, q4 join + nested aggregates, q7 tumbling window), and under exactly_once the pipeline is killed
 * with `kill -9` before and after a checkpoint: at the end the views equal an uninterrupted run's and the file
 * output holds every change exactly once (the generator restarts from the checkpoint's event numbers).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NEXMARK_QUERIES, nexmarkTables } from '../../bench/nexmark/queries.ts';
import {
  checkpoint,
  getJson,
  integrateOutput,
  kill9,
  pipelineConfig,
  query,
  startPipeline,
  until,
  viewRows,
} from '../ft/support.ts';

const EVENTS = 60_000;

function program(dir: string): string {
  const nx = (table: string, options?: object) =>
    JSON.stringify({
      name: 'gen',
      transport: { name: 'nexmark', config: options ? { table, options } : { table } },
      format: { name: 'csv', config: {} },
    });
  const tables = nexmarkTables({
    lateness: 'INTERVAL 4 SECONDS',
    connectors: {
      person: nx('person', {
        events: EVENTS,
        threads: 1,
        batch_size_per_thread: 2000,
        seed: 7,
        first_event_rate: 10_000,
      }),
      auction: nx('auction'),
      bid: nx('bid'),
    },
  });
  const q = (name: string) =>
    (NEXMARK_QUERIES.find((x) => x.name === name)?.sql ?? '').replace(
      'CREATE VIEW',
      'CREATE MATERIALIZED VIEW',
    );
  const out = JSON.stringify([
    {
      name: 'out',
      transport: { name: 'file_output', config: { path: join(dir, 'q4.jsonl') } },
      format: { name: 'json' },
    },
  ]);
  return `${tables}
${q('q3')}
${q('q4').replace('CREATE MATERIALIZED VIEW q4 AS', `CREATE MATERIALIZED VIEW q4 WITH ('connectors' = '${out}') AS`)}
${q('q7')}
CREATE MATERIALIZED VIEW totals AS SELECT COUNT(*) AS n, SUM(price) AS s FROM bid;
CREATE MATERIALIZED VIEW people AS SELECT COUNT(*) AS n FROM person;
CREATE MATERIALIZED VIEW auctions AS SELECT COUNT(*) AS n FROM auction;`;
}

/** A fresh directory with the pipeline's config (exactly_once, checkpoints on request only). */
function config(prefix: string): { cfg: string; dir: string } {
  const { cfg, dir } = pipelineConfig(prefix, {});
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: program(dir),
      storage: {},
      fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
    }),
  );
  return { cfg, dir };
}

const bidsDone = (v: string) => v.includes(`"n":${(EVENTS / 50) * 46}`);
const bidCount = (v: string) => (v === '' ? 0 : (JSON.parse(v) as { n: number }).n);

test('nexmark connectors in a pipeline process: kill -9 under exactly_once gives the uninterrupted result', {
  timeout: 300_000,
}, async () => {
  const ref = config('holdfast-nexmark-ref-');
  let p = await startPipeline(ref.cfg);
  await until(() => query(p.base, 'SELECT n FROM totals'), bidsDone, 'the reference run', 240_000);
  const views = ['q3', 'q4', 'q7', 'totals', 'people', 'auctions'];
  const expected: Record<string, string[]> = {};
  for (const v of views) expected[v] = await viewRows(p.base, v);
  assert.deepEqual(expected.people, [`{"n":${EVENTS / 50}}`]);
  assert.deepEqual(expected.auctions, [`{"n":${(EVENTS / 50) * 3}}`]);
  assert.ok(
    (expected.q3 ?? []).length > 0 && (expected.q4 ?? []).length > 0 && (expected.q7 ?? []).length > 0,
  );
  const stats = await getJson<{
    inputs: Array<{ endpoint_name: string; metrics: { end_of_input: boolean } }>;
  }>(p.base, '/stats');
  const inputs = stats.inputs.filter((i) => i.endpoint_name.endsWith('.gen'));
  assert.equal(inputs.length, 3);
  assert.ok(inputs.every((i) => i.metrics.end_of_input));
  await kill9(p);

  const run = config('holdfast-nexmark-');
  // 1: crash before any checkpoint
  p = await startPipeline(run.cfg);
  await until(
    () => query(p.base, 'SELECT n FROM totals'),
    (v) => bidCount(v) > 5_000,
    'some progress',
    120_000,
  );
  await kill9(p);
  // 2: checkpoint mid-stream, crash later
  p = await startPipeline(run.cfg);
  await until(
    () => query(p.base, 'SELECT n FROM totals'),
    (v) => bidCount(v) > 15_000,
    'progress',
    120_000,
  );
  await checkpoint(p.base);
  const at = bidCount(await query(p.base, 'SELECT n FROM totals'));
  await until(
    () => query(p.base, 'SELECT n FROM totals'),
    (v) => bidCount(v) > Math.min(at + 5_000, (EVENTS / 50) * 46 - 1),
    'more progress',
    120_000,
  );
  await kill9(p);
  // 3: to the end
  p = await startPipeline(run.cfg);
  await until(() => query(p.base, 'SELECT n FROM totals'), bidsDone, 'the end of the stream', 240_000);
  for (const v of views) assert.deepEqual(await viewRows(p.base, v), expected[v], v);
  assert.deepEqual(integrateOutput(join(run.dir, 'q4.jsonl')).rows, expected.q4);
  await kill9(p);
});
