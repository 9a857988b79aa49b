// Engine.generate through the addon: greedy parity with transformers, seeds, streaming,
// cancellation, argument errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateRequest, NativeEngine } from '../../lib/native/loader.js';
import { loadNative } from '../../lib/native/loader.js';
import { SAMPLING_DEFAULTS } from '../../lib/request/defaults.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { newEngine } from '../support/engine.js';
import { golden, goldenLmDir, readGoldens } from '../support/goldens.js';

const lm = readGoldens('lm_goldens.safetensors');
const ids = (name: string) => golden(lm, name).data as number[];

/** Our codes [8][T] against HF's trimmed codes [8][T_hf]: ours start one frame later and end one earlier. */
function expectCodesMatch(ours: Int32Array, frames: number, hf: number[], hfFrames: number) {
  // HF trims from the last all-bos frame (exclusive); the original also drops the first reverted
  // frame and the last one, so our frame t is HF's frame t (both start after the bos column) and
  // we keep hfFrames - 1 frames when no eos was produced.
  expect(frames).toBe(hfFrames - 1);
  for (let k = 0; k < 8; k += 1) {
    expect([...ours.subarray(k * frames, (k + 1) * frames)], `codebook ${k}`).toEqual(hf.slice(k * hfFrames, k * hfFrames + frames));
  }
}

describe('greedy generation matches transformers (RAS off, 24 frames)', () => {
  let engine: NativeEngine;
  beforeAll(async () => {
    engine = newEngine();
    await engine.load(goldenLmDir);
  });
  afterAll(() => engine.dispose());

  it('smart voice prompt', async () => {
    const inputIds = ids('greedy.smart.input_ids');
    const result = await engine.generate({
      inputIds: Int32Array.from(inputIds),
      audioMask: new Uint8Array(inputIds.length),
      ...SAMPLING_DEFAULTS,
      seed: 0,
      temperature: 0,
      rasWindow: 0,
      maxFrames: 24,
    });
    expect(result.columns).toBe(24);
    expect(result.stopReason).toBe('max_frames');
    expectCodesMatch(result.codes, result.frames, ids('greedy.smart.trimmed_codes'), 16);
  });

  it('voice clone prompt with a reference clip', async () => {
    const inputIds = ids('greedy.clone.input_ids');
    const mask = ids('prefill.audio_token_mask');
    const result = await engine.generate({
      inputIds: Int32Array.from(inputIds),
      audioMask: Uint8Array.from(mask),
      audioCodes: Int32Array.from(ids('greedy.clone.audio_input_ids')),
      ...SAMPLING_DEFAULTS,
      seed: 0,
      temperature: 0,
      rasWindow: 0,
      maxFrames: 24,
    });
    expect(result.columns).toBe(24);
    expectCodesMatch(result.codes, result.frames, ids('greedy.clone.trimmed_codes'), 16);
  });
});

