/**
 * A tiny fake `/v0` server for client tests: records every request (method, path, query, headers, body) and
 * answers from routes registered by the test with canned Feldera-shaped bodies. Binds 127.0.0.1 port 0.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach } from 'node:test';
import type { PipelineDescr } from '../../../src/types/pipeline-api.ts';

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Reply {
  readonly status?: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly headers?: Record<string, string>;
}

/** Returns a reply to send, or nothing when it wrote `res` itself. */
export type Handler = (req: Recorded, res: ServerResponse) => Reply | undefined | Promise<Reply | undefined>;

interface Route {
  readonly method: string;
  readonly path: string;
  readonly handler: Handler;
}

export class FakeServer {
  readonly requests: Recorded[] = [];
  readonly #routes: Route[] = [];
  readonly #server: Server;
  readonly #open = new Set<ServerResponse>();
  url = '';

  private constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://fake');
        const rec: Recorded = {
          method: req.method ?? 'GET',
          path: u.pathname,
          query: Object.fromEntries(u.searchParams),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.requests.push(rec);
        this.#open.add(res);
        res.on('close', () => this.#open.delete(res));
        // Last registered route wins, so a test can override a default.
        const route = [...this.#routes].reverse().find((r) => r.method === rec.method && r.path === rec.path);
        if (!route) {
          send(res, {
            status: 404,
            json: { message: `no route ${rec.method} ${rec.path}`, error_code: 'NotFound', details: null },
          });
          return;
        }
        Promise.resolve(route.handler(rec, res)).then(
          (reply) => {
            if (reply) send(res, reply);
          },
          (e: unknown) => send(res, { status: 500, text: String(e) }),
        );
      });
    });
  }

  static async start(): Promise<FakeServer> {
    const s = new FakeServer();
    await s.#listen();
    return s;
  }

  /**
   * One server for the whole test file: returned at once (unbound), listening from the file's `before` hook
   * on (so `url` is set when tests run), reset before each test and closed in the file's `after` hook.
   * `onListening` runs once the URL is known (root-level `before` hooks run concurrently, so a test file's own
   * hook cannot rely on the URL).
   */
  static forFile(onListening?: (s: FakeServer) => void): FakeServer {
    const s = new FakeServer();
    before(async () => {
      await s.#listen();
      onListening?.(s);
    });
    after(() => s.close());
    beforeEach(() => s.reset());
    return s;
  }

  async #listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Registers a route; `reply` may be a fixed reply or a handler. */
  on(method: string, path: string, reply: Reply | Handler): this {
    this.#routes.push({ method, path, handler: typeof reply === 'function' ? reply : () => reply });
    return this;
  }

  /** Requests for one path (optionally one method). */
  calls(path: string, method?: string): Recorded[] {
    return this.requests.filter((r) => r.path === path && (method === undefined || r.method === method));
  }

  reset(): void {
    this.requests.length = 0;
    this.#routes.length = 0;
  }

  async close(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

export function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let body = '';
  if (reply.json !== undefined) {
    body = JSON.stringify(reply.json);
    headers['content-type'] ??= 'application/json';
  } else if (reply.text !== undefined) {
    body = reply.text;
    headers['content-type'] ??= 'text/plain';
  }
  res.writeHead(reply.status ?? 200, headers);
  res.end(body);
}

/** A canned pipeline object as `GET /v0/pipelines/{name}` returns it. */
export function pipelineDescr(name: string, overrides: Partial<PipelineDescr> = {}): PipelineDescr {
  const ts = '2026-08-21T10:00:00.000000Z';
  return {
    id: '0198c7f0-0000-7000-8000-000000000001',
    name,
    description: '',
    tags: [],
    created_at: ts,
    version: 1,
    platform_version: '0.337.0',
    runtime_config: { workers: 8 },
    program_code: 'CREATE TABLE t (x INT);',
    udf_rust: '',
    udf_toml: '',
    udf_ts: '',
    program_config: { profile: null, cache: true, runtime_version: null, use_platform_compiler: false },
    program_version: 1,
    program_status: 'Success',
    program_status_since: ts,
    program_error: {
      sql_compilation: { exit_code: 0, messages: [] },
      rust_compilation: { exit_code: 0, stdout: '', stderr: '' },
      system_error: null,
    },
    program_info: null,
    deployment_error: null,
    refresh_version: 1,
    storage_status: 'Cleared',
    storage_status_details: null,
    deployment_id: null,
    deployment_initial: null,
    deployment_status: 'Stopped',
    deployment_status_since: ts,
    deployment_desired_status: 'Stopped',
    deployment_desired_status_since: ts,
    deployment_resources_status: 'Stopped',
    deployment_resources_status_since: ts,
    deployment_resources_desired_status: 'Stopped',
    deployment_resources_desired_status_since: ts,
    deployment_resources_status_details: null,
    deployment_runtime_status: null,
    deployment_runtime_status_details: null,
    deployment_runtime_status_since: null,
    deployment_runtime_desired_status: null,
    deployment_runtime_desired_status_since: null,
    bootstrap_policy: null,
    silent_bootstrap: false,
    concurrent_bootstrap: false,
    ...overrides,
  };
}

/** Serves GET `path` (a pipeline) from a list of states: each GET returns the next one, the last one repeats. */
export function statusSequence(
  server: FakeServer,
  states: Array<Partial<PipelineDescr>>,
  path = '/v0/pipelines/p',
): void {
  let i = 0;
  const name = decodeURIComponent(path.split('/').at(-1) ?? 'p');
  server.on('GET', path, () => ({
    json: pipelineDescr(name, states[Math.min(i++, states.length - 1)] ?? {}),
  }));
}
