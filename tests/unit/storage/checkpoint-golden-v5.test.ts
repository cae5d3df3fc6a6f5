/**
 * Pins segment format v5 (block-structured batch files of spilled trace batches, `src/zset/batch-file.ts`):
 * `tests/golden/checkpoint-v5/<sha256>` is one batch file (blocks of 64 arena bytes, stored raw, every value
 * kind, DECIMAL values through the object table). This build must open it (index, per-block checksums), read
 * exactly these rows, decode it as a segment, and writing the same batch the same way must give the same bytes.
 *
 * Regenerate (only when deliberately changing the format, which then needs a new version):
 *   UPDATE_GOLDEN=1 npx node --test tests/unit/storage/checkpoint-golden-v5.test.ts
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import { decodeSegment, sha256Hex } from '../../../src/storage/segment.ts';
import { disableSpill, enableSpill } from '../../../src/storage/spill.ts';
import { type FileBatch, openBatchFile, setSpillConfig } from '../../../src/zset/batch-file.ts';
import { buildBatch, spillBatch, traceLayout } from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
import { CODECS, exactRows, withTempDir } from './support.ts';

const GOLDEN = resolve(import.meta.dirname, '../../golden/checkpoint-v5');
const LAYOUT = traceLayout(4, [0]);

/** Never edit: what the committed file holds. */
function rows(): Row[] {
  return [
    [1, 'alice', true, null],
    [2, '', false, 0.5],
    [3, 'zoë 日本 🦀', null, -0],
    [-1.5, '\ud800 lone', 2n ** 63n, Number.NaN],
    [2 ** 53, 'a\0b', -(2n ** 63n) - 1n, Number.NEGATIVE_INFINITY],
    [new Decimal(150n, 2), 'x'.repeat(200), new Decimal(-5n, 2), 2n ** 130n],
    ['k', null, new Decimal(10n ** 30n + 1n, 30), 0n],
  ];
}
const WEIGHTS = [1, 2, -1, 1, 3, 1, -2];

after(() => disableSpill());

function write(dir: string): FileBatch {
  const c = enableSpill(dir, { minStorageBytes: 0, cacheMib: 1, compression: 'none' }, CODECS);
  const cfg = { ...c, blockBytes: 64 };
  setSpillConfig(cfg);
  return spillBatch(buildBatch(LAYOUT, rows(), WEIGHTS), cfg);
}

test('golden v5 batch file: opens, reads the pinned rows, decodes as a segment, and is written byte for byte', async () => {
  await withTempDir(async (dir) => {
    const fresh = write(join(dir, 'spill'));
    if (process.env.UPDATE_GOLDEN === '1') {
      rmSync(GOLDEN, { recursive: true, force: true });
      mkdirSync(GOLDEN, { recursive: true });
      copyFileSync(fresh.path as string, join(GOLDEN, fresh.hash));
    }
    const names = readdirSync(GOLDEN);
    assert.equal(names.length, 1);
    const hash = names[0] as string;
    const bytes = readFileSync(join(GOLDEN, hash));
    assert.equal(sha256Hex(bytes), hash, 'the golden file is intact');
    assert.equal(bytes[4], 5, 'format version 5');
    const opened = openBatchFile(join(GOLDEN, hash), hash);
    assert.ok(opened.blockCount >= 3, `several blocks (${opened.blockCount})`);
    const want = buildBatch(LAYOUT, rows(), WEIGHTS);
    assert.deepEqual(exactRows({ rows: opened.rows, weights: opened.weights }), exactRows(want));
    assert.deepEqual(exactRows(decodeSegment(bytes, CODECS, { hash, rows: want.length })), exactRows(want));
    assert.equal(fresh.hash, hash, 'this build writes the same bytes');
  });
});
