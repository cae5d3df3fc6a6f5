/**
 * `storage.backend.config.sync`: Feldera's `SyncConfig`, validated once, early (at config load, before anything
 * starts), into {@link SyncSettings} the transfer engine and synchronizer run on.
 *
 * Every field of the product documents is accepted with its documented default; unknown fields are tolerated
 * (Feldera does the same) and listed in {@link SyncSettings.unknownFields} so the caller can warn. Each tuning
 * field drives the transfer engine (transfer.ts): `transfers` = files moved at once, `checkers` = HEAD/LIST
 * checks at once, `ignore_checksum` = size-only verification, `multi_thread_streams`/`multi_thread_cutoff` =
 * ranged parallel download of large files, `upload_concurrency` = multipart parts in flight.
 *
 * `flags` takes the rclone flags that mean something here ({@link SUPPORTED_FLAGS}), as `["--flag", "value"]`
 * or `["--flag=value"]`; anything else is refused with the list of supported ones, and so is an `--s3-*` flag
 * with `provider: "AzureBlob"` or an `--azureblob-*` flag with an S3 provider.
 *
 * `provider: "AzureBlob"` selects Azure Blob Storage: `bucket` is `container/prefix` (Azure's container naming
 * rules), `access_key`/`secret_key` are the account name and key, or `sas_token`, or none: a connection string in
 * AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential (with `account` or `endpoint` naming the account).
 * `sas_token` is a secret like `secret_key`: never shown. A `connection_string` field is refused (it would hold
 * the account key in a field the manager does not treat as a secret). `customer_key_secret` (AzureBlob only) is
 * a customer-provided encryption key (the base64 of 32 bytes), sent with every blob read and write; a secret
 * (its name is one the manager and the logger redact), it needs an https:// endpoint.
 *
 * `endpoint: "file:///abs/dir"` (or `file:relative/dir`, resolved against `baseDir`) selects the local-directory
 * store: the bucket is a directory under it. Credentials never appear in messages; an endpoint may carry
 * userinfo (`http://user:pass@host:9000`, accepted as rclone does, not used for signing), which
 * {@link describeSync} and every message show redacted (types/redact-url.ts).
 *
 * `bucket` and `read_bucket` follow {@link checkBucket}'s path rules, checked here so that create, update,
 * start and `pipeline run` all refuse a bad one with `InvalidSyncConfig` naming the field.
 */
import { isAbsolute, resolve as resolvePath, sep } from 'node:path';
import { FtConfigError } from './config-error.ts';
import { redactUrlCredentials } from './redact-url.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface SyncFlags {
  readonly serverSideEncryption?: string;
  readonly sseKmsKeyId?: string;
  readonly storageClass?: string;
  readonly acl?: string;
  /** Bytes per second for all transfers together (null: unlimited). */
  readonly bwlimit?: number;
  /** Multipart part size (`--s3-chunk-size`). */
  readonly chunkSize?: number;
  /** Files at least this large are uploaded in parts (`--s3-upload-cutoff`). */
  readonly uploadCutoff?: number;
  /** Force path-style (true) or virtual-host (false) addressing. */
  readonly forcePathStyle?: boolean;
  /** Retries of one object-store request after a transient failure (`--low-level-retries`). */
  readonly lowLevelRetries?: number;
  /** Sleep before the first retry, in ms, doubled for each next one (`--retries-sleep`). */
  readonly retriesSleepMs?: number;
  /** A request or response body idle this long (ms) is abandoned as transient (`--timeout`). */
  readonly timeoutMs?: number;
  /** Connect timeout in ms (`--contimeout`). */
  readonly connectTimeoutMs?: number;
  /** Azure Blob access tier of uploaded blobs: `Hot`, `Cool` or `Cold` (`--azureblob-access-tier`). */
  readonly azureAccessTier?: string;
  /** Azure Blob encryption scope of uploaded blobs (`--azureblob-encryption-scope`). */
  readonly azureEncryptionScope?: string;
}

