/**
 * The Nexmark event generator: the standard stream of an online auction (people registering, auctions opening,
 * bids), as the Nexmark benchmark defines it and Feldera's `nexmark` connector produces it.
 *
 * Events are numbered from 0. Event `n` is a pure function of `(seed, n)` and the config: its kind comes from
 * `n % 50` (1 person, then 3 auctions, then 46 bids per 50 events), its ids and time from `n`, and its random
 * fields from a small PRNG seeded with `(seed, n)` alone. So any range of events can be generated on its own,
 * in any order, and a restart from event `n` gives exactly what an uninterrupted run gives from `n` on.
 *
 * Facts of the standard generator kept here: ids start at 1000 (people, auctions) and categories at 10 (5 of
 * them); event time is `floor(floor(n * 1e6 / rate) / 1000)` ms after the epoch (rate: first event rate,
 * 10,000,000/s by default, so 10,000 events per ms); a bid goes to a "hot" auction (the first of the latest
 * block of 100) half the time and otherwise to one of the last 100 auctions, its bidder is "hot" (second person
 * of the latest block of 100) 3 times in 4, otherwise one of the last 1000 people plus 10 not yet created; a
 * seller is hot 3 times in 4; prices are `ceil(100 * 10^(6u))` cents for uniform u; an auction lasts
 * 1 + uniform(0, 2 × the time until 100 more auctions exist) ms; 99 bids in 100 come from 4 hot channels; the
 * `extra` strings pad each record to an average size (person 200, auction 500, bid 100 bytes, ±20%).
 *
 * Values are plain JS: ids and prices as numbers (safe integers), times as ms since the epoch. Random strings
 * are alphanumeric slices, at a random offset, of one fixed 1 MiB random pool (cheap to make, and they share
 * the pool's memory).
 *
 * State: a cache of the non-hot channels' names and URLs (each a function of the channel number only).
 */

export const PERSON_PROPORTION = 1;
export const AUCTION_PROPORTION = 3;
export const BID_PROPORTION = 46;
export const TOTAL_PROPORTION = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;
export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const DEFAULT_FIRST_EVENT_RATE = 10_000_000;

const NUM_CATEGORIES = 5;
const NUM_ACTIVE_PEOPLE = 1000;
const PERSON_ID_LEAD = 10;
const NUM_IN_FLIGHT_AUCTIONS = 100;
const HOT_AUCTION_RATIO = 2;
const HOT_BIDDERS_RATIO = 4;
const HOT_SELLERS_RATIO = 4;
const HOT_BLOCK = 100;
const CHANNELS = 10_000;
const AVG_PERSON_BYTES = 200;
const AVG_AUCTION_BYTES = 500;
const AVG_BID_BYTES = 100;

const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const CITIES = [
  'Phoenix',
  'Los Angeles',
  'San Francisco',
  'Boise',
  'Portland',
  'Bend',
  'Redmond',
  'Seattle',
  'Kent',
  'Cheyenne',
];
const FIRST_NAMES = [
  'Peter',
  'Paul',
  'Luke',
  'John',
  'Saul',
  'Vicky',
  'Kate',
  'Julie',
  'Sarah',
  'Deiter',
  'Walter',
];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const HOT_URLS = ['googl', 'meta', 'bidu', 'aapl'].map(
  (p) => `https://www.nexmark.com/${p}/item.htm?query=1`,
);
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export type NexmarkTable = 'person' | 'auction' | 'bid';
export const NEXMARK_TABLES: readonly NexmarkTable[] = ['person', 'auction', 'bid'];

export interface Person {
  readonly id: number;
  readonly name: string;
  readonly emailAddress: string;
  readonly creditCard: string;
  readonly city: string;
  readonly state: string;
  /** ms since the epoch */
  readonly dateTime: number;
  readonly extra: string;
}

export interface Auction {
  readonly id: number;
  readonly itemName: string;
  readonly description: string;
  readonly initialBid: number;
  readonly reserve: number;
  readonly dateTime: number;
  readonly expires: number;
  readonly seller: number;
  readonly category: number;
  readonly extra: string;
}

export interface Bid {
  readonly auction: number;
  readonly bidder: number;
  readonly price: number;
  readonly channel: string;
  readonly url: string;
  readonly dateTime: number;
  readonly extra: string;
}

export interface GeneratorConfig {
  readonly seed: number;
  /** Events per second of event time (sets the spacing of `dateTime`). */
  readonly firstEventRate: number;
}

/** Kind of event `n`. */
export function eventKind(n: number): NexmarkTable {
  const r = n % TOTAL_PROPORTION;
  if (r < PERSON_PROPORTION) return 'person';
  return r < PERSON_PROPORTION + AUCTION_PROPORTION ? 'auction' : 'bid';
}

/** Event time of event `n`, in ms since the epoch. */
export function eventTime(cfg: GeneratorConfig, n: number): number {
  return Math.floor(Math.floor((1_000_000 / cfg.firstEventRate) * n) / 1000);
}

