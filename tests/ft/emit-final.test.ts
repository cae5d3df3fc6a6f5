/**
 * `emit_final` through a real pipeline (Feldera's daily-total example, its docs' table of outputs): a view with
 * `'emit_final' = 'd'` sends a day's total to its output connector once, when the waterline of `d` passes it,
 * never an intermediate value or a delete; a view reading it sees its changes undelayed; under exactly_once the
 * pending rows survive kill -9 (checkpoint + journal replay) and each final row reaches the file once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  checkpoint,
  ingestRows,
  integrateOutput,
  kill9,
  pipelineConfig,
  query,
  startPipeline,
  until,
  viewRows,
} from './support.ts';

function config() {
  const { tempDir } = { tempDir: mkdtempSync(join(tmpdir(), 'holdfast-emit-final-')) };
  const path = join(tempDir, 'final.jsonl');
  const out = JSON.stringify([
    { name: 'out', transport: { name: 'file_output', config: { path } }, format: { name: 'json' } },
  ]);
  const c = pipelineConfig('holdfast-emit-final-', {
    program_code: `CREATE TABLE purchase (customer_id INT, ts TIMESTAMP NOT NULL LATENESS INTERVAL 1 HOUR, amount BIGINT);
CREATE MATERIALIZED VIEW daily_total AS
  SELECT TIMESTAMP_TRUNC(ts, DAY) AS d, SUM(amount) AS total FROM purchase GROUP BY TIMESTAMP_TRUNC(ts, DAY);
CREATE MATERIALIZED VIEW daily_total_final WITH ('emit_final' = 'd', 'connectors' = '${out}') AS
  SELECT TIMESTAMP_TRUNC(ts, DAY) AS d, SUM(amount) AS total FROM purchase GROUP BY TIMESTAMP_TRUNC(ts, DAY);
CREATE MATERIALIZED VIEW days AS SELECT COUNT(*) AS n FROM daily_total_final;`,
    storage: {},
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
  });
  return { cfg: c.cfg, path };
}

const lines = (path: string): string[] => {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
};

const row = (ts: string, amount: number) => ({ customer_id: 1, ts, amount });

test('emit_final: each day once, when final; undelayed for views reading it; exactly once across kill -9', {
  timeout: 120_000,
}, async () => {
  const { cfg, path } = config();
  let p = await startPipeline(cfg);
  const day1 = '{"insert":{"d":"2020-01-01 00:00:00","total":20}}';
  // the docs' four inserts, one step each: only the last makes 2020-01-01 final
  for (const [ts, n] of [
    ['2020-01-01 01:00:00', 10],
    ['2020-01-01 02:00:00', 10],
    ['2020-01-02 00:00:00', 10],
  ] as const) {
    await ingestRows(p.base, 'purchase', [row(ts, n)]);
  }
  // daily_total has changed five times by now; the final view has emitted nothing
  assert.deepEqual(await viewRows(p.base, 'daily_total'), [
    '{"d":"2020-01-01 00:00:00","total":20}',
    '{"d":"2020-01-02 00:00:00","total":10}',
  ]);
  assert.deepEqual(lines(path), []);
  assert.deepEqual(await viewRows(p.base, 'daily_total_final'), []);
  // a view reading the emit_final view sees its rows undelayed (Feldera: emit_final applies to the output only)
  assert.match(await query(p.base, 'SELECT n FROM days'), /"n":2/);
  await ingestRows(p.base, 'purchase', [row('2020-01-02 01:00:00', 10)]);
  await until(
    async () => lines(path),
    (l) => l.length >= 1,
    'the first final row',
  );
  assert.deepEqual(lines(path), [day1]);
  assert.deepEqual(await viewRows(p.base, 'daily_total_final'), ['{"d":"2020-01-01 00:00:00","total":20}']);

  // checkpoint, then a change that is journaled only, then kill -9: replay must not emit day 1 again
  await checkpoint(p.base);
  await ingestRows(p.base, 'purchase', [row('2020-01-02 05:00:00', 7)]);
  await kill9(p);
  p = await startPipeline(cfg);
  await ingestRows(p.base, 'purchase', [row('2020-01-03 02:00:00', 5)]); // day 2 becomes final
  await ingestRows(p.base, 'purchase', [row('2020-01-04 03:00:00', 1)]); // day 3 becomes final
  await until(
    async () => lines(path),
    (l) => l.length >= 3,
    'three final rows',
  );
  assert.deepEqual(lines(path), [
    day1,
    '{"insert":{"d":"2020-01-02 00:00:00","total":27}}',
    '{"insert":{"d":"2020-01-03 00:00:00","total":5}}',
  ]);
  // the final rows are exactly daily_total's rows for the closed days
  const closed = (await viewRows(p.base, 'daily_total')).filter((r) => !r.includes('2020-01-04'));
  assert.deepEqual(integrateOutput(path).rows, closed);
  await kill9(p);
});
