import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { consolidate } from '../../../src/zset/batch.ts';
import {
  ByteWriter,
  compareBytes,
  decodeKeyValue,
  encodeKeyValue,
  type KeyReader,
} from '../../../src/zset/key-codec.ts';
import { drain } from '../../../src/zset/sliced.ts';
import {
  buildBatch,
  buildKeyedBatchSteps,
  mergeBatches,
  Trace,
  type TraceBatch,
  TraceParts,
  traceBatchesOf,
  traceLayout,
} from '../../../src/zset/trace.ts';
import type { ObjectValue, Row, Value } from '../../../src/zset/value.ts';
import { ZSetMap } from '../../../src/zset/zset-map.ts';
import { runSeed } from '../../kit/seed.ts';
import { mulberry32, norm, randInt } from '../operators/support.ts';

function enc(v: Value, exact = false): Buffer {
  const w = new ByteWriter(8);
  encodeKeyValue(w, v, null, exact);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function roundTrip(v: Value, exact = true): Value {
  const objects = new Map<string, ObjectValue>();
  const w = new ByteWriter(8);
  encodeKeyValue(w, v, objects, exact);
  const r: KeyReader = { pos: 0 };
  const out = decodeKeyValue(w.buf, r, w.pos, objects);
  assert.equal(r.pos, w.pos);
  return out;
}

describe('key codec', () => {
  test('round-trips every value kind exactly (value mode)', () => {
    const values: Value[] = [
      null,
      true,
      false,
      0,
      -0,
      1,
      -1,
      0.5,
      -1e300,
      2 ** 53,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      0n,
      -1n,
      2n ** 63n - 1n,
      -(2n ** 63n),
      2n ** 63n,
      -(2n ** 63n) - 1n,
      2n ** 200n,
      -(2n ** 200n),
      '',
      'abc',
      'a\0b',
      '\0',
      'zoë 日本 🦀',
      '\ud800 lone',
      'x'.repeat(300),
    ];
    for (const v of values) {
      const back = roundTrip(v);
      if (typeof v === 'number' && Number.isNaN(v)) assert.ok(Number.isNaN(back));
      else assert.ok(Object.is(back, v), `${String(v)} came back as ${String(back)}`);
    }
    const d = roundTrip(Decimal.parse('1.50')) as Decimal;
    assert.equal(d.hashKey(), Decimal.parse('1.5').hashKey());
    assert.ok(Object.is(roundTrip(-0, false), 0), 'key mode: -0 is 0');
  });

  test('byte order is value order (numbers, bigints, strings)', () => {
    const rnd = mulberry32(7);
    const nums: number[] = [-0, 0, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -1e-300, 1e-300];
    for (let i = 0; i < 300; i++) nums.push((rnd() - 0.5) * 10 ** randInt(rnd, -5, 20));
    const bigs: bigint[] = [2n ** 63n, -(2n ** 63n) - 1n, 2n ** 100n, -(2n ** 100n), 2n ** 64n, -(2n ** 64n)];
    for (let i = 0; i < 200; i++)
      bigs.push(BigInt(Math.floor((rnd() - 0.5) * 2 ** 53)) * BigInt(randInt(rnd, 1, 9999)));
    const strs: string[] = ['', '\0', 'a', 'a\0', 'a\0b', 'ab', 'b', 'é', '日本', '\u007f', 'zz'];
    const check = <T>(xs: T[], cmp: (a: T, b: T) => number, exact: boolean) => {
      for (const a of xs)
        for (const b of xs) {
          const ea = enc(a as Value, exact);
          const eb = enc(b as Value, exact);
          const c = Math.sign(compareBytes(ea, 0, ea.length, eb, 0, eb.length));
          assert.equal(c, Math.sign(cmp(a, b)), `${String(a)} vs ${String(b)}`);
        }
    };
    check(nums, (a, b) => (a < b ? -1 : a > b ? 1 : Object.is(a, b) ? 0 : Object.is(a, -0) ? -1 : 1), true);
    check(bigs, (a, b) => (a < b ? -1 : a > b ? 1 : 0), false);
    const utf8 = (s: string) => Buffer.from(s, 'utf8');
    check(strs, (a, b) => Buffer.compare(utf8(a), utf8(b)), false);
    // null first, then booleans, then numbers
    assert.ok(Buffer.compare(enc(null), enc(false)) < 0 && Buffer.compare(enc(true), enc(-1e308)) < 0);
  });
});

/** A trace checked against a ZSetMap model under random adds, seals and lookups. */
describe('trace', () => {
  test('random adds: lookups, scans and the sealed batches agree with a model', () => {
    const seed = runSeed('trace model', 'TRACE_SEED', 100000);
    console.log(`trace model test seed=${seed} (TRACE_SEED to replay)`);
    const rnd = mulberry32(seed);
    for (const keyCols of [[0], [1, 0], [0, 1, 2]]) {
      const t = new Trace(traceLayout(3, keyCols), { headMin: randInt(rnd, 1, 40) });
      const model = new ZSetMap();
      const val = (): Value => {
        const k = randInt(rnd, 0, 6);
        return k === 0
          ? null
          : k === 1
            ? Decimal.parse(`${randInt(rnd, 0, 3)}.5`)
            : k === 2
              ? `s${randInt(rnd, 0, 3)}`
              : randInt(rnd, -3, 3);
      };
      for (let s = 0; s < 400; s++) {
        const row: Row = [randInt(rnd, 0, 12), val(), val()];
        const w = randInt(rnd, -2, 2) || 1;
        t.add(row, w);
        model.add(row, w);
        if (rnd() < 0.1) t.maybeSeal();
        if (rnd() < 0.02) t.seal();
        const probe: Row = [randInt(rnd, 0, 12), val(), val()];
        const rows: Row[] = [];
        const ws: number[] = [];
        t.lookup(probe, rows, ws);
        const expect: Array<[Row, number]> = [];
        for (const e of model.entries())
          if (keyCols.every((c) => sameKeyValue(e.row[c] as Value, probe[c] as Value)))
            expect.push([e.row, e.weight]);
        assert.deepEqual(
          norm({ rows, weights: ws }),
          norm({ rows: expect.map((x) => x[0]), weights: expect.map((x) => x[1]) }),
          `lookup at ${s}`,
        );
      }
      assert.deepEqual(norm(t.toBatch()), norm(model.toBatch()));
      // scan order is key order, and a prefix scan sees exactly the rows with that prefix
      const all: Row[] = [];
      t.scan([], (r) => all.push(r));
      const keys = all.map((r) => Buffer.concat(keyCols.map((c) => enc(r[c] as Value))));
      for (let i = 1; i < keys.length; i++)
        assert.ok(Buffer.compare(keys[i - 1] as Buffer, keys[i] as Buffer) <= 0);
      const first = keyCols[0] as number;
      const some: Row[] = [];
      t.scan([5], (r) => some.push(r));
      assert.deepEqual(
        some.map((r) => JSON.stringify(r.map(String))).sort(),
        all
          .filter((r) => sameKeyValue(r[first] as Value, 5))
          .map((r) => JSON.stringify(r.map(String)))
          .sort(),
      );
      // the sealed batches sum to the state and each is sorted and consolidated
      const parts = new TraceParts(t.sealedBatches());
      assert.deepEqual(
        norm(consolidate({ rows: parts.rows, weights: parts.weights })),
        norm(model.toBatch()),
      );
      for (const b of (traceBatchesOf(parts) ?? []) as TraceBatch[]) {
        for (let i = 1; i < b.length; i++)
          assert.ok(
            compareBytes(
              b.arena,
              b.offsets[i - 1] as number,
              b.offsets[i] as number,
              b.arena,
              b.offsets[i] as number,
              b.offsets[i + 1] as number,
            ) < 0,
          );
        for (const w of b.wts) assert.notEqual(w, 0);
      }
    }
  });

  test('batches: build consolidates, merge sums and cancels; value columns keep -0', () => {
    const L = traceLayout(2, [0]);
    const a = buildBatch(
      L,
      [
        [1, 'a'],
        [2, 'b'],
        [1, 'a'],
        [3, -0],
      ],
      [1, 1, 1, 2],
    );
    assert.equal(a.length, 3);
    const b = buildBatch(
      L,
      [
        [1, 'a'],
        [4, 'd'],
      ],
      [-2, 1],
    );
    const m = mergeBatches(a, b);
    assert.deepEqual(
      norm(m),
      norm({
        rows: [
          [2, 'b'],
          [3, -0],
          [4, 'd'],
        ],
        weights: [1, 2, 1],
      }),
    );
    assert.ok(Object.is(m.row(1)[1], -0));
    // a row's copies in head and batches sum
    const t = new Trace(L, { headMin: 1 });
    t.add([7, 'x'], 1);
    t.seal();
    t.add([7, 'x'], -1);
    t.add([7, 'y'], 1);
    const rows: Row[] = [];
    const ws: number[] = [];
    t.lookup([7, null], rows, ws);
    assert.deepEqual(rows, [[7, 'y']]);
    assert.deepEqual(ws, [1]);
  });

  test('ascending keys: disjoint batches merge by concatenation; shared key prefixes sort by the later bytes', () => {
    const L = traceLayout(2, [0]);
    const seed = runSeed('trace ascending keys', 'TRACE_SEED', 1e6);
    console.log(`trace ascending-keys test seed=${seed} (TRACE_SEED to replay)`);
    let x = seed;
    const rnd = (): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    const decoded = (b: { rows: Row[]; weights: number[] }) =>
      b.rows.map((r, i) => `${String(r[0])}|${String(r[1])}|${b.weights[i]}`);
    for (const mk of [
      (i: number): Value => BigInt(i),
      (i: number): Value => i,
      (i: number): Value => `k${1e6 + i}`,
    ]) {
      // two ranges, shuffled inside each (bigint ids share their first bytes: the sort must look further)
      const ids = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, i) => from + i).sort(() => rnd() - 0.5);
      const lowRows = ids(0, 700).map((i): Row => [mk(i), i % 3]);
      const highRows = ids(700, 1300).map((i): Row => [mk(i), i % 5]);
      const lo = buildBatch(
        L,
        lowRows,
        lowRows.map(() => 1),
      );
      const hi = buildBatch(
        L,
        highRows,
        highRows.map(() => 2),
      );
      const want = [...lowRows.map((r) => [r, 1] as const), ...highRows.map((r) => [r, 2] as const)];
      for (const m of [mergeBatches(lo, hi), mergeBatches(hi, lo)]) {
        assert.equal(m.length, 1300);
        for (let i = 1; i < m.length; i++)
          assert.ok(
            compareBytes(
              m.arena,
              m.offsets[i - 1] as number,
              m.offsets[i] as number,
              m.arena,
              m.offsets[i] as number,
              m.offsets[i + 1] as number,
            ) < 0,
            'entries sorted',
          );
        assert.deepEqual(
          decoded(m).sort(),
          want.map(([r, w]) => `${String(r[0])}|${String(r[1])}|${w}`).sort(),
        );
        // lookups through the merged batch's index
        const t = new Trace(L, { headMin: 1 });
        t.adopt(m);
        const out: Row[] = [];
        const ow: number[] = [];
        t.lookup([mk(699), 0], out, ow);
        assert.deepEqual(out, [[mk(699), 699 % 3]]);
        t.lookup([mk(1299), 0], out, ow);
        assert.deepEqual([out, ow], [[[mk(1299), 1299 % 5]], [2]]);
        t.lookup([mk(5000), 0], out, ow);
        assert.deepEqual(out, []);
      }
    }
  });

  test('unique traces: current/put agree with a Map model across seals, merges and lookups by binary search', () => {
    const seed = runSeed('unique trace model', 'TRACE_SEED', 100000);
    console.log(`unique trace model test seed=${seed} (TRACE_SEED to replay)`);
    const rnd = mulberry32(seed);
    // numeric keys (sealed in numeric order, incl. -0, NaN and infinities), bigint and string keys (generic
    // sealing), and a two-column key
    const numKeys: Value[] = [-0, 0, 1, -1, 2.5, -2.5, Number.NaN, Infinity, -Infinity, 7, 1e300, -1e-300];
    let ascending = 0;
    const kinds: Array<{ keyCols: number[]; key: () => Value }> = [
      { keyCols: [0], key: () => numKeys[randInt(rnd, 0, numKeys.length - 1)] as Value },
      { keyCols: [0], key: () => BigInt(randInt(rnd, -20, 20)) },
      { keyCols: [0], key: () => `k${randInt(rnd, 0, 20)}` },
      { keyCols: [0], key: () => Decimal.parse(`${randInt(rnd, -9, 9)}.5`) },
      // numbers and bigints in one key column: the codec orders every number before every bigint
      { keyCols: [0], key: () => (rnd() < 0.5 ? randInt(rnd, -9, 9) : BigInt(randInt(rnd, -9, 9))) },
      // numbers and object values in one key column (older checkpoints): the numeric range check steps aside
      {
        keyCols: [0],
        key: () => (rnd() < 0.5 ? randInt(rnd, -9, 9) : Decimal.parse(`${randInt(rnd, -9, 9)}.5`)),
      },
      { keyCols: [1, 0], key: () => randInt(rnd, 0, 20) },
      // new keys mostly ascending (ids), some older ones touched again: heads first touched in key order
      { keyCols: [0], key: () => (rnd() < 0.85 ? ascending++ : randInt(rnd, -2, ascending)) },
    ];
    const norm0 = (v: Value): string =>
      typeof v === 'number' && Object.is(v, -0) ? '0' : typeof v === 'bigint' ? `${v}n` : String(v);
    for (const { keyCols, key } of kinds) {
      const t = new Trace(traceLayout(3, keyCols), { unique: true, headMin: randInt(rnd, 1, 30) });
      const model = new Map<string, Row>();
      const mk = (r: Row): string => keyCols.map((c) => norm0(r[c] as Value)).join('|');
      for (let s = 0; s < 600; s++) {
        const row: Row = [key(), randInt(rnd, 0, 3), rnd() < 0.2 ? -0 : randInt(rnd, -3, 3)];
        const k = t.keyOf(row);
        const cur = t.current(k, row);
        // lookups readied (a warm standby's prepare) at random points, even between current and put: read only
        if (rnd() < 0.05) t.prepareLookups(randInt(rnd, 1, 40));
        const want = model.get(mk(row));
        assert.equal(
          cur === undefined ? 'none' : JSON.stringify(cur.map(String)),
          want === undefined ? 'none' : JSON.stringify(want.map(String)),
          `current at ${s}`,
        );
        if (rnd() < 0.25) {
          t.put(k, cur, undefined);
          model.delete(mk(row));
        } else {
          t.put(k, cur, row);
          // key columns come back by identity (a -0 key as 0), value columns exactly
          model.set(
            mk(row),
            row.map((v, c) => (keyCols.includes(c) && Object.is(v, -0) ? 0 : v)),
          );
        }
        if (rnd() < 0.1) t.maybeSeal();
        if (rnd() < 0.02) t.seal();
      }
      const expect = { rows: [...model.values()], weights: [...model.values()].map(() => 1) };
      assert.deepEqual(norm(t.toBatch()), norm(expect));
      const parts = new TraceParts(t.sealedBatches());
      assert.deepEqual(norm(consolidate({ rows: parts.rows, weights: parts.weights })), norm(expect));
      for (const b of parts.parts as TraceBatch[])
        for (let i = 1; i < b.length; i++)
          assert.ok(
            compareBytes(
              b.arena,
              b.offsets[i - 1] as number,
              b.offsets[i] as number,
              b.arena,
              b.offsets[i] as number,
              b.offsets[i + 1] as number,
            ) < 0,
            'sealed batches are sorted',
          );
      assert.throws(() => t.add([1, 1, 1], 1), /unique/);
    }
  });

  test('large batches: lookups through the fence keys find every key and miss absent ones (before, between, after)', () => {
    const seed = runSeed('trace fence search', 'TRACE_SEED', 100000);
    console.log(`fence search test seed=${seed} (TRACE_SEED to replay)`);
    const rnd = mulberry32(seed);
    for (const kind of ['int', 'string'] as const) {
      // 20,000+ entries: above the fence threshold; fewer lookups than a sixteenth of the batch, so every
      // lookup goes through the binary search (the hash index is never built)
      const rows: Row[] = [];
      const ws: number[] = [];
      const present = new Map<string, number>();
      const keyOf = (i: number): Value => (kind === 'int' ? i * 3 : `key-${String(i * 3).padStart(7, '0')}`);
      for (let i = 0; i < 9000; i++) {
        if (rnd() < 0.1) continue;
        const copies = randInt(rnd, 1, 4); // several entries per key (different values)
        present.set(String(keyOf(i)), copies);
        for (let c = 0; c < copies; c++) {
          rows.push([keyOf(i), c]);
          ws.push(1);
        }
      }
      const t = new Trace(traceLayout(2, [0]));
      t.adopt(buildBatch(t.layout, rows, ws));
      const outRows: Row[] = [];
      const outWs: number[] = [];
      for (let q = 0; q < 1000; q++) {
        const i = randInt(rnd, -5, 9005);
        const probe: Value = kind === 'int' ? i * 3 + (rnd() < 0.3 ? 1 : 0) : String(keyOf(i));
        t.lookup([probe, 0], outRows, outWs);
        const want = present.get(String(probe)) ?? 0;
        assert.equal(outRows.length, want, `seed ${seed}: ${kind} key ${String(probe)}`);
        for (const r of outRows) assert.equal(String(r[0]), String(probe));
      }
    }
  });

  test('prepareLookups: a bounded number of read-only lookups over every sealed batch', () => {
    const L = traceLayout(2, [0]);
    const big = buildBatch(
      L,
      Array.from({ length: 20_000 }, (_, i): Row => [i * 2, i]),
      new Array(20_000).fill(1),
    );
    const small = buildBatch(L, [[7, 1]], [1]);
    for (const unique of [false, true]) {
      const t = new Trace(L, { unique });
      assert.equal(t.prepareLookups(), 0, 'nothing sealed: nothing to prepare');
      t.adopt(big);
      t.adopt(small);
      const before = norm(t.toBatch());
      // the samples are spread over the batches in proportion, each batch gets at least a few
      assert.equal(t.prepareLookups(1000), 1000 + 1);
      assert.equal(t.prepareLookups(100_000), 20_000 + 1, 'at most one lookup per entry');
      assert.deepEqual(norm(t.toBatch()), before);
      assert.deepEqual(t.batches, [big, small]);
      if (unique) {
        assert.deepEqual(t.current(t.keyOf([7, 0]), [7, 0]), [7, 1]);
        assert.deepEqual(t.current(t.keyOf([40, 0]), [40, 0]), [40, 20]);
        assert.equal(t.current(t.keyOf([41, 0]), [41, 0]), undefined);
      } else {
        const rows: Row[] = [];
        const ws: number[] = [];
        t.lookup([40, 0], rows, ws);
        assert.deepEqual(rows, [[40, 20]]);
      }
    }
    const scanOnly = new Trace(L, { indexed: false });
    scanOnly.adopt(big);
    assert.equal(scanOnly.prepareLookups(), 0, 'a trace without an index has no lookups to prepare');
  });

  test('adopted batches are used as they are (no merge on restore)', () => {
    const L = traceLayout(2, [0]);
    const t = new Trace(L);
    const big = buildBatch(
      L,
      Array.from({ length: 100 }, (_, i): Row => [i, i]),
      new Array(100).fill(1),
    );
    const small = buildBatch(
      L,
      [
        [1000, 1],
        [5, 5],
      ],
      [1, -1],
    );
    t.adopt(small);
    t.adopt(big);
    assert.deepEqual(t.batches, [big, small]);
    assert.equal(t.toBatch().rows.length, 100);
  });

  test('seals keep the spine shape (each batch more than twice the next), so retracted rows cancel', () => {
    const seed = runSeed('trace spine', 'TRACE_SEED', 100000);
    console.log(`trace spine test seed=${seed} (TRACE_SEED to replay)`);
    const rnd = mulberry32(seed);
    const t = new Trace(traceLayout(2, [0]), { indexed: false });
    const live: Row[] = [];
    let next = 0;
    let most = 0;
    for (let s = 0; s < 300; s++) {
      // a sliding window of live rows: each seal adds a few and retracts the oldest (sizes vary per seal)
      for (let i = randInt(rnd, 1, 12); i > 0; i--) {
        const r: Row = [next, next++];
        live.push(r);
        t.add(r, 1);
      }
      while (live.length > 40) t.add(live.shift() as Row, -1);
      t.seal();
      const sizes = t.batches.map((b) => b.length);
      for (let i = 1; i < sizes.length; i++)
        assert.ok((sizes[i - 1] as number) > 2 * (sizes[i] as number), `seed ${seed} seal ${s}: ${sizes}`);
      most = Math.max(most, t.entryCount);
    }
    assert.equal(t.toBatch().rows.length, live.length);
    assert.ok(most < 200, `seed ${seed}: ${most} entries held for 40 live rows`);
  });
});

