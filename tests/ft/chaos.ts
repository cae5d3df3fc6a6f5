/**
 * Chaos run: `kill -9` rounds of the crash harness (see crash-rounds.ts) and fault rounds (see fault-rounds.ts:
 * damaged durable files, ...), as many as asked, then a summary (kills, recoveries, lost, duplicated; fault
 * outcomes) per model.
 *
 *   npm run chaos -- --kills 500 [--model exactly_once|at_least_once|both] [--seed S] [--per-campaign 20] [--verbose]
 *   npm run chaos -- --faults corrupt --rounds 40     # fault rounds only (--faults kill,corrupt: both kinds)
 *   SEED=123 npm run chaos -- --model exactly_once --kills 12   # replays the campaign a failure printed
 *
 * `--faults` lists the kinds of rounds to run, comma-separated: `kill` (the crash harness), every fault kind, and
 * `stores`: the object-store scenarios that `npm test` runs against one store only (the standby failover, sync's
 * store-independent ones), run by `node --test` against every store (HOLDFAST_ALL_STORES=1). Default: all of
 * them. `--rounds` is the number of fault rounds per kind and model, in campaigns of `--per-campaign`.
 *
 * `--kills` is the total (split evenly between the models with `both`, the default). Kills are grouped in
 * campaigns of `--per-campaign` (each with its own reference run); campaign i of a model uses seed
 * (seed + i), so a campaign replays alone with its seed and its kill count. Without --seed/SEED a random seed
 * is chosen and printed. Exit code 1 when any campaign fails.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type CampaignResult, MODELS, type Model, runCampaign } from './crash-rounds.ts';
import { FAULT_KINDS, type FaultKind, runFaultCampaign } from './fault-rounds.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '60' },
    model: { type: 'string', default: 'both' },
    seed: { type: 'string' },
    'per-campaign': { type: 'string', default: '20' },
    verbose: { type: 'boolean', default: false },
    'max-failures': { type: 'string', default: '3' },
    faults: { type: 'string', default: ['kill', ...FAULT_KINDS, 'stores'].join(',') },
    rounds: { type: 'string', default: '20' },
  },
});
const kinds = values.faults.split(',').filter((k) => k !== '');
const unknownKind = kinds.find(
  (k) => k !== 'kill' && k !== 'stores' && !FAULT_KINDS.includes(k as FaultKind),
);
if (unknownKind !== undefined) {
  console.error(`unknown --faults kind '${unknownKind}'; kinds: kill, ${FAULT_KINDS.join(', ')}, stores`);
  process.exit(2);
}
const faultKinds = FAULT_KINDS.filter((k) => kinds.includes(k));
const faultRounds = Number(values.rounds);
if (faultKinds.length > 0 && !(faultRounds > 0)) {
  console.error('--rounds must be a positive number');
  process.exit(2);
}

const total = Number(values.kills);
const per = Number(values['per-campaign']);
if (!(total > 0) || !(per > 0)) {
  console.error('--kills and --per-campaign must be positive numbers');
  process.exit(2);
}
const models: readonly Model[] =
  values.model === 'both' ? MODELS : MODELS.includes(values.model as Model) ? [values.model as Model] : [];
if (models.length === 0) {
  console.error(`unknown --model '${values.model}'; one of exactly_once, at_least_once, both`);
  process.exit(2);
}
const seedText = values.seed ?? process.env.SEED;
const baseSeed = seedText !== undefined ? Number(seedText) >>> 0 : Math.floor(Math.random() * 2 ** 31);
const maxFailures = Number(values['max-failures']);

const runKills = kinds.includes('kill');
console.log(
  `chaos: ${runKills ? total : 0} kills, ${faultKinds.length > 0 ? `${faultRounds} rounds of ${faultKinds.join(', ')} per model` : 'no fault rounds'}, models ${models.join(', ')}, seed ${baseSeed}, ${per} per campaign`,
);

interface ModelSummary {
  model: Model;
  campaigns: number;
  kills: number;
  recoveries: number;
  kills_during_replay: number;
  kills_initializing: number;
  by_moment: Record<string, number>;
  lost: number;
  duplicated: number;
  surplus_deletes: number;
  corrupt_lines: number;
  output_lines: number;
  failed_campaigns: number;
  seconds: number;
}

const summaries: ModelSummary[] = [];
const failures: string[] = [];
for (const [mi, model] of runKills ? models.entries() : []) {
  // split the total evenly; the first model takes the remainder
  let left = Math.floor(total / models.length) + (mi === 0 ? total % models.length : 0);
  const s: ModelSummary = {
    model,
    campaigns: 0,
    kills: 0,
    recoveries: 0,
    kills_during_replay: 0,
    kills_initializing: 0,
    by_moment: {},
    lost: 0,
    duplicated: 0,
    surplus_deletes: 0,
    corrupt_lines: 0,
    output_lines: 0,
    failed_campaigns: 0,
    seconds: 0,
  };
  summaries.push(s);
  const t0 = Date.now();
  for (let i = 0; left > 0 && failures.length < maxFailures; i++) {
    const kills = Math.min(per, left);
    left -= kills;
    const r: CampaignResult = await runCampaign({
      model,
      seed: (baseSeed + i) >>> 0,
      kills,
      log: (l) => console.log(l),
      verbose: values.verbose,
    });
    s.campaigns++;
    s.kills += r.kills;
    s.recoveries += r.recoveries;
    s.kills_during_replay += r.killsDuringReplay;
    s.kills_initializing += r.killsInitializing;
    for (const [m, n] of Object.entries(r.byMoment)) s.by_moment[m] = (s.by_moment[m] ?? 0) + n;
    s.lost += r.lost;
    s.duplicated += r.duplicated;
    s.surplus_deletes += r.overDeleted;
    s.corrupt_lines += r.corruptLines;
    s.output_lines += r.outputLines;
    if (r.failures.length > 0) {
      s.failed_campaigns++;
      failures.push(...r.failures);
      for (const f of r.failures) console.log(f);
    }
    s.seconds = Math.round((Date.now() - t0) / 100) / 10;
  }
}

interface FaultSummary {
  kind: FaultKind;
  model: Model;
  campaigns: number;
  rounds: number;
  outcomes: Record<string, number>;
  failed_campaigns: number;
  seconds: number;
}
const faultSummaries: FaultSummary[] = [];
for (const kind of faultKinds) {
  for (const model of models) {
    const s: FaultSummary = {
      kind,
      model,
      campaigns: 0,
      rounds: 0,
      outcomes: {},
      failed_campaigns: 0,
      seconds: 0,
    };
    faultSummaries.push(s);
    const t0 = Date.now();
    let left = faultRounds;
    for (let i = 0; left > 0 && failures.length < maxFailures; i++) {
      const rounds = Math.min(per, left);
      left -= rounds;
      const seed = (baseSeed + i) >>> 0;
      const r = await runFaultCampaign({
        kind,
        model,
        seed,
        rounds,
        ...(values.verbose ? { log: (l: string) => console.log(`  ${kind} ${model} ${seed} ${l}`) } : {}),
      });
      if (r.skipped !== null) {
        console.log(`  ${kind} skipped: ${r.skipped}`);
        break;
      }
      s.campaigns++;
      s.rounds += r.rounds;
      for (const [o, n] of Object.entries(r.outcomes)) s.outcomes[o] = (s.outcomes[o] ?? 0) + n;
      if (r.failures.length > 0) {
        s.failed_campaigns++;
        failures.push(...r.failures);
        for (const f of r.failures) console.log(f);
      }
      s.seconds = Math.round((Date.now() - t0) / 100) / 10;
    }
  }
}

/** The test files whose long scenarios `npm test` runs against one store only (HOLDFAST_ALL_STORES). */
const STORE_FILES = ['tests/integration/standby.test.ts', 'tests/integration/sync.test.ts'];
let stores: { files: string[]; passed: boolean; seconds: number } | null = null;
if (kinds.includes('stores') && failures.length < maxFailures) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--test', ...STORE_FILES], {
    cwd: join(resolve(import.meta.dirname), '../..'),
    stdio: 'inherit',
    env: { ...process.env, HOLDFAST_ALL_STORES: '1' },
  });
  stores = { files: STORE_FILES, passed: r.status === 0, seconds: Math.round((Date.now() - t0) / 100) / 10 };
  if (!stores.passed)
    failures.push(`stores: node --test ${STORE_FILES.join(' ')} failed against every store`);
}

