/**
 * The local API server (`higgs-audio serve`): one HTTP server whose surfaces share its connection
 * limits (limits.ts), API key and rate limit (auth.ts) and body reading (http.ts): OpenAI's
 * `/v1/...` routes (openai-routes.ts, answering in OpenAI's shape) and RunPod's routes
 * (runpod-routes.ts: /run, /runsync, /status, /stream, POST / and /v2/<endpoint>/...), and the
 * text-in WebSocket /v1/audio/speech/stream (websocket-routes.ts, its upgrades). A client
 * that takes nothing of its answer or stream for sendTimeoutMs is cut off (its stream's
 * generation cancelled), as is a streamed job nobody polls for as long.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_MAX_QUEUE } from '../config/load-config.js';
import type { Logger } from '../common/log.js';
import type { TtsHandler } from '../runpod/handler.js';
import type { JobTableOptions } from './job-table.js';
import { AUTH_FAILURES_PER_MINUTE, RateLimiter, authenticate } from './auth.js';
import { HttpError, sendJson } from './http.js';
import { applyConnectionLimits, boundSend, connectionLimits, type ConnectionLimits } from './limits.js';
import { createOpenAiRoutes } from './openai-routes.js';
import { createRunpodRoutes } from './runpod-routes.js';
import { createWebSocketRoutes } from './websocket-routes.js';
import type { WebSocketLimits } from './websocket-limits.js';
import { createMetrics, routeLabel, type Metrics } from './metrics.js';
import { createPlayground } from './playground.js';

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
  /** The bounds of the text-in WebSocket /v1/audio/speech/stream (websocket-limits.ts; webSocketLimitsFromEnv). */
  websocket?: Partial<WebSocketLimits>;
  /**
   * What `GET /metrics` serves (lib/server/metrics.ts; docs/metrics.md). Give the one whose
   * observer the HiggsAudio was made with, or its service counters stay at zero; absent, one of
   * the server's own (HTTP figures and the handler's health).
   */
  metrics?: Metrics;
  /** `GET /metrics` without the API key (HIGGS_METRICS_PUBLIC=1), for a scraper; default false. */
  metricsPublic?: boolean;
  /** The playground page at GET / (playground.ts; HIGGS_PLAYGROUND=0 turns it off); default true. */
  playground?: boolean;
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

export async function startServer(handler: TtsHandler, options: ServeOptions = {}): Promise<RunningServer> {
  const { host = '127.0.0.1', port = 8080, apiKey, rateLimitPerMinute, bodyLimitBytes = 25 * 1024 * 1024, concurrency = 1, logger } = options;
  const { limits, serverOptions } = connectionLimits(options);
  const metrics = options.metrics ?? createMetrics({ health: () => handler.health() });
  const runpod = createRunpodRoutes(handler, {
    ...options,
    // One bound for every answer nobody takes (limits.ts): a streamed job nobody polls too.
    streamIdleMs: options.streamIdleMs ?? limits.sendTimeoutMs,
    apiKey,
    bodyLimitBytes,
    concurrency,
    maxQueue: options.maxQueue ?? DEFAULT_MAX_QUEUE,
    logger,
    metrics,
  });
  const openAi = createOpenAiRoutes(handler.speech, bodyLimitBytes, limits.sendTimeoutMs, metrics);
  // GET / and HEAD /: the page, with no key (it asks for one when the API answers 401).
  const playground = options.playground === false ? undefined : createPlayground(undefined, (message) => logger?.warn({ event: 'serve.playground' }, message));
  const limiter = rateLimitPerMinute ? new RateLimiter(rateLimitPerMinute) : null;
  const authFailures = new RateLimiter(AUTH_FAILURES_PER_MINUTE);
  const authorizeRequest = (req: IncomingMessage): void => {
    const who = authenticate(req, apiKey, authFailures);
    limiter?.take(who);
  };
  // The text-in WebSocket: its own module, under the same key, rate limit, send bound and body limit.
  const webSockets = createWebSocketRoutes(handler.speech, {
    limits: options.websocket,
    sendTimeoutMs: limits.sendTimeoutMs,
    maxMessageBytes: bodyLimitBytes,
    authorize: authorizeRequest,
    logger,
    metrics,
  });

  const server = createServer(serverOptions, (req, res) => {
    metrics.track(res);
    void dispatch(req, res).finally(() => boundSend(res, limits.sendTimeoutMs));
  });
  applyConnectionLimits(server, limits);
  server.on('upgrade', webSockets.upgrade);

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const authorize = (): void => authorizeRequest(req);
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      // `/v2/<endpoint>/run` and `/run` are the same route: the endpoint id is not checked.
      const path = url.pathname.replace(/^\/v2\/[^/]+(?=\/)/, '').replace(/^\/+|\/+$/g, '');
      metrics.setRoute(res, routeLabel(path));
      if (url.pathname.replace(/\/+$/, '') === '/metrics') return await sendMetrics(req, res, authorize);
      // OpenAI's paths answer in OpenAI's shape, errors included (openai-routes.ts).
      if (path.split('/')[0] === 'v1') return await openAi(req, res, path, authorize);
      if (playground?.handle(req, res, url.pathname)) return; // POST / stays RunPod's
      await runpod.handle(req, res, url, path, authorize);
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

  /** GET /metrics: the Prometheus text, behind the API key unless metricsPublic. */
  async function sendMetrics(req: IncomingMessage, res: ServerResponse, authorize: () => void): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed on /metrics (use GET or HEAD)`, { allow: 'GET, HEAD' });
    if (!options.metricsPublic) authorize();
    req.resume();
    const text = await metrics.text();
    res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
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
        await webSockets.close();
        await runpod.close();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
