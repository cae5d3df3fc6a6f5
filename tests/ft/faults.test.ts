/**
 * The fault rounds in CI (see fault-rounds.ts): durable files damaged between `kill -9`s (journal, manifest,
 * segment, catalog) must end in full recovery or a coded failure naming the file, never a silent shrink; a
 * full disk under the pipeline's storage refuses pushes and checkpoints with `StorageFull`, keeps the pipeline
 * Running and loses nothing acknowledged; a flaky object store (through the fault proxy) never turns into an
 * empty or older restore.
 *
 * Fixed seeds, plus one random seed (printed; `SEED=<seed> npm run chaos -- --faults KIND --rounds N` replays
 * it). `npm run chaos -- --faults corrupt,full-disk,flaky-store --rounds N` runs more.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeed } from '../kit/seed.ts';
import { type FaultKind, type FaultModel, runFaultCampaign } from './fault-rounds.ts';

const randomSeed = runSeed('fault rounds', 'FAULT_SEED');

async function campaign(
  t: { skip: (why: string) => void },
  kind: FaultKind,
  model: FaultModel,
  seed: number,
  rounds: number,
): Promise<Record<string, number>> {
  const r = await runFaultCampaign({ kind, model, seed, rounds, log: (l) => console.log(l) });
  if (r.skipped !== null) {
    t.skip(r.skipped);
    return {};
  }
  assert.deepEqual(r.failures, [], r.failures.join('\n'));
  return r.outcomes;
}

const total = (o: Record<string, number>, part: string) =>
  Object.entries(o)
    .filter(([k]) => k.includes(part))
    .reduce((a, [, n]) => a + n, 0);

test('fault rounds: damaged durable files, exactly_once (fixed seed)', { timeout: 180_000 }, async (t) => {
  const o = await campaign(t, 'corrupt', 'exactly_once', 7, 12);
  // the seed is chosen so that both outcomes occur: the harness is shown to tell them apart
  assert.ok(total(o, '/loud') > 0, `some damage fails loudly: ${JSON.stringify(o)}`);
  assert.ok(total(o, '/recovered') > 0, `some damage is recovered from: ${JSON.stringify(o)}`);
});

test('fault rounds: damaged durable files, at_least_once (fixed seed)', { timeout: 180_000 }, async (t) => {
  await campaign(t, 'corrupt', 'at_least_once', 11, 8);
});

test('fault rounds: a full disk under the pipeline storage (fixed seeds)', {
  timeout: 180_000,
}, async (t) => {
  const o = await campaign(t, 'full-disk', 'exactly_once', 5, 5);
  if (Object.keys(o).length > 0)
    assert.ok(total(o, 'full/refused') > 0, `the disk was full for something: ${JSON.stringify(o)}`);
  // a checkpoint refused on the full disk had rotated the journal; after the restart, at_least_once numbered
  // transactions below that file, a later cut reused its name, and the next crash replayed processed data
  // again (8 rows too many): this seed found it
  await campaign(t, 'full-disk', 'at_least_once', 1991123298, 4);
});

test('fault rounds: a flaky object store under sync and restore (fixed seeds)', {
  timeout: 240_000,
}, async (t) => {
  const a = await campaign(t, 'flaky-store', 'exactly_once', 3, 8);
  const b = await campaign(t, 'flaky-store', 'at_least_once', 21, 5);
  const o = { ...a, ...b };
  assert.ok(
    total(a, 'restart/restored') + total(b, 'restart/restored') > 0,
    `restores from the bucket: ${JSON.stringify(o)}`,
  );
  assert.ok(
    total(a, 'push/failed') + total(b, 'push/failed') > 0,
    `some push met a fault it could not retry away: ${JSON.stringify(o)}`,
  );
});

test(`fault rounds: random seed ${randomSeed}`, { timeout: 240_000 }, async (t) => {
  await campaign(t, 'corrupt', 'exactly_once', randomSeed, 4);
  await campaign(t, 'full-disk', 'at_least_once', randomSeed, 3);
  await campaign(t, 'flaky-store', 'exactly_once', randomSeed, 3);
});

// Found by the random seed on 2026-12-06 (and seed 3 in CI): a restore under faults took file bodies damaged in
// transit for corrupt checkpoints and restored an older one. A pull now reads a checkpoint that looks corrupt
// again and skips it only when two complete reads are wrong the same way; uploads carry a Content-MD5 the store
// checks, so a body damaged on the way never lands (tests/unit/sync/transit-damage.test.ts).
test('fault rounds: flaky store, seed 1579376717 (bodies damaged in transit are not corruption)', {
  timeout: 240_000,
}, async (t) => {
  await campaign(t, 'flaky-store', 'exactly_once', 1579376717, 3);
});
