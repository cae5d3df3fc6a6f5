/**
 * `npm run conformance [-- --dir DIR] [--folder NAME] [--json FILE] [--failures N]`: runs Feldera's SQL test
 * cases (the shared corpus: `cases/<folder>.json`, format in its README) through Holdfast's engine and prints
 * the pass rate per folder, overall, and the constructs that block the most cases.
 *
 * A positive case compiles the program, applies every table's records (Feldera's `insert_delete` JSON) in one
 * step and compares the view's contents with `expected_rows` as a multiset (numbers numerically: DECIMAL exactly,
 * REAL/DOUBLE with a relative tolerance; column names case-insensitively). A negative case passes when the program
 * is refused (compile or run time) with a coded error. Each case runs in this process with a fresh circuit; the
 * folder is found at `--dir`, else `$HOLDFAST_CONFORMANCE_DIR`, else `../shared/conformance/feldera-sql` beside the
 * checkout; when it is absent the command says so and exits 0 (the corpus is not part of the repository).
 *
 * Feldera ran each folder of its suite as one program, so a SQL function or type declared by one case is visible
 * to the others (aggregate_tests2 and aggregate_tests6 call `d_tz()`, complex_type_tests and variant_tests use
 * `int_type`, `varnt_type`, ..., each declared in only some of the folder's cases). The runner does the same: a
 * case that uses a function or type its program does not declare gets the folder's `CREATE FUNCTION` / `CREATE
 * TYPE` statement for it (and for what that one uses) prepended.
 *
 * Exit status: 0 after a run (the rates are the result, not a gate), 2 on bad arguments.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { declaredConnectors } from '../src/connectors/connectors.ts';
import { allRows, compileDatagen } from '../src/connectors/transports/datagen.ts';
import { isServiceError } from '../src/errors/service-error.ts';
import { compileProgram, rowFromJson, rowToJson } from '../src/sql/program.ts';
import type { Batch } from '../src/zset/batch.ts';
import type { Row } from '../src/zset/value.ts';

interface Case {
  readonly id: string;
  readonly program: string;
  readonly view: string | null;
  readonly inputs: Record<string, unknown[]>;
  readonly expected_rows: unknown[] | null;
  readonly expected_error: string | null;
}

type Outcome =
  | { readonly pass: true }
  | { readonly pass: false; readonly stage: string; readonly reason: string };

const ROOT = resolve(import.meta.dirname, '..');

function args() {
  try {
    return parseArgs({
      options: {
        dir: { type: 'string' },
        folder: { type: 'string', multiple: true },
        json: { type: 'string' },
        failures: { type: 'string', default: '25' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    process.stderr.write(`conformance: ${(e as Error).message}\n`);
    process.exit(2);
  }
}

function decimal(s: string): string {
  // canonical decimal text: no leading +, no trailing fraction zeros, "-0" → "0"
  let t = s.trim().replace(/^\+/, '');
  if (/e/i.test(t)) t = Number(t).toString();
  if (t.includes('.')) t = t.replace(/0+$/, '').replace(/\.$/, '');
  t = t.replace(/^(-?)0+(\d)/, '$1$2');
  return t === '-0' ? '0' : t;
}

/** A DATE / TIME / TIMESTAMP text compared as a value: `T` as a space, no trailing zeros in the fraction. */
function temporalText(s: string): string {
  return s
    .replace('T', ' ')
    .replace(/(\.\d*?)0+(?=$|[+-]\d\d:\d\d$)/, '$1')
    .replace(/\.(?=$|[+-]\d\d:\d\d$)/, '');
}

