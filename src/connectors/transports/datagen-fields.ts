/**
 * Datagen column generators: one per column of a plan, turning (record index, the record's random generator)
 * into an engine value, drawing exactly what Feldera's datagen draws so a seeded datagen gives Feldera's rows.
 *
 * Determinism: each record has its own generator, `SmallRng::seed_from_u64(seed + index)` (datagen-rng.ts; the
 * index counts from 0 within each plan), and the columns draw from it in table order — so a record depends only
 * on (seed, plan, index): never on batching, timing or earlier records, and generation can restart at any row.
 *
 * Strategies and what they draw (Feldera's rules; a column that draws nothing leaves the stream untouched):
 * - `null_percentage` (when given, even 0): first a draw of 1..=100; at most the percentage gives NULL. TIME
 *   columns never draw it and are never NULL (as in Feldera).
 * - `increment` (default): no draw. Integers: `a + (i·scale mod (b − a))` with a range, else `i·scale mod MAX`
 *   (MAX: the type's maximum, i64's for BIGINT UNSIGNED); `values[i mod len]`; floats `a + (i·scale mod (b − a))`
 *   or `i·scale`; booleans `i` odd; strings the number `i·scale`; DATE / TIMESTAMP / TIME
 *   `min + (i·scale mod (max − min))` days / ms.
 * - `uniform`: integers `Uniform(a..b)·scale` drawn as i64 (default range: the type's [MIN, MAX)); floats
 *   `Uniform(a..b)·scale` (default, where Feldera fails: [0, 1), decimals [0, 10^(p−s))); strings a length
 *   `Uniform(min..max)` (default [0, 25)) of alphanumerics; `values[Uniform(0..len)]`; DATE
 *   `Uniform(min..max)·|scale|` days; TIMESTAMP `min + Uniform(min..max)·scale` ms (the range start is added
 *   to the drawn value, as Feldera does); TIME `Uniform(min..max)·scale` ms, wrapping at midnight. Booleans
 *   (and `values` picks of BOOLEAN columns) come from Feldera's unseeded generator, so Feldera has no value to
 *   match: Holdfast draws them from a hash of (seed, index, column), outside the record's stream.
 * - `zipf` (exponent `e`, default 1): a rank k in 1..=n of `Zipf(n, e)`; integers `a + k − 1` over n = b − a
 *   (no range: `k − 1` over n = MAX); floats `a + k − 1`; strings a length `k − 1` over n = the range end;
 *   `values[k − 1]`; booleans `k == 1` over n = 2; DATE `clamp(min + k − 1)`; TIMESTAMP `min + k − 1` ms;
 *   TIME `k − 1` ms.
 * - text strategies for string columns (`word`, `words`, `sentence`, `name`, `email`, `ipv4`, ... every one of
 *   Feldera's): fake data of that kind from the record's stream, see datagen-text.ts (Feldera takes these from
 *   a fake-data library's word lists, which Holdfast does not have: these values differ from Feldera's).
 * UUID columns are u128 values (increment `a + (i·scale mod (b − a))`, no range: mod 2^128 − 1; uniform
 * `Uniform(a..b)·scale` drawn as rand's u128; zipf only with `values`); BINARY / VARBINARY columns are byte
 * arrays whose length follows the strategy over `range` (default [0, 5)) and whose bytes count 0, 1, 2, ...
 * Default ranges (Feldera's): DATE [1970-01-01, 2120-01-02) (54787 days), TIMESTAMP [1970-01-01, 2100-01-01)
 * in ms, TIME one day.
 *
 * Units: DATE ranges and scales are days; TIMESTAMP and TIME are milliseconds (range bounds may also be text:
 * `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` / RFC 3339, `HH:MM:SS`). Integer bounds beyond 2^53 keep their exact
 * value (the connector JSON is read with big integers preserved).
 */
import type { ColumnSchema } from '../../sql/schema.ts';
import type { SqlType } from '../../sql/sql-type.ts';
import { coerceBytes, parseUuidText } from '../../sql/values/bytes.ts';
import { Decimal } from '../../sql/values/decimal.ts';
import { parseJsonValue } from '../../sql/values/format.ts';
import { coerceToLength } from '../../sql/values/strings.ts';
import { parseDate, parseTime, parseTimestamp } from '../../sql/values/temporal.ts';
import type { Value } from '../../zset/value.ts';
import { type ConnectorContext, configError, kindOf, rejectUnknownKeys } from './config.ts';
import {
  alphanumeric,
  drawNull,
  SmallRng,
  UniformFloat,
  UniformInt,
  UniformU128,
  Zipf,
} from './datagen-rng.ts';
import { TEXT_STRATEGIES, textGenerator, textStrategy, textUsesRange } from './datagen-text.ts';

