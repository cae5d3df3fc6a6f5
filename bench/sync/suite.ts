/**
 * Sync suite: Holdfast's checkpoint sync (`Synchronizer.push` / `pull`) against rclone (`rclone copy`), side by
 * side in one run, on the same checkpoint files and the same s3rver instance (127.0.0.1, data in a temp dir),
 * with the same concurrency settings (Holdfast's defaults, given to rclone as flags):
 *
 * 1. push MiB/s: a full checkpoint into an empty prefix;
 * 2. pull MiB/s: into an empty local store / directory (Holdfast with and without SHA-256 verification);
 * 3. the server's ceiling: one large object with the SDK's multipart upload and parallel ranged GETs (reference);
 * 4. incremental push: bytes of a push after a 1% change as a share of the full push, files skipped;
 * 5. Azure Blob: Holdfast's push and pull (verified) of the same checkpoint against Azurite (the emulator, on
 *    127.0.0.1), absolute MiB/s; rclone's azureblob backend on the same Azurite too when it works there (probed:
 *    a listing and one upload), else only Holdfast's figures, with the reason.
 *
 * Every measurement runs `runs` times (median; default 3) with the tools' order alternating, and every
 * destination is emptied between runs. rclone is the Debian package; it is installed (apt-get) when missing.
 * Results: `bench/results/sync.json` and the `sync` section of BENCHMARKS.md (full runs only; `--quick` or
 * `--runs` write the git-ignored `sync.tmp-scratch.json`).
 */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CheckpointStore, type SegmentRef } from '../../src/storage/checkpoint-store.ts';
import { type PushResult, Synchronizer } from '../../src/sync/synchronizer.ts';
import { parseSyncConfig, type SyncSettings } from '../../src/types/sync-config.ts';
import { type AzuriteServer, startAzurite } from '../../tests/helpers/azurite.ts';
import { type S3Server, startS3rver } from '../../tests/helpers/s3rver.ts';
import { int, type MachineInfo, machineInfo, median, writeSuiteResults } from '../lib/report.ts';
import type { Suite, SuiteOptions } from '../suite.ts';
import { buildDelta, buildFull, CHANGE_SHARE, SHAPES, type SyncState } from './state.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BUCKET = 'bench';
const MiB = 1024 * 1024;
const IDENTITY = { id: 'pipeline-bench-sync', name: 'bench-sync' };
/** Part size and single-PUT cutoff, given to both tools (Holdfast through its rclone-style `flags`). */
const CHUNK_SIZE = '8M';
const UPLOAD_CUTOFF = '200M';
/** Server ceiling: one object of this size, these parts in flight / ranged GETs at once. */
const CEILING_CONCURRENCY = 16;
const CEILING_PART = 8 * MiB;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

// ---------------------------------------------------------------------------------------------------------
// rclone
// ---------------------------------------------------------------------------------------------------------

/** rclone's environment: no config file, and no AWS_CA_BUNDLE (rclone 1.60 fails to load it). */
function rcloneEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RCLONE_CONFIG: '/dev/null' };
  delete env.AWS_CA_BUNDLE;
  return env;
}

function rcloneVersion(): string | null {
  const r = spawnSync('rclone', ['version'], { env: rcloneEnv(), encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return null;
  return (r.stdout.split('\n')[0] ?? '').trim();
}

/** The rclone version line; installs the Debian package when rclone is missing. */
function ensureRclone(): string {
  const have = rcloneVersion();
  if (have !== null) return have;
  const fail = (why: string) =>
    new Error(
      `sync suite: rclone (the peer this suite compares with) is not installed and could not be installed: ${why}. ` +
        'Install it with `apt-get install -y rclone` (Debian/Ubuntu) and run the suite again.',
    );
  if (process.getuid?.() !== 0) throw fail('installing it needs root (apt-get) and this process is not root');
  console.log('  rclone not found: installing the Debian package (apt-get install -y rclone)');
  const apt = (args: string[]): SpawnSyncReturns<string> =>
    spawnSync('apt-get', args, {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
    });
  let r = apt(['install', '-y', 'rclone']);
  if (r.error === undefined && r.status !== 0) {
    apt(['update']);
    r = apt(['install', '-y', 'rclone']);
  }
  const after = rcloneVersion();
  if (after !== null) return after;
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n    ');
  throw fail(
    r.error !== undefined
      ? `apt-get could not run (${r.error.message})`
      : `apt-get install -y rclone exited with ${r.status}:\n    ${out}`,
  );
}

/** An on-the-fly rclone remote for `path` (bucket/prefix) on the s3rver at `port`. */
function remote(server: S3Server, path: string): string {
  return (
    `:s3,provider=Other,endpoint='${server.endpoint}',access_key_id=${server.accessKey},` +
    `secret_access_key=${server.secretKey},force_path_style=true:${BUCKET}/${path}`
  );
}

/** Wall-clock and CPU milliseconds of one measurement (CPU: the client tool's process; the s3rver process). */
interface Sample {
  ms: number;
  cpuMs: number;
  serverCpuMs: number;
}

/**
 * Runs rclone (through bash, whose `times` reports the CPU rclone used); resolves with the wall-clock and CPU
 * milliseconds, rejects with its output on failure.
 */
function rclone(args: readonly string[]): Promise<{ ms: number; cpuMs: number }> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn('bash', ['-c', 'rclone "$@"; rc=$?; times; exit $rc', 'rclone', ...args], {
      env: rcloneEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      if (code !== 0) {
        reject(
          new Error(
            `rclone ${args.join(' ')} failed (${signal ?? `exit code ${code}`}):\n${err}${out}`.trimEnd(),
          ),
        );
        return;
      }
      // `times`: the shell's user/sys, then its children's (rclone's), e.g. "0m0.812s 0m0.104s"
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out.trimEnd());
      const cpuMs =
        m === null
          ? Number.NaN
          : (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
      resolvePromise({ ms, cpuMs });
    });
  });
}

