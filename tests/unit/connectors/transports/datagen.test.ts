import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConnectorContext, parseConnectorSpec } from '../../../../src/connectors/transports/config.ts';
import {
  compileDatagen,
  generateRange,
  startDatagen,
} from '../../../../src/connectors/transports/datagen.ts';

import type { DatagenPosition } from '../../../../src/connectors/transports/types.ts';
import { isServiceError } from '../../../../src/errors/service-error.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import type { TableSchema } from '../../../../src/sql/schema.ts';
import type { Decimal } from '../../../../src/sql/values/decimal.ts';
import { formatDate, formatTimestamp } from '../../../../src/sql/values/temporal.ts';
import type { Row } from '../../../../src/zset/value.ts';
import { FakeHost } from './support.ts';

const program = await compileProgram(`
  CREATE TABLE t (
    i INT NOT NULL, b BIGINT, s SMALLINT, d DECIMAL(6, 2), x DOUBLE, ok BOOLEAN,
    v VARCHAR, c CHAR(3), dt DATE, ts TIMESTAMP, tm TIME);`);
const table = program.table('t') as TableSchema;
const ctx: ConnectorContext = {
  relation: 't',
  relationKind: 'table',
  connector: 'gen',
  transport: 'datagen',
};

function spec(config: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return parseConnectorSpec(
    { name: 'gen', transport: { name: 'datagen', config }, ...extra },
    0,
    't',
    'table',
  );
}

const RANDOM_FIELDS = {
  i: { strategy: 'uniform', range: [10, 20] },
  b: { strategy: 'zipf', range: [0, 1000], e: 1.2 },
  s: { strategy: 'uniform' },
  d: { strategy: 'uniform', range: [0, 100] },
  x: { strategy: 'uniform', range: [-1, 1], null_percentage: 30 },
  ok: { strategy: 'uniform' },
  v: { strategy: 'uniform', values: ['red', 'green', 'blue'] },
  c: { strategy: 'uniform', range: [1, 3] },
  dt: { strategy: 'uniform', range: ['2024-01-01', '2024-12-31'] },
  ts: { strategy: 'uniform', range: ['2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z'] },
  tm: { strategy: 'uniform', range: ['09:00:00', '17:00:00'] },
};

async function runToEnd(config: Record<string, unknown>, position?: DatagenPosition) {
  const host = new FakeHost();
  const c = startDatagen(ctx, spec(config), table, host, () => {}, { position: position ?? null });
  await c.settled;
  return { host, c };
}

test('the default increment strategy counts per column type; the plan limit ends the input', async () => {
  const { host, c } = await runToEnd({ plan: [{ limit: 3 }], seed: 1 });
  const rows = host.rows('t.gen');
  assert.equal(rows.length, 3);
  const r2 = rows[2] as Row;
  assert.deepEqual(r2.slice(0, 3), [2, 2n, 2]);
  assert.equal((r2[3] as Decimal).toString(), '2.00');
  assert.deepEqual(r2.slice(4, 8), [2, false, '2', '2  ']);
  assert.equal(formatDate(r2[8] as number), '1970-01-03');
  assert.equal(formatTimestamp(r2[9] as number), '1970-01-01 00:00:00.002');
  assert.equal(rows[1]?.[5], true);
  assert.equal(host.endpoints.get('t.gen')?.metrics.end_of_input, true);
  assert.deepEqual(c.position(), { index: 3, seed: 1 });
});

test('increment with range, scale and values wraps inside the range / cycles the values', async () => {
  const { host } = await runToEnd({
    plan: [
      {
        limit: 6,
        fields: {
          i: { range: [10, 14], scale: 3 },
          v: { values: ['a', 'b'] },
          dt: { range: ['2024-02-28', '2024-03-02'] },
        },
      },
    ],
  });
  const rows = host.rows();
  assert.deepEqual(
    rows.map((r) => r[0]),
    [10, 13, 12, 11, 10, 13],
  );
  assert.deepEqual(
    rows.map((r) => r[6]),
    ['a', 'b', 'a', 'b', 'a', 'b'],
  );
  assert.deepEqual(
    rows.map((r) => formatDate(r[8] as number)),
    ['2024-02-28', '2024-02-29', '2024-03-01', '2024-02-28', '2024-02-29', '2024-03-01'],
  );
});