export const DATAGEN_STRATEGIES = ['increment', 'uniform', 'zipf'] as const;
export type DatagenStrategy = (typeof DATAGEN_STRATEGIES)[number];

const FIELD_KEYS = ['strategy', 'range', 'values', 'null_percentage', 'scale', 'e', 'fields', 'key', 'value'];

const TWO32 = 4294967296;

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A record's randomness: Feldera's per-record generator, and side draws outside its stream. */
export class RecordRandom {
  readonly #rng = new SmallRng();
  #seeded = false;
  #seedHi = 0;
  #seedLo = 0;
  #index = 0;

  /** Positions on record `index` (within its plan) of a datagen seeded with `seed` (a u64 below 2^53). */
  at(seed: number, index: number): this {
    this.#seedHi = Math.floor(seed / TWO32);
    this.#seedLo = seed - this.#seedHi * TWO32;
    this.#index = index;
    this.#seeded = false;
    return this;
  }

  /** The record's generator, seeded on first use (records whose columns draw nothing skip the seeding). */
  get rng(): SmallRng {
    if (!this.#seeded) {
      this.#rng.seedRecord(this.#seedHi, this.#seedLo, this.#index);
      this.#seeded = true;
    }
    return this.#rng;
  }

  /** 32 random bits for column `column` of this record that do not consume the record's stream. */
  side(column: number): number {
    let h = mix32(this.#seedLo ^ 0x9e3779b9);
    h = mix32(h ^ this.#seedHi);
    h = mix32(h ^ (this.#index >>> 0));
    h = mix32(h ^ Math.floor(this.#index / TWO32));
    return mix32(h ^ column);
  }
}

// ---------------------------------------------------------------------------------------------------------
// settings

export interface FieldSettings {
  readonly strategy: DatagenStrategy;
  /** A text strategy (`word`, `email`, ...: datagen-text.ts), canonical name; null for the numeric ones. */
  readonly text: string | null;
  readonly range: readonly [unknown, unknown] | null;
  readonly values: readonly unknown[] | null;
  /** Null when not given: Feldera draws the NULL decision only when `null_percentage` is set (even to 0). */
  readonly nullPercentage: number | null;
  readonly scale: number;
  readonly e: number;
}

export const DEFAULT_FIELD: FieldSettings = {
  strategy: 'increment',
  text: null,
  range: null,
  values: null,
  nullPercentage: null,
  scale: 1,
  e: 1,
};

/** Validates one `fields.<column>` object. */
export function fieldSettings(ctx: ConnectorContext, column: string, raw: unknown): FieldSettings {
  const where = `datagen field '${column}'`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw configError(ctx, `${where} must be an object like {"strategy": "uniform", "range": [0, 100]}`);
  const o = raw as Record<string, unknown>;
  rejectUnknownKeys(ctx, o, FIELD_KEYS, where);
  for (const k of ['fields', 'key', 'value']) {
    if (o[k] !== undefined && o[k] !== null)
      throw configError(
        ctx,
        `${where}: '${k}' configures ARRAY/MAP/ROW columns, which Holdfast does not have`,
      );
  }
  const strategy = o.strategy ?? 'increment';
  const text = typeof strategy === 'string' ? textStrategy(strategy) : null;
  if (
    typeof strategy !== 'string' ||
    (!(DATAGEN_STRATEGIES as readonly string[]).includes(strategy) && !text)
  )
    throw configError(
      ctx,
      `${where}: unsupported strategy ${JSON.stringify(strategy)}; supported strategies: ${[...DATAGEN_STRATEGIES, ...TEXT_STRATEGIES].join(', ')}`,
    );
  if (text !== null && o.values !== undefined && o.values !== null)
    throw configError(
      ctx,
      `${where}: 'values' picks values with strategy increment, uniform or zipf, not with '${strategy}'`,
    );
  let range: [unknown, unknown] | null = null;
  if (o.range !== undefined && o.range !== null) {
    if (!Array.isArray(o.range) || o.range.length !== 2)
      throw configError(
        ctx,
        `${where}: 'range' must be a two-element array [start, end), got ${kindOf(o.range)}`,
      );
    range = [o.range[0], o.range[1]];
  }
  let values: unknown[] | null = null;
  if (o.values !== undefined && o.values !== null) {
    if (!Array.isArray(o.values) || o.values.length === 0)
      throw configError(ctx, `${where}: 'values' must be a non-empty array, got ${kindOf(o.values)}`);
    values = o.values;
  }
  // as Feldera documents: `range` is ignored when `values` is set
  if (values !== null) range = null;
  const np = o.null_percentage ?? null;
  if (np !== null && (typeof np !== 'number' || !(np >= 0 && np <= 100)))
    throw configError(ctx, `${where}: 'null_percentage' must be a number from 0 to 100, got ${kindOf(np)}`);
  const scale = o.scale ?? 1;
  if (typeof scale !== 'number' || !Number.isSafeInteger(scale) || scale < 1)
    throw configError(ctx, `${where}: 'scale' must be a positive integer, got ${kindOf(scale)}`);
  const e = o.e ?? 1;
  if (typeof e !== 'number' || !(e > 0) || !Number.isFinite(e))
    throw configError(ctx, `${where}: 'e' (the Zipf exponent) must be a positive number, got ${kindOf(e)}`);
  return {
    strategy: text === null ? (strategy as DatagenStrategy) : 'uniform',
    text,
    range,
    values,
    nullPercentage: np,
    scale,
    e,
  };
}

// ---------------------------------------------------------------------------------------------------------
// generators

/** Generates a column's value for record `i` of a plan; `r` is positioned on the record. */
export type ColumnGenerator = (i: number, r: RecordRandom) => Value;

/** Integer kinds: [MIN, MAX] as Feldera's datagen sees them (i64 values; BIGINT UNSIGNED stops at i64's MAX). */
const INT_LIMITS: Partial<Record<SqlType['kind'], readonly [bigint, bigint]>> = {
  TINYINT: [-128n, 127n],
  SMALLINT: [-32768n, 32767n],
  INTEGER: [-2147483648n, 2147483647n],
  BIGINT: [-(2n ** 63n), 2n ** 63n - 1n],
  UTINYINT: [0n, 255n],
  USMALLINT: [0n, 65535n],
  UINTEGER: [0n, 4294967295n],
  UBIGINT: [0n, 2n ** 63n - 1n],
};

const MS_PER_DAY = 86_400_000;
const DATE_MAX = 54_787; // Feldera's default end for dates, in days: 2120-01-02 (exclusive)
const TIMESTAMP_2100 = 4_102_444_800_000; // ms from 1970-01-01 to 2100-01-01

/** `(i·scale) mod span` for non-negative i and scale, exact for any size. */
function incrMod(i: number, scale: number, span: bigint, spanNum: number): number | bigint {
  const p = i * scale;
  if (p <= Number.MAX_SAFE_INTEGER) return p < spanNum ? p : p % spanNum;
  return (BigInt(i) * BigInt(scale)) % span;
}

function toBig(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

export function columnGenerator(
  ctx: ConnectorContext,
  column: ColumnSchema,
  s: FieldSettings,
  columnIndex: number,
): ColumnGenerator {
  const where = `datagen field '${column.name}'`;
  const t = column.type;
  if (s.nullPercentage !== null && s.nullPercentage > 0 && !t.nullable)
    throw configError(
      ctx,
      `${where}: 'null_percentage' needs a nullable column, but '${column.name}' is NOT NULL`,
    );
  const base = valueGenerator(ctx, column, s, where, columnIndex);
  // Feldera draws the NULL decision for every type but TIME, whenever null_percentage is given
  if (s.nullPercentage === null || t.kind === 'TIME') return base;
  const np = s.nullPercentage;
  return (i, r) => (drawNull(r.rng, np) ? null : base(i, r));
}

function valueGenerator(
  ctx: ConnectorContext,
  column: ColumnSchema,
  s: FieldSettings,
  where: string,
  columnIndex: number,
): ColumnGenerator {
  const t = column.type;
  const bad = (msg: string) => configError(ctx, `${where}: ${msg}`);
  if (s.values !== null) {
    const vals = s.values.map((v, j) => {
      try {
        return parseJsonValue(v, t, column.name);
      } catch (e) {
        throw bad(`values[${j}]: ${(e as Error).message}`);
      }
    });
    const n = vals.length;
    const pick = (k: number) => vals[k] as Value;
    switch (s.strategy) {
      case 'increment':
        return (i) => pick(i % n);
      case 'uniform': {
        // BOOLEAN columns pick from Feldera's unseeded generator: a side draw here
        if (t.kind === 'BOOLEAN') return (_i, r) => pick(r.side(columnIndex) % n);
        const u = new UniformInt(0n, BigInt(n));
        return (_i, r) => pick(u.offset(r.rng));
      }
      case 'zipf': {
        const z = new Zipf(n, s.e);
        return (_i, r) => pick(z.sample(r.rng) - 1);
      }
    }
  }
  if (s.text !== null && t.kind !== 'CHAR' && t.kind !== 'VARCHAR')
    throw bad(
      `strategy '${s.text}' generates text, but '${column.name}' is ${column.type.kind}; use increment, uniform or zipf`,
    );
  switch (t.kind) {
    case 'NULL':
      return () => null;
    case 'BOOLEAN':
      if (s.range !== null) throw bad(`'range' does not apply to BOOLEAN columns`);
      switch (s.strategy) {
        case 'increment':
          return (i) => i % 2 === 1;
        case 'uniform':
          return (_i, r) => r.side(columnIndex) >= 0x80000000;
        case 'zipf': {
          const z = new Zipf(2, s.e);
          return (_i, r) => z.sample(r.rng) === 1;
        }
      }
      break;
    case 'CHAR':
    case 'VARCHAR':
      return stringGenerator(ctx, column, s, where);
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'UBIGINT':
      return integerGenerator(ctx, column, s, where);
    case 'REAL':
    case 'DOUBLE':
    case 'DECIMAL':
      return floatGenerator(ctx, column, s, where);
    case 'DATE':
      return dateGenerator(ctx, s, where);
    case 'TIMESTAMP':
      return timestampGenerator(ctx, s, where);
    case 'TIME':
      return timeGenerator(ctx, s, where);
    case 'UUID':
      return uuidGenerator(ctx, s, where);
    case 'BINARY':
    case 'VARBINARY':
      return bytesGenerator(ctx, column, s, where);
    case 'INTERVAL_YM':
    case 'INTERVAL_DT':
    case 'ARRAY':
    case 'MAP':
    case 'ROW':
    case 'VARIANT':
      throw bad(`datagen does not generate ${t.kind} columns yet`);
  }
  throw bad('cannot generate values of this type');
}

/** A range bound as an exact integer: a JSON integer (big ones arrive as bigint), or text via `parse`. */
function intBound(
  ctx: ConnectorContext,
  where: string,
  v: unknown,
  what: string,
  parse?: (text: string) => bigint,
): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && parse) {
    try {
      return parse(v.trim());
    } catch (e) {
      throw configError(ctx, `${where}: range ${what} ${JSON.stringify(v)}: ${(e as Error).message}`);
    }
  }
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
  throw configError(
    ctx,
    `${where}: range ${what} must be an integer${parse ? ' or text' : ''}, got ${kindOf(v)}`,
  );
}

function intRange(
  ctx: ConnectorContext,
  s: FieldSettings,
  where: string,
  parse?: (text: string) => bigint,
): [bigint, bigint] | null {
  if (s.range === null) return null;
  const lo = intBound(ctx, where, s.range[0], 'start', parse);
  const hi = intBound(ctx, where, s.range[1], 'end', parse);
  if (lo >= hi)
    throw configError(
      ctx,
      `${where}: range [${String(s.range[0])}, ${String(s.range[1])}) is empty: the start must be below the end`,
    );
  return [lo, hi];
}

function integerGenerator(
  ctx: ConnectorContext,
  column: ColumnSchema,
  s: FieldSettings,
  where: string,
): ColumnGenerator {
  const kind = column.type.kind;
  const [min, max] = INT_LIMITS[kind] as readonly [bigint, bigint];
  const big = kind === 'BIGINT' || kind === 'UBIGINT';
  const toValue = big ? (v: number | bigint) => toBig(v) : (v: number | bigint) => Number(v);
  const range = intRange(ctx, s, where);
  const typeMax = kind === 'UBIGINT' ? 2n ** 64n - 1n : max;
  const fits = (lo: bigint, hi: bigint) => lo >= min && hi <= typeMax;
  if (range !== null && !fits(range[0], range[1] - 1n))
    throw configError(ctx, `${where}: range [${range[0]}, ${range[1]}) exceeds the range of ${kind}`);
  const scale = BigInt(s.scale);
  switch (s.strategy) {
    case 'increment': {
      const [a, span] = range === null ? [0n, max] : [range[0], range[1] - range[0]];
      const spanNum = Number(span);
      if (!big || (a === 0n && span <= 2n ** 53n)) {
        const an = Number(a);
        return (i) => toValue(an + Number(incrMod(i, s.scale, span, spanNum)));
      }
      return (i) => toValue(a + toBig(incrMod(i, s.scale, span, spanNum)));
    }
    case 'uniform': {
      const [lo, hi] = range ?? [min, max];
      if (s.scale !== 1 && !fits(lo * scale, (hi - 1n) * scale))
        throw configError(
          ctx,
          `${where}: uniform values of [${lo}, ${hi}) times scale ${s.scale} exceed the range of ${kind}`,
        );
      const u = new UniformInt(lo, hi);
      if (u.small && s.scale === 1 && !big) {
        const low = Number(lo);
        return (_i, r) => low + u.offset(r.rng);
      }
      if (s.scale === 1) return (_i, r) => toValue(u.big(r.rng));
      return (_i, r) => toValue(BigInt.asIntN(64, u.big(r.rng) * scale));
    }
    case 'zipf': {
      const [a, n] = range === null ? [0n, max] : [range[0], range[1] - range[0]];
      const z = new Zipf(Number(n), s.e);
      if (!big) {
        const an = Number(a);
        return (_i, r) => an + z.sample(r.rng) - 1;
      }
      return (_i, r) => a + BigInt(z.sample(r.rng) - 1);
    }
  }
}

function floatGenerator(
  ctx: ConnectorContext,
  column: ColumnSchema,
  s: FieldSettings,
  where: string,
): ColumnGenerator {
  const t = column.type;
  const bad = (msg: string) => configError(ctx, `${where}: ${msg}`);
  let range: [number, number] | null = null;
  if (s.range !== null) {
    const num = (v: unknown) =>
      typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    const lo = num(s.range[0]);
    const hi = num(s.range[1]);
    if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi))
      throw bad(`range bounds must be numbers, got [${String(s.range[0])}, ${String(s.range[1])}]`);
    if (lo >= hi) throw bad(`range [${lo}, ${hi}) is empty: the start must be below the end`);
    range = [lo, hi];
  }
  let toValue: (v: number) => Value;
  if (t.kind === 'DECIMAL') {
    const p = t.precision;
    const sc = Math.max(0, t.scale ?? 0);
    if (
      range !== null &&
      p != null &&
      (Math.abs(range[0]) > 10 ** (p - sc) || Math.abs(range[1]) > 10 ** (p - sc))
    )
      throw bad(
        `range [${range[0]}, ${range[1]}) exceeds DECIMAL(${p}, ${t.scale ?? 0}) (absolute values below 10^${p - sc})`,
      );
    // Feldera hands the f64 to its JSON parser: the number's shortest text, fitted to the column's scale
    const unit = 10 ** sc;
    toValue = (v) => {
      try {
        return parseJsonValue(v, t, column.name);
      } catch {
        // rounding up past the largest value of DECIMAL(p, s): truncate instead, staying inside the range
        return new Decimal(BigInt(Math.trunc(v * unit)), sc);
      }
    };
    if (range === null) {
      // Feldera has no usable default (uniform over all f64 fails there): [0, 10^(p−s)), at most 10^6
      range = [0, p == null ? 1e6 : 10 ** Math.min(15, p - sc)];
      if (s.strategy === 'increment') range = p == null ? null : range;
    }
  } else {
    toValue = t.kind === 'REAL' ? (v) => Math.fround(v) : (v) => v;
  }
  switch (s.strategy) {
    case 'increment':
      if (range === null) return (i) => toValue(i * s.scale);
      {
        const [a, b] = range;
        const span = b - a;
        return (i) => toValue(a + ((i * s.scale) % span));
      }
    case 'uniform': {
      // Feldera's uniform over all of f64 fails (the range overflows): [0, 1) here
      const [lo, hi] = range ?? [0, 1];
      const u = new UniformFloat(lo, hi);
      return (_i, r) => toValue(u.sample(r.rng) * s.scale);
    }
    case 'zipf': {
      // n = (b − a) as u64 (truncated); without a range, Feldera's n is u64::MAX
      const [a, n] = range === null ? [0, 2 ** 64] : [range[0], Math.trunc(range[1] - range[0])];
      if (n < 1) throw bad(`zipf needs a range at least 1 wide, got [${range?.[0]}, ${range?.[1]})`);
      const z = new Zipf(n, s.e);
      return (_i, r) => toValue(a + (z.sample(r.rng) - 1));
    }
  }
}

function dateGenerator(ctx: ConnectorContext, s: FieldSettings, where: string): ColumnGenerator {
  const [min, max] = intRange(ctx, s, where, (x) => BigInt(parseDate(x))) ?? [0n, BigInt(DATE_MAX)];
  const lo = Number(min);
  const span = Number(max - min);
  switch (s.strategy) {
    case 'increment':
      return (i) => lo + Number(incrMod(i, s.scale, max - min, span));
    case 'uniform': {
      const u = new UniformInt(min, max);
      const scale = Math.abs(s.scale);
      return (_i, r) => (lo + u.offset(r.rng)) * scale;
    }
    case 'zipf': {
      const z = new Zipf(span, s.e);
      return (_i, r) => Math.min(lo + z.sample(r.rng) - 1, lo + span);
    }
  }
}

function timestampGenerator(ctx: ConnectorContext, s: FieldSettings, where: string): ColumnGenerator {
  const [min, max] = intRange(ctx, s, where, (x) => BigInt(Math.floor(parseTimestamp(x) / 1000))) ?? [
    0n,
    BigInt(TIMESTAMP_2100),
  ];
  const lo = Number(min);
  const span = Number(max - min);
  switch (s.strategy) {
    case 'increment':
      return (i) => (lo + Number(incrMod(i, s.scale, max - min, span))) * 1000;
    case 'uniform': {
      // the instant drawn in [min, max) (× scale, as DATE). Feldera's older datagen added it to min once more,
      // which put a 2024 range around 2078 (its issue #2714, fixed since): values stay inside the range here
      const u = new UniformInt(min, max);
      return (_i, r) => (lo + u.offset(r.rng)) * s.scale * 1000;
    }
    case 'zipf': {
      const z = new Zipf(span, s.e);
      return (_i, r) => (lo + z.sample(r.rng) - 1) * 1000;
    }
  }
}

function timeGenerator(ctx: ConnectorContext, s: FieldSettings, where: string): ColumnGenerator {
  const range = intRange(ctx, s, where, (x) => BigInt(Math.floor(parseTime(x) / 1000)));
  if (range !== null && (range[0] < 0n || range[1] < 0n))
    throw configError(ctx, `${where}: a TIME range must not be negative (milliseconds from midnight)`);
  const [min, max] = range ?? [0n, BigInt(MS_PER_DAY)];
  const lo = Number(min);
  const span = Number(max - min);
  // NaiveTime + milliseconds wraps at midnight
  const wrap = (ms: number) => (ms % MS_PER_DAY) * 1000;
  switch (s.strategy) {
    case 'increment':
      return (i) => wrap(lo + Number(incrMod(i, s.scale, max - min, span)));
    case 'uniform': {
      const u = new UniformInt(min, max);
      return (_i, r) => wrap((lo + u.offset(r.rng)) * s.scale);
    }
    case 'zipf': {
      const z = new Zipf(span, s.e);
      return (_i, r) => wrap(z.sample(r.rng) - 1);
    }
  }
}

/** The hex of bytes 0, 1, 2, ... (Feldera fills generated byte arrays with its default element strategy: k mod 255). */
function countingBytes(len: number): string {
  let hex = '';
  for (let k = 0; k < len; k++) hex += (k % 255).toString(16).padStart(2, '0');
  return hex;
}

/**
 * BINARY / VARBINARY columns, as Feldera's byte arrays: a length by the strategy over `range` (default [0, 5)),
 * increment `a + (i·scale mod (b − a))`, uniform `Uniform(a..b)·scale`, zipf `k − 1` over n = b − a; the bytes
 * count 0, 1, 2, ... A BINARY(n) / VARBINARY(n) value longer than n is cut to n bytes (Feldera rejects it).
 */
function bytesGenerator(
  ctx: ConnectorContext,
  column: ColumnSchema,
  s: FieldSettings,
  where: string,
): ColumnGenerator {
  const [lo, hi] = s.range === null ? [0, 5] : lengthRange(ctx, s, where, 'length');
  const n = column.type.length;
  const fit = (len: number) => coerceBytes(countingBytes(len), n, true, 'InvalidRecord');
  switch (s.strategy) {
    case 'increment':
      return (i) => fit(lo + ((i * s.scale) % (hi - lo)));
    case 'uniform': {
      const u = new UniformInt(BigInt(lo), BigInt(hi));
      return (_i, r) => fit((lo + u.offset(r.rng)) * s.scale);
    }
    case 'zipf': {
      const z = new Zipf(hi - lo, s.e);
      return (_i, r) => fit(z.sample(r.rng) - 1);
    }
  }
}

const U128_MAX = (1n << 128n) - 1n;

function uuidText(v: bigint): string {
  const h = v.toString(16).padStart(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** UUID columns as u128: increment `(i·scale mod (b − a)) + a` (no range: mod 2^128 − 1), uniform `Uniform(a..b)·scale`. */
function uuidGenerator(ctx: ConnectorContext, s: FieldSettings, where: string): ColumnGenerator {
  let range: [bigint, bigint] | null = null;
  if (s.range !== null) {
    const bound = (v: unknown, what: string): bigint => {
      try {
        if (typeof v !== 'string') throw new Error(`expected a UUID string, got ${kindOf(v)}`);
        return BigInt(`0x${parseUuidText(v, 'SqlPropertyError').replaceAll('-', '')}`);
      } catch (e) {
        throw configError(ctx, `${where}: range ${what}: ${(e as Error).message}`);
      }
    };
    range = [bound(s.range[0], 'start'), bound(s.range[1], 'end')];
    if (range[0] >= range[1])
      throw configError(ctx, `${where}: range is empty: the start must be below the end`);
  }
  const scale = BigInt(s.scale);
  const [a, span] = range === null ? [0n, U128_MAX] : [range[0], range[1] - range[0]];
  switch (s.strategy) {
    case 'increment':
      return (i) => uuidText(a + ((BigInt(i) * scale) % span));
    case 'uniform': {
      const u = new UniformU128(a, range === null ? U128_MAX : range[1]);
      return (_i, r) => uuidText((u.sample(r.rng) * scale) & U128_MAX);
    }
    case 'zipf':
      throw configError(ctx, `${where}: strategy zipf needs 'values' for UUID columns`);
  }
}

function stringGenerator(
  ctx: ConnectorContext,
  column: ColumnSchema,
  s: FieldSettings,
  where: string,
): ColumnGenerator {
  const t = column.type;
  const kind = t.kind === 'CHAR' ? 'CHAR' : 'VARCHAR';
  const fit = (text: string): string => {
    const v = coerceToLength(text, kind, t.length, true);
    return kind === 'CHAR' && t.length != null ? v.padEnd(t.length, ' ') : v;
  };
  if (s.text !== null) {
    const range =
      textUsesRange(s.text) && s.range !== null ? lengthRange(ctx, s, where, 'count or length') : null;
    const gen = textGenerator(s.text, range);
    return (_i, r) => fit(gen(r.rng));
  }
  switch (s.strategy) {
    case 'increment':
      if (s.range !== null)
        throw configError(
          ctx,
          `${where}: 'range' with strategy increment does not apply to string columns; use 'values'`,
        );
      return (i) => fit(String(i * s.scale));
    case 'zipf': {
      // Feldera: a length k − 1 of Zipf(n = the range end, default 25)
      const [, hi] = s.range === null ? [0, 25] : lengthRange(ctx, s, where, 'length');
      const z = new Zipf(hi, s.e);
      return (_i, r) => fit(alphanumeric(r.rng, z.sample(r.rng) - 1));
    }
    case 'uniform': {
      // Feldera's default length range for strings: [0, 25)
      const [lo, hi] = s.range === null ? [0, 25] : lengthRange(ctx, s, where, 'length');
      const u = new UniformInt(BigInt(lo), BigInt(hi));
      return (_i, r) => fit(alphanumeric(r.rng, lo + u.offset(r.rng)));
    }
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A string strategy's `range` as [min, max) of non-negative integers (a length or a count). */
function lengthRange(ctx: ConnectorContext, s: FieldSettings, where: string, what: string): [number, number] {
  const [a, b] = s.range ?? [];
  if (!isCount(a) || !isCount(b) || a >= b)
    throw configError(
      ctx,
      `${where}: for strings 'range' is the ${what} range [min, max) of non-negative integers, got [${String(a)}, ${String(b)}]`,
    );
  return [a, b];
}
