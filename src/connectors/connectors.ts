/**
 * Connectors declared in SQL: `CREATE TABLE t (...) WITH ('connectors' = '[...]')` (inputs) and
 * `CREATE VIEW v WITH ('connectors' = '[...]') AS ...` (outputs), in Feldera's JSON shape
 * (`{"name", "transport": {"name", "config"}, "format": {"name", "config"}}`).
 *
 * Transports: tables take `file_input`, `s3_input`, `object_store_input`, `url_input`, `delta_table_input`, `datagen`, `nexmark`,
 * `empty_input` and `http_input`; views take `file_output`, `null_output` and `http_output`. `http_input`/`http_output` only mark what the HTTP API serves anyway
 * (`/ingress`, `/egress`), so they start nothing. Each input connector feeds the endpoint `table.connector`.
 *
 * The connectors JSON is read with integers beyond 2^53 kept exact (as bigint), as Feldera's serde_json keeps
 * i64/u64 (a datagen range ending at 9223372036854775807 must not become 2^63).
 *
 * {@link startConnectors} validates every declaration first (errors name the relation and the connector, and
 * nothing has started when one is thrown), then starts them; the handle reports statuses, input positions
 * (endpoint name → position; give them back as `positions` to resume) and stops everything.
 *
 * @example
 * const controller = new Controller(program);
 * const connectors = await startConnectors(controller, program);
 * await connectors.settled(); // every finite input reached its end
 * await connectors.stop();
 */
import { ServiceError } from '../errors/service-error.ts';
import type { Program } from '../sql/program.ts';
import type { TableSchema, ViewSchema } from '../sql/schema.ts';
import {
  type ConnectorContext,
  type ConnectorSpec,
  configError,
  parseConnectorSpec,
} from './transports/config.ts';
import { compileDatagen, startDatagen } from './transports/datagen.ts';
import { checkDeltaInput, startDeltaInput } from './transports/delta-input.ts';
import { checkFileInput, startFileInput } from './transports/file-input.ts';
import { checkFileOutput, startFileOutput } from './transports/file-output.ts';
import { InputRun } from './transports/input-run.ts';
import {
  type NexmarkDeclaration,
  type NexmarkPlan,
  planNexmark,
  startNexmark,
} from './transports/nexmark.ts';
import { checkObjectInput, startObjectInput } from './transports/object-input.ts';
import type {
  ConnectorFtModel,
  ConnectorHost,
  ConnectorLog,
  ConnectorStatus,
  FileOutputProgress,
  InputPosition,
  RunningConnector,
} from './transports/types.ts';
import { checkUrlInput, startUrlInput } from './transports/url-input.ts';

export type * from './transports/types.ts';

export const INPUT_TRANSPORTS = [
  'file_input',
  's3_input',
  'object_store_input',
  'datagen',
  'nexmark',
  'empty_input',
  'http_input',
  'url_input',
  'delta_table_input',
] as const;
export const OUTPUT_TRANSPORTS = ['file_output', 'null_output', 'http_output'] as const;

/** Feldera transports Holdfast does not implement (named in errors so users know it is not a typo). */
const FELDERA_ONLY = new Set([
  'kafka_input',
  'kafka_output',
  'nats_input',
  'pub_sub_input',
  'delta_table_output',
  'postgres_input',
  'postgres_cdc_input',
  'postgres_output',
  'iceberg_input',
  'dynamodb_output',
  'redis_output',
  'clock_input',
]);

export interface StartConnectorsOptions {
  readonly log?: ConnectorLog;
  /** Relative `path`s resolve against this directory (default: the process's working directory). */
  readonly baseDir?: string;
  /** Positions to resume inputs from, by endpoint name (as returned by `positions()`). */
  readonly positions?: Readonly<Record<string, InputPosition>>;
  /** How often a `follow` file input polls for appended data, in ms (default 100). */
  readonly followPollMs?: number;
  /** The pipeline's fault-tolerance model (how file outputs treat an existing file; default none). */
  readonly ft?: ConnectorFtModel;
  /** Progress of outputs at the restored checkpoint, by endpoint name (exactly_once file outputs resume there). */
  readonly outputs?: Readonly<Record<string, unknown>>;
}

export interface ConnectorsHandle {
  /** One status per declared connector, in declaration order (tables first). */
  status(): ConnectorStatus[];
  /** Positions of the replayable inputs, by endpoint name. */
  positions(): Record<string, InputPosition>;
  /** Resolves when every input that can end (files without follow, bounded datagen) has ended or failed. */
  settled(): Promise<void>;
  /** Stops every connector (pending pushes are abandoned; output files are synced and closed). */
  stop(): Promise<void>;
}

interface Declared {
  readonly ctx: ConnectorContext;
  readonly spec: ConnectorSpec;
  readonly relation: TableSchema | ViewSchema;
}

