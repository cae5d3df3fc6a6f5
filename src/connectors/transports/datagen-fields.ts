/**
 * Datagen column generators: one per column of a plan, turning (row index, random draws) into an engine value.
 *
 * Determinism: a row's values depend only on (seed, plan number, row index within the plan, column number),
 * through a counter-based hash generator ({@link RowRandom}) — never on batching, timing or earlier rows — so
 * generation can restart at any row and give the same rows.
 *
 * Strategies (Feldera's names; others are rejected):
 * - `increment` (default): the row index times `scale`, offset into `range` [a, b) and wrapping inside it
 *   (`a + (i·scale mod (b − a))`); without a range, inside the type's range (integers, decimals, times of day)
 *   or from the epoch (dates, wrapping at year 10000; timestamps, wrapping at 2070). With `values`: `values[i·scale mod len]`. Booleans alternate
 *   false/true; strings are the number's text.
 * - `uniform`: uniformly random in `range` (default: the type's range for integers, [0, 1) for floats,
 *   [0, 10^(p−s)) for decimals, 1970..2070 for dates and timestamps, a whole day for times), or a random pick
 *   from `values`; strings are random alphanumerics whose length is uniform in `range` (default [0, 25), as
 *   Feldera's).
 * - `zipf`: a Zipf-distributed rank k ≥ 0 (exponent `e`, default 1) over the range size n (or the `values`),
 *   giving `a + k` (or `values[k]`); small ranks are the most frequent. Sampled by inverting the continuous
 *   approximation of the distribution, so frequencies follow the power law approximately.
 * - text strategies for string columns (`word`, `words`, `sentence`, `name`, `email`, `ipv4`, `company_name`,
 *   `isbn13`, ... every one of Feldera's): fake data of that kind, see datagen-text.ts.
 * `null_percentage` (0–100) makes that share of values NULL (nullable columns only).
 *
 * Units: DATE ranges and scales are days; TIMESTAMP and TIME are milliseconds (range bounds may also be text:
 * `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` / RFC 3339, `HH:MM:SS`).
 */
import type { ColumnSchema } from '../../sql/schema.ts';
import type { SqlType } from '../../sql/sql-type.ts';
import { Decimal } from '../../sql/values/decimal.ts';
import { parseJsonValue } from '../../sql/values/format.ts';
import { coerceToLength } from '../../sql/values/strings.ts';
import { parseDate, parseTime, parseTimestamp } from '../../sql/values/temporal.ts';
import type { Value } from '../../zset/value.ts';
import { type ConnectorContext, configError, kindOf, rejectUnknownKeys } from './config.ts';
import { TEXT_STRATEGIES, textGenerator, textStrategy, textUsesRange } from './datagen-text.ts';

export const DATAGEN_STRATEGIES = ['increment', 'uniform', 'zipf'] as const;
export type DatagenStrategy = (typeof DATAGEN_STRATEGIES)[number];

const FIELD_KEYS = ['strategy', 'range', 'values', 'null_percentage', 'scale', 'e', 'fields', 'key', 'value'];

