/**
 * The Parquet format through real pipeline processes: ingress `?format=parquet` (a whole file per request; a
 * schema mismatch ingests nothing), egress refusing parquet, and exactly_once with an object_store_input
 * reading Parquet objects from a local-directory bucket plus a file_output writing Parquet — killed with
 * SIGKILL while it reads, restarted: every input row counted once, every output row written once.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { bufferSource, openParquet } from '../../src/connectors/formats/parquet-parser.ts';
import { compileProgram } from '../../src/sql/program.ts';
import type { TableSchema } from '../../src/sql/schema.ts';
import { checkpoint, getJson, kill9, pipelineConfig, query, startPipeline, until } from '../ft/support.ts';
import { tempDir } from '../kit/index.ts';

const table = (await compileProgram('CREATE TABLE v (id INT NOT NULL, name VARCHAR);')).table(
  'v',
) as TableSchema;

function rowsFile(from: number, to: number, rowGroupSize = 1000): Uint8Array {
  const ids: number[] = [];
  for (let i = from; i < to; i++) ids.push(i);
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'id', data: ids, type: 'INT32', nullable: false },
        { name: 'name', data: ids.map((i) => `n${i}`), type: 'STRING' },
      ],
      rowGroupSize,
    }),
  );
}

/** The rows of a file_output in the parquet format: complete Parquet files one after the other. */
async function outputRows(path: string): Promise<number[]> {
  const bytes = readFileSync(path);
  const ids: number[] = [];
  let start = 0;
  while (start < bytes.length) {
    const cut = bytes.indexOf('PAR1PAR1', start + 4);
    const end = cut < 0 ? bytes.length : cut + 4;
    const part = bytes.subarray(start, end);
    const ab = part.buffer.slice(part.byteOffset, part.byteOffset + part.length) as ArrayBuffer;
    for (const r of await parquetReadObjects({ file: ab })) ids.push(r.id as number);
    start = end;
  }
  return ids;
}

test('ingress ?format=parquet ingests a whole file; a mismatching file ingests nothing; egress refuses parquet', async () => {
  const { cfg } = pipelineConfig('holdfast-pq-ingress-', {
    program_code:
      'CREATE TABLE t (id INT NOT NULL, name VARCHAR); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(CAST(id AS BIGINT)) AS sid FROM t;',
    storage: {},
  });
  const p = await startPipeline(cfg);
  try {
    const post = (body: Uint8Array) => fetch(`${p.base}/ingress/t?format=parquet`, { method: 'POST', body });
    const ok = await post(rowsFile(0, 2500, 700));
    const text = await ok.text();
    assert.equal(ok.status, 200, text);
    const { token } = JSON.parse(text) as { token: string };
    await until(
      () => getJson<{ status: string }>(p.base, `/completion_status?token=${token}`),
      (s) => s.status === 'complete',
      'ingest complete',
    );
    assert.equal(await query(p.base, 'SELECT n, sid FROM s'), `{"n":2500,"sid":${(2500 * 2499) / 2}}`);
    // a file whose column has another type: 400 with the code, nothing ingested
    const bad = new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: ['1'], type: 'STRING' },
          { name: 'name', data: ['x'], type: 'STRING' },
        ],
      }),
    );
    const r = await post(bad);
    const err = (await r.json()) as { error_code: string; message: string };
    assert.equal(r.status, 400);
    assert.equal(err.error_code, 'ParquetSchemaMismatch');
    assert.match(err.message, /column 'id'/);
    const notParquet = await post(new TextEncoder().encode('{"id": 1}'));
    assert.equal(((await notParquet.json()) as { error_code: string }).error_code, 'ParquetInvalidFile');
    assert.equal(await query(p.base, 'SELECT n FROM s'), '{"n":2500}');
    // a body over 8 MiB is spooled to a file and read from there by ranges
    const K = 250_000;
    const ids = Array.from({ length: K }, (_, i) => 10_000 + i);
    const big = new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: ids, type: 'INT32', nullable: false },
          { name: 'name', data: ids.map((i) => `a-name-long-enough-to-spool-${i}`), type: 'STRING' },
        ],
        codec: 'UNCOMPRESSED',
      }),
    );
    assert.ok(big.length > 8 * 1024 * 1024, `${big.length} bytes`);
    const spooled = await post(big);
    assert.equal(spooled.status, 200, await spooled.clone().text());
    const { token: t2 } = (await spooled.json()) as { token: string };
    await until(
      () => getJson<{ status: string }>(p.base, `/completion_status?token=${t2}`),
      (s) => s.status === 'complete',
      'big ingest complete',
    );
    assert.equal(await query(p.base, 'SELECT n FROM s'), `{"n":${2500 + K}}`);
    const eg = await fetch(`${p.base}/egress/s?format=parquet`, { method: 'POST' });
    assert.equal(eg.status, 400);
    const egErr = (await eg.json()) as { error_code: string; message: string };
    assert.equal(egErr.error_code, 'ConfigError.OutputFormatNotSupported');
    assert.match(egErr.message, /egress cannot stream Parquet.*file_output/);
  } finally {
    await kill9(p);
  }
});

