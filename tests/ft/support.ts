/**
 * Test support for fault-tolerance and sync tests: pipeline config files in temporary directories, pipeline
 * processes started from them (SIGKILLed at the end of the test file if still running, before the directories
 * are removed), `kill -9`, HTTP helpers (ingest and wait, checkpoint, push and wait), and reading a JSON
 * insert/delete output file back into the multiset it describes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { until as kitUntil, stopAtEnd, tempDir } from '../kit/index.ts';

export const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');

export interface Proc {
  readonly base: string;
  readonly child: ChildProcess;
  readonly log: string[];
  readonly exited: Promise<number | null>;
}

/**
 * Starts `holdfast pipeline run --config cfg` (in `cwd`, default this process's); resolves once it listens and its
 * startup log lines (recovery decisions included) have arrived; rejects with its log if it exits first.
 */
export async function startPipeline(
  cfg: string,
  options: { cwd?: string; nodeArgs?: readonly string[] } = {},
): Promise<Proc> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), MAIN, 'pipeline', 'run', '--config', cfg],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    },
  );
  stopAtEnd(child, 'SIGKILL');
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const log: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => log.push(l));
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', res);
    void exited.then((c) =>
      setTimeout(() => rej(new Error(`pipeline exited ${c}:\n${log.join('\n')}`)), 100),
    );
  });
  // stderr is a separate pipe: wait for the line logged just before `listening`
  for (let i = 0; i < 250 && !log.some((l) => l.includes('pipeline listening on')); i++)
    await new Promise((r) => setTimeout(r, 20));
  return { base: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, child, log, exited };
}

/** `kill -9` a pipeline process (a no-op when it already exited); resolves once it is gone. */
export async function kill9(p: Proc | ChildProcess): Promise<void> {
  const child = 'child' in p ? p.child : p;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

export async function getJson<T>(base: string, path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(`${base}${path}`, init);
  return (await r.json()) as T;
}

export async function query(base: string, sql: string): Promise<string> {
  return (await (await fetch(`${base}/query?sql=${encodeURIComponent(sql)}&format=json`)).text()).trim();
}

/** The kit's `until`, polling every 25 ms and treating a failing request as "not yet". */
export function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 30_000): Promise<T> {
  return kitUntil(f, ok, what, ms, { retryErrors: true, intervalMs: 25 });
}

