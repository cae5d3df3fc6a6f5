/**
 * `url_input` against a real HTTP server on 127.0.0.1 (node:http) that serves a CSV resource with Range and ETag
 * support and can misbehave on request: ignore Range, answer 503, cut the connection mid-body, change the
 * resource. Every test checks the rows pushed — each record exactly once — and the position.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type ConnectorContext, parseConnectorSpec } from '../../../../src/connectors/transports/config.ts';
import type { UrlInputPosition } from '../../../../src/connectors/transports/types.ts';
import { checkUrlInput, startUrlInput } from '../../../../src/connectors/transports/url-input.ts';
import { isServiceError } from '../../../../src/errors/service-error.ts';
import { compileProgram } from '../../../../src/sql/program.ts';
import type { TableSchema } from '../../../../src/sql/schema.ts';
import { FakeHost, recordingLog, until } from './support.ts';

const program = await compileProgram('CREATE TABLE t (id INT NOT NULL, name VARCHAR);');
const table = program.table('t') as TableSchema;

const N = 2000;
const LINES = Array.from({ length: N }, (_, i) => `${i},name-${i}`);
const BODY = Buffer.from(`${LINES.join('\n')}\n`);
const ALL = LINES.map((_, i) => [i, `name-${i}`]);

interface Behaviour {
  ignoreRange: boolean;
  /** Answer 503 to this many requests first. */
  fail503: number;
  /** Cut the connection after this many body bytes, once. */
  cutAfter: number | null;
  etag: string;
  status: number;
}

let behaviour: Behaviour;
const requests: Array<{ range: string | undefined; ifMatch: string | undefined }> = [];
let server: Server;
let base = '';

function serve(req: IncomingMessage, res: ServerResponse): void {
  requests.push({ range: req.headers.range, ifMatch: req.headers['if-match'] as string | undefined });
  const b = behaviour;
  if (b.status !== 200) {
    res.writeHead(b.status).end('no');
    return;
  }
  if (b.fail503 > 0) {
    b.fail503--;
    res.writeHead(503).end('busy');
    return;
  }
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined && ifMatch !== b.etag) {
    res.writeHead(412).end();
    return;
  }
  let from = 0;
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m !== null && !b.ignoreRange) {
    from = Number(m[1]);
    if (from >= BODY.length) {
      res.writeHead(416, { 'content-range': `bytes */${BODY.length}` }).end();
      return;
    }
    res.writeHead(206, {
      etag: b.etag,
      'content-range': `bytes ${from}-${BODY.length - 1}/${BODY.length}`,
      'content-length': BODY.length - from,
    });
  } else res.writeHead(200, { etag: b.etag, 'content-length': BODY.length });
  const body = BODY.subarray(from);
  if (b.cutAfter !== null) {
    const cut = b.cutAfter;
    b.cutAfter = null;
    res.write(body.subarray(0, cut));
    setTimeout(() => res.destroy(), 100);
    return;
  }
  // in pieces, so the connector pushes several runs of records
  let at = 0;
  const next = (): void => {
    if (at >= body.length) {
      res.end();
      return;
    }
    res.write(body.subarray(at, at + 8192));
    at += 8192;
    setTimeout(next, 2);
  };
  next();
}

