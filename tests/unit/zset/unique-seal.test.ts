/**
 * A primary-key table's seal (`uniqueHeadBatchSteps`): the head's slots encoded straight into one buffer, a
 * replaced key's two entries put in byte order as they are encoded, and the sort skipped when the keys come in
 * order. Its batch must be byte for byte the one the plain build (`buildBatch` of the slots' entries, old with -1
 * then the new row with +1, in the same order) makes: checkpoints, goldens and exactly-once output bytes depend
 * on it. Random rounds cover keys in and out of order, inserts, updates (a new row that sorts before or after
 * the old one, or is the old one: weight 0), deletes, DECIMAL values, strings and NULLs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { drain } from '../../../src/zset/sliced.ts';
import {
  buildBatch,
  mergeBatches,
  setTraceHeadMin,
  Trace,
  type TraceBatch,
  traceLayout,
  uniqueHeadBatchSteps,
} from '../../../src/zset/trace.ts';
import type { Row, Value } from '../../../src/zset/value.ts';
import { mulberry32 } from '../operators/support.ts';

const int = (r: () => number, n: number): number => Math.floor(r() * n);

function value(r: () => number): Value {
  switch (int(r, 7)) {
    case 0:
      return null;
    case 1:
      // one form per value (-4.10 and -4.1 share an object table entry, which keeps the first seen)
      return Decimal.parse(`${int(r, 20) - 10}.${1 + int(r, 9)}`);
    case 2:
      return ['', 'a', 'ab', 'b', 'é', 'a\0b'][int(r, 6)] as string;
    case 3:
      return int(r, 2) === 0 ? 0 : -0;
    default:
      return int(r, 5) - 2;
  }
}

type Slot = Row | { readonly old: Row; cur: Row | null };

/** The plain build of a head's slots, as the seal made it before: every entry as a row, then buildBatch. */
function plainBuild(layout: ReturnType<typeof traceLayout>, slots: readonly Slot[]): TraceBatch {
  const rows: Row[] = [];
  const ws: number[] = [];
  for (const s of slots) {
    if (Array.isArray(s)) {
      rows.push(s as Row);
      ws.push(1);
      continue;
    }
    const x = s as { old: Row; cur: Row | null };
    rows.push(x.old);
    ws.push(-1);
    if (x.cur !== null) {
      rows.push(x.cur);
      ws.push(1);
    }
  }
  return buildBatch(layout, rows, ws);
}

function assertSameBatch(a: TraceBatch, b: TraceBatch, what: string, objects = true): void {
  assert.equal(a.length, b.length, `${what}: entries`);
  assert.ok(a.arena.equals(b.arena), `${what}: arena bytes`);
  assert.deepEqual(Array.from(a.offsets), Array.from(b.offsets), `${what}: offsets`);
  assert.deepEqual(Array.from(a.splits), Array.from(b.splits), `${what}: splits`);
  assert.deepEqual(Array.from(a.wts), Array.from(b.wts), `${what}: weights`);
  if (objects)
    assert.deepEqual([...(a.objects?.keys() ?? [])], [...(b.objects?.keys() ?? [])], `${what}: object table`);
}