function sameKeyValue(a: Value, b: Value): boolean {
  const ea = enc(a);
  const eb = enc(b);
  return ea.equals(eb);
}

describe('trace: scanFrom, scanSealed, weightAt, addAt (operators on whole-row and prefix-keyed traces)', () => {
  test('scanFrom starts at a key prefix (after NULLs with [false]), in key order, and stops when told', () => {
    const t = new Trace(traceLayout(2, [0, 1]), { headMin: 2 });
    const rows: Row[] = [
      [5, 'a'],
      [null, 'n'],
      [1, 'b'],
      [3, 'c'],
      [9, 'd'],
      [3, 'e'],
    ];
    rows.forEach((r, i) => {
      t.add(r, 1);
      if (i % 2 === 1) t.seal();
    });
    t.add([7, 'f'], 2); // in the head
    const seen: Array<[Value, number]> = [];
    t.scanFrom([false], (r, w) => {
      if ((r[0] as number) >= 6) return false;
      seen.push([r[0] as Value, w]);
      return undefined;
    });
    assert.deepEqual(seen, [
      [1, 1],
      [3, 1],
      [3, 1],
      [5, 1],
    ]);
    const all: Value[] = [];
    t.scanFrom([4], (r) => {
      all.push(r[0] as Value);
      return undefined;
    });
    assert.deepEqual(all, [5, 7, 9]);
    // scan ignores what its callback returns
    let n = 0;
    t.scan([], () => {
      n++;
      return false;
    });
    assert.equal(n, 7);
  });

  test('scanSealed reads the batches only (the head is neither sealed nor read); lookupHead has the rest', () => {
    const t = new Trace(traceLayout(2, [0]), { headMin: 1000 });
    t.add(['k', 1], 1);
    t.add(['j', 2], 1);
    t.seal();
    t.add(['k', 3], 1);
    t.add(['k', 1], -1);
    const sealed: Row[] = [];
    t.scanSealed(['k'], (r) => {
      sealed.push(r);
    });
    assert.deepEqual(sealed, [['k', 1]]);
    assert.equal(t.headSize, 2, 'the head is still there');
    const hr: Row[] = [];
    const hw: number[] = [];
    assert.ok(t.lookupHead(['k'], hr, hw));
    assert.deepEqual(consolidate({ rows: [...sealed, ...hr], weights: [1, ...hw] }).rows, [['k', 3]]);
  });

  test('weightAt sums a key over the head and the batches without decoding; addAt is add with the key given', () => {
    const t = new Trace(traceLayout(2, [0, 1]), { headMin: 1000 });
    const r: Row = [1, Decimal.parse('2.5')];
    const k = t.keyOf(r);
    t.addAt(k, r, 2);
    t.seal();
    t.addAt(t.keyOf([1, Decimal.parse('2.50')]), [1, Decimal.parse('2.50')], 3);
    t.seal();
    t.add(r, -1);
    assert.equal(t.weightAt(k, r), 4);
    assert.equal(t.weightAt(t.keyOf([1, 2]), [1, 2]), 0);
    assert.throws(() => new Trace(traceLayout(1, [0]), { indexed: false }).addAt(1, [1], 1));
  });
});

