/**
 * Standby end to end through the real manager (`holdfast server`), the SDK and the CLI, against s3rver, with real
 * pipeline processes spawned by the manager:
 *
 * - failover: primary `a` ingests over HTTP, checkpoints and syncs; standby `b` (`start?initial=standby`) pulls
 *   `a`'s checkpoint (pipeline object, `standbyStatus()`), refuses pause/resume; `a` is force-stopped and `b`
 *   activated with `holdfast pipeline activate`; `b` answers queries with `a`'s data, reports the activation
 *   (epoch 2) in stats and metrics; `a` restarted is fenced (sync refused, `reason: fenced: ...`); `b` restarted
 *   with `initial=standby` skips standby (it was activated) and runs with its data.
 * - `activate({initial: 'paused'})` through the SDK; `start?initial=standby` without sync is refused.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import {
  HoldfastClient,
  isApiError,
  Pipeline,
  type PipelineStatusDescr,
  type RuntimeConfig,
  type StandbyStatus,
} from '../../src/client/index.ts';
import { type S3Server, startS3rver } from '../helpers/s3rver.ts';
import { until } from '../kit/index.ts';

/** A pipeline record as text for an assertion message (its checkpoint fingerprints may be bigints). */
const show = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

const MAIN = join(resolve(import.meta.dirname, '../..'), 'src/bin/main.ts');
const SQL = `CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT);
CREATE MATERIALIZED VIEW totals AS SELECT COUNT(*) AS n, SUM(v) AS total FROM t;`;

let server: ChildProcess | null = null;
const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-standby-mgr-'));
after(async () => {
  // the manager stops its pipelines on SIGTERM: let it finish before its data directory goes
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

let serverUrl: Promise<string> | null = null;
/** One manager for the whole file, started on first use. */
function manager(): Promise<string> {
  serverUrl ??= (async () => {
    server = spawn(process.execPath, [MAIN, 'server', '--data-dir', dataDir, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const line = await new Promise<string>((res) =>
      createInterface({ input: server?.stdout as NodeJS.ReadableStream }).once('line', res),
    );
    return (JSON.parse(line) as { url: string }).url;
  })();
  return serverUrl;
}

/** `holdfast --url URL ...args`, asynchronously (the manager runs in this test's event loop's children). */
function cli(
  url: string,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, [MAIN, '--url', url, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    c.once('error', rej);
    c.once('close', (code) => res({ code, stdout, stderr }));
  });
}

/** Reads the manager's log of `name` (replayed, then followed) until a line matches `pattern`. */
async function logLine(client: HoldfastClient, name: string, pattern: RegExp, timeoutMs = 20_000) {
  const seen: string[] = [];
  const stream = client.logs(name, { signal: AbortSignal.timeout(timeoutMs) });
  for await (const line of stream) {
    seen.push(line);
    if (pattern.test(line)) {
      stream.close();
      return line;
    }
  }
  assert.fail(`no log line of '${name}' matched ${pattern} within ${timeoutMs} ms:\n${seen.join('\n')}`);
}

function runtimeConfig(s3: S3Server, sync: Record<string, unknown>): RuntimeConfig {
  return {
    fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: 1 },
    storage: {
      backend: {
        name: 'file',
        config: {
          sync: {
            endpoint: s3.endpoint,
            provider: 'Minio',
            access_key: s3.accessKey,
            secret_key: s3.secretKey,
            ...sync,
          },
        },
      },
    },
  } as RuntimeConfig;
}

const statusOf = (client: HoldfastClient, name: string): Promise<PipelineStatusDescr> =>
  client.getPipeline(name, 'status');
const standbyIn = (d: PipelineStatusDescr): StandbyStatus | null =>
  (d.deployment_runtime_status_details?.standby as StandbyStatus | undefined) ?? null;

async function expectApiError(p: Promise<unknown>, status: number, code: string, what: string) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isApiError(e), `${what}: not an ApiError: ${e}`);
    assert.equal(e.status, status, `${what}: ${e.message}`);
    assert.equal(e.errorCode, code, `${what}: ${e.message}`);
    return true;
  });
}

