/**
 * The bounds of `serve`'s text-in WebSocket (/v1/audio/speech/stream), in one table: the text
 * bounds of a speech session (lib/service/speech-session.ts) and the socket's own. Two more come
 * from serve's HTTP bounds, so that one setting rules both: a message is at most bodyLimitBytes
 * (a session.config carries what a POST /v1/audio/speech body does, an inline ref_audio
 * included), and a client that takes no audio for sendTimeoutMs (HIGGS_SEND_TIMEOUT_MS) is cut
 * off, its generation cancelled.
 */
import { SPEECH_SESSION_LIMITS, type SpeechSessionLimits } from '../service/speech-session.js';

export interface WebSocketLimits extends SpeechSessionLimits {
  /** Sessions open at once; one more is told E_BUSY and closed (1013). They share the service's slots. */
  maxSessions: number;
  /** A session whose client sends nothing while nothing is being spoken is closed after this. */
  idleMs: number;
  /** The longest a session may stay open. */
  maxSessionMs: number;
  /** Audio and messages handed to the socket but not yet taken by the network: past this, generation waits. */
  maxUnsentBytes: number;
}

export const WEBSOCKET_LIMITS: Readonly<WebSocketLimits> = {
  ...SPEECH_SESSION_LIMITS,
  maxSessions: 64,
  idleMs: 60_000,
  maxSessionMs: 30 * 60_000,
  maxUnsentBytes: 1024 * 1024,
};

/** The environment variables that override a bound (whole numbers within the range given). */
export const WEBSOCKET_LIMIT_VARIABLES = {
  HIGGS_WS_MAX_SESSIONS: { limit: 'maxSessions', minimum: 1, maximum: 10_000 },
  HIGGS_WS_IDLE_MS: { limit: 'idleMs', minimum: 1000, maximum: 3_600_000 },
  HIGGS_WS_MAX_SESSION_MS: { limit: 'maxSessionMs', minimum: 1000, maximum: 24 * 3_600_000 },
  HIGGS_WS_MAX_UNSENT_BYTES: { limit: 'maxUnsentBytes', minimum: 16 * 1024, maximum: 256 * 1024 * 1024 },
  HIGGS_WS_MAX_BUFFERED_CHARS: { limit: 'maxBufferedChars', minimum: 100, maximum: 1_000_000 },
  HIGGS_WS_MAX_SESSION_CHARS: { limit: 'maxSessionChars', minimum: 100, maximum: 100_000_000 },
} as const satisfies Record<string, { limit: keyof WebSocketLimits; minimum: number; maximum: number }>;

/**
 * The bounds the environment sets (the CLI passes its environment; unset variables are left out).
 * @throws RangeError naming the variable, for a value that is not a whole number in its range.
 */
export function webSocketLimitsFromEnv(env: Readonly<Record<string, string | undefined>>): Partial<WebSocketLimits> {
  const limits: Partial<WebSocketLimits> = {};
  for (const [name, { limit, minimum, maximum }] of Object.entries(WEBSOCKET_LIMIT_VARIABLES)) {
    const text = env[name];
    if (text === undefined || text.trim() === '') continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value < minimum || value > maximum) {
      throw new RangeError(`${name} must be a whole number from ${minimum} to ${maximum} (got ${JSON.stringify(text)})`);
    }
    limits[limit] = value;
  }
  return limits;
}
