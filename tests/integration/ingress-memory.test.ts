/**
 * Bounded memory for large ingress bodies (issue 12 item 6), for real: a pipeline process started with a small
 * V8 heap ceiling (`--max-old-space-size`) receives ONE JSON-lines body several times larger than that
 * ceiling, generated as it is sent, and must answer 200 with every record counted. A process whose memory grew
 * with the body (e.g. buffering up to a million parsed records ahead of the steps, as before backpressure by
 * bytes) dies of "JavaScript heap out of memory" instead. Runs with exactly_once fault tolerance, so the
 * spool under the storage directory and the journal are on the path too.
 *
 * `HOLDFAST_TEST_INGRESS_MIB` / `HOLDFAST_TEST_HEAP_MIB` override the body size and the heap ceiling.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { getJson, kill9, type Proc, query, startPipeline, until } from '../ft/support.ts';

const BODY_MIB = Number(process.env.HOLDFAST_TEST_INGRESS_MIB ?? 192);
const HEAP_MIB = Number(process.env.HOLDFAST_TEST_HEAP_MIB ?? 96);
const MiB = 1024 * 1024;
/** Long-ish records (~250 bytes): fewer records per MiB keep the test fast; memory per byte is what counts. */
const PAD = 'x'.repeat(180);

const dirs: string[] = [];
const procs: Proc[] = [];
after(async () => {
  for (const p of procs) await kill9(p);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A JSON-lines body of about `bytes`, generated while it is sent; `records()` counts what was generated. */
function body(bytes: number): { stream: Readable; records: () => number; sum: () => bigint } {
  let sent = 0;
  let id = 0;
  let sum = 0n;
  const stream = new Readable({
    read() {
      if (sent >= bytes) {
        this.push(null);
        return;
      }
      const lines: string[] = [];
      for (let i = 0; i < 1000; i++, id++) {
        const amount = (id * 37) % 1000; // few distinct values: the aggregate keeps their multiset
        sum += BigInt(amount);
        lines.push(`{"insert":{"id":${id},"name":"customer-${id % 1000}-${PAD}","amount":${amount}}}`);
      }
      const chunk = Buffer.from(`${lines.join('\n')}\n`);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, records: () => id, sum: () => sum };
}

function post(url: string, stream: Readable): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    stream.pipe(req);
  });
}

test(`a ${BODY_MIB} MiB ingress body into a pipeline with a ${HEAP_MIB} MiB heap: 200, every record counted`, {
  timeout: 300_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-ingress-memory-'));
  dirs.push(dir);
  const cfg = join(dir, 'config.json');
  // the state is two numbers whatever the body: all that may grow is what the ingress path holds
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: `CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR, amount BIGINT);
        CREATE MATERIALIZED VIEW c AS SELECT COUNT(*) AS n, SUM(amount) AS s FROM t;`,
      http: { port: 0 },
      fault_tolerance: { model: 'exactly_once' },
      storage: {},
    }),
  );
  const p = await startPipeline(cfg, { nodeArgs: [`--max-old-space-size=${HEAP_MIB}`] });
  procs.push(p);
  const b = body(BODY_MIB * MiB);
  let r: { status: number; text: string };
  try {
    r = await post(`${p.base}/ingress/t?format=json`, b.stream);
  } catch (e) {
    const code = await Promise.race([p.exited, new Promise((res) => setTimeout(() => res('running'), 1000))]);
    const oom = p.log.filter((l) => /heap out of memory|FATAL/i.test(l)).join('\n');
    assert.fail(`the ingress request failed (${(e as Error).message}); pipeline: ${code}\n${oom}`);
  }
  assert.equal(r.status, 200, r.text);
  const token = (JSON.parse(r.text) as { token: string }).token;
  await until(
    () => getJson<{ status: string }>(p.base, `/completion_status?token=${token}`),
    (s) => s.status === 'complete',
    'the body to be processed',
    120_000,
  );
  const stats = await getJson<{ global_metrics: { total_input_records: number } }>(p.base, '/stats');
  assert.equal(stats.global_metrics.total_input_records, b.records());
  const rows = await query(p.base, 'SELECT n, s FROM c');
  assert.match(rows, new RegExp(`\\b${b.records()}\\b`));
  assert.match(rows, new RegExp(`\\b${b.sum()}\\b`));
});
