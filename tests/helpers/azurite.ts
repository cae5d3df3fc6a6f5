/**
 * Azurite, Microsoft's Azure Storage emulator (npm `azurite`, blob service only), started for a test on
 * 127.0.0.1 with an OS-chosen port and a fresh temporary data directory, and stopped (data removed) by `stop()`,
 * by the test's `after` hook when a context is given, and when the test process exits. It runs under
 * azurite-main.ts, which also kills it when the test process dies without cleaning up (its stdin closes).
 *
 * Azurite's well-known development account `devstoreaccount1` and key; the blob endpoint carries the account
 * in its path (`http://127.0.0.1:PORT/devstoreaccount1`). `--skipApiVersionCheck` because the installed SDK
 * speaks a newer API version than Azurite knows. It checks shared-key signatures and honours conditional writes
 * (`If-None-Match: *` → 409, stale `If-Match` → 412). `loose: true` starts it with `--loose`: headers it does not
 * implement (customer-provided keys) are accepted and ignored instead of refused with `FeatureNotSupported`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

export const AZURITE_ACCOUNT = 'devstoreaccount1';
/** Azurite's published development key (not a secret). */
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteServer {
  readonly name: 'azurite';
  /** Blob service URL, account included. */
  readonly endpoint: string;
  readonly port: number;
  readonly account: string;
  readonly key: string;
  /** A connection string for the account on this server. */
  readonly connectionString: string;
  createContainer(name: string): Promise<void>;
  stop(): Promise<void>;
}

interface AfterHook {
  after(fn: () => Promise<void> | void): void;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export async function startAzurite(
  t?: AfterHook,
  opts: { containers?: readonly string[]; loose?: boolean } = {},
): Promise<AzuriteServer> {
  const location = await mkdtemp(join(tmpdir(), 'holdfast-azurite-'));
  const child = spawn(
    process.execPath,
    [
      join(import.meta.dirname, 'azurite-main.ts'),
      JSON.stringify({ location, port: 0, ...(opts.loose === true ? { loose: true } : {}) }),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  running.add(child);
  child.on('exit', () => running.delete(child));
  const stopChild = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin?.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`azurite was not ready after 30 s:\n${out}`)), 30_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`azurite exited (code ${code}) before it was ready:\n${out}`));
      });
    });
  } catch (e) {
    await stopChild();
    await rm(location, { recursive: true, force: true });
    throw e;
  }
  child.stdout?.resume();
  child.stderr?.resume();
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const server: AzuriteServer = {
    name: 'azurite',
    endpoint,
    port,
    account: AZURITE_ACCOUNT,
    key: AZURITE_KEY,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    async createContainer(name) {
      const svc = new BlobServiceClient(
        endpoint,
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      );
      await svc.getContainerClient(name).create();
    },
    async stop() {
      await stopChild();
      await rm(location, { recursive: true, force: true });
    },
  };
  for (const c of opts.containers ?? []) await server.createContainer(c);
  t?.after(() => server.stop());
  return server;
}
