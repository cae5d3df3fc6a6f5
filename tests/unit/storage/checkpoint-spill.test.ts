/**
 * The state laws with spilling on and a tiny `min_storage_bytes` (every sealed or merged trace batch becomes a
 * batch file, in tiny blocks, through a small block cache): for every test program, checkpoint (full or delta)
 * after each step with GC keeping two, a warm standby loading each checkpoint, then a crash, a restore in a
 * fresh "process" (spill directory emptied, batch files opened from the checkpoint) and more steps — outputs,
 * contents and state equal an uninterrupted run without spilling, and the warm standby's state equals the
 * primary's at each checkpoint.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { WarmState } from '../../../src/controller/warm-state.ts';
import { compileProgram, type SqlCircuit } from '../../../src/sql/program.ts';
import { CheckpointStore } from '../../../src/storage/checkpoint-store.ts';
import { disableSpill, enableSpill } from '../../../src/storage/spill.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { FileBatch, setSpillConfig, spillConfig } from '../../../src/zset/batch-file.ts';
import { backgroundWritesSettled } from '../../../src/zset/spill-writer.ts';
import {
  buildBatch,
  setTraceHeadMin,
  spillBatch,
  TraceParts,
  traceBatchesOf,
  traceLayout,
} from '../../../src/zset/trace.ts';
import { InputGen, PROGRAMS } from '../circuit/sql-programs.ts';
import { mulberry32, norm, randInt } from '../operators/support.ts';
import { CapturingLogger, CODECS, withTempDir } from './support.ts';

const STEPS = 12;

type Outputs = Record<string, Array<[string, number]>>;
const outputsOf = (m: Map<string, Batch>): Outputs =>
  Object.fromEntries([...m].map(([k, b]) => [k, norm(b)]));
const stateOf = (c: SqlCircuit) =>
  Object.entries(c.snapshot().operators).map(([k, st]) => [
    k,
    Object.entries(st).map(([n, b]) => [n, norm(b)]),
  ]);

function fileBatches(c: SqlCircuit): number {
  let n = 0;
  for (const st of Object.values(c.snapshot().operators))
    for (const b of Object.values(st))
      for (const p of traceBatchesOf(b) ?? []) if (p instanceof FileBatch) n++;
  return n;
}

function spillOn(dir: string): void {
  const c = enableSpill(
    join(dir, 'spill'),
    { minStorageBytes: 0, cacheMib: 0, compression: 'default' },
    CODECS,
  );
  setSpillConfig({ ...c, blockBytes: 64, cacheBytes: 16 * 1024 });
}

after(() => disableSpill());

describe('state laws with batches spilled to files', () => {
  let sawFiles = 0;
  let restoredFiles = 0;
  PROGRAMS.forEach((p, pi) => {
    test(p.name, async () => {
      const program = await compileProgram(p.sql);
      const seed = 0x5b111 + 17 * pi;
      const gen = new InputGen(seed, p.tables);
      const inputs = Array.from({ length: STEPS }, () => gen.next());
      const old = setTraceHeadMin(2);
      try {
        disableSpill();
        const a = program.instantiate();
        const expected = inputs.map((x) => outputsOf(a.step(x)));
        const crashAt = randInt(mulberry32(seed), 2, STEPS - 1);
        await withTempDir(async (dir) => {
          spillOn(dir);
          const storeDir = join(dir, 'store');
          const store = new CheckpointStore(storeDir, {
            codecs: CODECS,
            logger: new CapturingLogger(),
            maxChain: 3,
          });
          const warm = new WarmState(program, 'fp');
          const b = program.instantiate();
          b.trackChanges(true);
          const checkpoint = async (s: CheckpointStore, c: SqlCircuit, step: number): Promise<string> => {
            const meta = { fingerprint: 'fp', processed_records: step, inputs: { all: { step } } };
            const r = (await s.needsCompaction())
              ? await s.write(c.snapshot(), meta)
              : await s.write(c.takeDelta(), meta, { delta: true });
            await s.gc({ keep: 2 });
            return r.entry.uuid;
          };
          for (let s = 0; s < crashAt; s++) {
            assert.deepEqual(
              outputsOf(b.step(inputs[s] as Map<string, Batch>)),
              expected[s],
              `step ${s + 1}`,
            );
            const uuid = await checkpoint(store, b, s + 1);
            await warm.load(store, uuid);
            assert.deepEqual(stateOf(warm.circuit), stateOf(b), `warm standby after step ${s + 1}`);
          }
          sawFiles += fileBatches(b);
          // crash; a new process empties its spill directory and opens the checkpoint's batch files (a real
          // crash ends the background writer's thread with the process; here it is let finish first, so that no
          // file of the old "process" lands in the new one's directory)
          await backgroundWritesSettled();
          spillOn(dir);
          assert.deepEqual(await readdir(spillConfig()?.dir as string), []);
          const restarted = new CheckpointStore(storeDir, {
            codecs: CODECS,
            logger: new CapturingLogger(),
            maxChain: 3,
          });
          const read = await restarted.readLatest();
          assert.ok(read !== null);
          const c = program.instantiate();
          c.restore(read.snapshot, read.deltas);
          assert.equal(read.manifest.steps, crashAt);
          restoredFiles += fileBatches(c);
          c.trackChanges(true);
          for (let s = crashAt; s < STEPS; s++) {
            assert.deepEqual(
              outputsOf(c.step(inputs[s] as Map<string, Batch>)),
              expected[s],
              `step ${s + 1}`,
            );
            await checkpoint(restarted, c, s + 1);
          }
          assert.deepEqual(stateOf(c), stateOf(a));
          // and the newest checkpoint restores to the same state again (without spilling: read into memory)
          disableSpill();
          const again = await new CheckpointStore(storeDir, { codecs: CODECS }).readLatest();
          const d = program.instantiate();
          d.restore(again?.snapshot as never, again?.deltas);
          assert.deepEqual(stateOf(d), stateOf(a));
        });
      } finally {
        setTraceHeadMin(old);
        disableSpill();
      }
    });
  });

  test('the programs above did spill', () => {
    assert.ok(sawFiles > 0, `file-backed batches seen: ${sawFiles}`);
    assert.ok(restoredFiles > 0, `restores opened batch files: ${restoredFiles}`);
  });
});

test('GC never breaks a live file-backed batch: a restored batch outlives its checkpoint and is listed again', async () => {
  await withTempDir(async (dir) => {
    spillOn(dir);
    const layout = traceLayout(2, [0]);
    const rows = Array.from({ length: 300 }, (_, i) => [i, `v${i}`]);
    const fb = spillBatch(
      buildBatch(
        layout,
        rows,
        rows.map(() => 1),
      ),
      spillConfig() as NonNullable<ReturnType<typeof spillConfig>>,
    );
    const storeDir = join(dir, 'store');
    const store = new CheckpointStore(storeDir, { codecs: CODECS, logger: new CapturingLogger() });
    const meta = { fingerprint: 'fp' };
    await store.write({ steps: 1, operators: { op: { s: new TraceParts([fb]) } } }, meta);
    // a new process restores it: the batch is opened from the spill directory
    spillOn(dir);
    const read = await new CheckpointStore(storeDir, { codecs: CODECS }).readLatest();
    const restored = traceBatchesOf(read?.snapshot.operators.op?.s as Batch)?.[0];
    assert.ok(restored instanceof FileBatch);
    // two newer checkpoints without it; GC keeping one removes the file from the store
    await store.write({ steps: 2, operators: { op: { s: { rows: [[1, 'x']], weights: [1] } } } }, meta);
    await store.write({ steps: 3, operators: { op: { s: { rows: [[2, 'y']], weights: [1] } } } }, meta);
    await store.gc({ keep: 1 });
    assert.equal(await store.hasFile(restored.hash, restored.fileSize), false, 'GC removed the store copy');
    // the live batch still reads, and a checkpoint listing it again restores it
    assert.deepEqual(restored.row(5), [5, 'v5']);
    await store.write({ steps: 4, operators: { op: { s: new TraceParts([restored]) } } }, meta);
    const again = await new CheckpointStore(storeDir, { codecs: CODECS }).readLatest();
    assert.deepEqual(
      norm(again?.snapshot.operators.op?.s as Batch),
      norm({ rows, weights: rows.map(() => 1) }),
    );
    disableSpill();
  });
});
