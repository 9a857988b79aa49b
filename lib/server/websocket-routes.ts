/**
 * `serve`'s WebSocket surface: the HTTP upgrade of /v1/audio/speech/stream (text-in speech
 * sessions, websocket-session.ts), behind the same API key and rate limit as every HTTP route.
 * The key comes as an `Authorization` header, or, for browsers (which cannot set one on a
 * WebSocket), as `?api_key=`; neither the key nor the URL's query is ever logged. An upgrade of
 * any other path, a wrong key or a rate limit is refused with its HTTP status before the
 * handshake; a session beyond maxSessions is opened only to be told E_BUSY and closed (1013),
 * which a browser can read where it cannot read an HTTP refusal.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../common/log.js';
import type { OpenAiSpeech } from '../openai/speech-service.js';
import { HttpError } from './http.js';
import { WEBSOCKET_LIMITS, type WebSocketLimits } from './websocket-limits.js';
import { CLOSE_CODES, serveSpeechSocket } from './websocket-session.js';
import type { Metrics } from './metrics.js';

export const SPEECH_SOCKET_PATH = '/v1/audio/speech/stream';

/** How long close() lets sessions close cleanly before it cuts their sockets. */
const CLOSE_GRACE_MS = 1000;

export interface WebSocketRouteOptions {
  limits?: Partial<WebSocketLimits>;
  /** serve's HIGGS_SEND_TIMEOUT_MS (limits.ts). */
  sendTimeoutMs: number;
  /** The largest message, serve's body limit: a session.config may carry an inline ref_audio. */
  maxMessageBytes: number;
  /** serve's API key and rate limit (auth.ts); throws an HttpError (401, 429) to refuse. */
  authorize: (req: IncomingMessage) => void;
  logger?: Logger;
  /** Each sentence counted (route "websocket"; lib/server/metrics.ts). */
  metrics?: Metrics;
}

export interface WebSocketRoutes {
  /** The http server's 'upgrade' handler. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Sessions open now. */
  sessions(): number;
  /** Closes every session (1001), cancelling its work, and waits for them to stop. */
  close(): Promise<void>;
}

let sessionCounter = 0;

export function createWebSocketRoutes(speech: OpenAiSpeech, options: WebSocketRouteOptions): WebSocketRoutes {
  const limits: WebSocketLimits = { ...WEBSOCKET_LIMITS, ...options.limits };
  const { logger } = options;
  const server = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
  const open = new Map<WebSocket, Promise<void>>();
  let closing = false;

  function accept(ws: WebSocket): void {
    ws.on('error', (error) => logger?.warn({ event: 'ws.error' }, error.message)); // e.g. a message over maxPayload (closed 1009)
    if (closing || open.size >= limits.maxSessions) {
      const why = closing ? 'the server is shutting down' : `${open.size} sessions are open, the most this server takes`;
      ws.send(JSON.stringify({ type: 'error', code: 'E_BUSY', message: `busy: ${why}; try again later` }));
      ws.close(closing ? CLOSE_CODES.goingAway : CLOSE_CODES.tryLater, 'busy');
      return;
    }
    const sessionId = `ws-${++sessionCounter}`;
    const served = serveSpeechSocket(ws, { speech, limits, sendTimeoutMs: options.sendTimeoutMs, sessionId, logger, metrics: options.metrics })
      .catch((error: Error) => logger?.error({ event: 'ws.session.error', sessionId }, error.message))
      .finally(() => open.delete(ws));
    open.set(ws, served);
  }

  return {
    upgrade(req, socket, head) {
      socket.on('error', () => socket.destroy()); // a client gone mid-handshake
      try {
        const url = new URL(req.url ?? '/', 'http://local');
        if (url.pathname.replace(/\/+$/, '') !== SPEECH_SOCKET_PATH) throw new HttpError(404, `no WebSocket route ${url.pathname} (the one is ${SPEECH_SOCKET_PATH})`);
        options.authorize(withQueryKey(req, url));
      } catch (error) {
        const refusal = error instanceof HttpError ? error : new HttpError(500, 'internal error');
        return refuse(socket, refusal);
      }
      server.handleUpgrade(req, socket, head, accept);
    },
    sessions: () => open.size,
    async close() {
      closing = true;
      const sessions = [...open];
      for (const [ws] of sessions) ws.close(CLOSE_CODES.goingAway, 'server shutting down');
      const grace = setTimeout(() => sessions.forEach(([ws]) => ws.terminate()), CLOSE_GRACE_MS);
      await Promise.all(sessions.map(([, served]) => served));
      clearTimeout(grace);
      server.close();
    },
  };
}

/**
 * The request as auth.ts reads it, with a `?api_key=` standing in for a missing Authorization
 * header (only the header and the client address are read there).
 */
function withQueryKey(req: IncomingMessage, url: URL): IncomingMessage {
  const key = url.searchParams.get('api_key');
  if (req.headers.authorization !== undefined || key === null) return req;
  return { headers: { ...req.headers, authorization: `Bearer ${key}` }, socket: req.socket } as IncomingMessage;
}

/** An HTTP answer on the raw socket of a refused upgrade. */
function refuse(socket: Duplex, error: HttpError): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify(error.code ? { error: error.message, code: error.code } : { error: error.message });
  const headers = { connection: 'close', 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...error.headers };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n${head}\r\n${body}`);
}
