/**
 * `delta_table_input` under exactly_once, end to end: a pipeline process reads a Delta table (in a temp directory,
 * written by this test) in `snapshot_and_follow` mode; after a checkpoint, a new commit (one file removed, one
 * added) is written and read, then the process is killed with `kill -9` and restarted from the checkpoint. The
 * restarted process resumes from the recorded Delta position, keeps following (a commit written after the
 * restart is read too), and the view counts every row exactly once.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import { checkpoint, kill9, query, startPipeline, until } from './support.ts';

const PER_FILE = 4000;
const FILES = 5;

function parquet(from: number, to: number): Uint8Array {
  const ids = Array.from({ length: to - from }, (_, i) => BigInt(from + i));
  return new Uint8Array(
    parquetWriteBuffer({
      schema: [
        { name: 'root', num_children: 2 },
        { name: 'id', type: 'INT64', repetition_type: 'REQUIRED' },
        { name: 'name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ] as SchemaElement[],
      columnData: [
        { name: 'id', data: ids },
        { name: 'name', data: ids.map((i) => `row-${i}`) },
      ],
      rowGroupSize: 1000,
    }),
  );
}

test('exactly_once: kill -9 while following a Delta table; the restart resumes from the Delta position and counts every row once', {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-ft-delta-'));
  const table = join(dir, 'table');
  mkdirSync(join(table, '_delta_log'), { recursive: true });
  const commit = (v: number, actions: unknown[]) =>
    writeFileSync(
      join(table, '_delta_log', `${String(v).padStart(20, '0')}.json`),
      `${actions.map((a) => JSON.stringify(a)).join('\n')}\n`,
    );
  const file = (name: string, from: number, to: number) => {
    const bytes = parquet(from, to);
    writeFileSync(join(table, name), bytes);
    return {
      add: { path: name, size: bytes.length, partitionValues: {}, modificationTime: 0, dataChange: true },
    };
  };
  const schemaString = JSON.stringify({
    type: 'struct',
    fields: [
      { name: 'id', type: 'long', nullable: false, metadata: {} },
      { name: 'name', type: 'string', nullable: true, metadata: {} },
    ],
  });
  commit(0, [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: 't',
        format: { provider: 'parquet', options: {} },
        schemaString,
        partitionColumns: [],
        configuration: {},
      },
    },
    ...Array.from({ length: FILES }, (_, f) => file(`part-${f}.parquet`, f * PER_FILE, (f + 1) * PER_FILE)),
  ]);
  const cfg = join(dir, 'config.json');
  const connectors = JSON.stringify([
    {
      name: 'lake',
      transport: {
        name: 'delta_table_input',
        config: { uri: table, mode: 'snapshot_and_follow', poll_interval_ms: 50 },
      },
      max_batch_size: 500,
    },
  ]);
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: `CREATE TABLE r (id BIGINT NOT NULL, name VARCHAR) WITH ('connectors' = '${connectors}');
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(id) AS total, COUNT(DISTINCT id) AS ids FROM r;`,
      storage: {},
      fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
    }),
  );
  const stats = async (base: string) => {
    const v = await query(base, 'SELECT n, total, ids FROM s');
    return v === ''
      ? { n: 0, total: 0, ids: 0 }
      : (JSON.parse(v) as { n: number; total: number; ids: number });
  };
  const sum = (from: number, to: number) => ((to - 1) * to) / 2 - ((from - 1) * from) / 2;
  const N = FILES * PER_FILE;
  let p = await startPipeline(cfg);
  await until(
    () => stats(p.base),
    (s) => s.n === N,
    'the snapshot',
  );
  await checkpoint(p.base);
  // commit 1: the first file's rows deleted, new rows added
  commit(1, [
    { remove: { path: 'part-0.parquet', deletionTimestamp: 0, dataChange: true } },
    file('part-5.parquet', N, N + PER_FILE),
  ]);
  const afterCommit1 = { n: N, total: sum(PER_FILE, N + PER_FILE), ids: N };
  await until(
    () => stats(p.base),
    (s) => JSON.stringify(s) === JSON.stringify(afterCommit1),
    'commit 1',
  );
  await kill9(p);
  p = await startPipeline(cfg);
  await until(
    () => stats(p.base),
    (s) => JSON.stringify(s) === JSON.stringify(afterCommit1),
    'commit 1 once after the restart',
    60_000,
  );
  commit(2, [file('part-6.parquet', N + PER_FILE, N + 2 * PER_FILE)]);
  const afterCommit2 = { n: N + PER_FILE, total: sum(PER_FILE, N + 2 * PER_FILE), ids: N + PER_FILE };
  await until(
    () => stats(p.base),
    (s) => JSON.stringify(s) === JSON.stringify(afterCommit2),
    'commit 2, followed after the restart',
  );
  // nothing more arrives: no row was read twice
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await stats(p.base), afterCommit2);
  await kill9(p);
});
