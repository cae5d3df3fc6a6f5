/**
 * The object-store interface of the sync layer: the few operations checkpoint push, pull, retention and
 * ownership need from S3-compatible storage or a local directory, with one error vocabulary.
 *
 * Implementations: `s3-store.ts` (S3 and compatibles, GCS through its XML API included, on @aws-sdk/client-s3 +
 * lib-storage), `azure-store.ts` (Azure Blob Storage, on @azure/storage-blob) and `dir-store.ts` (a local
 * directory: the embedded default, demos, NFS). One conformance suite
 * (tests/unit/sync/object-store-conformance.test.ts) runs against every implementation.
 *
 * # Contract
 * - Keys are relative (`files/<hash>`, `checkpoints/<uuid>.json`): no leading `/`, no empty, `.` or `..`
 *   segments ({@link validateKey}). A store opened on `bucket/prefix` sees only keys under its prefix, and
 *   reports them without it.
 * - ETags are opaque strings: pass back exactly what `put`/`head`/`get` returned (S3 and Azure quote them; the S3
 *   store reports GCS generations as `"gen:N"`). Listing ETags are informational: never use them for `ifMatch`.
 * - `sha256` (hex) travels with an object as metadata; the local store checks it on write and always knows it.
 * - Missing objects: `head` returns `null`; `get`/`getStream` throw `ObjectNotFound`; `delete`/`deleteMany`
 *   of a missing key succeed (S3 semantics).
 * - Conditional writes: `ifNoneMatch: '*'` creates only if absent, else `ObjectAlreadyExists`; `ifMatch: etag`
 *   replaces only that version, else `ObjectEtagMismatch` (or `ObjectNotFound` when the key is gone). Of
 *   several racing conditional writes exactly one succeeds.
 * - Every failure is a {@link ServiceError} with one of the object-store codes (see {@link OBJECT_STORE_CODES});
 *   the store's own error code (`SignatureDoesNotMatch`, `NoSuchBucket`, `ECONNREFUSED`...) is in the message
 *   and in `details.store_code`, so callers can tell "not found" from "auth or network failure". Messages and
 *   details never carry secrets.
 */
import type { Readable } from 'node:stream';
import { ServiceError } from '../errors/service-error.ts';
import type { ErrorCode } from '../types/error-codes.ts';

/** What a store knows about one object. */
export interface ObjectInfo {
  /** Key relative to the store's prefix. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** Opaque version tag for `ifMatch`. Listings of the local store leave it out (it costs a full read). */
  readonly etag?: string;
  /** SHA-256 (hex) of the bytes, when known (metadata given at `put`, or computed by the local store). */
  readonly sha256?: string;
  readonly lastModified?: Date;
}

/** An object's bytes: whole in memory, or a stream (uploaded in parts when large). */
export type ObjectBody = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export interface PutOptions {
  /** SHA-256 (hex) of the body, kept as object metadata (`x-amz-meta-sha256` on S3). */
  readonly sha256?: string;
  /** `'*'`: create only if the key does not exist (else `ObjectAlreadyExists`). */
  readonly ifNoneMatch?: '*';
  /** Replace only this version (else `ObjectEtagMismatch`, or `ObjectNotFound` when the key is gone). */
  readonly ifMatch?: string;
  readonly contentType?: string;
  /** Multipart part size in bytes (S3: at least 5 MiB); defaults to the store's. */
  readonly partSize?: number;
  /** Multipart parts in flight; defaults to the store's. */
  readonly queueSize?: number;
  /** Called with the bytes sent so far (multipart uploads report per part). */
  readonly onProgress?: (bytes: number) => void;
  readonly signal?: AbortSignal;
}

export interface PutResult {
  readonly etag: string;
  /** Number of multipart parts, when the object was uploaded in parts (S3 store only). */
  readonly parts?: number;
}

