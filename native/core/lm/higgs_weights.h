// The weights of the Higgs LM as tensors on the target device and dtype, checked against the
// config. Built from a checkpoint (either format) or from a seeded random init (bench, tests).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lm/checkpoint_config.h"
#include "lm/int8_weights.h"

namespace higgs::lm {

struct LayerWeights {
  at::Tensor q_proj, k_proj, v_proj, o_proj;          // [out, in]
  at::Tensor gate_proj, up_proj, down_proj;           // text MLP
  at::Tensor audio_gate_proj, audio_up_proj, audio_down_proj;  // audio MLP (DualFFN)
  at::Tensor input_norm, post_attention_norm;         // text RMSNorm weights [hidden]
  at::Tensor audio_input_norm, audio_post_attention_norm;
  // Set by fuse_projections (CUDA only): [q; k; v] and [gate; up] stacked along the output rows, so
  // a step runs one GEMM where it ran three (or two); the tensors above are then views of them.
  // Undefined on the CPU, where the weights stay in the memory map they were loaded from.
  at::Tensor qkv_proj, gate_up_proj, audio_gate_up_proj;
  // Set by quantize_layer (WeightFormat::Int8): every projection as int8, [q; k; v] and
  // [gate; up] fused on every device; the dense projections above are then released (undefined).
  Int8Weight int8_qkv, int8_o, int8_gate_up, int8_down, int8_audio_gate_up, int8_audio_down;
};

struct HiggsWeights {
  at::Tensor embed_tokens;  // [vocab, hidden]
  at::Tensor embed_audio;   // [num_codebooks * codebook_vocab, hidden]
  std::vector<LayerWeights> layers;
  at::Tensor norm;        // [hidden]
  at::Tensor audio_head;  // [num_codebooks * codebook_vocab, hidden]
  at::Tensor text_head;   // [vocab, hidden], undefined when the checkpoint has none
  // The heads as int8 (quantize_projections); audio_head and text_head are then undefined.
  Int8Weight int8_audio_head, int8_text_head;

  bool int8() const { return int8_audio_head.defined(); }
  WeightFormat format() const { return int8() ? WeightFormat::Int8 : WeightFormat::Dense; }
  bool has_text_head() const { return text_head.defined() || int8_text_head.defined(); }
  std::int64_t parameter_count() const;
  std::int64_t bytes() const;  // as held: dense tensors in their dtype, int8 weights and their scales
};

// Called with (tensors done, tensors total) while loading.
using LoadProgressFn = std::function<void(std::int64_t done, std::int64_t total)>;

// Loads every weight of model_dir's safetensors, renamed from either format, converted to
// `options` (dtype/device). Shapes are checked against `config`; errors name file and tensor.
// With WeightFormat::Int8 each layer is quantized as soon as it is read (quantize_layer), so at
// most one layer is held dense beside the int8 ones; a quantized directory (lm/int8_checkpoint.h:
// int8-manifest.json) is read as saved instead, and refused with WeightFormat::Dense.
HiggsWeights load_weights(const std::string& model_dir, const HiggsConfig& config,
                          const at::TensorOptions& options, const LoadProgressFn& progress = {},
                          WeightFormat format = WeightFormat::Dense);

// The projections of one layer as int8 (fused qkv and gate/up), the dense ones released.
void quantize_layer(LayerWeights& layer);
// Every layer and both heads (quantize_layer); embeddings and norms stay as they are.
void quantize_projections(HiggsWeights& weights);

// Builds the fused projections of every layer (on the weights' device: no host copy) and turns
// the separate ones into views of them, so the memory is not held twice.
void fuse_projections(HiggsWeights& weights);

// Deterministic random weights (normal, std 0.02; norms around 1) for benchmarks and tests.
// WeightFormat::Int8: the same values quantized a layer at a time (quantize_layer) as they are made.
HiggsWeights random_weights(const HiggsConfig& config, std::uint64_t seed,
                            const at::TensorOptions& options, bool with_text_head = true,
                            WeightFormat format = WeightFormat::Dense);

}  // namespace higgs::lm
