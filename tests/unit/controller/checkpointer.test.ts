import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setChangeLogOverflow } from '../../../src/circuit/change-log.ts';
import type { CircuitSnapshot } from '../../../src/circuit/circuit.ts';
import type {
  CheckpointEntry,
  CheckpointMeta,
  CheckpointWriter,
} from '../../../src/controller/checkpointer.ts';
import { Controller } from '../../../src/controller/controller.ts';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { createPipelineServer } from '../../../src/server/pipeline-server.ts';
import { compileProgram } from '../../../src/sql/program.ts';

const program = await compileProgram(`
  CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT);
  CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(x) AS total, MAX(x) AS mx FROM t;`);

/** An in-memory checkpoint writer: a full snapshot followed by deltas, like the real store. */
class MemoryWriter implements CheckpointWriter {
  chain: Array<{ snap: CircuitSnapshot; meta: CheckpointMeta; delta: boolean }> = [];
  entries: CheckpointEntry[] = [];
  failNext = false;
  async write(snap: CircuitSnapshot, meta: CheckpointMeta, delta: boolean) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    if (!delta) this.chain = [];
    this.chain.push({ snap, meta, delta });
    const entry = {
      uuid: `cp-${this.entries.length}`,
      identifier: null,
      fingerprint: meta.fingerprint,
      size: 1,
      steps: meta.steps,
      processed_records: meta.processed_records,
    };
    this.entries.push(entry);
    return { entry, bytes: 1 };
  }
  needsFull() {
    return this.chain.length === 0;
  }
  list() {
    return this.entries;
  }
  restoreOptions() {
    const [base, ...deltas] = this.chain;
    return {
      base: (base as { snap: CircuitSnapshot }).snap,
      deltas: deltas.map((d) => d.snap),
      processedRecords: (this.chain.at(-1) as { meta: CheckpointMeta }).meta.processed_records,
    };
  }
}

const ins = (id: number, x: number) => ({ row: [id, x], weight: 1 });

test('incremental checkpoints restore into a fresh controller that continues like the original', async () => {
  const w = new MemoryWriter();
  const a = new Controller(program);
  a.enableCheckpoints(w, { intervalSecs: null, fingerprint: 'fp' });
  const ep = a.inputEndpoint('t.api', 't');
  await a.push(ep, [ins(1, 5), ins(2, 9)], 0);
  await a.idle();
  const s0 = a.checkpoint();
  assert.equal(await a.checkpointer?.wait(s0), true);
  await a.push(ep, [ins(3, 1), { row: [2, null], weight: -1 }], 0);
  await a.idle();
  const s1 = a.checkpoint();
  assert.equal(await a.checkpointer?.wait(s1), true);
  assert.deepEqual(a.checkpointer?.status, { success: 1, failure: null });
  assert.deepEqual(
    w.chain.map((c) => c.delta),
    [false, true],
    'the second checkpoint is incremental',
  );

  const b = new Controller(program, { restore: w.restoreOptions() });
  assert.deepEqual(
    (await b.query('SELECT n, total, mx FROM s')).rows,
    (await a.query('SELECT n, total, mx FROM s')).rows,
  );
  assert.equal(b.totals.processed_records, 4);
  for (const c of [a, b]) {
    const e = c.inputEndpoint('t.api', 't');
    await c.push(e, [{ row: [1, null], weight: -1 }, ins(4, 7)], 0);
    await c.idle();
  }
  assert.deepEqual((await b.query('SELECT n, total, mx FROM s')).rows, [[2n, 8, 7]]);
  assert.deepEqual(
    (await b.query('SELECT n, total, mx FROM s')).rows,
    (await a.query('SELECT n, total, mx FROM s')).rows,
  );
});

