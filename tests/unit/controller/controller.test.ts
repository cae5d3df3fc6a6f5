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
  assert.deepEqual((await c.query('SELECT n, s FROM total')).rows, [[2n, 13n]]);
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
  assert.deepEqual((await c.query('SELECT n, s FROM total')).rows, [[80n, 80n]]);
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