export interface SyncSettings {
  readonly endpoint: string | null;
  /** When `endpoint` is a `file:` URL: the directory that holds the buckets. */
  readonly localRoot: string | null;
  readonly bucket: string;
  readonly region: string | null;
  readonly provider: string | null;
  readonly accessKey: string | null;
  readonly secretKey: string | null;
  /** AzureBlob: the storage account name when no `access_key` is given (SAS or environment credentials). */
  readonly account: string | null;
  /** AzureBlob: a SAS token (secret). */
  readonly sasToken: string | null;
  /** AzureBlob: a customer-provided encryption key, base64 of 32 bytes (secret; `customer_key_secret`). */
  readonly customerKey: string | null;
  /**
   * AzureBlob: a storage connection string (secret), from AZURE_STORAGE_CONNECTION_STRING in the environment only
   * (the manager shows config fields not named like secrets), used when neither `access_key` nor `sas_token` is set.
   */
  readonly connectionString: string | null;
  /** `"latest"`, a checkpoint UUID, or null (start from local state only). */
  readonly startFromCheckpoint: 'latest' | string | null;
  readonly failIfNoCheckpoint: boolean;
  readonly standby: boolean;
  /** Seconds. */
  readonly pullInterval: number;
  /** Seconds between automatic pushes (null: none). */
  readonly pushInterval: number | null;
  readonly transfers: number;
  readonly checkers: number;
  readonly ignoreChecksum: boolean;
  readonly multiThreadStreams: number;
  /** Bytes. */
  readonly multiThreadCutoff: number;
  readonly uploadConcurrency: number;
  readonly optimizeDownloadResources: boolean;
  readonly flags: SyncFlags;
  /** The flags as given (for display). */
  readonly rawFlags: readonly string[];
  readonly retentionMinCount: number;
  /** Days. */
  readonly retentionMinAge: number;
  readonly readBucket: string | null;
  /**
   * Holdfast extension: let a store without conditional writes (`If-None-Match`/`If-Match`) hold ownership
   * anyway, with a plain read-then-write check. Unsafe: a former owner racing a takeover can overwrite it.
   */
  readonly allowUnsafeOwnership: boolean;
  /** Fields the config had that Holdfast does not know (tolerated; the caller warns). */
  readonly unknownFields: readonly string[];
}

const KNOWN = new Set([
  'endpoint',
  'bucket',
  'region',
  'provider',
  'access_key',
  'secret_key',
  'start_from_checkpoint',
  'fail_if_no_checkpoint',
  'standby',
  'pull_interval',
  'push_interval',
  'transfers',
  'checkers',
  'ignore_checksum',
  'multi_thread_streams',
  'multi_thread_cutoff',
  'upload_concurrency',
  'optimize_download_resources',
  'flags',
  'retention_min_count',
  'retention_min_age',
  'read_bucket',
  'allow_unsafe_ownership',
  'account',
  'sas_token',
  'connection_string',
  'customer_key_secret',
]);

/** Whether a `provider` names Azure Blob Storage (case-insensitive, like every provider name). */
export function isAzureProvider(provider: string | null | undefined): boolean {
  return typeof provider === 'string' && provider.toLowerCase() === 'azureblob';
}

/** rclone flags with a meaning here: name → whether it takes a value. */
export const SUPPORTED_FLAGS: Readonly<Record<string, 'value' | 'bool'>> = {
  '--s3-server-side-encryption': 'value',
  '--s3-sse-kms-key-id': 'value',
  '--s3-storage-class': 'value',
  '--s3-acl': 'value',
  '--bwlimit': 'value',
  '--s3-chunk-size': 'value',
  '--s3-upload-cutoff': 'value',
  '--s3-force-path-style': 'bool',
  '--low-level-retries': 'value',
  '--retries-sleep': 'value',
  '--timeout': 'value',
  '--contimeout': 'value',
  '--azureblob-chunk-size': 'value',
  '--azureblob-upload-cutoff': 'value',
  '--azureblob-access-tier': 'value',
  '--azureblob-encryption-scope': 'value',
};

