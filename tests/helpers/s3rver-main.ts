/**
 * Child-process entry of tests/helpers/s3rver.ts: runs s3rver 3.7.1 on 127.0.0.1, port 0, and prints
 * `{"port": N}` on stdout once it listens. Started with `--openssl-legacy-provider` (without it, s3rver's
 * paginated ListObjectsV2 answers 500). Exits when its stdin closes, so it never outlives the test process.
 *
 * s3rver ignores `If-None-Match`/`If-Match` on writes; {@link conditionalWrites}, placed right before its
 * router, adds them: every write of one key (PUT, CompleteMultipartUpload, DELETE) holds a per-key lock, and a
 * conditional one compares existence / ETag from s3rver's store first and answers 412 PreconditionFailed
 * (or 404 NoSuchKey for If-Match on a missing key, like S3).
 *
 * s3rver also accepts any AWS Signature V4 ("unimplemented"), so a wrong secret key would go unnoticed;
 * {@link verifySigV4}, placed before both, recomputes the signature of `Authorization: AWS4-HMAC-SHA256`
 * requests made with a known access key and answers 403 SignatureDoesNotMatch on a mismatch (unknown access
 * keys are left to s3rver, which answers InvalidAccessKeyId). Presigned (query-string) requests are not checked.
 *
 * s3rver stores whatever body arrives; {@link verifyBodyDigests} checks it first, as S3 does: a PUT (object or
 * part) whose body does not match its `Content-MD5` is refused with 400 BadDigest, one that does not match a
 * hex `x-amz-content-sha256` with 400 XAmzContentSHA256Mismatch, so a body damaged in transit never lands.
 *
 * s3rver has no AbortMultipartUpload (405 MethodNotAllowed, which would hide the error that made a client abort);
 * {@link abortMultipartUploads} answers it 204 like S3 (the parts stay in s3rver's scratch space).
 *
 * s3rver's multi-object delete removes keys in parallel and then prunes empty directories, racing with itself
 * (500 InternalError when two keys share a directory); its store's deletes are serialized here.
 *
 * With `gcs: true` it answers like Google Cloud Storage's XML API instead, where that differs for Holdfast
 * ({@link gcsBehaviour}): `If-None-Match`/`If-Match` on writes are ignored (GCS applies them to reads only);
 * writes honour `x-goog-if-generation-match` (0: only if absent; N: only if the current generation is N; else
 * 412 PreconditionFailed, also for a missing object) and every PUT, GET and HEAD answer carries
 * `x-goog-generation`; multi-object delete (`POST ?delete`) is refused with 501 NotImplemented.
 *
 * argv[2]: JSON `{ "directory": string, "buckets": string[], "gcs"?: boolean }`.
 */

import { createHash, createHmac } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  req: { url?: string };
  headers: Record<string, string | string[] | undefined>;
  querystring: string;
  get(header: string): string;
  set(header: string, value: string): void;
  status: number;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverStore {
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
  deleteObject(bucket: string, key: string): Promise<void>;
}
interface S3rverApp {
  middleware: Middleware[];
  store: S3rverStore;
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3ErrorCtor = new (code: string, message: string, detail?: Record<string, string>) => Error;

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => S3rverApp;
const S3Error = require('s3rver/lib/models/error') as S3ErrorCtor;

const ACCOUNTS = new Map([['S3RVER', 'S3RVER']]);

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, s: string) => createHmac('sha256', key).update(s, 'utf8').digest();

