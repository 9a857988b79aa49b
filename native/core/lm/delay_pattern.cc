#include "lm/delay_pattern.h"

#include <algorithm>

namespace higgs::lm {

bool DelayPattern::apply(Column& c) {
  const auto K = num_codebooks_;
  // Ramp-in: in column s (1 <= s < K) codebooks s..K-1 are still bos.
  if (num_delay_ + 1 < K) {
    std::fill(c.begin() + num_delay_ + 1, c.end(), bos_);
    ++num_delay_;
  }
  // Ramp-out. The reference takes the LOWEST codebook that sampled eos (nonzero()[0]) and
  // forces every codebook below it to eos at once; HF instead waits a step (not followed).
  if (remaining_delays_ < 0) {
    auto first_eos = std::find(c.begin(), c.end(), eos_);
    if (first_eos != c.end()) {
      const auto e = first_eos - c.begin();
      std::fill(c.begin(), first_eos, eos_);
      remaining_delays_ = K - e - 1;
    }
  } else {
    std::fill(c.begin(), c.begin() + (K - remaining_delays_), eos_);
    --remaining_delays_;
  }
  if (remaining_delays_ == 0) {  // "counter <= 0": the segment ends with this column
    remaining_delays_ = -1;
    num_delay_ = 0;
    return true;
  }
  return false;
}

Column reverted_frame(const std::vector<Column>& columns, std::int64_t i, std::int64_t max_code) {
  const auto K = static_cast<std::int64_t>(columns.front().size());
  Column frame(K);
  for (std::int64_t k = 0; k < K; ++k) frame[k] = std::clamp<std::int64_t>(columns[i + k][k], 0, max_code);
  return frame;
}

std::vector<std::int32_t> revert_and_trim(const std::vector<Column>& columns, std::int64_t K, std::int64_t max_code,
                                          std::int64_t* frames_out) {
  const auto len = static_cast<std::int64_t>(columns.size());
  const auto T = std::max<std::int64_t>(0, len - K - 1);  // len - 7 reverted, minus first and last
  std::vector<std::int32_t> codes(K * T);
  for (std::int64_t t = 0; t < T; ++t) {
    const auto frame = reverted_frame(columns, t + 1, max_code);
    for (std::int64_t k = 0; k < K; ++k) codes[k * T + t] = static_cast<std::int32_t>(frame[k]);
  }
  if (frames_out) *frames_out = T;
  return codes;
}

}  // namespace higgs::lm
