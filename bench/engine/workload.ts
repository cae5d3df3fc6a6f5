/**
 * Deterministic data for the engine suite: customers, and a stream of order changes held in typed arrays
 * (off the JS heap, so generating it does not inflate the heap figures of either engine).
 *
 * Every engine child process regenerates the same data from the same seed, so both engines see identical
 * rows in identical batches.
 */

export type WorkloadName = 'region' | 'customer' | 'mixed';

export const WORKLOADS: readonly WorkloadName[] = ['region', 'customer', 'mixed'];

export const CUSTOMERS = 10_000;
export const REGIONS = 50;

/** Change kinds in {@link ChangeStream.kind}. */
export const INSERT = 1;
export const UPDATE = 2;
export const DELETE = 3;

export interface Customers {
  readonly ids: Int32Array;
  readonly names: string[];
  readonly regions: string[];
}

/**
 * Order changes, one entry per change. For INSERT and UPDATE, `customerId`/`amount` are the new values; for
 * DELETE they are the values of the row being deleted. `prevCustomerId`/`prevAmount` hold the previous row for
 * UPDATE (what a retraction-based engine must retract); they are unused otherwise.
 */
export interface ChangeStream {
  readonly length: number;
  readonly kind: Int8Array;
  readonly orderId: Int32Array;
  readonly customerId: Int32Array;
  readonly amount: Int32Array;
  readonly prevCustomerId: Int32Array;
  readonly prevAmount: Int32Array;
  /** Final live orders' customer ids (the oracle input): index = order id, -1 = not live. */
  readonly finalCustomerOf: Int32Array;
  readonly counts: { inserts: number; updates: number; deletes: number };
}

/** sfc32: small, fast, deterministic 32-bit PRNG. */
export function makeRng(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 ^ (seed * 31);
  let c = 0xb7e15162;
  let d = 1;
  const next = (): number => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

export function makeCustomers(seed: number): Customers {
  const rng = makeRng(seed);
  const ids = new Int32Array(CUSTOMERS);
  const names: string[] = [];
  const regions: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    ids[i] = i + 1;
    names.push(`customer-${i + 1}`);
    regions.push(`region-${rng() % REGIONS}`);
  }
  return { ids, names, regions };
}

/**
 * Builds the order change stream. `region`/`customer`: `changes` inserts of fresh orders. `mixed`: 70% inserts,
 * 20% updates (amount only, customer only, or both, equally likely) of a random live order, 10% deletes of a
 * random live order (an insert when no order is live yet).
 */
export function makeChanges(workload: WorkloadName, changes: number, seed: number): ChangeStream {
  const rng = makeRng(seed ^ 0x5bd1e995);
  const kind = new Int8Array(changes);
  const orderId = new Int32Array(changes);
  const customerId = new Int32Array(changes);
  const amount = new Int32Array(changes);
  const prevCustomerId = new Int32Array(changes);
  const prevAmount = new Int32Array(changes);
  // Current state of every order ever inserted (ids are 1..changes), plus a dense list of live ids for O(1)
  // random picks and swap-removal.
  const curCustomer = new Int32Array(changes + 1).fill(-1);
  const curAmount = new Int32Array(changes + 1);
  const live = new Int32Array(changes);
  const slot = new Int32Array(changes + 1);
  let liveCount = 0;
  let nextId = 1;
  let inserts = 0;
  let updates = 0;
  let deletes = 0;
  const mixed = workload === 'mixed';
  for (let i = 0; i < changes; i++) {
    const roll = mixed ? rng() % 100 : 0;
    if (roll < 70 || liveCount === 0) {
      const id = nextId++;
      const cid = (rng() % CUSTOMERS) + 1;
      const amt = (rng() % 1000) + 1;
      kind[i] = INSERT;
      orderId[i] = id;
      customerId[i] = cid;
      amount[i] = amt;
      curCustomer[id] = cid;
      curAmount[id] = amt;
      slot[id] = liveCount;
      live[liveCount++] = id;
      inserts++;
      continue;
    }
    const pick = rng() % liveCount;
    const id = live[pick] as number;
    const oldCid = curCustomer[id] as number;
    const oldAmt = curAmount[id] as number;
    orderId[i] = id;
    if (roll < 90) {
      const what = rng() % 3; // 0: amount, 1: customer, 2: both
      let cid = oldCid;
      let amt = oldAmt;
      if (what !== 1) amt = ((oldAmt + (rng() % 999)) % 1000) + 1; // always differs from oldAmt
      if (what !== 0) cid = ((oldCid + (rng() % (CUSTOMERS - 1))) % CUSTOMERS) + 1; // always differs from oldCid
      kind[i] = UPDATE;
      customerId[i] = cid;
      amount[i] = amt;
      prevCustomerId[i] = oldCid;
      prevAmount[i] = oldAmt;
      curCustomer[id] = cid;
      curAmount[id] = amt;
      updates++;
    } else {
      kind[i] = DELETE;
      customerId[i] = oldCid;
      amount[i] = oldAmt;
      curCustomer[id] = -1;
      const last = live[--liveCount] as number;
      live[pick] = last;
      slot[last] = pick;
      deletes++;
    }
  }
  return {
    length: changes,
    kind,
    orderId,
    customerId,
    amount,
    prevCustomerId,
    prevAmount,
    finalCustomerOf: curCustomer,
    counts: { inserts, updates, deletes },
  };
}

/** A view's contents as sorted `[group key, count]` pairs. */
export type ViewContents = Array<[string | number, number]>;

export function sortContents(entries: Iterable<[string | number, number]>): ViewContents {
  const out = [...entries];
  out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return out;
}

/** The expected final view, computed directly from the final order state (independent of both engines). */
export function expectedContents(
  workload: WorkloadName,
  customers: Customers,
  stream: ChangeStream,
): ViewContents {
  const counts = new Map<string | number, number>();
  const final = stream.finalCustomerOf;
  for (let id = 1; id < final.length; id++) {
    const cid = final[id] as number;
    if (cid < 0) continue;
    const key = workload === 'customer' ? cid : (customers.regions[cid - 1] as string);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return sortContents(counts);
}
