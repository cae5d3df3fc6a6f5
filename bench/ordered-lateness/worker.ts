/**
 * One run of the ordered-lateness suite (a fresh process): `node worker.ts <late|plain> <steps> <rows>`. Streams
 * `steps` steps of `rows` events (times within the step's second, never late for 5 s of lateness) plus the
 * retraction of 5% of the previous step's events into `ORDER BY ts DESC LIMIT 10` and `ORDER BY ts LIMIT 10`
 * views, with or without `LATENESS` on `ts`, and prints `RESULT {cpuS, stateRows, heapMiB, digest}`.
 */
import { compileProgram } from '../../src/sql/program.ts';
import { encodeRow, type Row } from '../../src/zset/value.ts';

const [mode, stepsArg, rowsArg] = process.argv.slice(2);
const STEPS = Number(stepsArg);
const ROWS = Number(rowsArg);
const late = mode === 'late';
const program = `CREATE TABLE ev (k INT NOT NULL, ts TIMESTAMP NOT NULL${late ? ' LATENESS INTERVAL 5 SECONDS' : ''}, v INT NOT NULL);
CREATE VIEW latest AS SELECT k, ts, v FROM ev ORDER BY ts DESC LIMIT 10;
CREATE VIEW oldest AS SELECT k, ts, v FROM ev ORDER BY ts LIMIT 10;`;
const p = await compileProgram(program);
const c = p.instantiate();
const T0 = Date.UTC(2026, 0, 1) * 1000;
let seed = 12345;
const rnd = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const out = new Map<string, number>();
let prev: Row[] = [];
globalThis.gc?.();
const t0 = process.cpuUsage();
for (let s = 0; s < STEPS; s++) {
  const rows: Row[] = [];
  for (let i = 0; i < ROWS; i++)
    rows.push([Math.floor(rnd() * 100), T0 + Math.floor((s + rnd()) * 1e6), Math.floor(rnd() * 1000)]);
  const gone = prev.slice(0, Math.floor(ROWS / 20));
  const r = c.step(
    new Map([['ev', { rows: [...rows, ...gone], weights: [...rows.map(() => 1), ...gone.map(() => -1)] }]]),
  );
  for (const [view, b] of r)
    b.rows.forEach((row, i) => {
      const key = `${view} ${encodeRow(row)}`;
      const w = (out.get(key) ?? 0) + (b.weights[i] as number);
      if (w === 0) out.delete(key);
      else out.set(key, w);
    });
  prev = rows;
}
const u = process.cpuUsage(t0);
let stateRows = 0;
for (const parts of Object.values(c.snapshot().operators))
  for (const b of Object.values(parts)) stateRows += b.rows.length;
globalThis.gc?.();
console.log(
  `RESULT ${JSON.stringify({
    cpuS: (u.user + u.system) / 1e6,
    stateRows,
    heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576),
    digest: [...out]
      .map(([k, w]) => `${k}:${w}`)
      .sort()
      .join('|'),
  })}`,
);
