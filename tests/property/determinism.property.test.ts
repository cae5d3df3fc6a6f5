/**
 * Determinism: the same inputs in the same steps give exactly the same outputs (same rows, same order, same
 * weights) and the same snapshot across fresh instances; and the final integrated views do not depend on how
 * the changes are batched into steps. Replay one case with `SEED=<n>`; `SEEDS=<n>` seeds per program.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileProgram, type Program, type SqlCircuit } from '../../src/sql/program.ts';
import { type Batch, emptyBatch } from '../../src/zset/batch.ts';
import { encodeRow, type Row } from '../../src/zset/value.ts';
import { ZSetMap } from '../../src/zset/zset-map.ts';
import { InputGen, oneRowSteps, PROGRAMS, programOf } from '../unit/circuit/sql-programs.ts';
import { isTrulyConsolidated, norm, showRow } from '../unit/operators/support.ts';

const STEPS = 12;
const SEEDS_PER_PROGRAM = Number(process.env.SEEDS ?? 3);
const envSeed = process.env.SEED === undefined ? null : Number(process.env.SEED);

/** Exact rendering of a batch: rows in order, with their weights (no consolidation, no sorting). */
function exact(b: Batch): string[] {
  return b.rows.map((r, i) => `${showRow(r)} × ${b.weights[i]}`);
}

function exactSnapshot(c: SqlCircuit): unknown {
  const s = c.snapshot();
  const o: Record<string, Record<string, string[]>> = {};
  for (const [k, parts] of Object.entries(s.operators)) {
    o[k] = {};
    for (const [n, b] of Object.entries(parts)) (o[k] as Record<string, string[]>)[n] = exact(b);
  }
  return { steps: s.steps, operators: o };
}

/** Value-identity form of a Z-set (consolidated by encodeRow, sorted): representation-independent. */
function identity(b: Batch): Array<[string, number]> {
  const m = new ZSetMap();
  for (let i = 0; i < b.rows.length; i++) m.add(b.rows[i] as Row, b.weights[i] as number);
  return [...m.entries()]
    .map((e): [string, number] => [encodeRow(e.row), e.weight])
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

function seedsFor(i: number): number[] {
  if (envSeed !== null) return [envSeed];
  return Array.from({ length: SEEDS_PER_PROGRAM }, (_, j) => 0xd37e0 + i * 131 + j * 6007);
}

/** Runs the steps and returns every output view's integrated change, plus materialized contents. */
function integrate(program: Program, c: SqlCircuit, steps: ReadonlyArray<Map<string, Batch>>) {
  const acc = new Map<string, Batch>();
  for (const v of program.outputs) acc.set(v.name, emptyBatch());
  for (const x of steps)
    for (const [name, b] of c.step(x)) {
      const a = acc.get(name) as Batch;
      for (let i = 0; i < b.rows.length; i++) {
        a.rows.push(b.rows[i] as Row);
        a.weights.push(b.weights[i] as number);
      }
    }
  const integrated: Record<string, Array<[string, number]>> = {};
  for (const [name, b] of acc) integrated[name] = identity(b);
  const contents: Record<string, Array<[string, number]>> = {};
  for (const t of program.tables)
    if (t.materialized) contents[`table ${t.name}`] = identity(c.contents(t.name));
  for (const v of program.views)
    if (v.materialized) contents[`view ${v.name}`] = identity(c.contents(v.name));
  return { integrated, contents };
}

describe('determinism', () => {
  PROGRAMS.forEach((p, i) => {
    for (const seed of seedsFor(i)) {
      test(`${p.name}: same steps, same outputs and state (SEED=${seed})`, async () => {
        const program = await programOf(p);
        const gen = new InputGen(seed, p.tables);
        const inputs = Array.from({ length: STEPS }, () => gen.next());
        const a = program.instantiate();
        const b = program.instantiate();
        for (let s = 0; s < STEPS; s++) {
          const x = inputs[s] as Map<string, Batch>;
          const oa = a.step(x);
          const ob = b.step(x);
          assert.deepEqual([...ob.keys()], [...oa.keys()], `step ${s + 1}: view order`);
          for (const [name, batch] of oa)
            assert.deepEqual(exact(ob.get(name) as Batch), exact(batch), `step ${s + 1}: ${name}`);
          assert.deepEqual(exactSnapshot(b), exactSnapshot(a), `step ${s + 1}: snapshot`);
        }
        for (const v of program.views)
          if (v.materialized)
            assert.deepEqual(exact(b.contents(v.name)), exact(a.contents(v.name)), `contents of ${v.name}`);
      });

      test(`${p.name}: final views do not depend on batching (SEED=${seed})`, async () => {
        const program = await programOf(p);
        const gen = new InputGen(seed, p.tables);
        const inputs = Array.from({ length: STEPS }, () => gen.next());
        const atomic = new Map<string, Batch>();
        for (const x of inputs)
          for (const [name, b] of x) {
            const a = atomic.get(name) ?? emptyBatch();
            a.rows.push(...b.rows);
            a.weights.push(...b.weights);
            atomic.set(name, a);
          }
        const asSteps = integrate(program, program.instantiate(), inputs);
        const asOne = integrate(program, program.instantiate(), [atomic]);
        const rowByRow = integrate(program, program.instantiate(), inputs.flatMap(oneRowSteps));
        assert.deepEqual(asOne, asSteps, 'one atomic step vs the original steps');
        assert.deepEqual(rowByRow, asSteps, 'one row per step vs the original steps');
      });
    }
  });
});

describe('step outputs are consolidated (as SqlCircuit.step documents)', () => {
  test('DISTINCT over a PK table whose row is inserted and deleted in one step', {}, async () => {
    const program = await compileProgram(
      'CREATE TABLE t (id INT PRIMARY KEY, v INT); CREATE VIEW d AS SELECT DISTINCT v FROM t;',
    );
    const out = program.instantiate().step({
      t: {
        rows: [
          [1, 5],
          [1, null],
        ],
        weights: [1, -1],
      },
    });
    const d = out.get('d') as Batch;
    assert.deepEqual(norm(d), []);
    assert.ok(isTrulyConsolidated(d), `not consolidated: ${exact(d).join(', ')}`);
  });

  const allSeeds = PROGRAMS.flatMap((p, i) => seedsFor(i).map((seed) => [p, seed] as const));
  test(`random programs and inputs (${allSeeds.length} cases)`, {}, async () => {
    for (const [p, seed] of allSeeds) {
      const program = await programOf(p);
      const gen = new InputGen(seed, p.tables);
      const c = program.instantiate();
      for (let s = 0; s < STEPS; s++)
        for (const [name, b] of c.step(gen.next()))
          assert.ok(
            isTrulyConsolidated(b),
            `${p.name} SEED=${seed} step ${s + 1} view ${name}: ${exact(b).join(', ')}`,
          );
    }
  });
});
