/**
 * The Azure Blob Storage object store, on @azure/storage-blob (and @azure/identity for credentials from the
 * environment). Loaded only from the sync layer, like the S3 SDK.
 *
 * # Configuration (from the wire `SyncConfig`: provider `AzureBlob`, endpoint, bucket, access_key, secret_key,
 * and the Azure fields account and sas_token; a connection string comes from AZURE_STORAGE_CONNECTION_STRING)
 * - `bucket`: `container` or `container/some/prefix`; keys are relative to the prefix.
 * - `endpoint`: the blob service URL, default `https://{account}.blob.core.windows.net`; an emulator's URL carries
 *   the account as its path (`http://127.0.0.1:10000/devstoreaccount1`).
 * - Credentials, the first that is set: `connectionString` (it names the endpoint too); `accountName` +
 *   `accountKey` (shared key; `access_key`/`secret_key`); `sasToken` (a SAS query string, appended to every
 *   request); a SAS already in the endpoint's query (`?sv=...&sig=...`); otherwise `DefaultAzureCredential`
 *   (environment service principal, workload identity, managed identity, Azure CLI...), which needs the
 *   account name (`account`) or an `endpoint`.
 * - Uploads: a body up to `singleShotSize` goes up in one Put Blob; a larger one, or a stream, in blocks of
 *   `blockSize`, `concurrency` blocks in flight, then Put Block List. Conditional writes (`If-None-Match: *`,
 *   `If-Match: etag`) ride on the Put Blob or on the Put Block List, so of racing writers exactly one commits.
 * - `accessTier` and `encryptionScope` are sent with every upload.
 * - `customerKey` (a customer-provided key, CPK: the base64 of a 256-bit AES key) goes with every blob write
 *   and read: Put Blob, Put Block, Put Block List, Get Blob and Get Blob Properties carry `x-ms-encryption-key`,
 *   `x-ms-encryption-key-sha256` and `x-ms-encryption-algorithm: AES256` (Delete and List need no key). Azure
 *   takes a key only over HTTPS, so the endpoint must be `https://`. A blob written with a key can only be read
 *   with that key: Azure answers 409 `BlobUsesCustomerSpecifiedEncryption` otherwise, reported as
 *   `ObjectStoreEncryptionKeyMismatch`.
 *
 * # State
 * One BlobServiceClient/ContainerClient (their sockets) and the customer key's request headers; nothing else.
 * Secrets live only inside the client, the credential and the CPK headers; {@link AzureStore.description} and every message are built without them (the endpoint's query,
 * where a SAS may sit, is left out, and `sig=` values in store messages are redacted).
 *
 * # Errors
 * RestErrors and network errors become the object-store ServiceErrors of object-store.ts, with Azure's error code
 * (`x-ms-error-code`: `BlobNotFound`, `ContainerNotFound`, `AuthenticationFailed`, `ConditionNotMet`...) or the
 * Node network code in the message and in `details.store_code`. A HEAD answer has no body (Azurite sends no
 * error code with it either), so `head` on a missing container returns `null` like a missing key and a refused
 * HEAD reports `Forbidden` (only a customer-key mismatch is read from a HEAD's `x-ms-error-code` header): use `listPage`/`get` to tell them apart. `If-Match` on a missing blob is 412 on Azure;
 * `put` reports it as `ObjectNotFound` (one extra HEAD), as the contract says.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type {
  BlobHTTPHeaders,
  BlobServiceClient,
  BlockBlobClient,
  ContainerClient,
  CpkInfo,
  StoragePipelineOptions,
} from '@azure/storage-blob';
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import type { ErrorCode } from '../types/error-codes.ts';
import { redactUrlCredentials } from '../types/redact-url.ts';
import {
  answerInfo,
  checkRange,
  type GetOptions,
  type GetResult,
  type GetStreamResult,
  type ListOptions,
  type ListPage,
  listAll,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  readWhole,
  validateKey,
  validatePrefix,
} from './object-store.ts';

/**
 * The Azure SDKs are loaded on the first Azure store, not at import: @azure/identity and @azure/storage-blob
 * cost ~0.5 s of CPU, and every pipeline process, CLI and manager imports this module.
 */
