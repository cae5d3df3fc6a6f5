/**
 * Checkpoints of real SQL circuits: run, checkpoint after every step (full when `needsCompaction` says so,
 * deltas otherwise), "crash" at a step, restore the newest intact checkpoint into a fresh instance, replay the
 * inputs after it, and compare every output and the final state with an uninterrupted run.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { compileProgram, type SqlCircuit } from '../../../src/sql/program.ts';
import { CheckpointStore, manifestFiles } from '../../../src/storage/checkpoint-store.ts';
import type { Batch } from '../../../src/zset/batch.ts';
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

async function checkpoint(store: CheckpointStore, c: SqlCircuit, step: number): Promise<void> {
  const meta = { fingerprint: 'fp', processed_records: step, inputs: { all: { step } } };
  if (await store.needsCompaction()) await store.write(c.snapshot(), meta);
  else await store.write(c.takeDelta(), meta, { delta: true });
}

describe('checkpoint → crash → restore → continue equals an uninterrupted run', () => {
  PROGRAMS.forEach((p, pi) => {
    test(p.name, async () => {
      const program = await compileProgram(p.sql);
      for (const seed of [0xc0ffee + 31 * pi]) {
        const gen = new InputGen(seed, p.tables);
        const inputs = Array.from({ length: STEPS }, () => gen.next());
        const a = program.instantiate();
        const expected = inputs.map((x) => outputsOf(a.step(x)));
        const rnd = mulberry32(seed);
        for (const crashAt of [randInt(rnd, 1, STEPS - 1), STEPS]) {
          for (const corruptNewest of [false, true]) {
            await withTempDir(async (dir) => {
              const store = new CheckpointStore(dir, {
                codecs: CODECS,
                logger: new CapturingLogger(),
                maxChain: 3,
              });
              const b = program.instantiate();
              b.trackChanges(true);
              for (let s = 0; s < crashAt; s++) {
                assert.deepEqual(outputsOf(b.step(inputs[s] as Map<string, Batch>)), expected[s]);
                await checkpoint(store, b, s + 1);
              }
              const entries = await store.list();
              assert.equal(entries.length, crashAt);
              if (corruptNewest) {
                // damage a file only the newest checkpoint references (if it has one)
                const newest = await store.readManifest(entries.at(-1)?.uuid as string);
                const older =
                  entries.length > 1 ? await store.readManifest(entries.at(-2)?.uuid as string) : null;
                const own = manifestFiles(newest).find(
                  (f) => !older || !manifestFiles(older).some((g) => g.hash === f.hash),
                );
                if (own !== undefined) {
                  const bytes = await readFile(store.filePath(own.hash));
                  bytes[20] = (bytes[20] as number) ^ 0xff;
                  await writeFile(store.filePath(own.hash), bytes);
                }
              }
              // restart
              const restarted = new CheckpointStore(dir, {
                codecs: CODECS,
                logger: new CapturingLogger(),
                maxChain: 3,
              });
              const read = await restarted.readLatest();
              const c = program.instantiate();
              let from = 0;
              if (read === null) {
                assert.ok(corruptNewest && crashAt === 1, 'only a single damaged checkpoint leaves nothing');
              } else {
                c.restore(read.snapshot, read.deltas);
                from = read.manifest.steps;
                assert.deepEqual(read.manifest.inputs, { all: { step: from } });
              }
              c.trackChanges(true);
              if (!corruptNewest) assert.equal(from, crashAt);
              for (let s = from; s < STEPS; s++) {
                assert.deepEqual(
                  outputsOf(c.step(inputs[s] as Map<string, Batch>)),
                  expected[s],
                  `step ${s + 1}`,
                );
                await checkpoint(restarted, c, s + 1);
              }
              assert.deepEqual(stateOf(c), stateOf(a));
              // and the last checkpoint written after the restart restores to the same state again
              const again = await new CheckpointStore(dir, { codecs: CODECS }).readLatest();
              const d = program.instantiate();
              d.restore(again?.snapshot as never, again?.deltas);
              assert.deepEqual(stateOf(d), stateOf(a));
            });
          }
        }
      }
    });
  });
});
