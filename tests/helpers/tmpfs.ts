/**
 * Test helper: a small tmpfs mounted on a fresh directory, to make a real full disk (ENOSPC). Mounting needs
 * root (or CAP_SYS_ADMIN); where it is not permitted, {@link mountTmpfs} returns the reason, for `t.skip()`.
 * Every mount is unmounted by {@link unmountTmpfs} (call it in cleanup) and, as a safety net, at exit.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mounted = new Set<string>();
process.once('exit', () => {
  for (const d of mounted) unmountTmpfs(d);
});

/** Mounts a tmpfs of `bytes` on a new directory: `{dir}`, or `{skip: reason}` when mounting is not permitted. */
export function mountTmpfs(bytes: number, prefix = 'holdfast-full-'): { dir: string } | { skip: string } {
  if (process.platform !== 'linux') return { skip: 'tmpfs mounts need Linux' };
  if (process.getuid?.() !== 0)
    return { skip: 'mounting a tmpfs needs root (run the tests as root to cover a full disk)' };
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = String((e as { stderr?: unknown }).stderr ?? (e as Error).message).trim();
    return {
      skip: `cannot mount a tmpfs here (${stderr || 'EPERM'}); the full-disk test needs mount permission`,
    };
  }
  mounted.add(dir);
  return { dir };
}

/** Unmounts (lazily, so an open file cannot block it) and removes the directory. */
export function unmountTmpfs(dir: string): void {
  if (!mounted.delete(dir)) return;
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Free bytes on the file system holding `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Fills the file system holding `dir` so that about `leave` bytes stay free; returns the filler's path. */
export function fillDisk(dir: string, leave: number, name = 'filler.bin'): string {
  const path = join(dir, name);
  const size = Math.max(0, freeBytes(dir) - leave);
  writeFileSync(path, Buffer.alloc(size, 1));
  return path;
}

/** Removes a filler file made by {@link fillDisk}. */
export function freeDisk(path: string): void {
  unlinkSync(path);
}
