import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChangeLog } from '../../../src/circuit/change-log.ts';
import { Circuit } from '../../../src/circuit/circuit.ts';
import type { Operator } from '../../../src/circuit/operator.ts';
import { isServiceError } from '../../../src/errors/service-error.ts';
import { distinct } from '../../../src/operators/distinct.ts';
import { filter } from '../../../src/operators/filter.ts';
import { integrate } from '../../../src/operators/integrate.ts';
import { map } from '../../../src/operators/map.ts';
import { unionAll } from '../../../src/operators/union-all.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { assertZ, ins, z } from '../operators/support.ts';

/** An operator that records the order in which nodes step. */
function probe(name: string, log: string[], arity = 1): Operator {
  return {
    kind: `probe-${name}`,
    arity,
    step(inputs: readonly Batch[]): Batch {
      log.push(name);
      return inputs[0] ?? { rows: [], weights: [] };
    },
  };
}

function isCode(code: string): (e: unknown) => boolean {
  return (e) => isServiceError(e) && e.errorCode === code;
}

describe('Circuit', () => {
  test('nodes step once per step in insertion (topological) order', () => {
    const c = new Circuit();
    const log: string[] = [];
    const a = c.addSource('a');
    const b = c.addSource('b');
    const p1 = c.add(probe('p1', log), [a]);
    const p2 = c.add(probe('p2', log), [b]);
    const p3 = c.add(probe('p3', log, 2), [p2, p1]);
    c.step(new Map(), [p3]);
    c.step(new Map([['a', ins([1])]]), [p3]);
    assert.deepEqual(log, ['p1', 'p2', 'p3', 'p1', 'p2', 'p3']);
    assert.equal(c.steps, 2);
    assert.equal(c.nodeCount, 5);
  });

  test('each node sees its inputs of the same step; absent sources are empty', () => {
    const c = new Circuit();
    const a = c.addSource('a');
    const b = c.addSource('b');
    const fa = c.add(
      filter((r) => (r[0] as number) > 1),
      [a],
    );
    const mb = c.add(
      map((r) => [(r[0] as number) * 10]),
      [b],
    );
    const u = c.add(unionAll(2), [fa, mb]);
    const i = c.add(integrate(), [u]);
    let out = c.step(new Map([['a', ins([1], [2], [3])]]), [u, i, mb]);
    assertZ(out.get(u) as Batch, [
      [[2], 1],
      [[3], 1],
    ]);
    assertZ(out.get(mb) as Batch, []);
    out = c.step(new Map([['b', ins([4])]]), [u, i]);
    assertZ(out.get(u) as Batch, [[[40], 1]]);
    assertZ(out.get(i) as Batch, [
      [[2], 1],
      [[3], 1],
      [[40], 1],
    ]);
    assert.deepEqual([...out.keys()], [u, i]);
  });

  test('construction errors: duplicate source, wrong arity, forward input', () => {
    const c = new Circuit();
    const a = c.addSource('a');
    assert.throws(() => c.addSource('a'), /duplicate source/);
    assert.throws(() => c.add(unionAll(2), [a]), /takes 2 inputs/);
    assert.throws(() => c.add(distinct(), [5]), /does not exist/);
    assert.throws(() => c.add(distinct(), [-1]), /does not exist/);
  });

  test('an unknown input table fails with UnknownInputTable and runs nothing', () => {
    const c = new Circuit();
    const a = c.addSource('a');
    const d = c.add(distinct(), [a]);
    assert.throws(() => c.step(new Map([['nope', ins([1])]]), [d]), isCode('UnknownInputTable'));
    assert.equal(c.steps, 0);
    assertZ(c.step(new Map([['a', ins([1])]]), [d]).get(d) as Batch, [[[1], 1]]);
  });

  test('stateKeys and snapshot name stateful nodes n<index>:<kind>', () => {
    const c = new Circuit();
    const a = c.addSource('a');
    const f = c.add(
      filter(() => true),
      [a],
    );
    const d = c.add(distinct(), [f]);
    c.add(integrate(), [d]);
    assert.deepEqual(c.stateKeys(), ['n2:distinct', 'n3:integrate']);
    c.step(new Map([['a', z([['x'], 2])]]), []);
    const s = c.snapshot();
    assert.equal(s.steps, 1);
    assert.deepEqual(Object.keys(s.operators), ['n2:distinct', 'n3:integrate']);
    assertZ(s.operators['n2:distinct']?.input as Batch, [[['x'], 2]]);
    assertZ(s.operators['n3:integrate']?.input as Batch, [[['x'], 1]]);
  });

  function build(): { c: Circuit; d: number; i: number } {
    const c = new Circuit();
    const a = c.addSource('a');
    const d = c.add(distinct(), [a]);
    const i = c.add(integrate(), [d]);
    return { c, d, i };
  }

  test('restore into a fresh circuit continues like the original and restores the step count', () => {
    const x = build();
    x.c.step(new Map([['a', ins(['p'], ['q'])]]), []);
    x.c.step(new Map([['a', ins(['p'])]]), []);
    const snap = x.c.snapshot();
    const y = build();
    y.c.restore(snap);
    assert.equal(y.c.steps, 2);
    const input = new Map([['a', z([['p'], -1], [['q'], -1])]]);
    const ox = x.c.step(input, [x.d, x.i]);
    const oy = y.c.step(input, [y.d, y.i]);
    assertZ(oy.get(y.d) as Batch, [[['q'], -1]]);
    assert.deepEqual(oy.get(y.d), ox.get(x.d));
    assertZ(oy.get(y.i) as Batch, [[['p'], 1]]);
  });

  test('restore into a circuit that has already stepped fails with StateRestoreError', () => {
    const x = build();
    x.c.step(new Map(), []);
    const snap = x.c.snapshot();
    const y = build();
    y.c.step(new Map(), []);
    assert.throws(() => y.c.restore(snap), isCode('StateRestoreError'));
  });

  test('a snapshot with state for an unknown operator fails with StateRestoreError', () => {
    const x = build();
    const snap = x.c.snapshot();
    const bad = { steps: 0, operators: { ...snap.operators, 'n9:join': { left: ins([1]) } } };
    assert.throws(() => build().c.restore(bad), isCode('StateRestoreError'));
    const renamed = { steps: 0, operators: { 'n1:integrate': snap.operators['n1:distinct'] ?? {} } };
    assert.throws(() => build().c.restore(renamed), isCode('StateRestoreError'));
  });

  test('a base snapshot missing an operator fails with StateRestoreError', () => {
    const x = build();
    const snap = x.c.snapshot();
    const partial = { steps: 0, operators: { 'n1:distinct': snap.operators['n1:distinct'] ?? {} } };
    assert.throws(() => build().c.restore(partial), isCode('StateRestoreError'));
  });

  test('trackChanges + takeDelta: base plus deltas restore to the same state', () => {
    const x = build();
    x.c.trackChanges(true);
    x.c.step(new Map([['a', ins(['p'], ['q'])]]), []);
    const base = x.c.snapshot();
    x.c.step(new Map([['a', z([['p'], -1], [['r'], 3])]]), []);
    const d1 = x.c.takeDelta();
    assert.equal(d1.steps, 2);
    assertZ(d1.operators['n1:distinct']?.input as Batch, [
      [['p'], -1],
      [['r'], 3],
    ]);
    x.c.step(new Map([['a', ins(['s'])]]), []);
    const d2 = x.c.takeDelta();
    const y = build();
    y.c.restore(base, [d1, d2]);
    assert.equal(y.c.steps, 3);
    assert.deepEqual(y.c.snapshot().operators['n1:distinct'], x.c.snapshot().operators['n1:distinct']);
    const ox = x.c.step(new Map(), [x.i]);
    const oy = y.c.step(new Map(), [y.i]);
    assertZ(oy.get(y.i) as Batch, [
      [['q'], 1],
      [['r'], 1],
      [['s'], 1],
    ]);
    assert.deepEqual(oy.get(y.i), ox.get(x.i));
  });

  test('operators added after trackChanges(true) are tracked too', () => {
    const c = new Circuit();
    c.trackChanges(true);
    const a = c.addSource('a');
    c.add(distinct(), [a]);
    c.snapshot();
    c.step(new Map([['a', ins([1])]]), []);
    assertZ(c.takeDelta().operators['n1:distinct']?.input as Batch, [[[1], 1]]);
  });

  test('describe lists one node per line', () => {
    const { c } = build();
    assert.equal(c.describe(), 'n0 source:a()\nn1 distinct(n0)\nn2 integrate(n1)');
  });
});

describe('ChangeLog', () => {
  test('records only when enabled and consolidates on take', () => {
    const l = new ChangeLog();
    l.record(['a'], 1);
    assertZ(l.take(), []);
    l.enabled = true;
    l.record(['a'], 1);
    l.record(['b'], 2);
    l.record(['a'], -1);
    assertZ(l.take(), [[['b'], 2]]);
    assertZ(l.take(), []);
    l.record(['c'], 1);
    l.reset();
    assertZ(l.take(), []);
  });
});
