/**
 * The RunPod platform worker (RUNPOD_WEBHOOK_GET_JOB set): load the model, then take jobs by
 * long poll while slots are free, run them through the TtsHandler, post results; heartbeat in a
 * worker thread, per-job cancel from the job-stop channel, and a draining stop on SIGTERM whose
 * deadline fails and posts the jobs still running (never lost silently).
 * Wire-compatible with runpod-python 1.12 (docs/runpod-protocol.md#platform-worker).
 */
import type { Logger } from '../../common/log.js';
import type { TtsHandler } from '../handler.js';
import { jobUrl, readPlatformEnv, stopUrl, withQuery } from '../env.js';
import { Heartbeat } from './heartbeat.js';
import { PlatformHttp } from './http.js';
import { runJob, type JobDeps } from './job.js';
import { createWorkerLog, runpodLevel } from './log.js';
import { HiggsError } from '../../common/errors.js';
import { errorResult } from '../job-result.js';
import { runStopChannel } from './stop.js';
import { JobTaker, type PlatformJob } from './take.js';
import { createMetrics, type Metrics } from '../../server/metrics.js';
import { metricsLogMs, startMetricsLog } from './metrics-log.js';

export interface WorkerTiming {
  takeTimeoutMs: number;
  rateLimitMs: number;
  errorBackoffMs: number;
  maxBackoffMs: number;
  stopIdleMs: number;
  /** Waits before the 2nd and 3rd attempt of a result post. */
  postRetryDelaysMs: readonly number[];
  /** At most one progress post per job per this many milliseconds. */
  progressIntervalMs: number;
  /** Overrides RUNPOD_PING_INTERVAL. */
  pingIntervalMs?: number;
}

const DEFAULT_TIMING: WorkerTiming = {
  takeTimeoutMs: 90_000,
  rateLimitMs: 5000,
  errorBackoffMs: 1000,
  maxBackoffMs: 30_000,
  stopIdleMs: 1000,
  postRetryDelaysMs: [2000, 3000],
  progressIntervalMs: 1000,
};

export interface WorkerOptions {
  /** Jobs run at once (HiggsAudio.maxConcurrency); default 1. A function is read once the handler is ready. */
  concurrency?: number | (() => number);
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Log through this pino logger instead of stdout lines. */
  logger?: Logger;
  /** Config refresh_worker: every result carries stopPod and the worker stops after one job. */
  refreshWorker?: boolean;
  /** Config return_aggregate_stream. */
  aggregateStream?: boolean;
  /** Stop (drain) on SIGTERM and SIGINT; default true. */
  handleSignals?: boolean;
  /** Overrides HIGGS_DRAIN_TIMEOUT_MS: how long stop() lets running jobs finish before failing them. */
  drainTimeoutMs?: number;
  /** Shorter waits for tests. */
  timing?: Partial<WorkerTiming>;
  /** Where log lines go (default stdout), one line per call without the newline. */
  logWrite?: (line: string) => void;
  /** Called after each heartbeat ping (status 0: network error). */
  onPing?: (ping: { url: string; status: number }) => void;
  /**
   * The figures logged as `{event: "metrics"}` lines (lib/server/metrics.ts): give the one whose
   * observer the HiggsAudio was made with, or its counters stay at zero; absent, one reading the handler's health.
   */
  metrics?: Metrics;
  /** Overrides HIGGS_METRICS_LOG_S (default 60 s): milliseconds between metrics lines; null for none. */
  metricsLogMs?: number | null;
}

export interface RunningWorker {
  /** This worker's id (RUNPOD_POD_ID, else a random UUID). */
  readonly workerId: string;
  /** Resolves once the worker has stopped and drained; rejects if the model failed to load. */
  readonly finished: Promise<void>;
  /** Stop taking jobs, let running ones finish and post, then resolve (as `finished`). */
  stop(): Promise<void>;
  /** Ids of the jobs held now (taken or running). */
  jobs(): string[];
}