describe('unique head seal', () => {
  test('equals the plain build over random heads (keys in and out of order, updates, deletes, put-backs)', () => {
    let swapped = 0;
    let cancelled = 0;
    for (let round = 0; round < 300; round++) {
      const r = mulberry32(round + 1);
      const arity = 2 + int(r, 3);
      // numeric one-column keys (the seal walks them in key order), or a string key (Map order: the build sorts)
      const numeric = round % 3 !== 2;
      const layout = traceLayout(arity, [0]);
      const head = new Map<unknown, Slot>();
      const n = int(r, 60);
      const order = int(r, 3); // 0: ascending inserts, 1: descending, 2: random
      for (let i = 0; i < n; i++) {
        const id = order === 0 ? i * 3 : order === 1 ? 1000 - i * 3 : int(r, 400) - 200;
        const key: Value = numeric ? id : `k${id}`;
        if (head.has(key)) continue;
        const row = (): Row => [key, ...Array.from({ length: arity - 1 }, () => value(r))];
        const old = row();
        let slot: Slot;
        switch (int(r, 5)) {
          case 0:
            slot = old;
            break;
          case 1:
            slot = { old, cur: null };
            break;
          case 2: {
            // put back as it was (the same values, a new array): weight 0
            slot = { old, cur: [...old] };
            cancelled++;
            break;
          }
          default: {
            const cur = [...old];
            cur[1 + int(r, arity - 1)] = value(r);
            slot = { old, cur };
          }
        }
        head.set(key, slot);
      }
      const mapOrder = [...head.values()];
      assertSameBatch(
        drain(uniqueHeadBatchSteps(layout, head, null)),
        plainBuild(layout, mapOrder),
        `round ${round} (Map order)`,
      );
      // the entry arrays are sized by the replaced slots announced (a trace counts them); announced too few
      // (none, half), they grow once and the batch is the same
      const replacedSlots = mapOrder.filter((s) => !Array.isArray(s)).length;
      for (const announced of [0, replacedSlots >> 1, replacedSlots])
        assertSameBatch(
          drain(uniqueHeadBatchSteps(layout, head, null, announced)),
          plainBuild(layout, mapOrder),
          `round ${round} (Map order, ${announced} of ${replacedSlots} replaced slots announced)`,
        );
      if (numeric) {
        const keys = Float64Array.from(head.keys() as Iterable<number>).sort();
        const sorted = Array.from(keys, (k) => head.get(k) as Slot);
        const fast = drain(uniqueHeadBatchSteps(layout, head, keys));
        assertSameBatch(fast, plainBuild(layout, sorted), `round ${round} (key order)`);
        for (const s of sorted) {
          if (Array.isArray(s)) continue;
          const x = s as { old: Row; cur: Row | null };
          if (x.cur?.some((v, c) => v !== x.old[c]) === true) swapped++;
        }
      }
    }
    // the rounds did exercise both orders of a replaced key's two entries and rows put back as they were
    assert.ok(swapped > 100, `replacements: ${swapped}`);
    assert.ok(cancelled > 100, `put-backs: ${cancelled}`);
  });

  test("a primary-key trace's sealed batches hold the same entries as a plain build of its contents", () => {
    const old = setTraceHeadMin(8);
    try {
      for (let round = 0; round < 40; round++) {
        const r = mulberry32(1000 + round);
        const t = new Trace(traceLayout(3, [0]), { unique: true, typedKeys: true });
        const model = new Map<number, Row>();
        for (let step = 0; step < 30; step++) {
          for (let c = 0; c < 20; c++) {
            const id = round % 2 === 0 ? step * 20 + c - int(r, 30) : int(r, 200);
            const probe: Row = [id, null, null];
            const k = t.keyOf(probe);
            const cur = t.current(k, probe);
            assert.deepEqual(cur, model.get(id), `round ${round}: current row of ${id}`);
            if (int(r, 4) === 0) {
              t.put(k, cur, undefined);
              model.delete(id);
            } else {
              const row: Row = [id, value(r), value(r)];
              t.put(k, cur, row);
              model.set(id, row);
            }
          }
          t.maybeSeal();
        }
        const want = [...model.values()].sort((a, b) => (a[0] as number) - (b[0] as number));
        const all = t.toBatch();
        assert.deepEqual(all.rows, want, `round ${round}: contents`);
        // the sealed batches' sum, merged, is the plain build of the contents byte for byte (a merge keeps
        // object values no longer referenced: the object tables are left out)
        const merged = (t.sealedBatches() as TraceBatch[]).reduce((a, b) => mergeBatches(a, b));
        assertSameBatch(
          merged,
          buildBatch(
            t.layout,
            want,
            want.map(() => 1),
          ),
          `round ${round}`,
          false,
        );
      }
    } finally {
      setTraceHeadMin(old);
    }
  });
});
