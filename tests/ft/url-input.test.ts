/**
 * `url_input` under exactly_once, end to end: a pipeline process reads a CSV resource that an HTTP server in
 * this test serves slowly (with Range and ETag support); it is killed with `kill -9` mid-read, after a
 * checkpoint, and restarted. The restarted process resumes with a Range request (replaying its journal first),
 * and the view ends with every record counted exactly once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkpoint, kill9, query, startPipeline, until } from './support.ts';

const N = 30_000;
const BODY = Buffer.from(Array.from({ length: N }, (_, i) => `${i},row-${i}\n`).join(''));

test('exactly_once: kill -9 while reading a URL; the restart resumes with a Range request and counts every record once', {
  timeout: 120_000,
}, async () => {
  const ranges: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m === null ? 0 : Number(m[1]);
    ranges.push(req.headers.range ?? '');
    if (from >= BODY.length) {
      res.writeHead(416).end();
      return;
    }
    res.writeHead(m === null ? 200 : 206, {
      etag: '"v1"',
      ...(m === null ? {} : { 'content-range': `bytes ${from}-${BODY.length - 1}/${BODY.length}` }),
    });
    // about 4 KiB every 25 ms: the whole resource takes a few seconds
    let at = from;
    const timer = setInterval(() => {
      if (res.destroyed) {
        clearInterval(timer);
        return;
      }
      res.write(BODY.subarray(at, at + 4096));
      at += 4096;
      if (at >= BODY.length) {
        clearInterval(timer);
        res.end();
      }
    }, 25);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rows.csv`;
  try {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-ft-url-'));
    const cfg = join(dir, 'config.json');
    const connectors = JSON.stringify([
      { name: 'web', transport: { name: 'url_input', config: { path: url } }, format: { name: 'csv' } },
    ]);
    writeFileSync(
      cfg,
      JSON.stringify({
        program_code: `CREATE TABLE r (id BIGINT NOT NULL, name VARCHAR) WITH ('connectors' = '${connectors}');
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(id) AS total, COUNT(DISTINCT id) AS ids FROM r;`,
        storage: {},
        fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
      }),
    );
    const count = async (base: string): Promise<number> => {
      const v = await query(base, 'SELECT n FROM s');
      return v === '' ? 0 : (JSON.parse(v) as { n: number }).n;
    };
    let p = await startPipeline(cfg);
    await until(
      () => count(p.base),
      (n) => n > N / 5,
      'a fifth of the rows',
    );
    await checkpoint(p.base);
    await until(
      () => count(p.base),
      (n) => n > N / 2,
      'half of the rows',
    );
    assert.ok((await count(p.base)) < N, 'killed before the end of the resource');
    await kill9(p);
    p = await startPipeline(cfg);
    await until(
      () => query(p.base, 'SELECT n, total, ids FROM s'),
      (v) => v === JSON.stringify({ n: N, total: (N * (N - 1)) / 2, ids: N }),
      'every row exactly once',
      60_000,
    );
    assert.ok(
      ranges.slice(1).some((r) => /^bytes=\d+-$/.test(r)),
      `the restart resumed with a Range request: ${JSON.stringify(ranges)}`,
    );
    await kill9(p);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
