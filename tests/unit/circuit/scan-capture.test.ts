/**
 * Issue 16: a checkpoint's capture is O(1) for the operators that scan their trace too — distinct, set
 * operations, OVER (window-agg: rolling aggregates, LAG), the ASOF join, session windows, emit-final and the
 * fixpoint's input integrals. For SQL programs using each of them (with LATENESS, so that steps after the
 * capture run the range reads of distinct, emit-final and session windows):
 *
 * - a snapshot taken while every trace's head holds the state (nothing sealed yet) seals nothing: each of
 *   those operators' trace states is the frozen head, a pending batch not built (a count, not a time);
 * - later steps (waterlines rising, keys read, rows added and discarded) do not build it either;
 * - once built (as a checkpoint does, in slices), the snapshot restores a circuit whose state equals that of a
 *   circuit that ran only the steps before the capture, and whose outputs over the following steps are the
 *   original's, row for row and in the same order.
 *
 * Seeds are fixed (in the test names).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CircuitSnapshot } from '../../../src/circuit/circuit.ts';
import { compileProgram, type Program } from '../../../src/sql/program.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { TraceParts } from '../../../src/zset/trace.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';
import { mulberry32, norm } from '../operators/support.ts';
import { InputGen, PROGRAMS, programOf } from './sql-programs.ts';

const T0 = Date.UTC(2024, 0, 1) * 1000;
const SEC = 1_000_000;

/** The operators this test is about (the kinds of their snapshot keys, `n<id>:<kind>`). */
const SCANNING = [
  'distinct',
  'except',
  'intersect_all',
  'window-agg',
  'asof-join',
  'session-window',
  'emit-final',
];

const STREAM = `
CREATE TABLE ev (k INT NOT NULL, ts TIMESTAMP NOT NULL LATENESS INTERVAL 2 SECONDS, v INT NOT NULL);
CREATE TABLE q (k INT NOT NULL, ts TIMESTAMP NOT NULL, p INT NOT NULL);
CREATE TABLE o (k INT NOT NULL, v INT NOT NULL);
CREATE TABLE ev2 (a TIMESTAMP NOT NULL LATENESS INTERVAL 2 SECONDS, b TIMESTAMP NOT NULL LATENESS INTERVAL 1 SECONDS,
  v INT NOT NULL);
CREATE VIEW dist_late AS SELECT DISTINCT k, ts FROM ev;
CREATE VIEW dist_two AS SELECT DISTINCT a, b, v FROM ev2;
CREATE VIEW dist AS SELECT DISTINCT k, v FROM ev;
CREATE VIEW ex AS SELECT k, v FROM ev EXCEPT SELECT k, v FROM o;
CREATE VIEW isect AS SELECT k, v FROM ev INTERSECT ALL SELECT k, v FROM o;
CREATE VIEW roll AS SELECT k, ts, v, SUM(v) OVER (PARTITION BY k ORDER BY ts
  RANGE BETWEEN INTERVAL 1 SECOND PRECEDING AND CURRENT ROW) AS s FROM ev;
CREATE VIEW lagged AS SELECT k, ts, v, LAG(v) OVER (PARTITION BY k ORDER BY ts) AS pv FROM ev;
CREATE VIEW aj AS SELECT ev.k, ev.ts, ev.v, q.p FROM ev LEFT ASOF JOIN q MATCH_CONDITION (ev.ts >= q.ts) ON ev.k = q.k;
CREATE VIEW sess AS SELECT k, window_start, window_end, COUNT(*) AS n, SUM(v) AS s
  FROM TABLE(SESSION(TABLE ev, DESCRIPTOR(ts), DESCRIPTOR(k), INTERVAL '0.4' SECOND)) GROUP BY k, window_start, window_end;
CREATE VIEW sw AS SELECT k, ts, v, window_start, window_end
  FROM TABLE(SESSION(TABLE ev, DESCRIPTOR(ts), DESCRIPTOR(k), INTERVAL '0.4' SECOND));
CREATE VIEW fin WITH ('emit_final' = 'ts') AS SELECT k, ts, v FROM ev WHERE v > 10;
`;

