import assert from 'node:assert/strict';
import { cp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { CircuitSnapshot } from '../../../src/circuit/circuit.ts';
import { Decimal } from '../../../src/sql/values/decimal.ts';
import {
  type CheckpointRead,
  CheckpointStore,
  manifestFiles,
} from '../../../src/storage/checkpoint-store.ts';
import { encodeSegment } from '../../../src/storage/segment.ts';
import { isStorageError } from '../../../src/storage/storage-error.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { buildBatch, TraceParts, traceLayout } from '../../../src/zset/trace.ts';
import type { Row } from '../../../src/zset/value.ts';
import {
  allKindsBatch,
  assertSameBatch,
  CapturingLogger,
  CODECS,
  exactRows,
  withTempDir,
} from './support.ts';

const META = { fingerprint: 'fp-1', processed_records: 10 };

function snap(steps: number, operators: Record<string, Record<string, Batch>>): CircuitSnapshot {
  return { steps, operators };
}

function rows(from: number, to: number, w = 1): Batch {
  const r: Row[] = [];
  for (let i = from; i < to; i++) r.push([i, `row-${i}`, new Decimal(BigInt(i), 2)]);
  return { rows: r, weights: r.map(() => w) };
}

/** Sum of the parts of every state (as sorted exact rows with summed weights). */
function summed(read: CheckpointRead): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const s of [read.snapshot, ...read.deltas]) {
    assert.equal(s.steps, read.manifest.steps);
    for (const [op, states] of Object.entries(s.operators))
      for (const [name, b] of Object.entries(states)) {
        const acc = ((out[op] ??= {})[name] ??= []);
        for (const [r, w] of exactRows(b)) acc.push(`${r.join('|')}#${w}`);
      }
  }
  for (const states of Object.values(out))
    for (const [name, list] of Object.entries(states)) {
      const m = new Map<string, number>();
      for (const x of list) {
        const i = x.lastIndexOf('#');
        const k = x.slice(0, i);
        m.set(k, (m.get(k) ?? 0) + Number(x.slice(i + 1)));
      }
      states[name] = [...m]
        .filter(([, w]) => w !== 0)
        .map(([k, w]) => `${k}#${w}`)
        .sort();
    }
  return out;
}

function expectState(ops: Record<string, Record<string, Batch>>): Record<string, Record<string, string[]>> {
  return summed({
    entry: {} as never,
    manifest: { steps: 0 } as never,
    snapshot: { steps: 0, operators: ops },
    deltas: [],
  });
}

const store = (dir: string, log = new CapturingLogger(), maxChain?: number) =>
  new CheckpointStore(dir, { codecs: CODECS, logger: log, ...(maxChain === undefined ? {} : { maxChain }) });

