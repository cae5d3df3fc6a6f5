/**
 * Request validation for the manager, with Feldera's rules and error codes: pipeline names, descriptions,
 * runtime_config normalisation (stored with every default filled in) and secret redaction (secret-named fields,
 * and the userinfo of URLs such as an `endpoint` of `http://user:pass@host`).
 */
import { ServiceError } from '../errors/service-error.ts';
import {
  DEFAULT_CHECKPOINT_INTERVAL_SECS,
  DEFAULT_FT_MODEL,
  FtConfigError,
  ftSettings,
  LEGACY_FT_NAMES,
} from '../types/ft-config.ts';
import { REDACTED_SECRET, redactUrlCredentials } from '../types/redact-url.ts';

const NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_]*)?[A-Za-z0-9]$/;

export function validateName(name: unknown): string {
  if (typeof name !== 'string')
    throw new ServiceError('InvalidRequestBody', 'the pipeline "name" must be a string', { field: 'name' });
  if (name.length === 0) throw new ServiceError('EmptyName', 'the pipeline name is empty', {});
  if (name.length > 63)
    throw new ServiceError(
      'TooLongName',
      `the pipeline name is ${name.length} characters long; at most 63 are allowed`,
      { name, length: name.length, maximum: 63 },
    );
  if (!NAME_RE.test(name)) {
    throw new ServiceError(
      'NameDoesNotMatchPattern',
      `pipeline name '${name}' may contain only letters, digits, _ and -, and must start and end with a letter or digit`,
      {
        name,
        pattern: NAME_RE.source,
        pattern_description: 'letters, digits, _ and -, starting and ending alphanumeric',
      },
    );
  }
  return name;
}

export function validateDescription(d: unknown): string {
  if (d === undefined) return '';
  if (typeof d !== 'string')
    throw new ServiceError('InvalidRequestBody', '"description" must be a string', { field: 'description' });
  if (d.length > 300)
    throw new ServiceError(
      'TooLongDescription',
      `the description is ${d.length} characters long; at most 300 are allowed`,
      { length: d.length, maximum: 300 },
    );
  return d;
}

export function validateTags(t: unknown): string[] {
  if (t === undefined) return [];
  if (!Array.isArray(t) || t.some((x) => typeof x !== 'string'))
    throw new ServiceError('InvalidRequestBody', '"tags" must be an array of strings', { field: 'tags' });
  // Feldera's rules: at most 50 tags, each 1–50 characters of letters, digits, space and ._/|\:=-
  if (t.length > MAX_TAGS)
    throw new ServiceError('TooManyTags', `${t.length} tags were given; at most ${MAX_TAGS} are allowed`, {
      count: t.length,
      maximum: MAX_TAGS,
    });
  for (const tag of t as string[]) {
    const reason =
      tag.length === 0
        ? 'a tag cannot be empty'
        : tag.length > MAX_TAG_LENGTH
          ? `a tag has at most ${MAX_TAG_LENGTH} characters (this one has ${tag.length})`
          : TAG_RE.test(tag)
            ? null
            : 'a tag may contain only letters, digits, spaces and the characters . _ / | \\ : = -';
    if (reason !== null)
      throw new ServiceError(
        'InvalidTag',
        `invalid tag ${JSON.stringify(tag)}: ${reason}${tag.includes(',') ? ' (give several tags as separate entries of the array, not comma-separated)' : ''}`,
        { tag, reason },
      );
  }
  return t as string[];
}

const MAX_TAGS = 50;
const MAX_TAG_LENGTH = 50;
const TAG_RE = /^[a-zA-Z0-9 ._/|\\:=-]+$/;

