/**
 * Checkpoints written before the operators moved onto traces still restore: such a checkpoint holds, under the
 * same state names, plain batches of rows with the same row shapes (what a v1 segment decodes to). For every
 * program of `sql-programs.ts` (distinct, set operations, recursion, joins, aggregates, ...): a circuit runs some
 * steps; its snapshot, turned into plain row batches, restores a fresh circuit, which then produces the same
 * outputs, contents and state as the original over the following steps. Run with tiny trace heads too, so the
 * restored traces seal and merge. Seeds are in the test names.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CircuitSnapshot } from '../../../src/circuit/circuit.ts';
import type { StateBatches } from '../../../src/circuit/operator.ts';
import { setTraceHeadMin } from '../../../src/zset/trace.ts';
import { norm } from '../operators/support.ts';
import { InputGen, PROGRAMS, programOf } from './sql-programs.ts';

/** The snapshot as the pre-trace operators wrote it: every state a plain batch of decoded rows. */
function plain(s: CircuitSnapshot): CircuitSnapshot {
  const operators: Record<string, StateBatches> = {};
  for (const [k, st] of Object.entries(s.operators)) {
    const o: StateBatches = {};
    for (const [n, b] of Object.entries(st)) o[n] = { rows: [...b.rows], weights: [...b.weights] };
    operators[k] = o;
  }
  return { steps: s.steps, operators };
}

function stateOf(s: CircuitSnapshot): Record<string, Record<string, Array<[string, number]>>> {
  const o: Record<string, Record<string, Array<[string, number]>>> = {};
  for (const [k, st] of Object.entries(s.operators)) {
    const x: Record<string, Array<[string, number]>> = {};
    for (const [n, b] of Object.entries(st)) x[n] = norm(b);
    o[k] = x;
  }
  return o;
}

describe('a checkpoint of plain row batches (the format before traces) restores every operator', () => {
  for (const headMin of [65536, 2])
    PROGRAMS.forEach((p, i) => {
      const seed = 0x7e57 + i;
      test(`${p.name}, trace heads ${headMin} (SEED=${seed})`, async (t) => {
        const old = setTraceHeadMin(headMin);
        t.after(() => setTraceHeadMin(old));
        const program = await programOf(p);
        const gen = new InputGen(seed, p.tables);
        const a = program.instantiate();
        for (let s = 0; s < 8; s++) a.step(gen.next());
        const b = program.instantiate();
        b.restore(plain(a.snapshot()));
        assert.deepEqual(stateOf(b.snapshot()), stateOf(a.snapshot()), `${p.name}: restored state`);
        for (let s = 0; s < 6; s++) {
          const x = gen.next();
          const oa = a.step(x);
          const ob = b.step(x);
          for (const [name, batch] of oa)
            assert.deepEqual(
              norm(ob.get(name) ?? { rows: [], weights: [] }),
              norm(batch),
              `${p.name} step ${s}: ${name}`,
            );
        }
        for (const v of program.views)
          if (v.materialized)
            assert.deepEqual(norm(b.contents(v.name)), norm(a.contents(v.name)), `${p.name}: ${v.name}`);
        assert.deepEqual(stateOf(b.snapshot()), stateOf(a.snapshot()), `${p.name}: final state`);
      });
    });
});
