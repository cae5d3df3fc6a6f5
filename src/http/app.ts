/**
 * The HTTP kit shared by the manager and the pipeline process: one fastify app factory with
 *
 * - request checks, in order: a malformed percent-encoding in the path or query is 400 `InvalidParam`; then,
 *   with a key, requests on guarded paths need `Authorization: Bearer <key>` (constant-time compare; 401
 *   `AuthenticationFailed`, with `WWW-Authenticate: Bearer` when no header was sent);
 * - bodies: a route's body is read only when its table entry says `json` (bounded by `jsonBodyLimit`: 413
 *   `PayloadTooLarge`, declared or counted, the rest unread and the connection closed; not JSON or not an
 *   object: 400 `InvalidRequestBody`), or left unread for the handler to stream (`raw`: ingress, proxies);
 *   whatever the content type;
 * - schemas: Ajv without coercion, defaults or removal (a body is validated as sent); query parameters are
 *   coerced by the kit alone (`true`/`false` to booleans, integers), and unknown query parameters are ignored
 *   (Feldera's behaviour: its SDK sends e.g. `pipeline_name=` on /query); responses are not filtered by their
 *   schemas (these are documentation, checked by the contract tests);
 * - errors: one body `{message, error_code, details}` (errors.ts); an unknown path is 404 `NotFound`, a known
 *   path with another method 405 `MethodNotAllowed` with `Allow`;
 * - `onResponse(request, reply, route, seconds)`: the one hook point after each response (HTTP metrics; the
 *   request log line goes there too), `route` being the route's template (`/v0/pipelines/{pipeline_name}`), or
 *   `{unknown}` for an unknown path;
 * - keep-alive timeout {@link KEEP_ALIVE_TIMEOUT_MS}; `logger: false` (the servers log through their own hooks).
 *
 * `listenable()` returns the node `Server` at once (callers `listen` it themselves); requests that arrive before
 * fastify is ready wait for it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { hasBearer, isAbort, KEEP_ALIVE_TIMEOUT_MS, readBody, requestUrl } from '../errors/http-reply.ts';
import { ServiceError, toServiceError } from '../errors/service-error.ts';
import { replyError, toHttpError } from './errors.ts';
import { MethodTable, type Route, registerRoutes, routeConfig } from './routes.ts';

export interface BearerAuth {
  readonly key: string;
  /** Whether a request path needs the key. */
  readonly guarded: (path: string) => boolean;
  /** The 401 message, with and without an Authorization header sent. */
  readonly message: (sentHeader: boolean) => string;
}

export interface HttpAppOptions {
  readonly auth?: BearerAuth | null;
  /** Largest JSON body read whole (null: no limit). */
  readonly jsonBodyLimit: number | null;
  /** Names the bodies and the setting that raises their limit, for the 413 message. */
  readonly jsonBodyWhat: string;
  /** The OpenAPI document's `info` (given: @fastify/swagger collects the routes' schemas). */
  readonly openapi?: { readonly title: string; readonly version: string; readonly description: string };
  /** Schemas with an `$id` that route schemas refer to (`$ref: '<id>#'`); OpenAPI components. */
  readonly sharedSchemas?: ReadonlyArray<{ readonly $id: string }>;
  /**
   * Whether route schemas validate requests (default true). False: the schemas stay in the route tables (and an
   * OpenAPI document) but nothing is compiled, so the app is ready at once; the handlers check their inputs.
   */
  readonly validate?: boolean;
  /** Details of a 404 name the method and path. */
  readonly notFoundDetails?: boolean;
  /** After each response (finished): metrics, logs. */
  readonly onResponse?: (
    request: FastifyRequest,
    reply: FastifyReply,
    route: string,
    seconds: number,
  ) => void;
  /** After each error answered (e.g. to log 5xx). */
  readonly onError?: (err: ServiceError, request: FastifyRequest) => void;
}

export class HttpApp {
  readonly app: FastifyInstance;
  readonly #methods = new MethodTable();
  readonly #server: Server;
  #ready: Promise<void> | null = null;

