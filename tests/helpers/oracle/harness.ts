/**
 * Runs oracle cases: one generated program and batch sequence, executed by Holdfast and by Postgres (PGlite),
 * compared after every step.
 *
 * Each case runs twice: "atomic" (each generated batch is one engine step) and "split" (the same changes one
 * row per step). After every step the integral of each view's emitted changes must equal `SELECT * FROM view`
 * in Postgres over the current tables. Each step's change must be consolidated (no repeated row, no zero
 * weight) and the integral must never hold a negative or non-integral weight; together with equality of the
 * integrals after every step this proves that each emitted change is exactly new − old.
 *
 * On failure the case is shrunk (unrelated views and tables dropped, then batches, then rows, while it keeps
 * failing on the same view, bounded by time) and reported with the seed, the SQL program and the batches.
 */
import {
  compileProgram,
  formatValue,
  rowFromJson,
  type TableSchema,
  type ViewSchema,
} from '../../../src/sql/program.ts';
import type { SqlType } from '../../../src/sql/sql-type.ts';
import type { Batch } from '../../../src/zset/batch.ts';
import { encodeRow, type Row, type Value } from '../../../src/zset/value.ts';
import {
  type CanonRow,
  type ColClass,
  canonicalValue,
  classOfOid,
  compareRows,
  formatRow,
} from './compare.ts';
import {
  DEFAULT_CONFIG,
  type Focus,
  type GenConfig,
  type GenValue,
  generateCase,
  type Op,
  type OracleCase,
  programSql,
  type Step,
  type TableDef,
  validSteps,
  valueSql,
} from './generate.ts';
import type { PgOracle } from './pg-oracle.ts';
import { Prng } from './prng.ts';

export type Mode = 'atomic' | 'split';

export interface Failure {
  readonly kind: 'mismatch' | 'engine-compile' | 'engine-step' | 'invariant' | 'schema';
  readonly mode: Mode | null;
  /** 1-based step number within the mode (null for compile errors). */
  readonly step: number | null;
  readonly view: string | null;
  readonly message: string;
}

export type CaseOutcome =
  | {
      readonly status: 'pass';
      readonly steps: number;
      readonly comparisons: number;
      readonly nonEmpty: number;
    }
  | { readonly status: 'fail'; readonly failure: Failure }
  | { readonly status: 'pg-error'; readonly message: string };

// ---------------------------------------------------------------------------------------------------------
// running one case

function jsonValue(v: GenValue): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

function toRecord(values: Readonly<Record<string, GenValue>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[k] = jsonValue(v);
  return out;
}

function engineBatches(schemas: ReadonlyMap<string, TableSchema>, ops: Step): Map<string, Batch> {
  const m = new Map<string, Batch>();
  for (const op of ops) {
    const schema = schemas.get(op.table) as TableSchema;
    const keyOnly = op.kind === 'delete' && schema.primaryKey !== null;
    const row = rowFromJson(schema, toRecord(op.values), { keyOnly });
    let b = m.get(op.table);
    if (!b) {
      b = { rows: [], weights: [] };
      m.set(op.table, b);
    }
    b.rows.push(row);
    b.weights.push(op.kind === 'insert' ? 1 : -1);
  }
  return m;
}

/** Integrated contents of one view. */
type Integral = Map<string, { row: Row; weight: number }>;

function applyDelta(view: string, integral: Integral, delta: Batch): string | null {
  const seen = new Set<string>();
  for (let i = 0; i < delta.rows.length; i++) {
    const row = delta.rows[i] as Row;
    const w = delta.weights[i] as number;
    const k = encodeRow(row);
    if (seen.has(k)) return `view ${view}: the step's change is not consolidated (row ${k} appears twice)`;
    seen.add(k);
    if (w === 0 || !Number.isInteger(w))
      return `view ${view}: the step's change has weight ${w} for row ${k}`;
    const cur = integral.get(k);
    const nw = (cur?.weight ?? 0) + w;
    if (nw === 0) integral.delete(k);
    else integral.set(k, { row, weight: nw });
  }
  for (const [k, e] of integral) {
    if (e.weight < 0)
      return `view ${view}: integrated contents hold row ${k} with negative weight ${e.weight}`;
  }
  return null;
}

