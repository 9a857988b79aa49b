/**
 * Time-stretching without a pitch change (Rubber Band, in the addon's audio module): a request's
 * `speed` plays the decoded speech faster (> 1) or slower (< 1). Whole buffers are stretched
 * offline (studied first: the best quality), streams piece by piece; both run on the libuv pool.
 * Speed 1 never reaches the addon: the samples pass through untouched.
 */
import { HiggsError } from '../common/errors.js';
import { loadNative } from '../native/loader.js';

/** The one bound of `speed` (the core refuses others: constants.speedRange, checked by a test). */
export const SPEED_RANGE = { minimum: 0.25, maximum: 4, default: 1 } as const;

/** `samples` at `speed` (about length / speed samples out); speed 1 returns the same array. */
export async function stretchSamples(samples: Float32Array, sampleRate: number, speed: number): Promise<Float32Array> {
  if (speed === 1) return samples;
  return loadNative().stretchAudio(samples, sampleRate, speed);
}

/** A stream stretched as it arrives: push() gives what is ready, finish() the rest. */
export interface StreamStretcher {
  push(samples: Float32Array): Promise<Float32Array>;
  finish(): Promise<Float32Array>;
}

/**
 * A stretcher for one stream. The output starts with the input (the stretcher's delay is hidden)
 * and totals round(input / speed) samples. Await each call before the next: one still pending
 * makes the next reject with E_INPUT. Speed 1: each piece comes back as it went in.
 */
export function createStreamStretcher(sampleRate: number, speed: number): StreamStretcher {
  if (speed === 1) {
    let finished = false;
    const open = (call: string) => {
      if (finished) throw new HiggsError('E_INPUT', `StreamStretcher: ${call} after finish()`);
    };
    return {
      push: async (samples) => {
        open('push()');
        return samples;
      },
      finish: async () => {
        open('finish()');
        finished = true;
        return new Float32Array(0);
      },
    };
  }
  const native = new (loadNative().AudioStretcher)(sampleRate, speed);
  return { push: (samples) => native.push(samples), finish: () => native.finish() };
}
