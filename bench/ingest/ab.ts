/**
 * A/B ingest comparison of two checkouts on the same machine at the same time (the machine's load drifts, so
 * separate runs are not comparable): `node bench/ingest/ab.ts <checkoutA> <checkoutB> [rounds]` starts one
 * pipeline process from each checkout and alternates them round by round (A B, then B A, ...), pushing the
 * same JSON and CSV bodies (10,000 and 100 records per request, 4 in flight) until the last completion token
 * completes. Prints records/s per round and the medians, and the ratio B/A; and the pipeline process's CPU time
 * per record (user + system, from /proc/PID/stat), which a shared machine's load distorts far less than
 * wall-clock rates do. Used for the node:http → fastify move of the HTTP layer (BENCHMARKS.md).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const SQL = `CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR, amount DECIMAL(10,2), ts TIMESTAMP);
CREATE VIEW v AS SELECT id, amount FROM t WHERE amount > 10;`;

async function start(checkout: string): Promise<{ base: string; proc: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-ab-'));
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({ program_code: SQL, http: { port: 0 } }));
  const proc = spawn(
    process.execPath,
    [join(resolve(checkout), 'src/bin/main.ts'), 'pipeline', 'run', '--config', cfg],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  for await (const line of rl) {
    const m = JSON.parse(line) as { event?: string; port?: number };
    if (m.event === 'listening') return { base: `http://127.0.0.1:${m.port}`, proc };
  }
  throw new Error(`pipeline from ${checkout} did not start`);
}

function record(i: number, format: 'json' | 'csv'): string {
  const amount = ((i * 37) % 10000) / 100;
  if (format === 'json')
    return `{"insert":{"id":${i},"name":"customer-${i % 1000}","amount":${amount},"ts":"2026-01-01 00:00:00"}}`;
  return `${i},customer-${i % 1000},${amount},2026-01-01 00:00:00`;
}

/** CPU seconds (user + system) the process has used so far (Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function run(
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
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++] as string;
        const r = await fetch(`${base}/ingress/t?format=${format}`, { method: 'POST', body });
        last = ((await r.json()) as { token: string }).token;
      }
    }),
  );
  for (;;) {
    const s = (await (await fetch(`${base}/completion_status?token=${last}`)).json()) as { status: string };
    if (s.status === 'complete') break;
    await new Promise((r) => setTimeout(r, 2));
  }
  return total / ((performance.now() - t0) / 1000);
}

const [a, b, roundsText] = process.argv.slice(2);
if (!a || !b) throw new Error('usage: node bench/ingest/ab.ts <checkoutA> <checkoutB> [rounds]');
const rounds = Number(roundsText ?? 5);
const servers = [await start(a), await start(b)];
const cases = [
  ['json', 10_000, 200_000],
  ['json', 100, 20_000],
  ['csv', 10_000, 200_000],
  ['csv', 100, 20_000],
] as const;
const results = new Map<string, number[][]>();
const cpu = new Map<string, number[][]>();
let offset = 0;
try {
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const [format, batch, total] of cases) {
      const key = `${format} ${batch}`;
      const row = results.get(key) ?? [[], []];
      const cpuRow = cpu.get(key) ?? [[], []];
      for (const i of order) {
        const server = servers[i] as { base: string; proc: ChildProcess };
        const c0 = cpuSeconds(server.proc.pid as number);
        (row[i] as number[]).push(await run(server.base, format, batch, total, offset));
        (cpuRow[i] as number[]).push(((cpuSeconds(server.proc.pid as number) - c0) / total) * 1e6);
        offset += total;
      }
      results.set(key, row);
      cpu.set(key, cpuRow);
    }
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
} finally {
  for (const s of servers) s.proc.kill('SIGTERM');
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
console.log('| format | batch | A records/s (median) | B records/s (median) | B/A |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [key, [ra, rb]] of results) {
  const [format, batch] = key.split(' ');
  const ma = median(ra as number[]);
  const mb = median(rb as number[]);
  console.log(
    `| ${format} | ${batch} | ${Math.round(ma).toLocaleString('en-US')} | ${Math.round(mb).toLocaleString('en-US')} | ${(mb / ma).toFixed(2)} |`,
  );
}
console.log('\n| format | batch | A CPU µs/record (median) | B CPU µs/record (median) | B/A |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [key, [ca, cb]] of cpu) {
  const [format, batch] = key.split(' ');
  const ma = median(ca as number[]);
  const mb = median(cb as number[]);
  console.log(`| ${format} | ${batch} | ${ma.toFixed(2)} | ${mb.toFixed(2)} | ${(mb / ma).toFixed(2)} |`);
}
console.log(
  `\nper round: ${JSON.stringify(Object.fromEntries([...results].map(([k, v]) => [k, v.map((x) => x.map(Math.round))])))}`,
);
