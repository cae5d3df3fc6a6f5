/**
 * `datagen`: generates rows for a table from a list of plans (Feldera's datagen connector).
 *
 * Config: `plan` (list; default one plan with default fields and no limit), `seed` (integer; default random),
 * `workers` and `transaction_size` (accepted, ignored: one generator, no transactions). A plan: `limit` (rows;
 * null = unbounded, 0 = none), `rate` (rows per second; null = as fast as backpressure allows),
 * `worker_chunk_size` (rows per push; default min(rate, 10000)), `fields` {column: settings} (see
 * `datagen-fields.ts`; columns not listed use `increment`). Unknown keys are rejected, as in Feldera.
 *
 * Plans run one after the other. Rows are numbered globally from 0 across plans; the position is the index of
 * the next row (plus the seed), and row k is a pure function of (seed, k), so restarting at position k gives
 * exactly the rows k, k+1, ... that the first run would have produced. Within a plan, the row at plan index j
 * is the record Feldera's datagen makes for index j with the same seed (datagen-fields.ts, datagen-rng.ts).
 */

import type { ColumnSchema, TableSchema } from '../../sql/schema.ts';
import type { Value } from '../../zset/value.ts';
import type { ParsedChange } from '../formats/parse-result.ts';
import {
  asObject,
  type ConnectorContext,
  type ConnectorSpec,
  configError,
  kindOf,
  optionalInt,
  rejectUnknownKeys,
} from './config.ts';
import {
  type ColumnGenerator,
  columnGenerator,
  DEFAULT_FIELD,
  fieldSettings,
  RecordRandom,
} from './datagen-fields.ts';
import { InputRun } from './input-run.ts';
import { sleep, yieldToEventLoop } from './run-control.ts';
import type {
  ConnectorHost,
  ConnectorLog,
  DatagenPosition,
  InputPosition,
  RunningConnector,
} from './types.ts';

const CONFIG_KEYS = ['plan', 'seed', 'workers', 'transaction_size'];
const PLAN_KEYS = ['limit', 'rate', 'worker_chunk_size', 'fields'];
const MAX_CHUNK = 10_000;

export interface DatagenPlan {
  readonly limit: number | null;
  readonly rate: number | null;
  readonly chunk: number;
  readonly columns: readonly ColumnGenerator[];
}

export interface Datagen {
  /** Null when the config has no seed (a random one is picked at start). */
  readonly seed: number | null;
  readonly plans: readonly DatagenPlan[];
}

/** Validates a datagen config against the table. @throws ServiceError naming the connector. */
export function compileDatagen(
  ctx: ConnectorContext,
  config: Readonly<Record<string, unknown>>,
  table: TableSchema,
): Datagen {
  rejectUnknownKeys(ctx, config, CONFIG_KEYS, 'the datagen config');
  let seed: number | null = null;
  if (config.seed !== undefined && config.seed !== null) {
    if (typeof config.seed !== 'number' || !Number.isSafeInteger(config.seed) || config.seed < 0)
      throw configError(ctx, `'seed' must be a non-negative integer, got ${kindOf(config.seed)}`);
    seed = config.seed;
  }
  optionalInt(ctx, config.workers, 'workers', 1);
  optionalInt(ctx, config.transaction_size, 'transaction_size', 1);
  const rawPlans = config.plan ?? [{}];
  if (!Array.isArray(rawPlans))
    throw configError(ctx, `'plan' must be a list of plans, got ${kindOf(rawPlans)}`);
  const plans = rawPlans.map((p, n) => compilePlan(ctx, p, n, table));
  return { seed, plans };
}

function compilePlan(ctx: ConnectorContext, raw: unknown, n: number, table: TableSchema): DatagenPlan {
  const where = `datagen plan[${n}]`;
  const p = asObject(ctx, raw, where);
  rejectUnknownKeys(ctx, p, PLAN_KEYS, where);
  const limit = optionalInt(ctx, p.limit, `plan[${n}].limit`, 0);
  let rate: number | null = null;
  if (p.rate !== undefined && p.rate !== null) {
    if (typeof p.rate !== 'number' || !Number.isSafeInteger(p.rate) || p.rate < 1)
      throw configError(
        ctx,
        `'plan[${n}].rate' must be a positive integer (rows per second), got ${kindOf(p.rate)}`,
      );
    rate = p.rate;
  }
  const chunk =
    optionalInt(ctx, p.worker_chunk_size, `plan[${n}].worker_chunk_size`, 1) ??
    Math.min(rate ?? MAX_CHUNK, MAX_CHUNK);
  const fields =
    p.fields === undefined || p.fields === null ? {} : asObject(ctx, p.fields, `${where}.fields`);
  const settings = new Map<ColumnSchema, Readonly<Record<string, unknown>> | unknown>();
  for (const [k, v] of Object.entries(fields)) {
    const col =
      table.columns.find((c) => c.name === k) ??
      table.columns.find((c) => !c.caseSensitive && c.name === k.toLowerCase());
    if (!col)
      throw configError(
        ctx,
        `${where}.fields names column '${k}', which table '${table.name}' does not have; columns: ${table.columns.map((c) => c.name).join(', ')}`,
      );
    settings.set(col, v);
  }
  const columns = table.columns.map((c, k) =>
    columnGenerator(ctx, c, settings.has(c) ? fieldSettings(ctx, c.name, settings.get(c)) : DEFAULT_FIELD, k),
  );
  return { limit, rate, chunk, columns };
}

