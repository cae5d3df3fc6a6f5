/**
 * Fault rounds: the damage a hostile operator (or a bad disk) does to a pipeline's durable files, shared by the
 * CI test (faults.test.ts) and `npm run chaos -- --faults ...` (chaos.ts).
 *
 * A `corrupt` campaign (one seed, one fault-tolerance model) runs a pipeline fed only over HTTP ingress (the
 * journal is the only copy of data pushed since the newest checkpoint) with a grouped and a global aggregate.
 * Each round:
 * 1. start the pipeline process; it must come back `Running` with views equal to every acknowledged change
 *    (so a silent shrink in the previous round is caught here too);
 * 2. push 1–4 batches of inserts and deletes over HTTP (each acknowledged), with checkpoints at random points;
 * 3. `kill -9`, then damage one durable file picked at random: a journal file, a checkpoint manifest, a state
 *    segment, or the checkpoint catalog; by flipping one byte or (except for the journal, whose cut tail is
 *    indistinguishable from a torn write) cutting the file short;
 * 4. restart. The outcome must be one of:
 *    - `recovered`: Running, every acknowledged change present (e.g. an older checkpoint plus the journal);
 *    - `loud`: the start fails with a coded error (`/status` answers an error body) whose message names the
 *      damaged file; the harness then puts the original bytes back and the next round's start must recover;
 *    anything else (Running with other contents, a failure that does not say which file) fails the campaign.
 *
 * A `full-disk` campaign puts the pipeline's storage on a small tmpfs (skipped, saying so, where `mount` is not
 * permitted). Each round starts the pipeline (Running, views equal to the acknowledged changes), fills the disk
 * up to a random few KiB, then pushes batches and requests checkpoints: a push is either acknowledged (200) or
 * refused with `StorageFull` (and then must not show up, ever), a checkpoint either succeeds or fails with
 * `StorageFull`, and the pipeline stays Running throughout. Sometimes space is freed mid-round and a push and a
 * checkpoint must then succeed. The round ends with `kill -9` and the space freed.
 *
 * A `flaky-store` campaign syncs checkpoints to an S3 server (s3rver) through the fault-injecting proxy
 * (tests/helpers/fault-proxy.ts). Each round pushes acknowledged batches, takes a checkpoint and pushes it while
 * the proxy injects random faults (5xx, resets, bodies cut short, response or upload bodies with bytes flipped, delays, hangs) into a
 * random share of the requests: a push either succeeds or fails loudly, never leaves a manifest whose files are
 * missing. Then `kill -9`, usually with the local storage wiped (a lost disk), and a restart with
 * `start_from_checkpoint: "latest"` while faults go on. The outcome must be:
 * - Running with the contents of the newest checkpoint whose manifest reached the bucket (the last successful
 *   push, or a later push that failed after its manifest landed), or everything acknowledged when the storage
 *   was kept (never an empty or older state while the bucket holds a newer checkpoint);
 * - or a start that fails with `CheckpointFetchError`; the harness then stops the faults and the next start
 *   must restore as above.
 *
 * Every random choice comes from a Prng seeded by the campaign seed; failures name the seed
 * (`SEED=<seed> npm run chaos -- --faults corrupt --rounds N`).
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type Fault, type RequestKind, startFaultProxy } from '../helpers/fault-proxy.ts';
import { Prng } from '../helpers/oracle/prng.ts';
import { startS3rver } from '../helpers/s3rver.ts';
import { checkpoint, getJson, kill9, type Proc, query, startPipeline } from './support.ts';

export type FaultKind = 'corrupt' | 'full-disk' | 'flaky-store';
export const FAULT_KINDS: readonly FaultKind[] = ['corrupt', 'full-disk', 'flaky-store'];
export type FaultModel = 'exactly_once' | 'at_least_once';

/** Which durable file a round damaged. */
export type Target = 'journal' | 'manifest' | 'segment' | 'catalog';
export type Outcome = 'recovered' | 'loud';

