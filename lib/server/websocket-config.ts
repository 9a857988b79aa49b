/**
 * A WebSocket session's `session.config`: the fields of a POST /v1/audio/speech body without
 * its input (voice or ref_audio/ref_text, response_format, sample_rate, speed, seed, sampling,
 * instructions), checked once, when it arrives, by the same schema as that route (the OpenAI
 * body's, then the library request's ranges), so that a bad field is refused before any text
 * is taken. Every sentence of the session is then that body with the sentence as its input and
 * the session's one seed (the client's, or one drawn here).
 */
import { HiggsError } from '../common/errors.js';
import { parseSpeechRequest, type SpeechFormat } from '../openai/speech-request.js';
import { parseRequest } from '../request/schema.js';

export interface SocketConfig {
  /** The speech body of every sentence, less its input. */
  body: Record<string, unknown>;
  format: SpeechFormat;
  /** Hz of the audio (pcm: of its samples; the others say it in their headers). */
  sampleRate: number;
  seed: number;
  /** The library's output format (an alias resolved), for the seconds of a sentence cut short. */
  outputFormat: string;
}

/** Without response_format a session answers in WAV, each sentence a file of its own. */
export const SOCKET_DEFAULT_FORMAT = 'wav';

/** Fields of a speech body a session has no use for: its text comes as input.text, its audio as frames. */
const NOT_IN_CONFIG: Record<string, string> = {
  input: 'send the text as input.text messages',
  codes: 'a session speaks text; decode codes with POST /v1/audio/speech',
  save_voice: 'a session does not save its voice; use POST /v1/audio/speech',
};

/**
 * The session's config from the `session.config` message (its type field ignored, as are the
 * stream fields: a session always streams).
 * @throws HiggsError E_INPUT naming the field.
 */
export function parseSessionConfig(message: Record<string, unknown>): SocketConfig {
  const { type: _type, stream: _stream, stream_format: _streamFormat, ...fields } = message;
  for (const [field, advice] of Object.entries(NOT_IN_CONFIG)) {
    if (Object.hasOwn(fields, field)) throw new HiggsError('E_INPUT', `invalid session.config: ${field}: not taken here (${advice})`);
  }
  const seed = fields.seed ?? Math.floor(Math.random() * 2 ** 32);
  const body = { response_format: SOCKET_DEFAULT_FORMAT, ...fields, seed };
  const speech = parseSpeechRequest({ ...body, input: 'A sentence.', stream: true });
  // An http(s) ref_audio is fetched as each sentence runs; its place holder passes the base64 rule meanwhile.
  const reference = speech.input.ref_audio as Record<string, unknown> | string | undefined;
  const input = speech.referenceUrl !== undefined && typeof reference === 'object' ? { ...speech.input, ref_audio: { ...reference, base64: 'AAAA' } } : speech.input;
  const request = parseRequest(input);
  return { body, format: speech.format, sampleRate: request.sample_rate, seed: request.seed ?? (seed as number), outputFormat: request.output_format };
}
