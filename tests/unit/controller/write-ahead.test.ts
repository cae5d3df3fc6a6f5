/**
 * A pipeline with a checkpoint store writes the segment files of the large batches its state seals or merges
 * ahead of the next full checkpoint (issue 16), and that checkpoint lists those files rather than writing them
 * again; the state restores from it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Controller } from '../../../src/controller/controller.ts';
import { StoreCheckpointWriter } from '../../../src/controller/store-writer.ts';
import { createPipelineServer } from '../../../src/server/pipeline-server.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import { PREWRITE_MIN_ENTRIES, setTraceHeadMin } from '../../../src/zset/trace.ts';

const program = await compileProgram(`
  CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT);
  CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(x) AS total FROM t;`);

test('a full checkpoint lists the files its pipeline wrote ahead, and restores', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-ahead-'));
  // heads seal at their minimum or half the state (no head budget deferral), so the steps seal and merge
  const oldHead = setTraceHeadMin(4096);
  t.after(() => {
    setTraceHeadMin(oldHead);
    rmSync(dir, { recursive: true, force: true });
  });
  const { writer } = await StoreCheckpointWriter.open(dir, [], () => {});
  const c = new Controller(program);
  c.enableCheckpoints(writer, { intervalSecs: null, fingerprint: 'fp' });
  const ep = c.inputEndpoint('t.api', 't');
  const total = PREWRITE_MIN_ENTRIES * 2 + 1000;
  for (let at = 0; at < total; at += 25_000) {
    const rows = [];
    for (let i = at; i < Math.min(total, at + 25_000); i++) rows.push({ row: [i, i % 7], weight: 1 });
    await c.push(ep, rows, 0);
    await c.idle();
  }
  await writer.store.aheadSettled();
  const ahead = writer.store.aheadStats;
  assert.ok(ahead.files > 0, `large batches were written ahead: ${JSON.stringify(ahead)}`);
  assert.equal(ahead.failed, 0);
  const aheadFiles = readdirSync(join(dir, 'files')); // no checkpoint yet: every file was written ahead

  assert.equal(await c.checkpointer?.wait(c.checkpoint()), true);
  const [entry] = await writer.store.list();
  const read = await writer.store.read(entry?.uuid as string);
  const listed = new Set(
    Object.values(read.manifest.operators).flatMap((states) =>
      Object.values(states)
        .flat()
        .map((f) => f.hash),
    ),
  );
  const reused = [...listed].filter((h) => aheadFiles.includes(h));
  assert.ok(reused.length > 0, 'the checkpoint lists files written ahead');
  const listedBytes = Object.values(read.manifest.operators)
    .flatMap((states) => Object.values(states).flat())
    .reduce((n, f) => n + f.size, 0);
  const written = c.checkpointer?.metrics.writtenBytesTotal ?? 0;
  assert.ok(written < listedBytes / 2, `the checkpoint wrote ${written} of its ${listedBytes} bytes`);

  // what the pipeline reports: its /metrics counters of the writes ahead
  assert.deepEqual(c.checkpointer?.ahead, writer.store.aheadStats);
  const server = createPipelineServer(c);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const text = await (
      await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)
    ).text();
    const sample = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(sample('holdfast_checkpoint_written_ahead_files_total'), ahead.files);
    assert.equal(sample('holdfast_checkpoint_written_ahead_bytes_total'), ahead.bytes);
    assert.equal(sample('holdfast_checkpoint_written_ahead_errors_total'), 0);
  } finally {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }

  const r = new Controller(program, {
    restore: { base: read.snapshot, deltas: read.deltas, processedRecords: read.manifest.processed_records },
  });
  assert.deepEqual(
    (await r.query('SELECT n, total FROM s')).rows,
    (await c.query('SELECT n, total FROM s')).rows,
  );
  assert.deepEqual((await r.query('SELECT n FROM s')).rows, [[BigInt(total)]]);
});
