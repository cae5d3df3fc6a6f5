/**
 * A local directory as an object store: the embedded default for demos and tests, and a way to sync to an NFS
 * mount. Object `a/b/c` is the plain file `<root>/a/b/c` (the tree can be browsed, copied or rsync'ed as is).
 *
 * # State
 * Only the files under `root` plus an in-memory cache of content hashes keyed by (path, inode, size, mtime,
 * ctime), so a HEAD of an unchanged file does not read it again.
 *
 * # Invariants
 * - Writes are atomic and durable (DESIGN invariant 2), through the project's one primitive
 *   (util/durable-file.ts): temp file in the same directory → all bytes written → fsync → rename (or hard link,
 *   for a conditional create) → fsync the directory. Readers see the old bytes or the new ones; a failed write
 *   (ENOSPC: `ObjectStoreUnavailable` with `store_code` ENOSPC) removes its temporary file.
 *   Temporary files (`*.tmp-*`, see storage/atomic.ts) are never listed and never valid keys.
 * - ETag = SHA-256 (hex) of the bytes, so `sha256` is always known; a `sha256` given to `put` is checked
 *   before the object becomes visible (`ObjectChecksumMismatch` otherwise).
 * - Conditional create is atomic across processes (`link()` fails when the name exists). Compare-and-swap and
 *   plain writes of one key are serialized by a per-key lock inside this process (one writer per prefix is
 *   the sync layer's rule, DESIGN invariant 5).
 * - The root must exist (`ObjectStoreBucketNotFound` otherwise) unless the store is opened with `create`.
 *   Empty directories left by deletes are removed, up to the root.
 * - No key resolves outside the root: a key that would is `InvalidObjectKey`, whatever the caller checked.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import { fsyncDir, isTempName } from '../storage/atomic.ts';
import { DurableTempFile, isStorageWriteError } from '../util/durable-file.ts';
import {
  type GetOptions,
  type GetResult,
  type GetStreamResult,
  type ListOptions,
  type ListPage,
  listAll,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  validateKey,
  validatePrefix,
} from './object-store.ts';

export interface DirStoreOptions {
  /** The directory that plays the bucket (a prefix is just a subdirectory). */
  readonly root: string;
  /** Create `root` when missing (otherwise operations fail with `ObjectStoreBucketNotFound`). */
  readonly create?: boolean;
  /** Default page size of listings. */
  readonly pageSize?: number;
}

interface HashCacheEntry {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly sha256: string;
}

/** What identifies one version of a file for the hash cache (a `stat` result has it). */
type FileIdentity = Omit<HashCacheEntry, 'sha256'>;

type Info = ObjectInfo & { readonly etag: string };

const DEFAULT_PAGE_SIZE = 1000;
const DELETE_CONCURRENCY = 16;

export class DirStore implements ObjectStore {
  readonly description: string;
  readonly #root: string;
  readonly #create: boolean;
  readonly #pageSize: number;
  readonly #locks = new Map<string, Promise<void>>();
  readonly #hashes = new Map<string, HashCacheEntry>();
  #rootChecked = false;

  constructor(opts: DirStoreOptions) {
    if (typeof opts.root !== 'string' || opts.root === '')
      throw new ServiceError('InvalidObjectStoreConfig', 'a directory object store needs a root path', {
        field: 'root',
      });
    this.#root = resolve(opts.root);
    this.#create = opts.create === true;
    this.#pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    this.description = `dir:${this.#root}`;
  }

