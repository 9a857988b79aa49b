// The fp64 reference forward pass: hand-checked building blocks, then the tiny fixture in
// both checkpoint formats (which hold identical values, so must give identical outputs).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readReferenceConfig } from './config.js';
import { loadReferenceModel, referenceForward, type ReferenceInput, type ReferenceModel } from './higgs-forward.js';
import { canonicalKey } from './key-names.js';
import { applyRotary, causalAttention, rmsNorm, ropeInverseFrequencies, softmaxInPlace } from './math.js';
import { halfToNumber, readSafetensorsHeader } from './safetensors.js';
import { tinyHfDir, tinyOriginalDir } from '../setup/fixture-paths.js';

const f64 = (values: number[]): Float64Array => Float64Array.from(values);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
};
const expectClose = (actual: ArrayLike<number>, expected: number[], digits = 12): void => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((v, i) => expect(actual[i]).toBeCloseTo(v, digits));
};

describe('reference math (hand-checked)', () => {
  it('RMSNorm scales by 1/sqrt(mean(x^2)+eps) then by the weight', () => {
    // mean(9, 16) = 12.5, 1/sqrt(12.5) = 0.28284271247461906
    expectClose(rmsNorm(f64([3, 4]), f64([1, 2]), 0), [3 * 0.28284271247461906, 8 * 0.28284271247461906]);
    // eps dominates a zero vector instead of dividing by zero
    expectClose(rmsNorm(f64([0, 0]), f64([1, 1]), 1e-5), [0, 0]);
    // eps = 0.5 with mean(x^2) = 2 gives 1/sqrt(2.5)
    expectClose(rmsNorm(f64([2, 0]), f64([1, 1]), 0.5), [2 / Math.sqrt(2.5), 0]);
  });

  it('llama3 RoPE keeps high frequencies, divides low ones and blends the middle', () => {
    // head_dim 6, theta 1000: base inv_freq 1, 0.1, 0.01; wavelengths 6.28, 62.8, 628.
    // original_max 100, low 1, high 4: keep below wavelength 25, divide above 100.
    const rope = { theta: 1000, llama3: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 100 } };
    const s = (100 / (2 * Math.PI * 10) - 1) / 3; // 0.19718...
    expectClose(ropeInverseFrequencies(6, rope), [1, (1 - s) * (0.1 / 8) + s * 0.1, 0.01 / 8]);
    expectClose(ropeInverseFrequencies(6, { theta: 1000, llama3: null }), [1, 0.1, 0.01]);
  });

  it('llama3 RoPE on the tiny config hits all three branches', () => {
    const config = readReferenceConfig(tinyHfDir);
    const inv = ropeInverseFrequencies(config.headDim, config.rope);
    const base = (j: number): number => 500000 ** (-j / 8);
    const s = (64 / ((2 * Math.PI) / base(1)) - 1) / 3;
    expect(inv[0]).toBeCloseTo(1, 14); // wavelength 6.3 < 16: kept
    expect(inv[1]).toBeCloseTo((1 - s) * (base(1) / 8) + s * base(1), 14); // 32.4 in [16, 64]: blended
    for (let j = 2; j < 8; j++) expect(inv[j]).toBeCloseTo(base(j) / 8, 14); // > 64: divided
  });

  it('rotate-half RoPE pairs element i with i + head_dim/2', () => {
    const v = f64([1, 0, 0, 0, /* second head */ 0, 1, 0, 0]);
    applyRotary(v, 0, 4, 1, f64([Math.PI / 2, 0]));
    applyRotary(v, 4, 4, 3, f64([0, Math.PI / 6]));
    expectClose(v, [0, 0, 1, 0, 0, Math.cos(Math.PI / 2), 0, 1]);
  });

  it('softmax is stable for large inputs', () => {
    expectClose(softmaxInPlace(f64([1000, 1000 + Math.log(3)])), [0.25, 0.75]);
  });

  it('causal GQA attention with 1/sqrt(head_dim) scaling', () => {
    // head_dim 4 (scale 1/2); two query heads share one kv head.
    const k = [f64([0, 0, 0, 0]), f64([2, 0, 0, 0])];
    const v = [f64([4, 0, 0, 0]), f64([0, 8, 0, 0])];
    const q = [f64([5, 5, 5, 5, 1, 1, 1, 1]), f64([Math.log(3), 0, 0, 0, 0, 0, 0, 0])];
    const out = causalAttention(q, k, v, 2, 1, 4);
    // position 0 only sees itself; position 1, head 0: scores 0 and ln 3 -> weights 1/4, 3/4
    expectClose(out[0] as Float64Array, [4, 0, 0, 0, 4, 0, 0, 0]);
    expectClose(out[1] as Float64Array, [1, 6, 0, 0, 2, 4, 0, 0]);
  });

  it('reads IEEE half values', () => {
    expect(halfToNumber(0x3c00)).toBe(1);
    expect(halfToNumber(0xc000)).toBe(-2);
    expect(halfToNumber(0x0001)).toBe(2 ** -24);
    expect(halfToNumber(0x7c00)).toBe(Infinity);
  });
});

