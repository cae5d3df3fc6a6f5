import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ParsedChange } from '../../../src/connectors/formats/parse-result.ts';
import { Controller } from '../../../src/controller/controller.ts';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import type { Batch } from '../../../src/zset/batch.ts';

const program = await compileProgram(`
  CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT);
  CREATE MATERIALIZED VIEW total AS SELECT COUNT(*) AS n, SUM(x) AS s FROM t;
  CREATE VIEW ratio AS SELECT id, 10 / x AS r FROM t;`);

const ins = (id: number, x: number): ParsedChange => ({ row: [id, x], weight: 1 });
const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ins(from + i, 1));

test('the initial step populates global aggregates; pushes are processed in order and listeners see each change', async () => {
  const c = new Controller(program);
  assert.deepEqual((await c.query('SELECT n, s FROM total')).rows, [[0n, null]]);
  const seen: Array<[Batch, number]> = [];
  c.listen('total', (b, step) => seen.push([b, step]));
  const ep = c.inputEndpoint('t.api', 't');
  await c.push(ep, [ins(1, 5), ins(2, 7)], 10);
  await c.push(ep, [ins(1, 6)], 5); // upsert
  await c.idle();
  assert.deepEqual((await c.query('SELECT n, s FROM total')).rows, [[2n, 13]]);
  assert.ok(seen.length >= 1);
  assert.equal(c.totals.processed_records, 3);
  assert.equal(c.totals.input_bytes, 15);
  assert.equal(ep.metrics.buffered_records, 0);
});

test('completion tokens complete once their records are processed; foreign and garbage tokens are errors', async () => {
  const c = new Controller(program, { initialState: 'Paused' });
  const ep = c.inputEndpoint('t.api', 't');
  await c.push(ep, rows(3), 0, { force: true });
  const token = c.completionToken(ep);
  assert.deepEqual(c.completionStatus(token), { status: 'inprogress', step: null });
  c.resume();
  await c.idle();
  const s = c.completionStatus(token);
  assert.equal(s.status, 'complete');
  assert.equal(s.step, c.totals.completed_steps);
  const other = new Controller(program);
  other.inputEndpoint('t.api', 't');
  assert.throws(
    () => other.completionStatus(token),
    (e) => isServiceError(e, 'PipelineRestarted'),
  );
  assert.throws(
    () => c.completionStatus('%%%'),
    (e) => isServiceError(e, 'InvalidParam'),
  );
});

test('while paused a push waits (unless forced) and is applied after resume', async () => {
  const c = new Controller(program, { initialState: 'Paused' });
  const ep = c.inputEndpoint('t.api', 't');
  let done = false;
  const p = c.push(ep, [ins(1, 1)], 0).then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false, 'push must wait while paused');
  c.resume();
  await p;
  await c.idle();
  assert.deepEqual((await c.query('SELECT n FROM total')).rows, [[1n]]);
});

