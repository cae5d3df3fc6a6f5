/**
 * The installable packages as a user gets them: `npm run pack` builds and packs `@holdfast/client` and
 * `holdfast`; a temporary project outside the repo installs both tarballs with npm (`--prefer-offline`: the
 * cache `npm ci` filled, the registry for what it lacks), type-checks a program against the SDK with its own
 * `tsc` (NodeNext, strict, DOM libs and no @types/node, the SDK's .d.ts checked too), runs it with the
 * machine's plain `node` (the first on PATH outside node_modules/.bin, Node 20 here) against `npx holdfast
 * server` from the installed package (Node 24), and checks what it did: create, start, push rows, read a view,
 * an ApiError code, stop, delete. Also checks what ships: only JavaScript and declarations (no TypeScript
 * sources, tests or benches), and an SDK with no dependencies, no engine files and no import outside itself.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE24_BIN = join(ROOT, 'node_modules', '.bin');

let server: ChildProcess | null = null;
let work: string | null = null;
after(async () => {
  if (server?.pid !== undefined && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((res) => server?.once('exit', res));
    try {
      process.kill(-server.pid, 'SIGTERM'); // npx, the server and its pipeline processes: one process group
    } catch {}
    const timer = setTimeout(() => {
      try {
        if (server?.pid !== undefined) process.kill(-server.pid, 'SIGKILL');
      } catch {}
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (work !== null) rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(cmd: string, args: readonly string[], cwd: string, env = process.env): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', rej);
    child.on('close', (code) => res({ code, out, err }));
  });
}

async function ok(cmd: string, args: readonly string[], cwd: string, env = process.env): Promise<string> {
  const r = await run(cmd, args, cwd, env);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed (exit ${r.code}):\n${r.out}\n${r.err}`);
  return r.out;
}

/** The machine's own `node`: the first on PATH that is not a node_modules/.bin shim (npm puts those first). */
function plainNode(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.includes('node_modules/.bin')) continue;
    const p = join(dir, 'node');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  throw new Error('no node on PATH outside node_modules/.bin');
}

/**
 * The environment for commands run in the consumer project: this run's own `npm run`/`npx` variables (its
 * package, its prefix, its lifecycle) removed, the user's npm config (cache, registry, proxy) kept.
 */
function consumerEnv(path: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: path };
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'PATH' || /^npm_(package_|lifecycle_|command$|execpath$|node_execpath$)/.test(k)) continue;
    if (/^npm_config_(local_prefix|prefix|global_prefix|yes|user_agent|npm_version)$/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/** PATH without node_modules/.bin entries, with `first` in front when given. */
function pathWith(first?: string): string {
  const rest = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d !== '' && !d.includes('node_modules'));
  return [...(first ? [first] : []), ...rest].join(delimiter);
}

function files(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, base));
    else out.push(relative(base, p).split('\\').join('/'));
  }
  return out;
}

const PROGRAM = `import { HoldfastClient, isApiError, Pipeline, type PipelineDescr } from '@holdfast/client';

// compiled without @types/node (a browser's view of the SDK): the two Node globals used here, declared
declare const process: { argv: string[]; version: string };

const url = process.argv[2];
if (url === undefined) throw new Error('usage: node main.js URL');
const client = new HoldfastClient({ url });
const p = await Pipeline.create(client, {
  name: 'pkg',
  sql: \`CREATE TABLE sales (id INT NOT NULL PRIMARY KEY, region VARCHAR, amount INT);
        CREATE MATERIALIZED VIEW by_region AS SELECT region, SUM(amount) AS total FROM sales GROUP BY region;\`,
});
await p.start({ wait: true, timeoutMs: 30_000 });
const running: string = await p.status();
await p.inputJson('sales', [
  { id: 1, region: 'north', amount: 10 },
  { id: 2, region: 'north', amount: 5 },
  { id: 3, region: 'south', amount: 1 },
], { wait: true });
const rows: unknown[] = [];
for await (const r of p.query('SELECT region, total FROM by_region ORDER BY region')) rows.push(r);
let missing = '';
try {
  await client.getPipeline('no-such-pipeline');
} catch (e) {
  if (isApiError(e, 'UnknownPipelineName')) missing = e.errorCode;
}
await p.stop({ force: true, wait: true });
const stopped: string = await p.status();
const descr: PipelineDescr = await client.getPipeline('pkg');
await p.delete({ clearStorage: true });
console.log(JSON.stringify({ running, rows, missing, stopped, name: descr.name, node: process.version }));
`;

