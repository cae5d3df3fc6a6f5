/**
 * A batch build allocates about one arena's worth of buffers (issue 16: a full checkpoint's builds allocated
 * 2-3 times the bytes they kept — a writer sized at a guessed 32 bytes an entry, doubled past the first larger
 * estimate, then the arena copied out of it — and V8 starts a full marking of the heap for every 64 MiB or so
 * of such external memory). The builder sizes its writer from its first entries and, when the estimate holds,
 * keeps the writer's buffer as the arena: the buffers a build allocates stay within 1/4 over the arena's size.
 * The batches are checked against the plain build of the same rows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drain } from '../../../src/zset/sliced.ts';
import {
  buildBatch,
  KeyedBatchBuilder,
  Trace,
  type TraceBatch,
  type TraceLayout,
  traceLayout,
} from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';

/** Bytes of the Buffers allocated with `Buffer.allocUnsafe` (the writers' and the arena's) while `fn` runs. */
function allocated<T>(fn: () => T): { value: T; bytes: number } {
  const original = Buffer.allocUnsafe;
  let bytes = 0;
  Buffer.allocUnsafe = ((size: number) => {
    bytes += size;
    return original.call(Buffer, size);
  }) as typeof Buffer.allocUnsafe;
  try {
    return { value: fn(), bytes };
  } finally {
    Buffer.allocUnsafe = original;
  }
}

function sameBatch(a: TraceBatch, b: TraceBatch): void {
  assert.equal(a.length, b.length);
  assert.ok(a.arena.equals(b.arena), 'arenas differ');
  assert.deepEqual([...a.offsets], [...b.offsets]);
  assert.deepEqual([...a.splits], [...b.splits]);
  assert.deepEqual([...a.wts], [...b.wts]);
}

/** It allocated within 1/4 over its arena, and it is the plain build of `rows` (weight 1 each). */
function leanAndPlain(b: TraceBatch, bytes: number, layout: TraceLayout, rows: readonly Row[]): void {
  assert.ok(bytes <= b.arena.length * 1.25, `${bytes} bytes allocated for an arena of ${b.arena.length}`);
  sameBatch(
    b,
    buildBatch(
      layout,
      rows,
      rows.map(() => 1),
    ),
  );
}

const N = 200_000;
const order = (i: number): Row => [i, i % 10_007, (i * 31) % 1000];

test('buildBatch of rows in key order: buffers within 1/4 over the arena', () => {
  const layout = traceLayout(3, [0]);
  const rows: Row[] = [];
  for (let i = 0; i < N; i++) rows.push(order(i));
  const ws = rows.map(() => 1);
  const { value: b, bytes } = allocated(() => buildBatch(layout, rows, ws));
  assert.equal(b.length, N);
  assert.ok(bytes <= b.arena.length * 1.25, `${bytes} bytes allocated for an arena of ${b.arena.length}`);
});

test("a join side's keyed build (entries grouped by key, in key order): buffers within 1/4 over the arena", () => {
  const layout = { ...traceLayout(4, [0]), derivedKey: true };
  const keys = 1000;
  const byKey: Row[][] = Array.from({ length: keys }, () => []);
  for (let i = 0; i < N; i++) byKey[i % keys]?.push(order(i));
  const { value: b, bytes } = allocated(() => {
    const kb = new KeyedBatchBuilder(layout, N);
    for (let k = 0; k < keys; k++) for (const r of byKey[k] as Row[]) kb.add(k, r, 1);
    return drain(kb.build(true));
  });
  const rows: Row[] = [];
  for (let k = 0; k < keys; k++) for (const r of byKey[k] as Row[]) rows.push([k, ...r]);
  leanAndPlain(b, bytes, layout, rows);
});

test("a primary-key table's captured head (inserts in key order): buffers within 1/4 over the arena", () => {
  const layout = traceLayout(3, [0]);
  const t = new Trace(layout, { unique: true });
  const rows: Row[] = [];
  for (let i = 0; i < N; i++) {
    const r = order(i);
    rows.push(r);
    t.put(i, undefined, r);
  }
  const parts = t.capture();
  const { value: b, bytes } = allocated(() => parts.pending[0]?.batch() as TraceBatch);
  leanAndPlain(b, bytes, layout, rows);
});

test('rows whose later entries are longer than the first ones: the writer grows, the batch is the plain build', () => {
  const layout = traceLayout(2, [0]);
  const rows: Row[] = [];
  for (let i = 0; i < N; i++) rows.push([i, 'x'.repeat(1 + Math.floor(i / 20_000))]);
  const ws = rows.map(() => 1);
  const b = buildBatch(layout, rows, ws);
  assert.equal(b.length, N);
  for (const i of [0, 7, 8, 1023, 1024, 65_535, 65_536, 150_000, N - 1]) assert.deepEqual(b.row(i), rows[i]);
});
