/**
 * The recent errors of one connector endpoint, of one kind (parse, transport or encode), as Feldera's `/stats
 * ?include_connector_errors=true` and the connector stats routes show them: `{timestamp, index, tag, message}`.
 *
 * State: the newest {@link MAX_CONNECTOR_ERRORS} entries of each tag, and the count of every error ever reported
 * (`index` is that count at the error: a gap between two listed indexes means errors not kept, e.g. beyond the
 * per-chunk parse errors a parser reports one by one). A message longer than {@link MAX_CONNECTOR_ERROR_LEN}
 * characters is cut in the middle. The log is part of the endpoint's checkpointed state ({@link saved} /
 * {@link ConnectorErrorLog.restore}), so the errors and their numbering survive a restart from a checkpoint.
 */
import type { ConnectorErrorEntry } from '../types/pipeline-api.ts';

/** Entries kept per tag (Feldera's bound). */
export const MAX_CONNECTOR_ERRORS = 100;
/** Longest message kept, in characters (a longer one loses its middle). */
export const MAX_CONNECTOR_ERROR_LEN = 8 * 1024;

/** What a checkpoint holds of a log. */
export interface SavedErrorLog {
  readonly next: number;
  readonly entries: readonly ConnectorErrorEntry[];
}

export class ConnectorErrorLog {
  #next = 0;
  readonly #byTag = new Map<string | null, ConnectorErrorEntry[]>();

  /**
   * Records `count` errors of which `message` describes the first (`count - 1` more happened and are only
   * counted: their indexes are skipped).
   */
  add(message: string, options: { tag?: string | null; count?: number } = {}): void {
    const tag = options.tag ?? null;
    let list = this.#byTag.get(tag);
    if (list === undefined) {
      list = [];
      this.#byTag.set(tag, list);
    }
    list.push({ timestamp: timestampMicros(new Date()), index: this.#next, tag, message: bounded(message) });
    if (list.length > MAX_CONNECTOR_ERRORS) list.splice(0, list.length - MAX_CONNECTOR_ERRORS);
    this.#next += Math.max(1, options.count ?? 1);
  }

  /** Skips `count` errors that carry no message (counted elsewhere, listed nowhere). */
  skip(count: number): void {
    this.#next += Math.max(0, count);
  }

  /** The kept entries, oldest first. */
  list(): ConnectorErrorEntry[] {
    return [...this.#byTag.values()].flat().sort((a, b) => a.index - b.index);
  }

  saved(): SavedErrorLog {
    return { next: this.#next, entries: this.list() };
  }

  /** Takes over a saved log (anything malformed in it is ignored). */
  restore(saved: unknown): void {
    if (typeof saved !== 'object' || saved === null) return;
    const s = saved as Partial<SavedErrorLog>;
    if (typeof s.next === 'number' && Number.isSafeInteger(s.next)) this.#next = Math.max(this.#next, s.next);
    this.#byTag.clear();
    for (const e of Array.isArray(s.entries) ? s.entries : []) {
      if (typeof e?.message !== 'string' || typeof e.index !== 'number' || typeof e.timestamp !== 'string')
        continue;
      const tag = typeof e.tag === 'string' ? e.tag : null;
      const list = this.#byTag.get(tag) ?? [];
      list.push({ timestamp: e.timestamp, index: e.index, tag, message: e.message });
      this.#byTag.set(tag, list.slice(-MAX_CONNECTOR_ERRORS));
    }
  }
}

/** RFC 3339 with microseconds, UTC (Feldera's serialization of an error's time). */
function timestampMicros(d: Date): string {
  return `${d.toISOString().slice(0, -1)}000Z`;
}

function bounded(message: string): string {
  if (message.length <= MAX_CONNECTOR_ERROR_LEN) return message;
  const keep = Math.floor((MAX_CONNECTOR_ERROR_LEN - 3) / 2);
  return `${message.slice(0, keep)}...${message.slice(message.length - keep)}`;
}

/** An input endpoint's error logs (Feldera's `parse_errors` and `transport_errors`). */
export interface InputErrorLogs {
  readonly parse: ConnectorErrorLog;
  readonly transport: ConnectorErrorLog;
}

/** One unparseable record as the connector stats list it. */
export interface ParseErrorLike {
  readonly description: string;
  readonly event_number: number | null;
  readonly field: string | null;
  readonly invalid_text: string | null;
}

/**
 * Records a chunk's parse errors: `errors` are the ones the parser described (in order), `total` all of them
 * (the rest are counted: their indexes skipped).
 */
export function recordParseErrors(
  log: ConnectorErrorLog,
  errors: readonly ParseErrorLike[],
  total: number,
): void {
  const listed = errors.slice(-MAX_CONNECTOR_ERRORS);
  log.skip(errors.length - listed.length);
  for (const e of listed) log.add(parseErrorMessage(e));
  log.skip(total - errors.length);
}

function parseErrorMessage(e: ParseErrorLike): string {
  const where = e.event_number === null ? '' : ` (event #${e.event_number})`;
  const field = e.field === null ? '' : `; field '${e.field}'`;
  const text = e.invalid_text === null ? '' : `; invalid text: ${e.invalid_text}`;
  return `Parse error${where}: ${e.description}${field}${text}`;
}
