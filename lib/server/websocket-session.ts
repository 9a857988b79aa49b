/**
 * One text-in speech session on a WebSocket (/v1/audio/speech/stream), in vLLM-Omni's message
 * shape: the protocol around a SpeechSession (lib/service/speech-session.ts), whose sentences are
 * OpenAI speech streams of the session's config (lib/openai/speech-service.ts).
 *
 * Client -> server (JSON text frames): `session.config` once first, then `input.text` {text} of
 * any size, `input.done` to flush the rest, `input.cancel` to drop what waits and stop what is
 * being spoken. Server -> client: per sentence `audio.start`, binary frames of its audio (a
 * complete response of its own in the session's format: wav starts with its own header, pcm is
 * PCM16 LE at the session's rate), `audio.done` with its place in the session's output, timing
 * and how it ended; `input.cancelled` after a cancel; `session.done` at the end (then the socket
 * closes, 1000). Problems are `error` {code, message} messages; the session goes on unless the
 * problem ends it (idle, too long: closed 1008).
 */
import type { WebSocket } from 'ws';
import { HiggsError, errorCode } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { OpenAiSpeech } from '../openai/speech-service.js';
import { streamOutcome } from '../openai/speech-service.js';
import { SpeechSession, pcmSeconds, type SentenceReport, type SpeakSentence, type SpeechSessionEvent } from '../service/speech-session.js';
import { parseSessionConfig, type SocketConfig } from './websocket-config.js';
import type { WebSocketLimits } from './websocket-limits.js';
import { SocketSender } from './websocket-sender.js';
import type { Metrics } from './metrics.js';

/** Close codes: done, a bound the session passed, and a failure of the server. */
export const CLOSE_CODES = { done: 1000, goingAway: 1001, policy: 1008, internal: 1011, tryLater: 1013 } as const;

export interface SocketSessionOptions {
  speech: OpenAiSpeech;
  limits: WebSocketLimits;
  /** serve's HIGGS_SEND_TIMEOUT_MS: how long audio waits for a client that takes none. */
  sendTimeoutMs: number;
  /** For logs and the requests' ids (never the URL or its query: it may hold the API key). */
  sessionId: string;
  logger?: Logger;
  /** Each sentence as a request of route "websocket" (status done, failed or cancelled), its first byte timed. */
  metrics?: Metrics;
}

const MESSAGE_TYPES = ['session.config', 'input.text', 'input.done', 'input.cancel'];

/** Serves one socket until it closes; resolves once the session's work has stopped. */
export async function serveSpeechSocket(ws: WebSocket, options: SocketSessionOptions): Promise<void> {
  const { limits, logger, sessionId } = options;
  const sender = new SocketSender(ws, limits.maxUnsentBytes, options.sendTimeoutMs);
  let config: SocketConfig | null = null;
  let session: SpeechSession | null = null;
  let pump: Promise<void> = Promise.resolve();
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const opened = performance.now();
  logger?.info({ event: 'ws.session.open', sessionId }, 'speech session opened');

  const fail = (code: string, message: string, extra: Record<string, unknown> = {}) => sender.reply({ type: 'error', code, message, ...extra });
  const end = (code: number, reason: string) => {
    session?.close();
    if (sender.open) ws.close(code, reason);
  };

  // A session whose client says nothing while nothing is being spoken is closed; so is one open too long.
  let idle = setTimeout(onIdle, limits.idleMs);
  function onIdle(): void {
    if (session?.busy || sender.unsentBytes > 0) {
      idle = setTimeout(onIdle, limits.idleMs);
      return;
    }
    fail('E_CANCELLED', `session: idle for ${limits.idleMs / 1000} s (nothing sent, nothing to speak); closed`);
    end(CLOSE_CODES.policy, 'idle');
  }
  const lifetime = setTimeout(() => {
    fail('E_CANCELLED', `session: open for ${limits.maxSessionMs / 1000} s, the most a session may; closed`);
    end(CLOSE_CODES.policy, 'session too long');
  }, limits.maxSessionMs);

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    clearTimeout(idle);
    idle = setTimeout(onIdle, limits.idleMs);
    const message = isBinary ? null : parseMessage(data);
    if (message === null || typeof message === 'string') {
      return void fail('E_INPUT', message ?? 'message: binary frames are not taken; send JSON text messages');
    }
    try {
      handle(message);
    } catch (error) {
      fail(errorCode(error), error instanceof Error ? error.message : String(error));
    }
  });

  function handle(message: Record<string, unknown>): void {
    const type = message.type;
    if (typeof type !== 'string' || !MESSAGE_TYPES.includes(type)) {
      throw new HiggsError('E_INPUT', `type: ${typeof type === 'string' ? JSON.stringify(type.slice(0, 64)) : 'missing'}; one of ${MESSAGE_TYPES.join(', ')}`);
    }
    if (type === 'session.config') {
      if (session) throw new HiggsError('E_INPUT', 'session.config: the session is configured already (it is sent once, first)');
      config = parseSessionConfig(message);
      session = new SpeechSession(speakWith(options, config), { limits, partialSeconds: pcmSeconds(config.outputFormat, config.sampleRate) });
      pump = sendEvents(session, config);
      return;
    }
    if (!session) throw new HiggsError('E_INPUT', `${type}: send session.config first`);
    if (type === 'input.text') {
      if (typeof message.text !== 'string') throw new HiggsError('E_INPUT', 'input.text: text must be a string');
      session.push(message.text);
    } else if (type === 'input.done') {
      session.end();
    } else {
      session.cancel();
    }
  }

  /** The session's events as messages and frames, in order; ends when the session or the socket does. */
  async function sendEvents(running: SpeechSession, { format, sampleRate, seed }: SocketConfig): Promise<void> {
    try {
      for await (const event of running.events()) {
        if (event.type === 'sentence.done') countSentence(event);
        // A sentence that failed says why as an error, then ends with its audio.done as every sentence does.
        if (event.type === 'sentence.done' && event.error) {
          if (!(await sender.send({ type: 'error', code: event.error.code, message: event.error.message, sentence_index: event.index }))) break;
        }
        if (!(await sender.send(messageOf(event, format, sampleRate, seed)))) break;
        if (event.type === 'sentence.done') logSentence(event);
        if (event.type === 'session.done') end(CLOSE_CODES.done, 'session done');
      }
    } catch (error) {
      logger?.error({ event: 'ws.session.error', sessionId, code: errorCode(error) }, (error as Error).message);
      fail('E_INTERNAL', `session: ${(error as Error).message}`);
      end(CLOSE_CODES.internal, 'internal error');
    }
  }

  /** A sentence is a request of route "websocket", counted whether or not its audio.done reaches the client. */
  function countSentence({ status, timing }: SentenceReport): void {
    options.metrics?.request('websocket', status, timing.queuedSeconds + timing.generateSeconds);
    if (timing.firstByteSeconds !== null) options.metrics?.timeToFirstAudio('websocket', timing.firstByteSeconds);
  }

  function logSentence(report: SentenceReport): void {
    const { index, status, bytes, timing } = report;
    logger?.info({ event: 'ws.sentence.done', sessionId, index, status, bytes, ...timing, ...(report.error ? { code: report.error.code } : {}) }, 'sentence spoken');
  }

  await closed;
  clearTimeout(idle);
  clearTimeout(lifetime);
  (session as SpeechSession | null)?.close(); // a closed socket cancels its work
  await pump;
  logger?.info({ event: 'ws.session.close', sessionId, seconds: Math.round(performance.now() - opened) / 1000 }, 'speech session closed');
}