test('backpressure: a push waits while the buffer is full, then goes through', async () => {
  const c = new Controller(program, { maxBufferedRecords: 100, maxStepRecords: 10, initialState: 'Paused' });
  const ep = c.inputEndpoint('t.api', 't');
  await c.push(ep, rows(100), 0, { force: true });
  let second = false;
  const p = c.push(ep, rows(50, 100), 0, { force: true }).then(() => {
    second = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(second, false, 'the buffer is full: the producer waits');
  assert.equal(c.bufferedRecords, 100);
  c.resume();
  await p;
  await c.idle();
  assert.equal(c.totals.processed_records, 150);
  assert.ok(c.totals.completed_steps >= 15, 'at most 10 records per step');
});

test('backpressure by bytes: a push waits while the buffered input bytes are at the bound; nothing is lost or repeated', async () => {
  const c = new Controller(program, {
    maxBufferedBytes: 1000,
    maxStepRecords: 10,
    initialState: 'Paused',
  });
  const ep = c.inputEndpoint('t.api', 't');
  // a push into an empty buffer is always taken, however large
  await c.push(ep, rows(20), 1500, { force: true });
  const order: number[] = [];
  const pending = [1, 2, 3].map((k) =>
    c.push(ep, rows(20, 20 * k), 400, { force: true }).then(() => order.push(k)),
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(order, [], 'over the byte bound: the producers wait (records alone would fit)');
  assert.equal(c.bufferedBytes, 1500);
  assert.equal(c.bufferedRecords, 20);
  c.resume();
  await Promise.all(pending);
  await c.idle();
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(c.totals.processed_records, 80);
  assert.equal(c.totals.input_bytes, 2700);
  assert.equal(c.bufferedBytes, 0);
  assert.deepEqual((await c.query('SELECT n, s FROM total')).rows, [[80n, 80]]);
});

test('the byte bound holds while a producer runs ahead: buffered bytes never pass it by more than one push', async () => {
  const c = new Controller(program, { maxBufferedBytes: 1000, maxStepRecords: 10 });
  const ep = c.inputEndpoint('t.api', 't');
  let most = 0;
  for (let k = 0; k < 50; k++) {
    await c.push(ep, rows(10, 10 * k), 300);
    most = Math.max(most, c.bufferedBytes);
  }
  await c.idle();
  assert.ok(most <= 1000, `buffered bytes reached ${most}`);
  assert.equal(c.totals.processed_records, 500);
  assert.deepEqual((await c.query('SELECT n FROM total')).rows, [[500n]]);
});

test('a failing step stops the pipeline with PipelineFailed; later pushes fail with the same error', async () => {
  const c = new Controller(program);
  const ep = c.inputEndpoint('t.api', 't');
  await c.push(ep, [ins(1, 0)], 0); // 10 / 0
  await assert.rejects(
    c.idle(),
    (e) => isServiceError(e, 'PipelineFailed') && /division by zero/.test(e.message),
  );
  assert.equal(c.state, 'Failed');
  await assert.rejects(c.push(ep, [ins(2, 1)], 0), (e) => isServiceError(e, 'PipelineFailed'));
});

test('terminate rejects waiting producers; unknown tables and views are coded errors', async () => {
  const c = new Controller(program, { initialState: 'Paused' });
  const ep = c.inputEndpoint('t.api', 't');
  const p = c.push(ep, [ins(1, 1)], 0);
  c.terminate();
  await assert.rejects(p, (e) => isServiceError(e, 'Terminating'));
  assert.throws(
    () => c.inputEndpoint('x', 'nope'),
    (e) => isServiceError(e, 'UnknownInputTable'),
  );
  assert.throws(
    () => c.listen('nope', () => {}),
    (e) => isServiceError(e, 'UnknownOutputView'),
  );
});

test("pipeline_complete as Feldera's: HTTP ingress endpoints are ignored; complete once every received record is completed", async () => {
  const c = new Controller(program, { initialState: 'Paused' });
  assert.equal(c.complete, true, 'no inputs that could end, nothing received: complete');
  const http = c.inputEndpoint('t.api-ingress-json-insert_delete-false', 't');
  await c.push(http, rows(3), 0, { force: true });
  assert.equal(c.complete, false, 'received but not processed');
  c.resume();
  await c.idle();
  assert.equal(c.totals.completed_records, c.totals.input_records);
  assert.equal(c.complete, true, 'a pipeline fed only over HTTP completes once everything is processed');
  // a connector endpoint that has not ended keeps the pipeline incomplete
  const file = c.inputEndpoint('t.file', 't');
  assert.equal(c.complete, false);
  file.metrics.end_of_input = true;
  assert.equal(c.complete, true);
});

test('after a restore the input, processed and completed totals all start at the checkpoint’s records', async () => {
  const first = new Controller(program);
  const ep = first.inputEndpoint('t.api-ingress-json-insert_delete-false', 't');
  await first.push(ep, rows(4), 0);
  await first.idle();
  const restored = new Controller(program, {
    initialState: 'Paused',
    restore: { base: first.circuit.snapshot(), processedRecords: first.totals.processed_records },
  });
  assert.deepEqual(
    [restored.totals.input_records, restored.totals.processed_records, restored.totals.completed_records],
    [4, 4, 4],
  );
  assert.equal(restored.complete, true);
});

test("ad-hoc INSERT (Feldera's execute()): VALUES or SELECT into a table, applied as input; errors are AdHocQueryError", async () => {
  const p = await compileProgram(`
    CREATE TABLE t (id INT NOT NULL PRIMARY KEY, x INT, s VARCHAR(3));
    CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n, SUM(x) AS total FROM t;`);
  const c = new Controller(p);
  const r = await c.query("INSERT INTO t VALUES (1, 10, 'a'), (2, 20, 'b')");
  assert.deepEqual(r.rows, [[2n]]);
  assert.equal(r.columns[0]?.name, 'count');
  await c.idle();
  assert.deepEqual((await c.query('SELECT n, total FROM v')).rows, [[2n, 30]]);
  // a column list (others NULL), and INSERT ... SELECT over the current contents
  assert.deepEqual((await c.query('INSERT INTO t (id) VALUES (3)')).rows, [[1n]]);
  await c.idle();
  assert.deepEqual(
    (await c.query('INSERT INTO t SELECT id + 10, x * 2, s FROM t WHERE x IS NOT NULL')).rows,
    [[2n]],
  );
  await c.idle();
  assert.deepEqual((await c.query('SELECT n, total FROM v')).rows, [[5n, 90]]);
  assert.equal(c.complete, true, 'ad-hoc inserts are HTTP ingress for completion');
  for (const [sql, re] of [
    ['INSERT INTO v VALUES (1, 2)', /it is a view/],
    ['INSERT INTO nope VALUES (1)', /table 'nope' does not exist/],
    ['INSERT INTO t (id, id) VALUES (1, 2)', /more than once/],
    ['INSERT INTO t (id, zz) VALUES (1, 2)', /column 'zz'/],
    ['INSERT INTO t VALUES (1, 2)', /2 expression\(s\) for 3 target column/],
    ['INSERT INTO t (x) VALUES (5)', /NULL for column 'id'.*NOT NULL/],
    ["INSERT INTO t VALUES (9, 1, 'toolong')", /column 's'/],
  ] as const)
    await assert.rejects(
      c.query(sql),
      (e: unknown) => isServiceError(e, 'AdHocQueryError') && re.test((e as Error).message),
      sql,
    );
  assert.deepEqual((await c.query('SELECT n FROM v')).rows, [[5n]], 'refused inserts changed nothing');
});
