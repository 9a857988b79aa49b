// The weights of the Higgs LM as tensors on the target device and dtype, checked against the
// config. Built from a checkpoint (either format) or from a seeded random init (bench, tests).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lm/checkpoint_config.h"

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
};

struct HiggsWeights {
  at::Tensor embed_tokens;  // [vocab, hidden]
  at::Tensor embed_audio;   // [num_codebooks * codebook_vocab, hidden]
  std::vector<LayerWeights> layers;
  at::Tensor norm;        // [hidden]
  at::Tensor audio_head;  // [num_codebooks * codebook_vocab, hidden]
  at::Tensor text_head;   // [vocab, hidden], undefined when the checkpoint has none

  std::int64_t parameter_count() const;
  std::int64_t bytes() const;
};

// Called with (tensors done, tensors total) while loading.
using LoadProgressFn = std::function<void(std::int64_t done, std::int64_t total)>;

// Loads every weight of model_dir's safetensors, renamed from either format, converted to
// `options` (dtype/device). Shapes are checked against `config`; errors name file and tensor.
HiggsWeights load_weights(const std::string& model_dir, const HiggsConfig& config,
                          const at::TensorOptions& options, const LoadProgressFn& progress = {});

// Builds the fused projections of every layer (on the weights' device: no host copy) and turns
// the separate ones into views of them, so the memory is not held twice.
void fuse_projections(HiggsWeights& weights);

// Deterministic random weights (normal, std 0.02; norms around 1) for benchmarks and tests.
HiggsWeights random_weights(const HiggsConfig& config, std::uint64_t seed,
                            const at::TensorOptions& options, bool with_text_head = true);

}  // namespace higgs::lm
