/**
 * The checkpoint suite's program and data: 10,000 customers over 50 regions, `orders` (primary key) filled with
 * N rows, and a materialized join + aggregate view per region. Everything is derived from the order id, so every
 * process rebuilds the same state and can check a restored one.
 */
import type { SqlCircuit } from '../../src/sql/program.ts';
import type { Batch } from '../../src/zset/batch.ts';
import type { Row } from '../../src/zset/value.ts';

export const RESULT_PREFIX = 'CHECKPOINT_RESULT ';
export const CUSTOMERS = 10_000;
export const REGIONS = 50;
/** Rows per circuit step while building or changing state. */
export const BATCH = 10_000;

export const PROGRAM = `
CREATE TABLE customers (id INT NOT NULL PRIMARY KEY, name VARCHAR, region VARCHAR);
CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer_id INT, amount INT);
CREATE MATERIALIZED VIEW by_region AS
  SELECT c.region, COUNT(*) AS n, SUM(o.amount) AS total
  FROM orders o JOIN customers c ON o.customer_id = c.id
  GROUP BY c.region;`;

/** A cheap integer hash (deterministic pseudo-random values without state). */
function mix(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

export const customerOf = (orderId: number): number => mix(orderId) % CUSTOMERS;
/** Amount of order `orderId` after `version` rounds of updates. */
export const amountOf = (orderId: number, version: number): number =>
  mix(orderId * 31 + version * 7919) % 1000;

export function loadCustomers(c: SqlCircuit): void {
  const rows: Row[] = [];
  const weights: number[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    rows.push([i, `customer-${i}`, `region-${i % REGIONS}`]);
    weights.push(1);
  }
  c.step({ customers: { rows, weights } });
}

/** Upserts orders `ids` (in steps of {@link BATCH}) with their amount at `version`. */
export function upsertOrders(c: SqlCircuit, ids: Iterable<number>, version: (id: number) => number): number {
  let rows: Row[] = [];
  let weights: number[] = [];
  let n = 0;
  const flush = () => {
    const b: Batch = { rows, weights };
    c.step({ orders: b });
    rows = [];
    weights = [];
  };
  for (const id of ids) {
    rows.push([id, customerOf(id), amountOf(id, version(id))]);
    weights.push(1);
    n++;
    if (rows.length === BATCH) flush();
  }
  if (rows.length > 0) flush();
  return n;
}

/**
 * {@link upsertOrders}, giving the event loop a turn after every step as a pipeline does (so background work —
 * the writes ahead of a checkpoint — makes progress between steps, as it would in a pipeline process).
 */
export async function upsertOrdersYielding(
  c: SqlCircuit,
  ids: Iterable<number>,
  version: (id: number) => number,
): Promise<number> {
  let n = 0;
  let chunk: number[] = [];
  for (const id of ids) {
    chunk.push(id);
    if (chunk.length === BATCH) {
      n += upsertOrders(c, chunk, version);
      chunk = [];
      await new Promise((r) => setImmediate(r));
    }
  }
  if (chunk.length > 0) n += upsertOrders(c, chunk, version);
  return n;
}

export function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** `count` distinct order ids out of `n`, spread evenly (every (n / count)-th id, starting at `offset`). */
export function* spread(n: number, count: number, offset: number): Generator<number> {
  const stride = n / count;
  for (let k = 0; k < count; k++) yield (Math.floor(k * stride) + offset) % n;
}

/** Expected `by_region` contents when order i has amount `amountOf(i, version(i))`, as sorted JSON. */
export function expectedView(n: number, version: (id: number) => number): string {
  const count = new Array<number>(REGIONS).fill(0);
  const total = new Array<number>(REGIONS).fill(0);
  for (let i = 0; i < n; i++) {
    const r = customerOf(i) % REGIONS;
    count[r] = (count[r] as number) + 1;
    total[r] = (total[r] as number) + amountOf(i, version(i));
  }
  return JSON.stringify(
    count
      .map((c, r) => [`region-${r}`, c, total[r]])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
}

/** The circuit's `by_region` contents, as sorted JSON (numbers normalised). */
export function actualView(c: SqlCircuit): string {
  const b = c.contents('by_region');
  const out: Array<[string, number, number]> = [];
  for (let i = 0; i < b.rows.length; i++) {
    const w = b.weights[i] as number;
    if (w !== 1) return `unexpected weight ${w}`;
    const r = b.rows[i] as Row;
    out.push([String(r[0]), Number(r[1]), Number(r[2])]);
  }
  return JSON.stringify(out.sort((a, b) => a[0].localeCompare(b[0])));
}