/**
 * Step s of the stream: `n` rows of ev with times in [s − 1, s + 1) s (never late; tenths of a second), some q and
 * o rows, `n` ev2 rows, and retractions of a few of step s − 1's rows.
 */
function stream(seed: number, n: number, keys: number): (s: number) => Map<string, Batch> {
  const made: Array<{ ev: Row[]; q: Row[]; o: Row[]; ev2: Row[] }> = [];
  return (s) => {
    while (made.length <= s) {
      const rnd = mulberry32(seed * 1000 + made.length);
      const t = made.length;
      // in tenths of a second: rows of equal time are common (their output order is checked)
      const time = () => T0 + Math.floor((t - 1 + rnd() * 2) * 10) * (SEC / 10);
      const k = () => Math.floor(rnd() * keys);
      made.push({
        ev: Array.from({ length: n }, () => [k(), time(), Math.floor(rnd() * 40)]),
        q: Array.from({ length: n >> 2 }, () => [k(), time(), Math.floor(rnd() * 100)]),
        o: Array.from({ length: n >> 2 }, () => [k(), Math.floor(rnd() * 40)]),
        // b up to 0.2 s behind a, with a shorter LATENESS: rows fall below b's waterline while a's is above them
        // (distinct's sweep finds those)
        // (times ten times slower than ev's: the state grows past the sweep's minimum, 1,024 rows)
        ev2: Array.from({ length: 2 * n }, () => {
          const a = T0 + Math.floor((t / 10 - 1 + rnd() * 2) * 10) * (SEC / 10);
          return [a, a - Math.floor(rnd() * 3) * (SEC / 10), Math.floor(rnd() * 1000)];
        }),
      });
    }
    const cur = made[s] as { ev: Row[]; q: Row[]; o: Row[]; ev2: Row[] };
    const prev = made[s - 1];
    const out = new Map<string, Batch>();
    for (const name of ['ev', 'q', 'o', 'ev2'] as const) {
      const rows: Row[] = [...cur[name]];
      const weights = rows.map(() => 1);
      if (prev !== undefined)
        for (let i = 0; i < 3 && i < prev[name].length; i++) {
          rows.push(prev[name][i] as Row);
          weights.push(-1);
        }
      out.set(name, { rows, weights });
    }
    return out;
  };
}

/** Every operator state as normalized rows (the state's content, whatever its batches). */
function stateOf(s: CircuitSnapshot): Record<string, Record<string, Array<[string, number]>>> {
  const o: Record<string, Record<string, Array<[string, number]>>> = {};
  for (const [k, st] of Object.entries(s.operators)) {
    const x: Record<string, Array<[string, number]>> = {};
    for (const [n, b] of Object.entries(st)) x[n] = norm(b);
    o[k] = x;
  }
  return o;
}

/** The outputs of one step, in the order the circuit emitted them (view by view, row by row). */
function exact(out: Map<string, Batch>): string[] {
  return [...out]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([v, b]) => b.rows.map((r, i) => `${v} ${encodeRow(r)} ${b.weights[i]}`));
}

/** The scanning operators' trace states in `snap`, by snapshot key and state name. */
function scanningParts(snap: CircuitSnapshot, kinds: readonly string[]): Array<[string, TraceParts]> {
  const out: Array<[string, TraceParts]> = [];
  for (const [k, st] of Object.entries(snap.operators)) {
    const kind = k.slice(k.indexOf(':') + 1);
    if (!kinds.includes(kind)) continue;
    for (const [name, b] of Object.entries(st)) {
      if (name === 'meta') continue; // the fixpoint's flag, not a trace
      assert.ok(b instanceof TraceParts, `${k}.${name}: a trace state`);
      out.push([`${k}.${name}`, b]);
    }
  }
  return out;
}