/** JSON.parse reviver: an integer literal that a double cannot hold exactly becomes a bigint. */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined) {
    const src = context.source;
    if (/^-?\d+$/.test(src)) return BigInt(src);
  }
  return value;
}

function connectorsOf(rel: TableSchema | ViewSchema, kind: 'table' | 'view'): Declared[] {
  const prop = rel.properties.connectors;
  if (prop === undefined) return [];
  let list: unknown;
  try {
    list = JSON.parse(prop.value, exactIntegers as (k: string, v: unknown) => unknown);
  } catch (e) {
    throw new ServiceError(
      'SqlPropertyError',
      `property 'connectors' of ${kind} '${rel.name}' is not valid JSON: ${(e as Error).message}`,
      { relation: rel.name },
    );
  }
  if (!Array.isArray(list))
    throw new ServiceError(
      'SqlPropertyError',
      `property 'connectors' of ${kind} '${rel.name}' must be a JSON array`,
      {
        relation: rel.name,
      },
    );
  const out: Declared[] = [];
  const names = new Set<string>();
  list.forEach((raw, i) => {
    const spec = parseConnectorSpec(raw, i, rel.name, kind);
    const ctx: ConnectorContext = {
      relation: rel.name,
      relationKind: kind,
      connector: spec.name,
      transport: spec.transport,
      ...(spec.paused ? { paused: true } : {}),
    };
    if (names.has(spec.name))
      throw configError(ctx, `another connector of ${kind} '${rel.name}' has the same name`);
    names.add(spec.name);
    out.push({ ctx, spec, relation: rel });
  });
  return out;
}

function checkTransport(d: Declared): void {
  const t = d.spec.transport;
  const input = d.ctx.relationKind === 'table';
  const own: readonly string[] = input ? INPUT_TRANSPORTS : OUTPUT_TRANSPORTS;
  if (own.includes(t)) return;
  const other: readonly string[] = input ? OUTPUT_TRANSPORTS : INPUT_TRANSPORTS;
  const supported = `supported ${input ? 'input' : 'output'} transports: ${own.join(', ')}`;
  if (
    other.includes(t) ||
    (input ? t.endsWith('_output') : t.endsWith('_input') || t === 'datagen' || t === 'nexmark')
  )
    throw configError(
      d.ctx,
      `'${t}' is an ${input ? 'output' : 'input'} transport, but ${input ? 'tables take input' : 'views take output'} connectors; ${supported}`,
    );
  if (FELDERA_ONLY.has(t))
    throw configError(d.ctx, `transport '${t}' is not supported by Holdfast; ${supported}`);
  throw configError(d.ctx, `unknown transport '${t}'; ${supported}`);
}

/**
 * Reads and validates every connector declared in `program` (without opening files or starting anything).
 * @throws ServiceError (SqlPropertyError or a ConfigError.*) naming the relation and the connector.
 */
export function declaredConnectors(program: Program, options: { baseDir?: string } = {}): Declared[] {
  const baseDir = options.baseDir ?? process.cwd();
  const quiet: ConnectorLog = () => {};
  const all: Declared[] = [];
  for (const t of program.tables) all.push(...connectorsOf(t, 'table'));
  for (const v of program.views) {
    const ds = connectorsOf(v, 'view');
    if (ds.length > 0 && v.kind === 'local')
      throw new ServiceError(
        'SqlPropertyError',
        `view '${v.name}' is LOCAL, so it cannot have output connectors; declare it with CREATE VIEW or CREATE MATERIALIZED VIEW`,
        { relation: v.name },
      );
    all.push(...ds);
  }
  for (const d of all) {
    checkTransport(d);
    switch (d.spec.transport) {
      case 'file_input':
        checkFileInput(d.ctx, d.spec, baseDir, quiet);
        break;
      case 's3_input':
      case 'object_store_input':
        checkObjectInput(d.ctx, d.spec, baseDir, quiet);
        break;
      case 'url_input':
        checkUrlInput(d.ctx, d.spec, quiet);
        break;
      case 'delta_table_input':
        checkDeltaInput(d.ctx, d.spec, d.relation as TableSchema, baseDir, quiet);
        break;
      case 'datagen':
        compileDatagen(d.ctx, d.spec.config, d.relation as TableSchema);
        break;
      case 'file_output':
        checkFileOutput(d.ctx, d.spec, d.relation as ViewSchema, baseDir, quiet);
        break;
      default:
        break;
    }
  }
  nexmarkPlans(all);
  return all;
}

/** The nexmark connectors' plans by endpoint (validated together: they share one event stream). */
function nexmarkPlans(all: readonly Declared[]): Map<string, NexmarkPlan> {
  return planNexmark(all.filter((d) => d.spec.transport === 'nexmark') as NexmarkDeclaration[]);
}