test('standby through the manager: pull, CLI activation, fencing of the old primary, restart skips standby', {
  timeout: 120_000,
}, async (t) => {
  const s3 = await startS3rver(t, { buckets: ['ckpt'] });
  const url = await manager();
  const client = new HoldfastClient({ url });
  const sync = { bucket: 'ckpt/dr', push_interval: 1 };

  // 1. the primary ingests over HTTP, checkpoints and syncs
  const a = await Pipeline.create(client, { name: 'a', sql: SQL, runtimeConfig: runtimeConfig(s3, sync) });
  await a.start({ wait: true, timeoutMs: 30_000 });
  await a.inputJson(
    't',
    [
      { id: 1, v: 10 },
      { id: 2, v: 20 },
      { id: 3, v: 12 },
    ],
    { wait: true, timeoutMs: 15_000 },
  );
  await a.checkpoint({ wait: true, timeoutMs: 20_000 });
  const synced = await a.syncCheckpoint({ wait: true, timeoutMs: 30_000 });
  const want = await a.queryTabular('SELECT * FROM totals');
  assert.match(want, /\b3\b.*\b42\b/s, want);

  // 2. the standby pulls a's checkpoints and holds one, warm
  const b = await Pipeline.create(client, {
    name: 'b',
    sql: SQL,
    runtimeConfig: runtimeConfig(s3, { ...sync, start_from_checkpoint: 'latest', pull_interval: 1 }),
  });
  await b.start({ initial: 'standby', wait: true, timeoutMs: 30_000 });
  const held = await until(
    () => statusOf(client, 'b'),
    (d) => d.deployment_status === 'Standby' && (standbyIn(d)?.pulls ?? 0) >= 1 && standbyIn(d)?.warm != null,
    'b holds a checkpoint, warm',
  );
  assert.equal(held.deployment_runtime_desired_status, 'Standby');
  const st = standbyIn(held);
  assert.ok(st !== null);
  assert.ok(st.last_pulled_checkpoint !== null);
  assert.ok(st.warm !== null);
  assert.equal(st.start_from_checkpoint, 'latest');
  const pushedByA = (await a.remoteCheckpoints()).map((r) => r.uuid);
  assert.ok(pushedByA.includes(synced), `${synced} not in ${pushedByA}`);
  assert.ok(
    pushedByA.includes(st.last_pulled_checkpoint),
    `b holds ${st.last_pulled_checkpoint}, a pushed ${pushedByA}`,
  );
  assert.ok(
    st.last_pulled_checkpoint >= synced,
    `b holds ${st.last_pulled_checkpoint}, older than ${synced}`,
  );
  // standbyStatus() is the pipeline object's standby details (the manager's poll may tick between two reads:
  // read both until a pair agrees)
  const [viaSdk] = await until(
    async () => {
      const x = await b.standbyStatus();
      return [x, standbyIn(await statusOf(client, 'b'))] as const;
    },
    ([x, y]) => isDeepStrictEqual(x, y),
    'standbyStatus() equals the pipeline object',
  );
  assert.ok(viaSdk !== null && viaSdk.last_pulled_checkpoint !== null);
  assert.ok(viaSdk.pulls >= st.pulls);
  assert.ok(viaSdk.last_pulled_checkpoint >= st.last_pulled_checkpoint);
  assert.equal(viaSdk.pull_interval, 1);
  assert.equal(await a.standbyStatus(), null);
  // pause and resume are the pipeline's InvalidTransition, passed through by the manager
  await expectApiError(client.pausePipeline('b'), 400, 'InvalidTransition', 'pause in standby');
  await expectApiError(client.resumePipeline('b'), 400, 'InvalidTransition', 'resume in standby');
  assert.equal((await statusOf(client, 'b')).deployment_status, 'Standby');

  // 3. the primary dies (forced stop); the CLI activates the standby
  await a.stop({ force: true, wait: true, timeoutMs: 20_000 });
  const act = await cli(url, 'pipeline', 'activate', 'b', '--timeout', '60');
  assert.equal(act.code, 0, `${act.stdout}\n${act.stderr}`);
  assert.match(act.stdout, /pipeline 'b' activated: Running \(took [0-9.]+ s\)/);
  const running = await statusOf(client, 'b');
  assert.equal(running.deployment_status, 'Running');
  assert.equal(running.deployment_runtime_desired_status, 'Running');
  assert.equal(await b.standbyStatus(), null);
  assert.equal(await b.queryTabular('SELECT * FROM totals'), want);
  const stats = await client.syncCheckpointStatus('b');
  assert.equal(stats.checkpoint_sync?.activation?.epoch, 2, JSON.stringify(stats.checkpoint_sync));
  assert.match(await client.metrics('b'), /holdfast_standby_activation_seconds\{[^}]*\} [0-9.]+/);
  // b owns the bucket now: its pushes land
  await b.inputJson('t', [{ id: 4, v: 8 }], { wait: true, timeoutMs: 15_000 });
  await b.checkpoint({ wait: true, timeoutMs: 20_000 });
  const pushedByB = await b.syncCheckpoint({ wait: true, timeoutMs: 30_000 });
  const wantB = await b.queryTabular('SELECT * FROM totals');
  assert.notEqual(wantB, want);

  // 4. the old primary comes back on its storage: it runs, its pushes are refused as fenced
  await a.start({ wait: true, timeoutMs: 30_000 });
  assert.equal(await a.queryTabular('SELECT * FROM totals'), want);
  await a.checkpoint({ wait: true, timeoutMs: 20_000 });
  await assert.rejects(a.syncCheckpoint({ wait: true, timeoutMs: 30_000 }), (e: unknown) => {
    assert.match((e as Error).message, /was fenced/);
    return true;
  });
  const fenced = await until(
    () => statusOf(client, 'a'),
    (d) => String(d.deployment_runtime_status_details?.reason ?? '').startsWith('fenced:'),
    'a shows fenced',
  );
  assert.equal(fenced.deployment_status, 'Running');
  assert.match(String(fenced.deployment_runtime_status_details?.reason), /took over/);
  // its refused checkpoint is not in the bucket; b's is
  const remote = await b.remoteCheckpoints();
  const listed = remote.map((r) => r.uuid);
  assert.ok(listed.includes(pushedByB), `${pushedByB} not in ${listed}`);
  // who pushed each checkpoint, under which epoch: a before the takeover, b after it
  const byUuid = new Map(remote.map((r) => [r.uuid, r]));
  assert.deepEqual([byUuid.get(synced)?.pushed_by?.pipeline_name, byUuid.get(synced)?.epoch], ['a', 1]);
  assert.deepEqual([byUuid.get(pushedByB)?.pushed_by?.pipeline_name, byUuid.get(pushedByB)?.epoch], ['b', 2]);
  await a.stop({ force: true, wait: true, timeoutMs: 20_000 });

  // 5. b restarted with initial=standby: it was activated, so it skips standby and runs with its data
  await b.stop({ force: true, wait: true, timeoutMs: 20_000 });
  // Pipeline.start({initial: 'standby'}) returns once the pipeline runs: it skipped standby on its own
  await b.start({ initial: 'standby', timeoutMs: 30_000 });
  const back = await statusOf(client, 'b');
  assert.equal(back.deployment_status, 'Running', show(back));
  // the record follows: desired is what it runs as, not Standby
  assert.equal(back.deployment_runtime_desired_status, 'Running', show(back));
  assert.equal(await b.standbyStatus(), null);
  assert.equal(await b.queryTabular('SELECT * FROM totals'), wantB);
  await logLine(client, 'b', /previously activated/);
  await b.stop({ force: true, wait: true, timeoutMs: 20_000 });
});

