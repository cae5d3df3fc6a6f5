/**
 * A checkpoint taken while steps keep running holds exactly the state as of its capture: the capture freezes the
 * traces' heads (tables, the join's sides, materialized views, non-linear aggregates' inputs) and the write
 * seals them in slices while the circuit goes on stepping — inserting, updating and deleting rows of the frozen heads and of the sealed batches,
 * sealing and merging. Each checkpoint (full, then incremental ones) is restored into a fresh circuit and
 * compared with a reference circuit that ran only the steps before its capture: a change made after the capture
 * that leaked in, or one made before it that is missing, fails the test. Randomised: `SEED=n` to replay.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Checkpointer } from '../../../src/controller/checkpointer.ts';
import { StoreCheckpointWriter } from '../../../src/controller/store-writer.ts';
import { compileProgram, type SqlCircuit } from '../../../src/sql/program.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { setTraceHeadMin } from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
import { mulberry32, norm, randInt } from '../operators/support.ts';
import { CODECS, withTempDir } from '../storage/support.ts';
import { liveCheckpointer } from './support.ts';

const seed = Number(process.env.SEED ?? 1607);
console.log(`checkpoint capture seed ${seed}`);

const program = await compileProgram(`
  CREATE TABLE customers (id INT NOT NULL PRIMARY KEY, region VARCHAR);
  CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer_id INT, amount INT);
  CREATE TABLE events (k INT, v INT) WITH ('materialized' = 'true');
  CREATE MATERIALIZED VIEW by_region AS
    SELECT c.region, COUNT(*) AS n, SUM(o.amount) AS total
    FROM orders o JOIN customers c ON o.customer_id = c.id GROUP BY c.region;
  CREATE MATERIALIZED VIEW pairs AS
    SELECT o.id, o.amount, c.region FROM orders o JOIN customers c ON o.customer_id = c.id;
  CREATE MATERIALIZED VIEW ev AS SELECT k, v FROM events WHERE v > 0;
  CREATE MATERIALIZED VIEW ext AS SELECT k, MIN(v) AS lo, MAX(v) AS hi, COUNT(DISTINCT v) AS d FROM events GROUP BY k;
  CREATE MATERIALIZED VIEW amounts AS
    SELECT customer_id, MIN(amount) AS lo, MAX(amount) AS hi FROM orders GROUP BY customer_id;`);

type Input = Record<string, Batch>;

/** One random step: upserts and deletes of orders (new and existing ids), customers moving, events. */
function randomStep(rnd: () => number, nextId: { n: number }): Input {
  const orders: Batch = { rows: [], weights: [] };
  for (let i = randInt(rnd, 0, 60); i > 0; i--) {
    const r = rnd();
    const id = r < 0.5 ? nextId.n++ : randInt(rnd, 0, Math.max(0, nextId.n - 1));
    orders.rows.push([id, randInt(rnd, 0, 19), randInt(rnd, 0, 99)]);
    orders.weights.push(r > 0.85 ? -1 : 1);
  }
  const customers: Batch = { rows: [], weights: [] };
  for (let i = randInt(rnd, 0, 2); i > 0; i--) {
    customers.rows.push([randInt(rnd, 0, 19), `r${randInt(rnd, 0, 4)}`]);
    customers.weights.push(rnd() < 0.1 ? -1 : 1);
  }
  const events: Batch = { rows: [], weights: [] };
  for (let i = randInt(rnd, 0, 10); i > 0; i--) {
    events.rows.push([randInt(rnd, 0, 30), randInt(rnd, -2, 5)]);
    events.weights.push(1);
  }
  return { orders, customers, events };
}

// ext, amounts: non-linear aggregates (their input trace is frozen by the capture too)
const NAMES = ['customers', 'orders', 'events', 'by_region', 'pairs', 'ev', 'ext', 'amounts'];

function state(c: SqlCircuit): Record<string, Array<[string, number]>> {
  const out: Record<string, Array<[string, number]>> = {};
  for (const n of NAMES) out[n] = norm(c.contents(n));
  return out;
}

