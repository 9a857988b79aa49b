/**
 * S3 failures as HiggsError with a message an operator can act on. Messages never carry keys,
 * secrets, session tokens or signed query strings: known secrets are masked, URL queries are cut,
 * and the SDK error (whose fields may echo the access key id) is not kept as `cause`.
 */
import { HiggsError } from '../common/errors.js';
import { refusalIn } from './guard.js';

/** Socket-level codes: the endpoint could not be reached at all. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** Masks each secret and strips query strings (X-Amz-Credential, X-Amz-Signature, ...) from URLs. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text.replace(/(https?:\/\/[^\s?"'<>]*)\?[^\s"'<>]*/g, '$1?…');
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}

function networkCode(err: unknown): string | undefined {
  // Node 20 wraps dual-stack connect failures in an AggregateError that keeps the code at the top.
  for (let e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
    const inner = e.errors?.[0] as typeof e | undefined;
    if (inner && typeof inner.code === 'string' && NETWORK_CODES.has(inner.code)) return inner.code;
    e = e.cause as typeof e | undefined;
  }
  return undefined;
}

export interface FailureContext {
  action: 'upload' | 'presign';
  bucket: string;
  endpoint?: string;
  /** The job's own s3Config: a 4xx, unreachable or refused endpoint is the request's fault (E_INPUT). */
  fromJob: boolean;
  secrets: readonly (string | undefined)[];
  /** The whole-upload deadline, for its message. */
  totalSeconds?: number;
}

export function s3Failure(err: unknown, ctx: FailureContext): HiggsError {
  const refused = refusalIn(err);
  if (refused) return new HiggsError('E_INPUT', refused.message);
  const e = (err ?? {}) as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const target = ctx.endpoint ?? 'AWS S3';
  const net = networkCode(err);
  let detail: string;
  // Timeouts first: the SDK's request timeout also carries the code ETIMEDOUT.
  if (e.name === 'TimeoutError') {
    detail = `the S3 endpoint at ${target} did not answer in time (3 attempts)`;
  } else if (e.name === 'DeadlineError') {
    detail = `the upload to ${target} did not finish within ${ctx.totalSeconds ?? '?'} s`;
  } else if (net) {
    detail = `cannot reach the S3 endpoint at ${target} (${net})`;
  } else if (status !== undefined && status >= 300 && status < 400) {
    detail = `the S3 endpoint at ${target} answered with a redirect (HTTP ${status}), which is not followed`;
  } else {
    const name = typeof e.name === 'string' && e.name !== 'Error' ? e.name : 'Error';
    const msg = typeof e.message === 'string' && e.message && e.message !== name ? `: ${e.message.replace(/\.?\s*$/, '')}` : '';
    detail = `${name}${status ? ` (HTTP ${status})` : ''}${msg} (endpoint ${target})`;
  }
  const slow = e.name === 'TimeoutError' || e.name === 'DeadlineError';
  const clientSide = net !== undefined || slow || (status !== undefined && status >= 300 && status < 500) || e.name === 'CredentialsProviderError';
  const code = ctx.fromJob && clientSide ? 'E_INPUT' : 'E_INTERNAL';
  const verb = ctx.action === 'upload' ? 'upload to' : 'URL signing for';
  const message = redact(`S3 ${verb} bucket "${ctx.bucket}" failed: ${detail}`, ctx.secrets);
  return new HiggsError(code, message);
}
