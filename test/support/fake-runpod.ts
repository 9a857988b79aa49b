/**
 * A fake RunPod platform on loopback for worker tests: the platform side of the queue protocol
 * (docs/runpod-protocol.md#platform-worker) as a real node:http server. It hands out queued jobs on
 * job-take / job-take-batch (long polls held until a job arrives), answers job-done, job-stream,
 * ping and job-stop, records every request, and can inject statuses per route.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';

export type Route = 'take' | 'take-batch' | 'done' | 'stream' | 'ping' | 'stop' | 'other';

export interface RecordedRequest {
  route: Route;
  method: string;
  path: string;
  query: Record<string, string>;
  /** The raw query string, to check encoding (e.g. %2C in job_id). */
  rawQuery: string;
  headers: Record<string, string>;
  body: string;
  /** Parsed body for JSON posts (done, stream), else undefined. */
  json?: unknown;
  /** The worker id and job id from the path. */
  workerId?: string;
  jobId?: string;
  /** The status the fake answered. */
  status?: number;
  at: number;
}

export interface FakeJob {
  id: string;
  input?: unknown;
  [key: string]: unknown;
}

export const ENDPOINT = 'ep-test';
export const API_KEY = 'rp-test-key';
export const POD_ID = 'worker-1';

interface Waiter {
  route: 'take' | 'take-batch' | 'stop';
  res: ServerResponse;
  batch: number;
  timer: NodeJS.Timeout;
}