function engineRows(integral: Integral, types: readonly SqlType[], classes: readonly ColClass[]): CanonRow[] {
  const out: CanonRow[] = [];
  for (const { row, weight } of integral.values()) {
    const canon = row.map((v, i) =>
      v === null ? null : canonicalValue(formatValue(v as Value, types[i] as SqlType), classes[i] ?? 'text'),
    );
    for (let k = 0; k < weight; k++) out.push(canon);
  }
  return out;
}

class PgFailed extends Error {}

/** Throws PgFailed when Postgres refuses to create the case's tables and views. */
async function pgAccepts(pg: PgOracle, c: OracleCase): Promise<void> {
  try {
    await pg.begin(c.tables, c.views);
  } catch (e) {
    throw new PgFailed(`postgres: creating the program: ${(e as Error).message}`);
  } finally {
    await pg.rollback();
  }
}

async function pgView(pg: PgOracle, view: string): Promise<{ classes: ColClass[]; rows: CanonRow[] }> {
  let r: Awaited<ReturnType<PgOracle['query']>>;
  try {
    r = await pg.query(`SELECT * FROM ${view}`);
  } catch (e) {
    throw new PgFailed(`postgres: SELECT * FROM ${view}: ${(e as Error).message}`);
  }
  const classes = r.oids.map(classOfOid);
  return { classes, rows: r.rows.map((row) => row.map((v, i) => canonicalValue(v, classes[i] ?? 'text'))) };
}

const MAX_SHOWN = 12;

function describeDiff(missing: readonly CanonRow[], extra: readonly CanonRow[]): string {
  const show = (rows: readonly CanonRow[]) =>
    rows.slice(0, MAX_SHOWN).map(formatRow).join(' ') +
    (rows.length > MAX_SHOWN ? ` … (${rows.length} rows)` : '');
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`postgres has but holdfast lacks: ${show(missing)}`);
  if (extra.length > 0) parts.push(`holdfast has but postgres lacks: ${show(extra)}`);
  return parts.join('; ');
}

