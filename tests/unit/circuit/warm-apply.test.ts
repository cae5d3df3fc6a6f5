/**
 * Warm loading: applying checkpoint deltas to an already-restored circuit (`Circuit.applyDelta`,
 * `Circuit.restoreOperators`, each operator's `apply`).
 *
 * Property, over the SQL programs of `sql-programs.ts` and seeded random change streams: circuit A runs with
 * change tracking, takes a `snapshot()` (the base) at some step and `takeDelta()` at several later ones;
 * B = restore(base) then applyDelta(d1), applyDelta(d2), ...; C = restore(base, [d1, d2, ...]). B and C hold
 * the same state as A at the last delta, and fed the same further steps, A, B and C give identical outputs for
 * every view, contents, state and change-tracking deltas. Variants check the same for deltas whose rows come
 * in reverse order (a key's `+new` before its `-old`, states compared after every apply), for operators
 * rebuilt with `restoreOperators` after applies, for a fresh circuit that applies the base as a delta, and
 * with `Circuit.prepare` (lookups readied) after every load.
 *
 * Each test's name carries its seed; replay one with `SEED=<n>` (runs every program with it). `SEEDS=<n>` sets
 * how many fixed seeds each program gets (default 6); one more seed per program is random per run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Circuit, type CircuitSnapshot, type NodeId } from '../../../src/circuit/circuit.ts';
import type { StateBatches } from '../../../src/circuit/operator.ts';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { differentiate } from '../../../src/operators/differentiate.ts';
import { distinct } from '../../../src/operators/distinct.ts';
import { integrate, materialize } from '../../../src/operators/integrate.ts';
import { setOp } from '../../../src/operators/set-op.ts';
import { tableInput } from '../../../src/operators/table-input.ts';
import type { Program, SqlCircuit } from '../../../src/sql/program.ts';
import { type Batch, emptyBatch, push } from '../../../src/zset/batch.ts';
import { isTrulyConsolidated, mulberry32, norm, randInt } from '../operators/support.ts';
import { InputGen, PROGRAMS, programOf } from './sql-programs.ts';

const STEPS = 18;
/** Steps every circuit runs after the last delta. */
const AFTER = 5;
const SEEDS_PER_PROGRAM = Number(process.env.SEEDS ?? 6);
const envSeed = process.env.SEED === undefined ? null : Number(process.env.SEED);
const runSeed = (Date.now() ^ (process.pid << 16)) >>> 0;

type Outputs = Record<string, Array<[string, number]>>;
type State = Record<string, Record<string, Array<[string, number]>>>;

/** Every operator's state as consolidated, sorted Z-sets (order may differ between circuits). */
function stateOf(s: CircuitSnapshot): State {
  const o: State = {};
  for (const [k, parts] of Object.entries(s.operators)) {
    const st: Record<string, Array<[string, number]>> = {};
    for (const [n, b] of Object.entries(parts)) st[n] = norm(b);
    o[k] = st;
  }
  return o;
}

/** What the property drives: a circuit plus how to step it and read its visible contents. */
interface Subject {
  readonly circuit: Circuit;
  step(inputs: Map<string, Batch>): Outputs;
  contents(): Outputs;
}

function sqlSubject(program: Program, c: SqlCircuit): Subject {
  return {
    circuit: c.circuit,
    step: (x) => Object.fromEntries([...c.step(x)].map(([k, b]) => [k, norm(b)])),
    contents: () => {
      const o: Outputs = {};
      for (const t of program.tables) if (t.materialized) o[`table ${t.name}`] = norm(c.contents(t.name));
      for (const v of program.views) if (v.materialized) o[`view ${v.name}`] = norm(c.contents(v.name));
      return o;
    },
  };
}

/** Reverses the rows of every batch (so a primary key's `(new, +1)` comes before its `(old, -1)`). */
function reversed(d: CircuitSnapshot): CircuitSnapshot {
  const operators: Record<string, StateBatches> = {};
  for (const [k, st] of Object.entries(d.operators)) {
    const o: StateBatches = {};
    for (const [n, b] of Object.entries(st))
      o[n] = { rows: [...b.rows].reverse(), weights: [...b.weights].reverse() };
    operators[k] = o;
  }
  return { steps: d.steps, operators };
}

