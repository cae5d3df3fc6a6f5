/**
 * Ingest over HTTP: a real pipeline process (`holdfast pipeline run`), records pushed to `/ingress/t` in JSON and
 * CSV at batch sizes 1, 100 and 10,000 (4 requests in flight), throughput measured until the last completion
 * token is complete; then end-to-end latency from an ingest request to the egress chunk carrying that record
 * (one record at a time), p50/p99. No peer is runnable here (Feldera needs its own toolchain), so figures are
 * absolute; compare them across runs on the same machine only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { int, machineInfo, replaceSection } from '../lib/report.ts';
import type { Suite, SuiteOptions } from '../suite.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/bin/main.ts');
const SQL = `CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR, amount DECIMAL(10,2), ts TIMESTAMP);
CREATE VIEW v AS SELECT id, amount FROM t WHERE amount > 10;`;

async function startPipeline(): Promise<{ base: string; proc: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-bench-'));
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({ program_code: SQL, http: { port: 0 } }));
  const proc = spawn(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = await new Promise<string>((res) =>
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).once('line', res),
  );
  return { base: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, proc };
}

function record(i: number, format: 'json' | 'csv'): string {
  const amount = ((i * 37) % 10000) / 100;
  if (format === 'json')
    return `{"insert":{"id":${i},"name":"customer-${i % 1000}","amount":${amount},"ts":"2026-01-01 00:00:00"}}`;
  return `${i},customer-${i % 1000},${amount},2026-01-01 00:00:00`;
}

async function waitToken(base: string, token: string): Promise<void> {
  for (;;) {
    const s = (await (await fetch(`${base}/completion_status?token=${token}`)).json()) as { status: string };
    if (s.status === 'complete') return;
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function throughput(
  base: string,
  format: 'json' | 'csv',
  batch: number,
  total: number,
  offset: number,
): Promise<number> {
  const bodies: string[] = [];
  for (let s = 0; s < total; s += batch) {
    const lines: string[] = [];
    for (let i = s; i < Math.min(total, s + batch); i++) lines.push(record(offset + i, format));
    bodies.push(`${lines.join('\n')}\n`);
  }
  const t0 = performance.now();
  let next = 0;
  let last = '';
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++] as string;
      const r = await fetch(`${base}/ingress/t?format=${format}`, { method: 'POST', body });
      if (r.status !== 200) throw new Error(`ingress answered ${r.status}: ${await r.text()}`);
      last = ((await r.json()) as { token: string }).token;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await waitToken(base, last);
  return total / ((performance.now() - t0) / 1000);
}

async function latency(base: string, samples: number, offset: number): Promise<{ p50: number; p99: number }> {
  const ac = new AbortController();
  const res = await fetch(`${base}/egress/v?format=json&backpressure=true`, {
    method: 'POST',
    signal: ac.signal,
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const seen = new Map<number, number>();
  let buf = '';
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buf += new TextDecoder().decode(value);
      let i = buf.indexOf('\r\n');
      while (i >= 0) {
        const chunk = JSON.parse(buf.slice(0, i)) as { json_data?: Array<{ insert?: { id: number } }> };
        for (const c of chunk.json_data ?? []) if (c.insert) seen.set(c.insert.id, performance.now());
        buf = buf.slice(i + 2);
        i = buf.indexOf('\r\n');
      }
    }
  })();
  const lat: number[] = [];
  for (let k = 0; k < samples; k++) {
    const id = offset + k;
    const t0 = performance.now();
    await fetch(`${base}/ingress/t?format=json`, {
      method: 'POST',
      body: `{"insert":{"id":${id},"name":"x","amount":99,"ts":"2026-01-01 00:00:00"}}`,
    });
    while (!seen.has(id)) await new Promise((r) => setImmediate(r));
    lat.push((seen.get(id) as number) - t0);
  }
  ac.abort();
  await pump;
  lat.sort((a, b) => a - b);
  return {
    p50: lat[Math.floor(lat.length * 0.5)] as number,
    p99: lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] as number,
  };
}

export const ingestSuite: Suite = {
  name: 'ingest',
  description:
    'HTTP ingest records/s (JSON, CSV; batches 1/100/10k) and ingest→egress latency, real pipeline process',
  async run({ quick }: SuiteOptions): Promise<void> {
    const { base, proc } = await startPipeline();
    try {
      const plan: Array<[number, number]> = quick
        ? [
            [1, 500],
            [100, 20_000],
            [10_000, 50_000],
          ]
        : [
            [1, 5_000],
            [100, 200_000],
            [10_000, 1_000_000],
          ];
      const rows: Array<{ format: string; batch: number; records: number; recordsPerSec: number }> = [];
      let offset = 0;
      for (const format of ['json', 'csv'] as const) {
        for (const [batch, total] of plan) {
          const rps = await throughput(base, format, batch, total, offset);
          offset += total;
          rows.push({ format, batch, records: total, recordsPerSec: rps });
          console.log(`  ${format} batch ${batch}: ${int(rps)} records/s`);
        }
      }
      const lat = await latency(base, quick ? 100 : 1000, offset + 1_000_000);
      console.log(`  ingest→egress latency: p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms`);
      if (quick) return;
      const m = machineInfo();
      mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
      writeFileSync(
        join(ROOT, 'bench/results/ingest.json'),
        `${JSON.stringify({ machine: m, throughput: rows, latencyMs: lat }, null, 2)}\n`,
      );
      const table = [
        '| format | batch (records/request) | records | records/s |',
        '| --- | ---: | ---: | ---: |',
        ...rows.map((r) => `| ${r.format} | ${int(r.batch)} | ${int(r.records)} | ${int(r.recordsPerSec)} |`),
        '',
        `End-to-end latency (ingest request → egress chunk with that record, one record at a time, ${1000} samples): p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms.`,
      ].join('\n');
      replaceSection(
        join(ROOT, 'BENCHMARKS.md'),
        'ingest',
        `Measured ${m.date.slice(0, 10)} on ${m.cpus}× ${m.cpuModel}, Node ${m.node}; one pipeline process, 4 requests in flight, throughput until the last completion token completes. No peer runs here, so these are absolute figures for tracking regressions.\n\n${table}`,
        '# Benchmarks\n',
      );
    } finally {
      proc.kill('SIGTERM');
    }
  },
};
