/**
 * concurrent-bootstrap.ts: a backfill run in random slices interleaved with random live steps (inserts, upserts and
 * deletes on both tables a join and an aggregate read) cuts over to exactly the state of a from-scratch run over
 * all input: the rebuilt views' contents, their emitted contents at the cut-over, the unchanged view, and the
 * outputs of the steps after it. Seeded (printed; replay with CONCURRENT_BOOTSTRAP_SEED). A new or modified table
 * refuses concurrent bootstrapping.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { describe, keptState, planBootstrap } from '../../../src/sql/bootstrap.ts';
import { Backfill, backfillPace, checkConcurrent } from '../../../src/sql/concurrent-bootstrap.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import { type Batch, consolidate } from '../../../src/zset/batch.ts';
import { runSeed } from '../../kit/seed.ts';

const P1 =
  'CREATE TABLE t (id INT NOT NULL PRIMARY KEY, g INT, x INT); CREATE TABLE u (g INT NOT NULL PRIMARY KEY, name VARCHAR); CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(x) AS sx FROM t;';
const P2 = `${P1} CREATE MATERIALIZED VIEW j AS SELECT t.id, u.name, t.x FROM t JOIN u ON t.g = u.g WHERE t.x > 3;
CREATE MATERIALIZED VIEW a AS SELECT g, SUM(x) AS sx, COUNT(*) AS c FROM t GROUP BY g;`;

const canon = (b: Batch | undefined) =>
  b === undefined
    ? []
    : (() => {
        const c = consolidate(b);
        return c.rows
          .map(
            (r, i) =>
              `${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}×${c.weights[i]}`,
          )
          .sort();
      })();

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

test('a sliced backfill interleaved with live steps cuts over to the from-scratch state', async () => {
  const seed = runSeed('concurrent-bootstrap', 'CONCURRENT_BOOTSTRAP_SEED');
  console.log(`seed ${seed} (CONCURRENT_BOOTSTRAP_SEED=${seed} replays it)`);
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const old = await compileProgram(P1);
  const neu = await compileProgram(P2);
  // current contents, to make upserts and deletes of existing rows
  const t = new Map<number, [number, number]>();
  const u = new Map<number, string>();
  const randomStep = (size: number): Map<string, Batch> => {
    const tb: Batch = { rows: [], weights: [] };
    const ub: Batch = { rows: [], weights: [] };
    for (let i = 0; i < size; i++) {
      const k = int(4);
      if (k === 0 && t.size > 0) {
        const id = [...t.keys()][int(t.size)] as number;
        const [g, x] = t.get(id) as [number, number];
        tb.rows.push([id, g, x]);
        tb.weights.push(-1);
        t.delete(id);
      } else if (k === 1) {
        const g = int(6);
        const name = `n${int(5)}`;
        if (u.has(g)) {
          ub.rows.push([g, u.get(g) as string]);
          ub.weights.push(-1);
        }
        ub.rows.push([g, name]);
        ub.weights.push(1);
        u.set(g, name);
      } else {
        const id = int(60);
        const row: [number, number] = [int(6), int(10)];
        if (t.has(id)) {
          const [g0, x0] = t.get(id) as [number, number];
          tb.rows.push([id, g0, x0]);
          tb.weights.push(-1);
        }
        tb.rows.push([id, ...row]);
        tb.weights.push(1);
        t.set(id, row);
      }
    }
    const m = new Map<string, Batch>();
    if (tb.rows.length > 0) m.set('t', tb);
    if (ub.rows.length > 0) m.set('u', ub);
    return m;
  };
  for (let round = 0; round < 5; round++) {
    // the history before the checkpoint, run by the old program and by the reference (the new one from scratch)
    t.clear();
    u.clear();
    const before = old.instantiate();
    const reference = neu.instantiate();
    for (let i = 0; i < 1 + int(4); i++) {
      const step = randomStep(1 + int(40));
      before.step(step);
      reference.step(step);
    }
    const plan = planBootstrap(describe(old), describe(neu));
    assert.deepEqual(plan.rebuilt, ['j', 'a']);
    const { kept, deltas, feed } = keptState(neu, { base: before.snapshot(), deltas: [] }, plan);
    const live = neu.instantiate();
    live.restore(kept, deltas);
    const backfill = new Backfill(neu, plan, feed, 1 + int(7));
    // live steps and backfill slices, interleaved at random
    while (!backfill.done) {
      if (r() < 0.5) backfill.step();
      else {
        const step = randomStep(1 + int(6));
        const outs = live.step(step);
        backfill.recordLive(step);
        const ref = reference.step(step);
        assert.deepEqual(
          canon(outs.get('s')),
          canon(ref.get('s')),
          `seed ${seed}: the unchanged view stays live`,
        );
      }
    }
    const { circuit, outputs } = backfill.cutover(live);
    for (const v of ['s', 'j', 'a'])
      assert.deepEqual(
        canon(circuit.contents(v)),
        canon(reference.contents(v)),
        `seed ${seed}: ${v} at the cut-over`,
      );
    for (const v of ['j', 'a'])
      assert.deepEqual(canon(outputs.get(v)), canon(reference.contents(v)), `seed ${seed}: ${v} emitted`);
    // incremental from there
    for (let i = 0; i < 3; i++) {
      const step = randomStep(1 + int(6));
      const o1 = circuit.step(step);
      const o2 = reference.step(step);
      for (const v of ['s', 'j', 'a'])
        assert.deepEqual(canon(o1.get(v)), canon(o2.get(v)), `seed ${seed}: ${v} after the cut-over`);
    }
  }
});

test('a new or modified table refuses concurrent bootstrapping; the pace comes from the environment', async () => {
  const old = await compileProgram(P1);
  const neu = await compileProgram(`${P1} CREATE TABLE w (k INT);`);
  assert.throws(
    () => checkConcurrent(neu, planBootstrap(describe(old), describe(neu))),
    (e: unknown) =>
      isServiceError(e) &&
      e.errorCode === 'BootstrapNotAllowed' &&
      /cannot be bootstrapped concurrently: tables 'w' are new or modified/.test(e.message),
  );
  const views = await compileProgram(P2);
  checkConcurrent(views, planBootstrap(describe(old), describe(views)));
  assert.deepEqual(backfillPace({}), { sliceRows: 10_000, pauseMs: 0 });
  assert.deepEqual(
    backfillPace({ HOLDFAST_BOOTSTRAP_SLICE_ROWS: '5', HOLDFAST_BOOTSTRAP_SLICE_PAUSE_MS: '0' }),
    {
      sliceRows: 5,
      pauseMs: 0,
    },
  );
  assert.throws(() => backfillPace({ HOLDFAST_BOOTSTRAP_SLICE_ROWS: '0' }), /at least 1/);
});
