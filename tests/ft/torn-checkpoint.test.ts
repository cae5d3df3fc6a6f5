/**
 * Torn and damaged checkpoints in a real pipeline process. One pipeline writes two checkpoints (A, full; then B,
 * incremental on top of A) and is killed with SIGKILL; each case copies that storage, damages it one way, starts
 * a pipeline on the copy and checks what recovery loaded:
 * - the newest checkpoint damaged (truncated manifest, a segment of B missing, a segment of B with flipped bytes):
 *   B is skipped with a logged reason, A is restored (state = A's content, the file input resumes at A's position);
 * - the catalog (`checkpoints.json`) garbage: it is a cache, rebuilt from the manifests, so B is restored;
 * - both checkpoints damaged (a segment they share has flipped bytes): both are skipped with a logged reason and the
 *   pipeline starts from scratch (empty state, the file input read from its beginning) — it does not fail.
 * Damaged state is never loaded: each case checks the exact restored contents.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkpoint, kill9, query, startPipeline, untilEqual } from './support.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// The input file path is relative (resolved against the process's working directory), so every case runs the
// same program — same fingerprint — on its own copy of the file and of the storage.
const SQL = `CREATE TABLE f (x INT) WITH ('connectors' = '[{"name": "file", "transport": {"name": "file_input", "config": {"path": "in.csv", "follow": true}}, "format": {"name": "csv"}}]');
CREATE TABLE h (id INT NOT NULL PRIMARY KEY, v DECIMAL(10,2));
CREATE MATERIALIZED VIEW s AS SELECT COUNT(*) AS n, SUM(x) AS sx FROM f;
CREATE MATERIALIZED VIEW hv AS SELECT SUM(v) AS sv, COUNT(*) AS c FROM h;`;
// Storage without a fault-tolerance model: checkpoints (on request) but no input journal, so what a restart holds
// is exactly the checkpoint it restored (with a journal, data pushed after it would be replayed on top).
const CONFIG = JSON.stringify({ program_code: SQL, storage: {}, fault_tolerance: { model: 'none' } });
const STORE = 'storage/checkpoint-store';

const start = (dir: string) => startPipeline(join(dir, 'config.json'), { cwd: dir });

interface Manifest {
  uuid: string;
  parent: string | null;
  inputs: Record<string, unknown>;
  operators: Record<string, Record<string, Array<{ hash: string }>>>;
}

function hashesOf(m: Manifest): Set<string> {
  const out = new Set<string>();
  for (const states of Object.values(m.operators))
    for (const list of Object.values(states)) for (const ref of list) out.add(ref.hash);
  return out;
}

/** The storage left by the setup pipeline: A (full) then B (incremental), newest last. */
let template = '';
let A: Manifest;
let B: Manifest;

before(async () => {
  template = mkdtempSync(join(tmpdir(), 'holdfast-torn-'));
  dirs.push(template);
  writeFileSync(join(template, 'config.json'), CONFIG);
  writeFileSync(join(template, 'in.csv'), '1\n2\n3\n');
  const { base, child } = await start(template);
  await untilEqual(() => query(base, 'SELECT n, sx FROM s'), '{"n":3,"sx":6}');
  await fetch(`${base}/ingress/h?format=json`, {
    method: 'POST',
    body: '{"insert": {"id": 1, "v": "1.25"}}',
  });
  await untilEqual(() => query(base, 'SELECT sv, c FROM hv'), '{"sv":1.25,"c":1}');
  await checkpoint(base); // A
  appendFileSync(join(template, 'in.csv'), '10\n');
  await untilEqual(() => query(base, 'SELECT n, sx FROM s'), '{"n":4,"sx":16}');
  await fetch(`${base}/ingress/h?format=json`, { method: 'POST', body: '{"insert": {"id": 2, "v": 2}}' });
  await untilEqual(() => query(base, 'SELECT sv, c FROM hv'), '{"sv":3.25,"c":2}');
  await checkpoint(base); // B
  await kill9(child);
  const names = readdirSync(join(template, STORE, 'checkpoints')).sort(); // uuid v7: creation order
  assert.equal(names.length, 2, names.join(', '));
  [A, B] = names.map(
    (n) => JSON.parse(readFileSync(join(template, STORE, 'checkpoints', n), 'utf8')) as Manifest,
  ) as [Manifest, Manifest];
  assert.equal(B.parent, A.uuid);
  assert.notDeepEqual(B.inputs, A.inputs, 'B was taken at a later file position than A');
});

/** A copy of the two-checkpoint storage (and of the input file, as it was when B was taken). */
function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-torn-case-'));
  dirs.push(dir);
  cpSync(template, dir, { recursive: true });
  return dir;
}

const manifestPath = (dir: string, m: Manifest) => join(dir, STORE, 'checkpoints', `${m.uuid}.json`);
const segmentPath = (dir: string, hash: string) => join(dir, STORE, 'files', hash);

/** A segment file B references and A does not (one of B's delta segments). */
function onlyInB(): string {
  const inA = hashesOf(A);
  const only = [...hashesOf(B)].filter((h) => !inA.has(h));
  assert.ok(only.length > 0, 'B added segments of its own');
  return only[0] as string;
}

function flipBytes(path: string): void {
  const bytes = readFileSync(path);
  for (let i = Math.floor(bytes.length / 2); i < bytes.length; i += 7) bytes[i] = (bytes[i] as number) ^ 0xff;
  writeFileSync(path, bytes);
}