test('random strategies stay within their ranges, honour null_percentage and values', async () => {
  const { host } = await runToEnd({ seed: 42, plan: [{ limit: 2000, fields: RANDOM_FIELDS }] });
  const rows = host.rows();
  assert.equal(rows.length, 2000);
  let nulls = 0;
  let trues = 0;
  const lowRanks = rows.filter((r) => (r[1] as bigint) < 10n).length;
  for (const r of rows) {
    const i = r[0] as number;
    assert.ok(i >= 10 && i < 20);
    const b = r[1] as bigint;
    assert.ok(b >= 0n && b < 1000n);
    assert.ok(Math.abs(r[2] as number) <= 32768);
    const d = (r[3] as Decimal).toNumber();
    assert.ok(d >= 0 && d < 100, `decimal ${d}`);
    if (r[4] === null) nulls++;
    else assert.ok((r[4] as number) >= -1 && (r[4] as number) < 1);
    if (r[5] === true) trues++;
    assert.ok(['red', 'green', 'blue'].includes(r[6] as string));
    assert.equal((r[7] as string).length, 3);
    assert.ok(formatDate(r[8] as number).startsWith('2024-'));
    const at = (r[9] as number) / 1000;
    assert.ok(at >= Date.UTC(2024, 0, 1) && at < Date.UTC(2024, 0, 2), formatTimestamp(r[9] as number));
    const tm = r[10] as number;
    assert.ok(tm >= 9 * 3600e6 && tm < 17 * 3600e6);
  }
  assert.ok(nulls > 450 && nulls < 750, `nulls: ${nulls}`);
  assert.ok(trues > 850 && trues < 1150, `trues: ${trues}`);
  assert.ok(lowRanks > 600, `zipf should favour small values, got ${lowRanks} of 2000 below 10`);
});

test('the same seed gives the same rows whatever the chunking; another seed gives others', async () => {
  const cfg = (chunk: number, seed: number) => ({
    seed,
    plan: [{ limit: 500, worker_chunk_size: chunk, fields: RANDOM_FIELDS }],
  });
  const a = (await runToEnd(cfg(500, 7))).host.rows();
  const b = (await runToEnd(cfg(7, 7))).host.rows();
  const c = (await runToEnd(cfg(500, 8))).host.rows();
  assert.deepEqual(b, a);
  assert.notDeepEqual(c, a);
  const gen = compileDatagen(ctx, cfg(1, 7), table);
  assert.deepEqual(generateRange(gen, 7, 0, 500), a);
});

test('restarting at position k gives exactly the remaining rows, across plans', async () => {
  const config = {
    seed: 3,
    plan: [
      { limit: 40, worker_chunk_size: 9, fields: RANDOM_FIELDS },
      { limit: 25, fields: { i: { range: [100, 200] }, x: { strategy: 'zipf', range: [0, 10] } } },
    ],
  };
  const full = (await runToEnd(config)).host.rows();
  assert.equal(full.length, 65);
  for (const k of [0, 1, 17, 39, 40, 41, 64, 65]) {
    const { host, c } = await runToEnd(config, { index: k, seed: 3 });
    assert.deepEqual(host.rows(), full.slice(k), `resume at ${k}`);
    assert.deepEqual(c.position(), { index: 65, seed: 3 });
  }
});

test('without a seed a random one is used and reported in the position, which replays the same rows', async () => {
  const config = { plan: [{ limit: 30, fields: RANDOM_FIELDS }] };
  const first = await runToEnd(config);
  const pos = first.c.position() as DatagenPosition;
  assert.equal(pos.index, 30);
  const again = await runToEnd(config, { index: 10, seed: pos.seed });
  assert.deepEqual(again.host.rows(), first.host.rows().slice(10));
});

test('rate limits rows per second (roughly); limit 0 generates nothing', async () => {
  const t0 = performance.now();
  const { host } = await runToEnd({ plan: [{ limit: 10, rate: 40 }] });
  const ms = performance.now() - t0;
  assert.equal(host.rows().length, 10);
  assert.ok(ms >= 150, `10 rows at 40/s took ${ms.toFixed(0)} ms`);
  assert.ok(host.pushes.length > 1, 'rows are spread over several pushes');
  const none = await runToEnd({ plan: [{ limit: 0 }] });
  assert.equal(none.host.rows().length, 0);
  assert.equal(none.host.endpoints.get('t.gen')?.metrics.end_of_input, true);
});