/** Fills runtime_config defaults (Feldera's) and checks the fields Holdfast interprets. */
export function normalizeRuntimeConfig(rc: unknown): Record<string, unknown> {
  if (rc === undefined || rc === null) rc = {};
  if (typeof rc !== 'object' || Array.isArray(rc)) {
    throw new ServiceError('InvalidRuntimeConfig', 'runtime_config must be a JSON object', {
      value: rc,
      error: { DeserializationFailed: 'expected an object' },
    });
  }
  const src = rc as Record<string, unknown>;
  const bad = (field: string, why: string) =>
    new ServiceError('InvalidRuntimeConfig', `runtime_config.${field}: ${why}`, {
      value: redact(rc),
      error: { DeserializationFailed: `${field}: ${why}` },
    });
  const out: Record<string, unknown> = {
    workers: 8,
    hosts: 1,
    storage: {},
    fault_tolerance: { model: 'none', checkpoint_interval_secs: DEFAULT_CHECKPOINT_INTERVAL_SECS },
    cpu_profiler: true,
    tracing: false,
    tracing_endpoint_jaeger: '',
    min_batch_size_records: 0,
    max_buffering_delay_usecs: 0,
    resources: {},
    clock_timezone_offset: null,
    env: {},
    dev_tweaks: {},
    logging: null,
    // null means "default" (Feldera's SDK sends nulls); storage and fault_tolerance are interpreted below
    ...Object.fromEntries(Object.entries(src).filter(([, v]) => v !== null)),
  };
  for (const k of ['workers', 'hosts'] as const) {
    const v = out[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(k, 'must be a positive integer');
  }
  // NOW()'s clock granularity (now-clock.ts); absent or null: Feldera's default, 1 s
  const clock = out.clock_resolution_usecs;
  if (clock !== undefined && (typeof clock !== 'number' || !Number.isInteger(clock) || clock < 1))
    throw bad('clock_resolution_usecs', 'must be a positive integer (microseconds)');
  if ('storage' in src) {
    const st = src.storage;
    if (st === true) out.storage = {};
    else if (st === false || st === null) out.storage = null;
  }
  if ('fault_tolerance' in src) {
    const ft = src.fault_tolerance;
    if (ft === null || ft === 'none')
      out.fault_tolerance = { model: 'none', checkpoint_interval_secs: DEFAULT_CHECKPOINT_INTERVAL_SECS };
    else if (typeof ft === 'string' && LEGACY_FT_NAMES.includes(ft))
      out.fault_tolerance = {
        model: DEFAULT_FT_MODEL,
        checkpoint_interval_secs: DEFAULT_CHECKPOINT_INTERVAL_SECS,
      };
    else if (typeof ft === 'object' && !Array.isArray(ft)) {
      const o = ft as Record<string, unknown>;
      out.fault_tolerance = {
        ...o,
        model: o.model ?? DEFAULT_FT_MODEL,
        checkpoint_interval_secs:
          o.checkpoint_interval_secs === undefined
            ? DEFAULT_CHECKPOINT_INTERVAL_SECS
            : o.checkpoint_interval_secs,
      };
    }
  }
  // the shared rules check every form; FtRequiresStorage is reported when the pipeline starts (as Feldera does)
  try {
    ftSettings(out);
  } catch (e) {
    if (!(e instanceof FtConfigError)) throw e;
    if (e.errorCode === 'InvalidRuntimeConfig') throw bad(e.message.split(' ')[0] as string, e.message);
    // InvalidSyncConfig is thrown as it is (an FtConfigError is a ServiceError)
    if (e.errorCode !== 'ConfigError.FtRequiresStorage') throw e;
  }
  return out;
}

const SECRET_KEY = /(secret|password|passwd|token|api_key|apikey|private_key|credential)/i;
export const REDACTED = REDACTED_SECRET;

/**
 * Replaces secret-looking values in a JSON object tree (for responses and logs): secret-named fields whole, and
 * the userinfo secret of any URL in a string (`http://user:<redacted>@host`).
 */
export function redact<T>(v: T): T {
  return redactValue(v) as T; // same shape: only string values change
}

function redactValue(v: unknown): unknown {
  if (typeof v === 'string') return redactUrlCredentials(v);
  if (Array.isArray(v)) return v.map(redactValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      out[k] = SECRET_KEY.test(k) && typeof x === 'string' ? REDACTED : redactValue(x);
    return out;
  }
  return v;
}

/** A config sent back by a client may carry `<redacted>` where a secret was: keep the stored secret there. */
export function unredact(incoming: unknown, stored: unknown): unknown {
  if (incoming === REDACTED) return stored;
  // a URL shown as `http://user:<redacted>@host` and sent back unchanged keeps the stored credentials
  if (
    typeof incoming === 'string' &&
    typeof stored === 'string' &&
    incoming.includes(REDACTED) &&
    redactUrlCredentials(stored) === incoming
  )
    return stored;
  if (Array.isArray(incoming))
    return incoming.map((x, i) => unredact(x, Array.isArray(stored) ? stored[i] : undefined));
  if (incoming !== null && typeof incoming === 'object') {
    const s = stored !== null && typeof stored === 'object' ? (stored as Record<string, unknown>) : {};
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(incoming)) out[k] = unredact(x, s[k]);
    return out;
  }
  return incoming;
}