describe('CheckpointStore: full checkpoints', () => {
  test('write → list/latest/read round-trips every value kind; layout on disk', async () => {
    await withTempDir(async (dir) => {
      const s = store(dir);
      const b = allKindsBatch();
      const r = await s.write(
        snap(5, {
          'n1:join': { left: b, right: rows(0, 3) },
          'n2:distinct': { seen: { rows: [], weights: [] } },
          'n3:x': {},
        }),
        {
          ...META,
          identifier: 'first',
          inputs: { t: { offset: 3 } },
          outputs: { v: { sent: 7 } },
          transaction_id: 4,
          extra: { k: 1 },
        },
      );
      assert.equal(r.filesWritten, 2);
      assert.equal(r.entry.steps, 5);
      assert.equal(r.entry.identifier, 'first');
      assert.equal(r.entry.parent, null);
      assert.deepEqual((await readdir(dir)).sort(), ['checkpoints', 'checkpoints.json', 'files']);
      assert.deepEqual(await readdir(join(dir, 'checkpoints')), [`${r.entry.uuid}.json`]);
      assert.equal((await readdir(join(dir, 'files'))).length, 2);
      const catalog = JSON.parse(await readFile(join(dir, 'checkpoints.json'), 'utf8'));
      assert.deepEqual(catalog, [r.entry]);
      let total = (await stat(s.manifestPath(r.entry.uuid))).size;
      for (const f of manifestFiles(r.manifest)) total += (await stat(s.filePath(f.hash))).size;
      assert.equal(r.entry.size, total);

      const m = r.manifest;
      assert.equal(m.format_version, 1);
      assert.deepEqual(m.operators['n2:distinct'], { seen: [] }, 'empty batch: no segment');
      assert.deepEqual(m.operators['n3:x'], {});
      assert.deepEqual(m.inputs, { t: { offset: 3 } });
      assert.equal(m.transaction_id, 4);
      assert.deepEqual(m.extra, { k: 1 });

      assert.deepEqual(await s.list(), [r.entry]);
      assert.deepEqual(await s.latest(), r.entry);
      const read = await new CheckpointStore(dir, { codecs: CODECS }).read(r.entry.uuid);
      assert.deepEqual(read.deltas, []);
      assertSameBatch(read.snapshot.operators['n1:join']?.left as Batch, b);
      assertSameBatch(read.snapshot.operators['n1:join']?.right as Batch, rows(0, 3));
      assert.deepEqual(read.snapshot.operators['n2:distinct'], { seen: { rows: [], weights: [] } });
      assert.deepEqual(read.snapshot.operators['n3:x'], {});
      assert.equal(read.snapshot.steps, 5);
    });
  });

  test('consecutive full checkpoints share unchanged segment files', async () => {
    await withTempDir(async (dir) => {
      const s = store(dir);
      const big = rows(0, 5000);
      const a = await s.write(snap(1, { a: { s: big }, b: { s: rows(0, 10) } }), META);
      const b = await s.write(snap(2, { a: { s: big }, b: { s: rows(0, 11) } }), META);
      assert.equal(b.filesReused, 1);
      assert.equal(b.filesWritten, 1);
      assert.ok(b.bytesWritten < a.bytesWritten / 5, `${b.bytesWritten} vs ${a.bytesWritten}`);
      assert.equal(b.entry.parent, a.entry.uuid);
      assert.equal((await readdir(join(dir, 'files'))).length, 3);
    });
  });

  test('write encodes in the background, yielding between segments; the content is the snapshot given', async () => {
    await withTempDir(async (dir) => {
      const s = store(dir);
      // contract: the caller hands over fresh batches (operators' snapshot()/takeDelta() build new arrays) and
      // does not touch them again; the event loop keeps running while they are encoded
      const ticks: number[] = [];
      const timer = setInterval(() => ticks.push(1), 0);
      const p = s.write(
        snap(1, { a: { s: rows(0, 3000), t: rows(3000, 6000) }, b: { s: rows(6000, 9000) } }),
        META,
      );
      const r = await p;
      clearInterval(timer);
      assert.ok(ticks.length > 0, 'the event loop ran during the write');
      const read = await s.read(r.entry.uuid);
      assertSameBatch(read.snapshot.operators.a?.s as Batch, rows(0, 3000));
      assertSameBatch(read.snapshot.operators.b?.s as Batch, rows(6000, 9000));
    });
  });

  test('unknown checkpoint and bad ids', async () => {
    await withTempDir(async (dir) => {
      const s = store(dir);
      assert.equal(await s.latest(), null);
      assert.equal(await s.readLatest(), null);
      assert.deepEqual(await s.list(), []);
      const nf = (e: unknown) => isStorageError(e, 'CheckpointNotFound');
      await assert.rejects(s.read('0190a000-0000-7000-8000-000000000000'), nf);
      await assert.rejects(s.read('../../etc/passwd'), nf);
    });
  });
});

