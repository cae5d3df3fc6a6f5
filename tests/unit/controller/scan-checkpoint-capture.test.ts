/**
 * The operators that scan their trace (distinct, set operations, OVER, ASOF, session windows, emit-final) through
 * the real `Checkpointer` and store while steps keep running: the capture freezes their heads, the write builds
 * them in slices between steps (so later steps read a frozen head first as it is, then as its built batch), and
 * every checkpoint — full, then incremental — restored into a fresh circuit holds exactly the operator states of a
 * circuit that ran only the steps before its capture, and steps on from there with the same outputs.
 * Randomised: `SEED=n` to replay.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CircuitSnapshot } from '../../../src/circuit/circuit.ts';
import { StoreCheckpointWriter } from '../../../src/controller/store-writer.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { setTraceHeadMin } from '../../../src/zset/trace.ts';
import { encodeRow, type Row } from '../../../src/zset/value.ts';
import { mulberry32, norm, randInt } from '../operators/support.ts';
import { CODECS, withTempDir } from '../storage/support.ts';
import { liveCheckpointer } from './support.ts';

const seed = Number(process.env.SEED ?? 1616);
console.log(`scan checkpoint capture seed ${seed}`);

const T0 = Date.UTC(2024, 0, 1) * 1000;
const SEC = 1_000_000;

const program = await compileProgram(`
CREATE TABLE ev (k INT NOT NULL, ts TIMESTAMP NOT NULL LATENESS INTERVAL 2 SECONDS, v INT NOT NULL);
CREATE TABLE q (k INT NOT NULL, ts TIMESTAMP NOT NULL, p INT NOT NULL);
CREATE TABLE o (k INT NOT NULL, v INT NOT NULL);
CREATE VIEW dist_late AS SELECT DISTINCT k, ts FROM ev;
CREATE VIEW dist AS SELECT DISTINCT k, v FROM ev;
CREATE VIEW ex AS SELECT k, v FROM ev EXCEPT SELECT k, v FROM o;
CREATE VIEW isect AS SELECT k, v FROM ev INTERSECT SELECT k, v FROM o;
CREATE VIEW roll AS SELECT k, ts, v, SUM(v) OVER (PARTITION BY k ORDER BY ts
  RANGE BETWEEN INTERVAL 1 SECOND PRECEDING AND CURRENT ROW) AS s FROM ev;
CREATE VIEW aj AS SELECT ev.k, ev.ts, ev.v, q.p FROM ev LEFT ASOF JOIN q MATCH_CONDITION (ev.ts >= q.ts) ON ev.k = q.k;
CREATE VIEW sw AS SELECT k, ts, v, window_start, window_end
  FROM TABLE(SESSION(TABLE ev, DESCRIPTOR(ts), DESCRIPTOR(k), INTERVAL '0.4' SECOND));
CREATE VIEW fin WITH ('emit_final' = 'ts') AS SELECT k, ts, v FROM ev WHERE v > 10;
`);

type Input = Map<string, Batch>;

/** Step t: ev rows in [t − 1, t + 1) s (tenths), some q and o rows, and retractions of a few earlier rows. */
function randomStep(rnd: () => number, t: number, sent: Row[]): Input {
  const time = () => T0 + Math.floor((t / 4 - 1 + rnd() * 2) * 10) * (SEC / 10);
  const ev: Batch = { rows: [], weights: [] };
  for (let i = randInt(rnd, 0, 40); i > 0; i--) {
    if (sent.length > 0 && rnd() < 0.1) {
      // a retraction of a recent row (never below the waterline: within the last few steps)
      const j = sent.length - 1 - randInt(rnd, 0, Math.min(sent.length - 1, 20));
      const [row] = sent.splice(j, 1) as [Row];
      ev.rows.push(row);
      ev.weights.push(-1);
      continue;
    }
    const row: Row = [randInt(rnd, 0, 7), time(), randInt(rnd, 0, 30)];
    sent.push(row);
    ev.rows.push(row);
    ev.weights.push(1);
  }
  const q: Batch = { rows: [], weights: [] };
  for (let i = randInt(rnd, 0, 5); i > 0; i--) {
    q.rows.push([randInt(rnd, 0, 7), time(), randInt(rnd, 0, 99)]);
    q.weights.push(1);
  }
  const o: Batch = { rows: [], weights: [] };
  for (let i = randInt(rnd, 0, 5); i > 0; i--) {
    o.rows.push([randInt(rnd, 0, 7), randInt(rnd, 0, 30)]);
    o.weights.push(1);
  }
  return new Map([
    ['ev', ev],
    ['q', q],
    ['o', o],
  ]);
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

const outputs = (out: Map<string, Batch>): string[] =>
  [...out]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([v, b]) => b.rows.map((r, i) => `${v} ${encodeRow(r)} ${b.weights[i]}`));

async function run(headMin: number): Promise<void> {
  const old = setTraceHeadMin(headMin);
  try {
    await withTempDir(async (dir) => {
      const rnd = mulberry32(seed + headMin);
      const sent: Row[] = [];
      const inputs: Input[] = [];
      const outs: string[][] = [];
      const live = program.instantiate();
      const { cp, errors } = await liveCheckpointer(dir, live, () => inputs.length, 'scan-capture-test');
      const step = () => {
        const input = randomStep(rnd, inputs.length, sent);
        inputs.push(input);
        outs.push(outputs(live.step(input)));
      };
      for (let i = 0; i < 40; i++) step();
      for (let round = 0; round < 5; round++) {
        const at = inputs.length;
        cp.request();
        cp.capture();
        // the circuit keeps stepping before the write has started, and between the write's slices
        for (let i = randInt(rnd, 1, 15); i > 0; i--) step();
        const writing = cp.flush();
        for (let i = randInt(rnd, 0, 4); i > 0; i--) {
          await new Promise((r) => setImmediate(r));
          step();
        }
        await writing;
        assert.deepEqual(errors, []);
        const { latest } = await StoreCheckpointWriter.open(dir, CODECS, () => {});
        assert.ok(latest !== null);
        assert.equal(latest.entry.processed_records, at);
        const restored = program.instantiate();
        restored.restore(latest.snapshot, latest.deltas);
        const reference = program.instantiate();
        for (const input of inputs.slice(0, at)) reference.step(input);
        assert.deepEqual(
          stateOf(restored.snapshot()),
          stateOf(reference.snapshot()),
          `checkpoint ${round} (captured after step ${at})`,
        );
        // and it goes on as the live circuit went on (the same outputs, in the same order)
        for (let s = at; s < inputs.length; s++)
          assert.deepEqual(
            outputs(restored.step(inputs[s] as Input)),
            outs[s],
            `checkpoint ${round}: step ${s} after the restore`,
          );
        for (let i = randInt(rnd, 0, 10); i > 0; i--) step();
      }
      assert.ok(inputs.length > 60);
    });
  } finally {
    setTraceHeadMin(old);
  }
}

test('scanning operators: checkpoints taken while steps run restore the state at their capture (heads 65536)', async () => {
  await run(65536);
});

test('scanning operators: the same with tiny heads (seals and merges between captures; heads 16)', async () => {
  await run(16);
});