const requireHere = createRequire(import.meta.url);
type BlobSdk = typeof import('@azure/storage-blob');
type IdentitySdk = typeof import('@azure/identity');
let blobSdk: BlobSdk | undefined;
let identitySdk: IdentitySdk | undefined;
const blob = (): BlobSdk => (blobSdk ??= requireHere('@azure/storage-blob') as BlobSdk);
const identity = (): IdentitySdk => (identitySdk ??= requireHere('@azure/identity') as IdentitySdk);

export interface AzureStoreOptions {
  /** `container` or `container/prefix`. */
  readonly bucket: string;
  /** Blob service URL; default `https://{account}.blob.core.windows.net`. */
  readonly endpoint?: string;
  /** Storage account name with `accountKey` (shared-key auth; `access_key`). */
  readonly accountName?: string;
  /** Storage account key (`secret_key`). */
  readonly accountKey?: string;
  /** Account name for the default endpoint when no key is given (SAS or environment credentials). */
  readonly account?: string;
  /** A SAS token (`sv=...&sig=...`, with or without the leading `?`). */
  readonly sasToken?: string;
  /** An Azure Storage connection string (`DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...`). */
  readonly connectionString?: string;
  /** Bodies up to this size go up in one request (default 16 MiB; `--azureblob-upload-cutoff`). */
  readonly singleShotSize?: number;
  /** Block size of block uploads (default 8 MiB; `--azureblob-chunk-size`). */
  readonly blockSize?: number;
  /** Blocks in flight per upload (default 4; `upload_concurrency`). */
  readonly concurrency?: number;
  /** Default page size of listings (at most 5000). */
  readonly pageSize?: number;
  /** SDK tries per request, the first included (default 3; the synchronizer uses 1 and retries itself). */
  readonly maxTries?: number;
  /** Per-try timeout in ms (default 120 s). */
  readonly tryTimeoutMs?: number;
  /** `Hot`, `Cool` or `Cold` (`--azureblob-access-tier`). */
  readonly accessTier?: string;
  /** Encryption scope of uploaded blobs (`--azureblob-encryption-scope`). */
  readonly encryptionScope?: string;
  /** A customer-provided key (secret): the base64 of 32 bytes, sent with every blob read and write. */
  readonly customerKey?: string;
}

/** The CPK request fields for `key` (base64 of a 256-bit key); throws InvalidObjectStoreConfig otherwise. */
export function customerKeyInfo(key: string, field = 'customer_key_secret'): CpkInfo {
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(key) ? Buffer.from(key, 'base64') : Buffer.alloc(0);
  if (bytes.length !== 32 || bytes.toString('base64') !== key)
    throw new ServiceError(
      'InvalidObjectStoreConfig',
      `\`${field}\` must be the base64 of a 256-bit (32-byte) AES key, e.g. the output of \`openssl rand -base64 32\` (the value is not shown)`,
      { field },
    );
  return {
    encryptionKey: key,
    encryptionKeySha256: createHash('sha256').update(bytes).digest('base64'),
    encryptionAlgorithm: 'AES256',
  };
}

const MiB = 1024 * 1024;
const DELETE_CONCURRENCY = 16;
/** Azure's limits: 4000 MiB per block, 5000 MiB per Put Blob. */
const MAX_BLOCK = 4000 * MiB;
const MAX_SINGLE_SHOT = 5000 * MiB;

type Info = ObjectInfo & { readonly etag: string };

/** Container names: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit. */
export const AZURE_CONTAINER_RE = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;

export class AzureStore implements ObjectStore {
  readonly description: string;
  readonly container: string;
  readonly prefix: string;
  readonly #container: ContainerClient;
  readonly #singleShot: number;
  readonly #blockSize: number;
  readonly #concurrency: number;
  readonly #pageSize: number;
  readonly #accessTier: string | undefined;
  readonly #encryptionScope: string | undefined;
  readonly #cpk: { customerProvidedKey: CpkInfo } | Record<string, never>;
  readonly #secrets: string[];

