import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { differentiate } from '../../../src/operators/differentiate.ts';
import { integrate, materialize } from '../../../src/operators/integrate.ts';
import { type Batch, emptyBatch } from '../../../src/zset/batch.ts';
import { traceBatchesOf } from '../../../src/zset/trace.ts';
import { assertZ, del, ins, mulberry32, norm, randInt, step1, z } from './support.ts';

function randomBatch(rnd: () => number): Batch {
  const b = emptyBatch();
  for (let i = randInt(rnd, 0, 4); i > 0; i--) {
    b.rows.push([randInt(rnd, 0, 4), rnd() < 0.2 ? null : 'v']);
    b.weights.push(randInt(rnd, -2, 2) || 1);
  }
  return b;
}

describe('integrate', () => {
  test('outputs the running sum', () => {
    const op = integrate();
    assertZ(step1(op, ins(['a'], ['b'])), [
      [['a'], 1],
      [['b'], 1],
    ]);
    assertZ(step1(op, z([['a'], 2], [['b'], -1])), [[['a'], 3]]);
    assertZ(step1(op), [[['a'], 3]]);
    assertZ(op.contents(), [[['a'], 3]]);
  });

  test('snapshot, restore from parts, deltas', () => {
    const op = integrate();
    op.trackChanges(true);
    step1(op, ins(['a']));
    const base = op.snapshot();
    step1(op, z([['a'], -1], [['b'], 2]));
    const d = op.takeDelta();
    assertZ(d.input as Batch, [
      [['a'], -1],
      [['b'], 2],
    ]);
    const r = integrate();
    r.restore({ input: [base.input as Batch, d.input as Batch] });
    assertZ(r.contents(), [[['b'], 2]]);
    assertZ(step1(r, ins(['c'])), [
      [['b'], 2],
      [['c'], 1],
    ]);
  });
});

describe('materialize', () => {
  test('passes changes through and keeps the integral', () => {
    const op = materialize();
    assert.equal(op.kind, 'materialize');
    const input = z([['a'], 2], [['b'], 1]);
    assert.equal(step1(op, input), input);
    assertZ(step1(op, del(['b'])), [[['b'], -1]]);
    assertZ(op.contents(), [[['a'], 2]]);
    const r = materialize();
    r.restore({ input: [op.snapshot().input as Batch] });
    assertZ(r.contents(), [[['a'], 2]]);
  });
  test('the integral is a trace: a snapshot is its sealed batches, a restore adopts them without decoding', () => {
    const m = materialize();
    const b = emptyBatch();
    for (let i = 0; i < 5000; i++) {
      b.rows.push([i % 700, `name-${i % 700}`]);
      b.weights.push(1);
    }
    step1(m, b);
    step1(m, del([3, 'name-3']));
    const snap = m.snapshot();
    const sealed = traceBatchesOf(snap.input as Batch);
    assert.ok(sealed !== null && sealed.length > 0, 'state "input" is sealed trace batches');
    assert.equal(
      sealed.reduce((a, tb) => a + tb.length, 0),
      700,
      'one entry per distinct row',
    );
    const r = materialize();
    r.restore({ input: [snap.input as Batch] });
    assert.equal(r.entryCount, 700);
    assert.deepEqual(norm(r.contents()), norm(m.contents()));
    // and it goes on from there
    assert.deepEqual(norm(step1(r, ins([3, 'name-3']))), norm(step1(m, ins([3, 'name-3']))));
    assert.deepEqual(norm(r.contents()), norm(m.contents()));
  });
});

describe('differentiate', () => {
  test('outputs x_t - x_(t-1)', () => {
    const op = differentiate();
    assertZ(step1(op, ins(['a'], ['b'])), [
      [['a'], 1],
      [['b'], 1],
    ]);
    assertZ(step1(op, ins(['a'], ['c'])), [
      [['b'], -1],
      [['c'], 1],
    ]);
    assertZ(step1(op, ins(['a'], ['c'])), []);
    assertZ(step1(op), [
      [['a'], -1],
      [['c'], -1],
    ]);
  });

  test('D(I(x)) = x over random streams, across snapshot/restore with deltas', () => {
    const rnd = mulberry32(42);
    let i = integrate();
    let d = differentiate();
    i.trackChanges(true);
    d.trackChanges(true);
    let baseI = i.snapshot();
    let baseD = d.snapshot();
    for (let s = 0; s < 120; s++) {
      const x = randomBatch(rnd);
      assert.deepEqual(norm(step1(d, step1(i, x))), norm(x), `D(I(x)) step ${s}`);
      if (s % 25 === 24) {
        const di = i.takeDelta();
        const dd = d.takeDelta();
        const ni = integrate();
        const nd = differentiate();
        ni.restore({ input: [baseI.input as Batch, di.input as Batch] });
        nd.restore({ previous: [baseD.previous as Batch, dd.previous as Batch] });
        assert.deepEqual(norm(ni.contents()), norm(i.contents()));
        assert.deepEqual(norm(nd.snapshot().previous as Batch), norm(d.snapshot().previous as Batch));
        i = ni;
        d = nd;
        i.trackChanges(true);
        d.trackChanges(true);
        baseI = i.snapshot();
        baseD = d.snapshot();
      }
    }
  });

  test('I(D(x)) = x for a stream of whole relations', () => {
    const rnd = mulberry32(43);
    const whole = integrate();
    const d = differentiate();
    const i = integrate();
    for (let s = 0; s < 80; s++) {
      const rel = step1(whole, randomBatch(rnd));
      assert.deepEqual(norm(step1(i, step1(d, rel))), norm(rel), `step ${s}`);
    }
  });
});
