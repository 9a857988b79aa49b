// fp64 building blocks of the Llama/Higgs decoder, written from docs/model.md#decoder-layer and
// docs/model.md#rope.
// Vectors are Float64Array; matrices are row-major [out, in] like PyTorch Linear weights.
import type { RopeConfig } from './config.js';

/** Llama RMSNorm: x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNorm(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  let sumSquares = 0;
  for (let i = 0; i < x.length; i++) sumSquares += (x[i] as number) ** 2;
  const scale = 1 / Math.sqrt(sumSquares / x.length + eps);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] as number) * scale * (weight[i] as number);
  return out;
}

/** y = W x for W of shape [outDim, x.length]. */
export function linear(weight: Float64Array, outDim: number, x: Float64Array): Float64Array {
  const inDim = x.length;
  if (weight.length !== outDim * inDim) throw new Error(`linear: weight has ${weight.length} values, expected ${outDim}x${inDim}`);
  const out = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let sum = 0;
    const row = o * inDim;
    for (let i = 0; i < inDim; i++) sum += (weight[row + i] as number) * (x[i] as number);
    out[o] = sum;
  }
  return out;
}

export const silu = (v: number): number => v / (1 + Math.exp(-v));

/** Gated MLP: down(silu(gate x) * up x). */
export function gatedMlp(gate: Float64Array, up: Float64Array, down: Float64Array, intermediate: number, x: Float64Array): Float64Array {
  const g = linear(gate, intermediate, x);
  const u = linear(up, intermediate, x);
  for (let i = 0; i < intermediate; i++) g[i] = silu(g[i] as number) * (u[i] as number);
  return linear(down, x.length, g);
}

/**
 * RoPE inverse frequencies theta^(-2j/headDim), j < headDim/2, with the llama3 adjustment:
 * wavelength 2*pi/f below original_max/high_freq_factor is kept, above
 * original_max/low_freq_factor is divided by factor, in between blended with
 * s = (original_max/wavelength - low) / (high - low): (1 - s) * f / factor + s * f.
 */
export function ropeInverseFrequencies(headDim: number, rope: RopeConfig): Float64Array {
  const half = headDim / 2;
  const out = new Float64Array(half);
  for (let j = 0; j < half; j++) {
    const f = 1 / Math.pow(rope.theta, (2 * j) / headDim);
    out[j] = rope.llama3 ? llama3Adjust(f, rope.llama3) : f;
  }
  return out;
}

function llama3Adjust(f: number, p: NonNullable<RopeConfig['llama3']>): number {
  const wavelength = (2 * Math.PI) / f;
  const highFreqWavelength = p.originalMaxPositionEmbeddings / p.highFreqFactor;
  const lowFreqWavelength = p.originalMaxPositionEmbeddings / p.lowFreqFactor;
  if (wavelength < highFreqWavelength) return f;
  if (wavelength > lowFreqWavelength) return f / p.factor;
  const s = (p.originalMaxPositionEmbeddings / wavelength - p.lowFreqFactor) / (p.highFreqFactor - p.lowFreqFactor);
  return (1 - s) * (f / p.factor) + s * f;
}

/**
 * Rotate-half RoPE, in place, on the head starting at `offset`: element i pairs with
 * i + headDim/2 and both use angle position * invFreq[i].
 */
export function applyRotary(vec: Float64Array, offset: number, headDim: number, position: number, invFreq: Float64Array): void {
  const half = headDim / 2;
  for (let i = 0; i < half; i++) {
    const angle = position * (invFreq[i] as number);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const a = vec[offset + i] as number;
    const b = vec[offset + i + half] as number;
    vec[offset + i] = a * cos - b * sin;
    vec[offset + i + half] = b * cos + a * sin;
  }
}

/** Numerically stable softmax, in place. */
export function softmaxInPlace(values: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    values[i] = Math.exp((values[i] as number) - max);
    sum += values[i] as number;
  }
  for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) / sum;
  return values;
}

/**
 * Causal grouped-query attention over already-rotated q/k. q[t] holds numHeads heads,
 * k[t] and v[t] hold numKvHeads heads; query head h reads kv head floor(h / group) (the
 * transformers repeat_kv layout). Returns the merged heads per position.
 */
export function causalAttention(
  q: Float64Array[],
  k: Float64Array[],
  v: Float64Array[],
  numHeads: number,
  numKvHeads: number,
  headDim: number,
): Float64Array[] {
  const group = numHeads / numKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  return q.map((query, t) => {
    const out = new Float64Array(numHeads * headDim);
    for (let h = 0; h < numHeads; h++) {
      const qOffset = h * headDim;
      const kvOffset = Math.floor(h / group) * headDim;
      const weights = new Float64Array(t + 1);
      for (let s = 0; s <= t; s++) {
        const key = k[s] as Float64Array;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += (query[qOffset + d] as number) * (key[kvOffset + d] as number);
        weights[s] = dot * scale;
      }
      softmaxInPlace(weights);
      for (let s = 0; s <= t; s++) {
        const value = v[s] as Float64Array;
        const w = weights[s] as number;
        for (let d = 0; d < headDim; d++) out[qOffset + d] = (out[qOffset + d] as number) + w * (value[kvOffset + d] as number);
      }
    }
    return out;
  });
}
