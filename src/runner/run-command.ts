/**
 * `holdfast run`: compiles a program, feeds input files through it in steps of N records, and prints the final
 * contents of every output view (and, with --steps, every step's changes). The engine runs in this process.
 *
 * Records from all inputs are taken in the order the --input flags are given, concatenated, and cut into steps
 * of --batch-size records (a step may hold records of several tables). Final contents do not depend on the
 * batch size. `--udf FILE` supplies the TypeScript implementing the functions the program declares without a
 * body (the `udf_ts` program field). Its command line (spec, parsing) is in run-args.ts.
 */
import { readUserFile } from '../errors/read-user-file.ts';
import { ServiceError } from '../errors/service-error.ts';
import { compileProgram, type SqlCircuit } from '../sql/program.ts';
import { rowToJson } from '../sql/records.ts';
import type { ViewSchema } from '../sql/schema.ts';
import { formatValue } from '../sql/values/format.ts';
import type { Batch } from '../zset/batch.ts';
import { encodeRow, type Row, type Value } from '../zset/value.ts';
import { type InputRecord, readInputFile } from './input-file.ts';
import type { RunOptions } from './run-args.ts';

export { parseRunArgs, RUN_SPEC, type RunOptions } from './run-args.ts';

/** Runs the command; writes results to `out`. Returns the final contents per view (for tests). */
export async function runCommand(o: RunOptions, out: (line: string) => void): Promise<Map<string, Row[]>> {
  const sql = readUserFile(o.program, 'program');
  const udfTs = o.udf === undefined ? '' : readUserFile(o.udf, 'udf_ts');
  const program = await compileProgram(sql, { udfTs });
  const circuit = program.instantiate();
  if (o.explain) {
    out(circuit.explain());
    return new Map();
  }
  const records: InputRecord[] = [];
  for (const inp of o.inputs) {
    const t = program.table(inp.table);
    if (!t) {
      throw new ServiceError(
        'UnknownInputTable',
        `--input names table '${inp.table}', which the program does not declare; tables: ${program.tables.map((x) => x.name).join(', ')}`,
        {
          name: inp.table,
        },
      );
    }
    for (const r of readInputFile(inp.path, t)) records.push(r);
  }
  const views = program.outputs;
  const totals = new Map<string, Map<string, [Row, number]>>(views.map((v) => [v.name, new Map()]));
  const runStep = (n: number, batch: Map<string, Batch>) => {
    const changes = circuit.step(batch);
    for (const v of views) {
      const b = changes.get(v.name) as Batch;
      const acc = totals.get(v.name) as Map<string, [Row, number]>;
      for (let i = 0; i < b.rows.length; i++) {
        const row = b.rows[i] as Row;
        const k = encodeRow(row);
        const e = acc.get(k);
        const w = (e?.[1] ?? 0) + (b.weights[i] as number);
        if (w === 0) acc.delete(k);
        else acc.set(k, [row, w]);
      }
      if (o.steps && b.rows.length > 0) printChanges(out, o.output, n, v, b);
    }
  };
  let stepNo = 0;
  if (records.length === 0) runStep(++stepNo, new Map());
  for (let s = 0; s < records.length; s += o.batchSize) {
    const batch = new Map<string, Batch>();
    for (const r of records.slice(s, s + o.batchSize)) {
      let b = batch.get(r.table);
      if (!b) {
        b = { rows: [], weights: [] };
        batch.set(r.table, b);
      }
      b.rows.push(r.row);
      b.weights.push(r.weight);
    }
    runStep(++stepNo, batch);
  }
  const result = new Map<string, Row[]>();
  for (const v of views) {
    const rows: Row[] = [];
    for (const [row, w] of (totals.get(v.name) as Map<string, [Row, number]>).values())
      for (let k = 0; k < w; k++) rows.push(row);
    const sorted = sortForDisplay(rows, v);
    result.set(v.name, sorted);
    printContents(out, o.output, v, sorted);
  }
  void (circuit satisfies SqlCircuit);
  return result;
}

function cell(v: Value, t: ViewSchema['columns'][number]['type']): string {
  return v === null ? 'NULL' : formatValue(v, t);
}

function sortForDisplay(rows: Row[], v: ViewSchema): Row[] {
  const keyed = rows.map((r) => ({
    r,
    k: r.map((x, i) => cell(x as Value, (v.columns[i] as ViewSchema['columns'][number]).type)).join('\u0000'),
  }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.r);
}

function printChanges(
  out: (l: string) => void,
  format: 'json' | 'text',
  step: number,
  v: ViewSchema,
  b: Batch,
): void {
  for (let i = 0; i < b.rows.length; i++) {
    const row = b.rows[i] as Row;
    const w = b.weights[i] as number;
    for (let k = 0; k < Math.abs(w); k++) {
      if (format === 'json')
        out(JSON.stringify({ step, view: v.name, [w > 0 ? 'insert' : 'delete']: rowToJson(v.columns, row) }));
      else
        out(
          `step ${step} ${v.name} ${w > 0 ? '+' : '-'} (${row.map((x, j) => cell(x as Value, (v.columns[j] as ViewSchema['columns'][number]).type)).join(', ')})`,
        );
    }
  }
}

function printContents(out: (l: string) => void, format: 'json' | 'text', v: ViewSchema, rows: Row[]): void {
  if (format === 'json') {
    for (const r of rows) out(JSON.stringify({ view: v.name, row: rowToJson(v.columns, r) }));
    return;
  }
  const header = v.columns.map((c) => c.name);
  const cells = rows.map((r) =>
    r.map((x, j) => cell(x as Value, (v.columns[j] as ViewSchema['columns'][number]).type)),
  );
  const widths = header.map((h, j) => Math.max(h.length, ...cells.map((c) => (c[j] as string).length)));
  out(`${v.name} (${rows.length} row${rows.length === 1 ? '' : 's'})`);
  out(` ${header.map((h, j) => h.padEnd(widths[j] as number)).join(' | ')}`);
  out(`-${widths.map((w) => '-'.repeat(w)).join('-+-')}-`);
  for (const c of cells) out(` ${c.map((x, j) => x.padEnd(widths[j] as number)).join(' | ')}`);
  out('');
}
