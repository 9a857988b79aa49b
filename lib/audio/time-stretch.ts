/**
 * Time-stretching without a pitch change (Rubber Band, in the addon's audio module): a request's
 * `speed` plays the decoded speech faster (> 1) or slower (< 1). Whole buffers are stretched
 * offline (studied first: the best quality), streams piece by piece; both run on the libuv pool.
 * Speed 1 never reaches the addon: the samples pass through untouched.
 */
import { loadNative } from '../native/loader.js';
import { passThrough, type SampleStage } from './sample-stage.js';

/** The one bound of `speed` (the core refuses others: constants.speedRange, checked by a test). */
export const SPEED_RANGE = { minimum: 0.25, maximum: 4, default: 1 } as const;

/** `samples` at `speed` (about length / speed samples out); speed 1 returns the same array. */
export async function stretchSamples(samples: Float32Array, sampleRate: number, speed: number): Promise<Float32Array> {
  if (speed === 1) return samples;
  return loadNative().stretchAudio(samples, sampleRate, speed);
}

/**
 * A stretcher for one stream. The output starts with the input (the stretcher's delay is hidden)
 * and totals round(input / speed) samples. Speed 1: each piece comes back as it went in.
 */
export function createStreamStretcher(sampleRate: number, speed: number): SampleStage {
  if (speed === 1) return passThrough('StreamStretcher');
  return new (loadNative().AudioStretcher)(sampleRate, speed);
}