/** Starts the platform worker; it runs until stop(), SIGTERM/SIGINT, or refresh_worker. */
export function runWorker(handler: TtsHandler, options: WorkerOptions = {}): RunningWorker {
  const env = readPlatformEnv(options.env ?? process.env);
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  const metricsInterval = options.metricsLogMs !== undefined ? options.metricsLogMs : metricsLogMs(options.env ?? process.env);
  let concurrency = 1;
  const log = createWorkerLog({ logger: options.logger, json: env.endpointId !== null, level: runpodLevel(env.logLevel) ?? 'info', write: options.logWrite });
  const http = new PlatformHttp({ apiKey: env.apiKey, uaIntegration: env.uaIntegration, retryDelaysMs: timing.postRetryDelaysMs });
  const deps: JobDeps = {
    handler,
    http,
    log,
    doneTemplate: env.doneTemplate,
    streamTemplate: env.streamTemplate,
    who: { workerId: env.workerId, hostname: env.hostname },
    refreshWorker: options.refreshWorker ?? false,
    aggregateStream: options.aggregateStream ?? false,
    progressIntervalMs: timing.progressIntervalMs,
  };

  // In-memory state only (runpod-python #432: a shared state file broke job accounting).
  const held = new Map<string, AbortController>();
  const running = new Set<Promise<void>>();
  const stopping = new AbortController(); // stop taking: aborts the take long poll
  const closing = new AbortController(); // after the drain: ends the stop channel
  let heartbeat: Heartbeat | null = null;
  let slotFreed: (() => void) | null = null;

  const publish = () => heartbeat?.setJobs(held.keys());

  const start = (job: PlatformJob) => {
    if (held.has(job.id)) {
      log.warn(job.id, 'Job is already running here; the duplicate is ignored.');
      return;
    }
    const cancel = new AbortController();
    held.set(job.id, cancel);
    publish();
    const task = runJob(job, cancel.signal, deps)
      .catch((error: unknown) => log.error(job.id, `Job crashed: ${(error as Error).message}`))
      .finally(() => {
        held.delete(job.id);
        running.delete(task);
        publish();
        slotFreed?.();
      });
    running.add(task);
  };

  const reportMalformed = async (id: string, problem: string) => {
    const done = withQuery(jobUrl(env.doneTemplate, id), { isStream: 'false' });
    await http.post(done, errorResult(new Error(problem), deps.who), id).catch((error: unknown) => {
      log.error(id, `Failed to return job results. | ${(error as Error).message}`);
    });
  };

  const loop = async () => {
    await handler.ready(); // a cold worker must not take jobs it cannot start
    const wanted = typeof options.concurrency === 'function' ? options.concurrency() : options.concurrency;
    concurrency = Math.max(1, Math.floor(wanted ?? 1));
    if (stopping.signal.aborted) return;
    if (env.pingUrl) {
      heartbeat = new Heartbeat({ url: env.pingUrl, apiKey: env.apiKey, intervalMs: timing.pingIntervalMs ?? env.pingIntervalMs, onPing: options.onPing });
      publish();
    }
    const stopChannelUrl = stopUrl(env.takeUrl);
    const stopChannel = stopChannelUrl
      ? runStopChannel(http, stopChannelUrl, timing, log, (id) => held.get(id)?.abort(new Error('stopped by the platform')), closing.signal)
      : Promise.resolve();
    const taker = new JobTaker(http, env.takeUrl, timing, log);
    log.info(null, `Worker ${env.workerId} started (concurrency ${concurrency}).`);
    const metrics = options.metrics ?? createMetrics({ health: () => handler.health(), processMetrics: false });
    const stopMetricsLog = metricsInterval === null ? () => undefined : startMetricsLog(metrics, log, metricsInterval);
    let jobsTaken = 0;
    while (!stopping.signal.aborted && !(deps.refreshWorker && jobsTaken > 0)) {
      const free = concurrency - held.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        slotFreed = null;
        continue;
      }
      const { jobs, malformed } = await taker.take(free, held.size > 0, stopping.signal);
      for (const bad of malformed) {
        log.error(bad.id, bad.problem);
        if (bad.id !== null) {
          const post: Promise<void> = reportMalformed(bad.id, bad.problem).finally(() => running.delete(post));
          running.add(post);
        }
      }
      for (const job of jobs) start(job);
      jobsTaken += jobs.length;
    }
    // Draining: the running jobs finish and post; the heartbeat keeps naming them meanwhile. Past
    // the deadline each is cancelled with a reason that makes it post a failure, not nothing.
    await drain(options.drainTimeoutMs ?? env.drainTimeoutMs);
    closing.abort();
    await stopChannel;
    await heartbeat?.stop();
    stopMetricsLog();
    log.info(null, 'Worker stopped.');
  };

  const drain = async (deadlineMs: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)));
    while (running.size > 0) {
      if ((await Promise.race([Promise.all([...running]), deadline])) === 'deadline') break;
    }
    clearTimeout(timer);
    if (running.size === 0) return;
    const reason = new HiggsError('E_CANCELLED', `the worker was stopped (SIGTERM) and this job did not finish within the ${deadlineMs / 1000} s drain deadline (HIGGS_DRAIN_TIMEOUT_MS)`);
    log.warn(null, `Drain deadline passed: failing ${held.size} running job(s).`);
    for (const cancel of held.values()) cancel.abort(reason);
    while (running.size > 0) await Promise.all([...running]);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    log.info(null, `${signal} received: finishing running jobs, taking no more.`);
    void worker.stop();
  };
  const handleSignals = options.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  const finished = loop().finally(() => {
    if (handleSignals) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  });
  const worker: RunningWorker = {
    workerId: env.workerId,
    finished,
    stop() {
      stopping.abort();
      slotFreed?.();
      return finished;
    },
    jobs: () => [...held.keys()],
  };
  return worker;
}