describe('CheckpointStore: incremental checkpoints', () => {
  test('full, then deltas: lists grow, only new segments are written, read sums to the state', async () => {
    await withTempDir(async (dir) => {
      const s = store(dir);
      const base = await s.write(
        snap(1, { j: { l: rows(0, 2000), r: rows(0, 100) }, d: { s: rows(0, 50) } }),
        META,
      );
      const d1 = await s.write(
        snap(2, { j: { l: rows(2000, 2010), r: { rows: [], weights: [] } }, d: { s: rows(0, 1, -1) } }),
        META,
        {
          delta: true,
        },
      );
      assert.equal(d1.entry.parent, base.entry.uuid);
      assert.equal(d1.filesWritten, 2);
      assert.equal(d1.filesReused, 0);
      // bytes ∝ change: 11 changed rows vs 2150 rows (segments only; the manifest is ~1 KiB either way)
      const segBytes = async (r: typeof d1) =>
        r.bytesWritten - (await stat(s.manifestPath(r.entry.uuid))).size;
      const ratio = (await segBytes(d1)) / (await segBytes(base));
      assert.ok(ratio < 0.05, `delta segments are ${ratio} of the base's`);
      const d2 = await s.write(snap(3, { j: { l: rows(2010, 2020) }, n: { x: rows(0, 1) } }), META, {
        delta: true,
      });
      assert.deepEqual(
        Object.fromEntries(
          Object.entries(d2.manifest.operators).map(([k, v]) => [
            k,
            Object.fromEntries(Object.entries(v).map(([n, l]) => [n, l.length])),
          ]),
        ),
        { j: { l: 3, r: 1 }, d: { s: 2 }, n: { x: 1 } },
      );
      // consecutive manifests share the base files
      const baseFiles = new Set(manifestFiles(base.manifest).map((f) => f.hash));
      for (const f of manifestFiles(base.manifest))
        assert.ok(manifestFiles(d2.manifest).some((g) => g.hash === f.hash));
      assert.equal(baseFiles.size, 3);

      const read = await store(dir).readLatest();
      assert.ok(read);
      assert.equal(read.manifest.uuid, d2.entry.uuid);
      assert.equal(read.deltas.length, 2);
      assert.deepEqual(
        summed(read),
        expectState({
          j: { l: rows(0, 2020), r: rows(0, 100) },
          d: { s: rows(1, 50) },
          n: { x: rows(0, 1) },
        }),
      );
    });
  });

  test('bytes written by a delta depend on the change, not on the state size', async () => {
    await withTempDir(async (dir) => {
      const deltaBytes = async (sub: string, stateRows: number) => {
        const s = store(join(dir, sub));
        await s.write(snap(1, { a: { s: rows(0, stateRows) } }), META);
        const d = await s.write(snap(2, { a: { s: rows(stateRows, stateRows + 20) } }), META, {
          delta: true,
        });
        return { d, base: (await s.list())[0]?.size as number };
      };
      const small = await deltaBytes('small', 1_000);
      const large = await deltaBytes('large', 50_000);
      assert.ok(large.base > 20 * small.base);
      assert.ok(
        Math.abs(large.d.bytesWritten - small.d.bytesWritten) < 200,
        `${large.d.bytesWritten} vs ${small.d.bytesWritten}`,
      );
    });
  });

  test('a delta needs a parent: the last checkpoint written or read, or an explicit one', async () => {
    await withTempDir(async (dir) => {
      const nf = (e: unknown) => isStorageError(e, 'CheckpointNotFound');
      await assert.rejects(store(dir).write(snap(1, { a: { s: rows(0, 1) } }), META, { delta: true }), nf);
      const first = await store(dir).write(snap(1, { a: { s: rows(0, 1) } }), META);
      const fresh = store(dir);
      await assert.rejects(fresh.write(snap(2, { a: { s: rows(1, 2) } }), META, { delta: true }), nf);
      await fresh.readLatest();
      assert.equal(fresh.lastCheckpoint, first.entry.uuid);
      const d = await fresh.write(snap(2, { a: { s: rows(1, 2) } }), META, { delta: true });
      assert.equal(d.entry.parent, first.entry.uuid);
      const e = await store(dir).write(snap(3, { a: { s: rows(2, 3) } }), META, {
        delta: true,
        parent: first.entry.uuid,
      });
      assert.equal(e.manifest.operators.a?.s?.length, 2, 'extends the explicit parent, not the newest');
      await assert.rejects(
        store(dir).write(snap(0, { a: { s: rows(2, 3) } }), META, { delta: true, parent: first.entry.uuid }),
        nf,
      );
    });
  });

  test('compaction: needsCompaction at maxChain segments or when deltas outweigh the base; a full write resets', async () => {
    await withTempDir(async (dir) => {
      const s = store(dir, new CapturingLogger(), 3);
      assert.equal(await s.needsCompaction(), true, 'nothing written yet');
      await s.write(snap(1, { a: { s: rows(0, 1000) } }), META);
      assert.equal(await s.needsCompaction(), false);
      await s.write(snap(2, { a: { s: rows(1000, 1001) } }), META, { delta: true });
      assert.equal(await s.needsCompaction(), false);
      const third = await s.write(snap(3, { a: { s: rows(1001, 1002) } }), META, { delta: true });
      assert.equal(third.manifest.operators.a?.s?.length, 3);
      assert.equal(await s.needsCompaction(), true, 'chain reached maxChain');
      assert.equal(await s.needsCompaction(third.entry), true);
      const full = await s.write(snap(3, { a: { s: rows(0, 1002) } }), META);
      assert.equal(full.manifest.operators.a?.s?.length, 1);
      assert.equal(await s.needsCompaction(), false);
      // bytes rule
      await s.write(snap(4, { a: { s: rows(5000, 9000) } }), META, { delta: true });
      assert.equal(await s.needsCompaction(), true, 'delta bytes exceed base bytes');
    });
  });

  test("compaction: a full checkpoint's several segments of a trace-backed state are its base, not deltas", async () => {
    await withTempDir(async (dir) => {
      const s = store(dir, new CapturingLogger(), 3);
      // a trace's sealed batches, the later ones larger than the first (a merge's inputs listed in its place)
      const layout = traceLayout(2, [0]);
      const batch = (from: number, to: number) => {
        const b = rows(from, to);
        return buildBatch(layout, b.rows, b.weights);
      };
      const parts = new TraceParts([batch(0, 100), batch(100, 5000), batch(5000, 9000)]);
      const full = await s.write(snap(1, { a: { s: parts } }), META);
      assert.equal(full.manifest.operators.a?.s?.length, 3);
      assert.equal(await s.needsCompaction(), false, 'three segments, no delta: no compaction');
      await s.write(snap(2, { a: { s: rows(9000, 9001) } }), META, { delta: true });
      assert.equal(await s.needsCompaction(), false, 'one delta');
      const d2 = await s.write(snap(3, { a: { s: rows(9001, 9002) } }), META, { delta: true });
      assert.equal(d2.manifest.operators.a?.s?.length, 5);
      assert.equal(await s.needsCompaction(), true, 'two deltas: the chain reached maxChain (3)');
      // a store that only read these checkpoints does not know their bases: the first segment is taken as one
      const reader = store(dir, new CapturingLogger(), 3);
      await reader.readLatest();
      assert.equal(await reader.needsCompaction(full.entry), true);
      // bytes: deltas outweighing the whole base
      const s2 = store(join(dir, 'two'), new CapturingLogger(), 8);
      await s2.write(snap(1, { a: { s: new TraceParts([batch(0, 100), batch(100, 5000)]) } }), META);
      await s2.write(snap(2, { a: { s: rows(20_000, 22_000) } }), META, { delta: true });
      assert.equal(await s2.needsCompaction(), false, 'deltas lighter than the base (both of its segments)');
      await s2.write(snap(3, { a: { s: rows(30_000, 34_000) } }), META, { delta: true });
      assert.equal(await s2.needsCompaction(), true, 'deltas heavier than the base');
    });
  });
});

