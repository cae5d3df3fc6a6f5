/**
 * A fault-injecting HTTP proxy for S3 (path-style requests), started on 127.0.0.1 port 0 in front of an S3 server
 * such as the s3rver helper, and stopped when the test ends. Requests pass through unchanged (headers included,
 * so SigV4 signatures stay valid) unless a rule matches; then it injects:
 *
 * - `status`: an S3 error response (500 InternalError, 503 SlowDown/ServiceUnavailable) without forwarding;
 * - `reset`: the client's connection is destroyed before any response;
 * - `truncate`: the upstream response's headers (Content-Length intact), `keep` of its body bytes, then (50 ms
 *   later, while the client reads the body) a close;
 * - `corrupt`: the upstream body with a few bytes flipped at random (seeded) places, length intact: damage in
 *   transit, different from one answer to the next;
 * - `corrupt-request`: the request body forwarded with a few bytes flipped at random places, length intact (the
 *   store sees a damaged upload; its answer passes through);
 * - `delay`: the request is forwarded after `ms` milliseconds;
 * - `hang`: the upstream response's headers and `keep` of its body, then nothing (the socket stays open until
 *   the client gives up or the proxy stops).
 *
 * A rule matches by request kind (`get` whole object, `range` ranged GET, `head`, `put`, `multipart` (create,
 * part, complete, abort), `list`, `delete`) and by key: `key` matches when the object key (for a listing, its
 * `prefix` parameter) starts with it or contains `/` + it, so `checkpoints/` matches `bucket/prefix/checkpoints/x`.
 * It fires for the next `times` matching requests, or with `probability` drawn from a seeded PRNG (the seed is
 * printed). Rules can be added and cleared at run time; {@link FaultProxy.counts} says what was injected, and how
 * many requests were in flight at once at most (from arrival to the end of the response), so a test can see a
 * client's parallelism.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { runSeed } from '../kit/seed.ts';
import { Prng } from './oracle/prng.ts';

export type RequestKind = 'get' | 'range' | 'head' | 'put' | 'multipart' | 'list' | 'delete';

export type Fault =
  | { readonly type: 'status'; readonly status: 500 | 503 }
  | { readonly type: 'reset' }
  /** `keep`: bytes of the body sent before the close (default half of it). */
  | { readonly type: 'truncate'; readonly keep?: number }
  | { readonly type: 'corrupt' }
  | { readonly type: 'corrupt-request' }
  | { readonly type: 'delay'; readonly ms: number }
  | { readonly type: 'hang'; readonly keep?: number };

export interface FaultRule {
  readonly kinds?: readonly RequestKind[];
  readonly key?: string;
  readonly fault: Fault;
  /** Fires for the next N matching requests (default: every matching request, or `probability`). */
  readonly times?: number;
  /** Fires with this probability per matching request (seeded). */
  readonly probability?: number;
}

export interface FaultCounts {
  /** Requests seen. */
  readonly requests: number;
  /** Faults injected, by fault type. */
  readonly injected: Readonly<Record<Fault['type'], number>>;
  /** Faults injected, by request kind. */
  readonly byKind: Readonly<Record<RequestKind, number>>;
  /** Requests seen, by request kind. */
  readonly seen: Readonly<Record<RequestKind, number>>;
  /** Most requests in flight at once so far (see {@link FaultProxy.resetPeak}). */
  readonly peakInFlight: number;
}

export interface FaultProxy {
  readonly endpoint: string;
  readonly port: number;
  readonly seed: number;
  /** Adds a rule (rules are tried in the order added); returns it for {@link remove}. */
  inject(rule: FaultRule): FaultRule;
  remove(rule: FaultRule): void;
  /** Removes every rule: requests pass through again. */
  clear(): void;
  counts(): FaultCounts;
  /** Restarts {@link FaultCounts.peakInFlight} from the requests in flight now. */
  resetPeak(): void;
  /** Injections of one rule so far. */
  fired(rule: FaultRule): number;
  stop(): Promise<void>;
}

interface AfterHook {
  after(fn: () => Promise<void> | void): void;
}

const KINDS: readonly RequestKind[] = ['get', 'range', 'head', 'put', 'multipart', 'list', 'delete'];
const FAULTS: readonly Fault['type'][] = [
  'status',
  'reset',
  'truncate',
  'corrupt',
  'corrupt-request',
  'delay',
  'hang',
];

/** Classifies a path-style S3 request. */
export function requestKind(method: string, url: URL, headers: IncomingMessage['headers']): RequestKind {
  const q = url.searchParams;
  const hasKey = url.pathname.split('/').filter((s) => s !== '').length > 1;
  if (q.has('uploads') || q.has('uploadId')) return 'multipart';
  if (method === 'DELETE' || (method === 'POST' && q.has('delete'))) return 'delete';
  if (method === 'HEAD') return 'head';
  if (method === 'PUT') return 'put';
  if (method === 'GET' && !hasKey) return 'list';
  return headers.range !== undefined ? 'range' : 'get';
}

