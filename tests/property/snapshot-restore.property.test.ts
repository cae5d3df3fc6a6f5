/**
 * Property: "snapshot → restore → continue gives the same outputs as never stopping", for whole SQL programs
 * and seeded random insert/delete/upsert streams. Replay one case with `SEED=<n>` (runs every program with it);
 * `SEEDS=<n>` sets how many seeds each program gets (default 4).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CircuitSnapshot } from '../../src/circuit/circuit.ts';
import { compileProgram, type Program, type SqlCircuit } from '../../src/sql/program.ts';
import type { Batch } from '../../src/zset/batch.ts';
import { InputGen, PROGRAMS, programOf } from '../unit/circuit/sql-programs.ts';
import { mulberry32, norm, randInt } from '../unit/operators/support.ts';

const STEPS = 14;
const SEEDS_PER_PROGRAM = Number(process.env.SEEDS ?? 4);
const envSeed = process.env.SEED === undefined ? null : Number(process.env.SEED);

type Outputs = Record<string, Array<[string, number]>>;

function outputsOf(m: Map<string, Batch>): Outputs {
  const o: Outputs = {};
  for (const [k, b] of m) o[k] = norm(b);
  return o;
}

/** Current contents of every materialized table and view. */
function contentsOf(program: Program, c: SqlCircuit): Outputs {
  const o: Outputs = {};
  for (const t of program.tables) if (t.materialized) o[`table ${t.name}`] = norm(c.contents(t.name));
  for (const v of program.views) if (v.materialized) o[`view ${v.name}`] = norm(c.contents(v.name));
  return o;
}

/** Every operator's state as consolidated, sorted Z-sets (state order may differ after a restore). */
function stateOf(s: CircuitSnapshot): Record<string, Record<string, Array<[string, number]>>> {
  const o: Record<string, Record<string, Array<[string, number]>>> = {};
  for (const [k, parts] of Object.entries(s.operators)) {
    o[k] = {};
    for (const [n, b] of Object.entries(parts))
      (o[k] as Record<string, Array<[string, number]>>)[n] = norm(b);
  }
  return o;
}

interface Run {
  outputs: Outputs[];
  contents: Outputs;
  state: ReturnType<typeof stateOf>;
}

function finish(program: Program, c: SqlCircuit, outputs: Outputs[]): Run {
  return { outputs, contents: contentsOf(program, c), state: stateOf(c.snapshot()) };
}

function assertSameAfter(a: Run, b: Run, from: number, label: string): void {
  for (let s = from; s < a.outputs.length; s++)
    assert.deepEqual(b.outputs[s], a.outputs[s], `${label}: outputs of step ${s + 1}`);
  assert.deepEqual(b.contents, a.contents, `${label}: final contents`);
  assert.deepEqual(b.state, a.state, `${label}: final state`);
}

function seedsFor(i: number): number[] {
  if (envSeed !== null) return [envSeed];
  return Array.from({ length: SEEDS_PER_PROGRAM }, (_, j) => 0x5eed0 + i * 101 + j * 7919);
}