export interface GetOptions {
  /** Read `length` bytes (or to the end) starting at byte `offset`; `offset` must be below the size. */
  readonly range?: { readonly offset: number; readonly length?: number };
  readonly signal?: AbortSignal;
}

export interface GetResult {
  readonly bytes: Uint8Array;
  /** The whole object's info (size is the full size even for a ranged read). */
  readonly info: ObjectInfo & { readonly etag: string };
}

export interface GetStreamResult {
  readonly stream: Readable;
  readonly info: ObjectInfo & { readonly etag: string };
  /**
   * Bytes this response promised (`Content-Length`; the range's length for a ranged read), when the store says.
   * A body that ends short of it was cut off in transit (transient), not a wrong object.
   */
  readonly contentLength?: number;
}

export interface ListOptions {
  /** Maximum keys per page (S3 caps it at 1000). */
  readonly pageSize?: number;
  /** Continue after a previous page. */
  readonly continuationToken?: string;
  readonly signal?: AbortSignal;
}

export interface ListPage {
  /**
   * Objects of this page, in ascending key order (UTF-8 byte order) on S3 and the local store. Some
   * S3-compatible servers deviate across `/` (s3rver lists `a/x` before `a-b/x`): do not depend on the order.
   */
  readonly objects: readonly ObjectInfo[];
  /** Set when more keys follow: pass it as `continuationToken`. */
  readonly nextToken?: string;
}

export interface ObjectStore {
  /** Human-readable location without secrets, e.g. `s3://bucket/prefix` or `dir:/path`. */
  readonly description: string;
  put(key: string, body: ObjectBody, opts?: PutOptions): Promise<PutResult>;
  get(key: string, opts?: GetOptions): Promise<GetResult>;
  getStream(key: string, opts?: GetOptions): Promise<GetStreamResult>;
  /** `null` when the object does not exist. */
  head(
    key: string,
    opts?: { signal?: AbortSignal },
  ): Promise<(ObjectInfo & { readonly etag: string }) | null>;
  /** One page of keys starting with `prefix` (relative to the store's prefix; `''` lists everything). */
  listPage(prefix: string, opts?: ListOptions): Promise<ListPage>;
  /** Every key starting with `prefix`, fetching pages lazily. */
  list(prefix: string, opts?: Omit<ListOptions, 'continuationToken'>): AsyncIterable<ObjectInfo>;
  /** Deletes one object; a missing key is not an error. */
  delete(key: string, opts?: { signal?: AbortSignal }): Promise<void>;
  /** Deletes many objects (batched); missing keys are not errors. */
  deleteMany(keys: readonly string[], opts?: { signal?: AbortSignal }): Promise<void>;
  /** Releases sockets and handles. */
  close(): Promise<void>;
}

/** The codes an object store throws. */
export const OBJECT_STORE_CODES = [
  'ObjectNotFound',
  'ObjectAlreadyExists',
  'ObjectEtagMismatch',
  'ObjectChecksumMismatch',
  'InvalidObjectKey',
  'InvalidObjectStoreConfig',
  'ObjectStoreAuthFailed',
  'ObjectStoreBucketNotFound',
  'ObjectStoreUnavailable',
  'ObjectStoreEncryptionKeyMismatch',
  'ObjectStoreError',
] as const satisfies readonly ErrorCode[];

/** Throws `InvalidObjectKey` unless `key` is a relative key with non-empty, non-dot segments. */
export function validateKey(key: string, what = 'object key'): void {
  const bad =
    key.length === 0 ||
    key.startsWith('/') ||
    key.includes('\0') ||
    key.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad)
    throw new ServiceError(
      'InvalidObjectKey',
      `invalid ${what} ${JSON.stringify(key)}: use a relative key such as "files/<hash>" (no leading "/", no empty, "." or ".." segments)`,
      { key },
    );
}

/** Validates a listing prefix: `''`, or a key-like string that may end with `/`. */
export function validatePrefix(prefix: string): void {
  if (prefix === '') return;
  validateKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix');
}