// ---------------------------------------------------------------------------------------------------------
// counter-based random numbers

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function combine(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

const TWO32 = 4294967296;

/** Random draws for one (seed, plan, row, column) cell: draw d always gives the same number. */
export class RowRandom {
  #base = 0;

  /** Positions the generator on a cell. */
  at(seed: number, plan: number, row: number, column: number): this {
    let h = combine(0x2545f491, seed >>> 0);
    h = combine(h, Math.floor(seed / TWO32) >>> 0);
    h = combine(h, plan);
    h = combine(h, row >>> 0);
    h = combine(h, Math.floor(row / TWO32) >>> 0);
    h = combine(h, column);
    this.#base = mix32(h);
    return this;
  }

  /** Draw number `d` as 32 random bits. */
  u32(d: number): number {
    return mix32(combine(this.#base, d));
  }

  /** Draw number `d` as a double in [0, 1). */
  unit(d: number): number {
    const a = this.u32(2 * d) >>> 5;
    const b = this.u32(2 * d + 1) >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Draw number `d` as 64 random bits. */
  u64(d: number): bigint {
    return (BigInt(this.u32(2 * d)) << 32n) | BigInt(this.u32(2 * d + 1));
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
  readonly nullPercentage: number;
  readonly scale: number;
  readonly e: number;
}

export const DEFAULT_FIELD: FieldSettings = {
  strategy: 'increment',
  text: null,
  range: null,
  values: null,
  nullPercentage: 0,
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
  if (range !== null && values !== null)
    throw configError(ctx, `${where}: give either 'range' or 'values', not both`);
  const np = o.null_percentage ?? 0;
  if (typeof np !== 'number' || !(np >= 0 && np <= 100))
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

/** Generates column `column`'s value for row `i` of a plan; `r` is positioned on the cell. */
export type ColumnGenerator = (i: number, r: RowRandom) => Value;

type Domain =
  | { readonly k: 'int'; readonly lo: bigint; readonly hi: bigint; readonly toValue: (v: bigint) => Value }
  | { readonly k: 'float'; readonly lo: number; readonly hi: number; readonly toValue: (v: number) => Value }
  | { readonly k: 'bool' }
  | { readonly k: 'string' }
  | { readonly k: 'null' };

const INT_BITS: Partial<Record<SqlType['kind'], bigint>> = {
  TINYINT: 8n,
  SMALLINT: 16n,
  INTEGER: 32n,
  BIGINT: 64n,
};

const MS_PER_DAY = 86_400_000;
const DATE_2070 = 36_524; // days from 1970-01-01 to 2070-01-01
const DATE_10000 = 2_932_897; // days from 1970-01-01 to 10000-01-01

/** Zipf rank in [0, n) for a uniform u in [0, 1), exponent e (inverse of the continuous approximation). */
export function zipfRank(u: number, n: number, e: number): number {
  if (n <= 1) return 0;
  let x: number;
  if (Math.abs(e - 1) < 1e-9) x = (n + 1) ** u;
  else {
    const a = 1 - e;
    x = (((n + 1) ** a - 1) * u + 1) ** (1 / a);
  }
  const k = Math.floor(x) - 1;
  return k < 0 ? 0 : k >= n ? n - 1 : k;
}

export function columnGenerator(
  ctx: ConnectorContext,
  column: ColumnSchema,
  s: FieldSettings,
): ColumnGenerator {
  const where = `datagen field '${column.name}'`;
  const t = column.type;
  if (s.nullPercentage > 0 && !t.nullable)
    throw configError(
      ctx,
      `${where}: 'null_percentage' needs a nullable column, but '${column.name}' is NOT NULL`,
    );
  const base = valueGenerator(ctx, column, s, where);
  if (s.nullPercentage === 0) return base;
  const p = s.nullPercentage / 100;
  return (i, r) => (r.unit(0x3fffffff) < p ? null : base(i, r));
}

function valueGenerator(
  ctx: ConnectorContext,
  column: ColumnSchema,
  s: FieldSettings,
  where: string,
): ColumnGenerator {
  const t = column.type;
  if (s.values !== null) {
    const vals = s.values.map((v, j) => {
      try {
        return parseJsonValue(v, t, column.name);
      } catch (e) {
        throw configError(ctx, `${where}: values[${j}]: ${(e as Error).message}`);
      }
    });
    const n = vals.length;
    const pick = (k: number) => vals[k] as Value;
    switch (s.strategy) {
      case 'increment':
        return (i) => pick((i * s.scale) % n);
      case 'uniform':
        return (_i, r) => pick(Math.floor(r.unit(0) * n));
      case 'zipf':
        return (_i, r) => pick(zipfRank(r.unit(0), n, s.e));
    }
  }
  const d = domain(ctx, column, s, where);
  if (s.text !== null && d.k !== 'string')
    throw configError(
      ctx,
      `${where}: strategy '${s.text}' generates text, but '${column.name}' is ${column.type.kind}; use increment, uniform or zipf`,
    );
  switch (d.k) {
    case 'null':
      return () => null;
    case 'bool':
      if (s.range !== null) throw configError(ctx, `${where}: 'range' does not apply to BOOLEAN columns`);
      return s.strategy === 'increment'
        ? (i) => ((i * s.scale) & 1) === 1
        : (_i, r) => r.u32(0) >= 0x80000000;
    case 'string':
      return stringGenerator(ctx, column, s, where);
    case 'int': {
      const { lo, hi, toValue } = d;
      const span = hi - lo;
      const scale = BigInt(s.scale);
      switch (s.strategy) {
        case 'increment':
          return (i) => toValue(lo + ((BigInt(i) * scale) % span));
        case 'uniform':
          return (_i, r) => toValue(lo + (r.u64(0) % span));
        case 'zipf': {
          const n = Number(span);
          return (_i, r) => toValue(lo + BigInt(zipfRank(r.unit(0), n, s.e)));
        }
      }
      break;
    }
    case 'float': {
      const { lo, hi, toValue } = d;
      const span = hi - lo;
      switch (s.strategy) {
        case 'increment':
          return Number.isFinite(span)
            ? (i) => toValue(lo + ((i * s.scale) % span))
            : (i) => toValue(lo + i * s.scale);
        case 'uniform':
          return (_i, r) => toValue(lo + r.unit(0) * span);
        case 'zipf': {
          const n = Math.max(1, Math.floor(span));
          return (_i, r) => toValue(lo + zipfRank(r.unit(0), n, s.e));
        }
      }
    }
  }
  throw configError(ctx, `${where}: cannot generate values of this type`);
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

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
    return (_i, r) => fit(gen(r));
  }
  switch (s.strategy) {
    case 'increment':
      if (s.range !== null)
        throw configError(
          ctx,
          `${where}: 'range' with strategy increment does not apply to string columns; use 'values'`,
        );
      return (i) => fit(String(i * s.scale));
    case 'zipf':
      if (s.range !== null)
        throw configError(
          ctx,
          `${where}: 'range' with strategy zipf does not apply to string columns; use 'values'`,
        );
      return (_i, r) => fit(String(zipfRank(r.unit(0), 1000, s.e)));
    case 'uniform': {
      // Feldera's default length range for strings: [0, 25)
      const [lo, hi] = s.range === null ? [0, 25] : lengthRange(ctx, s, where, 'length');
      return (_i, r) => {
        const len = lo + Math.floor(r.unit(0) * (hi - lo));
        let out = '';
        for (let k = 0; k < len; k++) out += ALNUM[r.u32(k + 1) % ALNUM.length];
        return fit(out);
      };
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
      `${where}: for strings 'range' is the ${what} range [min, max) of non-negative integers, got ${JSON.stringify(s.range)}`,
    );
  return [a, b];
}

function domain(ctx: ConnectorContext, column: ColumnSchema, s: FieldSettings, where: string): Domain {
  const t = column.type;
  const bad = (msg: string) => configError(ctx, `${where}: ${msg}`);
  const intBound = (v: unknown, what: string, parse?: (text: string) => bigint): bigint => {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    if (typeof v === 'string' && parse) {
      try {
        return parse(v);
      } catch (e) {
        throw bad(`range ${what} ${JSON.stringify(v)}: ${(e as Error).message}`);
      }
    }
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
    throw bad(`range ${what} must be an integer${parse ? ' or text' : ''}, got ${kindOf(v)}`);
  };
  const intRange = (dlo: bigint, dhi: bigint, parse?: (text: string) => bigint): [bigint, bigint] => {
    if (s.range === null) return [dlo, dhi];
    const lo = intBound(s.range[0], 'start', parse);
    const hi = intBound(s.range[1], 'end', parse);
    if (lo >= hi) throw bad(`range [${s.range[0]}, ${s.range[1]}) is empty: the start must be below the end`);
    return [lo, hi];
  };
  switch (t.kind) {
    case 'NULL':
      return { k: 'null' };
    case 'BOOLEAN':
      return { k: 'bool' };
    case 'CHAR':
    case 'VARCHAR':
      return { k: 'string' };
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT': {
      const bits = INT_BITS[t.kind] as bigint;
      const min = -(1n << (bits - 1n));
      const max = (1n << (bits - 1n)) - 1n;
      // without a range, increment counts up from 0 and wraps around the type's range
      if (s.range === null && s.strategy === 'increment') {
        return {
          k: 'int',
          lo: 0n,
          hi: 1n << bits,
          toValue:
            t.kind === 'BIGINT' ? (v) => BigInt.asIntN(64, v) : (v) => Number(BigInt.asIntN(Number(bits), v)),
        };
      }
      const [lo, hi] = intRange(min, max + 1n);
      if (lo < min || hi > max + 1n)
        throw bad(`range [${s.range?.[0]}, ${s.range?.[1]}) exceeds the range of ${t.kind}`);
      return { k: 'int', lo, hi, toValue: t.kind === 'BIGINT' ? (v) => v : (v) => Number(v) };
    }
    case 'BINARY':
    case 'VARBINARY':
    case 'UUID':
    case 'INTERVAL_YM':
    case 'INTERVAL_DT':
    case 'ARRAY':
    case 'MAP':
    case 'ROW':
    case 'VARIANT':
      throw bad(`datagen does not generate ${t.kind} columns yet`);
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'UBIGINT': {
      // Feldera's unsigned integers: 0 .. 2^bits − 1 (increment without a range wraps around it)
      const bits = { UTINYINT: 8n, USMALLINT: 16n, UINTEGER: 32n, UBIGINT: 64n }[t.kind];
      const toValue =
        t.kind === 'UBIGINT'
          ? (v: bigint) => BigInt.asUintN(64, v)
          : (v: bigint) => Number(BigInt.asUintN(Number(bits), v));
      if (s.range === null && s.strategy === 'increment')
        return { k: 'int', lo: 0n, hi: 1n << bits, toValue };
      const [lo, hi] = intRange(0n, 1n << bits);
      if (lo < 0n || hi > 1n << bits)
        throw bad(`range [${s.range?.[0]}, ${s.range?.[1]}) exceeds the range of ${t.kind}`);
      return { k: 'int', lo, hi, toValue };
    }
    case 'DATE': {
      const [lo, hi] = intRange(
        0n,
        s.strategy === 'increment' ? BigInt(DATE_10000) : BigInt(DATE_2070),
        (x) => BigInt(parseDate(x.trim())),
      );
      return { k: 'int', lo, hi, toValue: (v) => Number(v) };
    }
    case 'TIMESTAMP': {
      const [lo, hi] = intRange(0n, BigInt(DATE_2070 * MS_PER_DAY), (x) =>
        BigInt(Math.floor(parseTimestamp(x.trim()) / 1000)),
      );
      return { k: 'int', lo, hi, toValue: (v) => Number(v) * 1000 };
    }
    case 'TIME': {
      const [lo, hi] = intRange(0n, BigInt(MS_PER_DAY), (x) =>
        BigInt(Math.floor(parseTime(x.trim()) / 1000)),
      );
      if (lo < 0n || hi > BigInt(MS_PER_DAY))
        throw bad('a TIME range must lie within one day (0 to 86400000 ms)');
      return { k: 'int', lo, hi, toValue: (v) => Number(v) * 1000 };
    }
    case 'REAL':
    case 'DOUBLE':
    case 'DECIMAL': {
      let lo: number;
      let hi: number;
      if (s.range !== null) {
        const [a, b] = s.range;
        const num = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v);
        lo = num(a) as number;
        hi = num(b) as number;
        if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi))
          throw bad(`range bounds must be numbers, got ${JSON.stringify(s.range)}`);
        if (lo >= hi) throw bad(`range [${a}, ${b}) is empty: the start must be below the end`);
      } else if (t.kind === 'DECIMAL') {
        const whole = t.precision == null ? null : 10 ** Math.min(15, t.precision - (t.scale ?? 0));
        lo = 0;
        hi = whole ?? (s.strategy === 'increment' ? Infinity : 1e6);
      } else {
        lo = 0;
        hi = s.strategy === 'increment' ? Infinity : 1;
      }
      if (t.kind !== 'DECIMAL') {
        const real = t.kind === 'REAL';
        return { k: 'float', lo, hi, toValue: real ? (v) => Math.fround(v) : (v) => v };
      }
      const p = t.precision;
      const sc = Math.max(0, t.scale ?? 0);
      if (p != null && (Math.abs(lo) > 10 ** (p - sc) || Math.abs(hi) > 10 ** (p - sc)))
        throw bad(
          `range [${lo}, ${hi}) exceeds DECIMAL(${p}, ${t.scale ?? 0}) (absolute values below 10^${p - sc})`,
        );
      const unit = 10 ** sc;
      return {
        k: 'float',
        lo,
        hi,
        // truncate (not round) to the scale, so values stay inside [lo, hi)
        toValue: (v) =>
          p == null
            ? Decimal.parse(Number.isInteger(v) ? BigInt(v).toString() : String(v))
            : new Decimal(BigInt(Math.floor(v * unit)), sc).withTypmod(p, sc, 'InvalidRecord'),
      };
    }
  }
}
