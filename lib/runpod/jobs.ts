/**
 * The local API server's job table (reference/runpod.md 7.2): jobs in RunPod's states, their
 * output or error, streamed parts buffered until a /stream poll takes them, waiters for long
 * polls, and TTL cleanup so a server left running does not keep every result forever.
 */
import { randomUUID } from 'node:crypto';
import { errorCode } from '../errors.js';

export type JobStatus = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
export type JobRoute = 'run' | 'runsync';

const TERMINAL: ReadonlySet<JobStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.has(status);
}

export interface Job {
  readonly id: string;
  readonly input: unknown;
  /** The request's s3Config from beside input, handed to the handler as RunPod does. */
  readonly s3Config?: unknown;
  readonly route: JobRoute;
  readonly stream: boolean;
  status: JobStatus;
  output?: unknown;
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
}

/** The public status object of a job, in the shape of RunPod's /status and /runsync. */
export interface JobView {
  id: string;
  status: JobStatus;
  delayTime?: number;
  executionTime?: number;
  workerId: string;
  output?: unknown;
  error?: string;
}

export interface JobTableOptions {
  /** How long a finished /run job stays readable (production: 30 min). */
  runTtlMs?: number;
  /** How long a finished /runsync job stays readable (production: 1 min). */
  runsyncTtlMs?: number;
}

/**
 * RunPod's report of a failed job: `error` is a string holding JSON (reference/runpod.md 2.2),
 * with the HiggsError code as the error type. No traceback: it would only leak paths.
 */
export function failureText(error: unknown): string {
  return JSON.stringify({
    error_type: errorCode(error),
    error_message: error instanceof Error ? error.message : String(error),
    hostname: process.env.RUNPOD_POD_HOSTNAME ?? 'local',
    worker_id: process.env.RUNPOD_POD_ID ?? 'local',
  });
}

export class JobTable {
  private readonly jobs = new Map<string, Job>();
  private readonly runTtlMs: number;
  private readonly runsyncTtlMs: number;
  private readonly counters = { completed: 0, failed: 0, retried: 0 };
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: JobTableOptions = {}) {
    this.runTtlMs = options.runTtlMs ?? 30 * 60_000;
    this.runsyncTtlMs = options.runsyncTtlMs ?? 60_000;
    this.sweeper = setInterval(() => this.sweep(), 10_000);
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
    };
    this.jobs.set(id, job);
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** IN_QUEUE -> IN_PROGRESS; false when the job was cancelled while it waited. */
  start(job: Job): boolean {
    if (job.status !== 'IN_QUEUE') return false;
    job.status = 'IN_PROGRESS';
    job.startedAt = Date.now();
    this.changed(job);
    return true;
  }

  pushPart(job: Job, part: Record<string, unknown>): void {
    if (isTerminal(job.status)) return;
    job.unread.push(part);
    this.changed(job);
  }

  complete(job: Job, output: unknown): void {
    if (isTerminal(job.status)) return; // cancelled meanwhile: the late result is dropped
    job.output = output;
    this.counters.completed += 1;
    this.finish(job, 'COMPLETED');
  }

  fail(job: Job, error: unknown): void {
    if (isTerminal(job.status)) return;
    job.error = failureText(error);
    this.counters.failed += 1;
    this.finish(job, 'FAILED');
  }

  /** Cancels a queued or running job (its handler sees the abort); false when already finished. */
  cancel(job: Job): boolean {
    if (isTerminal(job.status)) return false;
    this.finish(job, 'CANCELLED');
    job.controller.abort();
    return true;
  }

  /** Removes jobs still waiting for a slot (RunPod's /purge-queue). */
  purgeQueue(): number {
    let removed = 0;
    for (const job of this.jobs.values()) {
      if (job.status === 'IN_QUEUE' && this.cancel(job)) {
        this.jobs.delete(job.id);
        removed += 1;
      }
    }
    return removed;
  }

  /** Takes the parts streamed since the last call. */
  takeParts(job: Job): Record<string, unknown>[] {
    if (!job.stream && job.status === 'COMPLETED' && !job.outputStreamed) {
      job.outputStreamed = true;
      return [{ output: job.output }];
    }
    return job.unread.splice(0);
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
    if (job.output !== undefined) view.output = job.output;
    if (job.error !== undefined) view.error = job.error;
    return view;
  }

  /** The `jobs` part of RunPod's /health. */
  counts(): { completed: number; failed: number; inProgress: number; inQueue: number; retried: number } {
    let inProgress = 0;
    let inQueue = 0;
    for (const job of this.jobs.values()) {
      if (job.status === 'IN_PROGRESS') inProgress += 1;
      else if (job.status === 'IN_QUEUE') inQueue += 1;
    }
    return { ...this.counters, inProgress, inQueue };
  }

  /** Drops finished jobs past their TTL. */
  sweep(now = Date.now()): void {
    for (const [id, job] of this.jobs) {
      const ttl = job.route === 'runsync' ? this.runsyncTtlMs : this.runTtlMs;
      if (job.completedAt !== undefined && now - job.completedAt > ttl) this.jobs.delete(id);
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