  constructor(opts: AzureStoreOptions) {
    const bad = (field: string, message: string) =>
      new ServiceError('InvalidObjectStoreConfig', message, { field });
    if (typeof opts.bucket !== 'string' || opts.bucket.replace(/\//g, '') === '')
      throw bad(
        'bucket',
        '`bucket` is required: the container and an optional prefix, e.g. "checkpoints/orders"',
      );
    const trimmed = opts.bucket.replace(/^\/+|\/+$/g, '');
    const slash = trimmed.indexOf('/');
    this.container = slash < 0 ? trimmed : trimmed.slice(0, slash);
    if (slash >= 0) validateKey(trimmed.slice(slash + 1), 'bucket prefix');
    this.prefix = slash < 0 ? '' : `${trimmed.slice(slash + 1)}/`;
    if (!AZURE_CONTAINER_RE.test(this.container))
      throw bad(
        'bucket',
        `${JSON.stringify(this.container)} is not an Azure container name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit`,
      );
    // the key and SAS inside a connection string are secrets on their own too
    const fromConnection = [
      ...(opts.connectionString ?? '').matchAll(/(?:AccountKey|SharedAccessSignature)=([^;]+)/gi),
    ].map((m) => m[1]);
    this.#secrets = [
      opts.accountKey,
      opts.sasToken,
      opts.connectionString,
      opts.customerKey,
      ...fromConnection,
    ].filter((s): s is string => typeof s === 'string' && s.length >= 8);
    this.#cpk =
      opts.customerKey === undefined ? {} : { customerProvidedKey: customerKeyInfo(opts.customerKey) };
    const pipeline: StoragePipelineOptions = {
      retryOptions: {
        maxTries: Math.max(1, opts.maxTries ?? 3),
        tryTimeoutInMs: opts.tryTimeoutMs ?? 120_000,
      },
    };
    const service = serviceClient(opts, pipeline);
    this.#container = service.getContainerClient(this.container);
    const base = service.url.split('?')[0]?.replace(/\/$/, '') ?? '';
    if (opts.customerKey !== undefined && !/^https:/i.test(base))
      throw bad(
        'endpoint',
        'a customer-provided key (`customer_key_secret`) is sent only over https://: Azure refuses it over http, and the key must not travel in clear text; use an https:// `endpoint`',
      );
    this.description = `azureblob://${this.container}/${this.prefix} at ${redactUrlCredentials(base)}`;
    this.#singleShot = Math.min(MAX_SINGLE_SHOT, opts.singleShotSize ?? 16 * MiB);
    this.#blockSize = opts.blockSize ?? 8 * MiB;
    this.#concurrency = Math.max(1, opts.concurrency ?? 4);
    this.#pageSize = Math.max(1, Math.min(5000, opts.pageSize ?? 5000));
    this.#accessTier = opts.accessTier;
    this.#encryptionScope = opts.encryptionScope;
    if (!(this.#blockSize >= 1 && this.#blockSize <= MAX_BLOCK))
      throw bad('blockSize', "the block size must be between 1 byte and 4000 MiB (Azure's largest block)");
  }

  async put(key: string, body: ObjectBody, opts: PutOptions = {}): Promise<PutResult> {
    const blob = this.#blob(key);
    const conditions = {
      ...(opts.ifNoneMatch === undefined ? {} : { ifNoneMatch: opts.ifNoneMatch }),
      ...(opts.ifMatch === undefined ? {} : { ifMatch: opts.ifMatch }),
    };
    const headers: BlobHTTPHeaders =
      opts.contentType === undefined ? {} : { blobContentType: opts.contentType };
    const common = {
      conditions,
      blobHTTPHeaders: headers,
      ...(opts.sha256 === undefined ? {} : { metadata: { sha256: opts.sha256.toLowerCase() } }),
      ...(this.#accessTier === undefined ? {} : { tier: this.#accessTier }),
      ...(this.#encryptionScope === undefined ? {} : { encryptionScope: this.#encryptionScope }),
      ...this.#cpk,
      ...(opts.signal === undefined ? {} : { abortSignal: opts.signal }),
    };
    const blockSize = Math.min(MAX_BLOCK, Math.max(1, opts.partSize ?? this.#blockSize));
    const concurrency = Math.max(1, opts.queueSize ?? this.#concurrency);
    const inMemory =
      typeof body === 'string' ? Buffer.from(body, 'utf8') : body instanceof Uint8Array ? body : null;
    const cond = opts.ifNoneMatch !== undefined ? 'create' : opts.ifMatch !== undefined ? 'cas' : undefined;
    try {
      // an explicit partSize makes anything larger than one block a block upload; otherwise the store's cutoff
      const threshold = opts.partSize !== undefined ? blockSize : Math.max(this.#singleShot, blockSize);
      const cpk = 'customerProvidedKey' in this.#cpk;
      if (inMemory !== null && inMemory.byteLength <= threshold) {
        // a transactional MD5: Azure refuses a body damaged in transit (Md5Mismatch) instead of keeping it
        const out = await blob.upload(inMemory, inMemory.byteLength, {
          ...common,
          transactionalContentMD5: createHash('md5').update(inMemory).digest(),
        });
        opts.onProgress?.(inMemory.byteLength);
        return { etag: out.etag ?? '' };
      }
      const onProgress = (p: { loadedBytes: number }) => opts.onProgress?.(p.loadedBytes);
      // the SDK's uploadData stages its blocks without the customer key (Azure would refuse the commit): with a
      // key, an in-memory body goes up through the stream path, which sends the key with every block
      if (inMemory !== null && !cpk) {
        const out = await blob.uploadData(inMemory, {
          ...common,
          blockSize,
          concurrency,
          maxSingleShotSize: threshold,
          onProgress,
        });
        const parts = Math.ceil(inMemory.byteLength / blockSize);
        return { etag: out.etag ?? '', ...(parts > 1 ? { parts } : {}) };
      }
      let total = 0;
      const source =
        inMemory !== null
          ? Readable.from([inMemory])
          : body instanceof Readable
            ? body
            : Readable.from(body as AsyncIterable<Uint8Array>);
      const counted = Readable.from(
        (async function* () {
          for await (const c of source as AsyncIterable<Uint8Array | string>) {
            const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
            total += b.byteLength;
            yield b;
          }
        })(),
      );
      const out = await blob.uploadStream(counted, blockSize, concurrency, { ...common, onProgress });
      const parts = Math.max(1, Math.ceil(total / blockSize));
      return { etag: out.etag ?? '', ...(parts > 1 ? { parts } : {}) };
    } catch (e) {
      const mapped = this.#error(e, 'PUT', key, cond);
      // If-Match on a missing blob is 412 on Azure; the contract says not-found
      if (cond === 'cas' && mapped.errorCode === 'ObjectEtagMismatch' && (await this.head(key)) === null)
        throw this.#error(
          Object.assign(new Error('the blob does not exist'), { code: 'BlobNotFound', statusCode: 404 }),
          'PUT',
          key,
        );
      throw mapped;
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const answer = await this.getStream(key, opts);
    try {
      return await readWhole(answer, key, this.description);
    } catch (e) {
      throw this.#error(e, 'GET', key);
    }
  }

  async getStream(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    const blob = this.#blob(key);
    checkRange(opts.range, key, this.description);
    const offset = opts.range?.offset ?? 0;
    const count = opts.range?.length;
    try {
      // no SDK re-requests of a broken body: the synchronizer's retry layer sees and counts every failure
      const out = await blob.download(offset, count, {
        maxRetryRequests: 0,
        ...this.#cpk,
        ...(opts.signal === undefined ? {} : { abortSignal: opts.signal }),
      });
      const info: Info = answerInfo(key, out);
      const body = out.readableStreamBody as Readable | undefined;
      return {
        stream: body ?? Readable.from([]),
        info,
        ...(out.contentLength === undefined ? {} : { contentLength: out.contentLength }),
      };
    } catch (e) {
      throw this.#error(e, 'GET', key);
    }
  }

  async head(key: string, opts: { signal?: AbortSignal } = {}): Promise<Info | null> {
    const blob = this.#blob(key);
    try {
      const out = await blob.getProperties({
        ...this.#cpk,
        ...(opts.signal === undefined ? {} : { abortSignal: opts.signal }),
      });
      return answerInfo(key, out);
    } catch (e) {
      const mapped = this.#error(e, 'HEAD', key);
      if (mapped.errorCode === 'ObjectNotFound') return null;
      throw mapped;
    }
  }

  async listPage(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    try {
      const pages = this.#container
        .listBlobsFlat({
          prefix: this.prefix + prefix,
          ...(opts.signal === undefined ? {} : { abortSignal: opts.signal }),
        })
        .byPage({
          maxPageSize: Math.max(1, Math.min(5000, opts.pageSize ?? this.#pageSize)),
          ...(opts.continuationToken === undefined ? {} : { continuationToken: opts.continuationToken }),
        });
      const first = await pages.next();
      if (first.done === true) return { objects: [] };
      const page = first.value;
      const objects: ObjectInfo[] = page.segment.blobItems
        .filter((b) => b.name.startsWith(this.prefix))
        .map((b) => ({
          key: b.name.slice(this.prefix.length),
          size: b.properties.contentLength ?? 0,
          // listings give the ETag bare; put/head/get quote it
          ...(b.properties.etag === undefined ? {} : { etag: quoteEtag(b.properties.etag) }),
          ...(b.properties.lastModified === undefined ? {} : { lastModified: b.properties.lastModified }),
        }));
      const next = page.continuationToken;
      return next !== undefined && next !== '' ? { objects, nextToken: next } : { objects };
    } catch (e) {
      throw this.#error(e, 'LIST', prefix === '' ? '(all keys)' : `${prefix}*`);
    }
  }

  list(prefix: string, opts: Omit<ListOptions, 'continuationToken'> = {}): AsyncIterable<ObjectInfo> {
    return listAll(this, prefix, opts);
  }

  async delete(key: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const blob = this.#blob(key);
    try {
      await blob.delete(opts.signal === undefined ? {} : { abortSignal: opts.signal });
    } catch (e) {
      const mapped = this.#error(e, 'DELETE', key);
      if (mapped.errorCode !== 'ObjectNotFound') throw mapped;
    }
  }

  async deleteMany(keys: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<void> {
    for (const k of keys) validateKey(k);
    let next = 0;
    const worker = async () => {
      while (next < keys.length) await this.delete(keys[next++] as string, opts);
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  async close(): Promise<void> {
    // the SDK's HTTP client keeps no handle that outlives a request
  }

  #blob(key: string): BlockBlobClient {
    validateKey(key);
    return this.#container.getBlockBlobClient(this.prefix + key);
  }

  #error(e: unknown, op: string, key: string, cond?: 'create' | 'cas'): ServiceError {
    return azureError(e, `${op} ${key} on ${this.description}`, key, cond, this.#secrets);
  }
}

/** The service client for the options' endpoint and credentials (exported for config checks and tests). */
export function serviceClient(
  opts: AzureStoreOptions,
  pipeline: StoragePipelineOptions = {},
): BlobServiceClient {
  const bad = (field: string, message: string) =>
    new ServiceError('InvalidObjectStoreConfig', message, { field });
  const set = (v: string | undefined): v is string => v !== undefined && v !== '';
  if (set(opts.accountName) !== set(opts.accountKey))
    throw bad(
      set(opts.accountName) ? 'secret_key' : 'access_key',
      'set both `access_key` (the storage account name) and `secret_key` (its key), or neither',
    );
  const ways = [set(opts.connectionString), set(opts.accountKey), set(opts.sasToken)].filter(Boolean).length;
  if (ways > 1)
    throw bad(
      'connection_string',
      'give one kind of Azure credential: `connection_string`, `access_key`/`secret_key` (account name and key), or `sas_token`',
    );
  if (set(opts.connectionString)) {
    if (set(opts.endpoint))
      throw bad('endpoint', 'a `connection_string` names the endpoint itself: leave `endpoint` out');
    try {
      return blob().BlobServiceClient.fromConnectionString(opts.connectionString, pipeline);
    } catch {
      throw bad(
        'connection_string',
        '`connection_string` is not an Azure Storage connection string (e.g. "DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net")',
      );
    }
  }
  const account = set(opts.accountName) ? opts.accountName : opts.account;
  let endpoint = set(opts.endpoint) ? opts.endpoint : undefined;
  if (endpoint === undefined) {
    if (!set(account))
      throw bad(
        'endpoint',
        'Azure Blob needs the storage account: set `access_key` (account name) and `secret_key`, or `account`, or the blob service `endpoint` (e.g. "https://myaccount.blob.core.windows.net")',
      );
    if (!/^[a-z0-9]{3,24}$/.test(account))
      throw bad(
        'account',
        `${JSON.stringify(account)} is not a storage account name (3 to 24 lowercase letters and digits)`,
      );
    endpoint = `https://${account}.blob.core.windows.net`;
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) endpoint = `https://${endpoint}`;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw bad(
      'endpoint',
      `endpoint ${JSON.stringify(redactUrlCredentials(endpoint.split('?')[0] ?? ''))} is not a URL`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw bad('endpoint', 'the blob service `endpoint` must use https:// (or http:// for an emulator)');
  url.username = '';
  url.password = '';
  let serviceUrl = url.toString().replace(/\/(\?|$)/, '$1');
  if (set(opts.accountKey))
    return new (blob().BlobServiceClient)(
      serviceUrl,
      new (blob().StorageSharedKeyCredential)(account as string, opts.accountKey),
      pipeline,
    );
  if (set(opts.sasToken)) {
    serviceUrl = `${serviceUrl.split('?')[0]}?${opts.sasToken.replace(/^\?/, '')}`;
    return new (blob().BlobServiceClient)(serviceUrl, new (blob().AnonymousCredential)(), pipeline);
  }
  if (/[?&]sig=/.test(url.search))
    return new (blob().BlobServiceClient)(serviceUrl, new (blob().AnonymousCredential)(), pipeline);
  return new (blob().BlobServiceClient)(serviceUrl, new (identity().DefaultAzureCredential)(), pipeline);
}

function quoteEtag(etag: string): string {
  return etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`;
}

/** A blob written with a customer-provided key, requested without it or with another one. */
const KEY_MISMATCH: ErrorCode = 'ObjectStoreEncryptionKeyMismatch';
/** Azure's codes for a customer-provided key missing or not the blob's (`BlobUsesCustomerSpecifiedEncryption`). */
const CPK_CODE_RE = /CustomerSpecifiedEncryption|EncryptionKey/i;

const AUTH_CODES = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationProtocolMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'AuthorizationSourceIPMismatch',
  'InsufficientAccountPermissions',
  'InvalidAuthenticationInfo',
  'AccountIsDisabled',
  'NoAuthenticationInformation',
  'KeyBasedAuthenticationNotPermitted',
  'CredentialUnavailableError',
  'AuthenticationRequiredError',
  'AggregateAuthenticationError',
]);
const CREDENTIAL_CODES = new Set([
  'CredentialUnavailableError',
  'AuthenticationRequiredError',
  'AggregateAuthenticationError',
]);
const TRANSIENT_CODES = new Set([
  // the body the service received does not match its Content-MD5: damaged in transit
  'Md5Mismatch',
  'ServerBusy',
  'InternalError',
  'OperationTimedOut',
  'REQUEST_SEND_ERROR',
  'TimeoutError',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Hides SAS signatures and any configured secret in a store message. */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text.replace(/(sig=)[^&\s'"]+/gi, '$1<redacted>');
  for (const s of secrets) out = out.split(s).join('<redacted>');
  return redactUrlCredentials(out);
}

/** Maps an Azure SDK, credential or network error to an object-store ServiceError; `what` says which request failed. */
export function azureError(
  e: unknown,
  what: string,
  key: string,
  cond?: 'create' | 'cas',
  secrets: readonly string[] = [],
): ServiceError {
  if (isServiceError(e)) return e;
  const err = (e ?? {}) as {
    name?: string;
    code?: string;
    statusCode?: number;
    message?: string;
    errors?: { code?: string }[];
    response?: { headers?: { get?: (n: string) => string | undefined } };
  };
  const status = err.statusCode;
  let storeCode = err.code;
  // a HEAD answer has no body: its code, when the service sends one, is only in the x-ms-error-code header. Only
  // a key mismatch is taken from there (a HEAD of a missing container stays "not found", as documented above)
  const headerCode = err.response?.headers?.get?.('x-ms-error-code');
  if (
    (storeCode === undefined || storeCode === '') &&
    headerCode !== undefined &&
    CPK_CODE_RE.test(headerCode)
  )
    storeCode = headerCode;
  if ((storeCode === undefined || storeCode === '') && err.errors?.[0]?.code !== undefined)
    storeCode = err.errors[0].code;
  if (
    (storeCode === undefined || storeCode === '') &&
    err.name !== undefined &&
    err.name !== 'Error' &&
    err.name !== 'RestError'
  )
    storeCode = err.name;
  if (storeCode === undefined || storeCode === '')
    storeCode =
      status === 403
        ? 'Forbidden'
        : status === 404
          ? 'NotFound'
          : status === 412
            ? 'ConditionNotMet'
            : status !== undefined
              ? `HTTP${status}`
              : 'Error';
  // the service's message ends with RequestId/Time lines; keep the first sentence
  const firstLine = (err.message ?? String(e)).split('\n')[0] ?? '';
  const rawMessage = scrub(firstLine.replace(/\s+/g, ' ').trim().replace(/\.+$/, ''), secrets);
  const storeMessage = rawMessage === '' || rawMessage === storeCode ? '' : `: ${rawMessage}`;
  const said = `${storeCode}${status === undefined ? '' : ` (HTTP ${status})`}${storeMessage}`;
  const details = { key, store_code: storeCode, ...(status === undefined ? {} : { http_status: status }) };
  // a failed request's error holds the request, whose headers carry a customer key: keep it out of the cause
  const sentKey =
    (e as { request?: { headers?: { get?: (n: string) => unknown } } } | null)?.request?.headers?.get?.(
      'x-ms-encryption-key',
    ) !== undefined;
  const make = (code: ErrorCode, hint: string) =>
    new ServiceError(
      code,
      `${what} failed: ${said}${hint === '' ? '' : `. ${hint}`}`,
      details,
      sentKey ? {} : { cause: e },
    );

  if (err.name === 'AbortError') return make('ObjectStoreError', 'The request was aborted');
  if (cond === 'create' && (storeCode === 'BlobAlreadyExists' || status === 409 || status === 412))
    return make('ObjectAlreadyExists', 'The object already exists (If-None-Match: *)');
  if (status === 412 || storeCode === 'ConditionNotMet')
    return make(
      'ObjectEtagMismatch',
      'The object changed since it was read (If-Match); read it again and retry',
    );
  if (CPK_CODE_RE.test(storeCode) || (status === 409 && /encryption key/i.test(rawMessage)))
    return make(
      KEY_MISMATCH,
      'The blob is encrypted with a customer-provided key and the request carried none or another one: set `customer_key_secret` to the key the blobs were written with',
    );
  if (storeCode === 'ContainerNotFound')
    return make('ObjectStoreBucketNotFound', 'Create the container or fix `bucket`/`endpoint`');
  if (storeCode === 'BlobNotFound' || status === 404) return make('ObjectNotFound', '');
  if (AUTH_CODES.has(storeCode) || status === 401 || status === 403)
    return make(
      'ObjectStoreAuthFailed',
      CREDENTIAL_CODES.has(storeCode)
        ? 'No Azure credential was found: set access_key/secret_key (account name and key), sas_token or connection_string, or provide credentials through the environment (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, workload identity, managed identity)'
        : "Check the account key, SAS token or connection string (or the identity's role on the container, e.g. Storage Blob Data Contributor)",
    );
  if (
    TRANSIENT_CODES.has(storeCode) ||
    status === 408 ||
    status === 429 ||
    (status !== undefined && status >= 500)
  )
    return make('ObjectStoreUnavailable', 'Check the endpoint and the network; retry later');
  return make('ObjectStoreError', '');
}
