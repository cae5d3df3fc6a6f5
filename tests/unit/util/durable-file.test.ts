/**
 * The durable-write primitive (src/util/durable-file.ts) with injected faults — short writes, a write that makes
 * no progress, ENOSPC in the middle, a failing fsync — and a real full disk (a small tmpfs, when mounting is
 * permitted): the file ends up whole or the old one stays, the temporary file is gone, errors are coded.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  fstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { ERROR_CATALOG } from '../../../src/types/error-codes.ts';
import {
  DurableTempFile,
  ensurePrivateDirSync,
  storageWriteError,
  writeFileDurable,
  writeFileDurableSync,
} from '../../../src/util/durable-file.ts';
import { fillDisk, freeDisk, mountTmpfs, unmountTmpfs } from '../../helpers/tmpfs.ts';
import { tempDir } from '../../kit/index.ts';

const tmp = (): string => tempDir('holdfast-durable-');
const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });
const OLD = 'old content, must survive';
const NEW = 'x'.repeat(10_000);

function withOld(): { dir: string; path: string } {
  const dir = tmp();
  const path = join(dir, 'f.json');
  writeFileSync(path, OLD);
  return { dir, path };
}

test('sync: short writes are continued until every byte is written', () => {
  const { dir, path } = withOld();
  let calls = 0;
  writeFileDurableSync(path, NEW, {
    io: {
      writeSync: (fd, buf, off, len) => {
        calls++;
        return writeSync(fd, buf, off, Math.min(len, 777)); // at most 777 bytes per call
      },
    },
  });
  assert.ok(calls > 10, `expected many short writes, got ${calls}`);
  assert.equal(readFileSync(path, 'utf8'), NEW);
  assert.deepEqual(readdirSync(dir), ['f.json']);
});

test('sync: a write that makes no progress, ENOSPC midway, EIO from fsync: old file intact, no temp, coded', () => {
  const cases: Array<[string, Parameters<typeof writeFileDurableSync>[2], string]> = [
    ['no progress', { io: { writeSync: () => 0 } }, 'StorageWriteFailed'],
    [
      'ENOSPC after a partial write',
      {
        io: {
          writeSync: (fd, buf, off, len) => {
            if (off > 0) throw errno('ENOSPC');
            return writeSync(fd, buf, off, Math.min(len, 100));
          },
        },
      },
      'StorageFull',
    ],
    [
      'EDQUOT',
      {
        io: {
          writeSync: () => {
            throw errno('EDQUOT');
          },
        },
      },
      'StorageFull',
    ],
    [
      'fsync EIO',
      {
        io: {
          fsyncSync: () => {
            throw errno('EIO');
          },
        },
      },
      'StorageWriteFailed',
    ],
  ];
  for (const [what, opts, code] of cases) {
    const { dir, path } = withOld();
    assert.throws(
      () => writeFileDurableSync(path, NEW, opts),
      (e: unknown) => {
        assert.ok(isServiceError(e), `${what}: a coded error`);
        assert.equal(e.errorCode, code, what);
        assert.equal(e.details.path, path);
        assert.doesNotMatch(e.message, /\n\s+at /, 'no stack trace in the message');
        return true;
      },
    );
    assert.equal(readFileSync(path, 'utf8'), OLD, `${what}: the previous file is intact`);
    assert.deepEqual(readdirSync(dir), ['f.json'], `${what}: the temporary file is removed`);
  }
});

test('sync: a secret file is 0600 from its first byte, also when it replaces a 0644 file', () => {
  const { path } = withOld();
  chmodSync(path, 0o644);
  let tempMode = -1;
  writeFileDurableSync(path, NEW, {
    mode: 0o600,
    io: {
      writeSync: (fd, buf, off, len) => {
        tempMode = fstatSync(fd).mode & 0o777;
        return writeSync(fd, buf, off, len);
      },
    },
  });
  assert.equal(tempMode, 0o600, 'the temporary file is created 0600');
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test('async: short writes continued; ENOSPC / failing fsync leave the old file and no temp', async () => {
  {
    const { dir, path } = withOld();
    await writeFileDurable(path, NEW, {
      io: { write: async (fh, buf, off, len) => (await fh.write(buf, off, Math.min(len, 500))).bytesWritten },
    });
    assert.equal(readFileSync(path, 'utf8'), NEW);
    assert.deepEqual(readdirSync(dir), ['f.json']);
  }
  for (const [io, code] of [
    [{ write: async () => Promise.reject(errno('ENOSPC')) }, 'StorageFull'],
    [{ write: async () => 0 }, 'StorageWriteFailed'],
    [{ fsync: async () => Promise.reject(errno('EIO')) }, 'StorageWriteFailed'],
  ] as const) {
    const { dir, path } = withOld();
    await assert.rejects(writeFileDurable(path, NEW, { io }), (e: unknown) => isServiceError(e, code));
    assert.equal(readFileSync(path, 'utf8'), OLD);
    assert.deepEqual(readdirSync(dir), ['f.json']);
  }
});

test('DurableTempFile: link commit refuses an existing target; discard removes the temp', async () => {
  const { dir, path } = withOld();
  const t = await DurableTempFile.create(path);
  await t.write('a');
  await t.write(new Uint8Array([98]));
  await assert.rejects(t.commit('link'), (e: unknown) => isServiceError(e) && e.details.os_code === 'EEXIST');
  assert.equal(readFileSync(path, 'utf8'), OLD);
  assert.deepEqual(readdirSync(dir), ['f.json']);
  const u = await DurableTempFile.create(join(dir, 'g'));
  await u.write('gg');
  await u.commit('link');
  assert.equal(readFileSync(join(dir, 'g'), 'utf8'), 'gg');
  const v = await DurableTempFile.create(join(dir, 'h'));
  await v.discard();
  assert.deepEqual(readdirSync(dir).sort(), ['f.json', 'g']);
});

test('error mapping: ENOSPC/EDQUOT are StorageFull (507, retryable); EROFS/EACCES/EIO StorageWriteFailed', () => {
  assert.equal(ERROR_CATALOG.StorageFull.status, 507);
  assert.equal(ERROR_CATALOG.StorageFull.retryable, true);
  for (const c of ['ENOSPC', 'EDQUOT'])
    assert.equal(storageWriteError(errno(c), '/x').errorCode, 'StorageFull');
  for (const c of ['EROFS', 'EACCES', 'EIO']) {
    const e = storageWriteError(errno(c), '/x');
    assert.equal(e.errorCode, 'StorageWriteFailed');
    assert.equal(e.details.os_code, c);
    assert.equal(e.httpStatus, 500);
  }
});

test('ensurePrivateDirSync creates 0700 and narrows a wider existing directory', () => {
  const d = join(tmp(), 'data');
  assert.equal(ensurePrivateDirSync(d), false);
  assert.equal(statSync(d).mode & 0o777, 0o700);
  chmodSync(d, 0o755);
  assert.equal(ensurePrivateDirSync(d), true);
  assert.equal(statSync(d).mode & 0o777, 0o700);
  mkdirSync(join(d, 'x'), { mode: 0o700 });
  assert.equal(ensurePrivateDirSync(join(d, 'x')), false);
});

test('a real full disk (tmpfs): StorageFull, the old file intact, no temp; after freeing space it works', async (t) => {
  const m = mountTmpfs(256 * 1024);
  if ('skip' in m) {
    t.skip(m.skip);
    return;
  }
  try {
    const path = join(m.dir, 'registry.json');
    writeFileSync(path, OLD);
    const filler = fillDisk(m.dir, 2048);
    const big = 'y'.repeat(64 * 1024);
    assert.throws(
      () => writeFileDurableSync(path, big),
      (e: unknown) => isServiceError(e, 'StorageFull'),
    );
    await assert.rejects(writeFileDurable(path, big), (e: unknown) => isServiceError(e, 'StorageFull'));
    assert.equal(readFileSync(path, 'utf8'), OLD);
    assert.deepEqual(readdirSync(m.dir).sort(), ['filler.bin', 'registry.json']);
    freeDisk(filler);
    writeFileDurableSync(path, big);
    assert.equal(readFileSync(path, 'utf8'), big);
  } finally {
    unmountTmpfs(m.dir);
  }
});
