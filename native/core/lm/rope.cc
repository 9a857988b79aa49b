#include "lm/rope.h"

#include <cmath>

namespace higgs::lm {

at::Tensor rope_inv_freq(const RopeConfig& rope, std::int64_t head_dim) {
  const std::int64_t half = head_dim / 2;
  auto inv_freq = at::empty({half}, at::kDouble);
  auto* f = inv_freq.data_ptr<double>();
  // The reference computes base ** (arange(0, dim, 2) / dim) in fp32; do the same rounding.
  for (std::int64_t j = 0; j < half; ++j) {
    const float exponent = static_cast<float>(2 * j) / static_cast<float>(head_dim);
    f[j] = 1.0f / std::pow(static_cast<float>(rope.theta), exponent);
  }
  if (!rope.llama3) return inv_freq;
  const double low_wavelen = rope.original_max_position_embeddings / rope.low_freq_factor;
  const double high_wavelen = rope.original_max_position_embeddings / rope.high_freq_factor;
  for (std::int64_t j = 0; j < half; ++j) {
    const double wavelen = 2.0 * M_PI / f[j];
    if (wavelen < high_wavelen) continue;  // high frequencies are kept
    if (wavelen > low_wavelen) {
      f[j] = f[j] / rope.factor;  // low frequencies are scaled down
      continue;
    }
    const double smooth = (rope.original_max_position_embeddings / wavelen - rope.low_freq_factor) /
                          (rope.high_freq_factor - rope.low_freq_factor);
    f[j] = (1.0 - smooth) * f[j] / rope.factor + smooth * f[j];
  }
  return inv_freq;
}

RopeTables rope_tables(const RopeConfig& rope, std::int64_t head_dim, std::int64_t max_positions,
                       const at::TensorOptions& options) {
  auto inv_freq = rope_inv_freq(rope, head_dim).to(at::kFloat);
  auto positions = at::arange(max_positions, at::kFloat);
  auto freqs = at::outer(positions, inv_freq);  // fp32 products, as the reference
  auto emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(options), emb.sin().to(options)};
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const auto half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half);
  auto x2 = x.narrow(-1, half, half);
  auto rotated = at::cat({-x2, x1}, -1);
  auto c = cos.unsqueeze(1);  // broadcast over heads
  auto s = sin.unsqueeze(1);
  return x * c + rotated * s;
}

}  // namespace higgs::lm
