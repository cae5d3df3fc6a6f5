/**
 * Checkpoint sync between the local checkpoint store and an object store: push, pull, remote listing,
 * retention and ownership.
 *
 * # Remote layout (under `bucket`, which may carry a prefix)
 * ```
 * owner.json                 {format_version, pipeline_id, pipeline_name, epoch, claimed_at}
 * files/<sha256>             immutable segment files, shared by every checkpoint
 * checkpoints/<uuid>.json    the local manifest plus `sync: {epoch, pipeline_id, pipeline_name, pushed_at}`
 * ```
 * A manifest is uploaded last: its presence means every file it lists is in the bucket. Readers trust only
 * manifests and verify every downloaded byte against the manifest's SHA-256 (size only with `ignore_checksum`).
 *
 * # Invariants
 * - A push uploads only the files the bucket lacks, then the manifest. It checks ownership before writing any
 *   byte and again right before the manifest: a prefix owned by another pipeline is never written.
 * - `read_bucket` is only ever read.
 * - Retention deletes manifests first, then files no remaining manifest references, and only files older than
 *   the grace period, so a push in flight (whose files are young and not yet referenced) never loses one.
 * - "latest" is the newest checkpoint of the highest ownership epoch: a manifest pushed by a fenced former
 *   owner never outranks the current owner's.
 * - Every store request goes through a {@link RetryingStore} (retry.ts): transient failures (5xx, resets,
 *   timeouts, hangs, bodies cut short) are retried with backoff, logged and counted ({@link Synchronizer.retrier}),
 *   and never taken for corruption. Only a complete answer that is wrong (a manifest that is not valid JSON,
 *   a file whose complete download has the wrong size or hash, a missing object), and wrong in the same way
 *   when read again, makes a checkpoint corrupt: a body damaged in transit differs from one read to the next.
 * - Uploads carry a checksum the store verifies (Content-MD5, or the AWS SDK's CRC32), so a body damaged in
 *   transit is refused by the store and retried instead of landing over a good object.
 * - A pull never returns "none" while a source holds checkpoints: if none of them can be restored it fails.
 * - A push is refused (`CheckpointPushDiverged`) when the bucket's newest intact checkpoint is newer than, and
 *   not in the lineage of, what this pipeline started from ({@link Synchronizer.startedFrom}): an empty or older
 *   state never becomes `latest` over checkpoints it did not start from.
 */
import { isServiceError, ServiceError, toServiceError } from '../errors/service-error.ts';
import {
  type CheckpointManifest,
  type CheckpointStore,
  manifestFiles,
  parseManifest,
} from '../storage/checkpoint-store.ts';
import type { RemoteCheckpoint } from '../types/pipeline-api.ts';
import { isAzureProvider, type SyncSettings } from '../types/sync-config.ts';
import { uuidV7Time } from '../util/uuid-v7.ts';
import { AzureStore } from './azure-store.ts';
import { DirStore } from './dir-store.ts';
import type { ObjectStore } from './object-store.ts';
import { DEFAULT_RETRY, Retrier, RetryingStore, type RetryPolicy, transientError } from './retry.ts';
import { S3Store } from './s3-store.ts';
import { downloadFile, missingRemote, Pool, RateLimiter, uploadFile } from './transfer.ts';

export const OWNER_KEY = 'owner.json';
export const REMOTE_FILES = 'files/';
export const REMOTE_MANIFESTS = 'checkpoints/';
/** Listings of the manifests taken until two in a row agree (see `#manifestUuids`). */
const LIST_AGREEMENT_ATTEMPTS = 5;
/** Reads of a checkpoint that looks corrupt, until two fail the same way (see `#pullChecked`). */
const CORRUPTION_READS = 4;
/** Scratch objects of the conditional-write probe (deleted right away). */
export const PROBE_PREFIX = 'probe/';
const MANIFEST_KEY_RE = /^checkpoints\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/;

/** Who pushes: the immutable id (`pipeline-<uuid>` under the manager) and the display name. */
export interface PipelineIdentity {
  readonly id: string;
  readonly name: string;
}

export interface OwnerRecord {
  readonly format_version: 1;
  readonly pipeline_id: string;
  readonly pipeline_name: string;
  readonly epoch: number;
  readonly claimed_at: string;
  /**
   * Every takeover so far (absent until the first): the epoch it started, the pipeline that lost the prefix,
   * and the checkpoint the new owner continued from. A manifest pushed under an older epoch after that
   * checkpoint belongs to a fenced history and is never restored.
   */
  readonly takeovers?: readonly Takeover[];
}

export interface Takeover {
  readonly epoch: number;
  readonly pipeline_id: string;
  readonly previous_pipeline_id: string | null;
  /** The checkpoint the new owner started from (null: from scratch). */
  readonly from_checkpoint: string | null;
  readonly at: string;
}

/** Whether a manifest pushed under `epoch` is part of the history the takeovers kept. */
export function survivesTakeovers(uuid: string, epoch: number, takeovers: readonly Takeover[]): boolean {
  for (const t of takeovers)
    if (t.epoch > epoch && (t.from_checkpoint === null || uuid > t.from_checkpoint)) return false;
  return true;
}

/** `sync` block added to a manifest in the bucket. */
export interface RemoteStamp {
  readonly epoch: number;
  readonly pipeline_id: string;
  readonly pipeline_name: string;
  readonly pushed_at: string;
}

export type RemoteManifest = CheckpointManifest & { readonly sync?: RemoteStamp };

/** A manifest key in a bucket with its parsed manifest, or why it could not be read. */
interface RemoteEntry {
  readonly uuid: string;
  readonly manifest: RemoteManifest | null;
  readonly error?: string;
}

export type SyncLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface TransferProgress {
  readonly bytesTotal: number;
  readonly bytesDone: number;
  readonly filesTotal: number;
  readonly filesDone: number;
  readonly filesSkipped: number;
}

