/**
 * Trace.capture (a checkpoint's O(1) capture): the head is frozen, not sealed; the captured parts are exactly the
 * state at the capture whatever the trace does afterwards (changes, seals, merges, further captures, a clear);
 * lookups read the frozen head until its batch is pushed; the pending batch is built in slices between event-loop
 * turns, and is the batch a synchronous seal builds. Randomised: the seed is printed (`SEED=n` to replay).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  PendingBatch,
  setTraceHeadMin,
  Trace,
  TraceBatch,
  type TraceParts,
  traceLayout,
} from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { mulberry32, norm, randInt } from '../operators/support.ts';

const seed = Number(process.env.SEED ?? 4242);
console.log(`trace capture seed ${seed}`);

/** The captured state as consolidated `[row, weight]` pairs (building pending parts if needed). */
function content(p: TraceParts): Array<[string, number]> {
  return norm({ rows: p.rows, weights: p.weights });
}

function modelBatch(m: Map<number, Row>): Array<[string, number]> {
  const rows = [...m.values()];
  return norm({ rows, weights: rows.map(() => 1) });
}

function zsetOf(z: ZSetMap): Array<[string, number]> {
  return norm(z.toBatch());
}

/** Resolves after `n` event-loop turns. */
const turns = (n: number) =>
  new Promise<void>((resolve) => {
    let k = 0;
    const tick = () => (++k >= n ? resolve() : setImmediate(tick));
    setImmediate(tick);
  });

describe('trace capture: the head is frozen, the parts are the state at the capture', () => {
  for (const headMin of [4, 1 << 20]) {
    test(`unique trace (head minimum ${headMin}): current/put read the frozen head; captures stay exact`, async () => {
      const old = setTraceHeadMin(headMin);
      try {
        const rnd = mulberry32(seed);
        const t = new Trace(traceLayout(2, [0]), { unique: true, typedKeys: true });
        const model = new Map<number, Row>();
        const captures: Array<{ parts: TraceParts; expected: Array<[string, number]> }> = [];
        for (let step = 0; step < 300; step++) {
          for (let i = randInt(rnd, 1, 6); i > 0; i--) {
            const id = randInt(rnd, 0, 40);
            const probe: Row = [id, null];
            const k = t.keyOf(probe);
            const cur = t.current(k, probe);
            assert.deepEqual(cur, model.get(id), `current(${id}) at step ${step}`);
            if (rnd() < 0.3) {
              t.put(k, cur, undefined);
              model.delete(id);
            } else {
              const row: Row = [id, randInt(rnd, 0, 3)];
              t.put(k, cur, row);
              model.set(id, row);
            }
          }
          t.maybeSeal();
          if (rnd() < 0.15) captures.push({ parts: t.capture(), expected: modelBatch(model) });
          // some captures are built in slices at once, others later or never before the trace moves on
          const c = captures[randInt(rnd, 0, Math.max(0, captures.length - 1))];
          if (c !== undefined && rnd() < 0.2) await c.parts.settle();
        }
        for (const [i, c] of captures.entries())
          assert.deepEqual(content(c.parts), c.expected, `capture ${i}`);
        assert.deepEqual(norm(t.toBatch()), modelBatch(model));
        assert.ok(captures.length > 10);
      } finally {
        setTraceHeadMin(old);
      }
    });

    test(`indexed and scan-only traces (head minimum ${headMin}): lookup/weightAt see the frozen head`, async () => {
      const old = setTraceHeadMin(headMin);
      try {
        const rnd = mulberry32(seed + 1);
        const idx = new Trace(traceLayout(2, [0]));
        const log = new Trace(traceLayout(2, [0]), { indexed: false });
        const model = new ZSetMap();
        const captures: Array<{ a: TraceParts; b: TraceParts; expected: Array<[string, number]> }> = [];
        const rows: Row[] = [];
        const ws: number[] = [];
        for (let step = 0; step < 300; step++) {
          for (let i = randInt(rnd, 1, 5); i > 0; i--) {
            const row: Row = [randInt(rnd, 0, 12), randInt(rnd, 0, 2)];
            const have = model.weightOf(row);
            const w = have > 0 && rnd() < 0.4 ? -randInt(rnd, 1, have) : randInt(rnd, 1, 2);
            idx.add(row, w);
            log.add(row, w);
            model.add(row, w);
            idx.lookup(row, rows, ws);
            let sum = 0;
            for (let j = 0; j < rows.length; j++) if (rows[j]?.[1] === row[1]) sum += ws[j] as number;
            assert.equal(sum, model.weightOf(row), `lookup at step ${step}`);
            assert.equal(idx.weightAt(idx.keyOf(row), row), weightOfKey(model, row[0] as number));
          }
          idx.maybeSeal();
          log.maybeSeal();
          if (rnd() < 0.15) captures.push({ a: idx.capture(), b: log.capture(), expected: zsetOf(model) });
          const c = captures[randInt(rnd, 0, Math.max(0, captures.length - 1))];
          if (c !== undefined && rnd() < 0.2) await Promise.all([c.a.settle(), c.b.settle()]);
        }
        for (const [i, c] of captures.entries()) {
          assert.deepEqual(content(c.a), c.expected, `indexed capture ${i}`);
          assert.deepEqual(content(c.b), c.expected, `scan-only capture ${i}`);
        }
        assert.deepEqual(norm(idx.toBatch()), zsetOf(model));
        assert.deepEqual(norm(log.toBatch()), zsetOf(model));
      } finally {
        setTraceHeadMin(old);
      }
    });
  }

  test('a clear after a capture leaves the captured parts as they were', async () => {
    const t = new Trace(traceLayout(2, [0]), { unique: true });
    for (let i = 0; i < 100; i++) t.put(t.keyOf([i, 0]), undefined, [i, i]);
    const parts = t.capture();
    t.clear();
    for (let i = 0; i < 10; i++) t.put(t.keyOf([i, 0]), undefined, [i, -1]);
    await parts.settle();
    assert.equal(parts.rows.length, 100);
    assert.deepEqual(parts.rows[7], [7, 7]);
    assert.deepEqual(t.current(t.keyOf([7, 0]), [7, 0]), [7, -1]);
  });
});

