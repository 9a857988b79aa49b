#include "codec/acoustic_encoder.h"

namespace higgs::codec {
namespace {

// Snake1d in DAC's operation order: x + (alpha + 1e-9)^-1 * sin(alpha * x)^2. Kept in this file
// (not shared with the decoder) so each side can change without touching the other.
at::Tensor snake(const at::Tensor& x, const at::Tensor& alpha) {
  return x + (alpha + 1e-9).reciprocal() * at::sin(alpha * x).pow(2);
}

at::Tensor res_unit(const DacResUnit& u, const at::Tensor& x) {
  auto y = at::conv1d(snake(x, u.snake1_alpha), u.conv1_w, u.conv1_b, 1, 3 * u.dilation, u.dilation);
  y = at::conv1d(snake(y, u.snake2_alpha), u.conv2_w, u.conv2_b);
  return x + y;  // lengths match (pad 3*dil for k7), so DAC's centre crop never triggers
}

at::Tensor encoder_block(const DacEncoderBlock& b, at::Tensor x) {
  for (const auto& unit : b.res_units) x = res_unit(unit, x);
  return at::conv1d(snake(x, b.snake_alpha), b.conv_w, b.conv_b, b.stride, (b.stride + 1) / 2);
}

}  // namespace

at::Tensor acoustic_encoder_forward(const AcousticEncoderWeights& weights, const at::Tensor& x,
                                    AcousticEncoderTrace* trace) {
  auto h = at::conv1d(x, weights.conv1_w, weights.conv1_b, 1, 3);
  if (trace) trace->conv1 = h;
  for (const auto& block : weights.blocks) {
    h = encoder_block(block, h);
    if (trace) trace->blocks.push_back(h);
  }
  return at::conv1d(snake(h, weights.snake_alpha), weights.conv2_w, weights.conv2_b, 1, 1);
}

std::int64_t acoustic_encoder_frames(const std::vector<std::int64_t>& ratios, std::int64_t samples) {
  std::int64_t length = samples;  // conv1 (k7 p3) and conv2 (k3 p1) keep the length
  for (const std::int64_t s : ratios) {
    const std::int64_t padded = length + 2 * ((s + 1) / 2);
    if (padded < 2 * s) return 0;
    length = (padded - 2 * s) / s + 1;
  }
  return length;
}

}  // namespace higgs::codec