/** CPU milliseconds the process `pid` has used so far (Linux /proc; NaN elsewhere). */
function processCpuMs(pid: number | null): number {
  if (pid === null) return Number.NaN;
  try {
    const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** The s3rver child process of this process (for its CPU time), or null. */
function s3rverPid(): number | null {
  const r = spawnSync('pgrep', ['-P', String(process.pid), '-f', 's3rver-main'], { encoding: 'utf8' });
  const pid = Number((r.stdout ?? '').trim().split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

// ---------------------------------------------------------------------------------------------------------
// The bucket (admin side: listing, emptying, the ceiling test)
// ---------------------------------------------------------------------------------------------------------

function adminClient(server: S3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: 64 },
      requestTimeout: 300_000,
    },
  });
}

async function listKeys(s3: S3Client, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key !== undefined) out.set(o.Key, o.Size ?? 0);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return out;
}

async function clearPrefix(s3: S3Client, prefix: string): Promise<void> {
  const keys = [...(await listKeys(s3, `${prefix}/`)).keys()];
  for (let i = 0; i < keys.length; i += 1000)
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
      }),
    );
}

/** Throws unless `prefix/files/` holds exactly `files` with their sizes. */
async function checkRemote(s3: S3Client, prefix: string, files: readonly SegmentRef[], who: string) {
  const have = await listKeys(s3, `${prefix}/files/`);
  const bad = files.filter((f) => have.get(`${prefix}/files/${f.hash}`) !== f.size);
  if (bad.length > 0 || have.size !== files.length)
    throw new Error(
      `${who}: ${prefix}/files/ holds ${have.size} objects, expected ${files.length}; ${bad.length} missing or of the wrong size`,
    );
}

/** Throws unless `dir` holds every file of `files` with its size and SHA-256. */
async function checkLocal(dir: string, files: readonly SegmentRef[], who: string): Promise<void> {
  const names = new Set(await readdir(dir));
  for (const f of files) {
    if (!names.has(f.hash)) throw new Error(`${who}: ${f.hash} is missing from ${dir}`);
    const path = join(dir, f.hash);
    if ((await stat(path)).size !== f.size) throw new Error(`${who}: ${path} has the wrong size`);
    const h = createHash('sha256');
    for await (const c of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(c as Buffer);
    if (h.digest('hex') !== f.hash) throw new Error(`${who}: ${path} has the wrong SHA-256`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------------------

interface Ctx {
  readonly server: S3Server;
  readonly serverPid: number | null;
  readonly s3: S3Client;
  readonly state: SyncState;
  readonly settings: (prefix: string, extra?: Record<string, unknown>) => SyncSettings;
  readonly rcloneFlags: readonly string[];
}

/** Times `fn` in this process: wall clock, this process's CPU, s3rver's CPU. */
async function timed<T>(c: Ctx, fn: () => Promise<T>): Promise<Sample & { value: T }> {
  const cpu = process.cpuUsage();
  const server0 = processCpuMs(c.serverPid);
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return {
    value,
    ms,
    cpuMs: (used.user + used.system) / 1000,
    serverCpuMs: processCpuMs(c.serverPid) - server0,
  };
}

async function timedRclone(c: Ctx, args: readonly string[]): Promise<Sample> {
  const server0 = processCpuMs(c.serverPid);
  const r = await rclone(args);
  return { ms: r.ms, cpuMs: r.cpuMs, serverCpuMs: processCpuMs(c.serverPid) - server0 };
}

/** `Synchronizer.push` (without retention) of `uuid` into `prefix`, the Synchronizer created and closed inside. */
function holdfastPush(c: Ctx, prefix: string, uuid: string): Promise<Sample & { value: PushResult }> {
  return timed(c, async () => {
    const sync = new Synchronizer({ settings: c.settings(prefix), local: c.state.store, identity: IDENTITY });
    try {
      return await sync.push(uuid, { retention: false });
    } finally {
      await sync.close();
    }
  });
}

/** `Synchronizer.pull(uuid, {skipLocal: true})` from `prefix` into a new store at `dest`. */
function holdfastPull(c: Ctx, prefix: string, uuid: string, dest: string, ignoreChecksum: boolean) {
  return timed(c, async () => {
    const sync = new Synchronizer({
      settings: c.settings(prefix, { ignore_checksum: ignoreChecksum }),
      local: new CheckpointStore(dest),
      identity: IDENTITY,
    });
    try {
      const r = await sync.pull(uuid, { skipLocal: true });
      if (r.kind !== 'pulled' || r.files !== c.state.full.files.length)
        throw new Error(`Holdfast pull of ${uuid} from ${prefix}: ${JSON.stringify(r)}`);
    } finally {
      await sync.close();
    }
  });
}

/** `rclone copy <store>/files <prefix>/files`. */
function rclonePush(c: Ctx, prefix: string, extra: readonly string[] = []): Promise<Sample> {
  return timedRclone(c, [
    'copy',
    join(c.state.dir, 'files'),
    remote(c.server, `${prefix}/files`),
    ...c.rcloneFlags,
    ...extra,
  ]);
}

/** `rclone copy <prefix>/files <dest>`. */
function rclonePull(c: Ctx, prefix: string, dest: string): Promise<Sample> {
  return timedRclone(c, ['copy', remote(c.server, `${prefix}/files`), dest, ...c.rcloneFlags]);
}

/** One object of `size` bytes: SDK multipart upload, then parallel ranged GETs (bytes discarded). */
async function ceiling(c: Ctx, size: number, key: string): Promise<{ up: Sample; down: Sample }> {
  const body = randomBytes(size);
  const up = await timed(c, () =>
    new Upload({
      client: c.s3,
      params: { Bucket: BUCKET, Key: key, Body: body },
      partSize: CEILING_PART,
      queueSize: CEILING_CONCURRENCY,
    }).done(),
  );
  const ranges = Math.ceil(size / CEILING_PART);
  let next = 0;
  let got = 0;
  const down = await timed(c, () =>
    Promise.all(
      Array.from({ length: Math.min(CEILING_CONCURRENCY, ranges) }, async () => {
        while (next < ranges) {
          const i = next++;
          const end = Math.min(size, (i + 1) * CEILING_PART) - 1;
          const out = await c.s3.send(
            new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: `bytes=${i * CEILING_PART}-${end}` }),
          );
          for await (const chunk of out.Body as AsyncIterable<Uint8Array>) got += chunk.length;
        }
      }),
    ),
  );
  if (got !== size) throw new Error(`ceiling: downloaded ${got} bytes of ${size}`);
  await c.s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: key }] } }));
  return { up, down };
}

