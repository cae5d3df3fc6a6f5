/**
 * Architecture test: parses every import in src/** and fails on an edge that breaks the layers of DESIGN.md,
 * or on an import cycle between files. The checkers are functions over a tree so that a test can run them on a
 * throwaway tree with a known bad edge and cycle and see them fail.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

/** Which top-level folders each folder may import (besides itself). */
export const ALLOWED: Record<string, readonly string[]> = {
  types: [],
  errors: ['types'],
  // the durable-write primitive (util/durable-file.ts) throws coded errors
  util: ['errors', 'types'],
  // the HTTP kit (fastify app factory, error mapping, auth, route tables) shared by the manager and the server
  http: ['types', 'errors', 'util'],
  // the prom-client registry (its own folder so that the SDK, which may import util, never pulls prom-client in)
  metrics: ['types', 'errors', 'util'],
  zset: ['types', 'errors', 'util'],
  circuit: ['zset', 'types', 'errors', 'util'],
  operators: ['circuit', 'zset', 'types', 'errors', 'util'],
  sql: ['operators', 'circuit', 'zset', 'types', 'errors', 'util'],
  storage: ['circuit', 'zset', 'types', 'errors', 'util'],
  sync: ['storage', 'types', 'errors', 'util'],
  connectors: ['sync', 'sql', 'zset', 'types', 'errors', 'util'],
  controller: ['storage', 'connectors', 'sql', 'operators', 'circuit', 'zset', 'types', 'errors', 'util'],
  server: ['controller', 'sync', 'connectors', 'sql', 'zset', 'metrics', 'http', 'types', 'errors', 'util'],
  runner: ['connectors', 'sql', 'operators', 'circuit', 'zset', 'types', 'errors', 'util'],
  client: ['types', 'errors', 'util'],
  cli: ['client', 'types', 'errors', 'util'],
  manager: ['client', 'metrics', 'http', 'types', 'errors', 'util'],
  // the web console (.tsx, bundled for the browser): a client of the /v0 API through the SDK only
  console: ['client'],
  bin: [
    'manager',
    'server',
    'controller',
    'connectors',
    'runner',
    'cli',
    'client',
    'sql',
    'types',
    'errors',
    'util',
  ],
};

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts') || p.endsWith('.tsx')) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const spec = (m[1] ?? m[2]) as string;
    if (spec.startsWith('.')) out.push(resolve(dirname(file), spec));
  }
  return out;
}

const layerOf = (file: string): string => relative(SRC, file).split('/')[0] as string;

test('every src folder is a known layer', () => {
  for (const f of files(SRC)) {
    const layer = layerOf(f);
    if (!f.includes('/', SRC.length + 1)) continue;
    assert.ok(layer in ALLOWED, `src/${layer} is not in the layer table of tests/arch/layering.test.ts`);
  }
});

/** The forbidden edges among the .ts files under `src` (a tree laid out like src/: one folder per layer). */
export function forbiddenEdges(src: string): string[] {
  const bad: string[] = [];
  const layer = (file: string): string => relative(src, file).split('/')[0] as string;
  for (const f of files(src)) {
    const from = layer(f);
    for (const target of imports(f)) {
      if (!target.startsWith(src)) {
        bad.push(`${relative(dirname(src), f)} imports ${relative(dirname(src), target)} outside src/`);
        continue;
      }
      const to = layer(target);
      if (to !== from && !(ALLOWED[from] ?? []).includes(to))
        bad.push(`${relative(dirname(src), f)} (${from}) → ${relative(dirname(src), target)} (${to})`);
    }
  }
  return bad;
}