describe('CheckpointStore: gc', () => {
  test('keeps the newest N and pinned ones; deletes manifests, then unreferenced files and temporaries', async () => {
    await withTempDir(async (dir) => {
      const s = store(dir);
      const c1 = await s.write(snap(1, { a: { s: rows(0, 10) }, b: { s: rows(0, 5) } }), META);
      const c2 = await s.write(snap(2, { a: { s: rows(10, 11) } }), META, { delta: true });
      const c3 = await s.write(snap(3, { a: { s: rows(0, 11) }, b: { s: rows(0, 5) } }), META);
      const c4 = await s.write(snap(4, { a: { s: rows(11, 12) } }), META, { delta: true });
      await writeFile(join(dir, 'files', `${'ab'.repeat(32)}`), 'orphan from a crash');
      await writeFile(join(dir, 'files', `${'cd'.repeat(32)}.tmp-1-aa`), 'torn');
      await writeFile(join(dir, 'checkpoints', `${c4.entry.uuid}.json.tmp-1-bb`), '{');
      await writeFile(join(dir, 'files', 'README'), 'not ours');

      const g = await s.gc({ keep: 2, pinned: new Set([c1.entry.uuid]) });
      assert.deepEqual(g.removedCheckpoints, [c2.entry.uuid]);
      assert.deepEqual(
        (await s.list()).map((e) => e.uuid),
        [c1.entry.uuid, c3.entry.uuid, c4.entry.uuid],
      );
      const files = new Set(await readdir(join(dir, 'files')));
      const live = new Set([c1, c3, c4].flatMap((c) => manifestFiles(c.manifest).map((f) => f.hash)));
      assert.deepEqual(files, new Set([...live, 'README']));
      assert.equal(g.removedFiles, 3, 'c2 delta segment, orphan, temporary');
      assert.deepEqual(
        (await readdir(join(dir, 'checkpoints'))).sort(),
        [c1, c3, c4].map((c) => `${c.entry.uuid}.json`).sort(),
      );

      const g2 = await s.gc({ keep: 1 });
      assert.deepEqual(g2.removedCheckpoints, [c1.entry.uuid, c3.entry.uuid]);
      assert.ok(g2.freedBytes > 0);
      assert.deepEqual(
        new Set(await readdir(join(dir, 'files'))),
        new Set([...manifestFiles(c4.manifest).map((f) => f.hash), 'README']),
      );
      const read = await store(dir).readLatest();
      assert.deepEqual(
        summed(read as CheckpointRead),
        expectState({ a: { s: rows(0, 12) }, b: { s: rows(0, 5) } }),
      );
    });
  });

  test('never deletes the newest intact checkpoint, even when newer ones are broken', async () => {
    await withTempDir(async (dir) => {
      const s = store(dir);
      const good = await s.write(snap(1, { a: { s: rows(0, 10) } }), META);
      const bad = await s.write(snap(2, { a: { s: rows(0, 20) } }), META);
      await rm(s.filePath(manifestFiles(bad.manifest)[0]?.hash as string));
      const g = await s.gc({ keep: 1 });
      assert.deepEqual(g.removedCheckpoints, []);
      assert.equal((await s.latest())?.uuid, good.entry.uuid);
    });
  });
});

