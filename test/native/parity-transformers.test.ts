// Parity with the transformers implementation (HiggsAudioV2ForConditionalGeneration, 5.17),
// through our own loaders: the goldens' checkpoint is loaded by the native engine and its
// logits compared with those transformers computed in fp32 (issue 3). Greedy codes and the
// codec goldens are checked by the generation and codec issues.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NativeEngine } from '../../lib/native/loader.js';
import { loadReferenceModel, referenceForward } from '../reference/higgs-forward.js';
import { tinyTokenizerPath } from '../setup/fixture-paths.js';
import { newEngine, relativeError } from '../support/engine.js';
import { golden, goldenLmDir, readGoldens, readManifest } from '../support/goldens.js';

const lm = readGoldens('lm_goldens.safetensors');
const ids = (name: string) => golden(lm, name).data as number[];
const floats = (name: string) => golden(lm, name).data as Float32Array;

/** The goldens' voice-clone prompt: placeholders take the audio frames in order. */
function prefillInput() {
  const inputIds = ids('prefill.input_ids');
  const audioMask = ids('prefill.audio_token_mask').map((m) => m === 1);
  const frames = ids('prefill.audio_input_ids');
  const audioCodes: number[][] = [];
  for (let i = 0; i < frames.length; i += 8) audioCodes.push(frames.slice(i, i + 8));
  return { inputIds, audioMask, audioCodes };
}

describe('transformers parity: LM logits', () => {
  let engine: NativeEngine;
  beforeAll(async () => {
    engine = newEngine();
    const info = await engine.load(goldenLmDir);
    expect(info.format).toBe('transformers');
    expect(info.numLayers).toBe(3);
  });
  afterAll(() => engine.dispose());

  it('prefill audio logits at every position of a mixed text/audio prompt (< 1e-4)', async () => {
    const input = prefillInput();
    expect(input.audioCodes.length).toBe(input.audioMask.filter(Boolean).length);
    const out = await engine.forward({
      inputIds: Int32Array.from(input.inputIds),
      audioMask: Uint8Array.from(input.audioMask, (a) => (a ? 1 : 0)),
      audioCodes: Int32Array.from(input.audioCodes.flat()),
      logits: 'all',
    });
    const err = relativeError(out.audioLogits, floats("prefill.logits"));
    expect(err).toBeLessThan(1e-4);
  });

  it('teacher-forced decode steps through the KV cache (< 1e-4 at every step)', async () => {
    const input = prefillInput();
    await engine.forward({
      inputIds: Int32Array.from(input.inputIds),
      audioMask: Uint8Array.from(input.audioMask, (a) => (a ? 1 : 0)),
      audioCodes: Int32Array.from(input.audioCodes.flat()),
    });
    const frames = ids('teacher_forced.frames');
    const positions = ids('teacher_forced.positions');
    const expected = floats('teacher_forced.logits');
    const stepSize = 8 * 1026;
    let worst = 0;
    for (let s = 0; s < positions.length; s += 1) {
      const out = await engine.forward({
        inputIds: Int32Array.of(128016),
        audioMask: Uint8Array.of(1),
        audioCodes: Int32Array.from(frames.slice(s * 8, s * 8 + 8)),
        startPos: positions[s]!,
      });
      worst = Math.max(worst, relativeError(out.audioLogits, expected.subarray(s * stepSize, (s + 1) * stepSize)));
    }
    expect(positions.length).toBeGreaterThanOrEqual(16);
    expect(worst).toBeLessThan(1e-4);
  });

  it('the independent fp64 TypeScript reference agrees with transformers too', () => {
    const out = referenceForward(loadReferenceModel(goldenLmDir), prefillInput());
    const flat = out.audioLogits.flatMap((position) => position.flatMap((codebook) => [...codebook]));
    expect(relativeError(flat, floats('prefill.logits'))).toBeLessThan(1e-4);
  });
});

describe('transformers parity: tokenizer ids', () => {
  const manifest = readManifest();

  it('the goldens were made with our tiny tokenizer.json', () => {
    const sha = createHash('sha256').update(readFileSync(tinyTokenizerPath)).digest('hex');
    expect(sha).toBe(manifest.tokens.tokenizer_sha256);
  });

  it.each(manifest.tokens.prompts.map((p) => [p.name, p] as const))('%s encodes to the same ids', (_name, prompt) => {
    const tokenizer = new Tokenizer(JSON.parse(readFileSync(tinyTokenizerPath, 'utf8')), {});
    expect(tokenizer.encode(prompt.text, { add_special_tokens: false }).ids).toEqual(ids(prompt.tensor));
  });
});