async function runMode(
  pg: PgOracle,
  c: OracleCase,
  sql: string,
  mode: Mode,
): Promise<{ failure: Failure | null; steps: number; comparisons: number; nonEmpty: number }> {
  let comparisons = 0;
  let nonEmpty = 0;
  let program: Awaited<ReturnType<typeof compileProgram>>;
  try {
    program = await compileProgram(sql);
  } catch (e) {
    // a program Postgres refuses too is a generator gap (skipped), not an engine bug
    await pgAccepts(pg, c);
    return {
      failure: { kind: 'engine-compile', mode: null, step: null, view: null, message: errorText(e) },
      steps: 0,
      comparisons,
      nonEmpty,
    };
  }
  let circuit: ReturnType<typeof program.instantiate>;
  try {
    circuit = program.instantiate();
  } catch (e) {
    return {
      failure: { kind: 'engine-compile', mode: null, step: null, view: null, message: errorText(e) },
      steps: 0,
      comparisons,
      nonEmpty,
    };
  }
  const schemas = new Map(program.tables.map((t) => [t.name, t]));
  const views: ViewSchema[] = program.views.filter((v) => v.kind !== 'local');
  const tableDefs = new Map(c.tables.map((t) => [t.name, t]));
  const integrals = new Map<string, Integral>(views.map((v) => [v.name, new Map()]));
  const steps: Step[] = mode === 'atomic' ? c.steps.slice() : c.steps.flatMap((s) => s.map((op) => [op]));

  try {
    await pg.begin(c.tables, c.views);
  } catch (e) {
    await pg.rollback();
    throw new PgFailed(`postgres: creating the program: ${(e as Error).message}`);
  }
  try {
    for (let si = 0; si < steps.length; si++) {
      const ops = steps[si] as Step;
      const fail = (kind: Failure['kind'], view: string | null, message: string) => ({
        failure: { kind, mode, step: si + 1, view, message },
        steps: si + 1,
        comparisons,
        nonEmpty,
      });
      try {
        await pg.apply(tableDefs, ops);
      } catch (e) {
        throw new PgFailed(`postgres: applying step ${si + 1}: ${(e as Error).message}`);
      }
      let out: Map<string, Batch>;
      try {
        out = circuit.step(engineBatches(schemas, ops));
      } catch (e) {
        return fail('engine-step', null, errorText(e));
      }
      for (const v of views) {
        const delta = out.get(v.name);
        if (!delta) return fail('invariant', v.name, `step returned no change entry for view ${v.name}`);
        const integral = integrals.get(v.name) as Integral;
        const bad = applyDelta(v.name, integral, delta);
        if (bad) return fail('invariant', v.name, bad);
      }
      for (const v of views) {
        const expected = await pgView(pg, v.name);
        comparisons++;
        if (expected.rows.length > 0) nonEmpty++;
        if (expected.classes.length !== v.columns.length) {
          return fail(
            'schema',
            v.name,
            `view ${v.name}: holdfast has ${v.columns.length} columns, postgres ${expected.classes.length}`,
          );
        }
        const actual = engineRows(
          integrals.get(v.name) as Integral,
          v.columns.map((col) => col.type),
          expected.classes,
        );
        const diff = compareRows(expected.rows, actual, expected.classes);
        if (diff)
          return fail('mismatch', v.name, `view ${v.name}: ${describeDiff(diff.missing, diff.extra)}`);
        if (v.kind === 'materialized') {
          // The materialized contents Holdfast serves must equal the integral too.
          const stored: Integral = new Map();
          let bad: string | null;
          try {
            bad = applyDelta(v.name, stored, circuit.contents(v.name));
          } catch (e) {
            return fail('engine-step', v.name, `contents(${v.name}): ${errorText(e)}`);
          }
          if (bad) return fail('invariant', v.name, `materialized contents: ${bad}`);
          const types = v.columns.map((col) => col.type);
          const d2 = compareRows(
            expected.rows,
            engineRows(stored, types, expected.classes),
            expected.classes,
          );
          if (d2) {
            return fail(
              'mismatch',
              v.name,
              `materialized contents of ${v.name}: ${describeDiff(d2.missing, d2.extra)}`,
            );
          }
        }
      }
    }
  } finally {
    await pg.rollback();
  }
  return { failure: null, steps: steps.length, comparisons, nonEmpty };
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { errorCode?: string }).errorCode;
    return `${code ? `${code}: ` : ''}${e.message}`;
  }
  return String(e);
}

/** Runs both modes of a case. */
export async function runCase(pg: PgOracle, c: OracleCase): Promise<CaseOutcome> {
  const sql = programSql(c.tables, c.views);
  let total = 0;
  let comparisons = 0;
  let nonEmpty = 0;
  try {
    for (const mode of ['atomic', 'split'] as const) {
      const r = await runMode(pg, c, sql, mode);
      total += r.steps;
      comparisons += r.comparisons;
      nonEmpty += r.nonEmpty;
      if (r.failure) return { status: 'fail', failure: r.failure };
    }
  } catch (e) {
    if (e instanceof PgFailed) return { status: 'pg-error', message: e.message };
    throw e;
  }
  return { status: 'pass', steps: total, comparisons, nonEmpty };
}

// ---------------------------------------------------------------------------------------------------------
// shrinking

function viewClosure(c: OracleCase, view: string): Set<string> {
  const names = new Set<string>();
  const visit = (n: string) => {
    if (names.has(n)) return;
    names.add(n);
    const v = c.views.find((x) => x.name === n);
    if (v) for (const d of v.deps) visit(d);
  };
  visit(view);
  return names;
}

