/**
 * Builds and packs Holdfast's two installable npm packages (`npm run build`, `npm run pack`).
 *
 * - `build`: `tsc -p tsconfig.client.json` compiles the SDK's import closure only (src/client/index.ts and
 *   the few shared files it imports) to `dist/build/client/` for Node >= 20 and browsers (ES2022, DOM lib, no
 *   Node types, so a Node-only API in the SDK fails the build); `tsc -p tsconfig.build.json` compiles all of
 *   src/ to `dist/build/holdfast/` for Node 24. Both emit JavaScript plus `.d.ts`, with the sources' `.ts`
 *   import specifiers rewritten to `.js` (TypeScript's `rewriteRelativeImportExtensions` does it in the
 *   JavaScript; this script does it in the declarations, where TypeScript keeps them as written). It also
 *   builds the web console (scripts/console.ts) into `dist/console/`.
 * - `pack`: builds, lays out each package under `dist/stage/<name>/` (a generated package.json, the compiled
 *   files, README, and for `holdfast` the `holdfast` bin launcher and the console's assets in `dist/console/`,
 *   where the manager looks for them) and runs `npm pack` into `dist/packages/`.
 *   Prints one line per tarball with its absolute path.
 *
 * State: only files under `dist/` (gitignored); `build` starts from an empty `dist/build`, `pack` also from
 * empty `dist/stage` and `dist/packages`. Invariants: `@holdfast/client` has no dependencies and ships no engine file (its contents
 * are tsc's import closure of src/client/index.ts); `holdfast` depends on exactly the root package.json's
 * `dependencies`, so a runtime dependency added to the repo is a dependency of the package too; the version
 * of both is the root package.json's; `files` whitelists what ships.
 */

import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildConsole, CONSOLE_OUT } from './console.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const BUILD = join(DIST, 'build');
const STAGE = join(DIST, 'stage');
export const PACKAGES_DIR = join(DIST, 'packages');

interface RootManifest {
  version: string;
  description: string;
  license: string;
  dependencies?: Record<string, string>;
}

function run(cmd: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', rej);
    child.on('close', (code) =>
      code === 0 ? res(out) : rej(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${out}`)),
    );
  });
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** `from './x.ts'`, `import('./x.ts')` in a declaration file → `.js` (relative specifiers only). */
export function rewriteDeclarationSpecifiers(text: string): string {
  return text.replace(/((?:from\s+|import\s*\(\s*)['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1$2.js$3');
}

export async function build(): Promise<void> {
  rmSync(BUILD, { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await Promise.all([
    run(process.execPath, [tsc, '-p', 'tsconfig.client.json'], ROOT),
    run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], ROOT),
    buildConsole(),
  ]);
  for (const f of walk(BUILD)) {
    if (!f.endsWith('.d.ts')) continue;
    const text = readFileSync(f, 'utf8');
    const fixed = rewriteDeclarationSpecifiers(text);
    if (fixed !== text) writeFileSync(f, fixed);
  }
}

const LAUNCHER = `#!/usr/bin/env node
// The holdfast command: the compiled CLI, which needs Node.js 24 or newer.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    \`holdfast: Node.js 24 or newer is required, this is \${process.version}; install Node.js 24 \` +
      '(or put a Node 24 binary first on PATH) and run the command again\\n',
  );
  process.exit(1);
}
await import('../dist/bin/main.js');
`;

function clientReadme(version: string): string {
  return `# @holdfast/client ${version}

The TypeScript SDK for Holdfast's Feldera-compatible \`/v0\` REST API: \`HoldfastClient\` (one method per
endpoint), the \`Pipeline\` handle (create, start, inputJson, query, listen, checkpoint, sync, standby, stop),
and the error classes \`ApiError\` and \`ClientError\`. HTTP only (\`fetch\`): no engine code and no
dependencies. ESM with type declarations; runs on Node.js >= 20.3 and in browsers.

\`\`\`ts
import { HoldfastClient, Pipeline } from '@holdfast/client';

const client = new HoldfastClient({ url: 'http://127.0.0.1:8080' });
const p = await Pipeline.create(client, { name: 'sales', sql: 'CREATE TABLE s (id INT); CREATE MATERIALIZED VIEW t AS SELECT COUNT(*) AS n FROM s;' });
await p.start({ wait: true });
\`\`\`

See the Holdfast README ("TypeScript SDK") for the whole API.
`;
}

async function npmPack(dir: string): Promise<string> {
  const out = await run('npm', ['pack', '--json', '--pack-destination', PACKAGES_DIR], dir);
  const info = JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[];
  return join(PACKAGES_DIR, (info[0] as { filename: string }).filename);
}

export async function pack(): Promise<string[]> {
  await build();
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as RootManifest;
  rmSync(STAGE, { recursive: true, force: true });
  rmSync(PACKAGES_DIR, { recursive: true, force: true });
  mkdirSync(PACKAGES_DIR, { recursive: true });
  const common = { version: root.version, license: root.license, type: 'module' };

  const client = join(STAGE, 'client');
  cpSync(join(BUILD, 'client'), join(client, 'dist'), { recursive: true });
  writeFileSync(join(client, 'README.md'), clientReadme(root.version));
  writeFileSync(
    join(client, 'package.json'),
    `${JSON.stringify(
      {
        name: '@holdfast/client',
        ...common,
        description: 'TypeScript SDK for Holdfast pipelines (Feldera-compatible /v0 REST API); HTTP only',
        engines: { node: '>=20.3' }, // AbortSignal.any
        sideEffects: false,
        exports: {
          '.': { types: './dist/client/index.d.ts', default: './dist/client/index.js' },
          './package.json': './package.json',
        },
        types: './dist/client/index.d.ts',
        files: ['dist/**/*.js', 'dist/**/*.d.ts', 'README.md'],
      },
      null,
      2,
    )}\n`,
  );

  const server = join(STAGE, 'holdfast');
  cpSync(join(BUILD, 'holdfast'), join(server, 'dist'), { recursive: true });
  cpSync(CONSOLE_OUT, join(server, 'dist', 'console'), { recursive: true });
  mkdirSync(join(server, 'bin'));
  writeFileSync(join(server, 'bin', 'holdfast.js'), LAUNCHER, { mode: 0o755 });
  cpSync(join(ROOT, 'README.md'), join(server, 'README.md'));
  writeFileSync(
    join(server, 'package.json'),
    `${JSON.stringify(
      {
        name: 'holdfast',
        ...common,
        description: root.description,
        engines: { node: '>=24' },
        bin: { holdfast: 'bin/holdfast.js' },
        exports: {
          '.': { types: './dist/client/index.d.ts', default: './dist/client/index.js' },
          './package.json': './package.json',
        },
        files: ['bin/holdfast.js', 'dist/**/*.js', 'dist/**/*.d.ts', 'dist/console/**', 'README.md'],
        dependencies: root.dependencies ?? {},
      },
      null,
      2,
    )}\n`,
  );

  return [await npmPack(client), await npmPack(server)];
}

if (import.meta.main) {
  const cmd = process.argv[2];
  try {
    if (cmd === 'build') {
      await build();
      process.stdout.write(`built ${BUILD}\n`);
    } else if (cmd === 'pack') {
      for (const t of await pack()) process.stdout.write(`${t}\n`);
    } else {
      process.stderr.write('usage: node scripts/packages.ts build|pack\n');
      process.exitCode = 2;
    }
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
