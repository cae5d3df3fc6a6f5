/**
 * The `nexmark` transport and its generator: the standard stream's shape (1 person, 3 auctions, 46 bids per 50
 * events, ids, times, references), determinism for a seed whatever the chunking, resuming from a position after
 * a stop, and config errors (also the checks across a program's nexmark connectors).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { declaredConnectors } from '../../../../src/connectors/connectors.ts';
import { type ConnectorContext, parseConnectorSpec } from '../../../../src/connectors/transports/config.ts';
import { planNexmark, startNexmark } from '../../../../src/connectors/transports/nexmark.ts';
import {
  eventKind,
  eventTime,
  forEachEventOf,
  NexmarkGenerator,
  type NexmarkTable,
} from '../../../../src/connectors/transports/nexmark-gen.ts';
import type { NexmarkPosition } from '../../../../src/connectors/transports/types.ts';
import { isServiceError } from '../../../../src/errors/service-error.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import type { TableSchema } from '../../../../src/sql/schema.ts';
import type { Row } from '../../../../src/zset/value.ts';
import { FakeHost, until } from './support.ts';

const DDL = `
  CREATE TABLE person (id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR,
    state VARCHAR, date_time TIMESTAMP(3) NOT NULL, extra VARCHAR);
  CREATE TABLE auction (id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT,
    date_time TIMESTAMP(3) NOT NULL, expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra VARCHAR);
  CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
    date_time TIMESTAMP(3) NOT NULL, extra VARCHAR);`;
const program = await compileProgram(DDL);

function setup(
  table: NexmarkTable,
  options: Record<string, unknown> | null,
  extra: Record<string, unknown> = {},
) {
  const ctx: ConnectorContext = {
    relation: table,
    relationKind: 'table',
    connector: 'nx',
    transport: 'nexmark',
  };
  const config = options === null ? { table } : { table, options };
  const spec = parseConnectorSpec(
    { name: 'nx', transport: { name: 'nexmark', config }, ...extra },
    0,
    table,
    'table',
  );
  const relation = program.table(table) as TableSchema;
  const plan = planNexmark([{ ctx, spec, relation }]).get(`${table}.nx`);
  assert.ok(plan);
  return { ctx, spec, plan };
}

async function runToEnd(table: NexmarkTable, options: Record<string, unknown>, position?: NexmarkPosition) {
  const { ctx, spec, plan } = setup(table, options);
  const host = new FakeHost();
  const c = startNexmark(ctx, spec, plan, host, () => {}, { position: position ?? null });
  await c.settled;
  return { host, c };
}

test('the stream: 1 person, 3 auctions and 46 bids per 50 events, ids from 1000, times from the event rate', () => {
  const g = new NexmarkGenerator({ seed: 1, firstEventRate: 1000 });
  const kinds = Array.from({ length: 100 }, (_, n) => eventKind(n));
  assert.deepEqual(kinds.slice(0, 5), ['person', 'auction', 'auction', 'auction', 'bid']);
  assert.equal(kinds.filter((k) => k === 'bid').length, 92);
  assert.equal(kinds[50], 'person');
  assert.deepEqual([g.person(0).id, g.person(50).id, g.person(100).id], [1000, 1001, 1002]);
  assert.deepEqual([g.auction(1).id, g.auction(3).id, g.auction(51).id], [1000, 1002, 1003]);
  // 1000 events per second: event n happens at n ms; 10M/s (Feldera's default): 10,000 events per ms
  assert.equal(g.bid(1234).dateTime, 1234);
  assert.equal(eventTime({ seed: 0, firstEventRate: 10_000_000 }, 29_999), 2);
  for (let n = 0; n < 20_000; n++) {
    const k = eventKind(n);
    const epoch = Math.floor(n / 50);
    if (k === 'bid') {
      const b = g.bid(n);
      assert.ok(b.auction >= 1000 && b.auction <= 1000 + epoch * 3 + 2, `bid ${n} auction ${b.auction}`);
      assert.ok(b.bidder >= 1000 && b.bidder <= 1000 + epoch + 10, `bid ${n} bidder ${b.bidder}`);
      assert.ok(b.price >= 100 && b.price <= 100_000_000);
      assert.ok(b.url.startsWith('https://www.nexmark.com/'));
      assert.ok(b.extra.length >= 54 && b.extra.length <= 82, `extra ${b.extra.length}`);
    } else if (k === 'auction') {
      const a = g.auction(n);
      assert.ok(a.category >= 10 && a.category < 15);
      assert.ok(a.expires > a.dateTime);
      assert.ok(a.reserve > a.initialBid);
      assert.ok(a.seller >= 1000 && a.seller <= 1000 + epoch + 10);
    } else {
      const p = g.person(n);
      assert.match(p.creditCard, /^\d{4} \d{4} \d{4} \d{4}$/);
      assert.match(p.emailAddress, /^[A-Za-z0-9]{3,7}@[A-Za-z0-9]{3,5}\.com$/);
      assert.ok(['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'].includes(p.state));
    }
  }
  // hot channels carry about 99% of the bids
  let hot = 0;
  let bids = 0;
  forEachEventOf('bid', 0, 50_000, (n) => {
    bids++;
    if (!g.bid(n).channel.startsWith('channel-')) hot++;
  });
  assert.ok(hot / bids > 0.98 && hot / bids < 1, `hot share ${hot / bids}`);
});

test('event n is a function of (seed, n): any order gives the same event; another seed gives others', () => {
  const a = new NexmarkGenerator({ seed: 7, firstEventRate: 10_000_000 });
  const b = new NexmarkGenerator({ seed: 7, firstEventRate: 10_000_000 });
  const c = new NexmarkGenerator({ seed: 8, firstEventRate: 10_000_000 });
  const forward: unknown[] = [];
  for (let n = 0; n < 500; n++)
    forward.push((a as unknown as Record<string, (n: number) => unknown>)[eventKind(n)]?.(n));
  for (let n = 499; n >= 0; n--)
    assert.deepEqual((b as unknown as Record<string, (n: number) => unknown>)[eventKind(n)]?.(n), forward[n]);
  let same = 0;
  for (let n = 4; n < 50; n++) if (JSON.stringify(c.bid(n)) === JSON.stringify(forward[n])) same++;
  assert.equal(same, 0);
});

test('the connector pushes its table rows of events [0, events), the same whatever the chunk size', async () => {
  const sizes: Record<NexmarkTable, number> = { person: 40, auction: 120, bid: 1840 };
  for (const table of ['person', 'auction', 'bid'] as const) {
    const big = await runToEnd(table, { events: 2000, seed: 3 });
    const small = await runToEnd(table, { events: 2000, seed: 3, threads: 1, batch_size_per_thread: 7 });
    assert.equal(big.host.rows().length, sizes[table], table);
    assert.deepEqual(small.host.rows(), big.host.rows(), table);
    assert.ok(small.host.pushes.length > big.host.pushes.length);
    assert.deepEqual(big.c.position(), { event: 2000, seed: 3 });
    assert.equal(big.c.status().state, 'end_of_input');
  }
  const { host } = await runToEnd('bid', { events: 60, seed: 3 });
  const first = host.rows()[0] as Row;
  assert.equal(typeof first[0], 'bigint'); // BIGINT columns get bigints
  assert.equal(first[5], 0); // TIMESTAMP: µs since the epoch
});

test('a stopped connector resumes from its position with exactly the rows an uninterrupted run gives', async () => {
  const options = { events: 5000, seed: 11, threads: 1, batch_size_per_thread: 100 };
  const full = await runToEnd('bid', options);
  const { ctx, spec, plan } = setup('bid', options);
  // a host whose 18th push never completes: the connector is stopped mid-stream
  const host = new (class extends FakeHost {
    override async push(...args: Parameters<FakeHost['push']>): Promise<void> {
      await super.push(...args);
      if (this.pushes.length >= 17) this.gate ??= new Promise(() => {});
    }
  })();
  const c = startNexmark(ctx, spec, plan, host, () => {}, { position: null });
  await until(() => host.pushes.length >= 17, '17 pushes');
  await c.stop();
  const pos = c.position() as NexmarkPosition;
  assert.ok(pos.event >= 1700 && pos.event < 5000, `stopped at ${pos.event}`);
  const rest = await runToEnd('bid', options, pos);
  assert.deepEqual([...host.rows(), ...rest.host.rows()], full.host.rows());
  // a position from another seed is refused
  assert.throws(
    () => startNexmark(ctx, spec, plan, new FakeHost(), () => {}, { position: { event: 0, seed: 12 } }),
    (e) => isServiceError(e) && /seed 12/.test(e.message),
  );
});

async function declare(tables: Record<NexmarkTable, string>, ddl = DDL) {
  const withConnectors = ddl.replace(/CREATE TABLE (\w+) \(([^;]*)\);/g, (_m, name: string, cols: string) => {
    const c = tables[name as NexmarkTable];
    return `CREATE TABLE ${name} (${cols}) WITH ('connectors' = '[${c}]');`;
  });
  return declaredConnectors(await compileProgram(withConnectors));
}

const nx = (config: Record<string, unknown>, name = 'nx') =>
  JSON.stringify({ name, transport: { name: 'nexmark', config } });

test('config errors name the connector; options are set on one connector; one connector per table', async () => {
  const ok = await declare({
    person: nx({
      table: 'person',
      options: { events: 10, threads: 2, batch_size_per_thread: 5, max_step_size_per_thread: 10 },
    }),
    auction: nx({ table: 'auction' }),
    bid: nx({ table: 'bid' }),
  });
  assert.equal(ok.length, 3);
  const fails = async (tables: Record<NexmarkTable, string>, re: RegExp) =>
    assert.rejects(
      declare(tables),
      (e) => isServiceError(e) && e.errorCode === 'SqlPropertyError' && re.test(e.message),
    );
  const auction = nx({ table: 'auction' });
  const bid = nx({ table: 'bid' });
  await fails(
    { person: nx({ table: 'people' }), auction, bid },
    /'table' must be one of "person", "auction", "bid"/,
  );
  await fails({ person: nx({ table: 'person', rate: 3 }), auction, bid }, /unknown key 'rate'/);
  await fails(
    { person: nx({ table: 'person', options: { event: 3 } }), auction, bid },
    /unknown key 'event'.*supported: events/,
  );
  await fails(
    { person: nx({ table: 'person', options: { events: -1 } }), auction, bid },
    /'options.events' must be an integer >= 0/,
  );
  await fails(
    { person: nx({ table: 'person', options: {} }), auction: nx({ table: 'auction', options: {} }), bid },
    /options' are already set by connector 'nx' of table 'person'/,
  );
  await fails(
    { person: nx({ table: 'person' }), auction, bid: `${bid},${nx({ table: 'bid' }, 'nx2')}` },
    /connector 'nx2'.*the nexmark table 'bid' is already fed by connector 'nx' of table 'bid'/,
  );
  await assert.rejects(
    declare(
      { person: nx({ table: 'person' }), auction, bid },
      DDL.replace(
        'extra VARCHAR);\n  CREATE TABLE auction',
        'extra VARCHAR, more INT);\n  CREATE TABLE auction',
      ),
    ),
    (e) => isServiceError(e) && /has 8 columns, filled in order: \(id BIGINT, name VARCHAR/.test(e.message),
  );
  await assert.rejects(
    declare({ person: nx({ table: 'person' }), auction, bid }, DDL.replace('price BIGINT', 'price BOOLEAN')),
    (e) =>
      isServiceError(e) &&
      /column 3 of table 'bid' \('price'\) receives the nexmark field 'price'/.test(e.message),
  );
});

test('other column types: numbers into INT/DECIMAL/DOUBLE, time into DATE; a value too long for its CHAR(n) is a counted parse error', async () => {
  const p = await compileProgram(
    'CREATE TABLE bid (auction INT, bidder DECIMAL(10, 0), price DOUBLE, channel CHAR(8), url VARCHAR(200), date_time DATE, extra TEXT);',
  );
  const ctx: ConnectorContext = {
    relation: 'bid',
    relationKind: 'table',
    connector: 'nx',
    transport: 'nexmark',
  };
  const spec = parseConnectorSpec(
    { name: 'nx', transport: { name: 'nexmark', config: { table: 'bid', options: { events: 20_000 } } } },
    0,
    'bid',
    'table',
  );
  const plan = planNexmark([{ ctx, spec, relation: p.table('bid') as TableSchema }]).get('bid.nx');
  assert.ok(plan);
  const host = new FakeHost();
  const c = startNexmark(ctx, spec, plan, host, () => {}, { position: null });
  await c.settled;
  const rows = host.rows();
  const errors = c.status().parseErrors;
  // 1 bid in 100 comes from a 'channel-N' channel, longer than CHAR(8): those rows are skipped and counted
  assert.ok(errors > 50 && errors < 400, `${errors} parse errors`);
  assert.equal(rows.length + errors, 18_400);
  assert.equal(c.status().state, 'end_of_input');
  const r = rows[0] as Row;
  assert.equal(typeof r[0], 'number');
  assert.equal(r[5], 0); // DATE: days since the epoch
  assert.ok(rows.every((x) => String(x[3]).length <= 8));
});
