/**
 * The crash harness in CI (see crash-rounds.ts): real pipeline processes fed by datagen and a followed input
 * file through join, aggregate and DISTINCT views with file outputs, `kill -9`ed at random moments (during
 * replay, mid-step, right after a checkpoint request, right after output, right after input was appended),
 * restarted, and compared with an uninterrupted run: exactly_once → views and integrated output files
 * identical; at_least_once → views identical, nothing missing from the outputs.
 *
 * 20 kills in all: fixed seeds, plus one random seed per model (printed; `SEED=<seed> npm run chaos -- …`
 * from a failure message replays that campaign). `npm run chaos -- --kills N` runs more.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runSeed } from '../kit/seed.ts';
import { type CampaignResult, type Model, runCampaign } from './crash-rounds.ts';
import { diffMultiset, integrateOutputLoose } from './support.ts';

const randomSeed = runSeed('crash harness', 'CRASH_SEED');

async function campaign(model: Model, seed: number, kills: number): Promise<CampaignResult> {
  const r = await runCampaign({ model, seed, kills, log: (l) => console.log(l) });
  assert.deepEqual(r.failures, [], r.failures.join('\n'));
  assert.equal(r.kills, kills);
  assert.equal(r.recoveries, kills, 'every kill followed by a recovery');
  assert.equal(r.lost, 0, `lost output (seed ${seed})`);
  if (model === 'exactly_once')
    assert.equal(r.duplicated + r.overDeleted, 0, `duplicated output (seed ${seed})`);
  return r;
}

test('crash harness: exactly_once, 8 kills at random moments (fixed seed)', {
  timeout: 120_000,
}, async () => {
  await campaign('exactly_once', 1001, 8);
});

test('crash harness: at_least_once, 6 kills at random moments (fixed seed)', {
  timeout: 120_000,
}, async () => {
  const r = await campaign('at_least_once', 2002, 6);
  assert.ok(r.duplicated > 0, 'at_least_once re-delivers output after a crash (the harness sees duplicates)');
});

test(`crash harness: 3 kills per model, random seed ${randomSeed}`, { timeout: 120_000 }, async () => {
  await campaign('exactly_once', randomSeed, 3);
  await campaign('at_least_once', randomSeed, 3);
});

test('crash harness helpers: permissive integration and multiset diff', () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-crash-helpers-'));
  const f = join(dir, 'out.jsonl');
  const ev = (op: string, x: number) => JSON.stringify({ [op]: { x } });
  writeFileSync(
    f,
    `${[ev('insert', 1), ev('insert', 2), ev('delete', 1), ev('insert', 2), ev('delete', 1), ev('insert', 3)].join('\n')}\n{"ins`,
  );
  const loose = integrateOutputLoose(f);
  assert.equal(loose.lines, 7);
  assert.equal(loose.corrupt, 1);
  assert.deepEqual(
    [...loose.weights],
    [
      ['{"x":1}', -1],
      ['{"x":2}', 2],
      ['{"x":3}', 1],
    ],
  );
  // expected {2, 3, 4}: 4 is missing, one copy of 2 is extra, x=1 was deleted twice
  const d = diffMultiset(['{"x":2}', '{"x":3}', '{"x": 4}'], loose.weights);
  assert.deepEqual(
    { missing: d.missing, extra: d.extra, negative: d.negative },
    { missing: 1, extra: 1, negative: 1 },
  );
});
