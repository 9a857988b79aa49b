/**
 * The body of OpenAI's `POST /v1/audio/speech` (and the Boson / vLLM-Omni extensions) turned
 * into this library's request: the same HiggsAudio input every other route sends, so the limits
 * and defaults stay those of lib/request/schema.ts (one validation). Unknown fields are ignored
 * here, as OpenAI clients send fields of their own; a known field of the wrong type or range is
 * an E_INPUT that names it. An http(s) ref_audio is left for fetch-reference.ts.
 */
import * as z from 'zod';
import { HiggsError } from '../common/errors.js';
import { parseWith } from '../request/issues.js';
import { OUTPUT_FORMAT_ALIASES } from '../request/defaults.js';
import { VOICE_NAME_RULE } from '../request/voice-schema.js';
import { parseVoiceSpec } from '../voices/paths.js';

/**
 * The response formats this route writes: OpenAI's (aac has no maintained encoder in the image),
 * the G.711 telephony ones and the library's codes (a JSON body); the library's aliases
 * (pcm_16000, ulaw_8000, ...) too.
 */
export const SPEECH_FORMATS = ['mp3', 'opus', 'flac', 'wav', 'pcm', 'ulaw', 'alaw', 'codes'] as const;
export type SpeechFormat = (typeof SPEECH_FORMATS)[number];
/** Formats a stream can carry as it is decoded: every audio format (lib/audio/stream-encoder.ts); codes are one JSON body. */
export const STREAMABLE_FORMATS = SPEECH_FORMATS.filter((format) => format !== 'codes');

/** How the audio leaves: one body, chunked bytes as windows decode, or server-sent events. */
export type SpeechDelivery = 'file' | 'audio' | 'sse';

/** The model ids GET /v1/models lists; any string is accepted as `model`. */
export const SPEECH_MODELS = ['higgs-audio-v2', 'tts-1', 'tts-1-hd', 'gpt-4o-mini-tts'] as const;

export interface SpeechRequest {
  /** The library request (lib/request/schema.ts fields), validated when it runs. */
  input: Record<string, unknown>;
  /** An http(s) ref_audio: fetched (where allowed) into input.ref_audio before the request runs. */
  referenceUrl?: string;
  format: SpeechFormat;
  delivery: SpeechDelivery;
}

const voiceField = z.union([z.string(), z.looseObject({ id: z.string() })]);

const bodySchema = z.looseObject({
  model: z.string().optional(),
  // Absent only in a decode-only body (`codes`); the library checks the rest of the codes.
  input: z.string().optional(),
  codes: z.unknown().optional(),
  ref_codes: z.unknown().optional(),
  save_voice: z.unknown().optional(),
  voice: voiceField.optional(),
  response_format: z.string().optional(),
  speed: z.number().optional(),
  instructions: z.string().optional(),
  stream_format: z.enum(['audio', 'sse']).optional(),
  stream: z.boolean().optional(),
  ref_audio: z.string().optional(),
  ref_text: z.string().optional(),
  seed: z.number().optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  top_k: z.number().optional(),
  max_new_tokens: z.number().optional(),
  sample_rate: z.number().optional(),
});

function inputError(param: string, message: string): HiggsError {
  return new HiggsError('E_INPUT', `invalid request: ${param}: ${message}`);
}

function isVoiceName(voice: string): boolean {
  try {
    parseVoiceSpec(voice);
    return true;
  } catch {
    return false;
  }
}

/** ref_audio as plain base64: a data: URI loses its prefix. */
function referenceBase64(value: string): string {
  const dataUri = /^data:[^,]*;base64,/i.exec(value);
  return dataUri ? value.slice(dataUri[0].length) : value;
}

const isUrl = (value: string) => /^https?:\/\//i.test(value);

/**
 * The speech body -> the library request, the format and the delivery.
 * @throws HiggsError E_INPUT naming the field (type errors, a format not written, a stream of a
 *   format that cannot stream, more than one of voice / ref_audio / ref_codes, codes with input).
 */
