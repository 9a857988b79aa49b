/**
 * The TTS request: ONE zod schema shared by the library, the CLI, the HTTP server and the RunPod
 * worker, with the snake_case field names RunPod inputs use. Limits and defaults live in
 * REQUEST_DEFAULTS (lib/request/defaults.ts); voices are parsed here but resolved by the engine.
 */
import * as z from 'zod';
import {
  CODES_FORMAT,
  DEFAULT_MAX_NEW_TOKENS_CAP,
  OUTPUT_FORMATS,
  OUTPUT_FORMAT_ALIASES,
  REQUEST_DEFAULTS as D,
  CODEC_SAMPLE_RATE,
  FORMAT_SAMPLE_RATES,
  SAMPLE_RATES,
  defaultSampleRate,
  outputLimitProblem,
  type OutputFormat,
  type ResultFormat,
  type SampleRate,
} from './defaults.js';
import { RequestInputError, parseWith } from './issues.js';
import { boundedText } from './text.js';
import { codesWireSchema, speakersSchema, voiceSchema, type RequestVoice, type SpeakerVoice } from './voice-schema.js';
import { VOICE_NAME_PATTERN } from '../voices/paths.js';
import { MAX_WIRE_FRAMES, type CodesWire } from '../audio/codes-wire.js';
import { CHUNK_METHODS, type ChunkMethod } from '../text/chunking.js';

export {
  CODES_FORMAT,
  DEFAULT_MAX_NEW_TOKENS_CAP,
  MAX_INLINE_AUDIO_BYTES,
  MAX_SPEAKERS,
  OUTPUT_FORMATS,
  OUTPUT_FORMAT_ALIASES,
  OUTPUT_LIMITS,
  REQUEST_DEFAULTS,
  SAMPLE_RATES,
} from './defaults.js';
export type { OutputFormat, RequestFieldDoc, ResultFormat, SampleRate } from './defaults.js';
export { RequestInputError, formatIssues, parseWith } from './issues.js';
export type { CodesVoiceSpec, InlineVoiceSpec, RequestVoice, SpeakerVoice } from './voice-schema.js';

/** How the audio of a request is delivered: format, rate and speed (shared by decode-only requests). */
export interface OutputOptions {
  /** An alias (pcm_16000, ...) is resolved into output_format and sample_rate. */
  output_format: ResultFormat;
  /** The output rate in Hz, its format's default filled in. */
  sample_rate: SampleRate;
  /** Time-stretch factor; 1 = untouched. */
  speed: number;
}

/** A request after validation: trimmed, cleaned, every default filled in. */
export interface ValidatedRequest extends OutputOptions {
  /** Trimmed, 1..10,000 characters. */
  transcript: string;
  /** Parsed, not resolved; absent: smart voice (or speakers). */
  ref_audio?: RequestVoice;
  /** Speaker number -> voice or description, in ascending order. */
  speakers?: Record<number, SpeakerVoice>;
  /** Cleaned of control tokens and trimmed; absent (or undefined) when empty. */
  scene_prompt?: string | undefined;
  temperature: number;
  top_p: number;
  top_k: number;
  max_new_tokens: number;
  seed?: number;
  ras_win_len: number;
  ras_win_max_num_repeat: number;
  chunk_method: ChunkMethod;
  chunk_max_word_num: number;
  chunk_max_num_turns: number;
  generation_chunk_buffer_size: number | null;
  /** Store the result as this preset (checked against the voices directory when it runs). */
  save_voice?: string;
}

/** A decode-only request: codes in, audio out. */
export interface DecodeRequest extends OutputOptions {
  codes: CodesWire;
}

export interface RequestOptions {
  /** Largest max_new_tokens a request may ask for; default 4096. The default 1024 is lowered to it. */
  maxNewTokensCap?: number;
}

function cap(options: RequestOptions): number {
  const value = options.maxNewTokensCap ?? DEFAULT_MAX_NEW_TOKENS_CAP;
  // A bad cap is the server's mistake, not the caller's: TypeError, not E_INPUT.
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError('maxNewTokensCap must be a positive integer');
  return value;
}

const int = (min: number, max: number) => z.int().min(min).max(max);

