/**
 * `nexmark`: feeds one of the Nexmark benchmark's tables (`person`, `auction`, `bid`) from the standard event
 * generator (`nexmark-gen.ts`), with Feldera's config shape: `{"table": "person"|"auction"|"bid", "options":
 * {...}}`. The options hold for the whole event stream, so at most one of a program's nexmark connectors may set
 * them (the others follow); each table may be fed by at most one nexmark connector.
 *
 * Options (all optional): `events` (events in the stream, over all three tables; default 100,000,000),
 * `threads` (4; Feldera's generator threads: here they only size the chunks), `batch_size_per_thread` (1000:
 * a connector pushes the rows of `threads × batch_size_per_thread` events at a time), `max_step_size_per_thread`
 * (accepted; a step's size is the pipeline's business), Feldera's older `batch_size`, `max_step_size` and
 * `synchronize_threads` (accepted, ignored), and two Holdfast additions: `seed` (integer, default 0: the random
 * fields of event n depend on the seed and n only) and `first_event_rate` (events per second of event time,
 * default 10,000,000 as in Feldera, so 10,000 events share each millisecond of `date_time`). Unknown keys are
 * rejected. The connector's `format` is not used (rows are generated directly, not parsed).
 *
 * The table's columns are filled in order (as Feldera's CSV does): the table must have as many columns as the
 * Nexmark record (person 8, auction 10, bid 7); integer fields fit any numeric column, times go to TIMESTAMP
 * (or to DATE, or to BIGINT as ms since the epoch). A generated value that does not fit its column (a string
 * longer than a CHAR(n)) is a parse error: counted, logged, and its row skipped, as a bad CSV record would be.
 *
 * Each connector generates only its own table's events (event n's kind is a function of n), so the three run
 * independently. Position: `{event, seed}`, the number of the next event (events 0..event-1, of all kinds, are
 * done); restarting there gives exactly the rows an uninterrupted run would have pushed from there on.
 */

import type { ColumnSchema, TableSchema } from '../../sql/schema.ts';
import { NUMERIC_KINDS, type SqlType } from '../../sql/sql-type.ts';
import { parseJsonValue } from '../../sql/values/format.ts';
import type { Value } from '../../zset/value.ts';
import type { ParsedChange, ParseErrorEntry } from '../formats/parse-result.ts';
import {
  asObject,
  type ConnectorContext,
  type ConnectorSpec,
  configError,
  kindOf,
  optionalInt,
  rejectUnknownKeys,
} from './config.ts';
import { InputRun } from './input-run.ts';
import {
  DEFAULT_FIRST_EVENT_RATE,
  forEachEventOf,
  NEXMARK_TABLES,
  NexmarkGenerator,
  type NexmarkTable,
} from './nexmark-gen.ts';
import { yieldToEventLoop } from './run-control.ts';
import type {
  ConnectorHost,
  ConnectorLog,
  InputPosition,
  NexmarkPosition,
  RunningConnector,
} from './types.ts';

const CONFIG_KEYS = ['table', 'options'];
const OPTION_KEYS = [
  'events',
  'threads',
  'batch_size_per_thread',
  'max_step_size_per_thread',
  'batch_size',
  'max_step_size',
  'synchronize_threads',
  'seed',
  'first_event_rate',
];

export interface NexmarkOptions {
  readonly events: number;
  readonly threads: number;
  readonly batchSizePerThread: number;
  readonly seed: number;
  readonly firstEventRate: number;
}

export const DEFAULT_NEXMARK_OPTIONS: NexmarkOptions = {
  events: 100_000_000,
  threads: 4,
  batchSizePerThread: 1000,
  seed: 0,
  firstEventRate: DEFAULT_FIRST_EVENT_RATE,
};

type FieldKind = 'int' | 'string' | 'time';

