/**
 * Audio encoded as it is decoded (the addon's AudioStreamEncoder, libsndfile): each push gives the
 * bytes that are final so far, and all of them in order are one valid file of the format. What a
 * streamed header holds (sizes "unknown" for wav/ulaw/alaw, FLAC's totals unknown, MP3 at a
 * constant bitrate without a Xing header) is in native/core/audio/stream_encoder.h and docs/api.md.
 */
import { loadNative, type NativeByteStream } from '../native/loader.js';
import type { OutputFormat } from '../request/defaults.js';

/** An encoder for one stream of `format` at `sampleRate` (a rate the format carries: FORMAT_SAMPLE_RATES). */
export function createStreamEncoder(format: OutputFormat, sampleRate: number): NativeByteStream {
  return new (loadNative().AudioStreamEncoder)(format, sampleRate);
}
