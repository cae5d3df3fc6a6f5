/**
 * `npm run openapi`: writes the manager's OpenAPI document to `openapi.json` at the repository root — the
 * document a manager serves at `GET /v0/api-docs/openapi.json`, made of the route tables' schemas
 * (src/types/api-schemas.ts). tests/contract/openapi.test.ts fails when the committed copy and the served
 * document differ: run this after changing a route or a schema, and commit the result.
 *
 * State: a manager over a temporary data directory (removed at the end); it never listens.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Manager } from '../src/manager/api.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** The document the manager serves, as JSON text (2-space indent, final newline). */
export async function openApiText(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-openapi-'));
  const manager = new Manager({ dataDir, mainScript: join(ROOT, 'src/bin/main.ts') });
  try {
    await manager.http.ready();
    return `${JSON.stringify(manager.openapi(), null, 2)}\n`;
  } finally {
    await manager.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const path = join(ROOT, 'openapi.json');
  writeFileSync(path, await openApiText());
  process.stdout.write(`wrote ${path}\n`);
}