/**
 * An rclone duration: `500ms`, `10s`, `1m30s`, `2h`; a bare number means seconds. Returns milliseconds, or null
 * when malformed.
 */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(t)) return Number(t) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = t;
  if (rest === '') return null;
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (m === null) return null;
    total += Number(m[1]) * (units[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return total;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * An rclone size: a number with an optional suffix `B`, `k`/`K`, `M`, `G`, `T`, `P` (powers of 1024; an optional
 * `i`/`iB` is accepted, e.g. `10MiB`). Like rclone, a bare number means KiB. Returns null when malformed.
 */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgtp])?(?:i?b)?\s*$/i.exec(text);
  if (m === null) return null;
  const unit = m[2] === undefined ? 1024 : (SIZE_UNITS[m[2].toLowerCase()] as number);
  const n = Number(m[1]) * unit;
  return Number.isFinite(n) ? Math.round(n) : null;
}

function invalid(field: string, message: string): FtConfigError {
  return new FtConfigError('InvalidSyncConfig', `invalid sync config: ${message}`, { field });
}

function optString(o: Record<string, unknown>, field: string): string | null {
  const v = o[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(field, `\`${field}\` must be a string, got ${typeName(v)}`);
  return v;
}

function optBool(o: Record<string, unknown>, field: string, dflt: boolean): boolean {
  const v = o[field];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw invalid(field, `\`${field}\` must be true or false, got ${typeName(v)}`);
  return v;
}

function optInt(o: Record<string, unknown>, field: string, dflt: number, min: number, max: number): number {
  const v = o[field];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw invalid(field, `\`${field}\` must be an integer, got ${typeName(v)}`);
  if (v < min || v > max) throw invalid(field, `\`${field}\` must be between ${min} and ${max}, got ${v}`);
  return v;
}

function accessKeyGiven(o: Record<string, unknown>): boolean {
  return typeof o.access_key === 'string' && o.access_key !== '';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string ${JSON.stringify(v)}` : `${typeof v} ${JSON.stringify(v)}`;
}

/** Parses `flags` (rclone style) into {@link SyncFlags}. */
export function parseFlags(raw: unknown): { flags: SyncFlags; rawFlags: string[] } {
  if (raw === undefined || raw === null) return { flags: {}, rawFlags: [] };
  if (!Array.isArray(raw) || !raw.every((f) => typeof f === 'string'))
    throw invalid('flags', '`flags` must be an array of strings, e.g. ["--s3-storage-class", "STANDARD_IA"]');
  const list = raw as string[];
  const out: Record<string, string | number | boolean> = {};
  const supported = Object.keys(SUPPORTED_FLAGS).join(', ');
  for (let i = 0; i < list.length; i++) {
    const item = (list[i] as string).trim();
    const eq = item.indexOf('=');
    const name = eq >= 0 ? item.slice(0, eq) : item;
    const kind = SUPPORTED_FLAGS[name];
    if (kind === undefined)
      throw invalid(
        'flags',
        `flag ${JSON.stringify(name)} is not supported by Holdfast's transfer engine; supported flags: ${supported} (the tuning options have their own fields: transfers, checkers, ignore_checksum, multi_thread_streams, multi_thread_cutoff, upload_concurrency)`,
      );
    let value: string;
    if (eq >= 0) value = item.slice(eq + 1);
    else if (kind === 'bool') {
      const next = list[i + 1];
      if (next === 'true' || next === 'false') {
        value = next;
        i++;
      } else value = 'true';
    } else {
      const next = list[i + 1];
      if (next === undefined || next.startsWith('--'))
        throw invalid('flags', `flag ${name} needs a value, e.g. ["${name}", "VALUE"] or ["${name}=VALUE"]`);
      value = next;
      i++;
    }
    switch (name) {
      case '--s3-server-side-encryption':
        if (value !== 'AES256' && value !== 'aws:kms' && value !== 'aws:kms:dsse')
          throw invalid(
            'flags',
            `${name} must be "AES256", "aws:kms" or "aws:kms:dsse", got ${JSON.stringify(value)}`,
          );
        out.serverSideEncryption = value;
        break;
      case '--s3-sse-kms-key-id':
        out.sseKmsKeyId = value;
        break;
      case '--s3-storage-class':
        if (!/^[A-Z_]+$/.test(value))
          throw invalid(
            'flags',
            `${name} must be an S3 storage class such as STANDARD_IA, got ${JSON.stringify(value)}`,
          );
        out.storageClass = value;
        break;
      case '--s3-acl':
        if (!/^[a-z-]+$/.test(value))
          throw invalid(
            'flags',
            `${name} must be a canned ACL such as "private" or "bucket-owner-full-control"`,
          );
        out.acl = value;
        break;
      case '--bwlimit': {
        if (value === 'off' || value === '0') break;
        const n = parseSize(value);
        if (n === null || n <= 0)
          throw invalid(
            'flags',
            `--bwlimit must be a rate such as "10M" (MiB/s) or "off"; rclone timetables and separate upload:download limits are not supported, got ${JSON.stringify(value)}`,
          );
        out.bwlimit = n;
        break;
      }
      case '--s3-chunk-size':
      case '--s3-upload-cutoff': {
        const n = parseSize(value);
        if (n === null || n < 5 * 1024 * 1024)
          throw invalid('flags', `${name} must be a size of at least 5M, got ${JSON.stringify(value)}`);
        if (name === '--s3-chunk-size') out.chunkSize = n;
        else out.uploadCutoff = n;
        break;
      }
      case '--low-level-retries': {
        if (!/^\d+$/.test(value.trim()) || Number(value) > 100)
          throw invalid(
            'flags',
            `${name} must be a whole number from 0 to 100, got ${JSON.stringify(value)}`,
          );
        out.lowLevelRetries = Number(value);
        break;
      }
      case '--retries-sleep':
      case '--timeout':
      case '--contimeout': {
        const ms = parseDuration(value);
        if (ms === null || (name !== '--retries-sleep' && ms <= 0))
          throw invalid(
            'flags',
            `${name} must be a duration such as "500ms", "10s" or "1m30s", got ${JSON.stringify(value)}`,
          );
        if (name === '--retries-sleep') out.retriesSleepMs = ms;
        else if (name === '--timeout') out.timeoutMs = ms;
        else out.connectTimeoutMs = ms;
        break;
      }
      case '--azureblob-chunk-size':
      case '--azureblob-upload-cutoff': {
        const n = parseSize(value);
        if (n === null || n < 64 * 1024 || n > 4000 * 1024 * 1024)
          throw invalid(
            'flags',
            `${name} must be a size from 64k to 4000M (Azure's largest block), got ${JSON.stringify(value)}`,
          );
        if (name === '--azureblob-chunk-size') out.chunkSize = n;
        else out.uploadCutoff = n;
        break;
      }
      case '--azureblob-access-tier': {
        const tier = { hot: 'Hot', cool: 'Cool', cold: 'Cold' }[value.toLowerCase()];
        if (tier === undefined)
          throw invalid(
            'flags',
            `${name} must be "hot", "cool" or "cold" (archived blobs cannot be read back without rehydration), got ${JSON.stringify(value)}`,
          );
        out.azureAccessTier = tier;
        break;
      }
      case '--azureblob-encryption-scope':
        if (!/^[A-Za-z0-9-]{3,63}$/.test(value))
          throw invalid('flags', `${name} must be an encryption scope name, got ${JSON.stringify(value)}`);
        out.azureEncryptionScope = value;
        break;
      case '--s3-force-path-style':
        if (value !== 'true' && value !== 'false')
          throw invalid('flags', `${name} takes true or false, got ${JSON.stringify(value)}`);
        out.forcePathStyle = value === 'true';
        break;
    }
  }
  return { flags: out as SyncFlags, rawFlags: list };
}

