/**
 * The object stores the end-to-end sync and standby tests run against, behind one shape: a started test server,
 * the `sync` config fields that point a pipeline at it (endpoint, provider, credentials), and a way to create
 * buckets (containers). s3rver (S3, SigV4 checked), moto_server (S3, when on PATH) and Azurite (Azure Blob,
 * shared key checked). Each is stopped by `stop()`.
 */
import { type AzuriteServer, startAzurite } from './azurite.ts';
import { findMotoServer, type S3Server, startMoto, startS3rver } from './s3rver.ts';

export type SyncTargetName = 's3rver' | 'moto' | 'azurite';

export interface SyncTarget {
  readonly name: SyncTargetName;
  /** `sync` fields naming the store and its credentials (add `bucket` and the rest). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Whether wrong credentials are refused. */
  readonly checksCredentials: boolean;
  /** The store's error code for a wrong secret (`SignatureDoesNotMatch`, `AuthorizationFailure`). */
  readonly authFailureCode: string;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

function fromS3(s3: S3Server): SyncTarget {
  return {
    name: s3.name,
    fields: { endpoint: s3.endpoint, provider: 'Other', access_key: s3.accessKey, secret_key: s3.secretKey },
    checksCredentials: s3.checksCredentials,
    authFailureCode: 'SignatureDoesNotMatch',
    createBucket: (n) => s3.createBucket(n),
    stop: () => s3.stop(),
  };
}

function fromAzurite(az: AzuriteServer): SyncTarget {
  return {
    name: 'azurite',
    fields: { endpoint: az.endpoint, provider: 'AzureBlob', access_key: az.account, secret_key: az.key },
    checksCredentials: true,
    authFailureCode: 'AuthorizationFailure',
    createBucket: (n) => az.createContainer(n),
    stop: () => az.stop(),
  };
}

export async function startSyncTarget(name: SyncTargetName): Promise<SyncTarget> {
  if (name === 'azurite') return fromAzurite(await startAzurite());
  return fromS3(await (name === 'moto' ? startMoto() : startS3rver()));
}

/** The targets available on this machine (moto only when `moto_server` is on PATH). */
export function availableSyncTargets(): SyncTargetName[] {
  return findMotoServer() === null ? ['s3rver', 'azurite'] : ['s3rver', 'moto', 'azurite'];
}
