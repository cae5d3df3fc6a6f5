/**
 * The README's examples work as written. Every `sh` block with `curl` lines is run by bash, in README order,
 * against a real `holdfast server` (only the address changes: `localhost:8080` becomes the test server's port-0
 * address); every curl must get a 2xx answer and the outputs the README's comments promise must appear. The SDK
 * example (TypeScript SDK section) runs against the same server with the repository's SDK, and the Engine API
 * example runs as is and must print what its comments say. A README edit that breaks an example fails here.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const MAIN = join(ROOT, 'src', 'bin', 'main.ts');

/** The fenced blocks of one language, in README order. */
function blocks(lang: string): string[] {
  const out: string[] = [];
  for (const m of README.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm))
    if (m[1] === lang) out.push(m[2] as string);
  return out;
}

let server: ChildProcess | null = null;
let base = '';
const work = mkdtempSync(join(tmpdir(), 'holdfast-readme-'));

before(async () => {
  server = spawn(process.execPath, [MAIN, 'server', '--data-dir', join(work, 'data'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: server?.stdout as NodeJS.ReadableStream }).once('line', res);
    server?.once('exit', (c) => rej(new Error(`holdfast server exited (${c})`)));
  });
  base = (JSON.parse(line) as { url: string }).url.replace(/\/$/, '');
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
});

/** Runs a README shell block with bash: each curl's HTTP status is recorded as a `@@CODE` line after its output. */
function runShell(block: string): Promise<{ code: number | null; out: string; err: string }> {
  const host = base.replace(/^https?:\/\//, '');
  const script = [
    'set -e',
    `curl() { command curl -sS -w '\\n@@%{http_code}\\n' "$@"; }`,
    block
      .split('\n')
      .filter((l) => !l.startsWith('npm run holdfast -- server')) // the test started the server
      .join('\n')
      .replaceAll('localhost:8080', host),
  ].join('\n');
  return new Promise((res) => {
    const p = spawn('timeout', ['-k', '5', '120', 'bash', '-c', script], { cwd: work });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.on('close', (code) => res({ code, out, err }));
  });
}

/** Runs a TypeScript file with this Node (type stripping); resolves to its stdout, rejects on a non-zero exit. */
function runTs(file: string, what: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [file], { cwd: work, env: { ...process.env, ...env } });
    let o = '';
    let e = '';
    p.stdout.on('data', (d: Buffer) => {
      o += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      e += d.toString();
    });
    p.on('close', (code) => (code === 0 ? res(o) : rej(new Error(`${what} exited ${code}:\n${o}\n${e}`))));
  });
}

function assertAll2xx(out: string, what: string): void {
  const codes = [...out.matchAll(/^@@(\d{3})$/gm)].map((m) => Number(m[1]));
  assert.ok(codes.length > 0, `${what}: no curl ran`);
  const bad = codes.filter((c) => c < 200 || c > 299);
  assert.deepEqual(bad, [], `${what}: curl answers outside 2xx:\n${out}`);
}

const curlBlocks = blocks('sh').filter((b) => /^curl /m.test(b));

test('README: the curl sequences run as written', { timeout: 300_000 }, async () => {
  assert.ok(curlBlocks.length >= 2, 'the README has the service and bootstrapping curl sequences');
  // the service sequence comes first; the bootstrapping one is the block that starts with a policy
  const service = curlBlocks[0] as string;
  const bootstrap = curlBlocks.find((b) => b.includes('bootstrap_policy=')) as string;
  assert.ok(bootstrap !== undefined, 'the README has the bootstrapping curl sequence');

  const first = await runShell(service);
  assert.equal(first.code, 0, `service block failed:\n${first.out}\n${first.err}`);
  assertAll2xx(first.out, 'service block');
  assert.match(first.out, /\b42\b/, 'SUM(x) over 1, 2, 39 is 42');

  const second = await runShell(bootstrap);
  assert.equal(second.code, 0, `bootstrapping block failed:\n${second.out}\n${second.err}`);
  assertAll2xx(second.out, 'bootstrapping block');
  assert.match(second.out, /"deployment_status":"AwaitingApproval"/);
  assert.match(second.out, /"added_views":\["big"\]/, 'the GET shows the diff');
  const answers = second.out.split(/^@@\d{3}$/m); // each curl's output, in order (the last piece is empty)
  const lastQuery = answers.at(-2) ?? '';
  assert.match(lastQuery, /\b2\b[\s\S]*\b3\b/, `the new view holds ids 2 and 3:\n${lastQuery}`);
  assert.doesNotMatch(lastQuery, /\|\s*1\s*\|/, 'id 1 has x = 1: not in big');

  for (const b of curlBlocks.filter((x) => x !== service && x !== bootstrap)) {
    const r = await runShell(b);
    assert.equal(r.code, 0, `README block failed:\n${b}\n${r.out}\n${r.err}`);
    assertAll2xx(r.out, b.split('\n')[0] as string);
  }
});

test('README: the TypeScript SDK example runs against a server', { timeout: 120_000 }, async () => {
  const example = blocks('ts').find((b) => b.includes('Pipeline.create(client'));
  assert.ok(example, 'the TypeScript SDK section has its example');
  const sdk = pathToFileURL(join(ROOT, 'src', 'client', 'index.ts')).href;
  const file = join(work, 'sdk-example.ts');
  writeFileSync(
    file,
    example.replace("'@holdfast/client'", `'${sdk}'`).replace('http://127.0.0.1:8080', base),
  );
  const out = await runTs(file, 'SDK example', { HOLDFAST_API_KEY: '' });
  assert.match(out, /total: 5\b/, 'the query printed the view: SUM(amount) = 5');
});

test('README: the Engine API example prints what its comments say', { timeout: 60_000 }, async () => {
  const example = blocks('ts').find((b) => b.includes('compileProgram'));
  assert.ok(example, 'the Engine API section has its example');
  const program = pathToFileURL(join(ROOT, 'src', 'sql', 'program.ts')).href;
  const file = join(work, 'engine-example.ts');
  writeFileSync(
    file,
    `${example.replace("'./src/sql/program.ts'", `'${program}'`)}
const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? \`\${x}n\` : x));
const totals = changes.get('totals');
console.log(show({ rows: totals?.rows, weights: totals?.weights }));
console.log(show(await circuit.query('SELECT * FROM totals')));
console.log(typeof snap);
`,
  );
  const out = await runTs(file, 'engine example');
  const [changes] = out.trim().split('\n');
  // the README's comment: `{ rows: [[2n, 15]], weights: [1] }`
  assert.equal(changes, '{"rows":[["2n",15]],"weights":[1]}');
  assert.match(example, /\{ rows: \[\[2n, 15\]\], weights: \[1\] \}/, 'the comment states the same value');
});
