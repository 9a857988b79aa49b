// The semantic adapter ("encoder_semantic", xcodec's semantic_module Encoder): a bias-free conv,
// then blocks of ELU residual units and a conv. It maps the 25 Hz HuBERT layer mean
// [1, hidden, T] to e_semantic [1, hidden', T'] (T' = T for the stride-1 blocks the codec uses).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace higgs::codec {

// x + conv2_1x1(ELU(conv1_k(ELU(x)))), both convs without bias; conv1 is dilated and padded so
// the length is kept.
struct SemanticResUnit {
  at::Tensor conv1_w;  // [C, C, unit_kernel_size]
  at::Tensor conv2_w;  // [C, C, 1]
  std::int64_t dilation = 1;
  std::int64_t padding = 1;  // ((unit_kernel_size - 1) / 2) * dilation
};

struct SemanticEncoderBlock {
  std::vector<SemanticResUnit> res_units;  // one per config.block_dilations entry
  at::Tensor conv_w, conv_b;               // kernel 3 for stride 1, else 2 * stride
  std::int64_t stride = 1;
  std::int64_t padding = 1;                // (kernel - 1) / 2
};

struct SemanticEncoderWeights {
  at::Tensor conv_w;  // [C, C, kernel_size], no bias
  std::int64_t conv_padding = 1;  // kernel_size / 2
  std::vector<SemanticEncoderBlock> blocks;
};

// x [1, C, T] -> [1, C', T'].
at::Tensor semantic_encoder_forward(const SemanticEncoderWeights& weights, const at::Tensor& x);

// Output length of the adapter for T input frames.
std::int64_t semantic_encoder_length(const SemanticEncoderWeights& weights, std::int64_t frames);

}  // namespace higgs::codec