/**
 * Runs the property for one change stream. `make` builds a fresh subject; `inputs` has STEPS steps; `rnd` picks
 * the base step, the delta steps and the operators to rebuild.
 */
function checkWarmApply(
  make: () => Subject,
  inputs: ReadonlyArray<Map<string, Batch>>,
  rnd: () => number,
  label: string,
): void {
  const baseAt = randInt(rnd, 0, 4);
  const nDeltas = randInt(rnd, 1, 5);
  // non-decreasing: two deltas at the same step (or one at the base step) are empty deltas
  const at = Array.from({ length: nDeltas }, () => randInt(rnd, baseAt, STEPS - AFTER)).sort((x, y) => x - y);
  const last = at[at.length - 1] as number;
  const where = `${label}, base at ${baseAt}, deltas at ${at.join(',')}`;

  const a = make();
  a.circuit.trackChanges(true);
  let base: CircuitSnapshot | null = null;
  const deltas: CircuitSnapshot[] = [];
  const statesAt: State[] = [];
  const outA: Outputs[] = [];
  for (let s = 0; s <= STEPS; s++) {
    if (s === baseAt) base = a.circuit.snapshot();
    while (at[deltas.length] === s) {
      const d = a.circuit.takeDelta();
      assert.equal(d.steps, s);
      deltas.push(d);
      // right after takeDelta the change logs are empty, so this snapshot does not move the delta baseline
      statesAt.push(stateOf(a.circuit.snapshot()));
    }
    if (s < STEPS) outA.push(a.step(inputs[s] as Map<string, Batch>));
  }
  const snapBase = base as CircuitSnapshot;
  // A's change logs were last reset at the last delta: this is what it tracked over the steps after it
  const trackedA = stateOf(a.circuit.takeDelta());
  const finalA = { contents: a.contents(), state: stateOf(a.circuit.snapshot()) };
  const expectedLoaded = statesAt[statesAt.length - 1] as State;

  const lastDelta = deltas[deltas.length - 1] as CircuitSnapshot;
  const rebuild = new Set(
    make()
      .circuit.stateKeys()
      .filter(() => rnd() < 0.5),
  );
  // Each variant loads the state into a fresh circuit; `inspect` compares states along the way. Every variant
  // is loaded twice: once inspected, once stepped right after loading (a snapshot could hide pending state).
  const variants: Record<string, (inspect: boolean) => Subject> = {
    // B: restore(base), then one applyDelta per delta
    B: () => {
      const x = make();
      x.circuit.restore(snapBase);
      for (const d of deltas) x.circuit.applyDelta(d);
      return x;
    },
    // C: restore(base, deltas)
    C: () => {
      const x = make();
      x.circuit.restore(snapBase, deltas);
      return x;
    },
    // D: the rows of every batch reversed (a key's +new before its -old), states compared after every apply
    D: (inspect) => {
      const x = make();
      x.circuit.restore(reversed(snapBase));
      deltas.forEach((d, i) => {
        x.circuit.applyDelta(reversed(d));
        if (inspect)
          assert.deepEqual(
            stateOf(x.circuit.snapshot()),
            statesAt[i],
            `${where}: D after applying delta ${i + 1}`,
          );
      });
      return x;
    },
    // E: all but the last delta applied, then a random subset of operators rebuilt from base + all deltas, and
    // the last delta applied to the others only
    E: () => {
      const x = make();
      x.circuit.restore(snapBase);
      for (const d of deltas.slice(0, -1)) x.circuit.applyDelta(d);
      x.circuit.restoreOperators(snapBase, deltas, rebuild);
      x.circuit.applyDelta({
        steps: lastDelta.steps,
        operators: Object.fromEntries(Object.entries(lastDelta.operators).filter(([k]) => !rebuild.has(k))),
      });
      return x;
    },
    // F: a fresh circuit that applies the base as a delta, then the deltas
    F: () => {
      const x = make();
      x.circuit.applyDelta(snapBase);
      for (const d of deltas) x.circuit.applyDelta(d);
      return x;
    },
    // G: as B, with the operators prepared for lookups after every load (what a warm standby does while it
    // waits): preparing changes nothing
    G: () => {
      const x = make();
      x.circuit.restore(snapBase);
      x.circuit.prepare();
      for (const d of deltas) {
        x.circuit.applyDelta(d);
        x.circuit.prepare();
      }
      return x;
    },
  };
  const warm: Record<string, Subject> = {};
  for (const [name, load] of Object.entries(variants)) {
    const x = load(true);
    assert.equal(x.circuit.steps, last, `${where}: ${name} step count`);
    const snap = x.circuit.snapshot();
    assert.deepEqual(stateOf(snap), expectedLoaded, `${where}: ${name} state once loaded`);
    for (const [k, st] of Object.entries(snap.operators))
      for (const [n, b] of Object.entries(st))
        assert.ok(isTrulyConsolidated(b), `${where}: ${name} ${k}/${n} snapshot is consolidated`);
    const run = load(false);
    run.circuit.trackChanges(true);
    warm[name] = run;
  }
  for (let s = last; s < STEPS; s++) {
    const x = inputs[s] as Map<string, Batch>;
    for (const [name, w] of Object.entries(warm))
      assert.deepEqual(w.step(x), outA[s], `${where}: ${name} outputs of step ${s + 1}`);
  }
  for (const [name, w] of Object.entries(warm)) {
    assert.deepEqual(w.contents(), finalA.contents, `${where}: ${name} final contents`);
    assert.deepEqual(
      stateOf(w.circuit.takeDelta()),
      trackedA,
      `${where}: ${name} tracked changes after loading`,
    );
    assert.deepEqual(stateOf(w.circuit.snapshot()), finalA.state, `${where}: ${name} final state`);
  }
}

