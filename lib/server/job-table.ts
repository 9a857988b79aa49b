/**
 * The local API server's job table (docs/runpod-protocol.md#job-states): jobs in RunPod's states,
 * their output or error, streamed parts buffered until a /stream poll takes them, waiters for long
 * polls. Bounded: an input is kept only until its job starts; outputs are kept serialized once
 * (every answer shares the bytes), for a TTL and within a total size (the oldest finished jobs
 * go first); a streamed job nobody polls is cancelled.
 */
import { randomUUID } from 'node:crypto';
import { failureText } from '../runpod/job-result.js';
import { CONNECTION_LIMITS } from './limits.js';

export type JobStatus = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
export type JobRoute = 'run' | 'runsync';

const TERMINAL: ReadonlySet<JobStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.has(status);
}

export interface Job {
  readonly id: string;
  /** Until the job starts; then dropped (a queued 20 MB voice must not live for 30 minutes). */
  input: unknown;
  /** The request's s3Config from beside input, handed to the handler as RunPod does. */
  readonly s3Config?: unknown;
  readonly route: JobRoute;
  readonly stream: boolean;
  status: JobStatus;
  /** The output as JSON bytes, made once when the job completes. */
  output?: Buffer;
  /** RunPod's error text: a JSON string, as the Python worker reports a raised exception. */
  error?: string;
  readonly createdAt: number;
  startedAt?: number;
  completedAt?: number;
  /** Streamed parts not yet handed out by /stream (handed out once, as in production). */
  unread: Record<string, unknown>[];
  /** A job that does not stream hands its output to /stream once, when it is done. */
  outputStreamed?: boolean;
  readonly controller: AbortController;
  /** Wakes long polls (runsync, status-sync, stream) on any change. */
  readonly waiters: Set<() => void>;
  /** When a /stream poll last came (streamed jobs nobody polls are cancelled). */
  lastPollAt: number;
}

/** The public status object of a job, in the shape of RunPod's /status and /runsync, output aside. */
export interface JobView {
  id: string;
  status: JobStatus;
  delayTime?: number;
  executionTime?: number;
  workerId: string;
  error?: string;
}

/** A JSON answer in pieces: text, and the shared bytes of an output (never copied per answer). */
export type JsonParts = (string | Buffer)[];

export interface JobTableOptions {
  /** How long a finished /run job stays readable (production: 30 min). */
  runTtlMs?: number;
  /** How long a finished /runsync job stays readable (production: 1 min). */
  runsyncTtlMs?: number;
  /** Total bytes of finished outputs kept; beyond it the oldest finished jobs are forgotten. */
  maxOutputBytes?: number;
  /**
   * A streamed job with no /stream poll for this long, and no client waiting for it, is
   * cancelled (default: serve's sendTimeoutMs, HIGGS_SEND_TIMEOUT_MS).
   */
  streamIdleMs?: number;
}

export const JOB_TABLE_LIMITS = {
  runTtlMs: 30 * 60_000,
  runsyncTtlMs: 60_000,
  maxOutputBytes: 256 * 1024 * 1024,
  streamIdleMs: CONNECTION_LIMITS.sendTimeoutMs,
} as const;

export class JobTable {
  private readonly jobs = new Map<string, Job>();
  private readonly limits: Required<JobTableOptions>;
  /** cancelled: by /cancel, /purge-queue, a client that hung up or a stream nobody polled; rejected: refused with 429 before a job was made. */
  private readonly counters = { completed: 0, failed: 0, cancelled: 0, rejected: 0, retried: 0, forgotten: 0 };
  private readonly sweeper: NodeJS.Timeout;
  /** Bytes of the outputs of finished jobs still in the table. */
  private outputBytes = 0;

  constructor(options: JobTableOptions = {}) {
    this.limits = { ...JOB_TABLE_LIMITS, ...options };
    // Often enough to notice an idle stream within a fraction of its limit.
    this.sweeper = setInterval(() => this.sweep(), Math.min(10_000, Math.max(50, this.limits.streamIdleMs / 4)));
    this.sweeper.unref(); // never what keeps the process alive
  }

