/**
 * The shared test kit: polling (`until`, `untilTrue`), temporary directories (`tempDir`), real `holdfast
 * server` processes (start on 127.0.0.1 port 0, stop), and small HTTP helpers. Tests import these instead of
 * keeping their own copies.
 *
 * Every manager started here (and every process given to `stopAtEnd`) is tracked: at the end of the test file,
 * one still running gets SIGTERM (so it stops its pipelines; or the signal it was registered with) and, if it
 * has not exited within 5 s, SIGKILL; once they have all exited, every `tempDir` is removed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after } from 'node:test';

import { ROOT } from './root.ts';

export { ROOT };
/** The `holdfast` entry point. */
export const MAIN = join(ROOT, 'src/bin/main.ts');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------
// Polling
// ---------------------------------------------------------------------------------------------------------

export interface UntilOptions {
  /** Pause between polls (default 50 ms). */
  readonly intervalMs?: number;
  /** Treat a throwing `f` as "not yet" instead of failing at once (default false). */
  readonly retryErrors?: boolean;
}

/**
 * Polls `f` until `ok` holds for its value and returns that value; fails after `ms` (default 30 s) naming
 * `what` and the last value.
 */
export async function until<T>(
  f: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  ms = 30_000,
  options: UntilOptions = {},
): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    try {
      last = await f();
      if (ok(last)) return last;
    } catch (e) {
      if (!options.retryErrors) throw e;
    }
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(options.intervalMs ?? 50);
  }
}

/** Polls a synchronous predicate until it holds; fails after `ms` (default 10 s). */
export async function untilTrue(
  pred: () => boolean,
  what: string,
  ms = 10_000,
  intervalMs = 10,
): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------

const running = new Map<ChildProcess, NodeJS.Signals>();
const tempDirs: string[] = [];
after(async () => {
  await Promise.all([...running].map(([p, signal]) => stopProcess(p, signal, 5000)));
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Stops `proc` at the end of the test file if it still runs (`signal`, then SIGKILL after 5 s). */
export function stopAtEnd(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  running.set(proc, signal);
  proc.once('exit', () => running.delete(proc));
}

/** A fresh directory `<os tmp>/PREFIX…`, removed at the end of the test file (after the managers stopped). */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

const alive = (p: ChildProcess): boolean => p.exitCode === null && p.signalCode === null;

/** SIGTERM (or `signal`), then SIGKILL if it is still running after `graceMs` (default 30 s); resolves once it exited. */
export async function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000) {
  if (!alive(proc)) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface Manager {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  readonly proc: ChildProcess;
  /** Its stderr (the manager's log) so far. */
  readonly log: () => string;
}

/**
 * Starts `holdfast server --data-dir DIR --port 0 ...args` and resolves once it announced its URL; rejects if
 * it exits first.
 */
export async function startManager(dataDir: string, args: readonly string[] = []): Promise<Manager> {
  const proc = spawn(process.execPath, [MAIN, 'server', '--data-dir', dataDir, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stopAtEnd(proc);
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => {
    log += d.toString('utf8');
  });
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).once('line', res);
    proc.once('exit', (c) => rej(new Error(`server exited ${c}:\n${log}`)));
  });
  return { base: (JSON.parse(line) as { url: string }).url, proc, log: () => log };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------------------

export interface Answer {
  readonly status: number;
  /** The Content-Type header, if any. */
  readonly type: string | null;
  readonly text: string;
  /** The body as JSON (`{}` when it is not JSON). */
  readonly json: Record<string, unknown>;
}

/** One request; a body that is not a string is sent as JSON. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const r = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, type: r.headers.get('content-type'), text, json };
}

/** `call` bound to a server (and headers, e.g. an API key). */
export function api(base: string, headers: Record<string, string> = {}) {
  return (method: string, path: string, body?: unknown): Promise<Answer> =>
    call(base, method, path, body, headers);
}

/**
 * Reads a streamed text response (e.g. `GET …/logs`) until `done(text)` holds, the stream ends, or `timeoutMs`
 * passes; returns the text read. One read is in flight at a time: a read still pending when the poll timer fires
 * is awaited again on the next turn (dropping it would lose the chunk it later resolves with).
 */
export async function readStreamUntil(
  url: string,
  done: (text: string) => boolean,
  opts: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<{ status: number; contentType: string; text: string }> {
  const ac = new AbortController();
  const r = await fetch(url, { signal: ac.signal, headers: opts.headers ?? {} });
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  let pending: ReturnType<typeof reader.read> | null = null;
  try {
    while (Date.now() < deadline && !done(text)) {
      pending ??= reader.read();
      const next = await Promise.race([
        pending,
        new Promise<null>((res) => setTimeout(() => res(null), 200)),
      ]);
      if (next === null) continue;
      pending = null;
      if (next.done) break;
      text += decoder.decode(next.value, { stream: true });
    }
  } finally {
    ac.abort();
  }
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', text };
}