/** Number of the last person created at or before event `n` (0-based, without FIRST_PERSON_ID). */
function lastPerson(n: number): number {
  const epoch = Math.floor(n / TOTAL_PROPORTION);
  const offset = Math.min(n % TOTAL_PROPORTION, PERSON_PROPORTION - 1);
  return epoch * PERSON_PROPORTION + offset;
}

/** Number of the last auction created at or before event `n` (0-based, without FIRST_AUCTION_ID). */
function lastAuction(n: number): number {
  let epoch = Math.floor(n / TOTAL_PROPORTION);
  let offset = n % TOTAL_PROPORTION;
  if (offset < PERSON_PROPORTION) {
    if (epoch === 0) return 0;
    epoch--;
    offset = AUCTION_PROPORTION - 1;
  } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) offset = AUCTION_PROPORTION - 1;
  else offset -= PERSON_PROPORTION;
  return epoch * AUCTION_PROPORTION + offset;
}

/**
 * A small fast PRNG (sfc32) whose whole state is derived from `(seed, n)`, so each event has its own
 * independent, reproducible stream of numbers.
 */
class EventRandom {
  #a = 0;
  #b = 0;
  #c = 0;
  #d = 0;

  reset(seed: number, n: number): void {
    const lo = n >>> 0;
    const hi = Math.floor(n / 4294967296) >>> 0;
    this.#a = mix32(seed ^ 0x9e3779b9);
    this.#b = mix32(lo ^ 0x85ebca6b);
    this.#c = mix32(hi ^ 0xc2b2ae35 ^ this.#a);
    this.#d = 1;
    for (let i = 0; i < 8; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, k) (k ≥ 1, up to 2^53). */
  below(k: number): number {
    if (k <= 4294967296) return Math.floor(this.float() * k);
    return Math.floor(((this.u32() * 4294967296 + this.u32()) / 2 ** 64) * k);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)] as T;
  }

  /** `len` alphanumeric characters: a random slice of a fixed random pool (cheap, and shares its memory). */
  chars(len: number): string {
    if (len > POOL_SIZE)
      return pool()
        .repeat(Math.ceil(len / POOL_SIZE))
        .slice(0, len);
    const at = this.below(POOL_SIZE - len + 1);
    return pool().slice(at, at + len);
  }

  /** An alphanumeric string of 3 to `max` characters. */
  string(max: number): string {
    return this.chars(3 + this.below(max - 2));
  }

  /** Padding so that a record of `current` bytes is `average` bytes long on average (±20%). */
  extra(current: number, average: number): string {
    if (current >= average) return '';
    const avg = average - current;
    const delta = Math.round(avg * 0.2);
    if (delta === 0) return '';
    return this.chars(avg - delta + this.below(2 * delta + 1));
  }

  price(): number {
    return Math.ceil(10 ** (this.float() * 6) * 100);
  }
}

function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

function reverseBits32(x: number): number {
  let r = 0;
  for (let i = 0; i < 32; i++) {
    r = r * 2 + (x & 1);
    x >>>= 1;
  }
  return r;
}

/**
 * 1 MiB of random alphanumeric characters (always the same): strings are slices of it. Built on first use, not
 * at import (every pipeline process imports the connector registry; building it costs ~0.1–0.3 s of start-up).
 */
const POOL_SIZE = 1 << 20;
let poolText: string | undefined;
const pool = (): string => (poolText ??= buildPool());
function buildPool(): string {
  const r = new EventRandom();
  r.reset(0x706f6f6c, 0);
  const parts: string[] = [];
  for (let i = 0; i < POOL_SIZE; i += 1024) {
    let s = '';
    for (let k = 0; k < 1024; k++) s += ALNUM[r.u32() % 62];
    parts.push(s);
  }
  return parts.join('');
}

/** Generates events; keeps a cache of the (deterministic) non-hot channels. */
export class NexmarkGenerator {
  readonly config: GeneratorConfig;
  readonly #rng = new EventRandom();
  readonly #channels = new Map<number, readonly [string, string]>();

  constructor(config: GeneratorConfig) {
    this.config = config;
  }

