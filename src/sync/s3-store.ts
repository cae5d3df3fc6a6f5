/**
 * The S3 object store: AWS S3 and S3-compatible services (MinIO, Ceph, Cloudflare R2, GCS, Wasabi, ...) through
 * @aws-sdk/client-s3, with @aws-sdk/lib-storage for multipart uploads (part size, parts in flight).
 *
 * # Configuration (mirrors the wire `SyncConfig` fields: provider, endpoint, region, bucket, access_key,
 * secret_key)
 * - `provider`: one of {@link S3_PROVIDERS} (case-insensitive; default `AWS`, or `Other` when an `endpoint` is
 *   given). Non-AWS providers need an `endpoint` (GCS and Wasabi have a default one), use path-style addressing
 *   and send checksums only where an operation requires one (`requestChecksumCalculation` /
 *   `responseChecksumValidation` = `WHEN_REQUIRED`: third-party stores reject or mangle the SDK's default
 *   CRC32 trailers). Their multi-object deletes carry a Content-MD5 (older MinIO and Ceph require it); GCS,
 *   which has no multi-object delete, gets one DELETE per key.
 * - GCS (its S3-compatible XML API, HMAC keys, region `auto`): writes are conditioned on generations, not ETags.
 *   The ETags `put`/`head`/`get` report are generation tokens `"gen:N"` (from `x-goog-generation`); a
 *   conditional `put` is one PUT with `x-goog-if-generation-match` (0 for `ifNoneMatch: '*'`, N for
 *   `ifMatch: '"gen:N"'`); an `ifMatch` that is not such a token is stale (or not-found) without a write.
 *   Listings keep GCS's MD5 ETags.
 * - `region`: default `us-east-1` (`auto` for Cloudflare and GCS).
 * - `bucket`: `name` or `name/some/prefix`; keys are relative to the prefix.
 * - Credentials: `accessKey` + `secretKey` (+ optional `sessionToken`), or neither, and then the SDK's default
 *   chain: environment variables, web identity token (IRSA), shared config/credentials profiles, SSO, container
 *   and instance metadata.
 *
 * # State
 * One S3Client (its sockets); nothing else. Secrets live only inside the client and never reach messages.
 *
 * # Errors
 * SDK and network errors become the object-store ServiceErrors of object-store.ts; the store's own code (the
 * S3 error code, the HTTP status for body-less HEAD errors, or the Node network error code) is kept in the
 * message and in `details.store_code`. HEAD responses have no body, so `head` on a missing bucket returns
 * `null` like a missing key, and a refused HEAD reports `Forbidden`: use `listPage`/`get` to tell them apart.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type {
  DeleteObjectsCommandOutput,
  PutObjectCommand,
  S3Client,
  S3ClientConfig,
} from '@aws-sdk/client-s3';
import { isServiceError, ServiceError } from '../errors/service-error.ts';
import type { ErrorCode } from '../types/error-codes.ts';
import { redactUrlCredentials } from '../types/redact-url.ts';
import {
  answerInfo,
  bodyBytes,
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
  splitBucket,
  validateKey,
  validatePrefix,
} from './object-store.ts';

/** rclone's S3 provider names (what `SyncConfig.provider` accepts). */
export const S3_PROVIDERS = [
  'AWS',
  'Alibaba',
  'ArvanCloud',
  'Ceph',
  'ChinaMobile',
  'Cloudflare',
  'DigitalOcean',
  'Dreamhost',
  'GCS',
  'HuaweiOBS',
  'IBMCOS',
  'IDrive',
  'IONOS',
  'LyveCloud',
  'Leviia',
  'Liara',
  'Linode',
  'Magalu',
  'Minio',
  'Netease',
  'Petabox',
  'RackCorp',
  'Rclone',
  'Scaleway',
  'SeaweedFS',
  'StackPath',
  'Storj',
  'Synology',
  'TencentCOS',
  'Wasabi',
  'Qiniu',
  'Other',
] as const;
export type S3Provider = (typeof S3_PROVIDERS)[number];

/** Default endpoints of providers that have a single global one. */
const DEFAULT_ENDPOINTS: Partial<Record<S3Provider, string>> = {
  GCS: 'https://storage.googleapis.com',
  Wasabi: 'https://s3.wasabisys.com',
};

