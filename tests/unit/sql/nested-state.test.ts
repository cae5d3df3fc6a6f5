/**
 * Nested values in trace state (issue 19, "State"): the inline binary form of ARRAY, MAP, ROW and VARIANT in a
 * trace's value columns (`zset/key-codec.ts` tag 0x21, body in `sql/values/collections.ts`) and segment format
 * v3, with random values (printing the seed; replay with `TEST_SEED=<n>`):
 * - codec: random nested values (-0, NaN, DECIMAL scales, huge bigints, lone surrogates, VARIANT types, deep
 *   nesting, bodies past 128 bytes) stored in value columns come back exactly, re-encode to the same bytes, and
 *   survive a v3 segment; in key columns they still go by hash key through the object table;
 * - circuit: a seeded stream of inserts, updates and deletes into a primary-key table of nested columns (value
 *   columns: inline), a keyless materialized table (nested key columns: object table) and views, with tiny trace
 *   heads so seals and merges happen; checkpointed to a real store after every step (full or delta); a cold
 *   restore at a random step and a warm standby (restore the base, apply each delta) hold exactly the same
 *   state and contents (values compared exactly: class, -0, scale, VARIANT type) and continue identically.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProgram, rowFromJson, type SqlCircuit } from '../../../src/sql/program.ts';
import type { TableSchema } from '../../../src/sql/schema.ts';
import { SQL_VALUE_CODECS } from '../../../src/sql/values/codecs.ts';
import {
  decodeNestedBody,
  encodeNestedBody,
  SqlArray,
  SqlMap,
  SqlRow,
  Variant,
} from '../../../src/sql/values/collections.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import {
  decodeSegment,
  decodeTracePayload,
  encodeSegment,
  encodeTracePayload,
  readSegment,
  SEGMENT_V_TRACE3,
  SEGMENT_V_TRACE6,
} from '../../../src/storage/segment.ts';
import { isStorageError } from '../../../src/storage/storage-error.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { ByteWriter, K_INL, K_OBJ, K_ORD } from '../../../src/zset/key-codec.ts';
import { buildBatch, setTraceHeadMin, TraceBatch, traceLayout } from '../../../src/zset/trace.ts';
import type { ObjectValue, Row, Value } from '../../../src/zset/value.ts';
import { mulberry32, pick, randInt } from '../operators/support.ts';
import { CapturingLogger, withTempDir } from '../storage/support.ts';

const seed = Number(process.env.TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
console.log(`nested-state seed ${seed} (replay with TEST_SEED=${seed})`);

/** Exact rendering: class, -0, NaN, bigint vs number, DECIMAL scale, VARIANT type, map order. */
function exact(v: Value): string {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? 'n-0' : `n${v}`;
    case 'bigint':
      return `b${v}`;
    case 'string':
      return `s${JSON.stringify([...v].map((c) => c.charCodeAt(0)))}`;
    case 'boolean':
      return `${v}`;
    case 'object':
      if (v === null) return 'null';
      if (v instanceof Decimal) return `d${v.unscaled}e-${v.scale}`;
      if (v instanceof SqlArray) return `A[${v.items.map(exact).join(',')}]`;
      if (v instanceof SqlRow) return `R(${v.fields.map(exact).join(',')})`;
      if (v instanceof SqlMap)
        return `M{${v.keys.map((k, i) => `${exact(k)}:${exact(v.values[i] as Value)}`).join(',')}}`;
      if (v instanceof Variant) return `V<${v.type ?? ''}>${exact(v.value)}`;
      return `?${v.hashKey()}`;
    default:
      return `?${typeof v}`;
  }
}
const exactRow = (r: Row) => r.map(exact).join('|');

function randString(rnd: () => number): string {
  const n = randInt(rnd, 0, rnd() < 0.1 ? 200 : 8);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = rnd();
    s +=
      k < 0.7
        ? String.fromCharCode(randInt(rnd, 32, 126))
        : k < 0.8
          ? 'é'
          : k < 0.9
            ? '\u{1F600}'
            : k < 0.95
              ? '\0'
              : '\ud800';
  }
  return s;
}

function randScalar(rnd: () => number): Value {
  switch (randInt(rnd, 0, 9)) {
    case 0:
      return null;
    case 1:
      return rnd() < 0.5;
    case 2:
      return randInt(rnd, -1000, 1000);
    case 3:
      return pick(rnd, [-0, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, -1e-300, 1.5]);
    case 4:
      return pick(rnd, [0n, -3n, 2n ** 62n, -(2n ** 63n), 2n ** 100n, -(2n ** 90n) - 7n]);
    case 5:
      return new Decimal(
        BigInt(randInt(rnd, -99999, 99999)) * pick(rnd, [1n, 10n ** 20n]),
        randInt(rnd, 0, 4),
      );
    default:
      return randString(rnd);
  }
}

