/**
 * Error mapping for the fastify servers (manager and pipeline process): every failure is answered with the one
 * error body `{message, error_code, details}` and the catalog's status, whatever raised it — a handler's
 * `ServiceError`, a schema (Ajv) failure, fastify itself (bad URL, body errors), or an unexpected exception
 * (500 `UnknownError`, no stack trace).
 *
 * Schema failures are mapped onto the codes the handlers returned before the schemas existed: a route may give
 * an `invalid` mapper (see routes.ts) that turns the failing parameter into its own coded error (e.g.
 * `start?initial=x` → 405 `UnsupportedPipelineAction`); otherwise a query or path parameter is 400
 * `InvalidParam` and a body 400 `InvalidRequestBody`, with a message naming the parameter and what it must be.
 *
 * Invariants: a 503 carries `Retry-After: 1`; a 413 over an unread body closes the connection (see
 * `closeAfterUnreadBody` in errors/http-reply.ts); an error after the response started destroys the socket.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { closeAfterUnreadBody } from '../errors/http-reply.ts';
import { isServiceError, ServiceError, toServiceError } from '../errors/service-error.ts';

/** Where a schema failure is: a query parameter, a path parameter or the body. */
export type InputPart = 'querystring' | 'params' | 'body' | 'headers';

/** A schema failure, reduced to what the error mappers need. */
export interface InvalidInput {
  readonly part: InputPart;
  /** The failing parameter (query/path), or the top-level body field (`''`: the body itself). */
  readonly param: string;
  /** The value sent (as received, before any coercion), `undefined` when missing. */
  readonly value: unknown;
  /** Ajv's message (`must be equal to one of the allowed values`, …). */
  readonly reason: string;
  /** The parameter's JSON schema, when known. */
  readonly schema: Record<string, unknown> | null;
  /** The whole part (the query object, the body). */
  readonly input: unknown;
}

/** A route's own mapping of schema failures onto its coded errors (null: use the default). */
export type InvalidMapper = (e: InvalidInput) => ServiceError | null;

interface AjvError {
  readonly instancePath?: string;
  readonly keyword?: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

interface FastifyishError {
  readonly code?: string;
  readonly statusCode?: number;
  readonly message?: string;
  readonly validation?: readonly AjvError[];
  readonly validationContext?: string;
}

/** The default error for a failing parameter or body. */
export function defaultInvalid(e: InvalidInput): ServiceError {
  if (e.part === 'body') {
    const where = e.param === '' ? 'the request body' : `field '${e.param}' of the request body`;
    return new ServiceError('InvalidRequestBody', `${where} ${e.reason}`, e.param ? { field: e.param } : {});
  }
  const what = e.part === 'params' ? 'path parameter' : 'query parameter';
  if (e.value === undefined)
    return new ServiceError('InvalidParam', `missing ${what} ${e.param}`, { param: e.param });
  return new ServiceError(
    'InvalidParam',
    `${what} '${e.param}' must be ${expected(e.schema, e.reason)}, got '${String(e.value)}'`,
    { param: e.param },
  );
}

function expected(schema: Record<string, unknown> | null, reason: string): string {
  if (schema === null) return reason.replace(/^must be /, '');
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.join(', ')}`;
  if (schema.type === 'boolean') return 'true or false';
  if (schema.type === 'integer') return 'an integer';
  if (schema.type === 'number') return 'a number';
  return reason.replace(/^must be /, '');
}

/** The failing input of a fastify validation error. */
function invalidInput(request: FastifyRequest, err: FastifyishError): InvalidInput {
  const first = err.validation?.[0] ?? {};
  const part = (err.validationContext ?? 'body') as InputPart;
  const path = (first.instancePath ?? '').split('/').filter(Boolean);
  const missing = first.params?.missingProperty ?? first.params?.additionalProperty;
  const param = typeof missing === 'string' && path.length === 0 ? missing : (path[0] ?? '');
  const input =
    part === 'querystring'
      ? request.query
      : part === 'params'
        ? request.params
        : part === 'headers'
          ? request.headers
          : request.body;
  const raw = part === 'querystring' ? new URLSearchParams(request.url.split('?')[1] ?? '') : null;
  const value =
    param === ''
      ? input
      : raw !== null
        ? (raw.get(param) ?? undefined)
        : (input as Record<string, unknown> | undefined)?.[param];
  const schemaOf = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[part] as
    | { properties?: Record<string, Record<string, unknown>> }
    | undefined;
  return {
    part,
    param,
    value,
    reason: first.message ?? 'is not valid',
    schema: param === '' ? null : (schemaOf?.properties?.[param] ?? null),
    input,
  };
}

/** Any error (a ServiceError, fastify's, Ajv's, anything thrown) as the coded error to answer with. */
export function toHttpError(request: FastifyRequest, e: unknown, invalid?: InvalidMapper): ServiceError {
  if (isServiceError(e)) return e;
  const err = (e ?? {}) as FastifyishError;
  if (err.validation) {
    const input = invalidInput(request, err);
    return invalid?.(input) ?? defaultInvalid(input);
  }
  if (err.code === 'FST_ERR_BAD_URL')
    return new ServiceError(
      'InvalidParam',
      'the request path has a malformed percent-encoding (every % must start %XX forming UTF-8); encode it with encodeURIComponent',
      { param: 'path' },
    );
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new ServiceError('PayloadTooLarge', 'the request body is larger than the limit', {});
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500 && err.code?.startsWith('FST_'))
    return new ServiceError('InvalidRequestBody', `the request is not valid: ${err.message ?? err.code}`, {});
  return toServiceError(e);
}

/**
 * Answers with the error body. After the response started (a stream), the socket is destroyed instead: the
 * client sees a cut-off stream, not a second response.
 */
export function replyError(request: FastifyRequest, reply: FastifyReply, err: ServiceError): void {
  const res = reply.raw;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err.httpStatus === 503) reply.header('retry-after', '1');
  if (err.errorCode === 'PayloadTooLarge' && !request.raw.complete) {
    reply.header('connection', 'close');
    closeAfterUnreadBody(request.raw, res);
  }
  if (err.errorCode === 'AuthenticationFailed' && !request.headers.authorization)
    reply.header('www-authenticate', 'Bearer');
  reply
    .code(err.httpStatus)
    .header('content-type', 'application/json')
    .send(Buffer.from(JSON.stringify(err.toResponse())));
}
