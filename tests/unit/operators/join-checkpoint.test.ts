/**
 * The join's state through the checkpoint store: a checkpoint written before the join kept its sides on traces
 * (state "left"/"right" as row batches of the raw side rows, format-v1 segments) still restores and continues
 * exactly like the operator it was taken from; a checkpoint of the trace-backed state (sealed batches, format-v2
 * segments) does too, with tiny heads so that it holds several batches per side, and a second full checkpoint
 * reuses the files of the batches that did not change. Randomised: the seed is printed (`SEED=n` to replay).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StateBatches } from '../../../src/circuit/operator.ts';
import { type JoinKind, JoinOperator, type JoinSpec, NULL_KEY } from '../../../src/operators/join.ts';
import { type CheckpointRead, CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { setTraceHeadMin, TraceBatch } from '../../../src/zset/trace.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { CODECS, withTempDir } from '../storage/support.ts';
import { mulberry32, norm, randInt } from './support.ts';

const OP = 'n3:join';
const seed = Number(process.env.SEED ?? 1616);
console.log(`join checkpoint seed ${seed}`);

function spec(kind: JoinKind): JoinSpec {
  const key = (r: Row) => (r[0] === null ? NULL_KEY : r[0]);
  return {
    kind,
    leftKey: key,
    rightKey: key,
    leftId: encodeRow,
    rightId: encodeRow,
    residual: (l, r) => l[1] === null || r[1] === null || (l[1] as number) <= (r[1] as number) + 2,
    combine: (l, r) => [...l, ...r],
    leftWidth: 2,
    rightWidth: 2,
  };
}

/** A random change to one side (`live`: its integral so far), never retracting more than is there. */
function change(rnd: () => number, live: ZSetMap): Batch {
  const b = emptyBatch();
  for (let i = randInt(rnd, 0, 4); i > 0; i--) {
    const present = [...live.entries()];
    let row: Row;
    let w: number;
    if (present.length > 0 && rnd() < 0.35) {
      const e = present[randInt(rnd, 0, present.length - 1)] as { row: Row; weight: number };
      row = e.row;
      w = -randInt(rnd, 1, e.weight);
    } else {
      row = [rnd() < 0.1 ? null : randInt(rnd, 0, 6), rnd() < 0.1 ? null : randInt(rnd, 0, 9)];
      w = randInt(rnd, 1, 2);
    }
    live.add(row, w);
    b.rows.push(row);
    b.weights.push(w);
  }
  return b;
}

/** A side's integral without NULL-key rows, as the join before traces dumped it (raw rows, weights). */
function oldStyle(live: ZSetMap): Batch {
  const b = emptyBatch();
  for (const e of live.entries()) {
    if (e.row[0] === null) continue;
    b.rows.push(e.row);
    b.weights.push(e.weight);
  }
  return b;
}

function partsOf(read: CheckpointRead): Record<string, Batch[]> {
  const out: Record<string, Batch[]> = {};
  for (const name of ['left', 'right']) {
    const first = read.snapshot.operators[OP]?.[name];
    const rest = read.deltas.map((d) => d.operators[OP]?.[name]).filter((b) => b !== undefined);
    out[name] = [...(first === undefined ? [] : [first]), ...rest];
  }
  return out;
}

/** Steps `a` and `b` through the same random changes; their outputs must be the same Z-sets. */
function continueAlike(
  rnd: () => number,
  a: JoinOperator,
  b: JoinOperator,
  L: ZSetMap,
  R: ZSetMap,
  what: string,
) {
  for (let s = 0; s < 60; s++) {
    const ins = [change(rnd, L), change(rnd, R)];
    assert.deepEqual(norm(b.step(ins)), norm(a.step(ins)), `seed ${seed}, ${what}, step ${s}`);
  }
  assert.equal(b.storedRows, a.storedRows, `seed ${seed}, ${what}: stored rows`);
}

for (const kind of ['inner', 'left', 'full'] as const) {
  test(`${kind} join: a checkpoint of the state before traces (v1 row batches of raw side rows) restores and continues alike`, async () => {
    await withTempDir(async (dir) => {
      const rnd = mulberry32(seed + kind.length);
      const orig = new JoinOperator(spec(kind));
      const L = new ZSetMap();
      const R = new ZSetMap();
      for (let s = 0; s < 80; s++) orig.step([change(rnd, L), change(rnd, R)]);
      // the full checkpoint as the old operator wrote it, then a delta (raw rows, as change logs still give)
      const store = new CheckpointStore(dir, { codecs: CODECS });
      const meta = { fingerprint: 'join-v1', inputs: {}, outputs: {} };
      await store.write({ steps: 80, operators: { [OP]: { left: oldStyle(L), right: oldStyle(R) } } }, meta);
      orig.trackChanges(true);
      for (let s = 0; s < 20; s++) orig.step([change(rnd, L), change(rnd, R)]);
      await store.write({ steps: 100, operators: { [OP]: orig.takeDelta() } }, meta, { delta: true });

      const read = await new CheckpointStore(dir, { codecs: CODECS }).readLatest();
      assert.ok(read !== null);
      const parts = partsOf(read);
      assert.ok(
        (parts.left ?? []).every((b) => !(b instanceof TraceBatch)),
        'an old-style state reads back as plain row batches',
      );
      const restored = new JoinOperator(spec(kind));
      restored.restore(parts);
      continueAlike(rnd, orig, restored, L, R, `${kind} from v1`);
    });
  });

  test(`${kind} join: the trace-backed state through the store (several batches per side) restores and continues alike; unchanged batches are not written again`, async () => {
    const oldHead = setTraceHeadMin(4);
    try {
      await withTempDir(async (dir) => {
        const rnd = mulberry32(seed * 3 + kind.length);
        const orig = new JoinOperator(spec(kind));
        const L = new ZSetMap();
        const R = new ZSetMap();
        for (let s = 0; s < 120; s++) orig.step([change(rnd, L), change(rnd, R)]);
        const store = new CheckpointStore(dir, { codecs: CODECS });
        const meta = { fingerprint: 'join-v2', inputs: {}, outputs: {} };
        const snap: StateBatches = orig.snapshot();
        await store.write({ steps: 120, operators: { [OP]: snap } }, meta);
        orig.trackChanges(true);
        for (let s = 0; s < 3; s++) orig.step([change(rnd, L), change(rnd, R)]);
        await store.write({ steps: 123, operators: { [OP]: orig.takeDelta() } }, meta, { delta: true });
        // a second full checkpoint: the large batches sealed before the first one are still there as they were
        const second = await store.write({ steps: 123, operators: { [OP]: orig.snapshot() } }, meta);
        assert.ok(second.filesReused > 0, 'unchanged batches keep their segment files');

        const read = await new CheckpointStore(dir, { codecs: CODECS }).readLatest();
        assert.ok(read !== null);
        const parts = partsOf(read);
        assert.ok((parts.left?.length ?? 0) > 1, 'several batches for the left side');
        assert.ok(
          [...(parts.left ?? []), ...(parts.right ?? [])].every((b) => b instanceof TraceBatch),
          'sealed batches read back as trace batches',
        );
        const restored = new JoinOperator(spec(kind));
        restored.restore(parts);
        continueAlike(rnd, orig, restored, L, R, `${kind} from v2`);
      });
    } finally {
      setTraceHeadMin(oldHead);
    }
  });
}