export interface S3StoreOptions {
  /** `name` or `name/prefix`. */
  readonly bucket: string;
  readonly provider?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly accessKey?: string;
  readonly secretKey?: string;
  readonly sessionToken?: string;
  /** Send requests unsigned (a public bucket; `no_sign_request` of Feldera's S3 input). */
  readonly anonymous?: boolean;
  /** Overrides the provider's addressing style. */
  readonly forcePathStyle?: boolean;
  /** Objects whose in-memory body is larger than this are uploaded in parts (default 16 MiB). */
  readonly multipartThreshold?: number;
  /** Multipart part size (default 8 MiB; at least 5 MiB). */
  readonly partSize?: number;
  /** Multipart parts in flight per object (default 4; `upload_concurrency`). */
  readonly queueSize?: number;
  /** Default page size of listings (at most 1000). */
  readonly pageSize?: number;
  /** SDK attempts per request, retries included (default 3). */
  readonly maxAttempts?: number;
  /** Socket connect timeout in ms (default 10 s). */
  readonly connectionTimeoutMs?: number;
  /** Per-request inactivity timeout in ms (default 120 s). */
  readonly requestTimeoutMs?: number;
  /** Sockets per host (default 50): at least the transfers times the parts or streams each one runs. */
  readonly maxSockets?: number;
  /** Sent with every PUT and multipart upload (from rclone-style `flags`: SSE, KMS key, storage class, ACL). */
  readonly writeParams?: S3WriteParams;
}

/** Object attributes set on upload. */
export interface S3WriteParams {
  readonly ServerSideEncryption?: string;
  readonly SSEKMSKeyId?: string;
  readonly StorageClass?: string;
  readonly ACL?: string;
}

const MiB = 1024 * 1024;
const MIN_PART_SIZE = 5 * MiB;
const DELETE_BATCH = 1000;
const DELETE_CONCURRENCY = 16;

/**
 * The AWS SDK is loaded on the first S3 store, not at import: it costs ~0.3 s of CPU, and every pipeline
 * process, CLI and manager imports this module whether or not it ever talks to S3.
 */
const requireHere = createRequire(import.meta.url);
type S3Sdk = typeof import('@aws-sdk/client-s3');
type S3Storage = typeof import('@aws-sdk/lib-storage');
let s3Sdk: S3Sdk | undefined;
let s3Storage: S3Storage | undefined;
const sdk = (): S3Sdk => (s3Sdk ??= requireHere('@aws-sdk/client-s3') as S3Sdk);
const storage = (): S3Storage => (s3Storage ??= requireHere('@aws-sdk/lib-storage') as S3Storage);

type Info = ObjectInfo & { readonly etag: string };

export class S3Store implements ObjectStore {
  readonly description: string;
  readonly provider: S3Provider;
  readonly bucket: string;
  readonly prefix: string;
  readonly #client: S3Client;
  readonly #multipartThreshold: number;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #pageSize: number;
  readonly #writeParams: S3WriteParams;

