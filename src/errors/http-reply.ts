/**
 * Small HTTP helpers on node's request and response, used by the HTTP kit (src/http/) and by handlers that
 * stream (proxy, ingress): the one error body (`{message, error_code, details}`) with the catalog's status on a
 * raw response, request URLs, bounded request bodies, bearer keys and query parameters. Unknown errors become
 * 500 `UnknownError` without a stack trace.
 *
 * Invariants: a body over its limit is refused with 413 `PayloadTooLarge` before it is read (Content-Length)
 * or as soon as the count passes the limit (chunked), and the rest is discarded, never kept; the connection
 * is then closed. A malformed percent-encoding in a path or query is 400 `InvalidParam`, never a 500. Keys
 * are compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isServiceError, ServiceError, toServiceError } from './service-error.ts';

export function sendError(res: ServerResponse, e: unknown): ServiceError {
  const err = toServiceError(e);
  if (res.headersSent) {
    res.destroy();
    return err;
  }
  const headers: Record<string, string> = {};
  if (err.httpStatus === 503) headers['retry-after'] = '1';
  const req = res.req as IncomingMessage | undefined;
  if (err.errorCode === 'PayloadTooLarge' && req !== undefined && !req.complete) {
    headers.connection = 'close';
    closeAfterUnreadBody(req, res);
  }
  const text = JSON.stringify(err.toResponse());
  res.writeHead(err.httpStatus, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
  return err;
}

/**
 * After a 413 answered before the body was read: once the answer is out, discards (never keeps) what still
 * arrives and closes the connection, so the client reads the answer rather than a reset. The caller sends
 * `Connection: close` with the answer.
 */
export function closeAfterUnreadBody(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  res.once('finish', () => {
    req.removeAllListeners('data');
    req.on('data', () => {});
    req.resume();
    if (!socket || socket.destroyed) return;
    const t = setTimeout(() => socket.destroy(), 2000);
    t.unref();
    socket.once('close', () => clearTimeout(t));
    socket.end();
  });
}

/** Default limit of a request body read whole (manager API bodies): 16 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * How long an idle keep-alive connection stays open on Holdfast's servers. Longer than HTTP clients keep idle
 * pooled connections (undici: 4 s, most SDKs: under a minute), so a client never reuses a connection the
 * server has just closed (Node's default of 5 s lost that race when the client's event loop was busy: the
 * request failed with "other side closed").
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** The 413 for a body over `limit` bytes (`what` names the body and the setting that raises the limit). */
export function payloadTooLarge(limit: number, what: string): ServiceError {
  return new ServiceError(
    'PayloadTooLarge',
    `the request body is larger than ${limit} bytes, the limit for ${what}; send a smaller body or raise the limit`,
    { limit_bytes: limit },
  );
}

/**
 * Refuses a body whose Content-Length is over `limit` before anything is read. @throws PayloadTooLarge
 */
export function checkContentLength(req: IncomingMessage, limit: number | null, what: string): void {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (limit !== null && Number.isFinite(declared) && declared > limit) throw payloadTooLarge(limit, what);
}

/**
 * Reads a whole request body as UTF-8 text, at most `limit` bytes (null: no limit). Over the limit it stops
 * reading and throws 413 `PayloadTooLarge` (see {@link sendError} for the connection).
 */
export async function readBody(
  req: IncomingMessage,
  limit: number | null = DEFAULT_MAX_BODY_BYTES,
  what = 'request bodies',
): Promise<{ text: string; bytes: number }> {
  checkContentLength(req, limit, what);
  const chunks: Buffer[] = [];
  let bytes = 0;
  // not destroyed on an early exit: a 413 is still answered on this connection (see sendError)
  for await (const c of req.iterator({ destroyOnReturn: false })) {
    const b = c as Buffer;
    bytes += b.length;
    if (limit !== null && bytes > limit) throw payloadTooLarge(limit, what);
    chunks.push(b);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), bytes };
}

/**
 * The request's URL with its path and query checked to be well-formed percent-encoding (of UTF-8).
 * @throws ServiceError InvalidParam (400)
 */
export function requestUrl(req: IncomingMessage, base: string): URL {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const parts: Array<[string, string]> = [
    ['path', q < 0 ? raw : raw.slice(0, q)],
    ['query', q < 0 ? '' : raw.slice(q + 1)],
  ];
  for (const [where, text] of parts) {
    try {
      decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      throw new ServiceError(
        'InvalidParam',
        `the request ${where} has a malformed percent-encoding (every % must start %XX forming UTF-8); encode it with encodeURIComponent`,
        { param: where },
      );
    }
  }
  try {
    return new URL(raw, base);
  } catch {
    throw new ServiceError('InvalidParam', 'the request URL is malformed', { param: 'path' });
  }
}

/** The decoded, non-empty segments of a URL's path (from {@link requestUrl}: known to decode). */
export function pathSegments(url: URL): string[] {
  return url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
}

/** Whether the request carries `Authorization: Bearer <key>` (constant-time comparison). */
export function hasBearer(req: IncomingMessage, key: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(req.headers.authorization ?? ''), digest(`Bearer ${key}`));
}

/** A boolean query parameter (`true`/`false`); anything else is 400 `InvalidParam` naming it. */
export function boolParam(params: URLSearchParams, name: string, dflt = false): boolean {
  const v = params.get(name);
  if (v === null) return dflt;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ServiceError('InvalidParam', `query parameter '${name}' must be true or false, got '${v}'`, {
    param: name,
  });
}

export function isAbort(e: unknown): boolean {
  return !isServiceError(e) && (e as { code?: string })?.code === 'ECONNRESET';
}

/** A byte limit from a flag or the environment: a positive integer, or unset/empty for none. */
export function byteLimit(text: string | undefined, name: string): number | null {
  if (text === undefined || text.trim() === '') return null;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new ServiceError('InvalidArguments', `${name} must be a positive number of bytes, got '${text}'`);
  return n;
}

/**
 * The action of `POST …/tables/{t}/connectors/{c}/{action}` (Feldera's connector actions).
 * @throws ServiceError InvalidConnectorAction (an action other than start or pause)
 */
export function checkConnectorAction(action: string): 'start' | 'pause' {
  if (action === 'start' || action === 'pause') return action;
  throw new ServiceError(
    'InvalidConnectorAction',
    `connector action '${action}' is not supported: use start or pause`,
    {
      action,
    },
  );
}
