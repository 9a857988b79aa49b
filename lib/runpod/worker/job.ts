/**
 * One taken job from handler to job-done: a whole result, or streamed parts and then the final
 * post (docs/runpod-protocol.md#result-posting and #streaming), with progress updates serialized
 * before it (docs/runpod-protocol.md#progress). A job aborted by the stop channel posts nothing,
 * as in the SDK; one aborted by the drain deadline (a HiggsError as the abort reason) posts that
 * error.
 */
import type { TtsHandler } from '../handler.js';
import { jobUrl, withQuery } from '../env.js';
import type { PlatformHttp } from './http.js';
import type { WorkerLog } from './log.js';
import { errorResult, shapeResult, streamErrorResult, yieldedError, type JobResult, type WorkerIdentity } from '../job-result.js';
import { HiggsError } from '../../common/errors.js';
import { ProgressPoster } from './progress.js';
import type { PlatformJob } from './take.js';

/** The documented limit of one job-stream chunk. */
export const MAX_STREAM_PART_BYTES = 1024 * 1024;

export interface JobDeps {
  handler: TtsHandler;
  http: PlatformHttp;
  log: WorkerLog;
  doneTemplate: string;
  streamTemplate: string;
  who: WorkerIdentity;
  refreshWorker: boolean;
  /** Config return_aggregate_stream: the final post of a streamed job lists every part. */
  aggregateStream: boolean;
  /** At most one progress post per this many milliseconds. */
  progressIntervalMs: number;
}

export async function runJob(job: PlatformJob, signal: AbortSignal, deps: JobDeps): Promise<void> {
  const { http, log } = deps;
  const done = jobUrl(deps.doneTemplate, job.id);
  const progress = new ProgressPoster((update) => http.post(withQuery(done, { isStream: 'false' }), { status: 'IN_PROGRESS', output: update }, job.id), deps.progressIntervalMs);
  const ctx = {
    id: job.id,
    signal,
    progress: (update: Record<string, unknown>) => progress.push(update),
    // Ids of /runsync requests start with "sync-": their outputs may be larger
    // (docs/runpod-protocol.md#platform-facts).
    route: job.id.startsWith('sync-') ? ('runsync' as const) : ('run' as const),
    // RunPod forwards the request's s3Config beside input (docs/runpod-protocol.md#job-input).
    s3Config: job.s3Config,
  };
  log.info(job.id, 'Started.');
  const streaming = deps.handler.wantsStream(job.input);
  const result = streaming ? await streamJob(job, ctx, deps) : await wholeJob(job, ctx, deps);
  await progress.close();
  const failure = signal.aborted && signal.reason instanceof HiggsError ? errorResult(signal.reason, deps.who, deps.refreshWorker) : null;
  if (signal.aborted && !failure) {
    log.info(job.id, 'Cancelled: no result is sent.');
    return;
  }
  try {
    await http.post(withQuery(done, { isStream: streaming ? 'true' : 'false' }), failure ?? result, job.id);
    log.info(job.id, result.error === undefined ? 'Finished.' : 'Finished with an error.');
  } catch (error) {
    log.error(job.id, `Failed to return job results. | ${(error as Error).message}`);
  }
}

async function wholeJob(job: PlatformJob, ctx: Parameters<TtsHandler['run']>[1], deps: JobDeps): Promise<JobResult> {
  try {
    return shapeResult(await deps.handler.run(job.input, ctx), deps.refreshWorker);
  } catch (error) {
    if (!ctx.signal.aborted) deps.log.warn(job.id, `Job failed: ${(error as Error).message}`);
    return errorResult(error, deps.who, deps.refreshWorker);
  }
}

/** Streams each part as `{output: part}` to job-stream (isStream=false, sic), then the final body. */
async function streamJob(job: PlatformJob, ctx: Parameters<TtsHandler['run']>[1], deps: JobDeps): Promise<JobResult> {
  const target = withQuery(jobUrl(deps.streamTemplate, job.id), { isStream: 'false' });
  const parts: unknown[] = [];
  const withStop = (result: JobResult): JobResult => (deps.refreshWorker ? { ...result, stopPod: true } : result);
  try {
    for await (const part of deps.handler.stream(job.input, ctx)) {
      const failed = yieldedError(part);
      if (failed !== null) return withStop({ error: failed }); // not streamed (SDK >= 1.7.7)
      const body = { output: part };
      const size = Buffer.byteLength(JSON.stringify(body));
      if (size > MAX_STREAM_PART_BYTES) throw new Error(`stream part of ${size} bytes is over the 1 MB job-stream limit`);
      if (ctx.signal.aborted) break;
      try {
        await deps.http.post(target, body, job.id);
      } catch (error) {
        deps.log.error(job.id, `Failed to stream a part. | ${(error as Error).message}`);
      }
      if (deps.aggregateStream) parts.push(part);
    }
    return withStop({ output: parts });
  } catch (error) {
    if (!ctx.signal.aborted) deps.log.warn(job.id, `Stream failed: ${(error as Error).message}`);
    return streamErrorResult(error, deps.refreshWorker);
  }
}
