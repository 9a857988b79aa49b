/**
 * Text -> speech tokens -> waveform -> encoded file: the whole path for one request. The codes
 * of every chunk are decoded once, concatenated (as the reference does: waveforms are not
 * concatenated), then encoded in the requested format.
 */
import { decodeCodes, encodeFile } from '../audio/codec.js';
import type { AudioFormat, NativeEngine } from '../native/loader.js';
import { synthesizeCodes, type SynthesisHooks, type SynthesisRequest, type SynthesisResult } from './synthesis.js';
import type { HiggsTokenizer } from '../text/tokenizer.js';

export interface SpeechRequest extends SynthesisRequest {
  /** Default 'wav' (PCM16). */
  outputFormat?: AudioFormat;
}

export interface SpeechResult extends Omit<SynthesisResult, 'codes'> {
  audio: Buffer;
  format: AudioFormat;
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
  const file = await encodeFile(samples, codec.sampleRate, format);
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
