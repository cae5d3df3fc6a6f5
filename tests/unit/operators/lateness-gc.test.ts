/**
 * LATENESS garbage collection in the join, DISTINCT and top-k operators: over a long stream that respects the
 * waterlines, the state stays bounded, the output equals that of the same operator without GC, and the
 * discarding is part of the state contract: a copy restored from base + deltas taken after discards, and a warm
 * standby applying the deltas, continue exactly like the original.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Operator, StateBatches, StatefulOperator } from '../../../src/circuit/operator.ts';
import { DistinctOperator } from '../../../src/operators/distinct.ts';
import { JoinOperator, type JoinSpec, NULL_KEY } from '../../../src/operators/join.ts';
import { TopKOperator, type TopKSpec } from '../../../src/operators/top-k.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { encodeRow, type Row, type Value } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { mulberry32, norm, randInt } from './support.ts';

const num = (a: Value, b: Value) => (a as number) - (b as number);
type Op = StatefulOperator & Operator;

/** Parts for restore/apply from snapshots or deltas. */
function parts(names: readonly string[], ss: readonly StateBatches[]): Record<string, Batch[]> {
  return Object.fromEntries(names.map((n) => [n, ss.map((s) => s[n] ?? emptyBatch())]));
}

/**
 * Drives `make()` (with GC) and `plain` (without) over `steps` steps of `input(s)`, checking the integrated
 * outputs agree every step, and every 7 steps checkpointing: a copy restored from base + deltas and a warm copy
 * must produce the original's output on the next step. `moveWaterlines(s)` runs after each step (as the
 * LATENESS filters' do). Returns the largest state size seen (by `size`).
 */
function drive(o: {
  seed: number;
  steps: number;
  names: readonly string[];
  make: () => Op;
  plain: Op;
  input: (s: number) => Batch[];
  moveWaterlines: (s: number) => void;
  size: (op: Op) => number;
}): { max: number; plain: number } {
  const op = o.make();
  op.trackChanges(true);
  let base = op.snapshot();
  let deltas: StateBatches[] = [];
  let warm = o.make();
  warm.restore(parts(o.names, [base]));
  const outOp = new ZSetMap();
  const outPlain = new ZSetMap();
  let copies: Op[] = [];
  let max = 0;
  for (let s = 0; s < o.steps; s++) {
    const ins = o.input(s);
    const out = op.step(ins);
    const all = o.plain.step(ins);
    for (let i = 0; i < out.rows.length; i++) outOp.add(out.rows[i] as Row, out.weights[i] as number);
    for (let i = 0; i < all.rows.length; i++) outPlain.add(all.rows[i] as Row, all.weights[i] as number);
    assert.deepEqual(norm(outOp.toBatch()), norm(outPlain.toBatch()), `seed ${o.seed} step ${s}`);
    for (const c of copies) assert.deepEqual(norm(c.step(ins)), norm(out), `seed ${o.seed} step ${s}: copy`);
    copies = [];
    max = Math.max(max, o.size(op));
    o.moveWaterlines(s);
    if (s % 7 === 6) {
      // the step's discards are in this delta: restore from it and continue
      const d = op.takeDelta();
      deltas.push(d);
      warm.apply(parts(o.names, [d]));
      const restored = o.make();
      restored.restore(parts(o.names, [base, ...deltas]));
      assert.equal(o.size(restored), o.size(op), `seed ${o.seed} step ${s}: restored size`);
      assert.equal(o.size(warm), o.size(op), `seed ${o.seed} step ${s}: warm size`);
      copies = [restored, warm];
      warm = o.make();
      warm.restore(parts(o.names, [base, ...deltas]));
    }
    if (s % 100 === 99) {
      base = op.snapshot();
      deltas = [];
      warm = o.make();
      warm.restore(parts(o.names, [base]));
    }
  }
  return { max, plain: o.size(o.plain) };
}