test('npm run pack: both packages install outside the repo; the SDK runs on plain node against npx holdfast server', {
  timeout: 240_000,
}, async (t) => {
  let last = Date.now();
  const lap = () => {
    const now = Date.now();
    const s = `${((now - last) / 1000).toFixed(1)} s`;
    last = now;
    return s;
  };
  const node = plainNode();
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
  };

  // build and pack, as the README says (npm runs the script with the project's Node 24)
  const packed = await ok('npm', ['run', '--silent', 'pack'], ROOT);
  const tarballs = packed.trim().split('\n');
  t.diagnostic(`npm run pack: ${lap()}`);
  assert.deepEqual(
    tarballs.map((t) => relative(ROOT, t)),
    [`dist/packages/holdfast-client-${root.version}.tgz`, `dist/packages/holdfast-${root.version}.tgz`],
  );

  work = mkdtempSync(join(tmpdir(), 'holdfast-pkg-'));
  writeFileSync(join(work, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n');
  await ok(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      ...tarballs,
      `typescript@${root.dependencies.typescript}`,
    ],
    work,
    consumerEnv(pathWith(NODE24_BIN)),
  );
  t.diagnostic(`npm install of both tarballs: ${lap()}`);

  // what ships
  const sdkDir = join(work, 'node_modules', '@holdfast', 'client');
  const sdk = JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(sdk.dependencies, undefined, 'the SDK has no dependencies');
  assert.deepEqual(sdk.engines, { node: '>=20.3' });
  assert.deepEqual((sdk.exports as Record<string, unknown>)['.'], {
    types: './dist/client/index.d.ts',
    default: './dist/client/index.js',
  });
  const sdkFiles = files(sdkDir);
  const sdkLayers = new Set(sdkFiles.filter((f) => f.startsWith('dist/')).map((f) => f.split('/')[1]));
  assert.deepEqual([...sdkLayers].sort(), ['client', 'types', 'util'], 'the SDK ships no engine code');
  for (const f of sdkFiles) {
    assert.ok(/\.(js|d\.ts|json|md)$/.test(f), `unexpected file in @holdfast/client: ${f}`);
    if (!f.endsWith('.js')) continue;
    const text = readFileSync(join(sdkDir, f), 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\()\s*['"]([^'"]+)['"]/g))
      assert.ok(
        /^\.{1,2}\/.*\.js$/.test(m[1] as string),
        `${f} imports '${m[1]}': the SDK may import only its own .js files (no node: modules, no packages)`,
      );
  }
  const hfDir = join(work, 'node_modules', 'holdfast');
  const hf = JSON.parse(readFileSync(join(hfDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(hf.engines, { node: '>=24' });
  assert.deepEqual(hf.bin, { holdfast: 'bin/holdfast.js' });
  const shipped = files(hfDir);
  for (const f of shipped) {
    // the web console's built assets (dist/console/: index.html, hashed .js/.css bundles) ship too
    const asset = /^dist\/console\/(index\.html|assets\/[\w.-]+\.(js|css|txt))$/.test(f);
    assert.ok(asset || /\.(js|d\.ts|json|md)$/.test(f), `unexpected file in holdfast: ${f}`);
    assert.ok(/^(dist|bin)\/|^[^/]+$/.test(f), `holdfast ships ${f} (only dist/, bin/ and top-level files)`);
  }
  assert.ok(
    shipped.includes('dist/console/index.html'),
    'holdfast ships the console (dist/console/index.html)',
  );
  assert.ok(
    shipped.some((f) => /^dist\/console\/assets\/main-\w+\.js$/.test(f)),
    'holdfast ships the console bundle',
  );

  // type-check a program against the SDK as a user would: NodeNext, strict, the package's .d.ts checked too,
  // DOM and ES libs only (no @types/node: the SDK's types must not need Node's); `ESNext.Disposable` because
  // ResponseStream supports `await using` (README)
  writeFileSync(join(work, 'main.ts'), PROGRAM);
  // the README's SDK example, type-checked against the installed package as written (a Node global declared)
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const example = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)]
    .map((m) => m[1] as string)
    .find((b) => b.includes("from '@holdfast/client'") && b.includes('Pipeline.create(client'));
  assert.ok(example, "the README's TypeScript SDK example");
  writeFileSync(
    join(work, 'readme-example.ts'),
    `declare const process: { env: Record<string, string | undefined> };\n${example}`,
  );
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2022', 'ESNext.Disposable', 'DOM', 'DOM.Iterable', 'DOM.AsyncIterable'],
        strict: true,
        skipLibCheck: false,
        skipDefaultLibCheck: true,
        types: [],
        outDir: 'out',
      },
      include: ['main.ts', 'readme-example.ts'],
    }),
  );
  await ok(node, [join(work, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], work);
  t.diagnostic(`tsc on the consumer program: ${lap()}`);

  // the server from the installed package: `npx holdfast server`, Node 24 first on PATH
  const dataDir = join(work, 'data');
  // under `timeout`, so that it stops by itself (SIGTERM to its whole group after 180 s) even if this test
  // process is killed before after() runs
  const cmd = ['npx', '--no-install', 'holdfast', 'server', '--data-dir', dataDir, '--port', '0'];
  server = spawn('timeout', ['-k', '5', '180', ...cmd], {
    cwd: work,
    env: consumerEnv(pathWith(NODE24_BIN)),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so the whole tree is stopped in after()
  });
  let serverErr = '';
  server.stderr?.on('data', (d: Buffer) => {
    serverErr += d.toString();
  });
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: server?.stdout as NodeJS.ReadableStream }).once('line', res);
    server?.once('exit', (code) => rej(new Error(`npx holdfast server exited (${code}):\n${serverErr}`)));
  });
  const url = (JSON.parse(line) as { url: string }).url;

  // the installed server serves the console it ships at / (no build step at start)
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  const html = await page.text();
  const bundle = /src="(assets\/main-\w+\.js)"/.exec(html)?.[1];
  assert.ok(bundle, `the console page names its bundle:\n${html}`);
  assert.equal((await fetch(`${url}/${bundle}`)).status, 200);

  // the SDK program on the machine's plain node
  const version = (await ok(node, ['--version'], work)).trim();
  const out = await ok(node, [join(work, 'out', 'main.js'), url], work, consumerEnv(pathWith()));
  t.diagnostic(`server start and SDK program: ${lap()}`);
  const result = JSON.parse(out.trim().split('\n').at(-1) as string) as Record<string, unknown>;
  assert.deepEqual(result, {
    running: 'Running',
    rows: [
      { region: 'north', total: 15 },
      { region: 'south', total: 1 },
    ],
    missing: 'UnknownPipelineName',
    stopped: 'Stopped',
    name: 'pkg',
    node: version,
  });

  // on a Node older than 24 the holdfast command says what it needs instead of failing obscurely
  if (Number(version.slice(1).split('.')[0]) < 24) {
    const r = await run(node, [join(hfDir, 'bin', 'holdfast.js'), 'help'], work);
    assert.equal(r.code, 1);
    assert.match(r.err, /Node\.js 24 or newer is required/);
  } else {
    console.log(`# the machine's node is ${version}: the Node < 24 check of the holdfast command is skipped`);
  }

  // `npm install -g` of the tarball (README: Run the server from the package) puts `holdfast` on PATH; a
  // prefix inside the temporary directory stands in for the global one
  const prefix = join(work, 'global');
  await ok(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarballs[1] as string,
    ],
    work,
    consumerEnv(pathWith(NODE24_BIN)),
  );
  t.diagnostic(`npm install -g of holdfast: ${lap()}`);
  const onPath = `${join(prefix, 'bin')}${delimiter}${pathWith(NODE24_BIN)}`;
  const v = await ok('holdfast', ['--version'], work, consumerEnv(onPath));
  assert.equal(v.trim(), root.version);
  const help = await ok('holdfast', ['help'], work, consumerEnv(onPath));
  assert.match(help, /pipeline/);
});
