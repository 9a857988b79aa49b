// Time-stretching through lib/audio/time-stretch.ts and the addon (Rubber Band): a 440 Hz tone
// at half and double speed keeps its pitch and gets 1 / speed of its length, whole or streamed
// in codec-sized pieces; speed 1 never reaches the addon; bad speeds and misuse are E_INPUT.
import { describe, expect, it } from 'vitest';
import { SPEED_RANGE, createStreamStretcher, stretchSamples } from '../../lib/audio/time-stretch.js';
import { loadNative } from '../../lib/native/loader.js';

const RATE = 24000;
const PIECE = 1920;

function sine(freq: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * freq * i) / RATE));
}

/** The strongest frequency from 300 to 600 Hz (1 Hz steps) over the middle 80% (edges skipped). */
function dominantFrequency(x: Float32Array): number {
  const from = Math.floor(x.length / 10);
  const to = x.length - from;
  let best = 0;
  let bestPower = -1;
  for (let f = 300; f <= 600; f += 1) {
    let re = 0;
    let im = 0;
    const w = (2 * Math.PI * f) / RATE;
    for (let i = from; i < to; i += 1) {
      re += x[i]! * Math.cos(w * i);
      im -= x[i]! * Math.sin(w * i);
    }
    if (re * re + im * im > bestPower) [best, bestPower] = [f, re * re + im * im];
  }
  return best;
}

function expectStretched(out: Float32Array, n: number, speed: number): void {
  expect(Math.abs(out.length - n / speed)).toBeLessThanOrEqual(0.05 * (n / speed));
  expect(Math.abs(dominantFrequency(out) - 440)).toBeLessThanOrEqual(0.02 * 440);
}

async function stream(speed: number, input: Float32Array): Promise<Float32Array> {
  const stretcher = createStreamStretcher(RATE, speed);
  const pieces: Float32Array[] = [];
  for (let at = 0; at < input.length; at += PIECE) pieces.push(await stretcher.push(input.subarray(at, at + PIECE)));
  pieces.push(await stretcher.finish());
  const out = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const tone = sine(440, 2 * RATE);

describe('time-stretching', () => {
  it('has the bound the core enforces', () => {
    const { speedRange } = loadNative().constants;
    expect(speedRange).toEqual({ minimum: SPEED_RANGE.minimum, maximum: SPEED_RANGE.maximum });
    expect(SPEED_RANGE.default).toBe(1);
  });

  it.each([0.5, 2])('stretches a whole buffer at speed %s, pitch kept', async (speed) => {
    expectStretched(await stretchSamples(tone, RATE, speed), tone.length, speed);
  });

  it.each([0.5, 2])('stretches a stream in 1920-sample pieces at speed %s, pitch kept', async (speed) => {
    const out = await stream(speed, tone);
    expectStretched(out, tone.length, speed);
    expect(out.length).toBe(Math.round(tone.length / speed));
  });

  it('passes speed 1 through untouched, without the addon', async () => {
    expect(await stretchSamples(tone, RATE, 1)).toBe(tone);
    const stretcher = createStreamStretcher(RATE, 1);
    const piece = tone.subarray(0, PIECE);
    expect(await stretcher.push(piece)).toBe(piece);
    expect((await stretcher.finish()).length).toBe(0);
    await expect(stretcher.push(piece)).rejects.toMatchObject({ code: 'E_INPUT' });
    // The native stretcher at speed 1 is an exact copy too.
    const native = loadNative();
    expect(await native.stretchAudio(tone, RATE, 1)).toEqual(tone);
    const copy = new native.AudioStretcher(RATE, 1);
    expect(await copy.push(piece)).toEqual(piece);
  });

  it('refuses speeds outside SPEED_RANGE with E_INPUT', async () => {
    for (const speed of [SPEED_RANGE.minimum / 2, SPEED_RANGE.maximum * 1.1]) {
      await expect(stretchSamples(tone, RATE, speed)).rejects.toMatchObject({ code: 'E_INPUT' });
      expect(() => createStreamStretcher(RATE, speed)).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    }
    await expect(stretchSamples(tone, RATE, 0)).rejects.toMatchObject({ code: 'E_INPUT' });
  });

  it('rejects a call while another is pending, and any call after finish()', async () => {
    const stretcher = createStreamStretcher(RATE, 2);
    const first = stretcher.push(tone);
    await expect(stretcher.push(tone)).rejects.toMatchObject({ code: 'E_INPUT' });
    await first;
    expect((await stretcher.finish()).length).toBeGreaterThan(0);
    await expect(stretcher.push(tone)).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(stretcher.finish()).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