test('an unbounded plan runs until stopped; max_batch_size caps each push', async () => {
  const host = new FakeHost();
  const c = startDatagen(ctx, spec({ seed: 1 }, { max_batch_size: 100 }), table, host, () => {}, {});
  await new Promise((r) => setTimeout(r, 30));
  await c.stop();
  const n = host.rows().length;
  assert.ok(n > 0);
  assert.ok(host.pushes.every((p) => p.changes.length <= 100));
  assert.equal(c.status().state, 'stopped');
  assert.equal((c.position() as DatagenPosition).index, n);
  assert.equal(host.endpoints.get('t.gen')?.metrics.end_of_input, false);
});

test('config errors name the connector and list what is supported', () => {
  const bad = (config: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => compileDatagen(ctx, config, table),
      (e: unknown) =>
        isServiceError(e, 'SqlPropertyError') &&
        re.test(e.message) &&
        /connector 'gen' \(datagen\) of table 't'/.test(e.message),
    );
  bad(
    { plan: [{ fields: { v: { strategy: 'emails' } } }] },
    /unsupported strategy "emails"; supported strategies: increment, uniform, zipf, word, words, sentence/,
  );
  bad({ plan: [{ fields: { nope: {} } }] }, /does not have; columns: i, b/);
  bad({ plan: [{ fields: { i: { null_percentage: 10 } } }] }, /NOT NULL/);
  bad({ plan: [{ fields: { i: { range: [5, 5] } } }] }, /is empty/);
  bad(
    { plan: [{ fields: { s: { strategy: 'uniform', range: [0, 100000] } } }] },
    /exceeds the range of SMALLINT/,
  );
  bad({ plan: [{ fields: { d: { strategy: 'uniform', range: [0, 100000] } } }] }, /exceeds DECIMAL\(6, 2\)/);
  bad({ plan: [{ fields: { i: { values: ['x'] } } }] }, /values\[0\]/);
  bad({ plan: [{ rate: 0 }] }, /rate/);
  bad({ plan: [{ limits: 3 }] }, /unknown key 'limits'.*supported: limit, rate/);
  bad({ seeds: 3 }, /unknown key 'seeds'/);
  bad({ seed: -1 }, /'seed' must be a non-negative integer/);
  bad({ plan: {} }, /'plan' must be a list/);
  bad({ plan: [{ fields: { dt: { range: ['2024-13-01', '2025-01-01'] } } }] }, /range start/);
  bad({ plan: [{ fields: { v: { strategy: 'increment', range: [0, 3] } } }] }, /use 'values'/);
  bad({ plan: [{ fields: { i: { strategy: 'email' } } }] }, /generates text, but 'i' is INTEGER/);
  bad({ plan: [{ fields: { v: { strategy: 'word', values: ['a'] } } }] }, /not with 'word'/);
  bad({ plan: [{ fields: { v: { strategy: 'words', range: [3, 1] } } }] }, /count or length range/);
});

// Feldera's DatagenStrategy variants as its API spells them (serde snake_case of the Rust names)
const FELDERA_TEXT_STRATEGIES =
  `word words sentence sentences paragraph paragraphs first_name last_name title suffix
  name name_with_title domain_suffix email username password field position seniority job_title i_pv4 i_pv6 i_p
  m_a_c_address user_agent rfc_status_code valid_status_code company_suffix company_name buzzword buzzword_middle
  buzzword_tail catch_phrase bs_verb bs_adj bs_noun bs profession industry currency_code currency_name
  currency_symbol credit_card_number city_prefix city_suffix city_name country_name country_code street_suffix
  street_name time_zone state_name state_abbr secondary_address_type secondary_address zip_code post_code
  building_number latitude longitude isbn isbn13 isbn10 phone_number cell_number file_path file_name
  file_extension dir_path`.split(/\s+/);

