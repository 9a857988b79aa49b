// The delay pattern of a reference clip (docs/model.md#delay-clip): how raw codec codes
// become the audio positions of a prompt. The generator produces the same layout frame by frame.
import { HiggsError } from '../common/errors.js';

/** Codec codes are 0..1023; the LM's audio vocab adds the stream bos and eos ids. */
export const AUDIO_CODEBOOK_SIZE = 1024;
export const AUDIO_STREAM_BOS = 1024;
export const AUDIO_STREAM_EOS = 1025;
export const DEFAULT_NUM_CODEBOOKS = 8;

/** Raw codec codes of one clip: one row per codebook, each row T codes in 0..1023. */
export type AudioCodes = ReadonlyArray<ArrayLike<number>>;

/**
 * Puts a clip into delay-pattern form.
 *
 * Input [K][T] (K = numCodebooks) -> output frames [T + K + 1][K]: a bos column (1024) in front and
 * an eos column (1025) behind, then row k shifted right by k, so codebook k has k extra leading
 * 1024s and K-1-k extra trailing 1025s. Frame t, codebook k reads original column t - k.
 *
 * Throws HiggsError E_INPUT on a wrong row count, ragged rows or codes outside 0..1023.
 */
export function delayClip(codes: AudioCodes, numCodebooks: number = DEFAULT_NUM_CODEBOOKS): number[][] {
  const frames = clipFrameCount(codes, numCodebooks);
  const out: number[][] = [];
  for (let t = 0; t < frames + numCodebooks + 1; t += 1) {
    const frame = new Array<number>(numCodebooks);
    for (let k = 0; k < numCodebooks; k += 1) {
      // j = index into [bos | codes | eos]; left of 0 is delay padding (bos), right of T+1 is eos.
      const j = t - k;
      frame[k] = j <= 0 ? AUDIO_STREAM_BOS : j <= frames ? (codes[k] as ArrayLike<number>)[j - 1]! : AUDIO_STREAM_EOS;
    }
    out.push(frame);
  }
  return out;
}

/** Number of delayed frames (prompt positions) a clip of `frames` raw frames takes. */
export function delayedLength(frames: number, numCodebooks: number = DEFAULT_NUM_CODEBOOKS): number {
  return frames + numCodebooks + 1;
}

/** Validates a clip and returns its frame count T. */
export function clipFrameCount(codes: AudioCodes, numCodebooks: number = DEFAULT_NUM_CODEBOOKS): number {
  if (!Number.isInteger(numCodebooks) || numCodebooks < 1) {
    throw new HiggsError('E_INPUT', `numCodebooks must be a positive integer, got ${numCodebooks}`);
  }
  if (!Array.isArray(codes) || codes.length !== numCodebooks) {
    const got = Array.isArray(codes) ? `${codes.length} rows` : typeof codes;
    throw new HiggsError('E_INPUT', `audio codes must have ${numCodebooks} rows (one per codebook), got ${got}`);
  }
  const frames = (codes[0] as ArrayLike<number> | undefined)?.length;
  if (typeof frames !== 'number') throw new HiggsError('E_INPUT', 'audio code rows must be arrays');
  for (let k = 0; k < numCodebooks; k += 1) {
    const row = codes[k] as ArrayLike<number> | undefined;
    if (row === null || typeof row !== 'object' || row.length !== frames) {
      throw new HiggsError('E_INPUT', `audio codes are ragged: row ${k} has ${row?.length} frames, row 0 has ${frames}`);
    }
    for (let t = 0; t < frames; t += 1) {
      const v = row[t];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= AUDIO_CODEBOOK_SIZE) {
        throw new HiggsError('E_INPUT', `audio code [${k}][${t}] = ${String(v)} is not an integer in 0..${AUDIO_CODEBOOK_SIZE - 1}`);
      }
    }
  }
  return frames;
}
