// Everything the generation loop carries from one decode step to the next, in fixed device
// buffers: the column fed, the step counter and KV position, the RAS history, the delay-pattern
// counters, the sampler settings and every column produced. advance() is the tail of a step
// (sampling, RAS, delay pattern, bookkeeping) as static-shape tensor ops with no host read, so
// the whole step can be one CUDA graph; the host only reads `done` and the columns every few steps.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "buffer_limits.h"
#include "lm/checkpoint_config.h"
#include "lm/delay_pattern.h"
#include "lm/static_sampling.h"

namespace higgs::lm {

using higgs::kMaxRasWindow;  // the history buffer's length (buffer_limits.h)

class DecodeState {
 public:
  // max_columns: the most columns one generation can produce (first all-bos column included).
  DecodeState(const HiggsConfig& config, std::int64_t max_columns, const at::Device& device);

  // Set-up for one generation: settings, the audio-out columns of the prompt (RAS context), and
  // the KV position of the first decode step (the prompt length). Column 0 is the all-bos one.
  void reset(const SamplingParams& params, const std::vector<Column>& prompt_audio_out, std::int64_t first_position);

  // The tail of a step: sample the next column from audio logits [K, V] fp32, apply RAS and the
  // delay pattern, record it, and move step, position and the fed column on. Graph-safe.
  void advance(const at::Tensor& logits);

  // Host reads (they synchronise with the device).
  bool done() const;
  std::int64_t end_column() const;  // the column that ended the segment; valid when done()
  std::vector<Column> columns(std::int64_t begin, std::int64_t end) const;  // [begin, end)

  std::int64_t max_columns() const { return max_columns_; }

  // Fixed buffers, read by the decode step (their addresses never change).
  at::Tensor step;      // [1] int64: index of the column being produced
  at::Tensor position;  // [1] int64: KV position of the column being fed
  at::Tensor previous;  // [K] int64: the column being fed
  SamplerBuffers sampler;

 private:
  std::int64_t num_codebooks_, bos_, eos_, max_columns_;
  at::Tensor codebook_index_;  // [K] 0..K-1
  at::Tensor history_age_;     // [kMaxRasWindow, 1] 0..W-1
  at::Tensor history_;         // [kMaxRasWindow, K], newest first, -1 = empty
  at::Tensor columns_;         // [max_columns, K]
  at::Tensor num_delay_, remaining_;  // delay-pattern counters as DelayPattern keeps them
  at::Tensor done_, end_column_;
};

}  // namespace higgs::lm
