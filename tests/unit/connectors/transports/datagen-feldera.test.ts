/**
 * Datagen draws Feldera's values: the record generator against an independent BigInt model of the same
 * published algorithms (rand_core's PCG32 seeding, xoshiro256++, rand's Uniform and Standard), values pinned
 * from Feldera's own output (the shared corpus's unsigned_int_tests: seed 12345, one record), and the rules that
 * decide which draws a record makes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { declaredConnectors } from '../../../../src/connectors/connectors.ts';
import { allRows, compileDatagen, generateRange } from '../../../../src/connectors/transports/datagen.ts';
import {
  alphanumeric,
  SmallRng,
  UniformFloat,
  UniformInt,
  Zipf,
} from '../../../../src/connectors/transports/datagen-rng.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import type { TableSchema } from '../../../../src/sql/schema.ts';
import { formatDate, formatTimestamp } from '../../../../src/sql/values/temporal.ts';
import { runSeed } from '../../../kit/seed.ts';

const M64 = (1n << 64n) - 1n;

/** rand_core 0.6's default seed_from_u64 (PCG32 words) feeding xoshiro256++, in BigInt. */
class ModelRng {
  s: bigint[];
  constructor(seed: bigint) {
    let state = seed & M64;
    const words: bigint[] = [];
    for (let k = 0; k < 8; k++) {
      state = (state * 6364136223846793005n + 11634580027462260723n) & M64;
      const xorshifted = (((state >> 18n) ^ state) >> 27n) & 0xffffffffn;
      const rot = state >> 59n;
      words.push(((xorshifted >> rot) | (xorshifted << ((32n - rot) & 31n))) & 0xffffffffn);
    }
    this.s = [0, 1, 2, 3].map((i) => (words[2 * i] as bigint) | ((words[2 * i + 1] as bigint) << 32n));
  }
  next(): bigint {
    const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (64n - k))) & M64;
    let [s0, s1, s2, s3] = this.s as [bigint, bigint, bigint, bigint];
    const result = (rotl((s0 + s3) & M64, 23n) + s0) & M64;
    const t = (s1 << 17n) & M64;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 45n);
    this.s = [s0, s1, s2, s3];
    return result;
  }
  /** rand's Uniform::new(low, high) over i64/u64: widening multiply, rejecting low products above the zone. */
  uniform(low: bigint, high: bigint): bigint {
    const range = high - low;
    const zone = M64 - (((1n << 64n) - range) % range);
    for (;;) {
      const p = this.next() * range;
      if ((p & M64) <= zone) return low + (p >> 64n);
    }
  }
}

test('the record generator equals a BigInt model of SmallRng::seed_from_u64 and Uniform (seed printed)', () => {
  const seed = runSeed('datagen-feldera-rng', 'DATAGEN_RNG_SEED');
  console.log(`datagen rng property seed ${seed} (replay: DATAGEN_RNG_SEED=${seed})`);
  let x = BigInt(seed);
  const next = () => {
    x = (x * 6364136223846793005n + 1442695040888963407n) & M64;
    return x;
  };
  const rng = new SmallRng();
  const ranges: Array<[bigint, bigint]> = [
    [0n, 255n],
    [-(2n ** 63n), 2n ** 63n - 1n],
    [1n, 101n],
    [4294967296n, 9223372036854775807n],
    [0n, 2n ** 64n - 1n],
    [-5n, 3n],
  ];
  for (let trial = 0; trial < 300; trial++) {
    const s = trial % 3 === 0 ? next() : next() % 1000000n;
    const model = new ModelRng(s);
    rng.seed(Number(s >> 32n), Number(s & 0xffffffffn));
    for (let k = 0; k < 5; k++) {
      rng.nextU64();
      assert.equal((BigInt(rng.hi) << 32n) | BigInt(rng.lo), model.next(), `seed ${s} draw ${k}`);
    }
    for (const [lo, hi] of ranges) {
      const u = new UniformInt(lo, hi);
      const want = model.uniform(lo, hi);
      const got = u.small ? lo + BigInt(u.offset(rng)) : u.big(rng);
      assert.equal(got, want, `seed ${s} Uniform(${lo}..${hi})`);
    }
    // Standard f64 and Uniform<f64>: from the same 64 bits
    const bits = model.next();
    assert.equal(rng.unit(), Number(bits >> 11n) / 2 ** 53);
    const uf = new UniformFloat(-1.5, 2.25);
    const m = Number(model.next() >> 12n) / 2 ** 52;
    assert.equal(uf.sample(rng), m * uf.scale + -1.5);
  }
  // record seeds wrap around u64: seed_from_u64(seed + index)
  const wrapped = new SmallRng().seedRecord(0xffffffff, 0xffffffff, 3);
  const model = new ModelRng(2n);
  wrapped.nextU64();
  assert.equal((BigInt(wrapped.hi) << 32n) | BigInt(wrapped.lo), model.next());
});

