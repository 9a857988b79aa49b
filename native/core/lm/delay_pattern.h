// The delay pattern of Higgs Audio V2 generation, exactly as the original boson-ai loop
// (docs/model.md#ramp-in-and-ramp-out): codebook k lags k columns, so a segment ramps in over 8 columns (bos) and
// ramps out over 8 columns (eos) once a codebook first emits eos. Host-side state: a column is
// 8 small integers.
#pragma once

#include <cstdint>
#include <vector>

namespace higgs::lm {

using Column = std::vector<std::int64_t>;  // one code per codebook

class DelayPattern {
 public:
  DelayPattern(std::int64_t num_codebooks, std::int64_t bos, std::int64_t eos)
      : num_codebooks_(num_codebooks), bos_(bos), eos_(eos) {}

  // The first column of a segment: all bos (AUDIO_INIT in the reference; no sampling).
  Column first_column() const { return Column(num_codebooks_, bos_); }

  // Overrides a freshly sampled column in place (ramp-in, then ramp-out) and returns true when
  // this column ends the segment (the reference emits <|audio_eos|> on it).
  bool apply(Column& column);

 private:
  std::int64_t num_codebooks_, bos_, eos_;
  std::int64_t num_delay_ = 0;        // ramp-in columns emitted so far after the first
  std::int64_t remaining_delays_ = -1;  // ramp-out counter; -1 = no eos seen yet
};

// revert_delay_pattern, clip to [0, bos-1] and drop the first and last frames
// (docs/model.md#revert-and-trim): columns [len][K] -> codes [K][len - 9] (empty when len < 9), returned
// codebook-major (codes[k * T + t]).
std::vector<std::int32_t> revert_and_trim(const std::vector<Column>& columns, std::int64_t num_codebooks,
                                          std::int64_t max_code, std::int64_t* frames_out);

// Reverted, clipped frame i (1-based after the dropped bos frame) as [K] codes; valid once
// column i + num_codebooks exists, i.e. it is final and is not the dropped last frame.
Column reverted_frame(const std::vector<Column>& columns, std::int64_t i, std::int64_t max_code);

}  // namespace higgs::lm
