/**
 * Job-done bodies shaped exactly as runpod-python's run_job / run_job_generator
 * (docs/runpod-protocol.md#result-posting and #error-shape).
 */
import { errorCode } from '../common/errors.js';
import { RUNPOD_SDK_VERSION } from './env.js';

export interface JobResult {
  output?: unknown;
  error?: unknown;
  stopPod?: true;
}

export interface WorkerIdentity {
  workerId: string;
  hostname: string;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A handler's return value -> job-done body. A dict loses `error` and `refresh_worker`; the rest
 * is `output` (dropped when empty); a truthy `error` is added as given and a truthy
 * `refresh_worker` (or the worker-level setting) adds `stopPod: true`. Anything else is `output`.
 */
export function shapeResult(value: unknown, refreshWorker = false): JobResult {
  let result: JobResult;
  if (isPlainObject(value)) {
    const { error, refresh_worker: refresh, ...rest } = value;
    result = {};
    if (Object.keys(rest).length > 0) result.output = rest;
    if (error) result.error = error;
    if (refresh) result.stopPod = true;
  } else {
    result = { output: value === undefined ? null : value };
  }
  if (refreshWorker) result.stopPod = true;
  return result;
}

/** Who reports a failure outside the platform (local server, one-shot). */
const LOCAL: WorkerIdentity = { workerId: process.env.RUNPOD_POD_ID ?? 'local', hostname: process.env.RUNPOD_POD_HOSTNAME ?? 'local' };

/**
 * The report of a failed job in every mode: text holding a JSON object
 * (docs/runpod-protocol.md#error-shape), error_type the stable HiggsError code (E_INPUT, E_OOM,
 * ...). No traceback: a stack only shows the worker's file paths, never anything a client can act
 * on.
 */
export function failureText(error: unknown, who: WorkerIdentity = LOCAL): string {
  return JSON.stringify({
    error_type: errorCode(error),
    error_message: error instanceof Error ? error.message : String(error),
    hostname: who.hostname,
    worker_id: who.workerId,
    runpod_version: RUNPOD_SDK_VERSION,
  });
}

/** A thrown error -> `{error: "<JSON string>"}` (a string, not a nested object). */
export function errorResult(error: unknown, who: WorkerIdentity, refreshWorker = false): JobResult {
  const result: JobResult = { error: failureText(error, who) };
  if (refreshWorker) result.stopPod = true;
  return result;
}

/** A generator handler that threw: a plain string in the SDK's "handler: <msg> \ntraceback: <trace>" shape, the error's name for its trace. */
export function streamErrorResult(error: unknown, refreshWorker = false): JobResult {
  const message = error instanceof Error ? `${errorCode(error)}: ${error.message}` : String(error);
  const trace = error instanceof Error ? error.name : typeof error;
  const result: JobResult = { error: `handler: ${message} \ntraceback: ${trace}` };
  if (refreshWorker) result.stopPod = true;
  return result;
}

/** A yielded part with a truthy `error` ends the stream: strings pass through, the rest is JSON. */
export function yieldedError(part: unknown): string | null {
  if (!isPlainObject(part) || !part.error) return null;
  return typeof part.error === 'string' ? part.error : JSON.stringify(part.error);
}
