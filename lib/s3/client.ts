/**
 * Audio delivery to S3 (or an S3-compatible store) for outputs too large for a RunPod result, or
 * asked for with `output: "s3"`: upload (multipart above one part), then a presigned GET URL.
 *
 * Design: createS3Delivery returns a delivery even when the worker has no bucket, because a job
 * can always bring its own `s3Config`; such an upload then fails with a clear E_INPUT. It returns
 * null only when per-job buckets are turned off (`allowJobConfig: false`) and the environment
 * names no bucket, i.e. when no upload could ever succeed.
 *
 * Environment: HIGGS_S3_BUCKET (else the bucket in BUCKET_ENDPOINT_URL's host or path),
 * BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID + BUCKET_SECRET_ACCESS_KEY (else the AWS default
 * chain), HIGGS_S3_REGION (else the endpoint's region, AWS_REGION, AWS_DEFAULT_REGION,
 * us-east-1), HIGGS_S3_PREFIX (default "higgs-audio"), HIGGS_S3_URL_EXPIRES (seconds, default 3600),
 * HIGGS_S3_ALLOWED_ENDPOINTS (job endpoints allowed on private addresses).
 *
 * Every upload ends: a connection must open within connectTimeoutMs, each request (one part)
 * answer within requestTimeoutMs, each retried up to 3 attempts by the SDK, and the whole upload
 * finish within totalTimeoutMs; then the job fails with an S3 error.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AudioDelivery } from './delivery.js';
import { readS3Settings, resolveTarget, type S3Target } from './config.js';
import { checkEndpointHost, guardedAgents } from './guard.js';
import { s3Failure } from './errors.js';
import { audioFileType, objectKey } from './key.js';

export interface S3DeliveryOptions {
  /** Key prefix (default HIGGS_S3_PREFIX or "higgs-audio"); a job's s3Config.objectPath replaces it. */
  prefix?: string;
  /** Presigned URL lifetime in seconds (default HIGGS_S3_URL_EXPIRES or 3600, at most 7 days). */
  expiresInSeconds?: number;
  /** Multipart part size (default 8 MiB; S3 needs at least 5 MiB). */
  partSizeBytes?: number;
  /** Parts in flight at once (default 4). */
  queueSize?: number;
  /** Accept a job's own s3Config (default true). */
  allowJobConfig?: boolean;
  /** Opening a connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Each request, i.e. each part of a multipart upload (default 120 s). */
  requestTimeoutMs?: number;
  /** The whole upload, retries included (default 10 min). */
  totalTimeoutMs?: number;
  /** Clock for the date in keys (tests). */
  now?: () => Date;
}

const MIN_PART = 5 * 1024 * 1024;
const DEFAULT_PART = 8 * 1024 * 1024;
export const S3_TIMEOUTS = { connectTimeoutMs: 10_000, requestTimeoutMs: 120_000, totalTimeoutMs: 600_000 } as const;

type Timeouts = { connectTimeoutMs: number; requestTimeoutMs: number; totalTimeoutMs: number };

function makeClient(target: S3Target, timeouts: Timeouts): S3Client {
  const custom = target.endpoint !== undefined;
  return new S3Client({
    region: target.region,
    endpoint: target.endpoint,
    credentials: target.credentials,
    // Bucket-in-host needs DNS per bucket; S3 look-alikes (MinIO, R2, B2, ...) expect paths.
    forcePathStyle: custom,
    followRegionRedirects: !custom,
    // Newer default checksums (CRC32 trailers) are not understood by many S3 look-alikes.
    requestChecksumCalculation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    responseChecksumValidation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    maxAttempts: 3,
    // A black-holed endpoint must fail the job, not hang it: without throwOnRequestTimeout the
    // request timeout only logs a warning.
    requestHandler: {
      connectionTimeout: timeouts.connectTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      throwOnRequestTimeout: true,
      ...(target.guarded ? guardedAgents() : {}),
    },
  });
}

export function createS3Delivery(env: Record<string, string | undefined> = process.env, options: S3DeliveryOptions = {}): AudioDelivery | null {
  const settings = readS3Settings(env, options);
  const allowJobConfig = options.allowJobConfig ?? true;
  if (!allowJobConfig && !settings.bucket && !settings.problem) return null;
  const partSize = Math.max(MIN_PART, options.partSizeBytes ?? DEFAULT_PART);
  const queueSize = Math.max(1, options.queueSize ?? 4);
  const now = options.now ?? (() => new Date());
  const timeouts: Timeouts = {
    connectTimeoutMs: options.connectTimeoutMs ?? S3_TIMEOUTS.connectTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? S3_TIMEOUTS.requestTimeoutMs,
    totalTimeoutMs: options.totalTimeoutMs ?? S3_TIMEOUTS.totalTimeoutMs,
  };
  // Masked in every message, whichever credential source was used.
  const envSecrets = [
    env.BUCKET_ACCESS_KEY_ID,
    env.BUCKET_SECRET_ACCESS_KEY,
    process.env.AWS_ACCESS_KEY_ID,
    process.env.AWS_SECRET_ACCESS_KEY,
    process.env.AWS_SESSION_TOKEN,
  ];
  // The worker's client is kept across jobs (sockets, cached role credentials); job clients are not.
  let workerClient: S3Client | undefined;

  /** The target of a job, its endpoint checked when the job chose it (E_INPUT when refused). */
  const checkedTarget = async (s3Config: unknown): Promise<S3Target> => {
    const target = resolveTarget(settings, s3Config, allowJobConfig);
    if (target.guarded && target.endpoint !== undefined) await checkEndpointHost(new URL(target.endpoint));
    return target;
  };

  return {
    async check(s3Config) {
      await checkedTarget(s3Config);
    },

    async upload(audio, meta) {
      // Checked again: a name may resolve elsewhere by now (the sockets test what they reach, too).
      const target = await checkedTarget(meta.s3Config);
      const key = objectKey(target.prefix, meta.jobId, meta.format, now());
      const client = target.fromJob ? makeClient(target, timeouts) : (workerClient ??= makeClient(target, timeouts));
      const failure = {
        bucket: target.bucket,
        endpoint: target.endpoint,
        fromJob: target.fromJob,
        secrets: [...envSecrets, target.credentials?.accessKeyId, target.credentials?.secretAccessKey],
      };
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), timeouts.totalTimeoutMs);
      try {
        try {
          await new Upload({
            client,
            params: { Bucket: target.bucket, Key: key, Body: audio, ContentType: audioFileType(meta.format).type },
            partSize,
            queueSize,
            leavePartsOnError: false, // abort the multipart upload so no orphan parts are billed
            abortController: deadline,
          }).done();
        } catch (err) {
          throw s3Failure(deadline.signal.aborted ? { name: 'DeadlineError' } : err, { ...failure, action: 'upload', totalSeconds: timeouts.totalTimeoutMs / 1e3 });
        }
        let url: string;
        try {
          const command = new GetObjectCommand({ Bucket: target.bucket, Key: key });
          url = await getSignedUrl(client, command, { expiresIn: settings.expiresInSeconds });
        } catch (err) {
          throw s3Failure(err, { ...failure, action: 'presign' });
        }
        return { url, key, bucket: target.bucket, expiresInSeconds: settings.expiresInSeconds };
      } finally {
        clearTimeout(timer);
        if (target.fromJob) client.destroy();
      }
    },
  };
}