/** Drops views and tables the failing view does not depend on. */
function restrictTo(c: OracleCase, view: string): OracleCase {
  const keep = viewClosure(c, view);
  const tables = c.tables.filter((t) => keep.has(t.name));
  const tnames = new Set(tables.map((t) => t.name));
  const steps = c.steps.map((s) => s.filter((op) => tnames.has(op.table))).filter((s) => s.length > 0);
  return { ...c, tables, views: c.views.filter((v) => keep.has(v.name)), steps };
}

const withoutPosition = (m: string) => m.replace(/\(line \d+, column \d+\)/g, '');

function sameFailure(a: Failure, b: Failure): boolean {
  if (a.kind === 'engine-compile' || b.kind === 'engine-compile') {
    return a.kind === b.kind && withoutPosition(a.message) === withoutPosition(b.message);
  }
  return a.kind === b.kind && a.view === b.view;
}

export interface Shrunk {
  readonly case: OracleCase;
  readonly failure: Failure;
  readonly attempts: number;
}

export async function shrink(
  pg: PgOracle,
  c: OracleCase,
  failure: Failure,
  budgetMs: number,
): Promise<Shrunk> {
  const deadline = Date.now() + budgetMs;
  let best = c;
  let bestFailure = failure;
  let attempts = 0;
  const tryCase = async (cand: OracleCase): Promise<boolean> => {
    if (Date.now() > deadline) return false;
    if (!validSteps(cand.tables, cand.steps)) return false;
    attempts++;
    const r = await runCase(pg, cand);
    if (r.status === 'fail' && sameFailure(r.failure, bestFailure)) {
      best = cand;
      bestFailure = r.failure;
      return true;
    }
    return false;
  };
  if (failure.view) await tryCase(restrictTo(best, failure.view));
  if (failure.kind === 'engine-compile') {
    // Compile errors need no data; find the first view that fails on its own.
    await tryCase({ ...best, steps: [] });
    for (const v of best.views) if (await tryCase(restrictTo(best, v.name))) break;
    return { case: best, failure: bestFailure, attempts };
  }
  // Steps after the failing one do not matter (atomic numbering = batches).
  if (bestFailure.mode === 'atomic' && bestFailure.step !== null && bestFailure.step < best.steps.length) {
    await tryCase({ ...best, steps: best.steps.slice(0, bestFailure.step) });
  }
  let progress = true;
  while (progress && Date.now() < deadline) {
    progress = false;
    // Drop whole batches, last first.
    for (let i = best.steps.length - 1; i >= 0; i--) {
      if (best.steps.length <= 1) break;
      if (await tryCase({ ...best, steps: best.steps.filter((_, j) => j !== i) })) progress = true;
    }
    // Drop single rows.
    for (let i = best.steps.length - 1; i >= 0; i--) {
      const step = best.steps[i] as Step;
      for (let k = step.length - 1; k >= 0; k--) {
        const cur = best.steps[i];
        if (!cur || cur.length <= k) continue;
        const nextStep = cur.filter((_, j) => j !== k);
        const steps =
          nextStep.length === 0
            ? best.steps.filter((_, j) => j !== i)
            : best.steps.map((s, j) => (j === i ? nextStep : s));
        if (await tryCase({ ...best, steps })) progress = true;
      }
    }
    // Merge adjacent batches (fewer steps).
    for (let i = best.steps.length - 2; i >= 0; i--) {
      const a = best.steps[i];
      const b = best.steps[i + 1];
      if (!a || !b) continue;
      const merged = [
        ...a.filter((o) => o.kind === 'delete'),
        ...b.filter((o) => o.kind === 'delete'),
        ...a.filter((o) => o.kind === 'insert'),
        ...b.filter((o) => o.kind === 'insert'),
      ];
      const steps = [...best.steps.slice(0, i), merged, ...best.steps.slice(i + 2)];
      if (await tryCase({ ...best, steps })) progress = true;
    }
  }
  return { case: best, failure: bestFailure, attempts };
}

// ---------------------------------------------------------------------------------------------------------
// reporting

