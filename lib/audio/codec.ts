/**
 * Audio files and the codec: bytes of any supported format -> codes for a reference voice, and
 * codes -> waveform -> encoded file. Reading, writing and resampling run on the libuv pool
 * (libsndfile, libsoxr); encode and decode run on the engine thread (libtorch).
 */
import { REFERENCE_AUDIO_LIMITS } from './limits.js';
import { HiggsError } from '../common/errors.js';
import { loadNative, type AudioFormat, type NativeEngine } from '../native/loader.js';

export { REFERENCE_AUDIO_LIMITS };

function codecOf(engine: NativeEngine) {
  const codec = engine.codecInfo();
  if (!codec) throw new HiggsError('E_NOT_LOADED', 'no audio codec is loaded');
  return codec;
}

/** Encoded audio bytes (wav/flac/ogg/mp3, any rate and channels) -> codes [numQuantizers][frames]. */
export async function encodeReferenceAudio(engine: NativeEngine, bytes: Uint8Array): Promise<number[][]> {
  const codec = codecOf(engine);
  const native = loadNative();
  const decoded = await native.readAudio(bytes, REFERENCE_AUDIO_LIMITS);
  // The reference resamples with soxr high quality (librosa's default), as readAudio's peer does.
  const samples =
    decoded.sampleRate === codec.sampleRate
      ? decoded.samples
      : await native.resampleAudio(decoded.samples, decoded.sampleRate, codec.sampleRate);
  const { codes, frames } = await engine.encodeAudio(samples);
  return Array.from({ length: codec.numQuantizers }, (_, q) => Array.from(codes.subarray(q * frames, (q + 1) * frames)));
}

/**
 * Audio bytes of any readable format (wav/flac/ogg/mp3, within the reference limits) as a PCM16
 * WAV at their own rate, mono: what a preset voice stores. E_INPUT for audio that cannot be read.
 */
export async function toPresetWav(bytes: Uint8Array): Promise<Buffer> {
  const native = loadNative();
  const decoded = await native.readAudio(bytes, REFERENCE_AUDIO_LIMITS);
  return (await native.writeAudio(decoded.samples, decoded.sampleRate, 'wav')).bytes;
}

/** codes [numQuantizers][frames] -> mono samples at the codec rate. */
export async function decodeCodes(engine: NativeEngine, codes: readonly (readonly number[])[]): Promise<Float32Array> {
  const codec = codecOf(engine);
  if (codes.length !== codec.numQuantizers) {
    throw new HiggsError('E_INPUT', `codes must have ${codec.numQuantizers} rows, got ${codes.length}`);
  }
  const frames = codes[0]!.length;
  const flat = new Int32Array(codec.numQuantizers * frames);
  codes.forEach((row, q) => flat.set(row, q * frames));
  return engine.decodeAudio(flat, frames);
}

/** Encodes samples as a file in `format` (wav/flac PCM16, mp3, ogg/opus, ogg/vorbis). */
export async function encodeFile(samples: Float32Array, sampleRate: number, format: AudioFormat): Promise<{ bytes: Buffer; sampleRate: number }> {
  const native = loadNative();
  if (!native.audioFormats().write.includes(format)) {
    throw new HiggsError('E_INPUT', `output format ${format} is not available here (available: ${native.audioFormats().write.join(', ')})`);
  }
  return native.writeAudio(samples, sampleRate, format);
}
