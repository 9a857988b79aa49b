// Everything the generation loop carries from one decode step to the next, for `rows`
// generations decoded together, in fixed device buffers: the column fed, the step counter and
// KV position, the RAS history, the delay-pattern counters, the sampler settings and every
// column produced. advance() is the tail of a step (sampling, RAS, delay pattern, bookkeeping)
// as static-shape tensor ops with no host read, so the whole step can be one CUDA graph; the host
// only reads the `done` flags and the columns every few steps.
//
// A row advances while it is live (reset, not stopped) and not done: a row that ended on the
// device stays as it was however many steps the host launches before it reads the flag, and a
// free row changes nothing, so the rows never disturb each other.
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
  DecodeState(const HiggsConfig& config, std::int64_t max_columns, const at::Device& device, std::int64_t rows = 1);

  // Set-up of `row` for one generation (it becomes live): settings, the audio-out columns of the
  // prompt (RAS context), and the KV position of the first decode step (the prompt length).
  // Column 0 is the all-bos one.
  void reset(const SamplingParams& params, const std::vector<Column>& prompt_audio_out, std::int64_t first_position,
             std::int64_t row = 0);
  // The row stops advancing (the host stopped it: a cap, a cancel, or its slot is freed).
  void stop(std::int64_t row);

  // The tail of a step for rows 0..B-1: sample the next column from audio logits [B, K, V] fp32
  // ([K, V] for row 0 alone), apply RAS and the delay pattern, record it, and move step, position
  // and the fed column on, in the rows that advance. Graph-safe.
  void advance(const at::Tensor& logits);
  // Rows 0..B-1 that advance in this step: live and not done. [B] bool
  at::Tensor advancing(std::int64_t B) const;

  // Host reads of row 0 (they synchronise with the device).
  bool done() const;
  std::int64_t end_column() const;  // the column that ended the segment; valid when done()
  std::vector<Column> columns(std::int64_t begin, std::int64_t end) const;  // [begin, end)

  // Rows 0..B-1 packed for one device -> host copy, with nothing uploaded first: int64
  // [B, 2 + n * K] holding done, the end column, then the n columns before the row's step
  // (steps[r] - n .. steps[r] - 1, where steps[r] is the end column + 1 once done, else the
  // columns the row has produced; indices below 0 read column 0: callers skip them).
  at::Tensor window(std::int64_t B, std::int64_t n) const;

  std::int64_t rows() const { return step.size(0); }
  std::int64_t max_columns() const { return max_columns_; }

  // Fixed buffers, read by the decode step (their addresses never change).
  at::Tensor step;      // [R] int64: index of the column being produced
  at::Tensor position;  // [R] int64: KV position of the column being fed
  at::Tensor previous;  // [R, K] int64: the column being fed
  SamplerBuffers sampler;

 private:
  std::int64_t num_codebooks_, bos_, eos_, max_columns_;
  at::Tensor codebook_index_;  // [K] 0..K-1
  at::Tensor history_age_;     // [kMaxRasWindow, 1] 0..W-1
  at::Tensor history_;         // [R, kMaxRasWindow, K], newest first, -1 = empty
  at::Tensor columns_;         // [R, max_columns, K]
  at::Tensor num_delay_, remaining_;  // [R] delay-pattern counters as DelayPattern keeps them
  at::Tensor live_, done_, end_column_;  // [R]
};

}  // namespace higgs::lm
