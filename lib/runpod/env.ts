/**
 * The platform-mode environment of a RunPod worker and its URL templates
 * (docs/runpod-protocol.md#environment-variables and #url-templates).
 * Substitution is a literal string replace, as in runpod-python: no shell expansion.
 */
import { randomUUID } from 'node:crypto';

/** The runpod-python release this worker is wire-compatible with (sent as runpod_version). */
export const RUNPOD_SDK_VERSION = '1.12.0';

export interface PlatformEnv {
  /** Job-take URL with the worker id filled in; its presence selects platform mode. */
  takeUrl: string;
  /** Job-done template: worker id filled in, `$ID` left for the job id. */
  doneTemplate: string;
  /** Job-stream template, as doneTemplate. */
  streamTemplate: string;
  /** Ping URL with the worker id filled in; null: no heartbeat. */
  pingUrl: string | null;
  pingIntervalMs: number;
  apiKey: string;
  workerId: string;
  hostname: string;
  /** Set on the platform: logs go out as JSON lines. */
  endpointId: string | null;
  logLevel: string | null;
  uaIntegration: string | null;
  /** HIGGS_DRAIN_TIMEOUT_MS: after SIGTERM, how long running jobs may finish before they are failed and posted. */
  drainTimeoutMs: number;
}

/**
 * The platform's grace between SIGTERM and SIGKILL is not documented
 * (docs/runpod-protocol.md#platform-facts); Docker's default is 10 s. Jobs still running after
 * this are failed and posted while there is time.
 */
export const DEFAULT_DRAIN_TIMEOUT_MS = 8000;
const MAX_DRAIN_TIMEOUT_MS = 3_600_000;

const nonEmpty = (value: string | undefined): string | null => (value !== undefined && value.trim() !== '' ? value : null);

/** Platform mode is on when RUNPOD_WEBHOOK_GET_JOB is set (docs/runpod-protocol.md#modes). */
export function isPlatformMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return nonEmpty(env.RUNPOD_WEBHOOK_GET_JOB) !== null;
}

export function readPlatformEnv(env: NodeJS.ProcessEnv = process.env): PlatformEnv {
  const take = nonEmpty(env.RUNPOD_WEBHOOK_GET_JOB);
  if (take === null) throw new Error('RUNPOD_WEBHOOK_GET_JOB is not set: not running on the RunPod platform');
  // Python falls back to a random id; the heartbeat then stays off (it needs the real one).
  const podId = nonEmpty(env.RUNPOD_POD_ID);
  const workerId = podId ?? randomUUID();
  const apiKey = env.RUNPOD_AI_API_KEY ?? '';
  const ping = nonEmpty(env.RUNPOD_WEBHOOK_PING);
  const interval = Number(env.RUNPOD_PING_INTERVAL ?? '10000');
  // The SDK's own .env_example spells the stream variable RUNPOD_WEBHOOK_JOB_STREAM.
  const stream = env.RUNPOD_WEBHOOK_POST_STREAM ?? env.RUNPOD_WEBHOOK_JOB_STREAM ?? 'RUNPOD_WEBHOOK_POST_STREAM';
  const drainText = nonEmpty(env.HIGGS_DRAIN_TIMEOUT_MS);
  const drainTimeoutMs = drainText === null ? DEFAULT_DRAIN_TIMEOUT_MS : Number(drainText.trim());
  if (!Number.isInteger(drainTimeoutMs) || drainTimeoutMs < 0 || drainTimeoutMs > MAX_DRAIN_TIMEOUT_MS) {
    throw new Error(`HIGGS_DRAIN_TIMEOUT_MS must be a whole number of milliseconds from 0 to ${MAX_DRAIN_TIMEOUT_MS} (got ${JSON.stringify(drainText)})`);
  }
  return {
    takeUrl: fillWorker(take, workerId),
    doneTemplate: fillPod(env.RUNPOD_WEBHOOK_POST_OUTPUT ?? 'RUNPOD_WEBHOOK_POST_OUTPUT', workerId),
    streamTemplate: fillPod(stream, workerId),
    pingUrl: ping && apiKey && podId ? fillWorker(ping, workerId) : null,
    // Milliseconds; a floor keeps a typo from turning the heartbeat into a busy loop.
    pingIntervalMs: Number.isFinite(interval) && interval > 0 ? Math.max(100, interval) : 10_000,
    apiKey,
    workerId,
    hostname: nonEmpty(env.RUNPOD_POD_HOSTNAME) ?? 'unknown',
    endpointId: nonEmpty(env.RUNPOD_ENDPOINT_ID),
    logLevel: nonEmpty(env.RUNPOD_LOG_LEVEL) ?? nonEmpty(env.RUNPOD_DEBUG_LEVEL),
    uaIntegration: nonEmpty(env.RUNPOD_UA_INTEGRATION),
    drainTimeoutMs,
  };
}

/** GET_JOB and PING: both tokens mean the worker (RunPod's hub harness uses $RUNPOD_POD_ID). */
export function fillWorker(template: string, workerId: string): string {
  return fillPod(template, workerId).replaceAll('$ID', workerId);
}

/** POST_OUTPUT / POST_STREAM at start: only the pod token; `$ID` is the job, per request. */
function fillPod(template: string, workerId: string): string {
  return template.replaceAll('$RUNPOD_POD_ID', workerId);
}

/** A job-done or job-stream URL for one job. */
export function jobUrl(template: string, jobId: string): string {
  return template.replaceAll('$ID', jobId);
}

/**
 * Appends query parameters: `?` when the URL has no query yet, `&` otherwise (Python always
 * uses `&`, assuming the template's `?gpu=...`). Values are form-encoded (`,` becomes %2C).
 */
export function withQuery(url: string, params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.append(key, String(value));
  const text = query.toString();
  if (text === '') return url;
  return `${url}${url.includes('?') ? (url.endsWith('?') || url.endsWith('&') ? '' : '&') : '?'}${text}`;
}

/** Batch take: the same template with `/job-take/` -> `/job-take-batch/`. */
export const batchTakeUrl = (takeUrl: string): string => takeUrl.replace('/job-take/', '/job-take-batch/');

/** The stop channel: `/job-take/` -> `/job-stop/`; null when the template has no `/job-take/`. */
export const stopUrl = (takeUrl: string): string | null => (takeUrl.includes('/job-take/') ? takeUrl.replace('/job-take/', '/job-stop/') : null);
