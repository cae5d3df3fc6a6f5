/**
 * The one durable-write primitive of Holdfast (DESIGN invariant 2), used by every layer: the manager's registry
 * and per-pipeline config files, the checkpoint catalog, manifests and segments, the activation marker, and the
 * objects and owner records of a directory bucket.
 *
 * A write goes: temporary file in the same directory (created with the requested mode, `wx`) → write ALL bytes
 * (a short write is continued, and the file's size is checked against the byte count) → fsync → close → rename
 * (or hard link, for a create-only commit) over the final name → fsync the directory.
 *
 * # Invariants
 * - On any error the temporary file is removed and the previous file is left as it was; the error is a coded
 *   `ServiceError`: `StorageFull` (ENOSPC, EDQUOT) or `StorageWriteFailed` (anything else: EIO, EROFS, EACCES,
 *   ...), with `details.path` and `details.os_code`, and the OS error as `cause`. Only a failure of the final
 *   directory fsync can leave the new content visible while reporting an error (it may not survive a crash).
 * - A temporary file is created with its final mode (e.g. 0600 for files holding secrets), so secret bytes are
 *   never readable by others, not even while being written; a replaced file takes the temporary file's mode.
 * - Temporary names are `<name>.tmp-<pid>-<random>` ({@link isTempName}), so a garbage collector can remove the
 *   ones a crash left behind.
 * - State: none, except the fault-injection hooks ({@link DurableIo}) a caller may pass for tests.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, link, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isServiceError, ServiceError } from '../errors/service-error.ts';

/** Marks a temporary file name: `<name>.tmp-<pid>-<random>`. */
export const TEMP_MARK = '.tmp-';

/** Mode of files that hold secrets (sync keys, API keys): owner read/write only. */
export const SECRET_FILE_MODE = 0o600;
/** Mode of directories that hold secrets or pipeline state: owner only. */
export const PRIVATE_DIR_MODE = 0o700;

export function isTempName(name: string): boolean {
  return name.includes(TEMP_MARK);
}