async function check(
  program: Program,
  input: (s: number) => Map<string, Batch>,
  kinds: readonly string[],
  before: number,
  after: number,
  settleFirst = false,
): Promise<void> {
  const a = program.instantiate();
  for (let s = 0; s < before; s++) a.step(input(s));
  const snap = a.snapshot();
  const parts = scanningParts(snap, kinds);
  const seen = new Set(parts.map(([k]) => k.slice(k.indexOf(':') + 1, k.indexOf('.'))));
  for (const kind of kinds) assert.ok(seen.has(kind), `the program runs a ${kind} operator`);
  // the heads held everything (nothing sealed before): the capture froze them and built nothing; every state
  // that does not is listed (so a failure names each operator that sealed)
  let frozen = 0;
  const sealed: string[] = [];
  for (const [k, p] of parts) {
    if (p.entryCount === 0) continue;
    if (p.pending.length !== 1 || p.pending[0]?.built !== false) sealed.push(k);
    frozen += p.pending[0]?.entries ?? 0;
  }
  assert.deepEqual(sealed, [], 'states the snapshot sealed (or built) instead of freezing their head');
  assert.ok(frozen > 1000, `a big frozen state (${frozen} entries)`);
  // steps after the capture (waterlines rise: range reads, discards, keys read again) build nothing
  // the checkpoint may build the frozen heads before the next step (then steps read the built batches, unpushed)
  if (settleFirst) for (const [, p] of parts) await p.settle();
  const outA: string[][] = [];
  for (let s = before; s < before + after; s++) outA.push(exact(a.step(input(s))));
  if (!settleFirst) {
    const built = parts.filter(([, p]) => p.pending.some((pb) => pb.built)).map(([k]) => k);
    assert.deepEqual(built, [], 'states whose frozen head a step after the capture built');
  }
  // the checkpoint builds them in slices; the snapshot is the state at the capture
  for (const [, p] of parts) await p.settle();
  const restored = program.instantiate();
  restored.restore(snap);
  const only = program.instantiate();
  for (let s = 0; s < before; s++) only.step(input(s));
  assert.deepEqual(
    stateOf(restored.snapshot()),
    stateOf(only.snapshot()),
    'restored state = the steps before',
  );
  for (let s = before; s < before + after; s++) {
    const x = input(s);
    const want = outA[s - before] as string[];
    assert.deepEqual(exact(restored.step(x)), want, `step ${s}: the restored circuit's output (in order)`);
    assert.deepEqual(
      exact(only.step(x)).sort(),
      [...want].sort(),
      `step ${s}: the steps-before circuit's output`,
    );
  }
}

describe('a checkpoint capture of the operators that scan their trace seals nothing (issue 16)', () => {
  test('distinct, EXCEPT/INTERSECT, OVER, ASOF, SESSION, emit_final under LATENESS (seed 16)', async () => {
    const program = await compileProgram(STREAM);
    await check(program, stream(16, 200, 6), SCANNING, 12, 14);
  });

  test('the same, with the frozen heads built before the next step (read as their built batches; seed 17)', async () => {
    const program = await compileProgram(STREAM);
    await check(program, stream(17, 200, 6), SCANNING, 12, 14, true);
  });

  test('the fixpoint (recursive views; SEED=1616)', async () => {
    const p = PROGRAMS.find((x) => x.name === 'recursive');
    assert.ok(p !== undefined);
    const program = await programOf(p);
    const gen = new InputGen(1616, p.tables);
    const steps: Map<string, Batch>[] = [];
    const input = (s: number): Map<string, Batch> => {
      while (steps.length <= s) steps.push(gen.next(steps.length < 8 ? 400 : 4));
      return steps[s] as Map<string, Batch>;
    };
    await check(program, input, ['fixpoint'], 8, 5);
  });
});
