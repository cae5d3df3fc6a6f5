/**
 * The crash harness's rounds, shared by the CI test (crash.test.ts) and `npm run chaos` (chaos.ts).
 *
 * A campaign (one seed, one fault-tolerance model) runs a multi-view program — two datagen tables (`g`, `e`),
 * a followed file_input table (`h`, JSON insert/delete lines appended in parts between and during rounds) and
 * a followed object_store_input table (`o`, a local-directory store that gets one new object with each part
 * of `h`; its rows carry JSON events, a VARIANT column), views with a join + GROUP BY aggregate (`agg`), a plain
 * join (`pairs`), a DISTINCT over a join (`dist`), global aggregates (`tg`, `te`, `tobj`), the events' line
 * items unnested (`items`: UNNEST of a VARIANT array) and aggregated (`per_sku`), each with a JSON file_output — and `kill -9`s the pipeline
 * process again and again at a random moment of each round:
 * - `replay`: right after the process listens (it is initializing, replaying its journal, or catching up);
 * - `step`: after a random sleep, mid-stream (steps run continuously at the datagen rate);
 * - `checkpoint`: right after `POST /checkpoint` (the checkpoint is being written);
 * - `output`: the moment an output file grows (right after a step's output was written);
 * - `append`: right after the next part of the input file was appended (it is being ingested).
 * Periodic checkpoints (every second) land anywhere in between. Every kill must be followed by a recovery:
 * the next process starts, is never Failed and logs no error. After the last kill the pipeline runs to the
 * end of its input, and the campaign compares with an uninterrupted reference run of the same program
 * (datagen unthrottled, the whole input file written up front):
 * - the final view contents (ad-hoc `SELECT *`) must be identical, under both models (the state is exact:
 *   replayable inputs re-read from the checkpoint's positions);
 * - every output file, integrated (insert +1, delete -1 per row): exactly_once → equal to the reference
 *   view (lost = copies missing, duplicated = extra copies, and no delete of a row the file does not
 *   hold); at_least_once → every copy of every row of the reference view was delivered, i.e. the file holds
 *   at least as many insert lines of it (lost = copies never written; duplicates and doubled deletes of the
 *   integral are counted, not failed).
 *
 * Why at_least_once is not checked on the integral: a restarted process resumes from the newest checkpoint and
 * recomputes from there with its own step boundaries, while what the crashed process wrote after that
 * checkpoint stays in the file. When the crashed process saw an insert and the restarted one sees the insert and
 * its delete in one step (they cancel), the crashed process's changes for the row are never undone: its
 * delete of the row's previous value stands, so the integral misses a row the view holds (seed 1916407601
 * showed it: `h` gained and lost a key of name n10 across the kill). That is the model's documented limit
 * (README, "The two models"); exactly_once replays the journal's steps and has no such gap.
 *
 * at_least_once and integration: output after the newest checkpoint is delivered again after a crash, so if
 * a row were deleted after the checkpoint and inserted again later, the doubled delete would cancel the
 * re-insert in the integral — a false "missing". The input file is generated so that no output row ever
 * comes back once deleted: a key never gets a name it had before, a name whose keys are all gone is never
 * used again, and rows inserted twice (weight 2) are never deleted; `th` (COUNT/SUM over h, which goes up
 * and down) has no file output.
 *
 * Every random choice comes from a Prng seeded by the campaign seed; failures carry the seed, the campaign
 * directory and the last processes' logs (reproduce: `SEED=<seed> npm run chaos -- --model M --kills N`).
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../helpers/oracle/prng.ts';
import {
  diffMultiset,
  integrateOutput,
  integrateOutputLoose,
  kill9,
  type Proc,
  query,
  startPipeline,
  viewRows,
} from './support.ts';

export type Model = 'exactly_once' | 'at_least_once';
export const MODELS: readonly Model[] = ['exactly_once', 'at_least_once'];
export type Moment = 'replay' | 'step' | 'checkpoint' | 'output' | 'append';
const MOMENTS: readonly Moment[] = ['replay', 'step', 'checkpoint', 'output', 'append'];

/** Views with a file output, compared with the reference and integrated. */
const OUT_VIEWS = ['agg', 'pairs', 'dist', 'tg', 'te', 'tobj', 'items', 'per_sku'] as const;
/** All views compared with the reference at the end. */
const ALL_VIEWS = [...OUT_VIEWS, 'th'] as const;
const KEYS = 40;
const SENTINEL = 1_000_000;
const G_RATE = 2_000;
const E_RATE = 200;
/** Input per planned kill, in seconds of datagen time (a round lasts ~1 s plus start-up and replay). */
const SECS_PER_KILL = 0.7;

