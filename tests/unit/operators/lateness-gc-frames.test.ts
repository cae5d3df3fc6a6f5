/**
 * LATENESS garbage collection in the window-agg operator's frame purge (RANGE frames over the ORDER BY column)
 * and in the asof-join operator: over a long randomised stream that respects the waterlines (inserts and
 * retractions), the state stays bounded, the output equals that of the same operator without GC, and the
 * discards are part of the state contract — a copy restored from base + deltas and a warm copy that applied the
 * deltas produce the original's output on the next step. The seed is printed (SEED=n).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Operator, StateBatches, StatefulOperator } from '../../../src/circuit/operator.ts';
import { AsofJoinOperator, type AsofJoinSpec } from '../../../src/operators/asof-join.ts';
import { WindowAggOperator, type WindowAggSpec } from '../../../src/operators/window-agg.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import type { Row, Value } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { mulberry32, norm, randInt } from './support.ts';

type Op = StatefulOperator & Operator;
const num = (a: Value, b: Value) => (a as number) - (b as number);

const seedOf = (def: number, what: string) => {
  const seed = Number(process.env.SEED ?? def);
  console.log(`${what} seed ${seed}`);
  return seed;
};

function parts(names: readonly string[], ss: readonly StateBatches[]): Record<string, Batch[]> {
  return Object.fromEntries(names.map((n) => [n, ss.map((s) => s[n] ?? emptyBatch())]));
}

/** Steps `op` and `plain` alike; checks outputs, and every 7 steps restored and warm copies. Returns sizes. */
function drive(o: {
  seed: number;
  steps: number;
  names: readonly string[];
  make: () => Op;
  plain: Op;
  input: (s: number) => Batch[];
  moveWaterlines: () => void;
  size: (op: Op) => number;
}): number[] {
  const op = o.make();
  op.trackChanges(true);
  const base = op.snapshot();
  const deltas: StateBatches[] = [];
  let warm = o.make();
  warm.restore(parts(o.names, [base]));
  const outOp = new ZSetMap();
  const outPlain = new ZSetMap();
  let copies: Op[] = [];
  const sizes: number[] = [];
  for (let s = 0; s < o.steps; s++) {
    const ins = o.input(s);
    const out = op.step(ins);
    const all = o.plain.step(ins);
    for (let i = 0; i < out.rows.length; i++) outOp.add(out.rows[i] as Row, out.weights[i] as number);
    for (let i = 0; i < all.rows.length; i++) outPlain.add(all.rows[i] as Row, all.weights[i] as number);
    assert.deepEqual(norm(outOp.toBatch()), norm(outPlain.toBatch()), `seed ${o.seed} step ${s}`);
    for (const c of copies) assert.deepEqual(norm(c.step(ins)), norm(out), `seed ${o.seed} step ${s}: copy`);
    copies = [];
    sizes.push(o.size(op));
    o.moveWaterlines();
    if (s % 7 === 6) {
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
  }
  return sizes;
}

/** A random batch of `[k, t, v]` rows at or above the waterline, some retracting live rows at or above it. */
function batch(rnd: () => number, live: Row[], now: number, wl: number | null, keys: number): Batch {
  const b = emptyBatch();
  for (let i = randInt(rnd, 1, 5); i > 0; i--) {
    const alive = live.filter((r) => wl === null || (r[1] as number) >= wl);
    if (alive.length > 0 && rnd() < 0.2) {
      const r = alive[randInt(rnd, 0, alive.length - 1)] as Row;
      live.splice(live.indexOf(r), 1);
      b.rows.push(r);
      b.weights.push(-1);
    } else {
      const t = Math.max(wl ?? 0, now - randInt(rnd, 0, 3));
      const r = [randInt(rnd, 0, keys - 1), t, randInt(rnd, 0, 9)];
      live.push(r);
      b.rows.push(r);
      b.weights.push(1);
    }
  }
  return b;
}

test('window-agg: RANGE frames discard rows below waterline − reach − lag, same output, state laws', () => {
  const seed = seedOf(777, 'window-agg frame purge');
  const rnd = mulberry32(seed);
  const LATE = 3;
  const PREC = 4;
  const FOLL = 2;
  let max: number | null = null;
  let wl: number | null = null;
  // SUM(v) OVER (PARTITION BY k ORDER BY t RANGE BETWEEN 4 PRECEDING AND 2 FOLLOWING), COUNT over
  // RANGE BETWEEN CURRENT ROW AND CURRENT ROW
  const compute = (rows: readonly Row[]): Value[][] =>
    rows.map((r) => {
      const t = r[1] as number;
      let sum = 0;
      let peers = 0;
      for (const x of rows) {
        const u = x[1] as number;
        if (u >= t - PREC && u <= t + FOLL) sum += x[2] as number;
        if (u === t) peers++;
      }
      return [sum, peers];
    });
  const spec: WindowAggSpec = { keyCount: 1, compare: (a, b) => num(a[1] as Value, b[1] as Value), compute };
  const make = () =>
    new WindowAggOperator({
      ...spec,
      framePurge: { column: 1, below: () => (wl === null ? null : wl - FOLL - PREC), compare: num },
    });
  const live: Row[] = [];
  const batches: Batch[] = [];
  const sizes = drive({
    seed,
    steps: 300,
    names: ['input'],
    make,
    plain: new WindowAggOperator(spec),
    input: (s) => {
      while (batches.length <= s) {
        const b = batch(rnd, live, batches.length, wl, 3);
        batches.push(b);
        for (const r of b.rows) max = Math.max(max ?? 0, r[1] as number);
      }
      return [batches[s] as Batch];
    },
    moveWaterlines: () => {
      if (max !== null) wl = max - LATE;
    },
    size: (op) => (op as WindowAggOperator).entryCount,
  });
  const mid = Math.max(...sizes.slice(100, 200));
  const end = Math.max(...sizes.slice(200));
  console.log(`window-agg frame purge: rows held ${mid} (steps 100-199), ${end} (200-299)`);
  assert.ok(end <= mid * 1.5 + 5, `state grows: ${mid} → ${end}`);
  assert.ok(end < 100, `state bounded: ${end}`);
});

test('asof-join: left rows below the right waterline, shadowed right rows below both go; same output, state laws', () => {
  const seed = seedOf(991, 'asof gc');
  const rnd = mulberry32(seed);
  const LATE = 3;
  const maxes: Array<number | null> = [null, null];
  const wls: Array<number | null> = [null, null];
  const spec: AsofJoinSpec = {
    leftKey: (r) => r[0],
    rightKey: (r) => r[0],
    leftTs: (r) => r[1] as Value,
    rightTs: (r) => r[1] as Value,
    compareTs: num,
    combine: (l, r) => [...l, ...r],
    rightWidth: 3,
  };
  const make = () =>
    new AsofJoinOperator({
      ...spec,
      gc: {
        left: () => wls[1] ?? null,
        right: () => {
          const [a, b] = wls;
          return a === null || b === null || a === undefined || b === undefined ? null : Math.min(a, b);
        },
      },
    });
  const live: Row[][] = [[], []];
  const batches: Batch[][] = [];
  const sizes = drive({
    seed,
    steps: 300,
    names: ['leftByKey', 'rightByKey'],
    make,
    plain: new AsofJoinOperator(spec),
    input: (s) => {
      while (batches.length <= s) {
        const t = batches.length;
        const bs = [0, 1].map((side) => batch(rnd, live[side] as Row[], t, wls[side] ?? null, 3));
        bs.forEach((b, side) => {
          for (const r of b.rows) maxes[side] = Math.max(maxes[side] ?? 0, r[1] as number);
        });
        batches.push(bs);
      }
      return batches[s] as Batch[];
    },
    moveWaterlines: () => {
      for (const side of [0, 1]) {
        const m = maxes[side];
        if (m !== undefined && m !== null) wls[side] = m - LATE;
      }
    },
    size: (op) => (op as AsofJoinOperator).entryCount,
  });
  const mid = Math.max(...sizes.slice(100, 200));
  const end = Math.max(...sizes.slice(200));
  console.log(`asof gc: rows held ${mid} (steps 100-199), ${end} (200-299)`);
  assert.ok(end <= mid * 1.5 + 5, `state grows: ${mid} → ${end}`);
  assert.ok(end < 100, `state bounded: ${end}`);
});