/** A fresh temporary name next to `path` (recognised by {@link isTempName}). */
export function tempName(path: string): string {
  return `${path}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * The low-level calls a write makes, replaceable for tests (inject a short write, a failing fsync). Only the
 * synchronous variant and {@link DurableTempFile} use them; defaults are `node:fs`.
 */
export interface DurableIo {
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  write(fh: FileHandle, buf: Uint8Array, offset: number, length: number): Promise<number>;
  fsync(fh: FileHandle): Promise<void>;
}

const NODE_IO: DurableIo = {
  writeSync: (fd, buf, offset, length) => writeSync(fd, buf, offset, length),
  fsyncSync: (fd) => fsyncSync(fd),
  write: async (fh, buf, offset, length) => (await fh.write(buf, offset, length)).bytesWritten,
  fsync: (fh) => fh.sync(),
};

export interface DurableWriteOptions {
  /** Mode of the new file (default 0o666, less the umask). Use {@link SECRET_FILE_MODE} for secrets. */
  readonly mode?: number;
  /** fsync the directory after the rename (default true); false leaves it to the caller (batching). */
  readonly syncDir?: boolean;
  /** Fault injection for tests. */
  readonly io?: Partial<DurableIo>;
}

/** Whether `e` is a coded storage write error ({@link storageWriteError}). */
export function isStorageWriteError(e: unknown): e is ServiceError {
  return isServiceError(e, 'StorageFull') || isServiceError(e, 'StorageWriteFailed');
}

/**
 * Turns an OS error met while writing `path` into a coded error: `StorageFull` for ENOSPC/EDQUOT, else
 * `StorageWriteFailed`. A coded error passes through unchanged.
 */
export function storageWriteError(e: unknown, path: string, action = 'write'): ServiceError {
  if (isServiceError(e)) return e;
  const err = e as NodeJS.ErrnoException | null;
  const osCode = typeof err?.code === 'string' ? err.code : 'Error';
  const reason = err?.message ?? String(e);
  if (osCode === 'ENOSPC' || osCode === 'EDQUOT')
    return new ServiceError(
      'StorageFull',
      `cannot ${action} ${path}: the disk (or quota) holding it is full (${osCode}); free space on that volume and retry — nothing was changed`,
      { path, os_code: osCode },
      { cause: e },
    );
  const hint =
    osCode === 'EROFS'
      ? 'the volume is mounted read-only'
      : osCode === 'EACCES' || osCode === 'EPERM'
        ? 'check the owner and permissions of the directory'
        : osCode === 'EIO'
          ? 'the disk reported an I/O error; check its health'
          : 'check the volume';
  return new ServiceError(
    'StorageWriteFailed',
    `cannot ${action} ${path}: ${osCode} (${reason}); ${hint} — nothing was changed`,
    { path, os_code: osCode },
    { cause: e },
  );
}

function shortWrite(path: string, written: number, expected: number): ServiceError {
  return new ServiceError(
    'StorageWriteFailed',
    `cannot write ${path}: only ${written} of ${expected} bytes reached the file; check the volume — nothing was changed`,
    { path, os_code: 'EIO', written, expected },
  );
}

function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

// ---------------------------------------------------------------------------------------------------------
// synchronous (the manager: its registry and config files)

/** fsyncs a directory so that entries created, renamed or removed in it are durable. */
export function fsyncDirSync(dir: string, io: Partial<DurableIo> = {}): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (e) {
    throw storageWriteError(e, dir, 'sync directory');
  }
  try {
    (io.fsyncSync ?? NODE_IO.fsyncSync)(fd);
  } catch (e) {
    throw storageWriteError(e, dir, 'sync directory');
  } finally {
    closeSync(fd);
  }
}

/** Atomically and durably replaces `path` with `data` (see the module header). @throws StorageFull | StorageWriteFailed */
export function writeFileDurableSync(
  path: string,
  data: Uint8Array | string,
  opts: DurableWriteOptions = {},
): void {
  const io = { ...NODE_IO, ...opts.io };
  const bytes = bytesOf(data);
  const tmp = tempName(path);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'wx', opts.mode ?? 0o666);
    let off = 0;
    while (off < bytes.byteLength) {
      const n = io.writeSync(fd, bytes, off, bytes.byteLength - off);
      if (!(n > 0)) throw shortWrite(path, off, bytes.byteLength);
      off += n;
    }
    const size = fstatSync(fd).size;
    if (size !== bytes.byteLength) throw shortWrite(path, size, bytes.byteLength);
    io.fsyncSync(fd);
    const closing = fd;
    fd = null;
    closeSync(closing);
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {}
    }
    try {
      unlinkSync(tmp);
    } catch {}
    throw storageWriteError(e, path);
  }
  if (opts.syncDir !== false) fsyncDirSync(dirname(path), opts.io);
}

/**
 * Creates `dir` (and missing parents) with `mode` and, when it already existed with wider permissions, narrows
 * it. Returns true when it changed an existing directory's mode.
 */
export function ensurePrivateDirSync(dir: string, mode = PRIVATE_DIR_MODE): boolean {
  try {
    const created = mkdirSync(dir, { recursive: true, mode });
    if (created !== undefined) return false;
    return narrowModeSync(dir, mode);
  } catch (e) {
    throw storageWriteError(e, dir, 'create directory');
  }
}

/** Removes permission bits beyond `mode` from an existing file or directory; true when it changed something. */
export function narrowModeSync(path: string, mode: number): boolean {
  const cur = statSync(path).mode & 0o777;
  if ((cur & ~mode) === 0) return false;
  chmodSync(path, cur & mode);
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// asynchronous (the engine: checkpoints, markers, directory buckets)

/** fsyncs a directory so that entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(dir, 'r');
  } catch (e) {
    throw storageWriteError(e, dir, 'sync directory');
  }
  try {
    await fh.sync();
  } catch (e) {
    throw storageWriteError(e, dir, 'sync directory');
  } finally {
    await fh.close();
  }
}

/**
 * A temporary file that becomes `target` on {@link commit}: for writers that stream their bytes (a bucket
 * object) or decide late how to commit (create-only via a hard link). Every method throws coded errors and
 * removes the temporary file on failure; {@link discard} removes it explicitly.
 */
export class DurableTempFile {
  readonly target: string;
  readonly path: string;
  readonly #io: DurableIo;
  #fh: FileHandle | null;
  #written = 0;
  #done = false;

  private constructor(target: string, path: string, fh: FileHandle, io: DurableIo) {
    this.target = target;
    this.path = path;
    this.#fh = fh;
    this.#io = io;
  }

  /** Creates the temporary file next to `target` with `opts.mode`. */
  static async create(target: string, opts: DurableWriteOptions = {}): Promise<DurableTempFile> {
    const path = tempName(target);
    try {
      const fh = await open(path, 'wx', opts.mode ?? 0o666);
      return new DurableTempFile(target, path, fh, { ...NODE_IO, ...opts.io });
    } catch (e) {
      await unlink(path).catch(() => {});
      throw storageWriteError(e, target);
    }
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#written;
  }

  /** Appends all of `chunk` (continuing short writes). */
  async write(chunk: Uint8Array | string): Promise<void> {
    const bytes = bytesOf(chunk);
    const fh = this.#open();
    try {
      let off = 0;
      while (off < bytes.byteLength) {
        const n = await this.#io.write(fh, bytes, off, bytes.byteLength - off);
        if (!(n > 0)) throw shortWrite(this.target, this.#written + off, this.#written + bytes.byteLength);
        off += n;
      }
      this.#written += bytes.byteLength;
    } catch (e) {
      await this.discard();
      throw storageWriteError(e, this.target);
    }
  }

  /** Checks the size, fsyncs and closes the temporary file (idempotent). */
  async finish(): Promise<void> {
    if (this.#fh === null) {
      if (this.#done) return;
      throw new ServiceError('StorageWriteFailed', `${this.target}: the temporary file was discarded`, {
        path: this.target,
      });
    }
    const fh = this.#fh;
    try {
      const size = (await fh.stat()).size;
      if (size !== this.#written) throw shortWrite(this.target, size, this.#written);
      await this.#io.fsync(fh);
      this.#fh = null;
      await fh.close();
      this.#done = true;
    } catch (e) {
      await this.discard();
      throw storageWriteError(e, this.target);
    }
  }

  /**
   * Makes the file visible as `target`: `rename` replaces it, `link` creates it only if it does not exist (an
   * existing one fails with `StorageWriteFailed`, `details.os_code` EEXIST, and is left untouched). Then fsyncs
   * the directory unless `syncDir` is false.
   */
  async commit(how: 'rename' | 'link' = 'rename', opts: { syncDir?: boolean } = {}): Promise<void> {
    await this.finish();
    try {
      if (how === 'link') {
        await link(this.path, this.target);
        await unlink(this.path).catch(() => {});
      } else {
        await rename(this.path, this.target);
      }
    } catch (e) {
      await unlink(this.path).catch(() => {});
      throw storageWriteError(e, this.target);
    }
    if (opts.syncDir !== false) await fsyncDir(dirname(this.target));
  }

  /** Closes and removes the temporary file (never throws). */
  async discard(): Promise<void> {
    const fh = this.#fh;
    this.#fh = null;
    this.#done = false;
    if (fh !== null) await fh.close().catch(() => {});
    await unlink(this.path).catch(() => {});
  }

  #open(): FileHandle {
    if (this.#fh === null)
      throw new ServiceError('StorageWriteFailed', `${this.target}: the temporary file is already closed`, {
        path: this.target,
      });
    return this.#fh;
  }
}

/** Atomically and durably replaces `path` with `data` (see the module header). @throws StorageFull | StorageWriteFailed */
export async function writeFileDurable(
  path: string,
  data: Uint8Array | string,
  opts: DurableWriteOptions = {},
): Promise<void> {
  const tmp = await DurableTempFile.create(path, opts);
  await tmp.write(data);
  await tmp.commit('rename', opts);
}

/** Moves an already written and fsynced file `tmp` (same directory) over `path`, durably. */
export async function commitRenamed(
  tmp: string,
  path: string,
  opts: { syncDir?: boolean } = {},
): Promise<void> {
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw storageWriteError(e, path);
  }
  if (opts.syncDir !== false) await fsyncDir(dirname(path));
}