export interface CampaignResult {
  readonly model: Model;
  readonly seed: number;
  readonly kills: number;
  readonly recoveries: number;
  /** Kills that hit a process that had logged `replaying` but not yet `replay complete`. */
  readonly killsDuringReplay: number;
  /** Kills before the process was initialized (`/status` 503). */
  readonly killsInitializing: number;
  readonly byMoment: Record<Moment, number>;
  /** Copies of reference rows missing from the integrated output files. */
  readonly lost: number;
  /** Extra copies in the integrated output files (at_least_once: expected; exactly_once: a bug). */
  readonly duplicated: number;
  /** Surplus deletes (negative weight) in the integrated output files. */
  readonly overDeleted: number;
  readonly corruptLines: number;
  readonly outputLines: number;
  /** Output bytes replay re-produced that were already in the files (exactly_once suppression). */
  readonly suppressedLogs: number;
  readonly ms: number;
  /** Everything that went wrong (empty: the campaign passed). Each names the seed. */
  readonly failures: string[];
}

/** A hard failure (a failed recovery, a Failed pipeline, a timeout), with the logs to diagnose it. */
export class CrashFailure extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface HRow {
  name: string;
  dup: boolean;
}

/** The `h` input file: parts of JSON insert/delete lines, generated so that no output row ever comes back. */
function generateH(rng: Prng, parts: number): string[] {
  const rows = new Map<number, HRow>();
  const history = new Map<number, Set<string>>();
  const members = new Map<string, Set<number>>();
  const closed = new Set<string>();
  let fresh = 0;
  const nameFor = (k: number): string => {
    const had = history.get(k) ?? new Set<string>();
    history.set(k, had);
    const open = [...members.keys()].filter(
      (n) => !closed.has(n) && !had.has(n) && (members.get(n)?.size ?? 0) > 0,
    );
    const name = open.length > 0 && rng.chance(0.7) ? rng.pick(open) : `n${fresh++}`;
    had.add(name);
    const m = members.get(name) ?? new Set<number>();
    m.add(k);
    members.set(name, m);
    return name;
  };
  const leave = (k: number, name: string) => {
    const m = members.get(name) as Set<number>;
    m.delete(k);
    if (m.size === 0) closed.add(name);
  };
  const line = (op: 'insert' | 'delete', k: number, name: string) => JSON.stringify({ [op]: { k, name } });
  const out: string[] = [];
  for (let p = 0; p < parts; p++) {
    const lines: string[] = [];
    const insert = () => {
      const free = [];
      for (let k = 0; k < KEYS; k++) if (!rows.has(k)) free.push(k);
      if (free.length === 0) return;
      const k = rng.pick(free);
      const row = { name: nameFor(k), dup: rng.chance(0.15) };
      rows.set(k, row);
      lines.push(line('insert', k, row.name));
      if (row.dup) lines.push(line('insert', k, row.name));
    };
    if (p === 0) {
      for (let i = 0; i < (KEYS * 2) / 3; i++) insert();
    } else {
      for (let i = rng.int(4, 9); i > 0; i--) {
        const movable = [...rows].filter(([, r]) => !r.dup).map(([k]) => k);
        const op = movable.length === 0 ? 'insert' : rng.pick(['insert', 'delete', 'rename'] as const);
        if (op === 'insert') {
          insert();
          continue;
        }
        const k = rng.pick(movable);
        const old = rows.get(k) as HRow;
        lines.push(line('delete', k, old.name));
        if (op === 'delete') {
          rows.delete(k);
          leave(k, old.name);
        } else {
          const name = nameFor(k);
          leave(k, old.name);
          rows.set(k, { name, dup: false });
          lines.push(line('insert', k, name));
        }
      }
    }
    if (p === parts - 1) lines.push(line('insert', SENTINEL, 'end'));
    out.push(`${lines.join('\n')}\n`);
  }
  return out;
}

