// The static audio decode step: feed the column in DecodeState::previous at DecodeState::position
// through the audio path of every layer (the text MLP and text head are never read), attend over
// the first `bucket` KV positions with the ones after `position` masked, then DecodeState::advance.
// Shapes depend on the bucket only, and every per-step value is read from device buffers, so one
// capture per bucket replays for every step and request.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "lm/decode_state.h"
#include "lm/higgs_lm.h"

namespace higgs::lm {

// KV-length buckets: powers of two from 256 below max_context, then max_context itself.
std::vector<std::int64_t> kv_buckets(std::int64_t max_context);

// Index of the smallest bucket that holds KV position `position` (bucket > position); E_INPUT
// when the position is past the last bucket.
std::size_t bucket_for(const std::vector<std::int64_t>& buckets, std::int64_t position);

// fused_kernels_usable: the model is bf16 on CUDA and the fused kernels are built in;
// fused_attention_usable: additionally head_dim 128 (the attention kernel's shape).
bool fused_kernels_usable(const HiggsLM& model);
bool fused_attention_usable(const HiggsLM& model);

class AudioDecodeStep {
 public:
  // fused: the CUDA kernels of gpu/fused_ops.h (norm + residual, rope + KV write, attention over
  // the true length, SwiGLU) instead of chains of small ATen ops; needs fused_kernels_usable.
  AudioDecodeStep(HiggsLM& model, DecodeState& state, bool fused = false);
  void run(std::int64_t bucket) { state_.advance(logits(bucket)); }
  // The step's audio logits [K, V] fp32 (writes the fed column's K/V at the position).
  at::Tensor logits(std::int64_t bucket);
  bool fused() const { return fused_; }
  bool fused_attention() const { return fused_attention_; }  // reads the true length: one bucket serves all

 private:
  at::Tensor aten_logits(std::int64_t bucket);
  at::Tensor fused_logits(std::int64_t bucket);
  at::Tensor embed_previous() const;
  at::Tensor bucket_attention(std::int64_t layer, const at::Tensor& q, std::int64_t bucket) const;

  HiggsLM& model_;
  DecodeState& state_;
  bool fused_;
  bool fused_attention_;  // fused_ and fused_attention_usable (head_dim 128), decided once
  at::Tensor codebook_offsets_;  // [K]: row k * codebook_vocab of the audio embedding table
  at::Tensor key_index_;         // [max_context] 0..max_context-1, for the causal mask
};

}  // namespace higgs::lm