async function run(headMin: number): Promise<void> {
  const old = setTraceHeadMin(headMin);
  try {
    await withTempDir(async (dir) => {
      const rnd = mulberry32(seed + headMin);
      const nextId = { n: 0 };
      // every step's input, in order: a reference circuit replays a prefix of them
      const inputs: Input[] = [];
      const live = program.instantiate();
      const { cp, errors } = await liveCheckpointer(dir, live, () => inputs.length, 'capture-test');
      const step = () => {
        const input = randomStep(rnd, nextId);
        inputs.push(input);
        live.step(input);
      };
      for (let i = 0; i < 40; i++) step();
      for (let round = 0; round < 6; round++) {
        const at = inputs.length;
        cp.request();
        cp.capture();
        // the circuit keeps stepping before the write has even started (and while it runs)
        const during = randInt(rnd, 1, 25);
        for (let i = 0; i < during; i++) step();
        const writing = cp.flush();
        for (let i = randInt(rnd, 0, 3); i > 0; i--) {
          await new Promise((r) => setImmediate(r));
          step();
        }
        await writing;
        assert.deepEqual(errors, []);
        // restore the checkpoint just written into a fresh circuit; compare with the state at the capture
        const { latest } = await StoreCheckpointWriter.open(dir, CODECS, () => {});
        assert.ok(latest !== null);
        assert.equal(latest.entry.processed_records, at);
        const restored = program.instantiate();
        restored.restore(latest.snapshot, latest.deltas);
        const reference = program.instantiate();
        for (const input of inputs.slice(0, at)) reference.step(input);
        assert.deepEqual(
          state(restored),
          state(reference),
          `checkpoint ${round} (captured after step ${at})`,
        );
        for (let i = randInt(rnd, 0, 20); i > 0; i--) step();
      }
      // and the live circuit, which ran every step through frozen heads, is right too
      const all = program.instantiate();
      for (const input of inputs) all.step(input);
      assert.deepEqual(state(live), state(all));
      assert.ok(inputs.length > 60);
    });
  } finally {
    setTraceHeadMin(old);
  }
}

test('a checkpoint taken while steps run holds the state at its capture (heads larger than the state)', async () => {
  await run(1 << 20);
});

test('a checkpoint taken while steps run holds the state at its capture (tiny heads: seals and merges meanwhile)', async () => {
  await run(3);
});

test('rows checkpointed from frozen heads restore as rows (table rows, the join pairs)', async () => {
  // a direct check of the content, independent of the reference circuit
  await withTempDir(async (dir) => {
    const c = program.instantiate();
    const { writer } = await StoreCheckpointWriter.open(dir, CODECS, () => {});
    const cp = new Checkpointer(writer, {
      trackChanges: (on) => c.trackChanges(on),
      snapshot: () => c.snapshot(),
      takeDelta: () => c.takeDelta(),
      meta: () => ({ steps: 0, processed_records: 0, transaction_id: 0, inputs: {}, fingerprint: 'x' }),
    });
    c.step({ customers: { rows: [[1, 'north']], weights: [1] } });
    c.step({ orders: { rows: [[10, 1, 5] as Row], weights: [1] } });
    cp.request();
    cp.capture();
    c.step({ orders: { rows: [[10, 1, 7] as Row, [11, 1, 1] as Row], weights: [1, 1] } });
    await cp.flush();
    const { latest } = await StoreCheckpointWriter.open(dir, CODECS, () => {});
    assert.ok(latest !== null);
    const r = program.instantiate();
    r.restore(latest.snapshot, latest.deltas);
    assert.deepEqual(norm(r.contents('orders')), [['[10, 1, 5]', 1]]);
    assert.deepEqual(norm(r.contents('by_region')), [['["north", 1n, 5]', 1]]);
    assert.deepEqual(norm(c.contents('by_region')), [['["north", 2n, 8]', 1]]);
  });
});
