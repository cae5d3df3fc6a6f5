/**
 * The aggregate's LATENESS purge: groups below the waterline are discarded (their emitted rows stay downstream),
 * the output equals that of an aggregate that keeps everything (for input never below the waterline), and the
 * purge is part of the state contract: base + deltas restore, and warm apply, continue exactly like the original.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StateBatches } from '../../../src/circuit/operator.ts';
import { AggregateOperator, type AggregateSpec } from '../../../src/operators/aggregate.ts';
import { makeAggregate } from '../../../src/sql/aggregates.ts';
import { sqlType } from '../../../src/sql/sql-type.ts';
import { emptyBatch } from '../../../src/zset/batch.ts';
import type { Row, Value } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { mulberry32, norm, randInt, step1 } from './support.ts';

const INT = sqlType('INTEGER');
const num = (a: Value, b: Value) => (a as number) - (b as number);

test('purge: bounded groups, the same output as keeping everything, and the state laws', () => {
  const seed = Number(process.env.SEED ?? 2718);
  console.log(`aggregate purge seed ${seed}`);
  const rnd = mulberry32(seed);
  let waterline: Value = null;
  const functions = [makeAggregate('count', -1, null, false), makeAggregate('max', 1, INT, false)];
  const spec: AggregateSpec = {
    keyCount: 1,
    functions,
    purge: { key: 0, below: () => waterline, compare: num },
  };
  const make = () => new AggregateOperator(spec);
  const op = make();
  const keepAll = new AggregateOperator({ keyCount: 1, functions });
  op.trackChanges(true);
  let base = op.snapshot();
  let deltas: StateBatches[] = [];
  let warm = make();
  const parts = (ss: StateBatches[]) => ({
    input: ss.map((s) => s.input ?? emptyBatch()),
    meta: ss.map((s) => s.meta ?? emptyBatch()),
    output: ss.map((s) => s.output ?? emptyBatch()),
  });
  const outOp = new ZSetMap();
  const outAll = new ZSetMap();
  const live: Row[] = [];
  let restored: AggregateOperator | null = null;
  let maxGroups = 0;
  let maxEntries = 0;
  for (let s = 0; s < 400; s++) {
    // keys are time buckets: the newest is s / 4, rows come up to 3 buckets late; the waterline trails by 3
    const b = emptyBatch();
    for (let i = randInt(rnd, 1, 4); i > 0; i--) {
      const alive = live.filter((r) => waterline === null || (r[0] as number) >= (waterline as number));
      if (alive.length > 0 && rnd() < 0.25) {
        const r = alive[randInt(rnd, 0, alive.length - 1)] as Row;
        live.splice(live.indexOf(r), 1);
        b.rows.push(r);
        b.weights.push(-1);
      } else {
        const r: Row = [Math.max(0, Math.floor(s / 4) - randInt(rnd, 0, 2)), randInt(rnd, 0, 100)];
        live.push(r);
        b.rows.push(r);
        b.weights.push(1);
      }
    }
    const out = step1(op, b);
    const all = step1(keepAll, b);
    for (let i = 0; i < out.rows.length; i++) outOp.add(out.rows[i] as Row, out.weights[i] as number);
    for (let i = 0; i < all.rows.length; i++) outAll.add(all.rows[i] as Row, all.weights[i] as number);
    assert.deepEqual(norm(outOp.toBatch()), norm(outAll.toBatch()), `seed ${seed} step ${s}`);
    if (restored !== null) {
      assert.deepEqual(norm(step1(restored, b)), norm(out), `seed ${seed} step ${s}: restored copy differs`);
      restored = null;
    }
    maxGroups = Math.max(maxGroups, op.groupCount);
    maxEntries = Math.max(maxEntries, op.inputEntryCount);
    // the waterline moves after the step (as the LATENESS filter's does): later rows are never below it
    waterline = Math.floor(s / 4) - 2;
    if (s % 9 === 8) {
      const d = op.takeDelta();
      deltas.push(d);
      warm.apply(parts([d]));
      restored = make();
      restored.restore(parts([base, ...deltas]));
      assert.equal(restored.groupCount, op.groupCount, `seed ${seed} step ${s}`);
      assert.equal(warm.groupCount, op.groupCount, `seed ${seed} step ${s}`);
      assert.deepEqual(
        norm(warm.snapshot().output ?? emptyBatch()),
        norm(restored.snapshot().output ?? emptyBatch()),
      );
    }
    if (s % 100 === 99) {
      base = op.snapshot();
      deltas = [];
      warm = make();
      warm.restore(parts([base]));
    }
  }
  assert.ok(maxGroups <= 6, `seed ${seed}: at most the open buckets are held (${maxGroups})`);
  assert.ok(keepAll.groupCount > 90, `${keepAll.groupCount}`);
  // the input trace drops the purged groups' rows too (their retractions cancel them as batches merge)
  console.log(`input entries: at most ${maxEntries} held; without purge ${keepAll.inputEntryCount}`);
  assert.ok(maxEntries < keepAll.inputEntryCount / 4, `seed ${seed}: ${maxEntries} input entries held`);
});