function equalValue(expected: unknown, actual: unknown): boolean {
  if (expected === null || actual === null) return expected === actual;
  if (typeof expected === 'object' && !Array.isArray(expected)) {
    const [tag, v] = Object.entries(expected as Record<string, unknown>)[0] ?? [];
    switch (tag) {
      case '$dec':
        return (
          (typeof actual === 'string' || typeof actual === 'number') &&
          decimal(String(actual)) === decimal(String(v))
        );
      case '$float': {
        const want = Number(v);
        const got = typeof actual === 'string' ? Number(actual) : actual;
        if (typeof got !== 'number') return false;
        if (Number.isNaN(want)) return Number.isNaN(got);
        if (!Number.isFinite(want)) return want === got;
        return Math.abs(want - got) <= 1e-6 * Math.max(1, Math.abs(want));
      }
      case '$int':
        return String(actual) === String(v);
      case '$ts':
      case '$date':
      case '$time':
        return typeof actual === 'string' && temporalText(actual) === temporalText(String(v));
      case '$td':
        return String(actual).toLowerCase() === String(v).toLowerCase();
      case '$bytes': {
        // Holdfast writes bytes as Feldera does, an array of byte values; the corpus tags them as hex
        const hex = Array.isArray(actual)
          ? actual.map((b) => Number(b).toString(16).padStart(2, '0')).join('')
          : String(actual);
        return hex.toLowerCase() === String(v).toLowerCase();
      }
      case '$obj': {
        const pairs = v as [unknown, unknown][];
        if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
        const a = actual as Record<string, unknown>;
        const keys = Object.keys(a);
        if (keys.length !== pairs.length) return false;
        return pairs.every(([k, x]) => {
          const key = keys.find((kk) => kk.toLowerCase() === String(k).toLowerCase());
          return key !== undefined && equalValue(x, a[key]);
        });
      }
      default:
        return false;
    }
  }
  // a nested MAP or ROW inside a row is written in the corpus as untagged [key, value] pairs; Holdfast (like
  // Feldera) writes a JSON object
  if (
    Array.isArray(expected) &&
    actual !== null &&
    typeof actual === 'object' &&
    !Array.isArray(actual) &&
    expected.every((p) => Array.isArray(p) && p.length === 2)
  )
    return equalValue({ $obj: expected }, actual);
  if (Array.isArray(expected))
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((x, i) => equalValue(x, (actual as unknown[])[i]))
    );
  if (typeof expected === 'number')
    return (typeof actual === 'number' || typeof actual === 'string') && Number(actual) === expected;
  return expected === actual;
}

/** Multiset equality with a greedy match (rows are small; the corpus's views hold few rows). */
function sameRows(expected: unknown[], actual: Record<string, unknown>[]): string | null {
  if (expected.length !== actual.length) return `expected ${expected.length} rows, got ${actual.length}`;
  const left = [...actual];
  for (const e of expected) {
    const i = left.findIndex((a) => equalValue(e, a));
    if (i < 0) return `no row matches ${JSON.stringify(e)}; got ${JSON.stringify(actual).slice(0, 300)}`;
    left.splice(i, 1);
  }
  return null;
}

async function runCase(c: Case): Promise<Outcome> {
  let program: Awaited<ReturnType<typeof compileProgram>>;
  try {
    program = await compileProgram(c.program);
  } catch (e) {
    if (c.expected_rows === null) return isServiceError(e) ? { pass: true } : fail('compile', e);
    return fail('compile', e);
  }
  try {
    const circuit = program.instantiate();
    const inputs = new Map<string, Batch>();
    for (const [name, records] of Object.entries(c.inputs)) {
      const table = program.table(name);
      if (!table) return { pass: false, stage: 'input', reason: `no table ${name}` };
      const rows: Row[] = [];
      const weights: number[] = [];
      for (const r of records) {
        const o = r as Record<string, unknown>;
        if (o && typeof o === 'object' && 'delete' in o && Object.keys(o).length === 1) {
          rows.push(rowFromJson(table, o.delete));
          weights.push(-1);
        } else {
          rows.push(rowFromJson(table, o && typeof o === 'object' && 'insert' in o ? o.insert : o));
          weights.push(1);
        }
      }
      inputs.set(table.name, { rows, weights });
    }
    for (const [table, rows] of datagenInputs(program)) {
      const batch = inputs.get(table) ?? { rows: [], weights: [] };
      inputs.set(table, {
        rows: [...batch.rows, ...rows],
        weights: [...batch.weights, ...rows.map(() => 1)],
      });
    }
    const out = circuit.step(inputs);
    if (c.expected_rows === null)
      return { pass: false, stage: 'negative', reason: `accepted: ${c.expected_error}` };
    if (c.view === null) return { pass: true };
    const view = program.views.find((v) => v.name.toLowerCase() === (c.view as string).toLowerCase());
    if (!view) return { pass: false, stage: 'output', reason: `no view ${c.view}` };
    const batch = out.get(view.name);
    if (!batch) return { pass: false, stage: 'output', reason: `view ${c.view} is not an output` };
    const actual: Record<string, unknown>[] = [];
    batch.rows.forEach((row, i) => {
      const w = batch.weights[i] as number;
      if (w < 0) throw new Error(`negative weight ${w} in the view's contents`);
      for (let k = 0; k < w; k++) actual.push(rowToJson(view.columns, row as Row));
    });
    const diff = sameRows(c.expected_rows, actual);
    return diff === null ? { pass: true } : { pass: false, stage: 'result', reason: diff };
  } catch (e) {
    if (c.expected_rows === null) return isServiceError(e) ? { pass: true } : fail('run', e);
    return fail('run', e);
  }
}

