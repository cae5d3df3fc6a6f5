/**
 * Child-process entry of tests/helpers/azurite.ts: runs Azurite's blob service (`azurite-blob`) on 127.0.0.1 with
 * the arguments given, passes its output through, and kills it when this process's stdin closes (the test
 * process ended, even by `kill -9`) or on SIGTERM, so that no emulator outlives its test.
 *
 * argv[2]: JSON `{ "location": "<dir>", "port": 0, "loose": false }` (`loose`: Azurite's `--loose`, which accepts
 * headers it does not implement, such as customer-provided keys, instead of refusing them).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const { location, port, loose } = JSON.parse(process.argv[2] ?? '{}') as {
  location: string;
  port?: number;
  loose?: boolean;
};
const bin = join(import.meta.dirname, '../../node_modules/.bin/azurite-blob');
const child = spawn(
  process.execPath,
  [
    bin,
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(port ?? 0),
    '--location',
    location,
    '--silent',
    '--skipApiVersionCheck',
    ...(loose === true ? ['--loose'] : []),
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
const stop = () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
child.on('exit', (code) => process.exit(code ?? 1));
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', () => {
  stop();
  process.exit(0);
});