/** Starts on `dir` and checks that A was restored: B's state is absent, the file input resumes at A's offset. */
async function expectResumedFromA(dir: string, reason: RegExp): Promise<void> {
  const { base, child, log } = await start(dir);
  try {
    const text = log.join('\n');
    assert.ok(
      log.some(
        (l) => l.includes('skipping checkpoint that is not intact') && l.includes(B.uuid) && reason.test(l),
      ),
      text,
    );
    assert.ok(
      log.some((l) => l.includes(`resuming from checkpoint ${A.uuid}`)),
      text,
    );
    // A's content exactly: h holds only row 1 (row 2 arrived after A and is not replayed: it came over HTTP)
    // (`until`: right after listening the pipeline may still be initializing)
    await untilEqual(() => query(base, 'SELECT sv, c FROM hv'), '{"sv":1.25,"c":1}');
    assert.equal(await query(base, 'SELECT id, v FROM h'), '{"id":1,"v":1.25}');
    // the file resumes at A's offset: "10" is read again, nothing before it (from the start it would be n = 7)
    await untilEqual(() => query(base, 'SELECT n, sx FROM s'), '{"n":4,"sx":16}');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await query(base, 'SELECT n, sx FROM s'), '{"n":4,"sx":16}');
    // the store keeps working on top of A
    await checkpoint(base);
  } finally {
    await kill9(child);
  }
}

test('torn manifest (truncated) of the newest checkpoint: recovery restores the previous one', {
  timeout: 30_000,
}, async () => {
  const dir = copy();
  const path = manifestPath(dir, B);
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.slice(0, Math.floor(text.length / 2)));
  await expectResumedFromA(dir, /not valid JSON/);
});

test('a segment file of the newest checkpoint deleted: recovery restores the previous one', {
  timeout: 30_000,
}, async () => {
  const dir = copy();
  unlinkSync(segmentPath(dir, onlyInB()));
  await expectResumedFromA(dir, /misses segment/);
});

test('a segment file of the newest checkpoint with flipped bytes (same size): recovery restores the previous one', {
  timeout: 30_000,
}, async () => {
  const dir = copy();
  flipBytes(segmentPath(dir, onlyInB()));
  await expectResumedFromA(dir, /fails its hash check/);
});

test('garbage catalog: rebuilt from the manifests, the newest checkpoint is restored', {
  timeout: 30_000,
}, async () => {
  const dir = copy();
  writeFileSync(join(dir, STORE, 'checkpoints.json'), '[{"uuid": "0192f0c2-tor');
  const { base, child, log } = await start(dir);
  try {
    assert.ok(
      log.some((l) => l.includes('checkpoint catalog is unreadable; rebuilding it from the manifests')),
      log.join('\n'),
    );
    assert.ok(
      log.some((l) => l.includes(`resuming from checkpoint ${B.uuid}`)),
      log.join('\n'),
    );
    assert.ok(!log.some((l) => l.includes('skipping checkpoint')), log.join('\n'));
    await untilEqual(() => query(base, 'SELECT sv, c FROM hv'), '{"sv":3.25,"c":2}');
    assert.equal(await query(base, 'SELECT n, sx FROM s'), '{"n":4,"sx":16}');
    await new Promise((r) => setTimeout(r, 100)); // nothing is read again
    assert.equal(await query(base, 'SELECT n, sx FROM s'), '{"n":4,"sx":16}');
    // the rebuilt catalog lists both checkpoints, oldest first
    const catalog = JSON.parse(readFileSync(join(dir, STORE, 'checkpoints.json'), 'utf8')) as Array<{
      uuid: string;
    }>;
    assert.deepEqual(
      catalog.map((e) => e.uuid),
      [A.uuid, B.uuid],
    );
  } finally {
    await kill9(child);
  }
});

test('both checkpoints damaged (a shared segment with flipped bytes): both skipped, the pipeline starts from scratch', {
  timeout: 30_000,
}, async () => {
  const dir = copy();
  const inB = hashesOf(B);
  const shared = [...hashesOf(A)].filter((h) => inB.has(h));
  assert.ok(shared.length > 0, 'B extends A, so it references A’s base segments');
  flipBytes(segmentPath(dir, shared[0] as string));
  const { base, child, log } = await start(dir);
  try {
    const text = log.join('\n');
    for (const m of [B, A])
      assert.ok(
        log.some(
          (l) =>
            l.includes('skipping checkpoint that is not intact') &&
            l.includes(m.uuid) &&
            l.includes('fails its hash check'),
        ),
        text,
      );
    assert.ok(!log.some((l) => l.includes('resuming from checkpoint')), text);
    // nothing restored: empty tables, and the file input read from its beginning
    await untilEqual(() => query(base, 'SELECT sv, c FROM hv'), '{"sv":null,"c":0}');
    await untilEqual(() => query(base, 'SELECT n, sx FROM s'), '{"n":4,"sx":16}');
    // a fresh full checkpoint replaces the damaged ones; the next start resumes from it
    await checkpoint(base);
  } finally {
    await kill9(child);
  }
  const next = await start(dir);
  try {
    assert.ok(
      next.log.some((l) => l.includes('resuming from checkpoint')),
      next.log.join('\n'),
    );
    await untilEqual(() => query(next.base, 'SELECT n, sx FROM s'), '{"n":4,"sx":16}');
  } finally {
    await kill9(next.child);
  }
});