function seedsFor(i: number): number[] {
  if (envSeed !== null) return [envSeed];
  const fixed = Array.from({ length: SEEDS_PER_PROGRAM }, (_, j) => 0xa991 + i * 131 + j * 7907);
  return [...fixed, (runSeed + i * 0x9e3779b1) >>> 0];
}

describe('warm apply: restore(base) + applyDelta(d1), ... ≡ restore(base, [d1, ...]) ≡ never stopping', () => {
  PROGRAMS.forEach((p, i) => {
    for (const seed of seedsFor(i)) {
      test(`${p.name} (SEED=${seed})`, async () => {
        const program = await programOf(p);
        const gen = new InputGen(seed, p.tables);
        const inputs = Array.from({ length: STEPS }, () => gen.next());
        checkWarmApply(
          () => sqlSubject(program, program.instantiate()),
          inputs,
          mulberry32(seed ^ 0x5a5a5a),
          `${p.name} SEED=${seed}`,
        );
      });
    }
  });
});

/**
 * A hand-built circuit over general Z-sets (negative weights allowed), for the operators SQL programs do not
 * reach (differentiate) and for larger states: a → integrate → differentiate, b → distinct, a EXCEPT ALL b,
 * a INTERSECT b, materialize(b).
 */
function zsetSubject(): Subject {
  const c = new Circuit();
  const a = c.addSource('a');
  const b = c.addSource('b');
  const outs: Array<[string, NodeId]> = [
    ['diff', c.add(differentiate(), [c.add(integrate(), [a])])],
    ['distinct', c.add(distinct(), [b])],
    ['except_all', c.add(setOp('except_all'), [a, b])],
    ['intersect', c.add(setOp('intersect'), [a, b])],
    ['mat', c.add(materialize(), [b])],
  ];
  return {
    circuit: c,
    step: (x) => {
      const r = c.step(
        x,
        outs.map(([, n]) => n),
      );
      return Object.fromEntries(outs.map(([name, n]) => [name, norm(r.get(n) as Batch)]));
    },
    contents: () => ({}),
  };
}