describe('CheckpointStore: crashes and corruption', () => {
  /** Two good checkpoints (full + delta); returns their entries. */
  async function twoGood(dir: string) {
    const s = store(dir);
    const a = await s.write(snap(1, { j: { l: rows(0, 100) }, d: { s: rows(0, 5) } }), META);
    const b = await s.write(snap(2, { j: { l: rows(100, 110) } }), META, { delta: true });
    return { a, b, expectB: expectState({ j: { l: rows(0, 110) }, d: { s: rows(0, 5) } }) };
  }

  async function assertLatestIs(
    dir: string,
    uuid: string,
    expect: ReturnType<typeof expectState>,
    log: CapturingLogger,
  ) {
    const s = store(dir, log);
    assert.equal((await s.latest())?.uuid, uuid);
    const read = await s.readLatest();
    assert.equal(read?.manifest.uuid, uuid);
    assert.deepEqual(summed(read as CheckpointRead), expect);
  }

  test('files written but no manifest: the previous checkpoint is latest; gc removes the files', async () => {
    await withTempDir(async (dir) => {
      const { b, expectB } = await twoGood(dir);
      const seg = encodeSegment(rows(110, 120), CODECS);
      await writeFile(join(dir, 'files', seg.hash), seg.bytes);
      await writeFile(
        join(dir, 'checkpoints', `${'0'.repeat(8)}-0000-7000-8000-000000000000.json.tmp-9-aa`),
        '{"form',
      );
      const log = new CapturingLogger();
      await assertLatestIs(dir, b.entry.uuid, expectB, log);
      assert.deepEqual(log.lines, []);
      await store(dir).gc({ keep: 5 });
      assert.ok(!(await readdir(join(dir, 'files'))).includes(seg.hash));
      assert.equal((await readdir(join(dir, 'checkpoints'))).length, 2);
    });
  });

  test('manifest committed but catalog not updated: the checkpoint exists and the catalog is repaired', async () => {
    await withTempDir(async (dir) => {
      const { b } = await twoGood(dir);
      const before = await readFile(join(dir, 'checkpoints.json'));
      const c = await store(dir).write(snap(3, { j: { l: rows(110, 111) } }), META, {
        delta: true,
        parent: b.entry.uuid,
      });
      await writeFile(join(dir, 'checkpoints.json'), before); // as if we crashed before the catalog rename
      const log = new CapturingLogger();
      await assertLatestIs(
        dir,
        c.entry.uuid,
        expectState({ j: { l: rows(0, 111) }, d: { s: rows(0, 5) } }),
        log,
      );
      const catalog = JSON.parse(await readFile(join(dir, 'checkpoints.json'), 'utf8'));
      assert.deepEqual(catalog.at(-1), c.entry);
    });
  });

  test('truncated manifest: skipped with a logged reason', async () => {
    await withTempDir(async (dir) => {
      const { a, b } = await twoGood(dir);
      const p = store(dir).manifestPath(b.entry.uuid);
      await truncate(p, Math.floor((await stat(p)).size / 2));
      const log = new CapturingLogger();
      await assertLatestIs(
        dir,
        a.entry.uuid,
        expectState({ j: { l: rows(0, 100) }, d: { s: rows(0, 5) } }),
        log,
      );
      assert.ok(
        log.lines.some((l) => l.fields.uuid === b.entry.uuid && l.fields.error_code === 'CheckpointCorrupt'),
      );
    });
  });

  test('missing segment: skipped', async () => {
    await withTempDir(async (dir) => {
      const { a, b } = await twoGood(dir);
      const only = manifestFiles(b.manifest).filter(
        (f) => !manifestFiles(a.manifest).some((g) => g.hash === f.hash),
      );
      assert.equal(only.length, 1);
      await rm(store(dir).filePath(only[0]?.hash as string));
      const log = new CapturingLogger();
      await assertLatestIs(
        dir,
        a.entry.uuid,
        expectState({ j: { l: rows(0, 100) }, d: { s: rows(0, 5) } }),
        log,
      );
      assert.match(String(log.lines[0]?.fields.reason), /misses segment/);
    });
  });

  test('corrupted segment bytes (same size): hash verification skips it', async () => {
    await withTempDir(async (dir) => {
      const { a, b } = await twoGood(dir);
      const only = manifestFiles(b.manifest).find(
        (f) => !manifestFiles(a.manifest).some((g) => g.hash === f.hash),
      );
      const p = store(dir).filePath(only?.hash as string);
      const bytes = await readFile(p);
      bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x40;
      await writeFile(p, bytes);
      const log = new CapturingLogger();
      await assertLatestIs(
        dir,
        a.entry.uuid,
        expectState({ j: { l: rows(0, 100) }, d: { s: rows(0, 5) } }),
        log,
      );
      assert.ok(log.lines.some((l) => /hash/.test(String(l.fields.reason))));
      // the cheap check only looks at sizes (documented)
      assert.equal((await store(dir).latest({ verify: 'size' }))?.uuid, b.entry.uuid);
      await assert.rejects(store(dir).read(b.entry.uuid), (e: unknown) =>
        isStorageError(e, 'CheckpointCorrupt'),
      );
      // replaying the same step yields the same segment: the damaged file is replaced, not linked to
      const again = await store(dir).write(snap(2, { j: { l: rows(100, 110) } }), META, {
        delta: true,
        parent: a.entry.uuid,
      });
      assert.equal(again.filesWritten, 1);
      assert.deepEqual(manifestFiles(again.manifest), manifestFiles(b.manifest));
      assert.equal((await store(dir).readLatest())?.manifest.uuid, again.entry.uuid);
      assert.equal((await store(dir).latest())?.uuid, again.entry.uuid);
      assert.equal(
        (await store(dir).read(b.entry.uuid)).manifest.uuid,
        b.entry.uuid,
        'the old one is healed too',
      );
    });
  });

  test('truncated or garbage catalog: rebuilt from the manifests', async () => {
    await withTempDir(async (dir) => {
      const { a, b, expectB } = await twoGood(dir);
      const good = await store(dir).list();
      for (const damage of ['[{"uuid": "', '{}', '[{"uuid":"x"}]', '']) {
        await writeFile(join(dir, 'checkpoints.json'), damage);
        const log = new CapturingLogger();
        assert.deepEqual(await store(dir, log).list(), good);
        assert.match(log.lines[0]?.message ?? '', /rebuilding/);
        assert.deepEqual(JSON.parse(await readFile(join(dir, 'checkpoints.json'), 'utf8')), good);
      }
      await rm(join(dir, 'checkpoints.json'));
      await assertLatestIs(dir, b.entry.uuid, expectB, new CapturingLogger());
      assert.deepEqual(
        (await store(dir).list()).map((e) => e.uuid),
        [a.entry.uuid, b.entry.uuid],
      );
    });
  });

  test('catalog entry whose manifest is gone (gc crashed after deleting it): dropped', async () => {
    await withTempDir(async (dir) => {
      const { a, b } = await twoGood(dir);
      await rm(store(dir).manifestPath(a.entry.uuid));
      const log = new CapturingLogger();
      assert.deepEqual(
        (await store(dir, log).list()).map((e) => e.uuid),
        [b.entry.uuid],
      );
      assert.match(log.lines[0]?.message ?? '', /manifest is gone/);
    });
  });

  test('gc crashed after the catalog update: leftover manifests come back in age order and go next time', async () => {
    await withTempDir(async (dir) => {
      const { a, b } = await twoGood(dir);
      const c = await store(dir).write(snap(3, { j: { l: rows(0, 3) } }), META);
      await writeFile(join(dir, 'checkpoints.json'), JSON.stringify([c.entry]));
      const s = store(dir);
      assert.deepEqual(
        (await s.list()).map((e) => e.uuid),
        [a.entry.uuid, b.entry.uuid, c.entry.uuid],
      );
      assert.equal((await s.latest())?.uuid, c.entry.uuid);
      await s.gc({ keep: 1 });
      assert.deepEqual(
        (await s.list()).map((e) => e.uuid),
        [c.entry.uuid],
      );
    });
  });

  test('a manifest changed in a way that still parses (a renamed state, a digit) is corrupt, not used', async () => {
    for (const change of [
      (t: string) => t.replace('"rows"', '"rowz"'), // a renamed field deep inside
      (t: string) => t.replace(/"steps": (\d+)/, (_m, n) => `"steps": ${Number(n) + 1}`), // a digit
      (t: string) => t.replace('"checksum"', '"chucksum"'), // the checksum's own name
      (t: string) => t.replace(/"checksum": "([0-9a-f])/, (_m, c) => `"checksum": "${c === 'a' ? 'b' : 'a'}`),
    ]) {
      await withTempDir(async (dir) => {
        const { a, b } = await twoGood(dir);
        const p = store(dir).manifestPath(b.entry.uuid);
        const text = await readFile(p, 'utf8');
        assert.match(text, /"checksum": "[0-9a-f]{64}"/, 'manifests are written with their checksum');
        const changed = change(text);
        assert.notEqual(changed, text);
        JSON.parse(changed); // still valid JSON
        await writeFile(p, changed);
        const log = new CapturingLogger();
        assert.equal((await store(dir, log).latest())?.uuid, a.entry.uuid, 'falls back to the intact one');
        assert.ok(log.lines.some((l) => l.fields.error_code === 'CheckpointCorrupt'));
        await assert.rejects(
          store(dir).read(b.entry.uuid),
          (e) => (e as { code?: string }).code === 'CheckpointCorrupt',
        );
      });
    }
  });

  test('a newer manifest format is skipped as unsupported', async () => {
    await withTempDir(async (dir) => {
      const { a, b } = await twoGood(dir);
      const p = store(dir).manifestPath(b.entry.uuid);
      const m = JSON.parse(await readFile(p, 'utf8'));
      await writeFile(p, JSON.stringify({ ...m, format_version: 2 }));
      const log = new CapturingLogger();
      assert.equal((await store(dir, log).latest())?.uuid, a.entry.uuid);
      assert.ok(log.lines.some((l) => l.fields.error_code === 'CheckpointFormatUnsupported'));
    });
  });
});

describe('CheckpointStore: moving checkpoints between stores (what sync builds on)', () => {
  test('import the files the target lacks, then the manifest; the second transfer moves only new files', async () => {
    await withTempDir(async (dir) => {
      const src = store(join(dir, 'src'));
      const dst = store(join(dir, 'dst'));
      const transfer = async (m: { uuid: string }) => {
        const manifest = await src.readManifest(m.uuid);
        let moved = 0;
        for (const f of manifestFiles(manifest)) {
          if (await dst.hasFile(f.hash, f.size)) continue;
          await dst.importFile(f.hash, await readFile(src.filePath(f.hash)));
          moved++;
        }
        await dst.importManifest(JSON.parse(await readFile(src.manifestPath(m.uuid), 'utf8')));
        return moved;
      };
      const a = await src.write(snap(1, { x: { s: rows(0, 100) }, y: { s: rows(0, 7) } }), META);
      const b = await src.write(snap(2, { x: { s: rows(100, 101) } }), META, { delta: true });
      assert.equal(await transfer(a.entry), 2);
      assert.equal(await transfer(b.entry), 1);
      const read = await dst.readLatest();
      assert.deepEqual(
        summed(read as CheckpointRead),
        expectState({ x: { s: rows(0, 101) }, y: { s: rows(0, 7) } }),
      );
      assert.deepEqual(await dst.list(), await src.list());

      const bad = (e: unknown) => isStorageError(e, 'CheckpointCorrupt');
      await assert.rejects(dst.importFile('00'.repeat(32), Buffer.from('x')), bad);
      const c = await src.write(snap(3, { x: { s: rows(101, 102) } }), META, { delta: true });
      await assert.rejects(dst.importManifest(c.manifest), bad, 'files missing');
    });
  });
});

test('copying a store directory keeps it readable', async () => {
  await withTempDir(async (dir) => {
    await store(join(dir, 'a')).write(snap(1, { x: { s: rows(0, 3) } }), META);
    await cp(join(dir, 'a'), join(dir, 'b'), { recursive: true });
    assert.equal((await store(join(dir, 'b')).readLatest())?.manifest.steps, 1);
  });
});