describe('checkpoint key mapping', () => {
  it('maps original names, merges split parts and ignores rotary buffers', () => {
    expect(canonicalKey('embed_tokens.embedding_frozen.weight')).toEqual({ canonical: 'model.embed_tokens.weight', part: 'frozen' });
    expect(canonicalKey('embed_tokens.embedding_trainable.weight')).toEqual({ canonical: 'model.embed_tokens.weight', part: 'trainable' });
    expect(canonicalKey('audio_decoder_proj.text_lm_head.linear_frozen.weight')).toEqual({ canonical: 'text_lm_head.weight', part: 'frozen' });
    expect(canonicalKey('audio_decoder_proj.audio_lm_head.weight')?.canonical).toBe('audio_lm_head.weight');
    expect(canonicalKey('audio_codebook_embeddings.weight')?.canonical).toBe('model.embed_audio_tokens.embed_audio_tokens.weight');
    expect(canonicalKey('layers.2.audio_mlp.down_proj.weight')?.canonical).toBe('model.layers.2.audio_mlp.down_proj.weight');
    expect(canonicalKey('norm.weight')?.canonical).toBe('model.norm.weight');
    expect(canonicalKey('model.layers.0.audio_input_layernorm.weight')?.canonical).toBe('model.layers.0.audio_input_layernorm.weight');
    expect(canonicalKey('layers.0.self_attn.rotary_emb.inv_freq')).toBeNull();
    expect(() => canonicalKey('layers.0.self_attn.q_norm.weight')).toThrow(/unknown checkpoint tensor/);
  });
});

describe('tiny fixture files', () => {
  it('describe the same model in both config formats', () => {
    const hf = readReferenceConfig(tinyHfDir);
    const orig = readReferenceConfig(tinyOriginalDir);
    expect(hf.format).toBe('hf');
    expect(orig.format).toBe('original');
    expect({ ...orig, format: 'hf' }).toEqual(hf);
    expect(hf).toMatchObject({ vocabSize: 128256, hiddenSize: 64, numLayers: 3, numHeads: 4, numKvHeads: 2, headDim: 16, numCodebooks: 8, codebookSize: 1026 });
  });

  it('index.json lists every tensor of both shards with the right total size', () => {
    const index = JSON.parse(readFileSync(join(tinyOriginalDir, 'model.safetensors.index.json'), 'utf8')) as {
      metadata: { total_size: number };
      weight_map: Record<string, string>;
    };
    const listed = new Map<string, string>();
    let total = 0;
    for (const file of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
      for (const info of readSafetensorsHeader(join(tinyOriginalDir, file)).values()) {
        listed.set(info.name, file);
        total += info.shape.reduce((a, b) => a * b, 1) * 4;
        expect(info.dtype).toBe('F32');
      }
    }
    expect(Object.fromEntries(listed)).toEqual(index.weight_map);
    expect(index.metadata.total_size).toBe(total);
    expect(index.weight_map['embed_tokens.embedding_frozen.weight']).not.toBe(index.weight_map['embed_tokens.embedding_trainable.weight']);
  });

  it('the transformers checkpoint is BF16 without a text head', () => {
    const tensors = readSafetensorsHeader(join(tinyHfDir, 'model.safetensors'));
    expect([...tensors.values()].every((t) => t.dtype === 'BF16')).toBe(true);
    expect(tensors.has('text_lm_head.weight')).toBe(false);
    expect(tensors.get('model.embed_tokens.weight')?.shape).toEqual([128256, 64]);
  });
});

/** A prompt-like sequence: text header, audio_out_bos, delayed audio frames, audio_eos, text. */
function sampleInput(): ReferenceInput {
  const inputIds = [128000, 128006, 882, 128007, 271, 9906, 127999, 128009, 128006, 128013];
  const audioMask = inputIds.map(() => false);
  const audioCodes: number[][] = [];
  const frames = 12;
  for (let t = 0; t < frames; t++) {
    // delay pattern: codebook k is bos for t <= k, eos for the last 7 - k frames
    audioCodes.push(Array.from({ length: 8 }, (_, k) => (t <= k ? 1024 : t >= frames - (7 - k) ? 1025 : (t * 131 + k * 37) % 1024)));
    inputIds.push(128016);
    audioMask.push(true);
  }
  inputIds.push(128012, 128009, 128255);
  audioMask.push(false, false, false);
  return { inputIds, audioMask, audioCodes };
}