describe('snapshot/restore round trip', () => {
  PROGRAMS.forEach((p, i) => {
    for (const seed of seedsFor(i)) {
      test(`${p.name} full snapshot (SEED=${seed})`, async () => {
        const program = await programOf(p);
        const gen = new InputGen(seed, p.tables);
        const inputs = Array.from({ length: STEPS }, () => gen.next());
        const pr = mulberry32(seed ^ 0xabcdef);

        const a = program.instantiate();
        const aRun = finish(
          program,
          a,
          inputs.map((x) => outputsOf(a.step(x))),
        );

        // B: stop after k steps (0..STEPS), restore a fresh instance, continue.
        for (const k of [randInt(pr, 0, STEPS), 0, STEPS]) {
          let b = program.instantiate();
          const outs: Outputs[] = [];
          for (let s = 0; s < STEPS; s++) {
            if (s === k) {
              const snap = b.snapshot();
              assert.equal(snap.steps, k);
              b = program.instantiate();
              b.restore(snap);
            }
            outs.push(outputsOf(b.step(inputs[s] as Map<string, Batch>)));
          }
          if (k === STEPS) {
            const snap = b.snapshot();
            b = program.instantiate();
            b.restore(snap);
          }
          assertSameAfter(aRun, finish(program, b, outs), 0, `stop at ${k}`);
        }

        // C: restore twice in a row (a restored instance snapshots correctly).
        const k1 = randInt(pr, 1, STEPS - 2);
        const k2 = randInt(pr, k1 + 1, STEPS - 1);
        let c = program.instantiate();
        const cOuts: Outputs[] = [];
        for (let s = 0; s < STEPS; s++) {
          if (s === k1 || s === k2) {
            const snap = c.snapshot();
            c = program.instantiate();
            c.restore(snap);
          }
          cOuts.push(outputsOf(c.step(inputs[s] as Map<string, Batch>)));
        }
        assertSameAfter(aRun, finish(program, c, cOuts), 0, `restore at ${k1} and ${k2}`);
      });

      test(`${p.name} base + deltas (SEED=${seed})`, async () => {
        const program = await programOf(p);
        const gen = new InputGen(seed, p.tables);
        const inputs = Array.from({ length: STEPS }, () => gen.next());
        const pr = mulberry32(seed ^ 0x123457);
        const a = program.instantiate();
        const aRun = finish(
          program,
          a,
          inputs.map((x) => outputsOf(a.step(x))),
        );

        const k1 = randInt(pr, 0, STEPS - 3);
        const k2 = randInt(pr, k1, STEPS - 2);
        const k3 = randInt(pr, k2 + 1, STEPS - 1);
        let b = program.instantiate();
        b.trackChanges(true);
        let base: CircuitSnapshot | null = null;
        const deltas: CircuitSnapshot[] = [];
        const outs: Outputs[] = [];
        for (let s = 0; s < STEPS; s++) {
          if (s === k1) base = b.snapshot();
          if (s === k2) deltas.push(b.takeDelta());
          if (s === k3) {
            deltas.push(b.takeDelta());
            assert.equal(deltas.at(-1)?.steps, k3);
            b = program.instantiate();
            b.restore(base as CircuitSnapshot, deltas);
          }
          outs.push(outputsOf(b.step(inputs[s] as Map<string, Batch>)));
        }
        assertSameAfter(aRun, finish(program, b, outs), 0, `base ${k1}, deltas ${k2} and ${k3}`);
      });
    }
  });
});

describe('snapshot/restore: focused cases', () => {
  test('SUM over DOUBLE: the output after a restore retracts exactly the row emitted before the snapshot', {}, async () => {
    const program = await compileProgram(
      'CREATE TABLE t (id INT PRIMARY KEY, f DOUBLE); CREATE MATERIALIZED VIEW v AS SELECT SUM(f) AS s FROM t;',
    );
    const s1 = {
      t: {
        rows: [
          [1, 0.1],
          [2, 0.2],
          [3, 0.3],
        ],
        weights: [1, 1, 1],
      },
    };
    const s2 = { t: { rows: [[2, null]], weights: [-1] } };
    const s3 = { t: { rows: [[4, 1]], weights: [1] } };
    const a = program.instantiate();
    a.step(s1);
    a.step(s2);
    const restored = program.instantiate();
    restored.restore(a.snapshot());
    assert.deepEqual(outputsOf(restored.step(s3)), outputsOf(a.step(s3)));
    assert.equal(restored.contents('v').rows.length, 1, 'a global aggregate view holds exactly one row');
    assert.deepEqual(norm(restored.contents('v')), norm(a.contents('v')));
  });

  test('base + delta keeps the representation of equal values (-0 vs 0)', {
    todo: 'bug: ChangeLog.take() consolidates by value identity, so deleting -0 and inserting 0 in one delta cancels out and the restored state keeps -0 while the original holds 0; later outputs differ (-0 vs 0)',
  }, async () => {
    const program = await compileProgram(
      "CREATE TABLE t (f DOUBLE) WITH ('materialized' = 'true'); CREATE MATERIALIZED VIEW v AS SELECT f FROM t;",
    );
    const a = program.instantiate();
    a.trackChanges(true);
    a.step({ t: { rows: [[-0]], weights: [1] } });
    const base = a.snapshot();
    a.step({ t: { rows: [[-0], [0]], weights: [-1, 1] } });
    const b = program.instantiate();
    b.restore(base, [a.takeDelta()]);
    assert.deepEqual(norm(b.contents('v')), norm(a.contents('v')));
    const next = { t: { rows: [[0]], weights: [-1] } };
    assert.deepEqual(outputsOf(b.step(next)), outputsOf(a.step(next)));
  });

  test('restore does not accept a snapshot of another program', async () => {
    const p1 = await compileProgram(
      'CREATE TABLE t (x INT PRIMARY KEY); CREATE MATERIALIZED VIEW v AS SELECT DISTINCT x FROM t;',
    );
    const p2 = await compileProgram(
      'CREATE TABLE t (x INT PRIMARY KEY); CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n FROM t;',
    );
    const a = p1.instantiate();
    a.step({ t: { rows: [[1]], weights: [1] } });
    assert.throws(
      () => p2.instantiate().restore(a.snapshot()),
      (e: unknown) => (e as { errorCode?: string }).errorCode === 'StateRestoreError',
    );
  });
});
