/**
 * The manager's typed client for a pipeline process's own HTTP API (`http://127.0.0.1:<port>/…`, with the
 * process's key): every request the manager makes to a process besides the streaming proxy goes through it, and
 * its answers are the wire types of src/types (`ExtendedRuntimeStatus`, `PipelineStats`, `CheckpointResponse`,
 * `CheckpointStatus`), so `tsc` checks what the manager reads from them.
 *
 * No state; every call has a timeout. A process that does not answer (refused, reset, timed out) throws
 * `PipelineInteractionUnreachable`; an error answer throws a {@link ProcessAnswerError} carrying the status and
 * the body as sent, so that callers can pass it through unchanged (as Feldera's manager does).
 */
import { ServiceError } from '../errors/service-error.ts';
import type { ErrorResponse } from '../types/error-codes.ts';
import type {
  CheckpointResponse,
  CheckpointStatus,
  ExtendedRuntimeStatus,
  PipelineStats,
} from '../types/pipeline-api.ts';
import { parseJson } from '../util/json-u64.ts';

/** A process's non-2xx answer, kept as sent. */
export class ProcessAnswerError extends Error {
  readonly status: number;
  readonly text: string;
  readonly contentType: string | null;
  /** The body when it is an error body (`{"message", "error_code", ...}`), else null. */
  readonly body: ErrorResponse | null;

  constructor(status: number, text: string, contentType: string | null) {
    const body = errorBody(text);
    super(body?.message ?? `the pipeline process answered ${status}`);
    this.name = 'ProcessAnswerError';
    this.status = status;
    this.text = text;
    this.contentType = contentType;
    this.body = body;
  }
}

/** A process's answer, whatever its status. */
export interface ProcessAnswer {
  readonly status: number;
  readonly text: string;
  readonly contentType: string | null;
}

export class ProcessClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #pipeline: string;

  /** `pipeline`: the name errors mention; `headers`: the process's key (Supervisor.authHeaders). */
  constructor(port: number, headers: Record<string, string>, pipeline: string) {
    this.#base = `http://127.0.0.1:${port}`;
    this.#headers = headers;
    this.#pipeline = pipeline;
  }

  /** `GET /status`: the runtime status, or (`ok: false`) the failure the process answers with instead. */
  async status(
    timeoutMs = 5000,
  ): Promise<{ ok: true; body: ExtendedRuntimeStatus } | { ok: false; body: ErrorResponse }> {
    const a = await this.send('GET', '/status', timeoutMs);
    if (a.status >= 200 && a.status < 300)
      return { ok: true, body: parseJson(a.text, 'raw') as ExtendedRuntimeStatus }; // u64s kept exact
    const body = errorBody(a.text);
    if (body === null) throw new ProcessAnswerError(a.status, a.text, a.contentType);
    return { ok: false, body };
  }

  /** `GET /stats`. */
  async stats(timeoutMs = 10_000): Promise<PipelineStats> {
    return this.#json<PipelineStats>('GET', '/stats', timeoutMs);
  }

  /** `POST /pause` or `POST /start` (resume). */
  async pauseOrStart(action: 'pause' | 'start', timeoutMs = 10_000): Promise<void> {
    await this.#json<unknown>('POST', `/${action}`, timeoutMs);
  }

  /** `POST /checkpoint`. */
  async checkpoint(timeoutMs = 120_000): Promise<CheckpointResponse> {
    return this.#json<CheckpointResponse>('POST', '/checkpoint', timeoutMs);
  }

  /** `GET /checkpoint_status?incarnation_uuid=`. */
  async checkpointStatus(incarnation: string | null, timeoutMs = 10_000): Promise<CheckpointStatus> {
    const q = incarnation === null ? '' : `?incarnation_uuid=${encodeURIComponent(incarnation)}`;
    return this.#json<CheckpointStatus>('GET', `/checkpoint_status${q}`, timeoutMs);
  }

  /** Any request; the answer as sent, whatever its status (for routes passed through unchanged). */
  async send(method: 'GET' | 'POST', pathAndQuery: string, timeoutMs: number): Promise<ProcessAnswer> {
    let r: Response;
    try {
      r = await fetch(this.#base + pathAndQuery, {
        method,
        headers: this.#headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      throw new ServiceError(
        'PipelineInteractionUnreachable',
        `pipeline '${this.#pipeline}' did not answer`,
        {
          pipeline_name: this.#pipeline,
        },
      );
    }
    const text = await r.text().catch(() => '');
    return { status: r.status, text, contentType: r.headers.get('content-type') };
  }

  async #json<T>(method: 'GET' | 'POST', path: string, timeoutMs: number): Promise<T> {
    const a = await this.send(method, path, timeoutMs);
    if (a.status < 200 || a.status >= 300) throw new ProcessAnswerError(a.status, a.text, a.contentType);
    return (a.text === '' ? null : parseJson(a.text, 'raw')) as T;
  }
}

/** The body when it is an error body (`{"message", "error_code", ...}`), else null. */
export function errorBody(text: string): ErrorResponse | null {
  try {
    const b = JSON.parse(text) as Partial<ErrorResponse> | null;
    if (typeof b === 'object' && b !== null && typeof b.error_code === 'string')
      return { message: String(b.message ?? ''), error_code: b.error_code, details: b.details ?? {} };
  } catch {}
  return null;
}