  constructor(opts: S3StoreOptions) {
    const cfg = resolveS3Config(opts);
    this.provider = cfg.provider;
    this.bucket = cfg.bucket;
    this.prefix = cfg.prefix;
    // an endpoint may carry userinfo (`http://user:pass@host`): shown without the secret
    this.description = `s3://${cfg.bucket}/${cfg.prefix}${cfg.endpoint === undefined ? '' : ` at ${redactUrlCredentials(cfg.endpoint)}`}`;
    this.#client = new (sdk().S3Client)(cfg.client);
    if (cfg.provider !== 'AWS') {
      addContentMd5ToDeletes(this.#client);
      addContentMd5ToUploads(this.#client);
    }
    if (cfg.provider === 'GCS') gcsGenerations(this.#client);
    this.#partSize = opts.partSize ?? 8 * MiB;
    this.#multipartThreshold = opts.multipartThreshold ?? 16 * MiB;
    this.#queueSize = opts.queueSize ?? 4;
    this.#pageSize = Math.min(1000, opts.pageSize ?? 1000);
    this.#writeParams = { ...(opts.writeParams ?? {}) };
    if (this.#partSize < MIN_PART_SIZE)
      throw new ServiceError(
        'InvalidObjectStoreConfig',
        `partSize must be at least 5 MiB (S3's minimum part size)`,
        {
          field: 'partSize',
        },
      );
  }

  async put(key: string, body: ObjectBody, opts: PutOptions = {}): Promise<PutResult> {
    const Key = this.#key(key);
    if (this.provider === 'GCS' && (opts.ifNoneMatch !== undefined || opts.ifMatch !== undefined))
      return this.#gcsConditionalPut(key, body, opts);
    const params = {
      Bucket: this.bucket,
      Key,
      ...(this.#writeParams as Record<string, string>),
      ...(opts.sha256 === undefined ? {} : { Metadata: { sha256: opts.sha256.toLowerCase() } }),
      ...(opts.contentType === undefined ? {} : { ContentType: opts.contentType }),
      ...(opts.ifNoneMatch === undefined ? {} : { IfNoneMatch: opts.ifNoneMatch }),
      ...(opts.ifMatch === undefined ? {} : { IfMatch: opts.ifMatch }),
    };
    const gcsCondition = (opts as { [GCS_CONDITION]?: string })[GCS_CONDITION];
    const partSize = Math.max(MIN_PART_SIZE, opts.partSize ?? this.#partSize);
    const inMemory =
      typeof body === 'string' ? Buffer.from(body, 'utf8') : body instanceof Uint8Array ? body : null;
    try {
      // an explicit partSize makes anything larger than one part multipart; otherwise the store's threshold
      const threshold = opts.partSize !== undefined ? partSize : Math.max(this.#multipartThreshold, partSize);
      if (inMemory !== null && (inMemory.byteLength <= threshold || gcsCondition !== undefined)) {
        const cmd = new (sdk().PutObjectCommand)({
          ...params,
          Body: inMemory,
          ContentLength: inMemory.byteLength,
        });
        if (opts.sha256 !== undefined && SHA256_HEX.test(opts.sha256)) knownPayloadHash(cmd, opts.sha256);
        if (gcsCondition !== undefined) withHeader(cmd, 'x-goog-if-generation-match', gcsCondition);
        const out = await this.#client.send(cmd, { abortSignal: opts.signal });
        opts.onProgress?.(inMemory.byteLength);
        return { etag: out.ETag ?? '' };
      }
      const upload = new (storage().Upload)({
        client: this.#client,
        params: {
          ...params,
          Body:
            inMemory ?? (body instanceof Readable ? body : Readable.from(body as AsyncIterable<Uint8Array>)),
        },
        partSize,
        queueSize: Math.max(1, opts.queueSize ?? this.#queueSize),
        leavePartsOnError: false,
      });
      let parts = 0;
      upload.on('httpUploadProgress', (p) => {
        if (p.part !== undefined) parts = Math.max(parts, p.part);
        if (p.loaded !== undefined) opts.onProgress?.(p.loaded);
      });
      const onAbort = () => void upload.abort().catch(() => {});
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const out = await upload.done();
        return { etag: out.ETag ?? '', ...(parts > 1 ? { parts } : {}) };
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
    } catch (e) {
      throw this.#error(
        e,
        'PUT',
        key,
        opts.ifNoneMatch !== undefined || gcsCondition === '0'
          ? 'create'
          : opts.ifMatch !== undefined || gcsCondition !== undefined
            ? 'cas'
            : undefined,
      );
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
    const Key = this.#key(key);
    checkRange(opts.range, key, this.description);
    const r = opts.range;
    const Range =
      r === undefined
        ? undefined
        : `bytes=${r.offset}-${r.length === undefined ? '' : r.offset + r.length - 1}`;
    try {
      const out = await this.#client.send(new (sdk().GetObjectCommand)({ Bucket: this.bucket, Key, Range }), {
        abortSignal: opts.signal,
      });
      const info: Info = answerInfo(key, s3Answer(out));
      const stream = (out.Body as Readable | undefined) ?? Readable.from([]);
      return {
        stream,
        info,
        ...(out.ContentLength === undefined ? {} : { contentLength: out.ContentLength }),
      };
    } catch (e) {
      throw this.#error(e, 'GET', key);
    }
  }

  async head(key: string, opts: { signal?: AbortSignal } = {}): Promise<Info | null> {
    const Key = this.#key(key);
    try {
      const out = await this.#client.send(new (sdk().HeadObjectCommand)({ Bucket: this.bucket, Key }), {
        abortSignal: opts.signal,
      });
      return answerInfo(key, s3Answer(out));
    } catch (e) {
      const mapped = this.#error(e, 'HEAD', key);
      if (mapped.errorCode === 'ObjectNotFound') return null;
      throw mapped;
    }
  }

  async listPage(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    try {
      const out = await this.#client.send(
        new (sdk().ListObjectsV2Command)({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          MaxKeys: Math.max(1, Math.min(1000, opts.pageSize ?? this.#pageSize)),
          ...(opts.continuationToken === undefined ? {} : { ContinuationToken: opts.continuationToken }),
        }),
        { abortSignal: opts.signal },
      );
      const objects: ObjectInfo[] = (out.Contents ?? [])
        .filter((o) => o.Key?.startsWith(this.prefix))
        .map((o) => ({
          key: (o.Key as string).slice(this.prefix.length),
          size: o.Size ?? 0,
          ...(o.ETag === undefined ? {} : { etag: o.ETag }),
          ...(o.LastModified === undefined ? {} : { lastModified: o.LastModified }),
        }));
      return out.IsTruncated === true && out.NextContinuationToken !== undefined
        ? { objects, nextToken: out.NextContinuationToken }
        : { objects };
    } catch (e) {
      throw this.#error(e, 'LIST', prefix === '' ? '(all keys)' : `${prefix}*`);
    }
  }

  list(prefix: string, opts: Omit<ListOptions, 'continuationToken'> = {}): AsyncIterable<ObjectInfo> {
    return listAll(this, prefix, opts);
  }

  async delete(key: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const Key = this.#key(key);
    try {
      await this.#client.send(new (sdk().DeleteObjectCommand)({ Bucket: this.bucket, Key }), {
        abortSignal: opts.signal,
      });
    } catch (e) {
      const mapped = this.#error(e, 'DELETE', key);
      if (mapped.errorCode !== 'ObjectNotFound') throw mapped;
    }
  }

  async deleteMany(keys: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<void> {
    const full = keys.map((k) => this.#key(k));
    if (this.provider === 'GCS') {
      // GCS's XML API has no multi-object delete
      let next = 0;
      const worker = async () => {
        while (next < keys.length) await this.delete(keys[next++] as string, opts);
      };
      await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
      return;
    }
    for (let i = 0; i < full.length; i += DELETE_BATCH) {
      const batch = full.slice(i, i + DELETE_BATCH);
      let out: DeleteObjectsCommandOutput;
      try {
        out = await this.#client.send(
          new (sdk().DeleteObjectsCommand)({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
          { abortSignal: opts.signal },
        );
      } catch (e) {
        throw this.#error(e, 'DELETE', `${batch.length} objects`);
      }
      const errors = (out.Errors ?? []).filter((x) => x.Code !== 'NoSuchKey');
      const first = errors[0];
      if (first !== undefined) {
        const key = (first.Key ?? '').slice(this.prefix.length);
        throw this.#error(
          Object.assign(new Error(first.Message ?? first.Code ?? 'delete failed'), {
            name: first.Code ?? 'Unknown',
            $metadata: {},
          }),
          'DELETE',
          `${key}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`,
        );
      }
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #key(key: string): string {
    validateKey(key);
    return this.prefix + key;
  }

  /**
   * GCS applies `If-None-Match`/`If-Match` to reads only; a write is conditioned on the object's generation
   * (`x-goog-if-generation-match`: 0 = only if absent). The ETags this store reports for GCS are generation
   * tokens (`"gen:N"`, see {@link gcsGenerations}); the middleware turns the conditions into that header. One
   * PUT (never multipart), so that the condition and the write are one request.
   */
  async #gcsConditionalPut(key: string, body: ObjectBody, opts: PutOptions): Promise<PutResult> {
    const bytes = await bodyBytes(body);
    const cond = opts.ifNoneMatch !== undefined ? 'create' : 'cas';
    const staleOrMissing = async (): Promise<ServiceError> => {
      const gone = (await this.head(key, opts.signal === undefined ? {} : { signal: opts.signal })) === null;
      return this.#error(
        Object.assign(new Error(gone ? 'The specified key does not exist' : 'generation mismatch'), {
          name: gone ? 'NoSuchKey' : 'PreconditionFailed',
          $metadata: { httpStatusCode: gone ? 404 : 412 },
        }),
        'PUT',
        key,
        gone ? undefined : cond,
      );
    };
    // an ETag this store did not hand out (not a generation token) cannot be the object's current one
    if (cond === 'cas' && GCS_GENERATION.exec(opts.ifMatch ?? '') === null) throw await staleOrMissing();
    try {
      return await this.put(key, bytes, {
        ...opts,
        ifNoneMatch: undefined,
        ifMatch: undefined,
        [GCS_CONDITION]: cond === 'create' ? '0' : (GCS_GENERATION.exec(opts.ifMatch ?? '')?.[1] as string),
      } as PutOptions);
    } catch (e) {
      // a generation condition on a missing object is 412 too: the contract says not-found
      if (cond === 'cas' && isServiceError(e) && e.errorCode === 'ObjectEtagMismatch')
        throw await staleOrMissing();
      throw e;
    }
  }

  #error(e: unknown, op: string, key: string, cond?: 'create' | 'cas'): ServiceError {
    return s3Error(e, `${op} ${key} on ${this.description}`, key, cond);
  }
}

interface ResolvedS3Config {
  readonly provider: S3Provider;
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string | undefined;
  readonly client: S3ClientConfig;
}

/** Validates the options and derives the S3 client configuration (exported for tests and config checks). */
export function resolveS3Config(opts: S3StoreOptions): ResolvedS3Config {
  const bad = (field: string, message: string) =>
    new ServiceError('InvalidObjectStoreConfig', message, { field });
  if (typeof opts.bucket !== 'string')
    throw bad('bucket', '`bucket` is required (e.g. "my-bucket/some/prefix")');
  const { bucket, prefix } = splitBucket(opts.bucket);
  let provider: S3Provider;
  if (opts.provider === undefined || opts.provider === '') provider = opts.endpoint ? 'Other' : 'AWS';
  else {
    const found = S3_PROVIDERS.find((p) => p.toLowerCase() === String(opts.provider).toLowerCase());
    if (found === undefined)
      throw bad(
        'provider',
        `unknown provider ${JSON.stringify(opts.provider)}; use one of ${S3_PROVIDERS.join(', ')}`,
      );
    provider = found;
  }
  let endpoint = opts.endpoint === '' ? undefined : (opts.endpoint ?? DEFAULT_ENDPOINTS[provider]);
  if (endpoint !== undefined) {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) endpoint = `https://${endpoint}`;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw bad(
        'endpoint',
        `endpoint ${JSON.stringify(redactUrlCredentials(opts.endpoint as string))} is not a URL (e.g. "http://minio:9000")`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw bad(
        'endpoint',
        `endpoint ${JSON.stringify(redactUrlCredentials(opts.endpoint as string))} must use http:// or https://`,
      );
    endpoint = url.toString().replace(/\/$/, '');
  } else if (provider !== 'AWS')
    throw bad('endpoint', `provider ${provider} needs an \`endpoint\` (e.g. "https://s3.example.com")`);
  const hasAccess = opts.accessKey !== undefined && opts.accessKey !== '';
  const hasSecret = opts.secretKey !== undefined && opts.secretKey !== '';
  if (hasAccess !== hasSecret)
    throw bad(
      hasAccess ? 'secret_key' : 'access_key',
      'set both `access_key` and `secret_key`, or neither to use the default AWS credential chain (environment, web identity, profiles)',
    );
  const thirdParty = provider !== 'AWS';
  const client: S3ClientConfig = {
    region: opts.region || (provider === 'Cloudflare' || provider === 'GCS' ? 'auto' : 'us-east-1'),
    ...(endpoint === undefined ? {} : { endpoint }),
    forcePathStyle: opts.forcePathStyle ?? thirdParty,
    maxAttempts: opts.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: opts.connectionTimeoutMs ?? 10_000,
      requestTimeout: opts.requestTimeoutMs ?? 120_000,
      httpAgent: { keepAlive: true, maxSockets: opts.maxSockets ?? 50 },
      httpsAgent: { keepAlive: true, maxSockets: opts.maxSockets ?? 50 },
    },
    ...(thirdParty
      ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
    ...(opts.anonymous === true
      ? {
          credentials: { accessKeyId: '', secretAccessKey: '' },
          signer: { sign: async (request) => request },
        }
      : {}),
    ...(hasAccess && opts.anonymous !== true
      ? {
          credentials: {
            accessKeyId: opts.accessKey as string,
            secretAccessKey: opts.secretKey as string,
            ...(opts.sessionToken ? { sessionToken: opts.sessionToken } : {}),
          },
        }
      : {}),
  };
  return { provider, bucket, prefix, endpoint, client };
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** A GET or HEAD output's fields under the names {@link answerInfo} reads. */
function s3Answer(out: {
  ContentLength?: number | undefined;
  ContentRange?: string | undefined;
  ETag?: string | undefined;
  Metadata?: Record<string, string> | undefined;
  LastModified?: Date | undefined;
}) {
  return {
    contentLength: out.ContentLength,
    contentRange: out.ContentRange,
    etag: out.ETag,
    metadata: out.Metadata,
    lastModified: out.LastModified,
  };
}

/** How {@link S3Store} reports a GCS object's generation as its ETag. */
const GCS_GENERATION = /^"gen:(\d+)"$/;
/** Internal put option: the `x-goog-if-generation-match` value of a GCS conditional write. */
const GCS_CONDITION = Symbol('gcsGenerationMatch');

/** Sets one request header on a command. */
function withHeader(cmd: PutObjectCommand, name: string, value: string): void {
  cmd.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers?: Record<string, string> };
      if (req.headers !== undefined) req.headers[name] = value;
      return next(args);
    },
    { step: 'build', name: `holdfastHeader-${name}` },
  );
}

/**
 * GCS: reports an object's generation (`x-goog-generation`, on PUT, GET and HEAD answers) as its ETag,
 * `"gen:N"`, so that the ETag a caller passes back to `ifMatch` can become `x-goog-if-generation-match: N`.
 * (GCS's XML API ignores `If-Match`/`If-None-Match` on writes.)
 */
function gcsGenerations(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (
        context.commandName === 'PutObjectCommand' ||
        context.commandName === 'CompleteMultipartUploadCommand' ||
        context.commandName === 'GetObjectCommand' ||
        context.commandName === 'HeadObjectCommand'
      ) {
        const headers = (result.response as { headers?: Record<string, string> } | undefined)?.headers ?? {};
        const gen = headers['x-goog-generation'];
        if (gen !== undefined && /^\d+$/.test(gen))
          (result.output as { ETag?: string }).ETag = `"gen:${gen}"`;
      }
      return result;
    },
    { step: 'initialize', name: 'holdfastGcsGeneration' },
  );
}