/**
 * Validates a `sync` object. `baseDir` resolves a relative `file:` endpoint.
 * @throws FtConfigError InvalidSyncConfig
 */
export function parseSyncConfig(raw: unknown, baseDir = process.cwd()): SyncSettings {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw invalid('sync', '`sync` must be an object with at least a `bucket`');
  const o = raw as Record<string, unknown>;
  const bucket = optString(o, 'bucket');
  if (bucket === null || bucket.replace(/\//g, '') === '')
    throw invalid(
      'bucket',
      '`bucket` is required: the bucket name and an optional prefix, e.g. "my-bucket/pipelines/orders"',
    );
  const endpoint = optString(o, 'endpoint');
  let localRoot: string | null = null;
  if (endpoint !== null && /^file:/i.test(endpoint)) {
    const path = endpoint.replace(/^file:(\/\/)?/i, '');
    if (path === '')
      throw invalid(
        'endpoint',
        '`endpoint` "file:" needs a directory, e.g. "file:///var/lib/holdfast-bucket"',
      );
    localRoot = isAbsolute(path) ? path : resolvePath(baseDir, path);
  }
  const provider = optString(o, 'provider');
  const azure = localRoot === null && isAzureProvider(provider);
  const kind: BucketKind =
    localRoot !== null
      ? 'dir'
      : azure
        ? 'azure'
        : endpoint === null && (provider === null || provider === '' || provider.toLowerCase() === 'aws')
          ? 'aws'
          : 's3';
  checkBucket('bucket', bucket, kind, localRoot);
  const readBucket = optString(o, 'read_bucket');
  if (readBucket !== null) checkBucket('read_bucket', readBucket, kind, localRoot);
  if (readBucket !== null && normBucket(readBucket) === normBucket(bucket))
    throw invalid('read_bucket', '`read_bucket` and `bucket` must point to different locations');
  let start: string | null = null;
  const sfc = o.start_from_checkpoint;
  // the first product document had a boolean: true meant "latest"
  if (sfc === true) start = 'latest';
  else if (sfc === false || sfc === undefined || sfc === null) start = null;
  else if (typeof sfc === 'string' && (sfc === 'latest' || UUID_RE.test(sfc.toLowerCase())))
    start = sfc.toLowerCase();
  else
    throw invalid(
      'start_from_checkpoint',
      `\`start_from_checkpoint\` must be a UUID string or the string "latest", got ${typeName(sfc)}`,
    );
  const standby = optBool(o, 'standby', false);
  if (standby && start === null)
    throw invalid(
      'standby',
      '`standby: true` needs `start_from_checkpoint`: "latest" to follow the newest checkpoint in the bucket, or a checkpoint UUID to hold that one',
    );
  const cutoffText = o.multi_thread_cutoff ?? '100M';
  if (typeof cutoffText !== 'string')
    throw invalid(
      'multi_thread_cutoff',
      `\`multi_thread_cutoff\` must be a string such as "100M", got ${typeName(cutoffText)}`,
    );
  const cutoff = parseSize(cutoffText);
  if (cutoff === null || cutoff <= 0)
    throw invalid(
      'multi_thread_cutoff',
      `\`multi_thread_cutoff\` ${JSON.stringify(cutoffText)} is not a size: use a number with a suffix k, M, G or T, e.g. "100M"`,
    );
  const pushInterval =
    o.push_interval === undefined || o.push_interval === null
      ? null
      : optInt(o, 'push_interval', 0, 1, 31_536_000);
  const { flags, rawFlags } = parseFlags(o.flags);
  for (const f of rawFlags) {
    const name = f.trim().split('=')[0] as string;
    if (azure ? name.startsWith('--s3-') : name.startsWith('--azureblob-'))
      throw invalid(
        'flags',
        `flag ${name} is for ${azure ? 'S3' : 'Azure Blob (`provider: "AzureBlob"`)'} and does nothing with provider ${JSON.stringify(provider ?? 'AWS')}`,
      );
  }
  const account = optString(o, 'account');
  const sasToken = optString(o, 'sas_token');
  if (o.connection_string !== undefined && o.connection_string !== null)
    throw invalid(
      'connection_string',
      'a connection string holds the account key: put it in the environment of `holdfast server` (or of `holdfast pipeline run`) as AZURE_STORAGE_CONNECTION_STRING instead of in the pipeline config, or use `access_key`/`secret_key` or `sas_token`',
    );
  // from the environment only (see above); what the pipeline process will see, as it inherits the environment
  const envConnection = azure ? process.env.AZURE_STORAGE_CONNECTION_STRING || null : null;
  const connectionString =
    accessKeyGiven(o) || optString(o, 'sas_token') || endpoint !== null ? null : envConnection;
  const customerKey = optString(o, 'customer_key_secret');
  if (!azure)
    for (const [field, v] of [
      ['account', account],
      ['sas_token', sasToken],
      ['customer_key_secret', customerKey],
    ] as const)
      if (v !== null && v !== '')
        throw invalid(field, `\`${field}\` is an Azure Blob setting: use it with \`provider: "AzureBlob"\``);
  const accessKey = optString(o, 'access_key');
  const secretKey = optString(o, 'secret_key');
  if ((accessKey === null || accessKey === '') !== (secretKey === null || secretKey === ''))
    throw invalid(
      accessKey ? 'secret_key' : 'access_key',
      azure
        ? 'set both `access_key` (the storage account name) and `secret_key` (its key), or neither to use `sas_token` or the environment (AZURE_STORAGE_CONNECTION_STRING, or DefaultAzureCredential: AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, workload identity, managed identity)'
        : 'set both `access_key` and `secret_key`, or neither to use the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, RCLONE_S3_ACCESS_KEY_ID/RCLONE_S3_SECRET_ACCESS_KEY, web identity token (IRSA), profiles)',
    );
  if (azure) {
    if (accessKey && sasToken)
      throw invalid(
        'sas_token',
        'give one kind of Azure credential, not access_key/secret_key and sas_token',
      );
    if (!accessKey && !connectionString && endpoint === null && !account)
      throw invalid(
        'account',
        'Azure Blob needs the storage account: set `access_key` (account name) and `secret_key`, or `account` (with `sas_token` or credentials from the environment), or `endpoint`, or AZURE_STORAGE_CONNECTION_STRING in the environment',
      );
    if (customerKey) {
      const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(customerKey) ? Buffer.from(customerKey, 'base64') : null;
      if (bytes === null || bytes.length !== 32 || bytes.toString('base64') !== customerKey)
        throw invalid(
          'customer_key_secret',
          '`customer_key_secret` must be the base64 of a 256-bit (32-byte) AES key, e.g. the output of `openssl rand -base64 32` (the value is not shown)',
        );
      if (flags.azureEncryptionScope !== undefined)
        throw invalid(
          'customer_key_secret',
          'Azure takes either a customer-provided key or an encryption scope per blob, not both: drop `--azureblob-encryption-scope` or `customer_key_secret`',
        );
      if (endpoint !== null && !/^https:\/\//i.test(endpoint))
        throw invalid(
          'endpoint',
          'a customer-provided key (`customer_key_secret`) is sent only over https://: Azure refuses it over http, and the key must not travel in clear text; use an https:// `endpoint`',
        );
    }
    if (account && !/^[a-z0-9]{3,24}$/.test(account))
      throw invalid(
        'account',
        `\`account\` ${JSON.stringify(account)} is not a storage account name (3 to 24 lowercase letters and digits)`,
      );
  }
  return {
    endpoint,
    localRoot,
    bucket,
    region: optString(o, 'region'),
    provider,
    accessKey: accessKey || null,
    secretKey: secretKey || null,
    account: account || null,
    sasToken: sasToken || null,
    customerKey: customerKey || null,
    connectionString: connectionString || null,
    startFromCheckpoint: start,
    failIfNoCheckpoint: optBool(o, 'fail_if_no_checkpoint', false),
    standby,
    pullInterval: optInt(o, 'pull_interval', 10, 1, 86_400),
    pushInterval,
    transfers: optInt(o, 'transfers', 20, 1, 255),
    checkers: optInt(o, 'checkers', 20, 1, 255),
    ignoreChecksum: optBool(o, 'ignore_checksum', false),
    multiThreadStreams: optInt(o, 'multi_thread_streams', 10, 1, 255),
    multiThreadCutoff: cutoff,
    uploadConcurrency: optInt(o, 'upload_concurrency', 10, 1, 255),
    optimizeDownloadResources: optBool(o, 'optimize_download_resources', true),
    flags,
    rawFlags,
    retentionMinCount: optInt(o, 'retention_min_count', 10, 1, 4_294_967_295),
    retentionMinAge: optInt(o, 'retention_min_age', 30, 0, 4_294_967_295),
    readBucket,
    allowUnsafeOwnership: optBool(o, 'allow_unsafe_ownership', false),
    unknownFields: Object.keys(o).filter((k) => !KNOWN.has(k)),
  };
}

/** Where a bucket string points: AWS S3 itself, another S3-compatible service, or a local directory. */
type BucketKind = 'aws' | 's3' | 'azure' | 'dir';

const AWS_BUCKET_RE = /^[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?$/;
const S3_COMPAT_BUCKET_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,253}[A-Za-z0-9])?$/;

/**
 * The path rules of `bucket` and `read_bucket`: `name` or `name/prefix/...`, relative (no leading `/`), no
 * empty, `.` or `..` segments (one trailing `/` is tolerated), no backslash or control character; the first
 * segment is a bucket name (AWS: S3's naming rules for the characters, 63 at most, not an IP address; other
 * S3-compatible services: letters, digits, `.`, `-`, `_`); with a `file:` endpoint the resolved directory stays
 * inside the endpoint's directory.
 */
function checkBucket(field: string, value: string, kind: BucketKind, localRoot: string | null): void {
  const shown = JSON.stringify(value);
  const fail = (why: string) =>
    invalid(
      field,
      `\`${field}\` ${shown} ${why}; use a bucket name and an optional prefix, e.g. "my-bucket/pipelines/orders"`,
    );
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) throw fail('contains a control character');
  if (value.includes('\\')) throw fail('contains a backslash ("\\"): separate segments with "/"');
  if (value.startsWith('/')) throw fail('starts with "/": it is relative to the endpoint');
  const segments = (value.endsWith('/') ? value.slice(0, -1) : value).split('/');
  if (segments.some((s) => s === '')) throw fail('has an empty segment ("//")');
  if (segments.some((s) => s === '.' || s === '..'))
    throw fail('has a "." or ".." segment: a bucket path cannot leave its bucket');
  const name = segments[0] as string;
  if (kind === 'aws') {
    if (!AWS_BUCKET_RE.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name))
      throw fail(
        `does not start with a valid S3 bucket name (${JSON.stringify(name)}: lowercase letters, digits, "." and "-", starting and ending with a letter or digit, at most 63 characters, not an IP address)`,
      );
  } else if (kind === 'azure') {
    if (!/^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/.test(name))
      throw fail(
        `does not start with a valid Azure container name (${JSON.stringify(name)}: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit)`,
      );
  } else if (kind === 's3') {
    if (!S3_COMPAT_BUCKET_RE.test(name))
      throw fail(
        `does not start with a valid bucket name (${JSON.stringify(name)}: letters, digits, ".", "-" and "_", starting and ending with a letter or digit)`,
      );
  } else if (localRoot !== null) {
    const root = resolvePath(localRoot);
    const dir = resolvePath(root, ...segments);
    if (dir === root || !dir.startsWith(root.endsWith(sep) ? root : root + sep))
      throw fail(`resolves outside the endpoint's directory ${root}`);
  }
}

function normBucket(b: string): string {
  return b.replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
}

/** The sync settings as they may be shown (no secrets). */
export function describeSync(s: SyncSettings): Record<string, unknown> {
  return {
    bucket: s.bucket,
    read_bucket: s.readBucket,
    endpoint: s.endpoint === null ? null : redactUrlCredentials(s.endpoint),
    provider: s.provider,
    region: s.region,
    credentials:
      s.connectionString !== null
        ? 'AZURE_STORAGE_CONNECTION_STRING'
        : s.sasToken !== null
          ? 'sas_token'
          : s.accessKey !== null
            ? 'access_key/secret_key'
            : 'environment',
    ...(s.account === null ? {} : { account: s.account }),
    ...(s.customerKey === null ? {} : { encryption: 'customer-provided key' }),
    start_from_checkpoint: s.startFromCheckpoint,
    push_interval: s.pushInterval,
    flags: s.rawFlags,
  };
}