function verifySigV4(): Middleware {
  return async (ctx, next) => {
    const auth = ctx.get('authorization');
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(
        auth,
      );
    const secret = m === null ? undefined : ACCOUNTS.get(m[1] as string);
    if (m === null || secret === undefined) return next();
    const [, , scope, signedHeaders, signature] = m as unknown as [string, string, string, string, string];
    const [date, region, service] = scope.split('/') as [string, string, string];
    const url = ctx.req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = (q < 0 ? '' : url.slice(q + 1))
      .split('&')
      .filter((p) => p !== '')
      .map((p) => {
        const eq = p.indexOf('=');
        const k = decodeURIComponent(eq < 0 ? p : p.slice(0, eq));
        const v = eq < 0 ? '' : decodeURIComponent(p.slice(eq + 1).replace(/\+/g, ' '));
        return [rfc3986(k), rfc3986(v)] as const;
      })
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const headers = signedHeaders
      .split(';')
      .map((h) => `${h}:${ctx.get(h).trim().replace(/\s+/g, ' ')}\n`)
      .join('');
    const payload = ctx.get('x-amz-content-sha256') || 'UNSIGNED-PAYLOAD';
    const canonical = [ctx.method, path, query, headers, signedHeaders, payload].join('\n');
    const toSign = ['AWS4-HMAC-SHA256', ctx.get('x-amz-date'), scope, sha256Hex(canonical)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    if (createHmac('sha256', key).update(toSign, 'utf8').digest('hex') !== signature)
      throw new S3Error(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        { AWSAccessKeyId: m[1] as string },
      );
    return next();
  };
}

function verifyBodyDigests(): Middleware {
  return async (ctx, next) => {
    const md5 = ctx.get('content-md5');
    const sha = ctx.get('x-amz-content-sha256');
    const checkSha = /^[0-9a-f]{64}$/.test(sha);
    if (ctx.method !== 'PUT' || ctx.get('x-amz-copy-source') !== '' || (md5 === '' && !checkSha))
      return next();
    const chunks: Buffer[] = [];
    for await (const c of ctx.req as unknown as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks);
    if (md5 !== '' && createHash('md5').update(body).digest('base64') !== md5)
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
        ExpectedDigest: md5,
      });
    if (checkSha && createHash('sha256').update(body).digest('hex') !== sha)
      throw new S3Error(
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { ClientComputedContentSHA256: sha },
      );
    // s3rver reads the body from ctx.req: hand it the bytes already read
    ctx.req = Object.assign(Readable.from([body]), { url: ctx.req.url, headers: ctx.headers });
    return next();
  };
}

function abortMultipartUploads(): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'DELETE' || !('uploadId' in ctx.query)) return next();
    ctx.status = 204;
  };
}

