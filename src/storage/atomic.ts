/**
 * Durable file helpers of the storage layer (DESIGN invariant 2). Writes go through the project's one
 * durable-write primitive, `util/durable-file.ts`: temp file in the same directory → write all bytes → fsync →
 * rename → fsync the directory, so a reader sees the old content or the new content, never a torn write, and a
 * failed write (full disk: `StorageFull`; other I/O errors: `StorageWriteFailed`) leaves the old file intact.
 *
 * Temporary files are named `<name>.tmp-<pid>-<random>`; {@link isTempName} recognises them so a garbage
 * collector can remove the ones a crash left behind.
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  commitRenamed,
  type DurableWriteOptions,
  fsyncDir,
  isTempName,
  storageWriteError,
  TEMP_MARK,
  tempName,
  writeFileDurable,
} from '../util/durable-file.ts';

export { commitRenamed, fsyncDir, isTempName, tempName };

/**
 * Atomically replaces `path` with `data`: temp → write → fsync → rename → fsync dir. With `syncDir: false` the
 * final directory fsync is left to the caller (to batch it over many files written to one directory).
 * @throws ServiceError StorageFull | StorageWriteFailed (the previous file is intact)
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: DurableWriteOptions = {},
): Promise<void> {
  await writeFileDurable(path, data, opts);
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
  let created: string | undefined;
  try {
    created = await mkdir(dir, { recursive: true });
  } catch (e) {
    throw storageWriteError(e, dir, 'create directory');
  }
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
