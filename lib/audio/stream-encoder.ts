/**
 * Audio encoded as it is decoded (the addon's AudioStreamEncoder, libsndfile): each push gives the
 * bytes that are final so far, and all of them in order are one valid file of the format. What a
 * streamed header holds (sizes "unknown" for wav/ulaw/alaw, FLAC's totals unknown, MP3 at a
 * constant bitrate without a Xing header) is in native/core/audio/stream_encoder.h and docs/api.md.
 */
import { loadNative, type AudioFormat, type NativeByteStream } from '../native/loader.js';

/** An encoder for one stream of `format` ("pcm": wav's samples alone) at `sampleRate`, a rate the format carries. */
export function createStreamEncoder(format: AudioFormat | 'pcm', sampleRate: number): NativeByteStream {
  return new (loadNative().AudioStreamEncoder)(format, sampleRate);
}
