/**
 * One job-take long poll (docs/runpod-protocol.md#job-take): job-take for one free slot, job-take-batch
 * for more, and the SDK's reading of every answer. Waits (429, errors) happen here too, so the
 * caller's loop is just "take, start, repeat".
 */
import { batchTakeUrl, withQuery } from '../env.js';
import { sleep, type PlatformHttp } from './http.js';
import type { WorkerLog } from './log.js';

export interface PlatformJob {
  id: string;
  input: unknown;
  [key: string]: unknown;
}

/** A job object without `input` (or a non-object): reported as failed if it has an id. */
export interface MalformedJob {
  id: string | null;
  problem: string;
}

export interface TakeTiming {
  /** The client timeout around each long poll (the SDK: 90 s). */
  takeTimeoutMs: number;
  /** The wait after a 429 (the SDK: 5 s). */
  rateLimitMs: number;
  /** First wait after a failed take, doubled per failure up to maxBackoffMs (the SDK has none). */
  errorBackoffMs: number;
  maxBackoffMs: number;
}

export interface TakeResult {
  jobs: PlatformJob[];
  malformed: MalformedJob[];
}

export class JobTaker {
  private failures = 0;

  constructor(
    private readonly http: PlatformHttp,
    private readonly takeUrl: string,
    private readonly timing: TakeTiming,
    private readonly log: WorkerLog,
  ) {}

  /** Asks for up to `count` jobs; `holding`: this worker already has a job (job_in_progress=1). */
  async take(count: number, holding: boolean, signal: AbortSignal): Promise<TakeResult> {
    const none: TakeResult = { jobs: [], malformed: [] };
    const url =
      count > 1
        ? withQuery(batchTakeUrl(this.takeUrl), { batch_size: count, job_in_progress: holding ? 1 : 0 })
        : withQuery(this.takeUrl, { job_in_progress: holding ? 1 : 0 });
    let status = 0;
    try {
      const response = await this.http.get(url, { signal, timeoutMs: this.timing.takeTimeoutMs });
      status = response.status;
      if (status === 204) return this.ok(none);
      if (status === 400) {
        this.log.debug(null, 'Received 400 status, expected when FlashBoot is enabled.');
        return this.ok(none);
      }
      if (status === 429) {
        this.log.debug(null, 'Received 429 status, waiting before the next take.');
        await sleep(this.timing.rateLimitMs, signal);
        return none;
      }
      if (status < 200 || status >= 300) throw new Error(`HTTP ${status}: ${response.body.slice(0, 200)}`);
      if (!response.contentType.includes('application/json') || response.body.trim() === '') return this.ok(none);
      return this.ok(readJobs(JSON.parse(response.body) as unknown));
    } catch (error) {
      if (signal.aborted) return none; // stopping: an abandoned poll is not a failure
      this.failures += 1;
      const wait = Math.min(this.timing.maxBackoffMs, this.timing.errorBackoffMs * 2 ** (this.failures - 1));
      this.log.error(null, `Failed to get job. | Error Type: ${(error as Error).name} | Error Message: ${(error as Error).message}`, { waitMs: wait });
      await sleep(wait, signal);
      return none;
    }
  }

  private ok(result: TakeResult): TakeResult {
    this.failures = 0;
    return result;
  }
}

/** A single job object or a batch array -> well-formed jobs and the rest. */
export function readJobs(body: unknown): TakeResult {
  const result: TakeResult = { jobs: [], malformed: [] };
  for (const job of Array.isArray(body) ? body : [body]) {
    const record = typeof job === 'object' && job !== null && !Array.isArray(job) ? (job as Record<string, unknown>) : null;
    const id = record && typeof record.id === 'string' && record.id !== '' ? record.id : null;
    if (id !== null && record !== null && 'input' in record) result.jobs.push(record as PlatformJob);
    else result.malformed.push({ id, problem: 'Job has missing field(s): id or input.' });
  }
  return result;
}
