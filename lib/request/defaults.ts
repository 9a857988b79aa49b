/**
 * Limits and defaults of a TTS request, in one table: the schema (lib/request/schema.ts) is built from
 * it and docs/library.md lists it. Sources are
 * docs/model.md#sampling and #sampling-defaults (sampling, RAS), docs/model.md#chunking
 * (chunking), and docs/runpod-protocol.md#job-input (transcript length).
 */
import { REFERENCE_AUDIO_LIMITS } from '../audio/limits.js';
import { CHUNK_METHODS, DEFAULT_CHUNK_METHOD } from '../text/chunking.js';
import { DEFAULT_NUM_CODEBOOKS } from '../audio/delay-pattern.js';
import { SPEED_RANGE } from '../audio/time-stretch.js';
import { MAX_WIRE_FRAMES } from '../audio/codes-wire.js';

/**
 * Output formats a request may ask for (the addon also writes vorbis; not offered to requests):
 * files, raw PCM (s16le mono, no header) and the G.711 telephony codecs in WAV.
 */
export const OUTPUT_FORMATS = ['wav', 'flac', 'mp3', 'opus', 'pcm', 'ulaw', 'alaw'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Not audio: the generated codes themselves (lib/audio/codes-wire.ts), to decode later. */
export const CODES_FORMAT = 'codes';
/** What output_format may name: an audio format, or the codes. */
export type ResultFormat = OutputFormat | typeof CODES_FORMAT;

/** Output sample rates a request may ask for (resampled from the codec's 24 kHz with libsoxr). */
export const SAMPLE_RATES = [8000, 16000, 22050, 24000, 44100, 48000] as const;
export type SampleRate = (typeof SAMPLE_RATES)[number];

/** The codec's own rate (Hz): the rate of its samples before any resampling, and of "codes". */
export const CODEC_SAMPLE_RATE = 24000;
/** Code frames per second of audio: the codec makes one frame per 960 samples of its 24 kHz. */
export const CODEC_FRAMES_PER_SECOND = 25;

/**
 * The rates an Ogg Opus stream can state (RFC 7845: what its decoders output; the addon's
 * kOpusRates, native/core/audio/audio_write.cc, which writes any other rate as 48000).
 */
const OPUS_RATES: readonly number[] = [8000, 12000, 16000, 24000, 48000];
/** Formats that take only some of SAMPLE_RATES: opus those Opus has (the others would come back at 48 kHz). */
export const FORMAT_SAMPLE_RATES: Readonly<Partial<Record<OutputFormat, readonly SampleRate[]>>> = {
  opus: SAMPLE_RATES.filter((rate) => OPUS_RATES.includes(rate)),
};

/** The rates `format` may be written at. */
export function sampleRatesOf(format: OutputFormat): readonly SampleRate[] {
  return FORMAT_SAMPLE_RATES[format] ?? SAMPLE_RATES;
}

/** The rate of a format when the request names none: the codec's, 8 kHz for telephony. */
export function defaultSampleRate(format: OutputFormat): SampleRate {
  return format === 'ulaw' || format === 'alaw' ? 8000 : 24000;
}

/** ElevenLabs-style output names that fix the format and the rate, one to one. */
export const OUTPUT_FORMAT_ALIASES: Readonly<Record<string, { format: OutputFormat; sampleRate: SampleRate }>> = {
  ...Object.fromEntries(SAMPLE_RATES.map((rate) => [`pcm_${rate}`, { format: 'pcm' as const, sampleRate: rate }])),
  ulaw_8000: { format: 'ulaw', sampleRate: 8000 },
  alaw_8000: { format: 'alaw', sampleRate: 8000 },
};

/** Where the audio goes: inline base64 in the result, or an S3 upload. */

/**
 * The most audio one file may hold, so that a small request cannot ask for gigabytes: its samples
 * (frames / 25 seconds of audio, divided by speed, times the output rate) at most what the largest
 * codes payload (MAX_WIRE_FRAMES: 40 minutes) makes at the codec's rate and speed 1, so any
 * payload decodes as it is, while a higher rate or a slower speed must fit the same samples (20
 * minutes at 48 kHz; 10 minutes of codes at speed 0.25 and 24 kHz). A file is then at most
 * 2 bytes a sample (PCM16: wav, pcm, flac; mp3 and opus much less, ulaw and alaw 1) plus its
 * headers (maxBytes). Refused (E_INPUT) before any work: a decode-only request when it is
 * validated, a generated one once its frames are known, before they are decoded. Streams decode
 * window by window and are not bounded by it.
 */
export const OUTPUT_LIMITS = {
  maxSamples: (MAX_WIRE_FRAMES / CODEC_FRAMES_PER_SECOND) * CODEC_SAMPLE_RATE,
  /** 2 bytes a sample, and 1 MiB for headers (WAV 44 bytes; FLAC about 20 bytes per 4096 samples, 0.3 MB at the bound). */
  maxBytes: 2 * ((MAX_WIRE_FRAMES / CODEC_FRAMES_PER_SECOND) * CODEC_SAMPLE_RATE) + 1024 * 1024,
} as const;

/** Samples of audio `frames` code frames make at `sampleRate` Hz and `speed` (before rounding by the stretcher and resampler). */
export function outputSamples(frames: number, sampleRate: number, speed: number): number {
  return Math.ceil(((frames / CODEC_FRAMES_PER_SECOND) * sampleRate) / speed);
}

/**
 * Why a file of `frames` code frames at `sampleRate` and `speed` is over OUTPUT_LIMITS, or
 * undefined when it fits. Names the bound and what would bring the request under it.
 */
export function outputLimitProblem(frames: number, sampleRate: number, speed: number): string | undefined {
  const samples = outputSamples(frames, sampleRate, speed);
  if (samples <= OUTPUT_LIMITS.maxSamples) return undefined;
  const seconds = frames / CODEC_FRAMES_PER_SECOND / speed;
  return (
    `${frames} frames at speed ${speed} and ${sampleRate} Hz make ${samples} samples (${seconds.toFixed(1)} s); ` +
    `one file holds at most ${OUTPUT_LIMITS.maxSamples} samples (${OUTPUT_LIMITS.maxSamples / CODEC_SAMPLE_RATE} s at ${CODEC_SAMPLE_RATE} Hz, ` +
    `${OUTPUT_LIMITS.maxBytes} bytes): ask for a speed nearer 1, a lower sample_rate or fewer frames`
  );
}

/** Default upper bound of max_new_tokens (frames, 25 per second: about 164 s of audio). */
export const DEFAULT_MAX_NEW_TOKENS_CAP = 4096;
/** Largest decoded inline reference clip (lib/audio/limits.ts). */
export const MAX_INLINE_AUDIO_BYTES = REFERENCE_AUDIO_LIMITS.maxBytes;
/** Most entries in `speakers`. */
export const MAX_SPEAKERS = 8;
/** Highest speaker number n of "SPEAKERn" (the tag is [SPEAKERn] in the transcript). */
export const MAX_SPEAKER_INDEX = 99;

/**
 * Every request field, JSON-schema style (type, bounds, default) plus where the default comes
 * from. Lengths count characters (Unicode code points) after trimming.
 */
export const REQUEST_DEFAULTS = {
  transcript: {
    type: 'string',
    required: true,
    minLength: 1,
    maxLength: 10_000,
    description: 'Text to speak; may hold [SPEAKERn] tags for several speakers.',
    source: 'RunPod deployment guide, maximum transcript length (docs/runpod-protocol.md#job-input)',
  },
  ref_audio: {
    type: ['string', 'object'],
    description:
      'Reference voice: a preset NAME (^[A-Za-z0-9_-]{1,64}$), "profile:NAME", or { base64, transcript } ' +
      `(strict padded base64 of an audio file, at most ${MAX_INLINE_AUDIO_BYTES / 2 ** 20} MB decoded; transcript 1..2000 characters). ` +
      'Not together with speakers.',
  },
  speakers: {
    type: 'object',
    maxProperties: MAX_SPEAKERS,
    description:
      'Voices of a multi-speaker transcript: key "n" or "SPEAKERn" (n = 0..99) -> a voice as in ref_audio, ' +
      'or { description } (1..2000 characters). Not together with ref_audio.',
  },
  scene_prompt: {
    type: 'string',
    maxLength: 2000,
    description:
      'Scene description, e.g. "Audio is recorded from a quiet room."; <|...|> tokens and ASCII control ' +
      'characters (except tab and newline) are removed. The limit applies to the text as sent.',
  },
  temperature: {
    type: 'number',
    minimum: 0,
    maximum: 2,
    default: 0.7,
    description: '0 = greedy (argmax).',
    source:
      'HiggsAudioServeEngine.generate default, between the README quick start (0.3) and generation.py / serve examples (1.0) ' +
      '(docs/model.md#sampling-defaults)',
  },
  top_p: {
    type: 'number',
    // Any top_p up to 1/1026 keeps only the most likely code, so nothing is lost below this floor
    // (the core itself only needs top_p > 0).
    minimum: 1e-9,
    maximum: 1,
    default: 0.95,
    description: '1 = off; any value up to 1/1026 keeps only the most likely code.',
    source: 'every upstream entry point: serve engine, README quick start, generation.py (docs/model.md#sampling-defaults)',
  },
  top_k: {
    type: 'integer',
    minimum: 0,
    maximum: 1_000_000,
    default: 50,
    description: '0 = off. Values >= 1026 (the audio vocabulary) keep everything.',
    source:
      'every upstream example: README quick start, generation.py, serve examples (docs/model.md#sampling-defaults); ' +
      'the serve engine signature alone has none',
  },
  max_new_tokens: {
    type: 'integer',
    // The first frame is all stream-bos and the delay pattern takes one more per further codebook:
    // with fewer frames no audio frame is ever complete.
    minimum: DEFAULT_NUM_CODEBOOKS + 2,
    maximum: DEFAULT_MAX_NEW_TOKENS_CAP,
    default: 1024,
    description:
      'Frame cap per chunk (25 frames per second); the maximum is a server option (maxNewTokensCap). ' +
      'The engine also caps each chunk by a generous speaking time for its spoken text (markup aside), plus an ' +
      'allowance per sound event such as [laugh] or [music].',
    source: 'README quick start / serve examples (docs/model.md#sampling-defaults); lib/speech/synthesis.ts DEFAULT_MAX_NEW_TOKENS',
  },
  seed: {
    type: 'integer',
    minimum: 0,
    maximum: 2 ** 32 - 1,
    description: 'Absent: a random seed, reported in the result. The same seed is used for every chunk.',
  },
  ras_win_len: {
    type: 'integer',
    minimum: 0,
    maximum: 64,
    default: 7,
    description: 'Repetition-aware sampling window; 0 disables RAS.',
    source: 'every upstream entry point and the transformers generation_config (docs/model.md#sampling-defaults)',
  },
  ras_win_max_num_repeat: {
    type: 'integer',
    minimum: 1,
    maximum: 64,
    default: 2,
    source: 'every upstream entry point and the transformers generation_config (docs/model.md#sampling-defaults)',
  },
  chunk_method: {
    type: 'string',
    enum: CHUNK_METHODS,
    default: DEFAULT_CHUNK_METHOD,
    description:
      "'auto': one chunk unless its speaking time would not fit max_new_tokens, then chunks that fit, cut at " +
      "sentences (words, characters for what is longer); 'none': one chunk; 'word': groups of chunk_max_word_num " +
      "words; 'speaker': speaker turns. Every result reports each chunk's stop reason and whether a cap was hit.",
    source: "'none', 'word', 'speaker': generation.py (docs/model.md#chunking); 'auto' is ours",
  },
  chunk_max_word_num: {
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 200,
    source: 'generation.py CLI default (docs/model.md#chunking; the function default is 100)',
  },
  chunk_max_num_turns: {
    type: 'integer',
    minimum: 1,
    maximum: 50,
    default: 1,
    source: 'generation.py (docs/model.md#chunking)',
  },
  generation_chunk_buffer_size: {
    type: ['integer', 'null'],
    minimum: 1,
    // The bound that keeps a long request's cost linear in its text: each chunk re-reads at most
    // this many earlier chunks (the reference keeps all of them, so its cost grows with the square).
    maximum: 16,
    default: null,
    description: 'Earlier chunks kept as context; null keeps as many as the maximum (16). Each chunk reports how many it kept (chunks[].historyChunks).',
    source: 'generation.py (docs/model.md#chunk-context)',
  },
  output_format: {
    type: 'string',
    enum: OUTPUT_FORMATS,
    default: 'wav',
    description:
      'Also pcm_8000 ... pcm_48000, ulaw_8000, alaw_8000 (a format and its rate), and "codes": the generated ' +
      'audio codes { layout, codebooks, frames, codec, base64 } instead of audio (not streamed; no sample_rate or speed). ' +
      `A file holds at most ${OUTPUT_LIMITS.maxSamples} samples (${OUTPUT_LIMITS.maxSamples / CODEC_SAMPLE_RATE / 60} min at ${CODEC_SAMPLE_RATE} Hz and speed 1; ` +
      `speed divides and the rate multiplies the samples), at most ${OUTPUT_LIMITS.maxBytes} bytes.`,
  },
  sample_rate: {
    type: 'integer',
    enum: SAMPLE_RATES,
    default: null,
    description:
      'Output rate in Hz; unset: 24000 (the codec), 8000 for ulaw and alaw. ' +
      `opus: ${sampleRatesOf('opus').join(', ')} only (the rates Opus can state).`,
  },
  speed: {
    type: 'number',
    minimum: SPEED_RANGE.minimum,
    maximum: SPEED_RANGE.maximum,
    default: SPEED_RANGE.default,
    description: 'Playback speed: the decoded audio is time-stretched (Rubber Band), the pitch kept; 1 leaves it untouched.',
  },
  save_voice: {
    type: 'string',
    pattern: '^[A-Za-z0-9_-]{1,64}$',
    description:
      'Stores the generated speech (its codes, audio and transcript) as a new preset of this name; one voice only ' +
      '(no speakers), transcript at most 2000 characters, a whole-file request, a writable voices directory.',
  },
  codes: {
    type: 'object',
    maxFrames: MAX_WIRE_FRAMES,
    description:
      'A decode-only request: codes as output_format "codes" returns them; with output_format, sample_rate and speed only (no transcript). ' +
      `Its file must fit the output bound: frames / 25 s, divided by speed, times sample_rate at most ${OUTPUT_LIMITS.maxSamples} samples.`,
  },
} as const;

/** The per-field description type, for code that renders REQUEST_DEFAULTS. */
export type RequestFieldDoc = (typeof REQUEST_DEFAULTS)[keyof typeof REQUEST_DEFAULTS];

/** The sampling defaults of the table above under the engine's names (the addon applies none). */
export const SAMPLING_DEFAULTS = {
  temperature: REQUEST_DEFAULTS.temperature.default,
  topK: REQUEST_DEFAULTS.top_k.default,
  topP: REQUEST_DEFAULTS.top_p.default,
  rasWindow: REQUEST_DEFAULTS.ras_win_len.default,
  rasMaxRepeats: REQUEST_DEFAULTS.ras_win_max_num_repeat.default,
} as const;