  create(input: unknown, route: JobRoute, stream: boolean, s3Config?: unknown): Job {
    // Id shapes as on the platform: sync jobs are prefixed.
    const id = `${route === 'runsync' ? 'sync-' : ''}${randomUUID()}-local`;
    const job: Job = {
      id,
      input,
      s3Config,
      route,
      stream,
      status: 'IN_QUEUE',
      createdAt: Date.now(),
      unread: [],
      controller: new AbortController(),
      waiters: new Set(),
      lastPollAt: Date.now(),
    };
    this.jobs.set(id, job);
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** IN_QUEUE -> IN_PROGRESS, handing over the input (the table keeps none); null when it was cancelled meanwhile. */
  start(job: Job): { input: unknown } | null {
    const input = job.input;
    job.input = undefined;
    if (job.status !== 'IN_QUEUE') return null;
    job.status = 'IN_PROGRESS';
    job.startedAt = Date.now();
    job.lastPollAt = job.startedAt;
    this.changed(job);
    return { input };
  }

  /** Jobs waiting to start. */
  get queued(): number {
    let n = 0;
    for (const job of this.jobs.values()) if (job.status === 'IN_QUEUE') n += 1;
    return n;
  }

  pushPart(job: Job, part: Record<string, unknown>): void {
    if (isTerminal(job.status)) return;
    job.unread.push(part);
    this.changed(job);
  }

  complete(job: Job, output: unknown): void {
    if (isTerminal(job.status)) return; // cancelled meanwhile: the late result is dropped
    job.output = Buffer.from(JSON.stringify(output ?? null));
    this.outputBytes += job.output.length;
    this.counters.completed += 1;
    this.finish(job, 'COMPLETED');
    this.keepWithinOutputBytes(job);
  }

  fail(job: Job, error: unknown): void {
    if (isTerminal(job.status)) return;
    job.error = failureText(error);
    this.counters.failed += 1;
    this.finish(job, 'FAILED');
  }

  /** Cancels a queued or running job (its handler sees the abort); false when already finished. */
  cancel(job: Job, reason?: string): boolean {
    if (isTerminal(job.status)) return false;
    job.input = undefined;
    if (reason !== undefined) job.error = reason;
    this.counters.cancelled += 1;
    this.finish(job, 'CANCELLED');
    job.controller.abort();
    return true;
  }

  /** Counts a job refused before it was made (429 E_BUSY: the queue is full). */
  noteRejected(): void {
    this.counters.rejected += 1;
  }

  /** Removes jobs still waiting for a slot (RunPod's /purge-queue). */
  purgeQueue(): number {
    let removed = 0;
    for (const job of this.jobs.values()) {
      if (job.status === 'IN_QUEUE' && this.cancel(job)) {
        this.forget(job);
        removed += 1;
      }
    }
    return removed;
  }

  /** The /stream answer: the parts streamed since the last call (a finished non-streamed job's output, once). */
  takeParts(job: Job): JsonParts {
    job.lastPollAt = Date.now();
    // Read the status first: a part pushed after it is still delivered by the next poll.
    const head = JSON.stringify({ id: job.id, status: job.status });
    if (!job.stream && job.status === 'COMPLETED' && !job.outputStreamed && job.output) {
      job.outputStreamed = true;
      return [`${head.slice(0, -1)},"stream":[{"output":`, job.output, ']}'];
    }
    return [`${head.slice(0, -1)},"stream":${JSON.stringify(job.unread.splice(0))}}`];
  }

  /** Resolves on the job's next change, or after `ms`, or when `signal` aborts. */
  waitForChange(job: Job, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        job.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      // setTimeout takes at most 2^31 - 1 ms; longer waits just wake up and wait again.
      const timer = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
      job.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Waits until the job is finished or `ms` have passed. */
  async waitForEnd(job: Job, ms: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + ms;
    while (!isTerminal(job.status) && Date.now() < deadline && !signal?.aborted) {
      await this.waitForChange(job, deadline - Date.now(), signal);
    }
  }

  view(job: Job): JobView {
    const view: JobView = { id: job.id, status: job.status, workerId: 'local' };
    if (job.startedAt !== undefined) view.delayTime = job.startedAt - job.createdAt;
    if (job.startedAt !== undefined && job.completedAt !== undefined) view.executionTime = job.completedAt - job.startedAt;
    if (job.error !== undefined) view.error = job.error;
    return view;
  }

  /** The /status and /runsync answer: the view, then the output's shared bytes. */
  answer(job: Job): JsonParts {
    const head = JSON.stringify(this.view(job));
    return job.output ? [`${head.slice(0, -1)},"output":`, job.output, '}'] : [head];
  }

  /**
   * The `jobs` part of RunPod's /health, with `cancelled` and `rejected` (429) beside RunPod's
   * counters (`forgotten`: finished outputs dropped to stay within the size bound).
   */
  counts(): { completed: number; failed: number; cancelled: number; rejected: number; inProgress: number; inQueue: number; retried: number; forgotten: number } {
    let inProgress = 0;
    let inQueue = 0;
    for (const job of this.jobs.values()) {
      if (job.status === 'IN_PROGRESS') inProgress += 1;
      else if (job.status === 'IN_QUEUE') inQueue += 1;
    }
    return { ...this.counters, inProgress, inQueue };
  }

  /** Drops finished jobs past their TTL; cancels streamed jobs nobody polls or waits for. */
  sweep(now = Date.now()): void {
    for (const job of this.jobs.values()) {
      const ttl = job.route === 'runsync' ? this.limits.runsyncTtlMs : this.limits.runTtlMs;
      if (job.completedAt !== undefined && now - job.completedAt > ttl) this.forget(job);
      else if (job.stream && job.status === 'IN_PROGRESS') {
        // A client holding a long poll (/runsync, POST /, /status-sync, /stream) is still there.
        if (job.waiters.size > 0) job.lastPollAt = now;
        else if (now - job.lastPollAt > this.limits.streamIdleMs) {
          this.cancel(job, `cancelled: nobody polled /stream/${job.id} for ${this.limits.streamIdleMs / 1000} s`);
        }
      }
    }
  }

  /** The oldest finished jobs go until the outputs fit (the newest stays, whatever its size). */
  private keepWithinOutputBytes(newest: Job): void {
    if (this.outputBytes <= this.limits.maxOutputBytes) return;
    for (const job of this.jobs.values()) {
      if (this.outputBytes <= this.limits.maxOutputBytes) break;
      if (job !== newest && job.output) this.forget(job);
    }
  }

  private forget(job: Job): void {
    if (!this.jobs.delete(job.id)) return;
    if (job.output) {
      this.outputBytes -= job.output.length;
      this.counters.forgotten += 1;
    }
  }

  /** Cancels everything unfinished and stops the sweeper. */
  close(): void {
    clearInterval(this.sweeper);
    for (const job of this.jobs.values()) this.cancel(job);
  }

  private finish(job: Job, status: JobStatus): void {
    job.status = status;
    job.completedAt = Date.now();
    this.changed(job);
  }

  private changed(job: Job): void {
    for (const wake of [...job.waiters]) wake();
  }
}
