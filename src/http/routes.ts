/**
 * Route tables: each HTTP route is one entry `{ method, url, schema, handler }` (plus, where needed, how its
 * body is read and how its schema failures map onto the route's own error codes). A server's routes are a list
 * of such entries, one group per file; {@link registerRoutes} adds them to a fastify app and records every
 * path template so that a known path with a wrong method is answered 405 `MethodNotAllowed` (with `Allow`),
 * not 404.
 *
 * Handlers send their own answer: {@link sendJson} for JSON (every body, strings included, is JSON, as
 * Feldera's API answers `"Pipeline is starting"`), `reply.hijack()` and the raw response for streams and proxies.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, HTTPMethods } from 'fastify';
import { stringifyJson } from '../util/json-u64.ts';
import type { InvalidMapper } from './errors.ts';

/** How a route's request body is read: parsed as JSON (bounded), left unread as a stream, or not at all. */
export type BodyMode = 'json' | 'raw' | 'none';

export type RouteMethod = Extract<HTTPMethods, 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'>;

export interface RouteSchema extends FastifySchema {
  /** OpenAPI operation fields (read by @fastify/swagger). */
  readonly summary?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly operationId?: string;
  /** Left out of the OpenAPI document. */
  readonly hide?: boolean;
}

export interface Route {
  readonly method: RouteMethod;
  /** fastify path template: `/v0/pipelines/:pipeline_name/stats`. */
  readonly url: string;
  readonly schema: RouteSchema;
  /** Default: `json` when the schema has a body, else `none` (the body is not read). */
  readonly body?: BodyMode;
  /** Maps a schema failure onto the route's own coded error (default: InvalidParam / InvalidRequestBody). */
  readonly invalid?: InvalidMapper;
  readonly handler: (request: FastifyRequest, reply: FastifyReply) => Promise<void> | void;
}

/** Per-route settings the kit reads back in its hooks (`request.routeOptions.config`). */
export interface RouteConfig {
  readonly body: BodyMode;
  readonly invalid?: InvalidMapper;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    readonly body?: BodyMode;
    readonly invalid?: InvalidMapper;
  }
}

/** Known path templates (as regular expressions) and their methods: the 405 check. */
export class MethodTable {
  readonly #paths: Array<{ re: RegExp; methods: Set<string> }> = [];

  add(method: string, url: string): void {
    const re = templateRegExp(url);
    const known = this.#paths.find((p) => p.re.source === re.source);
    if (known) known.methods.add(method);
    else this.#paths.push({ re, methods: new Set([method]) });
  }

  /** The methods allowed on a request path (decoded, without query), empty when no route has this path. */
  allowed(path: string): string[] {
    const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
    const out = new Set<string>();
    for (const { re, methods } of this.#paths) if (re.test(p)) for (const m of methods) out.add(m);
    return [...out].sort();
  }
}

function templateRegExp(url: string): RegExp {
  const parts = url.split('/').map((s) => {
    if (s.startsWith(':')) return '[^/]+';
    if (s === '*') return '.*';
    return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('/')}$`);
}

/** Adds a route table to an app (inside a plugin, so that plugins registered before, e.g. swagger, see it). */
export function registerRoutes(app: FastifyInstance, methods: MethodTable, routes: readonly Route[]): void {
  for (const r of routes) methods.add(r.method, r.url);
  app.register(async (scope) => {
    for (const r of routes) {
      const config: RouteConfig = {
        body: r.body ?? (r.schema.body ? 'json' : 'none'),
        ...(r.invalid ? { invalid: r.invalid } : {}),
      };
      scope.route({ method: r.method, url: r.url, schema: r.schema, config, handler: r.handler });
    }
  });
}

/** The route's settings (defaults for the 404/405 handler, which has none). */
export function routeConfig(request: FastifyRequest): RouteConfig {
  const c = request.routeOptions.config;
  return { body: c?.body ?? 'none', ...(c?.invalid ? { invalid: c.invalid } : {}) };
}

/** A JSON answer (bigints as strings): the body of every non-streaming, non-error answer. */
export function sendJson(reply: FastifyReply, status: number, body: unknown): void {
  const text = stringifyJson(body); // a bigint (a u64 such as a checkpoint's fingerprint) as an exact JSON integer
  reply.code(status).header('content-type', 'application/json').send(Buffer.from(text)); // a Buffer: sent with exactly this content type (fastify adds a charset to strings)
}

/** A text answer with its content type. */
export function sendText(
  reply: FastifyReply,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  reply.code(status).header('content-type', contentType).send(Buffer.from(text));
}

/** The request's query as URLSearchParams (raw strings, first value of each key via `get`). */
export function queryParams(request: FastifyRequest): URLSearchParams {
  const q = request.url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : request.url.slice(q + 1));
}
