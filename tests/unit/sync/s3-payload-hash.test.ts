/**
 * S3 single PUTs with a known SHA-256 (`PutOptions.sha256`) are signed with it as `x-amz-content-sha256`
 * instead of the SDK hashing the body a second time; without one, the SDK's own hash is sent. A stub HTTP
 * server on 127.0.0.1 records what arrives.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { S3Store } from '../../../src/sync/s3-store.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('a single PUT is signed with the known SHA-256; without one the SDK hashes the body', async (t) => {
  const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; bytes: number }> = [];
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes });
      res.writeHead(200, { ETag: '"0123"' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const store = new S3Store({
    bucket: 'b/p',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accessKey: 'k',
    secretKey: 's',
    maxAttempts: 1,
  });
  t.after(() => store.close());
  const body = Buffer.alloc(100_000, 7);
  const hash = sha256(body);

  await store.put('files/a', body, { sha256: hash.toUpperCase() });
  await store.put('files/b', body);
  // the given value is what is signed and sent: the body is not hashed again
  const other = 'ab'.repeat(32);
  await store.put('files/c', body, { sha256: other });
  // not a SHA-256: left to the SDK
  await store.put('files/d', body, { sha256: 'not-a-hash' });

  assert.deepEqual(
    seen.map((r) => [r.method, r.url.replace(/\?.*/, ''), r.headers['x-amz-content-sha256'], r.bytes]),
    [
      ['PUT', '/b/p/files/a', hash, body.length],
      ['PUT', '/b/p/files/b', hash, body.length],
      ['PUT', '/b/p/files/c', other, body.length],
      ['PUT', '/b/p/files/d', hash, body.length],
    ],
  );
  assert.equal(seen[0]?.headers['x-amz-meta-sha256'], hash);
  for (const r of seen)
    assert.match(String(r.headers.authorization), /SignedHeaders=[^,]*x-amz-content-sha256/);
});