test('exactly_once: Parquet objects in, Parquet file out, SIGKILL mid-way: nothing lost or repeated', async () => {
  const bucket = tempDir('holdfast-pq-bucket-');
  mkdirSync(join(bucket, 'in'));
  const N = 20_000;
  writeFileSync(join(bucket, 'in', 'part-0.parquet'), rowsFile(0, N));
  const out = join(tempDir('holdfast-pq-out-'), 'out.parquet');
  const input = {
    name: 'src',
    transport: {
      name: 'object_store_input',
      config: { provider: 'Local', bucket, prefix: 'in/', follow: true, poll_interval_ms: 50 },
    },
    format: { name: 'parquet' },
    max_batch_size: 300,
  };
  const output = { transport: { name: 'file_output', config: { path: out } }, format: { name: 'parquet' } };
  const { cfg } = pipelineConfig('holdfast-pq-ft-', {
    program_code: `CREATE TABLE t (id INT NOT NULL, name VARCHAR) WITH ('connectors' = '${JSON.stringify([input])}');
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(CAST(id AS BIGINT)) AS sid, COUNT(DISTINCT id) AS d FROM t;
CREATE VIEW v WITH ('connectors' = '${JSON.stringify([output])}') AS SELECT id, name FROM t;`,
    storage: {},
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
  });
  const expect = (n: number) => `{"n":${n},"sid":${(n * (n - 1)) / 2},"d":${n}}`;
  let p = await startPipeline(cfg);
  try {
    await until(
      () => query(p.base, 'SELECT n, sid, d FROM s'),
      (v) => v === expect(N),
      'the first object',
    );
    await checkpoint(p.base);
    // a larger second object arrives after the checkpoint; the connector is paused while it reads it, so the
    // next checkpoint records a position inside the object ({key, row}); after resuming, more rows are read,
    // then the process dies: the restart must neither lose nor count twice any of them
    const M = 100_000;
    const connector = `${p.base}/tables/t/connectors/src`;
    writeFileSync(join(bucket, 'in', 'part-1.parquet'), rowsFile(N, N + M, 7000));
    await until(
      () => query(p.base, 'SELECT n FROM s'),
      (v) => Number(JSON.parse(v || '{"n":0}').n) > N + 1000,
      'reading the second object',
    );
    assert.equal((await fetch(`${connector}/pause`, { method: 'POST' })).status, 200);
    await checkpoint(p.base);
    const atCheckpoint = Number(JSON.parse(await query(p.base, 'SELECT n FROM s')).n);
    assert.equal((await fetch(`${connector}/start`, { method: 'POST' })).status, 200);
    await until(
      () => query(p.base, 'SELECT n FROM s'),
      (v) => Number(JSON.parse(v).n) > atCheckpoint,
      'reading on after the checkpoint',
    );
    const atKill = Number(JSON.parse(await query(p.base, 'SELECT n FROM s')).n);
    console.log(`checkpoint at ${atCheckpoint} rows, killed at ${atKill} of ${N + M}`);
    await kill9(p);
    p = await startPipeline(cfg);
    // the checkpoint holds the connector paused (a connector's paused state is part of a checkpoint, and the
    // start after it is not journaled): start it again, as an operator would
    assert.equal((await fetch(`${p.base}/tables/t/connectors/src/start`, { method: 'POST' })).status, 200);
    await until(
      () => query(p.base, 'SELECT n, sid, d FROM s'),
      (v) => v === expect(N + M),
      'both objects exactly once after the restart',
    );
    await checkpoint(p.base); // the output file is synced at the checkpoint
    const ids = await outputRows(out);
    assert.equal(ids.length, N + M, 'each row written once');
    assert.deepEqual(
      ids.sort((a, b) => a - b),
      Array.from({ length: N + M }, (_, i) => i),
    );
    // Holdfast's Parquet reader takes the step-by-step output file whole
    const mine = await openParquet(bufferSource(readFileSync(out)), table, 'the output');
    const back = await mine.read(0, mine.numRows);
    assert.equal(back.numErrors, 0);
    assert.deepEqual(
      back.changes.map((c) => c.row[0] as number).sort((a, b) => a - b),
      Array.from({ length: N + M }, (_, i) => i),
    );
  } finally {
    await kill9(p);
  }
});
