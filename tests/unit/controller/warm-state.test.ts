/**
 * The warm standby's state: for every program of the SQL corpus, a primary circuit writes a checkpoint after
 * every step (full when the store asks for compaction, deltas otherwise); a WarmState loads each one in turn.
 * After every load its circuit must hold exactly the state a cold restore of that checkpoint gives, and must
 * produce the same outputs as the primary on the following inputs. A delta load reads only the new segments;
 * a compaction rebuilds; a checkpoint of another program is refused; a corrupt segment drops the warm state.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { WarmState } from '../../../src/controller/warm-state.ts';
import { compileProgram, type SqlCircuit } from '../../../src/sql/program.ts';
import { CheckpointStore, manifestFiles } from '../../../src/storage/checkpoint-store.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { InputGen, PROGRAMS } from '../circuit/sql-programs.ts';
import { norm } from '../operators/support.ts';
import { CapturingLogger, CODECS, withTempDir } from '../storage/support.ts';

const STEPS = 10;

const stateOf = (c: SqlCircuit) =>
  Object.entries(c.snapshot().operators)
    .map(([k, st]) => [k, Object.entries(st).map(([n, b]) => [n, norm(b)])])
    .sort();
const outputsOf = (m: Map<string, Batch>) => Object.fromEntries([...m].map(([k, b]) => [k, norm(b)]));

describe('warm state equals a cold restore after every pulled checkpoint', () => {
  PROGRAMS.forEach((p, pi) => {
    test(p.name, async () => {
      const seed = 0xa11ce + 17 * pi;
      const program = await compileProgram(p.sql);
      const gen = new InputGen(seed, p.tables);
      const inputs = Array.from({ length: STEPS + 3 }, () => gen.next());
      await withTempDir(async (dir) => {
        const store = new CheckpointStore(dir, {
          codecs: CODECS,
          logger: new CapturingLogger(),
          maxChain: 3,
        });
        const primary = program.instantiate();
        primary.trackChanges(true);
        const warm = new WarmState(program, 'fp');
        const modes: string[] = [];
        for (let s = 0; s < STEPS; s++) {
          primary.step(inputs[s] as Map<string, Batch>);
          const meta = { fingerprint: 'fp', processed_records: s + 1 };
          const full = await store.needsCompaction();
          const w = full
            ? await store.write(primary.snapshot(), meta)
            : await store.write(primary.takeDelta(), meta, { delta: true });
          const r = await warm.load(store, w.entry.uuid);
          modes.push(r.mode);
          const cold = program.instantiate();
          const read = await store.read(w.entry.uuid);
          cold.restore(read.snapshot, read.deltas);
          assert.deepEqual(stateOf(warm.circuit), stateOf(cold), `seed ${seed}, step ${s}`);
          if (s > 0) {
            // only the segments appended since the loaded checkpoint are read; an operator whose lists were
            // replaced (compaction) is read whole
            const m = await store.readManifest(w.entry.uuid);
            const prev = await store.readManifest(m.parent as string);
            let expected = 0;
            for (const [op, states] of Object.entries(m.operators)) {
              const before = prev.operators[op] ?? {};
              const extends_ = Object.entries(states).every(([n, refs]) =>
                (before[n] ?? []).every((x, i) => refs[i]?.hash === x.hash),
              );
              for (const [n, refs] of Object.entries(states))
                expected += extends_ ? refs.length - (before[n] ?? []).length : refs.length;
            }
            assert.equal(r.segmentsRead, expected, `seed ${seed}, step ${s} (${full ? 'full' : 'delta'})`);
            if (!full) assert.equal(r.rebuiltOperators, 0, `seed ${seed}, step ${s}`);
          }
        }
        assert.equal(modes[0], 'full');
        assert.ok(modes.includes('delta'), modes.join(','));
        // the warm circuit continues exactly like the primary
        const last = warm.circuit;
        for (let s = STEPS; s < STEPS + 3; s++) {
          const x = inputs[s] as Map<string, Batch>;
          assert.deepEqual(outputsOf(last.step(x)), outputsOf(primary.step(x)), `seed ${seed}, step ${s}`);
        }
      });
    });
  });
});

test('a checkpoint of another program is refused; a corrupt segment drops the warm state', async () => {
  const p = PROGRAMS[0] as (typeof PROGRAMS)[number];
  const program = await compileProgram(p.sql);
  const gen = new InputGen(7, p.tables);
  await withTempDir(async (dir) => {
    const store = new CheckpointStore(dir, { codecs: CODECS, logger: new CapturingLogger() });
    const c = program.instantiate();
    c.trackChanges(true);
    c.step(gen.next());
    const first = await store.write(c.snapshot(), { fingerprint: 'fp', processed_records: 1 });
    const other = new WarmState(program, 'another-fingerprint');
    assert.equal(other.accepts(await store.readManifest(first.entry.uuid)), false);
    await assert.rejects(other.load(store, first.entry.uuid), /another program/);
    const warm = new WarmState(program, 'fp');
    await warm.load(store, first.entry.uuid);
    assert.equal(warm.manifest?.uuid, first.entry.uuid);
    assert.equal((await warm.load(store, first.entry.uuid)).mode, 'unchanged');
    c.step(gen.next());
    const second = await store.write(
      c.takeDelta(),
      { fingerprint: 'fp', processed_records: 2 },
      { delta: true },
    );
    const m = await store.readManifest(second.entry.uuid);
    const prev = await store.readManifest(first.entry.uuid);
    const own = manifestFiles(m).find((f) => !manifestFiles(prev).some((g) => g.hash === f.hash));
    assert.ok(own !== undefined);
    const bytes = await readFile(store.filePath(own.hash));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    await writeFile(store.filePath(own.hash), bytes);
    await assert.rejects(warm.load(store, second.entry.uuid));
    assert.equal(warm.manifest, null); // dropped: the next load starts over
  });
});