function randVariant(rnd: () => number, depth: number): Variant {
  const k = rnd();
  if (depth <= 0 || k < 0.4) {
    const v = randScalar(rnd);
    return rnd() < 0.2
      ? new Variant(v, pick(rnd, ['REAL', 'BIGINT UNSIGNED', 'BINARY', 'SOME OTHER TYPE']))
      : new Variant(v);
  }
  if (k < 0.7)
    return new Variant(
      new SqlArray(Array.from({ length: randInt(rnd, 0, 4) }, () => randVariant(rnd, depth - 1))),
    );
  return new Variant(
    SqlMap.of(
      Array.from({ length: randInt(rnd, 0, 4) }, () => [
        new Variant(randString(rnd)),
        randVariant(rnd, depth - 1),
      ]),
    ),
  );
}

/** A random nested value (ARRAY, MAP, ROW or VARIANT), components of any kind. */
function randNested(rnd: () => number, depth = 3): ObjectValue {
  const sub = (): Value => (depth > 0 && rnd() < 0.3 ? randNested(rnd, depth - 1) : randScalar(rnd));
  switch (randInt(rnd, 0, 3)) {
    case 0:
      return new SqlArray(Array.from({ length: randInt(rnd, 0, rnd() < 0.1 ? 60 : 5) }, sub));
    case 1:
      return SqlMap.of(
        Array.from({ length: randInt(rnd, 0, 5) }, () => [randScalar(rnd), sub()] as [Value, Value]),
      );
    case 2:
      return new SqlRow(Array.from({ length: randInt(rnd, 1, 4) }, sub));
    default:
      return randVariant(rnd, depth);
  }
}

test('nested values: the inline form round-trips exactly, in value columns and through a v3 segment', () => {
  const rnd = mulberry32(seed);
  const layout = traceLayout(3, [0]);
  const rows: Row[] = Array.from({ length: 400 }, (_, i) => [
    i,
    randNested(rnd),
    rnd() < 0.3 ? null : randNested(rnd),
  ]);
  const b = buildBatch(
    layout,
    rows,
    rows.map(() => 1),
  );
  assert.equal(b.objects, null, 'value columns need no object table');
  // its writer wrote inline values: not known to be free of them, so its segment is scanned for the tag
  assert.equal(b.untagged, false);
  for (let i = 0; i < rows.length; i++) {
    const back = b.row(i);
    assert.equal(exactRow(back), exactRow(rows[i] as Row), `row ${i}`);
    // decode → encode is the identity on bytes
    const w = new ByteWriter();
    encodeNestedBody(w, back[1] as ObjectValue);
    const again = decodeNestedBody(w.buf, 0, w.pos);
    assert.equal(exact(again), exact(back[1] as Value));
  }
  // bodies of 128 bytes or more have a multi-byte length
  const big = new SqlArray(Array.from({ length: 300 }, (_, i) => `item-${i}`));
  const bb = buildBatch(layout, [[1, big, null]], [1]);
  assert.equal(bb.arena[bb.splits[0] as number], K_INL);
  assert.equal(exact(bb.row(0)[1] as Value), exact(big));
  // through a v3 segment
  const seg = encodeSegment(b, [...SQL_VALUE_CODECS]);
  assert.equal(readSegment(seg.bytes).version, SEGMENT_V_TRACE3);
  const dec = decodeSegment(seg.bytes, [...SQL_VALUE_CODECS], { hash: seg.hash });
  assert.ok(dec instanceof TraceBatch);
  assert.ok(dec.arena.equals(b.arena));
  for (let i = 0; i < rows.length; i++) assert.equal(exactRow(dec.row(i)), exactRow(rows[i] as Row));
});

