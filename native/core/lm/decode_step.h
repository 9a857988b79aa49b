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

class AudioDecodeStep {
 public:
  AudioDecodeStep(HiggsLM& model, DecodeState& state);
  void run(std::int64_t bucket);

 private:
  HiggsLM& model_;
  DecodeState& state_;
  at::Tensor codebook_offsets_;  // [K]: row k * codebook_vocab of the audio embedding table
  at::Tensor key_index_;         // [max_context] 0..max_context-1, for the causal mask
};

}  // namespace higgs::lm