export interface FaultCampaignResult {
  readonly kind: FaultKind;
  readonly model: FaultModel;
  readonly seed: number;
  readonly rounds: number;
  /** Rounds by outcome and by what was damaged, e.g. `journal/flip/loud`, `push/full`, `checkpoint/ok`. */
  readonly outcomes: Record<string, number>;
  /** Why the campaign did not run (e.g. `mount` not permitted), or null. */
  readonly skipped: string | null;
  readonly ms: number;
  /** Everything that went wrong (empty: the campaign passed); each names the seed. */
  readonly failures: string[];
}

interface Row {
  readonly g: number;
  readonly v: number;
}

const PROGRAM = `CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, g INT NOT NULL, v BIGINT NOT NULL);
CREATE MATERIALIZED VIEW s AS SELECT g, COUNT(*) AS c, SUM(v) AS sv FROM t GROUP BY g;
CREATE MATERIALIZED VIEW tot AS SELECT COUNT(*) AS n, SUM(v) AS sv FROM t;`;

const GROUPS = 7;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The views' expected contents (JSON lines as the ad-hoc query prints them, sorted) for a table state. */
function expected(rows: ReadonlyMap<number, Row>): { s: string; tot: string } {
  const by = new Map<number, { c: number; sv: number }>();
  let n = 0;
  let sv = 0;
  for (const r of rows.values()) {
    const e = by.get(r.g) ?? { c: 0, sv: 0 };
    e.c++;
    e.sv += r.v;
    by.set(r.g, e);
    n++;
    sv += r.v;
  }
  const s = [...by]
    .map(([g, e]) => JSON.stringify({ g, c: e.c, sv: e.sv }))
    .sort()
    .join('\n');
  return { s, tot: JSON.stringify({ n, sv: n === 0 ? null : sv }) };
}

async function views(base: string): Promise<{ s: string; tot: string }> {
  const s = (await query(base, 'SELECT g, c, sv FROM s'))
    .split('\n')
    .filter((l) => l !== '')
    .sort()
    .join('\n');
  return { s, tot: await query(base, 'SELECT n, sv FROM tot') };
}

/** `Running` or the error body the process answers `/status` with once it has decided (or a timeout). */
async function settle(p: Proc, ms = 30_000): Promise<{ running: true } | { running: false; body: string }> {
  const t0 = Date.now();
  for (;;) {
    if (p.child.exitCode !== null) return { running: false, body: `exited ${p.child.exitCode}` };
    try {
      const r = await fetch(`${p.base}/status`);
      const text = await r.text();
      if (r.status === 200 && JSON.parse(text).runtime_status === 'Running') return { running: true };
      if (text.includes('"error_code"') && r.status !== 503) return { running: false, body: text };
    } catch {
      // not listening yet or just exited
    }
    if (Date.now() - t0 > ms) return { running: false, body: 'timed out waiting for Running or an error' };
    await sleep(25);
  }
}

/** Durable files of `kind` under the storage dir, with something in them. */
function candidates(storage: string, target: Target): string[] {
  const list = (dir: string, re: RegExp) => {
    try {
      return readdirSync(join(storage, dir))
        .filter((n) => re.test(n))
        .map((n) => join(storage, dir, n))
        .filter((p) => statSync(p).size > 0);
    } catch {
      return [];
    }
  };
  switch (target) {
    case 'journal':
      return list('journal', /\.log$/);
    case 'manifest':
      return list('checkpoint-store/checkpoints', /\.json$/);
    case 'segment':
      return list('checkpoint-store/files', /^[0-9a-f]+$/);
    case 'catalog':
      return list('checkpoint-store', /^checkpoints\.json$/);
  }
}

/**
 * What names the damaged file in an error: its base name, or for a segment its hash, or for a manifest its
 * checkpoint UUID.
 */
function namesFile(body: string, path: string): boolean {
  const name = basename(path);
  return body.includes(name) || body.includes(name.replace(/\.json$|\.log$/, ''));
}