  #nextPerson(n: number): number {
    const people = lastPerson(n) + 1;
    const active = Math.min(people, NUM_ACTIVE_PEOPLE);
    return people - active + this.#rng.below(active + PERSON_ID_LEAD);
  }

  #nextAuction(n: number): number {
    const max = lastAuction(n);
    const min = Math.max(0, max - NUM_IN_FLIGHT_AUCTIONS);
    return min + this.#rng.below(max - min + 1);
  }

  /** Person event `n` (event `n` must be a person: `eventKind(n) === 'person'`). */
  person(n: number): Person {
    const r = this.#rng;
    r.reset(this.config.seed, n);
    const name = `${r.pick(FIRST_NAMES)} ${r.pick(LAST_NAMES)}`;
    const emailAddress = `${r.string(7)}@${r.string(5)}.com`;
    const cc: string[] = [];
    for (let i = 0; i < 4; i++) cc.push(String(r.below(10_000)).padStart(4, '0'));
    const creditCard = cc.join(' ');
    const city = r.pick(CITIES);
    const state = r.pick(STATES);
    const size = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
    return {
      id: lastPerson(n) + FIRST_PERSON_ID,
      name,
      emailAddress,
      creditCard,
      city,
      state,
      dateTime: eventTime(this.config, n),
      extra: r.extra(size, AVG_PERSON_BYTES),
    };
  }

  /** Auction event `n`. */
  auction(n: number): Auction {
    const r = this.#rng;
    r.reset(this.config.seed, n);
    const dateTime = eventTime(this.config, n);
    const seller =
      (r.below(HOT_SELLERS_RATIO) === 0
        ? this.#nextPerson(n)
        : Math.floor(lastPerson(n) / HOT_BLOCK) * HOT_BLOCK) + FIRST_PERSON_ID;
    const category = FIRST_CATEGORY_ID + r.below(NUM_CATEGORIES);
    const initialBid = r.price();
    // An auction lasts on average until NUM_IN_FLIGHT_AUCTIONS more auctions have opened.
    const eventsPerInFlight = Math.floor((NUM_IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION) / AUCTION_PROPORTION);
    const horizon = Math.max(0, eventTime(this.config, n + eventsPerInFlight) - dateTime);
    const length = 1 + r.below(Math.max(horizon * 2, 1));
    const itemName = r.string(20);
    const description = r.string(100);
    const reserve = initialBid + r.price();
    const size = 8 + itemName.length + description.length + 8 * 3 + 8 * 2;
    return {
      id: lastAuction(n) + FIRST_AUCTION_ID,
      itemName,
      description,
      initialBid,
      reserve,
      dateTime,
      expires: dateTime + length,
      seller,
      category,
      extra: r.extra(size, AVG_AUCTION_BYTES),
    };
  }

  /** Bid event `n`. */
  bid(n: number): Bid {
    const r = this.#rng;
    r.reset(this.config.seed, n);
    const auction =
      (r.below(HOT_AUCTION_RATIO) === 0
        ? this.#nextAuction(n)
        : Math.floor(lastAuction(n) / HOT_BLOCK) * HOT_BLOCK) + FIRST_AUCTION_ID;
    const bidder =
      (r.below(HOT_BIDDERS_RATIO) === 0
        ? this.#nextPerson(n)
        : Math.floor(lastPerson(n) / HOT_BLOCK) * HOT_BLOCK + 1) + FIRST_PERSON_ID;
    const price = r.price();
    const channelNumber = r.below(CHANNELS);
    let channel: string;
    let url: string;
    if (r.below(HOT_BLOCK) === HOT_BLOCK - 1) [channel, url] = this.#channel(channelNumber);
    else {
      const hot = r.below(HOT_CHANNELS.length);
      channel = HOT_CHANNELS[hot] as string;
      url = HOT_URLS[hot] as string;
    }
    return {
      auction,
      bidder,
      price,
      channel,
      url,
      dateTime: eventTime(this.config, n),
      extra: r.extra(8 * 4, AVG_BID_BYTES),
    };
  }

  /** A non-hot channel's name and URL: a function of its number only (not of the seed). */
  #channel(k: number): readonly [string, string] {
    let c = this.#channels.get(k);
    if (c === undefined) {
      const r = new EventRandom();
      r.reset(0x6e786d6b, k);
      const base = `https://www.nexmark.com/${r.string(5)}/item.htm?query=1`;
      const url = r.below(10) === 9 ? base : `${base}&channel_id=${reverseBits32(k)}`;
      c = [`channel-${k}`, url];
      this.#channels.set(k, c);
    }
    return c;
  }
}

/**
 * Calls `visit(n)` for each event number in `[from, to)` whose kind is `table`, in order, without looking at
 * the others (a person connector touches 1 event in 50).
 */
export function forEachEventOf(
  table: NexmarkTable,
  from: number,
  to: number,
  visit: (n: number) => void,
): void {
  const lo =
    table === 'person' ? 0 : table === 'auction' ? PERSON_PROPORTION : PERSON_PROPORTION + AUCTION_PROPORTION;
  const hi =
    table === 'person'
      ? PERSON_PROPORTION
      : table === 'auction'
        ? PERSON_PROPORTION + AUCTION_PROPORTION
        : TOTAL_PROPORTION;
  let epoch = Math.floor(from / TOTAL_PROPORTION) * TOTAL_PROPORTION;
  for (; epoch < to; epoch += TOTAL_PROPORTION) {
    const a = Math.max(from, epoch + lo);
    const b = Math.min(to, epoch + hi);
    for (let n = a; n < b; n++) visit(n);
  }
}