/** Splits `bucket/some/prefix` into the bucket name and a key prefix (`''` or ending with `/`). */
export function splitBucket(bucket: string): { bucket: string; prefix: string } {
  const trimmed = bucket.replace(/^\/+|\/+$/g, '');
  const slash = trimmed.indexOf('/');
  if (trimmed === '' || slash === 0)
    throw new ServiceError('InvalidObjectStoreConfig', `bucket ${JSON.stringify(bucket)} is empty`, {
      field: 'bucket',
    });
  if (slash < 0) return { bucket: trimmed, prefix: '' };
  const prefix = trimmed.slice(slash + 1);
  validateKey(prefix, 'bucket prefix');
  return { bucket: trimmed.slice(0, slash), prefix: `${prefix}/` };
}

/** Iterates every page of a `listPage`-style function. */
export async function* listAll(
  store: Pick<ObjectStore, 'listPage'>,
  prefix: string,
  opts: Omit<ListOptions, 'continuationToken'> = {},
): AsyncIterable<ObjectInfo> {
  let token: string | undefined;
  do {
    const page = await store.listPage(prefix, {
      ...opts,
      ...(token === undefined ? {} : { continuationToken: token }),
    });
    yield* page.objects;
    token = page.nextToken;
  } while (token !== undefined);
}

/** A body read whole into bytes (a string as UTF-8, bytes as they are, a stream concatenated). */
export async function bodyBytes(body: ObjectBody): Promise<Uint8Array> {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return body;
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Uint8Array | string>)
    chunks.push(
      typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c.buffer, c.byteOffset, c.byteLength),
    );
  return Buffer.concat(chunks);
}

/**
 * A GET answer read whole: the stream concatenated, refused as transient (`ObjectStoreUnavailable`,
 * store code `TruncatedBody`) when it ends before the length the response promised.
 */
export async function readWhole(r: GetStreamResult, key: string, where: string): Promise<GetResult> {
  const chunks: Buffer[] = [];
  for await (const c of r.stream) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  if (r.contentLength !== undefined && bytes.length < r.contentLength)
    throw new ServiceError(
      'ObjectStoreUnavailable',
      `GET ${key} on ${where} failed: the response ended after ${bytes.length} of the ${r.contentLength} bytes it promised. Check the endpoint and the network; retry later`,
      { key, store_code: 'TruncatedBody' },
    );
  return { bytes, info: r.info };
}

/** Throws `ObjectStoreError` (store code `InvalidRange`) unless `range` is a valid offset and length. */
export function checkRange(range: GetOptions['range'], key: string, where: string): void {
  if (range === undefined) return;
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && length < 1))
    throw new ServiceError(
      'ObjectStoreError',
      `GET ${key} on ${where}: range offset ${offset} length ${length ?? 'to end'} is not satisfiable`,
      { key, store_code: 'InvalidRange' },
    );
}

/**
 * What a GET or HEAD answer says about an object: the full size (from `Content-Range` on a ranged read),
 * the ETag, the `sha256` metadata and the modification time.
 */
export function answerInfo(
  key: string,
  a: {
    readonly contentLength?: number | undefined;
    readonly contentRange?: string | undefined;
    readonly etag?: string | undefined;
    readonly metadata?: Readonly<Record<string, string>> | undefined;
    readonly lastModified?: Date | undefined;
  },
): ObjectInfo & { readonly etag: string } {
  const total = /\/(\d+)$/.exec(a.contentRange ?? '')?.[1];
  return {
    key,
    size: total !== undefined ? Number(total) : (a.contentLength ?? 0),
    etag: a.etag ?? '',
    ...(a.metadata?.sha256 === undefined ? {} : { sha256: a.metadata.sha256 }),
    ...(a.lastModified === undefined ? {} : { lastModified: a.lastModified }),
  };
}