/** Each table's fields, in Feldera's column order. */
export const NEXMARK_FIELDS: Readonly<Record<NexmarkTable, ReadonlyArray<readonly [string, FieldKind]>>> = {
  person: [
    ['id', 'int'],
    ['name', 'string'],
    ['emailAddress', 'string'],
    ['creditCard', 'string'],
    ['city', 'string'],
    ['state', 'string'],
    ['date_time', 'time'],
    ['extra', 'string'],
  ],
  auction: [
    ['id', 'int'],
    ['itemName', 'string'],
    ['description', 'string'],
    ['initialBid', 'int'],
    ['reserve', 'int'],
    ['date_time', 'time'],
    ['expires', 'time'],
    ['seller', 'int'],
    ['category', 'int'],
    ['extra', 'string'],
  ],
  bid: [
    ['auction', 'int'],
    ['bidder', 'int'],
    ['price', 'int'],
    ['channel', 'string'],
    ['url', 'string'],
    ['date_time', 'time'],
    ['extra', 'string'],
  ],
};

/** One nexmark connector, validated. */
export interface CompiledNexmark {
  readonly table: NexmarkTable;
  /** The options this connector sets, or null (it follows the one that does, or the defaults). */
  readonly options: NexmarkOptions | null;
  /** Converts a generated record's field values (in Feldera's order) into a row of the SQL table. */
  readonly toRow: (fields: readonly (number | string)[]) => Value[];
}

