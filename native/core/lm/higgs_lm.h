// The Higgs Audio V2 LM: Llama-3 decoder layers with DualFFN routing, summed codebook embeddings
// for audio positions, an audio head [num_codebooks, codebook_vocab] and an optional text head.
// One forward call covers both prefill (many positions) and decode (one position): positions
// start at `start_pos` and the static KV cache keeps everything before it.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "lm/checkpoint_config.h"
#include "lm/higgs_weights.h"
#include "lm/kv_cache.h"
#include "lm/rope.h"

namespace higgs::lm {

enum class LogitsAt { Last, All, Audio };

struct LmInput {
  at::Tensor input_ids;    // [L] int64; the value at audio positions is ignored
  at::Tensor audio_mask;   // [L] bool; true = audio position (audio norms, audio MLP)
  at::Tensor audio_codes;  // [N, num_codebooks] int64, one frame per audio position, in order
  std::int64_t start_pos = 0;  // must be <= the cache length; later positions are overwritten
};

// Host vectors -> LmInput: ids [L], mask [L] (1 = audio position), codes num_codebooks per audio
// position, frame-major (the engine's requests). E_INPUT for what forward() cannot check on the
// tensors: a mask of another length, codes that are not whole frames.
LmInput make_lm_input(const HiggsConfig& config, const std::vector<std::int32_t>& ids,
                      const std::vector<std::uint8_t>& mask, const std::vector<std::int32_t>& codes,
                      std::int64_t start_pos);

struct LmOutput {
  at::Tensor positions;     // [P] int64: which input rows the logits belong to
  at::Tensor audio_logits;  // [P, num_codebooks, codebook_vocab] fp32 on the CPU
  at::Tensor text_logits;   // [P, vocab] fp32 on the CPU, undefined unless asked for
};

class HiggsLM {
 public:
  HiggsLM(HiggsConfig config, HiggsWeights weights, std::int64_t max_context,
          const at::TensorOptions& options);

  // Validates the input (HiggsError E_INPUT on any inconsistency) and runs the layers over the
  // model's own KV cache, or over `cache` (a slot of a SlotBatch: same layers and head shape,
  // at most max_context positions, since the RoPE tables stop there).
  LmOutput forward(const LmInput& input, LogitsAt at, bool text_logits);
  LmOutput forward(const LmInput& input, LogitsAt at, bool text_logits, KvCache& cache);

  // One audio decode position for each of B rows, each over its own KV cache at its own
  // position (continuous batching's fast mode): the projections, MLPs and head run as one GEMM
  // over the B rows, so a row's logits may differ in the last bits from its forward() at batch 1.
  // Returns the audio logits [B, num_codebooks, codebook_vocab] fp32 on the model's device.
  struct AudioRow {
    std::vector<std::int64_t> column;  // the column fed, one code per codebook
    std::int64_t position = 0;         // its KV position: at most the cache's length
    KvCache* cache = nullptr;
  };
  at::Tensor decode_columns(const std::vector<AudioRow>& rows);

  const HiggsConfig& config() const { return config_; }
  const HiggsWeights& weights() const { return weights_; }
  KvCache& cache() { return cache_; }
  const RopeTables& rope() const { return rope_; }
  const at::TensorOptions& options() const { return options_; }

 private:
  struct Routing;
  void validate(const LmInput& input, bool text_logits, const KvCache& cache) const;
  at::Tensor embed(const LmInput& input, const Routing& routing) const;
  at::Tensor attention(std::int64_t layer, const at::Tensor& h, std::int64_t start, KvCache& cache);
  // Softmax attention of q [L, heads, D] (absolute positions start..) over keys/values [T, ...].
  at::Tensor attend(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values, std::int64_t start) const;

  HiggsConfig config_;
  HiggsWeights weights_;
  at::TensorOptions options_;
  KvCache cache_;
  RopeTables rope_;
};

// Llama RMSNorm with the reference cast order: normalise in fp32, cast back, then scale.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// The SwiGLU MLP down(silu(gate x) * up x): one fused [gate; up] GEMM where the weights are fused
// (CUDA, or int8 on any device: int8_gate_up and int8_down defined), else two.
at::Tensor gated_mlp(const at::Tensor& x, const at::Tensor& gate_up, const at::Tensor& gate, const at::Tensor& up,
                     const at::Tensor& down, const Int8Weight& int8_gate_up = {}, const Int8Weight& int8_down = {});
at::Tensor text_mlp(const at::Tensor& x, const LayerWeights& w);
at::Tensor audio_mlp(const at::Tensor& x, const LayerWeights& w);

// q, k, v [L, heads, D] as views of one fused projection's output [L, (heads + 2 kv_heads) D].
struct Qkv {
  at::Tensor q, k, v;
};
Qkv split_qkv(const at::Tensor& qkv, std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim);
// q, k, v of `h`: one GEMM with the fused qkv_proj (CUDA) or int8_qkv, else three on the weights in place.
Qkv project_qkv(const at::Tensor& h, const LayerWeights& w, std::int64_t heads, std::int64_t kv_heads,
                std::int64_t head_dim);

}  // namespace higgs::lm
