/**
 * The fast paths of the trace encoding: long strings written by the native UTF-8 writer, a batch build that
 * sizes its writer from its first entries, a sort that compares tied entries after the bytes they share, and a
 * batch of other batches' entries taken as they are encoded (a join's retraction of the rows it discards).
 * Each must give exactly the bytes and order of the plain definitions (the on-disk formats depend on them).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteWriter, decodeKeyValue, encodeKeyValue, K_STR } from '../../../src/zset/key-codec.ts';
import {
  batchOfEntries,
  buildBatch,
  mergeBatches,
  type TraceBatch,
  traceLayout,
} from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
import { mulberry32 as rng } from '../operators/support.ts';

/** The string encoding by its definition: tag, UTF-8 with each 0x00 written 00 ff, then 00 01. */
function expected(s: string): Buffer {
  const out: number[] = [K_STR];
  for (const c of Buffer.from(s, 'utf8')) {
    out.push(c);
    if (c === 0) out.push(0xff);
  }
  out.push(0, 1);
  return Buffer.from(out);
}

function encoded(s: string): Buffer {
  const w = new ByteWriter(4);
  encodeKeyValue(w, s, null);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

const PIECES = ['a', 'Z', '0', '\0', 'é', '€', '😀', ' ', '\u007f', '\u0080', '\uffef', 'x'.repeat(20)];

function randomString(r: () => number): string {
  const n = Math.floor(r() * 40);
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}

describe('string encoding', () => {
  test('long and short strings, ASCII or not, with or without NUL, encode as defined and decode back', () => {
    const fixed = [
      '',
      'short',
      'exactly sixteen!',
      'a'.repeat(200),
      `${'a'.repeat(30)}\0${'b'.repeat(30)}`,
      `${'é'.repeat(40)}😀`,
      `${'x'.repeat(100)}\u0080`,
    ];
    const r = rng(7);
    const all = [...fixed, ...Array.from({ length: 2000 }, () => randomString(r))];
    for (const s of all) {
      const got = encoded(s);
      assert.deepEqual(got, expected(s), JSON.stringify(s));
      assert.equal(decodeKeyValue(got, { pos: 0 }, got.length, null), s);
    }
  });

  test('encodings of long strings sort as the strings by code point', () => {
    const r = rng(11);
    const xs = Array.from({ length: 300 }, () => `${'p'.repeat(16)}${randomString(r)}`);
    const byBytes = [...xs].sort((a, b) => Buffer.compare(encoded(a), encoded(b)));
    const byCodePoint = [...xs].sort((a, b) => {
      const ca = [...a].map((c) => c.codePointAt(0) as number);
      const cb = [...b].map((c) => c.codePointAt(0) as number);
      for (let i = 0; i < Math.min(ca.length, cb.length); i++)
        if (ca[i] !== cb[i]) return (ca[i] as number) - (cb[i] as number);
      return ca.length - cb.length;
    });
    assert.deepEqual(byBytes, byCodePoint);
  });
});

/** A batch's entries as (bytes hex, weight), for comparing with a reference. */
function entries(b: TraceBatch): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (let i = 0; i < b.length; i++)
    out.push([
      b.arena.subarray(b.offsets[i] as number, b.offsets[i + 1] as number).toString('hex'),
      b.wts[i] as number,
    ]);
  return out;
}

