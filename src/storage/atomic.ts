/**
 * Durable file primitives (DESIGN invariant 2): a file is written to a temporary name in the same directory,
 * fsynced, renamed over its final name, then the directory is fsynced — so a reader sees the old content or the
 * new content, never a torn write, and the rename survives a power loss.
 *
 * Temporary files are named `<name>.tmp-<pid>-<random>`; {@link isTempName} recognises them so a garbage
 * collector can remove the ones a crash left behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

const TEMP_MARK = '.tmp-';

export function isTempName(name: string): boolean {
  return name.includes(TEMP_MARK);
}

/** A fresh temporary name next to `path` (recognised by {@link isTempName}). */
export function tempName(path: string): string {
  return `${path}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** fsyncs a directory so that entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Atomically replaces `path` with `data`: temp → write → fsync → rename → fsync dir. With `syncDir: false` the
 * final directory fsync is left to the caller (to batch it over many files written to one directory).
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: { syncDir?: boolean } = {},
): Promise<void> {
  const tmp = tempName(path);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  if (opts.syncDir !== false) await fsyncDir(dirname(path));
}

/** Reads and parses a JSON file (throws on a missing file or bad JSON). */
export async function readJson<T = unknown>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** Writes `value` as JSON (two-space indented, trailing newline) atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<number> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const bytes = Buffer.from(text, 'utf8');
  await writeFileAtomic(path, bytes);
  return bytes.length;
}

/** Creates `dir` (and parents) if missing; fsyncs the parent when it had to create it. */
export async function ensureDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created !== undefined) await fsyncDir(dirname(dir));
}

/** Names in `dir`, or [] when the directory does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

/** Removes `path`; a missing file is not an error. Returns whether something was removed. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** The final name a temporary file was going to get (`a.json.tmp-1-ab` → `a.json`). */
export function tempTarget(name: string): string {
  const i = name.indexOf(TEMP_MARK);
  return i < 0 ? name : basename(name.slice(0, i));
}
