/**
 * The read-ahead of object inputs (object-prefetch.ts): a fetch nobody reads stops pulling from its response
 * once its queue holds `maxBuffered` bytes (the bound on prefetched memory), resumes as the reader drains it,
 * and delivers every byte once, in order.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ObjectFetch } from '../../../../src/connectors/transports/object-prefetch.ts';
import type { ObjectStore } from '../../../../src/sync/object-store.ts';

const CHUNK = 64 * 1024;
const SIZE = 64 * CHUNK; // 4 MiB

/** A store whose one object is produced on demand, counting the bytes its response has produced. */
function lazyStore(): { store: ObjectStore; produced: () => number } {
  let produced = 0;
  const store = {
    async getStream(_key: string, opts: { range?: { offset: number; length: number } }) {
      const from = opts.range?.offset ?? 0;
      async function* body() {
        for (let at = from; at < SIZE; at += CHUNK) {
          const b = Buffer.alloc(Math.min(CHUNK, SIZE - at), (at / CHUNK) % 251);
          produced += b.length;
          yield b;
        }
      }
      return {
        stream: Readable.from(body(), { objectMode: false, highWaterMark: CHUNK }),
        info: { etag: '"e"' },
      };
    },
  } as unknown as ObjectStore;
  return { store, produced: () => produced };
}

test('a fetch nobody reads holds at most maxBuffered bytes (plus what the stream itself buffers)', async () => {
  const { store, produced } = lazyStore();
  const abort = new AbortController();
  const maxBuffered = 4 * CHUNK;
  const f = new ObjectFetch({
    store,
    obj: { key: 'k', size: SIZE },
    from: 0,
    etag: undefined,
    signal: abort.signal,
    maxBuffered,
    maxRetries: 0,
    backoffMs: 1,
    changed: () => new Error('changed'),
    onRetry: () => {},
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(f.buffered <= maxBuffered, `queued ${f.buffered}`);
  // the response was paused: what it produced is the queue plus the stream's own small buffer
  assert.ok(produced() <= maxBuffered + 3 * CHUNK, `produced ${produced()} of ${SIZE}`);
  let n = 0;
  let i = 0;
  for await (const c of f.chunks()) {
    assert.equal(c[0], i % 251, `chunk ${i} in order`);
    assert.ok(f.buffered <= maxBuffered);
    n += c.length;
    i++;
  }
  assert.equal(n, SIZE);
  assert.equal(f.etag, '"e"');
  abort.abort();
});

test('cancel ends a fetch: its reader sees Stopped, its queue is released', async () => {
  const { store } = lazyStore();
  const abort = new AbortController();
  const f = new ObjectFetch({
    store,
    obj: { key: 'k', size: SIZE },
    from: 0,
    etag: undefined,
    signal: abort.signal,
    maxBuffered: CHUNK,
    maxRetries: 0,
    backoffMs: 1,
    changed: () => new Error('changed'),
    onRetry: () => {},
  });
  await new Promise((r) => setTimeout(r, 20));
  abort.abort();
  assert.equal(f.buffered, 0);
  await assert.rejects(
    (async () => {
      for await (const _ of f.chunks()) {
      }
    })(),
    { name: 'Stopped' },
  );
});
