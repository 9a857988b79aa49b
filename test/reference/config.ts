// Reads config.json of either checkpoint format into one flat description of the LM
// (docs/model.md#checkpoint-formats and #shape-of-the-released-model). Features the reference
// does not implement are rejected.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RopeConfig {
  theta: number;
  /** null: plain RoPE; otherwise llama3 frequency adjustment parameters. */
  llama3: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number } | null;
}

export interface ReferenceConfig {
  format: 'hf' | 'original';
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  rope: RopeConfig;
  numCodebooks: number;
  /** Per-codebook vocabulary including stream bos and eos (1026 for the real model). */
  codebookSize: number;
  audioStreamBosId: number;
  audioStreamEosId: number;
}

type Json = Record<string, unknown>;

function num(obj: Json, key: string, where: string): number {
  const value = obj[key];
  if (typeof value !== 'number') throw new Error(`${where}: ${key} must be a number`);
  return value;
}

function readRope(llama: Json, where: string): RopeConfig {
  const parameters = (llama.rope_parameters ?? llama.rope_scaling ?? null) as Json | null;
  const theta = (parameters?.rope_theta ?? llama.rope_theta ?? 10000) as number;
  const type = (parameters?.rope_type ?? parameters?.type ?? 'default') as string;
  if (type === 'default') return { theta, llama3: null };
  if (type !== 'llama3' || !parameters) throw new Error(`${where}: rope type ${type} is not supported`);
  return {
    theta,
    llama3: {
      factor: num(parameters, 'factor', where),
      lowFreqFactor: num(parameters, 'low_freq_factor', where),
      highFreqFactor: num(parameters, 'high_freq_factor', where),
      originalMaxPositionEmbeddings: num(parameters, 'original_max_position_embeddings', where),
    },
  };
}

function readLlama(llama: Json, where: string): Omit<ReferenceConfig, 'format' | 'numCodebooks' | 'codebookSize' | 'audioStreamBosId' | 'audioStreamEosId'> {
  if ((llama.hidden_act ?? 'silu') !== 'silu') throw new Error(`${where}: hidden_act must be silu`);
  if (llama.attention_bias || llama.mlp_bias) throw new Error(`${where}: biases are not supported`);
  const hiddenSize = num(llama, 'hidden_size', where);
  const numHeads = num(llama, 'num_attention_heads', where);
  return {
    vocabSize: num(llama, 'vocab_size', where),
    hiddenSize,
    intermediateSize: num(llama, 'intermediate_size', where),
    numLayers: num(llama, 'num_hidden_layers', where),
    numHeads,
    numKvHeads: (llama.num_key_value_heads ?? numHeads) as number,
    headDim: (llama.head_dim ?? hiddenSize / numHeads) as number,
    rmsNormEps: (llama.rms_norm_eps ?? 1e-6) as number,
    rope: readRope(llama, where),
  };
}

/** The original format may describe adapter variants the reference does not model. */
function assertPlainDualFfn(config: Json, numLayers: number, where: string): void {
  const adapter = config.audio_adapter_type;
  if (adapter !== 'dual_ffn' && adapter !== 'dual_ffn_fast_forward') throw new Error(`${where}: audio_adapter_type ${String(adapter)} is not supported`);
  const dual = new Set((config.audio_dual_ffn_layers ?? []) as number[]);
  for (let i = 0; i < numLayers; i++) {
    if (!dual.has(i)) throw new Error(`${where}: fast-forward layer ${i} is not supported (all layers must be dual-FFN)`);
  }
  for (const flag of ['use_audio_out_self_attention', 'use_audio_out_embed_projector', 'audio_embed_avg']) {
    if (config[flag]) throw new Error(`${where}: ${flag} is not supported`);
  }
  if ((config.audio_decoder_proj_num_layers ?? 0) !== 0) throw new Error(`${where}: audio_decoder_proj_num_layers must be 0`);
}

export function readReferenceConfig(dir: string): ReferenceConfig {
  const where = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(where, 'utf8')) as Json;
  if (config.model_type === 'higgs_audio_v2') {
    return {
      format: 'hf',
      ...readLlama(config, where),
      numCodebooks: num(config, 'num_codebooks', where),
      codebookSize: num(config, 'codebook_size', where),
      audioStreamBosId: num(config, 'audio_stream_bos_id', where),
      audioStreamEosId: num(config, 'audio_stream_eos_id', where),
    };
  }
  if (config.model_type === 'higgs_audio') {
    const llama = readLlama((config.text_config ?? {}) as Json, `${where} text_config`);
    assertPlainDualFfn(config, llama.numLayers, where);
    return {
      format: 'original',
      ...llama,
      numCodebooks: num(config, 'audio_num_codebooks', where),
      codebookSize: num(config, 'audio_codebook_size', where) + 2, // + stream bos and eos
      audioStreamBosId: num(config, 'audio_stream_bos_id', where),
      audioStreamEosId: num(config, 'audio_stream_eos_id', where),
    };
  }
  throw new Error(`${where}: unknown model_type ${String(config.model_type)}`);
}