export function parseSpeechRequest(body: unknown): SpeechRequest {
  const b = parseWith(bodySchema, body);
  const asked = b.response_format ?? 'mp3';
  const alias = Object.hasOwn(OUTPUT_FORMAT_ALIASES, asked) ? OUTPUT_FORMAT_ALIASES[asked] : undefined;
  const format = (alias?.format ?? asked) as SpeechFormat;
  if (!(SPEECH_FORMATS as readonly string[]).includes(format)) {
    throw inputError('response_format', `${JSON.stringify(b.response_format)} is not supported (supported: ${SPEECH_FORMATS.join(', ')}, or ${Object.keys(OUTPUT_FORMAT_ALIASES).join(', ')})`);
  }
  const delivery: SpeechDelivery = b.stream_format === 'sse' ? 'sse' : b.stream || b.stream_format === 'audio' ? 'audio' : 'file';
  if (delivery !== 'file' && !(STREAMABLE_FORMATS as readonly string[]).includes(format)) {
    throw inputError('response_format', `${format} cannot be streamed as it is decoded (streams: ${STREAMABLE_FORMATS.join(', ')})`);
  }
  if (b.input === undefined) {
    if (b.codes === undefined) throw inputError('input', 'required (the text to speak), or codes to decode');
    if (delivery !== 'file') throw inputError('codes', 'a decode-only request returns one file: no stream');
    return { input: { codes: b.codes, ...outputFields(b, asked, alias !== undefined, format) }, format, delivery };
  }
  const voice = typeof b.voice === 'string' ? b.voice : b.voice?.id;
  const given = [voice !== undefined && 'voice', b.ref_audio !== undefined && 'ref_audio', b.ref_codes !== undefined && 'ref_codes'].filter(Boolean);
  if (given.length > 1) throw inputError(String(given[1]), `give one of voice, ref_audio and ref_codes (got ${given.join(' and ')})`);
  if (b.ref_text !== undefined && b.ref_audio === undefined && b.ref_codes === undefined) throw inputError('ref_text', 'needs ref_audio or ref_codes');
  if (b.codes !== undefined) throw inputError('codes', 'decode-only: send codes without input');

  const input: Record<string, unknown> = { transcript: b.input };
  // The voice becomes ref_audio, whose schema would name that field: name the one the client sent.
  if (voice !== undefined && !isVoiceName(voice)) throw inputError('voice', VOICE_NAME_RULE);
  if (voice !== undefined) input.ref_audio = voice;
  if (b.ref_codes !== undefined) {
    if (b.ref_text === undefined) throw inputError('ref_text', 'ref_codes needs the transcript of the codes');
    input.ref_audio = { codes: b.ref_codes, transcript: b.ref_text };
  }
  let referenceUrl: string | undefined;
  if (b.ref_audio !== undefined) {
    if (b.ref_text === undefined) throw inputError('ref_text', 'ref_audio needs the transcript of the clip');
    if (isUrl(b.ref_audio)) referenceUrl = b.ref_audio;
    input.ref_audio = { base64: isUrl(b.ref_audio) ? '' : referenceBase64(b.ref_audio), transcript: b.ref_text };
  }
  if (b.instructions !== undefined && b.instructions.trim() !== '') input.scene_prompt = b.instructions;
  for (const key of ['seed', 'temperature', 'top_p', 'top_k', 'max_new_tokens', 'save_voice'] as const) {
    if (b[key] !== undefined) input[key] = b[key];
  }
  return { input: { ...input, ...outputFields(b, asked, alias !== undefined, format) }, format, delivery, referenceUrl };
}

/** output_format (an alias as asked: the library resolves it and checks sample_rate against it), sample_rate, speed. */
function outputFields(b: { sample_rate?: number; speed?: number }, asked: string, isAlias: boolean, format: SpeechFormat): Record<string, unknown> {
  const fields: Record<string, unknown> = { output_format: isAlias ? asked : format };
  if (b.sample_rate !== undefined) fields.sample_rate = b.sample_rate;
  if (b.speed !== undefined) fields.speed = b.speed;
  return fields;
}
