/**
 * RunPod's routes of `serve`: the development routes, the `POST /` of RunPod's deployment guide,
 * and the production-shaped `/v2/<endpoint>/...` paths that runpod-sdk calls
 * (docs/runpod-protocol.md#local-serve-mode and #routes), over one job table. Unlike the Python
 * development server, /run really runs the job in the background, and /status and /stream answer
 * GET as in production (POST too). Bounded (job-table.ts): the queue (429 E_BUSY beyond it) and
 * the table; a client that hangs up on / or /runsync cancels its job, and a streamed job nobody
 * polls for streamIdleMs is cancelled.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../common/log.js';
import type { TtsHandler } from '../runpod/handler.js';
import { hasKey } from './auth.js';
import { HttpError, decodePathSegment, readJobRequest, sendJson, sendJsonParts, waitParam } from './http.js';
import { JobTable, isTerminal, type Job, type JobRoute, type JobTableOptions } from './job-table.js';
import { JobRunner } from './runner.js';
import type { Metrics } from './metrics.js';

export interface RunpodRouteOptions extends JobTableOptions {
  /** When set, the bare `GET /health` tells only the state to a caller without it. */
  apiKey?: string;
  bodyLimitBytes: number;
  /** Jobs run at once; the rest wait IN_QUEUE. */
  concurrency: number;
  /** Jobs waiting IN_QUEUE at most; beyond, /run and /runsync answer 429 E_BUSY. */
  maxQueue: number;
  logger?: Logger;
  /** Where a job's first output byte leaving is timed (lib/server/metrics.ts). */
  metrics?: Metrics;
}

export interface RunpodRoutes {
  /**
   * Answers `path` (the URL path without its /v2/<endpoint> prefix and outer slashes).
   * `authorize` runs before every route but the bare `GET /health`. Errors are thrown as HttpError.
   */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, path: string, authorize: () => void): Promise<void>;
  /** Cancels unfinished jobs and waits for them to stop. */
  close(): Promise<void>;
}

/** How long /runsync and status-sync hold the request by default (RunPod: 90 s). */
const SYNC_WAIT_MS = 90_000;
/** How long an empty /stream poll is held: runpod-sdk polls again at once, so do not spin. */
const STREAM_WAIT_MS = 10_000;

type Route = (ctx: RouteContext) => Promise<void> | void;

interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The job id of /status/:id and friends. */
  id?: string;
}

