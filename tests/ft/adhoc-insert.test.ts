/**
 * Ad-hoc INSERT (`GET /query?sql=INSERT ...`, Feldera's `execute()`) is input like any other under fault
 * tolerance: an exactly_once pipeline answers the inserted count, processes the rows, is killed with -9 before
 * any checkpoint, and comes back with every inserted row (replayed from the journal).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kill9, pipelineConfig, query, startPipeline, until } from './support.ts';

const SQL = `CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR);
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(id) AS sid FROM t;`;

test('ad-hoc INSERT answers the count, is journaled and survives kill -9 (exactly_once)', {
  timeout: 90_000,
}, async () => {
  const { cfg } = pipelineConfig('holdfast-adhoc-', {
    program_code: SQL,
    storage: {},
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
  });
  const p = await startPipeline(cfg);
  const insert = async (sql: string) => {
    const r = await fetch(`${p.base}/query?format=json&sql=${encodeURIComponent(sql)}`);
    assert.equal(r.status, 200);
    return (await r.text()).trim();
  };
  assert.equal(await insert("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')"), '{"count":3}');
  assert.equal(await insert('INSERT INTO t (id) SELECT id + 10 FROM t'), '{"count":3}');
  const want = '{"n":6,"sid":42}';
  await until(
    () => query(p.base, 'SELECT n, sid FROM s'),
    (v) => v === want,
    'both inserts processed',
  );
  await kill9(p);
  const again = await startPipeline(cfg);
  await until(
    () => query(again.base, 'SELECT n, sid FROM s'),
    (v) => v === want,
    'replayed after kill -9',
  );
  await kill9(again);
});