interface Limits {
  readonly g: number;
  readonly e: number;
  /** Rows of `o` over all objects. */
  readonly o: number;
}

/**
 * The objects of `o`: one per part, insert lines with unique ids, each carrying a JSON event (`ev`, a VARIANT)
 * with 0 to 4 line items that the `items` view unnests (quantities are at least 1, so `per_sku` only grows).
 */
function generateO(rng: Prng, parts: number): string[] {
  const out: string[] = [];
  let id = 0;
  for (let p = 0; p < parts; p++) {
    const lines: string[] = [];
    for (let i = rng.int(50, 400); i > 0; i--) {
      const items = Array.from({ length: rng.int(0, 4) }, () => ({
        sku: `sku-${rng.int(0, 9)}`,
        qty: rng.int(1, 5),
      }));
      lines.push(JSON.stringify({ insert: { id: id++, v: rng.int(0, 1000), ev: { items } } }));
    }
    out.push(`${lines.join('\n')}\n`);
  }
  return out;
}

/** Writes object `i` of `o` into the store's directory atomically (a reader never sees half of it). */
function writeObject(dir: string, i: number, body: string): void {
  const tmp = join(dir, `.part-${i}.tmp`);
  writeFileSync(tmp, body);
  renameSync(tmp, join(dir, 'objects', `part-${String(i).padStart(4, '0')}.jsonl`));
}