test('nested values in key columns go inline in their ordered key form (v6: no object table, no hash keys)', () => {
  const rnd = mulberry32(seed + 1);
  const layout = traceLayout(2, [0]);
  // hash keys holding lone surrogates or U+FFFF (UTF-8 cannot hold the former: they are escaped)
  const fixed = [
    new SqlArray(['a\ud800']),
    new SqlArray(['a\ufffd']),
    new SqlArray(['\uffff', 'b\udc00\uffff0']),
  ];
  const keys = [...fixed, ...Array.from({ length: 50 }, () => randNested(rnd))];
  const rows: Row[] = keys.map((k, i) => [k, i]);
  const b = buildBatch(
    layout,
    rows,
    rows.map(() => 1),
  );
  for (let i = 0; i < b.length; i++) assert.equal(b.arena[b.offsets[i] as number], K_ORD);
  assert.equal(b.objects, null);
  assert.equal(b.untagged, false);
  const seg = encodeSegment(b, [...SQL_VALUE_CODECS]);
  assert.equal(readSegment(seg.bytes).version, SEGMENT_V_TRACE6);
  const dec = decodeSegment(seg.bytes, [...SQL_VALUE_CODECS]) as TraceBatch;
  assert.ok(dec.arena.equals(b.arena));
  // one representation per key (the canonical one): rows compare by hash key; the fixed keys exactly
  const want = new Set(rows.map((r) => `${(r[0] as ObjectValue).hashKey()}#${r[1]}`));
  assert.equal(dec.length, want.size);
  for (let i = 0; i < dec.length; i++) {
    const r = dec.row(i);
    assert.ok(want.has(`${(r[0] as ObjectValue).hashKey()}#${r[1]}`), `row ${i}`);
  }
  const back = new Map<string, string>();
  for (let i = 0; i < dec.length; i++) back.set(String(dec.row(i)[1]), exact(dec.row(i)[0] as Value));
  for (const [i, f] of fixed.entries()) assert.equal(back.get(String(i)), exact(f));
});

test('a component the inline form cannot hold falls back to the hash key', () => {
  const odd: ObjectValue = { hashKey: () => 'odd' };
  const v = new SqlArray([1, odd as unknown as Value]);
  const b = buildBatch(traceLayout(2, [0]), [[1, v]], [1]);
  assert.equal(b.arena[b.splits[0] as number], K_OBJ);
  assert.equal(b.row(0)[1], v);
});

const SQL = `
  CREATE TYPE pt AS (x INT, tag VARCHAR);
  CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a DOUBLE ARRAY, m MAP<VARCHAR, BIGINT ARRAY>, p pt,
    j VARIANT, d DECIMAL(6, 2) ARRAY);
  CREATE TABLE k (a DOUBLE ARRAY, j VARIANT, p pt) WITH ('materialized' = 'true');
  CREATE MATERIALIZED VIEW by_array AS SELECT a, COUNT(*) AS n FROM t GROUP BY a;
  CREATE MATERIALIZED VIEW mx AS SELECT id, j, d, m FROM t WHERE id % 2 = 0;
  CREATE MATERIALIZED VIEW dk AS SELECT DISTINCT j, p FROM k;`;

function randJson(rnd: () => number, depth: number): unknown {
  const k = rnd();
  if (depth <= 0 || k < 0.5)
    return pick(rnd, [null, true, 1, -0.5, 2.25, 'x', 'é🦀', '', 1e21, 123456789012, 'a\u0000b']);
  if (k < 0.75) return Array.from({ length: randInt(rnd, 0, 3) }, () => randJson(rnd, depth - 1));
  return Object.fromEntries(
    Array.from({ length: randInt(rnd, 0, 3) }, (_, i) => [
      `f${i}${randInt(rnd, 0, 2)}`,
      randJson(rnd, depth - 1),
    ]),
  );
}

function event(rnd: () => number, id: number): Record<string, unknown> {
  return {
    id,
    a: rnd() < 0.1 ? null : Array.from({ length: randInt(rnd, 0, 3) }, () => pick(rnd, [1, -0, 2.5, null])),
    m: { [`k${randInt(rnd, 0, 2)}`]: [randInt(rnd, 0, 3)], z: null },
    p: rnd() < 0.1 ? null : { x: randInt(rnd, 0, 3), tag: rnd() < 0.5 ? null : `t${randInt(rnd, 0, 2)}` },
    j: randJson(rnd, 3),
    d: [pick(rnd, [1.5, 2, 0.25, -3.1]), null],
  };
}

const contentsOf = (c: SqlCircuit) =>
  Object.fromEntries(
    ['t', 'k', 'by_array', 'mx', 'dk'].map((n) => {
      const b = c.contents(n);
      return [n, b.rows.map((r, i) => `${exactRow(r)} x${b.weights[i]}`).sort()];
    }),
  );
const outputsOf = (m: Map<string, Batch>) =>
  Object.fromEntries(
    [...m].map(([k, b]) => [k, b.rows.map((r, i) => `${exactRow(r)} x${b.weights[i]}`).sort()]),
  );

