/**
 * A stream's sample rate changed piece by piece with the soxr filter of whole files (the addon's
 * AudioResampler): the total is the length a whole-buffer resample gives. Equal rates never
 * reach the addon.
 */
import { loadNative } from '../native/loader.js';
import { passThrough, type SampleStage } from './sample-stage.js';

export function createStreamResampler(fromRate: number, toRate: number): SampleStage {
  if (fromRate === toRate) return passThrough('StreamResampler');
  return new (loadNative().AudioResampler)(fromRate, toRate);
}