before(async () => {
  server = createServer(serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

function reset(b: Partial<Behaviour> = {}): void {
  behaviour = { ignoreRange: false, fail503: 0, cutAfter: null, etag: '"v1"', status: 200, ...b };
  requests.length = 0;
}

function setup(config: Record<string, unknown>, format: Record<string, unknown> | null = { name: 'csv' }) {
  const spec = parseConnectorSpec(
    { name: 'web', transport: { name: 'url_input', config }, format },
    0,
    't',
    'table',
  );
  const ctx: ConnectorContext = {
    relation: 't',
    relationKind: 'table',
    connector: 'web',
    transport: 'url_input',
  };
  return { spec, ctx };
}

async function run(
  config: Record<string, unknown>,
  position: UrlInputPosition | null = null,
  host = new FakeHost(),
) {
  const { spec, ctx } = setup({ path: `${base}/data.csv`, ...config });
  const c = startUrlInput(ctx, spec, table, host, () => {}, { position });
  await c.settled;
  return { c, host };
}

test('reads a CSV resource whole, streaming, and ends with its byte offset and ETag as the position', async () => {
  reset();
  const { c, host } = await run({});
  assert.equal(c.status().state, 'end_of_input');
  assert.deepEqual(host.rows(), ALL);
  assert.ok(host.pushes.length > 1, 'records are pushed as the body arrives');
  assert.deepEqual(c.position(), { offset: BODY.length, etag: '"v1"' });
  assert.deepEqual(requests, [{ range: undefined, ifMatch: undefined }]);
});

test('resumes from a position with a Range request (If-Match on the ETag): only the later records', async () => {
  reset();
  const offset = Buffer.byteLength(`${LINES.slice(0, 1500).join('\n')}\n`);
  const { c, host } = await run({}, { offset, etag: '"v1"' });
  assert.deepEqual(host.rows(), ALL.slice(1500));
  assert.deepEqual(requests, [{ range: `bytes=${offset}-`, ifMatch: '"v1"' }]);
  assert.deepEqual(c.position(), { offset: BODY.length, etag: '"v1"' });
});

test('a server that ignores Range is read from the start, and the bytes before the position are skipped', async () => {
  reset({ ignoreRange: true });
  const offset = Buffer.byteLength(`${LINES.slice(0, 700).join('\n')}\n`);
  const { host } = await run({}, { offset });
  assert.deepEqual(host.rows(), ALL.slice(700));
});

test('a resource read to its end resumes as ended (416), pushing nothing', async () => {
  reset();
  const { c, host } = await run({}, { offset: BODY.length, etag: '"v1"' });
  assert.equal(c.status().state, 'end_of_input');
  assert.deepEqual(host.rows(), []);
});

test('a cut connection and 503 answers are retried from the last pushed record: every record exactly once', async () => {
  reset({ cutAfter: 20_000, fail503: 0 });
  const first = await run({});
  assert.deepEqual(first.host.rows(), ALL);
  assert.equal(requests.length, 2);
  assert.match(requests[1]?.range ?? '', /^bytes=\d+-$/);
  reset({ fail503: 2 });
  const second = await run({});
  assert.deepEqual(second.host.rows(), ALL);
  assert.equal(requests.length, 3);
});

test('a 4xx answer fails the connector with UrlInputFailed; a changed resource with UrlInputChanged', async () => {
  reset({ status: 404 });
  const { c } = await run({});
  assert.equal(c.status().state, 'failed');
  assert.match(c.status().error ?? '', /HTTP 404/);
  reset({ etag: '"v2"' });
  const changed = await run({}, { offset: 10, etag: '"v1"' });
  assert.equal(changed.c.status().state, 'failed');
  assert.match(changed.c.status().error ?? '', /changed/);
});

test('a push that waits longer than pause_timeout closes the connection; reading resumes at the next record', async () => {
  reset();
  const host = new FakeHost();
  let open!: () => void;
  host.gate = new Promise<void>((r) => {
    open = r;
  });
  const { spec, ctx } = setup({ path: `${base}/data.csv`, pause_timeout: 1 });
  const c = startUrlInput(ctx, spec, table, host, () => {}, {});
  await new Promise((r) => setTimeout(r, 1500));
  host.gate = null;
  open();
  await c.settled;
  await until(() => c.status().state === 'end_of_input', 'end of input');
  assert.deepEqual(host.rows(), ALL);
  assert.equal(requests.length, 2, 'one reconnect after the pause');
  assert.match(requests[1]?.range ?? '', /^bytes=\d+-$/);
});

test('config: path must be http(s); parquet is refused; unknown options are warned about', () => {
  const bad = (config: Record<string, unknown>, format: Record<string, unknown> | null = { name: 'csv' }) => {
    const { spec, ctx } = setup(config, format);
    try {
      checkUrlInput(ctx, spec, () => {});
    } catch (e) {
      assert.ok(isServiceError(e));
      return e.message;
    }
    return '';
  };
  assert.match(bad({ path: 'ftp://example.com/x.csv' }), /http:\/\/ or https:\/\//);
  assert.match(bad({ path: 'not a url' }), /http:\/\/ or https:\/\//);
  assert.match(bad({ path: `${base}/x` }, { name: 'parquet' }), /json or csv/);
  assert.match(bad({}), /path/);
  const { log, entries } = recordingLog();
  const { spec, ctx } = setup({ path: `${base}/x`, pause_timeout: 5, verbose: true });
  assert.deepEqual(checkUrlInput(ctx, spec, log), { url: `${base}/x`, pauseTimeoutMs: 5000 });
  assert.match(entries[0]?.message ?? '', /ignoring unknown url_input option 'verbose'/);
});
