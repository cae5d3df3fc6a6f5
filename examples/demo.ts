/**
 * The main job on embedded defaults (`npm run demo`): starts `holdfast server` on a free loopback port with a
 * temporary data directory, then drives the orders example with the `holdfast` CLI, printing each command as a
 * user would type it:
 *
 * 1. create the pipeline with storage, exactly-once fault tolerance and checkpoint sync to a local-directory
 *    bucket (`endpoint: "file://…"`, no object store needed), start it, ingest the example files, query;
 * 2. take a checkpoint, push it to the bucket, list the bucket's checkpoints;
 * 3. stop, clear the local storage, start again: the pipeline pulls the checkpoint from the bucket
 *    (`start_from_checkpoint: "latest"`) and the query shows the same totals;
 * 4. start a second pipeline, `orders-dr`, as a standby on the same bucket; stop the primary (as if its machine
 *    were lost) and activate the standby: it takes the bucket over and answers with the same totals;
 * 5. stop and delete. Everything (server, data directory, bucket) is torn down at the end.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src/bin/main.ts');
const EX = join(ROOT, 'examples/orders');

/** Quotes an argument the way a user would type it in a POSIX shell. */
function shellWord(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Runs `holdfast ARGS` against the server, printing the command and its output; returns stdout. */
function holdfast(url: string, args: string[], opts: { grep?: string } = {}): string {
  const pipe = opts.grep === undefined ? '' : ` | grep ${shellWord(opts.grep)}`;
  console.log(`\n$ holdfast ${args.map(shellWord).join(' ')}${pipe}`);
  const r = spawnSync(process.execPath, [MAIN, '--url', url, ...args], { encoding: 'utf8' });
  const grep = opts.grep;
  process.stderr.write(r.stderr); // progress lines and errors come before the command's result
  process.stdout.write(
    grep === undefined
      ? r.stdout
      : r.stdout
          .split('\n')
          .filter((l) => l.includes(grep))
          .map((l) => `${l}\n`)
          .join(''),
  );
  if (r.status !== 0) throw new Error(`holdfast ${args[1]} failed with exit code ${r.status}`);
  return r.stdout;
}

const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-demo-'));
let server: ChildProcess | null = null;
// the server's own log (JSON lines, one per request too) is kept aside and shown only if the demo fails
const serverLog: string[] = [];
let finished = false;
try {
  server = spawn(process.execPath, [MAIN, 'server', '--data-dir', dataDir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  createInterface({ input: server.stderr as NodeJS.ReadableStream }).on('line', (l) => {
    serverLog.push(l);
    if (serverLog.length > 200) serverLog.shift();
  });
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: server?.stdout as NodeJS.ReadableStream }).once('line', res);
    server?.once('exit', (c) => rej(new Error(`server exited with ${c}`)));
  });
  const url = (JSON.parse(line) as { url: string }).url;
  console.log(`holdfast server is listening on ${url} (data in ${dataDir})`);

  // Storage on the file backend, synced to a local directory that plays the object store's bucket.
  const runtimeConfig = {
    fault_tolerance: { model: 'exactly_once' },
    storage: {
      backend: {
        name: 'file',
        config: {
          sync: {
            bucket: 'demo/orders',
            endpoint: `file://${join(dataDir, 'bucket')}`,
            start_from_checkpoint: 'latest',
          },
        },
      },
    },
  };
  const configFile = join(dataDir, 'orders-runtime.json');
  writeFileSync(configFile, `${JSON.stringify(runtimeConfig, null, 2)}\n`);
  console.log(`\n$ cat ${configFile}\n${JSON.stringify(runtimeConfig, null, 2)}`);

  const query = ['pipeline', 'query', 'orders', 'SELECT * FROM region_totals ORDER BY region'];
  holdfast(url, [
    'pipeline',
    'create',
    'orders',
    '--sql',
    join(EX, 'program.sql'),
    '--description',
    'orders per region',
    '--runtime-config',
    `@${configFile}`,
  ]);
  holdfast(url, ['pipeline', 'start', 'orders']);
  holdfast(url, ['pipeline', 'ingest', 'orders', 'customers', join(EX, 'customers.jsonl')]);
  holdfast(url, ['pipeline', 'ingest', 'orders', 'orders', join(EX, 'orders.jsonl')]);
  const before = holdfast(url, query);
  holdfast(url, ['pipeline', 'stats', 'orders']);

  // Checkpoint, push it to the bucket, list what the bucket holds.
  holdfast(url, ['pipeline', 'checkpoint', 'orders', '--wait']);
  holdfast(url, ['pipeline', 'sync', 'orders', '--wait']);
  holdfast(url, ['pipeline', 'checkpoints', 'orders', '--remote']);

  // Lose the local state, then restore it from the bucket.
  holdfast(url, ['pipeline', 'stop', 'orders', '--force']);
  holdfast(url, ['pipeline', 'clear', 'orders']);
  holdfast(url, ['pipeline', 'start', 'orders']);
  holdfast(url, ['pipeline', 'logs', 'orders'], { grep: 'checkpoint pulled successfully' });
  const after = holdfast(url, query);
  if (after !== before) throw new Error('the views restored from the bucket differ from the ones before');
  console.log('\nthe views were restored from the bucket after the local storage was cleared.');

  // A standby on the same bucket takes over from the primary.
  holdfast(url, [
    'pipeline',
    'create',
    'orders-dr',
    '--sql',
    join(EX, 'program.sql'),
    '--description',
    'standby of orders',
    '--runtime-config',
    `@${configFile}`,
  ]);
  holdfast(url, ['pipeline', 'start', 'orders-dr', '--initial', 'standby']);
  holdfast(url, ['pipeline', 'stop', 'orders', '--force']);
  holdfast(url, ['pipeline', 'activate', 'orders-dr']);
  holdfast(url, ['pipeline', 'logs', 'orders-dr'], { grep: 'took over' });
  const failover = holdfast(url, ['pipeline', 'query', 'orders-dr', 'SELECT * FROM region_totals ORDER BY region']);
  if (failover !== before) throw new Error('the activated standby shows other views than the primary');
  console.log('\nthe standby took the bucket over and shows the same views.');

  holdfast(url, ['pipeline', 'stop', 'orders-dr', '--force']);
  holdfast(url, ['pipeline', 'delete', 'orders-dr', '--clear-storage']);
  holdfast(url, ['pipeline', 'delete', 'orders', '--clear-storage']);
  console.log('\ndemo finished: the server, its data directory and the bucket are removed.');
  finished = true;
} finally {
  if (!finished) process.stderr.write(`\nthe server's last log lines:\n${serverLog.join('\n')}\n`);
  if (server) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
}