/** Rows `[t, v]`: t is a time bucket near `now` (up to `late` behind), v a small value. */
function timedBatch(
  rnd: () => number,
  live: Row[],
  now: number,
  late: number,
  waterline: Value,
  make: (t: number) => Row,
): Batch {
  const b = emptyBatch();
  for (let i = randInt(rnd, 1, 4); i > 0; i--) {
    const alive = live.filter((r) => waterline === null || (r[0] as number) >= (waterline as number));
    if (alive.length > 0 && rnd() < 0.2) {
      const r = alive[randInt(rnd, 0, alive.length - 1)] as Row;
      live.splice(live.indexOf(r), 1);
      b.rows.push(r);
      b.weights.push(-1);
    } else {
      // never below the waterline (input that respects LATENESS: the filter drops the rest)
      const r = make(Math.max(0, (waterline as number | null) ?? 0, now - randInt(rnd, 0, late)));
      live.push(r);
      b.rows.push(r);
      b.weights.push(1);
    }
  }
  return b;
}

const seedOf = (def: number, what: string) => {
  const seed = Number(process.env.SEED ?? def);
  console.log(`${what} seed ${seed}`);
  return seed;
};

for (const kind of ['inner', 'left', 'full'] as const) {
  test(`join (${kind}) on a key with waterlines on both sides: bounded state, same output, state laws`, () => {
    const seed = seedOf(4242, `join ${kind} gc`);
    const rnd = mulberry32(seed);
    let wl: Value = null;
    let wr: Value = null;
    const key = (r: Row) => (r[0] === null ? NULL_KEY : r[0]);
    const spec: JoinSpec = {
      kind,
      leftKey: key,
      rightKey: key,
      leftId: (r) => encodeRow(r),
      rightId: (r) => encodeRow(r),
      residual: (l, r) => ((l[1] as number) + (r[1] as number)) % 3 !== 0,
      combine: (l, r) => [...l, ...r],
      leftWidth: 2,
      rightWidth: 2,
    };
    const min = () => (wl === null || wr === null ? null : Math.min(wl as number, wr as number));
    const gcSpec: JoinSpec = {
      ...spec,
      gc: { left: [{ col: 0, below: min, compare: num }], right: [{ col: 0, below: min, compare: num }] },
    };
    const liveL: Row[] = [];
    const liveR: Row[] = [];
    const { max, plain } = drive({
      seed,
      steps: 400,
      names: ['left', 'right'],
      make: () => new JoinOperator(gcSpec),
      plain: new JoinOperator(spec),
      input: (s) => [
        timedBatch(rnd, liveL, Math.floor(s / 4), 2, wl, (t) => [t, randInt(rnd, 0, 9)]),
        // the right side runs a little behind: its waterline is the smaller one
        timedBatch(rnd, liveR, Math.max(0, Math.floor(s / 4) - 1), 2, wr, (t) => [t, randInt(rnd, 0, 9)]),
      ],
      moveWaterlines: (s) => {
        wl = Math.floor(s / 4) - 1;
        wr = Math.floor(s / 4) - 2;
      },
      size: (op) => (op as JoinOperator).storedRows,
    });
    console.log(`join ${kind}: at most ${max} rows held; without GC ${plain}`);
    assert.ok(max < 60, `seed ${seed}: ${max} rows held`);
    assert.ok(plain > 500, `${plain}`);
  });
}