/** The import cycles among the .ts files under `src`, each as `a.ts → b.ts → a.ts`. */
export function importCycles(src: string): string[] {
  const graph = new Map<string, string[]>();
  for (const f of files(src))
    graph.set(
      f,
      imports(f).filter((t) => t.endsWith('.ts') || t.endsWith('.tsx')),
    );
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (f: string) => {
    state.set(f, 1);
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 1)
        cycles.push([...stack.slice(stack.indexOf(t)), t].map((x) => relative(src, x)).join(' → '));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

test('imports point down the layers only', () => {
  const bad = forbiddenEdges(SRC);
  assert.deepEqual(bad, [], `forbidden imports:\n${bad.join('\n')}`);
});

test('no import cycles between files', () => {
  const cycles = importCycles(SRC);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
});

test('the checker itself catches a forbidden edge and a cycle', () => {
  // a throwaway tree shaped like src/: client/ importing sql/ (forbidden), and two zset files importing each
  // other (a cycle); the checkers must report exactly these
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-arch-'));
  try {
    const src = join(dir, 'src');
    for (const d of ['client', 'sql', 'zset']) mkdirSync(join(src, d), { recursive: true });
    writeFileSync(join(src, 'sql', 'plan.ts'), 'export const plan = 1;\n');
    writeFileSync(
      join(src, 'client', 'bad.ts'),
      "import { plan } from '../sql/plan.ts';\nexport const x = plan;\n",
    );
    writeFileSync(join(src, 'zset', 'a.ts'), "import { b } from './b.ts';\nexport const a = () => b;\n");
    writeFileSync(join(src, 'zset', 'b.ts'), "import { a } from './a.ts';\nexport const b = () => a;\n");
    assert.deepEqual(forbiddenEdges(src), ['src/client/bad.ts (client) → src/sql/plan.ts (sql)']);
    assert.deepEqual(importCycles(src), ['zset/a.ts → zset/b.ts → zset/a.ts']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the SDK package (@holdfast/client) closes over client/, types/ and util/ only, with no bare import', () => {
  // what `npm run pack` ships as @holdfast/client is tsc's import closure of src/client/index.ts: it must hold
  // no engine file, and no file of it may import a Node built-in or an npm package (Node >= 20 and browsers)
  const seen = new Set<string>();
  const bad: string[] = [];
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    const text = readFileSync(f, 'utf8');
    const re =
      /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const spec = (m[1] ?? m[2]) as string;
      if (!spec.startsWith('.')) bad.push(`${relative(ROOT, f)} imports '${spec}'`);
    }
    for (const t of imports(f)) visit(t);
  };
  visit(join(SRC, 'client', 'index.ts'));
  const layers = new Set([...seen].map(layerOf));
  assert.deepEqual([...layers].sort(), ['client', 'types', 'util']);
  assert.deepEqual(bad, [], `the SDK's import closure imports outside itself:\n${bad.join('\n')}`);
});

test('the object-store SDKs (@aws-sdk/*, @azure/*) are imported only by the sync layer', () => {
  const bad: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](@aws-sdk\/[^'"]+|@azure\/[^'"]+)['"]|import\(\s*['"](@aws-sdk\/[^'"]+|@azure\/[^'"]+)['"]\s*\)/g;
  for (const f of files(SRC)) {
    if (layerOf(f) === 'sync') continue;
    const text = readFileSync(f, 'utf8');
    for (let m = re.exec(text); m !== null; m = re.exec(text))
      bad.push(`${relative(ROOT, f)} imports ${m[1] ?? m[2]}`);
  }
  assert.deepEqual(bad, [], `object-store SDKs outside src/sync:\n${bad.join('\n')}`);
});

test('the web console (src/console) imports the SDK entry and browser packages only', () => {
  // the console is bundled for the browser and talks to the server over HTTP: its one way into the rest of
  // src/ is `@holdfast/client` (src/client/index.ts); its packages are the UI, editor and chart libraries
  const PACKAGES =
    /^(preact|preact\/hooks|codemirror|@codemirror\/[a-z-]+|@lezer\/highlight|uplot|uplot\/dist\/uPlot\.min\.css)$/;
  const bad: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;
  const consoleFiles = files(join(SRC, 'console'));
  assert.ok(consoleFiles.length > 0, 'src/console has the console sources');
  for (const f of consoleFiles) {
    const text = readFileSync(f, 'utf8');
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(f), spec);
        const inside = layerOf(target) === 'console';
        if (!inside && target !== join(SRC, 'client', 'index.ts'))
          bad.push(`${relative(ROOT, f)} imports ${relative(ROOT, target)}`);
      } else if (!PACKAGES.test(spec)) bad.push(`${relative(ROOT, f)} imports the package '${spec}'`);
    }
  }
  assert.deepEqual(bad, [], `the console imports outside the SDK:\n${bad.join('\n')}`);
});
