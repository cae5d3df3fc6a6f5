/**
 * Small HTTP helpers shared by the pipeline and manager servers: JSON replies, the one error body
 * (`{message, error_code, details}`) with the catalog's status, request bodies and query parameters.
 * Unknown errors become 500 `UnknownError` without a stack trace.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isServiceError, ServiceError, toServiceError } from './service-error.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, e: unknown): ServiceError {
  const err = toServiceError(e);
  if (res.headersSent) {
    res.destroy();
    return err;
  }
  const headers: Record<string, string> = {};
  if (err.httpStatus === 503) headers['retry-after'] = '1';
  const text = JSON.stringify(err.toResponse());
  res.writeHead(err.httpStatus, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
  return err;
}

/** Reads a whole request body as UTF-8 text. */
export async function readBody(req: IncomingMessage): Promise<{ text: string; bytes: number }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const c of req) {
    const b = c as Buffer;
    chunks.push(b);
    bytes += b.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), bytes };
}

/** A boolean query parameter (`true`/`false`); anything else is 400 `ConfigError.ParserConfigParseError`-style. */
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
