/**
 * `ApiError`: an error answer from a Holdfast (or Feldera) `/v0` server, as the SDK surfaces it. Built from the
 * JSON `ErrorResponse` body (`message`, `error_code`, `details`); a body that is not JSON (framework errors such
 * as a malformed query value, a bare 401 from a proxy) still yields an `ApiError` with a useful message and the
 * code `HttpError`. `Retry-After` (seconds or HTTP date) becomes `retryAfterMs`. `retryable` is the error
 * catalog's (types/error-codes.ts) for a known code; for a body without a known code, a 503 is retryable.
 *
 * Invariant: an API key never appears in a message or in `details` (callers pass their secrets for redaction).
 */
import { ERROR_CATALOG, type ErrorCode } from '../types/error-codes.ts';

const BRAND = Symbol.for('holdfast.ApiError');

/** `errorCode` used when the error body carries no `error_code` (plain-text or empty bodies). */
export const HTTP_ERROR_CODE = 'HttpError';

/** Longest slice of a non-JSON error body kept in the message. */
const MAX_TEXT = 500;

export interface ApiErrorInit {
  readonly status: number;
  readonly errorCode: ErrorCode | (string & {});
  readonly message: string;
  readonly details?: Record<string, unknown> | null;
  readonly retryAfterMs?: number | undefined;
  readonly method?: string;
  readonly path?: string;
}

export class ApiError extends Error {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The body's `error_code` (a Holdfast/Feldera code), or `HttpError` when the body had none. */
  readonly errorCode: ErrorCode | (string & {});
  /** The body's `details` (variant-specific; `null` for field-less errors). */
  readonly details: Record<string, unknown> | null;
  /** Delay the server asked for in `Retry-After`, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** HTTP method of the failed request. */
  readonly method: string;
  /** Path (with query string) of the failed request, without the base URL. */
  readonly path: string;

  constructor(init: ApiErrorInit) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.errorCode = init.errorCode;
    this.details = init.details ?? null;
    this.retryAfterMs = init.retryAfterMs;
    this.method = init.method ?? '';
    this.path = init.path ?? '';
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Whether the same request may succeed later: the catalog's `retryable` for the code (unknown code: a 503). */
  get retryable(): boolean {
    const entry = (ERROR_CATALOG as Record<string, { retryable: boolean } | undefined>)[this.errorCode];
    return entry !== undefined ? entry.retryable : this.status === 503;
  }
}

/** Realm-safe check (works across duplicate copies of the SDK); with `code`, also matches `errorCode`. */
export function isApiError(e: unknown, code?: ErrorCode | (string & {})): e is ApiError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (e as ApiError).errorCode === code)
  );
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unparsable. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Replaces every occurrence of each non-empty secret with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}

function redactValue(value: unknown, secrets: readonly string[]): unknown {
  if (secrets.every((s) => s.length === 0)) return value;
  return JSON.parse(redact(JSON.stringify(value) ?? 'null', secrets)) as unknown;
}

/**
 * Builds the `ApiError` for a non-2xx response, consuming its body. `path` is the request path (no host).
 */
export async function apiErrorFromResponse(
  res: Response,
  method: string,
  path: string,
  secrets: readonly string[] = [],
): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // Body unreadable (connection dropped): keep the status line only.
  }
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  const statusLine = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const body = parsed as Record<string, unknown>;
    const code = typeof body.error_code === 'string' && body.error_code !== '' ? body.error_code : undefined;
    const message = typeof body.message === 'string' ? body.message : undefined;
    if (code !== undefined || message !== undefined) {
      const rawDetails = body.details;
      const details =
        rawDetails === undefined || rawDetails === null
          ? null
          : typeof rawDetails === 'object' && !Array.isArray(rawDetails)
            ? (rawDetails as Record<string, unknown>)
            : { value: rawDetails };
      return new ApiError({
        status: res.status,
        errorCode: code ?? HTTP_ERROR_CODE,
        message: redact(message ?? `${method} ${path} failed with HTTP ${statusLine}`, secrets),
        details: redactValue(details, secrets) as Record<string, unknown> | null,
        retryAfterMs,
        method,
        path,
      });
    }
  }
  const snippet = text.trim().slice(0, MAX_TEXT);
  const message = `${method} ${path} failed with HTTP ${statusLine}${snippet ? `: ${snippet}` : ''}`;
  return new ApiError({
    status: res.status,
    errorCode: HTTP_ERROR_CODE,
    message: redact(message, secrets),
    details: snippet ? { body: redact(snippet, secrets) } : null,
    retryAfterMs,
    method,
    path,
  });
}
