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

/**
 * The response formats this route writes: OpenAI's (aac has no maintained encoder in the image)
 * and the G.711 telephony ones; the library's aliases (pcm_16000, ulaw_8000, ...) too.
 */
export const SPEECH_FORMATS = ['mp3', 'opus', 'flac', 'wav', 'pcm', 'ulaw', 'alaw'] as const;
export type SpeechFormat = (typeof SPEECH_FORMATS)[number];
/** Formats a stream can carry as it is decoded: PCM16 windows (wav: a header with open sizes). */
export const STREAMABLE_FORMATS = ['pcm', 'wav'] as const satisfies readonly SpeechFormat[];

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
  input: z.string(),
  voice: voiceField.optional(),
  response_format: z.string().optional(),
  speed: z.number().min(0.25).max(4).optional(),
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

/** ref_audio as plain base64: a data: URI loses its prefix. */
function referenceBase64(value: string): string {
  const dataUri = /^data:[^,]*;base64,/i.exec(value);
  return dataUri ? value.slice(dataUri[0].length) : value;
}

const isUrl = (value: string) => /^https?:\/\//i.test(value);

/**
 * The speech body -> the library request, the format and the delivery.
 * @throws HiggsError E_INPUT naming the field (type errors, a format not written, speed != 1,
 *   a stream of a format that cannot stream, voice and ref_audio both).
 */
export function parseSpeechRequest(body: unknown): SpeechRequest {
  const b = parseWith(bodySchema, body);
  const asked = b.response_format ?? 'mp3';
  const alias = Object.hasOwn(OUTPUT_FORMAT_ALIASES, asked) ? OUTPUT_FORMAT_ALIASES[asked] : undefined;
  const format = (alias?.format ?? asked) as SpeechFormat;
  if (!(SPEECH_FORMATS as readonly string[]).includes(format)) {
    throw inputError('response_format', `${JSON.stringify(b.response_format)} is not supported (supported: ${SPEECH_FORMATS.join(', ')}, or ${Object.keys(OUTPUT_FORMAT_ALIASES).join(', ')})`);
  }
  if (b.speed !== undefined && b.speed !== 1) {
    throw inputError('speed', 'only 1.0 is supported for now (time-stretching is not built yet)');
  }
  const delivery: SpeechDelivery = b.stream_format === 'sse' ? 'sse' : b.stream || b.stream_format === 'audio' ? 'audio' : 'file';
  if (delivery !== 'file' && !(STREAMABLE_FORMATS as readonly string[]).includes(format)) {
    throw inputError('response_format', `${format} cannot be streamed as it is decoded (streams: ${STREAMABLE_FORMATS.join(', ')})`);
  }
  const voice = typeof b.voice === 'string' ? b.voice : b.voice?.id;
  if (voice !== undefined && b.ref_audio !== undefined) throw inputError('voice', 'give voice or ref_audio, not both');
  if (b.ref_text !== undefined && b.ref_audio === undefined) throw inputError('ref_text', 'needs ref_audio');

  const input: Record<string, unknown> = { transcript: b.input };
  if (voice !== undefined) input.ref_audio = voice;
  let referenceUrl: string | undefined;
  if (b.ref_audio !== undefined) {
    if (b.ref_text === undefined) throw inputError('ref_text', 'ref_audio needs the transcript of the clip');
    if (isUrl(b.ref_audio)) referenceUrl = b.ref_audio;
    input.ref_audio = { base64: isUrl(b.ref_audio) ? '' : referenceBase64(b.ref_audio), transcript: b.ref_text };
  }
  if (b.instructions !== undefined && b.instructions.trim() !== '') input.scene_prompt = b.instructions;
  for (const key of ['seed', 'temperature', 'top_p', 'top_k', 'max_new_tokens', 'sample_rate'] as const) {
    if (b[key] !== undefined) input[key] = b[key];
  }
  input.output_format = alias ? asked : format; // the library resolves an alias (and checks sample_rate against it)
  return { input, format, delivery, referenceUrl };
}
