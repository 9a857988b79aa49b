// The static audio decode step: feed each row's column in DecodeState::previous at its
// DecodeState::position through the audio path of every layer (the text MLP and text head are
// never read), attend over the first `bucket` KV positions of the row's cache with the ones after
// its position masked, then DecodeState::advance. Shapes depend on the row and KV buckets only,
// and every per-step value is read from device buffers, so one capture per bucket pair replays
// for every step and request.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "lm/decode_state.h"
#include "lm/higgs_lm.h"

namespace higgs::lm {

// KV-length buckets: powers of two from 256 below max_context, then max_context itself.
std::vector<std::int64_t> kv_buckets(std::int64_t max_context);
// Row buckets of a batch of `rows`: powers of two below it, then rows itself.
std::vector<std::int64_t> row_buckets(std::int64_t rows);

// Index of the smallest bucket that holds KV position `position` (bucket > position); E_INPUT
// when the position is past the last bucket.
std::size_t bucket_for(const std::vector<std::int64_t>& buckets, std::int64_t position);

// fused_kernels_usable: the model is bf16 on CUDA and the fused kernels are built in;
// fused_attention_usable: additionally head_dim 128 (the attention kernel's shape).
bool fused_kernels_usable(const HiggsLM& model);
bool fused_attention_usable(const HiggsLM& model);

class AudioDecodeStep {
 public:
  // One generation over the model's own KV cache (state row 0). fused: the CUDA kernels of
  // gpu/fused_ops.h (norm + residual, rope + KV write, attention over the true length, SwiGLU)
  // instead of chains of small ATen ops; needs fused_kernels_usable.
  AudioDecodeStep(HiggsLM& model, DecodeState& state, bool fused = false);
  // The rows of `state` over the rows of `arena` (as many). batched: the projections, MLPs and
  // head as one GEMM over the rows (each weight read once per step); otherwise each row is
  // computed alone, exactly as at one row (continuous batching's row-exact mode), with the fused
  // kernels when `fused` (and usable).
  AudioDecodeStep(HiggsLM& model, DecodeState& state, KvArena& arena, bool batched, bool fused);

  void run(std::int64_t bucket) { run(1, bucket); }
  void run(std::int64_t rows, std::int64_t bucket, const std::vector<std::int64_t>* row_buckets = nullptr) {
    state_.advance(logits(rows, bucket, row_buckets));
  }
  // The audio logits fp32 of row 0 [K, V], or of rows 0..rows-1 [rows, K, V] (each step writes
  // the fed columns' K/V at their positions; rows that do not advance write to the scratch one).
  // Rows attend over the first `bucket` positions of their caches; rows computed alone (not
  // batched) over row_buckets[r] instead where given, so that a row's values never depend on
  // its neighbours' lengths.
  at::Tensor logits(std::int64_t bucket) { return logits(1, bucket)[0]; }
  at::Tensor logits(std::int64_t rows, std::int64_t bucket, const std::vector<std::int64_t>* row_buckets = nullptr);
  bool batched() const { return batched_; }
  bool fused() const { return fused_; }
  bool fused_attention() const { return fused_attention_; }  // reads the true length: one bucket serves all

 private:
  at::Tensor row_logits(std::int64_t row, std::int64_t bucket);
  at::Tensor batched_logits(std::int64_t rows, std::int64_t bucket);
  at::Tensor fused_logits(std::int64_t row, std::int64_t bucket);
  const at::Tensor& row_keys(std::int64_t layer, std::int64_t row) const;
  const at::Tensor& row_values(std::int64_t layer, std::int64_t row) const;
  at::Tensor write_positions(std::int64_t first, std::int64_t rows) const;
  at::Tensor rope_positions(std::int64_t first, std::int64_t rows) const;
  at::Tensor row_attention(std::int64_t layer, std::int64_t row, const at::Tensor& q, std::int64_t bucket) const;
  at::Tensor batched_attention(std::int64_t layer, std::int64_t rows, const at::Tensor& q, std::int64_t bucket) const;

  HiggsLM& model_;
  DecodeState& state_;
  KvArena* arena_ = nullptr;  // null: the model's cache, one row
  bool batched_ = false;
  bool fused_ = false;
  bool fused_attention_ = false;  // fused_ and fused_attention_usable (head_dim 128), decided once
  at::Tensor codebook_offsets_;  // [K]: row k * codebook_vocab of the audio embedding table
  at::Tensor key_index_;         // [max_context] 0..max_context-1, for the causal mask
};

}  // namespace higgs::lm
