// The stream resampler (the addon's AudioResampler, soxr) fed codec-window pieces gives what
// the whole-buffer resample gives; equal rates never reach the addon; chained stages (stretch,
// then resample) flush into each other in order.
import { describe, expect, it } from 'vitest';
import { chainStages, passThrough, type SampleStage } from '../../lib/audio/sample-stage.js';
import { createStreamResampler } from '../../lib/audio/stream-resampler.js';
import { createStreamStretcher } from '../../lib/audio/time-stretch.js';
import { loadNative } from '../../lib/native/loader.js';

const RATE = 24000;
const tone = Float32Array.from({ length: RATE * 2 + 333 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / RATE));

/** `input` through `stage` in pieces of 1920 and 480 samples by turns, then its finish(). */
async function run(stage: SampleStage, input: Float32Array): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (let at = 0, piece = 1920; at < input.length; at += piece, piece = piece === 1920 ? 480 : 1920) {
    parts.push(await stage.push(input.subarray(at, at + piece)));
  }
  parts.push(await stage.finish());
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('createStreamResampler', () => {
  it.each([8000, 16000, 44100])('resamples a stream to %s Hz like the whole buffer', async (rate) => {
    const whole = await loadNative().resampleAudio(tone, RATE, rate);
    const streamed = await run(createStreamResampler(RATE, rate), tone);
    expect(streamed.length).toBe(whole.length);
    expect(maxDifference(streamed, whole)).toBeLessThan(1e-4);
  });

  it('passes equal rates through untouched, and refuses calls after finish()', async () => {
    const stage = createStreamResampler(RATE, RATE);
    const piece = tone.subarray(0, 100);
    expect(await stage.push(piece)).toBe(piece);
    expect((await stage.finish()).length).toBe(0);
    await expect(stage.push(piece)).rejects.toMatchObject({ code: 'E_INPUT' });
    const native = createStreamResampler(RATE, 16000);
    await native.finish();
    await expect(native.push(piece)).rejects.toMatchObject({ code: 'E_INPUT' });
  });

  it('refuses a bad rate and a call while another is pending with E_INPUT', async () => {
    expect(() => createStreamResampler(RATE, -1)).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    const stage = createStreamResampler(RATE, 16000);
    const first = stage.push(tone);
    await expect(stage.push(tone)).rejects.toMatchObject({ code: 'E_INPUT' });
    await first;
  });
});

describe('chainStages', () => {
  it('stretches, then resamples, flushing the first stage into the second', async () => {
    const chained = await run(chainStages(createStreamStretcher(RATE, 2), createStreamResampler(RATE, 16000)), tone);
    const stretched = await run(createStreamStretcher(RATE, 2), tone);
    expect(stretched.length).toBe(Math.round(tone.length / 2));
    // The resampler's length rule over everything the stretcher gave, its tail included.
    expect(chained.length).toBe(Math.ceil(stretched.length * (16000 / RATE)));
  });

  it('of two pass-throughs changes nothing', async () => {
    const out = await run(chainStages(passThrough('a'), passThrough('b')), tone);
    expect(Array.from(out)).toEqual(Array.from(tone));
  });
});