/**
 * Signs a single PUT with the body's SHA-256 the caller already knows (`PutOptions.sha256`, the body's hash by
 * contract) as `x-amz-content-sha256`, instead of letting the signer hash the whole body again: a full pass over
 * every uploaded byte saved, and S3 rejects the PUT (XAmzContentSHA256Mismatch) if the bytes do not match, as the
 * local store does.
 */
function knownPayloadHash(cmd: PutObjectCommand, sha256: string): void {
  cmd.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers?: Record<string, string> };
      if (req.headers !== undefined && req.headers['x-amz-content-sha256'] === undefined)
        req.headers['x-amz-content-sha256'] = sha256.toLowerCase();
      return next(args);
    },
    { step: 'build', name: 'holdfastKnownPayloadHash' },
  );
}

/**
 * Adds a Content-MD5 header to every single PUT and multipart part of a third-party store, whose requests carry
 * no SDK checksum (`WHEN_REQUIRED`, see the header). The store checks the body against it and refuses a body
 * damaged in transit (400 BadDigest, retried as transient), instead of keeping it: without it, a flipped byte
 * of a PUT lands in the bucket and a later restore finds the object corrupt. (AWS S3 gets the SDK's CRC32
 * checksum for the same purpose.)
 */
function addContentMd5ToUploads(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const req = args.request as { headers?: Record<string, string>; body?: unknown };
      if (
        (context.commandName === 'PutObjectCommand' || context.commandName === 'UploadPartCommand') &&
        req.headers !== undefined &&
        req.headers['content-md5'] === undefined
      ) {
        const body = req.body;
        if (typeof body === 'string' || body instanceof Uint8Array)
          req.headers['content-md5'] = createHash('md5').update(body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'holdfastUploadContentMd5' },
  );
}