/**
 * The rows of the program's bounded datagen connectors, by table (Feldera ran each case's pipeline to the end of
 * its inputs, so these rows are part of what the view shows). Unseeded ones use seed 0.
 */
function datagenInputs(program: Awaited<ReturnType<typeof compileProgram>>): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  if (!program.tables.some((t) => t.properties.connectors?.value.includes('datagen'))) return out;
  for (const d of declaredConnectors(program)) {
    if (d.spec.transport !== 'datagen') continue;
    const table = program.table(d.relation.name);
    if (!table) continue;
    const rows = allRows(compileDatagen(d.ctx, d.spec.config, table), 0);
    if (rows !== null) out.set(table.name, [...(out.get(table.name) ?? []), ...rows]);
  }
  return out;
}

function fail(stage: string, e: unknown): Outcome {
  const code = isServiceError(e) ? e.errorCode : (e as Error)?.name || 'Error';
  const message = (e as Error)?.message ?? String(e);
  return { pass: false, stage, reason: `${code}: ${message.split('\n')[0]}` };
}

/** The statements of a program, split at semicolons outside quotes and comments. */
function statements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      const end = sql.indexOf(ch, i + 1);
      i = end < 0 ? sql.length : end;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 1;
    } else if (ch === ';') {
      out.push(sql.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (sql.slice(start).trim() !== '') out.push(sql.slice(start));
  return out;
}

/** A `CREATE FUNCTION name(` or `CREATE TYPE name AS` statement: its kind and name. */
const DECLARATION = /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|TYPE)\s+("?)(\w+)\2\s*(?:\(|AS\b)/i;

interface Declaration {
  readonly kind: 'function' | 'type';
  readonly statement: string;
}

function declared(statement: string): { name: string; kind: 'function' | 'type' } | null {
  const m = DECLARATION.exec(statement);
  if (!m) return null;
  return {
    name: (m[3] as string).toLowerCase(),
    kind: (m[1] as string).toLowerCase() as 'function' | 'type',
  };
}

/** Every `CREATE FUNCTION` and `CREATE TYPE` of a folder's programs, by lower-case name (the first one wins). */
function folderDeclarations(cases: readonly Case[]): Map<string, Declaration> {
  const out = new Map<string, Declaration>();
  for (const c of cases)
    for (const st of statements(c.program)) {
      const d = declared(st);
      if (d && !out.has(d.name)) out.set(d.name, { kind: d.kind, statement: st.trim() });
    }
  return out;
}

/** Whether `sql` uses the declaration: a call `name(` for a function, the word for a type. */
function uses(sql: string, name: string, kind: 'function' | 'type'): boolean {
  return new RegExp(kind === 'function' ? `\\b${name}\\s*\\(` : `\\b${name}\\b`, 'i').test(sql);
}

/**
 * The case's program with the folder's declarations of the functions and types it uses but does not declare
 * (and of those they use in turn, each after what it depends on).
 */
function withFolderDeclarations(program: string, decls: ReadonlyMap<string, Declaration>): string {
  const own = new Set(
    statements(program)
      .map((st) => declared(st)?.name)
      .filter((n) => n !== undefined),
  );
  const added: string[] = [];
  const seen = new Set<string>();
  const need = (sql: string): void => {
    for (const [name, d] of decls) {
      if (own.has(name) || seen.has(name) || !uses(sql, name, d.kind)) continue;
      seen.add(name);
      need(d.statement.replace(DECLARATION, ''));
      added.push(d.statement);
    }
  };
  need(program);
  return added.length === 0 ? program : `${added.join('\n')}\n${program}`;
}

/** A failure's blocking construct: its message with names, numbers and positions taken out. */
function construct(reason: string): string {
  return reason
    .replace(/ at line \d+(, column \d+)?/g, '')
    .replace(/line \d+, column \d+/g, '')
    .replace(/'[^']*'/g, "'…'")
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\b\d+(\.\d+)?\b/g, 'N')
    .slice(0, 140);
}