/** Each sentence is the config's speech body with the sentence as its input, streamed with the earlier sentences as context. */
function speakWith({ speech, sessionId }: SocketSessionOptions, config: SocketConfig): SpeakSentence {
  let count = 0;
  return (text, { history, signal }) => speech.stream({ ...config.body, input: text, stream: true }, { signal, history, requestId: `${sessionId}.${count++}` });
}

/** A client's message as an object, or what is wrong with it. */
function parseMessage(data: Buffer): Record<string, unknown> | string {
  let message: unknown;
  try {
    message = JSON.parse(data.toString('utf8'));
  } catch (error) {
    return `message: not valid JSON (${(error as Error).message})`;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'message: must be a JSON object with a "type"';
  return message as Record<string, unknown>;
}

/** An event as what goes on the wire: a binary frame of audio, or a JSON message. */
function messageOf(event: SpeechSessionEvent, format: string, sampleRate: number, seed: number): Buffer | Record<string, unknown> {
  switch (event.type) {
    case 'sentence.start':
      return { type: 'audio.start', sentence_index: event.index, sentence_text: event.text, format, sample_rate: sampleRate };
    case 'sentence.audio':
      return event.bytes;
    case 'sentence.done':
      return audioDone(event);
    case 'cancelled':
      return { type: 'input.cancelled', dropped_sentences: event.droppedSentences };
    case 'session.done':
      return { type: 'session.done', total_sentences: event.sentences, audio_seconds: event.audioSeconds, seed };
  }
}

/** audio.done: the sentence's place in the session's output, how it ended, and its timing. */
function audioDone(report: SentenceReport): Record<string, unknown> {
  const outcome = report.summary ? streamOutcome(report.summary) : undefined;
  return {
    type: 'audio.done',
    sentence_index: report.index,
    start_seconds: report.startSeconds,
    end_seconds: report.endSeconds,
    total_bytes: report.bytes,
    status: report.status,
    error: report.status === 'failed',
    ...(report.error ? { error_code: report.error.code, error_message: report.error.message } : {}),
    truncated: outcome?.truncated ?? false,
    stop_reasons: outcome?.stop_reasons ?? [],
    ...(outcome ? { seed: outcome.seed, result_hash: outcome.result_hash, usage: outcome.usage } : {}),
    timing: {
      queued_seconds: report.timing.queuedSeconds,
      first_byte_seconds: report.timing.firstByteSeconds,
      generate_seconds: report.timing.generateSeconds,
    },
  };
}