  async put(key: string, body: ObjectBody, opts: PutOptions = {}): Promise<PutResult> {
    const path = this.#path(key);
    await this.#checkRoot();
    opts.signal?.throwIfAborted();
    const dir = dirname(path);
    await this.#mkdirs(dir, key);
    let tmp: DurableTempFile;
    let sha256: string;
    try {
      tmp = await DurableTempFile.create(path);
      sha256 = await writeTemp(tmp, body, opts);
    } catch (e) {
      throw this.#wrap(e, 'PUT', key);
    }
    try {
      if (opts.sha256 !== undefined && opts.sha256.toLowerCase() !== sha256)
        throw new ServiceError(
          'ObjectChecksumMismatch',
          `PUT ${key} on ${this.description}: the body's SHA-256 is ${sha256}, not the ${opts.sha256} given; nothing was written`,
          { key, expected: opts.sha256, actual: sha256 },
        );
      await this.#withLock(path, async () => {
        if (opts.ifNoneMatch === '*') {
          try {
            await tmp.commit('link', { syncDir: false });
          } catch (e) {
            if (osCodeOf(e) === 'EEXIST')
              throw new ServiceError(
                'ObjectAlreadyExists',
                `PUT ${key} on ${this.description} with If-None-Match: * failed: PreconditionFailed: the object already exists`,
                { key, store_code: 'PreconditionFailed' },
              );
            throw e;
          }
        } else {
          if (opts.ifMatch !== undefined) {
            const current = await this.#headPath(path, key);
            if (current === null)
              throw new ServiceError(
                'ObjectNotFound',
                `PUT ${key} on ${this.description} with If-Match failed: NoSuchKey: the object does not exist`,
                { key, store_code: 'NoSuchKey' },
              );
            if (current.etag !== opts.ifMatch)
              throw new ServiceError(
                'ObjectEtagMismatch',
                `PUT ${key} on ${this.description} with If-Match: ${opts.ifMatch} failed: PreconditionFailed: the object changed (its ETag is now ${current.etag}); read it again and retry`,
                { key, expected: opts.ifMatch, actual: current.etag, store_code: 'PreconditionFailed' },
              );
          }
          await tmp.commit('rename', { syncDir: false });
        }
        await fsyncDir(dir);
        this.#remember(path, await stat(path), sha256);
      });
    } catch (e) {
      await tmp.discard();
      throw this.#wrap(e, 'PUT', key);
    }
    return { etag: sha256 };
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const path = this.#path(key);
    const fh = await this.#openForRead(path, key);
    try {
      const info = await this.#infoOf(fh, path, key);
      const { start, end } = rangeOf(opts, info.size, key, this.description);
      const bytes = Buffer.alloc(end - start);
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await fh.read(bytes, done, bytes.length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return { bytes: bytes.subarray(0, done), info };
    } catch (e) {
      throw this.#wrap(e, 'GET', key);
    } finally {
      await fh.close();
    }
  }

  async getStream(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    const path = this.#path(key);
    const fh = await this.#openForRead(path, key);
    try {
      const info = await this.#infoOf(fh, path, key);
      const { start, end } = rangeOf(opts, info.size, key, this.description);
      if (end <= start) {
        await fh.close();
        return { stream: Readable.from([]), info };
      }
      const stream = createReadStream('', {
        fd: fh,
        start,
        end: end - 1,
        autoClose: true,
        signal: opts.signal,
      });
      return { stream, info };
    } catch (e) {
      await fh.close().catch(() => {});
      throw this.#wrap(e, 'GET', key);
    }
  }

  async head(key: string): Promise<Info | null> {
    const path = this.#path(key);
    try {
      const found = await this.#headPath(path, key);
      if (found === null) await this.#checkRoot(true);
      return found;
    } catch (e) {
      throw this.#wrap(e, 'HEAD', key);
    }
  }

  async listPage(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    await this.#checkRoot(true);
    const pageSize = Math.max(1, opts.pageSize ?? this.#pageSize);
    const after =
      opts.continuationToken === undefined ? undefined : Buffer.from(opts.continuationToken, 'base64url');
    try {
      const keys = (await this.#keysUnder(prefix))
        .map((k) => Buffer.from(k, 'utf8'))
        .filter((k) => after === undefined || Buffer.compare(k, after) > 0)
        .sort(Buffer.compare);
      const page = keys.slice(0, pageSize);
      const objects: ObjectInfo[] = [];
      for (const k of page) {
        const key = k.toString('utf8');
        const st = await stat(join(this.#root, ...key.split('/'))).catch(() => null);
        if (st === null || !st.isFile()) continue; // deleted meanwhile
        const cached = this.#cached(join(this.#root, ...key.split('/')), st);
        objects.push({
          key,
          size: st.size,
          lastModified: st.mtime,
          ...(cached === undefined ? {} : { etag: cached, sha256: cached }),
        });
      }
      const last = page.at(-1);
      return keys.length > pageSize && last !== undefined
        ? { objects, nextToken: last.toString('base64url') }
        : { objects };
    } catch (e) {
      throw this.#wrap(e, 'LIST', prefix === '' ? '(all keys)' : `${prefix}*`);
    }
  }

  list(prefix: string, opts: Omit<ListOptions, 'continuationToken'> = {}): AsyncIterable<ObjectInfo> {
    return listAll(this, prefix, opts);
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    await this.#checkRoot();
    try {
      await this.#withLock(path, async () => {
        try {
          await unlink(path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw e;
        }
        this.#hashes.delete(path);
        await fsyncDir(dirname(path));
        await this.#pruneEmptyDirs(dirname(path));
      });
    } catch (e) {
      throw this.#wrap(e, 'DELETE', key);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const k of keys) validateKey(k);
    let next = 0;
    const worker = async () => {
      while (next < keys.length) await this.delete(keys[next++] as string);
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  async close(): Promise<void> {
    this.#hashes.clear();
  }

  // --- internals ---

  #path(key: string): string {
    validateKey(key);
    if (key.split('/').some(isTempName))
      throw new ServiceError(
        'InvalidObjectKey',
        `invalid object key ${JSON.stringify(key)}: segments containing ".tmp-" are reserved for temporary files`,
        { key },
      );
    const path = join(this.#root, ...key.split('/'));
    // defence in depth: whatever the key validation lets through, nothing resolves outside the root
    if (!path.startsWith(this.#root.endsWith(sep) ? this.#root : this.#root + sep))
      throw new ServiceError(
        'InvalidObjectKey',
        `invalid object key ${JSON.stringify(key)}: it resolves outside the store's directory`,
        { key },
      );
    return path;
  }

  async #checkRoot(force = false): Promise<void> {
    if (this.#rootChecked && !force) return;
    try {
      const st = await stat(this.#root);
      if (!st.isDirectory())
        throw new ServiceError('InvalidObjectStoreConfig', `${this.#root} is not a directory`, {
          field: 'root',
        });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw this.#wrap(e, 'OPEN', '');
      if (!this.#create)
        throw new ServiceError(
          'ObjectStoreBucketNotFound',
          `object store ${this.description} failed: NoSuchBucket: the directory does not exist; create it or fix the path`,
          { store: this.description, store_code: 'NoSuchBucket' },
        );
      await mkdir(this.#root, { recursive: true });
      await fsyncDir(dirname(this.#root));
    }
    this.#rootChecked = true;
  }

  async #mkdirs(dir: string, key: string): Promise<void> {
    try {
      const first = await mkdir(dir, { recursive: true });
      if (first === undefined) return;
      // fsync every directory that got a new entry: the parent of the first created one, down to dir's parent
      for (let d = dirname(first); ; ) {
        await fsyncDir(d);
        if (d === dirname(dir)) break;
        const rest = dir.slice(d.length + 1).split(sep)[0] as string;
        d = join(d, rest);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EEXIST')
        throw new ServiceError(
          'InvalidObjectKey',
          `PUT ${key} on ${this.description}: a parent of the key is an object itself (a local directory store cannot hold both "a" and "a/b")`,
          { key },
        );
      throw this.#wrap(e, 'PUT', key);
    }
  }

  async #openForRead(path: string, key: string): Promise<FileHandle> {
    try {
      return await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
        await this.#checkRoot(true);
        throw notFound(key, this.description);
      }
      throw this.#wrap(e, 'GET', key);
    }
  }

  async #infoOf(fh: FileHandle, path: string, key: string): Promise<Info> {
    const st = await fh.stat();
    let sha256 = this.#cached(path, st);
    if (sha256 === undefined) {
      const h = createHash('sha256');
      const buf = Buffer.alloc(1 << 20);
      for (let pos = 0; ; ) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      sha256 = h.digest('hex');
      this.#remember(path, st, sha256);
    }
    return { key, size: st.size, etag: sha256, sha256, lastModified: st.mtime };
  }

  async #headPath(path: string, key: string): Promise<Info | null> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
      throw e;
    }
    try {
      return await this.#infoOf(fh, path, key);
    } finally {
      await fh.close();
    }
  }

  /** Remembers `sha256` as the hash of the file at `path` while its `st` (inode, size, times) stays the same. */
  #remember(path: string, st: FileIdentity, sha256: string): void {
    this.#hashes.set(path, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, sha256 });
  }

  /** The remembered hash of the file at `path`, if its `st` is still the one it was remembered with. */
  #cached(path: string, st: FileIdentity): string | undefined {
    const c = this.#hashes.get(path);
    return c !== undefined &&
      c.ino === st.ino &&
      c.size === st.size &&
      c.mtimeMs === st.mtimeMs &&
      c.ctimeMs === st.ctimeMs
      ? c.sha256
      : undefined;
  }

  /** Every key that starts with `prefix`, walking only the directory the prefix points into. */
  async #keysUnder(prefix: string): Promise<string[]> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw e;
      }
      for (const ent of entries) {
        if (isTempName(ent.name)) continue;
        const key = keyPrefix + ent.name;
        if (ent.isDirectory()) {
          const sub = `${key}/`;
          if (sub.startsWith(prefix) || prefix.startsWith(sub)) await walk(join(dir, ent.name), sub);
        } else if (ent.isFile() && key.startsWith(prefix)) out.push(key);
      }
    };
    await walk(
      dirKey === '' ? this.#root : join(this.#root, ...dirKey.split('/')),
      dirKey === '' ? '' : `${dirKey}/`,
    );
    return out;
  }

  async #pruneEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d !== this.#root && d.startsWith(this.#root + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or raced with a put): stop
      }
      await fsyncDir(dirname(d)).catch(() => {});
    }
  }

  async #withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(path) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chained = prev.then(() => mine);
    this.#locks.set(path, chained);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#locks.get(path) === chained) this.#locks.delete(path);
    }
  }

  #wrap(e: unknown, op: string, key: string): ServiceError {
    // the durable-write primitive's StorageFull / StorageWriteFailed become this store's codes (an object store
    // throws only OBJECT_STORE_CODES), from the OS error they carry
    if (isStorageWriteError(e) && e.cause !== undefined) e = e.cause;
    if (isServiceError(e)) return e;
    const err = e as NodeJS.ErrnoException;
    const code = err?.code ?? 'Error';
    const what = `${op}${key === '' ? '' : ` ${key}`} on ${this.description}`;
    if (err?.name === 'AbortError')
      return new ServiceError(
        'ObjectStoreError',
        `${what} was aborted`,
        { key, store_code: 'AbortError' },
        { cause: e },
      );
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
      return new ServiceError(
        'ObjectStoreAuthFailed',
        `${what} failed with ${code}: ${err.message}; check the directory's permissions`,
        { key, store_code: code },
        { cause: e },
      );
    if (code === 'EIO' || code === 'ESTALE' || code === 'ETIMEDOUT' || code === 'ENOSPC' || code === 'EDQUOT')
      return new ServiceError(
        'ObjectStoreUnavailable',
        `${what} failed with ${code}: ${err.message}`,
        { key, store_code: code },
        { cause: e },
      );
    return new ServiceError(
      'ObjectStoreError',
      `${what} failed with ${code}: ${err?.message ?? String(e)}`,
      {
        key,
        store_code: code,
      },
      { cause: e },
    );
  }
}

