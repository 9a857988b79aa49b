// Independent fp64 forward pass of the Higgs Audio V2 LM (docs/model.md#backbone-and-dualffn),
// used as the numerical reference for the native engine. Plain full causal attention, no KV cache.
import { openCheckpoint, type CheckpointTensors } from './checkpoint.js';
import { readReferenceConfig, type ReferenceConfig } from './config.js';
import { applyRotary, causalAttention, gatedMlp, linear, rmsNorm, ropeInverseFrequencies } from './math.js';

interface Mlp {
  gate: Float64Array;
  up: Float64Array;
  down: Float64Array;
}

interface Layer {
  qProj: Float64Array;
  kProj: Float64Array;
  vProj: Float64Array;
  oProj: Float64Array;
  mlp: Mlp;
  audioMlp: Mlp;
  inputNorm: Float64Array;
  postAttentionNorm: Float64Array;
  audioInputNorm: Float64Array;
  audioPostAttentionNorm: Float64Array;
}

export interface ReferenceModel {
  dir: string;
  config: ReferenceConfig;
  tensors: CheckpointTensors;
  layers: Layer[];
  finalNorm: Float64Array;
  /** [numCodebooks * codebookSize, hidden] */
  audioEmbedding: Float64Array;
  /** [numCodebooks * codebookSize, hidden] */
  audioHead: Float64Array;
  hasTextHead: boolean;
  invFreq: Float64Array;
  /** The text head is vocab x hidden: read only when text logits are asked for. */
  textHeadCache?: Float64Array;
}

export interface ReferenceInput {
  /** Token ids; ids at audio positions are placeholders and are not looked up. */
  inputIds: number[];
  /** true where the position is an audio frame (embedded from codes, audio FFN path). */
  audioMask: boolean[];
  /** One numCodebooks-vector of codes (0..codebookSize-1) per audio position, in order. */
  audioCodes: number[][];
}

export interface ReferenceOptions {
  /** Also compute text logits at every position (needs a text head in the checkpoint). */
  textLogits?: boolean;
}

export interface ReferenceOutput {
  /** Final hidden states after the final RMSNorm, [L][hidden]. */
  hiddenStates: Float64Array[];
  /** Audio head applied at every position, [L][numCodebooks][codebookSize]. */
  audioLogits: Float64Array[][];
  /** [L][vocab], only when asked for. */
  textLogits?: Float64Array[];
}

function readChecked(tensors: CheckpointTensors, name: string, shape: number[]): Float64Array {
  const actual = tensors.shape(name);
  if (actual.join(',') !== shape.join(',')) throw new Error(`tensor ${name} has shape [${actual}], expected [${shape}]`);
  return tensors.read(name);
}

function loadLayer(tensors: CheckpointTensors, c: ReferenceConfig, i: number): Layer {
  const p = `model.layers.${i}.`;
  const h = c.hiddenSize;
  const read = (name: string, shape: number[]): Float64Array => readChecked(tensors, p + name, shape);
  const mlp = (kind: string): Mlp => ({
    gate: read(`${kind}.gate_proj.weight`, [c.intermediateSize, h]),
    up: read(`${kind}.up_proj.weight`, [c.intermediateSize, h]),
    down: read(`${kind}.down_proj.weight`, [h, c.intermediateSize]),
  });
  return {
    qProj: read('self_attn.q_proj.weight', [c.numHeads * c.headDim, h]),
    kProj: read('self_attn.k_proj.weight', [c.numKvHeads * c.headDim, h]),
    vProj: read('self_attn.v_proj.weight', [c.numKvHeads * c.headDim, h]),
    oProj: read('self_attn.o_proj.weight', [h, c.numHeads * c.headDim]),
    mlp: mlp('mlp'),
    audioMlp: mlp('audio_mlp'),
    inputNorm: read('input_layernorm.weight', [h]),
    postAttentionNorm: read('post_attention_layernorm.weight', [h]),
    audioInputNorm: read('audio_input_layernorm.weight', [h]),
    audioPostAttentionNorm: read('audio_post_attention_layernorm.weight', [h]),
  };
}

/** Loads a checkpoint directory of either format (everything but the vocab-sized tables). */
export function loadReferenceModel(dir: string): ReferenceModel {
  const config = readReferenceConfig(dir);
  const tensors = openCheckpoint(dir);
  const h = config.hiddenSize;
  const audioRows = config.numCodebooks * config.codebookSize;
  const embedShape = tensors.shape('model.embed_tokens.weight');
  if (embedShape.join(',') !== `${config.vocabSize},${h}`) throw new Error(`${dir}: embed_tokens has shape [${embedShape}]`);
  const hasTextHead = tensors.has('text_lm_head.weight');
  if (hasTextHead && tensors.shape('text_lm_head.weight').join(',') !== `${config.vocabSize},${h}`) {
    throw new Error(`${dir}: text_lm_head has shape [${tensors.shape('text_lm_head.weight')}]`);
  }
  return {
    dir,
    config,
    tensors,
    layers: Array.from({ length: config.numLayers }, (_, i) => loadLayer(tensors, config, i)),
    finalNorm: readChecked(tensors, 'model.norm.weight', [h]),
    audioEmbedding: readChecked(tensors, 'model.embed_audio_tokens.embed_audio_tokens.weight', [audioRows, h]),
    audioHead: readChecked(tensors, 'audio_lm_head.weight', [audioRows, h]),
    hasTextHead,
    invFreq: ropeInverseFrequencies(config.headDim, config.rope),
  };
}