describe('Engine.generate', () => {
  let engine: NativeEngine;
  const prompt = (): GenerateRequest => ({
    inputIds: Int32Array.of(128000, 128006, 9125, 128007, 271, 128009, 128006, 78191, 128007, 271, 128013),
    audioMask: new Uint8Array(11),
    ...SAMPLING_DEFAULTS,
    seed: 0,
    temperature: 1,
    topK: 50,
    topP: 0.95,
    maxFrames: 40,
  });
  beforeAll(async () => {
    engine = newEngine({ maxContext: 512 });
    await engine.load(tinyHfDir);
  });
  afterAll(() => engine.dispose());

  it('the same seed gives the same codes, another seed other codes', async () => {
    const a = await engine.generate({ ...prompt(), seed: 7 });
    const b = await engine.generate({ ...prompt(), seed: 7 });
    const c = await engine.generate({ ...prompt(), seed: 8 });
    expect(a.frames).toBeGreaterThan(0);
    expect([...a.codes]).toEqual([...b.codes]);
    expect([...a.codes]).not.toEqual([...c.codes]);
    expect(a.codes.every((v) => v >= 0 && v <= 1023)).toBe(true);
  });

  it('streams every frame once, in order, before the Promise settles', async () => {
    const streamed: number[][] = [];
    let progressCalls = 0;
    let settled = false;
    const result = await engine
      .generate(
        { ...prompt(), seed: 3, streamEvery: 4 },
        {
          onFrames: (frames, first, count) => {
            expect(settled).toBe(false);
            expect(first).toBe(streamed.length);
            for (let i = 0; i < count; i += 1) streamed.push([...frames.subarray(i * 8, i * 8 + 8)]);
          },
          onProgress: (columns, max) => {
            progressCalls += 1;
            expect(columns).toBeLessThanOrEqual(max);
          },
        },
      )
      .finally(() => (settled = true));
    expect(streamed.length).toBe(result.frames);
    for (let t = 0; t < result.frames; t += 1) {
      for (let k = 0; k < 8; k += 1) expect(streamed[t]![k]).toBe(result.codes[k * result.frames + t]);
    }
    expect(progressCalls).toBeGreaterThan(0);
  });

  it('cancel stops a running generation with E_CANCELLED and the next one runs', async () => {
    let frames = 0;
    const running = engine.generate(
      { ...prompt(), maxFrames: 400, streamEvery: 1, requestId: 41 },
      { onFrames: (_f, _first, count) => ((frames += count), engine.cancel(41)) },
    );
    await expect(running).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThan(391);
    const next = await engine.generate({ ...prompt(), requestId: 42 });
    expect(next.columns).toBeGreaterThan(0);
  });

  it('a throwing callback rejects that call only', async () => {
    const failing = engine.generate({ ...prompt(), streamEvery: 1 }, {
      onFrames: () => {
        throw new Error('consumer failed');
      },
    });
    await expect(failing).rejects.toThrow('consumer failed');
    expect((await engine.generate(prompt())).columns).toBe(40);
  });

  it('rejects settings the core cannot take with E_INPUT (its bounds, engine.h), on every decode path', async () => {
    const limit = loadNative().constants.limits.maxRasWindow;
    for (const bad of [{ temperature: -1 }, { topP: 0 }, { topK: -2 }, { maxFrames: 0 }, { rasMaxRepeats: 0 }, { rasWindow: -1 }, { rasWindow: limit + 1 }]) {
      await expect(engine.generate({ ...prompt(), ...bad }), JSON.stringify(bad)).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringContaining(`ras_window <= ${limit}`) });
    }
    await expect(engine.generate({ ...prompt(), audioMask: new Uint8Array(3) })).rejects.toMatchObject({ code: 'E_INPUT' });
    // The longest window the buffers hold is accepted.
    expect((await engine.generate({ ...prompt(), rasWindow: limit, maxFrames: 12 })).columns).toBe(12);
  });

  it('refuses a value of the wrong type at the call (the binding checks types only)', () => {
    const { temperature: _missing, ...withoutTemperature } = prompt();
    const cases: [Record<string, unknown>, string][] = [
      [{ seed: -1 }, 'generate: seed must be a non-negative safe integer'],
      [{ seed: 1.5 }, 'generate: seed must be a non-negative safe integer'],
      [{ topK: 2 ** 60 }, 'generate: topK must be a safe integer'],
      [{ temperature: Number.NaN }, 'generate: temperature must be a finite number'],
      [{ topP: '0.9' }, 'generate: topP must be a number'],
      [{ audioMask: new Int32Array(11) }, 'generate: audioMask must be a Uint8Array'],
    ];
    for (const [bad, message] of cases) {
      expect(() => engine.generate({ ...prompt(), ...bad } as GenerateRequest)).toThrow(expect.objectContaining({ code: 'E_INPUT', message }));
    }
    expect(() => engine.generate(withoutTemperature as GenerateRequest)).toThrow('generate: temperature is required');
  });
});