function notFound(key: string, where: string): ServiceError {
  return new ServiceError(
    'ObjectNotFound',
    `GET ${key} on ${where} failed: NoSuchKey: the object does not exist`,
    {
      key,
      store_code: 'NoSuchKey',
    },
  );
}

function rangeOf(opts: GetOptions, size: number, key: string, where: string): { start: number; end: number } {
  if (opts.range === undefined) return { start: 0, end: size };
  const { offset, length } = opts.range;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset >= size || (length !== undefined && length < 1))
    throw new ServiceError(
      'ObjectStoreError',
      `GET ${key} on ${where}: range offset ${offset} length ${length ?? 'to end'} is not satisfiable for ${size} bytes`,
      { key, store_code: 'InvalidRange' },
    );
  return { start: offset, end: length === undefined ? size : Math.min(size, offset + length) };
}

/**
 * Writes `body` to the temporary file (all bytes, util/durable-file.ts), fsyncs it and returns the SHA-256
 * (hex) of the bytes. On failure the temporary file is removed.
 */
async function writeTemp(tmp: DurableTempFile, body: ObjectBody, opts: PutOptions): Promise<string> {
  const h = createHash('sha256');
  try {
    let sent = 0;
    const write = async (chunk: Uint8Array) => {
      opts.signal?.throwIfAborted();
      h.update(chunk);
      await tmp.write(chunk);
      sent += chunk.byteLength;
      opts.onProgress?.(sent);
    };
    if (typeof body === 'string') await write(Buffer.from(body, 'utf8'));
    else if (body instanceof Uint8Array) await write(body);
    else
      for await (const c of body as AsyncIterable<Uint8Array | string>)
        await write(typeof c === 'string' ? Buffer.from(c, 'utf8') : c);
    await tmp.finish();
  } catch (e) {
    await tmp.discard();
    throw e;
  }
  return h.digest('hex');
}

function osCodeOf(e: unknown): string | undefined {
  if (isStorageWriteError(e)) return e.details.os_code as string | undefined;
  return (e as NodeJS.ErrnoException | null)?.code;
}