function validateInput(c: ReferenceConfig, input: ReferenceInput): void {
  const { inputIds, audioMask, audioCodes } = input;
  if (audioMask.length !== inputIds.length) throw new Error(`audioMask has ${audioMask.length} entries for ${inputIds.length} ids`);
  const audioPositions = audioMask.filter(Boolean).length;
  if (audioCodes.length !== audioPositions) throw new Error(`${audioCodes.length} audio code vectors for ${audioPositions} audio positions`);
  for (const codes of audioCodes) {
    if (codes.length !== c.numCodebooks || codes.some((v) => !Number.isInteger(v) || v < 0 || v >= c.codebookSize)) {
      throw new Error(`bad audio codes [${codes}]`);
    }
  }
  inputIds.forEach((id, t) => {
    if (!audioMask[t] && (!Number.isInteger(id) || id < 0 || id >= c.vocabSize)) throw new Error(`token id ${id} out of range`);
  });
}

/** Audio frame embedding: sum over codebooks k of table row k * codebookSize + codes[k]. */
function embedAudioFrame(model: ReferenceModel, codes: number[]): Float64Array {
  const { hiddenSize: h, codebookSize } = model.config;
  const out = new Float64Array(h);
  codes.forEach((code, k) => {
    const row = (k * codebookSize + code) * h;
    for (let i = 0; i < h; i++) out[i] = (out[i] as number) + (model.audioEmbedding[row + i] as number);
  });
  return out;
}

function embedInput(model: ReferenceModel, input: ReferenceInput): Float64Array[] {
  let nextAudio = 0;
  return input.inputIds.map((id, t) =>
    input.audioMask[t]
      ? embedAudioFrame(model, input.audioCodes[nextAudio++] as number[])
      : model.tensors.row('model.embed_tokens.weight', id),
  );
}

function addInPlace(x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (y[i] as number);
}

/** One dual-FFN decoder layer over the whole sequence, updating x in place. */
function decoderLayer(model: ReferenceModel, layer: Layer, x: Float64Array[], audioMask: boolean[]): void {
  const c = model.config;
  const q: Float64Array[] = [];
  const k: Float64Array[] = [];
  const v: Float64Array[] = [];
  x.forEach((state, t) => {
    const h = rmsNorm(state, audioMask[t] ? layer.audioInputNorm : layer.inputNorm, c.rmsNormEps);
    const qt = linear(layer.qProj, c.numHeads * c.headDim, h);
    const kt = linear(layer.kProj, c.numKvHeads * c.headDim, h);
    for (let head = 0; head < c.numHeads; head++) applyRotary(qt, head * c.headDim, c.headDim, t, model.invFreq);
    for (let head = 0; head < c.numKvHeads; head++) applyRotary(kt, head * c.headDim, c.headDim, t, model.invFreq);
    q.push(qt);
    k.push(kt);
    v.push(linear(layer.vProj, c.numKvHeads * c.headDim, h));
  });
  const attention = causalAttention(q, k, v, c.numHeads, c.numKvHeads, c.headDim);
  x.forEach((state, t) => {
    addInPlace(state, linear(layer.oProj, c.hiddenSize, attention[t] as Float64Array));
    const audio = audioMask[t] as boolean;
    const mlp = audio ? layer.audioMlp : layer.mlp;
    const normed = rmsNorm(state, audio ? layer.audioPostAttentionNorm : layer.postAttentionNorm, c.rmsNormEps);
    addInPlace(state, gatedMlp(mlp.gate, mlp.up, mlp.down, c.intermediateSize, normed));
  });
}

function textHead(model: ReferenceModel): Float64Array {
  if (!model.hasTextHead) throw new Error(`${model.dir}: checkpoint has no text head (text_lm_head)`);
  model.textHeadCache ??= model.tensors.read('text_lm_head.weight');
  return model.textHeadCache;
}

/** Full forward over positions 0..L-1. */
export function referenceForward(model: ReferenceModel, input: ReferenceInput, options: ReferenceOptions = {}): ReferenceOutput {
  const c = model.config;
  validateInput(c, input);
  const x = embedInput(model, input);
  for (const layer of model.layers) decoderLayer(model, layer, x, input.audioMask);
  const hiddenStates = x.map((state) => rmsNorm(state, model.finalNorm, c.rmsNormEps));
  const audioLogits = hiddenStates.map((state) => {
    const flat = linear(model.audioHead, c.numCodebooks * c.codebookSize, state);
    return Array.from({ length: c.numCodebooks }, (_, k) => flat.subarray(k * c.codebookSize, (k + 1) * c.codebookSize));
  });
  const output: ReferenceOutput = { hiddenStates, audioLogits };
  if (options.textLogits) {
    const weights = textHead(model);
    output.textLogits = hiddenStates.map((state) => linear(weights, c.vocabSize, state));
  }
  return output;
}