describe('trace: keyed builds of entries grouped by ascending key (the join seal)', () => {
  const bytesOf = (b: TraceBatch) => ({
    arena: Buffer.from(b.arena).toString('hex'),
    offsets: Array.from(b.offsets),
    splits: Array.from(b.splits),
    weights: Array.from(b.wts),
  });
  const build = (keys: Value[], rows: Row[], ws: number[], ascending: boolean) =>
    bytesOf(drain(buildKeyedBatchSteps(traceLayout(4, [0]), keys, rows, ws, ascending)));

  test('sorting only within each key gives the bytes of a full sort, or falls back to it', () => {
    const seed = runSeed('keyed grouped build', 'TRACE_SEED', 100000);
    console.log(`keyed grouped build seed=${seed} (TRACE_SEED to replay)`);
    const rnd = mulberry32(seed);
    const val = (): Value => {
      const k = randInt(rnd, 0, 5);
      return k === 0 ? null : k === 1 ? `s${randInt(rnd, 0, 3)}` : k === 2 ? -0 : randInt(rnd, -4, 4);
    };
    for (let round = 0; round < 60; round++) {
      const keys: Value[] = [];
      const rows: Row[] = [];
      const ws: number[] = [];
      // keys ascending (negative, zero, fractions), each key's rows in random order: repeats of one row
      // (cancelling or not), zero weights, runs long enough for the insertion to shift
      const nKeys = randInt(rnd, 0, round < 50 ? 30 : 3);
      let k = randInt(rnd, -50, 0) / 2;
      for (let i = 0; i < nKeys; i++) {
        k += randInt(rnd, 1, 5) / 2;
        const run = randInt(rnd, 1, round % 10 === 0 ? 300 : 12);
        const own: Row[] = [];
        for (let j = 0; j < run; j++) {
          const row: Row =
            own.length > 0 && rnd() < 0.3
              ? (own[randInt(rnd, 0, own.length - 1)] as Row)
              : [val(), val(), val()];
          own.push(row);
          keys.push(k);
          rows.push(row);
          ws.push(randInt(rnd, -2, 2));
        }
      }
      const full = build(keys, rows, ws, false);
      assert.deepEqual(build(keys, rows, ws, true), full, `round ${round}`);
      // keys out of order: the grouped build notices and sorts fully
      if (keys.length > 1) {
        const rk = [...keys].reverse();
        const rr = [...rows].reverse();
        const rw = [...ws].reverse();
        assert.deepEqual(build(rk, rr, rw, true), build(rk, rr, rw, false), `reversed, round ${round}`);
      }
    }
  });

  test('long runs of one key: ascending (insertion at the end), or in no order (left to the full sort)', () => {
    const keys: Value[] = [];
    const rows: Row[] = [];
    const ws: number[] = [];
    for (let i = 0; i < 5000; i++) {
      keys.push(i < 2500 ? 1 : 2);
      rows.push([i < 2500 ? i : (i * 7919) % 5000, 'v', null]);
      ws.push(i % 5 === 0 ? -1 : 1);
    }
    assert.deepEqual(build(keys, rows, ws, true), build(keys, rows, ws, false));
  });

  test('a head larger than a build slice (pauses inside a key run)', () => {
    const keys: Value[] = [];
    const rows: Row[] = [];
    const ws: number[] = [];
    for (let i = 0; i < 40_000; i++) {
      keys.push(Math.floor(i / 7000));
      rows.push([(i * 7919) % 40_000, i % 3, 'x']);
      ws.push(1);
    }
    assert.deepEqual(build(keys, rows, ws, true), build(keys, rows, ws, false));
  });
});