  constructor(opts: HttpAppOptions) {
    let handle: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
    this.#server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
      const h = handle as (req: IncomingMessage, res: ServerResponse) => void;
      const ready = this.#ready ?? this.ready();
      ready.then(
        () => h(req, res),
        (e: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify(toServiceError(e).toResponse()));
        },
      );
    });
    this.app = Fastify({
      logger: false,
      exposeHeadRoutes: false,
      routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 8192 },
      ajv: { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false } },
      serverFactory: (h) => {
        handle = h;
        return this.#server;
      },
      frameworkErrors: (err, request, reply) => {
        const e = toHttpError(request, err);
        opts.onError?.(e, request);
        replyError(request, reply, e);
      },
    });
    const app = this.app;
    for (const schema of opts.sharedSchemas ?? []) app.addSchema(schema);
    if (opts.openapi)
      app.register(swagger, {
        openapi: { openapi: '3.1.0', info: { ...opts.openapi } },
        hideUntagged: false,
        // components named by their $id (ErrorResponse, PipelineDescr, ...), not def-0, def-1, ...
        refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
      });
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    if (opts.validate === false) app.setValidatorCompiler(() => () => true);
    // callback-style hooks (not async): no promise per request on the hot path (ingress)
    app.addHook('onRequest', (request, _reply, done) => {
      try {
        requestUrl(request.raw, 'http://holdfast'); // @throws InvalidParam on a malformed percent-encoding
        const auth = opts.auth;
        if (auth?.guarded(request.url.split('?')[0] as string) && !hasBearer(request.raw, auth.key))
          throw new ServiceError(
            'AuthenticationFailed',
            auth.message(request.headers.authorization !== undefined),
          );
        done();
      } catch (e) {
        done(e as Error);
      }
    });
    app.addHook('preValidation', (request, _reply, done) => {
      coerceQuery(request);
      done();
    });
    if (opts.onResponse) {
      const on = opts.onResponse;
      app.addHook('onResponse', async (request, reply) => {
        const url = request.routeOptions.url;
        const route = url === undefined || request.is404 ? '{unknown}' : url.replace(/:(\w+)/g, '{$1}');
        on(request, reply, route, reply.elapsedTime / 1000);
      });
    }
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (request, _payload, done) => {
      if (routeConfig(request).body !== 'json') {
        done(null, undefined);
        return;
      }
      readJson(request.raw, opts.jsonBodyLimit, opts.jsonBodyWhat).then(
        (b) => done(null, b),
        (e: unknown) => done(e as Error, undefined),
      );
    });
    app.setNotFoundHandler(async (request) => {
      const path = new URL(request.url, 'http://holdfast').pathname;
      const allowed = this.#methods.allowed(decodeURIComponent(path));
      if (allowed.length > 0)
        throw new ServiceError(
          'MethodNotAllowed',
          `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`,
          { method: request.method, path, allowed },
        );
      throw new ServiceError(
        'NotFound',
        `no endpoint ${request.method} ${path}`,
        opts.notFoundDetails ? { method: request.method, path } : {},
      );
    });
    app.setErrorHandler((err, request, reply) => {
      if (isAbort(err)) {
        // the client went away (e.g. mid-body): nobody to answer
        reply.hijack();
        reply.raw.destroy();
        return;
      }
      if (request.is404) {
        const allowed = (err as { details?: { allowed?: string[] } }).details?.allowed;
        if (allowed) reply.header('allow', allowed.join(', '));
      }
      const e = toHttpError(request, err, routeConfig(request).invalid);
      opts.onError?.(e, request);
      replyError(request, reply, e);
    });
  }

  /** Adds a route table (before the server serves its first request). */
  routes(routes: readonly Route[]): this {
    registerRoutes(this.app, this.#methods, routes);
    return this;
  }

  /** Loads the plugins and routes (at the latest when the first request arrives). */
  ready(): Promise<void> {
    const ready = this.#ready ?? Promise.resolve(this.app.ready()).then(() => undefined);
    this.#ready = ready;
    return ready;
  }

  /** The node server to `listen` on. */
  get server(): Server {
    return this.#server;
  }
}

/** A JSON request body, read whole within `limit`: an object, else 400 `InvalidRequestBody`. */
async function readJson(req: IncomingMessage, limit: number | null, what: string): Promise<unknown> {
  const { text } = await readBody(req, limit, what);
  let b: unknown;
  try {
    b = JSON.parse(text);
  } catch (e) {
    throw new ServiceError(
      'InvalidRequestBody',
      `the request body is not valid JSON: ${(e as Error).message}`,
      {},
    );
  }
  if (b === null || typeof b !== 'object' || Array.isArray(b))
    throw new ServiceError('InvalidRequestBody', 'the request body must be a JSON object', {});
  return b;
}

/**
 * Coerces the query parameters a route's schema types as booleans or numbers (`true`/`false`, integer text):
 * the only coercion the kit does (bodies are validated as sent). A repeated parameter counts once (its first
 * value), as `URLSearchParams.get` reads it. Values that do not convert stay strings, for the schema to refuse.
 */
function coerceQuery(request: FastifyRequest): void {
  const schema = (request.routeOptions.schema as { querystring?: { properties?: Record<string, unknown> } })
    ?.querystring;
  const props = schema?.properties;
  const q = request.query as Record<string, unknown> | undefined;
  if (!props || !q) return;
  for (const [k, s] of Object.entries(props)) {
    let v = q[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) v = v[0];
    const type = (s as { type?: string }).type;
    if (type === 'boolean' && (v === 'true' || v === 'false')) v = v === 'true';
    else if ((type === 'integer' || type === 'number') && typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v))
      v = Number(v);
    q[k] = v;
  }
}