/** Which plan global row `index` falls in, and its index within that plan (null: past the last plan). */
export function locate(gen: Datagen, index: number): { plan: number; offset: number; start: number } | null {
  let start = 0;
  for (let p = 0; p < gen.plans.length; p++) {
    const limit = (gen.plans[p] as DatagenPlan).limit;
    if (limit === null || index < start + limit) return { plan: p, offset: index - start, start };
    start += limit;
  }
  return null;
}

/** Rows `from .. from+count-1` of plan `plan` (plan-local indexes). Pure: same inputs, same rows. */
export function generateRows(
  gen: Datagen,
  seed: number,
  plan: number,
  from: number,
  count: number,
): Value[][] {
  const p = gen.plans[plan] as DatagenPlan;
  const r = new RecordRandom();
  const out: Value[][] = new Array(count);
  const cols = p.columns;
  for (let k = 0; k < count; k++) {
    const i = from + k;
    // Feldera: one generator per record, seed_from_u64(seed + index within the plan); columns in table order
    r.at(seed, i);
    const row: Value[] = new Array(cols.length);
    for (let c = 0; c < cols.length; c++) row[c] = (cols[c] as ColumnGenerator)(i, r);
    out[k] = row;
  }
  return out;
}

/** Rows with global indexes `from .. from+count-1` (across plans; fewer if the plans end first). */
export function generateRange(gen: Datagen, seed: number, from: number, count: number): Value[][] {
  const out: Value[][] = [];
  let index = from;
  while (out.length < count) {
    const at = locate(gen, index);
    if (at === null) break;
    const limit = (gen.plans[at.plan] as DatagenPlan).limit;
    const n = Math.min(count - out.length, limit === null ? Infinity : limit - at.offset);
    for (const row of generateRows(gen, seed, at.plan, at.offset, n)) out.push(row);
    index += n;
  }
  return out;
}

/**
 * Every row of a datagen whose plans are all bounded (null if one is unbounded), with the config's seed or
 * else `fallbackSeed` — what the connector would push from start to end of input.
 */
export function allRows(gen: Datagen, fallbackSeed: number): Value[][] | null {
  let total = 0;
  for (const p of gen.plans) {
    if (p.limit === null) return null;
    total += p.limit;
  }
  return generateRange(gen, gen.seed ?? fallbackSeed, 0, total);
}

function resumeIndex(
  ctx: ConnectorContext,
  gen: Datagen,
  position: InputPosition | null | undefined,
): { index: number; seed: number } {
  if (position === null || position === undefined)
    return { index: 0, seed: gen.seed ?? Math.floor(Math.random() * 2 ** 32) };
  const p = position as Partial<DatagenPosition>;
  if (
    typeof p.index !== 'number' ||
    !Number.isSafeInteger(p.index) ||
    p.index < 0 ||
    typeof p.seed !== 'number' ||
    !Number.isSafeInteger(p.seed)
  )
    throw configError(
      ctx,
      `the resume position must be {"index": <row>, "seed": <seed>}, got ${JSON.stringify(position)}`,
    );
  if (gen.seed !== null && gen.seed !== p.seed)
    throw configError(
      ctx,
      `the resume position was generated with seed ${p.seed} but the config now says seed ${gen.seed}`,
    );
  return { index: p.index, seed: p.seed };
}

/** Starts generating from `position` (default: row 0). */
export function startDatagen(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  table: TableSchema,
  host: ConnectorHost,
  log: ConnectorLog,
  options: { position?: InputPosition | null },
): RunningConnector {
  const gen = compileDatagen(ctx, spec.config, table);
  const { index: startIndex, seed } = resumeIndex(ctx, gen, options.position);
  const run = new InputRun(ctx, host, log, spec.maxBatchSize, { index: startIndex, seed });
  run.start(async () => {
    let index = startIndex;
    for (;;) {
      const at = locate(gen, index);
      if (at === null) return 'end_of_input';
      const plan = gen.plans[at.plan] as DatagenPlan;
      const t0 = performance.now();
      let made = 0; // rows of this plan generated in this run (the rate clock starts at the resume point)
      let offset = at.offset;
      while (plan.limit === null || offset < plan.limit) {
        if (run.stopped) return 'stopped';
        let n = plan.chunk;
        if (plan.limit !== null) n = Math.min(n, plan.limit - offset);
        if (plan.rate !== null) {
          const elapsed = (performance.now() - t0) / 1000;
          const allowed = Math.floor(elapsed * plan.rate) + 1 - made;
          if (allowed <= 0) {
            const dueMs = (made / plan.rate - elapsed) * 1000;
            await sleep(Math.min(1000, Math.max(1, Math.ceil(dueMs))), run.signal);
            continue;
          }
          n = Math.min(n, allowed);
        }
        const rows = generateRows(gen, seed, at.plan, offset, n);
        const changes: ParsedChange[] = rows.map((row) => ({ row, weight: 1 }));
        offset += n;
        made += n;
        index += n;
        await run.push(changes, 0, { index, seed });
        await yieldToEventLoop();
      }
    }
  });
  return run;
}
