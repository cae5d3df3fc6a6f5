/**
 * Test support for fault-tolerance tests: pipeline processes started from a config file, `kill -9`, HTTP
 * helpers, and reading a JSON insert/delete output file back into the multiset it describes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after } from 'node:test';

export const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

export interface Proc {
  readonly base: string;
  readonly child: ChildProcess;
  readonly log: string[];
  readonly exited: Promise<number | null>;
}

/** Starts `holdfast pipeline run --config cfg`; resolves once it listens (rejects with its log if it exits). */
export async function startPipeline(cfg: string): Promise<Proc> {
  const child = spawn(process.execPath, [MAIN, 'pipeline', 'run', '--config', cfg], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (c) => {
      children.delete(child);
      r(c);
    }),
  );
  const log: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => log.push(l));
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', res);
    void exited.then((c) =>
      setTimeout(() => rej(new Error(`pipeline exited ${c}:\n${log.join('\n')}`)), 100),
    );
  });
  return { base: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, child, log, exited };
}

export async function kill9(p: Proc): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

export async function getJson<T>(base: string, path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(`${base}${path}`, init);
  return (await r.json()) as T;
}

export async function query(base: string, sql: string): Promise<string> {
  return (await (await fetch(`${base}/query?sql=${encodeURIComponent(sql)}&format=json`)).text()).trim();
}

export async function until<T>(
  f: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  ms = 30_000,
): Promise<T> {
  const t0 = Date.now();
  let last: T | undefined;
  for (;;) {
    try {
      last = await f();
      if (ok(last)) return last;
    } catch {
      // not ready yet
    }
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
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
