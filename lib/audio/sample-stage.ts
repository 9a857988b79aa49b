/**
 * A stream's samples reshaped on their way out, piece by piece (a time-stretcher, a resampler):
 * push() gives what is ready, finish() what the stage still holds. Await each call before the
 * next: the native stages reject a call made while another is pending (E_INPUT).
 */
import { HiggsError } from '../common/errors.js';

export interface SampleStage {
  push(samples: Float32Array): Promise<Float32Array>;
  finish(): Promise<Float32Array>;
}

/** A stage that changes nothing: each piece comes back as it went in (`name` is for its errors). */
export function passThrough(name: string): SampleStage {
  let finished = false;
  const open = (call: string) => {
    if (finished) throw new HiggsError('E_INPUT', `${name}: ${call} after finish()`);
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

/** `first`, then `second` on what it gives; finish() flushes `first` into `second`, then `second`. */
export function chainStages(first: SampleStage, second: SampleStage): SampleStage {
  return {
    push: async (samples) => second.push(await first.push(samples)),
    finish: async () => {
      const held = await second.push(await first.finish());
      const tail = await second.finish();
      if (held.length === 0) return tail;
      const out = new Float32Array(held.length + tail.length);
      out.set(held);
      out.set(tail, held.length);
      return out;
    },
  };
}
