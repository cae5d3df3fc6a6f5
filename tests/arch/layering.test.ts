/**
 * Architecture test: parses every import in src/** and fails on an edge that breaks the layers of DESIGN.md,
 * or on an import cycle between files.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
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
  // the prom-client registry (its own folder so that the SDK, which may import util, never pulls prom-client in)
  metrics: ['types', 'errors', 'util'],
  zset: ['types', 'errors', 'util'],
  circuit: ['zset', 'types', 'errors', 'util'],
  operators: ['circuit', 'zset', 'types', 'errors', 'util'],
  sql: ['operators', 'circuit', 'zset', 'types', 'errors', 'util'],
  storage: ['circuit', 'zset', 'types', 'errors', 'util'],
  sync: ['storage', 'types', 'errors', 'util'],
  connectors: ['sql', 'zset', 'types', 'errors', 'util'],
  controller: ['storage', 'connectors', 'sql', 'operators', 'circuit', 'zset', 'types', 'errors', 'util'],
  server: ['controller', 'sync', 'connectors', 'sql', 'zset', 'metrics', 'types', 'errors', 'util'],
  runner: ['connectors', 'sql', 'operators', 'circuit', 'zset', 'types', 'errors', 'util'],
  client: ['types', 'errors', 'util'],
  cli: ['client', 'types', 'errors', 'util'],
  manager: ['client', 'metrics', 'types', 'errors', 'util'],
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
    else if (p.endsWith('.ts')) out.push(p);
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

test('imports point down the layers only', () => {
  const bad: string[] = [];
  for (const f of files(SRC)) {
    const from = layerOf(f);
    for (const target of imports(f)) {
      if (!target.startsWith(SRC)) {
        bad.push(`${relative(ROOT, f)} imports ${relative(ROOT, target)} outside src/`);
        continue;
      }
      const to = layerOf(target);
      if (to !== from && !(ALLOWED[from] ?? []).includes(to))
        bad.push(`${relative(ROOT, f)} (${from}) → ${relative(ROOT, target)} (${to})`);
    }
  }
  assert.deepEqual(bad, [], `forbidden imports:\n${bad.join('\n')}`);
});

test('no import cycles between files', () => {
  const graph = new Map<string, string[]>();
  for (const f of files(SRC))
    graph.set(
      f,
      imports(f).filter((t) => graph !== null && t.endsWith('.ts')),
    );
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (f: string) => {
    state.set(f, 1);
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 1)
        cycles.push([...stack.slice(stack.indexOf(t)), t].map((x) => relative(SRC, x)).join(' → '));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
});

test('the checker itself catches a forbidden edge', () => {
  assert.ok(!(ALLOWED.client ?? []).includes('sql'));
  assert.ok(!(ALLOWED.zset ?? []).includes('sql'));
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
