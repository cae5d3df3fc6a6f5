/**
 * A recording HTTPS proxy in front of Azurite for customer-provided-key (CPK) tests, started on 127.0.0.1 port 0
 * and stopped by `stop()`. Azure takes CPK headers only over HTTPS (and the SDK refuses to send them over http),
 * so the proxy terminates TLS with a self-signed certificate made here with openssl (trusted in this process by
 * `tls.setDefaultCACertificates`, and in child processes through `NODE_EXTRA_CA_CERTS` = {@link CpkProxy.caFile})
 * and forwards every request unchanged to Azurite over http (shared-key signatures do not cover the scheme or
 * host). Azurite runs with `--loose`: it accepts the CPK headers and ignores them (no encryption, no check).
 *
 * Recorded per request: method, path, `comp`, and the three CPK headers. Emulated (Azurite does not do it): a blob
 * committed (Put Blob, Put Block List) with a key's SHA-256 is remembered, and a Get Blob or Get Blob Properties
 * of it with no key or another key is answered as Azure documents it: 409 `BlobUsesCustomerSpecifiedEncryption`
 * (the code in `x-ms-error-code`, and in the XML body except for HEAD).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { type AzuriteServer, startAzurite } from './azurite.ts';

export interface CpkRequest {
  readonly method: string;
  readonly path: string;
  readonly comp: string | null;
  readonly key: string | undefined;
  readonly sha: string | undefined;
  readonly algorithm: string | undefined;
  /** `x-ms-encryption-scope`, when sent. */
  readonly scope: string | undefined;
  /** Requests already in flight through the proxy when this one arrived (parallel blocks show here). */
  readonly inFlight: number;
}

export interface CpkProxy {
  /** The blob service URL through the proxy (`https://127.0.0.1:PORT/devstoreaccount1`). */
  readonly endpoint: string;
  readonly azurite: AzuriteServer;
  /** The self-signed certificate (PEM file) to trust. */
  readonly caFile: string;
  /** Requests seen so far (clear with `requests.length = 0`). */
  readonly requests: CpkRequest[];
  stop(): Promise<void>;
}

const BODY = `<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobUsesCustomerSpecifiedEncryption</Code><Message>The blob is encrypted with customer specified encryption, but it was not provided.</Message></Error>`;

export async function startCpkProxy(containers: readonly string[]): Promise<CpkProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-cpk-'));
  const keyFile = join(dir, 'key.pem');
  const caFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      caFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(caFile, 'utf8');
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), cert]);
  const azurite = await startAzurite(undefined, { containers, loose: true });
  const up = new URL(azurite.endpoint);
  const requests: CpkRequest[] = [];
  const written = new Map<string, string>();
  let inFlight = 0;
  const server = createServer({ key: readFileSync(keyFile), cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://proxy');
    const h = (n: string) => req.headers[n] as string | undefined;
    const r: CpkRequest = {
      method: req.method ?? '',
      path: url.pathname,
      comp: url.searchParams.get('comp'),
      key: h('x-ms-encryption-key'),
      sha: h('x-ms-encryption-key-sha256'),
      algorithm: h('x-ms-encryption-algorithm'),
      scope: h('x-ms-encryption-scope'),
      inFlight,
    };
    requests.push(r);
    inFlight++;
    res.once('close', () => inFlight--);
    const isRead = (r.method === 'GET' || r.method === 'HEAD') && r.comp === null;
    const want = written.get(r.path);
    if (isRead && want !== undefined && r.sha !== want) {
      res.writeHead(409, {
        'x-ms-error-code': 'BlobUsesCustomerSpecifiedEncryption',
        'content-type': 'application/xml',
        'content-length': r.method === 'HEAD' ? 0 : Buffer.byteLength(BODY),
      });
      res.end(r.method === 'HEAD' ? undefined : BODY);
      return;
    }
    const out = httpRequest(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
      (upRes: IncomingMessage) => {
        const commits = r.method === 'PUT' && (r.comp === null || r.comp === 'blocklist');
        if ((upRes.statusCode ?? 500) < 300 && commits) {
          if (r.sha !== undefined) written.set(r.path, r.sha);
          else written.delete(r.path);
        }
        res.writeHead(upRes.statusCode ?? 500, upRes.headers);
        upRes.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  let stopped = false;
  return {
    endpoint: `https://127.0.0.1:${port}/${azurite.account}`,
    azurite,
    caFile,
    requests,
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await azurite.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
