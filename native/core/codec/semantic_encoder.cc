#include "codec/semantic_encoder.h"

namespace higgs::codec {
namespace {

at::Tensor res_unit(const SemanticResUnit& u, const at::Tensor& x) {
  auto y = at::conv1d(at::elu(x), u.conv1_w, {}, 1, u.padding, u.dilation);
  y = at::conv1d(at::elu(y), u.conv2_w);
  return x + y;
}

std::int64_t conv_length(std::int64_t length, std::int64_t kernel, std::int64_t stride, std::int64_t padding,
                         std::int64_t dilation = 1) {
  return (length + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
}

}  // namespace

at::Tensor semantic_encoder_forward(const SemanticEncoderWeights& weights, const at::Tensor& x) {
  auto h = at::conv1d(x, weights.conv_w, {}, 1, weights.conv_padding);
  for (const auto& block : weights.blocks) {
    for (const auto& unit : block.res_units) h = res_unit(unit, h);
    h = at::conv1d(h, block.conv_w, block.conv_b, block.stride, block.padding);
  }
  return h;
}

std::int64_t semantic_encoder_length(const SemanticEncoderWeights& weights, std::int64_t frames) {
  std::int64_t length = conv_length(frames, weights.conv_w.size(2), 1, weights.conv_padding);
  for (const auto& block : weights.blocks) {
    // Residual units keep the length; only the block conv can change it.
    length = conv_length(length, block.conv_w.size(2), block.stride, block.padding);
  }
  return length;
}

}  // namespace higgs::codec