test('SDK activate into Paused; initial=standby without sync is refused', { timeout: 90_000 }, async (t) => {
  const s3 = await startS3rver(t, { buckets: ['ckpt'] });
  const url = await manager();
  const client = new HoldfastClient({ url });

  // 6. no sync: standby is refused, and nothing was started
  await Pipeline.create(client, {
    name: 'plain',
    sql: SQL,
    runtimeConfig: {
      fault_tolerance: { model: 'exactly_once', checkpoint_interval_secs: 1 },
      storage: { backend: { name: 'file' } },
    } as RuntimeConfig,
  });
  await expectApiError(
    client.startPipeline('plain', 'standby'),
    400,
    'InitialStandbyNotAllowed',
    'standby without sync',
  );
  assert.equal((await statusOf(client, 'plain')).deployment_status, 'Stopped');
  const cliRefused = await cli(url, 'pipeline', 'start', 'plain', '--initial', 'standby');
  assert.notEqual(cliRefused.code, 0);
  assert.match(cliRefused.stderr, /InitialStandbyNotAllowed/);

  // activation into Paused through the SDK
  const sync = { bucket: 'ckpt/paused', push_interval: 1 };
  const p = await Pipeline.create(client, { name: 'p', sql: SQL, runtimeConfig: runtimeConfig(s3, sync) });
  await p.start({ wait: true, timeoutMs: 30_000 });
  await p.inputJson('t', [{ id: 7, v: 70 }], { wait: true, timeoutMs: 15_000 });
  await p.checkpoint({ wait: true, timeoutMs: 20_000 });
  const synced = await p.syncCheckpoint({ wait: true, timeoutMs: 30_000 });
  const want = await p.queryTabular('SELECT * FROM totals');
  await p.stop({ force: true, wait: true, timeoutMs: 20_000 });
  const q = await Pipeline.create(client, {
    name: 'q',
    sql: SQL,
    runtimeConfig: runtimeConfig(s3, { ...sync, start_from_checkpoint: 'latest', pull_interval: 1 }),
  });
  await q.start({ initial: 'standby', wait: true, timeoutMs: 30_000 });
  await until(
    () => q.standbyStatus(),
    (s) => s !== null && s.last_pulled_checkpoint !== null && s.last_pulled_checkpoint >= synced,
    'q pulled',
  );
  // starting it again in another state is refused while it is up
  await expectApiError(
    client.startPipeline('q', 'running'),
    400,
    'InitialImmutableUnlessStopped',
    'start running a standby',
  );
  await expectApiError(
    client.activatePipeline('q', 'standby' as 'paused'),
    400,
    'InvalidActivateStatus',
    'bad initial',
  );
  assert.equal(await q.activate({ initial: 'paused', wait: true, timeoutMs: 60_000 }), 'Paused');
  assert.equal((await statusOf(client, 'q')).deployment_runtime_desired_status, 'Paused');
  assert.equal(await q.queryTabular('SELECT * FROM totals'), want);
  await q.resume({ wait: true, timeoutMs: 20_000 });
  await q.inputJson('t', [{ id: 8, v: 1 }], { wait: true, timeoutMs: 15_000 });
  assert.match(await q.queryTabular('SELECT * FROM totals'), /\b2\b.*\b71\b/s);
  await q.stop({ force: true, wait: true, timeoutMs: 20_000 });
});