/** The fields of a request with their bounds and defaults (all from REQUEST_DEFAULTS). */
function requestShape(options: RequestOptions = {}) {
  const maxTokens = cap(options);
  return {
    transcript: boundedText({ min: 1, max: D.transcript.maxLength }),
    ref_audio: voiceSchema.optional(),
    speakers: speakersSchema.optional(),
    scene_prompt: boundedText({ min: 0, max: D.scene_prompt.maxLength, clean: true }).optional(),
    temperature: z.number().min(D.temperature.minimum).max(D.temperature.maximum).default(D.temperature.default),
    top_p: z.number().min(D.top_p.minimum).max(D.top_p.maximum).default(D.top_p.default),
    top_k: int(D.top_k.minimum, D.top_k.maximum).default(D.top_k.default),
    max_new_tokens: int(D.max_new_tokens.minimum, maxTokens).default(Math.min(D.max_new_tokens.default, maxTokens)),
    seed: int(D.seed.minimum, D.seed.maximum).optional(),
    ras_win_len: int(D.ras_win_len.minimum, D.ras_win_len.maximum).default(D.ras_win_len.default),
    ras_win_max_num_repeat: int(D.ras_win_max_num_repeat.minimum, D.ras_win_max_num_repeat.maximum).default(
      D.ras_win_max_num_repeat.default,
    ),
    chunk_method: z.enum(CHUNK_METHODS).default(D.chunk_method.default),
    chunk_max_word_num: int(D.chunk_max_word_num.minimum, D.chunk_max_word_num.maximum).default(D.chunk_max_word_num.default),
    chunk_max_num_turns: int(D.chunk_max_num_turns.minimum, D.chunk_max_num_turns.maximum).default(
      D.chunk_max_num_turns.default,
    ),
    generation_chunk_buffer_size: z
      .union([z.null(), int(D.generation_chunk_buffer_size.minimum, D.generation_chunk_buffer_size.maximum)])
      .default(D.generation_chunk_buffer_size.default),
    ...outputShape,
    save_voice: z.string().regex(VOICE_NAME_PATTERN, 'must be 1 to 64 letters, digits, \'_\' or \'-\'').optional(),
  };
}

/** output_format, sample_rate and speed: the same for generated and decode-only requests. */
const outputShape = {
  output_format: z.enum([...OUTPUT_FORMATS, CODES_FORMAT, ...Object.keys(OUTPUT_FORMAT_ALIASES)] as [string, ...string[]]).default(D.output_format.default),
  sample_rate: z
    .number()
    .refine((rate) => (SAMPLE_RATES as readonly number[]).includes(rate), { message: `must be one of ${SAMPLE_RATES.join(', ')}` })
    .optional(),
  speed: z.number().min(D.speed.minimum).max(D.speed.maximum).default(D.speed.default),
};

/**
 * Checks across fields. ref_audio and speakers are exclusive: with both, which voice SPEAKER0
 * gets would be a guess.
 */
function checkRequest(
  request: { ref_audio?: unknown; speakers?: unknown; save_voice?: string; output_format: string; sample_rate?: number; speed: number },
  ctx: z.RefinementCtx,
): void {
  if (request.ref_audio !== undefined && request.speakers !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'give either ref_audio or speakers, not both', path: ['speakers'] });
  }
  if (request.save_voice !== undefined && request.speakers !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'a saved voice is one speaker: not with speakers', path: ['save_voice'] });
  }
  checkOutput(request, ctx);
}

