/**
 * Contract: the error catalog (src/types/error-codes.ts), its documentation (docs/errors.md) and the codes
 * used in src/ agree in both directions.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { ERROR_CATALOG, RETIRED_CODES } from '../../src/types/error-codes.ts';

const ROOT = resolve(import.meta.dirname, '../..');

function docRows(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const line of readFileSync(join(ROOT, 'docs/errors.md'), 'utf8').split('\n')) {
    const m = /^\| `([A-Za-z.]+)` \| (\d{3}) \|/.exec(line);
    if (m) rows.set(m[1] as string, Number(m[2]));
  }
  return rows;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('docs/errors.md lists exactly the catalog codes with the same HTTP status', () => {
  const doc = docRows();
  const catalog = new Map(Object.entries(ERROR_CATALOG).map(([k, v]) => [k, v.status as number]));
  assert.deepEqual([...doc.keys()].sort(), [...catalog.keys()].sort());
  for (const [code, status] of catalog) assert.equal(doc.get(code), status, `status of ${code}`);
});

test('codes are PascalCase and retired codes are never reused', () => {
  for (const code of Object.keys(ERROR_CATALOG)) assert.match(code, /^[A-Z][A-Za-z]+(\.[A-Z][A-Za-z]+)?$/);
  for (const r of RETIRED_CODES) assert.ok(!(r in ERROR_CATALOG), `${r} is retired`);
});

test('every code thrown in src/ is in the catalog, and every catalog code is used', () => {
  const used = new Set<string>();
  for (const f of sources(join(ROOT, 'src'))) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:ServiceError|FtConfigError|StorageError)\(\s*'([A-Za-z.]+)'/g))
      used.add(m[1] as string);
    for (const m of text.matchAll(/(?:sqlError|udfError|errorAt)\(\s*'([A-Za-z.]+)'/g))
      used.add(m[1] as string);
    for (const m of text.matchAll(/:\s*ErrorCode\s*=\s*'([A-Za-z.]+)'/g)) used.add(m[1] as string);
    for (const m of text.matchAll(/^\s*\|\s*'([A-Za-z.]+)'/gm))
      if (f.endsWith('storage-error.ts')) used.add(m[1] as string);
  }
  for (const u of used) assert.ok(u in ERROR_CATALOG, `${u} is used in src/ but not in the catalog`);
  const unused = Object.keys(ERROR_CATALOG).filter((c) => !used.has(c));
  assert.deepEqual(unused, [], 'catalog codes never raised in src/ (remove them or raise them)');
});
