/**
 * The web console's static files (issue 20): `GET /` answers the console's `index.html`, `GET /assets/{file}`
 * its bundles, from the directory `npm run build` (or the `prepare` script after `npm ci`) writes them to:
 * `dist/console/` of the checkout, or of the installed `holdfast` package (both three levels above this file).
 * Nothing is built here: the server only reads files.
 *
 * No API key is needed for these files (they hold no data); the console then talks to `/v0` with the key its
 * login form keeps in the browser's sessionStorage. Bundles have content-hashed names and are cached for good;
 * `index.html` is revalidated on every load (`no-cache`). The page and assets carry a Content-Security-Policy
 * (scripts and requests to this origin only, inline styles allowed for CodeMirror and uPlot, no framing). When
 * the assets are missing (a checkout where the build did not run), `/` answers a 503 page that says how to build
 * them; an unknown asset is 404 `NotFound`.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { ServiceError } from '../../errors/service-error.ts';
import { type Route, sendText } from '../../http/routes.ts';

/** Where the built console is: `dist/console` next to `src/` (checkout) or `dist/manager/` (package). */
export const CONSOLE_DIR = resolve(import.meta.dirname, '..', '..', '..', 'dist', 'console');

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml',
  woff2: 'font/woff2',
};

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // everything the console loads comes from this server; it talks to /v0 on the same origin
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Holdfast console not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5">
<h1>The Holdfast console is not built</h1>
<p>This server has no console assets (<code>dist/console/index.html</code> is missing). In a checkout, run
<code>npm run build</code> (or <code>npm ci</code>, which builds them), then reload this page. The <code>/v0</code>
API works without them.</p>
</body></html>
`;

export function consoleRoutes(dir: string = CONSOLE_DIR): Route[] {
  return [
    {
      method: 'GET',
      url: '/',
      schema: { hide: true },
      handler: async (_req, reply) => {
        let html: string;
        try {
          html = await readFile(join(dir, 'index.html'), 'utf8');
        } catch {
          reply.headers({ 'cache-control': 'no-store', ...SECURITY_HEADERS });
          sendText(reply, 503, NOT_BUILT, 'text/html; charset=utf-8');
          return;
        }
        reply.headers({ 'cache-control': 'no-cache', ...SECURITY_HEADERS });
        sendText(reply, 200, html, 'text/html; charset=utf-8');
      },
    },
    {
      method: 'GET',
      url: '/assets/:file',
      schema: { hide: true },
      handler: async (req: FastifyRequest, reply) => {
        const file = (req.params as { file: string }).file;
        const type = TYPES[file.slice(file.lastIndexOf('.') + 1)];
        let body: Buffer | null = null;
        if (type !== undefined && /^[\w.-]+$/.test(file) && !file.startsWith('.')) {
          body = await readFile(join(dir, 'assets', file)).catch(() => null);
        }
        if (body === null)
          throw new ServiceError('NotFound', `no console asset '${file}'; reload the console at /`, {
            file,
          });
        reply
          .code(200)
          .headers({ 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' })
          .headers(SECURITY_HEADERS)
          .send(body);
      },
    },
  ];
}