/** An alias and sample_rate must agree; codes are not audio, so no rate or speed applies. */
function checkOutput(request: { output_format: string; sample_rate?: number; speed: number }, ctx: z.RefinementCtx): void {
  if (request.output_format === CODES_FORMAT) {
    if (request.sample_rate !== undefined) ctx.addIssue({ code: 'custom', message: 'codes have no sample rate: leave it out', path: ['sample_rate'] });
    if (request.speed !== 1) ctx.addIssue({ code: 'custom', message: 'codes cannot be time-stretched: speed must be 1', path: ['speed'] });
  }
  const alias = Object.hasOwn(OUTPUT_FORMAT_ALIASES, request.output_format) ? OUTPUT_FORMAT_ALIASES[request.output_format] : undefined;
  if (alias && request.sample_rate !== undefined && request.sample_rate !== alias.sampleRate) {
    ctx.addIssue({ code: 'custom', message: `${request.output_format} is ${alias.sampleRate} Hz; sample_rate says ${request.sample_rate}`, path: ['sample_rate'] });
  }
  // A format that states only some rates (opus) is refused the others, not written at another rate.
  const rates = Object.hasOwn(FORMAT_SAMPLE_RATES, request.output_format) ? FORMAT_SAMPLE_RATES[request.output_format as OutputFormat] : undefined;
  if (rates && request.sample_rate !== undefined && (SAMPLE_RATES as readonly number[]).includes(request.sample_rate) && !(rates as readonly number[]).includes(request.sample_rate)) {
    ctx.addIssue({ code: 'custom', message: `${request.output_format} is written at ${rates.join(', ')} Hz only (got ${request.sample_rate})`, path: ['sample_rate'] });
  }
}

/** An output alias as its format and rate; a format alone gets its default rate. */
function resolveOutput<T extends { output_format: string; sample_rate?: number }>(request: T) {
  const alias = Object.hasOwn(OUTPUT_FORMAT_ALIASES, request.output_format) ? OUTPUT_FORMAT_ALIASES[request.output_format] : undefined;
  const format = alias?.format ?? (request.output_format as ResultFormat);
  const rate = (alias?.sampleRate ?? request.sample_rate ?? (format === CODES_FORMAT ? CODEC_SAMPLE_RATE : defaultSampleRate(format))) as SampleRate;
  return { ...request, output_format: format, sample_rate: rate };
}

/** The request schema (strict: unknown fields are errors). Output: ValidatedRequest. */
function createRequestSchema(options: RequestOptions = {}): z.ZodType<ValidatedRequest> {
  return z.strictObject(requestShape(options)).superRefine(checkRequest).transform(resolveOutput) as unknown as z.ZodType<ValidatedRequest>;
}

const schemas = new Map<number, z.ZodType<ValidatedRequest>>();

function schemaFor(options: RequestOptions): z.ZodType<ValidatedRequest> {
  const key = cap(options);
  let schema = schemas.get(key);
  if (!schema) {
    schema = createRequestSchema({ maxNewTokensCap: key });
    schemas.set(key, schema);
  }
  return schema;
}

/**
 * Validates a request (a RunPod job's `input`, an HTTP body, CLI flags, a library call).
 * @returns the typed request with defaults filled in.
 * @throws HiggsError E_INPUT (a RequestInputError) whose message lists every problem as
 *   `field.path: what is wrong`, without quoting long values or any base64 payload.
 * @throws TypeError for an invalid `options.maxNewTokensCap`.
 */
export function parseRequest(input: unknown, options: RequestOptions = {}): ValidatedRequest {
  return parseWith(schemaFor(options), input);
}

const decodeSchema = z
  .strictObject({ codes: codesWireSchema(MAX_WIRE_FRAMES), ...outputShape })
  .superRefine(checkOutput)
  .transform(resolveOutput) as unknown as z.ZodType<DecodeRequest>;

/** A request that carries `codes` (and no transcript) asks for them to be decoded. */
export function isDecodeRequest(input: unknown): boolean {
  return typeof input === 'object' && input !== null && Object.hasOwn(input, 'codes') && !Object.hasOwn(input, 'transcript');
}

/**
 * Validates a decode-only request: codes (as output_format "codes" returns them) and the output
 * fields. @throws HiggsError E_INPUT listing every problem; output_format "codes" is refused, and
 * so is a file over OUTPUT_LIMITS (its size is known from the frames, rate and speed: before any work).
 */
export function parseDecodeRequest(input: unknown): DecodeRequest {
  const request = parseWith(decodeSchema, input);
  if (request.output_format === CODES_FORMAT) throw new RequestInputError('invalid request', ['output_format: a decode-only request returns audio, not codes']);
  const problem = outputLimitProblem(request.codes.frames, request.sample_rate, request.speed);
  if (problem) throw new RequestInputError('invalid request', [`codes: ${problem}`]);
  return request;
}