test('every text strategy of Feldera generates non-empty, deterministic text in a VARCHAR column', () => {
  for (const strategy of [...FELDERA_TEXT_STRATEGIES, 'ipv4', 'ipv6', 'ip', 'mac_address']) {
    const cfg = { seed: 3, plan: [{ limit: 50, fields: { v: { strategy } } }] };
    const gen = compileDatagen(ctx, cfg, table);
    const rows = generateRange(gen, 3, 0, 50);
    const vs = rows.map((r) => r[6]);
    assert.ok(
      vs.every((v) => typeof v === 'string' && v.length > 0),
      `${strategy}: ${JSON.stringify(vs.slice(0, 3))}`,
    );
    assert.ok(new Set(vs).size > 1, `${strategy} varies: ${JSON.stringify(vs.slice(0, 3))}`);
    assert.deepEqual(generateRange(compileDatagen(ctx, cfg, table), 3, 10, 5), rows.slice(10, 15), strategy);
  }
});

test('text strategies make well-formed values; range counts words, sentences and password length', () => {
  const col = (strategy: string, extra: Record<string, unknown> = {}, n = 200) =>
    generateRange(
      compileDatagen(ctx, { seed: 11, plan: [{ limit: n, fields: { v: { strategy, ...extra } } }] }, table),
      11,
      0,
      n,
    ).map((r) => r[6] as string);
  for (const e of col('email')) assert.match(e, /^[a-z0-9.]+@example\.(com|org|net)$/);
  for (const ip of col('i_pv4')) {
    const parts = ip.split('.').map(Number);
    assert.equal(parts.length, 4, ip);
    assert.ok(
      parts.every((x) => Number.isInteger(x) && x >= 0 && x <= 255),
      ip,
    );
  }
  for (const m of col('mac_address')) assert.match(m, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  for (const x of col('isbn13')) {
    const d = x.replaceAll('-', '');
    assert.equal(d.length, 13);
    const sum = [...d].reduce((s, c, k) => s + Number(c) * (k % 2 === 0 ? 1 : 3), 0);
    assert.equal(sum % 10, 0, `ISBN-13 check digit of ${x}`);
  }
  for (const x of col('isbn10')) {
    const d = x.replaceAll('-', '');
    const sum = [...d].reduce((s, c, k) => s + (c === 'X' ? 10 : Number(c)) * (10 - k), 0);
    assert.equal(sum % 11, 0, `ISBN-10 check digit of ${x}`);
  }
  for (const x of col('credit_card_number')) {
    const sum = [...x]
      .reverse()
      .map(Number)
      .reduce((s, v, k) => s + (k % 2 === 1 ? (v * 2 > 9 ? v * 2 - 9 : v * 2) : v), 0);
    assert.equal(sum % 10, 0, `Luhn sum of ${x}`);
  }
  for (const w of col('words', { range: [2, 4] })) {
    const n = w.split(' ').length;
    assert.ok(n >= 2 && n < 4, w);
  }
  const lens = new Set(col('password', { range: [10, 12] }).map((p) => p.length));
  assert.deepEqual([...lens].sort(), [10, 11]);
  for (const s of col('sentence')) assert.match(s, /^[A-Z][a-z ]+\.$/);
  for (const x of col('latitude')) assert.ok(Math.abs(Number(x)) <= 90, x);
  // CHAR(3) keeps Feldera's padding/truncation rules for generated text too
  const c = generateRange(
    compileDatagen(ctx, { seed: 1, plan: [{ limit: 20, fields: { c: { strategy: 'last_name' } } }] }, table),
    1,
    0,
    20,
  ).map((r) => r[7] as string);
  assert.ok(
    c.every((x) => x.length === 3),
    JSON.stringify(c),
  );
});

test("with both 'values' and 'range', the values are picked and the range ignored (as Feldera documents)", () => {
  const gen = compileDatagen(
    ctx,
    { plan: [{ limit: 3, fields: { i: { range: [1, 2], values: [7, 8] } } }] },
    table,
  );
  assert.deepEqual(
    generateRange(gen, 1, 0, 3).map((r) => r[0]),
    [7, 8, 7],
  );
});

test('a resume position from another seed is rejected', () => {
  assert.throws(
    () =>
      startDatagen(ctx, spec({ seed: 1, plan: [{ limit: 1 }] }), table, new FakeHost(), () => {}, {
        position: { index: 0, seed: 2 },
      }),
    /seed 2 but the config now says seed 1/,
  );
});