// ---------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------

/** Every run of one measurement, and the medians. */
interface Series {
  ms: number[];
  cpuMs: number[];
  serverCpuMs: number[];
  medianMs: number;
  /** `bytes` ÷ median wall time. */
  mibPerSec: number;
  medianCpuMs: number;
  medianServerCpuMs: number;
}

function series(samples: readonly Sample[], bytes: number): Series {
  const ms = samples.map((s) => s.ms);
  const cpuMs = samples.map((s) => s.cpuMs);
  const serverCpuMs = samples.map((s) => s.serverCpuMs);
  const m = median(ms);
  return {
    ms,
    cpuMs,
    serverCpuMs,
    medianMs: m,
    mibPerSec: bytes / MiB / (m / 1000),
    medianCpuMs: median(cpuMs),
    medianServerCpuMs: median(serverCpuMs),
  };
}

interface Report {
  suite: 'sync';
  machine: MachineInfo;
  config: {
    runs: number;
    quick: boolean;
    rclone: string;
    server: string;
    tuning: Record<string, number | string>;
    rcloneFlags: string[];
    holdfastFlags: string[];
    state: {
      files: number;
      bytes: number;
      rows: number;
      shapes: Array<{ label: string; files: number; bytes: number }>;
      buildSeconds: number;
    };
    delta: { files: number; bytes: number; changedRows: number; changeShare: number };
    loadAverage: [number, number];
    timed: Record<string, string>;
  };
  push: { holdfast: Series; rclone: Series; ratio: number };
  pull: {
    holdfast: Series;
    holdfastIgnoreChecksum: Series;
    rclone: Series;
    ratio: number;
    ratioIgnoreChecksum: number;
  };
  ceiling: { bytes: number; upload: Series; download: Series };
  azurite: {
    server: string;
    push: Series;
    pull: Series;
    /** rclone's azureblob backend on the same Azurite, or why it was not measured. */
    rclone: { push: Series; pull: Series; pushRatio: number; pullRatio: number } | { skipped: string };
  };
  incremental: {
    fullBytes: number;
    bytes: number;
    share: number;
    files: number;
    filesSkipped: number;
    holdfast: Series;
    rclone: Series;
  };
}

const mib = (b: number): string => (b / MiB).toFixed(b >= 10 * MiB ? 0 : 1);
const size = (b: number): string => (b >= MiB ? `${mib(b)} MiB` : `${Math.round(b / 1024)} KiB`);
const rate = (s: Series): string => s.mibPerSec.toFixed(0);
const secs = (ms: number): string => (ms / 1000).toFixed(2);

