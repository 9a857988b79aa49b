/**
 * Where an upload goes: the worker's settings (env) or a job's own `s3Config`
 * ({accessId, accessSecret, bucketName, endpointUrl, objectPath?}, docs/runpod-protocol.md#job-input).
 *
 * A job s3Config is self-contained: it must bring its own keys, so the worker's credentials are
 * never sent to an endpoint or bucket that a job chose. Without one, the worker's settings apply:
 * BUCKET_ENDPOINT_URL / BUCKET_ACCESS_KEY_ID / BUCKET_SECRET_ACCESS_KEY (RunPod's names) and
 * HIGGS_S3_*; without BUCKET_* keys the AWS SDK's default chain finds credentials (AWS_* env,
 * shared files, IAM role, web identity). A job's endpoint may not reach private addresses unless
 * HIGGS_S3_ALLOWED_ENDPOINTS names its host (s3-address-policy.ts, s3-guard.ts).
 */
import { HiggsError } from '../common/errors.js';
import { isAllowedEndpoint, parseAllowedEndpoints, type AllowedEndpoint } from './address-policy.js';
import { BUCKET_NAME, parseEndpoint, type ParsedEndpoint } from './endpoint.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3Target {
  bucket: string;
  /** Undefined: AWS's endpoint for `region`. */
  endpoint?: string;
  region: string;
  /** Undefined: the SDK's default credential chain. */
  credentials?: S3Credentials;
  prefix: string;
  /** True when the job's s3Config chose this target (its failures are the request's fault). */
  fromJob: boolean;
  /** A job endpoint the operator did not allow: it must resolve and connect to public addresses only. */
  guarded: boolean;
}

/** The worker's settings, read once; `problem` is reported on each upload instead of thrown early. */
export interface S3Settings {
  bucket?: string;
  endpoint?: string;
  region: string;
  credentials?: S3Credentials;
  prefix: string;
  expiresInSeconds: number;
  /** HIGGS_S3_ALLOWED_ENDPOINTS: job endpoints that may be private (a MinIO beside the worker). */
  allowedEndpoints: AllowedEndpoint[];
  problem?: string;
}

export const DEFAULT_PREFIX = 'higgs-audio';
export const DEFAULT_EXPIRES_S = 3600;
/** SigV4 presigned URLs are valid for at most 7 days. */
export const MAX_EXPIRES_S = 7 * 24 * 3600;

const nonEmpty = (v: string | undefined): string | undefined => (v && v.trim() ? v.trim() : undefined);

export function readS3Settings(
  env: Record<string, string | undefined>,
  overrides: { prefix?: string; expiresInSeconds?: number } = {},
): S3Settings {
  const problems: string[] = [];
  let parsed: ParsedEndpoint = {};
  const endpointRaw = nonEmpty(env.BUCKET_ENDPOINT_URL);
  if (endpointRaw) {
    try {
      parsed = parseEndpoint(endpointRaw);
    } catch (e) {
      problems.push(`BUCKET_ENDPOINT_URL ${(e as Error).message}`);
    }
  }
  const bucket = nonEmpty(env.HIGGS_S3_BUCKET) ?? parsed.bucket;
  if (bucket && !BUCKET_NAME.test(bucket)) problems.push('HIGGS_S3_BUCKET is not a valid bucket name');

  const id = nonEmpty(env.BUCKET_ACCESS_KEY_ID);
  const secret = nonEmpty(env.BUCKET_SECRET_ACCESS_KEY);
  if (Boolean(id) !== Boolean(secret)) problems.push('BUCKET_ACCESS_KEY_ID and BUCKET_SECRET_ACCESS_KEY must be set together');

  let allowedEndpoints: AllowedEndpoint[] = [];
  try {
    allowedEndpoints = parseAllowedEndpoints(env.HIGGS_S3_ALLOWED_ENDPOINTS);
  } catch (e) {
    problems.push(`HIGGS_S3_ALLOWED_ENDPOINTS: ${(e as Error).message}`);
  }

  let expiresInSeconds = overrides.expiresInSeconds ?? DEFAULT_EXPIRES_S;
  const expiresRaw = nonEmpty(env.HIGGS_S3_URL_EXPIRES);
  if (overrides.expiresInSeconds === undefined && expiresRaw) expiresInSeconds = Number(expiresRaw);
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_EXPIRES_S) {
    problems.push(`HIGGS_S3_URL_EXPIRES must be a whole number of seconds from 1 to ${MAX_EXPIRES_S}`);
    expiresInSeconds = DEFAULT_EXPIRES_S;
  }

  return {
    bucket,
    endpoint: parsed.endpoint,
    region: nonEmpty(env.HIGGS_S3_REGION) ?? parsed.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1',
    credentials: id && secret ? { accessKeyId: id, secretAccessKey: secret } : undefined,
    prefix: overrides.prefix ?? env.HIGGS_S3_PREFIX ?? DEFAULT_PREFIX,
    expiresInSeconds,
    allowedEndpoints,
    problem: problems.length ? `S3 delivery is misconfigured: ${problems.join('; ')}` : undefined,
  };
}

