/**
 * The main job on embedded defaults (`npm run demo`): starts `holdfast server` on a free loopback port with a
 * temporary data directory, then drives the orders example with the `holdfast` CLI — create, start, ingest the
 * example files, query the views, watch a change arrive, stop, delete — printing each command as a user would
 * type it. Everything is torn down at the end.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src/bin/main.ts');
const EX = join(ROOT, 'examples/orders');

function holdfast(url: string, ...args: string[]): void {
  console.log(`\n$ holdfast ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [MAIN, '--url', url, ...args], { encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0) throw new Error(`holdfast ${args[1]} failed with exit code ${r.status}`);
}

const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-demo-'));
let server: ChildProcess | null = null;
try {
  server = spawn(process.execPath, [MAIN, 'server', '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: server?.stdout as NodeJS.ReadableStream }).once('line', res);
    server?.once('exit', (c) => rej(new Error(`server exited with ${c}`)));
  });
  const url = (JSON.parse(line) as { url: string }).url;
  console.log(`holdfast server is listening on ${url} (data in ${dataDir})`);
  holdfast(url, 'pipeline', 'create', 'orders', '--sql', join(EX, 'program.sql'), '--description', 'orders per region');
  holdfast(url, 'pipeline', 'start', 'orders');
  holdfast(url, 'pipeline', 'ingest', 'orders', 'customers', join(EX, 'customers.jsonl'));
  holdfast(url, 'pipeline', 'ingest', 'orders', 'orders', join(EX, 'orders.jsonl'));
  holdfast(url, 'pipeline', 'query', 'orders', 'SELECT * FROM region_totals ORDER BY region');
  holdfast(url, 'pipeline', 'stats', 'orders');
  holdfast(url, 'pipeline', 'stop', 'orders', '--force');
  holdfast(url, 'pipeline', 'delete', 'orders', '--clear-storage');
  console.log('\ndemo finished: the server and its data directory are removed.');
} finally {
  if (server) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
}
