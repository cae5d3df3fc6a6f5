/**
 * Damaged local checkpoint files under exactly_once never shrink acknowledged data silently. One pipeline
 * acknowledges 3 x 1,000 pushed rows with a checkpoint after the first and the second push, and is killed with
 * -9. Each case copies that storage, damages one file (the newest manifest, one of its segments, the catalog:
 * a changed byte or a truncation) and restarts a pipeline on the copy. Each must end in FULL recovery (all 3,000
 * rows: the previous checkpoint plus journal replay) or in a loud, coded failure naming the file - never Running
 * with fewer rows.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { checkpoint, kill9, MAIN, query, startPipeline, until } from './support.ts';

const SQL = `CREATE TABLE t (id BIGINT NOT NULL, v VARCHAR);
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(id) AS sid FROM t;`;
const ALL = '{"n":3000,"sid":4498500}';
const STORE = 'storage/checkpoint-store';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function push(base: string, from: number, to: number): Promise<void> {
  const body: string[] = [];
  for (let id = from; id < to; id++) body.push(JSON.stringify({ insert: { id, v: `row ${id}` } }));
  const r = await fetch(`${base}/ingress/t?format=json`, { method: 'POST', body: body.join('\n') });
  assert.equal(r.status, 200, await r.text());
}

let setup = '';
before(async () => {
  setup = mkdtempSync(join(tmpdir(), 'holdfast-cpdamage-'));
  dirs.push(setup);
  writeFileSync(
    join(setup, 'config.json'),
    JSON.stringify({
      program_code: SQL,
      storage: {},
      fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: null },
    }),
  );
  const p = await startPipeline(join(setup, 'config.json'));
  await push(p.base, 0, 1000);
  await checkpoint(p.base);
  await push(p.base, 1000, 2000);
  await checkpoint(p.base);
  await push(p.base, 2000, 3000);
  await until(
    () => query(p.base, 'SELECT n, sid FROM s'),
    (v) => v === ALL,
    'all pushes processed',
  );
  await kill9(p);
});

interface Manifest {
  uuid: string;
  operators: Record<string, Record<string, Array<{ hash: string }>>>;
}

function copy(): { dir: string; store: string; newest: Manifest; previous: Manifest } {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-cpdamage-case-'));
  dirs.push(dir);
  cpSync(setup, dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  const store = join(dir, STORE);
  const names = readdirSync(join(store, 'checkpoints')).sort();
  assert.equal(names.length, 2);
  const read = (n: string) => JSON.parse(readFileSync(join(store, 'checkpoints', n), 'utf8')) as Manifest;
  return { dir, store, previous: read(names[0] as string), newest: read(names[1] as string) };
}

const hashes = (m: Manifest) =>
  new Set(Object.values(m.operators).flatMap((s) => Object.values(s).flatMap((l) => l.map((r) => r.hash))));

function flip(path: string, at: (len: number) => number): void {
  const b = readFileSync(path);
  const i = at(b.length);
  b[i] = (b[i] as number) ^ 0x01;
  writeFileSync(path, b);
}

type Outcome = { kind: 'failed'; stderr: string } | { kind: 'running'; rows: string; log: string };

/** Starts a pipeline on `dir`: it either fails to initialize (exit 1) or runs; then reports what it holds. */
async function restart(dir: string): Promise<Outcome> {
  const child = spawn(process.execPath, [MAIN, 'pipeline', 'run', '--config', join(dir, 'config.json')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const line = await new Promise<string | null>((res) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', res);
    void exited.then(() => res(null));
  });
  const base = line === null ? null : `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
  // initialization (restore, replay) happens before or just after `listening`: wait for Running or an exit
  const state = await Promise.race([
    exited.then(() => 'exited' as const),
    (async () => {
      for (let i = 0; i < 600 && base !== null; i++) {
        try {
          const st = await (await fetch(`${base}/status`)).text();
          if (st.includes('Running')) return 'running' as const;
        } catch {}
        await new Promise((r) => setTimeout(r, 25));
      }
      return 'timeout' as const;
    })(),
  ]);
  if (state !== 'running') {
    await exited;
    return { kind: 'failed', stderr };
  }
  const rows = await query(base as string, 'SELECT n, sid FROM s');
  await kill9(child);
  return { kind: 'running', rows, log: stderr };
}

/** Full recovery, or a loud coded failure that names `file`. */
function assertNoSilentShrink(o: Outcome, file: string): void {
  if (o.kind === 'running') assert.equal(o.rows, ALL, `running with fewer rows (silent shrink):\n${o.log}`);
  else {
    const err = o.stderr.split('\n').find((l) => l.startsWith('error ['));
    assert.ok(err, o.stderr);
    const name = basename(file);
    assert.ok(err.includes(name), `the error names ${name}: ${err}\n${o.stderr}`);
  }
}

const cases: Array<[string, (c: ReturnType<typeof copy>) => string]> = [
  [
    'newest manifest: a changed byte in its JSON structure',
    ({ store, newest }) => {
      const f = join(store, 'checkpoints', `${newest.uuid}.json`);
      flip(f, () => 0);
      return f;
    },
  ],
  [
    'newest manifest: a changed byte inside a value (still valid JSON)',
    ({ store, newest }) => {
      const f = join(store, 'checkpoints', `${newest.uuid}.json`);
      const text = readFileSync(f, 'utf8');
      flip(f, () => text.indexOf('"fingerprint":"') + 16);
      return f;
    },
  ],
  [
    'newest manifest: truncated',
    ({ store, newest }) => {
      const f = join(store, 'checkpoints', `${newest.uuid}.json`);
      truncateSync(f, Math.floor(readFileSync(f).length / 2));
      return f;
    },
  ],
  [
    'a segment only the newest checkpoint has: a changed byte',
    ({ store, newest, previous }) => {
      const h = [...hashes(newest)].find((x) => !hashes(previous).has(x)) as string;
      const f = join(store, 'files', h);
      flip(f, (n) => Math.floor(n / 2));
      return f;
    },
  ],
  [
    'a segment only the newest checkpoint has: truncated',
    ({ store, newest, previous }) => {
      const h = [...hashes(newest)].find((x) => !hashes(previous).has(x)) as string;
      const f = join(store, 'files', h);
      truncateSync(f, Math.floor(readFileSync(f).length / 2));
      return f;
    },
  ],
  [
    'a segment both checkpoints share: a changed byte',
    ({ store, newest, previous }) => {
      const h = [...hashes(newest)].find((x) => hashes(previous).has(x));
      const f = join(store, 'files', h ?? [...hashes(previous)][0]!);
      flip(f, (n) => Math.floor(n / 2));
      return f;
    },
  ],
  [
    'the catalog: a changed byte',
    ({ store }) => {
      const f = join(store, 'checkpoints.json');
      flip(f, (n) => Math.floor(n / 2));
      return f;
    },
  ],
  [
    'the catalog: truncated',
    ({ store }) => {
      const f = join(store, 'checkpoints.json');
      truncateSync(f, Math.floor(readFileSync(f).length / 3));
      return f;
    },
  ],
];

for (const [name, damage] of cases) {
  test(`damaged checkpoint file (${name}): full recovery or a loud failure naming it, never fewer rows`, {
    timeout: 60_000,
  }, async () => {
    const c = copy();
    const file = damage(c);
    const o = await restart(c.dir);
    console.log(
      `${name}: ${o.kind === 'running' ? `running, ${o.rows}` : o.stderr.split('\n').find((l) => l.startsWith('error ['))}`,
    );
    assertNoSilentShrink(o, file);
  });
}