function zsetInputs(seed: number): Array<Map<string, Batch>> {
  const rnd = mulberry32(seed);
  return Array.from({ length: STEPS }, () => {
    const m = new Map<string, Batch>();
    for (const name of ['a', 'b']) {
      const big = rnd() < 0.2;
      const batch = emptyBatch();
      for (let n = big ? randInt(rnd, 500, 1500) : randInt(rnd, 0, 5); n > 0; n--)
        push(batch, [randInt(rnd, 0, big ? 3000 : 8)], rnd() < 0.3 ? -1 : randInt(rnd, 1, 2));
      m.set(name, batch);
    }
    return m;
  });
}

describe('warm apply on general Z-sets (integrate, differentiate, distinct, set ops, materialize)', () => {
  const seeds = envSeed !== null ? [envSeed] : [0x2b1, 0x2b2, 0x2b3, 0x2b4, runSeed];
  for (const seed of seeds)
    test(`SEED=${seed}`, () => {
      checkWarmApply(zsetSubject, zsetInputs(seed), mulberry32(seed ^ 0x77), `zsets SEED=${seed}`);
    });
});

const isRestoreError = (e: unknown) => isServiceError(e) && e.errorCode === 'StateRestoreError';

/** source a → integrate (n1), source b → distinct (n3). */
function twoOps(): { c: Circuit; step: (a: number[], b: number[]) => void } {
  const c = new Circuit();
  const na = c.addSource('a');
  const nb = c.addSource('b');
  const i = c.add(integrate(), [na]);
  const d = c.add(distinct(), [nb]);
  const rows = (xs: number[]) => {
    const out = emptyBatch();
    for (const x of xs) push(out, [x], 1);
    return out;
  };
  return {
    c,
    step: (a, b) => {
      c.step(
        new Map([
          ['a', rows(a)],
          ['b', rows(b)],
        ]),
        [i, d],
      );
    },
  };
}

