/**
 * Seeds for the randomized parts of the suite. A developer's run explores: a fresh random seed each time. A CI
 * run (`CI` set) is reproducible per commit: the seed is derived from the commit being tested and the caller's
 * label, so the gatekeeping run and a clean-clone check of the same commit draw the same cases, while every new
 * commit still explores new ones. An environment variable, when the caller names one and it is set, wins
 * (that is how a printed seed is replayed). Long random exploration lives in `npm run fuzz` and `npm run chaos`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { ROOT } from './root.ts';

let commit: string | null | undefined;

function headCommit(): string | null {
  if (commit === undefined) {
    try {
      commit = execFileSync('git', ['rev-parse', 'HEAD'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: 'pipe',
      }).trim();
    } catch {
      commit = null;
    }
  }
  return commit;
}

/**
 * A seed in [0, range): `process.env[envVar]` when set, else commit-derived under CI, else random. `label`
 * distinguishes the callers (two tests never share a derived seed).
 */
export function runSeed(label: string, envVar?: string, range = 2 ** 31): number {
  const given = envVar !== undefined ? process.env[envVar] : undefined;
  if (given !== undefined && given !== '') return (Number(given) >>> 0) % range;
  const head = process.env.CI ? headCommit() : null;
  if (head !== null) {
    const digest = createHash('sha256').update(`${head}\0${label}`).digest();
    return digest.readUInt32BE(0) % range;
  }
  return Math.floor(Math.random() * range);
}