function opText(t: TableDef, op: Op): string {
  const cols = op.kind === 'delete' && t.primaryKey ? t.primaryKey : t.columns.map((c) => c.name);
  const vals = cols.map((n) => {
    const col = t.columns.find((c) => c.name === n) as TableDef['columns'][number];
    return valueSql(op.values[n] ?? null, col.type);
  });
  return `${op.kind === 'insert' ? '+' : '-'}${t.name}(${vals.join(', ')})`;
}

export function describeSteps(c: OracleCase): string {
  const tables = new Map(c.tables.map((t) => [t.name, t]));
  return c.steps
    .map(
      (s, i) => `  batch ${i + 1}: ${s.map((op) => opText(tables.get(op.table) as TableDef, op)).join('  ')}`,
    )
    .join('\n');
}

export function replayCommand(c: OracleCase): string {
  return `SEED=${c.seed} npm run fuzz -- --cases 1 --focus ${c.focus}`;
}

export function report(original: OracleCase, shrunk: Shrunk): string {
  const c = shrunk.case;
  const f = shrunk.failure;
  const where = f.mode ? `${f.mode} mode, step ${f.step}` : 'compile';
  return [
    `ORACLE FAILURE seed=${original.seed} focus=${original.focus} (replay: ${replayCommand(original)})`,
    `${f.kind} (${where}${f.view ? `, view ${f.view}` : ''}): ${f.message}`,
    `minimal reproduction (after ${shrunk.attempts} shrink attempts; split mode runs each row as its own step):`,
    '-- program',
    programSql(c.tables, c.views),
    '-- batches (+ insert/upsert, - delete; a primary-key delete lists only the key)',
    describeSteps(c),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// suites

export interface SuiteOptions {
  readonly focus: Focus;
  readonly baseSeed: number;
  readonly cases: number;
  readonly config?: GenConfig;
  /** Time budget for shrinking each failure. */
  readonly shrinkMs?: number;
  /** Stop after this many failures. */
  readonly maxFailures?: number;
  readonly log?: (line: string) => void;
}

export interface SuiteResult {
  readonly cases: number;
  readonly passed: number;
  readonly pgErrors: number;
  readonly steps: number;
  /** View comparisons made, and how many of them had a non-empty expected result. */
  readonly comparisons: number;
  readonly nonEmpty: number;
  readonly failures: string[];
  readonly elapsedMs: number;
}

/** Seed of case `i` of a suite: consecutive, so any case replays with `--seed <its seed> --cases 1`. */
export function seedOf(base: number, i: number): number {
  return (base + i) >>> 0;
}

export function makeCase(seed: number, focus: Focus, config: GenConfig = DEFAULT_CONFIG): OracleCase {
  return generateCase(new Prng(seed), seed, focus, config);
}

export async function runSuite(pg: PgOracle, opts: SuiteOptions): Promise<SuiteResult> {
  const t0 = Date.now();
  const failures: string[] = [];
  let passed = 0;
  let pgErrors = 0;
  let steps = 0;
  let comparisons = 0;
  let nonEmpty = 0;
  let ran = 0;
  for (let i = 0; i < opts.cases; i++) {
    const seed = seedOf(opts.baseSeed, i);
    const c = makeCase(seed, opts.focus, opts.config);
    ran++;
    const r = await runCase(pg, c);
    if (r.status === 'pass') {
      passed++;
      steps += r.steps;
      comparisons += r.comparisons;
      nonEmpty += r.nonEmpty;
    } else if (r.status === 'pg-error') {
      pgErrors++;
      opts.log?.(`seed ${seed} (${opts.focus}): skipped, Postgres rejected the generated case: ${r.message}`);
    } else {
      const s = await shrink(pg, c, r.failure, opts.shrinkMs ?? 20000);
      const text = report(c, s);
      failures.push(text);
      opts.log?.(text);
      if (failures.length >= (opts.maxFailures ?? 3)) break;
    }
  }
  return { cases: ran, passed, pgErrors, steps, comparisons, nonEmpty, failures, elapsedMs: Date.now() - t0 };
}