const NO_BUCKET =
  'output: no S3 bucket is configured: send s3Config {accessId, accessSecret, bucketName, endpointUrl} with the job, ' +
  'or set HIGGS_S3_BUCKET or BUCKET_ENDPOINT_URL on the worker';

/** The target for one job. Throws HiggsError: E_INPUT for a bad s3Config, E_INTERNAL for bad worker settings. */
export function resolveTarget(settings: S3Settings, s3Config: unknown, allowJobConfig: boolean): S3Target {
  if (s3Config !== undefined && s3Config !== null) {
    if (!allowJobConfig) throw new HiggsError('E_INPUT', 's3Config: this worker does not accept per-job buckets');
    return jobTarget(settings, s3Config);
  }
  if (settings.problem) throw new HiggsError('E_INTERNAL', settings.problem);
  if (!settings.bucket) throw new HiggsError('E_INPUT', NO_BUCKET);
  return {
    bucket: settings.bucket,
    endpoint: settings.endpoint,
    region: settings.region,
    credentials: settings.credentials,
    prefix: settings.prefix,
    fromJob: false,
    guarded: false, // the worker's own endpoint is trusted
  };
}

function jobTarget(settings: S3Settings, s3Config: unknown): S3Target {
  const bad = (why: string) => new HiggsError('E_INPUT', `s3Config: ${why}`);
  if (typeof s3Config !== 'object' || Array.isArray(s3Config)) throw bad('must be an object {accessId, accessSecret, bucketName, endpointUrl}');
  const c = s3Config as Record<string, unknown>;
  for (const field of ['accessId', 'accessSecret', 'bucketName', 'endpointUrl', 'objectPath']) {
    if (c[field] !== undefined && c[field] !== null && typeof c[field] !== 'string') throw bad(`${field} must be a string`);
  }
  const str = (field: string) => nonEmpty(c[field] as string | undefined);
  const accessId = str('accessId');
  const accessSecret = str('accessSecret');
  if (!accessId || !accessSecret) throw bad('accessId and accessSecret are required (worker credentials are not used for a job bucket)');

  let parsed: ParsedEndpoint = {};
  const endpointUrl = str('endpointUrl');
  if (endpointUrl) {
    try {
      parsed = parseEndpoint(endpointUrl);
    } catch (e) {
      throw bad(`endpointUrl ${(e as Error).message}`);
    }
  }
  const allowed = endpointUrl !== undefined && isAllowedEndpoint(settings.allowedEndpoints, new URL(endpointUrl));
  const bucket = str('bucketName') ?? parsed.bucket;
  if (!bucket) throw bad('bucketName is required');
  if (!BUCKET_NAME.test(bucket)) throw bad('bucketName is not a valid bucket name');
  const objectPath = str('objectPath');
  return {
    bucket,
    endpoint: parsed.endpoint,
    region: parsed.region ?? settings.region,
    credentials: { accessKeyId: accessId, secretAccessKey: accessSecret },
    prefix: objectPath ?? settings.prefix,
    fromJob: true,
    guarded: !allowed,
  };
}
