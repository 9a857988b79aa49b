/**
 * Text -> speech tokens -> waveform -> encoded file: the whole path for one request. The codes
 * of every chunk are decoded once, concatenated (as the reference does: waveforms are not
 * concatenated), resampled with libsoxr when another rate is asked for, then encoded in the
 * requested format (raw PCM: the PCM16 samples alone).
 */
import { decodeCodes, encodeFile } from '../audio/codec.js';
import { pcm16 } from '../audio/wav-stream.js';
import { loadNative, type AudioFormat, type NativeEngine } from '../native/loader.js';
import { synthesizeCodes, type SynthesisHooks, type SynthesisRequest, type SynthesisResult } from './synthesis.js';
import type { HiggsTokenizer } from '../text/tokenizer.js';

/** What a whole file may be: an encoded format, or raw PCM16 (s16le, mono, no header). */
export type FileFormat = AudioFormat | 'pcm';

export interface SpeechRequest extends SynthesisRequest {
  /** Default 'wav' (PCM16). */
  outputFormat?: FileFormat;
  /** Output rate in Hz; default the codec's (24000). */
  sampleRate?: number;
}

export interface SpeechResult extends Omit<SynthesisResult, 'codes'> {
  audio: Buffer;
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
  const generated = await synthesizeCodes(engine, tokenizer, request, hooks);
  const t1 = performance.now();
  const samples = await decodeCodes(engine, generated.codes);
  const t2 = performance.now();
  const codec = engine.codecInfo()!;
  const rate = request.sampleRate ?? codec.sampleRate;
  const output = rate === codec.sampleRate ? samples : await loadNative().resampleAudio(samples, codec.sampleRate, rate);
  const file = format === 'pcm' ? { bytes: pcm16(output), sampleRate: rate } : await encodeFile(output, rate, format);
  const t3 = performance.now();
  return {
    ...generated,
    audio: file.bytes,
    format,
    sampleRate: file.sampleRate,
    durationSeconds: samples.length / codec.sampleRate,
    timings: { generateSeconds: (t1 - t0) / 1e3, decodeSeconds: (t2 - t1) / 1e3, encodeSeconds: (t3 - t2) / 1e3 },
  };
}
