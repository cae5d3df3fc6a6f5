/**
 * The background worker shared by the spill writer and the writes ahead: each job answered once by id (through
 * the listener or a synchronous poll), and every job in flight answered with null when the worker dies, after
 * which it declines new jobs (callers then do the work themselves).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobWorker } from '../../../src/util/job-worker.ts';

type Reply = { readonly id: number; readonly twice: number };
const url = new URL('./fixtures/echo-worker.ts', import.meta.url);
const ask = (w: JobWorker<Reply>, n: number): Promise<Reply | null> =>
  new Promise((resolve) => {
    if (w.send((id) => ({ id, n }), resolve) === null) resolve(null);
  });

test('jobs are answered by id, once each', async () => {
  const w = new JobWorker<Reply>(url);
  const replies = await Promise.all([1, 2, 3].map((n) => ask(w, n)));
  assert.deepEqual(
    replies.map((r) => r?.twice),
    [2, 4, 6],
  );
  assert.equal(w.inFlight, 0);
});

test('poll takes the replies that arrived without a turn of the event loop', async () => {
  const w = new JobWorker<Reply>(url);
  await ask(w, 0); // started
  const got: number[] = [];
  w.send(
    (id) => ({ id, n: 21 }),
    (r) => got.push(r?.twice ?? -1),
  );
  const deadline = Date.now() + 5000;
  while (got.length === 0 && Date.now() < deadline) w.poll(); // a loop that never yields
  assert.deepEqual(got, [42]);
});

test('a worker that dies answers its jobs with null and declines new ones', async () => {
  const w = new JobWorker<Reply>(url);
  const pending = ask(w, 5);
  const dying = ask(w, -1);
  const results = await Promise.all([pending, dying]);
  assert.equal(results[1], null, 'the job in flight when it died');
  assert.equal(w.broken, true);
  assert.equal(
    w.send(
      (id) => ({ id, n: 1 }),
      () => assert.fail('never called'),
    ),
    null,
  );
});