/** Adds a Content-MD5 header to multi-object deletes (required by older MinIO and Ceph). */
function addContentMd5ToDeletes(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const req = args.request as { headers?: Record<string, string>; body?: unknown };
      if (context.commandName === 'DeleteObjectsCommand' && req.headers !== undefined) {
        const body = req.body;
        if (typeof body === 'string' || body instanceof Uint8Array)
          req.headers['content-md5'] = createHash('md5').update(body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'holdfastDeleteContentMd5' },
  );
}

const AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'Forbidden',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidSecurity',
  'AuthorizationHeaderMalformed',
  'CredentialsProviderError',
  'Unauthorized',
]);
const TRANSIENT_CODES = new Set([
  // the body the store received does not match its Content-MD5 / x-amz-content-sha256: damaged in transit
  'BadDigest',
  'XAmzContentSHA256Mismatch',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'TimeoutError',
  'ConditionalRequestConflict',
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
  'NetworkingError',
  'RequestTimeoutException',
]);

/** Maps an SDK or network error to an object-store ServiceError; `what` says which request failed. */
export function s3Error(e: unknown, what: string, key: string, cond?: 'create' | 'cas'): ServiceError {
  if (isServiceError(e)) return e;
  const err = (e ?? {}) as {
    name?: string;
    code?: string;
    Code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    errors?: { code?: string }[];
  };
  const status = err.$metadata?.httpStatusCode;
  let storeCode =
    err.Code ?? (err.name !== undefined && err.name !== 'Error' ? err.name : undefined) ?? err.code;
  if (
    err.code !== undefined &&
    (storeCode === 'Error' || storeCode === 'AggregateError' || storeCode === undefined)
  )
    storeCode = err.code;
  if ((storeCode === undefined || storeCode === 'AggregateError') && err.errors?.[0]?.code !== undefined)
    storeCode = err.errors[0].code;
  if (
    (storeCode === undefined || storeCode === 'UnknownError' || storeCode === 'Unknown') &&
    status !== undefined
  )
    storeCode =
      status === 403
        ? 'Forbidden'
        : status === 404
          ? 'NotFound'
          : status === 412
            ? 'PreconditionFailed'
            : `HTTP${status}`;
  storeCode ??= 'Error';
  const rawMessage = (err.message ?? String(e)).replace(/\s+/g, ' ').trim().replace(/\.+$/, '');
  const storeMessage =
    rawMessage === '' || rawMessage === storeCode || rawMessage === 'UnknownError' ? '' : `: ${rawMessage}`;
  const said = `${storeCode}${status === undefined ? '' : ` (HTTP ${status})`}${storeMessage}`;
  const details = { key, store_code: storeCode, ...(status === undefined ? {} : { http_status: status }) };
  const make = (code: ErrorCode, hint: string) =>
    new ServiceError(code, `${what} failed: ${said}${hint === '' ? '' : `. ${hint}`}`, details, { cause: e });

  if (err.name === 'AbortError') return make('ObjectStoreError', 'The request was aborted');
  // a success status whose answer could not be read (an XML body damaged in transit): ask again
  if (status !== undefined && status >= 200 && status < 300)
    return make('ObjectStoreUnavailable', 'The answer could not be read (damaged in transit?); retry later');
  if (storeCode === 'PreconditionFailed' || status === 412) {
    if (cond === 'create') return make('ObjectAlreadyExists', 'The object already exists (If-None-Match: *)');
    return make(
      'ObjectEtagMismatch',
      'The object changed since it was read (If-Match); read it again and retry',
    );
  }
  if (storeCode === 'NoSuchBucket')
    return make('ObjectStoreBucketNotFound', 'Create the bucket or fix `bucket`/`endpoint`');
  if (
    storeCode === 'NoSuchKey' ||
    storeCode === 'NotFound' ||
    (status === 404 && storeCode.startsWith('HTTP'))
  )
    return make('ObjectNotFound', '');
  if (AUTH_CODES.has(storeCode) || status === 401 || status === 403)
    return make(
      'ObjectStoreAuthFailed',
      storeCode === 'CredentialsProviderError'
        ? 'Set access_key and secret_key, or provide AWS credentials through the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_PROFILE)'
        : 'Check access_key/secret_key (or the AWS credentials in the environment) and the bucket policy',
    );
  if (TRANSIENT_CODES.has(storeCode) || (status !== undefined && status >= 500))
    return make('ObjectStoreUnavailable', 'Check the endpoint and the network; retry later');
  return make('ObjectStoreError', '');
}
