/**
 * Builds the web console (src/console/, issue 20) into static assets with esbuild: `dist/console/index.html`
 * plus `dist/console/assets/` (the JavaScript and CSS bundles, content-hashed names, everything bundled: no
 * request leaves the server the console came from). Run by `npm run build` (scripts/packages.ts) and by the
 * `prepare` script, so that a checkout has the assets right after `npm ci`; the manager serves them at `/`
 * (src/manager/routes/console.ts).
 *
 * State: only `dist/console/` (replaced whole on each build: written beside it, then swapped in by rename).
 * Invariant: `index.html` names exactly the bundles of its own build, so a browser never mixes two builds.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
export const CONSOLE_ENTRY = join(ROOT, 'src', 'console', 'main.tsx');
export const CONSOLE_OUT = join(ROOT, 'dist', 'console');

function page(js: string, css: string | null): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Holdfast console</title>
${css ? `<link rel="stylesheet" href="assets/${css}">\n` : ''}<script type="module" src="assets/${js}"></script>
</head>
<body>
<div id="app"><noscript>The Holdfast console needs JavaScript.</noscript></div>
</body>
</html>
`;
}

/**
 * Builds the console into `out` (default `dist/console`); returns the asset file names. The build is written
 * beside `out` and swapped in with two renames, so a server reading `out` (a test, while another runs a build)
 * never sees it half written.
 */
export async function buildConsole(out: string = CONSOLE_OUT): Promise<string[]> {
  const next = `${out}.next-${process.pid}-${Date.now()}`;
  const old = `${out}.old-${process.pid}-${Date.now()}`;
  const assets = join(next, 'assets');
  mkdirSync(assets, { recursive: true });
  try {
    const result = await build({
      entryPoints: [CONSOLE_ENTRY],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      minify: true,
      sourcemap: false,
      outdir: assets,
      entryNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      jsx: 'automatic',
      jsxImportSource: 'preact',
      legalComments: 'linked',
      metafile: true,
      logLevel: 'silent',
    });
    let js: string | null = null;
    let css: string | null = null;
    for (const [file, info] of Object.entries(result.metafile.outputs)) {
      if (info.entryPoint !== undefined && file.endsWith('.js')) {
        js = basename(file);
        if (info.cssBundle) css = basename(info.cssBundle);
      }
    }
    if (js === null) throw new Error('esbuild produced no JavaScript bundle for the console');
    writeFileSync(join(next, 'index.html'), page(js, css));
    const files = Object.keys(result.metafile.outputs).map((f) => relative(assets, resolve(ROOT, f)));
    // two builds at once (e.g. the browser and packaging tests): each swaps its own copy in; the last one stays
    const olds: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const aside = `${old}-${attempt}`;
      try {
        renameSync(out, aside);
        olds.push(aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      try {
        renameSync(next, out);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 5) throw e;
      }
    }
    for (const d of olds) rmSync(d, { recursive: true, force: true });
    return files;
  } finally {
    rmSync(next, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    const files = await buildConsole();
    process.stdout.write(`built the console into ${relative(ROOT, CONSOLE_OUT)}/ (${files.length} assets)\n`);
  } catch (e) {
    process.stderr.write(`console build failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
