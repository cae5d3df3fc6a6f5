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
 * Every random choice comes from a Prng seeded by the campaign seed; failures name the seed
 * (`SEED=<seed> npm run chaos -- --faults corrupt --rounds N`).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Prng } from '../helpers/oracle/prng.ts';
import { checkpoint, kill9, type Proc, query, startPipeline } from './support.ts';

export type FaultKind = 'corrupt';
export const FAULT_KINDS: readonly FaultKind[] = ['corrupt'];
export type FaultModel = 'exactly_once' | 'at_least_once';

/** Which durable file a round damaged. */
export type Target = 'journal' | 'manifest' | 'segment' | 'catalog';
export type Outcome = 'recovered' | 'loud';

export interface FaultCampaignResult {
  readonly kind: FaultKind;
  readonly model: FaultModel;
  readonly seed: number;
  readonly rounds: number;
  /** Rounds by outcome and by what was damaged, e.g. `journal/flip/loud`. */
  readonly outcomes: Record<string, number>;
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
      return list('checkpoints', /\.json$/);
    case 'segment':
      return list('files', /^[0-9a-f]+$/);
    case 'catalog':
      return list('.', /^checkpoints\.json$/);
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

export async function runFaultCampaign(o: FaultCampaignOptions): Promise<FaultCampaignResult> {
  const t0 = Date.now();
  const rng = new Prng(o.seed);
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
  const failures: string[] = [];
  const outcomes: Record<string, number> = {};
  const tag = `(${o.kind}, ${o.model}, seed ${o.seed})`;
  const rows = new Map<number, Row>();
  let nextId = 0;
  let restore: { path: string; bytes: Buffer } | null = null;
  let p: Proc | null = null;
  try {
    for (let round = 0; round <= o.rounds && failures.length === 0; round++) {
      p = await startPipeline(cfg);
      const st = await settle(p);
      if (!st.running) {
        failures.push(`round ${round}: the pipeline did not come back Running ${tag}: ${st.body}`);
        break;
      }
      const want = expected(rows);
      const got = await views(p.base);
      if (got.s !== want.s || got.tot !== want.tot) {
        failures.push(
          `round ${round}: views differ from the acknowledged changes ${tag}: tot ${got.tot} vs ${want.tot}`,
        );
        break;
      }
      if (round === o.rounds) break;
      // 2: acknowledged batches, checkpoints in between
      const batches = rng.int(1, 4);
      for (let b = 0; b < batches; b++) {
        const lines: string[] = [];
        const next = new Map(rows);
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
        const res = await fetch(`${p.base}/ingress/t?format=json`, {
          method: 'POST',
          body: lines.join('\n'),
        });
        const text = await res.text();
        if (res.status !== 200) {
          failures.push(`round ${round}: ingress answered ${res.status} ${text} ${tag}`);
          break;
        }
        for (const k of [...rows.keys()]) if (!next.has(k)) rows.delete(k);
        for (const [k, v] of next) rows.set(k, v);
        if (rng.chance(0.4)) await checkpoint(p.base);
      }
      // let the last batch's step run (the journal holds it either way)
      await sleep(rng.int(0, 60));
      await kill9(p);
      p = null;
      // 3: damage one file
      const targets = (['journal', 'manifest', 'segment', 'catalog'] as const).filter(
        (t) => candidates(storage, t).length > 0,
      );
      if (targets.length === 0) continue;
      const target = rng.pick(targets);
      const path = rng.pick(candidates(storage, target));
      const bytes = readFileSync(path);
      const mode = target !== 'journal' && rng.chance(0.3) ? 'cut' : 'flip';
      const damaged = Buffer.from(bytes);
      let what: string;
      if (mode === 'flip') {
        const at = rng.int(0, bytes.length - 1);
        damaged[at] = (damaged[at] as number) ^ (1 << rng.int(0, 7));
        what = `flipped a bit of byte ${at} of ${bytes.length}`;
      } else {
        const keep = rng.int(0, bytes.length - 1);
        what = `cut to ${keep} of ${bytes.length} bytes`;
        writeFileSync(path, damaged.subarray(0, keep));
      }
      if (mode === 'flip') writeFileSync(path, damaged);
      o.log?.(`round ${round}: ${target} ${basename(path)}: ${what}`);
      // 4: the outcome
      p = await startPipeline(cfg);
      const after = await settle(p);
      let outcome: Outcome;
      if (after.running) {
        const want2 = expected(rows);
        const got2 = await views(p.base);
        if (got2.s !== want2.s || got2.tot !== want2.tot) {
          failures.push(
            `round ${round}: SILENT LOSS after damaging ${target} ${basename(path)} (${what}): Running with tot ${got2.tot}, acknowledged ${want2.tot} ${tag}`,
          );
          break;
        }
        outcome = 'recovered';
      } else {
        if (!namesFile(after.body, path)) {
          failures.push(
            `round ${round}: the start failed without naming the damaged ${target} ${basename(path)} (${what}) ${tag}: ${after.body}`,
          );
          break;
        }
        outcome = 'loud';
        restore = { path, bytes };
      }
      const key = `${target}/${mode}/${outcome}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      await kill9(p);
      p = null;
      if (restore !== null) {
        writeFileSync(restore.path, restore.bytes);
        restore = null;
      }
    }
  } catch (e) {
    failures.push(`${(e as Error).message} ${tag}`);
  } finally {
    if (p !== null) await kill9(p);
  }
  if (failures.length === 0) rmSync(dir, { recursive: true, force: true });
  else failures.push(`campaign directory kept: ${dir}`);
  return {
    kind: o.kind,
    model: o.model,
    seed: o.seed,
    rounds: o.rounds,
    outcomes,
    ms: Date.now() - t0,
    failures,
  };
}
