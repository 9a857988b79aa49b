/**
 * Text -> speech tokens -> waveform -> encoded file: the whole path for one request. The codes
 * of every chunk are decoded once, concatenated (as the reference does: waveforms are not
 * concatenated), time-stretched when another speed is asked for, resampled with libsoxr when
 * another rate is, then encoded in the requested format (raw PCM: the PCM16 samples alone).
 */
import { decodeCodes, encodeFile } from '../audio/codec.js';
import { HiggsError } from '../common/errors.js';
import { outputLimitProblem } from '../request/defaults.js';
import { stretchSamples } from '../audio/time-stretch.js';
import { createStreamEncoder } from '../audio/stream-encoder.js';
import { loadNative, type AudioFormat, type NativeEngine } from '../native/loader.js';
import { atSpeed } from './timestamps.js';
import { synthesizeCodes, type SynthesisHooks, type SynthesisRequest, type SynthesisResult } from './synthesis.js';
import type { HiggsTokenizer } from '../text/tokenizer.js';

/** What a whole file may be: an encoded format, or raw PCM16 (s16le, mono, no header). */
export type FileFormat = AudioFormat | 'pcm';

export interface SpeechRequest extends SynthesisRequest {
  /** Default 'wav' (PCM16). */
  outputFormat?: FileFormat;
  /** Output rate in Hz; default the codec's (24000). */
  sampleRate?: number;
  /** Time-stretch factor (pitch kept); default 1, untouched. */
  speed?: number;
}

/** How decoded samples leave: format, rate and speed. */
export type FileOutput = Pick<SpeechRequest, 'outputFormat' | 'sampleRate' | 'speed'>;

export interface SpeechResult extends Omit<SynthesisResult, 'codes' | 'turns'> {
  audio: Buffer;
  /** The decoded samples at the codec rate, before stretching and resampling. */
  samples: Float32Array;
  format: FileFormat;
  sampleRate: number;
  durationSeconds: number;
  codes: number[][];
  timings: { generateSeconds: number; decodeSeconds: number; encodeSeconds: number };
}

export async function synthesizeSpeech(
  engine: NativeEngine,
  tokenizer: HiggsTokenizer,
  request: SpeechRequest,
  hooks: SynthesisHooks = {},
): Promise<SpeechResult> {
  const format = request.outputFormat ?? 'wav';
  const t0 = performance.now();
  const { turns: _turns, ...generated } = await synthesizeCodes(engine, tokenizer, request, hooks);
  // The file's size is known once the frames are: over the bound, refused before it is decoded.
  const problem = outputLimitProblem(generated.frames, request.sampleRate ?? engine.codecInfo()!.sampleRate, request.speed ?? 1);
  if (problem) throw new HiggsError('E_INPUT', `output: the generated ${problem}`);
  const t1 = performance.now();
  const samples = await decodeCodes(engine, generated.codes);
  const t2 = performance.now();
  const file = await encodeSamples(samples, engine.codecInfo()!.sampleRate, request);
  const t3 = performance.now();
  return {
    ...generated,
    chunks: atSpeed(generated.chunks, request.speed ?? 1),
    audio: file.bytes,
    samples,
    format,
    sampleRate: file.sampleRate,
    durationSeconds: file.durationSeconds,
    timings: { generateSeconds: (t1 - t0) / 1e3, decodeSeconds: (t2 - t1) / 1e3, encodeSeconds: (t3 - t2) / 1e3 },
  };
}

/**
 * Samples at the codec rate -> the file a request asked for: stretched (speed), resampled
 * (sampleRate), encoded (outputFormat). Also the whole of a decode-only request.
 */
export async function encodeSamples(
  samples: Float32Array,
  codecRate: number,
  output: FileOutput,
): Promise<{ bytes: Buffer; sampleRate: number; durationSeconds: number }> {
  const format = output.outputFormat ?? 'wav';
  const rate = output.sampleRate ?? codecRate;
  const stretched = await stretchSamples(samples, codecRate, output.speed ?? 1);
  const resampled = rate === codecRate ? stretched : await loadNative().resampleAudio(stretched, codecRate, rate);
  const file = format === 'pcm' ? { bytes: await rawPcm16(resampled, rate), sampleRate: rate } : await encodeFile(resampled, rate, format);
  return { ...file, durationSeconds: stretched.length / codecRate };
}

/** Headerless PCM16 (little-endian), scaled and clipped as every other format's samples (the addon's stream encoder). */
async function rawPcm16(samples: Float32Array, rate: number): Promise<Buffer> {
  const encoder = createStreamEncoder('pcm', rate);
  return Buffer.concat([await encoder.push(samples), await encoder.finish()]);
}