test('a checkpoint after more changes than a change log holds is full, and restores like the original', async () => {
  const prev = setChangeLogOverflow(500);
  try {
    const w = new MemoryWriter();
    const a = new Controller(program);
    a.enableCheckpoints(w, { intervalSecs: null, fingerprint: 'fp' });
    const ep = a.inputEndpoint('t.api', 't');
    const checkpoint = async () => assert.equal(await a.checkpointer?.wait(a.checkpoint()), true);
    await a.push(ep, [ins(1, 5), ins(2, 9)], 0);
    await a.idle();
    await checkpoint();
    await a.push(
      ep,
      Array.from({ length: 100 }, (_, i) => ins(10 + i, i)),
      0,
    );
    await a.idle();
    await checkpoint();
    // 2,000 new keys: the table's change log overflows, so this checkpoint is a full one
    await a.push(
      ep,
      Array.from({ length: 2000 }, (_, i) => ins(1000 + i, i % 7)),
      0,
    );
    await a.idle();
    assert.equal(a.circuit.circuit.changesOverflowed(), true);
    await checkpoint();
    assert.equal(a.circuit.circuit.changesOverflowed(), false, 'the full snapshot is the new baseline');
    await a.push(ep, [ins(5000, 1)], 0);
    await a.idle();
    await checkpoint();
    assert.deepEqual(
      w.chain.map((c) => c.delta),
      [false, true],
      'the chain restarted at the full checkpoint, then an incremental one',
    );
    assert.equal(w.entries.length, 4);
    const b = new Controller(program, { restore: w.restoreOptions() });
    assert.deepEqual(
      (await b.query('SELECT n, total, mx FROM s')).rows,
      (await a.query('SELECT n, total, mx FROM s')).rows,
    );
    assert.deepEqual((await b.query('SELECT n FROM s')).rows, [[2103n]]);
  } finally {
    setChangeLogOverflow(prev);
  }
});

test('a failed write is reported, and the next checkpoint is full', async () => {
  const w = new MemoryWriter();
  const c = new Controller(program);
  c.enableCheckpoints(w, { intervalSecs: null, fingerprint: 'fp' });
  const ep = c.inputEndpoint('t.api', 't');
  await c.push(ep, [ins(1, 1)], 0);
  await c.idle();
  assert.equal(await c.checkpointer?.wait(c.checkpoint()), true);
  await c.push(ep, [ins(2, 2)], 0);
  await c.idle();
  w.failNext = true;
  const bad = c.checkpoint();
  assert.equal(await c.checkpointer?.wait(bad), false);
  assert.equal(c.checkpointer?.status.failure?.sequence_number, bad);
  assert.match(c.checkpointer?.status.failure?.error ?? '', /disk full/);
  assert.equal(await c.checkpointer?.wait(c.checkpoint()), true);
  assert.equal(w.chain.length, 1, 'after a failure the chain restarts with a full checkpoint');
  assert.equal(w.chain[0]?.delta, false);
  const r = new Controller(program, { restore: w.restoreOptions() });
  assert.deepEqual((await r.query('SELECT n FROM s')).rows, [[2n]]);
});

test('without storage a checkpoint is CheckpointStorageRequired; over HTTP the API has Feldera shapes', async () => {
  assert.throws(
    () => new Controller(program).checkpoint(),
    (e) => isServiceError(e, 'CheckpointStorageRequired'),
  );
  const c = new Controller(program);
  c.enableCheckpoints(new MemoryWriter(), { intervalSecs: null, fingerprint: 'fp' });
  const server = createPipelineServer(c);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const r = (await (await fetch(`${base}/checkpoint`, { method: 'POST' })).json()) as {
      checkpoint_sequence_number: number;
      incarnation_uuid: string;
    };
    assert.equal(r.checkpoint_sequence_number, 0);
    assert.equal(r.incarnation_uuid, c.incarnationUuid);
    await c.checkpointer?.flush();
    assert.deepEqual(
      await (await fetch(`${base}/checkpoint_status?incarnation_uuid=${c.incarnationUuid}`)).json(),
      { success: 0, failure: null },
    );
    const stale = await fetch(
      `${base}/checkpoint_status?incarnation_uuid=00000000-0000-7000-8000-000000000000`,
    );
    assert.equal(stale.status, 400);
    assert.equal(((await stale.json()) as { error_code: string }).error_code, 'IncarnationUuidMismatch');
    const list = (await (await fetch(`${base}/checkpoints`)).json()) as Array<{
      uuid: string;
      fingerprint: string;
    }>;
    assert.equal(list[0]?.uuid, 'cp-0');
    const stats = (await (await fetch(`${base}/stats`)).json()) as {
      checkpoint_activity: { status: string };
    };
    assert.equal(stats.checkpoint_activity.status, 'idle');
    assert.match(
      await (await fetch(`${base}/metrics`)).text(),
      /^holdfast_checkpoint_total\{pipeline_name="pipeline"\} 1$/m,
    );
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
