/**
 * CPU seconds (user+sys) of the orders table's input operator alone under workload C (`mixed`: 70% inserts,
 * 20% updates, 10% deletes; 1,000,000 changes in batches of 1000 by default): the table's lookups, head and seals.
 * `npx node bench/engine/table-cpu.ts [changes] [batch] [root]`; `root` (default: this checkout) lets the same
 * script time another checkout's operator, for A/B runs at the same load.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DELETE, makeChanges } from './workload.ts';

const changes = Number(process.argv[2] ?? 1_000_000);
const batch = Number(process.argv[3] ?? 1000);
const root = resolve(process.argv[4] ?? new URL('../..', import.meta.url).pathname);
const mod = await import(pathToFileURL(resolve(root, 'src/operators/table-input.ts')).href);
// the seals' share: the trace's step-end seal check, timed on its own
const { Trace } = await import(pathToFileURL(resolve(root, 'src/zset/trace.ts')).href);
const maybeSeal = Trace.prototype.maybeSeal;
let sealCpu = 0;
Trace.prototype.maybeSeal = function (this: unknown): void {
  const c = process.cpuUsage();
  maybeSeal.call(this);
  const d = process.cpuUsage(c);
  sealCpu += d.user + d.system;
};
const op = mod.tableInput({ primaryKey: [0], materialized: true, typedColumns: true });
const s = makeChanges('mixed', changes, 42);
let cpu = 0;
let outRows = 0;
const t0 = performance.now();
for (let from = 0; from < changes; from += batch) {
  const to = Math.min(changes, from + batch);
  const rows: unknown[][] = [];
  const weights: number[] = [];
  for (let i = from; i < to; i++) {
    rows.push([s.orderId[i], s.customerId[i], s.amount[i]]);
    weights.push(s.kind[i] === DELETE ? -1 : 1);
  }
  const c = process.cpuUsage();
  const out = op.step([{ rows, weights }]);
  const d = process.cpuUsage(c);
  cpu += d.user + d.system;
  outRows += out.rows.length;
}
const wall = performance.now() - t0;
console.log(
  JSON.stringify({
    root,
    changes,
    batch,
    cpuSeconds: cpu / 1e6,
    sealCpuSeconds: sealCpu / 1e6,
    wallSeconds: wall / 1e3,
    outRows,
  }),
);
