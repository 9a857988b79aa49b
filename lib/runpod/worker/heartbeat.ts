/**
 * The worker's heartbeat (docs/runpod-protocol.md#heartbeat), run in a worker thread so a busy
 * main event loop cannot starve it. The main thread only tells it which jobs are in progress.
 */
import { Worker } from 'node:worker_threads';
import { RUNPOD_SDK_VERSION } from '../env.js';
import { HEARTBEAT_THREAD_SOURCE } from './heartbeat-thread.js';

export interface HeartbeatOptions {
  url: string;
  apiKey: string;
  intervalMs: number;
  /** Called after each ping (status 0: network error or timeout). */
  onPing?: (ping: { url: string; status: number }) => void;
}

export class Heartbeat {
  private readonly thread: Worker;
  private readonly exited: Promise<void>;

  constructor(options: HeartbeatOptions) {
    this.thread = new Worker(HEARTBEAT_THREAD_SOURCE, {
      eval: true,
      workerData: { url: options.url, apiKey: options.apiKey, intervalMs: options.intervalMs, version: RUNPOD_SDK_VERSION },
      // The thread needs little: keep it from reserving the main thread's heap sizes.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    });
    this.thread.on('message', (message: { sent?: { url: string; status: number } }) => {
      if (message.sent) options.onPing?.(message.sent);
    });
    this.exited = new Promise((resolve) => this.thread.once('exit', () => resolve()));
    // A ping thread must never keep a finished worker process alive on its own.
    this.thread.unref();
  }

  /** The jobs held by this worker, taken or running (sent as job_id). */
  setJobs(ids: Iterable<string>): void {
    this.thread.postMessage({ jobs: [...ids] });
  }

  /** Ends the loop after the ping in flight, if any; resolves when the thread has exited. */
  async stop(): Promise<void> {
    this.thread.postMessage({ stop: true });
    const timer = setTimeout(() => void this.thread.terminate(), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