/** The progress of a transfer of `todo` out of `all` files (the others are there already), before its first byte. */
function transferStart(all: number, todo: readonly { readonly size: number }[]): Mutable<TransferProgress> {
  return {
    bytesTotal: todo.reduce((a, f) => a + f.size, 0),
    bytesDone: 0,
    filesTotal: todo.length,
    filesDone: 0,
    filesSkipped: all - todo.length,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface TransferResult {
  readonly uuid: string;
  /** Bytes moved (files the other side lacked, plus the manifest on a push). */
  readonly bytes: number;
  readonly files: number;
  readonly filesSkipped: number;
  readonly durationSeconds: number;
}

export interface PushResult extends TransferResult {
  /** The manifest was already in the bucket: nothing was uploaded. */
  readonly alreadyRemote: boolean;
  readonly epoch: number;
  readonly retention: RetentionResult | null;
}

export interface RetentionResult {
  readonly deletedCheckpoints: string[];
  readonly deletedFiles: number;
  readonly keptCheckpoints: number;
}

/** A remote checkpoint a pull skipped because it is proven corrupt. */
export interface SkippedCheckpoint {
  readonly uuid: string;
  readonly error: string;
}

export type PullOutcome =
  | { readonly kind: 'local'; readonly uuid: string }
  /** The newest checkpoint is the one the caller already holds (`current`): nothing was transferred. */
  | {
      readonly kind: 'current';
      readonly uuid: string;
      readonly source: 'bucket' | 'read_bucket';
      readonly skipped: readonly SkippedCheckpoint[];
    }
  | ({
      readonly kind: 'pulled';
      readonly source: 'bucket' | 'read_bucket';
      /** Newer checkpoints skipped as corrupt on the way. */
      readonly skipped: readonly SkippedCheckpoint[];
    } & TransferResult)
  | { readonly kind: 'none'; readonly reason: string };

export interface SynchronizerOptions {
  readonly settings: SyncSettings;
  readonly local: CheckpointStore;
  readonly identity: PipelineIdentity;
  readonly log?: SyncLog;
  /** Milliseconds since the epoch (tests move it to exercise retention). */
  readonly now?: () => number;
  /** Unreferenced remote files younger than this are kept (default 6 h: longer than any push). */
  readonly graceSeconds?: number;
  /** Stores to use instead of the ones the settings describe (tests). */
  readonly stores?: { readonly bucket: ObjectStore; readonly read: ObjectStore | null };
  /** Retry policy instead of the settings' (tests). */
  readonly retry?: RetryPolicy;
  /** Called after each push that uploaded a checkpoint and each pull that downloaded one (metrics). */
  readonly onTransfer?: (kind: 'push' | 'pull', seconds: number) => void;
}

const MiB = 1024 * 1024;

/**
 * Upload cutoff and part (block) size (200 MiB, and 8 MiB parts), from `--s3-upload-cutoff`/`--s3-chunk-size`
 * or, for Azure Blob, `--azureblob-upload-cutoff`/`--azureblob-chunk-size`.
 */
export function uploadSizes(settings: SyncSettings): { uploadCutoff: number; partSize: number } {
  return {
    uploadCutoff: settings.flags.uploadCutoff ?? 200 * MiB,
    partSize: settings.flags.chunkSize ?? 8 * MiB,
  };
}

/** Opens the object store a bucket string names under the settings' endpoint, provider and credentials. */
export function openStore(
  settings: SyncSettings,
  bucket: string,
  opts: { write?: boolean } = {},
): ObjectStore {
  if (settings.localRoot !== null) {
    const rel = bucket.replace(/^\/+|\/+$/g, '');
    if (rel.split('/').some((s) => s === '..' || s === '.' || s === ''))
      throw new ServiceError(
        'InvalidSyncConfig',
        `invalid sync config: bucket ${JSON.stringify(bucket)} is not a plain path`,
        {
          field: 'bucket',
        },
      );
    // the write bucket's directory is created on first use; a read_bucket is never written, not even created
    return new DirStore({ root: `${settings.localRoot}/${rel}`, create: opts.write === true });
  }
  const f = settings.flags;
  if (isAzureProvider(settings.provider))
    return new AzureStore({
      bucket,
      ...(settings.endpoint !== null ? { endpoint: settings.endpoint } : {}),
      ...(settings.accessKey !== null && settings.secretKey !== null
        ? { accountName: settings.accessKey, accountKey: settings.secretKey }
        : {}),
      ...(settings.account !== null ? { account: settings.account } : {}),
      ...(settings.sasToken !== null ? { sasToken: settings.sasToken } : {}),
      ...(settings.connectionString !== null ? { connectionString: settings.connectionString } : {}),
      // every retry is the synchronizer's (retry.ts), as for S3; hangs are its idle bound's
      maxTries: 1,
      tryTimeoutMs: 600_000,
      // like rclone: a file below the upload cutoff goes up in one Put Blob, above it in blocks
      singleShotSize: uploadSizes(settings).uploadCutoff,
      blockSize: uploadSizes(settings).partSize,
      concurrency: settings.uploadConcurrency,
      ...(f.azureAccessTier !== undefined ? { accessTier: f.azureAccessTier } : {}),
      ...(f.azureEncryptionScope !== undefined ? { encryptionScope: f.azureEncryptionScope } : {}),
      ...(settings.customerKey !== null ? { customerKey: settings.customerKey } : {}),
    });
  const envAccess = process.env.RCLONE_S3_ACCESS_KEY_ID;
  const envSecret = process.env.RCLONE_S3_SECRET_ACCESS_KEY;
  const useRcloneEnv = settings.accessKey === null && envAccess && envSecret;
  return new S3Store({
    bucket,
    ...(settings.provider !== null ? { provider: settings.provider } : {}),
    ...(settings.endpoint !== null ? { endpoint: settings.endpoint } : {}),
    ...(settings.region !== null ? { region: settings.region } : {}),
    ...(settings.accessKey !== null && settings.secretKey !== null
      ? { accessKey: settings.accessKey, secretKey: settings.secretKey }
      : useRcloneEnv
        ? { accessKey: envAccess, secretKey: envSecret }
        : {}),
    ...(f.forcePathStyle !== undefined ? { forcePathStyle: f.forcePathStyle } : {}),
    // every retry is the synchronizer's (retry.ts): logged, counted, bounded by --low-level-retries
    maxAttempts: 1,
    ...(f.timeoutMs !== undefined ? { requestTimeoutMs: f.timeoutMs } : {}),
    ...(f.connectTimeoutMs !== undefined ? { connectionTimeoutMs: f.connectTimeoutMs } : {}),
    partSize: uploadSizes(settings).partSize,
    // like rclone: a file below the upload cutoff goes up in one PUT, above it in parts
    multipartThreshold: uploadSizes(settings).uploadCutoff,
    queueSize: settings.uploadConcurrency,
    maxSockets: Math.max(
      50,
      settings.transfers * Math.max(settings.uploadConcurrency, settings.multiThreadStreams),
    ),
    writeParams: {
      ...(f.serverSideEncryption !== undefined ? { ServerSideEncryption: f.serverSideEncryption } : {}),
      ...(f.sseKmsKeyId !== undefined ? { SSEKMSKeyId: f.sseKmsKeyId } : {}),
      ...(f.storageClass !== undefined ? { StorageClass: f.storageClass } : {}),
      ...(f.acl !== undefined ? { ACL: f.acl } : {}),
    },
  });
}

/** The retry policy of a sync config (`--low-level-retries`, `--retries-sleep`, `--timeout`). */
export function retryPolicy(settings: SyncSettings): RetryPolicy {
  const f = settings.flags;
  return {
    attempts: f.lowLevelRetries !== undefined ? f.lowLevelRetries + 1 : DEFAULT_RETRY.attempts,
    initialMs: f.retriesSleepMs ?? DEFAULT_RETRY.initialMs,
    maxMs: DEFAULT_RETRY.maxMs,
    idleTimeoutMs: f.timeoutMs ?? DEFAULT_RETRY.idleTimeoutMs,
  };
}

/** Whether an error means "the store refused us or could not be reached" (never "not found"). */
export function isAccessError(e: unknown): boolean {
  return (
    isServiceError(e, 'ObjectStoreAuthFailed') ||
    isServiceError(e, 'ObjectStoreUnavailable') ||
    isServiceError(e, 'ObjectStoreBucketNotFound') ||
    isServiceError(e, 'ObjectStoreEncryptionKeyMismatch') ||
    isServiceError(e, 'InvalidObjectStoreConfig')
  );
}

export class Synchronizer {
  readonly settings: SyncSettings;
  /** The stores, their requests retried on transient failures ({@link retrier}). */
  readonly bucket: RetryingStore;
  readonly readBucket: RetryingStore | null;
  /** Retries of transient store failures: policy and counters (shown in `/stats` and `/metrics`). */
  readonly retrier: Retrier;
  /**
   * The checkpoint this pipeline's state started from (null: from scratch); undefined until the owner of the
   * process says (then pushes are not checked for divergence). See {@link push}.
   */
  startedFrom: string | null | undefined = undefined;
  /** Checkpoints this process pushed (its own lineage). */
  readonly #pushed = new Set<string>();
  readonly #local: CheckpointStore;
  readonly #identity: PipelineIdentity;
  readonly #log: SyncLog;
  readonly #onTransfer: NonNullable<SynchronizerOptions['onTransfer']>;
  readonly #now: () => number;
  readonly #graceMs: number;
  readonly #limiter: RateLimiter;
  readonly #transfers: Pool;
  readonly #checkers: Pool;
  /** Parsed manifests by store and uuid (immutable once complete). */
  readonly #manifests = new WeakMap<ObjectStore, Map<string, RemoteManifest>>();
  /** The owner record seen by the last push (epoch this pipeline writes under). */
  #owner: { record: OwnerRecord; etag: string } | null = null;
  /** Whether the bucket honours conditional writes (probed once, before the first ownership write). */
  #conditional: Promise<boolean> | null = null;

  constructor(opts: SynchronizerOptions) {
    this.settings = opts.settings;
    this.#local = opts.local;
    this.#identity = opts.identity;
    this.#log = opts.log ?? (() => {});
    this.#onTransfer = opts.onTransfer ?? (() => {});
    this.#now = opts.now ?? Date.now;
    this.#graceMs = (opts.graceSeconds ?? 6 * 3600) * 1000;
    const s = opts.settings;
    this.retrier = new Retrier(opts.retry ?? retryPolicy(s), (ev) =>
      this.#log(
        'warn',
        `object store request ${ev.what} failed transiently (attempt ${ev.attempt} of ${this.retrier.policy.attempts}), retrying in ${(ev.delayMs / 1000).toFixed(1)} s: ${ev.error}`,
        { request: ev.what, attempt: ev.attempt, delay_ms: ev.delayMs },
      ),
    );
    const wrap = (store: ObjectStore) =>
      store instanceof RetryingStore ? store : new RetryingStore(store, this.retrier);
    this.bucket = wrap(opts.stores?.bucket ?? openStore(s, s.bucket, { write: true }));
    const read =
      opts.stores !== undefined
        ? opts.stores.read
        : s.readBucket === null
          ? null
          : openStore(s, s.readBucket);
    this.readBucket = read === null ? null : wrap(read);
    this.#limiter = new RateLimiter(s.flags.bwlimit ?? null);
    this.#transfers = new Pool(s.transfers);
    this.#checkers = new Pool(s.checkers);
  }

  async close(): Promise<void> {
    await this.bucket.close();
    await this.readBucket?.close();
  }

  /** The epoch this pipeline last pushed under (null before its first push). */
  get epoch(): number | null {
    return this.#owner?.record.epoch ?? null;
  }

  // ------------------------------------------------------------------------------------------------------
  // Ownership
  // ------------------------------------------------------------------------------------------------------

  /** Reads `owner.json` (null when the prefix has no owner yet). */
  async readOwner(store: ObjectStore = this.bucket): Promise<{ record: OwnerRecord; etag: string } | null> {
    try {
      const { bytes, info } = await store.get(OWNER_KEY);
      const record = JSON.parse(Buffer.from(bytes).toString('utf8')) as OwnerRecord;
      if (typeof record?.pipeline_id !== 'string' || typeof record.epoch !== 'number')
        throw new ServiceError(
          'ObjectStoreError',
          `${OWNER_KEY} in ${store.description} is not an owner record`,
          {},
        );
      return { record, etag: info.etag };
    } catch (e) {
      if (isServiceError(e, 'ObjectNotFound')) return null;
      if (e instanceof SyntaxError)
        throw new ServiceError(
          'ObjectStoreError',
          `${OWNER_KEY} in ${store.description} is not valid JSON`,
          {},
        );
      throw e;
    }
  }

  /**
   * Makes sure this pipeline owns the bucket prefix: claims it (conditional create, epoch 1) when nobody does,
   * refuses when another pipeline does. @throws ServiceError CheckpointBucketOwned
   */
  async claim(): Promise<{ record: OwnerRecord; etag: string }> {
    const conditional = await this.conditionalWrites();
    let cur = await this.readOwner();
    if (cur === null) {
      const record: OwnerRecord = {
        format_version: 1,
        pipeline_id: this.#identity.id,
        pipeline_name: this.#identity.name,
        epoch: 1,
        claimed_at: new Date(this.#now()).toISOString(),
      };
      try {
        const { etag } = await this.bucket.put(OWNER_KEY, JSON.stringify(record), {
          ...(conditional ? { ifNoneMatch: '*' as const } : {}),
          contentType: 'application/json',
        });
        this.#log('info', `claimed ${this.bucket.description} for this pipeline (epoch 1)`, {
          bucket: this.bucket.description,
          epoch: 1,
        });
        cur = { record, etag };
      } catch (e) {
        if (!isServiceError(e, 'ObjectAlreadyExists')) throw e;
        cur = await this.readOwner(); // another pipeline claimed it first
        if (cur === null) throw e;
      }
    }
    if (cur.record.pipeline_id !== this.#identity.id) throw this.#ownedBy(cur.record);
    if (cur.record.pipeline_name !== this.#identity.name) {
      // renamed: same pipeline, new display name (best effort; ownership is by id)
      const record = { ...cur.record, pipeline_name: this.#identity.name };
      try {
        const { etag } = await this.bucket.put(OWNER_KEY, JSON.stringify(record), {
          ...(conditional ? { ifMatch: cur.etag } : {}),
          contentType: 'application/json',
        });
        cur = { record, etag };
      } catch (e) {
        if (!isServiceError(e, 'ObjectEtagMismatch') && !isServiceError(e, 'ObjectNotFound')) throw e;
        return this.claim();
      }
    }
    this.#owner = cur;
    return cur;
  }

  /**
   * Takes the prefix over (activation of a standby): bumps the epoch with a compare-and-swap on `owner.json`
   * (a conditional create when there is none) and records the takeover, so the former owner is fenced and its
   * later manifests are ignored by readers. Retries when another writer raced it.
   */
  async takeOver(fromCheckpoint: string | null): Promise<OwnerRecord> {
    const conditional = await this.conditionalWrites();
    for (let attempt = 0; attempt < 10; attempt++) {
      const cur = await this.readOwner();
      const epoch = (cur?.record.epoch ?? 0) + 1;
      const at = new Date(this.#now()).toISOString();
      const record: OwnerRecord = {
        format_version: 1,
        pipeline_id: this.#identity.id,
        pipeline_name: this.#identity.name,
        epoch,
        claimed_at: at,
        takeovers: [
          ...(cur?.record.takeovers ?? []),
          {
            epoch,
            pipeline_id: this.#identity.id,
            previous_pipeline_id: cur?.record.pipeline_id ?? null,
            from_checkpoint: fromCheckpoint,
            at,
          },
        ],
      };
      try {
        const { etag } = await this.bucket.put(OWNER_KEY, JSON.stringify(record), {
          ...(!conditional ? {} : cur === null ? { ifNoneMatch: '*' as const } : { ifMatch: cur.etag }),
          contentType: 'application/json',
        });
        this.#owner = { record, etag };
        this.#log('info', `took over ${this.bucket.description} at epoch ${epoch}`, {
          epoch,
          previous_owner: cur?.record.pipeline_id ?? null,
          from_checkpoint: fromCheckpoint,
        });
        return record;
      } catch (e) {
        if (
          !isServiceError(e, 'ObjectEtagMismatch') &&
          !isServiceError(e, 'ObjectAlreadyExists') &&
          !isServiceError(e, 'ObjectNotFound')
        )
          throw e;
      }
    }
    throw new ServiceError(
      'CheckpointPushError',
      `could not take over ${this.bucket.description}: owner.json kept changing under 10 attempts`,
      {},
    );
  }

  /**
   * Whether the bucket honours `If-None-Match: *` and `If-Match`, probed once with a scratch object (created,
   * re-created, replaced with a wrong ETag, deleted). Fencing rests on them; a store that ignores them is
   * refused for ownership unless `allow_unsafe_ownership` accepts a plain read-then-write check (false).
   * @throws ServiceError ConditionalWritesUnsupported
   */
  conditionalWrites(): Promise<boolean> {
    this.#conditional ??= this.#probeConditional().catch((e: unknown) => {
      this.#conditional = null; // an access error: probe again next time
      throw e;
    });
    return this.#conditional;
  }

  async #probeConditional(): Promise<boolean> {
    const key = `${PROBE_PREFIX}${this.#identity.id.replace(/[^A-Za-z0-9._-]/g, '_')}-${Date.now()}`;
    const code = (e: unknown) => (isServiceError(e) ? e.errorCode : undefined);
    let why: string | null = null;
    try {
      await this.bucket.put(key, 'probe 1', { ifNoneMatch: '*' });
      try {
        await this.bucket.put(key, 'probe 2', { ifNoneMatch: '*' });
        why = 'a create with If-None-Match: * replaced an existing object';
      } catch (e) {
        if (code(e) !== 'ObjectAlreadyExists') throw e;
      }
      if (why === null)
        try {
          await this.bucket.put(key, 'probe 3', { ifMatch: '"00000000000000000000000000000000"' });
          why = 'a write with a stale If-Match ETag succeeded';
        } catch (e) {
          if (code(e) !== 'ObjectEtagMismatch') throw e;
        }
    } catch (e) {
      if (isAccessError(e)) throw e;
      why = `a conditional write failed with ${toServiceError(e).message}`;
    } finally {
      await this.bucket.delete(key).catch(() => {});
    }
    if (why === null) return true;
    if (this.settings.allowUnsafeOwnership) {
      this.#log(
        'warn',
        `checkpoint bucket ${this.bucket.description} does not support conditional writes (${why}); allow_unsafe_ownership is set, so ownership uses a read-then-write check and a former owner racing a takeover can overwrite checkpoints`,
        { bucket: this.bucket.description },
      );
      return false;
    }
    throw new ServiceError(
      'ConditionalWritesUnsupported',
      `checkpoint bucket ${this.bucket.description} does not support conditional writes (${why}), which ownership and fencing need. Use a store that honours If-None-Match/If-Match (AWS S3, MinIO, Cloudflare R2, Google Cloud Storage's S3 API), or set \`allow_unsafe_ownership: true\` in the sync config to accept a read-then-write ownership check (a former owner racing a takeover could then overwrite the new owner's checkpoints)`,
      { bucket: this.bucket.description },
    );
  }

  #ownedBy(owner: OwnerRecord): ServiceError {
    const took = owner.takeovers?.findLast((t) => t.previous_pipeline_id === this.#identity.id);
    if (took !== undefined)
      return new ServiceError(
        'CheckpointBucketOwned',
        `S3 checkpoint bucket is already owned by pipeline '${owner.pipeline_name}' (id: ${owner.pipeline_id}, epoch ${owner.epoch}). Current pipeline is '${this.#identity.name}' (id: ${this.#identity.id}); it was fenced: pipeline '${owner.pipeline_name}' (id: ${owner.pipeline_id}) took over checkpoint bucket ${this.bucket.description} at epoch ${took.epoch} (${took.at}) from checkpoint ${took.from_checkpoint ?? 'none'}. Refusing to write checkpoint data; pushes stop`,
        {
          fenced: true,
          owner_id: owner.pipeline_id,
          owner_name: owner.pipeline_name,
          owner_epoch: owner.epoch,
          pipeline_id: this.#identity.id,
          pipeline_name: this.#identity.name,
        },
      );
    return new ServiceError(
      'CheckpointBucketOwned',
      `S3 checkpoint bucket is already owned by pipeline '${owner.pipeline_name}' (id: ${owner.pipeline_id}, epoch ${owner.epoch}) at ${this.bucket.description}. Current pipeline is '${this.#identity.name}' (id: ${this.#identity.id}). Refusing to write checkpoint data. Give this pipeline its own bucket prefix (the other one can seed it as read_bucket)`,
      {
        owner_id: owner.pipeline_id,
        owner_name: owner.pipeline_name,
        owner_epoch: owner.epoch,
        pipeline_id: this.#identity.id,
        pipeline_name: this.#identity.name,
      },
    );
  }

  /** Checks, right before a manifest is written, that the owner record did not change since {@link claim}. */
  async #stillOwner(claimed: { record: OwnerRecord; etag: string }): Promise<void> {
    const now = await this.bucket.head(OWNER_KEY);
    if (now !== null && now.etag === claimed.etag) return;
    const cur = await this.readOwner();
    if (
      cur === null ||
      cur.record.pipeline_id !== this.#identity.id ||
      cur.record.epoch !== claimed.record.epoch
    )
      throw cur === null
        ? new ServiceError(
            'CheckpointBucketOwned',
            `${OWNER_KEY} disappeared from ${this.bucket.description} during the push; the manifest was not written`,
            {},
          )
        : this.#ownedBy(cur.record);
    this.#owner = cur;
  }

  // ------------------------------------------------------------------------------------------------------
  // Push
  // ------------------------------------------------------------------------------------------------------

  /**
   * Pushes local checkpoint `uuid`: ownership check, the files the bucket lacks (in parallel, with checksums),
   * the manifest last, then retention.
   */
  async push(
    uuid: string,
    opts: { onProgress?: (p: TransferProgress) => void; retention?: boolean } = {},
  ): Promise<PushResult> {
    const t0 = performance.now();
    const claimed = await this.claim();
    const manifest = await this.#local.readManifest(uuid);
    const manifestKey = `${REMOTE_MANIFESTS}${uuid}.json`;
    const existing = await this.bucket.head(manifestKey);
    if (existing !== null) {
      opts.onProgress?.({ bytesTotal: 0, bytesDone: 0, filesTotal: 0, filesDone: 0, filesSkipped: 0 });
      return {
        uuid,
        bytes: 0,
        files: 0,
        filesSkipped: manifestFiles(manifest).length,
        durationSeconds: (performance.now() - t0) / 1000,
        alreadyRemote: true,
        epoch: claimed.record.epoch,
        retention: null,
      };
    }
    await this.#checkDiverged(uuid);
    const files = manifestFiles(manifest).map((f) => ({
      key: `${REMOTE_FILES}${f.hash}`,
      size: f.size,
      sha256: f.hash,
      path: this.#local.filePath(f.hash),
    }));
    const missing = await missingRemote(this.bucket, files, this.#checkers, this.settings.ignoreChecksum);
    const todo = files.filter((f) => missing.has(f.key));
    const progress = transferStart(files.length, todo);
    opts.onProgress?.({ ...progress });
    await this.#transfers.map(todo, async (file) => {
      // the raw store: uploadFile retries the whole file itself (re-reading it), not each request again
      await uploadFile(this.bucket.raw, file.key, file.path, file, {
        limiter: this.#limiter,
        retrier: this.retrier,
        ...uploadSizes(this.settings),
        uploadConcurrency: this.settings.uploadConcurrency,
        onBytes: (n) => {
          progress.bytesDone += n;
          opts.onProgress?.({ ...progress });
        },
      });
      progress.filesDone++;
      opts.onProgress?.({ ...progress });
    });
    await this.#stillOwner(claimed);
    const stamp: RemoteStamp = {
      epoch: claimed.record.epoch,
      pipeline_id: this.#identity.id,
      pipeline_name: this.#identity.name,
      pushed_at: new Date(this.#now()).toISOString(),
    };
    const body = JSON.stringify({ ...manifest, sync: stamp });
    await this.bucket.put(manifestKey, body, { contentType: 'application/json' });
    this.#pushed.add(uuid);
    const result = {
      uuid,
      bytes: progress.bytesTotal + Buffer.byteLength(body),
      files: todo.length,
      filesSkipped: progress.filesSkipped,
      durationSeconds: (performance.now() - t0) / 1000,
      alreadyRemote: false,
      epoch: claimed.record.epoch,
    };
    this.#onTransfer('push', result.durationSeconds);
    let retention: RetentionResult | null = null;
    if (opts.retention !== false) {
      try {
        retention = await this.retention();
      } catch (e) {
        this.#log('warn', `remote retention failed (the push itself succeeded): ${syncError(e).message}`);
      }
    }
    return { ...result, retention };
  }

  /**
   * Refuses a push that would become `latest` over an intact checkpoint this pipeline did not start from: the
   * newest readable checkpoint of the bucket's current history must be the one this pipeline started from, older
   * than it, one of its local checkpoints, or one it pushed itself. Otherwise (a pipeline that started from
   * scratch, or from an older checkpoint, while newer ones are in the bucket) the push would hide them from every
   * later restore. Unchecked until {@link startedFrom} is set. @throws ServiceError CheckpointPushDiverged
   */
  async #checkDiverged(uuid: string): Promise<void> {
    const from = this.startedFrom;
    if (from === undefined) return;
    const newest = (await this.#remoteCheckpoints(this.bucket)).find((c) => c.manifest !== null);
    if (newest === undefined) return;
    const u = newest.uuid;
    if (u === uuid || u === from || this.#pushed.has(u) || (from !== null && u < from)) return;
    if ((await this.#local.list()).some((e) => e.uuid === u)) return;
    throw new ServiceError(
      'CheckpointPushDiverged',
      `refusing to push checkpoint ${uuid} to ${this.bucket.description}: the bucket holds checkpoint ${u}, newer than what this pipeline started from (${from === null ? 'nothing: it started from scratch' : `checkpoint ${from}`}), and the push would make this pipeline's state the latest in its place. To continue from ${u}, restart the pipeline with start_from_checkpoint "latest" (after fixing whatever made the restore skip it); to discard it on purpose, delete checkpoints/${u}.json (and any newer manifest) from the bucket, or push to another bucket prefix`,
      { uuid, newest_remote: u, started_from: from },
    );
  }

  // ------------------------------------------------------------------------------------------------------
  // Listing
  // ------------------------------------------------------------------------------------------------------

  /** UUIDs of the manifests in `store`, oldest first. */
  /**
   * The manifest UUIDs in `store`. A LIST answer carries no checksum, and a damaged one can drop keys without
   * any error (a flipped byte in a key name, or in the truncation flag that ends the listing early) - and the key
   * most likely dropped, the last one, is the newest manifest: restoring the one before it as "latest" would
   * silently lose acknowledged state. So the listing is taken again until two in a row agree key for key
   * (a store that keeps changing, or keeps answering differently, fails the request as transient).
   */
  async #manifestUuids(store: ObjectStore): Promise<string[]> {
    let previous: string | null = null;
    for (let attempt = 1; attempt <= LIST_AGREEMENT_ATTEMPTS; attempt++) {
      const keys: string[] = [];
      for await (const o of store.list(REMOTE_MANIFESTS)) keys.push(o.key);
      keys.sort();
      const joined = keys.join('\n');
      if (joined === previous) {
        const out: string[] = [];
        for (const k of keys) {
          const uuid = MANIFEST_KEY_RE.exec(k)?.[1];
          if (uuid !== undefined) out.push(uuid);
        }
        return out;
      }
      previous = joined;
    }
    throw transientError(
      `LIST ${REMOTE_MANIFESTS} on ${store.description}`,
      `${LIST_AGREEMENT_ATTEMPTS} listings in a row never agreed twice (the store's answers are damaged, or checkpoints are being written meanwhile)`,
    );
  }

  /** Reads and validates a remote manifest. @throws ServiceError (store codes) | StorageError CheckpointCorrupt */
  async #remoteManifest(store: ObjectStore, uuid: string): Promise<RemoteManifest> {
    let cache = this.#manifests.get(store);
    if (cache === undefined) this.#manifests.set(store, (cache = new Map()));
    const hit = cache.get(uuid);
    if (hit !== undefined) return hit;
    const { bytes } = await store.get(`${REMOTE_MANIFESTS}${uuid}.json`);
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (e) {
      throw new ServiceError(
        'CheckpointCorrupt',
        `manifest of checkpoint ${uuid} in ${store.description} is not valid JSON: ${(e as Error).message}`,
        { uuid },
      );
    }
    const m = parseManifest(value, uuid) as RemoteManifest;
    cache.set(uuid, m);
    return m;
  }

  /**
   * The checkpoints of `store` with their manifests, newest first by (epoch, uuid); a manifest that is corrupt
   * (complete but not valid JSON or not a manifest, or gone) is an entry without manifest; store errors
   * (transient ones after their retries, access errors) are thrown.
   */
  async #remoteCheckpoints(store: ObjectStore): Promise<RemoteEntry[]> {
    const uuids = await this.#manifestUuids(store);
    const takeovers =
      (
        await this.readOwner(store).catch((e: unknown) => {
          if (isAccessError(e)) throw e;
          return null; // an unreadable owner record fences nothing
        })
      )?.record.takeovers ?? [];
    const all = await this.#checkers.map(uuids, async (uuid) => {
      try {
        return { uuid, manifest: await this.#remoteManifest(store, uuid) };
      } catch (e) {
        // a store failure (transient after its retries, access) is thrown: only a complete, bad manifest is corrupt
        if (!isCorruption(e)) throw e;
        const err = syncError(e);
        return { uuid, manifest: null, error: err.message };
      }
    });
    // manifests of a fenced history (pushed by a former owner after a takeover's starting point) do not exist
    const out = all.filter(
      (c) => c.manifest === null || survivesTakeovers(c.uuid, c.manifest.sync?.epoch ?? 0, takeovers),
    );
    return out.sort((a, b) => {
      const ea = a.manifest?.sync?.epoch ?? 0;
      const eb = b.manifest?.sync?.epoch ?? 0;
      if (ea !== eb) return eb - ea;
      return a.uuid < b.uuid ? 1 : a.uuid > b.uuid ? -1 : 0;
    });
  }

  /** `GET /checkpoints/remote`: every complete checkpoint in `bucket` and `read_bucket`, oldest first. */
  async listRemote(): Promise<RemoteCheckpoint[]> {
    const out: RemoteCheckpoint[] = [];
    const sources: Array<['bucket' | 'read_bucket', ObjectStore]> = [['bucket', this.bucket]];
    if (this.readBucket) sources.push(['read_bucket', this.readBucket]);
    for (const [source, store] of sources) {
      let list: RemoteEntry[];
      try {
        list = await this.#remoteCheckpoints(store);
      } catch (e) {
        if (isServiceError(e, 'ObjectStoreBucketNotFound') && source === 'read_bucket') continue;
        throw e;
      }
      for (const c of list) {
        if (c.manifest === null) continue;
        const m = c.manifest;
        out.push({
          uuid: m.uuid,
          created_at: m.created_at,
          size: manifestFiles(m).reduce((a, f) => a + f.size, 0),
          steps: m.steps,
          processed_records: m.processed_records,
          fingerprint: m.fingerprint,
          source,
          epoch: m.sync?.epoch ?? null,
          pushed_by:
            m.sync === undefined
              ? null
              : {
                  pipeline_id: m.sync.pipeline_id,
                  pipeline_name: m.sync.pipeline_name,
                  pushed_at: m.sync.pushed_at,
                },
        });
      }
    }
    return out.sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
  }

  // ------------------------------------------------------------------------------------------------------
  // Pull
  // ------------------------------------------------------------------------------------------------------

  /**
   * Resolves `start_from_checkpoint` at start: a matching local checkpoint, else `bucket`, else `read_bucket`.
   *
   * Every store request is retried on transient failures ({@link retrier}); one that still fails after its
   * attempts fails the pull (CheckpointFetchError) - a flaky store is never taken for a corrupt checkpoint. For
   * "latest", a checkpoint proven corrupt (a manifest that is not valid JSON, a file whose complete download does
   * not match its size or hash) is skipped for the next older one and listed in the outcome's `skipped`; an
   * explicit UUID that is corrupt fails. When a source holds checkpoints but none can be restored, the pull fails
   * (never 'none': starting from scratch would bury them). `none` means no checkpoint exists at all.
   * @throws ServiceError CheckpointFetchError
   */
  async pull(
    target: string,
    opts: {
      onProgress?: (p: TransferProgress) => void;
      skipLocal?: boolean;
      /** The checkpoint the caller already holds locally (a standby's last pull). */
      current?: string | null;
    } = {},
  ): Promise<PullOutcome> {
    if (opts.skipLocal !== true) {
      const local = await this.#localMatch(target);
      if (local !== null) return { kind: 'local', uuid: local };
    }
    const sources: Array<['bucket' | 'read_bucket', ObjectStore]> = [['bucket', this.bucket]];
    if (this.readBucket) sources.push(['read_bucket', this.readBucket]);
    const tried: string[] = [];
    for (const [source, store] of sources) {
      let list: RemoteEntry[];
      try {
        list = await this.#remoteCheckpoints(store);
      } catch (e) {
        throw fetchError(e, store);
      }
      if (target !== 'latest') list = list.filter((c) => c.uuid === target);
      const skipped: Array<{ uuid: string; error: string }> = [];
      for (const c of list) {
        if (c.manifest !== null && c.uuid === opts.current && (await this.#localMatch(c.uuid)) !== null)
          return { kind: 'current', uuid: c.uuid, source, skipped };
        let got: { pulled: TransferResult } | { corrupt: string };
        try {
          got = await this.#pullChecked(store, c, opts.onProgress);
        } catch (e) {
          // transient (retries ran out), access and local errors fail the pull: only proven corruption skips
          throw fetchError(e, store);
        }
        if ('pulled' in got) {
          const r = got.pulled;
          this.#onTransfer('pull', r.durationSeconds);
          this.#log('info', 'checkpoint pulled successfully', {
            uuid: c.uuid,
            source,
            bucket: store.description,
            bytes: r.bytes,
            files: r.files,
            files_skipped: r.filesSkipped,
            duration_seconds: Number(r.durationSeconds.toFixed(3)),
            ...(skipped.length > 0 ? { skipped_corrupt: skipped.map((x) => x.uuid) } : {}),
          });
          return { kind: 'pulled', source, skipped, ...r };
        }
        if (target !== 'latest')
          throw fetchError(new Error(`checkpoint ${c.uuid} is corrupt: ${got.corrupt}`), store);
        this.#log(
          'warn',
          `remote checkpoint ${c.uuid} in ${store.description} is corrupt, trying the next older one: ${got.corrupt}`,
          { uuid: c.uuid },
        );
        skipped.push({ uuid: c.uuid, error: got.corrupt });
      }
      if (skipped.length > 0)
        throw new ServiceError(
          'CheckpointFetchError',
          `Error fetching checkpoint from object store ${store.description}: it holds ${skipped.length} checkpoint(s) and none can be restored (${skipped.map((x) => `${x.uuid}: ${x.error}`).join('; ')}); the start fails whatever fail_if_no_checkpoint says, so that an empty state never replaces them. Check the store (GET .../checkpoints/remote lists them), or remove the corrupt manifests from the bucket to start from scratch`,
          { corrupt: skipped.map((x) => x.uuid), bucket: store.description },
        );
      tried.push(store.description);
    }
    return {
      kind: 'none',
      reason:
        target === 'latest'
          ? `no intact checkpoint found in ${tried.join(' or ')} (checkpoint files were not found in source)`
          : `checkpoint ${target} not found in ${tried.join(' or ')} (its files were not found in source)`,
    };
  }

  async #localMatch(target: string): Promise<string | null> {
    if (target === 'latest') return (await this.#local.latest({ verify: 'size' }))?.uuid ?? null;
    const entries = await this.#local.list();
    if (!entries.some((e) => e.uuid === target)) return null;
    try {
      await this.#local.readManifest(target);
      return target;
    } catch {
      return null;
    }
  }

  /**
   * Downloads one remote checkpoint, or says why it is corrupt. Corruption is proven only when two complete reads
   * in a row fail the same way: a body damaged in transit (a flipped byte that no checksum of the response
   * catches) fails differently each time, an object damaged in the bucket does not. So a failed read is repeated
   * with the manifest read again, up to {@link CORRUPTION_READS} times; when no two reads agree the answers are
   * damaged in transit, which fails the pull as transient instead of skipping a good checkpoint.
   * @throws ServiceError store codes (transient, access) | ObjectStoreUnavailable (reads that never agree)
   */
  async #pullChecked(
    store: ObjectStore,
    entry: RemoteEntry,
    onProgress?: (p: TransferProgress) => void,
  ): Promise<{ pulled: TransferResult } | { corrupt: string }> {
    let manifest = entry.manifest;
    let last = manifest === null ? (entry.error ?? 'unreadable manifest') : null;
    for (let read = 0; read < CORRUPTION_READS; read++) {
      try {
        manifest ??= await this.#remoteManifest(store, entry.uuid);
        return { pulled: await this.#download(store, manifest, onProgress) };
      } catch (e) {
        if (!isCorruption(e)) throw e;
        const why = syncError(e).message;
        if (why === last) return { corrupt: why };
        last = why;
        this.#manifests.get(store)?.delete(entry.uuid);
        manifest = null;
      }
    }
    throw transientError(
      `GET checkpoint ${entry.uuid} on ${store.description}`,
      `${CORRUPTION_READS} complete reads were wrong in different ways (answers damaged in transit); the last: ${last}`,
      { uuid: entry.uuid },
    );
  }

  async #download(
    store: ObjectStore,
    m: RemoteManifest,
    onProgress?: (p: TransferProgress) => void,
  ): Promise<TransferResult> {
    const t0 = performance.now();
    const files = manifestFiles(m);
    const have = await this.#checkers.map(files, (f) => this.#local.hasFile(f.hash, f.size));
    const todo = files.filter((_, i) => !have[i]);
    const progress = transferStart(files.length, todo);
    onProgress?.({ ...progress });
    await this.#transfers.map(todo, async (f) => {
      const tmp = await this.#local.downloadTarget(f.hash);
      // the raw store: downloadFile retries a whole file (or range) itself, body included
      await downloadFile(
        store instanceof RetryingStore ? store.raw : store,
        `${REMOTE_FILES}${f.hash}`,
        tmp,
        { size: f.size, sha256: f.hash },
        {
          limiter: this.#limiter,
          multiThreadCutoff: this.settings.multiThreadCutoff,
          streams: this.settings.multiThreadStreams,
          ignoreChecksum: this.settings.ignoreChecksum,
          retrier: this.retrier,
          idleTimeoutMs: this.retrier.policy.idleTimeoutMs,
          onBytes: (n) => {
            progress.bytesDone += n;
            onProgress?.({ ...progress });
          },
        },
      );
      await this.#local.commitFile(f.hash, tmp);
      progress.filesDone++;
      onProgress?.({ ...progress });
    });
    const { sync: _stamp, ...local } = m;
    await this.#local.importManifest(local);
    return {
      uuid: m.uuid,
      bytes: progress.bytesTotal,
      files: todo.length,
      filesSkipped: progress.filesSkipped,
      durationSeconds: (performance.now() - t0) / 1000,
    };
  }

  // ------------------------------------------------------------------------------------------------------
  // Retention
  // ------------------------------------------------------------------------------------------------------

  /**
   * Deletes remote checkpoints while more than `retention_min_count` remain, oldest first, only those at least
   * `retention_min_age` days old, never the newest; then files no remaining manifest references that are older
   * than the grace period.
   */
  async retention(): Promise<RetentionResult> {
    const now = this.#now();
    const minAgeMs = this.settings.retentionMinAge * 86_400_000;
    const uuids = await this.#manifestUuids(this.bucket); // oldest first
    const deleted: string[] = [];
    let remaining = uuids.length;
    for (let i = 0; i < uuids.length - 1 && remaining > this.settings.retentionMinCount; i++) {
      const uuid = uuids[i] as string;
      let created: number;
      try {
        created = Date.parse((await this.#remoteManifest(this.bucket, uuid)).created_at);
      } catch (e) {
        if (isAccessError(e)) throw e;
        created = uuidV7Time(uuid);
      }
      if (!(now - created >= minAgeMs)) break; // the rest are younger
      deleted.push(uuid);
      remaining--;
    }
    if (deleted.length > 0) {
      await this.bucket.deleteMany(deleted.map((u) => `${REMOTE_MANIFESTS}${u}.json`));
      for (const u of deleted) this.#manifests.get(this.bucket)?.delete(u);
      this.#log('info', `remote retention deleted ${deleted.length} checkpoint(s)`, { deleted });
    }
    // files: referenced by no remaining manifest and older than the grace period
    const referenced = new Set<string>();
    for (const uuid of await this.#manifestUuids(this.bucket)) {
      try {
        for (const f of manifestFiles(await this.#remoteManifest(this.bucket, uuid))) referenced.add(f.hash);
      } catch (e) {
        if (isAccessError(e)) throw e;
        this.#log('warn', `remote retention keeps every file: manifest ${uuid} is unreadable`, { uuid });
        return { deletedCheckpoints: deleted, deletedFiles: 0, keptCheckpoints: remaining };
      }
    }
    const doomed: string[] = [];
    for await (const o of this.bucket.list(REMOTE_FILES)) {
      const hash = o.key.slice(REMOTE_FILES.length);
      if (referenced.has(hash)) continue;
      const modified = o.lastModified?.getTime();
      if (modified === undefined || now - modified < this.#graceMs) continue;
      doomed.push(o.key);
    }
    if (doomed.length > 0) await this.bucket.deleteMany(doomed);
    return { deletedCheckpoints: deleted, deletedFiles: doomed.length, keptCheckpoints: remaining };
  }
}

/**
 * Whether a failed download proves the checkpoint corrupt: a complete file whose size or hash differs from its
 * manifest, a file or manifest missing from the store, or a manifest that is not a manifest. Transient, access
 * and local errors prove nothing about the checkpoint.
 */
export function isCorruption(e: unknown): boolean {
  return (
    isServiceError(e, 'ObjectChecksumMismatch') ||
    isServiceError(e, 'ObjectNotFound') ||
    isServiceError(e, 'CheckpointCorrupt')
  );
}

function fetchError(e: unknown, store: ObjectStore): ServiceError {
  const err = syncError(e);
  return new ServiceError(
    'CheckpointFetchError',
    `Error fetching checkpoint from object store ${store.description}: ${err.message}`,
    {
      ...err.details,
      cause_code: err.errorCode,
    },
  );
}

/** A ServiceError for anything a sync step throws (storage errors are ServiceErrors and keep their code). */
export function syncError(e: unknown): ServiceError {
  return toServiceError(e);
}