function weightOfKey(z: ZSetMap, k: number): number {
  let s = 0;
  for (const e of z.entries()) if (e.row[0] === k) s += e.weight;
  return s;
}

describe('trace capture: a failed build', () => {
  test('fails the checkpoint that awaits it and every later read, with the same error', async () => {
    const boom = new Error('cannot encode');
    function* steps(): Generator<void, TraceBatch, void> {
      yield;
      throw boom;
    }
    const p = new PendingBatch(1, steps());
    await assert.rejects(p.settle(), (e) => e === boom);
    assert.throws(
      () => p.batch(),
      (e) => e === boom,
    );
    assert.equal(p.built, false);
  });
});

describe('trace capture: no big seal on the capture', () => {
  test('capture freezes a large head in O(1); steps keep going; the batch is built in slices, as a seal builds it', async () => {
    const n = 200_000;
    const t = new Trace(traceLayout(3, [0]), { unique: true, typedKeys: true });
    const twin = new Trace(traceLayout(3, [0]), { unique: true, typedKeys: true });
    // ids in a scrambled order (the head's batch needs the sort), a few updated and deleted
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push((i * 7919) % n);
    for (const tr of [t, twin]) {
      for (const id of ids) tr.put(tr.keyOf([id]), undefined, [id, `r${id}`, id % 7]);
      tr.maybeSeal();
    }
    assert.equal(t.headSize, n, 'the head holds every row (not yet sealed)');
    const before = t.batches;
    const parts = t.capture();
    // nothing was sealed: the batches are the same array, the head is frozen, its batch not built
    assert.equal(t.batches, before);
    assert.equal(t.frozenRows, n);
    assert.equal(t.headSize, 0);
    assert.equal(parts.pending.length, 1);
    const pending = parts.pending[0] as PendingBatch;
    assert.equal(pending.built, false);
    assert.equal(parts.entryCount, n);
    // steps after the capture: reads of frozen keys, updates, deletes, inserts; nothing builds the batch
    for (let i = 0; i < 1000; i++) {
      const probe = [i];
      const k = t.keyOf(probe);
      const cur = t.current(k, probe);
      assert.deepEqual(cur, [i, `r${i}`, i % 7]);
      if (i % 2 === 0) t.put(k, cur, [i, 'new', 0]);
      else t.put(k, cur, undefined);
    }
    t.put(t.keyOf([n + 1]), undefined, [n + 1, 'x', 1]);
    t.maybeSeal();
    assert.equal(pending.built, false, 'lookups and small steps leave the frozen head as it is');
    // the build runs in slices: the event loop turns while it runs
    let ticks = 0;
    let ticking = true;
    const tick = () => {
      ticks++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const built = await pending.settle(1);
    ticking = false;
    assert.ok(ticks > 5, `the event loop turned ${ticks} times during the build`);
    // the same batch as a synchronous seal of the same head
    const [want] = twin.sealedBatches() as TraceBatch[];
    assert.ok(want instanceof TraceBatch && built instanceof TraceBatch);
    assert.equal(Buffer.compare(built.arena, want.arena), 0);
    assert.deepEqual([...built.wts], [...want.wts]);
    assert.deepEqual([...built.offsets], [...want.offsets]);
    // the capture is the state before the changes; the trace holds the state after them
    assert.equal(parts.rows.length, n);
    const after = t.toBatch();
    assert.equal(after.rows.length, n - 500 + 1);
    assert.equal(t.frozenRows, 0, 'a scan pushes the frozen head');
    await turns(2);
  });

  test('a seal due before the checkpoint built the batch builds it then (synchronously), and only once', () => {
    const old = setTraceHeadMin(8);
    try {
      const t = new Trace(traceLayout(2, [0]));
      for (let i = 0; i < 20; i++) t.add([i, i], 1);
      const parts = t.capture();
      const p = parts.pending[0] as PendingBatch;
      for (let i = 20; i < 40; i++) t.add([i, i], 1);
      t.maybeSeal();
      assert.equal(p.built, true);
      assert.equal(t.frozenRows, 0);
      assert.equal(parts.rows.length, 20);
      assert.equal(t.toBatch().rows.length, 40);
      // pushed unmerged (as a checkpoint's seal was): the trace holds the captured batch itself, so the next
      // checkpoint lists the file this one wrote
      const u = new Trace(traceLayout(2, [0]));
      for (let i = 0; i < 20; i++) u.add([i, i], 1);
      const q = u.capture().pending[0] as PendingBatch;
      u.scanSealed([], () => {});
      assert.deepEqual(u.batches, [q.batch()]);
    } finally {
      setTraceHeadMin(old);
    }
  });
});

describe('trace capture: reads that leave the frozen head frozen (the scanning operators)', () => {
  /** Sums `[row, w]` pairs into a normalized Z-set. */
  const sumOf = (pairs: Array<[Row, number]>): Array<[string, number]> => {
    const z = new ZSetMap();
    for (const [r, w] of pairs) z.add(r, w);
    return zsetOf(z);
  };

  for (const indexed of [true, false])
    test(`${indexed ? 'indexed' : 'scan-only'}: batches + frozen head + head read apart equal the content; nothing is built or pushed (SEED=${seed})`, async () => {
      const old = setTraceHeadMin(64);
      try {
        const rnd = mulberry32(seed + (indexed ? 1 : 2));
        const t = new Trace(traceLayout(3, [1, 0, 2]), { indexed });
        const model = new ZSetMap();
        const change = (n: number) => {
          for (let i = 0; i < n; i++) {
            const row: Row = [
              randInt(rnd, 0, 30),
              randInt(rnd, 0, 9),
              rnd() < 0.1 ? null : randInt(rnd, 0, 3),
            ];
            const w = rnd() < 0.2 ? -1 : 1;
            t.add(row, w);
            model.add(row, w);
          }
        };
        // several batches, then a head that the capture freezes, then a new head
        for (let s = 0; s < 10; s++) {
          change(40);
          t.seal(s % 3 === 0); // some unmerged: several batches
        }
        change(50);
        const batches = t.batches;
        const parts = t.capture();
        const p = parts.pending[0] as PendingBatch;
        const atCapture = zsetOf(model);
        change(30);
        const read = (prefix: number | null): Array<[Row, number]> => {
          const got: Array<[Row, number]> = [];
          const fn = (r: Row, w: number) => got.push([r, w]);
          const keep = (r: Row) => prefix === null || r[1] === prefix;
          if (prefix === null)
            t.scanFrom(
              [],
              (r, w) => {
                fn(r, w);
                return undefined;
              },
              true,
              true,
            );
          else t.scanSealed([prefix], fn, true);
          t.forEachFrozen((r, w) => keep(r) && fn(r, w));
          t.forEachHead((r, w) => keep(r) && fn(r, w));
          return got;
        };
        const want = (prefix: number) => {
          const all = model.toBatch();
          return sumOf(
            all.rows
              .map((r, n) => [r, all.weights[n] as number] as [Row, number])
              .filter(([r]) => r[1] === prefix),
          );
        };
        assert.ok(batches.length >= 2, `several batches (${batches.length})`);
        assert.equal(t.frozenApart, true);
        assert.deepEqual(sumOf(read(null)), zsetOf(model), 'everything, the frozen head read as it is');
        for (let k = 0; k < 10; k++) assert.deepEqual(sumOf(read(k)), want(k), `prefix ${k}`);
        assert.equal(p.built, false, 'the reads built nothing');
        assert.equal(t.batches, batches, 'the reads pushed nothing');
        // once the checkpoint has built the batch, the same reads walk it (still not pushed) and skip the head
        await parts.settle();
        assert.equal(t.frozenApart, false);
        let apart = 0;
        t.forEachFrozen(() => apart++);
        assert.equal(apart, 0, 'a built frozen head is read as its batch');
        assert.deepEqual(sumOf(read(null)), zsetOf(model));
        for (let k = 0; k < 10; k++) assert.deepEqual(sumOf(read(k)), want(k), `prefix ${k}, built`);
        assert.equal(
          t.batches,
          batches,
          'a built frozen head is not pushed by a read (timing must not matter)',
        );
        assert.deepEqual(content(parts), atCapture, 'the capture is the state at the capture');
        // a read that pushes (the default) pushes it, unbuilt or built
        t.scanSealed([0], () => {});
        assert.equal(t.frozenRows, 0);
        assert.deepEqual(norm(t.toBatch()), zsetOf(model));
      } finally {
        setTraceHeadMin(old);
      }
    });
});
