/**
 * Connection bounds of the local API server, so that no client holds more than its share:
 * receiving headers and a whole request is timed (Node's requestTimeout limits receiving the
 * request, never the answer, so long polls are unaffected), idle keep-alive connections close,
 * open connections are capped, and an answer the client does not take within sendTimeoutMs
 * closes its connection instead of staying in memory: a whole answer once it is handed off, a
 * streamed one at each write that waits for the client (its generation is then cancelled and
 * its slot freed). The same bound cancels a streamed job nobody polls (job-table.ts).
 */
import type { Server, ServerResponse } from 'node:http';

export interface ConnectionLimits {
  /** Receiving a request's headers (default 30 s). */
  headersTimeoutMs?: number;
  /** Receiving a whole request, body included (default 120 s: 25 MB at about 1.7 Mbit/s). */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** Connections open at once (default 256); more are closed as they arrive. */
  maxConnections?: number;
  /**
   * HIGGS_SEND_TIMEOUT_MS: how long an answer waits for a client that does not read it (default
   * 60 s), then its connection closes: a whole answer from when it is handed off, a stream at each
   * write (its generation is cancelled), and a streamed job's /stream polls (the job is cancelled).
   */
  sendTimeoutMs?: number;
}

export const CONNECTION_LIMITS: Required<ConnectionLimits> = {
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  sendTimeoutMs: 60_000,
};

/** HIGGS_SEND_TIMEOUT_MS's bounds: below a second a busy machine's ordinary pauses would cut streams. */
export const SEND_TIMEOUT_RANGE = { minimum: 1000, maximum: 3_600_000 } as const;

/** The limits with defaults filled in, and the options node:http's createServer takes for them. */
export function connectionLimits(options: ConnectionLimits): { limits: Required<ConnectionLimits>; serverOptions: object } {
  const limits = { ...CONNECTION_LIMITS, ...definedOnly(options) };
  const serverOptions = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often node:http looks for requests past their timeouts (default 30 s): a fraction of the bound.
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
  };
  return { limits, serverOptions };
}

export function applyConnectionLimits(server: Server, limits: Required<ConnectionLimits>): void {
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
}

/** Closes the connection if the answer `res` has ended but is not sent within `ms`. */
export function boundSend(res: ServerResponse, ms: number): void {
  if (res.writableFinished || res.destroyed) return;
  const timer = setTimeout(() => res.destroy(), ms);
  timer.unref();
  const clear = () => clearTimeout(timer);
  res.once('finish', clear);
  res.once('close', clear);
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