describe('reference forward on the tiny fixture', () => {
  let hf: ReferenceModel;
  let orig: ReferenceModel;
  const input = sampleInput();

  beforeAll(() => {
    hf = loadReferenceModel(tinyHfDir);
    orig = loadReferenceModel(tinyOriginalDir);
  });

  it('gives identical outputs for the transformers and the original checkpoint', () => {
    const a = referenceForward(hf, input);
    const b = referenceForward(orig, input);
    expect(a.hiddenStates.length).toBe(input.inputIds.length);
    expect(a.audioLogits.length).toBe(input.inputIds.length);
    expect(a.audioLogits[0]?.length).toBe(8);
    expect(a.audioLogits[0]?.[0]?.length).toBe(1026);
    expect(b.hiddenStates).toEqual(a.hiddenStates);
    expect(b.audioLogits).toEqual(a.audioLogits);
  });

  it('produces O(1) activations and logits that vary meaningfully', () => {
    const { hiddenStates, audioLogits } = referenceForward(hf, input);
    for (const state of hiddenStates) {
      const rms = Math.sqrt(state.reduce((s, v) => s + v * v, 0) / state.length);
      expect(rms).toBeGreaterThan(0.5);
      expect(rms).toBeLessThan(2);
    }
    for (const logits of audioLogits.flat()) {
      const mean = logits.reduce((s, v) => s + v, 0) / logits.length;
      const std = Math.sqrt(logits.reduce((s, v) => s + (v - mean) ** 2, 0) / logits.length);
      expect(Number.isFinite(std)).toBe(true);
      expect(std).toBeGreaterThan(0.5);
      expect(std).toBeLessThan(10);
    }
  });

  it('is causal: a prefix gives the same outputs as the head of the full sequence', () => {
    const full = referenceForward(hf, input);
    const n = 15; // ends inside the audio frames
    const prefix = referenceForward(hf, {
      inputIds: input.inputIds.slice(0, n),
      audioMask: input.audioMask.slice(0, n),
      audioCodes: input.audioCodes.slice(0, input.audioMask.slice(0, n).filter(Boolean).length),
    });
    for (let t = 0; t < n; t++) {
      expect(maxAbsDiff(prefix.hiddenStates[t] as Float64Array, full.hiddenStates[t] as Float64Array)).toBeLessThan(1e-12);
    }
  });

  it('routes audio positions through the audio path: codes matter, placeholder ids do not', () => {
    const base = referenceForward(hf, input);
    const otherPlaceholder = referenceForward(hf, { ...input, inputIds: input.inputIds.map((id, t) => (input.audioMask[t] ? 128014 : id)) });
    expect(otherPlaceholder.hiddenStates).toEqual(base.hiddenStates);
    const changedCodes = input.audioCodes.map((codes) => [...codes]);
    (changedCodes[5] as number[])[3] = 7;
    const changed = referenceForward(hf, { ...input, audioCodes: changedCodes });
    const position = input.audioMask.findIndex(Boolean) + 5;
    expect(changed.hiddenStates[position - 1]).toEqual(base.hiddenStates[position - 1]);
    expect(maxAbsDiff(changed.hiddenStates[position] as Float64Array, base.hiddenStates[position] as Float64Array)).toBeGreaterThan(1e-3);
  });

  it('computes text logits only where the checkpoint has a text head', () => {
    const short = { inputIds: input.inputIds.slice(0, 4), audioMask: input.audioMask.slice(0, 4), audioCodes: [] };
    const out = referenceForward(orig, short, { textLogits: true });
    expect(out.textLogits?.length).toBe(4);
    expect(out.textLogits?.[0]?.length).toBe(128256);
    expect(out.textLogits?.flatMap((row) => [row[0], row[128255]]).every(Number.isFinite)).toBe(true);
    expect(() => referenceForward(hf, short, { textLogits: true })).toThrow(/no text head/);
  });

  it('rejects malformed input', () => {
    expect(() => referenceForward(hf, { inputIds: [1, 2], audioMask: [false], audioCodes: [] })).toThrow(/audioMask/);
    expect(() => referenceForward(hf, { inputIds: [1], audioMask: [true], audioCodes: [] })).toThrow(/audio code vectors/);
    expect(() => referenceForward(hf, { inputIds: [1], audioMask: [true], audioCodes: [[0, 0, 0, 0, 0, 0, 0, 1026]] })).toThrow(/bad audio codes/);
    expect(() => referenceForward(hf, { inputIds: [128256], audioMask: [false], audioCodes: [] })).toThrow(/out of range/);
  });
});