console.log('\nchaos summary');
for (const s of summaries) {
  console.log(
    `  ${s.model}: ${s.kills} kills in ${s.campaigns} campaigns, ${s.recoveries} recoveries ` +
      `(${s.kills_during_replay} kills mid-replay, ${s.kills_initializing} while initializing), ` +
      `lost ${s.lost}, duplicated ${s.duplicated}, surplus deletes ${s.surplus_deletes}, ` +
      `${s.failed_campaigns} failed campaigns, ${s.seconds} s`,
  );
}
for (const s of faultSummaries) {
  const outcomes = Object.entries(s.outcomes)
    .map(([o, n]) => `${o} ${n}`)
    .join(', ');
  console.log(
    `  ${s.kind} ${s.model}: ${s.rounds} rounds in ${s.campaigns} campaigns (${outcomes || 'none'}), ${s.failed_campaigns} failed campaigns, ${s.seconds} s`,
  );
}
if (stores !== null)
  console.log(
    `  stores: ${stores.files.join(', ')} against every store ${stores.passed ? 'passed' : 'FAILED'}, ${stores.seconds} s`,
  );
console.log(
  JSON.stringify(
    { seed: baseSeed, models: summaries, faults: faultSummaries, stores, failures: failures.length },
    null,
    2,
  ),
);
process.exit(failures.length > 0 ? 1 : 0);