function program(dir: string, seed: number, limits: Limits, throttled: boolean): string {
  const gen = (name: string, limit: number, rate: number, chunk: number, fields: object) =>
    JSON.stringify([
      {
        name,
        transport: {
          name: 'datagen',
          config: {
            seed,
            plan: [{ limit, rate: throttled ? rate : null, worker_chunk_size: chunk, fields }],
          },
        },
      },
    ]);
  const g = gen('gen_g', limits.g, G_RATE, 100, {
    id: { strategy: 'increment' },
    k: { strategy: 'uniform', range: [0, KEYS] },
    v: { strategy: 'uniform', range: [0, 1000] },
  });
  const e = gen('gen_e', limits.e, E_RATE, 20, {
    id: { strategy: 'increment' },
    k: { strategy: 'uniform', range: [0, KEYS] },
  });
  const h = JSON.stringify([
    {
      name: 'file_h',
      transport: { name: 'file_input', config: { path: join(dir, 'h.jsonl'), follow: true } },
      format: { name: 'json' },
    },
  ]);
  const o = JSON.stringify([
    {
      name: 'objects_o',
      transport: {
        name: 'object_store_input',
        config: {
          provider: 'Local',
          bucket: join(dir, 'objects'),
          prefix: '',
          follow: true,
          poll_interval_ms: 50,
        },
      },
      format: { name: 'json' },
      max_batch_size: 64,
    },
  ]);
  const out = (view: string) =>
    JSON.stringify([
      {
        name: 'out',
        transport: { name: 'file_output', config: { path: join(dir, `${view}.jsonl`) } },
        format: { name: 'json' },
      },
    ]);
  return `CREATE TABLE g (id BIGINT NOT NULL, k INT NOT NULL, v INT NOT NULL) WITH ('connectors' = '${g}');
CREATE TABLE e (id BIGINT NOT NULL, k INT NOT NULL) WITH ('connectors' = '${e}');
CREATE TABLE h (k INT NOT NULL, name VARCHAR NOT NULL) WITH ('connectors' = '${h}');
CREATE TABLE o (id BIGINT NOT NULL, v INT NOT NULL, ev VARIANT) WITH ('connectors' = '${o}');
CREATE MATERIALIZED VIEW agg WITH ('connectors' = '${out('agg')}') AS
  SELECT h.name, COUNT(*) AS c, SUM(g.v) AS s FROM g JOIN h ON g.k = h.k GROUP BY h.name;
CREATE MATERIALIZED VIEW pairs WITH ('connectors' = '${out('pairs')}') AS
  SELECT e.id, e.k, h.name FROM e JOIN h ON e.k = h.k;
CREATE MATERIALIZED VIEW dist WITH ('connectors' = '${out('dist')}') AS
  SELECT DISTINCT h.name, g.v % 3 AS m FROM g JOIN h ON g.k = h.k;
CREATE MATERIALIZED VIEW tg WITH ('connectors' = '${out('tg')}') AS SELECT COUNT(*) AS n, SUM(v) AS s FROM g;
CREATE MATERIALIZED VIEW te WITH ('connectors' = '${out('te')}') AS SELECT COUNT(*) AS n, SUM(k) AS s FROM e;
CREATE MATERIALIZED VIEW th AS SELECT COUNT(*) AS n, SUM(k) AS s FROM h;
CREATE MATERIALIZED VIEW tobj WITH ('connectors' = '${out('tobj')}') AS
  SELECT COUNT(*) AS n, SUM(v) AS s, COUNT(DISTINCT id) AS d FROM o;
CREATE MATERIALIZED VIEW items WITH ('connectors' = '${out('items')}') AS
  SELECT o.id, CAST(it['sku'] AS VARCHAR) AS sku, CAST(it['qty'] AS INT) AS qty
  FROM o, UNNEST(CAST(o.ev['items'] AS VARIANT ARRAY)) AS u(it);
CREATE MATERIALIZED VIEW per_sku WITH ('connectors' = '${out('per_sku')}') AS
  SELECT sku, COUNT(*) AS n, SUM(qty) AS q FROM items GROUP BY sku;
CREATE MATERIALIZED VIEW fin AS SELECT COUNT(*) AS n FROM h WHERE k = ${SENTINEL};`;
}

function writeConfig(dir: string, model: Model, code: string): string {
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      program_code: code,
      storage: {},
      fault_tolerance: { model, checkpoint_interval_secs: 1 },
    }),
  );
  return cfg;
}

const num = async (base: string, view: string): Promise<number> => {
  const t = await query(base, `SELECT n FROM ${view}`);
  return t === '' ? 0 : (JSON.parse(t) as { n: number }).n;
};

/** Waits until every input was consumed (datagen counts reached, the sentinel row of `h` seen). */
async function waitDone(p: Proc, limits: Limits, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    try {
      const [g, e, f, ob] = [
        await num(p.base, 'tg'),
        await num(p.base, 'te'),
        await num(p.base, 'fin'),
        await num(p.base, 'tobj'),
      ];
      last = `g ${g}/${limits.g}, e ${e}/${limits.e}, sentinel ${f}, o ${ob}/${limits.o}`;
      if (g >= limits.g && e >= limits.e && f >= 1 && ob >= limits.o) return;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() - t0 > ms) throw new CrashFailure(`timed out waiting for ${what} (${last})`);
    await sleep(50);
  }
}

async function status(base: string): Promise<{ code: number; body: string }> {
  const r = await fetch(`${base}/status`, { signal: AbortSignal.timeout(5_000) });
  return { code: r.status, body: await r.text() };
}

interface LogLine {
  level?: string;
  msg?: string;
}