test('inner join with a time range in the residual: both sides discarded below their bounds, state laws', () => {
  const seed = seedOf(777, 'join range gc');
  const rnd = mulberry32(seed);
  let wl: Value = null; // waterline of left t
  let wr: Value = null; // waterline of right t
  // l.k = r.k AND l.t BETWEEN r.t - 2 AND r.t (Nexmark q7's shape)
  const spec: JoinSpec = {
    kind: 'inner',
    leftKey: (r) => r[1],
    rightKey: (r) => r[1],
    leftId: (r) => encodeRow(r),
    rightId: (r) => encodeRow(r),
    residual: (l, r) => (l[0] as number) >= (r[0] as number) - 2 && (l[0] as number) <= (r[0] as number),
    combine: (l, r) => [...l, ...r],
    leftWidth: 2,
    rightWidth: 2,
  };
  const gcSpec: JoinSpec = {
    ...spec,
    gc: {
      // l.t >= r.t - 2: a left row below wr - 2 can never match a later right row
      left: [{ col: 0, below: () => (wr === null ? null : (wr as number) - 2), compare: num }],
      // r.t >= l.t: a right row below wl can never match a later left row
      right: [{ col: 0, below: () => wl, compare: num }],
    },
  };
  const liveL: Row[] = [];
  const liveR: Row[] = [];
  const { max, plain } = drive({
    seed,
    steps: 400,
    names: ['left', 'right'],
    make: () => new JoinOperator(gcSpec),
    plain: new JoinOperator(spec),
    input: (s) => [
      timedBatch(rnd, liveL, Math.floor(s / 3), 2, wl, (t) => [t, randInt(rnd, 0, 3)]),
      timedBatch(rnd, liveR, Math.floor(s / 3), 2, wr, (t) => [t, randInt(rnd, 0, 3)]),
    ],
    moveWaterlines: (s) => {
      wl = Math.floor(s / 3) - 2;
      wr = Math.floor(s / 3) - 2;
    },
    size: (op) => (op as JoinOperator).storedRows,
  });
  console.log(`join range: at most ${max} rows held; without GC ${plain}`);
  assert.ok(max < 80, `seed ${seed}: ${max} rows held`);
  assert.ok(plain > 500, `${plain}`);
});

test('DISTINCT below a waterline: bounded state, same output, state laws', () => {
  const seed = seedOf(99, 'distinct gc');
  const rnd = mulberry32(seed);
  let w: Value = null;
  const live: Row[] = [];
  const { max, plain } = drive({
    seed,
    steps: 400,
    names: ['input'],
    make: () => new DistinctOperator([{ col: 0, below: () => w, compare: num }]),
    plain: new DistinctOperator(),
    input: (s) => [timedBatch(rnd, live, Math.floor(s / 4), 2, w, (t) => [t, randInt(rnd, 0, 3)])],
    moveWaterlines: (s) => {
      w = Math.floor(s / 4) - 2;
    },
    size: (op) => (op as DistinctOperator).size,
  });
  console.log(`distinct: at most ${max} rows held; without GC ${plain}`);
  assert.ok(max < 25, `seed ${seed}: ${max} rows held`);
  assert.ok(plain > 80, `${plain}`);
});

test('top-k partitioned by a column with a waterline: bounded groups, same output, state laws', () => {
  const seed = seedOf(5150, 'top-k gc');
  const rnd = mulberry32(seed);
  let w: Value = null;
  const live: Row[] = [];
  const spec: TopKSpec = {
    keyCount: 1,
    compare: (a, b) => (b[1] as number) - (a[1] as number),
    limit: 2,
    rank: 'row_number',
  };
  const { max, plain } = drive({
    seed,
    steps: 400,
    names: ['input'],
    make: () => new TopKOperator({ ...spec, purge: { key: 0, below: () => w, compare: num } }),
    plain: new TopKOperator(spec),
    input: (s) => [timedBatch(rnd, live, Math.floor(s / 4), 2, w, (t) => [t, randInt(rnd, 0, 20)])],
    moveWaterlines: (s) => {
      w = Math.floor(s / 4) - 2;
    },
    size: (op) => (op as TopKOperator).stateGroupCount,
  });
  console.log(`top-k: at most ${max} groups held; without GC ${plain}`);
  assert.ok(max <= 4, `seed ${seed}: ${max} groups held`);
  assert.ok(plain > 90, `${plain}`);
});
