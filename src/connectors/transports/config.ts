/**
 * Reading the connector objects of a `WITH ('connectors' = '[...]')` property (Feldera's shape):
 * `{"name", "transport": {"name", "config"}, "format": {"name", "config"} | null, ...}`, and small typed
 * accessors for transport configs whose errors name the relation and the connector.
 */
import { ServiceError } from '../../errors/service-error.ts';
import type { ErrorCode } from '../../types/error-codes.ts';

/** Which connector a config belongs to (for error messages). */
export interface ConnectorContext {
  readonly relation: string;
  readonly relationKind: 'table' | 'view';
  readonly connector: string;
  readonly transport: string;
  /** An input connector declared `"paused": true`: it starts paused (until `POST …/connectors/{c}/start`). */
  readonly paused?: boolean;
}

export interface FormatSpec {
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
}

export interface ConnectorSpec {
  readonly name: string;
  readonly transport: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly format: FormatSpec | null;
  /** Input: at most this many records per push. */
  readonly maxBatchSize: number | null;
  /** `"paused": true`: the input connector starts paused (Feldera's connector orchestration). */
  readonly paused: boolean;
  /** Keys of the connector object set but not acted on here (reported as warnings). */
  readonly ignoredKeys: readonly string[];
}

const NAME_RE = /^[A-Za-z0-9_-]{1,100}$/;

/** Connector-level keys Feldera acts on that Holdfast does not (yet): accepted, reported as warnings. */
const UNSUPPORTED_KEYS = new Set([
  'start_after',
  'send_snapshot',
  'index',
  'soft_delete',
  'preprocessor',
  'postprocessor',
]);

export function describe(ctx: ConnectorContext): string {
  return `connector '${ctx.connector}' (${ctx.transport}) of ${ctx.relationKind} '${ctx.relation}'`;
}

/** An error about one connector's configuration; the message starts with the connector and relation. */
export function configError(
  ctx: ConnectorContext,
  message: string,
  code: ErrorCode = 'SqlPropertyError',
  details: Record<string, unknown> = {},
): ServiceError {
  return new ServiceError(code, `${describe(ctx)}: ${message}`, {
    relation: ctx.relation,
    connector: ctx.connector,
    transport: ctx.transport,
    ...details,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses connector object number `index` of a relation's `connectors` list. */
export function parseConnectorSpec(
  raw: unknown,
  index: number,
  relation: string,
  relationKind: 'table' | 'view',
): ConnectorSpec {
  const base = { relation, relationKind, connector: `unnamed-${index}`, transport: '?' };
  if (!isObject(raw)) throw configError(base, `a connector must be a JSON object, got ${kindOf(raw)}`);
  let name = base.connector;
  if (raw.name !== undefined && raw.name !== null) {
    if (typeof raw.name !== 'string' || !NAME_RE.test(raw.name))
      throw configError(
        base,
        `"name" must be 1 to 100 characters among A-Z, a-z, 0-9, '_' and '-', got ${JSON.stringify(raw.name)}`,
      );
    name = raw.name;
  }
  const t = raw.transport;
  const named = { ...base, connector: name };
  if (!isObject(t) || typeof t.name !== 'string')
    throw configError(named, '"transport" must be an object like {"name": "file_input", "config": {...}}');
  const ctx = { ...named, transport: t.name };
  const config = t.config ?? {};
  if (!isObject(config))
    throw configError(ctx, `"transport.config" must be an object, got ${kindOf(config)}`);
  let format: FormatSpec | null = null;
  if (raw.format !== undefined && raw.format !== null) {
    const f = raw.format;
    if (!isObject(f) || typeof f.name !== 'string')
      throw configError(ctx, '"format" must be an object like {"name": "json", "config": {...}} or null');
    const fc = f.config ?? {};
    if (!isObject(fc)) throw configError(ctx, `"format.config" must be an object, got ${kindOf(fc)}`);
    format = { name: f.name, config: fc };
  }
  let maxBatchSize: number | null = null;
  if (raw.max_batch_size !== undefined && raw.max_batch_size !== null) {
    maxBatchSize = positiveInt(ctx, raw.max_batch_size, 'max_batch_size', 1);
  }
  if (raw.paused !== undefined && raw.paused !== null && typeof raw.paused !== 'boolean')
    throw configError(ctx, `"paused" must be true or false, got ${kindOf(raw.paused)}`);
  const paused = raw.paused === true;
  // an output connector's `paused` (Feldera pauses its output) is not acted on: reported like the others
  const ignoredKeys = [
    ...Object.keys(raw).filter(
      (k) => UNSUPPORTED_KEYS.has(k) && raw[k] !== null && raw[k] !== false && raw[k] !== undefined,
    ),
    ...(relationKind === 'view' && paused ? ['paused'] : []),
  ];
  return { name, transport: t.name, config, format, maxBatchSize, paused, ignoredKeys };
}

export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'bigint') return `number ${v}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/** Rejects keys outside `allowed` (for configs that, like Feldera's, deny unknown fields). */
export function rejectUnknownKeys(
  ctx: ConnectorContext,
  obj: Readonly<Record<string, unknown>>,
  allowed: readonly string[],
  where: string,
): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k))
      throw configError(ctx, `unknown key '${k}' in ${where}; supported: ${allowed.join(', ')}`);
  }
}

export function positiveInt(ctx: ConnectorContext, v: unknown, key: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw configError(ctx, `'${key}' must be an integer >= ${min}, got ${kindOf(v)}`);
  return v;
}

export function optionalInt(ctx: ConnectorContext, v: unknown, key: string, min = 0): number | null {
  return v === undefined || v === null ? null : positiveInt(ctx, v, key, min);
}

export function optionalBool(ctx: ConnectorContext, v: unknown, key: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw configError(ctx, `'${key}' must be true or false, got ${kindOf(v)}`);
  return v;
}

export function requiredString(ctx: ConnectorContext, v: unknown, key: string): string {
  if (typeof v !== 'string' || v === '')
    throw configError(ctx, `'${key}' is required and must be a non-empty string, got ${kindOf(v)}`);
  return v;
}

export function asObject(ctx: ConnectorContext, v: unknown, where: string): Record<string, unknown> {
  if (!isObject(v)) throw configError(ctx, `${where} must be a JSON object, got ${kindOf(v)}`);
  return v;
}