function parseLog(lines: readonly string[]): LogLine[] {
  return lines.map((l) => {
    try {
      return JSON.parse(l) as LogLine;
    } catch {
      return { level: 'raw', msg: l };
    }
  });
}

/** Errors (and, under exactly_once, an output file found different from the replayed output) in a log. */
function logProblems(model: Model, lines: readonly string[]): string[] {
  return parseLog(lines)
    .filter(
      (l) =>
        l.level === 'error' ||
        (model === 'exactly_once' &&
          l.level === 'warn' &&
          /differs from the replayed output/.test(l.msg ?? '')),
    )
    .map((l) => `${l.level}: ${l.msg}`);
}

const has = (lines: readonly string[], s: string) => lines.some((l) => l.includes(s));

async function startOrFail(cfg: string, what: string): Promise<Proc> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      startPipeline(cfg),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error('did not listen within 30 s')), 30_000);
      }),
    ]);
  } catch (e) {
    throw new CrashFailure(`${what}: the pipeline failed to start: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills the process the moment `file` grows (or after `ms`). */
async function killOnGrowth(p: Proc, file: string, ms: number): Promise<void> {
  const size = () => (existsSync(file) ? statSync(file).size : 0);
  const s0 = size();
  const t0 = Date.now();
  while (size() === s0 && Date.now() - t0 < ms) await sleep(1);
  p.child.kill('SIGKILL');
  await p.exited;
}

export interface CampaignOptions {
  readonly model: Model;
  readonly seed: number;
  readonly kills: number;
  readonly log?: (line: string) => void;
  /** Keep the campaign directory even when it passed. */
  readonly keep?: boolean;
  /** Log every round. */
  readonly verbose?: boolean;
}

/** One campaign: a reference run, then `kills` rounds each ended by `kill -9`, then a run to the end. */
export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const t0 = Date.now();
  const rng = new Prng(o.seed);
  const tag = `[${o.model} seed ${o.seed}]`;
  const log = o.log ?? (() => {});
  const root = mkdtempSync(join(tmpdir(), `holdfast-crash-${o.model}-`));
  const parts = generateH(rng.fork(), 6);
  const objects = generateO(rng.fork(), parts.length);
  const limits: Limits = {
    g: Math.round(G_RATE * SECS_PER_KILL * Math.max(2, o.kills)),
    e: Math.round(E_RATE * SECS_PER_KILL * Math.max(2, o.kills)),
    o: objects.reduce((n, b) => n + b.split('\n').length - 1, 0),
  };
  const dataSeed = rng.int(0, 1_000_000);
  const failures: string[] = [];
  const history: Array<{ round: string; log: string[] }> = [];
  const alive = new Set<Proc>();
  const fail = (msg: string) => failures.push(`${tag} ${msg}`);
  const byMoment = Object.fromEntries(MOMENTS.map((m) => [m, 0])) as Record<Moment, number>;
  let kills = 0;
  let recoveries = 0;
  let pendingRecoveries = 0;
  let killsDuringReplay = 0;
  let killsInitializing = 0;
  let suppressedLogs = 0;
  let lost = 0;
  let duplicated = 0;
  let overDeleted = 0;
  let corruptLines = 0;
  let outputLines = 0;
  const track = async (cfg: string, round: string) => {
    const p = await startOrFail(cfg, `${round}`);
    alive.add(p);
    history.push({ round, log: p.log });
    void p.exited.then(() => alive.delete(p));
    return p;
  };
  const checkLog = (p: Proc, round: string) => {
    for (const x of logProblems(o.model, p.log)) fail(`${round}: ${x}`);
    if (has(p.log, 'not written twice')) suppressedLogs++;
  };
  try {
    // the reference: one uninterrupted run, datagen unthrottled, the whole input file written up front
    const refDir = join(root, 'reference');
    const runDir = join(root, 'run');
    for (const d of [refDir, runDir]) mkdirSync(join(d, 'objects'), { recursive: true });
    writeFileSync(join(refDir, 'h.jsonl'), parts.join(''));
    for (const [i, b] of objects.entries()) writeObject(refDir, i, b);
    const ref = await track(
      writeConfig(refDir, o.model, program(refDir, dataSeed, limits, false)),
      'reference',
    );
    await waitDone(ref, limits, 120_000, 'the reference run');
    await sleep(200);
    const refViews = new Map<string, string[]>();
    for (const v of ALL_VIEWS) refViews.set(v, await viewRows(ref.base, v));
    checkLog(ref, 'reference');
    await kill9(ref);
    for (const v of OUT_VIEWS) {
      const got = integrateOutput(join(refDir, `${v}.jsonl`)).rows;
      if (JSON.stringify(got) !== JSON.stringify(refViews.get(v)))
        throw new CrashFailure(`the reference run's ${v}.jsonl does not integrate to its view`);
    }

    // the crash run
    writeFileSync(join(runDir, 'h.jsonl'), parts[0] as string);
    writeObject(runDir, 0, objects[0] as string);
    let nextPart = 1;
    const appendPart = () => {
      if (nextPart >= parts.length) return;
      writeObject(runDir, nextPart, objects[nextPart] as string);
      appendFileSync(join(runDir, 'h.jsonl'), parts[nextPart++] as string);
    };
    const cfg = writeConfig(runDir, o.model, program(runDir, dataSeed, limits, true));
    for (let r = 0; r < o.kills; r++) {
      const round = `round ${r + 1}/${o.kills}`;
      if (rng.chance(0.15)) appendPart();
      const roundStart = Date.now();
      const p = await track(cfg, round);
      const moment = rng.weighted<Moment>([
        [2, 'replay'],
        [3, 'step'],
        [2, 'checkpoint'],
        [2, 'output'],
        [nextPart < parts.length ? 1 : 0, 'append'],
      ]);
      byMoment[moment]++;
      // before the kill: the process must be alive and not Failed (503 while it initializes is fine)
      const check = async () => {
        const s = await status(p.base);
        if (s.code === 503 && s.body.includes('Initializing')) return false;
        if (s.code !== 200) throw new CrashFailure(`${round}: /status ${s.code}: ${s.body}`);
        return true;
      };
      let ready: boolean;
      switch (moment) {
        case 'replay':
          await sleep(rng.int(0, 250));
          ready = await check();
          break;
        case 'step':
          await sleep(rng.int(100, 2_000));
          ready = await check();
          break;
        case 'checkpoint': {
          await sleep(rng.int(150, 1_500));
          ready = await check();
          const delay = rng.int(0, 40);
          void fetch(`${p.base}/checkpoint`, { method: 'POST' }).catch(() => {});
          await sleep(delay);
          break;
        }
        case 'output': {
          await sleep(rng.int(100, 1_200));
          ready = await check();
          break;
        }
        case 'append': {
          await sleep(rng.int(100, 1_000));
          ready = await check();
          appendPart();
          await sleep(rng.int(0, 60));
          break;
        }
      }
      if (ready) {
        recoveries += pendingRecoveries;
        pendingRecoveries = 0;
      } else killsInitializing++;
      if (has(p.log, 'replaying') && !has(p.log, 'replay complete')) killsDuringReplay++;
      if (moment === 'output') await killOnGrowth(p, join(runDir, `${rng.pick(OUT_VIEWS)}.jsonl`), 2_000);
      else await kill9(p);
      kills++;
      pendingRecoveries++;
      if (o.verbose)
        log(
          `${tag} ${round}: ${moment}, ${ready ? 'ready' : 'initializing'}${has(p.log, 'replaying') ? (has(p.log, 'replay complete') ? ', replayed' : ', mid-replay') : ''}, ${Date.now() - roundStart} ms`,
        );
      checkLog(p, round);
      if (failures.length > 0) throw new CrashFailure('problems in the log');
    }

    // the end: the rest of the input, run to the end, compare
    while (nextPart < parts.length) appendPart();
    const p = await track(cfg, 'final run');
    const timeout = 60_000 + (1_000 * limits.g) / G_RATE;
    await waitDone(p, limits, timeout, 'the end of the input after the last kill');
    await sleep(300);
    const s = await status(p.base);
    if (s.code !== 200) throw new CrashFailure(`final run: /status ${s.code}: ${s.body}`);
    recoveries += pendingRecoveries;
    pendingRecoveries = 0;
    if (has(p.log, 'replaying') && !has(p.log, 'replay complete'))
      fail('final run: replaying but no "replay complete" in the log');
    for (const v of ALL_VIEWS) {
      const got = await viewRows(p.base, v);
      const want = refViews.get(v) as string[];
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        const d = diffMultiset(want, new Map(Object.entries(count(got))));
        fail(
          `view ${v} differs from the reference (${d.missing} missing, ${d.extra} extra rows): ${d.examples.join('; ')}`,
        );
      }
    }
    checkLog(p, 'final run');
    await kill9(p);
    for (const v of OUT_VIEWS) {
      const file = join(runDir, `${v}.jsonl`);
      const want = refViews.get(v) as string[];
      const loose = integrateOutputLoose(file);
      const d = diffMultiset(want, loose.weights);
      // at_least_once: "delivered" = written as an insert at least as often as the view holds it (see the header)
      const missing = o.model === 'exactly_once' ? d : diffMultiset(want, loose.inserted);
      lost += missing.missing;
      duplicated += d.extra;
      overDeleted += d.negative;
      corruptLines += loose.corrupt;
      outputLines += loose.lines;
      if (missing.missing > 0)
        fail(`${v}.jsonl: ${missing.missing} row copies lost: ${missing.examples.join('; ')}`);
      if (o.model === 'exactly_once') {
        if (d.extra > 0 || d.negative > 0)
          fail(`${v}.jsonl: ${d.extra} duplicated, ${d.negative} surplus deletes: ${d.examples.join('; ')}`);
        if (loose.corrupt > 0) fail(`${v}.jsonl: ${loose.corrupt} corrupt lines`);
        try {
          integrateOutput(file);
        } catch (e) {
          fail(`${v}.jsonl: ${(e as Error).message}`);
        }
      }
    }
  } catch (e) {
    if (!(e instanceof CrashFailure)) throw e;
    fail(e.message);
  } finally {
    for (const p of alive) await kill9(p);
  }
  if (failures.length > 0) {
    const logs = history
      .slice(-3)
      .map((h) => `--- ${h.round} log (last 40 lines) ---\n${h.log.slice(-40).join('\n')}`)
      .join('\n');
    failures.push(
      `${tag} reproduce: SEED=${o.seed} npm run chaos -- --model ${o.model} --kills ${o.kills} --per-campaign ${o.kills}; files in ${root}\n${logs}`,
    );
  } else if (!o.keep) rmSync(root, { recursive: true, force: true });
  log(
    `${tag} ${kills} kills, ${recoveries} recoveries (${killsDuringReplay} during replay, ${killsInitializing} initializing), ` +
      `lost ${lost}, duplicated ${duplicated}, surplus deletes ${overDeleted}, ${((Date.now() - t0) / 1000).toFixed(1)} s` +
      (failures.length > 0 ? ' FAILED' : ''),
  );
  return {
    model: o.model,
    seed: o.seed,
    kills,
    recoveries,
    killsDuringReplay,
    killsInitializing,
    byMoment,
    lost,
    duplicated,
    overDeleted,
    corruptLines,
    outputLines,
    suppressedLogs,
    ms: Date.now() - t0,
    failures,
  };
}

function count(rows: readonly string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of rows) {
    const k = JSON.stringify(JSON.parse(r));
    c[k] = (c[k] ?? 0) + 1;
  }
  return c;
}