async function main(): Promise<void> {
  const a = args();
  if (a.help) {
    process.stdout.write(
      'usage: npm run conformance [-- --dir DIR] [--folder NAME ...] [--json FILE] [--failures N]\n',
    );
    return;
  }
  const dir = resolve(
    a.dir ?? process.env.HOLDFAST_CONFORMANCE_DIR ?? join(ROOT, '..', 'shared', 'conformance', 'feldera-sql'),
  );
  const casesDir = join(dir, 'cases');
  if (!existsSync(casesDir)) {
    // a run that ran nothing must not look like a pass
    process.stderr.write(
      `conformance: no corpus at ${casesDir} (set --dir or HOLDFAST_CONFORMANCE_DIR); nothing run\n`,
    );
    process.exitCode = 2;
    return;
  }
  const folders = readdirSync(casesDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .filter((f) => !a.folder || a.folder.includes(f))
    .sort();
  const perFolder: Record<string, { pass: number; total: number; positive: number; positivePass: number }> =
    {};
  const blockers = new Map<string, { n: number; example: string }>();
  const failures: Array<{ id: string; stage: string; reason: string }> = [];
  const started = Date.now();
  for (const folder of folders) {
    const { cases } = JSON.parse(readFileSync(join(casesDir, `${folder}.json`), 'utf8')) as { cases: Case[] };
    const f = { pass: 0, total: 0, positive: 0, positivePass: 0 };
    const decls = folderDeclarations(cases);
    for (const c of cases) {
      const r = await runCase({ ...c, program: withFolderDeclarations(c.program, decls) });
      f.total++;
      if (c.expected_rows !== null) f.positive++;
      if (r.pass) {
        f.pass++;
        if (c.expected_rows !== null) f.positivePass++;
        continue;
      }
      failures.push({ id: c.id, stage: r.stage, reason: r.reason });
      const k = `${r.stage}: ${construct(r.reason)}`;
      const b = blockers.get(k) ?? { n: 0, example: c.id };
      b.n++;
      blockers.set(k, b);
    }
    perFolder[folder] = f;
    process.stdout.write(
      `${folder.padEnd(28)} ${String(f.pass).padStart(4)} / ${String(f.total).padEnd(4)} ${pct(f.pass, f.total)}\n`,
    );
  }
  const total = Object.values(perFolder).reduce(
    (s, f) => ({
      pass: s.pass + f.pass,
      total: s.total + f.total,
      positive: s.positive + f.positive,
      positivePass: s.positivePass + f.positivePass,
    }),
    { pass: 0, total: 0, positive: 0, positivePass: 0 },
  );
  process.stdout.write(
    `${'all'.padEnd(28)} ${String(total.pass).padStart(4)} / ${String(total.total).padEnd(4)} ${pct(total.pass, total.total)}` +
      `  (positive ${total.positivePass} / ${total.positive} ${pct(total.positivePass, total.positive)}; ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );
  const top = [...blockers.entries()].sort((x, y) => y[1].n - x[1].n).slice(0, Number(a.failures));
  if (top.length > 0) {
    process.stdout.write('\nblocking constructs (cases, example):\n');
    for (const [k, b] of top) process.stdout.write(`${String(b.n).padStart(5)}  ${k}   [${b.example}]\n`);
  }
  if (a.json)
    writeFileSync(a.json, `${JSON.stringify({ dir, folders: perFolder, total, failures }, null, 1)}\n`);
}

function pct(n: number, d: number): string {
  return d === 0 ? '  -  ' : `${((100 * n) / d).toFixed(1)}%`;
}

await main();