describe('Circuit.applyDelta / restoreOperators', () => {
  test('the keys are the stateful operators', () => {
    assert.deepEqual(twoOps().c.stateKeys(), ['n2:integrate', 'n3:distinct']);
  });

  test('restoreOperators rebuilds only the named operator, after applies', () => {
    const src = twoOps();
    src.c.trackChanges(true);
    src.step([1], [10]);
    const base = src.c.snapshot();
    src.step([2], [20]);
    const d1 = src.c.takeDelta();
    const at1 = stateOf(src.c.snapshot());
    src.step([3], [30]);
    const d2 = src.c.takeDelta();
    const at2 = stateOf(src.c.snapshot());

    const w = twoOps();
    w.c.restore(base);
    w.c.applyDelta(d1);
    assert.equal(w.c.steps, 2);
    assert.deepEqual(stateOf(w.c.snapshot()), at1);
    // rebuild the integral alone from base + d1 + d2: it moves to step 3, distinct stays at step 2
    w.c.restoreOperators(base, [d1, d2], new Set(['n2:integrate']));
    assert.equal(w.c.steps, 3);
    const st = stateOf(w.c.snapshot());
    assert.deepEqual(st['n2:integrate'], at2['n2:integrate']);
    assert.deepEqual(st['n3:distinct'], at1['n3:distinct']);
    // the rebuild replaced the state rather than adding to it (restoring twice does not double it)
    w.c.restoreOperators(base, [d1, d2], new Set(['n2:integrate']));
    assert.deepEqual(stateOf(w.c.snapshot())['n2:integrate'], at2['n2:integrate']);
    // a delta for the other operator only brings the whole circuit to step 3
    w.c.applyDelta({
      steps: d2.steps,
      operators: { 'n3:distinct': d2.operators['n3:distinct'] as StateBatches },
    });
    assert.deepEqual(stateOf(w.c.snapshot()), at2);
    // then it runs on like the source
    w.step([1, 4], [10, 40]);
    src.step([1, 4], [10, 40]);
    assert.deepEqual(stateOf(w.c.snapshot()), stateOf(src.c.snapshot()));
  });

  test('restoreOperators on a fresh circuit needs state only for the named operators', () => {
    const src = twoOps();
    src.step([1, 1], [5]);
    const full = src.c.snapshot();
    const w = twoOps();
    const only = {
      steps: full.steps,
      operators: { 'n2:integrate': full.operators['n2:integrate'] as StateBatches },
    };
    w.c.restoreOperators(only, [], new Set(['n2:integrate']));
    w.c.restoreOperators(full, [], new Set(['n3:distinct']));
    assert.deepEqual(stateOf(w.c.snapshot()), stateOf(full));
    assert.equal(w.c.steps, 1);
    // the base must hold state for every named operator
    assert.throws(() => w.c.restoreOperators(only, [], new Set(['n3:distinct'])), isRestoreError);
  });

  test('an empty delta only sets the step count', () => {
    const w = twoOps();
    w.c.applyDelta({ steps: 7, operators: {} });
    assert.equal(w.c.steps, 7);
    assert.deepEqual(stateOf(w.c.snapshot()), stateOf(twoOps().c.snapshot()));
  });

  test('unknown operator keys throw StateRestoreError and change nothing', () => {
    const src = twoOps();
    src.step([1], [2]);
    const snap = src.c.snapshot();
    const w = twoOps();
    const before = stateOf(w.c.snapshot());
    const bogus = { ...snap.operators, 'n9:join': {} };
    assert.throws(() => w.c.applyDelta({ steps: 1, operators: bogus }), isRestoreError);
    assert.deepEqual(stateOf(w.c.snapshot()), before, 'nothing applied');
    assert.equal(w.c.steps, 0);
    assert.throws(() => w.c.restoreOperators(snap, [], new Set(['n9:join'])), isRestoreError);
    assert.throws(
      () => w.c.restoreOperators(snap, [{ steps: 2, operators: bogus }], new Set(['n2:integrate'])),
      isRestoreError,
    );
    assert.throws(
      () => w.c.restoreOperators({ steps: 1, operators: bogus }, [], new Set(['n2:integrate'])),
      isRestoreError,
    );
    assert.deepEqual(stateOf(w.c.snapshot()), before, 'nothing rebuilt');
  });

  test('neither is allowed once the circuit has run a step (even from a restored step count)', () => {
    const src = twoOps();
    src.step([1], [2]);
    const snap = src.c.snapshot();
    const w = twoOps();
    w.c.restore(snap);
    w.c.applyDelta({ steps: 1, operators: {} });
    w.c.restoreOperators(snap, [], new Set(['n2:integrate']));
    w.step([3], [4]);
    assert.throws(() => w.c.applyDelta({ steps: 2, operators: {} }), isRestoreError);
    assert.throws(() => w.c.restoreOperators(snap, [], new Set(['n2:integrate'])), isRestoreError);
    assert.throws(() => w.c.restore(snap), isRestoreError);
  });

  test('primary-key table: a key whose (new, +1) comes before its (old, -1) in a part', () => {
    const t = tableInput({ primaryKey: [0], materialized: true });
    t.restore({
      contents: [
        {
          rows: [
            [1, 'old'],
            [2, 'x'],
          ],
          weights: [1, 1],
        },
      ],
    });
    t.apply({
      contents: [
        {
          rows: [
            [1, 'new'],
            [1, 'old'],
            [2, 'x'],
            [3, 'y'],
          ],
          weights: [1, -1, -1, 1],
        },
      ],
    });
    assert.deepEqual(norm(t.snapshot().contents as Batch), norm(t.contents()));
    assert.deepEqual(norm(t.contents()), [
      ['[1, "new"]', 1],
      ['[3, "y"]', 1],
    ]);
    // and a later upsert of key 1 retracts the applied row
    const out = t.step([{ rows: [[1, 'newer']], weights: [1] }]);
    assert.deepEqual(norm(out), [
      ['[1, "new"]', -1],
      ['[1, "newer"]', 1],
    ]);
  });
});