/** The object key of a request (for a listing, its `prefix`), without the bucket. */
function requestKey(url: URL, kind: RequestKind): string {
  if (kind === 'list') return url.searchParams.get('prefix') ?? '';
  const parts = url.pathname.split('/').filter((s) => s !== '');
  return decodeURIComponent(parts.slice(1).join('/'));
}

function keyMatches(key: string, want: string | undefined): boolean {
  return want === undefined || key.startsWith(want) || key.includes(`/${want}`);
}

/** Starts the proxy in front of `upstream` (e.g. `http://127.0.0.1:PORT`); stops it when `t` ends. */
export async function startFaultProxy(
  upstream: string,
  t?: AfterHook,
  opts: { seed?: number } = {},
): Promise<FaultProxy> {
  const seed = opts.seed ?? runSeed(`fault proxy ${upstream}`, 'FAULT_PROXY_SEED');
  process.stderr.write(`fault proxy seed: ${seed}\n`);
  const prng = new Prng(seed);
  const up = new URL(upstream);
  const rules: Array<{ rule: FaultRule; left: number; fired: number }> = [];
  const injected = Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<Fault['type'], number>;
  const byKind = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<RequestKind, number>;
  const seen = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<RequestKind, number>;
  let requests = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  const sockets = new Set<Socket>();

  const pick = (kind: RequestKind, key: string): Fault | null => {
    for (const r of rules) {
      if (r.rule.kinds !== undefined && !r.rule.kinds.includes(kind)) continue;
      if (!keyMatches(key, r.rule.key)) continue;
      if (r.left <= 0) continue;
      if (r.rule.probability !== undefined && !prng.chance(r.rule.probability)) continue;
      r.left--;
      r.fired++;
      injected[r.rule.fault.type]++;
      byKind[kind]++;
      return r.rule.fault;
    }
    return null;
  };

  /** A copy of `b` with 1 to 4 bytes flipped at random places (the empty body stays empty). */
  const flip = (b: Buffer): Buffer => {
    if (b.length === 0) return b;
    const out = Buffer.from(b);
    const at = new Set(Array.from({ length: prng.int(1, 4) }, () => prng.int(0, out.length - 1)));
    for (const i of at) out[i] = (out[i] as number) ^ (1 << prng.int(0, 7));
    return out;
  };

  /** Forwards the request upstream; resolves with the upstream response. */
  const forward = (req: IncomingMessage, body: Buffer): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const out = httpRequest(
        {
          host: up.hostname,
          port: up.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        resolve,
      );
      out.on('error', reject);
      out.end(body);
    });

  const readAll = async (s: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const kind = requestKind(req.method ?? 'GET', url, req.headers);
    requests++;
    seen[kind]++;
    const fault = pick(kind, requestKey(url, kind));
    const body = await readAll(req);
    if (fault?.type === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.type === 'status') {
      const code = fault.status === 503 ? 'SlowDown' : 'InternalError';
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the fault proxy</Message></Error>`;
      res.writeHead(fault.status, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(xml),
      });
      res.end(kind === 'head' ? undefined : xml);
      return;
    }
    if (fault?.type === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    const upRes = await forward(req, fault?.type === 'corrupt-request' ? flip(body) : body);
    const upBody = await readAll(upRes);
    const headers = { ...upRes.headers };
    if (fault?.type === 'truncate' || fault?.type === 'hang') {
      // the full length is promised; fewer bytes follow
      headers['content-length'] = String(upBody.length);
      delete headers['transfer-encoding'];
      res.writeHead(upRes.statusCode ?? 500, headers);
      const keep = Math.min(upBody.length - 1, fault.keep ?? Math.floor(upBody.length / 2));
      res.write(upBody.subarray(0, Math.max(0, keep)));
      // the close comes a little later, so the client is reading the body by then (not waiting for headers)
      if (fault.type === 'truncate') {
        const socket = res.socket;
        setTimeout(() => socket?.destroy(), 50);
      }
      return; // hang: the socket stays open, nothing more is sent
    }
    const out = fault?.type === 'corrupt' ? flip(upBody) : upBody;
    res.writeHead(upRes.statusCode ?? 500, headers);
    res.end(kind === 'head' ? undefined : out);
  };

  const server = createServer((req, res) => {
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    res.once('close', () => inFlight--);
    handle(req, res).catch(() => {
      req.socket.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  let stopped = false;
  const proxy: FaultProxy = {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    seed,
    inject(rule) {
      rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY, fired: 0 });
      return rule;
    },
    remove(rule) {
      const i = rules.findIndex((r) => r.rule === rule);
      if (i >= 0) rules.splice(i, 1);
    },
    clear() {
      rules.length = 0;
    },
    counts: () => ({
      requests,
      injected: { ...injected },
      byKind: { ...byKind },
      seen: { ...seen },
      peakInFlight,
    }),
    resetPeak() {
      peakInFlight = inFlight;
    },
    fired: (rule) => rules.find((r) => r.rule === rule)?.fired ?? 0,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  t?.after(() => proxy.stop());
  return proxy;
}