export class FakeRunPod {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeJob[] = [];
  private readonly stopList: string[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly injected = new Map<Route, number[]>();
  private readonly listeners = new Set<() => void>();
  private server: Server | null = null;
  port = 0;

  /** How long an empty take or stop poll is held before 204 (the platform holds much longer). */
  constructor(private readonly holdMs = 300) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}/v2/${ENDPOINT}`;
  }

  /** The variables RunPod injects into a worker, in the platform's template shapes. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      RUNPOD_WEBHOOK_GET_JOB: `${this.base}/job-take/$ID?gpu=NVIDIA+RTX+A5000`,
      RUNPOD_WEBHOOK_POST_OUTPUT: `${this.base}/job-done/$RUNPOD_POD_ID/$ID?gpu=NVIDIA+RTX+A5000`,
      RUNPOD_WEBHOOK_POST_STREAM: `${this.base}/job-stream/$RUNPOD_POD_ID/$ID?gpu=NVIDIA+RTX+A5000`,
      RUNPOD_WEBHOOK_PING: `${this.base}/ping/$RUNPOD_POD_ID`,
      RUNPOD_AI_API_KEY: API_KEY,
      RUNPOD_POD_ID: POD_ID,
      RUNPOD_POD_HOSTNAME: 'host-1',
      RUNPOD_PING_INTERVAL: '200',
      ...extra,
    };
  }

  /** Queues jobs; waiting take polls get them at once. */
  enqueue(...jobs: FakeJob[]): void {
    this.queue.push(...jobs);
    this.dispatch();
  }

  get queued(): number {
    return this.queue.length;
  }

  /** The next responses of a route answer these statuses instead (with an empty body). */
  inject(route: Route, ...statuses: number[]): void {
    this.injected.set(route, [...(this.injected.get(route) ?? []), ...statuses]);
  }

  /** Asks the worker, through the job-stop channel, to stop these jobs. */
  stopJobs(...ids: string[]): void {
    this.stopList.push(...ids);
    this.dispatch();
  }

  of(route: Route): RecordedRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  /** Final job-done posts (progress updates left out), answered 200. */
  results(): RecordedRequest[] {
    return this.of('done').filter((r) => r.status === 200 && (r.json as { status?: string } | undefined)?.status !== 'IN_PROGRESS');
  }

  result(jobId: string): Record<string, unknown> | undefined {
    return this.results().find((r) => r.jobId === jobId)?.json as Record<string, unknown> | undefined;
  }

  /** Resolves when `predicate` holds, checked after every request (and once now). */
  async waitFor(predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake RunPod: timed out waiting for ${what}`));
      }, timeoutMs);
      const poll = setInterval(check, 25); // also catches state changed without a request
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  async close(): Promise<void> {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.res.destroy();
    }
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const parts = url.pathname.split('/').filter(Boolean); // v2, endpoint, route, worker, job
    const routes: Record<string, Route> = { 'job-take': 'take', 'job-take-batch': 'take-batch', 'job-done': 'done', 'job-stream': 'stream', ping: 'ping', 'job-stop': 'stop' };
    const route = parts[0] === 'v2' && parts[1] === ENDPOINT ? (routes[parts[2] ?? ''] ?? 'other') : 'other';
    const body = Buffer.concat(chunks).toString('utf8');
    const record: RecordedRequest = {
      route,
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      rawQuery: url.search.slice(1),
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')])),
      body,
      workerId: parts[3],
      jobId: parts[4],
      at: Date.now(),
    };
    if (route === 'done' || route === 'stream') {
      try {
        record.json = JSON.parse(body);
      } catch {
        record.json = undefined;
      }
    }
    this.requests.push(record);
    const answer = (status: number, payload?: unknown) => {
      record.status = status;
      if (payload === undefined) res.writeHead(status).end();
      else res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(payload));
      this.notify();
    };

    const injected = this.injected.get(route);
    if (injected && injected.length > 0) return answer(injected.shift()!);
    if (route === 'take' || route === 'take-batch' || route === 'stop') {
      const batch = route === 'take-batch' ? Number(record.query.batch_size ?? '1') : 1;
      const waiter: Waiter = {
        route,
        res,
        batch,
        timer: setTimeout(() => {
          this.drop(waiter);
          answer(204);
        }, this.holdMs),
      };
      res.on('close', () => this.drop(waiter)); // the worker gave up on this poll
      this.waiters.push(waiter);
      const originalEnd = res.end.bind(res);
      res.end = ((...args: Parameters<typeof originalEnd>) => {
        record.status = res.statusCode;
        return originalEnd(...args);
      }) as typeof res.end;
      this.dispatch();
      this.notify();
      return;
    }
    if (route === 'other') return answer(404, { error: 'not found' });
    return answer(200, route === 'ping' ? undefined : {});
  }

  /** Hands queued jobs and stop ids to waiting polls. */
  private dispatch(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.res.destroyed || waiter.res.writableEnded) continue;
      if (waiter.route === 'stop') {
        if (this.stopList.length === 0) continue;
        this.drop(waiter);
        waiter.res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ jobsToStop: this.stopList.splice(0) }));
      } else {
        if (this.queue.length === 0) continue;
        this.drop(waiter);
        const jobs = this.queue.splice(0, waiter.batch);
        const payload = waiter.route === 'take' ? jobs[0] : jobs;
        waiter.res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(payload));
      }
    }
    this.notify();
  }

  private drop(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/**
 * A ping endpoint served from its own thread, so it records arrival times even while the test's
 * main thread is blocked (which is what the heartbeat must survive).
 */
export class PingRecorderThread {
  private readonly thread: Worker;
  url = '';

  private constructor(thread: Worker) {
    this.thread = thread;
  }

  static async start(): Promise<PingRecorderThread> {
    const source = String.raw`
      const { parentPort } = require('node:worker_threads');
      const http = require('node:http');
      const pings = [];
      const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        pings.push({ at: Date.now(), path: url.pathname, jobIds: url.searchParams.get('job_id'), version: url.searchParams.get('runpod_version'), authorization: req.headers.authorization || null });
        res.writeHead(200).end();
      });
      server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
      parentPort.on('message', (m) => {
        if (m === 'dump') parentPort.postMessage({ pings });
        if (m === 'close') server.close(() => process.exit(0));
      });
    `;
    const thread = new Worker(source, { eval: true });
    const [{ port }] = (await once(thread, 'message')) as [{ port: number }];
    const recorder = new PingRecorderThread(thread);
    recorder.url = `http://127.0.0.1:${port}/v2/${ENDPOINT}/ping/$RUNPOD_POD_ID`;
    return recorder;
  }

  async pings(): Promise<{ at: number; path: string; jobIds: string | null; version: string | null; authorization: string | null }[]> {
    this.thread.postMessage('dump');
    const [message] = (await once(this.thread, 'message')) as [{ pings: [] }];
    return message.pings;
  }

  async close(): Promise<void> {
    await this.thread.terminate();
  }
}