describe('batch build and merge', () => {
  const layout = traceLayout(3, [0]);
  const r = rng(3);
  /** Rows of very different widths (so that a writer sized from the first entries must still grow). */
  const rows = (n: number, wide: (i: number) => boolean): Row[] =>
    Array.from({ length: n }, (_, i) => [
      BigInt(Math.floor(r() * 50)),
      wide(i) ? 'w'.repeat(300 + Math.floor(r() * 300)) : randomString(r),
      Math.floor(r() * 4),
    ]);

  test('a build whose later rows are far wider than its first ones keeps every entry', () => {
    const rs = rows(500, (i) => i >= 8 && i % 3 === 0);
    const b = buildBatch(
      layout,
      rs,
      rs.map(() => 1),
    );
    const one = rs.map((row) => buildBatch(layout, [row], [1]));
    const want = new Map<string, number>();
    for (const x of one) for (const [k, w] of entries(x)) want.set(k, (want.get(k) ?? 0) + w);
    const got = entries(b);
    assert.deepEqual(
      got,
      [...want].filter(([, w]) => w !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  });

  test('rows of one key with long equal leading values are ordered by the bytes after them', () => {
    const wide = traceLayout(4, [0]);
    const shared = 'd'.repeat(120);
    for (const n of [3, 12, 40, 400]) {
      const rs: Row[] = Array.from({ length: n }, () => [
        5n,
        shared,
        Math.floor(r() * 3),
        r() < 0.5 ? randomString(r) : `${shared}${randomString(r)}`,
      ]);
      const ws = rs.map(() => (r() < 0.2 ? -1 : 1));
      const want = new Map<string, number>();
      rs.forEach((row, i) => {
        for (const [k, w] of entries(buildBatch(wide, [row], [ws[i] as number])))
          want.set(k, (want.get(k) ?? 0) + w);
      });
      assert.deepEqual(
        entries(buildBatch(wide, rs, ws)),
        [...want].filter(([, w]) => w !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        `${n} rows`,
      );
    }
  });

  test('a batch of entries of other batches equals the batch built from their rows (equal entries summed)', () => {
    const ra = rows(120, (i) => i % 4 === 0);
    const rb = [...rows(80, (i) => i % 9 === 0), ...ra.slice(0, 30)];
    const a = buildBatch(
      layout,
      ra,
      ra.map(() => 1),
    );
    const b = buildBatch(
      layout,
      rb,
      rb.map(() => 2),
    );
    const from: TraceBatch[] = [];
    const idx: number[] = [];
    const ws: number[] = [];
    for (const [x, step] of [
      [a, 2],
      [b, 3],
    ] as const)
      for (let e = 0; e < x.length; e += step) {
        from.push(x);
        idx.push(e);
        ws.push(-(x.wts[e] as number));
      }
    const want = new Map<string, number>();
    from.forEach((x, i) => {
      const e = idx[i] as number;
      const k = x.arena.subarray(x.offsets[e] as number, x.offsets[e + 1] as number).toString('hex');
      want.set(k, (want.get(k) ?? 0) + (ws[i] as number));
    });
    assert.deepEqual(
      entries(batchOfEntries(layout, from, idx, ws)),
      [...want].filter(([, w]) => w !== 0).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    );
    // retracting every entry of a merge of a and b leaves nothing once merged with it
    const m = mergeBatches(a, b);
    const all = Array.from({ length: m.length }, (_, e) => e);
    const gone = batchOfEntries(
      layout,
      all.map(() => m),
      all,
      all.map((e) => -(m.wts[e] as number)),
    );
    assert.equal(mergeBatches(m, gone).length, 0);
  });

  test('a merge equals the batch built from both inputs (interleaved, cancelling entries)', () => {
    for (let round = 0; round < 20; round++) {
      const ra = rows(200, (i) => i % 5 === 0);
      const rb = [...rows(150, (i) => i % 7 === 0), ...ra.slice(0, 60)];
      const wa = ra.map(() => 1);
      const wb = rb.map((_, i) => (i >= 150 ? (i % 2 === 0 ? -1 : 2) : 1));
      const a = buildBatch(layout, ra, wa);
      const b = buildBatch(layout, rb, wb);
      const both = buildBatch(layout, [...ra, ...rb], [...wa, ...wb]);
      assert.deepEqual(entries(mergeBatches(a, b)), entries(both));
      assert.deepEqual(entries(mergeBatches(b, a)), entries(both));
    }
  });
});