test('Uniform<f64> lowers its scale until the largest sample stays below the end; Zipf ranks lie in 1..=n', () => {
  const u = new UniformFloat(0, 1);
  assert.ok(u.scale * (1 - 2 ** -52) < 1);
  const tight = new UniformFloat(1e16, 1e16 + 4);
  assert.ok(tight.scale * (1 - 2 ** -52) + 1e16 < 1e16 + 4);
  const rng = new SmallRng().seed(0, 99);
  for (const [n, e] of [
    [10, 1],
    [5, 2],
    [1000, 0.5],
    [2, 1],
  ] as const) {
    const z = new Zipf(n, e);
    const counts = new Map<number, number>();
    for (let k = 0; k < 4000; k++) {
      const r = z.sample(rng);
      assert.ok(Number.isInteger(r) && r >= 1 && r <= n, `rank ${r} of Zipf(${n}, ${e})`);
      counts.set(r, (counts.get(r) ?? 0) + 1);
    }
    assert.ok((counts.get(1) ?? 0) > (counts.get(2) ?? 0), `rank 1 most frequent for Zipf(${n}, ${e})`);
  }
  const text = alphanumeric(new SmallRng().seed(0, 1), 200);
  assert.match(text, /^[A-Za-z0-9]{200}$/);
});

// Feldera's unsigned_int_tests table and datagen connector (seed 12345, one record), and the values Feldera
// produced for it (the expected rows of abs_un_intt, un_int_datagen_view, ...)
const UNSIGNED_PROGRAM = `CREATE TABLE un_int_datagen_tbl (
  id INT, tiny_int TINYINT UNSIGNED, small_int SMALLINT UNSIGNED, intt INTEGER UNSIGNED, big_int BIGINT UNSIGNED,
  tiny_int1 TINYINT UNSIGNED, small_int1 SMALLINT UNSIGNED, intt1 INTEGER UNSIGNED, big_int1 BIGINT UNSIGNED
) WITH ('connectors' = '[{"transport": {"name": "datagen", "config": {"seed": 12345, "plan": [{"limit": 1,
  "fields": {
    "id": { "strategy": "increment"},
    "tiny_int": { "strategy": "uniform", "range": [0, 255] },
    "small_int": { "strategy": "uniform", "range": [256, 65535] },
    "intt": { "strategy": "uniform", "range": [65536, 4294967295] },
    "big_int": { "strategy": "uniform", "range": [4294967296, 9223372036854775807] },
    "tiny_int1": { "strategy": "uniform", "range": [0, 255] },
    "small_int1": { "strategy": "uniform", "range": [256, 65535] },
    "intt1": { "strategy": "uniform", "range": [65536, 4294967295] },
    "big_int1": { "strategy": "uniform", "range": [4294967296, 9223372036854775807] }
  }}]}}}]');`;

test("a seeded datagen draws Feldera's values (unsigned_int_tests, seed 12345)", async () => {
  const program = await compileProgram(UNSIGNED_PROGRAM);
  const [d] = declaredConnectors(program);
  assert.ok(d);
  const table = program.table('un_int_datagen_tbl') as TableSchema;
  const gen = compileDatagen(d.ctx, d.spec.config, table);
  assert.deepEqual(allRows(gen, 0), [
    [0, 9, 10192, 1146171806, 6996571239486628517n, 84, 15522, 1457925796, 3352245520498693749n],
  ]);
});

test('which draws a record makes: NULL decisions, unseeded booleans and TIME columns follow Feldera', async () => {
  const program = await compileProgram(
    'CREATE TABLE t (a BIGINT, ok BOOLEAN, tm TIME, b BIGINT, d DATE, ts TIMESTAMP, v VARCHAR);',
  );
  const table = program.table('t') as TableSchema;
  const ctx = { relation: 't', relationKind: 'table', connector: 'g', transport: 'datagen' } as const;
  const rows = (fields: Record<string, unknown>) =>
    generateRange(compileDatagen(ctx, { seed: 12345, plan: [{ limit: 50, fields }] }, table), 12345, 0, 50);
  const base = rows({ b: { strategy: 'uniform', range: [0, 255] } });
  // the first draw of record 0 of seed 12345 over [0, 255) is Feldera's 9 (see above)
  assert.equal(base[0]?.[3], 9n);
  // a uniform BOOLEAN comes from Feldera's unseeded generator: it takes nothing from the record's stream
  const withBool = rows({ ok: { strategy: 'uniform' }, b: { strategy: 'uniform', range: [0, 255] } });
  assert.deepEqual(
    withBool.map((r) => r[3]),
    base.map((r) => r[3]),
  );
  assert.ok(new Set(withBool.map((r) => r[1])).size === 2, 'booleans vary');
  // Feldera never draws a NULL decision for TIME columns (and so never makes them NULL)
  const withTime = rows({
    tm: { strategy: 'uniform', null_percentage: 50 },
    b: { strategy: 'uniform', range: [0, 255] },
  });
  assert.ok(withTime.every((r) => r[2] !== null));
  // a null_percentage given (even 0) draws the decision first, shifting what later columns draw
  const withZero = rows({
    a: { null_percentage: 0 },
    b: { strategy: 'uniform', range: [0, 255] },
  });
  assert.notDeepEqual(
    withZero.map((r) => r[3]),
    base.map((r) => r[3]),
  );
  assert.ok(withZero.every((r) => r[0] !== null));
  const half = rows({ a: { null_percentage: 50 } }).filter((r) => r[0] === null).length;
  assert.ok(half > 10 && half < 40, `nulls: ${half} of 50`);
});

