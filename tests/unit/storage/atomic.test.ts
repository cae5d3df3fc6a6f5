import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ensureDir,
  isTempName,
  listDir,
  readJson,
  removeFile,
  tempTarget,
  writeFileAtomic,
  writeJsonAtomic,
} from '../../../src/storage/atomic.ts';
import { isUuid, uuidV7, uuidV7Time } from '../../../src/util/uuid-v7.ts';
import { withTempDir } from './support.ts';

test('writeFileAtomic replaces content and leaves no temporary file', async () => {
  await withTempDir(async (dir) => {
    const p = join(dir, 'a.json');
    await writeFileAtomic(p, 'one');
    await writeFileAtomic(p, new Uint8Array([116, 119, 111]));
    assert.equal(await readFile(p, 'utf8'), 'two');
    assert.deepEqual(await readdir(dir), ['a.json']);
  });
});

test('writeJsonAtomic / readJson / dir helpers', async () => {
  await withTempDir(async (dir) => {
    const sub = join(dir, 'x', 'y');
    await ensureDir(sub);
    await ensureDir(sub);
    const n = await writeJsonAtomic(join(sub, 'v.json'), { a: [1, 'b'] });
    assert.equal(n, (await readFile(join(sub, 'v.json'))).length);
    assert.deepEqual(await readJson(join(sub, 'v.json')), { a: [1, 'b'] });
    assert.deepEqual(await listDir(join(dir, 'missing')), []);
    assert.equal(await removeFile(join(sub, 'v.json')), true);
    assert.equal(await removeFile(join(sub, 'v.json')), false);
    await writeFile(join(sub, 'bad.json'), '{"a":');
    await assert.rejects(readJson(join(sub, 'bad.json')), SyntaxError);
  });
});

test('temporary names are recognisable', () => {
  assert.ok(isTempName('checkpoints.json.tmp-12-abcdef'));
  assert.ok(!isTempName('checkpoints.json'));
  assert.equal(tempTarget('x.json.tmp-1-ff'), 'x.json');
});

test('uuid v7: version, variant, time, and strictly increasing within a millisecond', () => {
  const now = Date.UTC(2030, 0, 1);
  const ids = Array.from({ length: 10_000 }, () => uuidV7(now));
  for (const id of ids) {
    assert.ok(isUuid(id), id);
    assert.equal(id[14], '7');
    assert.ok('89ab'.includes(id[19] as string));
  }
  for (let i = 1; i < ids.length; i++)
    assert.ok((ids[i - 1] as string) < (ids[i] as string), `order at ${i}`);
  assert.ok(uuidV7Time(ids[0] as string) >= now);
  // the clock going backwards does not break the order
  const later = uuidV7(now - 5000);
  assert.ok((ids.at(-1) as string) < later);
  assert.equal(new Set(ids).size, ids.length);
});