function isoMs(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

function converter(kind: FieldKind, col: ColumnSchema): (v: number | string) => Value {
  const t: SqlType = col.type;
  if (kind === 'int') {
    if (t.kind === 'BIGINT') return (v) => BigInt(v as number);
    if (t.kind === 'INTEGER' || t.kind === 'DOUBLE') return (v) => v;
    if (NUMERIC_KINDS.has(t.kind)) return (v) => parseJsonValue(v, t, col.name);
  } else if (kind === 'string') {
    if (t.kind === 'VARCHAR' && t.length == null) return (v) => v;
    if (t.kind === 'VARCHAR' || t.kind === 'CHAR') return (v) => parseJsonValue(v, t, col.name);
  } else {
    if (t.kind === 'TIMESTAMP') return (v) => (v as number) * 1000;
    if (t.kind === 'BIGINT') return (v) => BigInt(v as number);
    if (t.kind === 'DATE') return (v) => parseJsonValue(isoMs(v as number), t, col.name);
  }
  return () => {
    throw new Error('unsupported');
  };
}

const SAMPLE: Record<FieldKind, number | string> = { int: 1000, string: 'x', time: 0 };

function compileColumns(
  ctx: ConnectorContext,
  which: NexmarkTable,
  table: TableSchema,
): CompiledNexmark['toRow'] {
  const fields = NEXMARK_FIELDS[which];
  const expected = fields.map(
    ([n, k]) => `${n} ${k === 'int' ? 'BIGINT' : k === 'time' ? 'TIMESTAMP(3)' : 'VARCHAR'}`,
  );
  if (table.columns.length !== fields.length)
    throw configError(
      ctx,
      `the nexmark '${which}' table has ${fields.length} columns, filled in order: (${expected.join(', ')}); table '${table.name}' has ${table.columns.length}`,
    );
  const convs = fields.map(([name, kind], i) => {
    const col = table.columns[i] as ColumnSchema;
    const f = converter(kind, col);
    try {
      f(SAMPLE[kind]);
    } catch {
      throw configError(
        ctx,
        `column ${i + 1} of table '${table.name}' ('${col.name}') receives the nexmark field '${name}' (${expected[i]}), which does not fit its type`,
      );
    }
    return f;
  });
  return (vals) => {
    const row: Value[] = new Array(convs.length);
    for (let i = 0; i < convs.length; i++)
      row[i] = (convs[i] as (v: number | string) => Value)(vals[i] as number | string);
    return row;
  };
}

function intOption(
  ctx: ConnectorContext,
  o: Readonly<Record<string, unknown>>,
  key: string,
  min: number,
  dflt: number,
): number {
  return optionalInt(ctx, o[key], `options.${key}`, min) ?? dflt;
}

/** Validates one nexmark connector's config against its table. @throws ServiceError naming the connector. */
export function compileNexmark(
  ctx: ConnectorContext,
  config: Readonly<Record<string, unknown>>,
  table: TableSchema,
): CompiledNexmark {
  rejectUnknownKeys(ctx, config, CONFIG_KEYS, 'the nexmark config');
  const which = config.table;
  if (typeof which !== 'string' || !(NEXMARK_TABLES as readonly string[]).includes(which))
    throw configError(
      ctx,
      `'table' must be one of ${NEXMARK_TABLES.map((t) => `"${t}"`).join(', ')}, got ${kindOf(which)}`,
    );
  let options: NexmarkOptions | null = null;
  if (config.options !== undefined && config.options !== null) {
    const o = asObject(ctx, config.options, "the nexmark 'options'");
    rejectUnknownKeys(ctx, o, OPTION_KEYS, "the nexmark 'options'");
    if (
      o.synchronize_threads !== undefined &&
      o.synchronize_threads !== null &&
      typeof o.synchronize_threads !== 'boolean'
    )
      throw configError(
        ctx,
        `'options.synchronize_threads' must be true or false, got ${kindOf(o.synchronize_threads)}`,
      );
    intOption(ctx, o, 'max_step_size_per_thread', 1, 1);
    intOption(ctx, o, 'max_step_size', 1, 1);
    const d = DEFAULT_NEXMARK_OPTIONS;
    options = {
      events: intOption(ctx, o, 'events', 0, d.events),
      threads: intOption(ctx, o, 'threads', 1, d.threads),
      batchSizePerThread: intOption(
        ctx,
        o,
        'batch_size_per_thread',
        1,
        intOption(ctx, o, 'batch_size', 1, d.batchSizePerThread),
      ),
      seed: intOption(ctx, o, 'seed', 0, d.seed),
      firstEventRate: intOption(ctx, o, 'first_event_rate', 1, d.firstEventRate),
    };
    if (options.seed > 0xffffffff)
      throw configError(ctx, `'options.seed' must be below 2^32, got ${options.seed}`);
  }
  return { table: which as NexmarkTable, options, toRow: compileColumns(ctx, which as NexmarkTable, table) };
}

/** A declared nexmark connector (what {@link planNexmark} needs of it). */
export interface NexmarkDeclaration {
  readonly ctx: ConnectorContext;
  readonly spec: ConnectorSpec;
  readonly relation: TableSchema;
}

export interface NexmarkPlan {
  readonly compiled: CompiledNexmark;
  /** The options of the whole stream (set by one connector, or the defaults). */
  readonly options: NexmarkOptions;
}

/**
 * Validates a program's nexmark connectors together: one connector per table at most, options on one at most.
 * Returns each connector's plan by endpoint name (`table.connector`).
 */
export function planNexmark(decls: readonly NexmarkDeclaration[]): Map<string, NexmarkPlan> {
  const compiled = decls.map((d) => ({ d, c: compileNexmark(d.ctx, d.spec.config, d.relation) }));
  const byTable = new Map<NexmarkTable, NexmarkDeclaration>();
  let optionsFrom: NexmarkDeclaration | null = null;
  let options = DEFAULT_NEXMARK_OPTIONS;
  for (const { d, c } of compiled) {
    const other = byTable.get(c.table);
    if (other)
      throw configError(
        d.ctx,
        `the nexmark table '${c.table}' is already fed by connector '${other.ctx.connector}' of table '${other.ctx.relation}'; each nexmark table may have one connector`,
      );
    byTable.set(c.table, d);
    if (c.options !== null) {
      if (optionsFrom)
        throw configError(
          d.ctx,
          `nexmark 'options' are already set by connector '${optionsFrom.ctx.connector}' of table '${optionsFrom.ctx.relation}'; they apply to all nexmark tables, so set them on one connector only`,
        );
      optionsFrom = d;
      options = c.options;
    }
  }
  const out = new Map<string, NexmarkPlan>();
  for (const { d, c } of compiled) out.set(`${d.ctx.relation}.${d.ctx.connector}`, { compiled: c, options });
  return out;
}

/**
 * The rows of `table` for events `[from, to)`. A value that does not fit its column (e.g. a string longer than
 * a `CHAR(n)`) throws, or, given `onError`, is reported there with its event number and the row skipped.
 */
export function nexmarkRows(
  gen: NexmarkGenerator,
  table: NexmarkTable,
  from: number,
  to: number,
  convert: CompiledNexmark['toRow'],
  onError?: (event: number, e: unknown) => void,
): Value[][] {
  const out: Value[][] = [];
  let n = 0;
  const toRow =
    onError === undefined
      ? convert
      : (vals: readonly (number | string)[]): Value[] => {
          try {
            return convert(vals);
          } catch (e) {
            onError(n, e);
            return [];
          }
        };
  if (table === 'person')
    forEachEventOf(table, from, to, (k) => {
      n = k;
      const p = gen.person(k);
      out.push(toRow([p.id, p.name, p.emailAddress, p.creditCard, p.city, p.state, p.dateTime, p.extra]));
    });
  else if (table === 'auction')
    forEachEventOf(table, from, to, (k) => {
      n = k;
      const a = gen.auction(k);
      out.push(
        toRow([
          a.id,
          a.itemName,
          a.description,
          a.initialBid,
          a.reserve,
          a.dateTime,
          a.expires,
          a.seller,
          a.category,
          a.extra,
        ]),
      );
    });
  else
    forEachEventOf(table, from, to, (k) => {
      n = k;
      const b = gen.bid(k);
      out.push(toRow([b.auction, b.bidder, b.price, b.channel, b.url, b.dateTime, b.extra]));
    });
  return onError === undefined ? out : out.filter((r) => r.length > 0);
}

function resumeEvent(
  ctx: ConnectorContext,
  seed: number,
  position: InputPosition | null | undefined,
): number {
  if (position === null || position === undefined) return 0;
  const p = position as Partial<NexmarkPosition>;
  if (
    typeof p.event !== 'number' ||
    !Number.isSafeInteger(p.event) ||
    p.event < 0 ||
    typeof p.seed !== 'number'
  )
    throw configError(
      ctx,
      `the resume position must be {"event": <n>, "seed": <seed>}, got ${JSON.stringify(position)}`,
    );
  if (p.seed !== seed)
    throw configError(
      ctx,
      `the resume position was generated with seed ${p.seed} but the nexmark options now say seed ${seed}`,
    );
  return p.event;
}

/** Starts generating `plan`'s table from `position` (default: event 0). */
export function startNexmark(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  plan: NexmarkPlan,
  host: ConnectorHost,
  log: ConnectorLog,
  options: { position?: InputPosition | null },
): RunningConnector {
  const { compiled, options: o } = plan;
  const start = resumeEvent(ctx, o.seed, options.position);
  const run = new InputRun(ctx, host, log, spec.maxBatchSize, { event: start, seed: o.seed });
  const gen = new NexmarkGenerator({ seed: o.seed, firstEventRate: o.firstEventRate });
  const chunk = Math.max(1, o.threads * o.batchSizePerThread);
  run.start(async () => {
    let event = start;
    while (event < o.events) {
      if (run.stopped) return 'stopped';
      const to = Math.min(o.events, event + chunk);
      const errors: ParseErrorEntry[] = [];
      const rows = nexmarkRows(gen, compiled.table, event, to, compiled.toRow, (n, e) =>
        errors.push({
          description: `nexmark event ${n}: ${e instanceof Error ? e.message : String(e)}`,
          event_number: n + 1,
          field: null,
          invalid_text: null,
        }),
      );
      if (errors.length > 0)
        run.reportParseErrors(
          { changes: [], errors, numErrors: errors.length },
          `(values that do not fit their columns; those rows are skipped)`,
        );
      const changes: ParsedChange[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) changes[i] = { row: rows[i] as Value[], weight: 1 };
      event = to;
      await run.push(changes, 0, { event, seed: o.seed });
      await yieldToEventLoop();
    }
    return 'end_of_input';
  });
  return run;
}