test("Feldera's defaults and mappings for dates, timestamps and increments", async () => {
  const program = await compileProgram('CREATE TABLE t (i TINYINT, d DATE, ts TIMESTAMP, s VARCHAR);');
  const table = program.table('t') as TableSchema;
  const ctx = { relation: 't', relationKind: 'table', connector: 'g', transport: 'datagen' } as const;
  const gen = (fields: Record<string, unknown>, n: number) =>
    generateRange(compileDatagen(ctx, { seed: 1, plan: [{ limit: n, fields }] }, table), 1, 0, n);
  // increment without a range wraps at the type's MAX (TINYINT: 127 → 0)
  const inc = gen({ i: { scale: 1 } }, 130);
  assert.deepEqual(
    inc.slice(125).map((r) => r[0]),
    [125, 126, 0, 1, 2],
  );
  // uniform dates default to Feldera's [1970-01-01, 2120-01-02) (54787 days)
  const years = gen({ d: { strategy: 'uniform' } }, 300).map((r) =>
    Number(formatDate(r[1] as number).slice(0, 4)),
  );
  assert.ok(years.every((y) => y >= 1970 && y <= 2120) && years.some((y) => y >= 2100), String(years));
  // a uniform TIMESTAMP stays inside its range (Feldera's older datagen added the range start twice)
  const t0 = Date.UTC(2024, 0, 1);
  const t1 = Date.UTC(2024, 0, 2);
  for (const r of gen({ ts: { strategy: 'uniform', range: [t0, t1] } }, 50)) {
    const ms = (r[2] as number) / 1000;
    assert.ok(ms >= t0 && ms < t1, formatTimestamp(r[2] as number));
  }
  // zipf strings: a length k − 1 below the range end
  for (const r of gen({ s: { strategy: 'zipf', range: [0, 6] } }, 50))
    assert.match(r[3] as string, /^[A-Za-z0-9]{0,5}$/);
});

test('UUID columns are u128 values (uniform drawn as rand draws u128); byte columns count up to their length', async () => {
  const program = await compileProgram('CREATE TABLE t (u UUID, b VARBINARY, n INT);');
  const table = program.table('t') as TableSchema;
  const ctx = { relation: 't', relationKind: 'table', connector: 'g', transport: 'datagen' } as const;
  const gen = (fields: Record<string, unknown>, n: number) =>
    generateRange(compileDatagen(ctx, { seed: 12345, plan: [{ limit: n, fields }] }, table), 12345, 0, n);
  const inc = gen({}, 6);
  assert.deepEqual(
    inc.map((r) => r[0]),
    [0, 1, 2, 3, 4, 5].map((k) => `00000000-0000-0000-0000-00000000000${k}`),
  );
  assert.deepEqual(
    inc.map((r) => r[1]),
    ['', '00', '0001', '000102', '00010203', ''],
  );
  // uniform over [0, u128::MAX): v = (second u64 << 64) | first u64, widening multiply, zone rejection
  const rows = gen({ u: { strategy: 'uniform' } }, 20);
  rows.forEach((r, k) => {
    const model = new ModelRng(12345n + BigInt(k));
    const range = (1n << 128n) - 1n;
    const zone = (1n << 128n) - 1n - (((1n << 128n) - range) % range);
    let want = 0n;
    for (;;) {
      const x = model.next();
      const y = model.next();
      const p = ((y << 64n) | x) * range;
      if ((p & ((1n << 128n) - 1n)) <= zone) {
        want = p >> 128n;
        break;
      }
    }
    const h = want.toString(16).padStart(32, '0');
    assert.equal(
      r[0],
      `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
    );
  });
  const ranged = gen(
    {
      u: {
        strategy: 'uniform',
        range: ['00000000-0000-0000-0000-000000000010', '00000000-0000-0000-0000-000000000020'],
      },
    },
    50,
  );
  for (const r of ranged) assert.match(r[0] as string, /^00000000-0000-0000-0000-00000000001[0-9a-f]$/);
});