const stripQuotes = (s: string) => s.replace(/"/g, '').trim();

function conditionalWrites(store: S3rverStore): Middleware {
  const locks = new Map<string, Promise<void>>();
  return async (ctx, next) => {
    const m = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    const write =
      m !== null &&
      ((ctx.method === 'PUT' && !('partNumber' in ctx.query)) ||
        (ctx.method === 'POST' && 'uploadId' in ctx.query) ||
        (ctx.method === 'DELETE' && !('uploadId' in ctx.query)));
    if (!write || m === null) return next();
    const bucket = decodeURIComponent(m[1] as string);
    const key = decodeURIComponent(m[2] as string);
    const id = `${bucket}/${key}`;
    const prev = locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chained = prev.then(() => mine);
    locks.set(id, chained);
    await prev;
    try {
      const ifNoneMatch = ctx.get('if-none-match');
      const ifMatch = ctx.get('if-match');
      if (ctx.method !== 'DELETE' && (ifNoneMatch !== '' || ifMatch !== '')) {
        let etag: string | null = null;
        try {
          etag = (await store.getMetadata(bucket, key)).etag;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
        if (
          ifNoneMatch !== '' &&
          etag !== null &&
          (ifNoneMatch === '*' || stripQuotes(ifNoneMatch) === stripQuotes(etag))
        )
          throw new S3Error(
            'PreconditionFailed',
            'At least one of the pre-conditions you specified did not hold',
            {
              Condition: 'If-None-Match',
            },
          );
        if (ifMatch !== '' && etag === null)
          throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
        if (ifMatch !== '' && etag !== null && ifMatch !== '*' && stripQuotes(ifMatch) !== stripQuotes(etag))
          throw new S3Error(
            'PreconditionFailed',
            'At least one of the pre-conditions you specified did not hold',
            {
              Condition: 'If-Match',
            },
          );
      }
      await next();
    } finally {
      release();
      if (locks.get(id) === chained) locks.delete(id);
    }
  };
}

/** GCS's write preconditions and generations (see the header); in memory, per object. */
function gcsBehaviour(): Middleware {
  const generations = new Map<string, number>();
  let last = 0;
  const nextGeneration = () => {
    last = Math.max(last + 1, Date.now() * 1000);
    return last;
  };
  const locks = new Map<string, Promise<void>>();
  return async (ctx, next) => {
    if (ctx.method === 'POST' && 'delete' in ctx.query)
      throw new S3Error(
        'NotImplemented',
        'A header or query you provided requested a function that is not implemented.',
      );
    const m = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    if (m === null) return next();
    const id = `${decodeURIComponent(m[1] as string)}/${decodeURIComponent(m[2] as string)}`;
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      await next();
      const g = generations.get(id);
      if (g !== undefined && ctx.status < 300) ctx.set('x-goog-generation', String(g));
      return;
    }
    const write =
      (ctx.method === 'PUT' && !('partNumber' in ctx.query)) ||
      (ctx.method === 'POST' && 'uploadId' in ctx.query);
    if (!write && ctx.method !== 'DELETE') return next();
    const prev = locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chained = prev.then(() => mine);
    locks.set(id, chained);
    await prev;
    try {
      // GCS ignores these on writes: the S3 conditional-write emulation after this one must not see them
      delete ctx.headers['if-none-match'];
      delete ctx.headers['if-match'];
      const want = ctx.get('x-goog-if-generation-match');
      if (write && want !== '') {
        const cur = generations.get(id) ?? 0;
        if (String(cur) !== want.trim())
          throw new S3Error(
            'PreconditionFailed',
            'At least one of the pre-conditions you specified did not hold.',
            {
              Condition: 'x-goog-if-generation-match',
            },
          );
      }
      await next();
      if (ctx.status >= 300) return;
      if (ctx.method === 'DELETE') generations.delete(id);
      else {
        const g = nextGeneration();
        generations.set(id, g);
        ctx.set('x-goog-generation', String(g));
      }
    } finally {
      release();
      if (locks.get(id) === chained) locks.delete(id);
    }
  };
}

const { directory, buckets, requestLog, gcs } = JSON.parse(process.argv[2] ?? '{}') as {
  directory: string;
  buckets?: string[];
  /** Behave like GCS's XML API (see the header). */
  gcs?: boolean;
  /** Append one JSON line per request (method, path, x-amz-* and x-goog-* headers) to this file. */
  requestLog?: string;
};
const app = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  configureBuckets: (buckets ?? []).map((name) => ({ name })),
});
// serialize deletes (see the header)
const deleteObject = app.store.deleteObject.bind(app.store);
let deletes: Promise<unknown> = Promise.resolve();
app.store.deleteObject = (bucket, key) => {
  const p = deletes.then(() => deleteObject(bucket, key));
  deletes = p.catch(() => {});
  return p;
};
// the router is the last middleware: put the signature and conditional-write checks right before it
app.middleware.splice(
  app.middleware.length - 1,
  0,
  verifySigV4(),
  verifyBodyDigests(),
  abortMultipartUploads(),
  ...(gcs === true ? [gcsBehaviour()] : []),
  conditionalWrites(app.store),
);
if (requestLog !== undefined) {
  // first: every request is recorded, even one the signature check refuses
  app.middleware.unshift(async (ctx, next) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(ctx.headers))
      if (
        (k.startsWith('x-amz-') || k.startsWith('x-goog-') || k === 'range') &&
        k !== 'x-amz-date' &&
        k !== 'x-amz-content-sha256' &&
        typeof v === 'string'
      )
        headers[k] = v;
    appendFileSync(
      requestLog,
      `${JSON.stringify({ method: ctx.method, path: ctx.path, query: ctx.querystring, headers })}\n`,
    );
    await next();
  });
}
const address = await app.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