export interface FaultCampaignOptions {
  readonly kind: FaultKind;
  readonly model: FaultModel;
  readonly seed: number;
  readonly rounds: number;
  readonly log?: (line: string) => void;
}

/** The table's acknowledged contents, and random batches of changes to it. */
class Acked {
  readonly rows = new Map<number, Row>();
  #nextId = 0;

  /** A batch of 20–200 inserts and deletes (as JSON lines) and the contents it leads to. */
  batch(rng: Prng): { body: string; next: Map<number, Row>; nextId: number } {
    const lines: string[] = [];
    const next = new Map(this.rows);
    let nextId = this.#nextId;
    for (let i = rng.int(20, 200); i > 0; i--) {
      const ids = [...next.keys()];
      if (ids.length > 0 && rng.chance(0.2)) {
        const id = rng.pick(ids);
        const r = next.get(id) as Row;
        lines.push(JSON.stringify({ delete: { id, g: r.g, v: r.v } }));
        next.delete(id);
      } else {
        const r = { g: rng.int(0, GROUPS - 1), v: rng.int(-1000, 1000) };
        lines.push(JSON.stringify({ insert: { id: nextId, ...r } }));
        next.set(nextId++, r);
      }
    }
    return { body: lines.join('\n'), next, nextId };
  }

  /** The batch was acknowledged. */
  commit(b: { next: Map<number, Row>; nextId: number }): void {
    this.rows.clear();
    for (const [k, v] of b.next) this.rows.set(k, v);
    this.#nextId = b.nextId;
  }

  /** A copy of the acknowledged contents. */
  snapshot(): Map<number, Row> {
    return new Map(this.rows);
  }

  /** Continues from `rows` (what a restore brought back; later data was lost with the disk). */
  reset(rows: ReadonlyMap<number, Row>): void {
    this.rows.clear();
    for (const [k, v] of rows) this.rows.set(k, v);
  }

  /** Whether a running pipeline's views equal the acknowledged contents (else a message). */
  async check(base: string): Promise<string | null> {
    const want = expected(this.rows);
    const got = await views(base);
    if (got.s === want.s && got.tot === want.tot) return null;
    const have = new Set(got.s.split('\n'));
    const exp = new Set(want.s.split('\n'));
    const only = (a: Set<string>, b: Set<string>) => [...a].filter((l) => !b.has(l)).slice(0, 3);
    return `tot ${got.tot}, acknowledged ${want.tot}; groups only in the view ${only(have, exp).join(' ')}, only acknowledged ${only(exp, have).join(' ')}`;
  }
}

export async function runFaultCampaign(o: FaultCampaignOptions): Promise<FaultCampaignResult> {
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `holdfast-fault-${o.kind}-`));
  const storage = join(dir, 'storage');
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: PROGRAM,
      storage: { backend: { name: 'file', config: { path: storage } } },
      fault_tolerance: { model: o.model, checkpoint_interval_secs: null },
    }),
  );
  const c: Campaign = {
    o,
    rng: new Prng(o.seed),
    cfg,
    storage,
    tag: `(${o.kind}, ${o.model}, seed ${o.seed})`,
    acked: new Acked(),
    failures: [],
    outcomes: {},
    proc: null,
  };
  let skipped: string | null = null;
  try {
    if (o.kind === 'corrupt') await corruptCampaign(c);
    else if (o.kind === 'flaky-store') await flakyStoreCampaign(c);
    else skipped = await fullDiskCampaign(c);
  } catch (e) {
    c.failures.push(`${(e as Error).message} ${c.tag}`);
  } finally {
    if (c.proc !== null) await kill9(c.proc);
    if (o.kind === 'full-disk') unmount(storage);
  }
  if (c.failures.length === 0) rmSync(dir, { recursive: true, force: true });
  else c.failures.push(`campaign directory kept: ${dir}`);
  return {
    kind: o.kind,
    model: o.model,
    seed: o.seed,
    rounds: o.rounds,
    outcomes: c.outcomes,
    skipped,
    ms: Date.now() - t0,
    failures: c.failures,
  };
}

