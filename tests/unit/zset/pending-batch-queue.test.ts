/**
 * Sliced builds of frozen heads run one after another (issue 16): a checkpoint settles every frozen head of the
 * circuit at once, and Node runs all the `setImmediate` callbacks queued before a check phase in one go, so
 * builds interleaved slice by slice would hold the event loop for one slice per build at a time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildBatch, PendingBatch, type TraceBatch, traceLayout } from '../../../src/zset/trace.ts';
import { turnCounter } from '../storage/support.ts';

/** A build of `slices` steps that records, at each step, its name and the turn of the event loop it ran in. */
function recording(name: string, slices: number, log: Array<[string, number]>, turn: () => number) {
  function* steps(): Generator<void, TraceBatch, void> {
    for (let i = 0; i < slices; i++) {
      log.push([name, turn()]);
      yield;
    }
    return buildBatch(traceLayout(1, [0]), [[name]], [1]);
  }
  return new PendingBatch(1, steps());
}

describe('pending batches: sliced builds are queued', () => {
  test('builds settled together run one after another, one slice per event-loop turn', async () => {
    const counter = turnCounter();
    const log: Array<[string, number]> = [];
    const names = ['a', 'b', 'c'];
    const builds = names.map((n) => recording(n, 5, log, counter.turns));
    try {
      // slices of 0 ms: every step is its own slice
      const built = await Promise.all(builds.map((b) => b.settle(0)));
      assert.deepEqual(
        built.map((b) => b.row(0)[0]),
        names,
      );
    } finally {
      counter.stop();
    }
    // in order: every step of a, then of b, then of c
    assert.deepEqual(log.map(([n]) => n).join(''), 'aaaaabbbbbccccc');
    // never two slices in one turn of the event loop
    for (let i = 1; i < log.length; i++)
      assert.ok(
        (log[i] as [string, number])[1] > (log[i - 1] as [string, number])[1],
        `slices ${i - 1} and ${i} in one turn`,
      );
  });

  test('a failed build does not stop the builds queued after it', async () => {
    const boom = new Error('cannot encode');
    function* failing(): Generator<void, TraceBatch, void> {
      yield;
      throw boom;
    }
    const bad = new PendingBatch(1, failing());
    const log: Array<[string, number]> = [];
    const good = recording('g', 2, log, () => 0);
    const [r1, r2] = await Promise.allSettled([bad.settle(0), good.settle(0)]);
    assert.equal(r1.status, 'rejected');
    assert.equal(r2.status, 'fulfilled');
    assert.equal(log.length, 2);
  });
});
