// The native core against the independent fp64 TypeScript reference, on both checkpoint formats.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReferenceModel, referenceForward, type ReferenceOutput } from '../reference/higgs-forward.js';
import { tinyHfDir, tinyOriginalDir } from '../setup/fixture-paths.js';
import { mixedPrompt, newEngine, relativeError, toForwardRequest } from '../support/engine.js';
import type { NativeEngine } from '../../lib/native/loader.js';

const flatAudio = (out: ReferenceOutput, rows: number[]) => rows.flatMap((r) => out.audioLogits[r]!.flatMap((cb) => [...cb]));

describe.each([
  ['transformers format', tinyHfDir],
  ['original format', tinyOriginalDir],
])('native forward vs fp64 reference (%s)', (_name, dir) => {
  let engine: NativeEngine;
  beforeAll(async () => {
    engine = newEngine();
    await engine.load(dir);
  });
  afterAll(() => engine.dispose());

  it.each([false, true])('audio logits at every position match (prompt ends with audio: %s)', async (endWithAudio) => {
    const prompt = mixedPrompt(endWithAudio);
    const reference = referenceForward(loadReferenceModel(dir), prompt);
    const native = await engine.forward({ ...toForwardRequest(prompt), logits: 'all' });
    expect(native.positions.length).toBe(prompt.inputIds.length);
    const rows = prompt.inputIds.map((_, i) => i);
    const expected = flatAudio(reference, rows);
    expect(expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0), 'logits must not be trivially small').toBeGreaterThan(0.05);
    expect(relativeError(native.audioLogits, expected)).toBeLessThan(1e-5);
  });

  it('audio-position selection returns exactly the audio rows', async () => {
    const prompt = mixedPrompt(true);
    const native = await engine.forward({ ...toForwardRequest(prompt), logits: 'audio' });
    const audioRows = prompt.audioMask.flatMap((a, i) => (a ? [i] : []));
    expect([...native.positions]).toEqual(audioRows);
    const reference = referenceForward(loadReferenceModel(dir), prompt);
    expect(relativeError(native.audioLogits, flatAudio(reference, audioRows))).toBeLessThan(1e-5);
  });
});

describe('checkpoint formats', () => {
  it('the same weights in both formats give identical logits', async () => {
    const hf = newEngine();
    const orig = newEngine();
    try {
      const [hfInfo, origInfo] = await Promise.all([hf.load(tinyHfDir), orig.load(tinyOriginalDir)]);
      expect(hfInfo.format).toBe('transformers');
      expect(origInfo.format).toBe('original');
      expect(origInfo.hasTextHead).toBe(true);
      expect(hfInfo.hasTextHead).toBe(false);
      const request = { ...toForwardRequest(mixedPrompt(true)), logits: 'all' as const };
      const [a, b] = await Promise.all([hf.forward(request), orig.forward(request)]);
      expect(a.audioLogits.length).toBeGreaterThan(0);
      expect(Buffer.from(a.audioLogits.buffer).equals(Buffer.from(b.audioLogits.buffer))).toBe(true);
    } finally {
      await Promise.all([hf.dispose(), orig.dispose()]);
    }
  });

  it('text-head logits match the reference (original format keeps the text head)', async () => {
    const engine = newEngine();
    try {
      await engine.load(tinyOriginalDir);
      const prompt = mixedPrompt(false);
      const native = await engine.forward({ ...toForwardRequest(prompt), logits: 'last', textLogits: true });
      const reference = referenceForward(loadReferenceModel(tinyOriginalDir), prompt, { textLogits: true });
      const last = reference.textLogits![prompt.inputIds.length - 1]!;
      expect(native.textLogits).not.toBeNull();
      expect(relativeError(native.textLogits!, last)).toBeLessThan(1e-5);
    } finally {
      await engine.dispose();
    }
  });

  it('asking a checkpoint without a text head for text logits is E_INPUT', async () => {
    const engine = newEngine();
    try {
      await engine.load(tinyHfDir);
      await expect(engine.forward({ ...toForwardRequest(mixedPrompt(false)), textLogits: true })).rejects.toMatchObject({
        code: 'E_INPUT',
        message: expect.stringContaining('text head'),
      });
    } finally {
      await engine.dispose();
    }
  });
});

describe('KV cache through the addon', () => {
  it.each([false, true])('prefill N equals prefill N-1 plus one decode step (last is audio: %s)', async (endWithAudio) => {
    const prompt = mixedPrompt(endWithAudio);
    const n = prompt.inputIds.length;
    const whole = newEngine();
    const stepped = newEngine();
    try {
      await Promise.all([whole.load(tinyHfDir), stepped.load(tinyHfDir)]);
      const full = await whole.forward(toForwardRequest(prompt));
      await stepped.forward(toForwardRequest(prompt, 0, n - 1));
      const step = await stepped.forward(toForwardRequest(prompt, n - 1, n));
      expect(relativeError(step.audioLogits, full.audioLogits)).toBeLessThan(1e-5);
    } finally {
      await Promise.all([whole.dispose(), stepped.dispose()]);
    }
  });
});