interface Campaign {
  readonly o: FaultCampaignOptions;
  readonly rng: Prng;
  readonly cfg: string;
  readonly storage: string;
  readonly tag: string;
  readonly acked: Acked;
  readonly failures: string[];
  readonly outcomes: Record<string, number>;
  proc: Proc | null;
}

const count = (c: Campaign, key: string) => {
  c.outcomes[key] = (c.outcomes[key] ?? 0) + 1;
};

/** Starts the pipeline and checks it comes back Running with the acknowledged contents (false: a failure). */
async function startChecked(c: Campaign, round: number): Promise<boolean> {
  c.proc = await startPipeline(c.cfg);
  const st = await settle(c.proc);
  if (!st.running) {
    c.failures.push(`round ${round}: the pipeline did not come back Running ${c.tag}: ${st.body}`);
    return false;
  }
  const diff = await c.acked.check(c.proc.base);
  if (diff !== null) {
    c.failures.push(`round ${round}: views differ from the acknowledged changes ${c.tag}: ${diff}`);
    return false;
  }
  return true;
}

async function push(base: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}/ingress/t?format=json`, { method: 'POST', body });
  return { status: res.status, text: await res.text() };
}

/** Pushes the next acknowledged batch and commits it; false (the failure noted) when the ingress refused it. */
async function pushAcked(c: Campaign, base: string, round: number): Promise<boolean> {
  const batch = c.acked.batch(c.rng);
  const r = await push(base, batch.body);
  if (r.status !== 200) {
    c.failures.push(`round ${round}: ingress answered ${r.status} ${r.text} ${c.tag}`);
    return false;
  }
  c.acked.commit(batch);
  return true;
}

async function stop(c: Campaign): Promise<void> {
  if (c.proc !== null) await kill9(c.proc);
  c.proc = null;
}

async function corruptCampaign(c: Campaign): Promise<void> {
  const { rng } = c;
  for (let round = 0; round <= c.o.rounds; round++) {
    if (!(await startChecked(c, round)) || round === c.o.rounds) return;
    const base = (c.proc as Proc).base;
    // 2: acknowledged batches, checkpoints in between
    for (let b = rng.int(1, 4); b > 0; b--) {
      if (!(await pushAcked(c, base, round))) return;
      if (rng.chance(0.4)) await checkpoint(base);
    }
    // sometimes before, sometimes after the last batch's step (the journal holds it either way)
    await sleep(rng.int(0, 60));
    await stop(c);
    // 3: damage one file
    const targets = (['journal', 'manifest', 'segment', 'catalog'] as const).filter(
      (t) => candidates(c.storage, t).length > 0,
    );
    if (targets.length === 0) continue;
    const target = rng.pick(targets);
    const path = rng.pick(candidates(c.storage, target));
    const bytes = readFileSync(path);
    const mode = target !== 'journal' && rng.chance(0.3) ? 'cut' : 'flip';
    let what: string;
    if (mode === 'flip') {
      const damaged = Buffer.from(bytes);
      const at = rng.int(0, bytes.length - 1);
      damaged[at] = (damaged[at] as number) ^ (1 << rng.int(0, 7));
      writeFileSync(path, damaged);
      what = `flipped a bit of byte ${at} of ${bytes.length}`;
    } else {
      const keep = rng.int(0, bytes.length - 1);
      writeFileSync(path, bytes.subarray(0, keep));
      what = `cut to ${keep} of ${bytes.length} bytes`;
    }
    c.o.log?.(`round ${round}: ${target} ${basename(path)}: ${what}`);
    // 4: the outcome (a start that fails before listening exits 1 with the error on stderr)
    const after = await startPipeline(c.cfg).then(
      async (p) => {
        c.proc = p;
        return settle(p);
      },
      (e: Error) => ({ running: false as const, body: e.message }),
    );
    let outcome: Outcome;
    if (after.running) {
      const diff = await c.acked.check((c.proc as Proc).base);
      if (diff !== null) {
        c.failures.push(
          `round ${round}: SILENT LOSS after damaging ${target} ${basename(path)} (${what}): Running with ${diff} ${c.tag}`,
        );
        return;
      }
      outcome = 'recovered';
    } else {
      if (!namesFile(after.body, path)) {
        c.failures.push(
          `round ${round}: the start failed without naming the damaged ${target} ${basename(path)} (${what}) ${c.tag}: ${after.body}`,
        );
        return;
      }
      outcome = 'loud';
    }
    count(c, `${target}/${mode}/${outcome}`);
    await stop(c);
    // a loud failure is repaired by the operator: the original bytes go back
    if (outcome === 'loud') writeFileSync(path, bytes);
  }
}

/** Size of the tmpfs a full-disk campaign runs on. */
const DISK_BYTES = 8 * 1024 * 1024;

/** Mounts a tmpfs of `bytes` at `dir`; returns why it could not (null: mounted). */
function mountTmpfs(dir: string, bytes: number): string | null {
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() !== 0) return 'not root: mounting a tmpfs needs root';
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : `mount failed: ${(r.stderr || r.error?.message || '').trim()}`;
}

function unmount(dir: string): void {
  spawnSync('umount', [dir]);
}

/** Fills the disk holding `dir` up to `leave` bytes free (tmpfs counts whole pages); returns the filler. */
function fill(dir: string, leave: number): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let size = 0;
  try {
    for (let n = chunk.length; n >= 512; ) {
      try {
        size += writeSync(fd, chunk, 0, n);
      } catch {
        n >>= 1;
      }
    }
    ftruncateSync(fd, Math.max(0, size - leave));
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Requests a checkpoint and waits for its outcome: null when it succeeded, else the error text. */
async function tryCheckpoint(base: string): Promise<string | null> {
  const r = await fetch(`${base}/checkpoint`, { method: 'POST' });
  const text = await r.text();
  if (r.status !== 200) return text;
  const seq = (JSON.parse(text) as { checkpoint_sequence_number: number }).checkpoint_sequence_number;
  for (let i = 0; i < 1200; i++) {
    const s = await getJson<{
      success: number | null;
      failure: { sequence_number: number; error: string } | null;
    }>(base, '/checkpoint_status');
    if (s.success !== null && s.success >= seq) return null;
    if (s.failure !== null && s.failure.sequence_number >= seq) return JSON.stringify(s.failure);
    await sleep(25);
  }
  return `checkpoint ${seq} did not finish`;
}

async function fullDiskCampaign(c: Campaign): Promise<string | null> {
  const why = mountTmpfs(c.storage, DISK_BYTES);
  if (why !== null) return why;
  const { rng } = c;
  for (let round = 0; round <= c.o.rounds; round++) {
    if (!(await startChecked(c, round)) || round === c.o.rounds) return null;
    const base = (c.proc as Proc).base;
    let filler: string | null = fill(c.storage, rng.int(0, 48) * 1024);
    for (let op = rng.int(2, 6); op > 0; op--) {
      const freeNow = filler !== null && rng.chance(0.15);
      if (freeNow) {
        rmSync(filler as string);
        filler = null;
      }
      if (rng.chance(0.7)) {
        const batch = c.acked.batch(rng);
        const r = await push(base, batch.body);
        if (r.status === 200) {
          c.acked.commit(batch);
          count(c, `push/${filler === null ? 'free' : 'full'}/ok`);
        } else if (filler !== null && r.text.includes('StorageFull')) {
          count(c, 'push/full/refused');
        } else {
          c.failures.push(`round ${round}: a push answered ${r.status} ${r.text} ${c.tag}`);
          return null;
        }
      } else {
        const err = await tryCheckpoint(base);
        if (err === null) count(c, `checkpoint/${filler === null ? 'free' : 'full'}/ok`);
        else if (filler !== null && err.includes('StorageFull')) count(c, 'checkpoint/full/refused');
        else {
          c.failures.push(`round ${round}: a checkpoint failed: ${err} ${c.tag}`);
          return null;
        }
      }
      const st = await settle(c.proc as Proc, 5_000);
      if (!st.running) {
        c.failures.push(`round ${round}: the pipeline left Running on a full disk ${c.tag}: ${st.body}`);
        return null;
      }
    }
    await sleep(rng.int(0, 60));
    await stop(c);
    if (filler !== null) rmSync(filler);
    c.o.log?.(`round ${round}: ${JSON.stringify(c.outcomes)}`);
  }
  return null;
}

const FAULTS: readonly Fault[] = [
  { type: 'status', status: 500 },
  { type: 'status', status: 503 },
  { type: 'reset' },
  { type: 'truncate' },
  { type: 'corrupt' },
  { type: 'corrupt-request' },
  { type: 'delay', ms: 300 },
  { type: 'hang' },
];
const STORE_KINDS: readonly RequestKind[] = ['get', 'range', 'head', 'put', 'multipart', 'list'];

/** POSTs /checkpoint/sync and waits for that push to end: null when it succeeded, else the error. */
async function syncNow(base: string): Promise<string | null> {
  type Counts = { checkpoint_sync: { pushes: number; push_failures: number } };
  const ended = (s: Counts) => s.checkpoint_sync.pushes + s.checkpoint_sync.push_failures;
  const before = ended(await getJson<Counts>(base, '/checkpoint/sync_status'));
  const r = await fetch(`${base}/checkpoint/sync`, { method: 'POST' });
  const text = await r.text();
  if (r.status !== 202) return `POST /checkpoint/sync answered ${r.status} ${text}`;
  const { checkpoint_uuid: uuid } = JSON.parse(text) as { checkpoint_uuid: string };
  for (let i = 0; i < 2400; i++) {
    if (ended(await getJson<Counts>(base, '/checkpoint/sync_status')) > before) {
      const s = await getJson<{ success: string | null; failure: { uuid: string; error: string } | null }>(
        base,
        '/checkpoint/sync_status',
      );
      if (s.success === uuid) return null;
      return s.failure?.error ?? 'the push ended without success or failure';
    }
    await sleep(25);
  }
  return `the push of ${uuid} did not end within 60 s`;
}

/** Waits until the views show every acknowledged change (so a checkpoint holds them). */
async function caughtUp(c: Campaign, base: string): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    if ((await c.acked.check(base)) === null) return true;
    await sleep(25);
  }
  return false;
}

/** The pipeline's log lines about checkpoints and sync (the last 40), to say what a restore did. */
function syncLog(p: Proc): string {
  return p.log
    .filter((l) => /checkpoint|sync|restor|bucket|manifest/i.test(l))
    .slice(-40)
    .join('\n');
}

async function flakyStoreCampaign(c: Campaign): Promise<void> {
  const { rng } = c;
  const s3 = await startS3rver(undefined, { buckets: ['chaos'] });
  const proxy = await startFaultProxy(s3.endpoint, undefined, { seed: c.o.seed });
  try {
    writeFileSync(
      c.cfg,
      JSON.stringify({
        // a stable identity: the bucket's owner must survive a lost disk (the manager gives its pipelines one)
        name: 'chaos-flaky-store',
        program_code: PROGRAM,
        storage: {
          backend: {
            name: 'file',
            config: {
              path: c.storage,
              sync: {
                endpoint: proxy.endpoint,
                bucket: 'chaos/p',
                region: s3.region,
                access_key: s3.accessKey,
                secret_key: s3.secretKey,
                start_from_checkpoint: 'latest',
                fail_if_no_checkpoint: false,
                flags: ['--low-level-retries', '3', '--retries-sleep', '20ms', '--timeout', '1s'],
              },
            },
          },
        },
        fault_tolerance: { model: c.o.model, checkpoint_interval_secs: null },
      }),
    );
    /** Contents a restore from the bucket may bring back: the newest landed manifest is one of these. */
    let restorable: Array<Map<number, Row>> = [new Map()];
    /** Which of `restorable` a pipeline restored from the bucket holds (and continue from it), or null. */
    const matchRestored = async (base: string): Promise<boolean> => {
      for (const cand of restorable) {
        c.acked.reset(cand);
        if ((await c.acked.check(base)) === null) {
          restorable = [cand];
          return true;
        }
      }
      return false;
    };
    /** A start after a failed restore: a restore from the bucket again, with the faults stopped. */
    let restoreNext = false;
    for (let round = 0; round <= c.o.rounds; round++) {
      if (restoreNext) {
        c.proc = await startPipeline(c.cfg);
        const st = await settle(c.proc, 60_000);
        if (!st.running || !(await matchRestored(c.proc.base))) {
          c.failures.push(
            `round ${round}: with the faults stopped, the restore did not bring back a checkpoint state that may be newest: ${st.running ? 'other contents' : st.body} ${c.tag}`,
          );
          return;
        }
        restoreNext = false;
        if (round === c.o.rounds) return;
      } else if (!(await startChecked(c, round)) || round === c.o.rounds) return;
      const base = (c.proc as Proc).base;
      for (let b = rng.int(1, 3); b > 0; b--) if (!(await pushAcked(c, base, round))) return;
      if (!(await caughtUp(c, base))) {
        c.failures.push(`round ${round}: the views never caught up with the acknowledged input ${c.tag}`);
        return;
      }
      await checkpoint(base);
      const state = c.acked.snapshot();
      // faults on a random share of the store's requests while pushing
      const rule = proxy.inject({
        kinds: [rng.pick(STORE_KINDS), rng.pick(STORE_KINDS)],
        fault: rng.pick(FAULTS),
        probability: rng.pick([0.1, 0.3, 0.6]),
      });
      const err = await syncNow(base);
      proxy.remove(rule);
      if (err === null) {
        restorable = [state];
        count(c, 'push/ok');
      } else {
        // a push that failed may still have landed its manifest (its answer was lost)
        restorable.push(state);
        count(c, 'push/failed');
        c.o.log?.(`round ${round}: push failed under ${JSON.stringify(rule)}: ${err.slice(0, 200)}`);
      }
      await stop(c);
      const wiped = rng.chance(0.7);
      if (wiped) rmSync(c.storage, { recursive: true, force: true });
      // restart while the store is still flaky
      const restoreRule = proxy.inject({
        kinds: [rng.pick(STORE_KINDS), rng.pick(STORE_KINDS)],
        fault: rng.pick(FAULTS),
        probability: rng.pick([0.1, 0.3, 0.6]),
      });
      const after = await startPipeline(c.cfg).then(
        async (p) => {
          c.proc = p;
          return settle(p, 60_000);
        },
        (e: Error) => ({ running: false as const, body: e.message }),
      );
      proxy.remove(restoreRule);
      let outcome: string;
      if (!after.running) {
        if (!after.body.includes('CheckpointFetchError')) {
          c.failures.push(
            `round ${round}: the restart failed without CheckpointFetchError ${c.tag}: ${after.body}`,
          );
          return;
        }
        outcome = 'fetch-error';
        await stop(c);
        // the faults stop; the next round's start must restore
        restoreNext = wiped;
      } else {
        const base2 = (c.proc as Proc).base;
        if (wiped) {
          if (!(await matchRestored(base2))) {
            c.failures.push(
              `round ${round}: after a lost disk the restore brought back none of the ${restorable.length} checkpoint state(s) that may be newest in the bucket ${c.tag}\n${syncLog(c.proc as Proc)}`,
            );
            return;
          }
        } else {
          const diff = await c.acked.check(base2);
          if (diff !== null) {
            c.failures.push(`round ${round}: restart on kept storage lost data: ${diff} ${c.tag}`);
            return;
          }
        }
        outcome = wiped ? 'restored' : 'local';
        await stop(c);
      }
      count(c, `restart/${outcome}`);
      c.o.log?.(`round ${round}: ${wiped ? 'storage wiped, ' : ''}${outcome}`);
    }
  } finally {
    await stop(c);
    await proxy.stop();
    await s3.stop();
  }
}