/** Polls `f` until it returns `want` (about 6 s), then asserts equality (showing the last value). */
export async function untilEqual(f: () => Promise<string>, want: string): Promise<void> {
  let last = '';
  for (let i = 0; i < 300; i++) {
    last = await f();
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(last, want);
}

/**
 * Writes `config` (a pipeline config object) as `pipeline.json` in a fresh temporary directory named
 * `PREFIX…` (removed at the end of the test file; the pipeline's storage goes next to the file); returns both.
 */
export function pipelineConfig(
  prefix: string,
  config: Record<string, unknown>,
): { cfg: string; dir: string } {
  const dir = tempDir(prefix);
  const cfg = join(dir, 'pipeline.json');
  writeFileSync(cfg, JSON.stringify(config));
  return { cfg, dir };
}

/** POSTs `rows` (JSON lines, raw updates) to `table`'s ingress and waits until they are complete. */
export async function ingestRows(base: string, table: string, rows: readonly object[]): Promise<void> {
  const r = await fetch(`${base}/ingress/${table}?format=json&update_format=raw`, {
    method: 'POST',
    body: rows.map((x) => JSON.stringify(x)).join('\n'),
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const { token } = JSON.parse(text) as { token: string };
  await until(
    () => getJson<{ status: string }>(base, `/completion_status?token=${token}`),
    (s) => s.status === 'complete',
    'ingest complete',
  );
}

/** `GET /checkpoint/sync_status` (the fields the tests read). */
export interface SyncStatus {
  success: string | null;
  failure: { uuid: string; error: string } | null;
  periodic: string | null;
}

/** The end of one push: its checkpoint, whether it succeeded, its error if it failed. */
export interface SyncOutcome {
  readonly uuid: string;
  readonly ok: boolean;
  readonly error: string | null;
  /** The sync status that showed the push's end. */
  readonly status: SyncStatus;
}

/**
 * POSTs `/checkpoint/sync` (asserting 202) and waits until this process's sync status names the pushed
 * checkpoint as its last success or failure.
 */
export async function syncAndWait(base: string): Promise<SyncOutcome> {
  const r = await fetch(`${base}/checkpoint/sync`, { method: 'POST' });
  const text = await r.text();
  assert.equal(r.status, 202, text);
  const { checkpoint_uuid: uuid, incarnation_uuid } = JSON.parse(text) as {
    checkpoint_uuid: string;
    incarnation_uuid: string;
  };
  const status = await until(
    () => getJson<SyncStatus>(base, `/checkpoint/sync_status?incarnation_uuid=${incarnation_uuid}`),
    (s) => s.success === uuid || s.failure?.uuid === uuid,
    `sync of ${uuid}`,
  );
  return {
    uuid,
    ok: status.success === uuid,
    error: status.failure?.uuid === uuid ? status.failure.error : null,
    status,
  };
}

/** Requests a checkpoint and waits until it is durable. */
export async function checkpoint(base: string): Promise<void> {
  const { checkpoint_sequence_number: seq } = await getJson<{ checkpoint_sequence_number: number }>(
    base,
    '/checkpoint',
    { method: 'POST' },
  );
  await until(
    () => getJson<{ success: number | null }>(base, '/checkpoint_status'),
    (s) => s.success !== null && s.success >= seq,
    `checkpoint ${seq}`,
  );
}

/**
 * Reads a JSON-lines insert/delete output file into row → net weight. Fails if a delete takes a row below zero
 * (output delivered twice, or out of order). Returns the rows with positive weight, sorted, as JSON text.
 */
export function integrateOutput(path: string): { rows: string[]; lines: number } {
  if (!existsSync(path)) return { rows: [], lines: 0 };
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n').filter((l) => l !== '');
  const w = new Map<string, number>();
  lines.forEach((l, i) => {
    const ev = JSON.parse(l) as { insert?: unknown; delete?: unknown };
    const row = JSON.stringify(ev.insert ?? ev.delete);
    const n = (w.get(row) ?? 0) + (ev.insert !== undefined ? 1 : -1);
    if (n < 0) assert.fail(`output line ${i + 1} deletes ${row}, which the output does not hold`);
    w.set(row, n);
  });
  const rows: string[] = [];
  for (const [row, n] of w) for (let k = 0; k < n; k++) rows.push(row);
  return { rows: rows.sort(), lines: lines.length };
}

/** A view's contents through ad-hoc query, one JSON object per row, sorted. */
export async function viewRows(base: string, view: string): Promise<string[]> {
  const text = await query(base, `SELECT * FROM ${view}`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

/** An output file integrated without failing: row → net weight (may be negative), with counts of what was odd. */
export interface LooseOutput {
  readonly weights: Map<string, number>;
  /** Per row, how many insert lines the file holds (what was delivered, whatever deletes followed). */
  readonly inserted: Map<string, number>;
  readonly lines: number;
  /** Lines that are not a JSON insert/delete event (e.g. torn by a crash). */
  readonly corrupt: number;
}

/**
 * Reads a JSON-lines insert/delete output file into row → net weight, permissively (at_least_once: output
 * after the newest checkpoint comes again after a crash, so a delete may come twice and take a row below
 * zero). Rows are normalized JSON (`JSON.stringify` of the parsed row), as `integrateOutput` and `viewRows`.
 */
export function integrateOutputLoose(path: string): LooseOutput {
  const weights = new Map<string, number>();
  const inserted = new Map<string, number>();
  if (!existsSync(path)) return { weights, inserted, lines: 0, corrupt: 0 };
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  let corrupt = 0;
  for (const l of lines) {
    let ev: { insert?: unknown; delete?: unknown };
    try {
      ev = JSON.parse(l) as { insert?: unknown; delete?: unknown };
    } catch {
      corrupt++;
      continue;
    }
    if (typeof ev !== 'object' || ev === null || (ev.insert === undefined) === (ev.delete === undefined)) {
      corrupt++;
      continue;
    }
    const row = JSON.stringify(ev.insert ?? ev.delete);
    weights.set(row, (weights.get(row) ?? 0) + (ev.insert !== undefined ? 1 : -1));
    if (ev.insert !== undefined) inserted.set(row, (inserted.get(row) ?? 0) + 1);
  }
  return { weights, inserted, lines: lines.length, corrupt };
}

/** How an integrated output differs from the expected rows (a multiset of normalized JSON rows). */
export interface MultisetDiff {
  /** Copies of expected rows the output lacks. */
  readonly missing: number;
  /** Copies the output holds beyond the expected ones. */
  readonly extra: number;
  /** Total negative weight (deletes of rows the output never held: a delete delivered twice). */
  readonly negative: number;
  /** A few differing rows, `row: output weight vs expected`, for messages. */
  readonly examples: string[];
}

export function diffMultiset(
  expected: readonly string[],
  weights: ReadonlyMap<string, number>,
): MultisetDiff {
  const want = new Map<string, number>();
  for (const r of expected) {
    const k = JSON.stringify(JSON.parse(r));
    want.set(k, (want.get(k) ?? 0) + 1);
  }
  let missing = 0;
  let extra = 0;
  let negative = 0;
  const examples: string[] = [];
  const note = (row: string, have: number, exp: number) => {
    if (examples.length < 5) examples.push(`${row}: ${have} vs ${exp}`);
  };
  for (const [row, exp] of want) {
    const have = weights.get(row) ?? 0;
    if (have < exp) {
      missing += exp - Math.max(0, have);
      note(row, have, exp);
    } else if (have > exp) {
      extra += have - exp;
      note(row, have, exp);
    }
    if (have < 0) negative -= have;
  }
  for (const [row, have] of weights) {
    if (want.has(row) || have === 0) continue;
    if (have > 0) extra += have;
    else negative -= have;
    note(row, have, 0);
  }
  return { missing, extra, negative, examples };
}
