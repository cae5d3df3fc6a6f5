/**
 * `upload_concurrency`: a file at or above the upload cutoff goes up in parts, with at most that many parts in
 * flight. A stub S3 server on 127.0.0.1 answers the multipart calls and records how many UploadParts overlap: it
 * holds the parts until as many as the bound are in flight (at most 5 s, so a client that never reaches the bound
 * fails), then 200 ms more (a client that sent more than the bound would be seen), then answers them. No fixed
 * hold time: under load a client may need longer than any short hold to put its parts on the wire.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore, uploadSizes } from '../../../src/sync/synchronizer.ts';
import { RateLimiter, uploadFile } from '../../../src/sync/transfer.ts';
import { parseSyncConfig } from '../../../src/types/sync-config.ts';

const MiB = 1024 * 1024;

test('upload_concurrency bounds the multipart parts in flight; below the cutoff a file is one PUT', async (t) => {
  let inFlight = 0;
  let max = 0;
  /** Parts in flight the stub waits for before answering (the bound under test). */
  let target = 1;
  let held: Array<() => void> = [];
  let releaseTimer: NodeJS.Timeout | null = null;
  const releaseAll = () => {
    if (releaseTimer !== null) clearTimeout(releaseTimer);
    releaseTimer = null;
    const now = held;
    held = [];
    for (const r of now) r();
  };
  const calls: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://s3');
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && url.searchParams.has('uploads')) {
        calls.push('create');
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>',
        );
      } else if (req.method === 'PUT' && url.searchParams.has('partNumber')) {
        calls.push('part');
        inFlight++;
        max = Math.max(max, inFlight);
        held.push(() => {
          inFlight--;
          res.writeHead(200, { ETag: `"p${url.searchParams.get('partNumber')}"` }).end();
        });
        if (releaseTimer !== null) clearTimeout(releaseTimer);
        // every part of the 30 MiB file (6 of 5 MiB) has arrived, or the bound is reached
        const all = calls.filter((c) => c === 'part').length >= 6;
        releaseTimer = setTimeout(releaseAll, inFlight >= target || all ? 200 : 5_000);
      } else if (req.method === 'POST' && url.searchParams.has('uploadId')) {
        calls.push('complete');
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"done"</ETag></CompleteMultipartUploadResult>',
        );
      } else {
        calls.push('put');
        res.writeHead(200, { ETag: '"single"' }).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  /** The store and upload options a sync config gives (as the synchronizer builds them). */
  const configured = (sync: Record<string, unknown>) => {
    const settings = parseSyncConfig({ endpoint, bucket: 'b', access_key: 'k', secret_key: 's', ...sync });
    const store = openStore(settings, settings.bucket, { write: true });
    t.after(() => store.close());
    return {
      store,
      opts: {
        limiter: new RateLimiter(null),
        ...uploadSizes(settings),
        uploadConcurrency: settings.uploadConcurrency,
      },
    };
  };
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-upload-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'big');
  const bytes = Buffer.alloc(30 * MiB, 3);
  await writeFile(path, bytes);
  const file = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };

  for (const concurrency of [2, 4]) {
    max = 0;
    target = concurrency;
    calls.length = 0;
    const { store, opts } = configured({
      upload_concurrency: concurrency,
      flags: ['--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M'],
    });
    await uploadFile(store, 'files/big', path, file, opts);
    assert.equal(calls.filter((c) => c === 'part').length, 6);
    assert.equal(max, concurrency, `upload_concurrency ${concurrency}`);
  }
  calls.length = 0;
  const below = configured({ flags: ['--s3-upload-cutoff', '64M'] });
  await uploadFile(below.store, 'files/big', path, file, below.opts);
  assert.deepEqual(calls, ['put'], 'below the cutoff: one PUT');
});