/** A connector that starts nothing (http_input/http_output markers, null_output). */
function idle(d: Declared, direction: 'input' | 'output'): RunningConnector {
  let state: ConnectorStatus['state'] = 'running';
  return {
    settled: direction === 'input' ? Promise.resolve() : new Promise<void>(() => {}),
    position: () => null,
    status: () => ({
      endpoint: `${d.ctx.relation}.${d.ctx.connector}`,
      relation: d.ctx.relation,
      connector: d.ctx.connector,
      transport: d.ctx.transport,
      direction,
      state,
      records: 0,
      bytes: 0,
      parseErrors: 0,
      error: null,
      position: null,
    }),
    stop: async () => {
      state = 'stopped';
    },
  };
}

/** Validates and starts every connector of `program` against `host` (e.g. a Controller). */
export async function startConnectors(
  host: ConnectorHost,
  program: Program,
  options: StartConnectorsOptions = {},
): Promise<ConnectorsHandle> {
  const log = options.log ?? (() => {});
  const baseDir = options.baseDir ?? process.cwd();
  const declared = declaredConnectors(program, { baseDir });
  if (options.ft === 'exactly_once') {
    for (const d of declared) {
      if (
        d.spec.transport === 'datagen' &&
        compileDatagen(d.ctx, d.spec.config, d.relation as TableSchema).seed === null
      )
        throw configError(
          d.ctx,
          "under fault_tolerance exactly_once a datagen input must be replayable: set its 'seed' (an integer) so the rows it generated before a crash can be generated again",
        );
    }
  }
  const nexmark = nexmarkPlans(declared);
  const running: Array<{ d: Declared; c: RunningConnector; settles: boolean }> = [];
  try {
    for (const d of declared) {
      const endpoint = `${d.ctx.relation}.${d.ctx.connector}`;
      const position = options.positions?.[endpoint] ?? null;
      for (const k of d.spec.ignoredKeys)
        log('warn', `${endpoint}: connector option '${k}' is not supported by Holdfast and is ignored`, {
          endpoint,
        });
      let c: RunningConnector;
      let settles = false;
      switch (d.spec.transport) {
        case 'file_input': {
          c = await startFileInput(d.ctx, d.spec, d.relation as TableSchema, host, log, {
            baseDir,
            position,
            ...(options.followPollMs !== undefined ? { pollMs: options.followPollMs } : {}),
          });
          settles = d.spec.config.follow !== true;
          break;
        }
        case 's3_input':
        case 'object_store_input': {
          c = await startObjectInput(d.ctx, d.spec, d.relation as TableSchema, host, log, {
            baseDir,
            position,
          });
          settles = d.spec.config.follow !== true;
          break;
        }
        case 'url_input':
          c = startUrlInput(d.ctx, d.spec, d.relation as TableSchema, host, log, { position });
          settles = true;
          break;
        case 'delta_table_input':
          c = startDeltaInput(d.ctx, d.spec, d.relation as TableSchema, host, log, { baseDir, position });
          settles = d.spec.config.mode === 'snapshot' || d.spec.config.end_version != null;
          break;
        case 'datagen': {
          c = startDatagen(d.ctx, d.spec, d.relation as TableSchema, host, log, { position });
          const plans = d.spec.config.plan;
          settles = !Array.isArray(plans)
            ? false
            : plans.every((p) => typeof (p as { limit?: unknown })?.limit === 'number');
          break;
        }
        case 'nexmark':
          c = startNexmark(d.ctx, d.spec, nexmark.get(endpoint) as NexmarkPlan, host, log, { position });
          settles = true;
          break;
        case 'empty_input': {
          const run = new InputRun(d.ctx, host, log, null, null);
          run.start(async () => 'end_of_input');
          c = run;
          settles = true;
          break;
        }
        case 'file_output':
          c = startFileOutput(d.ctx, d.spec, d.relation as ViewSchema, host, log, {
            baseDir,
            ...(options.ft ? { ft: options.ft } : {}),
            resume: (options.outputs?.[endpoint] as FileOutputProgress | undefined) ?? null,
          });
          break;
        case 'http_input':
          c = idle(d, 'input');
          break;
        default:
          c = idle(d, 'output');
          break;
      }
      running.push({ d, c, settles });
    }
  } catch (e) {
    for (const r of running.reverse()) await r.c.stop();
    throw e;
  }
  let stopping: Promise<void> | null = null;
  return {
    status: () => running.map((r) => r.c.status()),
    positions: () => {
      const out: Record<string, InputPosition> = {};
      for (const r of running) {
        const p = r.c.position();
        if (p !== null) out[r.c.status().endpoint] = p;
      }
      return out;
    },
    settled: async () => {
      await Promise.all(running.filter((r) => r.settles).map((r) => r.c.settled));
    },
    stop: () => {
      stopping ??= (async () => {
        for (const r of running) await r.c.stop();
      })();
      return stopping;
    },
  };
}