function markdown(r: Report): string {
  const m = r.machine;
  const c = r.config;
  const shapes = c.state.shapes
    .map((s) => `${s.files} × ~${size(s.bytes / Math.max(1, s.files))} (${s.label})`)
    .join(', ');
  const p = r.push;
  const l = r.pull;
  const i = r.incremental;
  const cpu = (h: Series, rc: Series | null) =>
    `${secs(h.medianCpuMs)}${rc === null ? '' : ` / ${secs(rc.medianCpuMs)}`} | ${secs(h.medianServerCpuMs)}` +
    `${rc === null ? '' : ` / ${secs(rc.medianServerCpuMs)}`}`;
  return [
    `Measured ${m.date.slice(0, 10)} on ${m.cpus}× ${m.cpuModel}, Node ${m.node}, ${c.rclone}, s3rver 3.7.1 on ` +
      '127.0.0.1 (its data in a temp dir on the local disk). **Client and server share one small 2-core VM** ' +
      '(shared with other work), and s3rver — single-threaded JavaScript — is the bottleneck: absolute MiB/s say ' +
      'little about a real object store; what carries over is the ratio between the two tools, measured in the ' +
      `same run on the same files against the same server. Median of ${c.runs} runs, the tools' order ` +
      `alternating${c.quick ? '' : ', one unmeasured warm-up run of each first'}; every destination emptied ` +
      'between runs. ' +
      `1-minute load average ${c.loadAverage[0].toFixed(1)} at the start, ${c.loadAverage[1].toFixed(1)} at the end.`,
    '',
    `**Checkpoint**: one full checkpoint written by \`CheckpointStore\` — ${int(c.state.files)} segment files, ` +
      `${mib(c.state.bytes)} MiB, ${int(c.state.rows)} rows: ${shapes}. ` +
      `**Settings**: Holdfast's defaults (${Object.entries(c.tuning)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}), given to rclone as \`${c.rcloneFlags.join(' ')}\` and to Holdfast as ` +
      `\`flags: ${JSON.stringify(c.holdfastFlags)}\`.`,
    '',
    '| | Holdfast | rclone | Holdfast ÷ rclone | client CPU s, Holdfast / rclone | s3rver CPU s, Holdfast / rclone |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    `| push, full checkpoint into an empty prefix | ${rate(p.holdfast)} MiB/s (${secs(p.holdfast.medianMs)} s) | ` +
      `${rate(p.rclone)} MiB/s (${secs(p.rclone.medianMs)} s) | **${p.ratio.toFixed(2)}×** | ${cpu(p.holdfast, p.rclone)} |`,
    `| pull into an empty store, verified | ${rate(l.holdfast)} MiB/s (${secs(l.holdfast.medianMs)} s) | ` +
      `${rate(l.rclone)} MiB/s (${secs(l.rclone.medianMs)} s) | **${l.ratio.toFixed(2)}×** | ${cpu(l.holdfast, l.rclone)} |`,
    `| pull, Holdfast with \`ignore_checksum\` | ${rate(l.holdfastIgnoreChecksum)} MiB/s ` +
      `(${secs(l.holdfastIgnoreChecksum.medianMs)} s) | (as above) | ${l.ratioIgnoreChecksum.toFixed(2)}× | ` +
      `${cpu(l.holdfastIgnoreChecksum, null)} |`,
    `| incremental push after a ${(c.delta.changeShare * 100).toFixed(0)}% change | ` +
      `${secs(i.holdfast.medianMs)} s | ${secs(i.rclone.medianMs)} s | ` +
      `${(i.rclone.medianMs / i.holdfast.medianMs).toFixed(2)}× (rclone's time ÷ Holdfast's) | ${cpu(i.holdfast, i.rclone)} |`,
    '',
    '- **Push**: `Synchronizer.push(uuid, {retention: false})` — owner claim, a HEAD per file (`checkers`), the ' +
      'files (single PUTs: every file is below the 200M cutoff), the manifest — vs ' +
      '`rclone copy <store>/files <remote>/files` (a LIST, the PUTs, a HEAD per uploaded file). MiB/s = segment ' +
      "bytes ÷ wall time; the Synchronizer's creation and rclone's process start are inside the timer.",
    '- **Pull**: `Synchronizer.pull(uuid, {skipLocal: true})` into an empty `CheckpointStore` vs ' +
      '`rclone copy <remote>/files <empty dir>`, both from the same objects (uploaded once by rclone). ' +
      'Holdfast checks every byte against the SHA-256 in the manifest (with `ignore_checksum`: sizes only) and ' +
      'fsyncs every file before renaming it into place; rclone checks sizes and the MD5 of every object against ' +
      'its ETag (every object here is a single-part upload, so every file is MD5-checked) and does not fsync. ' +
      'Both outputs were checked after every run (size and SHA-256 of every file).',
    `- **Incremental push** after ${int(c.delta.changedRows)} rows (${(c.delta.changeShare * 100).toFixed(0)}% of ` +
      `every state) were updated: the delta checkpoint adds ${c.delta.files} segment files (${mib(c.delta.bytes)} MiB). ` +
      `Holdfast uploaded **${mib(i.bytes)} MiB = ${(i.share * 100).toFixed(2)}% of the full push's ` +
      `${mib(i.fullBytes)} MiB** (target ≤ 3%; files + manifest), ${i.files} files, and skipped ` +
      `${int(i.filesSkipped)} (already in the bucket: one HEAD each). rclone, copying the same directory onto the ` +
      'full checkpoint, uploads the same new files (it compares size and modification time of the others).',
    `- **Where the time goes** (CPU profiles and the CPU columns): s3rver is single-threaded and needs most of ` +
      'one core, so the client effectively has the other one, and the tool that spends less CPU per byte wins. ' +
      `Push: Holdfast's client uses ${secs(p.holdfast.medianCpuMs)} s of CPU against rclone's ` +
      `${secs(p.rclone.medianCpuMs)} s — it signs each PUT with the SHA-256 it already has (the segment's name) ` +
      'instead of letting the SDK hash every byte again, while rclone computes the MD5 of every file to check the ' +
      `upload. Pull: without verification Holdfast's client needs ${secs(l.holdfastIgnoreChecksum.medianCpuMs)} s ` +
      `(rclone ${secs(l.rclone.medianCpuMs)} s, its MD5 included); verifying SHA-256 adds ` +
      `${secs(l.holdfast.medianCpuMs - l.holdfastIgnoreChecksum.medianCpuMs)} s of CPU (files up to 8 MiB are hashed by WebCrypto on the libuv pool, off the event loop, larger ones ` +
      'as they stream; a 2-core box shared with the server has no spare core for it either way). The rest ' +
      "of Holdfast's per-byte cost is the JavaScript HTTP client (a fresh 64 KiB buffer per socket read, hence " +
      `frequent garbage collection) and an fsync per file. The incremental push is ~${3 * c.delta.files} small ` +
      "requests for either tool, and Holdfast's SDK spends more CPU per request than rclone.",
    `- **Server ceiling** (reference): one ${mib(r.ceiling.bytes)} MiB object through the SDK directly — multipart ` +
      `upload (${CEILING_PART / MiB} MiB parts, ${CEILING_CONCURRENCY} in flight) **${rate(r.ceiling.upload)} MiB/s**, ` +
      `${CEILING_CONCURRENCY} parallel ranged GETs **${rate(r.ceiling.download)} MiB/s**.`,
    `- **Azure Blob** (\`provider: "AzureBlob"\`, the same checkpoint, against ${r.azurite.server}): push ` +
      `**${rate(r.azurite.push)} MiB/s** (${secs(r.azurite.push.medianMs)} s), pull into an empty store, verified, ` +
      `**${rate(r.azurite.pull)} MiB/s** (${secs(r.azurite.pull.medianMs)} s)` +
      ('skipped' in r.azurite.rclone
        ? `; rclone's azureblob backend not measured (${c.rclone}): ${r.azurite.rclone.skipped}. `
        : `; rclone's azureblob backend on the same Azurite: push ${rate(r.azurite.rclone.push)} MiB/s ` +
          `(**${r.azurite.rclone.pushRatio.toFixed(2)}×**), pull ${rate(r.azurite.rclone.pull)} MiB/s ` +
          `(**${r.azurite.rclone.pullRatio.toFixed(2)}×**). `) +
      'Caveat: Azurite is an emulator (single-threaded JavaScript, blobs in files and metadata in a LokiJS ' +
      'database) sharing the VM with the client: these absolute figures say nothing about Azure itself, only ' +
      'that the Azure path works end to end at a usable rate.',
    '',
    'Raw numbers (all runs): `bench/results/sync.json`.',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------

type Tool = 'holdfast' | 'rclone';
type Puller = 'holdfast' | 'holdfast-ignore-checksum' | 'rclone';

async function run(options: SuiteOptions): Promise<void> {
  const quick = options.quick;
  const runsFlag = options.flags.runs;
  const runs = runsFlag !== undefined ? Number(runsFlag) : quick ? 1 : 3;
  if (!Number.isInteger(runs) || runs <= 0) throw new Error('--runs must be a positive integer');
  const official = !quick && runsFlag === undefined;
  const loadAtStart = loadavg()[0] as number;
  const rcloneVer = ensureRclone();
  const tmp = await mkdtemp(join(tmpdir(), 'holdfast-bench-sync-'));
  let server: S3Server | undefined;
  let s3: S3Client | undefined;
  try {
    server = await startS3rver(undefined, { buckets: [BUCKET] });
    s3 = adminClient(server);
    const srv = server;
    const admin = s3;
    const holdfastFlags = ['--s3-chunk-size', CHUNK_SIZE, '--s3-upload-cutoff', UPLOAD_CUTOFF];
    const settings = (prefix: string, extra: Record<string, unknown> = {}) =>
      parseSyncConfig({
        endpoint: srv.endpoint,
        provider: 'Other',
        bucket: `${BUCKET}/${prefix}`,
        access_key: srv.accessKey,
        secret_key: srv.secretKey,
        flags: holdfastFlags,
        ...extra,
      });
    const d = settings('x');
    const tuning = {
      transfers: d.transfers,
      checkers: d.checkers,
      upload_concurrency: d.uploadConcurrency,
      multi_thread_streams: d.multiThreadStreams,
      multi_thread_cutoff: `${d.multiThreadCutoff / MiB}M`,
      chunk_size: CHUNK_SIZE,
      upload_cutoff: UPLOAD_CUTOFF,
    };
    const rcloneFlags = [
      `--transfers=${d.transfers}`,
      `--checkers=${d.checkers}`,
      `--s3-upload-concurrency=${d.uploadConcurrency}`,
      `--s3-chunk-size=${CHUNK_SIZE}`,
      `--s3-upload-cutoff=${UPLOAD_CUTOFF}`,
      `--multi-thread-streams=${d.multiThreadStreams}`,
      `--multi-thread-cutoff=${d.multiThreadCutoff / MiB}M`,
    ];

    console.log(`  building the checkpoint (${quick ? 'quick' : 'full'} shape) ...`);
    const state = await buildFull(join(tmp, 'store'), quick ? SHAPES.quick : SHAPES.full);
    const full = state.full;
    console.log(
      `  full checkpoint: ${full.files.length} files, ${mib(full.bytes)} MiB, ${int(full.rows)} rows ` +
        `(${full.seconds.toFixed(1)} s)`,
    );
    const c: Ctx = { server, serverPid: s3rverPid(), s3, state, settings, rcloneFlags };
    if (c.serverPid === null) console.log('  (s3rver process not found: its CPU time is not reported)');
    let seq = 0;
    const show = (label: string, what: string, bytes: number, x: Sample) =>
      console.log(
        `  ${label} ${what}: ${(bytes / MiB / (x.ms / 1000)).toFixed(0)} MiB/s (${int(x.ms)} ms, ` +
          `client CPU ${int(x.cpuMs)} ms, s3rver CPU ${int(x.serverCpuMs)} ms)`,
      );
    const alternate = (r: number): Tool[] => (r % 2 === 0 ? ['holdfast', 'rclone'] : ['rclone', 'holdfast']);

    // 1. push: the full checkpoint into an empty prefix
    const pushOnce = async (who: Tool, label: string): Promise<Sample> => {
      const prefix = `push-${who}-${seq++}`;
      let x: Sample;
      if (who === 'holdfast') {
        const h = await holdfastPush(c, prefix, full.uuid);
        if (h.value.files !== full.files.length)
          throw new Error(`Holdfast push uploaded ${h.value.files} files, expected ${full.files.length}`);
        x = h;
      } else x = await rclonePush(c, prefix);
      await checkRemote(admin, prefix, full.files, `${who} push`);
      await clearPrefix(admin, prefix);
      show(label, `push ${who}`, full.bytes, x);
      return x;
    };
    if (!quick) for (const who of alternate(0)) await pushOnce(who, 'warm-up');
    const push: Record<Tool, Sample[]> = { holdfast: [], rclone: [] };
    for (let r = 0; r < runs; r++)
      for (const who of alternate(r)) push[who].push(await pushOnce(who, `run ${r + 1}/${runs}`));

    // 2. pull: from one copy of the checkpoint, uploaded by rclone (single PUTs: MD5 ETags rclone can check)
    const src = 'pull-source';
    await rclone([
      'copy',
      state.dir,
      remote(srv, src),
      '--include=/files/**',
      '--include=/checkpoints/**',
      ...rcloneFlags,
    ]);
    await checkRemote(admin, src, full.files, 'pull source');
    const pullers: Puller[] = ['holdfast', 'holdfast-ignore-checksum', 'rclone'];
    const pullOnce = async (who: Puller, label: string): Promise<Sample> => {
      const dest = join(tmp, `pull-${seq++}`);
      let x: Sample;
      if (who === 'rclone') {
        await mkdir(dest);
        x = await rclonePull(c, src, dest);
        await checkLocal(dest, full.files, 'rclone pull');
      } else {
        x = await holdfastPull(c, src, full.uuid, dest, who === 'holdfast-ignore-checksum');
        await checkLocal(join(dest, 'files'), full.files, `${who} pull`);
      }
      await rm(dest, { recursive: true, force: true });
      show(label, `pull ${who}`, full.bytes, x);
      return x;
    };
    if (!quick) for (const who of pullers) await pullOnce(who, 'warm-up');
    const pull: Record<Puller, Sample[]> = { holdfast: [], 'holdfast-ignore-checksum': [], rclone: [] };
    for (let r = 0; r < runs; r++)
      for (let k = 0; k < pullers.length; k++) {
        const who = pullers[(k + r) % pullers.length] as Puller;
        pull[who].push(await pullOnce(who, `run ${r + 1}/${runs}`));
      }
    await clearPrefix(admin, src);

    // 3. the server's ceiling: one large object
    const ceilingBytes = quick ? 16 * MiB : 256 * MiB;
    const up: Sample[] = [];
    const down: Sample[] = [];
    for (let r = 0; r < runs; r++) {
      const x = await ceiling(c, ceilingBytes, `ceiling-${r}`);
      up.push(x.up);
      down.push(x.down);
      show(`run ${r + 1}/${runs}`, 'ceiling upload', ceilingBytes, x.up);
      show(`run ${r + 1}/${runs}`, 'ceiling download', ceilingBytes, x.down);
    }

    // 4. incremental push after a 1% change
    const delta = await buildDelta(state);
    console.log(
      `  delta checkpoint: ${int(delta.changedRows)} rows changed, ${delta.files.length} new files, ` +
        `${mib(delta.bytes)} MiB (${delta.seconds.toFixed(1)} s)`,
    );
    const fullList = join(tmp, 'full-files.txt');
    await writeFile(fullList, `${full.files.map((f) => f.hash).join('\n')}\n`);
    const both = [...full.files, ...delta.files];
    const inc: Record<Tool, Sample[]> = { holdfast: [], rclone: [] };
    let fullPush: PushResult | undefined;
    let incPush: PushResult | undefined;
    for (let r = 0; r < runs; r++)
      for (const who of alternate(r)) {
        const prefix = `inc-${who}-${seq++}`;
        let x: Sample;
        if (who === 'holdfast') {
          fullPush = (await holdfastPush(c, prefix, full.uuid)).value;
          const h = await holdfastPush(c, prefix, delta.uuid);
          incPush = h.value;
          x = h;
        } else {
          // the full checkpoint's files first (not timed), then the directory with the delta's files too
          await rclonePush(c, prefix, [`--files-from=${fullList}`]);
          x = await rclonePush(c, prefix);
        }
        await checkRemote(admin, prefix, both, `${who} incremental push`);
        await clearPrefix(admin, prefix);
        inc[who].push(x);
        console.log(`  run ${r + 1}/${runs} incremental push ${who}: ${int(x.ms)} ms`);
      }
    if (fullPush === undefined || incPush === undefined) throw new Error('no incremental push ran');

    // 5. Azure Blob against Azurite: Holdfast absolute; rclone's azureblob when it works against Azurite
    const azurite = await measureAzurite(c, tmp, runs, (label, what, bytes, x) =>
      console.log(
        `  ${label} ${what}: ${(bytes / MiB / (x.ms / 1000)).toFixed(0)} MiB/s (${int(x.ms)} ms, client CPU ${int(x.cpuMs)} ms)`,
      ),
    );

    const report: Report = {
      suite: 'sync',
      machine: machineInfo(),
      config: {
        runs,
        quick,
        rclone: rcloneVer,
        server: 's3rver 3.7.1 (tests/helpers/s3rver.ts) on 127.0.0.1, data in a temp dir',
        tuning,
        rcloneFlags,
        holdfastFlags,
        state: {
          files: full.files.length,
          bytes: full.bytes,
          rows: full.rows,
          shapes: state.shapes,
          buildSeconds: full.seconds,
        },
        delta: {
          files: delta.files.length,
          bytes: delta.bytes,
          changedRows: delta.changedRows,
          changeShare: CHANGE_SHARE,
        },
        loadAverage: [loadAtStart, loadavg()[0] as number],
        timed: {
          ms: 'wall clock; Holdfast: Synchronizer created, push/pull, closed; rclone: the whole process',
          cpuMs:
            "client CPU (user + sys): Holdfast: this process (process.cpuUsage); rclone: its process (bash's times)",
          serverCpuMs: 's3rver process CPU (user + sys) during the measurement, from /proc',
          mibPerSec: "segment files' bytes ÷ median wall time (manifest and owner.json not counted)",
        },
      },
      push: {
        holdfast: series(push.holdfast, full.bytes),
        rclone: series(push.rclone, full.bytes),
        ratio: median(push.rclone.map((x) => x.ms)) / median(push.holdfast.map((x) => x.ms)),
      },
      pull: {
        holdfast: series(pull.holdfast, full.bytes),
        holdfastIgnoreChecksum: series(pull['holdfast-ignore-checksum'], full.bytes),
        rclone: series(pull.rclone, full.bytes),
        ratio: median(pull.rclone.map((x) => x.ms)) / median(pull.holdfast.map((x) => x.ms)),
        ratioIgnoreChecksum:
          median(pull.rclone.map((x) => x.ms)) / median(pull['holdfast-ignore-checksum'].map((x) => x.ms)),
      },
      ceiling: {
        bytes: ceilingBytes,
        upload: series(up, ceilingBytes),
        download: series(down, ceilingBytes),
      },
      azurite,
      incremental: {
        fullBytes: fullPush.bytes,
        bytes: incPush.bytes,
        share: incPush.bytes / fullPush.bytes,
        files: incPush.files,
        filesSkipped: incPush.filesSkipped,
        holdfast: series(inc.holdfast, incPush.bytes),
        rclone: series(inc.rclone, delta.bytes),
      },
    };
    console.log(
      `  push: Holdfast ${rate(report.push.holdfast)} MiB/s, rclone ${rate(report.push.rclone)} MiB/s ` +
        `(${report.push.ratio.toFixed(2)}×); pull: Holdfast ${rate(report.pull.holdfast)} MiB/s ` +
        `(ignore_checksum ${rate(report.pull.holdfastIgnoreChecksum)}), rclone ${rate(report.pull.rclone)} MiB/s ` +
        `(${report.pull.ratio.toFixed(2)}×); incremental ${(report.incremental.share * 100).toFixed(2)}% of the full push`,
    );
    writeSuiteResults(ROOT, 'sync', official, report, markdown(report));
  } finally {
    s3?.destroy();
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

/** An rclone azureblob remote for `path` (container/prefix) on Azurite. */
function azRemote(az: AzuriteServer, path: string): string {
  return `:azureblob,account=${az.account},key='${az.key}',endpoint='${az.endpoint}':${path}`;
}

/** Section 5: push and pull of the full checkpoint against Azurite. */
async function measureAzurite(
  c: Ctx,
  tmp: string,
  runs: number,
  show: (label: string, what: string, bytes: number, x: Sample) => void,
): Promise<Report['azurite']> {
  const az = await startAzurite(undefined, { containers: [BUCKET] });
  try {
    const full = c.state.full;
    const settings = (prefix: string, extra: Record<string, unknown> = {}) =>
      parseSyncConfig({
        provider: 'AzureBlob',
        endpoint: az.endpoint,
        bucket: `${BUCKET}/${prefix}`,
        access_key: az.account,
        secret_key: az.key,
        flags: ['--azureblob-chunk-size', CHUNK_SIZE, '--azureblob-upload-cutoff', UPLOAD_CUTOFF],
        ...extra,
      });
    const azc: Ctx = { ...c, serverPid: null, settings };
    const push: Sample[] = [];
    const pull: Sample[] = [];
    let n = 0;
    for (let r = 0; r < runs; r++) {
      const prefix = `az-${n++}`;
      const h = await holdfastPush(azc, prefix, full.uuid);
      if (h.value.files !== full.files.length)
        throw new Error(
          `Holdfast push to Azurite uploaded ${h.value.files} files, expected ${full.files.length}`,
        );
      push.push(h);
      show(`run ${r + 1}/${runs}`, 'Azurite push holdfast', full.bytes, h);
      const dest = join(tmp, `az-pull-${n}`);
      const p = await holdfastPull(azc, prefix, full.uuid, dest, false);
      await checkLocal(join(dest, 'files'), full.files, 'Azurite pull');
      await rm(dest, { recursive: true, force: true });
      pull.push(p);
      show(`run ${r + 1}/${runs}`, 'Azurite pull holdfast', full.bytes, p);
    }
    // rclone's azureblob backend: only if it works against this Azurite
    let rcloneResult: Report['azurite']['rclone'];
    try {
      await rclone(['lsf', azRemote(az, BUCKET)]);
      const rp: Sample[] = [];
      const rl: Sample[] = [];
      for (let r = 0; r < runs; r++) {
        const prefix = `az-rclone-${n++}`;
        const x = await timedRclone(azc, [
          'copy',
          join(c.state.dir, 'files'),
          azRemote(az, `${BUCKET}/${prefix}/files`),
          `--transfers=${c.settings('x').transfers}`,
          `--checkers=${c.settings('x').checkers}`,
          `--azureblob-chunk-size=${CHUNK_SIZE}`,
          `--azureblob-upload-concurrency=${c.settings('x').uploadConcurrency}`,
        ]);
        rp.push(x);
        show(`run ${r + 1}/${runs}`, 'Azurite push rclone', full.bytes, x);
        const dest = join(tmp, `az-rclone-pull-${n}`);
        await mkdir(dest);
        const y = await timedRclone(azc, [
          'copy',
          azRemote(az, `${BUCKET}/${prefix}/files`),
          dest,
          `--transfers=${c.settings('x').transfers}`,
          `--checkers=${c.settings('x').checkers}`,
        ]);
        await checkLocal(dest, full.files, 'rclone Azurite pull');
        await rm(dest, { recursive: true, force: true });
        rl.push(y);
        show(`run ${r + 1}/${runs}`, 'Azurite pull rclone', full.bytes, y);
      }
      rcloneResult = {
        push: series(rp, full.bytes),
        pull: series(rl, full.bytes),
        pushRatio: median(rp.map((x) => x.ms)) / median(push.map((x) => x.ms)),
        pullRatio: median(rl.map((x) => x.ms)) / median(pull.map((x) => x.ms)),
      };
    } catch (e) {
      // rclone 1.60 (Debian's): `endpoint` is a domain suffix (https://ACCOUNT.SUFFIX), and `use_emulator` means
      // the fixed address 127.0.0.1:10000, so it cannot reach an Azurite on a free port
      const text = String((e as Error).message ?? e);
      const dns = /no such host|lookup /.test(text);
      rcloneResult = {
        skipped: dns
          ? "rclone's azureblob backend takes only an endpoint domain suffix (https://ACCOUNT.SUFFIX) or, with " +
            '`use_emulator`, the fixed address 127.0.0.1:10000, so it cannot reach this Azurite on a free port'
          : `rclone's listing of the Azurite container failed (${(text.split('\n').find((l) => /ERROR|Failed/.test(l)) ?? 'no output').replaceAll(az.key, '<key>').trim().slice(0, 160)})`,
      };
      console.log(`  rclone azureblob against Azurite: not measured: ${rcloneResult.skipped}`);
    }
    return {
      server: 'Azurite 3.37 (blob service, tests/helpers/azurite.ts) on 127.0.0.1, data in a temp dir',
      push: series(push, full.bytes),
      pull: series(pull, full.bytes),
      rclone: rcloneResult,
    };
  } finally {
    await az.stop();
  }
}

export const syncSuite: Suite = {
  name: 'sync',
  description:
    'checkpoint push/pull MiB/s vs rclone on the same files and s3rver, server ceiling, incremental push bytes, Azure Blob push/pull on Azurite',
  run,
};