export function createRunpodRoutes(handler: TtsHandler, options: RunpodRouteOptions): RunpodRoutes {
  const { apiKey, bodyLimitBytes, concurrency, maxQueue } = options;
  const table = new JobTable(options);
  const runner = new JobRunner(handler, table, concurrency, options.logger);
  /** Jobs whose first output left already, and the route label each was submitted on. */
  const submittedOn = new WeakMap<Job, string>();
  /**
   * After an answer: if it carried the job's output (its audio or a streamed part), the first
   * time one did is the job's time to first audio, from its submission.
   */
  const delivered = (job: Job, carried: boolean): void => {
    const route = submittedOn.get(job);
    if (!carried || route === undefined || !options.metrics) return;
    submittedOn.delete(job);
    options.metrics.timeToFirstAudio(route, (Date.now() - job.createdAt) / 1e3);
  };
  const answer = (res: ServerResponse, job: Job): void => {
    sendJsonParts(res, 200, table.answer(job));
    delivered(job, job.output !== undefined && res.writableEnded);
  };

  const submit = async (req: IncomingMessage, route: JobRoute, label: string): Promise<Job> => {
    // Refused before the body is read: a full queue costs the client nothing but the answer.
    if (runner.busy >= concurrency && table.queued >= maxQueue) {
      table.noteRejected();
      throw new HttpError(429, `E_BUSY: ${maxQueue} jobs are already waiting (HIGGS_MAX_QUEUE); retry later`, { 'retry-after': '5' }, 'E_BUSY');
    }
    const { input, s3Config } = await readJobRequest(req, bodyLimitBytes);
    const job = table.create(input, route, handler.wantsStream(input), s3Config);
    submittedOn.set(job, label);
    runner.submit(job);
    return job;
  };
  /** A client that hangs up before its answer cancels the job: nobody could read or cancel it. */
  const cancelOnHangUp = (res: ServerResponse, job: Job): void => {
    res.on('close', () => {
      if (!res.writableFinished) table.cancel(job, 'cancelled: the client hung up before the answer');
    });
  };
  const jobOf = (id: string | undefined): Job => {
    const job = id === undefined ? undefined : table.get(id);
    if (!job) {
      throw new HttpError(404, `job ${JSON.stringify(id)} not found (finished jobs are kept 30 min after /run, 1 min after /runsync, the oldest dropped sooner when outputs pass their size bound)`);
    }
    return job;
  };
  /** The caller went away: stop waiting for it. */
  const gone = (res: ServerResponse): AbortSignal => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    return controller.signal;
  };

  const routes: Record<string, Partial<Record<string, Route>>> = {
    // The deployment guide's `curl -X POST http://localhost:8080 -d '{"input": ...}'`: waits for
    // the result however long it takes, and cancels the job if the client hangs up
    // (docs/runpod-protocol.md#routes).
    '': {
      POST: async ({ req, res }) => {
        const job = await submit(req, 'runsync', 'runpod_root');
        cancelOnHangUp(res, job);
        await table.waitForEnd(job, Infinity, gone(res));
        answer(res, job);
      },
    },
    run: {
      POST: async ({ req, res }) => {
        const job = await submit(req, 'run', 'runpod_run');
        sendJson(res, 200, { id: job.id, status: job.status });
      },
    },
    runsync: {
      POST: async ({ req, res, url }) => {
        const wait = waitParam(url, SYNC_WAIT_MS);
        const job = await submit(req, 'runsync', 'runpod_runsync');
        cancelOnHangUp(res, job);
        await table.waitForEnd(job, wait, gone(res));
        answer(res, job);
      },
    },
    'status/:id': {
      GET: ({ res, id }) => answer(res, jobOf(id)),
      POST: ({ req, res, id }) => (req.resume(), answer(res, jobOf(id))),
    },
    'status-sync/:id': {
      GET: async ({ res, url, id }) => {
        const job = jobOf(id);
        await table.waitForEnd(job, waitParam(url, SYNC_WAIT_MS), gone(res));
        answer(res, job);
      },
    },
    'stream/:id': {
      GET: ({ res, url, id }) => streamPoll(res, jobOf(id), waitParam(url, STREAM_WAIT_MS)),
      POST: ({ req, res, url, id }) => (req.resume(), streamPoll(res, jobOf(id), waitParam(url, STREAM_WAIT_MS))),
    },
    'cancel/:id': {
      POST: ({ req, res, id }) => {
        req.resume();
        const job = jobOf(id);
        table.cancel(job);
        sendJson(res, 200, { id: job.id, status: job.status });
      },
    },
    'purge-queue': {
      POST: ({ req, res }) => (req.resume(), sendJson(res, 200, { removed: table.purgeQueue(), status: 'completed' })),
    },
    health: {
      GET: ({ req, res, url }) => {
        // The open container check (bare /health with a key set, no key sent) learns only the state.
        if (apiKey && url.pathname === '/health' && !hasKey(req, apiKey)) {
          sendJson(res, 200, { status: (handler.health() as { status?: unknown }).status ?? 'unknown' });
          return;
        }
        const jobs = table.counts();
        const running = runner.busy;
        sendJson(res, 200, {
          jobs,
          workers: { idle: running < concurrency ? 1 : 0, running: running > 0 ? 1 : 0, initializing: 0, ready: 1, throttled: 0, unhealthy: 0 },
          engine: handler.health(),
        });
      },
    },
  };

  /** Holds an empty poll until a part arrives or the job ends; parts are handed out once. */
  async function streamPoll(res: ServerResponse, job: Job, wait: number): Promise<void> {
    if (job.unread.length === 0 && !isTerminal(job.status)) await table.waitForChange(job, wait, gone(res));
    const parts = table.takeParts(job);
    sendJsonParts(res, 200, parts);
    // Parts or the output were handed out: more than the bare status (one part, `"stream":[]`).
    delivered(job, parts.length > 1 || !String(parts[0]).endsWith('"stream":[]}'));
  }

  return {
    async handle(req, res, url, path, authorize) {
      const method = req.method ?? 'GET';
      const [first = '', second, ...more] = path.split('/');
      const key = second === undefined ? first : more.length === 0 ? `${first}/:id` : path;
      // Own keys only: "/__proto__" or "/constructor" is no route.
      const methods = Object.hasOwn(routes, key) ? routes[key]! : undefined;
      if (!methods) throw new HttpError(404, `no route ${method} ${url.pathname}`);
      // HEAD is GET without the body (node:http leaves the body out of HEAD answers).
      const asked = method === 'HEAD' && Object.hasOwn(methods, 'GET') ? 'GET' : method;
      const route = Object.hasOwn(methods, asked) ? methods[asked] : undefined;
      if (!route) {
        const allowed = Object.keys(methods).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
        throw new HttpError(405, `${method} is not allowed on ${url.pathname} (use ${allowed.join(' or ')})`, { allow: allowed.join(', ') });
      }
      // The bare /health stays open for container health checks (it then tells only the state).
      if (!(key === 'health' && url.pathname === '/health')) authorize();
      await route({ req, res, url, id: second === undefined ? undefined : decodePathSegment(second) });
    },
    async close() {
      table.close();
      await runner.drain();
    },
  };
}
