#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript run by Node 24's type stripping. On an older Node (e.g. the machine's
// `node` when the project's pinned Node 24 is not first on PATH) it says what to do instead of failing on
// the `.ts` import with a stack trace.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `holdfast needs Node.js 24 or newer (this is ${process.version}). In a checkout, run it with ` +
      `'npx holdfast ...' or 'npm run holdfast -- ...', which use the project's pinned Node 24.\n`,
  );
  process.exit(1);
}
import('../src/bin/main.ts');
