/**
 * The local API server (`higgs-audio serve`): RunPod's development routes, the `POST /` of
 * RunPod's deployment guide, and the production-shaped `/v2/<endpoint>/...` paths that
 * runpod-sdk calls (docs/runpod-protocol.md#local-serve-mode and #routes). Unlike the Python
 * development server, /run really runs the job in the background, and /status and /stream answer
 * GET as in production (POST too).
 * Bounded (limits.ts, job-table.ts): connections and their timeouts, the queue (429 E_BUSY
 * beyond it), the job table; a client that hangs up on / or /runsync cancels its job, and one
 * that takes nothing of its answer or stream for sendTimeoutMs is cut off (its stream's
 * generation cancelled), as is a streamed job nobody polls for as long.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_MAX_QUEUE } from '../../config/load-config.js';
import type { Logger } from '../../common/log.js';
import type { TtsHandler } from '../handler.js';
import { JobTable, isTerminal, type Job, type JobRoute, type JobTableOptions } from './job-table.js';
import { AUTH_FAILURES_PER_MINUTE, RateLimiter, authenticate, hasKey } from './auth.js';
import { HttpError, decodePathSegment, readJobRequest, sendJson, sendJsonParts, waitParam } from './http.js';
import { applyConnectionLimits, boundSend, connectionLimits, type ConnectionLimits } from './limits.js';
import { JobRunner } from './runner.js';
import { createOpenAiRoutes } from './openai-routes.js';

export interface ServeOptions extends JobTableOptions, ConnectionLimits {
  host?: string;
  port?: number;
  /** When set, every route but the bare `GET /health` needs it. */
  apiKey?: string;
  /** Per key (or per client address without a key); unlimited when absent. */
  rateLimitPerMinute?: number;
  /** Request bodies above this are refused with 413 (RunPod: /run 10 MB, /runsync 20 MB). */
  bodyLimitBytes?: number;
  /** Jobs run at once; the rest wait IN_QUEUE. */
  concurrency?: number;
  /** Jobs waiting IN_QUEUE at most (HIGGS_MAX_QUEUE); beyond, /run and /runsync answer 429 E_BUSY. */
  maxQueue?: number;
  logger?: Logger;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080; runpod-sdk's baseUrl is `${url}/v2`. */
  url: string;
  port: number;
  /** Connections open now. */
  connections(): Promise<number>;
  /** Cancels unfinished jobs, waits for them to stop, and closes every connection. */
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

export async function startServer(handler: TtsHandler, options: ServeOptions = {}): Promise<RunningServer> {
  const { host = '127.0.0.1', port = 8080, apiKey, rateLimitPerMinute, bodyLimitBytes = 25 * 1024 * 1024, concurrency = 1, logger } = options;
  const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
  const { limits, serverOptions } = connectionLimits(options);
  // One bound for every answer nobody takes (limits.ts): a streamed job nobody polls too.
  const table = new JobTable({ ...options, streamIdleMs: options.streamIdleMs ?? limits.sendTimeoutMs });
  const runner = new JobRunner(handler, table, concurrency, logger);
  const limiter = rateLimitPerMinute ? new RateLimiter(rateLimitPerMinute) : null;
  const authFailures = new RateLimiter(AUTH_FAILURES_PER_MINUTE);
  const openAi = createOpenAiRoutes(handler.speech, bodyLimitBytes, limits.sendTimeoutMs);

  const submit = async (req: IncomingMessage, route: JobRoute): Promise<Job> => {
    // Refused before the body is read: a full queue costs the client nothing but the answer.
    if (runner.busy >= concurrency && table.queued >= maxQueue) {
      table.noteRejected();
      throw new HttpError(429, `E_BUSY: ${maxQueue} jobs are already waiting (HIGGS_MAX_QUEUE); retry later`, { 'retry-after': '5' }, 'E_BUSY');
    }
    const { input, s3Config } = await readJobRequest(req, bodyLimitBytes);
    const job = table.create(input, route, handler.wantsStream(input), s3Config);
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
        const job = await submit(req, 'runsync');
        cancelOnHangUp(res, job);
        await table.waitForEnd(job, Infinity, gone(res));
        sendJsonParts(res, 200, table.answer(job));
      },
    },
    run: {
      POST: async ({ req, res }) => {
        const job = await submit(req, 'run');
        sendJson(res, 200, { id: job.id, status: job.status });
      },
    },
    runsync: {
      POST: async ({ req, res, url }) => {
        const wait = waitParam(url, SYNC_WAIT_MS);
        const job = await submit(req, 'runsync');
        cancelOnHangUp(res, job);
        await table.waitForEnd(job, wait, gone(res));
        sendJsonParts(res, 200, table.answer(job));
      },
    },
    'status/:id': {
      GET: ({ res, id }) => sendJsonParts(res, 200, table.answer(jobOf(id))),
      POST: ({ req, res, id }) => (req.resume(), sendJsonParts(res, 200, table.answer(jobOf(id)))),
    },
    'status-sync/:id': {
      GET: async ({ res, url, id }) => {
        const job = jobOf(id);
        await table.waitForEnd(job, waitParam(url, SYNC_WAIT_MS), gone(res));
        sendJsonParts(res, 200, table.answer(job));
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
    sendJsonParts(res, 200, table.takeParts(job));
  }

  const server = createServer(serverOptions, (req, res) => {
    void dispatch(req, res).finally(() => boundSend(res, limits.sendTimeoutMs));
  });
  applyConnectionLimits(server, limits);

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      const method = req.method ?? 'GET';
      // `/v2/<endpoint>/run` and `/run` are the same route: the endpoint id is not checked.
      const path = url.pathname.replace(/^\/v2\/[^/]+(?=\/)/, '').replace(/^\/+|\/+$/g, '');
      const [first = '', second, ...more] = path.split('/');
      // OpenAI's paths answer in OpenAI's shape, errors included (openai-routes.ts).
      if (first === 'v1') {
        return await openAi(req, res, path, () => {
          const who = authenticate(req, apiKey, authFailures);
          limiter?.take(who);
        });
      }
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
      if (!(key === 'health' && url.pathname === '/health')) {
        const who = authenticate(req, apiKey, authFailures);
        limiter?.take(who);
      }
      await route({ req, res, url, id: second === undefined ? undefined : decodePathSegment(second) });
    } catch (error) {
      if (error instanceof HttpError) {
        sendJson(res, error.status, error.code ? { error: error.message, code: error.code } : { error: error.message }, error.headers);
      } else {
        logger?.error({ event: 'serve.error' }, (error as Error).message);
        sendJson(res, 500, { error: `internal: ${(error as Error).message}` });
      }
      req.resume(); // whatever body is left is not read: let it drain
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;
  logger?.info({ event: 'serve.listening', url }, `listening on ${url}`);

  let closing: Promise<void> | null = null;
  return {
    url,
    port: address.port,
    connections: () => new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count)))),
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        table.close();
        await runner.drain();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
