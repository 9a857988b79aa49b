// Test helpers around the native Engine: load the addon once, build forward requests from the
// same input shape the TS reference takes, and compare logits.
import { loadNative, type NativeEngine, type EngineOptions } from '../../lib/native/loader.js';
import type { ReferenceInput } from '../reference/higgs-forward.js';

export function newEngine(options: EngineOptions = {}): NativeEngine {
  const { Engine } = loadNative();
  return new Engine({ maxContext: 256, ...options });
}

/** Rows [begin, end) of a reference input as a native forward request starting at `begin`. */
export function toForwardRequest(input: ReferenceInput, begin = 0, end = input.inputIds.length) {
  const codes: number[] = [];
  let frame = 0;
  for (let i = 0; i < end; i += 1) {
    if (!input.audioMask[i]) continue;
    if (i >= begin) codes.push(...input.audioCodes[frame]!);
    frame += 1;
  }
  return {
    inputIds: Int32Array.from(input.inputIds.slice(begin, end)),
    audioMask: Uint8Array.from(input.audioMask.slice(begin, end), (a) => (a ? 1 : 0)),
    audioCodes: Int32Array.from(codes),
    startPos: begin,
  };
}

/** max |a - b| / max |b|: relative to the scale of the expected values. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i += 1) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / (scale || 1);
}

/**
 * A voice-clone-shaped prompt: chat header tokens, a reference clip of audio frames in delay
 * form (stream bos 1024 leading, eos 1025 trailing), more text, optionally generated frames.
 */
export function mixedPrompt(endWithAudio: boolean): ReferenceInput {
  const inputIds: number[] = [];
  const audioMask: boolean[] = [];
  const audioCodes: number[][] = [];
  const text = (...ids: number[]) => ids.forEach((id) => (inputIds.push(id), audioMask.push(false)));
  const frame = (codes: number[]) => (inputIds.push(128016), audioMask.push(true), audioCodes.push(codes));
  text(128000, 128006, 882, 128007, 271, 9906, 1917, 128009, 128006, 78191, 128007, 271, 128013);
  for (let t = 0; t < 10; t += 1) {
    frame(Array.from({ length: 8 }, (_, k) => (k > t ? 1024 : t - k >= 8 ? 1025 : (t * 97 + k * 131 + 7) % 1024)));
  }
  text(128012, 128009, 128006, 882, 128007, 271, 2028, 374, 264, 1296, 13, 128009, 128006, 78191, 128007, 271, 128013);
  if (endWithAudio) for (let t = 0; t < 3; t += 1) frame(Array.from({ length: 8 }, (_, k) => (k > t ? 1024 : (t * 53 + k * 17) % 1024)));
  return { inputIds, audioMask, audioCodes };
}
