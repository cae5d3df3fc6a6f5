/**
 * The console's static route (src/manager/routes/console.ts) on a real manager with an API key, on 127.0.0.1:
 * `/` and the bundles are served without the key (the `/v0` API still needs it), bundles are cached for good
 * and `index.html` never, an unknown or odd asset name is 404 `NotFound`, and a server without built assets
 * answers `/` with a 503 page that says how to build them. Assets are written into a temporary directory here,
 * so the test does not depend on a build having run.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { HttpApp } from '../../../src/http/app.ts';
import { Manager } from '../../../src/manager/api.ts';
import { CONSOLE_DIR, consoleRoutes } from '../../../src/manager/routes/console.ts';

const FAKE_MAIN = join(import.meta.dirname, 'fake-pipeline-main.ts');
const dir = mkdtempSync(join(tmpdir(), 'holdfast-console-route-'));
const assets = join(dir, 'assets');
mkdirSync(join(assets), { recursive: true });
writeFileSync(
  join(dir, 'index.html'),
  '<!doctype html><div id="app"></div><script src="assets/main-AB12.js"></script>',
);
writeFileSync(join(assets, 'main-AB12.js'), 'console.log(1);');
writeFileSync(join(assets, 'main-CD34.css'), 'body{}');

const served = new HttpApp({ jsonBodyLimit: 100, jsonBodyWhat: 'test' }).routes(consoleRoutes(dir));
const missing = new HttpApp({ jsonBodyLimit: 100, jsonBodyWhat: 'test' }).routes(
  consoleRoutes(join(dir, 'nowhere')),
);
let base = '';
let missingBase = '';
let manager: Manager;
let managerBase = '';
const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-console-mgr-'));

const listen = async (server: import('node:http').Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

before(async () => {
  await Promise.all([served.ready(), missing.ready()]);
  base = await listen(served.server);
  missingBase = await listen(missing.server);
  manager = new Manager({ dataDir, mainScript: FAKE_MAIN, apiKey: 'secret-key' });
  managerBase = await listen(manager.server);
});
after(async () => {
  await manager.close();
  for (const s of [served.server, missing.server]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

test('the console is looked for in dist/console of the checkout', () => {
  assert.equal(CONSOLE_DIR, resolve(import.meta.dirname, '../../../dist/console'));
});

test('/ is the console page, never cached, with a restrictive content security policy', async () => {
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.match(await res.text(), /<div id="app">/);
});

test('bundles are served with their type and cached for good; unknown names are 404 NotFound', async () => {
  const js = await fetch(`${base}/assets/main-AB12.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);
  assert.equal(await js.text(), 'console.log(1);');
  const css = await fetch(`${base}/assets/main-CD34.css`);
  assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
  for (const name of ['main-ZZZZ.js', 'main-AB12.exe', '..%2Findex.html', '.hidden.js']) {
    const res = await fetch(`${base}/assets/${name}`);
    assert.equal(res.status, 404, name);
    assert.equal(((await res.json()) as { error_code: string }).error_code, 'NotFound');
  }
});

test('without built assets, / answers a 503 page saying how to build them', async () => {
  const res = await fetch(`${missingBase}/`);
  assert.equal(res.status, 503);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await res.text(), /npm run build/);
});

test('on a manager with an API key the console needs no key, the API still does', async () => {
  const page = await fetch(`${managerBase}/`);
  assert.ok(page.status === 200 || page.status === 503, `GET / answered ${page.status}`);
  const api = await fetch(`${managerBase}/v0/pipelines`);
  assert.equal(api.status, 401);
  const ok = await fetch(`${managerBase}/v0/pipelines`, { headers: { authorization: 'Bearer secret-key' } });
  assert.equal(ok.status, 200);
});
