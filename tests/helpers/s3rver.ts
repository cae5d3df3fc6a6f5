/**
 * Test servers that speak S3, started on 127.0.0.1 with an OS-chosen port and stopped when the test ends:
 * - {@link startS3rver}: npm s3rver 3.7.1 in a child process (see s3rver-main.ts: OpenSSL legacy provider,
 *   conditional writes added), a fresh temporary data directory, credentials S3RVER/S3RVER.
 * - {@link startMoto}: Python moto's `moto_server`, when it is on PATH ({@link findMotoServer}); in-memory,
 *   accepts any credentials. Never a hard requirement: callers skip, and say so, when it is absent.
 *
 * Both child processes are killed when the test calls `stop()` (registered with `after` when a test context is
 * given) and when the test process exits; s3rver also exits on its own when its stdin closes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export interface S3Server {
  readonly name: 's3rver' | 'moto';
  readonly endpoint: string;
  readonly port: number;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
  /** Whether the server checks signatures (moto does not, by default). */
  readonly checksCredentials: boolean;
  createBucket(name: string): Promise<void>;
  /** Requests seen so far (only with `recordRequests`; s3rver only). */
  requests?(): Promise<RecordedRequest[]>;
  stop(): Promise<void>;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** The request's `x-amz-*` headers (date and payload hash left out). */
  readonly headers: Readonly<Record<string, string>>;
}

interface AfterHook {
  after(fn: () => Promise<void> | void): void;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

function track(child: ChildProcess): void {
  running.add(child);
  child.on('exit', () => running.delete(child));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Waits until `pattern` matches the child's output; rejects on exit or after `timeoutMs`. */
function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
  what: string,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m !== null) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${what} exited (code ${code}) before it was ready:\n${out}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} was not ready after ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function adminClient(endpoint: string, accessKey: string, secretKey: string, region: string): S3Client {
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Starts s3rver with the given buckets; stops it (and removes its data) when `t` ends. `gcs: true` makes it answer
 * like GCS's XML API where that matters (write preconditions on generations, no multi-object delete: see
 * s3rver-main.ts).
 */
export async function startS3rver(
  t?: AfterHook,
  opts: { buckets?: readonly string[]; recordRequests?: boolean; gcs?: boolean } = {},
): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'holdfast-s3rver-'));
  const requestLog = opts.recordRequests ? join(directory, 'requests.jsonl') : undefined;
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      join(import.meta.dirname, 's3rver-main.ts'),
      JSON.stringify({
        directory,
        buckets: opts.buckets ?? [],
        ...(requestLog ? { requestLog } : {}),
        ...(opts.gcs === true ? { gcs: true } : {}),
      }),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  track(child);
  let port: number;
  try {
    const m = await waitForOutput(child, /\{"port":(\d+)\}/, 15_000, 's3rver');
    port = Number(m[1]);
  } catch (e) {
    await stopChild(child);
    await rm(directory, { recursive: true, force: true });
    throw e;
  }
  child.stdout?.resume();
  child.stderr?.resume();
  const endpoint = `http://127.0.0.1:${port}`;
  const server: S3Server = {
    name: 's3rver',
    endpoint,
    port,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    region: 'us-east-1',
    checksCredentials: true,
    async createBucket(name) {
      const c = adminClient(endpoint, 'S3RVER', 'S3RVER', 'us-east-1');
      try {
        await c.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        c.destroy();
      }
    },
    ...(requestLog
      ? {
          async requests() {
            const text = await readFile(requestLog, 'utf8').catch(() => '');
            return text
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as RecordedRequest);
          },
        }
      : {}),
    async stop() {
      child.stdin?.end();
      await stopChild(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
  t?.after(() => server.stop());
  return server;
}

/** The path of `moto_server` when it is on PATH and executable, else `null`. */
export function findMotoServer(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, 'moto_server');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

/** Starts `moto_server` (must be on PATH: check {@link findMotoServer} first); stops it when `t` ends. */
export async function startMoto(
  t?: AfterHook,
  opts: { buckets?: readonly string[] } = {},
): Promise<S3Server> {
  const bin = findMotoServer();
  if (bin === null) throw new Error('moto_server is not on PATH');
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let port: number;
  try {
    const m = await waitForOutput(child, /Running on http:\/\/127\.0\.0\.1:(\d+)/, 30_000, 'moto_server');
    port = Number(m[1]);
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  child.stdout?.resume();
  child.stderr?.resume();
  const endpoint = `http://127.0.0.1:${port}`;
  const server: S3Server = {
    name: 'moto',
    endpoint,
    port,
    accessKey: 'testing',
    secretKey: 'testing',
    region: 'us-east-1',
    checksCredentials: false,
    async createBucket(name) {
      const c = adminClient(endpoint, 'testing', 'testing', 'us-east-1');
      try {
        await c.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        c.destroy();
      }
    },
    async stop() {
      await stopChild(child);
    },
  };
  for (const b of opts.buckets ?? []) await server.createBucket(b);
  t?.after(() => server.stop());
  return server;
}