test('nested values: checkpoints (full and delta), cold restore and a warm standby hold exactly the same state', async () => {
  const old = setTraceHeadMin(3);
  try {
    const rnd = mulberry32(seed + 2);
    const program = await compileProgram(SQL);
    const t = program.table('t') as TableSchema;
    const kt = program.table('k') as TableSchema;
    const STEPS = 14;
    const live = new Map<number, Row>();
    const keyless: Row[] = [];
    let next = 0;
    const inputs: Map<string, Batch>[] = [];
    for (let s = 0; s < STEPS; s++) {
      const rows: Row[] = [];
      const weights: number[] = [];
      const krows: Row[] = [];
      const kws: number[] = [];
      for (let i = 0; i < randInt(rnd, 2, 8); i++) {
        const r = rnd();
        const ids = [...live.keys()];
        if (ids.length > 0 && r < 0.25) {
          const id = pick(rnd, ids);
          rows.push(live.get(id) as Row);
          weights.push(-1);
          live.delete(id);
        } else if (ids.length > 0 && r < 0.5) {
          const id = pick(rnd, ids);
          const row = rowFromJson(t, event(rnd, id));
          rows.push(live.get(id) as Row, row);
          weights.push(-1, 1);
          live.set(id, row);
        } else {
          const row = rowFromJson(t, event(rnd, next));
          live.set(next++, row);
          rows.push(row);
          weights.push(1);
        }
        if (keyless.length > 0 && rnd() < 0.3) {
          const [gone] = keyless.splice(randInt(rnd, 0, keyless.length - 1), 1);
          krows.push(gone as Row);
          kws.push(-1);
        } else {
          const e = event(rnd, 0);
          const row = rowFromJson(kt, { a: e.a, j: e.j, p: e.p });
          keyless.push(row);
          krows.push(row);
          kws.push(1);
        }
      }
      inputs.push(
        new Map([
          ['t', { rows, weights }],
          ['k', { rows: krows, weights: kws }],
        ]),
      );
    }
    const a = program.instantiate();
    a.trackChanges(true);
    const expected = inputs.map((x) => outputsOf(a.step(x)));
    const crashAt = randInt(rnd, 3, STEPS - 3);
    await withTempDir(async (dir) => {
      const codecs = [...SQL_VALUE_CODECS];
      const store = new CheckpointStore(dir, { codecs, logger: new CapturingLogger(), maxChain: 4 });
      const b = program.instantiate();
      b.trackChanges(true);
      for (let s = 0; s < crashAt; s++) {
        assert.deepEqual(outputsOf(b.step(inputs[s] as Map<string, Batch>)), expected[s]);
        const meta = { fingerprint: 'fp', processed_records: s + 1, inputs: { all: { step: s + 1 } } };
        if (s === 0 || (await store.needsCompaction())) await store.write(b.snapshot(), meta);
        else await store.write(b.takeDelta(), meta, { delta: true });
      }
      const read = await new CheckpointStore(dir, { codecs, logger: new CapturingLogger() }).readLatest();
      assert.ok(read !== null);
      assert.equal(read.manifest.steps, crashAt);
      // cold: restore(base, deltas); warm: restore(base), then apply each delta
      const cold = program.instantiate();
      cold.restore(read.snapshot, read.deltas);
      const warm = program.instantiate();
      warm.circuit.restore(read.snapshot);
      for (const d of read.deltas) warm.circuit.applyDelta(d);
      const want = contentsOf(b);
      assert.deepEqual(contentsOf(cold), want, 'cold restore');
      assert.deepEqual(contentsOf(warm), want, 'warm standby');
      for (let s = crashAt; s < STEPS; s++) {
        const x = inputs[s] as Map<string, Batch>;
        assert.deepEqual(outputsOf(cold.step(x)), expected[s], `cold, step ${s + 1}`);
        assert.deepEqual(outputsOf(warm.step(x)), expected[s], `warm, step ${s + 1}`);
      }
      assert.deepEqual(contentsOf(cold), contentsOf(a));
      assert.deepEqual(contentsOf(warm), contentsOf(a));
    });
  } finally {
    setTraceHeadMin(old);
  }
});

test('a v3 segment whose inline values need a codec this process lacks fails clearly (CheckpointCorrupt)', () => {
  const b = buildBatch(traceLayout(2, [0]), [[1, new SqlArray([1])]], [1]);
  const payload = encodeTracePayload(b, [...SQL_VALUE_CODECS]);
  assert.equal(payload[0], 3, 'flags: consolidated, inline values');
  const at = payload.indexOf('sql-nested-1');
  assert.ok(at > 0);
  const other = Buffer.from(payload);
  other.write('sql-nested-9', at);
  assert.throws(
    () => decodeTracePayload(other, [...SQL_VALUE_CODECS]),
    (e: unknown) => isStorageError(e, 'CheckpointCorrupt') && /sql-nested-9/.test((e as Error).message),
  );
  assert.throws(() => encodeTracePayload(b, [...SQL_VALUE_CODECS], 2), /v2 cannot hold inline/);
});
